// Package daemon owns vstreamd's lifecycle: the UDP socket both directions
// share, the send loop (source to packetizer to peer), the receive loop
// (socket to assembler to sink), presence and clock tracking of the peer,
// statistics, the control socket `vstreamd status` talks to, systemd
// notification, reload and shutdown.
//
// The frame source and sink are interfaces declared here, so this package
// builds and tests without OpenCV: cmd/vstreamd plugs in the GoCV ones, and
// tests plug in the fakes from daemon/fake.
package daemon

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vstreamd/vstreamd/daemon/config"
	"github.com/vstreamd/vstreamd/daemon/control"
	"github.com/vstreamd/vstreamd/daemon/media"
	"github.com/vstreamd/vstreamd/daemon/sched"
	"github.com/vstreamd/vstreamd/daemon/sdnotify"
	"github.com/vstreamd/vstreamd/daemon/session"
	"github.com/vstreamd/vstreamd/daemon/udp"
	"github.com/vstreamd/vstreamd/fec"
	"github.com/vstreamd/vstreamd/packetizer"
)

// Source yields encoded frames, paced at its frame rate.
type Source interface {
	// Next blocks until the next frame is due and returns it, its bytes
	// appended to dst[:0]. It returns ctx.Err() once ctx is done.
	Next(ctx context.Context, dst []byte) (media.Frame, error)
	SetQuality(q int) // safe for concurrent use
	SetFPS(fps int)   // safe for concurrent use
	// SetSize sets the size of the frames, from the next frame on; 0, 0
	// is the configured size. Safe for concurrent use.
	SetSize(width, height int)
	// SetBitrate sets the encoder's target bit rate, from the next frame
	// on, within the configured one (H.264; a JPEG source ignores it).
	// Safe for concurrent use.
	SetBitrate(bps int)
	// RequestKeyframe makes the next frame a keyframe (a recovery point for
	// a receiver that lost frames or just joined). Safe for concurrent use.
	RequestKeyframe()
	Status() media.SourceStatus
}

// Sink takes decoded-to-be frames; it must never block.
type Sink interface {
	// Show hands a frame over; the sink copies what it keeps. Safe for
	// concurrent use.
	Show(f media.Received)
	// Breaks counts the frames the sink found it could not use (one did not
	// decode, or it fell behind the H.264 stream): the daemon then treats
	// the chain as broken and asks the sender for a recovery point. Safe for
	// concurrent use.
	Breaks() uint64
	Status() media.SinkStatus
}

// Options are what New needs.
type Options struct {
	Config   *config.Config
	Source   Source // nil: receive only
	Sink     Sink   // nil: send only
	Logger   *slog.Logger
	LogLevel *slog.LevelVar     // adjusted on reload; may be nil
	Notifier *sdnotify.Notifier // nil: not under systemd
	Version  string
	// Resolver looks the peer's name up, at start and on reload; nil:
	// Config.ResolvePeer (the system's resolver).
	Resolver func(ctx context.Context, c *config.Config) (netip.AddrPort, error)
	Observer FrameObserver // nil: none; told about every delivered frame

	rekeyAfter time.Duration // tests shorten it; 0: session.DefaultRekeyAfter
	// pressure replaces the machine's CPU pressure, for tests; nil: read
	// sched.CPUPressureFile.
	pressure func(now time.Time) (float64, error)
	// setPolicy replaces the system call that raises and lowers the
	// receive thread, for tests; nil: the real one.
	setPolicy func(prio int) error
	// lateAfter replaces lateRead, for tests; 0: lateRead.
	lateAfter time.Duration
}

// Timing of the presence protocol.
const (
	helloEvery  = 250 * time.Millisecond
	reportEvery = time.Second
	// lostAfter is the silence after which the peer counts as lost.
	lostAfter = 3 * time.Second
	// tick is how often, at most, the receive loop does its timed work
	// (session timers, the peer's state) while datagrams keep it busy;
	// idleWake is the longest it sleeps when nothing else is due (frames
	// expire and feedback goes out on time whatever these are: wakeAt).
	tick     = 20 * time.Millisecond
	idleWake = 100 * time.Millisecond
	// wakeSlack is how far the wanted wake-up may move before the read
	// deadline of a wait in the runtime's poller is set again.
	wakeSlack = time.Millisecond
	// socketBuffer is the kernel buffer asked for each direction: a few
	// large frames' worth of datagrams.
	socketBuffer = 4 << 20
)

