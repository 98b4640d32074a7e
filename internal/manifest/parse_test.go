package manifest

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"
	"time"
)

// programs maps a file name in the service folder to its mode.
type programs map[string]os.FileMode

// runOnly is the usual service folder: an executable run.
var runOnly = programs{"run": 0o755}

// writeService makes root/name/manifest.yml plus programs; it returns the
// manifest's path.
func writeService(t *testing.T, root, name, manifest string, progs programs) string {
	t.Helper()
	dir := filepath.Join(root, name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for f, mode := range progs {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, f)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), []byte("#!/bin/sh\n"), mode); err != nil {
			t.Fatal(err)
		}
	}
	file := filepath.Join(dir, "manifest.yml")
	if err := os.WriteFile(file, []byte(manifest), 0o644); err != nil {
		t.Fatal(err)
	}
	return file
}

func envLookup(env map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) {
		v, ok := env[k]
		return v, ok
	}
}

func parseService(t *testing.T, name, manifest string, progs programs, env map[string]string) (*Service, error) {
	t.Helper()
	file := writeService(t, t.TempDir(), name, manifest, progs)
	return Parse(file, []byte(manifest), envLookup(env))
}

func TestParseValid(t *testing.T) {
	tests := []struct {
		name     string
		svc      string
		manifest string
		progs    programs
		env      map[string]string
		check    func(t *testing.T, s *Service)
	}{
		{name: "empty file is a disabled service with defaults", manifest: "", progs: programs{}, check: func(t *testing.T, s *Service) {
			want := Ready{Interval: DefaultInterval, Timeout: DefaultReadyTimeout}
			if s.Enabled || s.AutoStart || s.Restart != RestartAlways || s.StopSignal != syscall.SIGTERM ||
				s.StopTimeout != DefaultStopTimeout || !reflect.DeepEqual(s.Ready, want) || s.Directory != s.Dir {
				t.Errorf("defaults wrong: %+v", s)
			}
		}},
		{name: "comments only", manifest: "# nothing yet\n", progs: programs{}, check: func(t *testing.T, s *Service) {
			if s.Enabled {
				t.Error("enabled")
			}
		}},
		{name: "disabled service needs no run", manifest: "enabled: false\nauto_start: true\n", progs: programs{}, check: func(t *testing.T, s *Service) {
			if s.Run != "" {
				t.Errorf("Run = %q", s.Run)
			}
		}},
		{name: "full manifest", manifest: `
enabled: true
auto_start: true
command: [nginx, -g, "daemon off;"]
user: www-data
group: www-data
directory: /
environment:
  PORT: 8080
  EMPTY: ""
depends_on: [syslog, db]
ready:
  tcp: 127.0.0.1:8080
  interval: 50ms
  timeout: 10s
restart: on-failure
stop_signal: QUIT
stop_timeout: 2s
essential: true
log: json
`, progs: programs{"finish": 0o700}, check: func(t *testing.T, s *Service) {
			want := &Service{Name: "web", Dir: s.Dir, File: s.File, Enabled: true, AutoStart: true,
				Command: []string{"nginx", "-g", "daemon off;"}, Finish: filepath.Join(s.Dir, "finish"),
				User: "www-data", Group: "www-data", Directory: "/",
				Environment: map[string]string{"PORT": "8080", "EMPTY": ""}, DependsOn: []string{"syslog", "db"},
				Ready:   Ready{Kind: ReadyTCP, Addr: "127.0.0.1:8080", HostPort: "127.0.0.1:8080", Interval: 50 * time.Millisecond, Timeout: 10 * time.Second},
				Restart: RestartOnFailure, StopSignal: syscall.SIGQUIT, StopTimeout: 2 * time.Second, Essential: true, KillMode: KillControlGroup, Log: "json",
				Hash: s.Hash, lines: s.lines}
			if !reflect.DeepEqual(s, want) {
				t.Errorf("got  %+v\nwant %+v", s, want)
			}
			if s.Line("depends_on") != 11 || s.Pos("depends_on") != s.File+":11" || s.Pos("nope") != s.File {
				t.Errorf("Line(depends_on) = %d, Pos = %q", s.Line("depends_on"), s.Pos("depends_on"))
			}
		}},
		{name: "run program found", manifest: "enabled: true\n", progs: runOnly, check: func(t *testing.T, s *Service) {
			if s.Run != filepath.Join(s.Dir, "run") || s.Finish != "" || len(s.Command) != 0 {
				t.Errorf("Run %q Finish %q Command %q", s.Run, s.Finish, s.Command)
			}
		}},
		{name: "relative directory is inside the folder", manifest: "enabled: true\ndirectory: data\n", progs: runOnly, check: func(t *testing.T, s *Service) {
			if s.Directory != filepath.Join(s.Dir, "data") {
				t.Errorf("Directory = %q", s.Directory)
			}
		}},
		{name: "oneshot defaults to restart never", manifest: "enabled: true\noneshot: true\nready: {timeout: 1m}\n", progs: runOnly, check: func(t *testing.T, s *Service) {
			if s.Restart != RestartNever || s.Ready.Kind != ReadyStarted || s.Ready.Timeout != time.Minute {
				t.Errorf("Restart %q Ready %+v", s.Restart, s.Ready)
			}
		}},
		{name: "builtin syslog", svc: "syslog", manifest: "enabled: true\ncommand: [builtin, syslog]\nenvironment: {SYSLOG_SOCKET: /dev/log}\n", progs: programs{}, check: func(t *testing.T, s *Service) {
			if s.Builtin != "syslog" || s.Run != "" || !reflect.DeepEqual(s.Command, []string{"builtin", "syslog"}) {
				t.Errorf("Builtin %q Run %q Command %q", s.Builtin, s.Run, s.Command)
			}
		}},
		{name: "builtin cron", svc: "cron", manifest: "enabled: true\ncommand: [builtin, cron]\n", progs: programs{}, check: func(t *testing.T, s *Service) {
			if s.Builtin != "cron" {
				t.Errorf("Builtin %q", s.Builtin)
			}
		}},
		{name: "expansion with and without default", manifest: "enabled: ${ON}\ncommand: [dropbear, -p, '${SSH_PORT:-22}', '${HOST:-x}', \"$$HOME\", $PATH]\n",
			progs: programs{}, env: map[string]string{"ON": "true", "HOST": "h"}, check: func(t *testing.T, s *Service) {
				want := []string{"dropbear", "-p", "22", "h", "$HOME", "$PATH"}
				if !s.Enabled || !reflect.DeepEqual(s.Command, want) {
					t.Errorf("Enabled %v Command %q, want %q", s.Enabled, s.Command, want)
				}
			}},
		{name: "unset variable expands to empty with a warning", manifest: "enabled: true\ncommand: [app, '${NOPE}']\nuser: ${RUN_AS}\n", progs: programs{}, check: func(t *testing.T, s *Service) {
			if s.Command[1] != "" || s.User != "" {
				t.Errorf("Command %q User %q", s.Command, s.User)
			}
			if len(s.Warnings) != 2 || !strings.Contains(s.Warnings[0], "manifest.yml:2: command[1]: ${NOPE} is not set") {
				t.Errorf("Warnings = %q", s.Warnings)
			}
		}},
		{name: "variable value cannot change YAML structure", manifest: "enabled: true\ncommand: [app, '${V}']\n",
			progs: programs{}, env: map[string]string{"V": "a: b\n# c, ]"}, check: func(t *testing.T, s *Service) {
				if s.Command[1] != "a: b\n# c, ]" {
					t.Errorf("Command = %q", s.Command)
				}
			}},
		{name: "value expanding to empty takes the default", manifest: "enabled: true\nstop_timeout: ${T}\nrestart: ${R}\n", progs: runOnly, check: func(t *testing.T, s *Service) {
			if s.StopTimeout != DefaultStopTimeout || s.Restart != RestartAlways {
				t.Errorf("StopTimeout %v Restart %q", s.StopTimeout, s.Restart)
			}
		}},
		{name: "null values are absent", manifest: "enabled: true\nuser:\ncommand: ~\nready:\n", progs: runOnly, check: func(t *testing.T, s *Service) {
			if s.User != "" || s.Command != nil || s.Ready.Kind != ReadyStarted || s.Line("ready") != 0 {
				t.Errorf("%+v", s)
			}
		}},
		{name: "quoted bool and aliases", manifest: "enabled: &on \"true\"\nauto_start: *on\ncommand: &c [a, b]\nready: {exec: *c}\n", progs: programs{}, check: func(t *testing.T, s *Service) {
			if !s.AutoStart || !reflect.DeepEqual(s.Ready.Exec, []string{"a", "b"}) {
				t.Errorf("AutoStart %v Ready %+v", s.AutoStart, s.Ready)
			}
		}},
		{name: "signal spellings", manifest: "enabled: true\nstop_signal: sigusr1\n", progs: runOnly, check: func(t *testing.T, s *Service) {
			if s.StopSignal != syscall.SIGUSR1 {
				t.Errorf("StopSignal = %v", s.StopSignal)
			}
		}},
		{name: "http probe", manifest: "enabled: true\nready:\n  http: http://localhost:8080\n", progs: runOnly, check: func(t *testing.T, s *Service) {
			if s.Ready.HostPort != "localhost:8080" || s.Ready.Path != "/" || s.Ready.Addr != "http://localhost:8080" {
				t.Errorf("Ready = %+v", s.Ready)
			}
		}},
		{name: "exec probe", manifest: "enabled: true\nready:\n  exec: [pg_isready, -q]\n", progs: runOnly, check: func(t *testing.T, s *Service) {
			if s.Ready.Kind != ReadyExec || !reflect.DeepEqual(s.Ready.Exec, []string{"pg_isready", "-q"}) {
				t.Errorf("Ready = %+v", s.Ready)
			}
		}},
		{name: "file probe", manifest: "enabled: true\nready: {file: /run/app//x.pid}\n", progs: runOnly, check: func(t *testing.T, s *Service) {
			if s.Ready.Kind != ReadyFile || s.Ready.Addr != "/run/app/x.pid" {
				t.Errorf("Ready = %+v", s.Ready)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.svc == "" {
				tt.svc = "web"
			}
			s, err := parseService(t, tt.svc, tt.manifest, tt.progs, tt.env)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			tt.check(t, s)
		})
	}
}

func TestKillMode(t *testing.T) {
	for _, tt := range []struct{ yaml, want, err string }{
		{"", "control-group", ""},
		{"kill_mode: control-group", "control-group", ""},
		{"kill_mode: process-group", "process-group", ""},
		{"kill_mode: process", "", `kill_mode: want one of control-group, process-group, got "process"`},
	} {
		s, err := Parse("/s/web/manifest.yml", []byte("enabled: true\ncommand: [sleep, \"1\"]\n"+tt.yaml+"\n"), func(string) (string, bool) { return "", false })
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), "manifest.yml:3: "+tt.err) {
				t.Errorf("%q: %v, want an error at line 3 %q", tt.yaml, err, tt.err)
			}
			continue
		}
		if err != nil || string(s.KillMode) != tt.want {
			t.Errorf("%q: kill mode %q, %v; want %q", tt.yaml, s.KillMode, err, tt.want)
		}
	}
}
