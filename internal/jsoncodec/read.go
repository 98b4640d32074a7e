package jsoncodec

import (
	"strconv"
	"strings"
	"time"
	"unicode/utf16"
	"unicode/utf8"
)

// MaxDepth bounds the nesting of objects and arrays a Decoder reads.
const MaxDepth = 32

// Error is what a Decoder found wrong: the first problem only, with the
// path of the field (`services[1].pid`) and the byte offset.
type Error struct {
	Path   string
	Offset int
	Msg    string
}

// Error is `key "PATH": MSG (offset N)`, or `MSG (offset N)` at the top.
func (e *Error) Error() string {
	at := " (offset " + strconv.Itoa(e.Offset) + ")"
	if e.Path == "" {
		return e.Msg + at
	}
	return "key " + strconv.Quote(e.Path) + ": " + e.Msg + at
}

// Decoder reads one JSON value strictly: exact key names, a duplicate key
// is an error, and so is null, invalid UTF-8, a lone surrogate escape, a
// number that does not fit its field, nesting deeper than MaxDepth and
// anything after the value. It never accepts what encoding/json would
// reject for the same Go types. The first error sticks: later reads return
// zero values, so a field method need not check after each one.
type Decoder struct {
	data  []byte
	pos   int
	depth int
	path  []string // keys and [indexes] down to the current value
	err   *Error
}

// NewDecoder reads data, which the caller has already bounded in size.
func NewDecoder(data []byte) *Decoder { return &Decoder{data: data} }

// Err is the first problem found, or nil (as an error, so that a nil
// *Error is a nil error).
func (d *Decoder) Err() error {
	if d.err == nil {
		return nil
	}
	return d.err
}

// Failed says whether the decoder has stopped at an error.
func (d *Decoder) Failed() bool { return d.err != nil }

// Fail records msg at the current value, unless an error came first.
func (d *Decoder) Fail(msg string) {
	if d.err == nil {
		d.err = &Error{Path: strings.Join(d.path, ""), Offset: d.pos, Msg: msg}
	}
}

// End checks that nothing but white space follows the value.
func (d *Decoder) End() error {
	d.space()
	if d.err == nil && d.pos < len(d.data) {
		d.Fail("data after the JSON value")
	}
	return d.Err()
}

func (d *Decoder) space() {
	for d.pos < len(d.data) {
		switch d.data[d.pos] {
		case ' ', '\t', '\n', '\r':
			d.pos++
		default:
			return
		}
	}
}

// peek is the next byte after white space, or 0 at the end.
func (d *Decoder) peek() byte {
	d.space()
	if d.err != nil || d.pos >= len(d.data) {
		return 0
	}
	return d.data[d.pos]
}

// want fails with "want WHAT, found ..." naming the next byte.
func (d *Decoder) want(what string) {
	found := "the end"
	if d.pos < len(d.data) {
		c := d.data[d.pos]
		switch {
		case c == '"':
			found = "a string"
		case c == '{':
			found = "an object"
		case c == '[':
			found = "a list"
		case c == 'n':
			found = "null"
		case c == 't' || c == 'f':
			found = "a boolean"
		case c == '-' || c >= '0' && c <= '9':
			found = "a number"
		case c < utf8.RuneSelf:
			found = strconv.QuoteRune(rune(c))
		default:
			found = "byte 0x" + strconv.FormatUint(uint64(c), 16)
		}
	}
	d.Fail("want " + what + ", found " + found)
}

// enter and leave bound the nesting depth.
func (d *Decoder) enter() bool {
	if d.depth >= MaxDepth {
		d.Fail("nested deeper than " + strconv.Itoa(MaxDepth))
		return false
	}
	d.depth++
	return true
}

func (d *Decoder) leave() { d.depth-- }

// Object reads an object, calling field for each key with the decoder at
// the key's value. field reads the value and returns true, or returns
// false for a key it does not know, which is an error. A key seen twice
// is an error before field is called the second time.
func (d *Decoder) Object(field func(key string) bool) {
	if d.peek() != '{' {
		d.want("an object")
		return
	}
	if !d.enter() {
		return
	}
	defer d.leave()
	d.pos++
	var seenBuf [16]string
	seen := seenBuf[:0]
	if d.peek() == '}' {
		d.pos++
		return
	}
	for d.err == nil {
		if d.peek() != '"' {
			d.want("a key")
			return
		}
		at := d.pos
		key := d.scanString()
		if d.peek() != ':' {
			d.want("':'")
			return
		}
		d.pos++
		for _, k := range seen {
			if k == key {
				d.pos = at
				d.Fail("duplicate key " + strconv.Quote(key))
				return
			}
		}
		seen = append(seen, key)
		d.push(key)
		d.space()
		known := field(key)
		d.pop()
		if !known {
			d.pos = at
			d.Fail("unknown key " + strconv.Quote(key))
		}
		switch d.peek() {
		case ',':
			d.pos++
		case '}':
			d.pos++
			return
		default:
			d.want("',' or '}'")
		}
	}
}

