// Package replay owns the anti-replay filter: a sliding window over packet
// numbers in the manner of RFC 6479, which accepts each number at most once
// and rejects numbers too far behind the highest one seen.
//
// The window is a ring of 64-bit words. Moving the window forward clears
// only the words it passes over, so a check costs O(1) whatever the jump.
package replay

const (
	wordBits  = 64
	ringWords = 32 // a power of two
	ringBits  = ringWords * wordBits
	// Window is how far behind the highest packet number a packet may be
	// and still be accepted (once): the ring less one word, which is the
	// word being moved into. 1984 datagrams is about half a second of
	// 1080p video, far more than a network reorders.
	Window = ringBits - wordBits
)

// Filter is the replay window of one sender's session. The zero value is
// ready: it accepts any first packet number. Not safe for concurrent use.
type Filter struct {
	last uint64 // highest accepted packet number
	any  bool   // last is meaningful
	ring [ringWords]uint64
}

// Reset forgets everything, for a new session.
func (f *Filter) Reset() { *f = Filter{} }

// Check reports whether n would be accepted, without recording it. Call it
// before the (costly) authentication, and Accept after it succeeds.
func (f *Filter) Check(n uint64) bool {
	if !f.any || n > f.last {
		return true
	}
	if f.last-n >= Window {
		return false
	}
	return f.ring[(n/wordBits)%ringWords]&(1<<(n%wordBits)) == 0
}

// Accept records n and reports whether it was new: false for a replay or a
// number too old to tell.
func (f *Filter) Accept(n uint64) bool {
	if !f.Check(n) {
		return false
	}
	word := n / wordBits
	if !f.any {
		f.ring = [ringWords]uint64{}
		f.last, f.any = n, true
	} else if n > f.last {
		// Clear the words the top moves into, at most the whole ring.
		if top := f.last / wordBits; word > top {
			if word-top >= ringWords {
				f.ring = [ringWords]uint64{}
			} else {
				for w := top + 1; w <= word; w++ {
					f.ring[w%ringWords] = 0
				}
			}
		}
		f.last = n
	}
	f.ring[word%ringWords] |= 1 << (n % wordBits)
	return true
}

// Last returns the highest accepted packet number and whether there is one.
func (f *Filter) Last() (uint64, bool) { return f.last, f.any }
