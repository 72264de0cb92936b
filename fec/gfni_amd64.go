//go:build !purego

package fec

import "golang.org/x/sys/cpu"

// gfniDot computes out[0:n] = (acc ? out[0:n] : 0) ^ sum_i mats[i]*ins[i][0:n]
// with AVX-512 GFNI. nIn >= 1; every ins[i] has at least n bytes.
//
//go:noescape
func gfniDot(mats *uint64, ins *[]byte, nIn int, out *byte, n int, acc bool)

// hasGFNI reports whether gfniDot can run on this CPU.
func hasGFNI() bool {
	return cpu.X86.HasAVX512F && cpu.X86.HasAVX512BW && cpu.X86.HasAVX512GFNI && cpu.X86.HasBMI2
}
