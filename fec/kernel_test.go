package fec

import (
	"bytes"
	"math/rand/v2"
	"testing"
	"time"
)

// refDot is the scalar reference: out = (acc ? out : 0) + sum coef[i]*ins[i].
func refDot(c *Coder, out []byte, ins [][]byte, coef []byte, acc bool) {
	if !acc {
		clear(out)
	}
	for i, in := range ins {
		for j := range out {
			out[j] ^= c.gfMul[coef[i]][in[j]]
		}
	}
}

// TestDotKernels checks every kernel the CPU can run (GFNI, AVX2, and the
// portable one) against the scalar reference for every length up to 300,
// which covers the 128-byte, 64-byte, 32-byte and tail paths of the
// assembly.
func TestDotKernels(t *testing.T) {
	c := newTestCoder(t)
	rng := rand.New(rand.NewPCG(13, 14))
	type kernel struct {
		name       string
		gfni, avx2 bool
	}
	kernels := []kernel{{"portable", false, false}}
	if hasAVX2() {
		kernels = append(kernels, kernel{"avx2", false, true})
	} else {
		t.Log("no AVX2 on this CPU: the AVX2 kernel is not tested")
	}
	if hasGFNI() {
		kernels = append(kernels, kernel{"gfni", true, false})
	} else {
		t.Log("no AVX-512 GFNI on this CPU: the GFNI kernel is not tested")
	}
	for _, k := range kernels {
		c.gfni, c.avx2 = k.gfni, k.avx2
		for n := 1; n <= 300; n++ {
			for _, nIn := range []int{1, 2, 7} {
				ins := make([][]byte, nIn)
				for i := range ins {
					ins[i] = make([]byte, n+rng.IntN(3)) // inputs may be longer
					for j := range ins[i] {
						ins[i][j] = byte(rng.Uint32())
					}
					c.coef[i] = byte(rng.Uint32())
				}
				coef := append([]byte(nil), c.coef[:nIn]...)
				for _, acc := range []bool{false, true} {
					buf := make([]byte, n+2)
					for j := range buf {
						buf[j] = byte(rng.Uint32())
					}
					want := append([]byte(nil), buf...)
					refDot(c, want[:n], ins, coef, acc)
					copy(c.coef[:], coef)
					c.dot(buf[:n], ins, acc)
					if !bytes.Equal(buf, want) {
						t.Fatalf("%s kernel n=%d inputs=%d acc=%v: dot differs from the reference (or wrote past n)", k.name, n, nIn, acc)
					}
				}
			}
		}
	}
}

func TestAffineMatrix(t *testing.T) {
	c := newTestCoder(t)
	// Multiplying by 1 is the identity: row i selects bit i.
	if got := c.gfniMat[1]; got != 0x0102040810204080 {
		t.Errorf("matrix for 1 = %#x, want 0x0102040810204080", got)
	}
	if c.gfniMat[0] != 0 {
		t.Errorf("matrix for 0 = %#x, want 0", c.gfniMat[0])
	}
	// The field is the library's: 2*128 wraps through the polynomial 0x11d.
	if got := c.gfMul[2][128]; got != 0x1d {
		t.Errorf("2*128 = %#x, want 0x1d (polynomial 0x11d)", got)
	}
}

// TestPortableCoder runs the encode/reconstruct checks on the portable
// kernel too, so machines without GFNI are covered wherever tests run.
func TestPortableCoder(t *testing.T) {
	c := newTestCoder(t)
	c.gfni, c.avx2 = false, false
	rng := rand.New(rand.NewPCG(15, 16))
	data, parity := randomBlock(rng, 40, 10, 333)
	if err := c.Encode(data, parity); err != nil {
		t.Fatal(err)
	}
	g := newTestCoder(t)
	parity2 := make([][]byte, 10)
	for i := range parity2 {
		parity2[i] = make([]byte, 333)
	}
	if err := g.Encode(data, parity2); err != nil {
		t.Fatal(err)
	}
	for i := range parity {
		if !bytes.Equal(parity[i], parity2[i]) {
			t.Fatalf("portable and default kernels disagree on parity %d", i)
		}
	}
	lostData, lostParity := make([]bool, 40), make([]bool, 10)
	for _, i := range rng.Perm(50)[:10] {
		if i < 40 {
			lostData[i] = true
		} else {
			lostParity[i-40] = true
		}
	}
	d, p := lose(data, parity, lostData, lostParity)
	if _, err := c.Reconstruct(d, p, 333); err != nil {
		t.Fatal(err)
	}
	for i := range data {
		if !bytes.Equal(d[i], data[i]) {
			t.Fatalf("portable reconstruction: data shard %d wrong", i)
		}
	}
}

