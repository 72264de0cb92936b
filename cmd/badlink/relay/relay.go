// Package relay carries UDP datagrams both ways between two endpoints, A
// and B, through the impairment models of package impair.
//
// The relay owns two sockets. Endpoint A is configured with the A-side
// socket's address as its peer, B with the B-side one's. A datagram read on
// the A-side socket from A's address goes out of the B-side socket to B,
// and the reverse, so each endpoint sees its peer's datagrams come from the
// address it configured. Datagrams from any other source are counted as
// filtered and dropped.
//
// Each direction runs two goroutines: a reader, which reads as many
// datagrams as the kernel holds in one call and applies the models to
// each (so their random draws follow datagram order); and a sender, which
// keeps the datagrams that must wait in a heap ordered by release time and
// writes those due in one call. A datagram due at once, with nothing held
// ahead of it, is written by the reader itself, right after the read that
// brought it, with the others of that read: the relay then costs a frame a
// few system calls rather than several per datagram and a wake-up of the
// sender for each, and delivers a burst as a burst, as a wire does (see
// docs/benchmarks.md, "Transport latency, third pass"). A datagram that
// waits is copied into a buffer from a bounded pool; when the pool is
// empty (Limit datagrams already held) it is dropped and counted. Nothing
// is allocated per datagram. I/O is package udp's, the daemon's own.
//
// A datagram is never sent before its release time, nor after one that
// arrived later with an earlier or equal release time. Delayed ones are
// sent when the Go runtime's timer fires, which on Linux is up to about 1.1
// ms late (the runtime sleeps in whole milliseconds when idle).
package relay

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/vstreamd/vstreamd/cmd/badlink/impair"
	"github.com/vstreamd/vstreamd/daemon/udp"
)

// Defaults for Config fields left zero.
const (
	// DefaultLimit datagrams may be held per direction: 0.4 s of video at
	// 10,000 datagrams per second.
	DefaultLimit = 4096
	// DefaultMaxSize is the largest datagram carried. vstreamd's datagrams
	// fit an Ethernet MTU.
	DefaultMaxSize = 2048
	// maxDatagram is the largest UDP payload, the most MaxSize may be.
	// The reader reads a datagram longer than MaxSize cut to MaxSize+1
	// bytes (or whole, where the kernel coalesces): enough to count it as
	// too big.
	maxDatagram = 65535
)

// PacketConn is the part of a socket a direction uses: *udp.Conn, the
// daemon's own batched I/O (recvmmsg and sendmmsg, with UDP GRO and GSO
// where the kernel has them), or a fake in tests.
type PacketConn interface {
	ReadBatch(in *udp.Inbox) (int, error)
	WriteBatch(b *udp.Batch) (int, error)
	NewInbox(maxDatagram int) *udp.Inbox
	Close() error
}

// Config says whom the relay connects and how it impairs each direction.
type Config struct {
	// PeerA and PeerB are the endpoints' addresses.
	PeerA, PeerB netip.AddrPort
	// PeerA2 and PeerB2, when set, are a second pair of endpoints relayed
	// through the same sockets and the same impairments: A2's datagrams
	// go to B2 and back. Both calls then share each direction's rate cap
	// and queue, as two calls share a home uplink.
	PeerA2, PeerB2 netip.AddrPort
	// A2B applies to datagrams from A to B, B2A to the other direction.
	A2B, B2A impair.Params
	// Seed determines every random decision, with a separate stream per
	// direction.
	Seed uint64
	// Limit bounds the datagrams held per direction (delayed, queued at
	// the rate cap, or waiting to be sent). Zero means DefaultLimit.
	Limit int
	// MaxSize is the largest datagram carried; larger ones are dropped
	// and counted as too big. Zero means DefaultMaxSize.
	MaxSize int
	// RealtimePriority, when above 0, runs each direction's reader on a
	// thread of its own at this SCHED_FIFO priority (daemon/sched), which
	// wakes it at once when a datagram comes: a relay that stands for a
	// network should add no scheduling delay of its own. Where the kernel
	// refuses, the reader stays at normal priority and the relay says so.
	RealtimePriority int
}

// Names of the two directions, used in stats and logs.
const (
	NameA2B = "a2b"
	NameB2A = "b2a"
)

// Relay forwards and impairs datagrams between two endpoints. Its methods
// are safe for concurrent use.
type Relay struct {
	cfg   Config
	socks [2]*net.UDPConn // A side, B side
	conns [2]PacketConn   // the same, batched
	dirs  [2]*direction   // a2b, b2a
	epoch time.Time
	log   *slog.Logger

	closeOnce sync.Once
}

