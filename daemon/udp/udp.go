// Package udp owns vstreamd's datagram socket I/O: a frame's datagrams go
// out in as few system calls as the kernel allows, and the peer's come in
// many per call.
//
// On Linux a Conn sends with sendmmsg(2) and, where the kernel has it, UDP
// generic segmentation offload (UDP_SEGMENT): runs of equal-sized datagrams
// to one destination leave as one large buffer that the kernel (or the NIC)
// cuts into datagrams, up to 64 per buffer. It reads with recvmmsg(2) and,
// where the kernel has it, UDP generic receive offload (UDP_GRO): the kernel
// hands over several datagrams of one flow in one buffer with their size,
// and ReadBatch splits them without copying. Each datagram read carries
// the kernel's receive time (SO_TIMESTAMPNS; Inbox.Arrived), so that an
// arrival's time does not depend on how soon the reader ran (the segments
// of a buffer the kernel coalesced, GRO, share its stamp; the first
// datagrams after the machine's first stamping socket opened may carry
// their read time, while the kernel turns stamping on). A send
// that the kernel or driver refuses with segmentation (EIO: no checksum
// offload) turns segmentation off for the Conn and is retried without it.
// Elsewhere, and when New is told to, it falls back to one datagram per
// system call. This follows wireguard-go's conn package (StdNetBind). It
// makes the system calls itself (golang.org/x/sys/unix, through the
// socket's RawConn so the runtime's poller still waits and deadlines still
// hold) rather than through golang.org/x/net/ipv4's ReadBatch, which
// allocates a *net.UDPAddr and its IP for every datagram read.
//
// Buffers are the caller's: a Batch holds datagrams to send, copied into
// one arena (segmentation needs them contiguous), and an Inbox holds the
// buffers the kernel reads into and views of the datagrams in them, valid
// until the next read. After New, NewBatch and NewInbox nothing allocates.
//
// Datagrams are not read straight into the frame they belong to: a read
// cannot know the frame before the header is parsed and the datagram
// authenticated, and an unauthenticated datagram must not touch a frame's
// memory; see the daemon's receive loop.
package udp

import (
	"errors"
	"net"
	"net/netip"
	"sync/atomic"
	"time"
)

const (
	// MaxSegments is the most datagrams one segmented send may carry (the
	// kernel's UDP_MAX_SEGMENTS).
	MaxSegments = 64
	// maxPayload is the largest UDP payload in one buffer (IPv4).
	maxPayload = 1<<16 - 1 - 20 - 8
	// groSlot is the size of a read buffer when the kernel may coalesce.
	groSlot = 1<<16 - 1
	// readSlots is the number of read buffers of an Inbox without GRO,
	// groSlots with it (each then holds up to MaxSegments datagrams).
	readSlots = 64
	groSlots  = 16
)

// PacketConn is the datagram socket the daemon's loops use: *Conn on a real
// socket, udptest.Conn in unit tests. WriteBatch and ReadBatch are each
// called by one goroutine at a time; WriteTo is safe for concurrent use.
type PacketConn interface {
	WriteBatch(b *Batch) (int, error)
	WriteTo(dg []byte, to netip.AddrPort) error
	ReadBatch(in *Inbox) (int, error)
	NewInbox(maxDatagram int) *Inbox
	SetReadDeadline(t time.Time) error
	Close() error
}

// Options turn the kernel's help off, for tests and benchmarks that
// compare.
type Options struct {
	NoBatch   bool // one datagram per system call
	NoOffload bool // batches, but no UDP_SEGMENT or UDP_GRO
}

// Stats counts a Conn's work. Fields are read with Load.
type Stats struct {
	SendCalls atomic.Uint64 // system calls that sent
	Sent      atomic.Uint64 // datagrams sent
	RecvCalls atomic.Uint64 // system calls that read
	Received  atomic.Uint64 // datagrams read
}

// Conn is a UDP socket with batched I/O. See PacketConn for which methods
// may run concurrently.
type Conn struct {
	uc    *net.UDPConn
	sys   *sysConn // nil: one datagram per system call
	stats Stats
}

// New wraps uc, which the Conn then owns (Close closes it). It finds out
// what the kernel offers and turns on receive offload when it may.
func New(uc *net.UDPConn, opt Options) (*Conn, error) {
	c := &Conn{uc: uc}
	if opt.NoBatch {
		return c, nil
	}
	sys, err := newSysConn(uc, !opt.NoOffload)
	if err != nil {
		return nil, err
	}
	c.sys = sys
	return c, nil
}

// Stats returns the Conn's counters.
func (c *Conn) Stats() *Stats { return &c.stats }

// Offload reports whether sends are segmented by the kernel (GSO) and
// reads coalesced (GRO).
func (c *Conn) Offload() (gso, gro bool) {
	if c.sys == nil {
		return false, false
	}
	return c.sys.gso.Load(), c.sys.gro
}

