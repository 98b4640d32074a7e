package control

import (
	"bytes"
	"context"
	"encoding/json"
	"regexp"
	"slices"
	"strings"
	"testing"
)

func TestParseArgs(t *testing.T) {
	tests := []struct {
		args   []string
		svwait string
		want   Request
		json   bool
	}{
		{args: []string{"status"}, want: Request{Verb: "status"}},
		{args: []string{"--json", "status", "web"}, want: Request{Verb: "status", Names: []string{"web"}}, json: true},
		{args: []string{"--", "check"}, want: Request{Verb: "check"}},
		{args: []string{"start", "web"}, want: Request{Verb: "start", Names: []string{"web"}, Wait: 7}},
		{args: []string{"up", "web"}, want: Request{Verb: "start", Names: []string{"web"}}},
		{args: []string{"-v", "up", "web"}, want: Request{Verb: "start", Names: []string{"web"}, Wait: 7}},
		{args: []string{"-v", "down", "web"}, svwait: "2.5", want: Request{Verb: "stop", Names: []string{"web"}, Wait: 2.5}},
		{args: []string{"stop", "a", "b"}, svwait: "2", want: Request{Verb: "stop", Names: []string{"a", "b"}, Wait: 2}},
		{args: []string{"-w", "3", "down", "web"}, want: Request{Verb: "stop", Names: []string{"web"}, Wait: 3}},
		{args: []string{"-w5", "restart", "a"}, want: Request{Verb: "restart", Names: []string{"a"}, Wait: 5}},
		{args: []string{"-w=0", "start", "a"}, want: Request{Verb: "start", Names: []string{"a"}}},
		{args: []string{"-w", "3", "hup", "web"}, want: Request{Verb: "hup", Names: []string{"web"}}},
		{args: []string{"wait", "-t", "5", "web"}, want: Request{Verb: "wait", Names: []string{"web"}, Wait: 5}},
		{args: []string{"wait", "-t0.5", "web"}, want: Request{Verb: "wait", Names: []string{"web"}, Wait: 0.5}},
		{args: []string{"wait", "web"}, want: Request{Verb: "wait", Names: []string{"web"}, Wait: 30}},
		{args: []string{"-w", "4", "wait", "web"}, want: Request{Verb: "wait", Names: []string{"web"}, Wait: 4}},
		{args: []string{"pause", "web"}, want: Request{Verb: "pause", Names: []string{"web"}}},
		{args: []string{"shutdown"}, want: Request{Verb: "shutdown"}},
		{args: []string{"shutdown", "--now"}, want: Request{Verb: "shutdown", Now: true}},
		{args: []string{"metrics"}, want: Request{Verb: "metrics"}},
	}
	for _, tt := range tests {
		inv, err := parseArgs(tt.args, env(tt.svwait))
		if err != nil || !sameRequest(inv.req, tt.want) || inv.json != tt.json {
			t.Errorf("parseArgs(%q) = %+v, %v; want %+v json=%v", tt.args, inv, err, tt.want, tt.json)
		}
	}
}

func TestParseArgsErrors(t *testing.T) {
	tests := []struct {
		args   []string
		svwait string
		want   string
	}{
		{nil, "", "missing verb"},
		{[]string{"--json"}, "", "missing verb"},
		{[]string{"bogus"}, "", `unknown verb "bogus"`},
		{[]string{"stop"}, "", "stop needs at least one service name"},
		{[]string{"reload", "x"}, "", "reload takes no service names"},
		{[]string{"start", "Web"}, "", `invalid service name "Web"`},
		{[]string{"-w", "x", "start", "a"}, "", `bad -w "x": want seconds from 0 to 86400`},
		{[]string{"-w", "-1", "start", "a"}, "", `bad -w "-1"`},
		{[]string{"-w", "NaN", "start", "a"}, "", `bad -w "NaN"`},
		{[]string{"-w"}, "", "-w needs SEC"},
		{[]string{"-x", "status"}, "", "unknown flag -x"},
		{[]string{"wait", "-t"}, "", "-t needs SEC"},
		{[]string{"wait", "-t", "soon", "web"}, "", `bad -t "soon"`},
		{[]string{"wait", "-t", "5"}, "", "wait needs at least one service name"},
		{[]string{"stop", "web"}, "abc", `bad SVWAIT "abc"`},
		{[]string{"-h"}, "", "help"},
		{[]string{"--help", "status"}, "", "help"},
		{[]string{"help"}, "", "help"},
		{[]string{"shutdown", "--now", "x"}, "", "shutdown takes no service names"},
		{[]string{"status", "--now"}, "", `invalid service name "--now"`},
		{[]string{"metrics", "web"}, "", "metrics takes no service names"},
	}
	for _, tt := range tests {
		_, err := parseArgs(tt.args, env(tt.svwait))
		if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
			t.Errorf("parseArgs(%q) error %v, want %q", tt.args, err, tt.want)
		}
	}
}

