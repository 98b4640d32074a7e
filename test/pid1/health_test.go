package pid1

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// needSystemdNotify skips unless Debian's systemd-notify (the real client)
// is installed; scripts/test-deps installs it.
func needSystemdNotify(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("systemd-notify"); err != nil {
		t.Skip("needs systemd-notify (Debian's systemd package; scripts/test-deps installs it)")
	}
}

// TestNotifySystemdReachesReady: a service that says READY=1 through
// Debian's systemd-notify (which waits for its barrier, so the fd it
// passes must be closed) is ready then, not before, and its STATUS= shows
// in sv status and JSON.
func TestNotifySystemdReachesReady(t *testing.T) {
	t.Parallel()
	needSystemdNotify(t)
	b := boot(t, spec{services: map[string]map[string]string{
		"web": {"manifest.yml": manifest("ready: {notify: systemd, timeout: 60s}"), "run": `#!/bin/sh
echo "socket=$NOTIFY_SOCKET"
while [ ! -e "$T/go" ]; do sleep 0.02; done
systemd-notify --ready --status="serving 42 clients"
echo "notify exit $?"
exec sleep 1000
`},
	}})
	line := b.waitLog(`^web\s+\| socket=/`, 10*time.Second)
	socket := line[strings.Index(line, "socket=")+len("socket="):]
	if fi, err := os.Stat(socket); err != nil || fi.Mode()&os.ModeSocket == 0 {
		t.Fatalf("NOTIFY_SOCKET %s: %v", socket, err)
	}
	b.waitStatus("web", `^starting: web: `, 5*time.Second)
	if _, _, code := (svCall{}).run(t, b.ctl, "check", "web"); code != 1 {
		t.Errorf("sv check before READY=1: exit %d, want 1", code)
	}
	writeFile(t, filepath.Join(b.dir, "go"), "", false)
	b.waitStatus("web", `(?m)^run: web: \(pid \d+\) \d+s, ready; serving 42 clients$`, 10*time.Second)
	b.waitLog(`^web\s+\| notify exit 0$`, 10*time.Second)
	if st := b.statusJSON("web"); !st.Ready || st.StatusText != "serving 42 clients" {
		t.Errorf("sv --json status web: %+v", st)
	}
	if _, _, code := (svCall{}).run(t, b.ctl, "check", "web"); code != 0 {
		t.Errorf("sv check after READY=1: exit %d, want 0", code)
	}
}

// TestNotifyFromAnotherProcessIsIgnored: a process that is not the
// service's cannot make it ready, however it writes to the socket.
func TestNotifyFromAnotherProcessIsIgnored(t *testing.T) {
	t.Parallel()
	needSystemdNotify(t)
	b := boot(t, spec{services: map[string]map[string]string{
		"web": {"manifest.yml": manifest("ready: {notify: systemd}"), "run": "#!/bin/sh\necho \"socket=$NOTIFY_SOCKET\"\nexec sleep 1000\n"},
	}})
	line := b.waitLog(`^web\s+\| socket=/`, 10*time.Second)
	socket := line[strings.Index(line, "socket=")+len("socket="):]
	// This test process is outside the service (and outside the box).
	cmd := exec.Command("systemd-notify", "--ready", "--status=intruder")
	cmd.Env = append(os.Environ(), "NOTIFY_SOCKET="+socket)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("systemd-notify from outside: %v: %s (its barrier fd must be closed even when ignored)", err, out)
	}
	b.waitLog(`debug: notify .*: ignored a message from pid \d+ .*not a process of the service`, 10*time.Second)
	if st := b.statusJSON("web"); st.Ready || st.StatusText != "" || st.State != "starting" {
		t.Errorf("a foreign message changed the service: %+v", st)
	}
	out, _, _ := svCall{}.run(t, b.ctl, "metrics")
	if n, ok := sample(parseMetrics(t, out), "svinit_notify_messages_ignored_total", map[string]string{"service": "web"}); !ok || n < 1 {
		t.Errorf("svinit_notify_messages_ignored_total{service=web} = %v (found %v), want the foreign messages counted", n, ok)
	}
}

