package control

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"syscall"
	"time"
)

// DefaultQueryTimeout bounds a Query whose ctx has no deadline, so a hung
// daemon can not hang `vstreamd status` with it.
const DefaultQueryTimeout = 10 * time.Second

// Query sends one request to the daemon listening at path and returns the
// result of its answer.
//
// When nobody listens (no socket, or a stale one) the error wraps
// ErrNotRunning: "no vstreamd is running (control socket PATH: ...)".
// When the socket may not be opened the error wraps fs.ErrPermission and
// says to use sudo. When the daemon answers with an error, it is a
// *RemoteError.
func Query(ctx context.Context, path string, req Request) (json.RawMessage, error) {
	if err := checkCommand(req.Command); err != nil {
		return nil, err
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, DefaultQueryTimeout)
		defer cancel()
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "unix", path)
	if err != nil {
		return nil, dialError(path, err)
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Now()) })
	defer stop()
	deadline, _ := ctx.Deadline()
	if err := conn.SetDeadline(deadline); err != nil {
		return nil, fmt.Errorf("control socket %s: %w", path, err)
	}

	b, err := encodeLine(req)
	if err != nil {
		return nil, fmt.Errorf("control: encode request: %w", err)
	}
	if _, err := conn.Write(b); err != nil {
		return nil, exchangeError(ctx, path, "send request", err)
	}
	line, err := readLine(conn, MaxResponse, fmt.Errorf("answer longer than %d bytes", MaxResponse))
	if err != nil {
		return nil, exchangeError(ctx, path, "read answer", err)
	}
	var resp response
	if err := json.Unmarshal(line, &resp); err != nil {
		return nil, fmt.Errorf("control socket %s: malformed answer: %w", path, err)
	}
	if !resp.OK {
		return nil, &RemoteError{Message: resp.Error}
	}
	return resp.Result, nil
}

// dialError explains why the daemon could not be reached.
func dialError(path string, err error) error {
	var errno syscall.Errno
	errors.As(err, &errno)
	switch {
	case errno == syscall.ENOENT || errno == syscall.ECONNREFUSED:
		return fmt.Errorf("%w (control socket %s: %w)", ErrNotRunning, path, errno)
	case errno == syscall.EACCES || errno == syscall.EPERM:
		return fmt.Errorf("control socket %s: %w: it is open to its owner only; run this as root (sudo) or as the user vstreamd runs as", path, fs.ErrPermission)
	}
	return fmt.Errorf("control socket %s: %w", path, err)
}

// exchangeError explains a failure after connecting, naming a timeout as
// such. The socket's address is left out: the path is already named, and the
// kernel reports the temporary name the daemon bound the socket at.
func exchangeError(ctx context.Context, path, what string, err error) error {
	var opErr *net.OpError
	if errors.As(err, &opErr) {
		err = opErr.Err
	}
	if cerr := ctx.Err(); cerr != nil || errors.Is(err, os.ErrDeadlineExceeded) {
		if cerr == nil {
			cerr = context.DeadlineExceeded // the connection's deadline is ctx's
		}
		return fmt.Errorf("control socket %s: %s: no answer from vstreamd: %w", path, what, cerr)
	}
	return fmt.Errorf("control socket %s: %s: %w", path, what, err)
}
