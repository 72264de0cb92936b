package main

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"sync/atomic"
	"time"
)

// srtPayload is the UDP payload srt-live-transmit carries per packet
// (seven 188-byte MPEG-TS packets).
const srtPayload = 1316

func measureSRT(s settings, mbps float64) (measurement, error) {
	in, err := freePort() // the caller reads UDP here
	if err != nil {
		return measurement{}, err
	}
	mid, err := freePort() // SRT between the two
	if err != nil {
		return measurement{}, err
	}
	sinkConn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		return measurement{}, err
	}
	defer sinkConn.Close()
	out := sinkConn.LocalAddr().(*net.UDPAddr).AddrPort()
	const pass = "srtcompare-passphrase"
	recv := exec.Command(s.srt, "-q",
		fmt.Sprintf("srt://:%d?mode=listener&passphrase=%s&pbkeylen=32", mid.Port(), pass),
		fmt.Sprintf("udp://%v", out))
	send := exec.Command(s.srt, "-q",
		fmt.Sprintf("udp://:%d", in.Port()),
		fmt.Sprintf("srt://%v?mode=caller&passphrase=%s&pbkeylen=32", mid, pass))
	for _, c := range []*exec.Cmd{recv, send} {
		c.Stderr = os.Stderr
		if err := c.Start(); err != nil {
			return measurement{}, err
		}
		defer func() {
			_ = c.Process.Kill()
			_ = c.Wait()
		}()
		time.Sleep(300 * time.Millisecond) // the listener first
	}
	var received atomic.Int64
	sinkDone := make(chan struct{})
	go func() { // read and discard, counting payload bytes, until closed
		defer close(sinkDone)
		buf := make([]byte, 65536)
		for {
			n, _, err := sinkConn.ReadFromUDPAddrPort(buf)
			if err != nil {
				return
			}
			received.Add(int64(n))
		}
	}()
	defer func() {
		sinkConn.Close()
		<-sinkDone
	}()
	feed, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(in))
	if err != nil {
		return measurement{}, err
	}
	defer feed.Close()
	stopFeed := make(chan struct{})
	feedDone := make(chan error, 1)
	go func() { feedDone <- feedAt(feed, mbps, stopFeed) }()
	time.Sleep(s.warmup)
	b0 := received.Load()
	c0, err := procsCPU(pids(recv, send)...)
	if err != nil {
		return measurement{}, err
	}
	start := time.Now()
	time.Sleep(s.seconds)
	c1, err := procsCPU(pids(recv, send)...)
	if err != nil {
		return measurement{}, err
	}
	wall := time.Since(start)
	b1 := received.Load()
	close(stopFeed)
	if err := <-feedDone; err != nil {
		return measurement{}, err
	}
	m := measurement{cpu: c1 - c0, wall: wall, mediaMb: float64(b1-b0) * 8 / wall.Seconds() / 1e6}
	m.wireMb = m.mediaMb
	if m.mediaMb < mbps*0.9 {
		fmt.Fprintf(os.Stderr, "srtcompare: SRT delivered %.1f Mb/s of %.1f fed; the machine may be busy\n", m.mediaMb, mbps)
	}
	return m, nil
}

// feedAt sends srtPayload-byte datagrams on c at mbps until stop closes,
// a millisecond's worth at a time.
func feedAt(c *net.UDPConn, mbps float64, stop <-chan struct{}) error {
	buf := make([]byte, srtPayload)
	for i := range buf {
		buf[i] = byte(i)
	}
	perSecond := mbps * 1e6 / 8 / srtPayload
	start := time.Now()
	sent := 0.0
	t := time.NewTicker(time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return nil
		case now := <-t.C:
			for due := now.Sub(start).Seconds() * perSecond; sent < due; sent++ {
				if _, err := c.Write(buf); err != nil && !errors.Is(err, net.ErrClosed) {
					var ne net.Error
					if !errors.As(err, &ne) {
						return err
					}
				}
			}
		}
	}
}
