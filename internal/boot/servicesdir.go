package boot

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// The services folder (SPEC §4): the seed's /etc/services when that is a
// folder; on bases where /etc/services is the system's port list (a file,
// as Debian's, Ubuntu's and Alpine's netbase install it; getservbyname
// reads it) svinit's own namespaced folder instead, so the port list stays.
const (
	seedServicesDir   = "/etc/services"
	svinitServicesDir = "/etc/svinit/services"
)

// servicesDir returns SVINIT_SERVICES_DIR when set, else the default
// under root ("/" in a container), and whether the default is the
// namespaced folder because /etc/services is a file.
func servicesDir(set, root string) (dir string, portList bool) {
	if set != "" {
		return set, false
	}
	seed := filepath.Join(root, seedServicesDir)
	fi, err := os.Stat(seed)
	if err == nil && fi.IsDir() {
		return seed, false
	}
	return filepath.Join(root, svinitServicesDir), err == nil
}

// describeServicesDir names the folder read and, when /etc/services is
// the port list, says where service folders go.
func describeServicesDir(dir string, portList bool, root string) string {
	if !portList {
		return dir
	}
	return fmt.Sprintf("%s (%s is the system's port list, a file: service folders go in %s)",
		dir, filepath.Join(root, seedServicesDir), dir)
}

// checkServicesDir fails with one line when dir exists but is not a
// folder, or is a folder svinit cannot read. os.ReadDir would block forever
// opening a FIFO, and say only "not a directory" of a file.
func checkServicesDir(dir string) error {
	fi, err := os.Stat(dir)
	if err != nil {
		return nil // a missing folder is a warning of manifest.Load; others fail there
	}
	if !fi.IsDir() {
		return fmt.Errorf("services folder %s is %s, not a folder: set SVINIT_SERVICES_DIR to a folder of service folders (on bases where %s is the port list, %s)",
			dir, kind(fi.Mode()), seedServicesDir, svinitServicesDir)
	}
	f, err := os.Open(dir) // a folder: opening it cannot block
	if errors.Is(err, fs.ErrPermission) {
		return fmt.Errorf("services folder %s is not readable by uid %d: permission denied; make it readable (chmod a+rx), or set SVINIT_SERVICES_DIR",
			dir, os.Geteuid())
	}
	if err == nil {
		f.Close()
	}
	return nil
}

// kind names a file type for a message.
func kind(m fs.FileMode) string {
	switch {
	case m.IsRegular():
		return "a regular file"
	case m&fs.ModeNamedPipe != 0:
		return "a named pipe"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeDevice != 0:
		return "a device"
	}
	return "not a folder (" + m.Type().String() + ")"
}
