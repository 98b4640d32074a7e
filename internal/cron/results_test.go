package cron

import (
	"errors"
	"regexp"
	"syscall"
	"testing"
	"time"
)

// jobs returns the status of every job, by user and line.
func (h *harness) jobs() []JobStatus {
	return h.cron.Status().(StatusReport).Jobs
}

func TestResults(t *testing.T) {
	h := newHarness(t, map[string]string{"root": "*/15 * * * * report\n*/15 * * * * report\n0 13 * * * other\n"}, nil)
	h.start()
	h.at(12, 15, 0)
	h.waitSpawns(2)
	h.clock.Set(time.Date(2024, 1, 15, 12, 15, 3, 0, time.UTC))
	h.exit(0, 0)
	h.exit(1, 2)
	jobs := h.jobs()
	if len(jobs) != 3 {
		t.Fatalf("jobs: %+v", jobs)
	}
	a, b, other := jobs[0], jobs[1], jobs[2]
	if a.Runs != 1 || a.Failures != 0 || a.Duration == nil || *a.Duration != 3 || *a.LastExit != 0 {
		t.Errorf("first job: %+v", a)
	}
	if b.Runs != 1 || b.Failures != 1 || b.Duration == nil || *b.Duration != 3 || *b.LastExit != 2 {
		t.Errorf("second job: %+v", b)
	}
	if other.Runs != 0 || other.Failures != 0 || other.Duration != nil || other.LastExit != nil || other.NextRun == nil {
		t.Errorf("job that never ran: %+v", other)
	}
	if !regexp.MustCompile(`^[0-9a-f]{8}$`).MatchString(a.ID) || b.ID != a.ID+"-2" || other.ID == a.ID {
		t.Errorf("ids %q %q %q: want 8 hex digits, identical lines told apart", a.ID, b.ID, other.ID)
	}

	// A start that fails is a run and a failure, and keeps the last duration.
	h.spawn.fail = errors.New("fork: resource temporarily unavailable")
	h.at(12, 30, 0)
	h.waitLog("resource temporarily unavailable")
	waitFor(t, func() string { return "two failed starts" }, func() bool { return h.jobs()[1].Runs == 2 })
	if j := h.jobs()[0]; j.Runs != 2 || j.Failures != 1 || *j.Duration != 3 {
		t.Errorf("after a failed start: %+v", j)
	}
}

// TestIDsAreStable: a line keeps its id when other lines move or change,
// across reloads and in another Cron (svinit restarted); an edited line
// gets a new one.
func TestIDsAreStable(t *testing.T) {
	h := newHarness(t, map[string]string{"root": "*/15 * * * * report\n"}, nil)
	h.start()
	id := h.jobs()[0].ID
	h.write("root", "# a comment moves the line\n0 1 * * * new\n*/15 * * * * report\n*/15 * * * * report --all\n", t0)
	h.cron.Signal(syscall.SIGHUP)
	waitFor(t, func() string { return "reload" }, func() bool { return len(h.jobs()) == 3 })
	jobs := h.jobs()
	if jobs[1].ID != id || jobs[1].Line != 3 {
		t.Errorf("moved line: %+v, want id %s", jobs[1], id)
	}
	if jobs[0].ID == id || jobs[2].ID == id || jobs[0].ID == jobs[2].ID {
		t.Errorf("other lines share ids: %q %q %q", jobs[0].ID, jobs[1].ID, jobs[2].ID)
	}

	again := newHarness(t, map[string]string{"root": "*/15 * * * * report\n"}, nil)
	again.start()
	if got := again.jobs()[0].ID; got != id {
		t.Errorf("another Cron gives the same line id %q, want %q", got, id)
	}
}

func TestJobLine(t *testing.T) {
	now := time.Date(2024, 1, 15, 12, 17, 0, 0, time.UTC)
	at := func(hh, mm, ss int) *time.Time { t := time.Date(2024, 1, 15, hh, mm, ss, 0, time.UTC); return &t }
	code := func(c int) *int { return &c }
	secs := func(s float64) *float64 { return &s }
	for _, tc := range []struct {
		s    JobStatus
		want string
	}{
		{JobStatus{ID: "3f2a9c1b", User: "root", Schedule: "*/15 * * * *", Command: "report", LastRun: at(12, 15, 0),
			LastExit: code(0), Duration: secs(3.2), Runs: 5, Failures: 1, NextRun: at(12, 30, 0)},
			"job 3f2a9c1b root */15 * * * * report: last run 2m0s ago, exit 0 in 3s, 5 runs, 1 failed, next in 13m0s"},
		{JobStatus{ID: "0d1e2f3a", User: "alice", Schedule: "@reboot", Command: "./warm", LastRun: at(12, 0, 0), RunningPid: 42, Runs: 1},
			"job 0d1e2f3a alice @reboot ./warm: running (pid 42), 1 runs, 0 failed"},
		{JobStatus{ID: "77aa0b1c", User: "root", Schedule: "0 * * * *", Command: "backup", NextRun: at(13, 0, 0)},
			"job 77aa0b1c root 0 * * * * backup: never run, next in 43m0s"},
		{JobStatus{ID: "77aa0b1c-2", User: "root", Schedule: "0 * * * *", Command: "x", LastRun: at(12, 16, 59), LastError: "fork: EAGAIN", Runs: 1, Failures: 1},
			"job 77aa0b1c-2 root 0 * * * * x: last run 1s ago, could not start: fork: EAGAIN, 1 runs, 1 failed"},
		{JobStatus{ID: "a", User: "u", Schedule: "* * * * *", Command: "q", LastRun: at(12, 17, 5), LastExit: code(137), Duration: secs(0.25), Runs: 1, Failures: 1},
			"job a u * * * * * q: last run 0s ago, exit 137 in 250ms, 1 runs, 1 failed"},
	} {
		if got := tc.s.Text(now); got != tc.want {
			t.Errorf("got  %q\nwant %q", got, tc.want)
		}
	}
}
