package syslogd

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"path/filepath"
)

// socketMode lets every user's services log, as /dev/log always allows.
const socketMode = 0o666

// listenDatagram binds the datagram socket at path, world-writable, with a
// large receive buffer.
func listenDatagram(path string, log Logger) (*net.UnixConn, error) {
	if err := prepareSocketPath(path); err != nil {
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
	if err := prepareSocketPath(path); err != nil {
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
// socket left by an earlier run. Anything else at path is an error: a
// regular file or a symlink there is someone's data, not ours to delete.
func prepareSocketPath(path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("syslog: create directory of %s: %w", path, err)
	}
	fi, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("syslog: stat %s: %w", path, err)
	}
	if fi.Mode().Type() != fs.ModeSocket {
		return fmt.Errorf("syslog: %s exists and is not a socket (%v)", path, fi.Mode().Type())
	}
	if err := os.Remove(path); err != nil {
		return fmt.Errorf("syslog: remove stale socket %s: %w", path, err)
	}
	return nil
}

// removeSocket removes the socket file. A failure is not reported: the
// next run removes a leftover as stale.
func removeSocket(path string) {
	_ = os.Remove(path)
}
