// Package envsnap captures the container environment at boot, expands
// Docker-style NAME_FILE secrets, and writes it as files that sh reads back
// byte for byte (SPEC §7).
//
// Secrets: a NAME expanded from NAME_FILE reaches every child (services,
// cron jobs, startup scripts, the main command) through the in-memory
// snapshot, but is never written to the files: they keep NAME_FILE, so an
// opt-in world-readable file (SVINIT_ENV_MODE=0444) cannot leak a secret,
// and a login shell that needs it can read the file itself.
package envsnap

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"slices"
	"strings"
	"syscall"
)

// MaxSecretSize bounds a NAME_FILE secret. The kernel refuses any single
// environment string over MAX_ARG_STRLEN (128 KiB) with E2BIG, so a larger
// value would make every child of svinit fail to start; a mistaken path (a
// CA bundle, a log) is reported instead.
const MaxSecretSize = 64 << 10

// Snapshot is the environment handed to children: KEY → value, with the
// names whose values came from secret files marked. Make one with Capture
// (Capture(nil) for an empty one).
type Snapshot struct {
	vars   map[string]string
	secret map[string]bool
}

// Capture snapshots environ ("KEY=value" strings, as os.Environ returns),
// dropping the variables that belong to a login or to svinit's own shell
// rather than to the container: HOME USER LOGNAME SHELL PWD SHLVL HOSTNAME _.
// Entries without "=" or with an empty key are ignored; of duplicate keys
// the first wins, as with os.Getenv.
func Capture(environ []string) *Snapshot {
	s := &Snapshot{vars: map[string]string{}, secret: map[string]bool{}}
	for _, kv := range environ {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" || dropped(k) {
			continue
		}
		if _, dup := s.vars[k]; !dup {
			s.vars[k] = v
		}
	}
	return s
}

func dropped(k string) bool {
	switch k {
	case "HOME", "USER", "LOGNAME", "SHELL", "PWD", "SHLVL", "HOSTNAME", "_":
		return true
	}
	return false
}

// Get returns the value of k and whether it is set.
func (s *Snapshot) Get(k string) (string, bool) {
	v, ok := s.vars[k]
	return v, ok
}

// Set sets k to v. A name that came from a secret file stays a secret (kept
// out of the files) whatever its new value.
func (s *Snapshot) Set(k, v string) {
	s.vars[k] = v
}

// Merge sets every variable of vars, e.g. what a startup script exported
// to the env file (ReadFile).
func (s *Snapshot) Merge(vars map[string]string) {
	for k, v := range vars {
		s.Set(k, v)
	}
}

// Environ returns "KEY=value" for every variable, sorted by key: the
// environment of children.
func (s *Snapshot) Environ() []string {
	out := make([]string, 0, len(s.vars))
	for _, k := range s.keys() {
		out = append(out, k+"="+s.vars[k])
	}
	return out
}

func (s *Snapshot) keys() []string {
	return slices.Sorted(maps.Keys(s.vars))
}

// ExpandSecrets sets NAME to the content of the file named by NAME_FILE
// (trailing newlines trimmed, as sh's "$(cat file)" does), for every
// NAME_FILE variable except SVINIT_* (svinit's own paths, such as
// SVINIT_ENV_FILE). NAME_FILE itself is kept.
//
// Every variable that cannot be expanded is left as it was and reported;
// the others are expanded anyway. The error joins one line per variable,
// naming it and its file: unreadable, not a regular file (a FIFO would
// hang boot), over MaxSecretSize, containing a NUL byte (which no
// environment can carry), or NAME already set (ambiguous, as in the
// docker-library images' file_env). Plain *_FILE path variables of
// applications (PID_FILE=/run/app.pid) land here too, so the caller should
// log the error as a warning rather than stop the boot.
func (s *Snapshot) ExpandSecrets() error {
	var errs []error
	for _, key := range s.keys() {
		name, ok := strings.CutSuffix(key, "_FILE")
		if !ok || name == "" || strings.HasPrefix(key, "SVINIT_") || s.secret[name] {
			continue
		}
		if _, set := s.vars[name]; set {
			errs = append(errs, fmt.Errorf("expand %s: %s is already set; set only one of them", key, name))
			continue
		}
		v, err := readSecret(s.vars[key])
		if err != nil {
			errs = append(errs, fmt.Errorf("expand %s: %s: %w", key, s.vars[key], err))
			continue
		}
		s.vars[name] = v
		s.secret[name] = true
	}
	return errors.Join(errs...)
}

// IsSecret reports whether k was expanded from a secret file.
func (s *Snapshot) IsSecret(k string) bool {
	return s.secret[k]
}

func readSecret(path string) (string, error) {
	// O_NONBLOCK: opening a FIFO for reading would block until a writer
	// came; regular files ignore the flag.
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return "", bare(err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return "", bare(err)
	}
	if !fi.Mode().IsRegular() {
		return "", fmt.Errorf("not a regular file (%s)", fi.Mode().Type())
	}
	b, err := io.ReadAll(io.LimitReader(f, MaxSecretSize+1))
	if err != nil {
		return "", bare(err)
	}
	if len(b) > MaxSecretSize {
		return "", fmt.Errorf("larger than %d bytes", MaxSecretSize)
	}
	if slices.Contains(b, 0) {
		return "", errors.New("contains a NUL byte")
	}
	return strings.TrimRight(string(b), "\n"), nil
}

// bare drops the path from a *fs.PathError, for messages that already
// name the file.
func bare(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
