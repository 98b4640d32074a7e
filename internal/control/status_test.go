package control

import (
	"testing"
	"time"
)

func TestStatusLine(t *testing.T) {
	now := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	ago := func(d time.Duration) time.Time { return now.Add(-d) }
	exit1 := &ExitInfo{Code: 1}
	tests := []struct {
		s    ServiceStatus
		want string
	}{
		{ServiceStatus{Name: "ssh", State: "run", Pid: 23, Since: ago(154 * time.Second), Ready: true, WantUp: true, NormallyUp: true},
			"run: ssh: (pid 23) 154s, ready"},
		{ServiceStatus{Name: "syslog", State: "run", Builtin: true, Since: ago(154*time.Second + 900*time.Millisecond), Ready: true, WantUp: true, NormallyUp: true},
			"run: syslog: (builtin) 154s, ready"},
		{ServiceStatus{Name: "cron", State: "down", Since: ago(3 * time.Second), WantUp: true, NormallyUp: true},
			"down: cron: 3s, normally up, want up"},
		{ServiceStatus{Name: "web", State: "fatal", Since: ago(time.Second), Failures: 10, LastExit: exit1, WantUp: true, NormallyUp: true},
			"fatal: web: exited 1 ten times in 60s; last: exited 1"},
		{ServiceStatus{Name: "web", State: "fatal", Failures: 12, LastExit: &ExitInfo{Code: 137, Signal: "KILL"}},
			"fatal: web: killed by SIGKILL 12 times in 60s; last: killed by SIGKILL"},
		{ServiceStatus{Name: "web", State: "fatal", Failures: 10},
			"fatal: web: failed ten times in 60s"},
		{ServiceStatus{Name: "web", State: "backoff", LastExit: exit1, RestartIn: 1.6, WantUp: true, NormallyUp: true},
			"backoff: web: exited 1, restart in 1.6s"},
		{ServiceStatus{Name: "web", State: "backoff", LastExit: &ExitInfo{Code: 143, Signal: "TERM"}, RestartIn: 0.1},
			"backoff: web: killed by SIGTERM, restart in 100ms"},
		{ServiceStatus{Name: "web", State: "backoff", RestartIn: 30},
			"backoff: web: restart in 30s"},
		{ServiceStatus{Name: "web", State: "run", Pid: 7, Since: ago(3 * time.Second)},
			"run: web: (pid 7) 3s, normally down, want down"},
		{ServiceStatus{Name: "web", State: "run", Pid: 23, Since: ago(154 * time.Second), Ready: true, WantUp: true, NormallyUp: true, Health: "unhealthy"},
			"run: web: (pid 23) 154s, ready, unhealthy"},
		{ServiceStatus{Name: "db", State: "run", Pid: 31, Since: ago(9 * time.Second), Ready: true, WantUp: true, NormallyUp: true,
			Health: "healthy", StatusText: "ready to accept connections"},
			"run: db: (pid 31) 9s, ready, healthy; ready to accept connections"},
		{ServiceStatus{Name: "db", State: "starting", Pid: 31, Since: ago(time.Second), WantUp: true, NormallyUp: true, StatusText: "\x1b[2Jrecovering\n"},
			"starting: db: (pid 31) 1s; ?[2Jrecovering?"},
		{ServiceStatus{Name: "db", State: "down", Since: ago(time.Second), StatusText: "stale"},
			"down: db: 1s"},
		{ServiceStatus{Name: "web", State: "run", Pid: 7, Since: ago(3 * time.Second), WantUp: true},
			"run: web: (pid 7) 3s, normally down"},
		{ServiceStatus{Name: "web", State: "starting", Pid: 7, Since: ago(time.Second), WantUp: true, NormallyUp: true},
			"starting: web: (pid 7) 1s"},
		{ServiceStatus{Name: "web", State: "stopping", Pid: 7, Since: ago(time.Second), NormallyUp: true},
			"stopping: web: (pid 7) 1s, want down"},
		{ServiceStatus{Name: "web", State: "finish", Pid: 31, Since: now, WantUp: true, NormallyUp: true},
			"finish: web: (pid 31) 0s"},
		{ServiceStatus{Name: "web", State: "finish", Pid: 31, Since: now, NormallyUp: true},
			"finish: web: (pid 31) 0s, want down"},
		{ServiceStatus{Name: "web", State: "down", Since: ago(5 * time.Second)},
			"down: web: 5s"},
		{ServiceStatus{Name: "web", State: "down", Since: ago(5 * time.Second), WantUp: true},
			"down: web: 5s, want up"},
		{ServiceStatus{Name: "migrate", State: "down", Oneshot: true, Since: ago(40 * time.Second), Ready: true, WantUp: true, NormallyUp: true},
			"down: migrate: 40s, ready"},
		{ServiceStatus{Name: "cron", State: "down", Builtin: true, Since: ago(2 * time.Second), NormallyUp: true},
			"down: cron: 2s, normally up"},
		{ServiceStatus{Name: "web", State: "down", Since: now.Add(time.Second)}, // clock skew
			"down: web: 0s"},
		{ServiceStatus{Name: "web", State: "down"}, // no Since: nothing to count
			"down: web:"},
	}
	for _, tt := range tests {
		if got := StatusLine(tt.s, now); got != tt.want {
			t.Errorf("StatusLine(%+v)\n got %q\nwant %q", tt.s, got, tt.want)
		}
	}
}

func TestCountText(t *testing.T) {
	for n, want := range map[int]string{0: "no times", 1: "once", 2: "twice", 10: "ten times", 11: "11 times", -1: "-1 times"} {
		if got := countText(n); got != want {
			t.Errorf("countText(%d) = %q, want %q", n, got, want)
		}
	}
}
