package display

import (
	"testing"
	"time"

	"github.com/vstreamd/vstreamd/daemon/media"
	"github.com/vstreamd/vstreamd/packetizer"
)

func TestDiscardSink(t *testing.T) {
	s, err := Open(Config{Kind: media.SinkDiscard}, nil)
	if err != nil {
		t.Fatal(err)
	}
	// Bytes no decoder would take, and both codecs: nothing is decoded.
	frames := []media.Received{
		{Data: []byte("not a picture"), ID: 1, Latency: time.Millisecond},
		{Data: make([]byte, 1000), Codec: packetizer.CodecH264, Use: packetizer.UseSkip, ID: 2},
		{Data: []byte{0xFF, 0xD8, 0xFF}, Codec: packetizer.CodecJPEG, ID: 7, Latency: 3 * time.Millisecond},
	}
	var bytes uint64
	for _, f := range frames {
		s.Show(f)
		bytes += uint64(len(f.Data))
	}
	st := s.Status()
	if st.Kind != media.SinkDiscard || st.Kind.String() != "discard" || st.Received != 3 || st.Shown != 3 || st.Bytes != bytes ||
		st.DecodeErrors != 0 || st.Skipped != 0 || st.Dropped != 0 || st.LastID != 7 || st.Latency != 3*time.Millisecond || st.State != StateRunning {
		t.Errorf("discard sink Stats = %+v, want 3 received and shown, %d bytes, last id 7, nothing decoded", st, bytes)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s.Show(frames[0])
	if st := s.Status(); st.Shown != 3 || st.Dropped != 1 || st.State != StateClosed {
		t.Errorf("after Close: Stats = %+v, want the frame dropped", st)
	}
}

func TestDiscardAllocs(t *testing.T) {
	s, err := Open(Config{Kind: media.SinkDiscard}, nil)
	if err != nil {
		t.Fatal(err)
	}
	closeT(t, s)
	f := media.Received{Data: make([]byte, 100_000), ID: 1}
	allocs := testing.AllocsPerRun(100, func() { s.Show(f) })
	if allocs != 0 {
		t.Errorf("Show on a discard sink: %v allocations, want 0", allocs)
	}
	if st := s.Status(); st.Shown < 100 {
		t.Errorf("Shown = %d after the runs: Show did not run", st.Shown)
	}
}
