package packetizer

import "sync/atomic"

// RxStats are the receiver's counters. The Assembler updates them
// atomically; they may be read at any time from any goroutine.
//
// Every frame id the peer sent ends up counted exactly once, in
// FramesDelivered, FramesLate, FramesIncomplete, FramesCorrupt or
// FramesLost, once the Assembler has moved past it; until then it is in
// flight.
type RxStats struct {
	Datagrams      atomic.Uint64 // shard datagrams accepted
	Bytes          atomic.Uint64 // their bytes, header included
	Duplicates     atomic.Uint64 // shard already held
	Excess         atomic.Uint64 // shard for a block or frame already complete (normal with FEC)
	LateDatagrams  atomic.Uint64 // shard for a frame already passed over
	Invalid        [NumReasons]atomic.Uint64
	SessionChanges atomic.Uint64 // the peer's session id changed

	FramesDelivered  atomic.Uint64 // complete, verified, handed on
	FramesRecovered  atomic.Uint64 // of which some data shards came from parity
	FramesLate       atomic.Uint64 // unfinished when a newer frame was delivered
	FramesIncomplete atomic.Uint64 // unfinished at their deadline, or evicted
	FramesCorrupt    atomic.Uint64 // complete but failed the length or CRC check
	FramesLost       atomic.Uint64 // passed over without a single datagram seen
	ShardsRecovered  atomic.Uint64 // data shards rebuilt from parity
}

// Count records a rejected datagram under its reason. Errors that are not
// rejections from this package are ignored, so callers may pass any error
// ParseHeader or Push returned.
func (s *RxStats) Count(err error) {
	if r, ok := ReasonOf(err); ok {
		s.Invalid[r].Add(1)
	}
}

// InvalidTotal sums the rejections over all reasons.
func (s *RxStats) InvalidTotal() uint64 {
	var n uint64
	for i := range s.Invalid {
		n += s.Invalid[i].Load()
	}
	return n
}
