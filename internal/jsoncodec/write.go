// Package jsoncodec is svinit's JSON: an append-only writer whose output
// matches encoding/json byte for byte, and a strict reader (exact keys, no
// duplicates, bounded depth, one error naming the key). The control
// protocol and the JSON log lines use it instead of encoding/json, which
// costs about 0.3 MB of binary (SPEC §12) and reads keys case-insensitively,
// the last duplicate winning. Both halves are fuzzed against encoding/json.
//
// A type describes its wire form once, one line per field, in an
// appendJSON method (Writer) and a field method (Decoder.Object); see
// internal/control/codec.go.
package jsoncodec

import (
	"errors"
	"math"
	"strconv"
	"time"
	"unicode/utf8"
)

// Omit says whether a field is left out when it holds its zero value, as
// the `omitempty` tag option does.
type Omit bool

// The two choices of Omit.
const (
	Always    Omit = false
	OmitEmpty Omit = true
)

// Writer appends one JSON value, object by object and field by field, in
// the order the calls come, as encoding/json.Marshal writes a struct (HTML
// characters escaped, no spaces). The first unsupported value (NaN, a year
// outside 0–9999) is kept in Err and later calls still append, so callers
// check once at the end.
type Writer struct {
	B    []byte
	more bool // a value was written at this level: the next one needs a comma
	err  error
}

// Err is the first value that could not be encoded, or nil.
func (w *Writer) Err() error { return w.err }

func (w *Writer) fail(err error) {
	if w.err == nil {
		w.err = err
	}
}

// comma separates this value from the previous one at the same level.
func (w *Writer) comma() {
	if w.more {
		w.B = append(w.B, ',')
	}
}

// Key starts the field named k; the next call writes its value.
func (w *Writer) Key(k string) {
	w.comma()
	w.B = AppendStringHTML(w.B, k)
	w.B = append(w.B, ':')
	w.more = false
}

// Open starts an object (a field's value after Key, an array element, or
// the top-level value).
func (w *Writer) Open() { w.comma(); w.B = append(w.B, '{'); w.more = false }

// Close ends the object Open started.
func (w *Writer) Close() { w.B = append(w.B, '}'); w.more = true }

// OpenArray starts an array.
func (w *Writer) OpenArray() { w.comma(); w.B = append(w.B, '['); w.more = false }

// CloseArray ends the array OpenArray started.
func (w *Writer) CloseArray() { w.B = append(w.B, ']'); w.more = true }

// StringValue writes s as a value (an array element).
func (w *Writer) StringValue(s string) {
	w.comma()
	w.B = AppendStringHTML(w.B, s)
	w.more = true
}

// String writes the field k: s.
func (w *Writer) String(k, s string, o Omit) {
	if o == OmitEmpty && s == "" {
		return
	}
	w.Key(k)
	w.StringValue(s)
}

// Bool writes the field k: b.
func (w *Writer) Bool(k string, b bool, o Omit) {
	if o == OmitEmpty && !b {
		return
	}
	w.Key(k)
	w.B = strconv.AppendBool(w.B, b)
	w.more = true
}

// Int writes the field k: n.
func (w *Writer) Int(k string, n int64, o Omit) {
	if o == OmitEmpty && n == 0 {
		return
	}
	w.Key(k)
	w.B = strconv.AppendInt(w.B, n, 10)
	w.more = true
}

// Uint writes the field k: n.
func (w *Writer) Uint(k string, n uint64, o Omit) {
	if o == OmitEmpty && n == 0 {
		return
	}
	w.Key(k)
	w.B = strconv.AppendUint(w.B, n, 10)
	w.more = true
}

// Float writes the field k: f, formatted as encoding/json formats a
// float64. NaN and infinities are errors there, and here.
func (w *Writer) Float(k string, f float64, o Omit) {
	if o == OmitEmpty && f == 0 {
		return
	}
	w.Key(k)
	var err error
	w.B, err = appendFloat(w.B, f)
	if err != nil {
		w.fail(errors.New("field " + strconv.Quote(k) + ": " + err.Error()))
	}
	w.more = true
}

// Time writes the field k: t in RFC 3339 with nanoseconds, as time.Time's
// MarshalJSON does (omitempty never drops a struct, so neither does this).
func (w *Writer) Time(k string, t time.Time) {
	w.Key(k)
	b, err := t.MarshalJSON()
	if err != nil {
		w.fail(errors.New("field " + strconv.Quote(k) + ": " + err.Error()))
		b = []byte(`""`)
	}
	w.B = append(w.B, b...)
	w.more = true
}

// Strings writes the field k: a list of strings.
func (w *Writer) Strings(k string, ss []string, o Omit) {
	if o == OmitEmpty && len(ss) == 0 {
		return
	}
	w.Key(k)
	if ss == nil {
		w.B = append(w.B, "null"...)
		w.more = true
		return
	}
	w.OpenArray()
	for _, s := range ss {
		w.StringValue(s)
	}
	w.CloseArray()
}

// Raw writes the field k: raw, a JSON value its owner encoded (compact, as
// a Writer writes it). Empty raw is null, or nothing with OmitEmpty.
func (w *Writer) Raw(k string, raw []byte, o Omit) {
	if o == OmitEmpty && len(raw) == 0 {
		return
	}
	w.Key(k)
	if len(raw) == 0 {
		raw = []byte("null")
	}
	w.B = append(w.B, raw...)
	w.more = true
}

