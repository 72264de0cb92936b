package relay

import (
	"encoding/binary"
	"syscall"
	"testing"
	"time"
)

// cmsg builds one control message as the kernel lays it out.
func cmsg(level, typ int32, data []byte) []byte {
	b := make([]byte, syscall.CmsgSpace(len(data)))
	const hdr = syscall.SizeofCmsghdr
	if hdr == 16 {
		binary.NativeEndian.PutUint64(b, uint64(syscall.CmsgLen(len(data))))
	} else {
		binary.NativeEndian.PutUint32(b, uint32(syscall.CmsgLen(len(data))))
	}
	binary.NativeEndian.PutUint32(b[hdr-8:], uint32(level))
	binary.NativeEndian.PutUint32(b[hdr-4:], uint32(typ))
	copy(b[hdr:], data)
	return b
}

func TestKernelDropsParsesControlMessages(t *testing.T) {
	ovfl := cmsg(syscall.SOL_SOCKET, syscall.SO_RXQ_OVFL, binary.NativeEndian.AppendUint32(nil, 1234))
	other := cmsg(syscall.IPPROTO_IP, syscall.IP_TTL, []byte{64, 0, 0, 0})
	for _, tc := range []struct {
		name  string
		oob   []byte
		want  uint32
		found bool
	}{
		{"alone", ovfl, 1234, true},
		{"after another", append(append([]byte{}, other...), ovfl...), 1234, true},
		{"absent", other, 0, false},
		{"empty", nil, 0, false},
		{"bad length", append([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f}, ovfl[8:]...), 0, false},
	} {
		got, ok := kernelDrops(tc.oob)
		if got != tc.want || ok != tc.found {
			t.Errorf("%s: kernelDrops = %d, %v, want %d, %v", tc.name, got, ok, tc.want, tc.found)
		}
	}
	// Every prefix of a valid buffer parses without panicking.
	full := append(append([]byte{}, other...), ovfl...)
	for i := range full {
		kernelDrops(full[:i])
	}
}

// TestPrepareReportsKernelDrops overflows a small loopback socket that
// nobody reads, then checks that a datagram queued after the drops carries
// the kernel's drop count (the kernel stamps each datagram with the count
// at the time it was queued).
func TestPrepareReportsKernelDrops(t *testing.T) {
	rx, tx := loopback(t), loopback(t)
	if _, err := Prepare(rx); err != nil {
		t.Fatal(err)
	}
	if err := rx.SetReadBuffer(4096); err != nil { // the kernel's minimum, a few datagrams
		t.Fatal(err)
	}
	payload := make([]byte, 1000)
	for range 200 {
		if _, err := tx.WriteToUDPAddrPort(payload, addrOf(rx)); err != nil {
			t.Fatal(err)
		}
	}
	buf, oob := make([]byte, 2048), make([]byte, oobSize)
	queued := 0
	for ; ; queued++ { // drain what fitted
		rx.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
		if _, _, _, _, err := rx.ReadMsgUDPAddrPort(buf, oob); err != nil {
			break
		}
	}
	rx.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := tx.WriteToUDPAddrPort(payload, addrOf(rx)); err != nil {
		t.Fatal(err)
	}
	_, oobn, _, _, err := rx.ReadMsgUDPAddrPort(buf, oob)
	if err != nil {
		t.Fatal(err)
	}
	drops, ok := kernelDrops(oob[:oobn])
	if !ok || int(drops) != 200-queued {
		t.Errorf("kernelDrops = %d, %v after 200 datagrams into a 4 KiB buffer of which %d were queued; want %d, true",
			drops, ok, queued, 200-queued)
	}
	t.Logf("kernel queued %d of 200 and dropped %d", queued, drops)
}
