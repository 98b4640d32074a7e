package logmux

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"
)

// marshal is encoding/json's encoding of s, without HTML escaping: the
// reference jsoncodec.AppendString must match byte for byte.
func marshal(t testing.TB, s string) string {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(s); err != nil {
		t.Fatalf("encode %q: %v", s, err)
	}
	return string(bytes.TrimSuffix(buf.Bytes(), []byte("\n")))
}

// checkJSONLine encodes one entry and checks it against encoding/json:
// valid, one line, fixed keys first and in order, values round-trip.
func checkJSONLine(t testing.TB, source, line, key, value string) {
	at := time.Date(2024, 1, 2, 3, 4, 5, 6, time.UTC)
	e := Entry{Source: source, Stream: Stderr, Format: JSON, Line: line,
		Fields: map[string]string{key: value}}
	got := string(appendJSON(nil, at, &e))
	want := `{"time":"2024-01-02T03:04:05.000000006Z","service":` + marshal(t, source) +
		`,"stream":"stderr","msg":` + marshal(t, line)
	switch key {
	case "time", "service", "stream", "msg":
	default:
		want += "," + marshal(t, key) + ":" + marshal(t, value)
	}
	want += "}\n"
	if got != want {
		t.Fatalf("appendJSON(%q, %q, %q: %q)\n got %q\nwant %q", source, line, key, value, got, want)
	}
	if bytes.IndexByte([]byte(got[:len(got)-1]), '\n') >= 0 {
		t.Fatalf("encoded line holds a raw newline: %q", got)
	}
	var obj map[string]string
	if err := json.Unmarshal([]byte(got), &obj); err != nil {
		t.Fatalf("decode %q: %v", got, err)
	}
	var wantMsg string
	if err := json.Unmarshal([]byte(marshal(t, line)), &wantMsg); err != nil {
		t.Fatal(err)
	}
	if obj["msg"] != wantMsg || obj["stream"] != "stderr" {
		t.Fatalf("decoded %v, want msg %q", obj, wantMsg)
	}
}

func TestJSONEscaping(t *testing.T) {
	tests := []struct{ name, line string }{
		{"plain", "hello world"},
		{"quotes and backslash", `a "b" \c\`},
		{"control chars", "\x00\x01\b\f\n\r\t\x1f\x7f"},
		{"invalid utf8", "a\xffb\xc3(\xed\xa0\x80z"},
		{"truncated rune at end", "end\xe2\x82"},
		{"valid unicode", "héllo wörld ✓ 😀"},
		{"replacement char itself", "\uFFFD"},
		{"line separators", "a\u2028b\u2029c"},
		{"html is not escaped", "<a href='x'>&</a>"},
		{"empty", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkJSONLine(t, "web", tt.line, "prio", tt.line)
		})
	}
}

func TestJSONReservedFieldsDropped(t *testing.T) {
	for _, k := range []string{"time", "service", "stream", "msg"} {
		checkJSONLine(t, "syslog", "m", k, "dup")
	}
}

// FuzzJSONLine checks the hand-written JSON encoder against encoding/json.
// Seeds live in testdata/fuzz/FuzzJSONLine.
func FuzzJSONLine(f *testing.F) {
	f.Add("web", "hello", "prio", "info")
	f.Fuzz(func(t *testing.T, source, line, key, value string) {
		checkJSONLine(t, source, line, key, value)
	})
}
