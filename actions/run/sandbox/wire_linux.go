package sandbox

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"

	"golang.org/x/sys/unix"
)

// The bot, the supervisor and the spawner talk over Unix stream socket
// pairs: each message is a 4-byte length and that many bytes, and may
// carry descriptors (the command's output pipe).

// maxMessage bounds a message: a command's arguments and environment are
// bounded by the kernel's ARG_MAX, a few MiB at most.
const maxMessage = 16 << 20

// socketPair returns two connected, close-on-exec stream sockets.
func socketPair() (a, b int, err error) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return -1, -1, fmt.Errorf("socket pair: %w", err)
	}
	return fds[0], fds[1], nil
}

// unixConn makes fd a connection served by the runtime's poller, so that
// a goroutine waiting for a message holds no thread. It takes fd over.
func unixConn(fd int) (*net.UnixConn, error) {
	f := os.NewFile(uintptr(fd), "socket")
	defer f.Close()
	c, err := net.FileConn(f)
	if err != nil {
		return nil, err
	}
	uc, ok := c.(*net.UnixConn)
	if !ok {
		c.Close()
		return nil, errors.New("not a Unix socket")
	}
	return uc, nil
}

// send writes one message on c, with fds attached.
func send(c *net.UnixConn, payload []byte, fds ...int) error {
	b := binary.BigEndian.AppendUint32(make([]byte, 0, 4+len(payload)), uint32(len(payload)))
	b = append(b, payload...)
	var oob []byte
	if len(fds) > 0 {
		oob = unix.UnixRights(fds...)
	}
	n, _, err := c.WriteMsgUnix(b, oob, nil)
	if err == nil && n < len(b) {
		_, err = c.Write(b[n:])
	}
	return err
}

// recv reads one message from c and the descriptors that came with it
// (close-on-exec). At the end of the stream it returns io.EOF.
func recv(c *net.UnixConn) ([]byte, []int, error) {
	var hdr [4]byte
	oob := make([]byte, unix.CmsgSpace(4*4))
	n, oobn, _, _, err := c.ReadMsgUnix(hdr[:], oob)
	if err != nil {
		return nil, nil, err
	}
	if n == 0 {
		return nil, nil, io.EOF
	}
	fds, err := rights(oob[:oobn])
	if err != nil {
		return nil, nil, err
	}
	fail := func(err error) ([]byte, []int, error) {
		for _, f := range fds {
			unix.Close(f)
		}
		return nil, nil, err
	}
	if _, err := io.ReadFull(c, hdr[n:]); err != nil {
		return fail(err)
	}
	size := binary.BigEndian.Uint32(hdr[:])
	if size > maxMessage {
		return fail(fmt.Errorf("message of %d bytes", size))
	}
	payload := make([]byte, size)
	if _, err := io.ReadFull(c, payload); err != nil {
		return fail(err)
	}
	return payload, fds, nil
}

func rights(oob []byte) ([]int, error) {
	if len(oob) == 0 {
		return nil, nil
	}
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return nil, fmt.Errorf("control message: %w", err)
	}
	var fds []int
	for _, m := range msgs {
		got, err := unix.ParseUnixRights(&m)
		if err != nil {
			return nil, fmt.Errorf("control message: %w", err)
		}
		fds = append(fds, got...)
	}
	return fds, nil
}
