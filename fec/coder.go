package fec

import (
	"errors"
	"fmt"

	"github.com/klauspost/reedsolomon"
)

// Errors returned by Coder.
var (
	// ErrTooFewShards reports a block that lost more shards than it has
	// parity: it cannot be reconstructed.
	ErrTooFewShards = errors.New("fec: too few shards to reconstruct")
	// ErrShardSize reports shards of unequal or zero length, or a missing
	// data shard without room for its reconstruction.
	ErrShardSize = errors.New("fec: shard sizes differ")
	// ErrShardCount reports a block with no data shards or more than
	// MaxShards shards.
	ErrShardCount = errors.New("fec: bad number of shards")
)

// Coder encodes and reconstructs blocks of any geometry with at most
// MaxShards shards. The zero value is not usable; call NewCoder.
//
// A Coder is not safe for concurrent use: it owns scratch space. Give each
// goroutine its own (it is about 200 KB). After NewCoder it allocates nothing.
type Coder struct {
	// mulAdd[c] computes out ^= c*in over GF(2^8) with the library's SIMD
	// kernels: a 1+1 encoder whose single parity coefficient is c.
	mulAdd [256]reedsolomon.Encoder
	// gfMul and gfInv are the field's tables, read off the library's own
	// kernels so the pure-Go matrix inversion works in the same field.
	gfMul [256][256]byte
	gfInv [256]byte
	// gfni: use the AVX-512 GFNI kernel; gfniMat[c] is the bit matrix that
	// multiplies by c.
	gfni    bool
	gfniMat [256]uint64
	// avx2: use the AVX2 kernel; nibbles[c] is c times every low nibble
	// and every high nibble.
	avx2    bool
	nibbles [256][32]byte
	tables  [MaxShards][32]byte
	tables4 [4 * MaxShards][32]byte // avx2Dot4's: four per input (avx2Dot2's: two)

	out  [1][]byte // the one-element parity slice EncodeIdx wants
	coef [MaxShards]byte
	mats [MaxShards]uint64
	ins  [MaxShards][]byte

	// reconstruction scratch, sized for the largest block
	missing [MaxShards]int                 // indices of lost data shards
	rows    [MaxShards]int                 // parity rows used in their place
	mat     [MaxShards][2 * MaxShards]byte // Gauss-Jordan working matrix
}

// NewCoder builds a Coder. It allocates about 255 tiny encoders and the
// field tables once.
func NewCoder() (*Coder, error) {
	c := &Coder{}
	var ramp [256]byte
	for i := range ramp {
		ramp[i] = byte(i)
	}
	for v := 1; v < 256; v++ {
		enc, err := reedsolomon.New(1, 1, reedsolomon.WithCustomMatrix([][]byte{{byte(v)}}))
		if err != nil {
			return nil, fmt.Errorf("fec: building the GF(2^8) kernel for %d: %w", v, err)
		}
		c.mulAdd[v] = enc
		c.out[0] = c.gfMul[v][:]
		if err := enc.EncodeIdx(ramp[:], 0, c.out[:]); err != nil {
			return nil, fmt.Errorf("fec: reading the GF(2^8) table for %d: %w", v, err)
		}
	}
	for a := 1; a < 256; a++ {
		for b := 1; b < 256; b++ {
			if c.gfMul[a][b] == 1 {
				c.gfInv[a] = byte(b)
				break
			}
		}
		if c.gfInv[a] == 0 {
			return nil, fmt.Errorf("fec: %d has no inverse in the library's field", a)
		}
	}
	c.out[0] = nil
	for v := range 256 {
		c.gfniMat[v] = affineMatrix(&c.gfMul[v])
	}
	c.gfni = hasGFNI()
	for v := range 256 {
		for x := range 16 {
			c.nibbles[v][x] = c.gfMul[v][x]
			c.nibbles[v][16+x] = c.gfMul[v][x<<4]
		}
	}
	c.avx2 = hasAVX2()
	return c, nil
}

// affineMatrix returns the GF2P8AFFINEQB operand that multiplies a byte by
// the constant whose multiplication table is mul: byte 7-i of the result is
// row i, whose bit j says whether bit i of mul[1<<j] is set.
func affineMatrix(mul *[256]byte) uint64 {
	var m uint64
	for i := range 8 {
		var row uint64
		for j := range 8 {
			row |= uint64(mul[1<<j]>>i&1) << j
		}
		m |= row << (8 * (7 - i))
	}
	return m
}

