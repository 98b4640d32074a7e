package manifest

import (
	"alpine-server/internal/logmux"
	"errors"
	"maps"
	"math"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"syscall"

	"alpine-server/internal/manifest/yaml"
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
func parseYAML(file string, data []byte) (*yaml.Node, error) {
	docs, err := yaml.Parse(data)
	if err != nil {
		line, msg := 0, err.Error()
		if e, ok := err.(*yaml.Error); ok {
			line, msg = e.Line, e.Msg
		}
		return nil, &Error{File: file, Line: line, Msg: "invalid YAML: " + msg}
	}
	if len(docs) > 1 {
		return nil, &Error{File: file, Line: docs[1].Line, Msg: `a manifest is one YAML document: remove the second "---"`}
	}
	if len(docs) == 0 || len(docs[0].Content) == 0 {
		return nil, nil
	}
	return docs[0].Content[0], nil
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
		"kill_mode": func(n *yaml.Node) {
			s.KillMode = KillMode(d.oneOf("kill_mode", n, string(KillControlGroup), string(KillProcessGroup)))
		},
		"log": func(n *yaml.Node) { s.Log = d.oneOf("log", n, logmux.FormatNames()...) },
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
