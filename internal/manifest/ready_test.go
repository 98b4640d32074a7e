package manifest

import (
	"strings"
	"testing"
	"time"
)

func TestReadyNotifyFDHealth(t *testing.T) {
	for _, tc := range []struct {
		name, manifest string
		check          func(t *testing.T, s *Service)
	}{
		{"notify with a watchdog", "ready: {notify: systemd, timeout: 1m}\nwatchdog: 10s\n", func(t *testing.T, s *Service) {
			if s.Ready.Kind != ReadyNotify || s.Ready.Addr != "systemd" || s.Ready.Timeout != time.Minute || s.Watchdog != 10*time.Second {
				t.Errorf("ready %+v, watchdog %v", s.Ready, s.Watchdog)
			}
		}},
		{"fd", "ready:\n  fd: 3\n", func(t *testing.T, s *Service) {
			if s.Ready.Kind != ReadyFD || s.Ready.FD != 3 || s.Ready.Timeout != DefaultReadyTimeout {
				t.Errorf("ready %+v", s.Ready)
			}
		}},
		{"fd 1023 from a variable", "ready: {fd: \"${FD}\"}\n", func(t *testing.T, s *Service) {
			if s.Ready.FD != 1023 {
				t.Errorf("ready %+v", s.Ready)
			}
		}},
		{"health defaults", "health:\n  http: http://127.0.0.1:8080/healthz\n", func(t *testing.T, s *Service) {
			h := s.Health
			if h.Kind != ReadyHTTP || h.HostPort != "127.0.0.1:8080" || h.Path != "/healthz" || h.Interval != DefaultHealthInterval ||
				h.Timeout != DefaultHealthTimeout || h.Retries != DefaultHealthRetries || h.StartPeriod != 0 {
				t.Errorf("health %+v", h)
			}
			if s.Ready.Kind != ReadyStarted {
				t.Errorf("health changed ready: %+v", s.Ready)
			}
		}},
		{"health set", "health:\n  exec: [pg_isready, -q]\n  interval: 1s\n  timeout: 2s\n  retries: 1\n  start_period: 30s\nready: {tcp: ':5432'}\n", func(t *testing.T, s *Service) {
			h := s.Health
			if h.Kind != ReadyExec || strings.Join(h.Exec, " ") != "pg_isready -q" || h.Interval != time.Second || h.Timeout != 2*time.Second ||
				h.Retries != 1 || h.StartPeriod != 30*time.Second || s.Ready.Kind != ReadyTCP {
				t.Errorf("health %+v, ready %+v", h, s.Ready)
			}
		}},
		{"health start_period 0s, tcp and file", "health: {tcp: ':80', start_period: 0s}\n", func(t *testing.T, s *Service) {
			if s.Health.Kind != ReadyTCP || s.Health.StartPeriod != 0 {
				t.Errorf("health %+v", s.Health)
			}
		}},
		{"no health", "ready: {tcp: ':80'}\n", func(t *testing.T, s *Service) {
			if s.Health.Kind != ReadyStarted || s.Watchdog != 0 {
				t.Errorf("health %+v, watchdog %v", s.Health, s.Watchdog)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := parseService(t, "web", "enabled: true\n"+tc.manifest, runOnly, map[string]string{"FD": "1023"})
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, s)
		})
	}
}

