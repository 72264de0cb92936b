package packetizer

import (
	"bytes"
	"encoding/hex"
	"testing"
	"time"
)

func sampleFeedback() Feedback {
	m := Feedback{
		Sent: 1_700_000_000_123_456_789, Highest: 0x0102030405060708,
		Received: 950, Expected: 1000, Runs: 12, Bytes: 1_100_000,
		Interval: 50 * time.Millisecond, Delivered: 2, Dropped: 1, Lost: 0, TailLost: 7, TailSeen: 400, N: 2,
	}
	m.Arrivals[0] = Arrival{Packet: 0x0102030405060700, Age: 31 * time.Millisecond}
	m.Arrivals[1] = Arrival{Packet: 0x0102030405060708, Age: 250 * time.Microsecond}
	return m
}

func TestFeedbackGolden(t *testing.T) {
	m := sampleFeedback()
	prefix := []byte{0xAA, 0xBB}
	b := m.AppendTo(bytes.Clone(prefix))
	if !bytes.Equal(b[:2], prefix) {
		t.Fatalf("AppendTo overwrote the prefix: % x", b[:2])
	}
	want := "" +
		"17979cfe3d85cd15" + "0102030405060708" + // sent, highest
		"000003b6" + "000003e8" + "0000000c" + "0010c8e0" + "0000c350" + // received, expected, runs, bytes, interval
		"0002" + "0001" + "0000" + "0002" + // delivered, dropped, lost, samples
		"00000007" + "00000190" + // tail lost, tail seen
		"0102030405060700" + "00007918" +
		"0102030405060708" + "000000fa"
	if got := hex.EncodeToString(b[2:]); got != want {
		t.Fatalf("AppendTo =\n%s\nwant\n%s", got, want)
	}
	var back Feedback
	if err := ParseFeedback(b[2:], &back); err != nil {
		t.Fatalf("ParseFeedback: %v", err)
	}
	if back != m {
		t.Fatalf("ParseFeedback = %+v, want %+v", back, m)
	}
	if len(b[2:]) != FeedbackLen+2*ArrivalLen {
		t.Fatalf("length %d, want %d", len(b[2:]), FeedbackLen+2*ArrivalLen)
	}
}

func TestFeedbackEveryPrefix(t *testing.T) {
	m := sampleFeedback()
	b := m.AppendTo(nil)
	for n := range len(b) {
		var got Feedback
		if err := ParseFeedback(b[:n], &got); err == nil {
			t.Errorf("ParseFeedback(first %d of %d bytes) = nil error", n, len(b))
		}
	}
	var got Feedback
	if err := ParseFeedback(append(b, 0), &got); err == nil {
		t.Error("ParseFeedback accepted a trailing byte")
	}
}

func TestFeedbackRejects(t *testing.T) {
	for _, tc := range []struct {
		name  string
		apply func(b []byte)
	}{
		{"too many samples", func(b []byte) { b[fbSamples], b[fbSamples+1] = 0, MaxArrivals+1 }},
	} {
		m := sampleFeedback()
		b := m.AppendTo(nil)
		tc.apply(b)
		var got Feedback
		if err := ParseFeedback(b, &got); err == nil {
			t.Errorf("%s: ParseFeedback = nil error", tc.name)
		}
	}
}

func TestFeedbackSaturates(t *testing.T) {
	m := Feedback{Interval: 3 * time.Hour, N: MaxArrivals + 5, Received: 1 << 20, Expected: 1 << 20}
	m.Arrivals[0].Age = -time.Second
	var back Feedback
	if err := ParseFeedback(m.AppendTo(nil), &back); err != nil {
		t.Fatalf("ParseFeedback: %v", err)
	}
	if back.N != MaxArrivals || back.Interval != time.Duration(1<<32-1)*time.Microsecond || back.Arrivals[0].Age != 0 {
		t.Fatalf("saturation: N %d interval %v age %v", back.N, back.Interval, back.Arrivals[0].Age)
	}
}

func TestFeedbackAllocs(t *testing.T) {
	m := sampleFeedback()
	buf := make([]byte, 0, MaxFeedbackLen)
	var back Feedback
	ran := 0
	allocs := testing.AllocsPerRun(100, func() {
		b := m.AppendTo(buf[:0])
		if ParseFeedback(b, &back) == nil {
			ran++
		}
	})
	if allocs != 0 || ran == 0 {
		t.Fatalf("AppendTo+ParseFeedback: %v allocs per run (ran %d)", allocs, ran)
	}
}

func FuzzFeedback(f *testing.F) {
	m := sampleFeedback()
	f.Add(m.AppendTo(nil))
	f.Add((&Feedback{}).AppendTo(nil))
	f.Fuzz(func(t *testing.T, in []byte) {
		var a Feedback
		if ParseFeedback(in, &a) != nil {
			return
		}
		out := a.AppendTo(nil)
		if !bytes.Equal(out, in) {
			t.Fatalf("decode-encode differs:\n in % x\nout % x", in, out)
		}
		var b Feedback
		if err := ParseFeedback(out, &b); err != nil || b != a {
			t.Fatalf("decode-encode-decode: %v, %+v vs %+v", err, b, a)
		}
	})
}
