package e2e

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

var debianBase buildResult

// debianImage builds examples/debian: its base from Debian's packages
// (examples/debian/build-rootfs, cached by an input hash) and svinit
// copied in from the image under test. build-rootfs runs once per test
// binary: the tests that use the image share its scratch folder.
func debianImage(t *testing.T, s settings) string {
	t.Helper()
	script := repoPath(t, s, "examples/debian/build-rootfs")
	debianBase.once.Do(func() {
		start := time.Now()
		var out string
		out, debianBase.err = command(10*time.Minute, "", nil, script)
		debianBase.took = time.Since(start)
		t.Logf("%s(%s)", out, debianBase.took.Round(time.Millisecond))
	})
	if debianBase.err != nil {
		t.Fatal(debianBase.err)
	}
	tag := "alpine-server-example-debian:" + s.version
	buildImage(t, tag, repoPath(t, s, "examples/debian"), "SVINIT_IMAGE="+s.image)
	return tag
}

// TestDebianExample: svinit as the init of a Debian image supervising
// PostgreSQL and Redis from Debian's packages and an app needing both.
// One container goes through the steps in order: boot, kill -9 of each
// daemon, docker stop and start.
func TestDebianExample(t *testing.T) {
	t.Parallel()
	s := loadSettings(t)
	c := runContainer(t, debianImage(t, s), "--health-interval=2s")
	took := c.waitRunning(2*time.Minute, "redis", "postgres", "app")
	t.Logf("redis, postgres, app ready %s after docker run", took.Round(time.Millisecond))

	t.Run("ready in dependency order", func(t *testing.T) { debianOrder(t, c) })
	t.Run("port list kept", func(t *testing.T) {
		out, err := c.exec("getent", "services", "ssh")
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(out, "22/tcp") {
			t.Errorf("getent services ssh = %q, want Debian's port list entry", out)
		}
	})
	t.Run("healthy", func(t *testing.T) {
		waitFor(t, "docker health to be healthy", time.Minute, func() bool {
			return c.in(t).inspect("{{.State.Health.Status}}") == "healthy"
		})
	})
	t.Run("kill -9 redis", func(t *testing.T) {
		debianKill(t, c, "redis", func() error {
			_, err := redisCLI(c, "ping")
			return err
		})
	})
	t.Run("kill -9 postmaster", func(t *testing.T) {
		// A backend busy in a query only notices the postmaster's death
		// when it next waits, and holds the shared memory until then.
		busyBackend(t, c.in(t))
		debianKill(t, c, "postgres", func() error {
			_, err := psql(c, "SELECT 1")
			return err
		})
	})
	t.Run("docker stop is clean", func(t *testing.T) { debianStop(t, c) })
}

// debianOrder: pg-init finished before postgres started, and the app
// started only after postgres and redis were ready.
func debianOrder(t *testing.T, c *container) {
	c = c.in(t)
	logs := c.logs()
	at := func(re string) int {
		loc := regexp.MustCompile(`(?m)` + re).FindStringIndex(logs)
		if loc == nil {
			t.Fatalf("no line matching %q in the log:\n%s", re, logs)
		}
		return loc[0]
	}
	initDone, pgStart := at(`service pg-init done`), at(`^postgres +\| .*starting PostgreSQL`)
	pgReady, redisReady := at(`service postgres ready`), at(`service redis ready`)
	appFirst, appReady := at(`^app +\| `), at(`service app ready`)
	if initDone > pgStart {
		t.Errorf("postgres started before pg-init was done")
	}
	if appFirst < pgReady || appFirst < redisReady || appReady < pgReady || appReady < redisReady {
		t.Errorf("app ran before postgres and redis were ready (positions: app %d, postgres ready %d, redis ready %d)",
			appFirst, pgReady, redisReady)
	}
}

// debianKill kills a service's main process with SIGKILL and waits for a
// new one that is ready and answers; for postgres (the postmaster) every
// process of the old one must be gone, or the new postmaster could not
// have taken over the shared memory and lock file.
func debianKill(t *testing.T, c *container, name string, answers func() error) {
	c = c.in(t)
	pid := containerSvPid(c, name)
	if pid == "" {
		t.Fatalf("sv status %s: no pid", name)
	}
	children := procChildren(c, pid)
	if out, err := c.exec("sh", "-c", "kill -9 "+pid); err != nil {
		t.Fatalf("kill -9 %s: %v %s", pid, err, out)
	}
	took := waitFor(t, name+" to run again with a new pid and answer", time.Minute, func() bool {
		p := containerSvPid(c, name)
		st, _ := c.exec("sv", "status", name)
		return p != "" && p != pid && strings.Contains(st, "ready") && answers() == nil
	})
	newPid := containerSvPid(c, name)
	for _, child := range children {
		if ppid, ok := procParent(c, child); ok && ppid != newPid {
			t.Errorf("process %s of the killed %s (pid %s) is still there (parent now %s)", child, name, pid, ppid)
		}
	}
	waitFor(t, "app to be ready again", time.Minute, func() bool {
		st, _ := c.exec("sv", "status", "app")
		return strings.HasPrefix(st, "run: app:") && strings.Contains(st, "ready")
	})
	t.Logf("%s pid %s (children %v) killed; back as pid %s and answering after %s",
		name, pid, children, containerSvPid(c, name), took.Round(time.Millisecond))
}

