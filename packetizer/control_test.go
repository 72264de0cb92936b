package packetizer

import (
	"encoding/hex"
	"errors"
	"testing"
)

func TestHelloRoundTrip(t *testing.T) {
	m := Hello{Flags: HelloSends | HelloEncrypted, Sent: 0x0102030405060708, EchoSent: 0x1112131415161718, EchoHeld: 0x2122, Peer: 0x3132333435363738}
	b := m.AppendTo([]byte{0xEE})
	const want = "ee" + "00000005" + "00000000" + "0102030405060708" + "1112131415161718" + "0000000000002122" + "3132333435363738"
	if got := hex.EncodeToString(b); got != want {
		t.Fatalf("Hello.AppendTo =\n%s\nwant\n%s", got, want)
	}
	back, err := ParseHello(b[1:])
	if err != nil || back != m {
		t.Fatalf("ParseHello = %+v, %v; want %+v", back, err, m)
	}
	for n := range HelloLen {
		if _, err := ParseHello(b[1 : 1+n]); !errors.Is(err, ErrControl) {
			t.Fatalf("ParseHello(%d bytes) = %v, want ErrControl", n, err)
		}
	}
	bad := append([]byte(nil), b[1:]...)
	bad[0] = 0x80 // unknown flag
	if _, err := ParseHello(bad); !errors.Is(err, ErrControl) {
		t.Fatalf("unknown flag: %v, want ErrControl", err)
	}
}

func TestReportRoundTrip(t *testing.T) {
	m := Report{Delivered: 1, Recovered: 2, Late: 3, Incomplete: 4, Lost: 5, Corrupt: 6, Packets: 7, Highest: 8, LossPPM: 9, P50: 10, P95: 11, P99: 12, Invalid: 13}
	b := m.AppendTo(nil)
	if len(b) != ReportLen {
		t.Fatalf("report is %d bytes, want %d", len(b), ReportLen)
	}
	back, err := ParseReport(b)
	if err != nil || back != m {
		t.Fatalf("ParseReport = %+v, %v; want %+v", back, err, m)
	}
	for n := range ReportLen {
		if _, err := ParseReport(b[:n]); !errors.Is(err, ErrControl) {
			t.Fatalf("ParseReport(%d bytes) = %v, want ErrControl", n, err)
		}
	}
	m.LossPPM = 1e6 + 1
	if _, err := ParseReport(m.AppendTo(nil)); !errors.Is(err, ErrControl) {
		t.Fatalf("loss over 100%%: %v, want ErrControl", err)
	}
}

func FuzzControl(f *testing.F) {
	f.Add((&Hello{Flags: HelloReceives, Sent: 5}).AppendTo(nil))
	f.Add((&Report{Delivered: 9, LossPPM: 50000}).AppendTo(nil))
	f.Add((&Recover{After: 77}).AppendTo(nil))
	f.Fuzz(func(t *testing.T, b []byte) {
		if h, err := ParseHello(b); err == nil {
			if h2, err := ParseHello(h.AppendTo(nil)); err != nil || h2 != h {
				t.Fatalf("hello round trip: %+v, %v; want %+v", h2, err, h)
			}
		}
		if r, err := ParseRecover(b); err == nil {
			if r2, err := ParseRecover(r.AppendTo(nil)); err != nil || r2 != r {
				t.Fatalf("recover round trip: %+v, %v; want %+v", r2, err, r)
			}
		}
		if r, err := ParseReport(b); err == nil {
			if r2, err := ParseReport(r.AppendTo(nil)); err != nil || r2 != r {
				t.Fatalf("report round trip: %+v, %v; want %+v", r2, err, r)
			}
		}
	})
}