// New returns a relay that reads from A on connA and from B on connB. It
// takes ownership of both conns, closing them when Run returns, or on
// Close; it closes them also when it returns an error.
func New(cfg Config, connA, connB *net.UDPConn, log *slog.Logger) (*Relay, error) {
	r := &Relay{cfg: cfg, socks: [2]*net.UDPConn{connA, connB}, epoch: time.Now(), log: log}
	for i, c := range r.socks {
		uc, err := udp.New(c, udp.Options{})
		if err != nil {
			r.Close()
			return nil, fmt.Errorf("relay: %w", err)
		}
		r.conns[i] = uc
	}
	if err := r.init(); err != nil {
		r.Close()
		return nil, err
	}
	return r, nil
}

func (r *Relay) init() error {
	cfg := &r.cfg
	if !cfg.PeerA.IsValid() || !cfg.PeerB.IsValid() {
		return errors.New("relay: both peer addresses are required")
	}
	if cfg.Limit == 0 {
		cfg.Limit = DefaultLimit
	}
	if cfg.MaxSize == 0 {
		cfg.MaxSize = DefaultMaxSize
	}
	if cfg.Limit < 1 || cfg.Limit > 1<<20 {
		return fmt.Errorf("relay: limit %d: must be between 1 and %d datagrams", cfg.Limit, 1<<20)
	}
	if cfg.MaxSize < 1 || cfg.MaxSize > maxDatagram {
		return fmt.Errorf("relay: max size %d: must be between 1 and %d bytes", cfg.MaxSize, maxDatagram)
	}
	if cfg.PeerA2.IsValid() != cfg.PeerB2.IsValid() {
		return errors.New("relay: a second pair needs both of its addresses")
	}
	a := [2]netip.AddrPort{unmap(cfg.PeerA), unmap(cfg.PeerA2)}
	b := [2]netip.AddrPort{unmap(cfg.PeerB), unmap(cfg.PeerB2)}
	if cfg.PeerA2.IsValid() && (a[1] == a[0] || b[1] == b[0] || a[1] == b[0] || b[1] == a[0]) {
		return errors.New("relay: the second pair's addresses must differ from the first's")
	}
	for i, s := range []struct {
		name     string
		p        impair.Params
		from, to [2]netip.AddrPort
		rx, tx   PacketConn
	}{
		{NameA2B, cfg.A2B, a, b, r.conns[0], r.conns[1]},
		{NameB2A, cfg.B2A, b, a, r.conns[1], r.conns[0]},
	} {
		link, err := impair.NewLink(s.p, cfg.Seed, uint64(i+1))
		if err != nil {
			return fmt.Errorf("relay: %s: %w", s.name, err)
		}
		r.dirs[i] = newDirection(s.name, link, s.from, s.to, s.rx, s.tx, cfg.Limit, cfg.MaxSize, r.epoch)
		r.dirs[i].rtPrio, r.dirs[i].log = cfg.RealtimePriority, r.log
	}
	return nil
}

// unmap turns an IPv4-mapped IPv6 address into plain IPv4 so that the
// source check does not depend on the socket's family.
func unmap(ap netip.AddrPort) netip.AddrPort {
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
}

// Run relays until ctx is done, Close is called, or a socket fails, then
// closes both sockets and waits for its goroutines. Datagrams still held
// are counted as discarded. It returns nil unless a socket failed. Call it
// once.
func (r *Relay) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errs := make(chan error, len(r.dirs))
	var wg sync.WaitGroup
	for _, d := range r.dirs {
		wg.Go(func() {
			defer cancel() // a reader ends only when the relay stops
			if err := d.readLoop(); err != nil {
				errs <- fmt.Errorf("relay: %s: %w", d.name, err)
			}
		})
		wg.Go(d.sendLoop)
	}
	r.log.Info("relaying", "a", r.cfg.PeerA, "b", r.cfg.PeerB, "a2", r.cfg.PeerA2, "b2", r.cfg.PeerB2, "seed", r.cfg.Seed,
		NameA2B, r.cfg.A2B.String(), NameB2A, r.cfg.B2A.String())
	<-ctx.Done()
	r.Close()
	wg.Wait()
	close(errs)
	return errors.Join(collect(errs)...)
}

func collect(errs <-chan error) []error {
	var out []error
	for err := range errs {
		out = append(out, err)
	}
	return out
}

// Close closes both sockets, which stops Run. It is safe to call more
// than once.
func (r *Relay) Close() {
	r.closeOnce.Do(func() {
		for i, c := range r.socks {
			switch {
			case r.conns[i] != nil:
				r.conns[i].Close() // ends a reader waiting on its own thread, too
			case c != nil:
				c.Close()
			}
		}
	})
}

// Stats returns the counters of both directions so far.
func (r *Relay) Stats() Snapshot {
	return Snapshot{
		Elapsed:   time.Since(r.epoch),
		Seed:      r.cfg.Seed,
		A2B:       r.dirs[0].c.snapshot(socketDrops(r.socks[0])),
		B2A:       r.dirs[1].c.snapshot(socketDrops(r.socks[1])),
		A2BParams: r.cfg.A2B,
		B2AParams: r.cfg.B2A,
	}
}
