package packetizer

import (
	"errors"
	"fmt"
	"hash/crc32"
	"math"
	"sync/atomic"
	"time"

	"github.com/vstreamd/vstreamd/fec"
)

// DefaultMaxFrameBytes is the default limit on an encoded frame, both ways.
const DefaultMaxFrameBytes = 4 << 20

// Config configures a Packetizer.
type Config struct {
	// MaxDatagram is the largest datagram sent, header and Overhead
	// included: MinDatagram to MaxDatagram, default DefaultDatagram.
	MaxDatagram int
	// Overhead is the number of bytes reserved at the end of every
	// datagram for a later layer (the AEAD tag).
	Overhead int
	// Sealed marks every header as carrying a sealed payload; the caller
	// seals each datagram in emit.
	Sealed bool
	// Parity is the parity ratio, 0 to fec.MaxRatio; see fec.ParityShards.
	Parity float64
	// MaxFrameBytes is the largest frame accepted; default
	// DefaultMaxFrameBytes.
	MaxFrameBytes int
	// Session is the sender's session id, written into every datagram.
	Session uint64
	// Packets numbers the datagrams; share it with whatever else sends on
	// this session (control messages) so numbers never repeat. Nil gives
	// the Packetizer its own counter.
	Packets *atomic.Uint64
}

// Errors returned by Packetize and NewPacketizer.
var (
	ErrFrameSize = errors.New("packetizer: frame is empty or larger than the configured maximum")
	ErrConfig    = errors.New("packetizer: invalid configuration")
)

// TxStats are the sender's counters. Fields are updated atomically by the
// Packetizer and may be read at any time from any goroutine.
type TxStats struct {
	Frames          atomic.Uint64 // frames split and handed to emit
	Datagrams       atomic.Uint64 // datagrams handed to emit
	ParityDatagrams atomic.Uint64 // of which parity
	Bytes           atomic.Uint64 // datagram bytes handed to emit, Overhead excluded
	FrameBytes      atomic.Uint64 // encoded frame bytes
	Rejected        atomic.Uint64 // frames refused (empty, too large)
}

// FrameInfo describes how one frame was split.
type FrameInfo struct {
	ID        uint32
	Layout    fec.Layout
	Parity    int // parity shards over all blocks
	Datagrams int
}

// Packetizer splits frames into datagrams: data shards first, interleaved
// across blocks, then the parity shards, interleaved the same way, so that
// without loss a frame completes as soon as its data arrives, and a burst of
// losses spreads over several blocks.
//
// A Packetizer is not safe for concurrent use, except SetParity and Stats,
// which may be called from any goroutine. After it has seen its largest
// frame it allocates nothing.
type Packetizer struct {
	cfg     Config
	parity  atomic.Uint64 // math.Float64bits of the ratio
	coder   *fec.Coder
	crc     *crc32.Table
	packets *atomic.Uint64
	next    uint32 // next frame id
	stats   TxStats

	dgram      []byte   // one datagram under construction, cap MaxDatagram
	tail       []byte   // the zero-padded last data shard
	parityBuf  []byte   // all parity shards of the frame
	dataShards [][]byte // views of one block's data shards
	parShards  [][]byte // views of one block's parity shards
}

