//go:build !nogfni

package fec

// noGFNI turns the GFNI kernel off when built with -tags nogfni, to measure
// the AVX2 kernel on a CPU that has both.
const noGFNI = false
