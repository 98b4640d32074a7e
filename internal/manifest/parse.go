package manifest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
	"golang.org/x/sys/unix"
)

// Parse validates one manifest. file is the path of NAME/manifest.yml: the
// service's Name and Dir come from it, and the run and finish programs are
// looked for beside it (checked only when the service is enabled, so a
// service disabled because its program is not installed still loads).
// lookup resolves ${VAR} references (nil: nothing is set).
//
// The error, if any, joins one *Error per problem found.
func Parse(file string, data []byte, lookup func(string) (string, bool)) (*Service, error) {
	s := newService(file)
	d := &decoder{file: file, lookup: lookup}
	if !ValidName(s.Name) {
		d.errorf(0, "service name %q must match %s", s.Name, NamePattern)
	}
	root, err := parseYAML(file, data)
	if err != nil {
		return nil, err
	}
	if root != nil {
		d.service(s, root)
	}
	d.check(s)
	d.checkNotify(s)
	if s.Enabled {
		d.files(s)
	}
	if len(d.errs) > 0 {
		sortErrors(d.errs)
		return nil, errors.Join(d.errs...)
	}
	if s.Hash, err = hashService(s); err != nil {
		return nil, &Error{File: file, Msg: err.Error()}
	}
	for _, e := range s.PathProblems() {
		d.warnings = append(d.warnings, e.Error())
	}
	s.Warnings = d.warnings
	return s, nil
}

// sortErrors orders a file's errors by line (program files, line 0, last),
// as the user reads the file.
func sortErrors(errs []error) {
	line := func(e error) int {
		if me, ok := e.(*Error); ok && me.Line > 0 {
			return me.Line
		}
		return math.MaxInt
	}
	sort.SliceStable(errs, func(i, j int) bool { return line(errs[i]) < line(errs[j]) })
}

func newService(file string) *Service {
	dir := filepath.Dir(file)
	if abs, err := filepath.Abs(dir); err == nil {
		dir = abs
	}
	return &Service{
		Name:        filepath.Base(dir),
		Dir:         dir,
		File:        file,
		Ready:       Ready{Interval: DefaultInterval, Timeout: DefaultReadyTimeout},
		StopSignal:  syscall.SIGTERM,
		StopTimeout: DefaultStopTimeout,
		lines:       map[string]int{},
	}
}

// parseYAML returns the root node of the single document in data, or nil
// for an empty file.
func parseYAML(file string, data []byte) (root *yaml.Node, err error) {
	// PID 1 must survive any manifest: a parser bug becomes an error.
	defer func() {
		if r := recover(); r != nil {
			root, err = nil, &Error{File: file, Msg: fmt.Sprintf("YAML parser failed: %v", r)}
		}
	}()
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, nil
		}
		return nil, yamlError(file, data, err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		if err != nil {
			return nil, yamlError(file, data, err)
		}
		return nil, &Error{File: file, Line: extra.Line, Msg: `a manifest is one YAML document: remove the second "---"`}
	}
	if len(doc.Content) == 0 {
		return nil, nil
	}
	return doc.Content[0], nil
}

// yamlError turns "yaml: line 3: did not find expected key" into an *Error
// with its line, on one line.
func yamlError(file string, data []byte, err error) error {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	msg = strings.Join(strings.Fields(msg), " ")
	line := 0
	if rest, ok := strings.CutPrefix(msg, "line "); ok {
		if num, after, ok := strings.Cut(rest, ": "); ok {
			if n, err := strconv.Atoi(num); err == nil {
				line, msg = n, after
			}
		}
	}
	switch {
	case isParserProblem(msg):
		// yaml.v3 prints the 0-based line for parser (not scanner)
		// errors, and no line at all for line 0: make it 1-based.
		line++
	case line == 0 && isReaderProblem(msg):
		line = badByteLine(data) // the reader gives no position
	case line == 0 && !strings.HasPrefix(msg, "unknown anchor"):
		line = 1 // a scanner error on line 1 is printed without a line
	}
	return &Error{File: file, Line: line, Msg: "invalid YAML: " + msg}
}

// isReaderProblem reports the encoding errors of libyaml's reader.
func isReaderProblem(msg string) bool {
	for _, p := range []string{"control characters", "UTF-", "surrogate", "invalid Unicode character", "input error"} {
		if strings.Contains(msg, p) && !strings.HasPrefix(msg, "found ") {
			return true
		}
	}
	return false
}

// badByteLine returns the line of the first byte YAML refuses: invalid
// UTF-8 or a control character other than tab, LF and CR.
func badByteLine(data []byte) int {
	line := 1
	for i := 0; i < len(data); {
		r, size := utf8.DecodeRune(data[i:])
		bad := (r == utf8.RuneError && size == 1) || (r < 0x20 && r != '\t' && r != '\n' && r != '\r') || r == 0x7f
		if bad {
			return line
		}
		if r == '\n' {
			line++
		}
		i += size
	}
	return 0
}