// Daemon is one running endpoint. Its methods are safe for concurrent use.
type Daemon struct {
	log     *slog.Logger
	level   *slog.LevelVar
	notify  *sdnotify.Notifier
	src     Source
	sink    Sink
	obs     FrameObserver // may be nil
	version string
	session uint64
	packets atomic.Uint64 // our packet numbers, all kinds
	started time.Time
	ready   chan struct{} // closed once the sockets are bound
	addr    atomic.Pointer[netip.AddrPort]

	mu sync.Mutex // guards cfg and peerAddr changes
	// reloadMu makes reloads take turns. Reload resolves the peer's name
	// holding only this, so that the loops, which take mu, never wait
	// for a resolver.
	reloadMu sync.Mutex
	resolve  func(ctx context.Context, c *config.Config) (netip.AddrPort, error)
	cfg      *config.Config

	peerAddr atomic.Pointer[netip.AddrPort]
	peer     peerState
	maxDelay atomic.Int64 // ns; the receive loop applies it

	pk        *packetizer.Packetizer
	asm       *packetizer.Assembler // owned by the receive loop
	rx        rxState
	tx        txState
	rates     rates
	sock      *udp.Conn // the UDP socket, batched I/O
	sendErrs  atomic.Uint64
	rxAlive   atomic.Int64                   // Unix ns of the receive loop's last turn
	rxTurns   atomic.Uint64                  // the receive loop's turns: reads, deadlines, errors
	rxThread  atomic.Pointer[sched.Realtime] // the receive loop's thread, once it runs
	rxSeconds atomic.Uint64                  // seconds of reads the receive loop judged for lateness
	// cpu says whether the CPU is contended, from its pressure sampled by
	// the tick loop: the receive loop waits on its real-time thread only
	// then, unless realtime_mode = "always".
	cpu       *sched.Contention
	pressure  func(now time.Time) (float64, error) // Options.pressure; nil: the real file
	setPolicy func(prio int) error                 // Options.setPolicy; nil: the real one
	lateAfter time.Duration                        // Options.lateAfter; 0: lateRead
	pace      pacer
	sess      *session.Session
	adapt     adaptation
	// encoderBps is the bit rate last asked of the encoder; send loop only.
	encoderBps int
	sent       sendTimes     // send loop records, receive loop reads
	fb         feedbackState // owned by the receive loop
	fbIn       packetizer.Feedback
}

// New checks the options and prepares a Daemon; Run starts it.
func New(opt Options) (*Daemon, error) {
	cfg := opt.Config
	if cfg == nil {
		return nil, errors.New("daemon: no configuration")
	}
	if opt.Source == nil && opt.Sink == nil {
		return nil, errors.New("daemon: neither a source nor a sink: the endpoint would do nothing")
	}
	log := opt.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	var sid [8]byte
	if _, err := rand.Read(sid[:]); err != nil {
		return nil, fmt.Errorf("daemon: session id: %w", err)
	}
	d := &Daemon{
		log:     log.With("component", "daemon"),
		level:   opt.LogLevel,
		notify:  opt.Notifier,
		src:     opt.Source,
		sink:    opt.Sink,
		obs:     opt.Observer,
		version: opt.Version,
		session: binary.BigEndian.Uint64(sid[:]),
		cfg:     cfg,
		ready:   make(chan struct{}),
		resolve: opt.Resolver,
		cpu:     sched.NewContention(),

		pressure:  opt.pressure,
		setPolicy: opt.setPolicy,
		lateAfter: opt.lateAfter,
	}
	if d.resolve == nil {
		d.resolve = func(ctx context.Context, c *config.Config) (netip.AddrPort, error) { return c.ResolvePeer(ctx) }
	}
	d.maxDelay.Store(int64(cfg.Transport.MaxDelay))
	d.pace.setRate(cfg.Transport.MaxRateMbps)
	if err := d.adapt.init(cfg); err != nil {
		return nil, fmt.Errorf("daemon: %s: [transport]: %w", cfg.File, err)
	}
	d.peer.self = d.session
	var psk session.Key
	if cfg.Security.Encryption {
		var err error
		if psk, err = session.LoadKeyFile(cfg.Security.KeyFile); err != nil {
			return nil, fmt.Errorf("%s: [security] key_file: %w", cfg.File, err)
		}
	}
	var err error
	d.sess, err = session.New(session.Config{
		Encrypted: cfg.Security.Encryption, PSK: psk, Self: d.session, Packets: &d.packets,
		Send: d.sendHandshake, Logger: log.With("component", "session"), RekeyAfter: opt.rekeyAfter,
	})
	if err != nil {
		return nil, err
	}
	overhead := 0
	if d.sess.Encrypted() {
		overhead = session.Overhead
	}
	coderTx, err := fec.NewCoder()
	if err != nil {
		return nil, err
	}
	d.pk, err = packetizer.NewPacketizer(packetizer.Config{
		MaxDatagram:   cfg.Transport.MaxDatagram,
		Parity:        cfg.Transport.Parity,
		MaxFrameBytes: cfg.Transport.MaxFrameBytes,
		Session:       d.session,
		Packets:       &d.packets,
		Overhead:      overhead,
		Sealed:        d.sess.Encrypted(),
	}, coderTx)
	if err != nil {
		return nil, fmt.Errorf("daemon: %s: [transport]: %w", cfg.File, err)
	}
	d.asm, err = packetizer.NewAssembler(packetizer.AssemblerConfig{
		MaxDelay:      cfg.Transport.MaxDelay,
		MaxFrameBytes: cfg.Transport.MaxFrameBytes,
	}, nil)
	if err != nil {
		return nil, err
	}
	d.rx.lat.init(latencySamples, true)
	d.rx.netLat.init(latencySamples, true)
	d.rx.netRecent.init(recentSamples, false)
	return d, nil
}

