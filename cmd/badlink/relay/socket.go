package relay

import (
	"fmt"
	"net"
)

// SocketBuffer is the kernel buffer Prepare asks for on each socket, each
// way: about 3,000 datagrams of 1200 bytes, so that a stall of the relay of
// a few hundred milliseconds at video rates queues instead of dropping. The
// kernel caps it at net.core.rmem_max and wmem_max.
const SocketBuffer = 4 << 20

// Prepare readies a UDP socket for the relay: it asks for SocketBuffer
// bytes of kernel buffer each way. It returns the receive buffer the
// kernel granted (0 where that is unknown). The datagrams the kernel drops
// at the socket because its buffer is full show in the relay's stats as
// kernel drops (on Linux).
func Prepare(c *net.UDPConn) (rcvbuf int, err error) {
	if err := c.SetReadBuffer(SocketBuffer); err != nil {
		return 0, fmt.Errorf("setting the receive buffer: %w", err)
	}
	if err := c.SetWriteBuffer(SocketBuffer); err != nil {
		return 0, fmt.Errorf("setting the send buffer: %w", err)
	}
	return prepareOS(c)
}
