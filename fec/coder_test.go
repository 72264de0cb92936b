package fec

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"testing"

	"github.com/klauspost/reedsolomon"
)

func newTestCoder(t testing.TB) *Coder {
	t.Helper()
	c, err := NewCoder()
	if err != nil {
		t.Fatalf("NewCoder: %v", err)
	}
	return c
}

// randomBlock returns k data shards of random bytes and m zeroed parity shards.
func randomBlock(rng *rand.Rand, k, m, size int) (data, parity [][]byte) {
	data = make([][]byte, k)
	for i := range data {
		data[i] = make([]byte, size)
		for j := range data[i] {
			data[i][j] = byte(rng.Uint32())
		}
	}
	parity = make([][]byte, m)
	for i := range parity {
		parity[i] = make([]byte, size)
	}
	return data, parity
}

// TestEncodeMatchesLibrary checks our parity against klauspost/reedsolomon's
// own encoder given the same generator rows: the code really is the
// library's Reed-Solomon arithmetic, and Coefficient is what Encode uses.
func TestEncodeMatchesLibrary(t *testing.T) {
	c := newTestCoder(t)
	rng := rand.New(rand.NewPCG(1, 2))
	for _, g := range []struct{ k, m, size int }{
		{1, 1, 1}, {1, 2, 7}, {2, 1, 64}, {5, 3, 100}, {10, 10, 1148}, {87, 22, 1148}, {204, 51, 300}, {85, 170, 65}, {255, 1, 33},
	} {
		data, parity := randomBlock(rng, g.k, g.m, g.size)
		if err := c.Encode(data, parity); err != nil {
			t.Fatalf("Encode(%d+%d): %v", g.k, g.m, err)
		}
		rows := make([][]byte, g.m)
		for p := range rows {
			rows[p] = make([]byte, g.k)
			for i := range rows[p] {
				rows[p][i] = c.Coefficient(p, i)
			}
		}
		lib, err := reedsolomon.New(g.k, g.m, reedsolomon.WithCustomMatrix(rows))
		if err != nil {
			t.Fatalf("reedsolomon.New(%d, %d): %v", g.k, g.m, err)
		}
		shards := append(append([][]byte{}, data...), make([][]byte, g.m)...)
		for p := range g.m {
			shards[g.k+p] = make([]byte, g.size)
		}
		if err := lib.Encode(shards); err != nil {
			t.Fatalf("library Encode: %v", err)
		}
		for p := range g.m {
			if !bytes.Equal(parity[p], shards[g.k+p]) {
				t.Fatalf("%d+%d: parity %d differs from the library's", g.k, g.m, p)
			}
		}
	}
}

// lose returns a copy of the block with the shards in lost emptied (data
// shards keep their capacity for reconstruction) and fresh parity copies.
func lose(data, parity [][]byte, lostData, lostParity []bool) (d, p [][]byte) {
	d = make([][]byte, len(data))
	for i := range data {
		d[i] = append(make([]byte, 0, len(data[i])), data[i]...)
		if lostData[i] {
			for j := range d[i] {
				d[i][j] = 0xAA // garbage that must be overwritten
			}
			d[i] = d[i][:0]
		}
	}
	p = make([][]byte, len(parity))
	for i := range parity {
		if !lostParity[i] {
			p[i] = append([]byte(nil), parity[i]...)
		}
	}
	return d, p
}

// TestReconstructExhaustive tries every loss pattern of small blocks: a block
// is recovered exactly when it lost at most m shards, and then to the very
// bytes that were sent; otherwise the data shards are left as they were.
func TestReconstructExhaustive(t *testing.T) {
	c := newTestCoder(t)
	rng := rand.New(rand.NewPCG(3, 4))
	for _, g := range []struct{ k, m int }{{1, 1}, {1, 2}, {2, 1}, {2, 2}, {3, 2}, {4, 4}, {5, 3}, {6, 2}, {7, 5}, {9, 3}} {
		data, parity := randomBlock(rng, g.k, g.m, 37)
		if err := c.Encode(data, parity); err != nil {
			t.Fatal(err)
		}
		n := g.k + g.m
		for mask := 0; mask < 1<<n; mask++ {
			lostData, lostParity := make([]bool, g.k), make([]bool, g.m)
			lost, lostD := 0, 0
			for i := range n {
				if mask&(1<<i) == 0 {
					continue
				}
				lost++
				if i < g.k {
					lostData[i] = true
					lostD++
				} else {
					lostParity[i-g.k] = true
				}
			}
			d, p := lose(data, parity, lostData, lostParity)
			got, err := c.Reconstruct(d, p, 37)
			if lost > g.m {
				if !errors.Is(err, ErrTooFewShards) {
					t.Fatalf("%d+%d lost mask %b: err = %v, want ErrTooFewShards", g.k, g.m, mask, err)
				}
				continue
			}
			if err != nil {
				t.Fatalf("%d+%d lost mask %b: %v", g.k, g.m, mask, err)
			}
			if got != lostD {
				t.Fatalf("%d+%d lost mask %b: rebuilt %d shards, want %d", g.k, g.m, mask, got, lostD)
			}
			for i := range data {
				if !bytes.Equal(d[i], data[i]) {
					t.Fatalf("%d+%d lost mask %b: data shard %d wrong after reconstruction", g.k, g.m, mask, i)
				}
			}
		}
	}
}

