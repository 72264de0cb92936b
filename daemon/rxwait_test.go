package daemon_test

import (
	"context"
	"math"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vstreamd/vstreamd/daemon"
	"github.com/vstreamd/vstreamd/daemon/fake"
	"github.com/vstreamd/vstreamd/daemon/sched"
	"github.com/vstreamd/vstreamd/daemon/testutil"
)

// TestReceiveWaitFollowsContention: at realtime_mode = "auto" the receive
// loop waits on its real-time thread while the CPU is contended and its
// reads are late, and in the runtime's poller while the CPU is calm
// (sched.Contention: two quiet seconds), moving at each change; frames
// keep arriving, intact and in order, through every move. The CPU
// pressure is the test's, and every read whose datagram has a kernel
// receive time counts as late (LateAfter 1 ns). It runs with
// the kernel's priorities (checked against the process's threads, where
// the kernel allows them) and with a fake policy, so that the moves are
// tested where it does not.
func TestReceiveWaitFollowsContention(t *testing.T) {
	t.Run("kernel", func(t *testing.T) { receiveWaitFollowsContention(t, nil) })
	t.Run("fake policy", func(t *testing.T) { receiveWaitFollowsContention(t, &policy{}) })
}

// policy is a fake thread policy that records the priorities set.
type policy struct {
	mu    sync.Mutex
	calls []int
}

func (p *policy) set(prio int) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.calls = append(p.calls, prio)
	return nil
}

func (p *policy) get() []int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.calls)
}

// receiveWaitFollowsContention is the test, with fp as the receiving
// endpoint's thread policy (nil: the kernel's).
func receiveWaitFollowsContention(t *testing.T, fp *policy) {
	var share atomic.Uint64 // float64 bits
	share.Store(math.Float64bits(0.2))
	modsA := []func(*daemon.Options){daemon.Pressure(func(time.Time) (float64, error) { return math.Float64frombits(share.Load()), nil }),
		daemon.LateAfter(time.Nanosecond)}
	modsB := slices.Clone(modsA)
	if fp != nil {
		modsA = append(modsA, daemon.SetPolicy((&policy{}).set))
		modsB = append(modsB, daemon.SetPolicy(fp.set))
	}
	checkThreads := func(rt sched.RealtimeStatus) {
		t.Helper()
		if fp == nil {
			checkRealtime(t, rt)
		}
	}
	pa, pb := freePort(t), freePort(t)
	start(t, "send-only", testConfig(t, pa, pb), fake.NewSource(30, 80, 10000), nil, modsA...)
	b := start(t, "receive-only", testConfig(t, pb, pa), nil, fake.NewSink(), modsB...)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	more := func(what string) {
		t.Helper()
		n := len(b.sink.Frames())
		if err := b.sink.Wait(ctx, n+10); err != nil {
			t.Fatalf("%s: %d frames, want %d", what, len(b.sink.Frames()), n+10)
		}
	}
	more("contended")
	rx := b.d.Status().RX
	if rx.Realtime.Refused == "" {
		// The loop starts in the poller and moves when a second of its
		// reads was late.
		testutil.WaitFor(t, "the receive loop on its thread once its reads were late", 10*time.Second, func() bool {
			return b.d.Status().RX.Realtime.OnThread
		})
		more("contended, on the thread")
		rx = b.d.Status().RX
	}
	if rx.ReadsLate == 0 {
		t.Errorf("contended: no late reads counted, with every read late: %+v", rx)
	}
	if rx.RealtimeMode != "auto" || !rx.CPU.Contended || rx.CPU.Pressure == nil || *rx.CPU.Pressure != 0.2 {
		t.Errorf("contended: mode %q, cpu %+v; want auto, contended at 0.2", rx.RealtimeMode, rx.CPU)
	}
	if rx.Realtime.Refused != "" {
		// Not raised: a thread of its own would buy nothing.
		if rx.Realtime.OnThread {
			t.Errorf("refused, yet on its thread: %+v", rx.Realtime)
		}
		t.Skipf("the kernel refused real-time priority (%s): the loop stays in the poller", rx.Realtime.Refused)
	}
	// A loop busy past its budget (a preempted thread on a loaded
	// machine) is lowered for a while: Raised is checked only when it was
	// not (Lowered counts it).
	if !rx.Realtime.OnThread || !rx.Realtime.Raised && rx.Realtime.Lowered == 0 {
		t.Fatalf("contended CPU: the receive loop is not on its raised thread: %+v", rx.Realtime)
	}
	checkThreads(rx.Realtime)

	share.Store(math.Float64bits(0.01))
	testutil.WaitFor(t, "the receive loop in the poller once the CPU is calm", 10*time.Second, func() bool {
		return !b.d.Status().RX.Realtime.OnThread
	})
	more("calm")
	rx = b.d.Status().RX
	// moved to the poller at the start, to the thread, to the poller
	if rx.Realtime.Raised || rx.Realtime.Switches != 3 || rx.CPU.Contended {
		t.Errorf("calm: %+v, cpu %+v; want not raised, moved 3 times", rx.Realtime, rx.CPU)
	}
	if fp == nil {
		// Both endpoints' loops (the sender's reads feedback) are in the
		// poller: no thread of the process is left raised.
		testutil.WaitFor(t, "no SCHED_FIFO thread while both loops wait in the poller", 5*time.Second, func() bool { return fifoThreads(t) == 0 })
	}

	share.Store(math.Float64bits(0.2))
	testutil.WaitFor(t, "the receive loop back on its thread once the CPU is contended", 10*time.Second, func() bool {
		return b.d.Status().RX.Realtime.OnThread
	})
	more("contended again")
	rx = b.d.Status().RX
	if rx.Realtime.Switches != 4 || !rx.Realtime.Raised && rx.Realtime.Lowered == 0 {
		t.Errorf("contended again: %+v, want raised, moved 4 times", rx.Realtime)
	}
	if rx.Realtime.Lowered == 0 {
		checkThreads(rx.Realtime)
	}
	checkFrames(t, "receive-only", b.sink.Frames())
	// raised at the start, lowered before the poller, raised, lowered,
	// raised again; and a lowering and raising for each time the loop was
	// busy past its budget
	if fp != nil {
		calls := fp.get()
		alternate := len(calls) > 0 && calls[len(calls)-1] == 1
		for i, c := range calls {
			alternate = alternate && c == 1-i%2
		}
		if lowered := int(b.d.Status().RX.Realtime.Lowered); !alternate || len(calls) < 5+2*lowered {
			t.Errorf("priorities set %v, want 1, 0, 1, 0, 1 (and a 0, 1 for each of %d lowerings for being busy)", calls, lowered)
		}
	}
}

