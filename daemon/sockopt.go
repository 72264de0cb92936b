package daemon

import (
	"net"

	"golang.org/x/sys/unix"
)

// readBufferSize returns the socket's receive buffer as the kernel granted
// it (Linux reports twice the usable size; halve it back).
func readBufferSize(conn *net.UDPConn) (int, error) {
	raw, err := conn.SyscallConn()
	if err != nil {
		return 0, err
	}
	var size int
	var serr error
	if err := raw.Control(func(fd uintptr) {
		size, serr = unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUF)
	}); err != nil {
		return 0, err
	}
	return size / 2, serr
}
