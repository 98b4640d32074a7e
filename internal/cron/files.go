package cron

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"alpine-server/internal/regfile"
)

// maxCrontabSize bounds what one crontab may cost in memory; busybox stops
// non-root crontabs at 256 lines, so 1 MiB is generous.
const maxCrontabSize = 1 << 20

// LookupUserFunc finds a crontab's user, returning its home directory;
// an error means the user does not exist (the file is skipped).
type LookupUserFunc func(user string) (home string, err error)

// fileSig is what a rescan compares to notice that a crontab changed.
type fileSig struct {
	mtime time.Time
	size  int64
}

// userTab is one loaded crontab.
type userTab struct {
	user string
	home string
	tab  *Crontab
}

// skipName reports why a directory entry is not a crontab, or "".
// Like busybox crond, a name with a dot is never a user's crontab: this skips
// dotfiles (vim's .root.swp, Kubernetes ConfigMap's ..data), *.swp, *.bak,
// and Alpine's *.apk-new left by package upgrades. Editor backups end in ~.
func skipName(name string) string {
	switch {
	case strings.Contains(name, "."):
		return "name has a dot"
	case strings.HasSuffix(name, "~"):
		return "editor backup"
	}
	return ""
}

// notRegular is the size in a fileSig of an entry named like a crontab
// that is not a regular file: it is never loaded, but kept in the scan so
// that a rescan notices one appear or go (and warns about it).
const notRegular = -1

// scanDir lists the crontabs in dir by user name. A missing dir has no
// crontabs. Symlinks are followed (ConfigMap mounts are symlinks). Names
// that are never crontabs are in skipped; an entry named like a crontab
// that is not a regular file after following symlinks (a folder, a FIFO,
// a dangling link) is an error in bad, naming it (SPEC §4), and in files
// with size notRegular. Nothing here opens a file.
func scanDir(dir string) (files map[string]fileSig, skipped []string, bad []error, err error) {
	ents, err := regfile.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return map[string]fileSig{}, nil, nil, nil
	}
	if err != nil {
		return nil, nil, nil, fmt.Errorf("crontabs folder %s: %w", dir, err)
	}
	files = make(map[string]fileSig, len(ents))
	for _, de := range ents {
		name, path := de.Name(), filepath.Join(dir, de.Name())
		if why := skipName(name); why != "" {
			skipped = append(skipped, fmt.Sprintf("%s: %s", path, why))
			continue
		}
		fi, err := regfile.Stat(path)
		if err != nil {
			bad = append(bad, fmt.Errorf("%s: %w, skipping it", path, err))
			files[name] = fileSig{size: notRegular}
			continue
		}
		files[name] = fileSig{mtime: fi.ModTime(), size: fi.Size()}
	}
	return files, skipped, bad, nil
}

// sameFiles reports whether two scans saw the same crontabs unchanged.
func sameFiles(a, b map[string]fileSig) bool {
	if len(a) != len(b) {
		return false
	}
	for name, sa := range a {
		if sb, ok := b[name]; !ok || !sa.mtime.Equal(sb.mtime) || sa.size != sb.size {
			return false
		}
	}
	return true
}

// loadTab reads and parses dir/user. err is fatal for the file (unknown
// user, unreadable, too big); lineErrs are lines skipped.
func loadTab(dir, user string, loc *time.Location, lookup LookupUserFunc) (ut *userTab, lineErrs []error, err error) {
	path := filepath.Join(dir, user)
	home, err := lookup(user)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: unknown user %s, skipping the file: %w", path, user, err)
	}
	data, err := readLimited(path)
	if err != nil {
		return nil, nil, err
	}
	tab, lineErrs := ParseCrontab(path, data, loc)
	return &userTab{user: user, home: home, tab: tab}, lineErrs, nil
}

func readLimited(path string) ([]byte, error) {
	// regfile: the file may have become a FIFO since scanDir looked.
	data, err := regfile.Read(path, maxCrontabSize)
	if err != nil {
		return nil, fmt.Errorf("%s: %w, skipping the file", path, err)
	}
	return data, nil
}

// loadDir loads every crontab in dir, in user name order. warn receives
// each problem; the files and lines that are fine are still returned.
func loadDir(dir string, loc *time.Location, lookup LookupUserFunc, warn func(error)) ([]*userTab, map[string]fileSig, []string) {
	files, skipped, bad, err := scanDir(dir)
	if err != nil {
		warn(err)
		return nil, nil, nil
	}
	for _, err := range bad {
		warn(err)
	}
	users := make([]string, 0, len(files))
	for u, sig := range files {
		if sig.size != notRegular {
			users = append(users, u)
		}
	}
	sort.Strings(users)
	var tabs []*userTab
	for _, u := range users {
		ut, lineErrs, err := loadTab(dir, u, loc, lookup)
		for _, le := range lineErrs {
			warn(le)
		}
		if err != nil {
			warn(err)
			continue
		}
		tabs = append(tabs, ut)
	}
	return tabs, files, skipped
}

// Check validates every crontab in dir as the cron service would load it,
// for `svinit check`: one error per bad line ("FILE:LINE: ...") or file.
// loc is the default zone (nil = time.Local).
func Check(dir string, loc *time.Location, lookup LookupUserFunc) []error {
	var errs []error
	loadDir(dir, loc, lookup, func(err error) { errs = append(errs, err) })
	return errs
}
