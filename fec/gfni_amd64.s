//go:build !purego

#include "textflag.h"

// func gfniDot(mats *uint64, ins *[]byte, nIn int, out *byte, n int, acc bool)
//
// out[0:n] = (acc ? out[0:n] : 0) ^ sum over i < nIn of mats[i] applied to
// ins[i][0:n], where mats[i] is the GF2P8AFFINEQB bit matrix of a
// multiplication in GF(2^8). Needs AVX512F, AVX512BW, GFNI and BMI2.
// Registers: R8 mats, R9 ins headers, R10 nIn, DI out, CX n, R11 acc,
// AX offset into the shards.
TEXT ·gfniDot(SB), NOSPLIT, $0-41
	MOVQ    mats+0(FP), R8
	MOVQ    ins+8(FP), R9
	MOVQ    nIn+16(FP), R10
	MOVQ    out+24(FP), DI
	MOVQ    n+32(FP), CX
	MOVBQZX acc+40(FP), R11
	XORQ    AX, AX

loop128:
	MOVQ CX, DX
	SUBQ AX, DX
	CMPQ DX, $128
	JL   one64
	TESTQ R11, R11
	JZ    zero128
	VMOVDQU64 (DI)(AX*1), Z0
	VMOVDQU64 64(DI)(AX*1), Z1
	JMP       in128

zero128:
	VPXORQ Z0, Z0, Z0
	VPXORQ Z1, Z1, Z1

in128:
	MOVQ R9, SI
	MOVQ R8, R12
	MOVQ R10, BX

next128:
	MOVQ                (SI), R13
	VPBROADCASTQ        (R12), Z4
	VMOVDQU64           (R13)(AX*1), Z2
	VMOVDQU64           64(R13)(AX*1), Z3
	VGF2P8AFFINEQB      $0x00, Z4, Z2, Z2
	VGF2P8AFFINEQB      $0x00, Z4, Z3, Z3
	VPXORQ              Z2, Z0, Z0
	VPXORQ              Z3, Z1, Z1
	ADDQ                $24, SI
	ADDQ                $8, R12
	DECQ                BX
	JNZ                 next128
	VMOVDQU64 Z0, (DI)(AX*1)
	VMOVDQU64 Z1, 64(DI)(AX*1)
	ADDQ      $128, AX
	JMP       loop128

one64:
	CMPQ DX, $64
	JL   tail
	TESTQ R11, R11
	JZ    zero64
	VMOVDQU64 (DI)(AX*1), Z0
	JMP       in64

zero64:
	VPXORQ Z0, Z0, Z0

in64:
	MOVQ R9, SI
	MOVQ R8, R12
	MOVQ R10, BX

next64:
	MOVQ           (SI), R13
	VPBROADCASTQ   (R12), Z4
	VMOVDQU64      (R13)(AX*1), Z2
	VGF2P8AFFINEQB $0x00, Z4, Z2, Z2
	VPXORQ         Z2, Z0, Z0
	ADDQ           $24, SI
	ADDQ           $8, R12
	DECQ           BX
	JNZ            next64
	VMOVDQU64 Z0, (DI)(AX*1)
	ADDQ      $64, AX
	SUBQ      $64, DX

tail:
	TESTQ DX, DX
	JZ    done
	MOVQ  $-1, R13
	BZHIQ DX, R13, R13
	KMOVQ R13, K1
	TESTQ R11, R11
	JZ    zerotail
	VMOVDQU8.Z (DI)(AX*1), K1, Z0
	JMP        intail

zerotail:
	VPXORQ Z0, Z0, Z0

intail:
	MOVQ R9, SI
	MOVQ R8, R12
	MOVQ R10, BX

nexttail:
	MOVQ           (SI), R13
	VPBROADCASTQ   (R12), Z4
	VMOVDQU8.Z     (R13)(AX*1), K1, Z2
	VGF2P8AFFINEQB $0x00, Z4, Z2, Z2
	VPXORQ         Z2, Z0, Z0
	ADDQ           $24, SI
	ADDQ           $8, R12
	DECQ           BX
	JNZ            nexttail
	VMOVDQU8 Z0, K1, (DI)(AX*1)

done:
	VZEROUPPER
	RET
