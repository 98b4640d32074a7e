package syslogd

import (
	"bufio"
	"io"
	"strings"
	"testing"
	"unicode/utf8"
)

// checkSafe fails when out holds something that could break or forge a
// line: a C0 or C1 control, DEL, or invalid UTF-8.
func checkSafe(t *testing.T, what, out string) {
	t.Helper()
	if !utf8.ValidString(out) {
		t.Fatalf("%s %q is not valid UTF-8", what, out)
	}
	for _, r := range out {
		if r < 0x20 || (r >= 0x7f && r < 0xa0) {
			t.Fatalf("%s %q holds control %U", what, out, r)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"<13>Nov 29 23:41:14 myapp[7575]: with pid",
		"<13>Nov 29 23:41:14 vm t3: rfc3164 msg",
		`<13>1 2026-11-29T23:41:22.094422+00:00 vm app5 - ID47 [timeQuality tzKnown="1"][x@1 e="A\]b"] msg`,
		"<165>1 2003-08-24T05:14:15.000003-07:00 192.0.2.1 myproc 8710 - - %% do-nuts",
		"<13>1 - - - - - -",
		"<0>\xff\x00\n\x1b\u009b",
		"plain",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m := Parse(b)
		if m.Priority < 0 || m.Priority > maxPriority {
			t.Fatalf("priority %d out of range", m.Priority)
		}
		line, _ := capLine(m.appendLine(nil), false)
		checkSafe(t, "line", string(line))
		if len(line) > maxLine {
			t.Fatalf("line of %d bytes", len(line))
		}
		for k, v := range m.fields() {
			checkSafe(t, "field "+k, v)
		}
		if m.Kind == Raw && m.Tag != "" {
			t.Fatalf("raw message with tag %q", m.Tag)
		}
	})
}

// FuzzSplitFrame feeds arbitrary streams through the stream framing: it
// never panics, stalls or returns a frame longer than maxMessage.
func FuzzSplitFrame(f *testing.F) {
	f.Add([]byte("33 <13>Nov 29 23:41:24 st: stream oc"), 7)
	f.Add([]byte("<13>a: one\n<13>b: two\x00three"), 3)
	f.Add([]byte("99999999 x\n12"), 1)
	f.Fuzz(func(t *testing.T, b []byte, chunk int) {
		if chunk < 1 {
			chunk = 1
		}
		sc := bufio.NewScanner(&chunkReader{b: b, n: chunk})
		sc.Buffer(make([]byte, 16), maxMessage+maxFrameHeader)
		sc.Split(new(framer).split)
		total := 0
		for sc.Scan() {
			if len(sc.Bytes()) > maxMessage {
				t.Fatalf("frame of %d bytes", len(sc.Bytes()))
			}
			total += len(sc.Bytes())
		}
		if err := sc.Err(); err != nil {
			t.Fatalf("scan: %v", err)
		}
		if total > len(b) {
			t.Fatalf("frames hold %d bytes of %d", total, len(b))
		}
	})
}

// chunkReader returns b n bytes at a time, like a slow socket.
type chunkReader struct {
	b []byte
	n int
}

func (r *chunkReader) Read(p []byte) (int, error) {
	if len(r.b) == 0 {
		return 0, io.EOF
	}
	n := copy(p[:min(len(p), r.n)], r.b)
	r.b = r.b[n:]
	return n, nil
}

func TestSplitFrame(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []string
	}{
		{"newline", "<13>a: one\n<13>b: two\n", []string{"<13>a: one", "<13>b: two"}},
		{"NUL (glibc)", "<13>a: one\x00<13>b: two\x00", []string{"<13>a: one", "<13>b: two"}},
		{"no final newline", "<13>a: one", []string{"<13>a: one"}},
		{"octet counting", "10 <13>a: one11 <13>b: two\n", []string{"<13>a: one", "<13>b: two\n"}},
		{"octet count cut short", "20 <13>a", []string{"<13>a"}},
		{"digits that are no count", "12345678 x\n", []string{"12345678 x"}},
		{"long line split", strings.Repeat("x", maxMessage+5) + "\n", []string{strings.Repeat("x", maxMessage), "xxxxx"}},
		{"long line then count", strings.Repeat("y", maxMessage) + "3 abc", []string{strings.Repeat("y", maxMessage), "abc"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sc := bufio.NewScanner(&chunkReader{b: []byte(tt.in), n: 3})
			sc.Buffer(make([]byte, 16), maxMessage+maxFrameHeader)
			sc.Split(new(framer).split)
			var got []string
			for sc.Scan() {
				got = append(got, sc.Text())
			}
			if sc.Err() != nil {
				t.Fatalf("scan: %v", sc.Err())
			}
			if strings.Join(got, "|") != strings.Join(tt.want, "|") {
				t.Errorf("frames = %q, want %q", got, tt.want)
			}
		})
	}
}
