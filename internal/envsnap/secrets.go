package envsnap

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
)

// MaxSecretSize bounds a NAME_FILE secret. The kernel refuses any single
// environment string over MAX_ARG_STRLEN (128 KiB) with E2BIG, so a larger
// value would make every child of svinit fail to start; a mistaken path (a
// CA bundle, a log) is reported instead.
const MaxSecretSize = 64 << 10

// DefaultSecretsDirs is where Docker, Compose and Swarm mount secrets
// (SVINIT_SECRETS_DIRS's default).
var DefaultSecretsDirs = []string{"/run/secrets"}

// Secrets says which NAME_FILE variables are secrets (SPEC §7): those whose
// file lies under one of Dirs (SVINIT_SECRETS_DIRS), and those whose NAME
// is one of Names (SVINIT_SECRETS), wherever their file is. Every other
// *_FILE variable (SSL_CERT_FILE, PID_FILE, LOG_FILE) belongs to some
// program and is left alone.
type Secrets struct {
	Dirs  []string
	Names []string
}

// ExpandSecrets sets NAME to the content of the file named by NAME_FILE
// (trailing newlines trimmed, as sh's "$(cat file)" does), for every
// NAME_FILE variable that rule says is a secret, except SVINIT_* (svinit's
// own paths, such as SVINIT_ENV_FILE). NAME_FILE itself is kept.
//
// "Under" a folder is decided on real paths: symlinks and ".." are
// resolved first, so /run/secrets/../../etc/shadow, or a link in
// /run/secrets to /etc/shadow, is not under /run/secrets, while
// Kubernetes' ..data links within the folder are. A folder that does not
// exist holds no secrets (and is no error). The file read is the resolved
// one.
//
// Every secret that cannot be expanded is left as it was and reported; the
// others are expanded anyway. The error joins one line per variable,
// naming it and its file: unreadable, not a regular file (a FIFO would
// hang boot), over MaxSecretSize, containing a NUL byte (which no
// environment can carry), or NAME already set (ambiguous, as in the
// docker-library images' file_env).
func (s *Snapshot) ExpandSecrets(rule Secrets) error {
	dirs := realDirs(rule.Dirs)
	var errs []error
	for _, key := range s.keys() {
		name, ok := strings.CutSuffix(key, "_FILE")
		if !ok || name == "" || strings.HasPrefix(key, "SVINIT_") || s.secret[name] {
			continue
		}
		path, secret := secretPath(s.vars[key], dirs)
		if !secret && !slices.Contains(rule.Names, name) {
			continue
		}
		if _, set := s.vars[name]; set {
			errs = append(errs, fmt.Errorf("expand %s: %s is already set; set only one of them", key, name))
			continue
		}
		v, err := readSecret(path)
		if err != nil {
			errs = append(errs, fmt.Errorf("expand %s: %s: %w", key, s.vars[key], err))
			continue
		}
		s.vars[name] = v
		s.secret[name] = true
	}
	return errors.Join(errs...)
}

// realDirs resolves each folder's symlinks, dropping those that do not
// exist.
func realDirs(dirs []string) []string {
	var out []string
	for _, d := range dirs {
		if r, err := filepath.EvalSymlinks(d); err == nil && filepath.IsAbs(r) {
			out = append(out, r)
		}
	}
	return out
}

// secretPath resolves path and reports whether it lies under one of dirs
// (already resolved). A path that does not resolve (a missing file) is
// judged by its resolved folder, so a missing secret under /run/secrets is
// still reported. Relative paths are never under a folder.
func secretPath(path string, dirs []string) (string, bool) {
	if !filepath.IsAbs(path) {
		return path, false
	}
	real, err := filepath.EvalSymlinks(path)
	if err != nil {
		dir, derr := filepath.EvalSymlinks(filepath.Dir(path))
		if derr != nil {
			return path, false
		}
		real = filepath.Join(dir, filepath.Base(path))
	}
	for _, d := range dirs {
		if strings.HasPrefix(real, strings.TrimSuffix(d, "/")+"/") {
			return real, true
		}
	}
	return real, false
}

// ParseSecretNames parses SVINIT_SECRETS: names separated by commas or
// spaces, each one sh could assign.
func ParseSecretNames(v string) ([]string, error) {
	names := strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' })
	for _, n := range names {
		if !ValidName(n) {
			return nil, fmt.Errorf("%q is not a variable name", n)
		}
	}
	return names, nil
}

// ParseSecretsDirs parses SVINIT_SECRETS_DIRS: folders separated by colons
// (empty entries ignored); "" gives DefaultSecretsDirs.
func ParseSecretsDirs(v string) []string {
	if v == "" {
		return DefaultSecretsDirs
	}
	return strings.FieldsFunc(v, func(r rune) bool { return r == ':' })
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
