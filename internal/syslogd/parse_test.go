package syslogd

import (
	"strings"
	"testing"
)

// Samples are real: the util-linux ones were captured from logger 2.38.1
// writing to a socket in a temp dir (logger -u PATH -d ...), the RFC ones
// are copied from RFC 5424 §6.5 and RFC 3164 §5.4, musl's is its syslog(3)
// format (what busybox logger sends on Alpine), Go's is log/syslog's local
// format.
func TestParse(t *testing.T) {
	const bom = "\xEF\xBB\xBF"
	tests := []struct {
		name string
		in   string
		want Message
	}{
		{"util-linux logger", "<13>Nov 29 23:41:14 root: hello world",
			Message{Kind: RFC3164, Priority: 13, HasPriority: true, Timestamp: "Nov 29 23:41:14", Tag: "root", Text: "hello world"}},
		{"util-linux logger -t -p local3.err", "<155>Nov 29 23:41:14 myapp: with tag",
			Message{Kind: RFC3164, Priority: 155, HasPriority: true, Timestamp: "Nov 29 23:41:14", Tag: "myapp", Text: "with tag"}},
		{"util-linux logger -i", "<13>Nov 29 23:41:14 myapp[7575]: with pid",
			Message{Kind: RFC3164, Priority: 13, HasPriority: true, Timestamp: "Nov 29 23:41:14", Tag: "myapp", PID: "7575", Text: "with pid"}},
		{"util-linux logger --rfc3164 (hostname)", "<13>Nov 29 23:41:14 vm t3: rfc3164 msg",
			Message{Kind: RFC3164, Priority: 13, HasPriority: true, Timestamp: "Nov 29 23:41:14", Hostname: "vm", Tag: "t3", Text: "rfc3164 msg"}},
		{"util-linux logger --rfc5424", `<13>1 2026-11-29T23:41:22.094422+00:00 vm app5 - ID47 [timeQuality tzKnown="1" isSynced="0"][exampleSDID@32473 iut="3" eventSource="App\]lication"] rfc5424 msg`,
			Message{Kind: RFC5424, Priority: 13, HasPriority: true, Timestamp: "2026-11-29T23:41:22.094422+00:00", Hostname: "vm", Tag: "app5", MsgID: "ID47",
				SD: `[timeQuality tzKnown="1" isSynced="0"][exampleSDID@32473 iut="3" eventSource="App\]lication"]`, Text: "rfc5424 msg"}},
		{"util-linux logger --rfc5424=notime,nohost", "<13>1 - - app5 - - - nt",
			Message{Kind: RFC5424, Priority: 13, HasPriority: true, Tag: "app5", Text: "nt"}},
		{"util-linux logger -T (stream, newline)", "<13>Nov 29 23:41:24 st: stream one\n",
			Message{Kind: RFC3164, Priority: 13, HasPriority: true, Timestamp: "Nov 29 23:41:24", Tag: "st", Text: "stream one"}},
		{"util-linux escape bytes", "<13>Nov 29 23:41:14 esc: a\x1bb\nc",
			Message{Kind: RFC3164, Priority: 13, HasPriority: true, Timestamp: "Nov 29 23:41:14", Tag: "esc", Text: "a\x1bb\nc"}},
		{"musl syslog(3) / busybox logger", "<13>Nov  9 08:01:02 root: hello",
			Message{Kind: RFC3164, Priority: 13, HasPriority: true, Timestamp: "Nov  9 08:01:02", Tag: "root", Text: "hello"}},
		{"glibc stream fallback NUL", "<86>Nov  9 08:01:02 sshd[31]: Accepted publickey\x00",
			Message{Kind: RFC3164, Priority: 86, HasPriority: true, Timestamp: "Nov  9 08:01:02", Tag: "sshd", PID: "31", Text: "Accepted publickey"}},
		{"Go log/syslog", "<14>Nov 29 12:00:00 myprog[42]: msg\n",
			Message{Kind: RFC3164, Priority: 14, HasPriority: true, Timestamp: "Nov 29 12:00:00", Tag: "myprog", PID: "42", Text: "msg"}},
		{"python SysLogHandler with ident", "<14>myapp: started\x00",
			Message{Kind: RFC3164, Priority: 14, HasPriority: true, Tag: "myapp", Text: "started"}},
		{"python SysLogHandler plain", "<14>hello world\x00",
			Message{Kind: Raw, Priority: 14, HasPriority: true, Text: "hello world"}},
		{"tag with slash, no space after colon", "<22>Nov 29 12:00:00 postfix/smtpd[77]:connect",
			Message{Kind: RFC3164, Priority: 22, HasPriority: true, Timestamp: "Nov 29 12:00:00", Tag: "postfix/smtpd", PID: "77", Text: "connect"}},
		{"rsyslog RFC 3339 timestamp", "<13>2026-11-29T23:41:14.603038+00:00 vm app: x",
			Message{Kind: RFC3164, Priority: 13, HasPriority: true, Timestamp: "2026-11-29T23:41:14.603038+00:00", Hostname: "vm", Tag: "app", Text: "x"}},
		{"RFC 5424 6.5 example 1", "<34>1 2003-10-11T22:14:15.003Z mymachine.example.com su - ID47 - " + bom + "'su root' failed for lonvick on /dev/pts/8",
			Message{Kind: RFC5424, Priority: 34, HasPriority: true, Timestamp: "2003-10-11T22:14:15.003Z", Hostname: "mymachine.example.com", Tag: "su", MsgID: "ID47", Text: "'su root' failed for lonvick on /dev/pts/8"}},
		{"RFC 5424 6.5 example 2", "<165>1 2003-08-24T05:14:15.000003-07:00 192.0.2.1 myproc 8710 - - %% It's time to make the do-nuts.",
			Message{Kind: RFC5424, Priority: 165, HasPriority: true, Timestamp: "2003-08-24T05:14:15.000003-07:00", Hostname: "192.0.2.1", Tag: "myproc", PID: "8710", Text: "%% It's time to make the do-nuts."}},
		{"RFC 5424 6.5 example 3", `<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 iut="3" eventSource="Application" eventID="1011"] ` + bom + "An application event log entry...",
			Message{Kind: RFC5424, Priority: 165, HasPriority: true, Timestamp: "2003-10-11T22:14:15.003Z", Hostname: "mymachine.example.com", Tag: "evntslog", MsgID: "ID47",
				SD: `[exampleSDID@32473 iut="3" eventSource="Application" eventID="1011"]`, Text: "An application event log entry..."}},
		{"RFC 5424 6.5 example 4 (no MSG)", `<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 iut="3" eventSource="Application" eventID="1011"][examplePriority@32473 class="high"]`,
			Message{Kind: RFC5424, Priority: 165, HasPriority: true, Timestamp: "2003-10-11T22:14:15.003Z", Hostname: "mymachine.example.com", Tag: "evntslog", MsgID: "ID47",
				SD: `[exampleSDID@32473 iut="3" eventSource="Application" eventID="1011"][examplePriority@32473 class="high"]`}},
		{"RFC 5424 escaped quote and backslash in SD", `<13>1 - h a p m [x@1 k="a\"]\\"] msg`,
			Message{Kind: RFC5424, Priority: 13, HasPriority: true, Hostname: "h", Tag: "a", PID: "p", MsgID: "m", SD: `[x@1 k="a\"]\\"]`, Text: "msg"}},
		{"RFC 3164 5.4 example 1", "<34>Oct 11 22:14:15 mymachine su: 'su root' failed for lonvick on /dev/pts/8",
			Message{Kind: RFC3164, Priority: 34, HasPriority: true, Timestamp: "Oct 11 22:14:15", Hostname: "mymachine", Tag: "su", Text: "'su root' failed for lonvick on /dev/pts/8"}},
		{"RFC 3164 5.4 example 2 (no tag)", "<13>Feb  5 17:32:18 10.0.0.99 Use the BFG!",
			Message{Kind: RFC3164, Priority: 13, HasPriority: true, Timestamp: "Feb  5 17:32:18", Text: "10.0.0.99 Use the BFG!"}},
		{"RFC 3164 5.4 example 4 (bad time)", "<0>1990 Oct 22 10:52:01 TZ-6 scapegoat.dmz.example.org 10.1.2.3 sched[0]: That's All Folks!",
			Message{Kind: Raw, Priority: 0, HasPriority: true, Text: "1990 Oct 22 10:52:01 TZ-6 scapegoat.dmz.example.org 10.1.2.3 sched[0]: That's All Folks!"}},
		{"timestamp, no tag", "<13>Nov 29 12:00:00 hello world",
			Message{Kind: RFC3164, Priority: 13, HasPriority: true, Timestamp: "Nov 29 12:00:00", Text: "hello world"}},
		{"no PRI", "just text", Message{Kind: Raw, Priority: 13, Text: "just text"}},
		{"PRI out of range", "<192>x: y", Message{Kind: Raw, Priority: 13, Text: "<192>x: y"}},
		{"PRI too long", "<0013>x", Message{Kind: Raw, Priority: 13, Text: "<0013>x"}},
		{"PRI unclosed", "<13", Message{Kind: Raw, Priority: 13, Text: "<13"}},
		{"PRI only", "<13>", Message{Kind: Raw, Priority: 13, HasPriority: true}},
		{"broken 5424 SD falls back", "<13>1 - - app - - [unclosed msg",
			Message{Kind: Raw, Priority: 13, HasPriority: true, Text: "1 - - app - - [unclosed msg"}},
		{"5424 bad timestamp falls back", "<13>1 yesterday h a - - - m",
			Message{Kind: Raw, Priority: 13, HasPriority: true, Text: "1 yesterday h a - - - m"}},
		{"pid unclosed", "<13>tag[12: x", Message{Kind: Raw, Priority: 13, HasPriority: true, Text: "tag[12: x"}},
		{"empty", "", Message{Kind: Raw, Priority: 13}},
		{"only newlines and NULs", "\n\x00\r\n", Message{Kind: Raw, Priority: 13}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Parse([]byte(tt.in)); got != tt.want {
				t.Errorf("Parse(%q)\n got %+v\nwant %+v", tt.in, got, tt.want)
			}
		})
	}
}