// busyBackend starts a query that runs for hours and waits until its
// backend is at work.
func busyBackend(t *testing.T, c *container) {
	mustDocker(t, "exec", "-d", "-u", "app", c.name, "psql", "-h", "/run/postgresql", "-U", "postgres", "-c",
		"SELECT count(*) FROM generate_series(1, 100000000000) AS e2e_busy")
	waitFor(t, "the busy query to run", 30*time.Second, func() bool {
		n, err := psql(c, "SELECT count(*) FROM pg_stat_activity WHERE state = 'active' AND query LIKE '%AS e2e_busy'")
		return err == nil && n == "1"
	})
}

// debianStop: docker stop exits 0 with every service stopped in order; the
// next start's postgres found a cleanly shut down database and redis
// reloaded what it had.
func debianStop(t *testing.T, c *container) {
	c = c.in(t)
	val := "kept-" + token()
	if _, err := redisCLI(c, "set", "e2e:key", val); err != nil {
		t.Fatal(err)
	}
	rows := mustAtoi(t, mustPsql(t, c, "SELECT count(*) FROM visits"))
	start := time.Now()
	mustDocker(t, "stop", c.name)
	took := time.Since(start)
	if code := c.inspect("{{.State.ExitCode}}"); code != "0" {
		t.Errorf("exit code after docker stop = %s, want 0", code)
	}
	logs := c.logs()
	app, pg, redis := stopIndex(logs, "app"), stopIndex(logs, "postgres"), stopIndex(logs, "redis")
	if app < 0 || pg < 0 || redis < 0 || app > pg || app > redis {
		t.Errorf("want app stopped before postgres and redis; log positions app=%d postgres=%d redis=%d", app, pg, redis)
	}
	for _, want := range []string{`database system is shut down`, `DB saved on disk`} {
		if !strings.Contains(logs, want) {
			t.Errorf("stop log lacks %q", want)
		}
	}

	since := fmt.Sprintf("%.3f", float64(time.Now().UnixNano())/1e9)
	mustDocker(t, "start", c.name)
	waitFor(t, "redis, postgres and app ready after docker start", 2*time.Minute, func() bool {
		st, _ := c.exec("sv", "status")
		return regexp.MustCompile(`(?m)^run: app: .*ready`).MatchString(st) &&
			regexp.MustCompile(`(?m)^run: postgres: .*ready`).MatchString(st) &&
			regexp.MustCompile(`(?m)^run: redis: .*ready`).MatchString(st)
	})
	again := mustDocker(t, "logs", "--since", since, c.name)
	if !regexp.MustCompile(`database system was shut down at`).MatchString(again) {
		t.Errorf("postgres after restart: no 'database system was shut down at' line:\n%s", again)
	}
	for _, bad := range []string{"automatic recovery", "was interrupted", "not properly shut down"} {
		if strings.Contains(again, bad) {
			t.Errorf("postgres after restart says %q: the stop was not clean", bad)
		}
	}
	if got, _ := redisCLI(c, "get", "e2e:key"); got != val {
		t.Errorf("redis after restart: e2e:key = %q, want %q", got, val)
	}
	if after := mustAtoi(t, mustPsql(t, c, "SELECT count(*) FROM visits")); after < rows {
		t.Errorf("postgres after restart: %d visits, had %d", after, rows)
	}
	t.Logf("docker stop %s (exit 0); restarted with a clean postgres and redis key %q", took.Round(time.Millisecond), val)
}

func containerSvPid(c *container, name string) string {
	out, _ := c.exec("sv", "status", name)
	m := regexp.MustCompile(`^run: ` + regexp.QuoteMeta(name) + `: \(pid (\d+)\)`).FindStringSubmatch(out)
	if m == nil {
		return ""
	}
	return m[1]
}

// procChildren lists the pids whose parent is pid, from /proc (the image
// has no ps).
func procChildren(c *container, pid string) []string {
	out, _ := c.exec("sh", "-c", `for f in /proc/[0-9]*/stat; do read -r l < "$f" 2>/dev/null && echo "$l"; done`)
	var kids []string
	for _, line := range strings.Split(out, "\n") {
		if p, ppid, ok := parseStat(line); ok && ppid == pid {
			kids = append(kids, p)
		}
	}
	return kids
}

// procParent reads a process's parent pid; ok is false when it is gone.
func procParent(c *container, pid string) (string, bool) {
	out, err := c.exec("cat", "/proc/"+pid+"/stat")
	if err != nil {
		return "", false
	}
	_, ppid, ok := parseStat(out)
	return ppid, ok
}

// parseStat reads pid and ppid from a /proc/PID/stat line: "pid (comm)
// state ppid …", where comm may hold spaces, so fields count after ')'.
func parseStat(line string) (pid, ppid string, ok bool) {
	i := strings.LastIndex(line, ")")
	if i < 0 {
		return "", "", false
	}
	f := strings.Fields(line[i+1:])
	if len(f) < 2 {
		return "", "", false
	}
	return strings.Fields(line)[0], f[1], true
}

func redisCLI(c *container, args ...string) (string, error) {
	out, err := c.exec(append([]string{"redis-cli", "-h", "127.0.0.1"}, args...)...)
	out = strings.TrimSpace(out)
	if err == nil && (strings.HasPrefix(out, "ERR") || strings.HasPrefix(out, "LOADING") || strings.HasPrefix(out, "Could not connect")) {
		err = fmt.Errorf("redis-cli %v: %s", args, out)
	}
	return out, err
}

func psql(c *container, query string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := docker(ctx, "exec", "-u", "app", c.name, "psql", "-h", "/run/postgresql", "-U", "postgres", "-qtAX", "-c", query)
	return strings.TrimSpace(out), err
}

func mustPsql(t *testing.T, c *container, query string) string {
	t.Helper()
	out, err := psql(c, query)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func mustAtoi(t *testing.T, s string) int {
	t.Helper()
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatalf("want a number, got %q", s)
	}
	return n
}
