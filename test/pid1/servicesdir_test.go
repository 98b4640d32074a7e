package pid1

import (
	"os"
	"regexp"
	"testing"
	"time"
)

// SPEC §4: on a machine whose /etc/services is the port list (this one,
// like every Debian), svinit without SVINIT_SERVICES_DIR reads
// /etc/svinit/services, says so, and boots; the port list is untouched.
func TestServicesDirDefaultBesidePortList(t *testing.T) {
	t.Parallel()
	fi, err := os.Stat("/etc/services")
	if err != nil || !fi.Mode().IsRegular() {
		t.Skip("needs /etc/services to be the port list (a file), as netbase installs it")
	}
	if _, err := os.Stat("/etc/svinit/services"); err == nil {
		t.Skip("this machine has an /etc/svinit/services; svinit would run its services")
	}
	before, _ := os.ReadFile("/etc/services")
	b := boot(t, spec{env: []string{"SVINIT_SERVICES_DIR="}, main: []string{"true"}})
	if got := b.wait(20 * time.Second); got != 0 {
		t.Fatalf("exit %d", got)
	}
	for _, re := range []string{
		`debug: services from /etc/svinit/services \(/etc/services is the system's port list, a file: service folders go in /etc/svinit/services\)`,
		`/etc/svinit/services: no such services folder; no services`,
	} {
		if b.out.find(regexp.MustCompile(re)) == "" {
			t.Errorf("no line matching %s", re)
		}
	}
	if after, _ := os.ReadFile("/etc/services"); string(after) != string(before) {
		t.Error("/etc/services changed")
	}
}
