package daemon

import "time"

// FrameObserver is told about every frame the receive loop delivers to the
// sink: its one-way latency from capture to complete, and the transport's
// part of it (from the sender's first datagram). It runs on the receive
// loop, so it must be quick and must not block; a Prometheus histogram's
// Observe is. daemon/web's metrics implement it.
type FrameObserver interface {
	FrameDelivered(latency, transport time.Duration)
}

// States lists every value Status.State takes, for metrics that need one
// series per state.
func States() []string {
	return []string{StateWaiting, StateStreaming, StatePeerLost, StateAuthFailed, StateEncryptionMismatch}
}