// dot computes out = (acc ? out : 0) + sum of coef[i]*ins[i] over
// GF(2^8), with the coefficients in c.coef[:len(ins)]. Every input has at
// least len(out) bytes; len(ins) >= 1.
func (c *Coder) dot(out []byte, ins [][]byte, acc bool) {
	if c.gfni {
		for i := range ins {
			c.mats[i] = c.gfniMat[c.coef[i]]
		}
		gfniDot(&c.mats[0], &ins[0], len(ins), &out[0], len(out), acc)
		return
	}
	if c.avx2 && len(out) >= 32 {
		for i := range ins {
			c.tables[i] = c.nibbles[c.coef[i]]
		}
		avx2Dot(&c.tables[0], &ins[0], len(ins), &out[0], len(out), acc)
		return
	}
	if !acc {
		clear(out)
	}
	for i, in := range ins {
		c.mulAddTo(c.coef[i], in[:len(out)], out)
	}
}

// Coefficient is the code's generator entry linking data shard i to parity
// shard p of a block: 1/(x_p + y_i) with x_p = 255-p and y_i = i.
func (c *Coder) Coefficient(p, i int) byte {
	return c.gfInv[byte(255-p)^byte(i)]
}

// mulAddTo computes out ^= v*in.
func (c *Coder) mulAddTo(v byte, in, out []byte) {
	if v == 0 {
		return
	}
	c.out[0] = out
	// EncodeIdx only fails on mismatched lengths, which callers rule out.
	_ = c.mulAdd[v].EncodeIdx(in, 0, c.out[:])
	c.out[0] = nil
}

// Encode computes the parity shards of a block from its data shards. All
// shards must have the same nonzero length and len(data)+len(parity) must
// not exceed MaxShards. The parity shards are overwritten; data is only read.
func (c *Coder) Encode(data, parity [][]byte) error {
	if err := checkCounts(len(data), len(parity)); err != nil {
		return err
	}
	size := len(data[0])
	if size == 0 {
		return fmt.Errorf("%w: empty data shard", ErrShardSize)
	}
	for _, s := range data {
		if len(s) != size {
			return fmt.Errorf("%w: %d and %d bytes", ErrShardSize, len(s), size)
		}
	}
	for _, s := range parity {
		if len(s) != size {
			return fmt.Errorf("%w: parity %d bytes, data %d", ErrShardSize, len(s), size)
		}
	}
	p := 0
	if c.avx2 && !c.gfni && size >= 32 {
		for ; p+4 <= len(parity); p += 4 {
			c.dot4(parity[p:p+4], data, p)
		}
		if p+2 <= len(parity) {
			c.dot4(parity[p:p+2], data, p)
			p += 2
		}
	}
	for ; p < len(parity); p++ {
		for i := range data {
			c.coef[i] = c.Coefficient(p, i)
		}
		c.dot(parity[p], data, false)
	}
	return nil
}

// dot4 computes parity shards first to first+len(outs)-1 (four or two,
// at least 32 bytes) from data with the four- or two-output AVX2 kernel,
// which loads and splits each input once for all of them: the whole
// 32-byte columns, then the last len%32 bytes as the 32-byte window
// ending at the end, one output at a time (the window's overlap with the
// columns gets the same bytes again).
func (c *Coder) dot4(outs, data [][]byte, first int) {
	w := len(outs)
	for i := range data {
		for j := range w {
			c.tables4[w*i+j] = c.nibbles[c.Coefficient(first+j, i)]
		}
	}
	size := len(outs[0])
	body := size &^ 31
	if w == 4 {
		avx2Dot4(&c.tables4[0], &data[0], len(data), &outs[0][0], &outs[1][0], &outs[2][0], &outs[3][0], body)
	} else {
		avx2Dot2(&c.tables4[0], &data[0], len(data), &outs[0][0], &outs[1][0], body)
	}
	if body == size {
		return
	}
	win := c.ins[:len(data)]
	for i, d := range data {
		win[i] = d[size-32 : size]
	}
	for j, out := range outs {
		for i := range data {
			c.coef[i] = c.Coefficient(first+j, i)
		}
		c.dot(out[size-32:size], win, false)
	}
	clear(win)
}

