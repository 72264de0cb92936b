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

func avx2Dot4(tables *[32]byte, ins *[]byte, nIn int, out0, out1, out2, out3 *byte, n int) {
	panic("fec: avx2Dot4 without AVX2 support")
}

func avx2Dot2(tables *[32]byte, ins *[]byte, nIn int, out0, out1 *byte, n int) {
	panic("fec: avx2Dot2 without AVX2 support")
}
