package packetizer

import (
	"errors"
	"hash/crc32"
	"time"

	"github.com/vstreamd/vstreamd/fec"
)

// AssemblerConfig bounds what an Assembler holds. Zero fields take the
// defaults shown.
type AssemblerConfig struct {
	// MaxDelay drops a frame not complete this long after its first
	// datagram arrived. Default 100 ms.
	MaxDelay time.Duration
	// MaxFrameBytes rejects datagrams of larger frames. Default
	// DefaultMaxFrameBytes.
	MaxFrameBytes int
	// MaxFrames is the number of frames reassembled at once. Default 16.
	MaxFrames int
	// MaxBufferBytes bounds the reassembly buffers of all frames together.
	// Default 4*MaxFrameBytes.
	MaxBufferBytes int
	// MaxAhead rejects frame ids further than this ahead of the oldest frame
	// still expected, unless the Assembler has been idle for ResyncAfter.
	// Default 1024.
	MaxAhead uint32
	// ResyncAfter is the idle time after which any frame id is accepted
	// again. Default 1 s.
	ResyncAfter time.Duration
}

func (c *AssemblerConfig) setDefaults() {
	if c.MaxDelay <= 0 {
		c.MaxDelay = 100 * time.Millisecond
	}
	if c.MaxFrameBytes <= 0 {
		c.MaxFrameBytes = DefaultMaxFrameBytes
	}
	if c.MaxFrames <= 0 {
		c.MaxFrames = 16
	}
	if c.MaxBufferBytes <= 0 {
		c.MaxBufferBytes = 4 * c.MaxFrameBytes
	}
	if c.MaxAhead == 0 {
		c.MaxAhead = 1024
	}
	if c.ResyncAfter <= 0 {
		c.ResyncAfter = time.Second
	}
}

// ErrCorrupt reports a frame that had all its shards but failed the length
// or CRC-32C check; it is counted in FramesCorrupt and never delivered.
var ErrCorrupt = errors.New("packetizer: reassembled frame failed its CRC-32C check")

// Frame is a reassembled, verified frame.
type Frame struct {
	ID        uint32
	Session   uint64
	Data      []byte        // owned by the Assembler: valid until its next call
	Captured  int64         // sender's capture time, Unix nanoseconds
	SendDelay time.Duration // from capture to the sender's first datagram
	First     time.Time     // arrival of the frame's first datagram
	Completed time.Time     // when it became complete
	Recovered int           // data shards rebuilt from parity (0: none needed)
}

// Assembler reassembles frames from shard datagrams. It delivers each frame
// at most once, only after its CRC-32C verified, and never a frame older
// than one it already delivered: a frame completes and is delivered at once,
// and older unfinished frames are then dropped as late (latency comes
// first). A frame unfinished MaxDelay after its first datagram is dropped as
// incomplete.
//
// Memory is bounded by the configuration whatever arrives: MaxFrames frames,
// MaxBufferBytes of buffers, and per frame at most fec.MaxBlocks blocks.
//
// An Assembler is not safe for concurrent use, except Stats, whose counters
// may be read from any goroutine. Once its buffers have grown to the largest
// frames it sees, it allocates nothing.
type Assembler struct {
	cfg   AssemblerConfig
	coder *fec.Coder
	crc   *crc32.Table
	stats RxStats

	session     uint64
	haveSession bool
	retired     [4]uint64 // recently replaced sessions, rejected as stale
	nRetired    int

	started    bool      // next is meaningful
	next       uint32    // every frame id before next is resolved
	last       uint32    // last delivered frame id
	delivered  bool      // last is meaningful
	lastAccept time.Time // last shard accepted
	deadline   time.Time // no open frame expires before this; zero: none open
	cur        *slot     // the frame of the previous datagram

	slots    []slot
	bufBytes int // sum of cap(slot.buf)

	dataViews [][]byte // reconstruction views, cap fec.MaxShards
	parViews  [][]byte
}

type slotState uint8

const (
	slotFree slotState = iota
	slotOpen           // collecting shards
	slotDone           // given up (deadline or corrupt), kept so late shards are recognised
)

type slot struct {
	state   slotState
	id      uint32
	first   time.Time
	hdr     Header // frame fields of the first datagram
	layout  fec.Layout
	buf     []byte // data region (layout.Padded bytes), then parity arena
	used    int    // bytes of buf in use
	pending int    // blocks still short of k shards
	blocks  []block
	shards  int
}

type block struct {
	first, k  int
	m         int // -1 until the block's first datagram
	parityOff int // offset of its parity shards in buf
	have      int // shards held
	dataHave  int // data shards held
	seen      [fec.MaxShards / 64]uint64
}

// NewAssembler returns an Assembler. The Coder is used only by this
// Assembler's goroutine; pass nil to have one made.
func NewAssembler(cfg AssemblerConfig, coder *fec.Coder) (*Assembler, error) {
	cfg.setDefaults()
	if coder == nil {
		var err error
		if coder, err = fec.NewCoder(); err != nil {
			return nil, err
		}
	}
	return &Assembler{
		cfg:       cfg,
		coder:     coder,
		crc:       crc32.MakeTable(crc32.Castagnoli),
		slots:     make([]slot, cfg.MaxFrames),
		dataViews: make([][]byte, fec.MaxShards),
		parViews:  make([][]byte, fec.MaxShards),
	}, nil
}

