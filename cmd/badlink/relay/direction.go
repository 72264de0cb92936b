package relay

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vstreamd/vstreamd/cmd/badlink/impair"
	"github.com/vstreamd/vstreamd/daemon/sched"
	"github.com/vstreamd/vstreamd/daemon/udp"
)

// maxReadErrors is how many read errors in a row, other than the socket
// being closed, end the relay rather than spin.
const maxReadErrors = 100

// direction carries datagrams one way: read on rx from from[i], impaired by
// link, written on tx to to[i]. With a second pair of endpoints both flows
// share the link, and so its bottleneck. The reader goroutine owns link and seq, the
// sender goroutine owns heap; they share pool and queue.
type direction struct {
	name     string
	link     *impair.Link
	from, to [2]netip.AddrPort // the pairs; from[1] invalid: one pair
	rx, tx   PacketConn
	maxSize  int
	epoch    time.Time
	c        counters

	pool  *bufPool
	queue chan item // reader to sender; never blocks, as it holds at most as many items as the pool has buffers
	seq   uint64
	heap  releaseHeap

	// held counts the copies in queue and heap not yet written or
	// discarded. While it is 0 a copy due now goes out from the reader
	// itself (forward): nothing can be overtaken, and the hand-off to the
	// sender goroutine, a thread wake-up per datagram, is saved.
	held atomic.Int64
	out  outgoing // the reader's
	due  outgoing // the sender's
	txMu sync.Mutex

	rtPrio int          // the reader thread's real-time priority; 0: the runtime's poller wakes it
	log    *slog.Logger // nil in unit tests
}

// threadReader is a socket that waits for datagrams on the calling thread
// (udp.Conn.ReadOnThread).
type threadReader interface {
	ReadOnThread(in *udp.Inbox, deadline time.Time) (n int, waited bool, err error)
}

// read is readLoop's read: on the reader's own real-time thread when rt is
// set, else through the runtime's poller.
func (d *direction) read(in *udp.Inbox, tr threadReader, rt *sched.Realtime) (int, error) {
	if rt == nil {
		return d.rx.ReadBatch(in)
	}
	n, waited, err := tr.ReadOnThread(in, time.Time{})
	if now := time.Now(); waited {
		rt.CaughtUp(now)
	} else {
		rt.Busy(now)
	}
	return n, err
}

func newDirection(name string, link *impair.Link, from, to [2]netip.AddrPort, rx, tx PacketConn, limit, maxSize int, epoch time.Time) *direction {
	return &direction{
		name: name, link: link, from: from, to: to, rx: rx, tx: tx,
		maxSize: maxSize, epoch: epoch,
		pool:  newBufPool(limit, maxSize),
		queue: make(chan item, limit),
		heap:  newReleaseHeap(limit),
		out:   outgoing{b: udp.NewBatch(udp.MaxSegments, maxSize)},
		due:   outgoing{b: udp.NewBatch(udp.MaxSegments, maxSize), fromHeap: true},
	}
}

// now is the relay's monotonic clock.
func (d *direction) now() time.Duration { return time.Since(d.epoch) }

// readLoop reads datagrams until rx is closed, then closes the queue so
// that the sender finishes. It returns an error only if reading keeps
// failing for another reason. It reads as many datagrams as the kernel
// holds in one call, and writes those that need no delay in one call
// after them (see forward).
func (d *direction) readLoop() error {
	defer close(d.queue)
	in := d.rx.NewInbox(d.maxSize)
	var rt *sched.Realtime
	tr, ok := d.rx.(threadReader)
	if ok && d.rtPrio > 0 {
		rt = sched.LockRealtime(d.rtPrio)
		defer rt.Release()
		if st := rt.Status(); st.Refused != "" && d.log != nil {
			d.log.Warn("the reader stays at normal priority", "direction", d.name, "realtime_priority", d.rtPrio, "err", st.Refused)
		}
	}
	failures := 0
	for {
		n, err := d.read(in, tr, rt)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return nil
			}
			d.c.readErrors.Add(1)
			if failures++; failures >= maxReadErrors {
				return fmt.Errorf("reading: %d errors in a row, last: %w", failures, err)
			}
			continue
		}
		failures = 0
		now := d.now()
		for i := range n {
			p, from := in.Datagram(i)
			d.handle(p, from, now)
		}
		d.flushOut()
	}
}

