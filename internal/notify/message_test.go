package notify

import (
	"math"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Message
	}{
		{"READY=1", Message{Ready: true}},
		{"READY=1\nSTATUS=Processing requests…\n", Message{Ready: true, Status: "Processing requests…", HasStatus: true}},
		{"STATUS=", Message{HasStatus: true}},
		{"STATUS=a=b c", Message{Status: "a=b c", HasStatus: true}},
		{"STATUS=one\nSTATUS=two", Message{Status: "two", HasStatus: true}},
		{"STOPPING=1", Message{Stopping: true}},
		{"RELOADING=1\nMONOTONIC_USEC=123", Message{Reloading: true}},
		{"MAINPID=4242", Message{MainPID: 4242}},
		{"EXTEND_TIMEOUT_USEC=5000000", Message{Extend: 5 * time.Second, HasExtend: true}},
		{"EXTEND_TIMEOUT_USEC=0", Message{HasExtend: true}},
		{"EXTEND_TIMEOUT_USEC=18446744073709551615", Message{Extend: math.MaxInt64, HasExtend: true}},
		{"WATCHDOG=1", Message{Watchdog: true}},
		{"WATCHDOG=trigger", Message{WatchdogTrigger: true}},
		{"WATCHDOG_USEC=2500000", Message{WatchdogInterval: 2500 * time.Millisecond}},
		{"BARRIER=1", Message{Barrier: true}},
		{"\n\nREADY=1\n\n", Message{Ready: true}},
		{"FDSTORE=1\nFDNAME=x\nERRNO=2\nX_CUSTOM=whatever", Message{}},
	} {
		got, err := Parse([]byte(tc.in))
		if err != nil || got != tc.want {
			t.Errorf("Parse(%q) = %+v, %v; want %+v", tc.in, got, err, tc.want)
		}
	}
}

func TestParseMalformed(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", "empty message"},
		{"\n\n", "no KEY=VALUE line"},
		{"READY", `line "READY": want KEY=VALUE`},
		{"=1", `line "=1": want KEY=VALUE`},
		{"READY=1\ngarbage", `line "garbage": want KEY=VALUE`},
		{"READY=0", `READY="0": want 1`},
		{"READY=yes", `READY="yes": want 1`},
		{"STOPPING=true", `STOPPING="true": want 1`},
		{"MAINPID=0", `MAINPID="0": want a process id`},
		{"MAINPID=-1", `MAINPID="-1": want a process id`},
		{"MAINPID=abc", `MAINPID="abc": want a process id`},
		{"MAINPID=99999999", `MAINPID="99999999": want a process id`},
		{"EXTEND_TIMEOUT_USEC=5s", `EXTEND_TIMEOUT_USEC="5s": want microseconds`},
		{"WATCHDOG=2", `WATCHDOG="2": want 1 or trigger`},
		{"WATCHDOG_USEC=0", `WATCHDOG_USEC="0": want more than 0`},
		{"STATUS=a\x00b", "holds a NUL byte"},
		{"READY=1\nSTATUS=\xff", "not UTF-8"},
		{strings.Repeat("x", MaxMessage+1), "over 4096"},
		{"STATUS=" + strings.Repeat("é", 100) + "\nREADY=2", `READY="2": want 1`},
	} {
		m, err := Parse([]byte(tc.in))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Parse(%q) = %+v, %v; want an error with %q", clip(tc.in), m, err, tc.want)
		}
		if m != (Message{}) {
			t.Errorf("Parse(%q) kept part of a malformed message: %+v", clip(tc.in), m)
		}
	}
}

func TestClip(t *testing.T) {
	long := strings.Repeat("é", 40) // 80 bytes, 2 per rune
	got := clip(long)
	if !strings.HasSuffix(got, "…") || len(got) > 64+len("…") || !strings.HasPrefix(long, strings.TrimSuffix(got, "…")) {
		t.Errorf("clip(%q) = %q", long, got)
	}
	if clip("short") != "short" {
		t.Error("clip changed a short string")
	}
}

// encode writes m back as sd_notify would (for the fuzz round trip).
func encode(m Message) string {
	var lines []string
	flag := func(on bool, key string) {
		if on {
			lines = append(lines, key+"=1")
		}
	}
	flag(m.Ready, "READY")
	flag(m.Stopping, "STOPPING")
	flag(m.Reloading, "RELOADING")
	flag(m.Watchdog, "WATCHDOG")
	flag(m.Barrier, "BARRIER")
	if m.WatchdogTrigger {
		lines = append(lines, "WATCHDOG=trigger")
	}
	if m.HasStatus {
		lines = append(lines, "STATUS="+m.Status)
	}
	if m.MainPID != 0 {
		lines = append(lines, "MAINPID="+strconv.Itoa(m.MainPID))
	}
	if m.HasExtend {
		lines = append(lines, "EXTEND_TIMEOUT_USEC="+strconv.FormatInt(m.Extend.Microseconds(), 10))
	}
	if m.WatchdogInterval != 0 {
		lines = append(lines, "WATCHDOG_USEC="+strconv.FormatInt(m.WatchdogInterval.Microseconds(), 10))
	}
	if len(lines) == 0 {
		lines = append(lines, "X_NOTHING=1")
	}
	return strings.Join(lines, "\n")
}

// FuzzParse checks that no datagram makes Parse panic, that a refused one
// leaves nothing behind, and that what it accepts reads back the same once
// written out again (sub-microsecond precision aside, which the wire
// cannot carry). Seeds: testdata/fuzz/FuzzParse and below.
func FuzzParse(f *testing.F) {
	for _, seed := range []string{
		"READY=1\nSTATUS=Ready to accept connections\n",
		"WATCHDOG=1", "BARRIER=1", "MAINPID=1\nEXTEND_TIMEOUT_USEC=1\n",
		"RELOADING=1\nMONOTONIC_USEC=99\nSTATUS=reloading", "READY=0", "=\n=",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := Parse(b)
		if err != nil {
			if m != (Message{}) {
				t.Fatalf("refused %q but returned %+v", b, m)
			}
			return
		}
		if strings.Contains(m.Status, "\n") {
			t.Fatalf("status %q holds a newline", m.Status)
		}
		again, err := Parse([]byte(encode(m)))
		if err != nil {
			t.Fatalf("re-encoded %+v does not parse: %v", m, err)
		}
		m.Extend, again.Extend = m.Extend.Truncate(time.Microsecond), again.Extend.Truncate(time.Microsecond)
		if again != m {
			t.Fatalf("round trip of %q: %+v became %+v", b, m, again)
		}
	})
}