// TestReconstructRandom covers large blocks with seeded random loss patterns
// right at and just beyond the parity count.
func TestReconstructRandom(t *testing.T) {
	c := newTestCoder(t)
	rng := rand.New(rand.NewPCG(5, 6))
	for _, g := range []struct{ k, m int }{{87, 22}, {204, 51}, {85, 170}, {128, 128}, {255, 1}, {30, 8}} {
		data, parity := randomBlock(rng, g.k, g.m, 64)
		if err := c.Encode(data, parity); err != nil {
			t.Fatal(err)
		}
		for trial := range 40 {
			lostCount := max(0, g.m-trial%3) + boolInt(trial%7 == 0) // mostly <= m, some m+1
			lostData, lostParity := make([]bool, g.k), make([]bool, g.m)
			for _, i := range rng.Perm(g.k + g.m)[:min(lostCount, g.k+g.m)] {
				if i < g.k {
					lostData[i] = true
				} else {
					lostParity[i-g.k] = true
				}
			}
			d, p := lose(data, parity, lostData, lostParity)
			_, err := c.Reconstruct(d, p, 64)
			if lostCount > g.m {
				if !errors.Is(err, ErrTooFewShards) {
					t.Fatalf("%d+%d lost %d: err = %v, want ErrTooFewShards", g.k, g.m, lostCount, err)
				}
				continue
			}
			if err != nil {
				t.Fatalf("%d+%d lost %d: %v", g.k, g.m, lostCount, err)
			}
			for i := range data {
				if !bytes.Equal(d[i], data[i]) {
					t.Fatalf("%d+%d lost %d: data shard %d wrong", g.k, g.m, lostCount, i)
				}
			}
		}
	}
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func TestReconstructErrors(t *testing.T) {
	c := newTestCoder(t)
	ok := func() ([][]byte, [][]byte) {
		return [][]byte{make([]byte, 4), make([]byte, 4)}, [][]byte{make([]byte, 4)}
	}
	tests := []struct {
		name string
		mut  func(d, p [][]byte) ([][]byte, [][]byte, int)
		want error
	}{
		{"no data", func(d, p [][]byte) ([][]byte, [][]byte, int) { return nil, p, 4 }, ErrShardCount},
		{"too many", func(d, p [][]byte) ([][]byte, [][]byte, int) { return make([][]byte, 200), make([][]byte, 57), 4 }, ErrShardCount},
		{"short data", func(d, p [][]byte) ([][]byte, [][]byte, int) { d[0] = d[0][:3]; return d, p, 4 }, ErrShardSize},
		{"short parity", func(d, p [][]byte) ([][]byte, [][]byte, int) { d[0] = d[0][:0]; p[0] = p[0][:2]; return d, p, 4 }, ErrShardSize},
		{"no room", func(d, p [][]byte) ([][]byte, [][]byte, int) { d[0] = nil; return d, p, 4 }, ErrShardSize},
		{"zero size", func(d, p [][]byte) ([][]byte, [][]byte, int) { return d, p, 0 }, ErrShardSize},
		{"too few", func(d, p [][]byte) ([][]byte, [][]byte, int) { d[0], d[1] = d[0][:0], d[1][:0]; return d, p, 4 }, ErrTooFewShards},
	}
	for _, tt := range tests {
		d, p, size := tt.mut(ok())
		if _, err := c.Reconstruct(d, p, size); !errors.Is(err, tt.want) {
			t.Errorf("%s: Reconstruct error = %v, want %v", tt.name, err, tt.want)
		}
	}
	d, p := ok()
	if err := c.Encode(d, append(p, make([]byte, 3))); !errors.Is(err, ErrShardSize) {
		t.Errorf("Encode with a short parity shard: error = %v, want ErrShardSize", err)
	}
}

func TestCoderAllocs(t *testing.T) {
	c := newTestCoder(t)
	rng := rand.New(rand.NewPCG(7, 8))
	data, parity := randomBlock(rng, 87, 22, 1148)
	if a := testing.AllocsPerRun(20, func() {
		if err := c.Encode(data, parity); err != nil {
			t.Fatal(err)
		}
	}); a != 0 {
		t.Errorf("Encode allocates %v times per block, want 0", a)
	}
	work := make([][]byte, 87)
	pw := make([][]byte, 22)
	if a := testing.AllocsPerRun(20, func() {
		copy(work, data)
		for p := range pw {
			pw[p] = parity[p] // overwritten: fine, contents are not checked here
		}
		for _, i := range []int{3, 40, 41, 86} {
			work[i] = work[i][:0]
		}
		if _, err := c.Reconstruct(work, pw, 1148); err != nil {
			t.Fatal(err)
		}
	}); a != 0 {
		t.Errorf("Reconstruct allocates %v times per block, want 0", a)
	}
}
