package daemon

import "time"

// RekeyAfter shortens the session layer's rekey interval, for tests.
func RekeyAfter(d time.Duration) func(*Options) {
	return func(o *Options) { o.rekeyAfter = d }
}
