package main

import (
	"net"
	"os"
	"runtime"
	"testing"
)

func TestProcReaders(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("reads /proc; Linux only")
	}
	pid := os.Getpid()
	if _, err := runqueueWait(pid); err != nil {
		t.Errorf("runqueueWait: %v", err)
	}
	m, err := readMemory(pid)
	if err != nil || m.peak == 0 || m.anon == 0 || m.anon > m.peak {
		t.Errorf("readMemory = %+v, %v; want peak >= anon > 0", m, err)
	}

	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	port := uint16(c.LocalAddr().(*net.UDPAddr).Port)
	if n, err := udpDrops(pid, port); err != nil || n != 0 {
		t.Errorf("udpDrops(own socket) = %d, %v; want 0, nil", n, err)
	}
	if _, err := udpDrops(pid, port+1); err == nil {
		t.Skip("another socket uses the next port; cannot test the not-found case")
	}
}
