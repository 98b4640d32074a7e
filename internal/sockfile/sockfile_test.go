package sockfile

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRemoveStale(t *testing.T) {
	dir := t.TempDir()
	if err := RemoveStale("unix", filepath.Join(dir, "missing")); err != nil {
		t.Errorf("missing path: %v", err)
	}

	file := filepath.Join(dir, "file")
	os.WriteFile(file, []byte("data"), 0o644)
	if err := RemoveStale("unix", file); err == nil || !strings.Contains(err.Error(), file+": exists and is not a socket") {
		t.Errorf("regular file: %v", err)
	}
	if _, err := os.Stat(file); err != nil {
		t.Errorf("the regular file was removed")
	}

	for _, network := range []string{"unix", "unixgram"} {
		live := filepath.Join(dir, network+".live")
		var closer interface{ Close() error }
		if network == "unix" {
			l, err := net.Listen(network, live)
			if err != nil {
				t.Fatal(err)
			}
			closer = l
		} else {
			c, err := net.ListenPacket(network, live)
			if err != nil {
				t.Fatal(err)
			}
			closer = c
		}
		if err := RemoveStale(network, live); err == nil || !strings.Contains(err.Error(), "another process is listening on it") {
			t.Errorf("%s live socket: %v", network, err)
		}
		closer.Close()
	}

	// A socket whose server is gone (net's Close unlinks the path, so
	// bind one by hand and leave the file).
	stale := filepath.Join(dir, "stale")
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: stale, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	l.SetUnlinkOnClose(false)
	l.Close()
	if err := RemoveStale("unix", stale); err != nil {
		t.Errorf("stale socket: %v", err)
	}
	if _, err := os.Lstat(stale); !os.IsNotExist(err) {
		t.Errorf("stale socket still there")
	}
}
