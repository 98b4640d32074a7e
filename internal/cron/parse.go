package cron

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// DefaultShell is the shell jobs run under unless the crontab sets SHELL=.
const DefaultShell = "/bin/sh"

// Crontab is one parsed crontab file.
type Crontab struct {
	File    string  // path, as given to ParseCrontab
	Entries []Entry // the jobs, in file order
}

// Entry is one job line of a crontab.
type Entry struct {
	Line     int            // 1-based line number in File
	Spec     string         // the schedule as written: "*/15 * * * *", "@daily", "@reboot"
	Command  string         // the rest of the line, given to the shell as is
	Reboot   bool           // @reboot: runs once per boot, Schedule is nil
	Schedule *Schedule      // when to run; nil for @reboot
	Location *time.Location // the zone Schedule is evaluated in (CRON_TZ or the default)
	Vars     []string       // VAR=value lines above this one, in order ("NAME=value")
	Shell    string         // SHELL= from the crontab, or DefaultShell
}

// LineError is a problem with one line of a crontab; the line is skipped.
type LineError struct {
	File string
	Line int
	Err  error
}

// Error is "FILE:LINE: what is wrong".
func (e *LineError) Error() string { return fmt.Sprintf("%s:%d: %v", e.File, e.Line, e.Err) }

// Unwrap returns the underlying problem.
func (e *LineError) Unwrap() error { return e.Err }

// descriptors are the @words busybox crond accepts (FEATURE_CROND_SPECIAL_TIMES),
// with the five fields each stands for (robfig/cron's meanings). robfig's
// own @every is rejected on purpose.
var descriptors = map[string]string{
	"@yearly": "0 0 1 1 *", "@annually": "0 0 1 1 *", "@monthly": "0 0 1 * *", "@weekly": "0 0 * * 0",
	"@daily": "0 0 * * *", "@midnight": "0 0 * * *", "@hourly": "0 * * * *", "@reboot": "",
}

// parserState is what earlier lines of a file pass to later ones.
type parserState struct {
	file   string
	defLoc *time.Location
	loc    *time.Location
	vars   []string
	shell  string
}

// ParseCrontab parses the content of one crontab file. loc is the default
// zone for schedules (nil = time.Local). Every bad line is reported as a
// *LineError and skipped; the other lines are still returned.
func ParseCrontab(file string, data []byte, loc *time.Location) (*Crontab, []error) {
	if loc == nil {
		loc = time.Local
	}
	st := &parserState{file: file, defLoc: loc, loc: loc, shell: DefaultShell}
	tab := &Crontab{File: file}
	var errs []error
	for i, raw := range strings.Split(string(data), "\n") {
		e, err := st.line(strings.TrimRight(raw, "\r"))
		if err != nil {
			errs = append(errs, &LineError{File: file, Line: i + 1, Err: err})
			continue
		}
		if e != nil {
			e.Line = i + 1
			tab.Entries = append(tab.Entries, *e)
		}
	}
	return tab, errs
}

// line parses one line: nil entry and nil error for blanks, comments and
// variable settings.
func (st *parserState) line(raw string) (*Entry, error) {
	s := strings.TrimLeft(raw, " \t")
	switch {
	case s == "" || s[0] == '#':
		return nil, nil
	case strings.IndexByte(s, 0) >= 0:
		return nil, errors.New("NUL byte in line")
	case isNameStart(s[0]):
		return nil, st.variable(s)
	}
	return st.entry(s)
}

// variable handles "NAME=value", "NAME = value" and quoted values, as
// Vixie cron's load_env does. It applies to the lines below it only, as in
// both busybox and Vixie cron (each job copies the environment as read so far).
func (st *parserState) variable(s string) error {
	name, value, ok := strings.Cut(s, "=")
	name = strings.TrimRight(name, " \t")
	if !ok || !validName(name) {
		return fmt.Errorf("not a job or NAME=value line: %q", clip(s))
	}
	value = unquote(strings.Trim(value, " \t"))
	switch name {
	case "CRON_TZ":
		if value == "" { // back to the container's zone
			st.loc = st.defLoc
			break
		}
		loc, err := time.LoadLocation(value)
		if err != nil {
			return fmt.Errorf("CRON_TZ=%s: %w", value, err)
		}
		st.loc = loc
	case "SHELL":
		st.shell = value
		if value == "" {
			st.shell = DefaultShell
		}
	}
	// Copy on write: entries already made keep the slice they were given.
	st.vars = append(st.vars[:len(st.vars):len(st.vars)], name+"="+value)
	return nil
}