// UDPConn returns the socket, for settings such as buffer sizes.
func (c *Conn) UDPConn() *net.UDPConn { return c.uc }

// LocalAddr returns the socket's address.
func (c *Conn) LocalAddr() netip.AddrPort { return c.uc.LocalAddr().(*net.UDPAddr).AddrPort() }

// SetReadDeadline sets the deadline of ReadBatch (see net.Conn).
func (c *Conn) SetReadDeadline(t time.Time) error { return c.uc.SetReadDeadline(t) }

// Close closes the socket; a blocked ReadBatch or ReadOnThread returns
// net.ErrClosed.
func (c *Conn) Close() error {
	if c.sys == nil {
		return c.uc.Close()
	}
	return c.sys.close(c.uc)
}

// WriteTo sends one datagram. It is safe for concurrent use, also with
// WriteBatch.
func (c *Conn) WriteTo(dg []byte, to netip.AddrPort) error {
	c.stats.SendCalls.Add(1)
	if c.sys != nil {
		if err := c.sys.writeOne(dg, to); err != nil {
			return err
		}
		c.stats.Sent.Add(1)
		return nil
	}
	if _, err := c.uc.WriteToUDPAddrPort(dg, to); err != nil {
		return err
	}
	c.stats.Sent.Add(1)
	return nil
}

// WriteBatch sends b's datagrams to b.Dest and returns how many went out.
// A datagram the kernel refuses is skipped and the rest still sent; the
// error is the first refusal. b is left as it was.
func (c *Conn) WriteBatch(b *Batch) (int, error) {
	if b.Len() == 0 {
		return 0, nil
	}
	if c.sys == nil {
		var first error
		sent := 0
		for i := range b.Len() {
			if err := c.WriteTo(b.Datagram(i), b.Dest); err != nil {
				first = cmp(first, err)
				continue
			}
			sent++
		}
		return sent, first
	}
	return c.sys.write(b, &c.stats)
}

// ReadBatch waits for datagrams and reads as many as are queued and in
// fit in, up to what the Inbox holds, replacing its contents. It returns
// their number; an error such as a deadline or net.ErrClosed comes with 0.
func (c *Conn) ReadBatch(in *Inbox) (int, error) {
	in.clear()
	if c.sys == nil {
		slot := in.slots[0]
		n, from, err := c.uc.ReadFromUDPAddrPort(slot)
		c.stats.RecvCalls.Add(1)
		if err != nil {
			return 0, err
		}
		in.add(slot[:n], from)
		c.stats.Received.Add(1)
		return 1, nil
	}
	return c.sys.read(in, &c.stats)
}

// ReadOnThread is ReadBatch that, when nothing is queued, waits in the
// kernel on the calling thread (ppoll), not in the Go runtime's network
// poller, so that the thread's own priority (sched.Realtime) decides how
// soon it runs when a datagram comes. A wait in the poller is woken on
// whichever runtime thread waits there, at that thread's priority, and
// only then hands the goroutine to a thread. The caller is a goroutine
// locked to its thread (sched.LockRealtime). The wait gives up the
// goroutine's P, as the runtime's own blocking waits do, and takes an idle
// one on waking (sched.LockRealtime adds one to GOMAXPROCS).
// waited reports whether the socket was found empty, that is, the reader
// had caught up. deadline (zero: none) replaces SetReadDeadline's; past
// it, the error is os.ErrDeadlineExceeded. Without batched I/O it is
// ReadBatch with the deadline (one past reads nothing), and waited is
// true.
func (c *Conn) ReadOnThread(in *Inbox, deadline time.Time) (n int, waited bool, err error) {
	in.clear()
	if c.sys == nil {
		if err := c.uc.SetReadDeadline(deadline); err != nil {
			return 0, true, err
		}
		n, err := c.ReadBatch(in)
		return n, true, err
	}
	return c.sys.readOnThread(in, deadline, &c.stats)
}

// NewInbox returns an Inbox for this Conn: read buffers of maxDatagram+1
// bytes (a longer datagram reads as maxDatagram+1 bytes, so the caller sees
// it is too long), or of 64 KB when the kernel coalesces.
func (c *Conn) NewInbox(maxDatagram int) *Inbox {
	if c.sys != nil && c.sys.gro {
		return newInbox(groSlots, groSlot, groSlots*MaxSegments)
	}
	if c.sys == nil {
		return newInbox(1, maxDatagram+1, 1)
	}
	return newInbox(readSlots, maxDatagram+1, readSlots)
}

func cmp(first, err error) error {
	if first != nil {
		return first
	}
	return err
}

// ErrFull is returned by Batch.Add when the batch has no room.
var ErrFull = errors.New("udp: batch full")

// ErrNotTail is Commit's error for a datagram not built at the batch's Tail.
var ErrNotTail = errors.New("udp: datagram not at the batch's tail")