// TestDot4Kernel checks the four- and two-output AVX2 paths (dot4: whole
// columns by avx2Dot4 or avx2Dot2, the tail by the one-output kernel)
// against the scalar reference for every length from 32 to 300 (two
// outputs at odd lengths), several input counts and parity rows, and that
// it writes nothing past the end.
func TestDot4Kernel(t *testing.T) {
	if !hasAVX2() {
		t.Skip("no AVX2 on this CPU: the four-output kernel is not tested")
	}
	c := newTestCoder(t)
	c.gfni, c.avx2 = false, true
	rng := rand.New(rand.NewPCG(17, 18))
	for n := 32; n <= 300; n++ {
		for _, nIn := range []int{1, 3, 9} {
			first := rng.IntN(MaxShards - nIn - 4)
			ins := make([][]byte, nIn)
			for i := range ins {
				ins[i] = make([]byte, n)
				for j := range ins[i] {
					ins[i][j] = byte(rng.Uint32())
				}
			}
			w := 4
			if n%2 == 1 { // the two-output kernel on every other length
				w = 2
			}
			bufs := make([][]byte, w)
			outs := make([][]byte, w)
			for j := range outs {
				bufs[j] = make([]byte, n+2)
				for k := range bufs[j] {
					bufs[j][k] = byte(rng.Uint32())
				}
				outs[j] = bufs[j][:n]
			}
			wants := make([][]byte, w)
			for j := range wants {
				wants[j] = append([]byte(nil), bufs[j]...)
				coef := make([]byte, nIn)
				for i := range coef {
					coef[i] = c.Coefficient(first+j, i)
				}
				refDot(c, wants[j][:n], ins, coef, false)
			}
			c.dot4(outs, ins, first)
			for j := range outs {
				if !bytes.Equal(bufs[j], wants[j]) {
					t.Fatalf("n=%d inputs=%d output %d: differs from the reference (or wrote past n)", n, nIn, j)
				}
			}
		}
	}
}

// BenchmarkTwoOutputs times the two parity shards a block has beyond a
// multiple of four (a 100 KB frame: 88 data shards of 1144 bytes, 22
// parity), by the two-output kernel and by two passes of the one-output
// kernel, alternating in every iteration so that the machine's load falls
// on both:
//
//	go test ./fec -run '^$' -bench TwoOutputs -benchtime 20000x
func BenchmarkTwoOutputs(b *testing.B) {
	if !hasAVX2() {
		b.Skip("no AVX2")
	}
	c := newTestCoder(b)
	c.gfni = false
	rng := rand.New(rand.NewPCG(1, 2))
	data := make([][]byte, 88)
	for i := range data {
		data[i] = make([]byte, 1144)
		for j := range data[i] {
			data[i][j] = byte(rng.Uint32())
		}
	}
	outs := [][]byte{make([]byte, 1144), make([]byte, 1144)}
	var two, one time.Duration
	for b.Loop() {
		t0 := time.Now()
		c.dot4(outs, data, 20)
		t1 := time.Now()
		for j, out := range outs {
			for i := range data {
				c.coef[i] = c.Coefficient(20+j, i)
			}
			c.dot(out, data, false)
		}
		two, one = two+t1.Sub(t0), one+time.Since(t1)
	}
	b.ReportMetric(float64(two.Nanoseconds())/float64(b.N), "two-output-ns")
	b.ReportMetric(float64(one.Nanoseconds())/float64(b.N), "one-output-x2-ns")
	b.ReportMetric(float64(one)/float64(two), "ratio")
}
