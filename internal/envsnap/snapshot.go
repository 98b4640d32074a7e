// Package envsnap captures the container environment at boot, expands
// Docker-style NAME_FILE secrets, and writes it as files that sh reads back
// byte for byte (SPEC §7).
//
// Secrets: a NAME expanded from NAME_FILE (see ExpandSecrets) reaches every child (services,
// cron jobs, startup scripts, the main command) through the in-memory
// snapshot, but is never written to the files: they keep NAME_FILE, so an
// opt-in world-readable file (SVINIT_ENV_MODE=0444) cannot leak a secret,
// and a login shell that needs it can read the file itself.
package envsnap

import (
	"maps"
	"slices"
	"strings"
)

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

// IsSecret reports whether k was expanded from a secret file.
func (s *Snapshot) IsSecret(k string) bool {
	return s.secret[k]
}
