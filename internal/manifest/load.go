package manifest

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"alpine-server/internal/regfile"
)

// MaxManifestSize bounds what Load reads of one manifest.yml.
const MaxManifestSize = 1 << 20

// Set is the result of loading a services folder.
type Set struct {
	Dir      string              // the services folder, absolute
	Services map[string]*Service // enabled services by name
	Disabled []string            // names of valid but disabled services, sorted
	Warnings []string            // one line each, naming the file or folder
}

// Load reads every service folder in dir ($SVINIT_SERVICES_DIR):
//
//   - each sub-folder (or symlink to one) with a manifest.yml is parsed
//     (Parse); disabled ones are validated too, then listed in Disabled;
//   - a folder without manifest.yml is skipped with a warning;
//   - files and names starting with "." (editor files, Kubernetes'
//     ..data) are ignored;
//   - a missing dir is not an error: the set is empty, with a warning.
//
// All problems of all folders are joined into one error, one line each.
// On error the Set is still returned (for its Warnings) but must not be
// started: SPEC §3 wants nothing half-started.
func Load(dir string, lookup func(string) (string, bool)) (*Set, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("load services from %s: %w", dir, err)
	}
	set := &Set{Dir: abs, Services: map[string]*Service{}}
	entries, err := regfile.ReadDir(abs)
	if errors.Is(err, fs.ErrNotExist) {
		set.Warnings = append(set.Warnings, fmt.Sprintf("%s: no such services folder; no services", abs))
		return set, nil
	}
	if errors.Is(err, fs.ErrPermission) {
		return set, fmt.Errorf("services folder %s: cannot read it as uid %d: permission denied; make it readable (chmod a+rx) or point SVINIT_SERVICES_DIR (or svinit check --services) at another folder", abs, os.Geteuid())
	}
	if err != nil {
		return set, fmt.Errorf("services folder %s: %w; point SVINIT_SERVICES_DIR (or svinit check --services) at the folder that holds one folder per service", abs, err)
	}
	var errs []error
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), ".") {
			errs = append(errs, set.loadOne(filepath.Join(abs, e.Name()), lookup))
		}
	}
	sort.Strings(set.Disabled)
	return set, errors.Join(errs...)
}

// loadOne parses the service folder at path into the set.
func (set *Set) loadOne(path string, lookup func(string) (string, bool)) error {
	if fi, err := os.Stat(path); err != nil {
		set.Warnings = append(set.Warnings, fmt.Sprintf("%s: skipped: %v", path, err))
		return nil
	} else if !fi.IsDir() {
		return nil
	}
	file := filepath.Join(path, "manifest.yml")
	data, err := readManifest(file)
	if errors.Is(err, fs.ErrNotExist) {
		set.Warnings = append(set.Warnings, missingManifest(path))
		return nil
	}
	if err != nil {
		return err
	}
	s, err := Parse(file, data, lookup)
	if err != nil {
		return err
	}
	set.Warnings = append(set.Warnings, s.Warnings...)
	if s.Enabled {
		set.Services[s.Name] = s
	} else {
		set.Disabled = append(set.Disabled, s.Name)
	}
	return nil
}

func missingManifest(path string) string {
	msg := fmt.Sprintf("%s: no manifest.yml, skipped", path)
	if _, err := os.Stat(filepath.Join(path, "manifest.yaml")); err == nil {
		msg += " (found manifest.yaml: rename it to manifest.yml)"
	}
	return msg
}

// readManifest reads file, refusing more than MaxManifestSize bytes and
// anything but a regular file; only a file that is not there at all (not
// even as a dangling symlink) gives fs.ErrNotExist.
func readManifest(file string) ([]byte, error) {
	data, err := regfile.Read(file, MaxManifestSize)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	if err != nil {
		return nil, &Error{File: file, Msg: err.Error()}
	}
	return data, nil
}
