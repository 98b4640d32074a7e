package syslogd

import (
	"alpine-server/internal/sockfile"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
)

// socketMode lets every user's services log, as /dev/log always allows.
const socketMode = 0o666

// listenDatagram binds the datagram socket at path, world-writable, with a
// large receive buffer.
func listenDatagram(path string, log Logger) (*net.UnixConn, error) {
	if err := prepareSocketPath("unixgram", path); err != nil {
		return nil, err
	}
	c, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		return nil, fmt.Errorf("syslog: listen %s: %w", path, err)
	}
	if err := openUp(path, c); err != nil {
		return nil, err
	}
	if err := c.SetReadBuffer(rcvBuf); err != nil {
		log.Debugf("syslog: set receive buffer of %s: %v", path, err)
	}
	return c, nil
}

// listenStream binds the stream socket at path, world-writable.
func listenStream(path string) (*net.UnixListener, error) {
	if err := prepareSocketPath("unix", path); err != nil {
		return nil, err
	}
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		return nil, fmt.Errorf("syslog: listen %s: %w", path, err)
	}
	// Run removes the file itself, after both sockets are closed.
	ln.SetUnlinkOnClose(false)
	if err := openUp(path, ln); err != nil {
		return nil, err
	}
	return ln, nil
}

// openUp makes the socket at path world-writable; on failure it closes
// the socket and removes its file.
func openUp(path string, c io.Closer) error {
	if err := os.Chmod(path, socketMode); err != nil {
		c.Close()
		removeSocket(path)
		return fmt.Errorf("syslog: chmod %s: %w", path, err)
	}
	return nil
}

// prepareSocketPath creates the socket's directory and removes a stale
// socket left by an earlier run (sockfile's rule: never someone's data,
// never a socket someone still serves).
func prepareSocketPath(network, path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("syslog: create directory of %s: %w", path, err)
	}
	if err := sockfile.RemoveStale(network, path); err != nil {
		return fmt.Errorf("syslog: %w", err)
	}
	return nil
}

// removeSocket removes the socket file. A failure is not reported: the
// next run removes a leftover as stale.
func removeSocket(path string) {
	_ = os.Remove(path)
}
