package daemon

import "time"

// RekeyAfter shortens the session layer's rekey interval, for tests.
func RekeyAfter(d time.Duration) func(*Options) {
	return func(o *Options) { o.rekeyAfter = d }
}

// Pressure replaces the machine's CPU pressure with f, for tests.
func Pressure(f func(now time.Time) (float64, error)) func(*Options) {
	return func(o *Options) { o.pressure = f }
}
