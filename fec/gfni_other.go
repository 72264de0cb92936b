//go:build !amd64 || purego

package fec

func gfniDot(mats *uint64, ins *[]byte, nIn int, out *byte, n int, acc bool) {
	panic("fec: gfniDot without GFNI support")
}

func hasGFNI() bool { return false }