// env is a getenv with only SVWAIT set.
func env(svwait string) func(string) string {
	return func(k string) string {
		if k == "SVWAIT" {
			return svwait
		}
		return ""
	}
}

func sameRequest(a, b Request) bool {
	return a.Verb == b.Verb && slices.Equal(a.Names, b.Names) && a.Wait == b.Wait && a.Now == b.Now
}

// secs hides the seconds in status lines, which depend on the clock.
var secs = regexp.MustCompile(`\) \d+s`)

// TestSvMain runs every verb through the CLI, the socket and the server to
// the fake handler and back.
func TestSvMain(t *testing.T) {
	h := newFakeHandler()
	path, _ := testServer(t, h, nil)
	t.Setenv("SVINIT_CONTROL", path)
	t.Setenv("SVWAIT", "")
	tests := []struct {
		args           []string
		code           int
		stdout, stderr string
		sent           Request
	}{
		{[]string{"status"}, 0, "run: ssh: (pid 23) Ns, ready\nrun: web: (pid 23) Ns, ready\n", "", Request{Verb: "status"}},
		{[]string{"status", "cron"}, 0, "run: cron: (builtin) Ns, ready\n  job 3f2a9c1b root @daily backup: never run, next in 5h0m0s\n" +
			"  job 0d1e2f3a alice * * * * * ?[2Jx: never run\n", "", Request{Verb: "status", Names: []string{"cron"}}},
		{[]string{"status", "web", "missing"}, 1, "run: web: (pid 23) Ns, ready\n", "fail: missing: unknown service\n",
			Request{Verb: "status", Names: []string{"web", "missing"}}},
		{[]string{"start", "web"}, 0, "ok: run: web: (pid 23) Ns, ready\n", "", Request{Verb: "start", Names: []string{"web"}, Wait: 7}},
		{[]string{"up", "web"}, 0, "", "", Request{Verb: "start", Names: []string{"web"}}},
		{[]string{"stop", "web"}, 0, "ok: down: web: 0s, normally up\n", "", Request{Verb: "stop", Names: []string{"web"}, Wait: 7}},
		{[]string{"down", "web"}, 0, "", "", Request{Verb: "stop", Names: []string{"web"}}},
		{[]string{"-w", "2", "restart", "web", "slow"}, 1, "ok: run: web: (pid 23) Ns, ready\ntimeout: starting: slow: (pid 23) Ns\n", "",
			Request{Verb: "restart", Names: []string{"web", "slow"}, Wait: 2}},
		{[]string{"start", "missing"}, 1, "", "fail: missing: unknown service\n", Request{Verb: "start", Names: []string{"missing"}, Wait: 7}},
		{[]string{"once", "web"}, 0, "", "", Request{Verb: "once", Names: []string{"web"}}},
		{[]string{"kill", "missing"}, 1, "", "fail: missing: unknown service\n", Request{Verb: "kill", Names: []string{"missing"}}},
		{[]string{"check"}, 0, "", "", Request{Verb: "check"}},
		{[]string{"check", "web", "notready"}, 1, "", "notready: not ready (starting)\n", Request{Verb: "check", Names: []string{"web", "notready"}}},
		{[]string{"check", "sick"}, 1, "", "sick: unhealthy (health: failing)\n", Request{Verb: "check", Names: []string{"sick"}}},
		{[]string{"wait", "-t", "1", "slow"}, 1, "", "slow: not ready (starting)\n", Request{Verb: "wait", Names: []string{"slow"}, Wait: 1}},
		{[]string{"wait", "missing"}, 1, "", "missing: unknown service\n", Request{Verb: "wait", Names: []string{"missing"}, Wait: 30}},
		{[]string{"wait", "web"}, 0, "", "", Request{Verb: "wait", Names: []string{"web"}, Wait: 30}},
		{[]string{"reload"}, 0, "", "", Request{Verb: "reload"}},
		{[]string{"shutdown"}, 0, "", "", Request{Verb: "shutdown"}},
		{[]string{"shutdown", "--now"}, 0, "", "", Request{Verb: "shutdown", Now: true}},
		{[]string{"metrics"}, 0, "svinit_up 1\n", "", Request{Verb: "metrics"}},
	}
	for _, sig := range []string{"hup", "term", "kill", "int", "usr1", "usr2", "alarm", "quit", "cont", "pause"} {
		tests = append(tests, struct {
			args           []string
			code           int
			stdout, stderr string
			sent           Request
		}{[]string{sig, "web"}, 0, "", "", Request{Verb: sig, Names: []string{"web"}}})
	}
	for _, tt := range tests {
		var stdout, stderr bytes.Buffer
		code := SvMain(tt.args, &stdout, &stderr)
		out := secs.ReplaceAllString(stdout.String(), ") Ns")
		if code != tt.code || out != tt.stdout || stderr.String() != tt.stderr {
			t.Errorf("sv %q: exit %d\nstdout %q\nstderr %q\nwant exit %d\nstdout %q\nstderr %q",
				tt.args, code, out, stderr.String(), tt.code, tt.stdout, tt.stderr)
		}
		if got, _ := h.last(t); !sameRequest(got, tt.sent) {
			t.Errorf("sv %q sent %+v, want %+v", tt.args, got, tt.sent)
		}
	}
}

