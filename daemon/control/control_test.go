package control

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// ioDeadline keeps a broken test from hanging; nothing waits for it.
const ioDeadline = 10 * time.Second

func sockPath(t *testing.T) string {
	return filepath.Join(t.TempDir(), "vstreamd.sock")
}

func statusHandler(ctx context.Context, req Request) (any, error) {
	if req.Command != "status" {
		return nil, fmt.Errorf("%w %q", ErrUnknownCommand, req.Command)
	}
	return map[string]any{"state": "streaming"}, nil
}

// serve runs srv on a fresh socket at path until the test ends, and waits for
// Serve to return.
func serve(t *testing.T, path string, srv *Server) {
	t.Helper()
	ln, err := Listen(path)
	if err != nil {
		t.Fatalf("Listen(%s): %v", path, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve returned %v", err)
		}
	})
}

// rawExchange writes send on a new connection and returns all it reads back.
func rawExchange(t *testing.T, path string, send []byte) string {
	t.Helper()
	conn, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(ioDeadline))
	if len(send) > 0 {
		if _, err := conn.Write(send); err != nil {
			t.Fatalf("sending %.40q: %v", send, err)
		}
	}
	got, err := io.ReadAll(conn)
	// A server closing with part of the request unread (too large, or
	// refused as busy) makes Linux end the stream with ECONNRESET instead of
	// EOF, after the answer.
	if err != nil && !(errors.Is(err, syscall.ECONNRESET) && len(got) > 0) {
		t.Fatalf("reading the answer to %.40q: %v", send, err)
	}
	return string(got)
}

func TestRoundTrip(t *testing.T) {
	path := sockPath(t)
	serve(t, path, &Server{Handler: statusHandler})
	got, err := Query(t.Context(), path, Request{Command: "status"})
	if err != nil {
		t.Fatalf("Query(status): %v", err)
	}
	if string(got) != `{"state":"streaming"}` {
		t.Errorf("Query(status) = %s, want {\"state\":\"streaming\"}", got)
	}

	_, err = Query(t.Context(), path, Request{Command: "frobnicate"})
	var re *RemoteError
	if !errors.As(err, &re) || !strings.Contains(re.Message, `unknown command "frobnicate"`) {
		t.Errorf("Query(frobnicate) error = %v, want a RemoteError saying unknown command", err)
	}

	if got := rawExchange(t, path, []byte(`{"command":"status"}`+"\n")); got != `{"ok":true,"result":{"state":"streaming"}}`+"\n" {
		t.Errorf("wire answer = %q, want one JSON line with ok and result", got)
	}
}

func TestSocketMode(t *testing.T) {
	path := filepath.Join(t.TempDir(), "new", "dir", "vstreamd.sock")
	ln, err := Listen(path)
	if err != nil {
		t.Fatalf("Listen(%s) with missing parent directories: %v", path, err)
	}
	defer ln.Close()
	fi, err := os.Lstat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode() != fs.ModeSocket|0o600 {
		t.Errorf("socket mode = %v, want %v", fi.Mode(), fs.ModeSocket|0o600)
	}
	if got := ln.Addr().String(); got != path {
		t.Errorf("Addr() = %s, want %s", got, path)
	}
	dir, err := os.Stat(filepath.Dir(path))
	if err != nil || !dir.IsDir() || dir.Mode().Perm()&^0o755 != 0 {
		t.Errorf("parent directory = %v, %v; want a directory with mode within 0755", dir, err)
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Errorf("directory holds %d entries, want only the socket (no temporary left)", len(entries))
	}
	ln.Close()
	if _, err := os.Lstat(path); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("socket still there after Close: %v", err)
	}
}

func TestStaleSocketReplaced(t *testing.T) {
	path := sockPath(t)
	old, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	old.SetUnlinkOnClose(false)
	old.Close() // as if its daemon had crashed: the file stays, nobody answers
	if _, err := Query(t.Context(), path, Request{Command: "status"}); !errors.Is(err, ErrNotRunning) {
		t.Fatalf("Query on a stale socket: error = %v, want ErrNotRunning", err)
	}
	serve(t, path, &Server{Handler: statusHandler})
	if _, err := Query(t.Context(), path, Request{Command: "status"}); err != nil {
		t.Errorf("Query after the stale socket was replaced: %v", err)
	}
}

func TestLiveSocketRefused(t *testing.T) {
	path := sockPath(t)
	serve(t, path, &Server{Handler: statusHandler})
	before, err := os.Lstat(path)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := Listen(path)
	if err == nil {
		ln.Close()
		t.Fatal("Listen on a socket in use succeeded")
	}
	want := "another vstreamd is running: control socket " + path + " is in use"
	if !errors.Is(err, ErrInUse) || err.Error() != want {
		t.Errorf("Listen error = %q, want %q wrapping ErrInUse", err, want)
	}
	after, err := os.Lstat(path)
	if err != nil || !os.SameFile(before, after) {
		t.Errorf("the live socket was touched: %v", err)
	}
	if _, err := Query(t.Context(), path, Request{Command: "status"}); err != nil {
		t.Errorf("the live daemon no longer answers: %v", err)
	}
}

