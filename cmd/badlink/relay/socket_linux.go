package relay

import (
	"encoding/binary"
	"fmt"
	"net"
	"syscall"
)

// prepareOS turns on SO_RXQ_OVFL and reads back SO_RCVBUF.
func prepareOS(c *net.UDPConn) (rcvbuf int, err error) {
	rc, err := c.SyscallConn()
	if err != nil {
		return 0, err
	}
	var serr error
	if err := rc.Control(func(fd uintptr) {
		if serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RXQ_OVFL, 1); serr != nil {
			serr = fmt.Errorf("enabling SO_RXQ_OVFL: %w", serr)
			return
		}
		rcvbuf, serr = syscall.GetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF)
	}); err != nil {
		return 0, err
	}
	return rcvbuf, serr
}

// kernelDrops finds the SO_RXQ_OVFL control message in oob and returns the
// socket's cumulative drop count. It walks the cmsghdr list by hand
// because syscall.ParseSocketControlMessage allocates.
//
//	cmsghdr: len (size_t, covers header and data) | level int32 | type int32 | data, aligned
func kernelDrops(oob []byte) (drops uint32, ok bool) {
	const hdr = syscall.SizeofCmsghdr
	for len(oob) >= hdr {
		var n uint64
		if hdr == 16 {
			n = binary.NativeEndian.Uint64(oob)
		} else {
			n = uint64(binary.NativeEndian.Uint32(oob))
		}
		level := int32(binary.NativeEndian.Uint32(oob[hdr-8:]))
		typ := int32(binary.NativeEndian.Uint32(oob[hdr-4:]))
		if n < hdr || n > uint64(len(oob)) {
			return 0, false
		}
		if level == syscall.SOL_SOCKET && typ == syscall.SO_RXQ_OVFL && n >= hdr+4 {
			return binary.NativeEndian.Uint32(oob[hdr:]), true
		}
		next := syscall.CmsgSpace(int(n) - hdr)
		if next > len(oob) {
			return 0, false
		}
		oob = oob[next:]
	}
	return 0, false
}
