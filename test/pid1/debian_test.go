package pid1

import (
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"alpine-server/test/promtest"
)

// TestPostgresAnnouncesReady: Debian's PostgreSQL (linked with libsystemd)
// under `ready: {notify: systemd}` is ready when it says READY=1 itself,
// and accepts connections then. It runs as the postgres user: the notify
// socket must be reachable from a service that is not root.
func TestPostgresAnnouncesReady(t *testing.T) {
	t.Parallel()
	bins, _ := filepath.Glob("/usr/lib/postgresql/*/bin/postgres")
	pg, err := user.Lookup("postgres")
	if len(bins) == 0 || err != nil {
		t.Skip("needs Debian's postgresql (scripts/test-deps installs it)")
	}
	needPID1(t)
	bin := filepath.Dir(bins[len(bins)-1])
	uid, _ := strconv.Atoi(pg.Uid)
	gid, _ := strconv.Atoi(pg.Gid)
	data := filepath.Join(t.TempDir(), "pg")
	for _, d := range []string{filepath.Dir(filepath.Dir(data)), filepath.Dir(data)} {
		os.Chmod(d, 0o755) // the postgres user walks into the test's folders
	}
	if err := os.MkdirAll(data, 0o700); err != nil {
		t.Fatal(err)
	}
	os.Chown(data, uid, gid)
	initdb := exec.Command(filepath.Join(bin, "initdb"), "-D", filepath.Join(data, "db"), "-A", "trust", "-U", "postgres", "--no-sync")
	initdb.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}}
	initdb.Dir = data
	if out, err := initdb.CombinedOutput(); err != nil {
		t.Fatalf("initdb: %v\n%s", err, out)
	}
	port := strconv.Itoa(freePort(t))
	b := boot(t, spec{env: []string{"PGBIN=" + bin, "PGDATA=" + filepath.Join(data, "db"), "PGSOCK=" + data, "PGPORT=" + port},
		services: map[string]map[string]string{
			"pg": {"manifest.yml": manifest("user: postgres", "ready: {notify: systemd, timeout: 60s}"), "run": `#!/bin/sh
while [ ! -e "$T/go" ]; do sleep 0.02; done
exec "$PGBIN/postgres" -D "$PGDATA" -k "$PGSOCK" -p "$PGPORT" -c listen_addresses= -c fsync=off
`},
		}})
	b.waitStatus("pg", `^starting: pg: `, 10*time.Second)
	// The box's folder must be walkable by postgres before it starts.
	for _, d := range []string{filepath.Dir(b.dir), b.dir} {
		os.Chmod(d, 0o755)
	}
	writeFile(t, filepath.Join(b.dir, "go"), "", false)
	b.waitLog(`info: service pg ready \(pid \d+, `, 60*time.Second)
	isready := exec.Command(filepath.Join(bin, "pg_isready"), "-h", data, "-p", port)
	if out, err := isready.CombinedOutput(); err != nil {
		t.Errorf("pg_isready once pg is ready: %v: %s", err, out)
	}
	b.signal(syscall.SIGTERM)
	if code := b.wait(30 * time.Second); code != 0 {
		t.Errorf("svinit exit %d after TERM", code)
	}
}

// TestPrometheusScrapes: Debian's Prometheus server, on loopback, scrapes
// svinit's GET /metrics; a query for svinit_service_up returns the
// services of this svinit.
func TestPrometheusScrapes(t *testing.T) {
	t.Parallel()
	prom := promtest.Binary(t, "../..")
	metrics := freeAddr(t)
	b := boot(t, spec{env: []string{"SVINIT_METRICS_ADDR=" + metrics}, services: map[string]map[string]string{
		"web":  {"manifest.yml": manifest(), "run": "#!/bin/sh\nexec sleep 1000\n"},
		"idle": {"manifest.yml": "enabled: true\ncommand: [sleep, '1000']\n"},
	}})
	b.waitStatus("web", `^run: web: .*ready`, 10*time.Second)
	got := promtest.Scrape(t, prom, metrics, "svinit_service_up", []string{"web", "idle"})
	if got["web"] != "1" || got["idle"] != "0" {
		t.Errorf("svinit_service_up by service: %v; want web 1, idle 0", got)
	}
}
