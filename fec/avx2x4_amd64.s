//go:build !purego

#include "textflag.h"

// MULADD adds the product of the split input nibbles (Y1 low, Y2 high) and
// the coefficient whose nibble tables are at off(R12) into ACC.
#define MULADD(off, ACC) \
	VBROADCASTI128 off(R12), Y3 \
	VBROADCASTI128 off+16(R12), Y4 \
	VPSHUFB        Y1, Y3, Y3 \
	VPSHUFB        Y2, Y4, Y4 \
	VPXOR          Y3, ACC, ACC \
	VPXOR          Y4, ACC, ACC

// MASK sets Y15 to the 0x0f mask and AX, the column offset, to 0.
#define MASK \
	MOVQ         $0x0f, BX \
	MOVQ         BX, X15 \
	VPBROADCASTB X15, Y15 \
	XORQ         AX, AX

// SPLIT loads the 32 bytes at offset AX of the input whose slice header
// is at (SI) and splits them into low (Y1) and high (Y2) nibbles.
#define SPLIT \
	MOVQ    (SI), R13 \
	VMOVDQU (R13)(AX*1), Y1 \
	VPSRLQ  $4, Y1, Y2 \
	VPAND   Y15, Y1, Y1 \
	VPAND   Y15, Y2, Y2

// MULADD2 is MULADD for two columns at once: the nibbles of the second in
// Y12 (low) and Y13 (high), its sum in ACC1; the tables are loaded once
// for both.
#define MULADD2(off, ACC0, ACC1) \
	VBROADCASTI128 off(R12), Y3 \
	VBROADCASTI128 off+16(R12), Y4 \
	VPSHUFB        Y1, Y3, Y14 \
	VPXOR          Y14, ACC0, ACC0 \
	VPSHUFB        Y2, Y4, Y14 \
	VPXOR          Y14, ACC0, ACC0 \
	VPSHUFB        Y12, Y3, Y14 \
	VPXOR          Y14, ACC1, ACC1 \
	VPSHUFB        Y13, Y4, Y14 \
	VPXOR          Y14, ACC1, ACC1

// func avx2Dot4(tables *[32]byte, ins *[]byte, nIn int, out0, out1, out2, out3 *byte, n int)
//
// outJ[0:n] = sum over i < nIn of c_iJ * ins[i][0:n] in GF(2^8) for the four
// outputs J at once, so that each input is loaded and split into nibbles
// once for four products. tables holds, for input i, 4 x 32 bytes: the
// nibble tables of c_i0, c_i1, c_i2, c_i3 (see avx2Dot). Needs AVX2; n must
// be a multiple of 32 (the caller does the tail). Registers: R8 tables, R9
// ins headers, R10 nIn, DI R14 DX R11 the outputs, CX n, AX offset, Y15 the
// 0x0f mask, Y0 Y5 Y6 Y7 the sums.
TEXT ·avx2Dot4(SB), NOSPLIT, $0-64
	MOVQ  tables+0(FP), R8
	MOVQ  ins+8(FP), R9
	MOVQ  nIn+16(FP), R10
	MOVQ  out0+24(FP), DI
	MOVQ  out1+32(FP), R14
	MOVQ  out2+40(FP), DX
	MOVQ  out3+48(FP), R11
	MOVQ  n+56(FP), CX
	MASK

	// Two columns (a 64-byte line of every input) at a time while two
	// remain: each input's pointer and each table are loaded once for
	// both. Y8-Y11 are the second column's sums.
pairs:
	LEAQ  64(AX), R13
	CMPQ  R13, CX
	JA    loop
	VPXOR Y0, Y0, Y0
	VPXOR Y5, Y5, Y5
	VPXOR Y6, Y6, Y6
	VPXOR Y7, Y7, Y7
	VPXOR Y8, Y8, Y8
	VPXOR Y9, Y9, Y9
	VPXOR Y10, Y10, Y10
	VPXOR Y11, Y11, Y11
	MOVQ  R9, SI
	MOVQ  R8, R12
	MOVQ  R10, BX

nextpair:
	MOVQ    (SI), R13
	VMOVDQU (R13)(AX*1), Y1
	VMOVDQU 32(R13)(AX*1), Y12
	VPSRLQ  $4, Y1, Y2
	VPSRLQ  $4, Y12, Y13
	VPAND   Y15, Y1, Y1
	VPAND   Y15, Y2, Y2
	VPAND   Y15, Y12, Y12
	VPAND   Y15, Y13, Y13
	MULADD2(0, Y0, Y8)
	MULADD2(32, Y5, Y9)
	MULADD2(64, Y6, Y10)
	MULADD2(96, Y7, Y11)
	ADDQ    $24, SI
	ADDQ    $128, R12
	DECQ    BX
	JNZ     nextpair

	VMOVDQU Y0, (DI)(AX*1)
	VMOVDQU Y5, (R14)(AX*1)
	VMOVDQU Y6, (DX)(AX*1)
	VMOVDQU Y7, (R11)(AX*1)
	VMOVDQU Y8, 32(DI)(AX*1)
	VMOVDQU Y9, 32(R14)(AX*1)
	VMOVDQU Y10, 32(DX)(AX*1)
	VMOVDQU Y11, 32(R11)(AX*1)
	ADDQ    $64, AX
	JMP     pairs

	// The last column, if the length is an odd number of columns.
loop:
	CMPQ  AX, CX
	JAE   done
	VPXOR Y0, Y0, Y0
	VPXOR Y5, Y5, Y5
	VPXOR Y6, Y6, Y6
	VPXOR Y7, Y7, Y7
	MOVQ  R9, SI
	MOVQ  R8, R12
	MOVQ  R10, BX

next:
	SPLIT
	MULADD(0, Y0)
	MULADD(32, Y5)
	MULADD(64, Y6)
	MULADD(96, Y7)
	ADDQ    $24, SI
	ADDQ    $128, R12
	DECQ    BX
	JNZ     next

	VMOVDQU Y0, (DI)(AX*1)
	VMOVDQU Y5, (R14)(AX*1)
	VMOVDQU Y6, (DX)(AX*1)
	VMOVDQU Y7, (R11)(AX*1)
	ADDQ    $32, AX
	JMP     loop

done:
	VZEROUPPER
	RET

// func avx2Dot2(tables *[32]byte, ins *[]byte, nIn int, out0, out1 *byte, n int)
//
// avx2Dot4 for two outputs: tables holds, for input i, 2 x 32 bytes. For
// the parity shards a block has beyond a multiple of four, where two
// passes of the one-output kernel would load and split every input twice.
// Registers as in avx2Dot4; Y0 Y5 the sums.
TEXT ·avx2Dot2(SB), NOSPLIT, $0-48
	MOVQ  tables+0(FP), R8
	MOVQ  ins+8(FP), R9
	MOVQ  nIn+16(FP), R10
	MOVQ  out0+24(FP), DI
	MOVQ  out1+32(FP), R14
	MOVQ  n+40(FP), CX
	MASK

loop2:
	CMPQ  AX, CX
	JAE   done2
	VPXOR Y0, Y0, Y0
	VPXOR Y5, Y5, Y5
	MOVQ  R9, SI
	MOVQ  R8, R12
	MOVQ  R10, BX

next2:
	SPLIT
	MULADD(0, Y0)
	MULADD(32, Y5)
	ADDQ    $24, SI
	ADDQ    $64, R12
	DECQ    BX
	JNZ     next2

	VMOVDQU Y0, (DI)(AX*1)
	VMOVDQU Y5, (R14)(AX*1)
	ADDQ    $32, AX
	JMP     loop2

done2:
	VZEROUPPER
	RET