func TestLine(t *testing.T) {
	tests := []struct {
		in        string
		truncated bool
		want      string
	}{
		{"<13>Nov 29 23:41:14 root[12]: hello", false, "user.notice root[12]: hello"},
		{"<155>Nov 29 23:41:14 myapp: with tag", false, "local3.err myapp: with tag"},
		{"<0>panic", false, "kern.emerg panic"},
		{"<191>x: y", false, "local7.debug x: y"},
		{"plain", false, "user.notice plain"},
		{"<13>1 - - app5 - - [timeQuality tzKnown=\"1\"] nt", false, "user.notice app5: nt"},
		{"<13>t: line1\nline2", false, `user.notice t: line1\nline2`},
		{"<13>t: xxx", true, "user.notice t: xxx [truncated]"},
		{"<13>t: " + strings.Repeat("\x01", maxMessage), false, "user.notice t: " + strings.Repeat(`\x01`, (maxLine-len(truncatedMark)-15)/4) + `\` + truncatedMark},
		{"<13>t: " + strings.Repeat("é", maxLine), false, "user.notice t: " + strings.Repeat("é", (maxLine-len(truncatedMark)-15)/2) + truncatedMark},
	}
	for _, tt := range tests {
		m := Parse([]byte(tt.in))
		got, _ := capLine(m.appendLine(nil), tt.truncated)
		if string(got) != tt.want {
			t.Errorf("line of %.40q = %.40q... (%d bytes), want %.40q... (%d bytes)", tt.in, got, len(got), tt.want, len(tt.want))
		}
	}
}

func TestFields(t *testing.T) {
	m := Parse([]byte(`<165>1 2003-10-11T22:14:15.003Z host evntslog 42 ID47 [a@1 k="v"] ev` + "\x1b"))
	got := m.fields()
	want := map[string]string{
		"facility": "local4", "severity": "notice", "priority": "165", "syntax": "rfc5424",
		"timestamp": "2003-10-11T22:14:15.003Z", "hostname": "host", "tag": "evntslog",
		"pid": "42", "msgid": "ID47", "sd": `[a@1 k="v"]`,
	}
	if len(got) != len(want) {
		t.Errorf("fields = %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("field %s = %q, want %q", k, got[k], v)
		}
	}
	if txt := string(appendEscaped(nil, m.Text)); txt != `ev\x1b` {
		t.Errorf("text = %q, want %q", txt, `ev\x1b`)
	}
}

// TestEscape proves a message cannot forge a log line or smuggle terminal
// controls: nothing below 0x20, no DEL, no C1, no invalid UTF-8 survives.
func TestEscape(t *testing.T) {
	tests := []struct{ in, want string }{
		{"plain text", "plain text"},
		{"a\nweb | forged line", `a\nweb | forged line`},
		{"cr\rtab\t", `cr\rtab\t`},
		{"nul\x00bell\x07esc\x1b[31mdel\x7f", `nul\x00bell\x07esc\x1b[31mdel\x7f`},
		{"csi\u009bx", `csi\u009bx`},
		{"bad\xff\xfeutf8", `bad\xff\xfeutf8`},
		{"cut rune \xe2\x82", `cut rune \xe2\x82`},
		{"héllo ✓ 世界", "héllo ✓ 世界"},
		{`back\slash`, `back\slash`},
		{"\u2028nbsp\u00a0", "\u2028nbsp\u00a0"},
		// Bidi controls reorder what a terminal or viewer shows ("Trojan
		// Source"): a message must not display as something else.
		{"user \u202eLTR", `user \u202eLTR`},
		{"\u202a\u202b\u202c\u202d", `\u202a\u202b\u202c\u202d`},
		{"iso\u2066\u2067\u2068\u2069", `iso\u2066\u2067\u2068\u2069`},
		{"marks\u200e\u200f\u061c", `marks\u200e\u200f\u061c`},
		{"zwj\u200dkept", "zwj\u200dkept"},
	}
	for _, tt := range tests {
		if got := escape(tt.in); got != tt.want {
			t.Errorf("escape(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestLineInjection(t *testing.T) {
	in := "<13>evil[1]: ok\nsvinit | info: service ssh ready\x1b]0;pwned\x07\xc0"
	m := Parse([]byte(in))
	line := string(m.appendLine(nil))
	if strings.ContainsAny(line, "\n\r\x1b\x07") {
		t.Fatalf("line %q holds a raw control character", line)
	}
	want := `user.notice evil[1]: ok\nsvinit | info: service ssh ready\x1b]0;pwned\x07\xc0`
	if line != want {
		t.Errorf("line = %q, want %q", line, want)
	}
}

func BenchmarkParse(b *testing.B) {
	samples := [][]byte{
		[]byte("<13>Nov 29 23:41:14 myapp[7575]: a typical message from a daemon"),
		[]byte(`<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 iut="3" eventSource="Application" eventID="1011"] An application event log entry...`),
	}
	for _, s := range samples {
		b.Run(Parse(s).Kind.String(), func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(s)))
			for b.Loop() {
				m := Parse(s)
				_ = m.appendLine(make([]byte, 0, 128))
			}
		})
	}
}
