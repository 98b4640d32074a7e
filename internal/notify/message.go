// Package notify is how a service tells svinit it is ready, without being
// probed: systemd's notify protocol (`ready: {notify: systemd}`, a datagram
// socket named by $NOTIFY_SOCKET) and s6's notification fd (`ready: {fd: N}`,
// a newline written to fd N).
//
// The socket side follows what systemd's manager does (sd_notify(3),
// src/core/manager.c): one unix datagram socket per service, SO_PASSCRED so
// the kernel stamps every message with its sender's pid and uid, messages
// of at most 4096 bytes, every file descriptor that arrives with a message
// closed (systemd-notify sends BARRIER=1 with one and waits until the
// manager closes it). A message from a process that is not the service's,
// an oversized or a malformed one is ignored and counted, never fatal.
package notify

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// MaxMessage is the largest notify message accepted, systemd's
// NOTIFY_BUFFER_MAX (PIPE_BUF); a longer datagram is ignored.
const MaxMessage = 4096

// maxPid is the kernel's PID_MAX_LIMIT (4194304 on 64-bit).
const maxPid = 1 << 22

// Message is one notify datagram, parsed. The zero value says nothing.
type Message struct {
	Ready     bool // READY=1: startup (or a reload) is finished
	Stopping  bool // STOPPING=1: the service is shutting down
	Reloading bool // RELOADING=1: the service reloads its configuration

	// Status is STATUS=: a one-line text for `sv status`; HasStatus says
	// it was sent (an empty STATUS= clears the previous one).
	Status    string
	HasStatus bool

	// MainPID is MAINPID=: the service's main process is now this pid
	// (0: not sent).
	MainPID int

	// Extend is EXTEND_TIMEOUT_USEC=: the current timeout (readiness,
	// stop) is pushed to at least this long from now; HasExtend says it
	// was sent (0 is a valid value).
	Extend    time.Duration
	HasExtend bool

	Watchdog        bool // WATCHDOG=1: the keep-alive ping
	WatchdogTrigger bool // WATCHDOG=trigger: fail the watchdog now

	// WatchdogInterval is WATCHDOG_USEC=: the service asks for a new watchdog
	// interval (0: not sent).
	WatchdogInterval time.Duration

	Barrier bool // BARRIER=1: sent with a fd that must be closed (the manager has seen what came before)
}

// Parse reads one notify message: newline-separated KEY=VALUE assignments,
// as sd_notify(3) writes them. Empty lines are skipped, keys svinit does
// not use (FDSTORE, ERRNO, X_*...) are ignored, a repeated key's last value
// counts. A message is taken whole or not at all: it is malformed (an
// error) when it is empty, not UTF-8, holds a NUL, has a line without
// "KEY=", or gives a key svinit uses a value it cannot use. Parse never
// keeps a reference to b.
func Parse(b []byte) (Message, error) {
	var m Message
	if len(b) == 0 {
		return m, errors.New("empty message")
	}
	if len(b) > MaxMessage {
		return m, fmt.Errorf("message of %d bytes is over %d", len(b), MaxMessage)
	}
	if !utf8.Valid(b) {
		return m, errors.New("not UTF-8")
	}
	some := false
	for line := range strings.SplitSeq(string(b), "\n") {
		if line == "" {
			continue
		}
		key, value, ok := strings.Cut(line, "=")
		if !ok || key == "" {
			return Message{}, fmt.Errorf("line %q: want KEY=VALUE", clip(line))
		}
		if strings.ContainsRune(line, 0) {
			return Message{}, fmt.Errorf("line %q: holds a NUL byte", clip(line))
		}
		if err := m.set(key, value); err != nil {
			return Message{}, fmt.Errorf("%s=%q: %w", key, clip(value), err)
		}
		some = true
	}
	if !some {
		return Message{}, errors.New("no KEY=VALUE line")
	}
	return m, nil
}

// set applies one assignment.
func (m *Message) set(key, value string) error {
	var err error
	switch key {
	case "READY":
		m.Ready, err = one(value)
	case "STOPPING":
		m.Stopping, err = one(value)
	case "RELOADING":
		m.Reloading, err = one(value)
	case "BARRIER":
		m.Barrier, err = one(value)
	case "STATUS":
		m.Status, m.HasStatus = value, true
	case "MAINPID":
		n, perr := strconv.ParseUint(value, 10, 32)
		if perr != nil || n == 0 || n > maxPid {
			return errors.New("want a process id")
		}
		m.MainPID = int(n)
	case "EXTEND_TIMEOUT_USEC":
		m.Extend, err = usec(value)
		m.HasExtend = err == nil
	case "WATCHDOG":
		switch value {
		case "1":
			m.Watchdog = true
		case "trigger":
			m.WatchdogTrigger = true
		default:
			return errors.New("want 1 or trigger")
		}
	case "WATCHDOG_USEC":
		if m.WatchdogInterval, err = usec(value); err == nil && m.WatchdogInterval == 0 {
			err = errors.New("want more than 0")
		}
	}
	return err
}

// one accepts the only value systemd acts on for flags.
func one(v string) (bool, error) {
	if v != "1" {
		return false, errors.New("want 1")
	}
	return true, nil
}

// usec reads microseconds; values past what a Duration holds are capped
// (systemd's USEC_INFINITY is 2^64-1: "no timeout" in effect).
func usec(v string) (time.Duration, error) {
	n, err := strconv.ParseUint(v, 10, 64)
	if err != nil {
		return 0, errors.New("want microseconds")
	}
	if n > math.MaxInt64/uint64(time.Microsecond) {
		return math.MaxInt64, nil
	}
	return time.Duration(n) * time.Microsecond, nil
}

// clip shortens text quoted in an error (a debug log line, not a dump).
func clip(s string) string {
	if len(s) <= 64 {
		return s
	}
	i := 64
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	return s[:i] + "…"
}
