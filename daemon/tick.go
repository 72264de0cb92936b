package daemon

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/vstreamd/vstreamd/daemon/alarm"
	"github.com/vstreamd/vstreamd/daemon/sched"
	"github.com/vstreamd/vstreamd/packetizer"
)

// lossWindow is how many one-second buckets the loss ratio covers.
const lossWindow = 5

// rates turns counters into per-second figures, once a second. Safe for
// concurrent use.
type rates struct {
	mu   sync.Mutex
	last time.Time
	prev rateCounters
	// per second, over the last second
	txFPS, txBps, rxFPS, rxBps float64
	// loss buckets: expected and received datagrams per second
	expected, received [lossWindow]uint64
	bucket             int
}

type rateCounters struct {
	txFrames, txBytes, rxFrames, rxBytes, highest, fromPeer uint64
}

func (r *rates) resetRx() {
	r.mu.Lock()
	r.prev.highest, r.prev.fromPeer = 0, 0
	r.expected, r.received = [lossWindow]uint64{}, [lossWindow]uint64{}
	r.mu.Unlock()
}

func (r *rates) update(now time.Time, c rateCounters) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.last.IsZero() {
		dt := now.Sub(r.last).Seconds()
		r.txFPS = float64(c.txFrames-r.prev.txFrames) / dt
		r.txBps = float64(c.txBytes-r.prev.txBytes) * 8 / dt
		r.rxFPS = float64(c.rxFrames-r.prev.rxFrames) / dt
		r.rxBps = float64(c.rxBytes-r.prev.rxBytes) * 8 / dt
		r.bucket = (r.bucket + 1) % lossWindow
		r.expected[r.bucket], r.received[r.bucket] = 0, 0
		if c.highest > r.prev.highest && c.fromPeer >= r.prev.fromPeer {
			r.expected[r.bucket] = c.highest - r.prev.highest
			r.received[r.bucket] = c.fromPeer - r.prev.fromPeer
		}
	}
	r.last, r.prev = now, c
}

// loss is the datagram loss ratio over the window: packet numbers the peer
// used that never arrived. Duplicates can push received above expected;
// the ratio is clamped at 0.
func (r *rates) loss() float64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	var e, g uint64
	for i := range lossWindow {
		e += r.expected[i]
		g += r.received[i]
	}
	if e == 0 || g >= e {
		return 0
	}
	return float64(e-g) / float64(e)
}

func (r *rates) get() (txFPS, txBps, rxFPS, rxBps float64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.txFPS, r.txBps, r.rxFPS, r.rxBps
}

// tickLoop sends hellos and reports, updates the rates, follows the peer's
// state, keeps systemd informed and pings its watchdog. It sleeps on an
// alarm (daemon/alarm: one wake-up per tick, on time). It ends when ctx is
// done.
func (d *Daemon) tickLoop(ctx context.Context) {
	al := alarm.New()
	defer al.Close()
	sample := d.pressure
	if sample == nil {
		m, err := sched.OpenPressure(sched.CPUPressureFile)
		if err != nil {
			d.log.Info("the CPU's pressure is unknown: it counts as contended", "err", err)
			sample = func(time.Time) (float64, error) { return 0, err }
		} else {
			defer m.Close()
			sample = m.Sample
		}
	}
	// The watchdog is pinged at half its interval, and only while the
	// receive loop is turning: a wedged daemon gets restarted.
	var wdEvery time.Duration
	if wd, ok := d.notify.WatchdogInterval(); ok && wd > 0 {
		wdEvery = wd / 2
	}
	var lastRate, lastReport, lastBadLog time.Time
	var bad badInput
	state := StateWaiting
	statusLine := ""
	start := time.Now()
	nextTick, nextWatchdog := start.Add(helloEvery), start.Add(wdEvery)
	d.sendHello(start)
	for {
		wake := nextTick
		if wdEvery > 0 && nextWatchdog.Before(wake) {
			wake = nextWatchdog
		}
		if al.Until(ctx, wake) != nil {
			return // ctx done
		}
		now := time.Now()
		if wdEvery > 0 && !now.Before(nextWatchdog) {
			nextWatchdog = later(nextWatchdog, wdEvery, now)
			if now.Sub(time.Unix(0, d.rxAlive.Load())) < 2*time.Second {
				_ = d.notify.Watchdog()
			}
		}
		if now.Before(nextTick) {
			continue
		}
		nextTick = later(nextTick, helloEvery, now)
		d.sendHello(now)
		if now.Sub(lastRate) >= time.Second {
			lastRate = now
			d.updateRates(now)
			d.cpu.Observe(sample(now))
		}
		if d.sink != nil && now.Sub(lastReport) >= reportEvery && d.peer.state(now) == StateStreaming {
			lastReport = now
			d.sendReport()
		}
		if s, detail := d.callState(now); s != state {
			d.log.Info("call state", "from", state, "to", s, "peer", d.config().Peer, "why", detail)
			state = s
		}
		if now.Sub(lastBadLog) >= badInputLogEvery {
			lastBadLog = now
			d.logBadInput(&bad)
		}
		if line := d.statusLine(); line != statusLine {
			statusLine = line
			_ = d.notify.Status(line)
		}
	}
}

// later returns the next time after now on the grid t + n*every; ticks
// missed while the loop was held up are dropped, as a time.Ticker drops
// them.
func later(t time.Time, every time.Duration, now time.Time) time.Time {
	if t = t.Add(every); t.After(now) {
		return t
	}
	return now.Add(every)
}

func (d *Daemon) sendHello(now time.Time) {
	var flags uint32
	if d.src != nil {
		flags |= packetizer.HelloSends
	}
	if d.sink != nil {
		flags |= packetizer.HelloReceives
	}
	h := d.peer.ourHello(flags, now)
	d.sendControl(packetizer.KindHello, h.AppendTo(make([]byte, 0, packetizer.HelloLen)))
}

func (d *Daemon) sendReport() {
	st := d.asm.Stats()
	p := d.rx.lat.percentiles()
	us := func(ms float64) uint32 { return uint32(min(ms*1000, 1<<32-1)) }
	c := frameCounts(st)
	r := packetizer.Report{
		Delivered: c.FramesDelivered, Recovered: c.FramesRecovered, Late: c.FramesLate,
		Incomplete: c.FramesIncomplete, Lost: c.FramesLost, Corrupt: c.FramesCorrupt,
		Packets: st.Datagrams.Load(), Highest: d.rx.highest.Load(),
		LossPPM: uint32(d.rates.loss() * 1e6),
		P50:     us(p.P50), P95: us(p.P95), P99: us(p.P99),
		Invalid: st.InvalidTotal(),
	}
	d.sendControl(packetizer.KindReport, r.AppendTo(make([]byte, 0, packetizer.ReportLen)))
}

func (d *Daemon) updateRates(now time.Time) {
	tx := d.pk.Stats()
	d.rates.update(now, rateCounters{
		txFrames: tx.Frames.Load(), txBytes: tx.Bytes.Load(),
		rxFrames: d.asm.Stats().FramesDelivered.Load(), rxBytes: d.rx.bytes.Load(),
		highest: d.rx.highest.Load(), fromPeer: d.rx.fromPeer.Load(),
	})
}

// badInputLogEvery rate-limits the log line about refused datagrams: bad
// input is counted per datagram and summarised at most this often.
const badInputLogEvery = 10 * time.Second

// badInput is the totals at the last summary.
type badInput struct{ invalid, foreign uint64 }

func (d *Daemon) logBadInput(last *badInput) {
	st := d.Status()
	cur := badInput{invalid: st.RX.PacketsInvalid, foreign: st.RX.PacketsForeign}
	if cur.invalid > last.invalid || cur.foreign > last.foreign {
		d.log.Warn("refused datagrams in the last seconds (counted in status; this line is rate-limited)",
			"invalid", cur.invalid-last.invalid, "from_strangers", cur.foreign-last.foreign, "by_reason_total", st.RX.Invalid)
	}
	*last = cur
}

// statusLine is the one-line summary systemd shows.
func (d *Daemon) statusLine() string {
	now := time.Now()
	st, _ := d.callState(now)
	txFPS, txBps, rxFPS, _ := d.rates.get()
	p := d.rx.lat.percentiles()
	return fmt.Sprintf("%s with %s; tx %.0f fps %.1f Mb/s; rx %.0f fps, loss %.1f%%, p99 %.1f ms",
		st, d.config().Peer, txFPS, txBps/1e6, rxFPS, d.rates.loss()*100, p.P99)
}