// Stats returns the receiver's counters.
func (a *Assembler) Stats() *RxStats { return &a.stats }

// Receive parses a whole datagram and pushes it; see Push. Rejections are
// counted. Use it where no layer sits between the socket and the Assembler.
func (a *Assembler) Receive(dgram []byte, now time.Time) (Frame, error) {
	h, err := ParseHeader(dgram)
	if err != nil {
		a.stats.Count(err)
		return Frame{}, err
	}
	return a.Push(&h, dgram[HeaderLen:], now)
}

// Push adds one shard datagram: its parsed header and its payload (the
// shard). When the datagram completes a frame that verifies, Push returns
// it, with Data valid until the next call to the Assembler. Otherwise Frame
// is zero. A rejected datagram returns an *Error (counted under its reason);
// a frame that fails verification returns ErrCorrupt. Duplicates, late and
// surplus shards are normal: counted, with a nil error.
func (a *Assembler) Push(h *Header, payload []byte, now time.Time) (Frame, error) {
	switch {
	case !h.Kind.IsShard():
		return a.reject(ErrKind)
	case int(h.FrameLen) > a.cfg.MaxFrameBytes:
		return a.reject(ErrTooLarge)
	case len(payload) != int(h.ShardSize):
		return a.reject(ErrPayload)
	}
	if !a.deadline.IsZero() && !now.Before(a.deadline) {
		a.Expire(now)
	}
	s := a.cur
	if s == nil || s.state != slotOpen || s.id != h.Frame || !a.haveSession || h.Session != a.session {
		// Not the frame of the previous datagram: validate the header in
		// full before it may change any state, then find its frame.
		var f Frame
		var err error
		if s, f, err = a.lookup(h, now); s == nil {
			return f, err
		}
		a.cur = s
	} else if !s.hdr.sameFrame(h) {
		return a.reject(ErrInconsistent)
	}

	// Block-level checks. With the frame fields equal to those of the
	// frame's first, fully validated datagram, these complete the header's
	// validation.
	if int(h.Block) >= len(s.blocks) {
		return a.reject(ErrGeometry)
	}
	b := &s.blocks[h.Block]
	if int(h.Data) != b.k || (int(h.Shard) < b.k) != (h.Kind == KindData) {
		return a.reject(ErrGeometry)
	}
	if b.m < 0 {
		if err := a.startBlock(s, b, int(h.Parity)); err != nil {
			return a.reject(err)
		}
	} else if b.m != int(h.Parity) {
		return a.reject(ErrInconsistent)
	}
	if int(h.Shard) >= b.k+b.m {
		return a.reject(ErrGeometry)
	}
	idx := int(h.Shard)
	if b.seen[idx/64]&(1<<(idx%64)) != 0 {
		a.stats.Duplicates.Add(1)
		return Frame{}, nil
	}
	if b.have >= b.k {
		a.stats.Excess.Add(1)
		return Frame{}, nil
	}
	b.seen[idx/64] |= 1 << (idx % 64)
	if dst := s.shard(b, idx); len(dst) == 0 || &dst[0] != &payload[0] { // else opened in place (Slot)
		copy(dst, payload)
	}
	if idx < b.k {
		b.dataHave++
	}
	b.have++
	s.shards++
	a.lastAccept = now
	a.stats.Datagrams.Add(1)
	a.stats.Bytes.Add(uint64(HeaderLen + len(payload)))
	if b.have == b.k {
		s.pending--
	}
	if s.pending > 0 {
		return Frame{}, nil
	}
	return a.complete(s, now)
}

// shard returns where shard idx of block b goes in the frame's buffer.
func (s *slot) shard(b *block, idx int) []byte {
	size := s.layout.ShardSize
	off := b.parityOff + (idx-b.k)*size
	if idx < b.k {
		off = (b.first + idx) * size
	}
	return s.buf[off : off+size : off+size]
}

// Slot returns where the payload of the shard datagram h belongs when its
// frame is the one being assembled, its block has begun and the shard is
// not yet held; nil otherwise. The session can then open the datagram
// straight into it, and Push, given that slot as the payload, finds the
// shard in place instead of copying it. Slot changes nothing, and bytes
// written to the slot count only once Push accepts them: a datagram that
// fails authentication there costs nothing but the write.
func (a *Assembler) Slot(h *Header, now time.Time) []byte {
	s := a.cur
	if s == nil || s.state != slotOpen || s.id != h.Frame || !a.haveSession || h.Session != a.session ||
		!h.Kind.IsShard() || !s.hdr.sameFrame(h) || int(h.Block) >= len(s.blocks) ||
		(!a.deadline.IsZero() && !now.Before(a.deadline)) {
		return nil
	}
	b := &s.blocks[h.Block]
	idx := int(h.Shard)
	if b.m < 0 || b.m != int(h.Parity) || int(h.Data) != b.k || (idx < b.k) != (h.Kind == KindData) ||
		idx >= b.k+b.m || b.seen[idx/64]&(1<<(idx%64)) != 0 || b.have >= b.k {
		return nil
	}
	return s.shard(b, idx)
}

