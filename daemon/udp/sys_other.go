//go:build !linux

package udp

import (
	"net"
	"net/netip"
	"sync/atomic"
	"time"
)

// sysConn is Linux's batched I/O; elsewhere New falls back to one datagram
// per system call.
type sysConn struct {
	gso atomic.Bool
	gro bool
}

func newSysConn(*net.UDPConn, bool) (*sysConn, error) { return nil, nil }

func (s *sysConn) write(*Batch, *Stats) (int, error) { panic("udp: no batched I/O here") }

func (s *sysConn) read(*Inbox, *Stats) (int, error) { panic("udp: no batched I/O here") }

func (s *sysConn) readOnThread(*Inbox, time.Time, *Stats) (int, bool, error) {
	panic("udp: no batched I/O here")
}

func (s *sysConn) close(*net.UDPConn) error { panic("udp: no batched I/O here") }

func (s *sysConn) writeOne([]byte, netip.AddrPort) error { panic("udp: no batched I/O here") }