// AppendList writes the field k: a list whose elements each writes (one
// value per element, usually an object), or null for a nil list.
func AppendList[T any](w *Writer, k string, list []T, o Omit, each func(*T, *Writer)) {
	w.list(k, len(list), list == nil, o, func(i int) { each(&list[i], w) })
}

// list is AppendList without the element type.
func (w *Writer) list(k string, n int, isNil bool, o Omit, each func(i int)) {
	if o == OmitEmpty && n == 0 {
		return
	}
	w.Key(k)
	if isNil {
		w.B = append(w.B, "null"...)
		w.more = true
		return
	}
	w.OpenArray()
	for i := range n {
		each(i)
	}
	w.CloseArray()
}

// appendFloat formats f as encoding/json's float64 encoder does: the
// shortest representation, exponent form only below 1e-6 and from 1e21,
// and "e-07" cleaned to "e-7".
func appendFloat(dst []byte, f float64) ([]byte, error) {
	if math.IsInf(f, 0) || math.IsNaN(f) {
		return append(dst, '0'), errors.New("unsupported value " + strconv.FormatFloat(f, 'g', -1, 64))
	}
	format := byte('f')
	if abs := math.Abs(f); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	dst = strconv.AppendFloat(dst, f, format, -1, 64)
	if format == 'e' {
		if n := len(dst); n >= 4 && dst[n-4] == 'e' && dst[n-3] == '-' && dst[n-2] == '0' {
			dst[n-2] = dst[n-1]
			dst = dst[:n-1]
		}
	}
	return dst, nil
}

// safe and htmlSafe say which ASCII bytes go into a JSON string as they
// are: not a control character, quote or backslash, and for htmlSafe not
// <, > or & either (encoding/json.Marshal escapes those by default).
var safe, htmlSafe = asciiTables()

func asciiTables() (plain, html [utf8.RuneSelf]bool) {
	for c := byte(0x20); c < utf8.RuneSelf; c++ {
		plain[c] = c != '"' && c != '\\'
		html[c] = plain[c] && c != '<' && c != '>' && c != '&'
	}
	return plain, html
}

// AppendString appends s as a JSON string the way encoding/json does
// without HTML escaping (json.Encoder.SetEscapeHTML(false)): control
// characters escaped, each invalid UTF-8 byte replaced by U+FFFD,
// U+2028/U+2029 escaped for JavaScript readers. No allocation: the log
// lines of every service go through it.
func AppendString(dst []byte, s string) []byte { return appendString(dst, s, &safe) }

// AppendStringHTML appends s as json.Marshal does: as AppendString, and
// <, > and & escaped as \u003c, \u003e and \u0026.
func AppendStringHTML(dst []byte, s string) []byte { return appendString(dst, s, &htmlSafe) }

func appendString(dst []byte, s string, ok *[utf8.RuneSelf]bool) []byte {
	const hex = "0123456789abcdef"
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if ok[c] {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			dst = appendEscape(dst, c)
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if (r == utf8.RuneError && size == 1) || r == '\u2028' || r == '\u2029' {
			dst = append(dst, s[start:i]...)
			if size == 1 {
				dst = append(dst, `\ufffd`...)
			} else {
				dst = append(dst, '\\', 'u', '2', '0', '2', hex[r&0xf])
			}
			start = i + size
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// appendEscape appends the JSON escape of an ASCII byte that may not stand
// as it is: quote, backslash, a control character, or <, >, &.
func appendEscape(dst []byte, c byte) []byte {
	const hex = "0123456789abcdef"
	switch c {
	case '"', '\\':
		return append(dst, '\\', c)
	case '\n':
		return append(dst, '\\', 'n')
	case '\r':
		return append(dst, '\\', 'r')
	case '\t':
		return append(dst, '\\', 't')
	case '\b':
		return append(dst, '\\', 'b')
	case '\f':
		return append(dst, '\\', 'f')
	}
	return append(dst, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
}

// Value is a type that writes itself as one JSON value (a built-in's
// status, for instance).
type Value interface{ AppendJSON(w *Writer) }

// Raw is a JSON value kept as its owner encoded it (compact, as a Writer
// writes it), like json.RawMessage; its MarshalJSON and UnmarshalJSON let
// encoding/json in tests treat it the same way.
type Raw []byte

// Encode is v as compact JSON, or nil for a nil v. A value that cannot be
// encoded is replaced by {"error":"..."} naming the field, so the reader
// sees why.
func Encode(v Value) Raw {
	if v == nil {
		return nil
	}
	var w Writer
	v.AppendJSON(&w)
	if err := w.Err(); err != nil {
		w = Writer{}
		w.Open()
		w.String("error", "encode: "+err.Error(), Always)
		w.Close()
	}
	return w.B
}

// MarshalJSON is r as it is (null when empty).
func (r Raw) MarshalJSON() ([]byte, error) {
	if len(r) == 0 {
		return []byte("null"), nil
	}
	return r, nil
}

// UnmarshalJSON keeps a copy of b.
func (r *Raw) UnmarshalJSON(b []byte) error {
	*r = append((*r)[:0], b...)
	return nil
}
