package manifest

import (
	"errors"
	"fmt"
	"hash"
	"hash/fnv"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"alpine-server/internal/regfile"
)

// check applies the defaults that depend on other keys and the rules
// between keys.
func (d *decoder) check(s *Service) {
	d.checkRestart(s)
	d.checkReady(s)
	d.checkUser(s)
	d.checkDeps(s)
	d.checkBuiltin(s)
	switch {
	case s.Directory == "":
		s.Directory = s.Dir
	case !filepath.IsAbs(s.Directory):
		s.Directory = filepath.Join(s.Dir, s.Directory) // relative to the service folder
	default:
		s.Directory = filepath.Clean(s.Directory)
	}
}

func (d *decoder) checkRestart(s *Service) {
	switch {
	case s.Restart == "" && s.Oneshot:
		s.Restart = RestartNever
	case s.Restart == "":
		s.Restart = RestartAlways
	case s.Restart == RestartAlways && s.Oneshot:
		d.errorf(s.Line("restart"), "restart: always would rerun a oneshot forever; use on-failure or never")
	}
	if s.KillMode == "" {
		s.KillMode = KillControlGroup
	}
}

func (d *decoder) checkReady(s *Service) {
	line := s.Line("ready")
	switch {
	case line == 0:
	case s.Oneshot && s.Ready.Kind != ReadyStarted:
		d.errorf(line, "ready: a oneshot is ready when it exits 0; only ready.timeout applies, not a %s probe", s.Ready.Kind)
	case !s.Oneshot && s.Ready.Kind == ReadyStarted:
		d.errorf(line, "ready: want one of tcp, http, exec, file, notify, fd")
	}
}

func (d *decoder) checkUser(s *Service) {
	if strings.Contains(s.User, ":") {
		d.errorf(s.Line("user"), "user: %q: put the group in group:, not after a colon", s.User)
	}
	if s.Group != "" && s.User == "" {
		d.errorf(s.Line("group"), "group: needs user: too (group alone would run as root)")
	}
}

func (d *decoder) checkDeps(s *Service) {
	seen := map[string]bool{}
	for _, dep := range s.DependsOn {
		switch {
		case !ValidName(dep):
			d.errorf(s.Line("depends_on"), "depends_on: %q is not a service name (%s)", dep, NamePattern)
		case dep == s.Name:
			d.errorf(s.Line("depends_on"), "depends_on: a service cannot depend on itself")
		case seen[dep]:
			d.errorf(s.Line("depends_on"), "depends_on: %q is listed twice", dep)
		}
		seen[dep] = true
	}
}

// checkBuiltin refuses keys that mean nothing for a service running inside
// svinit, so nobody believes they took effect.
func (d *decoder) checkBuiltin(s *Service) {
	if s.Builtin == "" {
		return
	}
	unused := map[string]bool{
		"user":        s.User != "",
		"group":       s.Group != "",
		"directory":   s.Directory != "",
		"ready":       s.Line("ready") > 0,
		"oneshot":     s.Oneshot,
		"stop_signal": s.Line("stop_signal") > 0,
	}
	for _, key := range slices.Sorted(maps.Keys(unused)) {
		if unused[key] {
			d.errorf(s.Line(key), "%s: not used by builtin services (command: [builtin, %s])", key, s.Builtin)
		}
	}
}

// files finds and checks the run and finish programs of an enabled service.
func (d *decoder) files(s *Service) {
	finish := filepath.Join(s.Dir, "finish")
	switch _, err := os.Lstat(finish); {
	case errors.Is(err, fs.ErrNotExist):
	case s.Builtin != "":
		d.errs = append(d.errs, &Error{File: finish, Msg: "builtin services run no finish program; remove it"})
	default:
		d.program(finish)
		s.Finish = finish
	}
	if len(s.Command) > 0 {
		return
	}
	s.Run = filepath.Join(s.Dir, "run")
	if _, err := os.Lstat(s.Run); errors.Is(err, fs.ErrNotExist) {
		d.errorf(0, "no command: and no run program in %s; add one of them", s.Dir)
		return
	}
	d.program(s.Run)
}

