package syslogd

import "strings"

// Kind says which syntax a message was recognised as.
type Kind uint8

// The syntaxes Parse recognises.
const (
	Raw     Kind = iota // neither: the text passes through, with the <PRI> if one led it
	RFC3164             // BSD syslog: <PRI>Mmm dd hh:mm:ss [HOST] TAG[PID]: MSG, and looser forms
	RFC5424             // <PRI>1 TIMESTAMP HOST APP PROCID MSGID SD [MSG]
)

// String names the syntax for logs and JSON fields.
func (k Kind) String() string {
	switch k {
	case RFC3164:
		return "rfc3164"
	case RFC5424:
		return "rfc5424"
	}
	return "raw"
}

// defaultPriority is user.notice, what RFC 3164 §4.3.3 tells a relay to
// assume and what busybox syslogd uses for a message without <PRI>.
const defaultPriority = 13

// maxPriority is local7.debug; anything above is not a PRI.
const maxPriority = 191

// Message is one parsed syslog message. Its strings are unescaped slices of
// the datagram: they may hold any bytes and must be escaped before output.
// RFC 5424 nil values ("-") are empty strings.
type Message struct {
	Kind        Kind
	Priority    int  // facility*8 + severity
	HasPriority bool // false: the sender gave no valid <PRI>, Priority is user.notice
	Timestamp   string
	Hostname    string
	Tag         string // RFC 3164 TAG or RFC 5424 APP-NAME
	PID         string // RFC 3164 [PID] or RFC 5424 PROCID
	MsgID       string
	SD          string // RFC 5424 structured data as sent, brackets included
	Text        string
}

// Facility is the facility number (0 kern ... 23 local7).
func (m *Message) Facility() int { return m.Priority >> 3 }

// Severity is the severity number (0 emerg ... 7 debug).
func (m *Message) Severity() int { return m.Priority & 7 }

// Parse parses one datagram or stream frame. It never fails: what is
// neither RFC 5424 nor RFC 3164 comes back as Kind Raw with the whole text.
// Trailing newlines, carriage returns and NULs are trimmed first.
func Parse(b []byte) Message {
	s := strings.TrimRight(string(b), "\n\r\x00")
	m := Message{Priority: defaultPriority}
	if pri, rest, ok := cutPriority(s); ok {
		m.Priority, m.HasPriority, s = pri, true, rest
		if body, ok := strings.CutPrefix(s, "1 "); ok {
			if m5, ok := parse5424(m, body); ok {
				return m5
			}
		}
	}
	parse3164(&m, s)
	return m
}

// cutPriority reads "<N>" with N in 0..191 from the front of s.
func cutPriority(s string) (pri int, rest string, ok bool) {
	if len(s) < 3 || s[0] != '<' {
		return 0, s, false
	}
	i := 1
	for ; i < len(s) && i <= 4 && isDigit(s[i]); i++ {
		pri = pri*10 + int(s[i]-'0')
	}
	if i == 1 || i > 4 || i >= len(s) || s[i] != '>' || pri > maxPriority {
		return 0, s, false
	}
	return pri, s[i+1:], true
}

// parse5424 parses what follows "<PRI>1 ". It works on a copy so a failure
// leaves the caller's message untouched for the RFC 3164 attempt.
func parse5424(m Message, s string) (Message, bool) {
	var fields [5]string
	for i := range fields {
		tok, rest, ok := cutToken(s)
		if !ok {
			return m, false
		}
		fields[i], s = nilValue(tok), rest
	}
	if fields[0] != "" && !isRFC3339(fields[0]) {
		return m, false
	}
	m.Timestamp, m.Hostname, m.Tag, m.PID, m.MsgID = fields[0], fields[1], fields[2], fields[3], fields[4]
	sd, rest, ok := cutSD(s)
	if !ok {
		return m, false
	}
	m.SD = nilValue(sd)
	if rest != "" && rest[0] != ' ' {
		return m, false
	}
	if rest != "" {
		rest = rest[1:]
	}
	m.Text = strings.TrimPrefix(rest, "\uFEFF")
	m.Kind = RFC5424
	return m, true
}

// cutToken cuts a non-empty run of printable ASCII and the one space after it.
// RFC 5424 header fields are PRINTUSASCII separated by single spaces.
func cutToken(s string) (tok, rest string, ok bool) {
	i := 0
	for i < len(s) && s[i] > ' ' && s[i] < 0x7f {
		i++
	}
	if i == 0 || i >= len(s) || s[i] != ' ' {
		return "", s, false
	}
	return s[:i], s[i+1:], true
}

func nilValue(s string) string {
	if s == "-" {
		return ""
	}
	return s
}