// NewPacketizer returns a Packetizer. The Coder is used only by this
// Packetizer's goroutine; pass nil to have one made.
func NewPacketizer(cfg Config, coder *fec.Coder) (*Packetizer, error) {
	if cfg.MaxDatagram == 0 {
		cfg.MaxDatagram = DefaultDatagram
	}
	if cfg.MaxFrameBytes == 0 {
		cfg.MaxFrameBytes = DefaultMaxFrameBytes
	}
	if cfg.MaxDatagram < MinDatagram || cfg.MaxDatagram > MaxDatagram {
		return nil, fmt.Errorf("%w: max datagram %d, want %d to %d", ErrConfig, cfg.MaxDatagram, MinDatagram, MaxDatagram)
	}
	if cfg.Overhead < 0 || cfg.Overhead > 64 {
		return nil, fmt.Errorf("%w: overhead %d, want 0 to 64", ErrConfig, cfg.Overhead)
	}
	if cfg.MaxFrameBytes < 1 {
		return nil, fmt.Errorf("%w: max frame bytes %d", ErrConfig, cfg.MaxFrameBytes)
	}
	if err := fec.CheckRatio(cfg.Parity); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	maxShard := min(cfg.MaxDatagram-HeaderLen-cfg.Overhead, MaxShardSize)
	if _, err := fec.Plan(cfg.MaxFrameBytes, maxShard, fec.MaxRatio); err != nil {
		return nil, fmt.Errorf("%w: frames of %d bytes do not fit datagrams of %d bytes: %w", ErrConfig, cfg.MaxFrameBytes, cfg.MaxDatagram, err)
	}
	if coder == nil {
		var err error
		if coder, err = fec.NewCoder(); err != nil {
			return nil, err
		}
	}
	p := &Packetizer{
		cfg:        cfg,
		coder:      coder,
		crc:        crc32.MakeTable(crc32.Castagnoli),
		packets:    cfg.Packets,
		dgram:      make([]byte, 0, cfg.MaxDatagram),
		tail:       make([]byte, maxShard),
		dataShards: make([][]byte, 0, fec.MaxShards),
		parShards:  make([][]byte, 0, fec.MaxShards),
	}
	if p.packets == nil {
		p.packets = new(atomic.Uint64)
	}
	p.parity.Store(math.Float64bits(cfg.Parity))
	return p, nil
}

// SetParity changes the parity ratio for the following frames. Safe for
// concurrent use.
func (p *Packetizer) SetParity(ratio float64) error {
	if err := fec.CheckRatio(ratio); err != nil {
		return err
	}
	p.parity.Store(math.Float64bits(ratio))
	return nil
}

// Parity returns the current parity ratio.
func (p *Packetizer) Parity() float64 { return math.Float64frombits(p.parity.Load()) }

// Stats returns the sender's counters.
func (p *Packetizer) Stats() *TxStats { return &p.stats }

// MaxShard is the largest shard payload a datagram carries.
func (p *Packetizer) MaxShard() int {
	return min(p.cfg.MaxDatagram-HeaderLen-p.cfg.Overhead, MaxShardSize)
}

// Sender takes a frame's datagrams from PacketizeTo.
type Sender interface {
	// Send is called for each datagram in sending order. The datagram is
	// valid only during the call; its capacity leaves Overhead bytes after
	// it for the caller to append in place.
	Send(dgram []byte) error
	// DataSent is called once per frame, after the last data datagram and
	// before the parity is computed, so that a sender that batches can
	// send the data without waiting for the parity.
	DataSent() error
}

// A PartSender is a Sender that takes each datagram as its header and its
// payload apart (both valid only during the call), so that it can build
// the datagram where it sends it from and seal the payload on the way: one
// pass over the frame's bytes, where Send costs a copy into the datagram,
// the sender's copy into its send buffer and sealing in place. PacketizeTo
// calls SendParts instead of Send when emit has it.
type PartSender interface {
	Sender
	SendParts(header, payload []byte) error
}

// emitFunc is a Sender with nothing to do between data and parity.
type emitFunc func(dgram []byte) error

func (f emitFunc) Send(dgram []byte) error { return f(dgram) }
func (f emitFunc) DataSent() error         { return nil }

// Packetize splits frame into datagrams and calls emit for each in sending
// order. The datagram passed to emit is valid only during the call; its
// capacity leaves Overhead bytes after it for the caller to append in place.
// captured is the capture time in Unix nanoseconds; the time from it to now
// travels in every datagram as the send delay. If emit returns an error
// Packetize stops and returns it; the frame id is used up either way.
func (p *Packetizer) Packetize(frame []byte, captured int64, emit func(dgram []byte) error) (FrameInfo, error) {
	return p.PacketizeTo(frame, captured, emitFunc(emit))
}

