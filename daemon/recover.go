package daemon

import (
	"sync/atomic"
	"time"

	"github.com/vstreamd/vstreamd/packetizer"
)

// Recovery from a broken reference chain. The receive side follows the
// chain of the frames it delivers (packetizer.Chain); while it is broken it
// tells the sink not to show (or not even decode) frames, and asks the
// sender for a recovery point with KindRecover, repeating the request
// every recoverEvery (or the round trip, if longer) until the chain is
// whole. The sender answers with a keyframe unless one it sent after the
// receiver's newest frame is already on its way.

// recoverEvery is the shortest time between two recovery requests.
const recoverEvery = 100 * time.Millisecond

// chainState is the receive loop's view of the reference chain; the
// counters are read by Status.
type chainState struct {
	chain       packetizer.Chain // owned by the receive loop
	sinkBreaks  uint64           // the sink's Breaks at the last frame
	lastAsk     time.Time        // last recovery request sent
	brokeAt     time.Time        // when the chain broke; zero while whole
	codec       atomic.Uint32    // packetizer.Codec of the last frame
	frozen      atomic.Uint64    // frames not shown: their chain was broken
	recoveries  atomic.Uint64    // times the chain became whole after waiting
	asked       atomic.Uint64    // recovery requests sent
	badMedia    atomic.Uint64    // frames with a malformed media prefix
	lastFreezeN atomic.Int64     // ns from the last break to the recovery point
}

// deliverMedia runs a complete frame through the chain and returns what the
// sink is to do with it, and the picture without its prefix; ok is false
// when the frame is dropped (a malformed prefix, counted).
func (d *Daemon) deliverMedia(f packetizer.Frame, now time.Time) (m packetizer.Media, pic []byte, use packetizer.Use, start uint32, ok bool) {
	c := &d.rx.chain
	if b := d.sink.Breaks(); b != c.sinkBreaks {
		c.sinkBreaks = b
		c.chain.Break()
	}
	m, pic, err := packetizer.ParseMedia(f.Data)
	if err != nil {
		c.badMedia.Add(1)
		c.chain.Break()
		d.askRecovery(f.ID, now)
		return m, nil, packetizer.UseSkip, 0, false
	}
	c.codec.Store(uint32(m.Codec))
	waited := c.chain.Waiting()
	use, start = c.chain.Next(f.ID, m)
	switch {
	case use != packetizer.UseShow:
		c.frozen.Add(1)
		if c.brokeAt.IsZero() {
			c.brokeAt = now
		}
		d.askRecovery(f.ID, now)
	case waited:
		c.recoveries.Add(1)
		if !c.brokeAt.IsZero() {
			c.lastFreezeN.Store(int64(now.Sub(c.brokeAt)))
		}
		c.brokeAt = time.Time{}
	}
	return m, pic, use, start, true
}

// askRecovery asks the sender for a recovery point after frame id, unless
// it asked less than a round trip (and recoverEvery) ago.
func (d *Daemon) askRecovery(id uint32, now time.Time) {
	c := &d.rx.chain
	rtt, _, _ := d.peer.clock()
	if now.Sub(c.lastAsk) < max(recoverEvery, rtt) {
		return
	}
	c.lastAsk = now
	c.asked.Add(1)
	m := packetizer.Recover{After: id}
	d.sendControl(packetizer.KindRecover, m.AppendTo(make([]byte, 0, packetizer.RecoverLen)))
}

// onRecover answers a recovery request from the peer: a keyframe, unless
// one sent after the peer's newest frame is already on its way.
func (d *Daemon) onRecover(m packetizer.Recover) {
	d.tx.recoverRx.Add(1)
	if d.src == nil {
		return
	}
	if k := d.tx.lastKey.Load(); k != 0 && int32(uint32(k)-m.After) > 0 {
		return
	}
	d.tx.forced.Add(1)
	d.src.RequestKeyframe()
}
