//go:build !linux

package relay

import "net"

// prepareOS does nothing where the kernel cannot report drops.
func prepareOS(*net.UDPConn) (int, error) { return 0, nil }

// kernelDrops reports nothing where the kernel cannot report drops.
func kernelDrops([]byte) (uint32, bool) { return 0, false }
