package capture

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/vstreamd/vstreamd/daemon/media"
)

var t0 = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

func ms(n int) time.Duration { return time.Duration(n) * time.Millisecond }

func TestPacerCatchUp(t *testing.T) {
	// 10 fps: slots every 100 ms from the first call.
	for _, tc := range []struct {
		name       string
		calls      []time.Duration // times of catchUp, each followed by advance
		wantMissed []uint64
		wantDue    time.Duration // due time of the next slot after the last advance
	}{
		{"on time", []time.Duration{0, ms(100), ms(200)}, []uint64{0, 0, 0}, ms(300)},
		{"early calls wait for their slot", []time.Duration{0, ms(10), ms(20)}, []uint64{0, 0, 0}, ms(300)},
		{"late by less than a period is made up", []time.Duration{0, ms(190), ms(210)}, []uint64{0, 0, 0}, ms(300)},
		{"late by a period misses one slot", []time.Duration{0, ms(200)}, []uint64{0, 1}, ms(300)},
		{"late by 3.5 periods misses three", []time.Duration{0, ms(450), ms(500)}, []uint64{0, 3, 0}, ms(600)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := newPacer(10)
			for i, at := range tc.calls {
				if got := p.catchUp(t0.Add(at)); got != tc.wantMissed[i] {
					t.Errorf("call %d at %v: catchUp = %d, want %d", i, at, got, tc.wantMissed[i])
				}
				p.advance()
			}
			if got := p.due.Sub(t0); got != tc.wantDue {
				t.Errorf("next slot due at %v, want %v", got, tc.wantDue)
			}
		})
	}
}

func TestPacerAccept(t *testing.T) {
	for _, tc := range []struct {
		name    string
		frames  []time.Duration // capture times of accepted live frames
		wantDue time.Duration
	}{
		{"on the grid", []time.Duration{0, ms(100), ms(200)}, ms(300)},
		{"jitter keeps the grid", []time.Duration{0, ms(90), ms(215), ms(290)}, ms(400)},
		{"a frame a period late restarts the grid", []time.Duration{0, ms(100), ms(330)}, ms(430)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := newPacer(10)
			for _, at := range tc.frames {
				p.accept(t0.Add(at))
			}
			if got := p.due.Sub(t0); got != tc.wantDue {
				t.Errorf("next slot due at %v, want %v", got, tc.wantDue)
			}
		})
	}
}

func TestPacerSetRate(t *testing.T) {
	p := newPacer(10)
	p.catchUp(t0)
	p.advance() // the last slot was at t0, the next is due at t0+100ms
	p.setRate(20)
	if got := p.due.Sub(t0); got != ms(50) {
		t.Errorf("after setRate(20) next slot due at %v, want 50ms", got)
	}
	if p.period != ms(50) {
		t.Errorf("period = %v, want 50ms", p.period)
	}
}

// TestNextNeverFaster checks that frames come no faster than the rate: n
// frames span at least n-1 periods. (It puts a lower bound on time, which a
// slow machine cannot break.)
func TestNextNeverFaster(t *testing.T) {
	const fps, n = 50, 12
	s := openT(t, Config{Kind: media.SourcePattern, Width: 320, Height: 240, FPS: fps})
	var first, last media.Frame
	var buf []byte
	for i := range n {
		f := next(t, s, buf)
		buf = f.Data
		if i == 0 {
			first = f
		}
		last = f
	}
	span := last.Captured.Sub(first.Captured)
	slots := last.Seq - first.Seq
	if want := time.Duration(slots) * time.Second / fps; span < want-time.Millisecond {
		t.Errorf("%d slots took %v, want at least %v: frames came faster than %d fps", slots, span, want, fps)
	}
	if slots < n-1 {
		t.Errorf("last.Seq - first.Seq = %d for %d frames, want >= %d", slots, n, n-1)
	}
}

// TestSlowCallerDrops checks that a caller that falls behind loses the
// missed slots rather than receiving stale frames: Seq jumps, Dropped counts
// the jump, and no frame is queued.
func TestSlowCallerDrops(t *testing.T) {
	const fps = 100
	s := openT(t, Config{Kind: media.SourcePattern, Width: 320, Height: 240, FPS: fps})
	a := next(t, s, nil)
	time.Sleep(5 * time.Second / fps) // the caller is busy for five periods: that is the scenario
	b := next(t, s, nil)
	st := s.Status()
	if gap := b.Seq - a.Seq; gap < 4 {
		t.Errorf("Seq went from %d to %d after five periods, want a jump of >= 4", a.Seq, b.Seq)
	}
	if st.Dropped != b.Seq-a.Seq-1 {
		t.Errorf("Dropped = %d, want %d (the slots between Seq %d and %d)", st.Dropped, b.Seq-a.Seq-1, a.Seq, b.Seq)
	}
	if st.Frames != 2 || st.Grabbed != 2 {
		t.Errorf("Frames, Grabbed = %d, %d; want 2, 2: missed slots must not be drawn", st.Frames, st.Grabbed)
	}
	if age := b.Captured.Sub(a.Captured); age < 5*time.Second/fps {
		t.Errorf("second frame captured %v after the first, want >= %v: it was made before the caller asked", age, 5*time.Second/fps)
	}
}

func TestNextStops(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  Config
		stop func(cancel context.CancelFunc, s *Source)
		want error
	}{
		{"pattern, ctx cancelled while waiting for the slot", Config{Kind: media.SourcePattern, Width: 320, Height: 240, FPS: 1},
			func(cancel context.CancelFunc, _ *Source) { cancel() }, context.Canceled},
		{"pattern, Close while waiting", Config{Kind: media.SourcePattern, Width: 320, Height: 240, FPS: 1},
			func(_ context.CancelFunc, s *Source) { s.Close() }, ErrClosed},
		{"none, ctx cancelled", Config{Kind: media.SourceNone},
			func(cancel context.CancelFunc, _ *Source) { cancel() }, context.Canceled},
		{"none, Close", Config{Kind: media.SourceNone},
			func(_ context.CancelFunc, s *Source) { s.Close() }, ErrClosed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := openT(t, tc.cfg)
			if tc.cfg.Kind == media.SourcePattern {
				next(t, s, nil) // the first frame comes at once; the next is a second away
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			errc := make(chan error, 1)
			go func() {
				_, err := s.Next(ctx, nil)
				errc <- err
			}()
			tc.stop(cancel, s)
			select {
			case err := <-errc:
				if !errors.Is(err, tc.want) {
					t.Errorf("Next = %v, want %v", err, tc.want)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("Next did not return after it was stopped")
			}
			if tc.want == ErrClosed {
				if _, err := s.Next(context.Background(), nil); !errors.Is(err, ErrClosed) {
					t.Errorf("Next after Close = %v, want ErrClosed", err)
				}
			}
		})
	}
}