func (d *Decoder) push(key string) {
	if len(d.path) > 0 {
		key = "." + key
	}
	d.path = append(d.path, key)
}

func (d *Decoder) pop() { d.path = d.path[:len(d.path)-1] }

// ReadList reads a list, calling elem once per element with the decoder at
// the element. The result is an empty non-nil list for `[]`, as
// encoding/json gives, and nil after an error.
func ReadList[T any](d *Decoder, elem func(*T)) []T {
	list := []T{}
	d.list(func() {
		var v T
		elem(&v)
		list = append(list, v)
	})
	if d.err != nil {
		return nil
	}
	return list
}

// list reads a list, calling elem for each element (the part of ReadList
// that is the same for every element type).
func (d *Decoder) list(elem func()) {
	if d.peek() != '[' {
		d.want("a list")
		return
	}
	if !d.enter() {
		return
	}
	defer d.leave()
	d.pos++
	if d.peek() == ']' {
		d.pos++
		return
	}
	for i := 0; d.err == nil; i++ {
		d.path = append(d.path, "["+strconv.Itoa(i)+"]")
		d.space()
		elem()
		d.pop()
		switch d.peek() {
		case ',':
			d.pos++
		case ']':
			d.pos++
			return
		default:
			d.want("',' or ']'")
		}
	}
}

// ReadObjects reads a list of objects, calling field for each key of
// each as Object does.
func ReadObjects[T any](d *Decoder, field func(v *T, d *Decoder, key string) bool) []T {
	return ReadList(d, func(v *T) { d.Object(func(k string) bool { return field(v, d, k) }) })
}

// Strings reads a list of strings.
func (d *Decoder) Strings() []string {
	return ReadList(d, func(s *string) { *s = d.Str() })
}

// Str reads a string.
func (d *Decoder) Str() string {
	if d.peek() != '"' {
		d.want("a string")
		return ""
	}
	return d.scanString()
}

// Bool reads true or false.
func (d *Decoder) Bool() bool {
	switch {
	case d.literal("true"):
		return true
	case d.literal("false"):
		return false
	}
	d.want("true or false")
	return false
}

func (d *Decoder) literal(lit string) bool {
	if d.peek() != lit[0] || !strings.HasPrefix(string(d.data[d.pos:]), lit) {
		return false
	}
	d.pos += len(lit)
	return true
}

// Int reads an integer that fits in 64 bits (no fraction, no exponent).
func (d *Decoder) Int() int64 {
	lit := d.number()
	if d.err != nil {
		return 0
	}
	n, err := strconv.ParseInt(lit, 10, 64)
	if err != nil {
		d.pos -= len(lit)
		d.Fail("want an integer, found " + lit)
	}
	return n
}

// Uint reads a non-negative integer that fits in 64 bits.
func (d *Decoder) Uint() uint64 {
	lit := d.number()
	if d.err != nil {
		return 0
	}
	n, err := strconv.ParseUint(lit, 10, 64)
	if err != nil {
		d.pos -= len(lit)
		d.Fail("want a non-negative integer, found " + lit)
	}
	return n
}

// Float reads a number that fits in a float64.
func (d *Decoder) Float() float64 {
	lit := d.number()
	if d.err != nil {
		return 0
	}
	f, err := strconv.ParseFloat(lit, 64)
	if err != nil {
		d.pos -= len(lit)
		d.Fail("number " + lit + " out of range")
	}
	return f
}

// Time reads an RFC 3339 time as time.Time's UnmarshalJSON does: from the
// string as written, so an escape inside it is an error there and here.
func (d *Decoder) Time() time.Time {
	var t time.Time
	if d.peek() != '"' {
		d.want("a time (RFC 3339 string)")
		return t
	}
	start := d.pos
	d.scanString()
	if d.err != nil {
		return t
	}
	if lit := d.data[start:d.pos]; t.UnmarshalJSON(lit) != nil {
		d.pos = start
		d.Fail("want an RFC 3339 time, found " + string(lit))
	}
	return t
}

// Raw reads any JSON value (null included) and returns a copy of it as
// written, for a field its owner decodes or prints (json.RawMessage).
func (d *Decoder) Raw() []byte {
	d.space()
	start := d.pos
	d.skip()
	if d.err != nil {
		return nil
	}
	return append([]byte(nil), d.data[start:d.pos]...)
}

