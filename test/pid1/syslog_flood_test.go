package pid1

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

const floodCount = 10000

// syslogBox boots svinit with the syslog built-in on a socket of its own
// and waits until it is ready; stdout nil collects svinit's stdout.
func syslogBox(t *testing.T, stdout io.Writer) (*box, string) {
	t.Helper()
	b := boot(t, spec{
		stdout: stdout,
		services: map[string]map[string]string{
			"syslog": {"manifest.yml": manifest("command: [builtin, syslog]", "environment:", "  SYSLOG_SOCKET: ${T}/log")},
		},
	})
	socket := filepath.Join(b.dir, "log")
	b.waitStatus("syslog", `^run: syslog: \(builtin\) \d+s, .*ready`, 10*time.Second)
	return b, socket
}

// flood sends n numbered RFC 3164 datagrams, padded with pad bytes, as
// fast as the socket takes them and returns how long the sending took.
func flood(t *testing.T, socket string, n, pad int) time.Duration {
	t.Helper()
	c, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: socket, Net: "unixgram"})
	if err != nil {
		t.Fatalf("dial %s: %v", socket, err)
	}
	defer c.Close()
	_ = c.SetWriteDeadline(time.Now().Add(60 * time.Second))
	start := time.Now()
	for i := 0; i < n; i++ {
		if _, err := fmt.Fprintf(c, "<14>Nov 30 00:00:00 flood[7]: msg %d%s", i, strings.Repeat(" ", pad)); err != nil {
			t.Fatalf("send %d after %v: %v (a stalled stdout must not block the sender for ever)", i, time.Since(start), err)
		}
	}
	return time.Since(start)
}

var floodLine = regexp.MustCompile(`^syslog\s+\| user\.info flood\[7\]: msg (\d+)$`)

func TestSyslogFloodArrivesInOrderWithoutLoss(t *testing.T) {
	t.Parallel()
	b, socket := syslogBox(t, nil)
	took := flood(t, socket, floodCount, 0)
	waitFor(t, 30*time.Second, "the last message", func() bool {
		return b.out.index(fmt.Sprintf(`flood\[7\]: msg %d$`, floodCount-1)) >= 0
	})
	next := 0
	sc := bufio.NewScanner(strings.NewReader(b.out.String()))
	for sc.Scan() {
		m := floodLine.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		if got, _ := strconv.Atoi(m[1]); got != next {
			t.Fatalf("message %d arrived where %d was due (lost or out of order)", got, next)
		}
		next++
	}
	if next != floodCount {
		t.Fatalf("%d of %d messages arrived", next, floodCount)
	}
	t.Logf("%d datagrams sent in %v, all arrived in order", floodCount, took)
}

func TestSyslogFloodWithStalledStdoutDropsAndCounts(t *testing.T) {
	t.Parallel()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	b, socket := syslogBox(t, w)
	w.Close()
	// 10 MB: more than svinit queues (4 MiB), while nobody reads stdout.
	took := flood(t, socket, floodCount, 1000)
	t.Logf("%d datagrams of 1 KB sent into a stalled stdout in %v", floodCount, took)
	if !pipeFull(r) {
		t.Fatalf("stdout was not stalled")
	}
	go func() { _, _ = io.Copy(io.Discard, r) }()
	// svinit's stderr (b.out) gets the drop report once stdout moves again.
	line := b.waitLog(`warn: dropped \d+ log lines`, 30*time.Second)
	t.Logf("after draining: %s", line)
	if st := b.statusJSON("syslog"); st.State != "run" {
		t.Errorf("syslog is %s after the flood", st.State)
	}
}
