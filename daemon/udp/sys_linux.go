//go:build linux

package udp

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// mmsghdr is struct mmsghdr of sendmmsg(2) and recvmmsg(2).
type mmsghdr struct {
	hdr unix.Msghdr
	len uint32
}

// gsoSpace is the control message room of one send: UDP_SEGMENT, a
// uint16. oobSpace is that of one read: UDP_GRO, an int, and the kernel's
// receive time (SO_TIMESTAMPNS), a timespec.
var (
	gsoSpace = unix.CmsgSpace(2)
	oobSpace = unix.CmsgSpace(4) + unix.CmsgSpace(int(unsafe.Sizeof(unix.Timespec{})))
)

// sysConn makes the batched system calls. Its send state belongs to the
// WriteBatch caller and its read state to the ReadBatch caller.
type sysConn struct {
	rc  syscall.RawConn
	v6  bool // an AF_INET6 socket (IPv4 peers as mapped addresses)
	gso atomic.Bool
	gro bool
	// stamps: the kernel reports each datagram's receive time
	// (SO_TIMESTAMPNS), so that an arrival's time does not depend on
	// how soon the reader ran.
	stamps bool

	// send
	shdr   []mmsghdr
	siov   []unix.Iovec
	soob   []byte
	scount []int // datagrams in each message
	sa4    unix.RawSockaddrInet4
	sa6    unix.RawSockaddrInet6
	sendFn func(fd uintptr) bool
	sfrom  int // first message of the call
	sn     int // messages built
	sret   int
	serr   syscall.Errno

	// read
	rhdr   []mmsghdr
	riov   []unix.Iovec
	roob   []byte
	rsa    []unix.RawSockaddrInet6 // room for either family
	recvFn func(fd uintptr) bool
	rn     int
	rret   int
	rerr   syscall.Errno

	// readOnThread's
	threadFn  func(fd uintptr)
	pfd       [2]unix.PollFd // the socket and wake
	pts       unix.Timespec
	tdeadline time.Time
	twaited   bool
	terr      error
	wake      int // an eventfd that Close signals, to end a readOnThread wait
	closeOnce sync.Once

	// one datagram (WriteTo), from any goroutine
	one      sync.Mutex
	osa4     unix.RawSockaddrInet4
	osa6     unix.RawSockaddrInet6
	odg      []byte
	oname    *byte
	onamelen uint32
	oerr     syscall.Errno
	oneFn    func(fd uintptr) bool
}

func newSysConn(uc *net.UDPConn, offload bool) (*sysConn, error) {
	rc, err := uc.SyscallConn()
	if err != nil {
		return nil, err
	}
	s := &sysConn{rc: rc}
	var domain int
	var derr error
	if err := rc.Control(func(fd uintptr) {
		domain, derr = unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_DOMAIN)
		s.stamps = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_TIMESTAMPNS, 1) == nil
		if !offload {
			return
		}
		if _, err := unix.GetsockoptInt(int(fd), unix.IPPROTO_UDP, unix.UDP_SEGMENT); err == nil {
			s.gso.Store(true)
		}
		s.gro = unix.SetsockoptInt(int(fd), unix.IPPROTO_UDP, unix.UDP_GRO, 1) == nil
	}); err != nil {
		return nil, err
	}
	if derr != nil {
		return nil, fmt.Errorf("udp: socket family: %w", derr)
	}
	s.v6 = domain == unix.AF_INET6
	if s.wake, err = unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK); err != nil {
		return nil, os.NewSyscallError("eventfd", err)
	}
	s.sendFn = s.doSend
	s.recvFn = s.doRecv
	s.threadFn = s.doThreadRead
	s.oneFn = s.doSendOne
	return s, nil
}

// doSend and doRecv make their system calls raw (without telling the Go
// scheduler): the socket is non-blocking, so neither call ever blocks; a
// call that outlasts sysmon's tick (20 us: a 64 KB GSO send through
// loopback does) would otherwise have its P taken and handed to another
// thread, and the caller wait for one on return. Two real daemons at 25
// Mb/s spend about a tenth less CPU (docs/benchmarks.md).
func (s *sysConn) doSend(fd uintptr) bool {
	r, _, e := unix.RawSyscall6(unix.SYS_SENDMMSG, fd, uintptr(unsafe.Pointer(&s.shdr[s.sfrom])), uintptr(s.sn-s.sfrom), 0, 0, 0)
	if e == unix.EAGAIN || e == unix.EINTR {
		return false // wait until writable (EINTR: try again)
	}
	s.sret, s.serr = int(r), e
	return true
}

