package logmux

import (
	"strings"
	"testing"
	"time"
)

func TestParseFormat(t *testing.T) {
	tests := []struct {
		in      string
		want    Format
		wantErr bool
	}{
		{"prefix", Prefix, false},
		{"plain", Plain, false},
		{"json", JSON, false},
		{"inherit", Inherit, false},
		{"discard", Discard, false},
		{"JSON", Prefix, true},
		{"", Prefix, true},
		{"syslog", Prefix, true},
	}
	for _, tt := range tests {
		got, err := ParseFormat(tt.in)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("ParseFormat(%q) = %v, %v; want %v, error %v", tt.in, got, err, tt.want, tt.wantErr)
		}
		if err != nil && !strings.Contains(err.Error(), `"`+tt.in+`"`) {
			t.Errorf("ParseFormat(%q) error %q does not name the input", tt.in, err)
		}
	}
}

func TestParseLevel(t *testing.T) {
	tests := []struct {
		in      string
		want    Level
		wantErr bool
	}{
		{"debug", Debug, false},
		{"info", Info, false},
		{"warn", Warn, false},
		{"error", Error, false},
		{"warning", Info, true},
		{"", Info, true},
	}
	for _, tt := range tests {
		got, err := ParseLevel(tt.in)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("ParseLevel(%q) = %v, %v; want %v, error %v", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestFormats(t *testing.T) {
	at := time.Date(2024, 1, 2, 3, 4, 5, 600, time.UTC)
	long := strings.Repeat("x", maxLine)
	tests := []struct {
		name       string
		register   []string
		e          Entry
		stdout     string
		stderr     string
		wantResult bool
	}{
		{"prefix padded", []string{"web", "postgres"},
			Entry{Source: "web", Line: "hello"}, "web      | hello\n", "", true},
		{"prefix longest", []string{"web", "postgres"},
			Entry{Source: "postgres", Line: "up"}, "postgres | up\n", "", true},
		{"prefix unregistered longer name", []string{"web"},
			Entry{Source: "startup/10-keys", Line: "ok"}, "startup/10-keys | ok\n", "", true},
		{"prefix pads in runes", []string{"café", "webserver"},
			Entry{Source: "café", Line: "x"}, "café      | x\n", "", true},
		{"prefix empty line", []string{"web"},
			Entry{Source: "web", Line: ""}, "web | \n", "", true},
		{"prefix stderr", []string{"web"},
			Entry{Source: "web", Stream: Stderr, Line: "oops"}, "", "web | oops\n", true},
		{"prefix embedded newlines keep the name", []string{"web"},
			Entry{Source: "web", Line: "a\nb\n"}, "web | a\nweb | b\n", "", true},
		{"prefix long line split", nil,
			Entry{Source: "w", Line: long + "yz"}, "w | " + long + "\nw | yz\n", "", true},
		{"plain", []string{"web"},
			Entry{Source: "web", Format: Plain, Line: "as is"}, "as is\n", "", true},
		{"plain stderr", nil,
			Entry{Source: "web", Format: Plain, Stream: Stderr, Line: "e"}, "", "e\n", true},
		{"inherit is plain", nil,
			Entry{Source: "web", Format: Inherit, Line: "i"}, "i\n", "", true},
		{"discard", nil,
			Entry{Source: "web", Format: Discard, Line: "gone"}, "", "", true},
		{"unknown stream is stdout", nil,
			Entry{Source: "web", Format: Plain, Stream: Stream(7), Line: "s"}, "s\n", "", true},
		{"json", []string{"web"},
			Entry{Source: "web", Format: JSON, Line: `say "hi"`},
			`{"time":"2024-01-02T03:04:05.0000006Z","service":"web","stream":"stdout","msg":"say \"hi\""}` + "\n", "", true},
		{"json stderr with fields", nil,
			Entry{Source: "syslog", Format: JSON, Stream: Stderr, Line: "m",
				Fields: map[string]string{"prio": "err", "app": "sshd", "msg": "dup", "time": "dup"}},
			"", `{"time":"2024-01-02T03:04:05.0000006Z","service":"syslog","stream":"stderr","msg":"m","app":"sshd","prio":"err"}` + "\n", true},
		{"json entry time", nil,
			Entry{Source: "s", Format: JSON, Line: "", Time: time.Unix(0, 0).UTC()},
			`{"time":"1970-01-01T00:00:00Z","service":"s","stream":"stdout","msg":""}` + "\n", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errs recorder
			m := New(Options{Stdout: &out, Stderr: &errs, Now: func() time.Time { return at }})
			for _, n := range tt.register {
				m.Register(n)
			}
			if got := m.Write(tt.e); got != tt.wantResult {
				t.Errorf("Write = %v, want %v", got, tt.wantResult)
			}
			m.Close(soon())
			if got := out.String(); got != tt.stdout {
				t.Errorf("stdout = %q, want %q", got, tt.stdout)
			}
			if got := errs.String(); got != tt.stderr {
				t.Errorf("stderr = %q, want %q", got, tt.stderr)
			}
		})
	}
}

func TestLogger(t *testing.T) {
	at := time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		name           string
		min            Level
		f              Format
		log            func(l *Logger)
		stdout, stderr string
	}{
		{"info", Info, Prefix, func(l *Logger) { l.Infof("service %s ready (pid %d, %s)", "ssh", 23, "12ms") },
			"svinit | info: service ssh ready (pid 23, 12ms)\n", ""},
		{"debug below min", Info, Prefix, func(l *Logger) { l.Debugf("hidden") }, "", ""},
		{"debug at min", Debug, Prefix, func(l *Logger) { l.Debugf("shown") }, "svinit | debug: shown\n", ""},
		{"warn to stderr", Info, Prefix, func(l *Logger) { l.Warnf("service web exited 1, restarting in 400ms") },
			"", "svinit | warn: service web exited 1, restarting in 400ms\n"},
		{"error to stderr", Error, Prefix, func(l *Logger) { l.Warnf("no"); l.Errorf("bad") },
			"", "svinit | error: bad\n"},
		{"plain", Info, Plain, func(l *Logger) { l.Infof("hi") }, "info: hi\n", ""},
		{"json level field", Info, JSON, func(l *Logger) { l.Errorf("bad %q", "x") },
			"", `{"time":"2024-01-02T03:04:05Z","service":"svinit","stream":"stderr","msg":"bad \"x\"","level":"error"}` + "\n"},
		{"discard", Debug, Discard, func(l *Logger) { l.Errorf("gone") }, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errs recorder
			m := New(Options{Stdout: &out, Stderr: &errs, Now: func() time.Time { return at }})
			tt.log(m.Logger("svinit", tt.min, tt.f))
			m.Close(soon())
			if got := out.String(); got != tt.stdout {
				t.Errorf("stdout = %q, want %q", got, tt.stdout)
			}
			if got := errs.String(); got != tt.stderr {
				t.Errorf("stderr = %q, want %q", got, tt.stderr)
			}
		})
	}
}

func TestNilLogger(t *testing.T) {
	var l *Logger
	l.Infof("nothing %d", 1) // must not panic
}

func TestLoggerPadsToServices(t *testing.T) {
	var out recorder
	m := New(Options{Stdout: &out})
	m.Register("postgres")
	m.Logger("svinit", Info, Prefix).Infof("up")
	m.Close(soon())
	if want := "svinit   | info: up\n"; out.String() != want {
		t.Errorf("got %q, want %q", out.String(), want)
	}
}
