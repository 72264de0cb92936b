package control

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// maxSocketPath is the longest path a unix socket can be bound or dialled
// at: sun_path holds 108 bytes including the terminating NUL.
const maxSocketPath = 107

// probeTimeout bounds the connect that tells a live socket from a stale one.
const probeTimeout = time.Second

// Listen creates the control socket at path, owner-only (mode 0600), and
// returns a listener whose Close removes it again.
//
// The parent directory is created (mode 0755, less the umask) if missing.
// If path already exists:
//   - a socket nobody answers on (ECONNREFUSED: its daemon died) is replaced;
//   - a socket someone answers on is left alone, and the error wraps ErrInUse:
//     "another vstreamd is running: control socket PATH is in use";
//   - anything else (a file, a directory, a socket that can not be checked)
//     is left alone too, and is an error.
//
// The socket gets its mode without a window in which it is reachable with a
// wider one: it is bound inside a fresh mode-0700 directory next to path,
// chmod-ed to 0600 there, and then renamed into place (with
// RENAME_NOREPLACE, so it never replaces a socket a concurrently starting
// daemon just put there). Setting the umask around bind, as wireguard-go
// does, would do the same, but the umask is process-wide: every goroutine
// creating a file in that moment would get the narrow mode as well.
func Listen(path string) (net.Listener, error) {
	if len(path) > maxSocketPath {
		return nil, fmt.Errorf("control socket %s: path longer than %d bytes", path, maxSocketPath)
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("control socket %s: create its directory: %w", path, err)
	}
	if err := clearStale(path); err != nil {
		return nil, err
	}

	tmp, err := os.MkdirTemp(dir, ".vs") // mode 0700
	if err != nil {
		return nil, fmt.Errorf("control socket %s: %w", path, err)
	}
	defer os.RemoveAll(tmp)
	tmpPath := filepath.Join(tmp, "s")
	if len(tmpPath) > maxSocketPath {
		return nil, fmt.Errorf("control socket %s: path too long to create it through %s (limit %d bytes)", path, tmpPath, maxSocketPath)
	}
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: tmpPath, Net: "unix"})
	if err != nil {
		return nil, fmt.Errorf("control socket %s: %w", path, err)
	}
	ln.SetUnlinkOnClose(false) // the file moves; Close removes it by its final name
	fail := func(err error) (net.Listener, error) {
		ln.Close()
		return nil, err
	}
	if err := os.Chmod(tmpPath, 0o600); err != nil {
		return fail(fmt.Errorf("control socket %s: %w", path, err))
	}
	var st unix.Stat_t
	if err := unix.Lstat(tmpPath, &st); err != nil {
		return fail(fmt.Errorf("control socket %s: %w", path, err))
	}
	if err := renameNoReplace(tmpPath, path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return fail(inUse(path))
		}
		return fail(fmt.Errorf("control socket %s: %w", path, err))
	}
	return &listener{UnixListener: ln, path: path, dev: uint64(st.Dev), ino: uint64(st.Ino)}, nil
}

func inUse(path string) error {
	return fmt.Errorf("%w: control socket %s is in use", ErrInUse, path)
}

// clearStale removes path if it is a socket nobody answers on, and fails if
// it is anything else that exists.
func clearStale(path string) error {
	fi, err := os.Lstat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil
	case err != nil:
		return fmt.Errorf("control socket %s: %w", path, err)
	case fi.Mode().Type() != fs.ModeSocket:
		return fmt.Errorf("control socket %s: the path exists and is not a socket (%s); remove it or choose another [control] socket", path, fi.Mode().Type())
	}
	conn, err := net.DialTimeout("unix", path, probeTimeout)
	switch {
	case err == nil:
		conn.Close()
		return inUse(path)
	case errors.Is(err, syscall.ECONNREFUSED):
		if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("control socket %s: remove stale socket: %w", path, err)
		}
		return nil
	case errors.Is(err, syscall.ENOENT):
		return nil // removed since the Lstat
	}
	return fmt.Errorf("control socket %s exists and can not be checked, so it is left alone: %w", path, err)
}

// renameNoReplace renames oldpath to newpath unless newpath exists. Where the
// file system lacks RENAME_NOREPLACE it falls back to link and unlink, which
// also fail when newpath exists.
func renameNoReplace(oldpath, newpath string) error {
	err := unix.Renameat2(unix.AT_FDCWD, oldpath, unix.AT_FDCWD, newpath, unix.RENAME_NOREPLACE)
	if errors.Is(err, unix.EINVAL) || errors.Is(err, unix.ENOSYS) {
		if err = os.Link(oldpath, newpath); err == nil {
			return os.Remove(oldpath)
		}
		return err
	}
	if err != nil {
		return &os.LinkError{Op: "rename", Old: oldpath, New: newpath, Err: err}
	}
	return nil
}

// listener is the control socket. Its Close removes the socket file, unless
// it has been replaced by another one since.
type listener struct {
	*net.UnixListener
	path     string
	dev, ino uint64
	once     sync.Once
}

// Addr returns the socket's final path (the embedded listener knows only
// the temporary one it was bound at).
func (l *listener) Addr() net.Addr { return &net.UnixAddr{Name: l.path, Net: "unix"} }

func (l *listener) Close() error {
	err := l.UnixListener.Close()
	l.once.Do(func() {
		var st unix.Stat_t
		if unix.Lstat(l.path, &st) == nil && uint64(st.Dev) == l.dev && uint64(st.Ino) == l.ino {
			os.Remove(l.path)
		}
	})
	return err
}
