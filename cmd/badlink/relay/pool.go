package relay

import (
	"sync"
	"time"
)

// bufPool is a fixed set of equal buffers carved from one slab and handed
// out by index. It never grows: when every buffer is in use, get fails.
// Free buffers form a stack, so the most recently used (cache-warm, already
// resident) buffer is reused first and a relay that holds few datagrams
// touches few pages. get and put are safe for concurrent use.
type bufPool struct {
	size int
	slab []byte
	mu   sync.Mutex
	free []int32
}

func newBufPool(n, size int) *bufPool {
	p := &bufPool{size: size, slab: make([]byte, n*size), free: make([]int32, n)}
	for i := range p.free {
		p.free[i] = int32(n - 1 - i) // buffer 0 on top
	}
	return p
}

// get takes a free buffer's index, or reports false if none is free.
func (p *bufPool) get() (int32, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := len(p.free)
	if n == 0 {
		return 0, false
	}
	i := p.free[n-1]
	p.free = p.free[:n-1]
	return i, true
}

// put returns buffer i to the pool.
func (p *bufPool) put(i int32) {
	p.mu.Lock()
	p.free = append(p.free, i) // within capacity: only taken buffers come back
	p.mu.Unlock()
}

// buf returns buffer i.
func (p *bufPool) buf(i int32) []byte {
	off := int(i) * p.size
	return p.slab[off : off+p.size : off+p.size]
}

// item is a datagram copy waiting in the sender's heap.
type item struct {
	at  time.Duration // release time since the relay's epoch
	seq uint64        // arrival order, to break ties in at
	buf int32         // pool index
	n   int32         // length
	dst uint8         // which pair's endpoint it goes to
}

func (a item) before(b item) bool {
	return a.at < b.at || a.at == b.at && a.seq < b.seq
}

// releaseHeap is a binary min-heap of items by release time, then arrival
// order. It is written out rather than built on container/heap, whose
// Push(any) would allocate per item. Its capacity is fixed at creation.
type releaseHeap struct {
	items []item
}

func newReleaseHeap(n int) releaseHeap { return releaseHeap{items: make([]item, 0, n)} }

func (h *releaseHeap) len() int { return len(h.items) }

// min returns the earliest item; the heap must not be empty.
func (h *releaseHeap) min() item { return h.items[0] }

func (h *releaseHeap) push(it item) {
	h.items = append(h.items, it)
	i := len(h.items) - 1
	for i > 0 {
		parent := (i - 1) / 2
		if !h.items[i].before(h.items[parent]) {
			break
		}
		h.items[i], h.items[parent] = h.items[parent], h.items[i]
		i = parent
	}
}

// pop removes and returns the earliest item; the heap must not be empty.
func (h *releaseHeap) pop() item {
	top := h.items[0]
	last := len(h.items) - 1
	h.items[0] = h.items[last]
	h.items = h.items[:last]
	i := 0
	for {
		l, r, small := 2*i+1, 2*i+2, i
		if l < last && h.items[l].before(h.items[small]) {
			small = l
		}
		if r < last && h.items[r].before(h.items[small]) {
			small = r
		}
		if small == i {
			return top
		}
		h.items[i], h.items[small] = h.items[small], h.items[i]
		i = small
	}
}
