package packetizer

// Use says what a receiver does with a frame, given the frames before it.
// The zero Use is UseShow, what every frame that decodes on its own gets.
type Use uint8

// Uses of a frame.
const (
	// UseShow: the frame's reference chain is whole: decode and show it.
	UseShow Use = iota
	// UseSkip: the chain is broken: the frame would show a corrupt picture.
	// Neither decode nor show it; wait for a keyframe.
	UseSkip
)

func (u Use) String() string {
	switch u {
	case UseShow:
		return "show"
	case UseSkip:
		return "skip"
	}
	return "use(?)"
}

// Chain follows the reference chain of the frames a receiver gets, in the
// order the Assembler delivers them (frame ids only increase), and says
// what to do with each: a frame is shown only when every frame it depends
// on arrived and decoded. Decoders do not report an error after a lost
// frame (they show a corrupt picture), so the chain is judged from frame
// ids: any id skipped is a frame lost, late or incomplete, and breaks it.
//
// A broken chain is whole again at a keyframe (every JPEG, an H.264 IDR),
// which the receiver asks the sender for. The end of an intra-refresh wave
// (MediaRefresh) is not taken as one: measured with Debian's libx264
// (TestH264RefreshIsNoRecoveryPoint in package display), the picture at
// the recovery point its SEI names is still far from right (about 20 dB
// against the source, 32 dB without the loss) and heals only gradually
// over the following seconds.
//
// The zero Chain has no reference yet and waits for a keyframe. A Chain is
// not safe for concurrent use.
type Chain struct {
	have  bool   // last is meaningful
	last  uint32 // the last frame id given to Next
	whole bool   // every frame since the keyframe at start arrived
	start uint32 // that keyframe
}

// Next takes the next frame delivered, its id and media prefix, and returns
// what to do with it and the id of the keyframe its chain starts at
// (meaningless with UseSkip). A sink that itself lost a frame at or after
// that id must not show it.
func (c *Chain) Next(id uint32, m Media) (use Use, start uint32) {
	if !c.have || id != c.last+1 {
		c.whole = false
	}
	c.have, c.last = true, id
	if m.Keyframe() {
		c.whole, c.start = true, id
	}
	if !c.whole {
		return UseSkip, 0
	}
	return UseShow, c.start
}

// Break breaks the chain: a frame was lost where ids cannot show it (the
// sink could not decode one, or it fell behind), or the sender started a
// new session. The frames that follow wait for a keyframe.
func (c *Chain) Break() { c.whole = false }

// Waiting reports whether the chain is broken: the receiver shows nothing
// new until a keyframe, and should ask the sender for one.
func (c *Chain) Waiting() bool { return !c.whole }