// sameFrame reports whether h carries the same frame fields as hdr.
func (hdr *Header) sameFrame(h *Header) bool {
	return hdr.FrameLen == h.FrameLen && hdr.CRC == h.CRC && hdr.Captured == h.Captured &&
		hdr.ShardSize == h.ShardSize && hdr.Blocks == h.Blocks && hdr.SendDelay == h.SendDelay
}

// lookup finds or opens the frame of h. It returns a nil slot when the
// datagram ends here, with what Push should return.
func (a *Assembler) lookup(h *Header, now time.Time) (*slot, Frame, error) {
	if h.checkShard() != nil {
		f, err := a.reject(ErrGeometry)
		return nil, f, err
	}
	if !a.sessionOK(h.Session) {
		f, err := a.reject(ErrStaleSession)
		return nil, f, err
	}
	if !a.started {
		a.started, a.next = true, h.Frame
	}
	if d := int32(h.Frame - a.next); d < 0 {
		if a.delivered && h.Frame == a.last {
			a.stats.Excess.Add(1)
		} else {
			a.stats.LateDatagrams.Add(1)
		}
		return nil, Frame{}, nil
	} else if uint32(d) > a.cfg.MaxAhead {
		if a.openCount() > 0 || now.Sub(a.lastAccept) < a.cfg.ResyncAfter {
			f, err := a.reject(ErrFrameJump)
			return nil, f, err
		}
		a.resync(h.Frame)
	}
	s := a.find(h.Frame)
	switch {
	case s == nil:
		var err *Error
		if s, err = a.open(h, now); err != nil {
			f, err := a.reject(err)
			return nil, f, err
		}
		return s, Frame{}, nil // nil when the frame is too old to hold
	case s.state == slotDone:
		a.stats.LateDatagrams.Add(1)
		return nil, Frame{}, nil
	case !s.hdr.sameFrame(h):
		f, err := a.reject(ErrInconsistent)
		return nil, f, err
	}
	return s, Frame{}, nil
}

func (a *Assembler) reject(err *Error) (Frame, error) {
	a.stats.Invalid[err.Reason].Add(1)
	return Frame{}, err
}

// Expire drops frames whose deadline has passed. Push calls it; call it
// also when no datagram has arrived for a while.
func (a *Assembler) Expire(now time.Time) {
	a.deadline = time.Time{}
	for i := range a.slots {
		s := &a.slots[i]
		if s.state != slotOpen {
			continue
		}
		if d := s.first.Add(a.cfg.MaxDelay); now.After(d) {
			s.state = slotDone
			a.stats.FramesIncomplete.Add(1)
		} else if a.deadline.IsZero() || d.Before(a.deadline) {
			a.deadline = d
		}
	}
}

// Reset forgets every frame in progress (counting them incomplete) and the
// frame-id position, keeping the peer's session. The daemon calls it when
// the peer has been silent long enough to be considered lost.
func (a *Assembler) Reset() {
	for i := range a.slots {
		if a.slots[i].state == slotOpen {
			a.stats.FramesIncomplete.Add(1)
		}
		a.slots[i].state = slotFree
	}
	a.started, a.delivered = false, false
}

// SetMaxDelay changes the deadline for frames opened from now on.
func (a *Assembler) SetMaxDelay(d time.Duration) {
	if d > 0 {
		a.cfg.MaxDelay = d
	}
}

// Session returns the peer session the Assembler follows, if any.
func (a *Assembler) Session() (uint64, bool) { return a.session, a.haveSession }

// sessionOK follows the peer's session: the first one seen is adopted; a new
// one replaces it (a restarted peer), resetting reassembly; one that was
// replaced is stale.
func (a *Assembler) sessionOK(id uint64) bool {
	if a.haveSession && id == a.session {
		return true
	}
	for _, r := range a.retired[:a.nRetired] {
		if r == id {
			return false
		}
	}
	if a.haveSession {
		copy(a.retired[1:], a.retired[:len(a.retired)-1])
		a.retired[0] = a.session
		a.nRetired = min(a.nRetired+1, len(a.retired))
		a.stats.SessionChanges.Add(1)
		a.Reset()
	}
	a.session, a.haveSession = id, true
	return true
}

func (a *Assembler) resync(id uint32) {
	for i := range a.slots {
		a.slots[i].state = slotFree // no open slots: only done ones, already counted
	}
	a.next = id
}

func (a *Assembler) openCount() int {
	n := 0
	for i := range a.slots {
		if a.slots[i].state == slotOpen {
			n++
		}
	}
	return n
}

func (a *Assembler) find(id uint32) *slot {
	for i := range a.slots {
		if s := &a.slots[i]; s.state != slotFree && s.id == id {
			return s
		}
	}
	return nil
}