// TestNotifyWatchdogMissedRestarts: WATCHDOG=1 pings keep the service up
// past many watchdog periods; once they stop, it is restarted.
func TestNotifyWatchdogMissedRestarts(t *testing.T) {
	t.Parallel()
	needSystemdNotify(t)
	b := boot(t, spec{services: map[string]map[string]string{
		"web": {"manifest.yml": manifest("ready: {notify: systemd}", "watchdog: 5s"), "run": `#!/bin/sh
echo "start WATCHDOG_USEC=$WATCHDOG_USEC"
systemd-notify --ready
n=0
while [ ! -e "$T/hang" ]; do systemd-notify WATCHDOG=1; n=$((n+1)); echo "ping $n"; sleep 0.1; done
echo hanging
exec sleep 1000
`},
	}})
	b.waitLog(`^web\s+\| start WATCHDOG_USEC=5000000$`, 10*time.Second)
	first := pidIn(t, b.waitStatus("web", `^run: web: \(pid \d+\) \d+s, ready`, 10*time.Second))
	// Pings for two whole watchdog periods, then one more ping: without
	// them the watchdog would have fired twice. Timed, not counted, and
	// with a 5s period rather than 1s: on a busy machine (make unit beside
	// stress-ng --cpu 2) one turn of this loop (two forks, systemd-notify
	// and its barrier) took 0.45s on average and, now and then, over 3s,
	// and the watchdog rightly fired.
	b.waitLog(`^web\s+\| ping 1$`, 10*time.Second)
	pinging := time.Now()
	waitFor(t, 30*time.Second, "two watchdog periods of pings", func() bool { return time.Since(pinging) > 10*time.Second })
	b.waitLog(fmt.Sprintf(`^web\s+\| ping %d$`, len(b.out.all(`^web\s+\| ping \d+$`))+1), 10*time.Second)
	if st := b.statusJSON("web"); st.Restarts != 0 || st.Pid != first || !st.Ready {
		t.Fatalf("restarted while pinging: %+v", st)
	}
	writeFile(t, filepath.Join(b.dir, "hang"), "", false)
	b.waitLog(`warn: service web: watchdog: no WATCHDOG=1 within 5s; restarting it`, 15*time.Second)
	waitFor(t, 10*time.Second, "the restart", func() bool {
		st := b.statusJSON("web")
		return st.Restarts == 1 && st.Pid != first && st.Pid != 0
	})
}

// TestReadyFD: s6's notification fd: ready at the newline on fd 3, and a
// service that closes the fd without one fails its start at once.
func TestReadyFD(t *testing.T) {
	t.Parallel()
	b := boot(t, spec{services: map[string]map[string]string{
		"web": {"manifest.yml": manifest("ready: {fd: 3}"), "run": `#!/bin/sh
while [ ! -e "$T/go" ]; do sleep 0.02; done
echo >&3
exec 3>&-
exec sleep 1000
`},
		"quitter": {"manifest.yml": manifest("ready: {fd: 5}", "restart: never"), "run": "#!/bin/sh\nexec 5>&-\nexec sleep 1000\n"},
		"plain":   {"manifest.yml": manifest(), "run": "#!/bin/sh\nif [ -e /proc/self/fd/3 ]; then echo \"fd 3 leaked: $(readlink /proc/self/fd/3)\"; fi\necho plain done\nexec sleep 1000\n"},
	}})
	b.waitStatus("web", `^starting: web: `, 10*time.Second)
	writeFile(t, filepath.Join(b.dir, "go"), "", false)
	b.waitStatus("web", `(?m)^run: web: \(pid \d+\) \d+s, ready$`, 10*time.Second)
	b.waitLog(`warn: service quitter: .*closed its notification fd without writing a newline`, 10*time.Second)
	b.waitStatus("quitter", `^down: quitter: `, 10*time.Second)
	b.waitLog(`^plain\s+\| plain done$`, 10*time.Second)
	if l := b.out.find(regexp.MustCompile(`fd 3 leaked`)); l != "" {
		t.Errorf("a service without fd readiness got an fd 3: %s", l)
	}
}

