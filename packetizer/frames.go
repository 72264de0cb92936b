package packetizer

import (
	"fmt"
	"hash/crc32"
	"time"

	"github.com/vstreamd/vstreamd/fec"
)

// This file holds the Assembler's frame slots: opening a frame, giving it
// buffer room within the budget, moving past old frames, and completing a
// frame.

// open starts reassembling the frame of h in a free slot, evicting the
// oldest frame when none is free. It returns nil, nil when the frame is
// older than every frame held and there is no room (counted late).
func (a *Assembler) open(h *Header, now time.Time) (*slot, *Error) {
	l, err := fec.Received(int(h.FrameLen), int(h.ShardSize), int(h.Blocks))
	if err != nil {
		return nil, ErrGeometry
	}
	var s *slot
	for i := range a.slots {
		if a.slots[i].state == slotFree {
			s = &a.slots[i]
			break
		}
	}
	if s == nil {
		oldest := a.oldest(nil)
		if int32(h.Frame-oldest.id) < 0 {
			a.stats.LateDatagrams.Add(1)
			return nil, nil
		}
		a.resolveThrough(oldest.id, &a.stats.FramesIncomplete)
		s = oldest
	}
	s.state, s.id, s.first, s.hdr, s.layout = slotOpen, h.Frame, now, *h, l
	if d := now.Add(a.cfg.MaxDelay); a.deadline.IsZero() || d.Before(a.deadline) {
		a.deadline = d
	}
	s.used, s.pending, s.shards = 0, l.Blocks, 0
	if !a.reserve(s, l.Padded()) {
		s.state = slotFree
		return nil, ErrBudget
	}
	s.used = l.Padded()
	if cap(s.blocks) < l.Blocks {
		s.blocks = make([]block, l.Blocks)
	}
	s.blocks = s.blocks[:l.Blocks]
	for i := range s.blocks {
		first, k := l.Block(i)
		s.blocks[i] = block{first: first, k: k, m: -1}
	}
	return s, nil
}

// startBlock records a block's parity count and gives it room for its
// parity shards.
func (a *Assembler) startBlock(s *slot, b *block, m int) *Error {
	if fec.CheckBlock(b.k, m) != nil {
		return ErrGeometry
	}
	need := s.used + m*s.layout.ShardSize
	if !a.reserve(s, need) {
		return ErrBudget
	}
	b.m, b.parityOff, s.used = m, s.used, need
	return nil
}

// reserve makes s.buf hold at least n bytes, keeping its first s.used bytes,
// within MaxBufferBytes. To make room it releases the buffers of frames no
// longer open, then drops open frames older than s.
func (a *Assembler) reserve(s *slot, n int) bool {
	if cap(s.buf) >= n {
		s.buf = s.buf[:cap(s.buf)]
		return true
	}
	want := n + n/2 // room for parity and slightly larger frames
	for a.bufBytes-cap(s.buf)+n > a.cfg.MaxBufferBytes {
		if !a.releaseOne(s) {
			return false
		}
	}
	if a.bufBytes-cap(s.buf)+want > a.cfg.MaxBufferBytes {
		want = n
	}
	nb := make([]byte, want)
	copy(nb, s.buf[:s.used])
	a.bufBytes += want - cap(s.buf)
	s.buf = nb
	return true
}

// releaseOne frees one buffer other than keep's: an idle slot's first, then
// the oldest open frame older than keep. It reports whether it freed any.
func (a *Assembler) releaseOne(keep *slot) bool {
	for i := range a.slots {
		if o := &a.slots[i]; o != keep && o.state != slotOpen && cap(o.buf) > 0 {
			a.bufBytes -= cap(o.buf)
			o.buf = nil
			return true
		}
	}
	o := a.oldest(keep)
	if o == nil || int32(o.id-keep.id) > 0 {
		return false
	}
	a.resolveThrough(o.id, &a.stats.FramesIncomplete)
	a.bufBytes -= cap(o.buf)
	o.buf = nil
	return true
}

// oldest returns the held frame with the lowest id, skipping skip.
func (a *Assembler) oldest(skip *slot) *slot {
	var o *slot
	for i := range a.slots {
		s := &a.slots[i]
		if s == skip || s.state == slotFree {
			continue
		}
		if o == nil || int32(s.id-o.id) < 0 {
			o = s
		}
	}
	return o
}

// resolveThrough moves past every frame id up to and including upTo: open
// frames among them are counted in open, ids never seen in FramesLost.
func (a *Assembler) resolveThrough(upTo uint32, open interface{ Add(uint64) uint64 }) {
	span := int64(int32(upTo-a.next)) + 1
	if span <= 0 {
		return
	}
	held := int64(0)
	for i := range a.slots {
		s := &a.slots[i]
		if s.state == slotFree || int32(s.id-a.next) < 0 || int32(upTo-s.id) < 0 {
			continue
		}
		if s.state == slotOpen {
			open.Add(1)
		}
		s.state = slotFree
		held++
	}
	a.stats.FramesLost.Add(uint64(span - held))
	a.next = upTo + 1
}

// complete reconstructs what is missing, verifies the frame and delivers it.
func (a *Assembler) complete(s *slot, now time.Time) (Frame, error) {
	size := s.layout.ShardSize
	rebuilt := 0
	for i := range s.blocks {
		b := &s.blocks[i]
		if b.dataHave == b.k {
			continue
		}
		for j := range b.k {
			off := (b.first + j) * size
			if b.seen[j/64]&(1<<(j%64)) != 0 {
				a.dataViews[j] = s.buf[off : off+size]
			} else {
				a.dataViews[j] = s.buf[off : off : off+size]
			}
		}
		for j := range b.m {
			idx := b.k + j
			if b.seen[idx/64]&(1<<(idx%64)) != 0 {
				off := b.parityOff + j*size
				a.parViews[j] = s.buf[off : off+size]
			} else {
				a.parViews[j] = nil
			}
		}
		n, err := a.coder.Reconstruct(a.dataViews[:b.k], a.parViews[:b.m], size)
		clear(a.dataViews[:b.k])
		clear(a.parViews[:b.m])
		if err != nil { // cannot happen with have >= k; treat as corrupt
			s.state = slotDone
			a.stats.FramesCorrupt.Add(1)
			return Frame{}, fmt.Errorf("%w: block %d: %w", ErrCorrupt, i, err)
		}
		rebuilt += n
	}
	n := int(s.hdr.FrameLen)
	data := s.buf[:n]
	if crc32.Checksum(data, a.crc) != s.hdr.CRC || !allZero(s.buf[n:s.layout.Padded()]) {
		s.state = slotDone
		a.stats.FramesCorrupt.Add(1)
		return Frame{}, ErrCorrupt
	}
	if s.id != a.next {
		a.resolveThrough(s.id-1, &a.stats.FramesLate)
	}
	a.next, a.last, a.delivered = s.id+1, s.id, true
	s.state = slotFree
	a.stats.FramesDelivered.Add(1)
	if rebuilt > 0 {
		a.stats.FramesRecovered.Add(1)
		a.stats.ShardsRecovered.Add(uint64(rebuilt))
	}
	return Frame{
		ID: s.id, Session: a.session, Data: data, Captured: s.hdr.Captured,
		SendDelay: time.Duration(s.hdr.SendDelay) * time.Microsecond,
		First:     s.first, Completed: now, Recovered: rebuilt,
	}, nil
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}
