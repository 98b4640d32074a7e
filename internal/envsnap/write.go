package envsnap

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// ErrReadOnly is wrapped by WriteFiles' error when the filesystem is
// read-only (EROFS), so the caller can say so once and keep the snapshot
// in memory.
var ErrReadOnly = errors.New("read-only filesystem")

// WriteFiles writes the snapshot as envFile (KEY="value" lines) and
// profileFile (export KEY="value" lines), each sorted by key. An empty path
// skips that file. Each file is replaced atomically (temp file + rename in
// its folder, created if missing), gets exactly mode whatever the umask,
// and is owned by root:root when we are root. A path that is a link on a
// read-only folder is written where the link points (see writeAtomic).
//
// Left out of both files: names expanded from secret files (their NAME_FILE
// is written instead, see the package doc), and names sh cannot assign
// (such as "a.b", which would make the profile script fail); children still
// get them from Environ.
func (s *Snapshot) WriteFiles(envFile, profileFile string, mode os.FileMode) error {
	for _, f := range []struct{ path, prefix string }{{envFile, ""}, {profileFile, "export "}} {
		if f.path == "" {
			continue
		}
		if err := writeAtomic(f.path, s.render(f.prefix), mode); err != nil {
			return writeError(f.path, err)
		}
	}
	return nil
}

// render returns one prefix+KEY="value" line per writable variable.
func (s *Snapshot) render(prefix string) []byte {
	var b strings.Builder
	for _, k := range s.keys() {
		if s.secret[k] || !ValidName(k) {
			continue
		}
		b.WriteString(prefix + k + "=" + Quote(s.vars[k]) + "\n")
	}
	return []byte(b.String())
}

// writeError names the file and marks EROFS with ErrReadOnly.
func writeError(path string, err error) error {
	if errors.Is(err, syscall.EROFS) {
		return fmt.Errorf("write %s: %w: %w", path, ErrReadOnly, err)
	}
	return fmt.Errorf("write %s: %w", path, err)
}

// writeAtomic replaces path. When its folder is read-only and path is a
// symlink, it replaces the file the link points to instead: on a
// read-only root the image links its boot-time files into /run (a tmpfs),
// as /etc/resolv.conf often is. On a writable folder the link itself is
// replaced by the file, so the files stay where SPEC §7 puts them.
func writeAtomic(path string, data []byte, mode os.FileMode) error {
	err := writeIn(path, data, mode)
	if !errors.Is(err, syscall.EROFS) {
		return err
	}
	target, lerr := os.Readlink(path)
	if lerr != nil {
		return err
	}
	if !filepath.IsAbs(target) {
		target = filepath.Join(filepath.Dir(path), target)
	}
	if terr := writeIn(target, data, mode); terr != nil {
		return fmt.Errorf("%w (and through its link to %s: %w)", err, target, terr)
	}
	return nil
}

func writeIn(path string, data []byte, mode os.FileMode) (err error) {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if err := fillFile(f, data, mode); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}

// fillFile writes data and sets mode and owner before the file gets its
// name, so no reader ever sees it half-written or with a looser mode.
func fillFile(f *os.File, data []byte, mode os.FileMode) error {
	if _, err := f.Write(data); err != nil {
		return err
	}
	if err := f.Chmod(mode); err != nil {
		return err
	}
	if os.Geteuid() == 0 {
		if err := f.Chown(0, 0); err != nil {
			return err
		}
	}
	return f.Sync()
}

// ParseMode parses an octal permission mode such as "0400" or "0444"
// (SVINIT_ENV_MODE). Only permission bits are allowed: a setuid or sticky
// bit on an env file is always a mistake. A group- or world-writable mode
// is refused: the files carry secrets, and whoever may write them decides
// what every login shell runs.
func ParseMode(s string) (os.FileMode, error) {
	n, err := strconv.ParseUint(s, 8, 32)
	if err != nil || n > 0o777 {
		return 0, fmt.Errorf("invalid mode %q: want octal permissions such as 0400 or 0444", s)
	}
	if n&0o022 != 0 {
		return 0, fmt.Errorf("invalid mode %q: group- or world-writable, so others could rewrite the environment; use 0400 or 0444", s)
	}
	return os.FileMode(n), nil
}