func TestNonSocketRefused(t *testing.T) {
	for _, kind := range []string{"file", "directory"} {
		path := sockPath(t)
		var err error
		if kind == "file" {
			err = os.WriteFile(path, []byte("keep me"), 0o644)
		} else {
			err = os.Mkdir(path, 0o755)
		}
		if err != nil {
			t.Fatal(err)
		}
		ln, err := Listen(path)
		if err == nil {
			ln.Close()
			t.Fatalf("Listen over a %s succeeded", kind)
		}
		if !strings.Contains(err.Error(), "is not a socket") || errors.Is(err, ErrInUse) {
			t.Errorf("Listen over a %s: error = %v, want it to say the path is not a socket", kind, err)
		}
		if kind == "file" {
			if b, err := os.ReadFile(path); err != nil || string(b) != "keep me" {
				t.Errorf("the file was changed: %q, %v", b, err)
			}
		} else if fi, err := os.Stat(path); err != nil || !fi.IsDir() {
			t.Errorf("the directory was changed: %v", err)
		}
	}
}

func TestNotRunning(t *testing.T) {
	path := sockPath(t)
	_, err := Query(t.Context(), path, Request{Command: "status"})
	want := "no vstreamd is running (control socket " + path + ": no such file or directory)"
	if !errors.Is(err, ErrNotRunning) || !errors.Is(err, syscall.ENOENT) || err.Error() != want {
		t.Errorf("Query with no socket: error = %q, want %q wrapping ErrNotRunning", err, want)
	}
}

func TestDialErrors(t *testing.T) {
	opErr := func(errno syscall.Errno) error {
		return &net.OpError{Op: "dial", Net: "unix", Err: os.NewSyscallError("connect", errno)}
	}
	tests := []struct {
		errno   syscall.Errno
		is      error
		mention []string
	}{
		{syscall.ENOENT, ErrNotRunning, []string{"no vstreamd is running", "/x.sock"}},
		{syscall.ECONNREFUSED, ErrNotRunning, []string{"no vstreamd is running", "connection refused"}},
		{syscall.EACCES, fs.ErrPermission, []string{"/x.sock", "permission denied", "sudo"}},
		{syscall.EAGAIN, syscall.EAGAIN, []string{"/x.sock"}},
	}
	for _, tc := range tests {
		err := dialError("/x.sock", opErr(tc.errno))
		if !errors.Is(err, tc.is) {
			t.Errorf("dialError(%v) = %v, want it to wrap %v", tc.errno, err, tc.is)
		}
		for _, m := range tc.mention {
			if !strings.Contains(err.Error(), m) {
				t.Errorf("dialError(%v) = %q, want it to mention %q", tc.errno, err, m)
			}
		}
	}
}

func TestServeStopsAndWaits(t *testing.T) {
	path := sockPath(t)
	ln, err := Listen(path)
	if err != nil {
		t.Fatal(err)
	}
	started := make(chan struct{})
	var finished atomic.Bool
	h := func(ctx context.Context, req Request) (any, error) {
		close(started)
		<-ctx.Done()
		finished.Store(true)
		return nil, ctx.Err()
	}
	ctx, cancel := context.WithCancel(t.Context())
	served := make(chan error, 1)
	go func() { served <- Serve(ctx, ln, h) }()
	queried := make(chan error, 1)
	go func() {
		_, err := Query(t.Context(), path, Request{Command: "status"})
		queried <- err
	}()
	<-started
	cancel()
	if err := <-served; err != nil {
		t.Errorf("Serve after cancel = %v, want nil", err)
	}
	if !finished.Load() {
		t.Error("Serve returned before its handler finished")
	}
	if _, err := os.Lstat(path); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("socket file still there after Serve returned: %v", err)
	}
	if err := <-queried; err == nil {
		t.Error("Query cut short by shutdown succeeded")
	}
	if _, err := Query(t.Context(), path, Request{Command: "status"}); !errors.Is(err, ErrNotRunning) {
		t.Errorf("Query after shutdown: %v, want ErrNotRunning", err)
	}
}

func TestServeReturnsWhenListenerClosed(t *testing.T) {
	ln, err := Listen(sockPath(t))
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- Serve(t.Context(), ln, statusHandler) }()
	ln.Close()
	if err := <-served; err != nil {
		t.Errorf("Serve after its listener closed = %v, want nil", err)
	}
}