func TestSvMainJSON(t *testing.T) {
	path, _ := testServer(t, newFakeHandler(), nil)
	t.Setenv("SVINIT_CONTROL", path)
	var stdout, stderr bytes.Buffer
	if code := SvMain([]string{"--json", "status"}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d, stderr %q", code, stderr.String())
	}
	var got []ServiceStatus
	if err := json.Unmarshal(stdout.Bytes(), &got); err != nil {
		t.Fatalf("output is not a JSON list: %v\n%s", err, stdout.String())
	}
	if len(got) != 2 || got[0].Name != "ssh" || got[1].State != "run" || !strings.Contains(stdout.String(), "\n  {") {
		t.Errorf("got %s", stdout.String())
	}
	stdout.Reset()
	if code := SvMain([]string{"--json", "up", "web"}, &stdout, &stderr); code != 0 || !strings.HasPrefix(stdout.String(), "[") {
		t.Errorf("--json up: exit %d, output %q", code, stdout.String())
	}
}

func TestSvMainUsage(t *testing.T) {
	t.Setenv("SVINIT_CONTROL", "/nonexistent/control.sock")
	tests := []struct {
		args   []string
		code   int
		stdout string
		stderr string
	}{
		{[]string{"bogus", "x"}, 2, "", "sv: unknown verb \"bogus\"\n" + usage},
		{[]string{"stop"}, 2, "", "sv: stop needs at least one service name\n" + usage},
		{[]string{"-w", "soon", "start", "web"}, 2, "", "sv: bad -w \"soon\": want seconds from 0 to 86400\n" + usage},
		{[]string{"--help"}, 0, usage, ""},
		{[]string{"status"}, 1, "", "sv: cannot reach svinit at /nonexistent/control.sock: connect: no such file or directory (is svinit running as PID 1?)\n"},
	}
	for _, tt := range tests {
		var stdout, stderr bytes.Buffer
		code := SvMain(tt.args, &stdout, &stderr)
		if code != tt.code || stdout.String() != tt.stdout || stderr.String() != tt.stderr {
			t.Errorf("sv %q: exit %d, stdout %q, stderr %q; want %d, %q, %q",
				tt.args, code, stdout.String(), stderr.String(), tt.code, tt.stdout, tt.stderr)
		}
	}
}

func TestSvMainServerRefusal(t *testing.T) {
	h := handlerFunc(func(context.Context, Request) Response { return Response{Error: "shutting down"} })
	path, _ := testServer(t, h, nil)
	t.Setenv("SVINIT_CONTROL", path)
	var stdout, stderr bytes.Buffer
	if code := SvMain([]string{"status"}, &stdout, &stderr); code != 1 || stderr.String() != "sv: shutting down\n" {
		t.Errorf("exit %d, stderr %q", code, stderr.String())
	}
}
