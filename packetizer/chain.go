package packetizer

// Use says what a receiver does with a frame, given the frames before it.
// The zero Use is UseShow, what every frame that decodes on its own gets.
type Use uint8

// Uses of a frame.
const (
	// UseShow: the frame's reference chain is whole: decode and show it.
	UseShow Use = iota
	// UseDecode: the chain is healing (an intra-refresh wave that started
	// after the break): decode the frame, a later one needs it, but do not
	// show it yet.
	UseDecode
	// UseSkip: the chain is broken: the frame would show a corrupt picture.
	// Neither decode nor show it; wait for a recovery point.
	UseSkip
)

func (u Use) String() string {
	switch u {
	case UseShow:
		return "show"
	case UseDecode:
		return "decode"
	case UseSkip:
		return "skip"
	}
	return "use(?)"
}

type chainState uint8

const (
	chainBroken  chainState = iota // no reference: wait for a recovery point
	chainHealing                   // decoding an intra-refresh wave that began after the break
	chainWhole                     // every frame since a recovery point arrived
)

// Chain follows the reference chain of the frames a receiver gets, in the
// order the Assembler delivers them (frame ids only increase), and says
// what to do with each: a frame is shown only when every frame it depends
// on arrived and decoded. Decoders do not report an error after a lost
// frame (they show a corrupt picture), so the chain is judged from frame
// ids: any id skipped is a frame lost, late or incomplete, and breaks it.
//
// A broken chain is whole again at a recovery point: a keyframe (every
// JPEG, an H.264 IDR), or the end of an intra-refresh wave that started
// after the break, all of whose frames arrived.
//
// The zero Chain has no reference yet and waits for a recovery point. A
// Chain is not safe for concurrent use.
type Chain struct {
	have    bool   // last is meaningful
	last    uint32 // the last frame id given to Next
	state   chainState
	start   uint32 // the frame the current chain (whole or healing) starts at
	healEnd uint32 // healing: the frame at which the picture is whole
}

// Next takes the next frame delivered, its id and media prefix, and returns
// what to do with it and the id of the frame its chain starts at (a
// keyframe or a refresh wave's start; meaningless with UseSkip). A sink
// that itself lost a frame at or after that id must not show it.
func (c *Chain) Next(id uint32, m Media) (use Use, start uint32) {
	if !c.have || id != c.last+1 {
		c.state = chainBroken
	}
	c.have, c.last = true, id
	switch {
	case m.Keyframe():
		c.state, c.start = chainWhole, id
		return UseShow, id
	case c.state == chainWhole:
		return UseShow, c.start
	case c.state == chainBroken && m.RefreshStart():
		c.state, c.start, c.healEnd = chainHealing, id, id+uint32(m.Refresh)
		return UseDecode, id
	case c.state == chainHealing:
		if id == c.healEnd {
			c.state = chainWhole
			return UseShow, c.start
		}
		return UseDecode, c.start
	}
	return UseSkip, 0
}

// Break breaks the chain: a frame was lost where ids cannot show it (the
// sink could not decode one, or it fell behind), or the sender started a
// new session. The frames that follow wait for a recovery point.
func (c *Chain) Break() { c.state = chainBroken }

// Waiting reports whether the chain is broken or healing: the receiver shows
// nothing new until a recovery point, and should ask the sender for one.
func (c *Chain) Waiting() bool { return c.state != chainWhole }