// skip reads one value of any kind, checking it.
func (d *Decoder) skip() {
	switch c := d.peek(); {
	case c == '{':
		d.Object(func(string) bool { d.skip(); return true })
	case c == '[':
		d.list(d.skip)
	case c == '"':
		d.scanString()
	case c == '-' || c >= '0' && c <= '9':
		d.number()
	case d.literal("true"), d.literal("false"), d.literal("null"):
	default:
		d.want("a JSON value")
	}
}

// number scans a JSON number literal (RFC 8259 grammar) and returns it.
func (d *Decoder) number() string {
	if c := d.peek(); c != '-' && (c < '0' || c > '9') {
		d.want("a number")
		return ""
	}
	start := d.pos
	b := d.data
	i := start
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && b[i] >= '1' && b[i] <= '9':
		i = digits(b, i)
	default:
		d.pos = i
		d.Fail("malformed number")
		return ""
	}
	if i < len(b) && b[i] == '.' {
		if j := digits(b, i+1); j > i+1 {
			i = j
		} else {
			d.pos = i
			d.Fail("malformed number")
			return ""
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		j := i + 1
		if j < len(b) && (b[j] == '+' || b[j] == '-') {
			j++
		}
		if k := digits(b, j); k > j {
			i = k
		} else {
			d.pos = i
			d.Fail("malformed number")
			return ""
		}
	}
	d.pos = i
	return string(b[start:i])
}

func digits(b []byte, i int) int {
	for i < len(b) && b[i] >= '0' && b[i] <= '9' {
		i++
	}
	return i
}

// scanString reads a string at d.pos (a '"'), decoding its escapes.
func (d *Decoder) scanString() string {
	b := d.data
	i := d.pos + 1
	// The common case: no escape, all ASCII or valid UTF-8.
	for i < len(b) && b[i] != '"' && b[i] != '\\' && b[i] >= 0x20 && b[i] < utf8.RuneSelf {
		i++
	}
	if i < len(b) && b[i] == '"' {
		s := string(b[d.pos+1 : i])
		d.pos = i + 1
		return s
	}
	out := append([]byte(nil), b[d.pos+1:i]...)
	for d.err == nil {
		if i >= len(b) {
			d.pos = i
			d.Fail("unterminated string")
			return ""
		}
		c := b[i]
		switch {
		case c == '"':
			d.pos = i + 1
			return string(out)
		case c == '\\':
			var ok bool
			if out, i, ok = unescape(out, b, i); !ok {
				d.pos = i
				d.Fail("invalid escape in string")
				return ""
			}
		case c < 0x20:
			d.pos = i
			d.Fail("control character in string")
			return ""
		case c < utf8.RuneSelf:
			out = append(out, c)
			i++
		default:
			r, size := utf8.DecodeRune(b[i:])
			if r == utf8.RuneError && size == 1 {
				d.pos = i
				d.Fail("invalid UTF-8 in string")
				return ""
			}
			out = append(out, b[i:i+size]...)
			i += size
		}
	}
	return ""
}

// unescape decodes the escape at b[i] ('\\') onto out and returns the
// index after it, or ok false. Lone or reversed UTF-16 surrogates are
// refused (encoding/json would make them U+FFFD).
func unescape(out, b []byte, i int) (_ []byte, next int, ok bool) {
	if i+1 >= len(b) {
		return out, i, false
	}
	switch c := b[i+1]; c {
	case '"', '\\', '/':
		return append(out, c), i + 2, true
	case 'b':
		return append(out, '\b'), i + 2, true
	case 'f':
		return append(out, '\f'), i + 2, true
	case 'n':
		return append(out, '\n'), i + 2, true
	case 'r':
		return append(out, '\r'), i + 2, true
	case 't':
		return append(out, '\t'), i + 2, true
	case 'u':
		r, ok := hex4(b, i+2)
		if !ok {
			return out, i, false
		}
		if !utf16.IsSurrogate(r) {
			return utf8.AppendRune(out, r), i + 6, true
		}
		j := i + 6
		if r >= 0xdc00 || j+1 >= len(b) || b[j] != '\\' || b[j+1] != 'u' {
			return out, i, false
		}
		r2, ok := hex4(b, j+2)
		if r = utf16.DecodeRune(r, r2); !ok || r == utf8.RuneError {
			return out, i, false
		}
		return utf8.AppendRune(out, r), j + 6, true
	}
	return out, i, false
}

func hex4(b []byte, i int) (rune, bool) {
	if i+4 > len(b) {
		return 0, false
	}
	var r rune
	for _, c := range b[i : i+4] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c -= 'a' - 10
		case c >= 'A' && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}
