//go:build !linux

package daemon_test

import (
	"testing"

	"github.com/vstreamd/vstreamd/daemon/sched"
)

// checkRealtime: real-time priority is Linux's; elsewhere it is refused.
func checkRealtime(t *testing.T, rt sched.RealtimeStatus) {
	t.Helper()
	if rt.Raised || rt.OnThread || rt.Refused == "" {
		t.Errorf("receive thread: %+v, want refused here", rt)
	}
}

// fifoThreads: none here.
func fifoThreads(t *testing.T) int { return 0 }
