package control

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"alpine-server/internal/restart"
)

// fatalWindow is the window of SPEC §4's "10 failures within 60 s" rule,
// named in fatal lines: "60s".
var fatalWindow = strconv.Itoa(int(restart.FatalWindow/time.Second)) + "s"

// The states `sv status` prints (ServiceStatus.State): runit's words,
// plus svinit's backoff, fatal and finish. The supervisor's states map
// onto these in boot.
const (
	StateDown     = "down"     // not running
	StateStarting = "starting" // running, not ready yet
	StateRun      = "run"      // running (ready unless draining)
	StateStopping = "stopping" // asked to stop, or what is left of its process group is being stopped
	StateFinish   = "finish"   // its finish script runs
	StateBackoff  = "backoff"  // exited; restarts after a delay
	StateFatal    = "fatal"    // failed too often; waits for sv start or a reload
)

// StatusLine formats s the way runit's `sv status` does, "STATE: NAME: ...":
//
//	run: ssh: (pid 23) 154s, ready
//	run: syslog: (builtin) 154s, ready
//	run: web: (pid 23) 3s, normally down, want down
//	starting: web: (pid 23) 1s
//	stopping: web: (pid 23) 1s, want down
//	finish: web: (pid 31) 0s                        (its finish script runs)
//	finish: web: (pid 31) 0s, want down             (and no restart follows)
//	down: cron: 3s, normally up, want up
//	down: migrate: 40s, ready                       (a oneshot that exited 0)
//	backoff: web: exited 1, restart in 1.6s
//	fatal: web: exited 1 ten times in 60s; last: exited 1
//	fatal: web: failed ten times in 60s             (no exit: e.g. ready timeouts)
//	run: web: (pid 23) 154s, ready, unhealthy        (health: failing)
//	run: db: (pid 31) 9s, ready; ready to accept connections   (its STATUS=)
//
// The seconds are the time in the current state. The suffixes follow runit:
// ", normally down" for a running service that is not auto_start, ", normally
// up" for a stopped one that is; ", want up" / ", want down" when the wanted
// state differs from the running one; ", ready" once readiness is reached.
// A finish line and a finished oneshot's line leave the runit suffixes out.
// backoff and fatal lines carry their reason instead. A service with
// health: says ", healthy" or ", unhealthy"; a running notify service's
// last STATUS= follows a "; ", control characters shown as "?".
func StatusLine(s ServiceStatus, now time.Time) string {
	head := s.State + ": " + s.Name + ": "
	switch s.State {
	case StateBackoff:
		return head + backoffText(s)
	case StateFatal:
		return head + fatalText(s)
	}
	var parts []string
	if who := process(s); who != "" {
		parts = append(parts, who)
	}
	if !s.Since.IsZero() {
		parts = append(parts, strconv.Itoa(int(max(now.Sub(s.Since), 0)/time.Second))+"s")
	}
	items := suffixes(s)
	if s.Health != "" {
		items = append(items, s.Health)
	}
	if first := strings.Join(parts, " "); first != "" {
		items = append([]string{first}, items...)
	}
	line := strings.TrimSuffix(head+strings.Join(items, ", "), " ")
	if s.StatusText != "" && running(s) {
		line += "; " + printable(s.StatusText)
	}
	return line
}

// printable replaces control characters, so a service's text cannot
// move the cursor or clear the terminal of whoever runs sv status.
func printable(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return '?'
		}
		return r
	}, s)
}

// process is "(pid N)" or "(builtin)" for a service with something running.
func process(s ServiceStatus) string {
	switch {
	case s.Pid > 0:
		return fmt.Sprintf("(pid %d)", s.Pid)
	case s.Builtin && running(s):
		return "(builtin)"
	}
	return ""
}

// running says whether the service's process (or built-in) is alive.
func running(s ServiceStatus) bool {
	switch s.State {
	case StateRun, StateStarting, StateStopping, StateFinish:
		return true
	}
	return false
}

// suffixes are runit's ", normally up", ", want down"... plus readiness.
func suffixes(s ServiceStatus) []string {
	var out []string
	switch up := running(s); {
	case s.State == StateFinish:
		// Between two runs: only say when no next run will come.
		if !s.WantUp {
			out = append(out, "want down")
		}
	case s.Oneshot && s.Ready && !up:
		// A oneshot that exited 0 is done; wanting it up means nothing more.
	default:
		out = runitSuffixes(s, up)
	}
	if s.Ready {
		out = append(out, "ready")
	}
	return out
}

// runitSuffixes are sv's rules: say "normally" when the running state
// differs from auto_start, and "want" when it differs from the wanted state.
func runitSuffixes(s ServiceStatus, up bool) []string {
	var out []string
	if up && !s.NormallyUp {
		out = append(out, "normally down")
	}
	if !up && s.NormallyUp {
		out = append(out, "normally up")
	}
	if s.WantUp && !up {
		out = append(out, "want up")
	}
	if !s.WantUp && up {
		out = append(out, "want down")
	}
	return out
}

// backoffText is "exited 1, restart in 1.6s".
func backoffText(s ServiceStatus) string {
	in := time.Duration(s.RestartIn * float64(time.Second)).Round(time.Millisecond)
	if s.LastExit == nil {
		return "restart in " + in.String()
	}
	return exitText(*s.LastExit) + ", restart in " + in.String()
}

// fatalText is "exited 1 ten times in 60s; last: exited 1".
func fatalText(s ServiceStatus) string {
	times := countText(s.Failures) + " in " + fatalWindow
	if s.LastExit == nil {
		return "failed " + times
	}
	last := exitText(*s.LastExit)
	return last + " " + times + "; last: " + last
}

// countWords spells the small counts as the SPEC's example does ("ten times").
var countWords = []string{"no times", "once", "twice", "three times", "four times",
	"five times", "six times", "seven times", "eight times", "nine times", "ten times"}

// countText is "ten times", or "12 times" beyond ten.
func countText(n int) string {
	if n >= 0 && n < len(countWords) {
		return countWords[n]
	}
	return strconv.Itoa(n) + " times"
}

// exitText matches reaper.Exit.String: "exited 3" or "killed by SIGKILL".
func exitText(e ExitInfo) string {
	if e.Signal != "" {
		return "killed by SIG" + e.Signal
	}
	return "exited " + strconv.Itoa(e.Code)
}