// PathProblems reports what would make the enabled service s fail at
// every start although its manifest is valid: a directory: that is missing
// or not a folder, and a command whose program is given by a path
// (absolute, or relative to the directory) that is not an executable
// regular file. Programs found on PATH are not checked: PATH is the
// container's. Parse passes the problems on as warnings (a service that
// runs first may still create them); `svinit check` counts them as errors.
func (s *Service) PathProblems() []error {
	if !s.Enabled || s.Builtin != "" {
		return nil
	}
	var errs []error
	if s.Line("directory") > 0 {
		if fi, err := os.Stat(s.Directory); errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, s.errorf("directory", "directory: %s: no such folder", s.Directory))
		} else if err != nil {
			errs = append(errs, s.errorf("directory", "directory: %s: %v", s.Directory, errors.Unwrap(err))) // os.Stat's *PathError
		} else if !fi.IsDir() {
			errs = append(errs, s.errorf("directory", "directory: %s: not a folder (%s)", s.Directory, regfile.Kind(fi.Mode())))
		}
	}
	if len(s.Command) > 0 && strings.Contains(s.Command[0], "/") {
		prog := s.Command[0]
		if !filepath.IsAbs(prog) {
			prog = filepath.Join(s.Directory, prog) // the child chdirs before exec
		}
		if fi, err := regfile.Stat(prog); err != nil {
			errs = append(errs, s.errorf("command", "command: %s: %v", prog, err))
		} else if fi.Mode().Perm()&0o111 == 0 {
			errs = append(errs, s.errorf("command", "command: %s: not executable (mode %04o)", prog, fi.Mode().Perm()))
		}
	}
	return errs
}

func (s *Service) errorf(key, format string, args ...any) error {
	return &Error{File: s.File, Line: s.Line(key), Msg: fmt.Sprintf(format, args...)}
}

// program checks that path is an executable regular file.
func (d *decoder) program(path string) {
	fi, err := regfile.Stat(path)
	switch {
	case err != nil:
		d.errs = append(d.errs, &Error{File: path, Msg: err.Error()})
	case fi.Mode().Perm()&0o111 == 0:
		d.errs = append(d.errs, &Error{File: path, Msg: fmt.Sprintf("not executable (mode %04o); chmod +x it", fi.Mode().Perm())})
	}
}

// hashService digests everything that defines how the service runs.
// Each string is length-prefixed so field boundaries cannot be forged.
func hashService(s *Service) (string, error) {
	// FNV-128a, not SHA-256: this detects edits, it defends against no one,
	// and crypto/sha256 would link the FIPS machinery (~0.2 MB) into PID 1.
	h := fnv.New128a()
	put := func(parts ...string) {
		for _, p := range parts {
			fmt.Fprintf(h, "%d:%s,", len(p), p)
		}
	}
	b := strconv.FormatBool
	put(s.Name, s.Dir, b(s.Enabled), b(s.AutoStart), s.Builtin, s.Run, s.Finish)
	put(s.User, s.Group, s.Directory, b(s.Oneshot), string(s.Restart))
	put(s.StopSignal.String(), s.StopTimeout.String(), b(s.Essential), s.Log, string(s.KillMode))
	r := s.Ready
	put(string(r.Kind), r.Addr, r.HostPort, r.Path, r.Interval.String(), r.Timeout.String())
	put(healthHash(s)...)
	for _, list := range [][]string{s.Command, s.DependsOn, r.Exec} {
		put(strconv.Itoa(len(list)))
		put(list...)
	}
	put(strconv.Itoa(len(s.Environment)))
	for _, k := range slices.Sorted(maps.Keys(s.Environment)) {
		put(k, s.Environment[k])
	}
	for _, f := range []string{s.Run, s.Finish} {
		if err := hashFile(h, f); err != nil {
			return "", err
		}
	}
	return fmt.Sprintf("%x", h.Sum(nil)), nil
}

// hashFile adds a program's mode and contents, so editing run restarts it.
func hashFile(h hash.Hash, path string) error {
	if path == "" {
		return nil
	}
	f, fi, err := regfile.Open(path) // it may have changed since program()
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	defer f.Close()
	fmt.Fprintf(h, "%s:%o:%d,", path, fi.Mode(), fi.Size())
	if _, err := io.Copy(h, f); err != nil {
		return fmt.Errorf("hash %s: %w", path, err)
	}
	return nil
}