func (s *sysConn) doRecv(fd uintptr) bool {
	r, _, e := unix.RawSyscall6(unix.SYS_RECVMMSG, fd, uintptr(unsafe.Pointer(&s.rhdr[0])), uintptr(s.rn), 0, 0, 0)
	if e == unix.EAGAIN || e == unix.EINTR {
		return false // wait until readable
	}
	s.rret, s.rerr = int(r), e
	return true
}

// grow sizes the send state for n messages; it allocates only when a
// larger batch than any before comes.
func (s *sysConn) grow(n int) {
	if len(s.shdr) >= n {
		return
	}
	s.shdr = make([]mmsghdr, n)
	s.siov = make([]unix.Iovec, n)
	s.soob = make([]byte, n*gsoSpace)
	s.scount = make([]int, n)
}

// setDest fills the send address and returns it.
func (s *sysConn) setDest(to netip.AddrPort) (*byte, uint32, error) {
	return sockaddr(s.v6, to, &s.sa4, &s.sa6)
}

// sockaddr fills sa4 or sa6, as the socket's family asks, with to and
// returns the one filled.
func sockaddr(v6 bool, to netip.AddrPort, sa4 *unix.RawSockaddrInet4, sa6 *unix.RawSockaddrInet6) (*byte, uint32, error) {
	port := to.Port()
	if v6 {
		*sa6 = unix.RawSockaddrInet6{Family: unix.AF_INET6, Addr: to.Addr().As16()}
		p := (*[2]byte)(unsafe.Pointer(&sa6.Port))
		p[0], p[1] = byte(port>>8), byte(port)
		return (*byte)(unsafe.Pointer(sa6)), unix.SizeofSockaddrInet6, nil
	}
	a := to.Addr().Unmap()
	if !a.Is4() {
		return nil, 0, fmt.Errorf("udp: IPv6 destination %v on an IPv4 socket", to)
	}
	*sa4 = unix.RawSockaddrInet4{Family: unix.AF_INET, Addr: a.As4()}
	p := (*[2]byte)(unsafe.Pointer(&sa4.Port))
	p[0], p[1] = byte(port>>8), byte(port)
	return (*byte)(unsafe.Pointer(sa4)), unix.SizeofSockaddrInet4, nil
}

// writeOne sends one datagram with a raw sendto (see doSend), for WriteTo:
// a control message, a few a second. A plain system call would also wake
// sysmon out of its deep sleep whenever the process was idle, and send it
// back to polling every 20 us for the next milliseconds (Go's bet that
// more system calls follow); a receiver that sends feedback 20 times a
// second paid that each time. Safe for concurrent use.
func (s *sysConn) writeOne(dg []byte, to netip.AddrPort) error {
	if len(dg) == 0 {
		return nil
	}
	s.one.Lock()
	defer s.one.Unlock()
	name, namelen, err := sockaddr(s.v6, to, &s.osa4, &s.osa6)
	if err != nil {
		return err
	}
	s.odg, s.oname, s.onamelen = dg, name, namelen
	defer func() { s.odg, s.oname = nil, nil }()
	if err := s.rc.Write(s.oneFn); err != nil {
		return err // closed
	}
	if s.oerr != 0 {
		return os.NewSyscallError("sendto", s.oerr)
	}
	return nil
}

func (s *sysConn) doSendOne(fd uintptr) bool {
	_, _, e := unix.RawSyscall6(unix.SYS_SENDTO, fd, uintptr(unsafe.Pointer(&s.odg[0])), uintptr(len(s.odg)), 0,
		uintptr(unsafe.Pointer(s.oname)), uintptr(s.onamelen))
	if e == unix.EAGAIN || e == unix.EINTR {
		return false
	}
	s.oerr = e
	return true
}

// build lays out messages for datagrams first.. of b: with segmentation,
// runs of equal size (the last of a run may be shorter) up to MaxSegments
// and maxPayload bytes per message; without, one message per datagram.
func (s *sysConn) build(b *Batch, first int, name *byte, namelen uint32, gso bool) {
	s.grow(b.Len())
	s.sn = 0
	s.sfrom = 0
	start := 0
	if first > 0 {
		start = b.ends[first-1]
	}
	for i := first; i < b.Len(); {
		size := b.ends[i] - start
		end, count := b.ends[i], 1
		if gso {
			for j := i + 1; j < b.Len() && count < MaxSegments; j++ {
				l := b.ends[j] - b.ends[j-1]
				if l > size || b.ends[j]-start > maxPayload {
					break
				}
				end = b.ends[j]
				count++
				if l < size {
					break // a shorter datagram ends the run
				}
			}
		}
		m := &s.shdr[s.sn]
		*m = mmsghdr{}
		iov := &s.siov[s.sn]
		iov.Base = &b.buf[start]
		iov.SetLen(end - start)
		m.hdr.Name = name
		m.hdr.Namelen = namelen
		m.hdr.Iov = iov
		m.hdr.SetIovlen(1)
		if count > 1 {
			oob := s.soob[s.sn*gsoSpace : (s.sn+1)*gsoSpace]
			h := (*unix.Cmsghdr)(unsafe.Pointer(&oob[0]))
			h.Level = unix.SOL_UDP
			h.Type = unix.UDP_SEGMENT
			h.SetLen(unix.CmsgLen(2))
			*(*uint16)(unsafe.Pointer(&oob[unix.CmsgLen(0)])) = uint16(size)
			m.hdr.Control = &oob[0]
			m.hdr.SetControllen(gsoSpace)
		}
		s.scount[s.sn] = count
		s.sn++
		i += count
		start = end
	}
}