// isRFC3339 checks the shape "YYYY-MM-DDThh:mm:ss..." cheaply; the exact
// value is passed through as text, never interpreted.
func isRFC3339(s string) bool {
	if len(s) < 19 {
		return false
	}
	for i := 0; i < 19; i++ {
		switch i {
		case 4, 7:
			if s[i] != '-' {
				return false
			}
		case 10:
			if s[i] != 'T' && s[i] != 't' {
				return false
			}
		case 13, 16:
			if s[i] != ':' {
				return false
			}
		default:
			if !isDigit(s[i]) {
				return false
			}
		}
	}
	return true
}

// cutSD cuts RFC 5424 STRUCTURED-DATA: "-" or one or more [ID PARAM...]
// elements, where a quoted PARAM-VALUE may hold \" \\ and \] escapes.
func cutSD(s string) (sd, rest string, ok bool) {
	if strings.HasPrefix(s, "-") {
		return "-", s[1:], true
	}
	i := 0
	for i < len(s) && s[i] == '[' {
		end := sdElementEnd(s, i)
		if end < 0 {
			return "", s, false
		}
		i = end
	}
	if i == 0 {
		return "", s, false
	}
	return s[:i], s[i:], true
}

// sdElementEnd returns the index just past the ']' closing the element that
// starts at s[start], or -1 when it is never closed.
func sdElementEnd(s string, start int) int {
	inQuote := false
	for i := start + 1; i < len(s); i++ {
		switch c := s[i]; {
		case inQuote && c == '\\':
			i++ // the escaped byte never closes anything
		case c == '"':
			inQuote = !inQuote
		case !inQuote && c == ']':
			return i + 1
		}
	}
	return -1
}

// parse3164 parses the BSD form in its real-world variants: with or
// without timestamp, with or without hostname (local clients such as glibc,
// musl and busybox logger send none), "tag:" or "tag[pid]:". A hostname is
// only taken when a valid tag follows it, so "Nov 29 12:00:00 hello world"
// keeps "hello world" as the message instead of losing "hello" to a host.
func parse3164(m *Message, s string) {
	ts, rest, hasTime := cut3164Time(s)
	if hasTime {
		m.Timestamp, s = ts, rest
	}
	if tag, pid, text, ok := cutTag(s); ok {
		m.Kind, m.Tag, m.PID, m.Text = RFC3164, tag, pid, text
		return
	}
	if hasTime {
		if host, rest, ok := cutToken(s); ok {
			if tag, pid, text, ok := cutTag(rest); ok {
				m.Kind, m.Hostname, m.Tag, m.PID, m.Text = RFC3164, host, tag, pid, text
				return
			}
		}
		m.Kind = RFC3164
	}
	m.Text = s
}

// months are the RFC 3164 month abbreviations, in one string to index by 3.
const months = "JanFebMarAprMayJunJulAugSepOctNovDec"

// cut3164Time cuts "Mmm dd hh:mm:ss " (day space-padded) or an RFC 3339
// timestamp token (rsyslog's high-precision template) from the front of s.
func cut3164Time(s string) (ts, rest string, ok bool) {
	if len(s) >= 16 && s[15] == ' ' && isBSDTime(s[:15]) {
		return s[:15], s[16:], true
	}
	if tok, rest, ok := cutToken(s); ok && isRFC3339(tok) {
		return tok, rest, true
	}
	return "", s, false
}

func isBSDTime(s string) bool {
	i := strings.Index(months, s[:3])
	if i < 0 || i%3 != 0 || s[3] != ' ' || (s[4] != ' ' && !isDigit(s[4])) || !isDigit(s[5]) || s[6] != ' ' {
		return false
	}
	return isDigit(s[7]) && isDigit(s[8]) && s[9] == ':' && isDigit(s[10]) && isDigit(s[11]) &&
		s[12] == ':' && isDigit(s[13]) && isDigit(s[14])
}

// maxTag bounds a tag; RFC 3164 says 32, real programs ("postfix/smtpd",
// "systemd-networkd") need a little more, rsyslog allows 32 by default.
const (
	maxTag = 64
	maxPID = 32
)

// cutTag cuts "TAG: " or "TAG[PID]: " (the space after ':' optional).
func cutTag(s string) (tag, pid, text string, ok bool) {
	i := 0
	for i < len(s) && i <= maxTag && isTagByte(s[i]) {
		i++
	}
	if i == 0 || i > maxTag || i >= len(s) {
		return "", "", "", false
	}
	tag, rest := s[:i], s[i:]
	if rest[0] == '[' {
		end := strings.IndexByte(rest, ']')
		if end < 2 || end > maxPID+1 || !isPrintable(rest[1:end]) {
			return "", "", "", false
		}
		pid, rest = rest[1:end], rest[end+1:]
	}
	if rest == "" || rest[0] != ':' {
		return "", "", "", false
	}
	return tag, pid, strings.TrimPrefix(rest[1:], " "), true
}

func isTagByte(c byte) bool {
	return c > ' ' && c < 0x7f && c != ':' && c != '[' && c != ']' && c != '<' && c != '>'
}

func isPrintable(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] >= 0x7f {
			return false
		}
	}
	return true
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }
