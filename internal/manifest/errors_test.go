package manifest

import (
	"errors"
	"strings"
	"testing"
)

// TestParseErrors feeds one bad input per rule; want lists substrings of
// the error, the first of which starts right after "web/manifest.yml".
func TestParseErrors(t *testing.T) {
	tests := []struct {
		name     string
		svc      string
		manifest string
		progs    programs
		env      map[string]string
		want     []string
	}{
		{name: "invalid YAML", manifest: "enabled: true\ncommand: [a, b\n", want: []string{":2: invalid YAML: did not find expected ',' or ']'"}},
		{name: "bad indentation", manifest: "enabled: true\nready:\n  tcp: ':1'\n interval: 1s\n", want: []string{":4: invalid YAML: did not find expected key"}},
		{name: "bad indentation on line 1", manifest: " a: 1\nb: 2\n", want: []string{":2: invalid YAML: did not find expected <document start>"}},
		{name: "control character", manifest: "enabled: true\nuser: a\x01b\n", want: []string{":2: invalid YAML: control characters are not allowed"}},
		{name: "invalid UTF-8", manifest: "\n\nuser: a\xffb\n", want: []string{":3: invalid YAML: invalid "}},
		{name: "unknown anchor", manifest: "user: *nope\n", want: []string{": invalid YAML: unknown anchor 'nope' referenced"}},
		{name: "flow mapping", manifest: "environment: {A: 1\n", want: []string{":1: invalid YAML: did not find expected ',' or '}'"}},
		{name: "block sequence", manifest: "- a\nb: 1\n", want: []string{":2: invalid YAML: did not find expected '-' indicator"}},
		{name: "mapping values", manifest: "a: b: c\n", want: []string{":1: invalid YAML: mapping values are not allowed in this context"}},
		{name: "tab indentation", manifest: "ready:\n\ttcp: x\n", want: []string{":2: invalid YAML: found character that cannot start any token"}},
		{name: "two documents", manifest: "enabled: true\n---\nenabled: false\n", want: []string{":2: a manifest is one YAML document"}},
		{name: "not a mapping", manifest: "- enabled\n", want: []string{":1: want a mapping of settings"}},
		{name: "unknown key with line and hint", manifest: "enabled: true\nauto_strat: true\n", progs: runOnly, want: []string{`:2: unknown key "auto_strat" (did you mean "auto_start"?)`}},
		{name: "unknown key without hint", manifest: "healthcheck: x\n", want: []string{`:1: unknown key "healthcheck"; known keys: auto_start,`}},
		{name: "unknown ready key", manifest: "enabled: true\nready:\n  tpc: 127.0.0.1:1\n", progs: runOnly, want: []string{`:3: ready: unknown key "tpc" (did you mean "tcp"?)`}},
		{name: "duplicate key", manifest: "enabled: true\nenabled: false\n", want: []string{`:2: key "enabled" already set at line 1`}},
		{name: "every error of a file at once", manifest: "enabled: yes\nstop_timeout: soon\nlog: loud\n", want: []string{
			`:1: enabled: want true or false, got "yes"`, `:2: stop_timeout: want a duration like 200ms`, `:3: log: want one of prefix, plain, json, inherit, discard, got "loud"`}},
		{name: "bool given a list", manifest: "enabled: [true]\n", want: []string{`:1: enabled: want a single value, got a list`}},
		{name: "bad duration", manifest: "stop_timeout: 5\n", want: []string{`:1: stop_timeout: want a duration like 200ms, 5s or 1m, got "5"`}},
		{name: "zero stop_timeout", manifest: "stop_timeout: 0s\n", want: []string{`:1: stop_timeout: must be more than 0`}},
		{name: "zero interval", manifest: "ready: {tcp: ':80', interval: 0s}\n", want: []string{`:1: ready.interval: must be more than 0`}},
		{name: "negative timeout", manifest: "ready:\n  tcp: ':80'\n  timeout: -1s\n", want: []string{`:3: ready.timeout: must be more than 0`}},
		{name: "zero timeout", manifest: "ready:\n  tcp: ':80'\n  timeout: 0s\n", want: []string{`:3: ready.timeout: must be more than 0`}},
		{name: "bad signal", manifest: "stop_signal: STOPIT\n", want: []string{`:1: stop_signal: unknown signal "STOPIT"`}},
		{name: "numeric signal", manifest: "stop_signal: 15\n", want: []string{`:1: stop_signal: unknown signal "15"`}},
		{name: "bad restart", manifest: "restart: sometimes\n", want: []string{`:1: restart: want one of always, on-failure, never`}},
		{name: "oneshot restart always", manifest: "oneshot: true\nrestart: always\n", want: []string{`:2: restart: always would rerun a oneshot forever`}},
		{name: "run not executable", manifest: "enabled: true\n", progs: programs{"run": 0o644}, want: []string{`web/run: not executable (mode 0644); chmod +x it`}},
		{name: "run is a folder", manifest: "enabled: true\n", progs: programs{"run/x": 0o755}, want: []string{`web/run: not a regular file`}},
		{name: "finish not executable", manifest: "enabled: true\n", progs: programs{"run": 0o755, "finish": 0o600}, want: []string{`web/finish: not executable`}},
		{name: "missing run and no command", manifest: "enabled: true\n", progs: programs{}, want: []string{`: no command: and no run program in`}},
		{name: "empty command", manifest: "command: []\n", want: []string{`:1: command: empty list; remove the key to run ./run`}},
		{name: "command as a string", manifest: "command: nginx -g daemon\n", want: []string{`:1: command: want a list like [a, b], got "nginx -g daemon"`}},
		{name: "empty program", manifest: "command: ['', x]\n", want: []string{`:1: command: the program (first item) is empty`}},
		{name: "unknown builtin", manifest: "command: [builtin, ntpd]\n", want: []string{`:1: command: want [builtin, syslog] or [builtin, cron]`}},
		{name: "builtin with extra args", manifest: "command: [builtin, cron, -x]\n", want: []string{`:1: command: want [builtin, syslog] or [builtin, cron]`}},
		{name: "builtin with meaningless keys", manifest: "command: [builtin, cron]\nuser: x\nready: {tcp: ':1'}\nstop_signal: HUP\n", want: []string{
			`:2: user: not used by builtin services`, `:3: ready: not used by builtin`, `:4: stop_signal: not used by builtin`}},
		{name: "builtin with finish", manifest: "enabled: true\ncommand: [builtin, syslog]\n", progs: programs{"finish": 0o755}, want: []string{`web/finish: builtin services run no finish program`}},
		{name: "two probe kinds", manifest: "ready:\n  tcp: ':80'\n  file: /x\n", want: []string{`:3: ready: want exactly one of tcp, http, exec, file, notify, fd; got tcp and file`}},
		{name: "ready without probe", manifest: "ready: {timeout: 5s}\n", want: []string{`:1: ready: want one of tcp, http, exec, file`}},
		{name: "oneshot with probe", manifest: "oneshot: true\nready: {tcp: ':80'}\n", want: []string{`:2: ready: a oneshot is ready when it exits 0`}},
		{name: "ready not a mapping", manifest: "ready: tcp\n", want: []string{`:1: ready: want a mapping like {tcp: 127.0.0.1:80}`}},
		{name: "tcp without port", manifest: "ready: {tcp: localhost}\n", want: []string{`:1: ready.tcp: "localhost": want host:port`}},
		{name: "tcp port not numeric", manifest: "ready: {tcp: 'localhost:http'}\n", want: []string{`:1: ready.tcp: "localhost:http": port "http": want a number from 1 to 65535`}},
		{name: "tcp port out of range", manifest: "ready: {tcp: ':70000'}\n", want: []string{`port "70000"`}},
		{name: "tcp empty after expansion", manifest: "ready: {tcp: '${ADDR}'}\n", want: []string{`:1: ready.tcp: "": want host:port, got nothing`}},
		{name: "https probe", manifest: "ready: {http: 'https://x/'}\n", want: []string{`:1: ready.http: "https://x/": https is not supported`}},
		{name: "http without scheme", manifest: "ready: {http: 'localhost:80/x'}\n", want: []string{`want a URL like http://127.0.0.1:8080/health`}},
		{name: "http without host", manifest: "ready: {http: 'http://:80/x'}\n", want: []string{`missing or bad host`}},
		{name: "http bad port", manifest: "ready: {http: 'http://a:b/x'}\n", want: []string{`port "b"`}},
		{name: "http with space", manifest: "ready: {http: 'http://a/x y'}\n", want: []string{`%-encoded`}},
		{name: "http with credentials", manifest: "ready: {http: 'http://u:p@a/'}\n", want: []string{`user:password@`}},
		{name: "empty exec probe", manifest: "ready: {exec: []}\n", want: []string{`:1: ready.exec: want a command like [pg_isready, -q]`}},
		{name: "relative file probe", manifest: "ready: {file: run/app.pid}\n", want: []string{`:1: ready.file: want an absolute path`}},
		{name: "bad service name", svc: "Web", manifest: "", want: []string{`Web/manifest.yml: service name "Web" must match`}},
		{name: "bad dependency name", manifest: "depends_on: [DB]\n", want: []string{`:1: depends_on: "DB" is not a service name`}},
		{name: "self dependency", manifest: "depends_on: [web]\n", want: []string{`:1: depends_on: a service cannot depend on itself`}},
		{name: "duplicate dependency", manifest: "depends_on: [db, db]\n", want: []string{`:1: depends_on: "db" is listed twice`}},
		{name: "group without user", manifest: "group: wheel\n", want: []string{`:1: group: needs user: too`}},
		{name: "user with group", manifest: "user: 'a:b'\n", want: []string{`:1: user: "a:b": put the group in group:`}},
		{name: "environment list", manifest: "environment: [A=1]\n", want: []string{`:1: environment: want a mapping of NAME: value, got a list`}},
		{name: "environment bad name", manifest: "environment: {'A=B': 1}\n", want: []string{`:1: environment: bad variable name "A=B"`}},
		{name: "environment nested value", manifest: "environment:\n  A: {b: c}\n", want: []string{`:2: environment.A: want a single value, got a mapping`}},
		{name: "malformed reference", manifest: "enabled: true\nuser: ${USER\n", want: []string{`:2: user: bad reference "${USER": missing "}"`}},
		{name: "reference without name", manifest: "user: ${}\n", want: []string{`:1: user: bad reference "${}": want a variable name`}},
		{name: "unsupported operator", manifest: "user: ${U:=x}\n", want: []string{`:1: user: bad reference "${U:=x}": want "}" or ":-default}" after the name`}},
		{name: "alias to unknown key value type", manifest: "environment: &e {A: b}\nuser: *e\n", want: []string{`:1: user: want a single value, got a mapping`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.svc == "" {
				tt.svc = "web"
			}
			if tt.progs == nil {
				tt.progs = programs{}
			}
			_, err := parseService(t, tt.svc, tt.manifest, tt.progs, tt.env)
			if err == nil {
				t.Fatal("Parse succeeded")
			}
			msg := err.Error()
			if !strings.Contains(msg, tt.svc+"/manifest.yml"+tt.want[0]) && !strings.Contains(msg, tt.want[0]) {
				t.Errorf("error %q\nwant it to contain %q", msg, tt.want[0])
			}
			for _, w := range tt.want[1:] {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q\nwant it to contain %q", msg, w)
				}
			}
			checkErrorLines(t, err)
		})
	}
}

// checkErrorLines asserts every line of err is a *Error naming a file.
func checkErrorLines(t *testing.T, err error) {
	t.Helper()
	var joined interface{ Unwrap() []error }
	list := []error{err}
	if errors.As(err, &joined) {
		list = joined.Unwrap()
	}
	for _, e := range list {
		var me *Error
		if !errors.As(e, &me) || me.File == "" || strings.Contains(me.Msg, "\n") {
			t.Errorf("not a one-line *Error with a file: %#v", e)
		}
	}
}