// TestLivenessFailureRestartsAfterRetries: health: runs once the service
// is ready; a failure makes it unhealthy (sv check fails), `retries`
// failures in a row restart it with one line naming the probe's error,
// and the new run is healthy again.
func TestLivenessFailureRestartsAfterRetries(t *testing.T) {
	t.Parallel()
	b := boot(t, spec{services: map[string]map[string]string{
		"web": {"manifest.yml": manifest("health: {file: '${T}/alive', interval: 200ms, timeout: 1s, retries: 10}"), "run": "#!/bin/sh\nexec sleep 1000\n"},
	}, startup: map[string]string{"10-alive": "#!/bin/sh\ntouch \"$T/alive\"\n"}})
	first := pidIn(t, b.waitStatus("web", `(?m)^run: web: \(pid \d+\) \d+s, ready, healthy$`, 10*time.Second))
	if _, _, code := (svCall{}).run(t, b.ctl, "check"); code != 0 {
		t.Errorf("sv check while healthy: exit %d", code)
	}
	if err := os.Remove(filepath.Join(b.dir, "alive")); err != nil {
		t.Fatal(err)
	}
	// Ten failures 200 ms apart leave two seconds in which it is unhealthy
	// but still running: sv check fails then.
	waitFor(t, 10*time.Second, "unhealthy before the restart", func() bool {
		st := b.statusJSON("web")
		_, _, code := (svCall{}).run(t, b.ctl, "check")
		return st.Health == "unhealthy" && st.Pid == first && code == 1
	})
	b.waitLog(`warn: service web: health: file .*/alive failed 10 times in a row: stat .*/alive: no such file or directory; restarting it$`, 10*time.Second)
	writeFile(t, filepath.Join(b.dir, "alive"), "", false)
	line := b.waitStatus("web", `(?m)^run: web: \(pid \d+\) \d+s, ready, healthy$`, 10*time.Second)
	if pid := pidIn(t, line); pid == first {
		t.Errorf("still pid %d: not restarted", pid)
	}
	if st := b.statusJSON("web"); st.Restarts != 1 {
		t.Errorf("restarts %d, want 1 (through the restart policy)", st.Restarts)
	}
	if n := strings.Count(b.out.String(), "failed 10 times in a row"); n != 1 {
		t.Errorf("%d lines about the failure, want one", n)
	}
}

// TestMetrics: sv metrics and GET /metrics on SVINIT_METRICS_ADDR serve
// the same exposition, which Prometheus's parser reads.
func TestMetrics(t *testing.T) {
	t.Parallel()
	addr := freeAddr(t)
	b := boot(t, spec{env: []string{"SVINIT_METRICS_ADDR=" + addr}, services: map[string]map[string]string{
		"web":  {"manifest.yml": manifest(), "run": "#!/bin/sh\nexec sleep 1000\n"},
		"idle": {"manifest.yml": "enabled: true\ncommand: [sleep, '1000']\n"},
	}})
	b.waitStatus("web", `^run: web: .*ready`, 10*time.Second)
	out, errOut, code := svCall{}.run(t, b.ctl, "metrics")
	if code != 0 {
		t.Fatalf("sv metrics: exit %d: %q", code, errOut)
	}
	fams := parseMetrics(t, out)
	for _, c := range []struct {
		fam    string
		labels map[string]string
		want   float64
	}{
		{"svinit_service_up", map[string]string{"service": "web"}, 1},
		{"svinit_service_ready", map[string]string{"service": "web"}, 1},
		{"svinit_service_up", map[string]string{"service": "idle"}, 0},
		{"svinit_service_state", map[string]string{"service": "idle", "state": "down"}, 1},
		{"svinit_service_state", map[string]string{"service": "web", "state": "run"}, 1},
		{"svinit_service_restarts_total", map[string]string{"service": "web"}, 0},
	} {
		if got, ok := sample(fams, c.fam, c.labels); !ok || got != c.want {
			t.Errorf("%s%v = %v (found %v), want %v", c.fam, c.labels, got, ok, c.want)
		}
	}
	if _, ok := fams["svinit_build_info"]; !ok {
		t.Error("no svinit_build_info")
	}

	// An idle client holds a connection open: neither sv nor a scrape waits.
	idle, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer idle.Close()
	body := httpGet(t, addr, "/metrics")
	if v, ok := sample(parseMetrics(t, body), "svinit_service_up", map[string]string{"service": "web"}); !ok || v != 1 {
		t.Errorf("GET /metrics: svinit_service_up{service=web} = %v %v", v, ok)
	}
	if _, _, code := (svCall{}).run(t, b.ctl, "status"); code != 0 {
		t.Errorf("sv status next to an idle metrics client: exit %d", code)
	}
	if resp := httpGet(t, addr, "/other"); !strings.Contains(resp, "not found") {
		t.Errorf("GET /other: %q", resp)
	}
}

