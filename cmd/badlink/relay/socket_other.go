//go:build !linux

package relay

import "net"

// prepareOS does nothing here.
func prepareOS(*net.UDPConn) (int, error) { return 0, nil }

// socketDrops reports nothing where the kernel cannot report drops.
func socketDrops(*net.UDPConn) uint64 { return 0 }
