package control

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"syscall"
	"time"
)

// Server defaults.
const (
	DefaultMaxConns = 16
	DefaultTimeout  = 5 * time.Second
)

var (
	// errTooLarge is a request line longer than MaxRequest.
	errTooLarge = fmt.Errorf("%w: longer than %d bytes", ErrBadRequest, MaxRequest)
	// errBusy answers connections over Server.MaxConns.
	errBusy = errors.New("busy: too many control connections at once, try again")
)

// Server answers requests on a control socket. Set its fields before Serve
// and leave them alone while it runs; Serve itself may be called once per
// listener, from any goroutine.
type Server struct {
	Handler  Handler
	MaxConns int           // requests handled at once; as many more are answered "busy", the rest closed. 0 means DefaultMaxConns
	Timeout  time.Duration // for a whole exchange, from accept to the answer written. 0 means DefaultTimeout
}

// Serve answers requests on ln with h, using the defaults of Server.
func Serve(ctx context.Context, ln net.Listener, h Handler) error {
	return (&Server{Handler: h}).Serve(ctx, ln)
}

// Serve answers requests on ln until ctx is done or ln is closed. It closes
// ln (which, for a listener from Listen, removes the socket file), cancels
// the handlers' contexts, and waits for every connection it started before
// it returns. It returns nil when stopped by ctx or by ln being closed, and
// the accept error otherwise.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	ctx, cancel := context.WithCancel(ctx)
	stopWatch := context.AfterFunc(ctx, func() { ln.Close() })
	var wg sync.WaitGroup
	err := s.acceptLoop(ctx, ln, &wg)
	cancel()
	stopWatch()
	ln.Close()
	wg.Wait()
	return err
}

func (s *Server) acceptLoop(ctx context.Context, ln net.Listener, wg *sync.WaitGroup) error {
	n := orDefault(s.MaxConns, DefaultMaxConns)
	serving := make(chan struct{}, n)
	refusing := make(chan struct{}, n)
	backoff := 5 * time.Millisecond
	for {
		conn, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return nil
			}
			if !retryable(err) {
				return fmt.Errorf("control: accept: %w", err)
			}
			// Out of file descriptors and the like: wait and try again,
			// as net/http does.
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(backoff):
			}
			backoff = min(2*backoff, time.Second)
			continue
		}
		backoff = 5 * time.Millisecond
		select {
		case serving <- struct{}{}:
			wg.Go(func() {
				defer func() { <-serving }()
				s.serveConn(ctx, conn, nil)
			})
			continue
		default:
		}
		select {
		case refusing <- struct{}{}:
			wg.Go(func() {
				defer func() { <-refusing }()
				s.serveConn(ctx, conn, errBusy)
			})
		default:
			conn.Close() // over twice the limit: not even an answer
		}
	}
}

func retryable(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout() ||
		errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE) ||
		errors.Is(err, syscall.ECONNABORTED) || errors.Is(err, syscall.ENOBUFS) || errors.Is(err, syscall.ENOMEM)
}

// serveConn reads one request, answers it and closes conn. With refusal
// set, the answer is that error instead of the handler's: reading the
// request first spares the client a broken pipe or a reset.
func (s *Server) serveConn(ctx context.Context, conn net.Conn, refusal error) {
	defer conn.Close()
	timeout := orDefault(s.Timeout, DefaultTimeout)
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	// Unblock any read or write at once when Serve stops.
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Now()) })
	defer stop()
	if err := conn.SetDeadline(time.Now().Add(timeout)); err != nil {
		return
	}

	line, err := readLine(conn, MaxRequest, errTooLarge)
	if err != nil {
		if errors.Is(err, ErrBadRequest) {
			writeResponse(conn, nil, err)
		}
		return // timed out, closed, or nothing sent: nobody to answer
	}
	if refusal != nil {
		writeResponse(conn, nil, refusal)
		return
	}
	req, err := DecodeRequest(line)
	if err != nil {
		writeResponse(conn, nil, err)
		return
	}
	result, err := s.Handler(ctx, req)
	writeResponse(conn, result, err)
}

func writeResponse(conn net.Conn, result any, herr error) {
	resp := response{OK: herr == nil}
	if herr != nil {
		resp.Error = herr.Error()
	} else if result != nil {
		b, err := encodeLine(result)
		if err != nil {
			resp = response{Error: "encode result: " + err.Error()}
		} else {
			resp.Result = b[:len(b)-1]
		}
	}
	b, err := encodeLine(resp)
	if err != nil {
		return
	}
	if len(b) > MaxResponse {
		b, _ = encodeLine(response{Error: fmt.Sprintf("response of %d bytes is over the %d-byte limit", len(b), MaxResponse)})
	}
	conn.Write(b)
}

// readLine reads up to the first newline, at most limit bytes including it.
// A last line without a newline is accepted if the peer then closed its end.
// A longer line gives tooLarge; nothing at all gives io.EOF.
func readLine(r io.Reader, limit int, tooLarge error) ([]byte, error) {
	line, err := bufio.NewReader(io.LimitReader(r, int64(limit)+1)).ReadBytes('\n')
	switch {
	case len(line) > limit:
		return nil, tooLarge
	case err == nil:
		return line[:len(line)-1], nil
	case errors.Is(err, io.EOF) && len(line) > 0:
		return line, nil
	}
	return nil, err
}

// orDefault returns v, or def when v is not positive.
func orDefault[T int | time.Duration](v, def T) T {
	if v > 0 {
		return v
	}
	return def
}