// Reconstruct fills in the lost data shards of a block. A lost data shard is
// one of length 0; it must have capacity for size bytes, where size is the
// length of the present shards, and is resliced to it. A lost parity shard
// is one of length 0. Reconstruct returns how many data shards it rebuilt.
//
// Reconstruct overwrites the parity shards it uses (they end up holding
// intermediate sums): callers own them and must not rely on their contents
// afterwards. It returns ErrTooFewShards when more data shards are lost than
// parity shards are present, leaving the data shards untouched.
func (c *Coder) Reconstruct(data, parity [][]byte, size int) (int, error) {
	if err := checkCounts(len(data), len(parity)); err != nil {
		return 0, err
	}
	if size < 1 {
		return 0, fmt.Errorf("%w: shard size %d", ErrShardSize, size)
	}
	e := 0
	for i, s := range data {
		switch len(s) {
		case size:
		case 0:
			if cap(s) < size {
				return 0, fmt.Errorf("%w: lost data shard %d has room for %d bytes, need %d", ErrShardSize, i, cap(s), size)
			}
			c.missing[e] = i
			e++
		default:
			return 0, fmt.Errorf("%w: data shard %d has %d bytes, want %d", ErrShardSize, i, len(s), size)
		}
	}
	if e == 0 {
		return 0, nil
	}
	r := 0
	for p, s := range parity {
		if r == e {
			break
		}
		switch len(s) {
		case size:
			c.rows[r] = p
			r++
		case 0:
		default:
			return 0, fmt.Errorf("%w: parity shard %d has %d bytes, want %d", ErrShardSize, p, len(s), size)
		}
	}
	if r < e {
		return 0, fmt.Errorf("%w: %d data shards lost, %d parity shards present", ErrTooFewShards, e, r)
	}
	if err := c.invert(e); err != nil {
		return 0, err
	}

	// Syndromes, in place: parity[rows[t]] minus the present data shards'
	// contribution leaves the lost shards' contribution alone.
	present := c.ins[:0]
	for _, d := range data {
		if len(d) != 0 {
			present = append(present, d)
		}
	}
	if len(present) > 0 {
		for t := range e {
			p := c.rows[t]
			n := 0
			for i, d := range data {
				if len(d) != 0 {
					c.coef[n] = c.Coefficient(p, i)
					n++
				}
			}
			c.dot(parity[p], present, true)
		}
	}
	// Lost shard j is row j of inverse(A) times the syndromes.
	syn := c.ins[:0]
	for t := range e {
		syn = append(syn, parity[c.rows[t]])
	}
	for j := range e {
		out := data[c.missing[j]][:size]
		copy(c.coef[:e], c.mat[j][e:2*e])
		c.dot(out, syn, false)
		data[c.missing[j]] = out
	}
	clear(c.ins[:])
	return e, nil
}

// invert puts the inverse of A into mat[0:e][e:2e], where A[t][j] is the
// coefficient linking lost data shard missing[j] to parity row rows[t].
// Gauss-Jordan elimination over GF(2^8); A is a square submatrix of a Cauchy
// matrix, so it is never singular, but the check stays for safety.
func (c *Coder) invert(e int) error {
	for t := 0; t < e; t++ {
		row := &c.mat[t]
		for j := 0; j < e; j++ {
			row[j] = c.Coefficient(c.rows[t], c.missing[j])
			row[e+j] = 0
		}
		row[e+t] = 1
	}
	for col := 0; col < e; col++ {
		piv := col
		for piv < e && c.mat[piv][col] == 0 {
			piv++
		}
		if piv == e {
			return errors.New("fec: singular decode matrix (a bug: Cauchy submatrices are invertible)")
		}
		if piv != col {
			c.mat[piv], c.mat[col] = c.mat[col], c.mat[piv]
		}
		pr := &c.mat[col]
		if v := pr[col]; v != 1 {
			mul := &c.gfMul[c.gfInv[v]]
			for j := 0; j < 2*e; j++ {
				pr[j] = mul[pr[j]]
			}
		}
		for r := 0; r < e; r++ {
			if r == col || c.mat[r][col] == 0 {
				continue
			}
			mul := &c.gfMul[c.mat[r][col]]
			row := &c.mat[r]
			for j := 0; j < 2*e; j++ {
				row[j] ^= mul[pr[j]]
			}
		}
	}
	// inverse(A) maps parity rows to data: out_j = sum_t inv[j][t] * syn_t.
	return nil
}

func checkCounts(k, m int) error {
	if k < 1 || m < 0 || k+m > MaxShards {
		return fmt.Errorf("%w: %d data and %d parity shards", ErrShardCount, k, m)
	}
	return nil
}