// TestMetricsAddrErrors: a bad SVINIT_METRICS_ADDR or a port in use stops
// the boot with exit 2 and a line naming the variable.
func TestMetricsAddrErrors(t *testing.T) {
	t.Parallel()
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	for _, tc := range []struct{ addr, want string }{
		{"9100", `SVINIT_METRICS_ADDR="9100": want \[HOST\]:PORT`},
		{":http", `SVINIT_METRICS_ADDR=":http": port "http"`},
		{busy.Addr().String(), `SVINIT_METRICS_ADDR="` + regexp.QuoteMeta(busy.Addr().String()) + `": .*address already in use`},
	} {
		b := boot(t, spec{env: []string{"SVINIT_METRICS_ADDR=" + tc.addr}})
		if code := b.wait(20 * time.Second); code != 2 {
			t.Errorf("%s: exit %d, want 2\n%s", tc.addr, code, b.out)
		}
		if !regexp.MustCompile(tc.want).MatchString(b.out.String()) {
			t.Errorf("%s: output %q does not match %s", tc.addr, b.out, tc.want)
		}
	}
}

// TestCronStatusListsJobs: sv status cron prints a line per job with its
// id, last run and next run; --json has the same fields.
func TestCronStatusListsJobs(t *testing.T) {
	t.Parallel()
	crontabs := t.TempDir()
	writeFile(t, filepath.Join(crontabs, "root"), "@reboot echo booted\n0 0 1 1 * echo new year\n", false)
	b := boot(t, spec{
		env: []string{"CRONTABS=" + crontabs},
		services: map[string]map[string]string{
			"cron": {"manifest.yml": manifest("command: [builtin, cron]", "environment:", "  CRONTABS_DIR: ${CRONTABS}")},
		},
	})
	b.waitLog(`^cron/root\s+\| booted$`, 10*time.Second)
	out := b.waitStatus("cron", `(?m)^  job [0-9a-f]{8} root @reboot echo booted: last run \d+\S* ago, exit 0 in \S+, 1 runs, 0 failed$`, 10*time.Second)
	if !regexp.MustCompile(`(?m)^run: cron: \(builtin\) \d+s, ready\n`).MatchString(out) ||
		!regexp.MustCompile(`(?m)^  job [0-9a-f]{8} root 0 0 1 1 \* echo new year: never run, next in \S+$`).MatchString(out) {
		t.Errorf("sv status cron:\n%s", out)
	}
	st := b.statusJSON("cron")
	var detail struct {
		Jobs []struct {
			ID       string   `json:"id"`
			Runs     int      `json:"runs"`
			Failures int      `json:"failures"`
			LastExit *int     `json:"last_exit"`
			Duration *float64 `json:"last_duration"`
		} `json:"jobs"`
	}
	if err := json.Unmarshal(st.Detail, &detail); err != nil || len(detail.Jobs) != 2 {
		t.Fatalf("detail %s: %v", st.Detail, err)
	}
	j := detail.Jobs[0]
	if j.Runs != 1 || j.Failures != 0 || j.LastExit == nil || *j.LastExit != 0 || j.Duration == nil || len(j.ID) != 8 {
		t.Errorf("the @reboot job in --json: %+v", j)
	}
}

// freeAddr is 127.0.0.1:PORT with a port nobody listens on right now.
func freeAddr(t *testing.T) string {
	t.Helper()
	return "127.0.0.1:" + strconv.Itoa(freePort(t))
}

