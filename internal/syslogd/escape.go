package syslogd

import (
	"unicode"
	"unicode/utf8"
)

const hexDigits = "0123456789abcdef"

// appendEscaped appends s to dst so that it can neither break nor forge a
// log line: C0 controls and DEL become \n \r \t or \xNN, C1 controls (which
// some terminals obey, e.g. U+009B CSI) become \u00NN, bidi controls
// (U+202A–U+202E, U+2066–U+2069, U+200E, U+200F, U+061C: they make a line
// display reordered, "Trojan Source") become \uNNNN, and bytes that are not
// valid UTF-8 become \xNN. Everything else, including backslash, is
// kept as is: the goal is one honest line, not a reversible encoding.
func appendEscaped(dst []byte, s string) []byte {
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c < 0x7f {
			dst = append(dst, c)
			i++
			continue
		}
		if c < utf8.RuneSelf {
			dst = appendControl(dst, c)
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			dst = append(dst, '\\', 'x', hexDigits[c>>4], hexDigits[c&15])
		case r < 0xa0 || unicode.Is(unicode.Bidi_Control, r):
			dst = append(dst, '\\', 'u', hexDigits[r>>12], hexDigits[r>>8&15], hexDigits[r>>4&15], hexDigits[r&15])
		default:
			dst = append(dst, s[i:i+size]...)
		}
		i += size
	}
	return dst
}

func appendControl(dst []byte, c byte) []byte {
	switch c {
	case '\n':
		return append(dst, '\\', 'n')
	case '\r':
		return append(dst, '\\', 'r')
	case '\t':
		return append(dst, '\\', 't')
	}
	return append(dst, '\\', 'x', hexDigits[c>>4], hexDigits[c&15])
}

// escape returns s escaped as appendEscaped does, without copying when
// there is nothing to escape (the common case).
func escape(s string) string {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] >= 0x7f {
			return string(appendEscaped(make([]byte, 0, len(s)+8), s))
		}
	}
	return s
}
