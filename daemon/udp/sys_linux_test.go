//go:build linux

package udp

import (
	"fmt"
	"testing"
)

// TestBuildRuns checks how a batch is cut into messages: with
// segmentation, runs of equal size, a shorter datagram ending its run, at
// most MaxSegments and maxPayload bytes per message; without, one message
// per datagram.
func TestBuildRuns(t *testing.T) {
	tests := []struct {
		sizes []int
		gso   []int // datagrams per message with segmentation
	}{
		{sizes: []int{1200}, gso: []int{1}},
		{sizes: rep(1200, 110), gso: []int{54, 54, 2}},             // 54*1200 <= 65507 < 55*1200
		{sizes: rep(100, 130), gso: []int{64, 64, 2}},              // MaxSegments
		{sizes: append(rep(1000, 5), 300, 1000), gso: []int{6, 1}}, // a shorter one ends the run
		{sizes: []int{300, 1000, 1000}, gso: []int{1, 2}},          // a longer one starts a new run
	}
	for _, tc := range tests {
		b := NewBatch(len(tc.sizes), 1500)
		for _, s := range tc.sizes {
			if err := b.Add(make([]byte, s)); err != nil {
				t.Fatal(err)
			}
		}
		s := &sysConn{}
		s.build(b, 0, nil, 0, true)
		if got := fmt.Sprint(s.scount[:s.sn]); got != fmt.Sprint(tc.gso) {
			t.Errorf("sizes %v with segmentation: messages of %s datagrams, want %v", short(tc.sizes), got, tc.gso)
		}
		s.build(b, 0, nil, 0, false)
		if s.sn != len(tc.sizes) {
			t.Errorf("sizes %v without segmentation: %d messages, want %d", short(tc.sizes), s.sn, len(tc.sizes))
		}
		// Rebuilding from the middle (after a refused segmented send)
		// starts at that datagram's bytes.
		if len(tc.sizes) > 2 {
			s.build(b, 2, nil, 0, false)
			if s.sn != len(tc.sizes)-2 || uint64(s.siov[0].Len) != uint64(tc.sizes[2]) {
				t.Errorf("sizes %v rebuilt from 2: %d messages, first %d bytes", short(tc.sizes), s.sn, s.siov[0].Len)
			}
		}
	}
}

func rep(size, n int) []int {
	s := make([]int, n)
	for i := range s {
		s[i] = size
	}
	return s
}

func short(s []int) string {
	if len(s) > 8 {
		return fmt.Sprintf("%v... (%d)", s[:8], len(s))
	}
	return fmt.Sprint(s)
}
