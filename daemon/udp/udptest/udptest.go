// Package udptest provides an in-memory udp.PacketConn for unit tests: a
// Network of Conns that deliver datagrams to each other in order, each
// with a bounded queue that drops when full, as a socket buffer does. The
// package udp tests run the same cases over it and over real sockets.
package udptest

import (
	"errors"
	"net"
	"net/netip"
	"os"
	"sync"
	"time"

	"github.com/vstreamd/vstreamd/daemon/udp"
)

// QueueLen is how many datagrams a Conn holds unread before it drops.
const QueueLen = 1024

// Network connects Conns by address. It is safe for concurrent use.
type Network struct {
	mu    sync.Mutex
	conns map[netip.AddrPort]*Conn
}

// NewNetwork returns an empty Network.
func NewNetwork() *Network { return &Network{conns: map[netip.AddrPort]*Conn{}} }

// Listen returns a Conn at addr. It panics if addr is taken: a test bug.
func (n *Network) Listen(addr netip.AddrPort) *Conn {
	n.mu.Lock()
	defer n.mu.Unlock()
	if _, ok := n.conns[addr]; ok {
		panic("udptest: address in use: " + addr.String())
	}
	c := &Conn{net: n, addr: addr, queue: make(chan datagram, QueueLen), closed: make(chan struct{})}
	n.conns[addr] = c
	return c
}

type datagram struct {
	b    []byte
	from netip.AddrPort
}

// Conn is one endpoint of a Network. It implements udp.PacketConn.
type Conn struct {
	net    *Network
	addr   netip.AddrPort
	queue  chan datagram
	closed chan struct{}
	once   sync.Once

	mu       sync.Mutex
	deadline time.Time

	dropped int64
}

// Dropped returns how many datagrams were lost to a full queue at c.
func (c *Conn) Dropped() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.dropped
}

var _ udp.PacketConn = (*Conn)(nil)

// LocalAddr returns the Conn's address.
func (c *Conn) LocalAddr() netip.AddrPort { return c.addr }

func (c *Conn) deliver(dg []byte, to netip.AddrPort) {
	c.net.mu.Lock()
	dst := c.net.conns[to]
	c.net.mu.Unlock()
	if dst == nil {
		return // nobody there: lost, as on the wire
	}
	select {
	case dst.queue <- datagram{b: append([]byte(nil), dg...), from: c.addr}:
	default:
		dst.mu.Lock()
		dst.dropped++
		dst.mu.Unlock()
	}
}

// WriteTo sends one datagram.
func (c *Conn) WriteTo(dg []byte, to netip.AddrPort) error {
	if c.isClosed() {
		return net.ErrClosed
	}
	c.deliver(dg, to)
	return nil
}

// WriteBatch sends b's datagrams to b.Dest.
func (c *Conn) WriteBatch(b *udp.Batch) (int, error) {
	if c.isClosed() {
		return 0, net.ErrClosed
	}
	for i := range b.Len() {
		c.deliver(b.Datagram(i), b.Dest)
	}
	return b.Len(), nil
}

// NewInbox returns an Inbox of 16 buffers of maxDatagram+1 bytes.
func (c *Conn) NewInbox(maxDatagram int) *udp.Inbox { return udp.NewInbox(16, maxDatagram+1) }

// ReadBatch waits for a datagram, then takes as many as are queued and fit.
func (c *Conn) ReadBatch(in *udp.Inbox) (int, error) {
	in.Clear()
	c.mu.Lock()
	deadline := c.deadline
	c.mu.Unlock()
	var timeout <-chan time.Time
	if !deadline.IsZero() {
		t := time.NewTimer(time.Until(deadline))
		defer t.Stop()
		timeout = t.C
	}
	slots := in.Slots()
	var d datagram
	select {
	case d = <-c.queue:
	case <-c.closed:
		return 0, net.ErrClosed
	case <-timeout:
		return 0, os.ErrDeadlineExceeded
	}
	for i := 0; ; i++ {
		n := copy(slots[i], d.b)
		in.Add(slots[i][:n], d.from)
		if i+1 == len(slots) {
			break
		}
		select {
		case d = <-c.queue:
			continue
		default:
		}
		break
	}
	return in.Len(), nil
}

// SetReadDeadline sets when a waiting ReadBatch gives up.
func (c *Conn) SetReadDeadline(t time.Time) error {
	c.mu.Lock()
	c.deadline = t
	c.mu.Unlock()
	return nil
}

// Close removes the Conn from the Network and ends a waiting ReadBatch.
func (c *Conn) Close() error {
	err := errors.New("udptest: closed twice")
	c.once.Do(func() {
		err = nil
		close(c.closed)
		c.net.mu.Lock()
		delete(c.net.conns, c.addr)
		c.net.mu.Unlock()
	})
	return err
}

func (c *Conn) isClosed() bool {
	select {
	case <-c.closed:
		return true
	default:
		return false
	}
}
