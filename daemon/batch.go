package daemon

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/vstreamd/vstreamd/daemon/alarm"
	"github.com/vstreamd/vstreamd/daemon/session"
	"github.com/vstreamd/vstreamd/daemon/udp"
	"github.com/vstreamd/vstreamd/packetizer"
)

// batchDatagrams is how many datagrams the send loop hands the kernel at
// once at most: a 100 KB frame with its parity, whole.
const batchDatagrams = 128

// frameSender takes a frame's datagrams from the packetizer, seals them and
// sends them in batches (daemon/udp), within what the pacer allows: when
// the pacer holds the next datagram back, what is queued goes first, then
// the sender waits. The data datagrams go out before the parity is
// computed. It takes each datagram as header and payload apart
// (packetizer.PartSender) and seals the payload from the frame straight
// into the batch, so the frame's bytes are read once on their way out.
// Send loop only.
type frameSender struct {
	w     batchWriter
	pace  *pacer
	sent  *sendTimes
	errs  *atomic.Uint64  // datagrams the kernel refused
	seal  *session.Sealer // nil: unsealed (tests)
	batch *udp.Batch
	// alarm times the pacer's waits to the microsecond and wakes the
	// send loop once for each (see daemon/alarm); nil: time.Sleep
	// (tests).
	alarm *alarm.Alarm
}

// batchWriter is the socket's side the send loop uses (udp.Conn).
type batchWriter interface {
	WriteBatch(b *udp.Batch) (int, error)
}

func newFrameSender(d *Daemon) *frameSender {
	return &frameSender{w: d.sock, pace: &d.pace, sent: &d.sent, errs: &d.sendErrs, seal: d.sess.NewSealer(),
		batch: udp.NewBatch(batchDatagrams, packetizer.MaxDatagram), alarm: alarm.New()}
}

// close releases the sender's alarm.
func (s *frameSender) close() {
	if s.alarm != nil {
		s.alarm.Close()
	}
}

// sleep waits d, as the pacer asks.
func (s *frameSender) sleep(d time.Duration) {
	if s.alarm == nil {
		time.Sleep(d)
		return
	}
	_ = s.alarm.For(context.Background(), d) // fails only once closed
}

// Send queues one datagram given whole (the packetizer gives them apart,
// to SendParts).
func (s *frameSender) Send(dg []byte) error {
	if len(dg) < packetizer.HeaderLen {
		return nil
	}
	return s.SendParts(dg[:packetizer.HeaderLen], dg[packetizer.HeaderLen:])
}

// SendParts builds one datagram at the batch's tail from its header and
// payload, sealing the payload from where it lies, and queues it.
func (s *frameSender) SendParts(header, payload []byte) error {
	n := len(header) + len(payload) + session.Overhead
	if wait := s.pace.hold(n); wait > 0 {
		s.flush()
		s.sleep(wait)
	}
	if !s.batch.Room(n) {
		s.flush()
	}
	dg := append(s.batch.Tail(), header...)
	if s.seal != nil {
		var ok bool
		if dg, ok = s.seal.SealTo(dg, payload); !ok {
			return nil // the keys expired mid-frame: lost, as on the wire
		}
	} else {
		dg = append(dg, payload...)
	}
	_ = s.batch.Commit(dg) // built at the tail of a batch with room for it
	return nil
}

// DataSent sends the frame's data datagrams while the parity is computed.
func (s *frameSender) DataSent() error {
	s.flush()
	return nil
}

// flush sends what is queued and records when each datagram left.
func (s *frameSender) flush() {
	n := s.batch.Len()
	if n == 0 {
		return
	}
	now := time.Now().UnixNano()
	for i := range n {
		s.sent.record(packetizer.PacketOf(s.batch.Datagram(i)), now)
	}
	sent, _ := s.w.WriteBatch(s.batch)
	// A full buffer or an unreachable peer: lost, as on the wire.
	s.errs.Add(uint64(n - sent))
	s.batch.Reset()
}

// offload says what the kernel does for the socket, for the log.
func (d *Daemon) offload() string {
	switch gso, gro := d.sock.Offload(); {
	case gso && gro:
		return "segmentation and coalescing"
	case gso:
		return "segmentation"
	case gro:
		return "coalescing"
	}
	return "none"
}
