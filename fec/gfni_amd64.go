//go:build !purego

package fec

import "golang.org/x/sys/cpu"

// gfniDot computes out[0:n] = (acc ? out[0:n] : 0) ^ sum_i mats[i]*ins[i][0:n]
// with AVX-512 GFNI. nIn >= 1; every ins[i] has at least n bytes.
//
//go:noescape
func gfniDot(mats *uint64, ins *[]byte, nIn int, out *byte, n int, acc bool)

// avx2Dot computes the same with AVX2 and the split-nibble method: tables
// holds 32 bytes per input (its coefficient times each low and each high
// nibble). n >= 32.
//
//go:noescape
func avx2Dot(tables *[32]byte, ins *[]byte, nIn int, out *byte, n int, acc bool)

// avx2Dot4 computes four dot products of the same inputs at once (see
// avx2x4_amd64.s): tables holds 4 x 32 bytes per input. n is a multiple of
// 32.
//
//go:noescape
func avx2Dot4(tables *[32]byte, ins *[]byte, nIn int, out0, out1, out2, out3 *byte, n int)

// avx2Dot2 is avx2Dot4 for two outputs: tables holds 2 x 32 bytes per
// input.
//
//go:noescape
func avx2Dot2(tables *[32]byte, ins *[]byte, nIn int, out0, out1 *byte, n int)

// hasAVX2 reports whether avx2Dot can run on this CPU.
func hasAVX2() bool { return cpu.X86.HasAVX2 }

// hasGFNI reports whether gfniDot can run on this CPU.
func hasGFNI() bool {
	return !noGFNI && cpu.X86.HasAVX512F && cpu.X86.HasAVX512BW && cpu.X86.HasAVX512GFNI && cpu.X86.HasBMI2
}
