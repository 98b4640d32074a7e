package control

import (
	"encoding/json"
	"slices"
	"syscall"
	"testing"
)

func TestSignalFor(t *testing.T) {
	tests := []struct {
		verb string
		sig  syscall.Signal
		ok   bool
	}{
		{"hup", syscall.SIGHUP, true}, {"term", syscall.SIGTERM, true},
		{"kill", syscall.SIGKILL, true}, {"int", syscall.SIGINT, true},
		{"usr1", syscall.SIGUSR1, true}, {"usr2", syscall.SIGUSR2, true},
		{"alarm", syscall.SIGALRM, true}, {"quit", syscall.SIGQUIT, true},
		{"cont", syscall.SIGCONT, true}, {"pause", syscall.SIGSTOP, true},
		{"start", 0, false}, {"status", 0, false}, {"nope", 0, false},
	}
	for _, tt := range tests {
		sig, ok := SignalFor(tt.verb)
		if sig != tt.sig || ok != tt.ok {
			t.Errorf("SignalFor(%q) = %v, %v; want %v, %v", tt.verb, sig, ok, tt.sig, tt.ok)
		}
	}
}

func TestNormalize(t *testing.T) {
	tests := []struct {
		in      Request
		verb    string
		wantErr string
	}{
		{Request{Verb: "up", Names: []string{"web"}}, "start", ""},
		{Request{Verb: "down", Names: []string{"web"}}, "stop", ""},
		{Request{Verb: "status"}, "status", ""},
		{Request{Verb: "check"}, "check", ""},
		{Request{Verb: "reload"}, "reload", ""},
		{Request{Verb: "wait", Names: []string{"db"}, Wait: 5}, "wait", ""},
		{Request{Verb: "pause", Names: []string{"a.b_c-9"}}, "pause", ""},
		{Request{Verb: "UP", Names: []string{"web"}}, "", `unknown verb "UP"`},
		{Request{Verb: "once"}, "", "once needs at least one service name"},
		{Request{Verb: "shutdown", Names: []string{"x"}}, "", "shutdown takes no service names"},
		{Request{Verb: "start", Names: []string{"Web"}}, "", `invalid service name "Web"`},
		{Request{Verb: "start", Names: []string{""}}, "", `invalid service name ""`},
		{Request{Verb: "start", Names: []string{"a"}, Wait: MaxWait + 1}, "", "wait 86401 out of range (0 to 86400 seconds)"},
		{Request{Verb: "shutdown", Now: true}, "shutdown", ""},
		{Request{Verb: "metrics"}, "metrics", ""},
		{Request{Verb: "stop", Names: []string{"a"}, Now: true}, "", "now is only for shutdown, not stop"},
	}
	for _, tt := range tests {
		got, err := Normalize(tt.in)
		if errText(err) != tt.wantErr {
			t.Errorf("Normalize(%+v) error %q, want %q", tt.in, errText(err), tt.wantErr)
		}
		if err == nil && got.Verb != tt.verb {
			t.Errorf("Normalize(%+v) verb %q, want %q", tt.in, got.Verb, tt.verb)
		}
	}
}

func TestMutates(t *testing.T) {
	var reads []string
	for v := range verbs {
		if !Mutates(v) {
			reads = append(reads, v)
		}
	}
	slices.Sort(reads)
	if want := []string{"check", "metrics", "status", "wait"}; !slices.Equal(reads, want) {
		t.Errorf("read-only verbs %v, want %v", reads, want)
	}
	if !Mutates("bogus") {
		t.Error("an unknown verb must count as mutating")
	}
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// FuzzDecodeRequest checks that no line makes the server's decoder panic
// and that whatever it accepts is canonical and valid.
func FuzzDecodeRequest(f *testing.F) {
	for _, s := range []string{
		`{"verb":"status"}`, `{"verb":"up","names":["web"],"wait":7}`,
		`{"verb":"wait","names":["db"],"wait":1.5}` + "\n", `{"verb":"x"}`, `{}`, `null`, `[]`,
		`{"verb":"stop","names":[]}`, `{"verb":"start","names":["a"],"wait":-0}`,
		`{"verb":"reload"} {"verb":"shutdown"}`, "\xff\xfe", `{"verb":"hup","names":["a","../b"]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		req, err := decodeRequest(line)
		if err != nil {
			return
		}
		if _, ok := verbs[req.Verb]; !ok {
			t.Fatalf("accepted non-canonical verb %q", req.Verb)
		}
		again, err := Normalize(req)
		if err != nil || again.Verb != req.Verb {
			t.Fatalf("accepted %+v, which does not re-validate: %v", req, err)
		}
		if _, err := json.Marshal(req); err != nil {
			t.Fatalf("accepted %+v, which does not encode: %v", req, err)
		}
	})
}