func TestReadyNotifyFDHealthErrors(t *testing.T) {
	for _, tc := range []struct {
		name, manifest, want string
	}{
		{"unknown notify", "ready: {notify: sysv}\n", `:2: ready.notify: want systemd (sd_notify's READY=1 on $NOTIFY_SOCKET), got "sysv"`},
		{"notify list", "ready:\n  notify: [systemd]\n", `:3: ready.notify: want a single value, got a list`},
		{"fd 0", "ready: {fd: 0}\n", `:2: ready.fd: want a descriptor from 3 to 1023 (0, 1, 2 are stdin, stdout, stderr), got "0"`},
		{"fd 2", "ready: {fd: 2}\n", `ready.fd: want a descriptor from 3 to 1023`},
		{"fd 1024", "ready:\n  fd: 1024\n", `:3: ready.fd: want a descriptor from 3 to 1023 (0, 1, 2 are stdin, stdout, stderr), got "1024"`},
		{"fd word", "ready: {fd: three}\n", `got "three"`},
		{"notify and tcp", "ready:\n  notify: systemd\n  tcp: ':80'\n", `:4: ready: want exactly one of tcp, http, exec, file, notify, fd; got notify and tcp`},
		{"empty ready", "ready: {timeout: 5s}\n", `:2: ready: want one of tcp, http, exec, file, notify, fd`},
		{"watchdog without notify", "ready: {tcp: ':80'}\nwatchdog: 5s\n", `:3: watchdog: needs ready: {notify: systemd} (the service sends WATCHDOG=1 to $NOTIFY_SOCKET)`},
		{"watchdog alone", "watchdog: 5s\n", `:2: watchdog: needs ready: {notify: systemd}`},
		{"watchdog 0", "ready: {notify: systemd}\nwatchdog: 0s\n", `:3: watchdog: must be more than 0, got "0s"`},
		{"watchdog word", "ready: {notify: systemd}\nwatchdog: often\n", `:3: watchdog: want a duration like 200ms, 5s or 1m, got "often"`},
		{"retries 0", "health:\n  tcp: ':80'\n  retries: 0\n", `:4: health.retries: want a whole number of 1 or more, got "0"`},
		{"retries -1", "health: {tcp: ':80', retries: -1}\n", `:2: health.retries: want a whole number of 1 or more, got "-1"`},
		{"retries word", "health: {tcp: ':80', retries: many}\n", `health.retries: want a whole number of 1 or more, got "many"`},
		{"health without a probe", "health:\n  interval: 5s\n", `:3: health: want a probe: one of tcp, http, exec, file`},
		{"health notify", "health:\n  notify: systemd\n", `:3: health: unknown key "notify"`},
		{"health fd", "health: {fd: 3}\n", `:2: health: unknown key "fd"`},
		{"health two probes", "health:\n  tcp: ':80'\n  file: /x\n", `:4: health: want exactly one of tcp, http, exec, file; got tcp and file`},
		{"health list", "health: [tcp]\n", `:2: health: want a mapping like {tcp: 127.0.0.1:80}, got a list`},
		{"health bad probe", "health: {http: 'https://x/'}\n", `:2: health.http: "https://x/": https is not supported`},
		{"health interval 0", "health: {tcp: ':80', interval: 0s}\n", `:2: health.interval: must be more than 0, got "0s"`},
		{"health start_period negative", "health: {tcp: ':80', start_period: -1s}\n", `:2: health.start_period: must be 0 or more, got "-1s"`},
		{"health start_period word", "health: {tcp: ':80', start_period: soon}\n", `:2: health.start_period: want a duration like 0s, 30s or 1m, got "soon"`},
		{"health typo", "health: {tcp: ':80', retires: 2}\n", `:2: health: unknown key "retires" (did you mean "retries"?)`},
		{"health oneshot", "oneshot: true\nhealth: {tcp: ':80'}\n", `:3: health: a oneshot runs once to completion; it has no liveness to probe`},
		{"health builtin", "command: [builtin, syslog]\nhealth: {tcp: ':80'}\n", `:3: health: not used by builtin services (command: [builtin, syslog])`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parseService(t, "web", "enabled: true\n"+tc.manifest, runOnly, nil)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v\nwant it to contain %q", err, tc.want)
			}
			if !strings.Contains(err.Error(), "web/manifest.yml:") {
				t.Errorf("error %v does not name the file and line", err)
			}
		})
	}
}

// TestHashReadiness: a reload restarts a service whose readiness by fd,
// watchdog or health changed.
func TestHashReadiness(t *testing.T) {
	base := "enabled: true\nready: {notify: systemd}\nwatchdog: 5s\nhealth: {exec: [a, b], retries: 2}\n"
	hash := func(m string) string {
		s, err := parseService(t, "web", m, runOnly, nil)
		if err != nil {
			t.Fatal(err)
		}
		return s.Hash
	}
	h0 := hash(base)
	for _, changed := range []string{
		strings.Replace(base, "watchdog: 5s", "watchdog: 6s", 1),
		strings.Replace(base, "retries: 2", "retries: 3", 1),
		strings.Replace(base, "[a, b]", "[a, c]", 1),
		strings.Replace(base, "[a, b]", "[a, b], start_period: 1s", 1),
		strings.Replace(base, "[a, b]", "[a, b], interval: 1s", 1),
		"enabled: true\nready: {fd: 3}\n", "enabled: true\nready: {fd: 4}\n",
	} {
		if hash(changed) == h0 {
			t.Errorf("same hash after the change to\n%s", changed)
		}
	}
	if hash("enabled: true\nready: {fd: 3}\n") == hash("enabled: true\nready: {fd: 4}\n") {
		t.Error("fd 3 and fd 4 hash the same")
	}
}
