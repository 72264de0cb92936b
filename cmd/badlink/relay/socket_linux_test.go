package relay

import (
	"testing"
	"time"
)

// TestSocketDrops overflows a small loopback socket that nobody reads and
// checks that socketDrops counts what the kernel dropped.
func TestSocketDrops(t *testing.T) {
	rx, tx := loopback(t), loopback(t)
	if _, err := Prepare(rx); err != nil {
		t.Fatal(err)
	}
	if err := rx.SetReadBuffer(4096); err != nil { // the kernel's minimum, a few datagrams
		t.Fatal(err)
	}
	if d := socketDrops(rx); d != 0 {
		t.Fatalf("socketDrops = %d before anything was sent", d)
	}
	payload := make([]byte, 1000)
	for range 200 {
		if _, err := tx.WriteToUDPAddrPort(payload, addrOf(rx)); err != nil {
			t.Fatal(err)
		}
	}
	buf := make([]byte, 2048)
	queued := 0
	for ; ; queued++ { // drain what fitted
		rx.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
		if _, _, err := rx.ReadFromUDPAddrPort(buf); err != nil {
			break
		}
	}
	if drops := socketDrops(rx); int(drops) != 200-queued || queued == 0 || queued == 200 {
		t.Errorf("socketDrops = %d after 200 datagrams into a 4 KiB buffer of which %d were queued; want %d", drops, queued, 200-queued)
	}
	t.Logf("kernel queued %d of 200 and dropped %d", queued, 200-queued)
}