func (s *sysConn) write(b *Batch, st *Stats) (int, error) {
	name, namelen, err := s.setDest(b.Dest)
	if err != nil {
		return 0, err
	}
	gso := s.gso.Load()
	s.build(b, 0, name, namelen, gso)
	sent, done := 0, 0 // datagrams sent; datagrams dealt with
	var first error
	for s.sfrom < s.sn {
		if err := s.rc.Write(s.sendFn); err != nil {
			return sent, err // closed
		}
		st.SendCalls.Add(1)
		if s.serr == 0 {
			for _, c := range s.scount[s.sfrom : s.sfrom+s.sret] {
				sent += c
				done += c
			}
			s.sfrom += s.sret
			continue
		}
		// The message at sfrom was refused.
		if gso && s.scount[s.sfrom] > 1 && (s.serr == unix.EIO || s.serr == unix.EINVAL) {
			// No segmentation here after all (EIO: the device
			// lacks checksum offload); go on without it.
			s.gso.Store(false)
			gso = false
			s.build(b, done, name, namelen, false)
			continue
		}
		first = cmp(first, syscallError("sendmmsg", s.serr))
		done += s.scount[s.sfrom]
		s.sfrom++
	}
	st.Sent.Add(uint64(sent))
	return sent, first
}

func (s *sysConn) read(in *Inbox, st *Stats) (int, error) {
	s.prepare(in)
	if err := s.rc.Read(s.recvFn); err != nil {
		return 0, err // closed or deadline
	}
	return s.finish(in, st)
}

// readOnThread is Conn.ReadOnThread: a read that, when nothing is queued,
// waits in ppoll(2) on the calling thread, for the socket, the Conn's wake
// event (Close) or the deadline. It runs inside the RawConn's Control, so
// the descriptor stays open (and not reused) while it waits; Close signals
// the wake event first, which ends the wait.
func (s *sysConn) readOnThread(in *Inbox, deadline time.Time, st *Stats) (n int, waited bool, err error) {
	s.prepare(in)
	s.tdeadline, s.twaited, s.terr = deadline, false, errHold
	for s.terr == errHold {
		// Each hold on the descriptor lasts at most maxHold, so that a
		// socket closed other than by Conn.Close (which wakes the wait)
		// still closes, and the next Control says so.
		s.terr = nil
		if err := s.rc.Control(s.threadFn); err != nil {
			return 0, s.twaited, err // closed
		}
	}
	if s.terr != nil {
		return 0, s.twaited, s.terr
	}
	n, err = s.finish(in, st)
	return n, s.twaited, err
}

// maxHold bounds one readOnThread hold on the descriptor; errHold says
// it ran out.
const maxHold = time.Second

var errHold = errors.New("udp: hold on the socket over")

// doThreadRead is readOnThread's work with the descriptor.
func (s *sysConn) doThreadRead(fd uintptr) {
	if s.doRecv(fd) {
		return
	}
	s.twaited = true
	s.pfd = [2]unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}, {Fd: int32(s.wake), Events: unix.POLLIN}}
	held := time.Now()
	for {
		wait := maxHold - time.Since(held)
		if !s.tdeadline.IsZero() {
			left := time.Until(s.tdeadline)
			if left <= 0 {
				s.terr = os.ErrDeadlineExceeded
				return
			}
			wait = min(wait, left)
		}
		if wait <= 0 {
			s.terr = errHold
			return
		}
		s.pts = unix.NsecToTimespec(int64(wait))
		s.pfd[0].Revents, s.pfd[1].Revents = 0, 0
		// The wait gives up the runtime's P (see blockingPpoll).
		if e := blockingPpoll(&s.pfd[0], len(s.pfd), &s.pts); e != 0 && e != unix.EINTR {
			s.terr = os.NewSyscallError("ppoll", e)
			return
		}
		if s.pfd[1].Revents != 0 {
			s.terr = net.ErrClosed
			return
		}
		if s.doRecv(fd) {
			return
		} // else a timeout or a spurious wake-up
	}
}