// httpGet waits until addr answers and returns the body of GET path (or
// the whole response when it is not a 200).
func httpGet(t *testing.T, addr, path string) string {
	t.Helper()
	var resp string
	waitFor(t, 10*time.Second, "GET "+path+" on "+addr, func() bool {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err != nil {
			return false
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(5 * time.Second))
		fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: %s\r\n\r\n", path, addr)
		b, err := io.ReadAll(c)
		resp = string(b)
		return err == nil && resp != ""
	})
	if head, body, ok := strings.Cut(resp, "\r\n\r\n"); ok && strings.HasPrefix(head, "HTTP/1.1 200 ") {
		return body
	}
	return resp
}

func parseMetrics(t *testing.T, text string) map[string]*dto.MetricFamily {
	t.Helper()
	p := expfmt.NewTextParser(model.LegacyValidation)
	fams, err := p.TextToMetricFamilies(bytes.NewReader([]byte(text)))
	if err != nil {
		t.Fatalf("prometheus cannot parse the exposition: %v\n%s", err, text)
	}
	return fams
}

// sample is the value of the series of fam with exactly labels.
func sample(fams map[string]*dto.MetricFamily, fam string, labels map[string]string) (float64, bool) {
	f := fams[fam]
	if f == nil {
		return 0, false
	}
next:
	for _, m := range f.Metric {
		if len(m.Label) != len(labels) {
			continue
		}
		for _, l := range m.Label {
			if labels[l.GetName()] != l.GetValue() {
				continue next
			}
		}
		if m.Counter != nil {
			return m.Counter.GetValue(), true
		}
		return m.Gauge.GetValue(), true
	}
	return 0, false
}

// TestReloadWithNotifyAndHealth: a changed notify service gets its socket
// again and is ready again by READY=1; a bad health: or notify value in a
// reload keeps the running set and names the file and line.
func TestReloadWithNotifyAndHealth(t *testing.T) {
	t.Parallel()
	needSystemdNotify(t)
	run := "#!/bin/sh\necho \"version $V\"\nsystemd-notify --ready --status=\"v$V\"\nexec sleep 1000\n"
	b := boot(t, spec{services: map[string]map[string]string{
		"web": {"manifest.yml": manifest("ready: {notify: systemd}", "environment: {V: '1'}"), "run": run},
	}})
	first := pidIn(t, b.waitStatus("web", `(?m)^run: web: \(pid \d+\) \d+s, ready; v1$`, 10*time.Second))
	file := filepath.Join(b.dir, "services", "web", "manifest.yml")
	writeFile(t, file, manifest("ready: {notify: systemd}", "environment: {V: '2'}"), false)
	if _, errOut, code := (svCall{}).run(t, b.ctl, "reload"); code != 0 {
		t.Fatalf("sv reload: exit %d %q", code, errOut)
	}
	line := b.waitStatus("web", `(?m)^run: web: \(pid \d+\) \d+s, ready; v2$`, 10*time.Second)
	if pidIn(t, line) == first {
		t.Errorf("the changed service was not restarted")
	}
	for _, bad := range []struct{ manifest, want string }{
		{manifest("ready: {notify: sysv}"), `web/manifest.yml:3: ready.notify: want systemd`},
		{manifest("ready: {notify: systemd}", "health: {tcp: ':80', retries: 0}"), `web/manifest.yml:4: health.retries: want a whole number of 1 or more, got "0"`},
		{manifest("ready: {fd: 2}"), `web/manifest.yml:3: ready.fd: want a descriptor from 3 to 1023`},
		{manifest("watchdog: 5s"), `web/manifest.yml:3: watchdog: needs ready: {notify: systemd}`},
	} {
		writeFile(t, file, bad.manifest, false)
		if _, errOut, code := (svCall{}).run(t, b.ctl, "reload"); code != 1 || !strings.Contains(errOut, bad.want) {
			t.Errorf("reload with %q: exit %d %q; want 1 and %q", bad.manifest, code, errOut, bad.want)
		}
	}
	if st := b.statusJSON("web"); st.StatusText != "v2" || !st.Ready {
		t.Errorf("a failed reload changed the service: %+v", st)
	}
}

