// Package sockfile owns the one rule for the socket files svinit binds
// (the control socket, /dev/log): a leftover socket of an earlier run is
// removed; anything else at the path is someone's data, and a socket that
// someone still serves is theirs.
package sockfile

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"time"
)

// RemoveStale removes a socket file left at path by an earlier run, so
// that path can be bound again. network ("unix", "unixgram") is how the
// socket is used: a connect that succeeds means a live server, which is
// an error, as is any file at path that is not a socket. A missing path
// is fine. Errors name the path.
func RemoveStale(network, path string) error {
	fi, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if fi.Mode().Type() != fs.ModeSocket {
		return fmt.Errorf("%s: exists and is not a socket (%v)", path, fi.Mode().Type())
	}
	if c, err := net.DialTimeout(network, path, time.Second); err == nil {
		c.Close()
		return fmt.Errorf("%s: another process is listening on it", path)
	}
	if err := os.Remove(path); err != nil {
		return fmt.Errorf("%s: remove stale socket: %w", path, err)
	}
	return nil
}
