package main

import (
	"fmt"

	"github.com/vstreamd/vstreamd/fec"
	"github.com/vstreamd/vstreamd/fec/lossmodel"
)

// lossModel is the datagram loss a condition applies, as the relay draws
// it (both use package lossmodel): independent with probability Loss when
// Burst is 0, else the Gilbert-Elliott chain with average loss Loss and mean
// burst length Burst.
type lossModel = lossmodel.Model

// mdsBound returns the probability that a frame of frameLen bytes, split
// into shards of at most maxShard bytes at parity ratio, survives the loss
// model, given that Reed-Solomon is MDS: a block of k data and m parity
// shards is recovered exactly when it lost at most m of its k+m datagrams.
// ok is false when the bound cannot be computed.
func mdsBound(lm lossModel, frameLen, maxShard int, ratio float64) (bound float64, ok bool) {
	l, err := fec.Plan(frameLen, maxShard, ratio)
	if err != nil {
		return 0, false
	}
	blocks := make([]lossmodel.Block, l.Blocks)
	for b := range blocks {
		_, k := l.Block(b)
		blocks[b] = lossmodel.Block{Data: k, Parity: fec.ParityShards(k, ratio)}
	}
	bound, err = lossmodel.FrameDelivery(lm, blocks, lossmodel.Interleaved(blocks))
	return bound, err == nil
}

// meanFrameBytes estimates the mean encoded frame size from the sender's
// counters over a window: every shard of a frame has the same size, so the
// shard payload bytes (datagram bytes less headers) split between data and
// parity in proportion to the datagram counts. The estimate is high by less
// than one byte of padding per data shard.
func meanFrameBytes(frames, datagrams, parity, bytes uint64, headerLen int) (float64, error) {
	if frames == 0 || datagrams == 0 || parity >= datagrams || bytes < datagrams*uint64(headerLen) {
		return 0, fmt.Errorf("no frames sent (frames %d, datagrams %d, parity %d, bytes %d)", frames, datagrams, parity, bytes)
	}
	payload := float64(bytes - datagrams*uint64(headerLen))
	return payload * float64(datagrams-parity) / float64(datagrams) / float64(frames), nil
}
