// Package privdrop resolves "USER[:GROUP]" specs the way ncopa/su-exec and
// tianon/gosu do, and implements the su-exec command.
//
// It reads /etc/passwd and /etc/group itself instead of using os/user:
// without cgo, os/user cannot list a user's supplementary groups, and svinit
// is built with CGO_ENABLED=0.
package privdrop

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"
	"strings"
)

// maxID is the largest uid or gid accepted, as in runc's libcontainer/user:
// ids above it are negative in a C int, and 4294967295 means "no change"
// to setuid(2).
const maxID = 1<<31 - 1

// passwdEntry is one valid line of /etc/passwd.
type passwdEntry struct {
	Name string
	Uid  uint32
	Gid  uint32
	Home string
}

// groupEntry is one valid line of /etc/group.
type groupEntry struct {
	Name    string
	Gid     uint32
	Members []string
}

// readLines returns the lines of path worth parsing: blank lines and
// comments are dropped. A missing file reads as empty, as in gosu, so that
// numeric ids still work in a scratch image without /etc/passwd.
func readLines(path string) ([]string, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	defer f.Close()
	var lines []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		lines = append(lines, line)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return lines, nil
}

// parseID parses a decimal uid or gid in [0, maxID]; ok is false for
// anything else (signs, spaces, hex, overflow).
func parseID(s string) (id uint32, ok bool) {
	if !isDigits(s) {
		return 0, false
	}
	n, err := strconv.ParseUint(s, 10, 32)
	if err != nil || n > maxID {
		return 0, false
	}
	return uint32(n), true
}

// parsePasswd parses passwd lines "name:pw:uid:gid:gecos:home:shell".
// Malformed lines (fewer than 4 fields, empty name, ids that are not
// decimal numbers in range) are skipped silently, as glibc does: one bad
// line must not lock every user out. gosu's parser instead reads a bad id
// as 0 — root — which we never do. Fields after gid are optional (a missing
// home is "").
func parsePasswd(lines []string) []passwdEntry {
	var out []passwdEntry
	for _, line := range lines {
		f := strings.Split(line, ":")
		if len(f) < 4 || f[0] == "" {
			continue
		}
		uid, ok1 := parseID(f[2])
		gid, ok2 := parseID(f[3])
		if !ok1 || !ok2 {
			continue
		}
		e := passwdEntry{Name: f[0], Uid: uid, Gid: gid}
		if len(f) > 5 {
			e.Home = f[5]
		}
		out = append(out, e)
	}
	return out
}

// parseGroup parses group lines "name:pw:gid:member,member". Malformed
// lines are skipped, as in parsePasswd; spaces around member names are
// dropped (glibc drops leading ones).
func parseGroup(lines []string) []groupEntry {
	var out []groupEntry
	for _, line := range lines {
		f := strings.Split(line, ":")
		if len(f) < 3 || f[0] == "" {
			continue
		}
		gid, ok := parseID(f[2])
		if !ok {
			continue
		}
		e := groupEntry{Name: f[0], Gid: gid}
		if len(f) > 3 {
			for _, m := range strings.Split(f[3], ",") {
				if m = strings.TrimSpace(m); m != "" {
					e.Members = append(e.Members, m)
				}
			}
		}
		out = append(out, e)
	}
	return out
}
