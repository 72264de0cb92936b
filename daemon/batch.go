package daemon

import (
	"sync/atomic"
	"time"

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
// computed. Send loop only.
type frameSender struct {
	w     batchWriter
	pace  *pacer
	sent  *sendTimes
	errs  *atomic.Uint64  // datagrams the kernel refused
	seal  *session.Sealer // nil: unsealed (tests)
	batch *udp.Batch
}

// batchWriter is the socket's side the send loop uses (udp.Conn).
type batchWriter interface {
	WriteBatch(b *udp.Batch) (int, error)
}

func newFrameSender(d *Daemon) *frameSender {
	return &frameSender{w: d.sock, pace: &d.pace, sent: &d.sent, errs: &d.sendErrs, seal: d.sess.NewSealer(),
		batch: udp.NewBatch(batchDatagrams, packetizer.MaxDatagram)}
}

// Send queues one datagram, sealing it in place first.
func (s *frameSender) Send(dg []byte) error {
	if s.seal != nil {
		var ok bool
		if dg, ok = s.seal.Seal(dg); !ok {
			return nil // the keys expired mid-frame: lost, as on the wire
		}
	}
	if wait := s.pace.hold(len(dg)); wait > 0 {
		s.flush()
		time.Sleep(wait)
	}
	if !s.batch.Room(len(dg)) {
		s.flush()
	}
	_ = s.batch.Add(dg) // fits: the batch is empty or has room
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
