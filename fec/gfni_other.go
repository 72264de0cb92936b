//go:build !amd64 || purego

package fec

func gfniDot(mats *uint64, ins *[]byte, nIn int, out *byte, n int, acc bool) {
	panic("fec: gfniDot without GFNI support")
}

func hasGFNI() bool { return false }

func avx2Dot(tables *[32]byte, ins *[]byte, nIn int, out *byte, n int, acc bool) {
	panic("fec: avx2Dot without AVX2 support")
}

func hasAVX2() bool { return false }
