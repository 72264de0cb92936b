package packetizer

import (
	"bytes"
	"math/rand/v2"
	"testing"
	"time"
)

// TestSlotOpensInPlace receives frames the way the daemon does when the
// session opens each shard straight into its place: the payload is
// written to the slot Slot returns and Push is given the slot. Frames
// come out byte for byte; Slot offers no place for the first datagram of
// a frame, a shard already held, a block already complete, a datagram
// that disagrees with its frame, or once the frame's deadline has passed;
// and bytes written to a slot whose datagram is then refused (never
// pushed) do not reach the frame: parity recovers that shard.
func TestSlotOpensInPlace(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	p, a := newPair(t, Config{Parity: 0.25}, AssemblerConfig{})
	for n := range 3 {
		frame := randomFrame(rng, 40_000+rng.IntN(60_000))
		dgrams, _ := split(t, p, frame, int64(n+1))
		var got Frame
		placed, refused := 0, 0
		for i, d := range dgrams {
			h, err := ParseHeader(d)
			if err != nil {
				t.Fatal(err)
			}
			payload := d[HeaderLen:]
			slot := a.Slot(&h, epoch)
			if i == 0 && slot != nil {
				t.Fatalf("frame %d: a place for the frame's first datagram, before its frame is known", n)
			}
			if slot != nil && i == 3 && refused == 0 {
				// A forged datagram opened into the slot and refused: its
				// bytes are written, never pushed.
				for j := range slot {
					slot[j] = 0xEE
				}
				refused++
				continue
			}
			if slot != nil {
				if len(slot) != len(payload) {
					t.Fatalf("frame %d datagram %d: slot of %d bytes for a payload of %d", n, i, len(slot), len(payload))
				}
				copy(slot, payload)
				payload = slot
				placed++
			}
			f, err := a.Push(&h, payload, epoch)
			if err != nil {
				t.Fatalf("frame %d datagram %d: %v", n, i, err)
			}
			if f.Data != nil {
				got = Frame{Data: bytes.Clone(f.Data)}
			}
			if slot != nil && a.Slot(&h, epoch) != nil {
				t.Fatalf("frame %d datagram %d: a place for a shard already held", n, i)
			}
		}
		if !bytes.Equal(got.Data, frame) {
			t.Fatalf("frame %d (%d bytes): delivered %d bytes, want it byte for byte", n, len(frame), len(got.Data))
		}
		if placed < len(dgrams)/2 || refused != 1 {
			t.Errorf("frame %d: %d of %d datagrams placed, %d refused", n, placed, len(dgrams), refused)
		}
	}

	// No place for a datagram at odds with its frame, of another frame, or
	// after the deadline.
	frame := randomFrame(rng, 50_000)
	dgrams, _ := split(t, p, frame, 9)
	h0, _ := ParseHeader(dgrams[0])
	if _, err := a.Push(&h0, dgrams[0][HeaderLen:], epoch); err != nil {
		t.Fatal(err)
	}
	h, _ := ParseHeader(dgrams[1])
	if a.Slot(&h, epoch) == nil {
		t.Fatal("no place for the second datagram of a frame")
	}
	for name, change := range map[string]func(h *Header){
		"another frame":      func(h *Header) { h.Frame++ },
		"another length":     func(h *Header) { h.FrameLen++ },
		"another CRC":        func(h *Header) { h.CRC++ },
		"a control datagram": func(h *Header) { h.Kind = KindHello },
		"another session":    func(h *Header) { h.Session++ },
		"a shard past the block": func(h *Header) {
			h.Shard = h.Data + h.Parity
		},
	} {
		bad := h
		change(&bad)
		if a.Slot(&bad, epoch) != nil {
			t.Errorf("%s: a place offered", name)
		}
	}
	if a.Slot(&h, epoch.Add(time.Hour)) != nil {
		t.Error("a place offered after the frame's deadline")
	}
}