// close closes uc, first ending a readOnThread wait: uc's Close waits for
// the wait's hold on the descriptor. The wake event goes after the socket,
// once nothing can wait on it.
func (s *sysConn) close(uc *net.UDPConn) error {
	first := false
	var err error
	s.closeOnce.Do(func() {
		first = true
		one := [8]byte{1, 0, 0, 0, 0, 0, 0, 1} // an eventfd adds the uint64; any non-zero value wakes
		_, _ = unix.Write(s.wake, one[:])
		err = uc.Close()
		_ = unix.Close(s.wake)
	})
	if !first {
		return uc.Close() // closed already: the socket says so
	}
	return err
}

// prepare points the read headers at in's buffers.
func (s *sysConn) prepare(in *Inbox) {
	n := len(in.slots)
	if len(s.rhdr) < n {
		s.rhdr = make([]mmsghdr, n)
		s.riov = make([]unix.Iovec, n)
		s.rsa = make([]unix.RawSockaddrInet6, n)
		s.roob = make([]byte, n*oobSpace)
	}
	for i, slot := range in.slots {
		m := &s.rhdr[i]
		*m = mmsghdr{}
		iov := &s.riov[i]
		iov.Base = &slot[0]
		iov.SetLen(len(slot))
		m.hdr.Name = (*byte)(unsafe.Pointer(&s.rsa[i]))
		m.hdr.Namelen = unix.SizeofSockaddrInet6
		m.hdr.Iov = iov
		m.hdr.SetIovlen(1)
		if s.gro || s.stamps {
			m.hdr.Control = &s.roob[i*oobSpace]
			m.hdr.SetControllen(oobSpace)
		}
	}
	s.rn = n
}

// finish splits what the last recvmmsg read into in.
func (s *sysConn) finish(in *Inbox, st *Stats) (int, error) {
	st.RecvCalls.Add(1)
	if s.rerr != 0 {
		return 0, syscallError("recvmmsg", s.rerr)
	}
	for i := range s.rret {
		m := &s.rhdr[i]
		from := sockaddrPort(&s.rsa[i])
		data := in.slots[i][:min(int(m.len), len(in.slots[i]))]
		var seg int
		var at int64
		if m.hdr.Controllen > 0 {
			seg, at = parseControl(s.roob[i*oobSpace : i*oobSpace+int(m.hdr.Controllen)])
		}
		if seg <= 0 || seg >= len(data) {
			if in.addAt(data, from, at) {
				st.Received.Add(1)
			}
			continue
		}
		for len(data) > 0 {
			l := min(seg, len(data))
			if !in.addAt(data[:l:l], from, at) {
				break
			}
			st.Received.Add(1)
			data = data[l:]
		}
	}
	return in.Len(), nil
}

// parseControl returns what a read's control messages say: the segment
// size (UDP_GRO; 0: none) and the kernel's receive time in Unix
// nanoseconds (SO_TIMESTAMPNS; 0: none).
func parseControl(oob []byte) (seg int, at int64) {
	for len(oob) >= unix.SizeofCmsghdr {
		h, data, rest, err := unix.ParseOneSocketControlMessage(oob)
		if err != nil {
			return seg, at
		}
		switch {
		case h.Level == unix.SOL_UDP && h.Type == unix.UDP_GRO && len(data) >= 4:
			seg = int(*(*int32)(unsafe.Pointer(&data[0])))
		case h.Level == unix.SOL_SOCKET && h.Type == unix.SCM_TIMESTAMPNS && len(data) >= int(unsafe.Sizeof(unix.Timespec{})):
			at = (*unix.Timespec)(unsafe.Pointer(&data[0])).Nano()
		}
		oob = rest
	}
	return seg, at
}

// sockaddrPort reads the sender's address the kernel wrote.
func sockaddrPort(sa *unix.RawSockaddrInet6) netip.AddrPort {
	switch sa.Family {
	case unix.AF_INET6:
		p := (*[2]byte)(unsafe.Pointer(&sa.Port))
		return netip.AddrPortFrom(netip.AddrFrom16(sa.Addr), uint16(p[0])<<8|uint16(p[1]))
	case unix.AF_INET:
		sa4 := (*unix.RawSockaddrInet4)(unsafe.Pointer(sa))
		p := (*[2]byte)(unsafe.Pointer(&sa4.Port))
		return netip.AddrPortFrom(netip.AddrFrom4(sa4.Addr), uint16(p[0])<<8|uint16(p[1]))
	}
	return netip.AddrPort{}
}

// syscallError wraps errno as the net package reports socket errors.
func syscallError(call string, errno syscall.Errno) error {
	return &net.OpError{Op: call, Net: "udp", Err: os.NewSyscallError(call, errno)}
}
