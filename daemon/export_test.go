package daemon

import "time"

// RekeyAfter shortens the session layer's rekey interval, for tests.
func RekeyAfter(d time.Duration) func(*Options) {
	return func(o *Options) { o.rekeyAfter = d }
}

// SetPolicy replaces the system call that raises and lowers the receive
// thread with f, for tests.
func SetPolicy(f func(prio int) error) func(*Options) {
	return func(o *Options) { o.setPolicy = f }
}

// Pressure replaces the machine's CPU pressure with f, for tests.
func Pressure(f func(now time.Time) (float64, error)) func(*Options) {
	return func(o *Options) { o.pressure = f }
}

// LateAfter replaces how long a datagram waits in the socket before its
// read counts as late (lateRead), for tests.
func LateAfter(d time.Duration) func(*Options) {
	return func(o *Options) { o.lateAfter = d }
}

// LateSeconds is how many seconds of reads the receive loop has judged
// for lateness, for tests that wait for it to have judged some.
func (d *Daemon) LateSeconds() uint64 { return d.rxSeconds.Load() }