// isParserProblem reports the messages libyaml's parser (parserc.go)
// raises, whose lines yaml.v3 does not shift to 1-based as it does for
// the scanner's.
func isParserProblem(msg string) bool {
	for _, p := range []string{
		"did not find expected ',' or ']'", "did not find expected ',' or '}'",
		"did not find expected key", "did not find expected node content",
		"did not find expected '-' indicator", "did not find expected <document start>",
		"did not find expected <stream-start>", "found undefined tag handle",
		"found duplicate %YAML directive", "found duplicate %TAG directive",
		"found incompatible YAML document",
	} {
		if msg == p {
			return true
		}
	}
	return false
}

// service reads the top-level mapping into s.
func (d *decoder) service(s *Service, root *yaml.Node) {
	root = deref(root)
	if root == nil || isNull(root) {
		return
	}
	if root.Kind != yaml.MappingNode {
		d.errorf(root.Line, "want a mapping of settings (enabled: true, ...), got %s", kindName(root))
		return
	}
	fields := d.topFields(s)
	known := slices.Sorted(maps.Keys(fields))
	d.pairs("", root, func(key string, kn, v *yaml.Node) {
		set, ok := fields[key]
		switch {
		case !ok:
			d.unknownKey("", kn, known)
		case !isNull(deref(v)):
			s.lines[key] = kn.Line
			set(v)
		}
	})
}

// topFields maps each manifest key to what reads it (SPEC §4's schema).
func (d *decoder) topFields(s *Service) map[string]func(*yaml.Node) {
	return map[string]func(*yaml.Node){
		"enabled":      func(n *yaml.Node) { s.Enabled = d.boolean("enabled", n, false) },
		"auto_start":   func(n *yaml.Node) { s.AutoStart = d.boolean("auto_start", n, false) },
		"command":      func(n *yaml.Node) { d.command(s, n) },
		"user":         func(n *yaml.Node) { s.User = d.str("user", n) },
		"group":        func(n *yaml.Node) { s.Group = d.str("group", n) },
		"directory":    func(n *yaml.Node) { s.Directory = d.str("directory", n) },
		"environment":  func(n *yaml.Node) { s.Environment = d.strMap("environment", n) },
		"depends_on":   func(n *yaml.Node) { s.DependsOn = d.list("depends_on", n) },
		"ready":        func(n *yaml.Node) { d.ready(&s.Ready, n) },
		"watchdog":     func(n *yaml.Node) { s.Watchdog = d.duration("watchdog", n, 0) },
		"health":       func(n *yaml.Node) { d.health(&s.Health, n) },
		"oneshot":      func(n *yaml.Node) { s.Oneshot = d.boolean("oneshot", n, false) },
		"restart":      func(n *yaml.Node) { s.Restart = Restart(d.oneOf("restart", n, "always", "on-failure", "never")) },
		"stop_signal":  func(n *yaml.Node) { s.StopSignal = d.signal("stop_signal", n) },
		"stop_timeout": func(n *yaml.Node) { s.StopTimeout = d.duration("stop_timeout", n, DefaultStopTimeout) },
		"essential":    func(n *yaml.Node) { s.Essential = d.boolean("essential", n, false) },
		"log":          func(n *yaml.Node) { s.Log = d.oneOf("log", n, "prefix", "plain", "json", "inherit", "discard") },
	}
}

// command reads argv; [builtin, NAME] selects a service inside svinit.
func (d *decoder) command(s *Service, n *yaml.Node) {
	s.Command = d.list("command", n)
	switch {
	case s.Command == nil:
	case len(s.Command) == 0:
		d.errorf(lineOf(n), "command: empty list; remove the key to run ./run")
	case s.Command[0] == "":
		d.errorf(lineOf(n), "command: the program (first item) is empty")
	case s.Command[0] == "builtin":
		if len(s.Command) != 2 || (s.Command[1] != BuiltinSyslog && s.Command[1] != BuiltinCron) {
			d.errorf(lineOf(n), "command: want [builtin, syslog] or [builtin, cron], got %q", s.Command)
			return
		}
		s.Builtin = s.Command[1]
	}
}

// signal reads a signal name: TERM, SIGTERM and term are the same. Numbers
// are refused: they differ between architectures.
func (d *decoder) signal(key string, n *yaml.Node) syscall.Signal {
	v, ok := d.scalar(key, n)
	if !ok || v == "" {
		return syscall.SIGTERM
	}
	name := strings.ToUpper(v)
	if !strings.HasPrefix(name, "SIG") {
		name = "SIG" + name
	}
	if sig := unix.SignalNum(name); sig != 0 {
		return sig
	}
	d.errorf(lineOf(n), "%s: unknown signal %q (want a name like TERM, INT, QUIT, HUP, USR1, KILL)", key, v)
	return syscall.SIGTERM
}
