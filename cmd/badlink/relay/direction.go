package relay

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"time"

	"github.com/vstreamd/vstreamd/cmd/badlink/impair"
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
}

func newDirection(name string, link *impair.Link, from, to [2]netip.AddrPort, rx, tx PacketConn, limit, maxSize int, epoch time.Time) *direction {
	return &direction{
		name: name, link: link, from: from, to: to, rx: rx, tx: tx,
		maxSize: maxSize, epoch: epoch,
		pool:  newBufPool(limit, maxSize),
		queue: make(chan item, limit),
		heap:  newReleaseHeap(limit),
	}
}

// now is the relay's monotonic clock.
func (d *direction) now() time.Duration { return time.Since(d.epoch) }

// readLoop reads datagrams until rx is closed, then closes the queue so
// that the sender finishes. It returns an error only if reading keeps
// failing for another reason.
func (d *direction) readLoop() error {
	defer close(d.queue)
	buf := make([]byte, maxDatagram)
	oob := make([]byte, oobSize)
	failures := 0
	for {
		n, oobn, _, from, err := d.rx.ReadMsgUDPAddrPort(buf, oob)
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
		if drops, ok := kernelDrops(oob[:oobn]); ok {
			d.c.kernelDrops.Store(uint64(drops))
		}
		d.handle(buf[:n], from, d.now())
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

// flush sends every held datagram due by now and returns how long to wait
// for the next one, or pending = false if none is held.
func (d *direction) flush(now time.Duration) (wait time.Duration, pending bool) {
	for d.heap.len() > 0 {
		it := d.heap.min()
		if it.at > now {
			return it.at - now, true
		}
		d.send(d.heap.pop())
	}
	return 0, false
}

// send writes one datagram to the far endpoint and frees its buffer.
func (d *direction) send(it item) {
	_, err := d.tx.WriteToUDPAddrPort(d.pool.buf(it.buf)[:it.n], d.to[it.dst])
	d.pool.put(it.buf)
	switch {
	case err == nil:
		d.c.out.Add(1)
		d.c.bytesOut.Add(uint64(it.n))
	case errors.Is(err, net.ErrClosed):
		d.c.discarded.Add(1)
	default:
		d.c.sendErrors.Add(1)
	}
}

// discardAll drops every held datagram at shutdown.
func (d *direction) discardAll() {
	for d.heap.len() > 0 {
		d.pool.put(d.heap.pop().buf)
		d.c.discarded.Add(1)
	}
}