// Ready is closed once Run has bound its sockets.
func (d *Daemon) Ready() <-chan struct{} { return d.ready }

// LocalAddr is the bound UDP address, once Ready.
func (d *Daemon) LocalAddr() netip.AddrPort {
	if a := d.addr.Load(); a != nil {
		return *a
	}
	return netip.AddrPort{}
}

// Run binds the sockets, streams until ctx is done, then shuts down: it
// tells the peer, closes the sockets and waits for every goroutine it
// started before returning.
func (d *Daemon) Run(ctx context.Context) error {
	cfg := d.config()
	peer, err := d.resolve(ctx, cfg)
	if err != nil {
		return fmt.Errorf("%s: %w", cfg.File, err)
	}
	d.peerAddr.Store(&peer)
	d.peer.setAddr(peer)
	conn, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(cfg.Listen))
	if err != nil {
		return fmt.Errorf("%s: listen = %q: %w", cfg.File, cfg.Listen, err)
	}
	d.tuneSocket(conn)
	if d.sock, err = udp.New(conn, udp.Options{}); err != nil {
		conn.Close()
		return fmt.Errorf("%s: listen = %q: %w", cfg.File, cfg.Listen, err)
	}
	local := conn.LocalAddr().(*net.UDPAddr).AddrPort()
	d.addr.Store(&local)

	ln, err := control.Listen(cfg.Control.Socket)
	if err != nil {
		conn.Close()
		return fmt.Errorf("%s: [control] socket: %w", cfg.File, err)
	}
	d.started = time.Now()
	d.log.Info("listening", "udp", local, "peer", peer, "control", cfg.Control.Socket,
		"session", sessionHex(d.session), "sending", d.src != nil, "showing", d.sink != nil,
		"encryption", d.encryption(), "offload", d.offload())
	if !d.sess.Encrypted() {
		d.log.Warn("encryption is off: the call is not private, and anyone who can send to this port can disturb it")
	}
	if err := d.notify.Ready(); err != nil {
		d.log.Warn("systemd notification failed", "err", err)
	}
	close(d.ready)

	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	wg.Go(func() { d.receiveLoop(runCtx) })
	wg.Go(func() { d.tickLoop(runCtx) })
	if d.src != nil {
		wg.Go(func() { d.sendLoop(runCtx) })
	}
	var serveErr error
	wg.Go(func() { serveErr = control.Serve(runCtx, ln, d.handle) })

	<-ctx.Done()
	d.log.Info("stopping")
	_ = d.notify.Stopping()
	d.sendControl(packetizer.KindBye, nil)
	cancel()
	d.sock.Close() // ends the receive loop
	wg.Wait()
	if serveErr != nil && !errors.Is(serveErr, context.Canceled) {
		d.log.Warn("control socket", "err", serveErr)
	}
	d.log.Info("stopped")
	return nil
}

// encryption describes the session layer for people.
func (d *Daemon) encryption() string {
	if d.sess.Encrypted() {
		return "on (" + session.Algorithm + ", pre-shared key, forward secret)"
	}
	return "off"
}

func (d *Daemon) config() *config.Config {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.cfg
}

// tuneSocket asks for large kernel buffers so a burst of datagrams of a big
// frame is not dropped before the receive loop reads it; the kernel caps the
// request at net.core.[rw]mem_max.
func (d *Daemon) tuneSocket(conn *net.UDPConn) {
	for _, set := range []struct {
		name string
		f    func(int) error
	}{{"receive", conn.SetReadBuffer}, {"send", conn.SetWriteBuffer}} {
		if err := set.f(socketBuffer); err != nil {
			d.log.Warn("socket buffer", "direction", set.name, "err", err)
		}
	}
	if got, err := readBufferSize(conn); err == nil && got < socketBuffer {
		d.log.Info("kernel capped the UDP receive buffer; large frames may lose datagrams in bursts",
			"bytes", got, "wanted", socketBuffer, "fix", fmt.Sprintf("sysctl -w net.core.rmem_max=%d", socketBuffer))
	}
}

func (d *Daemon) handle(ctx context.Context, req control.Request) (any, error) {
	switch req.Command {
	case "status":
		return d.Status(), nil
	}
	return nil, fmt.Errorf("%w %q (try \"status\")", control.ErrUnknownCommand, req.Command)
}
