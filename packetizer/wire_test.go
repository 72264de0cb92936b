package packetizer

import (
	"bytes"
	"encoding/hex"
	"errors"
	"math/rand/v2"
	"testing"
)

// goldenHeader is a data shard header with every field distinct, and its
// encoding: the layout drawn in the package comment, byte for byte.
var goldenHeader = Header{
	Kind: KindData, Session: 0x0102030405060708, Packet: 0x1112131415161718,
	Frame: 0xfffffffe, FrameLen: 2500, Captured: 0x2122232425262728, CRC: 0x31323334,
	Block: 1, Blocks: 2, Shard: 0, Data: 1, Parity: 1, ShardSize: 1250, SendDelay: 0x41424344,
}

const goldenHex = "5653" + "01" + "01" + // magic, version, kind
	"0102030405060708" + "1112131415161718" + // session, packet
	"fffffffe" + "000009c4" + // frame id, frame length 2500
	"2122232425262728" + "31323334" + // capture time, CRC
	"0001" + "0002" + "0000" + "0001" + "0001" + "04e2" + // block 1 of 2, shard 0, 1+1, 1250 bytes
	"41424344" // send delay

func TestHeaderGolden(t *testing.T) {
	prefix := []byte("prefix")
	got := goldenHeader.AppendTo(prefix)
	if !bytes.Equal(got[:len(prefix)], prefix) {
		t.Fatalf("AppendTo clobbered the prefix: %x", got)
	}
	if h := hex.EncodeToString(got[len(prefix):]); h != goldenHex {
		t.Fatalf("AppendTo =\n%s\nwant\n%s", h, goldenHex)
	}
	if n := len(got) - len(prefix); n != HeaderLen {
		t.Fatalf("encoded header is %d bytes, want HeaderLen %d", n, HeaderLen)
	}
	back, err := ParseHeader(got[len(prefix):])
	if err != nil {
		t.Fatalf("ParseHeader(golden): %v", err)
	}
	if back != goldenHeader {
		t.Fatalf("ParseHeader(AppendTo(h)) = %+v, want %+v", back, goldenHeader)
	}
	PutPacket(got[len(prefix):], 42)
	if back, _ := ParseHeader(got[len(prefix):]); back.Packet != 42 || PacketOf(got[len(prefix):]) != 42 {
		t.Fatalf("PutPacket: packet = %d, want 42", back.Packet)
	}
	sealed := goldenHeader
	sealed.Sealed = true
	enc := sealed.AppendTo(nil)
	if enc[3] != 0x81 {
		t.Fatalf("sealed data header kind byte = %#x, want 0x81", enc[3])
	}
	if back, err := ParseHeader(enc); err != nil || back != sealed {
		t.Fatalf("ParseHeader(sealed) = %+v, %v", back, err)
	}
}

func TestParseEveryPrefix(t *testing.T) {
	full := goldenHeader.AppendTo(nil)
	for n := range len(full) {
		if _, err := ParseHeader(full[:n]); !errors.Is(err, ErrShort) {
			t.Fatalf("ParseHeader(first %d bytes) error = %v, want ErrShort", n, err)
		}
	}
	ctrl := Header{Kind: KindHello, Session: 9, Packet: 1}
	if h, err := ParseHeader(ctrl.AppendTo(nil)); err != nil || h != ctrl {
		t.Fatalf("ParseHeader(hello) = %+v, %v", h, err)
	}
}

