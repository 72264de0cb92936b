package display

import (
	"strings"
	"sync"
	"testing"

	"github.com/vstreamd/vstreamd/daemon/media"
	"gocv.io/x/gocv"
)

// gate is a slow decoder: the real one, but each call reports the frame it
// got and then waits until the test lets it go.
type gate struct {
	entered chan uint32
	release chan struct{}
}

func newGate() *gate { return &gate{entered: make(chan uint32), release: make(chan struct{})} }

func (g *gate) decode(data []byte, id uint32) (gocv.Mat, error) {
	g.entered <- id
	<-g.release
	return Decode(data)
}

// expect waits until the sink starts decoding frame id.
func (g *gate) expect(t *testing.T, id uint32) {
	t.Helper()
	expectID(t, g.entered, id, "took")
}

// seen records what reached the renderer: ids and the frame number in
// each picture.
type seen struct {
	nullRenderer
	ids, seqs []uint32
	t         *testing.T
}

func (s *seen) render(img *gocv.Mat, _ []byte, f media.Received, _ *media.SinkStatus) error {
	s.ids = append(s.ids, f.ID)
	s.seqs = append(s.seqs, seqOf(s.t, *img, "rendered frame"))
	return nil
}

// startGated starts a null sink with the gate as its decoder.
func startGated(t *testing.T) (*Sink, *gate, *seen) {
	g, r := newGate(), &seen{t: t}
	s := newSink(Config{Kind: media.SinkNull}, nil, r)
	s.decode = g.decode
	go s.run()
	return s, g, r
}

// TestLatestWins: while the sink is busy with one frame, nine more come;
// it then shows the newest, and the eight in between are counted skipped.
func TestLatestWins(t *testing.T) {
	frames := patternFrames(t, 320, 240, 60, 10)
	s, g, r := startGated(t)

	s.Show(toShow(frames[0]))
	g.expect(t, uint32(frames[0].Seq)) // busy with frame 0
	for _, f := range frames[1:] {
		s.Show(toShow(f))
	}
	if st := s.Status(); st.Received != 10 || st.Skipped != 8 || st.Shown != 0 {
		t.Errorf("while busy: Received %d, Skipped %d, Shown %d; want 10, 8, 0", st.Received, st.Skipped, st.Shown)
	}
	g.release <- struct{}{}
	g.expect(t, uint32(frames[9].Seq)) // the newest, next
	g.release <- struct{}{}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	want := []uint32{uint32(frames[0].Seq), uint32(frames[9].Seq)}
	if len(r.ids) != 2 || r.ids[0] != want[0] || r.ids[1] != want[1] {
		t.Errorf("rendered ids %v, want %v", r.ids, want)
	}
	if len(r.seqs) != 2 || r.seqs[1] != want[1] {
		t.Errorf("rendered pictures show frames %v, want %v: the slot's data and id disagree", r.seqs, want)
	}
	st := s.Status()
	if st.Received != 10 || st.Shown != 2 || st.Skipped != 8 || st.DecodeErrors != 0 || st.Dropped != 0 {
		t.Errorf("Stats: Received %d Shown %d Skipped %d DecodeErrors %d Dropped %d; want 10 2 8 0 0",
			st.Received, st.Shown, st.Skipped, st.DecodeErrors, st.Dropped)
	}
	if st.LastID != want[1] || st.Width != 320 || st.Height != 240 || st.State != StateClosed {
		t.Errorf("Stats: LastID %d, %dx%d, State %q; want %d, 320x240, %q", st.LastID, st.Width, st.Height, st.State, want[1], StateClosed)
	}
}

// TestDecodeErrorSkipped: a frame that does not decode is counted and the
// sink goes on with the next.
func TestDecodeErrorSkipped(t *testing.T) {
	frames := patternFrames(t, 320, 240, 60, 2)
	s, g, r := startGated(t)

	s.Show(toShow(frames[0]))
	g.expect(t, uint32(frames[0].Seq))
	bad := media.Received{Data: []byte{0xFF, 0xD8, 0xFF, 0xFE, 0x00, 0x04, 'h', 'i', 0xFF, 0xD9}, ID: 1000}
	s.Show(bad)
	g.release <- struct{}{}
	g.expect(t, bad.ID)
	g.release <- struct{}{}
	s.Show(toShow(frames[1]))
	g.expect(t, uint32(frames[1].Seq))
	g.release <- struct{}{}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	st := s.Status()
	if st.Received != 3 || st.Shown != 2 || st.DecodeErrors != 1 || st.Skipped != 0 {
		t.Errorf("Stats: Received %d Shown %d DecodeErrors %d Skipped %d; want 3 2 1 0", st.Received, st.Shown, st.DecodeErrors, st.Skipped)
	}
	if len(r.ids) != 2 || r.ids[1] != uint32(frames[1].Seq) {
		t.Errorf("rendered %v, want frames %d and %d", r.ids, frames[0].Seq, frames[1].Seq)
	}
}

// TestShowConcurrent runs Show from several goroutines against a real
// null sink, then checks that every frame is accounted for exactly once.
// Run it with -race.
func TestShowConcurrent(t *testing.T) {
	frames := patternFrames(t, 160, 120, 50, 4)
	s, err := Open(Config{Kind: media.SinkNull}, nil)
	if err != nil {
		t.Fatal(err)
	}
	const senders, each = 4, 200
	var wg sync.WaitGroup
	for i := range senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range each {
				f := toShow(frames[(i+j)%len(frames)])
				if j%50 == 7 {
					f.Data = []byte("garbage")
				}
				s.Show(f)
				_ = s.Status()
			}
		}()
	}
	wg.Wait()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s.Show(toShow(frames[0])) // after Close: dropped
	st := s.Status()
	total := st.Shown + st.Skipped + st.DecodeErrors + st.Dropped
	if st.Received != senders*each+1 || total != st.Received {
		t.Errorf("Received %d = Shown %d + Skipped %d + DecodeErrors %d + Dropped %d = %d; want %d both",
			st.Received, st.Shown, st.Skipped, st.DecodeErrors, st.Dropped, total, senders*each+1)
	}
	if st.Dropped == 0 {
		t.Errorf("Dropped = 0 after a Show on a closed sink")
	}
}

func TestNoneSink(t *testing.T) {
	s, err := Open(Config{Kind: media.SinkNone}, nil)
	if err != nil {
		t.Fatal(err)
	}
	closeT(t, s)
	s.Show(media.Received{Data: []byte("anything"), ID: 1})
	if st := s.Status(); st.Received != 1 || st.Dropped != 1 || st.Shown != 0 || st.DecodeErrors != 0 || st.State != StateRunning {
		t.Errorf("none sink Stats = %+v, want 1 received and dropped, running", st)
	}
}

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name string
		cfg  Config
		want string
	}{
		{"no kind", Config{}, "unknown sink kind 0"},
		{"record without path", Config{Kind: media.SinkRecord}, "record needs a path"},
		{"record to mov", Config{Kind: media.SinkRecord, Path: dir + "/out.mov"}, "want a name ending in .avi, .mkv or .mp4"},
		{"record into a missing directory", Config{Kind: media.SinkRecord, Path: dir + "/nope/out.avi"}, "record " + dir + "/nope/out.avi"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := Open(tc.cfg, nil)
			if err == nil {
				s.Close()
				t.Fatalf("Open(%+v) succeeded, want an error", tc.cfg)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Open error %q does not contain %q", err, tc.want)
			}
		})
	}
}