// TestNotifyAtOnceAfterStart: a service that announces READY=1 the moment
// it starts is ready. Its message may arrive before svinit has recorded
// the new pid; that message was once taken for a stranger's and ignored,
// leaving the service starting forever. Many services at once make the
// window likely.
func TestNotifyAtOnceAfterStart(t *testing.T) {
	t.Parallel()
	needSystemdNotify(t)
	services := map[string]map[string]string{}
	for i := range 16 {
		services[fmt.Sprintf("n%02d", i)] = map[string]string{
			"manifest.yml": manifest("ready: {notify: systemd, timeout: 60s}"),
			"run":          "#!/bin/sh\nsystemd-notify --ready\nexec sleep 1000\n",
		}
	}
	b := boot(t, spec{services: services})
	for name := range services {
		b.waitStatus(name, `^run: `+name+`: \(pid \d+\) \d+s, ready`, 30*time.Second)
	}
	if i := b.out.index(`not a process of the service`); i >= 0 {
		t.Errorf("a service's own message was ignored")
	}
}

// TestNotifyMainPIDIsFollowed: a run script forks its daemon (in a session
// of its own), names it with MAINPID= (systemd-notify --pid) and exits 0:
// the service stays up with the daemon's pid, the daemon's own messages
// count; its end is the service's, restarted, and sv stop reaches it.
func TestNotifyMainPIDIsFollowed(t *testing.T) {
	t.Parallel()
	needSystemdNotify(t)
	b := boot(t, spec{services: map[string]map[string]string{
		"web": {"manifest.yml": manifest("ready: {notify: systemd, timeout: 60s}"), "run": `#!/bin/sh
setsid sh -c 'while [ ! -e "$T/alone.$$" ]; do sleep 0.05; done
systemd-notify --status="alone $$"
while [ ! -e "$T/die.$$" ]; do sleep 0.05; done; kill -KILL $$' &
child=$!
echo "child=$child"
systemd-notify --ready --pid=$child
echo "notify exit $?"
exit 0
`},
	}})
	line := b.waitLog(`^web\s+\| child=\d+$`, 10*time.Second)
	child, err := strconv.Atoi(line[strings.Index(line, "child=")+len("child="):])
	if err != nil {
		t.Fatal(err)
	}
	b.waitLog(`^web\s+\| notify exit 0$`, 10*time.Second)
	b.waitLog(`debug: service web: pid \d+ exited 0; its main process is pid `+strconv.Itoa(child)+` \(MAINPID=\)`, 10*time.Second)
	if st := b.statusJSON("web"); st.State != "run" || st.Pid != child || !st.Ready || st.Restarts != 0 {
		t.Fatalf("after the run script exited: %+v, want run with pid %d", st, child)
	}
	writeFile(t, filepath.Join(b.dir, "alone."+strconv.Itoa(child)), "", false)
	b.waitStatus("web", `(?m)^run: web: \(pid `+strconv.Itoa(child)+`\) \d+s, ready; alone `+strconv.Itoa(child)+`$`, 10*time.Second)
	writeFile(t, filepath.Join(b.dir, "die."+strconv.Itoa(child)), "", false)
	b.waitLog(`warn: service web exited \(code unknown\), restarting in`, 10*time.Second)
	waitFor(t, 20*time.Second, "the restart", func() bool {
		st := b.statusJSON("web")
		return st.Restarts == 1 && st.State == "run" && st.Pid != child && st.Pid != 0
	})
	// Once the run script is gone, sv stop still reaches the daemon,
	// outside the process group.
	waitFor(t, 10*time.Second, "the second run script's exit", func() bool {
		return strings.Count(b.out.String(), "its main process is pid") == 2
	})
	if out, code := b.sv("stop", "web"); code != 0 {
		t.Fatalf("sv stop web: exit %d: %s", code, out)
	}
	b.waitStatus("web", `^down: web: `, 20*time.Second)
	b.waitLog(`service web stopped \(exited \(code unknown\)\)`, 10*time.Second)
}
