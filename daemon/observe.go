package daemon

import "time"

// FrameObserver is told about every frame the receive loop delivers to the
// sink. It runs on the receive loop, so it must be quick and must not
// block; a Prometheus histogram's Observe is. daemon/web's metrics
// implement it.
type FrameObserver interface {
	FrameDelivered(f Delivered)
}

// Delivered is what a FrameObserver is told about a frame.
type Delivered struct {
	ID         uint32        // the transport's frame id
	SenderTime int64         // capture time on the sender's clock, Unix ns, as the frame carried it
	Completed  time.Time     // when the frame became complete here
	Latency    time.Duration // capture to complete, one way (the peer's clock brought to ours)
	Transport  time.Duration // the sender's first datagram to complete
}

// States lists every value Status.State takes, for metrics that need one
// series per state.
func States() []string {
	return []string{StateWaiting, StateStreaming, StatePeerLost, StateAuthFailed, StateEncryptionMismatch}
}