// PacketizeTo is Packetize with a Sender, which also hears when the data
// datagrams are out.
func (p *Packetizer) PacketizeTo(frame []byte, captured int64, emit Sender) (FrameInfo, error) {
	if len(frame) == 0 || len(frame) > p.cfg.MaxFrameBytes {
		p.stats.Rejected.Add(1)
		return FrameInfo{}, fmt.Errorf("%w: %d bytes, limit %d", ErrFrameSize, len(frame), p.cfg.MaxFrameBytes)
	}
	ratio := p.Parity()
	l, err := fec.Plan(len(frame), p.MaxShard(), ratio)
	if err != nil { // ruled out by NewPacketizer's check; kept for safety
		p.stats.Rejected.Add(1)
		return FrameInfo{}, err
	}
	id := p.next
	p.next++
	delay := max(0, time.Now().UnixNano()-captured) / 1000
	h := Header{
		Sealed:    p.cfg.Sealed,
		SendDelay: uint32(min(delay, math.MaxUint32)),
		Session:   p.cfg.Session,
		Frame:     id,
		FrameLen:  uint32(len(frame)),
		Captured:  captured,
		CRC:       crc32.Checksum(frame, p.crc),
		Blocks:    uint16(l.Blocks),
		ShardSize: uint16(l.ShardSize),
	}
	info := FrameInfo{ID: id, Layout: l}
	parts, _ := emit.(PartSender)

	// Data shards, round-robin over the blocks.
	maxK := 0
	for b := range l.Blocks {
		_, k := l.Block(b)
		maxK = max(maxK, k)
	}
	for s := range maxK {
		for b := range l.Blocks {
			first, k := l.Block(b)
			if s >= k {
				continue
			}
			h.Kind, h.Block, h.Shard, h.Data, h.Parity = KindData, uint16(b), uint16(s), uint16(k), uint16(fec.ParityShards(k, ratio))
			if err := p.emit(&h, p.dataShard(frame, l, first+s), emit, parts, &info); err != nil {
				return info, err
			}
		}
	}
	if err := emit.DataSent(); err != nil {
		return info, err
	}
	if ratio == 0 {
		p.stats.Frames.Add(1)
		p.stats.FrameBytes.Add(uint64(len(frame)))
		return info, nil
	}

	// Parity for every block, then parity shards round-robin.
	size := l.ShardSize
	total := 0
	for b := range l.Blocks {
		_, k := l.Block(b)
		total += fec.ParityShards(k, ratio)
	}
	if cap(p.parityBuf) < total*size {
		p.parityBuf = make([]byte, total*size)
	}
	p.parityBuf = p.parityBuf[:total*size]
	maxM, off := 0, 0
	for b := range l.Blocks {
		first, k := l.Block(b)
		m := fec.ParityShards(k, ratio)
		maxM = max(maxM, m)
		p.dataShards = p.dataShards[:0]
		for i := range k {
			p.dataShards = append(p.dataShards, p.dataShard(frame, l, first+i))
		}
		p.parShards = p.parShards[:0]
		for j := range m {
			p.parShards = append(p.parShards, p.parityBuf[off+j*size:off+(j+1)*size])
		}
		if err := p.coder.Encode(p.dataShards, p.parShards); err != nil {
			return info, fmt.Errorf("packetizer: encoding block %d: %w", b, err)
		}
		off += m * size
	}
	info.Parity = total
	for j := range maxM {
		off := 0
		for b := range l.Blocks {
			_, k := l.Block(b)
			m := fec.ParityShards(k, ratio)
			if j < m {
				h.Kind, h.Block, h.Shard, h.Data, h.Parity = KindParity, uint16(b), uint16(k+j), uint16(k), uint16(m)
				if err := p.emit(&h, p.parityBuf[off+j*size:off+(j+1)*size], emit, parts, &info); err != nil {
					return info, err
				}
				p.stats.ParityDatagrams.Add(1)
			}
			off += m * size
		}
	}
	p.stats.Frames.Add(1)
	p.stats.FrameBytes.Add(uint64(len(frame)))
	return info, nil
}

// dataShard returns data shard i of the frame: a view into the frame, or for
// the last shard a zero-padded copy.
func (p *Packetizer) dataShard(frame []byte, l fec.Layout, i int) []byte {
	start, end := i*l.ShardSize, (i+1)*l.ShardSize
	if end <= len(frame) {
		return frame[start:end]
	}
	t := p.tail[:l.ShardSize]
	n := copy(t, frame[start:])
	clear(t[n:])
	return t
}

func (p *Packetizer) emit(h *Header, shard []byte, emit Sender, parts PartSender, info *FrameInfo) error {
	h.Packet = p.packets.Add(1)
	d := h.AppendTo(p.dgram[:0])
	info.Datagrams++
	p.stats.Datagrams.Add(1)
	p.stats.Bytes.Add(uint64(len(d) + len(shard)))
	if parts != nil {
		return parts.SendParts(d, shard)
	}
	return emit.Send(append(d, shard...))
}
