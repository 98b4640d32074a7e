package logmux

import (
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"alpine-server/internal/jsoncodec"
)

// Format is how the lines of one source are written (SPEC §5).
type Format int

// The formats of SPEC §5. Inherit and Discard are decided by whoever starts
// the child (its fds point at svinit's stdout or /dev/null); if they reach
// the mux anyway, Inherit is written as Plain and Discard is dropped.
const (
	Prefix Format = iota
	Plain
	JSON
	Inherit
	Discard
)

// String returns the name ParseFormat accepts.
func (f Format) String() string {
	switch f {
	case Prefix:
		return "prefix"
	case Plain:
		return "plain"
	case JSON:
		return "json"
	case Inherit:
		return "inherit"
	case Discard:
		return "discard"
	}
	return fmt.Sprintf("format(%d)", int(f))
}

// FormatNames are the names of every format, in order: what a manifest's
// `log:` accepts (SVINIT_LOG_FORMAT takes the first three).
func FormatNames() []string {
	names := make([]string, 0, Discard+1)
	for f := Prefix; f <= Discard; f++ {
		names = append(names, f.String())
	}
	return names
}

// ParseFormat parses "prefix", "plain", "json", "inherit" or "discard".
func ParseFormat(s string) (Format, error) {
	for f := Prefix; f <= Discard; f++ {
		if f.String() == s {
			return f, nil
		}
	}
	return Prefix, fmt.Errorf("log format %q: want one of %s", s, strings.Join(FormatNames(), ", "))
}

// Stream is the stream a line was written to, and the one it goes out on.
type Stream int

// The two output streams. Any other value is treated as Stdout.
const (
	Stdout Stream = iota
	Stderr
)

// String returns "stdout" or "stderr", as written in JSON lines.
func (s Stream) String() string {
	if s == Stderr {
		return "stderr"
	}
	return "stdout"
}

// maxLine is the longest line written as one; longer lines are cut (SPEC §5).
const maxLine = 64 << 10

// appendText appends line in the prefix format (prefix true: "NAME | line",
// NAME padded to width runes) or the plain one, with a newline. A line that
// holds newlines or is longer than maxLine becomes several lines, each with
// its prefix, so no output line ever lacks its name.
func appendText(dst []byte, prefix bool, name string, width int, line string) []byte {
	pad := width - utf8.RuneCountInString(name)
	for {
		piece, rest, more := cutLine(line)
		if prefix {
			dst = append(dst, name...)
			for i := 0; i < pad; i++ {
				dst = append(dst, ' ')
			}
			dst = append(dst, " | "...)
		}
		dst = append(dst, piece...)
		dst = append(dst, '\n')
		if !more {
			return dst
		}
		line = rest
	}
}

// cutLine splits s at its first newline or at maxLine, whichever comes
// first. A single trailing newline does not make an empty extra line.
func cutLine(s string) (piece, rest string, more bool) {
	i := strings.IndexByte(s, '\n')
	if i < 0 || i > maxLine {
		if len(s) <= maxLine {
			return s, "", false
		}
		return s[:maxLine], s[maxLine:], true
	}
	return s[:i], s[i+1:], i+1 < len(s)
}

// appendJSON appends e as one JSON object and a newline: time, service,
// stream and msg first, then e.Fields sorted by key. Fields named like the
// four fixed keys are left out so the object has no duplicate keys.
func appendJSON(dst []byte, t time.Time, e *Entry) []byte {
	dst = append(dst, `{"time":"`...)
	dst = t.AppendFormat(dst, time.RFC3339Nano)
	dst = append(dst, `","service":`...)
	dst = jsoncodec.AppendString(dst, e.Source)
	dst = append(dst, `,"stream":"`...)
	dst = append(dst, e.Stream.String()...)
	dst = append(dst, `","msg":`...)
	dst = jsoncodec.AppendString(dst, e.Line)
	if len(e.Fields) > 0 {
		dst = appendFields(dst, e.Fields)
	}
	return append(dst, "}\n"...)
}

func appendFields(dst []byte, fields map[string]string) []byte {
	var small [8]string // syslog has a handful of fields: no allocation
	keys := small[:0]
	for k := range fields {
		switch k {
		case "time", "service", "stream", "msg":
			continue
		}
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		dst = append(dst, ',')
		dst = jsoncodec.AppendString(dst, k)
		dst = append(dst, ':')
		dst = jsoncodec.AppendString(dst, fields[k])
	}
	return dst
}

// jsonSize estimates the encoded size of e, so that one allocation is
// usually enough.
func jsonSize(e *Entry) int {
	n := len(`{"time":"2006-01-02T15:04:05.999999999+07:00","service":"","stream":"stdout","msg":""}`+"\n") +
		len(e.Source) + len(e.Line) + len(e.Line)/8
	// Not iterating the map: a guess per field costs less than a walk.
	return n + 32*len(e.Fields)
}