// handle filters, impairs and queues one datagram that arrived at now.
// It runs on the reader goroutine and does not allocate.
func (d *direction) handle(p []byte, from netip.AddrPort, now time.Duration) {
	var dst uint8
	switch unmap(from) {
	case d.from[0]:
	case d.from[1]:
		dst = 1
	default:
		d.c.filtered.Add(1)
		return
	}
	d.c.in.Add(1)
	d.c.bytesIn.Add(uint64(len(p)))
	if len(p) > d.maxSize {
		d.c.tooBig.Add(1)
		return
	}
	v := d.link.Decide(now, len(p))
	if v.Lost {
		d.c.lost.Add(1)
		return
	}
	if v.Copies == 2 {
		d.c.duplicated.Add(1)
	}
	for _, cp := range v.Copy[:v.Copies] {
		if cp.Dropped {
			d.c.queueDrops.Add(1)
			continue
		}
		if cp.Release <= now && d.held.Load() == 0 {
			d.forward(p, dst)
			continue
		}
		d.flushOut() // what went ahead of this copy leaves ahead of it
		i, ok := d.pool.get()
		if !ok {
			d.c.limitDrops.Add(1)
			continue
		}
		n := copy(d.pool.buf(i), p)
		if cp.Release > now {
			d.c.delayed.Add(1)
		}
		if cp.Reordered {
			d.c.reordered.Add(1)
		}
		d.seq++
		d.held.Add(1)
		d.queue <- item{at: cp.Release, seq: d.seq, buf: i, n: int32(n), dst: dst}
	}
}

// sendLoop releases datagrams from the heap as they fall due until the
// reader closes the queue; whatever is still held then is discarded.
func (d *direction) sendLoop() {
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	for {
		var fire <-chan time.Time
		if wait, pending := d.flush(d.now()); pending {
			timer.Reset(wait)
			fire = timer.C
		}
		select {
		case it, ok := <-d.queue:
			if !ok {
				d.discardAll()
				return
			}
			d.heap.push(it)
			d.takeQueued()
		case <-fire:
		}
	}
}

// takeQueued moves whatever the reader has queued into the heap without
// blocking.
func (d *direction) takeQueued() {
	for {
		select {
		case it, ok := <-d.queue:
			if !ok {
				return // sendLoop sees the close on its next receive
			}
			d.heap.push(it)
		default:
			return
		}
	}
}

// flush sends every held datagram due by now, in as few writes as their
// destinations allow, and returns how long to wait for the next one, or
// pending = false if none is held.
func (d *direction) flush(now time.Duration) (wait time.Duration, pending bool) {
	defer d.write(&d.due)
	for d.heap.len() > 0 {
		it := d.heap.min()
		if it.at > now {
			return it.at - now, true
		}
		it = d.heap.pop()
		d.add(&d.due, d.pool.buf(it.buf)[:it.n], it.dst)
		d.pool.put(it.buf)
	}
	return 0, false
}

// forward queues a copy that is due now and goes ahead of nothing held
// for the reader's next write, which follows its read (flushOut): a frame
// that arrived in one read leaves in one write, as from a wire, instead
// of a write per datagram (each of which wakes the far endpoint). Reader
// only.
func (d *direction) forward(p []byte, dst uint8) { d.add(&d.out, p, dst) }

// flushOut writes what forward queued. Reader only.
func (d *direction) flushOut() { d.write(&d.out) }

// outgoing is a batch of datagrams to one destination. The sender's
// (fromHeap) holds only datagrams from the heap, which count as held until
// written.
type outgoing struct {
	b        *udp.Batch
	dst      uint8
	fromHeap bool
}

// add appends p, bound for dst, to o, writing o first if it goes elsewhere
// or is full.
func (d *direction) add(o *outgoing, p []byte, dst uint8) {
	if o.b.Len() > 0 && (o.dst != dst || !o.b.Room(len(p))) {
		d.write(o)
	}
	o.dst = dst
	o.b.Dest = d.to[dst]
	_ = o.b.Add(p) // fits: an empty batch holds any datagram up to maxSize
}

// write sends o's datagrams, counts the outcome and empties o. The reader
// and the sender never write at the same time (the reader writes only
// while nothing is held, the sender only what is held); txMu guards the
// socket's send state all the same.
func (d *direction) write(o *outgoing) {
	n := o.b.Len()
	if n == 0 {
		return
	}
	d.txMu.Lock()
	sent, err := d.tx.WriteBatch(o.b)
	d.txMu.Unlock()
	d.c.out.Add(uint64(sent))
	// On a partial failure the bytes of the datagrams that went are not
	// known one by one: the batch's mean size stands for them.
	d.c.bytesOut.Add(uint64(o.b.Bytes() * sent / n))
	switch {
	case sent == n:
	case errors.Is(err, net.ErrClosed):
		d.c.discarded.Add(uint64(n - sent))
	default:
		d.c.sendErrors.Add(uint64(n - sent))
	}
	o.b.Reset()
	if o.fromHeap {
		d.held.Add(-int64(n)) // after the write: the reader may go ahead now
	}
}

// discardAll drops every held datagram at shutdown.
func (d *direction) discardAll() {
	for d.heap.len() > 0 {
		d.pool.put(d.heap.pop().buf)
		d.held.Add(-1)
		d.c.discarded.Add(1)
	}
}