func TestBadClients(t *testing.T) {
	path := sockPath(t)
	serve(t, path, &Server{Handler: statusHandler, Timeout: 200 * time.Millisecond})
	tests := []struct {
		name string
		send []byte
		want string // the answer must contain it; "" means the connection just closes
	}{
		{"garbage", []byte("garbage\n"), `{"ok":false,"error":"invalid request`},
		{"binary", []byte{0, 1, 2, 0xff, '\n'}, `"ok":false`},
		{"unknown field", []byte(`{"command":"status","x":1}` + "\n"), "unknown field"},
		{"two values", []byte(`{"command":"status"} {}` + "\n"), "more than one JSON value"},
		{"empty command", []byte(`{"command":""}` + "\n"), "command"},
		{"too large", []byte(strings.Repeat("a", MaxRequest+100)), "longer than 4096 bytes"},
		{"too large with newline", []byte(`{"command":"` + strings.Repeat("a", MaxRequest) + `"}` + "\n"), "longer than 4096 bytes"},
		{"sends nothing", nil, ""},
		{"no newline", []byte(`{"command":"status"}`), ""}, // waits for more until the timeout
	}
	for _, tc := range tests {
		got := rawExchange(t, path, tc.send)
		if tc.want == "" && got != "" || !strings.Contains(got, tc.want) {
			t.Errorf("%s: server answered %q, want %q", tc.name, got, tc.want)
		}
		if tc.want != "" && !strings.HasSuffix(got, "\n") {
			t.Errorf("%s: answer %q is not one line", tc.name, got)
		}
	}
	// And the server still answers.
	if _, err := Query(t.Context(), path, Request{Command: "status"}); err != nil {
		t.Errorf("Query after bad clients: %v", err)
	}
}

func TestHalfClosedRequest(t *testing.T) {
	path := sockPath(t)
	serve(t, path, &Server{Handler: statusHandler})
	conn, err := net.DialUnix("unix", nil, &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(ioDeadline))
	conn.Write([]byte(`{"command":"status"}`))
	conn.CloseWrite() // a request without newline, then end of input: accepted
	got, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil || !strings.Contains(got, `"ok":true`) {
		t.Errorf("answer to a request ended by EOF = %q, %v; want ok", got, err)
	}
}

func TestConnectionLimit(t *testing.T) {
	path := sockPath(t)
	release := make(chan struct{})
	started := make(chan struct{}, 1)
	h := func(ctx context.Context, req Request) (any, error) {
		if req.Command == "hold" {
			started <- struct{}{}
			select {
			case <-release:
			case <-ctx.Done():
			}
		}
		return "done", nil
	}
	serve(t, path, &Server{Handler: h, MaxConns: 1})
	held := make(chan error, 1)
	go func() {
		_, err := Query(t.Context(), path, Request{Command: "hold"})
		held <- err
	}()
	<-started
	if got := rawExchange(t, path, []byte(`{"command":"status"}`+"\n")); !strings.Contains(got, `"error":"busy`) {
		t.Errorf("connection over the limit got %q, want a busy error", got)
	}
	// A silent client holds the one "busy" slot; the next is just closed.
	silent, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	if got := rawExchange(t, path, nil); got != "" {
		t.Errorf("connection over twice the limit got %q, want it closed without an answer", got)
	}
	close(release)
	if err := <-held; err != nil {
		t.Errorf("held query: %v", err)
	}
}

func TestResultEncoding(t *testing.T) {
	path := sockPath(t)
	serve(t, path, &Server{Handler: func(ctx context.Context, req Request) (any, error) {
		switch req.Command {
		case "nil":
			return nil, nil
		case "chan":
			return make(chan int), nil
		}
		return json.RawMessage(`[1,2]`), nil
	}})
	tests := map[string]string{
		"nil":  `{"ok":true}` + "\n",
		"raw":  `{"ok":true,"result":[1,2]}` + "\n",
		"chan": `{"ok":false,"error":"encode result: json: unsupported type: chan int"}` + "\n",
	}
	for cmd, want := range tests {
		if got := rawExchange(t, path, []byte(`{"command":"`+cmd+`"}`+"\n")); got != want {
			t.Errorf("answer to %s = %q, want %q", cmd, got, want)
		}
	}
}

func TestQueryTimeout(t *testing.T) {
	path := sockPath(t)
	ln, err := Listen(path)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close() // accepts nothing: the request waits in the backlog
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	_, err = Query(ctx, path, Request{Command: "status"})
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "no answer from vstreamd") {
		t.Errorf("Query to a daemon that never answers: error = %v, want a deadline error", err)
	}
}

func TestQueryRejectsBadCommand(t *testing.T) {
	if _, err := Query(t.Context(), sockPath(t), Request{Command: "Status Now"}); !errors.Is(err, ErrBadRequest) {
		t.Errorf("Query with a bad command: error = %v, want ErrBadRequest", err)
	}
}
