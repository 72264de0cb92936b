//go:build !purego

#include "textflag.h"

// STEP adds input *SI's 32 bytes at offset AX, times the coefficient whose
// nibble tables R12 points to, into Y0, and moves SI and R12 to the next
// input; BX counts the inputs down.
#define STEP \
	MOVQ           (SI), R13 \
	VMOVDQU        (R13)(AX*1), Y1 \
	VPSRLQ         $4, Y1, Y2 \
	VPAND          Y15, Y1, Y1 \
	VPAND          Y15, Y2, Y2 \
	VBROADCASTI128 (R12), Y3 \
	VBROADCASTI128 16(R12), Y4 \
	VPSHUFB        Y1, Y3, Y3 \
	VPSHUFB        Y2, Y4, Y4 \
	VPXOR          Y3, Y0, Y0 \
	VPXOR          Y4, Y0, Y0 \
	ADDQ           $24, SI \
	ADDQ           $32, R12 \
	DECQ           BX


// func avx2Dot(tables *[32]byte, ins *[]byte, nIn int, out *byte, n int, acc bool)
//
// out[0:n] = (acc ? out[0:n] : 0) ^ sum over i < nIn of c_i * ins[i][0:n] in
// GF(2^8), where tables[i] holds c_i times every low nibble (bytes 0-15)
// and every high nibble (bytes 16-31), for the split-nibble PSHUFB method.
// Needs AVX2 and n >= 32. The last n%32 bytes are done first, as the 32-byte
// window ending at n blended into out with a mask, so the main loop never
// touches them. Registers: R8 tables, R9 ins headers, R10 nIn, DI out,
// CX n, R11 acc, AX offset, Y15 the 0x0f mask.
TEXT ·avx2Dot(SB), NOSPLIT, $0-41
	MOVQ    tables+0(FP), R8
	MOVQ    ins+8(FP), R9
	MOVQ    nIn+16(FP), R10
	MOVQ    out+24(FP), DI
	MOVQ    n+32(FP), CX
	MOVBQZX acc+40(FP), R11
	MOVQ    $0x0f, DX
	MOVQ    DX, X15
	VPBROADCASTB X15, Y15

	// Tail: the window [n-32, n); only its last n%32 bytes are ours.
	MOVQ CX, DX
	ANDQ $31, DX
	JZ   body
	MOVQ CX, AX
	SUBQ $32, AX
	VMOVDQU (DI)(AX*1), Y5          // out as it is
	VPXOR   Y0, Y0, Y0
	TESTQ   R11, R11
	JZ      tailsum
	VMOVDQA Y5, Y0

tailsum:
	MOVQ R9, SI
	MOVQ R8, R12
	MOVQ R10, BX

tailnext:
	STEP
	JNZ            tailnext

	// Blend: bytes before the last DX keep out's value.
	LEAQ        ·tailMask(SB), R13
	VMOVDQU     (R13)(DX*1), Y6
	VPBLENDVB   Y6, Y0, Y5, Y0
	VMOVDQU     Y0, (DI)(AX*1)
	SUBQ        DX, CX              // the body covers [0, n - n%32)

body:
	XORQ AX, AX

loop32:
	CMPQ AX, CX
	JAE  done
	VPXOR Y0, Y0, Y0
	TESTQ R11, R11
	JZ    sum32
	VMOVDQU (DI)(AX*1), Y0

sum32:
	MOVQ R9, SI
	MOVQ R8, R12
	MOVQ R10, BX

next32:
	STEP
	JNZ            next32
	VMOVDQU Y0, (DI)(AX*1)
	ADDQ    $32, AX
	JMP     loop32

done:
	VZEROUPPER
	RET

// tailMask: 32 zero bytes then 32 bytes of 0xff; the 32 bytes starting at
// k select the last k bytes of a window.
DATA ·tailMask+0(SB)/8, $0
DATA ·tailMask+8(SB)/8, $0
DATA ·tailMask+16(SB)/8, $0
DATA ·tailMask+24(SB)/8, $0
DATA ·tailMask+32(SB)/8, $-1
DATA ·tailMask+40(SB)/8, $-1
DATA ·tailMask+48(SB)/8, $-1
DATA ·tailMask+56(SB)/8, $-1
GLOBL ·tailMask(SB), RODATA|NOPTR, $64
