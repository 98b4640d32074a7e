package boot

import (
	"fmt"
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
