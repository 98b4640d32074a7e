package logmux

import "fmt"

// Level is the severity of one of svinit's own messages.
type Level int

// The levels of SVINIT_LOG_LEVEL (SPEC §5).
const (
	Debug Level = iota
	Info
	Warn
	Error
)

// String returns the lowercase word written before the message.
func (l Level) String() string {
	switch l {
	case Debug:
		return "debug"
	case Info:
		return "info"
	case Warn:
		return "warn"
	case Error:
		return "error"
	}
	return fmt.Sprintf("level(%d)", int(l))
}

// ParseLevel parses "debug", "info", "warn" or "error".
func ParseLevel(s string) (Level, error) {
	for l := Debug; l <= Error; l++ {
		if l.String() == s {
			return l, nil
		}
	}
	return Info, fmt.Errorf("log level %q: want debug, info, warn or error", s)
}

// Logger writes svinit's own messages: "svinit | info: service ssh ready".
// It never blocks (it uses Mux.Write), so logging cannot stall the
// supervisor. A nil *Logger discards everything.
type Logger struct {
	m      *Mux
	source string
	min    Level
	f      Format
}

// Logger returns a Logger for source that drops messages below min. The
// source is registered for prefix padding. The most recent Logger also
// sets the format of the mux's "dropped N log lines" report.
func (m *Mux) Logger(source string, min Level, f Format) *Logger {
	m.Register(source)
	l := &Logger{m: m, source: source, min: min, f: f}
	m.warn.Store(l)
	return l
}

// Debugf logs at debug level, to stdout.
func (l *Logger) Debugf(format string, a ...any) { l.logf(Debug, format, a) }

// Infof logs at info level, to stdout.
func (l *Logger) Infof(format string, a ...any) { l.logf(Info, format, a) }

// Warnf logs at warn level, to stderr.
func (l *Logger) Warnf(format string, a ...any) { l.logf(Warn, format, a) }

// Errorf logs at error level, to stderr.
func (l *Logger) Errorf(format string, a ...any) { l.logf(Error, format, a) }

func (l *Logger) logf(lv Level, format string, a []any) {
	// Checked before Sprintf so that disabled debug lines cost nothing.
	if l == nil || lv < l.min || l.f == Discard {
		return
	}
	l.m.Write(l.entry(lv, fmt.Sprintf(format, a...)))
}

// entry builds the line of one message. In JSON the level is a field
// ("level":"info") and msg is the bare message; in text it leads the line.
func (l *Logger) entry(lv Level, msg string) Entry {
	e := Entry{Source: l.source, Format: l.f, Stream: Stdout}
	if lv >= Warn {
		e.Stream = Stderr
	}
	if l.f == JSON {
		e.Line = msg
		e.Fields = map[string]string{"level": lv.String()}
		return e
	}
	e.Line = lv.String() + ": " + msg
	return e
}
