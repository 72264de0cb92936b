// Package control is the daemon's local control socket, the unix socket
// `vstreamd status` talks to.
//
// The wire protocol is one exchange per connection, each message one line of
// JSON:
//
//	client: {"command":"status"}\n
//	server: {"ok":true,"result":{...}}\n     or     {"ok":false,"error":"..."}\n
//
// then the server closes the connection. A request is at most MaxRequest
// bytes, a response at most MaxResponse.
//
// Listen creates the socket owner-only (srw-------), replaces a stale socket
// left by a crashed daemon, and refuses to touch one a live daemon answers
// on. Serve answers requests with a Handler, a bounded number at a time, and
// on return has removed the socket and waited for every connection. Query is
// the client side.
package control

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// Limits of the wire protocol.
const (
	MaxRequest  = 4096    // bytes in a request line, newline included
	MaxResponse = 1 << 20 // bytes in a response line, newline included
	maxCommand  = 64      // bytes in a command name
)

// Sentinel errors callers branch on.
var (
	// ErrNotRunning: nobody listens on the control socket (it does not
	// exist, or it is stale). Query wraps it.
	ErrNotRunning = errors.New("no vstreamd is running")
	// ErrInUse: Listen found a live daemon answering on the socket.
	ErrInUse = errors.New("another vstreamd is running")
	// ErrBadRequest: a request line that is not a valid request.
	ErrBadRequest = errors.New("invalid request")
	// ErrUnknownCommand is for handlers to wrap when they do not know a
	// request's command.
	ErrUnknownCommand = errors.New("unknown command")
)

// Request is what a client asks.
type Request struct {
	Command string `json:"command"` // e.g. "status"
}

// Handler answers a request. Its result is marshalled to JSON; its error's
// text goes back to the client. ctx is done when the request times out or
// Serve stops, and the handler should return soon after: Serve waits for it.
type Handler func(ctx context.Context, req Request) (any, error)

// response is the envelope of every answer.
type response struct {
	OK     bool            `json:"ok"`
	Result json.RawMessage `json:"result,omitempty"`
	Error  string          `json:"error,omitempty"`
}

// RemoteError is a failure the daemon reported (an {"ok":false} answer).
type RemoteError struct {
	Message string
}

func (e *RemoteError) Error() string { return "vstreamd: " + e.Message }

// DecodeRequest parses one request line (without its newline). It accepts
// exactly one JSON object with a "command" of 1 to 64 characters from
// [a-z0-9_-] and no other fields. Errors wrap ErrBadRequest.
func DecodeRequest(line []byte) (Request, error) {
	var req Request
	if len(line) > MaxRequest {
		return req, fmt.Errorf("%w: longer than %d bytes", ErrBadRequest, MaxRequest)
	}
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		return Request{}, fmt.Errorf("%w: %v", ErrBadRequest, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return Request{}, fmt.Errorf("%w: more than one JSON value", ErrBadRequest)
	}
	if err := checkCommand(req.Command); err != nil {
		return Request{}, err
	}
	return req, nil
}

func checkCommand(c string) error {
	if c == "" {
		return fmt.Errorf(`%w: "command" is missing or empty`, ErrBadRequest)
	}
	if len(c) > maxCommand {
		return fmt.Errorf("%w: command longer than %d bytes", ErrBadRequest, maxCommand)
	}
	for i := 0; i < len(c); i++ {
		if b := c[i]; !(b >= 'a' && b <= 'z' || b >= '0' && b <= '9' || b == '-' || b == '_') {
			return fmt.Errorf("%w: command %q has characters other than a-z, 0-9, - and _", ErrBadRequest, c)
		}
	}
	return nil
}

// encodeLine marshals v as one JSON line.
func encodeLine(v any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}
