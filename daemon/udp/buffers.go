package udp

import "net/netip"

// Batch is a set of datagrams to one destination, one after another in one
// arena: copied in (Add), or built in place (Tail, then Commit). It is not safe for concurrent use. The zero value holds
// nothing; use NewBatch.
type Batch struct {
	// Dest is where WriteBatch sends the datagrams.
	Dest netip.AddrPort
	buf  []byte // the datagrams, back to back
	ends []int  // end offset of each datagram in buf
}

// NewBatch returns a Batch with room for count datagrams of up to size
// bytes each.
func NewBatch(count, size int) *Batch {
	return &Batch{buf: make([]byte, 0, count*size), ends: make([]int, 0, count)}
}

// Add copies dg into the batch. It returns ErrFull, and copies nothing,
// when the batch has no room for it; send and Reset the batch then.
func (b *Batch) Add(dg []byte) error {
	if len(b.ends) == cap(b.ends) || len(b.buf)+len(dg) > cap(b.buf) {
		return ErrFull
	}
	b.buf = append(b.buf, dg...)
	b.ends = append(b.ends, len(b.buf))
	return nil
}

// Tail returns the arena's free room, empty, for building the next
// datagram in place; Commit then adds it without a copy. Appending past
// its capacity leaves the arena (the datagram then needs Add).
func (b *Batch) Tail() []byte { return b.buf[len(b.buf):len(b.buf)] }

// Commit adds dg, built at the start of Tail, as the next datagram. It
// returns ErrFull when the batch has no room for another datagram, and
// ErrNotTail when dg is not where Tail begins; the batch is then
// unchanged.
func (b *Batch) Commit(dg []byte) error {
	if len(b.ends) == cap(b.ends) || len(b.buf)+len(dg) > cap(b.buf) {
		return ErrFull
	}
	if len(dg) == 0 || &b.buf[:len(b.buf)+1][len(b.buf)] != &dg[0] {
		return ErrNotTail
	}
	b.buf = b.buf[:len(b.buf)+len(dg)]
	b.ends = append(b.ends, len(b.buf))
	return nil
}

// Room reports whether a datagram of n bytes would fit.
func (b *Batch) Room(n int) bool {
	return len(b.ends) < cap(b.ends) && len(b.buf)+n <= cap(b.buf)
}

// Len returns the number of datagrams in the batch.
func (b *Batch) Len() int { return len(b.ends) }

// Bytes returns the total length of the datagrams.
func (b *Batch) Bytes() int { return len(b.buf) }

// Datagram returns datagram i, a view into the batch.
func (b *Batch) Datagram(i int) []byte {
	start := 0
	if i > 0 {
		start = b.ends[i-1]
	}
	return b.buf[start:b.ends[i]]
}

// Reset empties the batch; Dest stays.
func (b *Batch) Reset() {
	b.buf = b.buf[:0]
	b.ends = b.ends[:0]
}

// Inbox holds the buffers ReadBatch reads into and the datagrams of the
// last read, as views into them, valid until the next ReadBatch. It is not
// safe for concurrent use. Make one with the Conn's NewInbox.
type Inbox struct {
	slots [][]byte
	dgs   []received
}

type received struct {
	b    []byte
	from netip.AddrPort
	at   int64 // the kernel's receive time, Unix ns; 0: unknown
}

func newInbox(slots, size, views int) *Inbox {
	in := &Inbox{slots: make([][]byte, slots), dgs: make([]received, 0, views)}
	arena := make([]byte, slots*size)
	for i := range in.slots {
		in.slots[i] = arena[i*size : (i+1)*size : (i+1)*size]
	}
	return in
}

// NewInbox returns an Inbox of slots read buffers of size bytes, for
// PacketConn implementations other than Conn.
func NewInbox(slots, size int) *Inbox { return newInbox(slots, size, slots) }

// Slots returns the read buffers, for PacketConn implementations.
func (in *Inbox) Slots() [][]byte { return in.slots }

// Len returns the number of datagrams of the last read.
func (in *Inbox) Len() int { return len(in.dgs) }

// Datagram returns datagram i of the last read and its sender.
func (in *Inbox) Datagram(i int) ([]byte, netip.AddrPort) {
	return in.dgs[i].b, in.dgs[i].from
}

// Arrived returns when the kernel received datagram i of the last read,
// in Unix nanoseconds (the wall clock), or 0 where it does not say. The
// kernel turns stamping on for the machine a little after the first socket
// asks; datagrams before that carry the time they were read.
func (in *Inbox) Arrived(i int) int64 { return in.dgs[i].at }

// Add records a datagram read into one of the slots, for PacketConn
// implementations. It returns false when the Inbox has no room.
func (in *Inbox) Add(b []byte, from netip.AddrPort) bool {
	if len(in.dgs) == cap(in.dgs) {
		return false
	}
	in.add(b, from)
	return true
}

// addAt is Add with the kernel's receive time.
func (in *Inbox) addAt(b []byte, from netip.AddrPort, at int64) bool {
	if len(in.dgs) == cap(in.dgs) {
		return false
	}
	in.dgs = append(in.dgs, received{b: b, from: from, at: at})
	return true
}

// Clear forgets the last read, for PacketConn implementations.
func (in *Inbox) Clear() { in.clear() }

func (in *Inbox) add(b []byte, from netip.AddrPort) {
	in.dgs = append(in.dgs, received{b: b, from: from})
}

func (in *Inbox) clear() {
	clear(in.dgs) // drop references to the views
	in.dgs = in.dgs[:0]
}