// entry parses a job line: "@word command" or five fields and a command.
func (st *parserState) entry(s string) (*Entry, error) {
	spec, cmd, err := splitSpec(s)
	if err != nil {
		return nil, err
	}
	e := &Entry{Spec: spec, Command: cmd, Location: st.loc, Vars: st.vars, Shell: st.shell}
	if spec == "@reboot" {
		e.Reboot = true
		return e, nil
	}
	ss, err := parseSchedule(spec, st.loc)
	if err != nil {
		return nil, fmt.Errorf("schedule %q: %w", spec, err)
	}
	if ss.Next(time.Date(2000, 1, 1, 0, 0, 0, 0, st.loc)).IsZero() {
		return nil, fmt.Errorf("schedule %q never matches a date", spec)
	}
	e.Schedule = ss
	return e, nil
}

// splitSpec splits a job line into its schedule and its command.
func splitSpec(s string) (spec, cmd string, err error) {
	n := 5
	if s[0] == '@' {
		n = 1
	}
	rest := s
	fields := make([]string, 0, n)
	for len(fields) < n {
		rest = strings.TrimLeft(rest, " \t")
		end := strings.IndexAny(rest, " \t")
		if end < 0 {
			end = len(rest)
		}
		if end == 0 {
			break
		}
		fields = append(fields, rest[:end])
		rest = rest[end:]
	}
	cmd = strings.Trim(rest, " \t")
	spec = strings.Join(fields, " ")
	switch {
	case n == 1 && !isDescriptor(spec):
		return "", "", fmt.Errorf("unknown schedule %q (want @reboot, @yearly, @annually, @monthly, @weekly, @daily, @midnight, @hourly or 5 fields)", clip(spec))
	case len(fields) < n || cmd == "":
		return "", "", fmt.Errorf("no command after schedule in %q", clip(s))
	}
	return spec, cmd, nil
}

// normalizeDow accepts 7 for Sunday in the day-of-week field, as busybox and
// Vixie cron do: "7" becomes "0" and "N-7" becomes "N-6,0". parseRange,
// like robfig/cron, only knows 0-6; anything else is left for it to judge.
func normalizeDow(spec string) string {
	f := strings.Fields(spec)
	if len(f) != 5 {
		return spec
	}
	parts := strings.Split(f[4], ",")
	for i, p := range parts {
		switch {
		case p == "7":
			parts[i] = "0"
		case strings.HasSuffix(p, "-7") && !strings.Contains(p, "/"):
			if lo := strings.TrimSuffix(p, "-7"); lo == "7" {
				parts[i] = "0"
			} else {
				parts[i] = lo + "-6,0"
			}
		}
	}
	f[4] = strings.Join(parts, ",")
	return strings.Join(f, " ")
}

func isDescriptor(s string) bool {
	_, ok := descriptors[s]
	return ok
}

func isNameStart(b byte) bool {
	return b == '_' || (b >= 'a' && b <= 'z') || (b >= 'A' && b <= 'Z')
}

func validName(s string) bool {
	if s == "" || !isNameStart(s[0]) {
		return false
	}
	for i := 1; i < len(s); i++ {
		if b := s[i]; !isNameStart(b) && (b < '0' || b > '9') {
			return false
		}
	}
	return true
}

// unquote strips one pair of matching single or double quotes, which keep
// leading and trailing blanks (crontab(5)); there are no escapes.
func unquote(v string) string {
	if len(v) >= 2 && (v[0] == '"' || v[0] == '\'') && v[len(v)-1] == v[0] {
		return v[1 : len(v)-1]
	}
	return v
}

// clip keeps error messages one readable line.
func clip(s string) string {
	if len(s) > 80 {
		return s[:77] + "..."
	}
	return s
}
