package syslogd

import (
	"strconv"
	"unicode/utf8"
)

// facilityNames are the names syslog.conf and logger -p use, by number.
var facilityNames = [...]string{
	"kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news",
	"uucp", "cron", "authpriv", "ftp", "ntp", "security", "console", "clock",
	"local0", "local1", "local2", "local3", "local4", "local5", "local6", "local7",
}

var severityNames = [...]string{"emerg", "alert", "crit", "err", "warning", "notice", "info", "debug"}

// truncatedMark ends a message that was cut: a datagram longer than
// maxMessage, or a line that escaping made longer than maxLine.
const truncatedMark = " [truncated]"

// maxLine is the longest line the mux writes whole (SPEC §5: longer lines
// are split). Cutting here instead keeps one message on one line.
const maxLine = 64 << 10

// appendLine appends the text-format line "facility.severity tag[pid]: text"
// ("[pid]" left out when there is none, "tag[pid]: " when there is no tag).
// Hostname, timestamp, MSGID and structured data are left to the JSON
// format: the mux stamps the line, and a local socket has one host.
func (m *Message) appendLine(dst []byte) []byte {
	dst = append(dst, facilityNames[m.Facility()]...)
	dst = append(dst, '.')
	dst = append(dst, severityNames[m.Severity()]...)
	dst = append(dst, ' ')
	if m.Tag != "" {
		dst = appendEscaped(dst, m.Tag)
		if m.PID != "" {
			dst = append(dst, '[')
			dst = appendEscaped(dst, m.PID)
			dst = append(dst, ']')
		}
		dst = append(dst, ':', ' ')
	}
	return appendEscaped(dst, m.Text)
}

// capLine cuts line to fit maxLine with the mark, on a rune boundary (the
// escaped line is valid UTF-8, so it stays valid), and marks it when it
// was cut here or before.
func capLine(line []byte, truncated bool) ([]byte, bool) {
	if limit := maxLine - len(truncatedMark); len(line) > limit {
		for limit > 0 && !utf8.RuneStart(line[limit]) {
			limit--
		}
		line, truncated = line[:limit], true
	}
	if truncated {
		line = append(line, truncatedMark...)
	}
	return line, truncated
}

// fields are the parsed parts of m as JSON fields, escaped like the line
// and left out when empty.
func (m *Message) fields() map[string]string {
	f := make(map[string]string, 10)
	f["facility"] = facilityNames[m.Facility()]
	f["severity"] = severityNames[m.Severity()]
	f["priority"] = strconv.Itoa(m.Priority)
	f["syntax"] = m.Kind.String()
	for _, kv := range [...][2]string{
		{"timestamp", m.Timestamp}, {"hostname", m.Hostname}, {"tag", m.Tag},
		{"pid", m.PID}, {"msgid", m.MsgID}, {"sd", m.SD},
	} {
		if kv[1] != "" {
			f[kv[0]] = escape(kv[1])
		}
	}
	return f
}