// TestReceiveWaitAlways: realtime_mode = "always" keeps the loop on its
// thread on a calm CPU; realtime_priority = 0 keeps it in the poller on a
// contended one.
func TestReceiveWaitAlways(t *testing.T) {
	for _, tc := range []struct {
		name     string
		prio     int
		always   bool
		share    float64
		onThread bool
	}{
		{"always, calm", 1, true, 0, true},
		{"priority 0, contended", 0, false, 0.5, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pressure := daemon.Pressure(func(time.Time) (float64, error) { return tc.share, nil })
			pa, pb := freePort(t), freePort(t)
			cb := testConfig(t, pb, pa)
			cb.Transport.RealtimePriority, cb.Transport.RealtimeAlways = tc.prio, tc.always
			start(t, "send-only", testConfig(t, pa, pb), fake.NewSource(30, 80, 10000), nil, pressure)
			b := start(t, "receive-only", cb, nil, fake.NewSink(), pressure)
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			// The CPU counted as what the test says (calm: two samples),
			// and the loop turned since.
			testutil.WaitFor(t, "the CPU counted as the test says", 10*time.Second, func() bool {
				return b.d.Status().RX.CPU.Contended == (tc.share >= 0.05)
			})
			if err := b.sink.Wait(ctx, len(b.sink.Frames())+10); err != nil {
				t.Fatal(err)
			}
			rx := b.d.Status().RX
			if rx.Realtime.Refused != "" && tc.onThread {
				t.Skipf("the kernel refused real-time priority: %s", rx.Realtime.Refused)
			}
			if rx.Realtime.OnThread != tc.onThread {
				t.Errorf("on its thread %v, want %v: %+v, mode %q, cpu %+v", rx.Realtime.OnThread, tc.onThread, rx.Realtime, rx.RealtimeMode, rx.CPU)
			}
			if tc.always && rx.RealtimeMode != "always" {
				t.Errorf("mode %q, want always", rx.RealtimeMode)
			}
		})
	}
}

// TestReceiveWaitOnTime: on a contended CPU whose reads are on time (no
// read counts as late: LateAfter an hour), the loop stays in the poller;
// the thread would cost CPU and buy nothing. A fake thread policy, so that
// the kernel's refusal can not keep it there instead.
func TestReceiveWaitOnTime(t *testing.T) {
	mods := []func(*daemon.Options){daemon.Pressure(func(time.Time) (float64, error) { return 0.2, nil }), daemon.LateAfter(time.Hour),
		daemon.SetPolicy((&policy{}).set)}
	pa, pb := freePort(t), freePort(t)
	start(t, "send-only", testConfig(t, pa, pb), fake.NewSource(30, 80, 10000), nil, mods...)
	b := start(t, "receive-only", testConfig(t, pb, pa), nil, fake.NewSink(), mods...)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := b.sink.Wait(ctx, 1); err != nil {
		t.Fatal(err)
	}
	// The evidence: three seconds of reads judged, with frames arriving
	// through them.
	testutil.WaitFor(t, "three seconds of reads judged for lateness", 10*time.Second, func() bool { return b.d.LateSeconds() >= 3 })
	if err := b.sink.Wait(ctx, len(b.sink.Frames())+5); err != nil {
		t.Fatal(err)
	}
	rx := b.d.Status().RX
	if !rx.CPU.Contended || rx.Realtime.Refused != "" || rx.Realtime.OnThread || rx.ReadsLate != 0 || rx.Realtime.Switches != 1 {
		t.Errorf("contended, on time: %+v, cpu %+v, %d reads late; want in the poller (moved there once, at the start), none late", rx.Realtime, rx.CPU, rx.ReadsLate)
	}
	checkFrames(t, "receive-only", b.sink.Frames())
}