func TestParseRejects(t *testing.T) {
	mod := func(f func(h *Header)) []byte {
		h := goldenHeader
		f(&h)
		return h.AppendTo(nil)
	}
	raw := func(f func(b []byte)) []byte {
		b := goldenHeader.AppendTo(nil)
		f(b)
		return b
	}
	tests := []struct {
		name string
		in   []byte
		want error
	}{
		{"magic", raw(func(b []byte) { b[0] = 'X' }), ErrMagic},
		{"version", raw(func(b []byte) { b[2] = 2 }), ErrVersion},
		{"kind 0", mod(func(h *Header) { h.Kind = 0 }), ErrKind},
		{"kind past the last", mod(func(h *Header) { h.Kind = kindEnd }), ErrKind},
		{"key phase without sealing", raw(func(b []byte) { b[offKind] |= kindPhase }), ErrKind},
		{"kind 255", mod(func(h *Header) { h.Kind = 255 }), ErrKind},
		{"data kind on a parity index", mod(func(h *Header) { h.Shard = 1 }), ErrGeometry},
		{"parity kind on a data index", mod(func(h *Header) { h.Kind = KindParity }), ErrGeometry},
		{"shard beyond block", mod(func(h *Header) { h.Kind, h.Shard = KindParity, 2 }), ErrGeometry},
		{"block beyond count", mod(func(h *Header) { h.Block = 2 }), ErrGeometry},
		{"no blocks", mod(func(h *Header) { h.Block, h.Blocks = 0, 0 }), ErrGeometry},
		{"zero frame length", mod(func(h *Header) { h.FrameLen = 0 }), ErrGeometry},
		{"zero shard size", mod(func(h *Header) { h.ShardSize = 0 }), ErrGeometry},
		{"shard size no sender uses", mod(func(h *Header) { h.ShardSize = 1300 }), ErrGeometry},
		{"data count disagrees with layout", mod(func(h *Header) { h.Data = 2 }), ErrGeometry},
		{"too much parity", mod(func(h *Header) { h.Parity = 3 }), ErrGeometry},
		{"over 256 shards", mod(func(h *Header) { h.FrameLen, h.ShardSize, h.Blocks, h.Block, h.Data, h.Parity = 250, 1, 1, 0, 250, 7 }), ErrGeometry},
		{"huge frame of tiny shards", mod(func(h *Header) { h.FrameLen, h.ShardSize, h.Blocks, h.Block, h.Data = 1<<31, 1, 4096, 0, 65535 }), ErrGeometry},
		{"control with frame fields", mod(func(h *Header) { h.Kind = KindHello }), ErrGeometry},
		{"control with a CRC", (&Header{Kind: KindBye, CRC: 1}).AppendTo(nil), ErrGeometry},
	}
	for _, tt := range tests {
		if h, err := ParseHeader(tt.in); !errors.Is(err, tt.want) {
			t.Errorf("%s: ParseHeader = %+v, %v; want %v", tt.name, h, err, tt.want)
		}
	}
}

// TestParseGarbage feeds random bytes, random single-byte and bit flips of a
// valid header: never a panic, and every error is one of the named ones.
func TestParseGarbage(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	valid := goldenHeader.AppendTo(nil)
	for i := range 100000 {
		var b []byte
		switch i % 3 {
		case 0:
			b = make([]byte, rng.IntN(2*HeaderLen))
			for j := range b {
				b[j] = byte(rng.Uint32())
			}
		case 1:
			b = append([]byte(nil), valid...)
			b[rng.IntN(len(b))] ^= 1 << rng.IntN(8)
		case 2:
			b = append([]byte(nil), valid...)
			b[4+rng.IntN(len(b)-4)] = byte(rng.Uint32())
		}
		_, err := ParseHeader(b)
		if err == nil {
			continue
		}
		if _, ok := ReasonOf(err); !ok {
			t.Fatalf("ParseHeader(%x) = %v: not a named rejection", b, err)
		}
	}
}

func TestParseAllocs(t *testing.T) {
	valid := goldenHeader.AppendTo(nil)
	bad := append([]byte(nil), valid...)
	bad[45] = 9
	if n := testing.AllocsPerRun(100, func() {
		_, _ = ParseHeader(valid)
		_, _ = ParseHeader(bad)
		_ = goldenHeader.AppendTo(valid[:0])
	}); n != 0 {
		t.Fatalf("ParseHeader/AppendTo allocate %v times, want 0", n)
	}
}

func TestNames(t *testing.T) {
	for k := Kind(0); k < 9; k++ {
		if k.String() == "" {
			t.Errorf("Kind(%d).String() is empty", k)
		}
	}
	seen := map[string]bool{}
	for r := Reason(0); r < NumReasons; r++ {
		s := r.String()
		if seen[s] || s == "" {
			t.Errorf("Reason(%d).String() = %q: empty or repeated", r, s)
		}
		seen[s] = true
	}
}

func FuzzParseHeader(f *testing.F) {
	f.Add(goldenHeader.AppendTo(nil))
	f.Add((&Header{Kind: KindHello, Session: 1, Packet: 2}).AppendTo(nil))
	f.Add((&Header{Kind: KindParity, Frame: 7, FrameLen: 1, ShardSize: 1, Blocks: 1, Shard: 1, Data: 1, Parity: 1}).AppendTo(nil))
	f.Add([]byte("VS"))
	f.Fuzz(func(t *testing.T, b []byte) {
		h, err := ParseHeader(b)
		if err != nil {
			if _, ok := ReasonOf(err); !ok {
				t.Fatalf("unnamed error %v", err)
			}
			return
		}
		// A parsed header encodes back to the same bytes.
		if enc := h.AppendTo(nil); !bytes.Equal(enc, b[:HeaderLen]) {
			t.Fatalf("AppendTo(ParseHeader(b)) = %x, want %x", enc, b[:HeaderLen])
		}
		h2, err := ParseHeader(h.AppendTo(nil))
		if err != nil || h2 != h {
			t.Fatalf("re-parse = %+v, %v; want %+v", h2, err, h)
		}
	})
}
