package packetizer

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"sync"
	"testing"
	"time"

	"github.com/vstreamd/vstreamd/fec"
)

// FuzzAssembler feeds an Assembler arbitrary datagram sequences. The input
// is a list of records: a 2-byte big-endian length, a 1-byte clock step in
// milliseconds, then that many bytes of datagram. Seeds are real encoder
// output, so the fuzzer starts from valid frames and mutates them.
//
// Whatever arrives: no panic, bounded buffers, and every delivered frame
// matches the CRC its own datagrams declared (no corrupt frame ever
// delivered), once and in increasing frame order.
func FuzzAssembler(f *testing.F) {
	p, err := NewPacketizer(Config{MaxDatagram: MinDatagram, Parity: 0.5, Session: 3}, nil)
	if err != nil {
		f.Fatal(err)
	}
	record := func(b []byte, d []byte, step byte) []byte {
		b = binary.BigEndian.AppendUint16(b, uint16(len(d)))
		b = append(b, step)
		return append(b, d...)
	}
	for _, size := range []int{1, 600, 3000} {
		var seed []byte
		_, _ = p.Packetize(bytes.Repeat([]byte{byte(size)}, size), 5, func(d []byte) error {
			seed = record(seed, d, 1)
			return nil
		})
		f.Add(seed)
		f.Add(seed[:len(seed)/2])
	}
	f.Add(record(nil, []byte("VS\x01\x01garbage"), 200))
	crc := crc32.MakeTable(crc32.Castagnoli)
	coder, err := fec.NewCoder()
	if err != nil {
		f.Fatal(err)
	}
	var mu sync.Mutex // the Coder is not safe for concurrent use

	f.Fuzz(func(t *testing.T, in []byte) {
		mu.Lock()
		defer mu.Unlock()
		a, err := NewAssembler(AssemblerConfig{MaxFrames: 4, MaxBufferBytes: 1 << 20, MaxFrameBytes: 1 << 18}, coder)
		if err != nil {
			t.Fatal(err)
		}
		now := epoch
		var last uint32
		delivered := false
		for len(in) >= 3 {
			n := int(binary.BigEndian.Uint16(in))
			now = now.Add(time.Duration(in[2]) * time.Millisecond)
			in = in[3:]
			n = min(n, len(in))
			d := in[:n]
			in = in[n:]
			h, perr := ParseHeader(d)
			fr, err := a.Receive(d, now)
			if a.bufBytes > a.cfg.MaxBufferBytes {
				t.Fatalf("buffers %d over budget %d", a.bufBytes, a.cfg.MaxBufferBytes)
			}
			if err != nil {
				if _, ok := ReasonOf(err); !ok && err != ErrCorrupt {
					t.Fatalf("unnamed error %v", err)
				}
				continue
			}
			if fr.Data == nil {
				continue
			}
			if perr != nil || crc32.Checksum(fr.Data, crc) != h.CRC || len(fr.Data) != int(h.FrameLen) {
				t.Fatalf("delivered frame %d does not match its header", fr.ID)
			}
			if delivered && int32(fr.ID-last) <= 0 && fr.Session == h.Session && a.stats.SessionChanges.Load() == 0 {
				t.Fatalf("frame %d delivered after frame %d", fr.ID, last)
			}
			last, delivered = fr.ID, true
		}
	})
}
