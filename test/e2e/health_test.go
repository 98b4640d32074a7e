package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"go.yaml.in/yaml/v3"

	"alpine-server/test/promtest"
)

// svService is the part of `sv --json status`'s entries these tests read.
type svService struct {
	Name       string `json:"name"`
	State      string `json:"state"`
	Pid        int    `json:"pid"`
	Ready      bool   `json:"ready"`
	StatusText string `json:"status_text"`
	Detail     struct {
		Jobs []struct {
			User     string `json:"user"`
			Schedule string `json:"schedule"`
			ID       string `json:"id"`
		} `json:"jobs"`
	} `json:"detail"`
}

// svJSON is `sv --json status NAME` in the container.
func svJSON(t *testing.T, c *container, name string) svService {
	t.Helper()
	out := c.mustExec("sv", "--json", "status", name)
	var list []svService
	if err := json.Unmarshal([]byte(out), &list); err != nil || len(list) != 1 {
		t.Fatalf("sv --json status %s: want one service, got %q (%v)", name, out, err)
	}
	return list[0]
}

// TestDebianNotify (issue 9): in examples/debian, Debian's PostgreSQL and
// Redis run with `ready: {notify: systemd}` and no probe, and each is
// ready by its own announcement on the NOTIFY_SOCKET svinit gave it:
// postgres sends a bare READY=1 (then passes its health: probe), redis
// (--supervised systemd) also a STATUS= that sv status shows; a notify
// service that stays silent stays not ready.
func TestDebianNotify(t *testing.T) {
	t.Parallel()
	s := loadSettings(t)
	tag := "alpine-server-e2e-debian-notify:" + s.version
	buildImage(t, tag, repoPath(t, s, "test/e2e/testdata/debian-notify"), "BASE="+debianImage(t, s))
	c := runContainer(t, tag)
	for _, name := range []string{"postgres", "redis"} {
		notifyOnly(t, c, name)
	}
	took := c.waitRunning(2*time.Minute, "postgres", "redis")
	t.Logf("postgres and redis ready %s after docker run", took.Round(time.Millisecond))

	pg := svJSON(t, c, "postgres")
	m := regexp.MustCompile(`service postgres ready \(pid (\d+), ([^)]+)\)`).FindStringSubmatch(c.logs())
	if m == nil || m[1] != fmt.Sprint(pg.Pid) {
		t.Errorf("want the line 'service postgres ready (pid %d, …)' (the postmaster's own READY=1); got %q", pg.Pid, m)
	}
	socket := notifySocket(t, c, "postgres", pg.Pid)
	if _, err := c.exec("test", "-S", socket); err != nil {
		t.Errorf("postgres's NOTIFY_SOCKET=%s is not a socket in the container: %v", socket, err)
	}
	if out, err := psql(c, "SELECT 1"); err != nil || out != "1" {
		t.Errorf("postgres is ready but psql SELECT 1 = %q, %v", out, err)
	}
	healthy := waitFor(t, "postgres to pass its health: probe", time.Minute, func() bool {
		out, _ := c.exec("sv", "status", "postgres")
		return strings.Contains(out, ", ready, healthy")
	})

	redis := svJSON(t, c, "redis")
	if redis.StatusText != "Ready to accept connections" {
		t.Errorf("redis's STATUS= in sv --json status = %q, want redis's own %q", redis.StatusText, "Ready to accept connections")
	}
	if line := c.mustExec("sv", "status", "redis"); !strings.Contains(line, ", ready; Ready to accept connections") {
		t.Errorf("sv status redis = %q, want its STATUS= after '; '", line)
	}
	if out, err := redisCLI(c, "ping"); err != nil || out != "PONG" {
		t.Errorf("redis is ready but redis-cli ping = %q, %v", out, err)
	}

	if silent := svJSON(t, c, "silent"); silent.Ready || silent.State != "starting" {
		t.Errorf("silent (notify, never sends READY=1): state %s, ready %v; want starting, not ready", silent.State, silent.Ready)
	}
	pgReady := "?"
	if m != nil {
		pgReady = m[2]
	}
	t.Logf("postgres (pid %d) ready %s after its start by its READY=1 on %s, healthy %s later; sv status redis: %s",
		pg.Pid, pgReady, socket, healthy.Round(time.Millisecond), strings.TrimSpace(c.mustExec("sv", "status", "redis")))
}

// notifyOnly checks that the service's manifest in the image asks for
// notify readiness and names no probe, so only the daemon can make it ready.
func notifyOnly(t *testing.T, c *container, name string) {
	t.Helper()
	path := "/etc/svinit/services/" + name + "/manifest.yml"
	var mf struct {
		Ready map[string]any `yaml:"ready"`
	}
	if err := yaml.Unmarshal([]byte(c.mustExec("cat", path)), &mf); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if mf.Ready["notify"] != "systemd" {
		t.Fatalf("%s: ready is %v, want notify: systemd", path, mf.Ready)
	}
	for _, probe := range []string{"tcp", "http", "exec", "file", "fd"} {
		if _, ok := mf.Ready[probe]; ok {
			t.Fatalf("%s: ready has %s: besides notify", path, probe)
		}
	}
}

// notifySocket reads NOTIFY_SOCKET from the environment of a process of
// user (root without CAP_SYS_PTRACE may not read another user's).
func notifySocket(t *testing.T, c *container, user string, pid int) string {
	t.Helper()
	env := mustDocker(t, "exec", "-u", user, c.name, "cat", fmt.Sprintf("/proc/%d/environ", pid))
	for _, kv := range strings.Split(env, "\x00") {
		if v, ok := strings.CutPrefix(kv, "NOTIFY_SOCKET="); ok {
			return v
		}
	}
	t.Fatalf("pid %d has no NOTIFY_SOCKET in its environment", pid)
	return ""
}

// metricsCrontab: a job that ran at boot and failed with 3, and one that
// does not run during a test (its next run is a known instant).
const metricsCrontab = "@reboot exit 3\n0 0 1 1 * true\n"

// spec13 are the series SPEC §13 requires: name, type and label names.
var spec13 = []struct {
	name, typ string
	labels    []string
}{
	{"svinit_service_up", "GAUGE", []string{"service"}},
	{"svinit_service_ready", "GAUGE", []string{"service"}},
	{"svinit_service_healthy", "GAUGE", []string{"service"}},
	{"svinit_service_state", "GAUGE", []string{"service", "state"}},
	{"svinit_service_restarts_total", "COUNTER", []string{"service"}},
	{"svinit_service_start_time_seconds", "GAUGE", []string{"service"}},
	{"svinit_service_last_exit_code", "GAUGE", []string{"service"}},
	{"svinit_cron_job_runs_total", "COUNTER", []string{"job", "user"}},
	{"svinit_cron_job_failures_total", "COUNTER", []string{"job", "user"}},
	{"svinit_cron_job_last_exit_code", "GAUGE", []string{"job", "user"}},
	{"svinit_cron_job_last_duration_seconds", "GAUGE", []string{"job", "user"}},
	{"svinit_cron_job_next_run_timestamp_seconds", "GAUGE", []string{"job", "user"}},
	{"svinit_syslog_messages_total", "COUNTER", nil},
	{"svinit_log_lines_dropped_total", "COUNTER", nil},
	{"svinit_orphans_reaped_total", "COUNTER", nil},
	{"svinit_build_info", "GAUGE", []string{"commit", "goversion", "version"}},
}

// TestMetrics (issue 9): the image with SVINIT_METRICS_ADDR=:9100,
// published on 127.0.0.1 only. GET /metrics parses with Prometheus's own
// text parser and has every series of SPEC §13 with its labels and the
// values of what happened (a kill -9, a syslog message, an orphan, cron
// jobs); a real Prometheus server scraping it every second answers
// svinit_service_up for the container's services.
func TestMetrics(t *testing.T) {
	t.Parallel()
	s := loadSettings(t)
	tag := derive(t, s, "COPY root /etc/crontabs/root", map[string]string{"root": metricsCrontab})
	c := runContainer(t, tag, "-e", "SVINIT_METRICS_ADDR=:9100", "-e", "TZ=UTC", "-p", "127.0.0.1::9100")
	c.waitRunning(30*time.Second, "ssh", "syslog", "cron")
	addr := c.publishedPort("9100")
	getMetrics(t, addr) // the endpoint answers at all, or neither part can pass
	t.Run("exposition", func(t *testing.T) { metricsExposition(t, c.in(t), s, addr) })
	t.Run("prometheus", func(t *testing.T) { metricsPrometheus(t, s, addr) })
}

// metricsExposition makes the conditional series exist (a service that
// exited, a cron job that ran), then checks one scrape against SPEC §13.
func metricsExposition(t *testing.T, c *container, s settings, addr string) {
	started := parseTime(t, c.inspect("{{.State.StartedAt}}"))
	jobs := map[string]string{} // schedule → id, as sv status cron shows them
	for _, j := range svJSON(t, c, "cron").Detail.Jobs {
		jobs[j.Schedule] = j.ID
	}
	boot, yearly := jobs["@reboot"], jobs["0 0 1 1 *"]
	if boot == "" || yearly == "" || len(jobs) != 2 {
		t.Fatalf("sv --json status cron: want the two jobs of the crontab with ids, got %v", jobs)
	}
	pid := containerSvPid(c, "ssh")
	killed := time.Now()
	c.mustExec("sh", "-c", "kill -9 "+pid)
	waitFor(t, "ssh to run again with a new pid", 30*time.Second, func() bool {
		p := containerSvPid(c, "ssh")
		return p != "" && p != pid
	})
	c.mustExec("logger", "-t", "e2e", "metrics-"+token())
	c.mustExec("sh", "-c", "(sleep 1 &)") // its parent exits: svinit reaps it

	var m exposition
	var lacking []string
	start := time.Now()
	for {
		m = getMetrics(t, addr)
		lacking = lacking[:0]
		for what, ok := range map[string]bool{
			"svinit_service_restarts_total{service=ssh} >= 1":            m.at("svinit_service_restarts_total", "service", "ssh") >= 1,
			"svinit_service_ready{service=ssh} 1":                        m.at("svinit_service_ready", "service", "ssh") == 1,
			"svinit_syslog_messages_total >= 1":                          m.at("svinit_syslog_messages_total") >= 1,
			"svinit_orphans_reaped_total >= 1":                           m.at("svinit_orphans_reaped_total") >= 1,
			"svinit_cron_job_last_exit_code{job=" + boot + ",user=root}": !math.IsNaN(m.at("svinit_cron_job_last_exit_code", "job", boot, "user", "root")),
		} {
			if !ok {
				lacking = append(lacking, what)
			}
		}
		if len(lacking) == 0 || time.Since(start) > 30*time.Second {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	took := time.Since(start)
	if !strings.HasPrefix(m.contentType, "text/plain; version=0.0.4") {
		t.Errorf("Content-Type %q, want the text format 0.0.4", m.contentType)
	}
	m.checkSpec(t)
	if len(lacking) > 0 {
		sort.Strings(lacking)
		t.Fatalf("after the kill -9 of ssh, a syslog message, an orphan and the @reboot job, GET /metrics still lacks, %s later: %s\n%s",
			took.Round(time.Millisecond), strings.Join(lacking, "; "), m.body)
	}

	var names []string
	for _, x := range m.fams["svinit_service_up"].GetMetric() {
		names = append(names, x.GetLabel()[0].GetValue())
	}
	if got := strings.Join(names, ","); got != "cron,ssh,syslog" {
		t.Errorf("svinit_service_up has services %s, want cron,ssh,syslog", got)
	}
	now := time.Now()
	for _, name := range []string{"cron", "ssh", "syslog"} {
		for _, f := range []string{"svinit_service_up", "svinit_service_ready", "svinit_service_healthy"} {
			m.want(t, f, 1, "service", name)
		}
		m.want(t, "svinit_service_state", 1, "service", name, "state", "run")
		if sum := m.sum("svinit_service_state", "service", name); sum != 1 {
			t.Errorf("svinit_service_state{service=%q} sums to %g over its states, want 1", name, sum)
		}
		from := started
		if name == "ssh" {
			from = killed
		}
		at, _ := m.value("svinit_service_start_time_seconds", "service", name)
		if ts := time.UnixMilli(int64(at * 1e3)); ts.Before(from.Add(-2*time.Second)) || ts.After(now.Add(2*time.Second)) {
			t.Errorf("svinit_service_start_time_seconds{service=%q} = %s, want between %s and %s", name, ts, from, now)
		}
	}
	m.want(t, "svinit_service_last_exit_code", 128+9, "service", "ssh")

	m.want(t, "svinit_cron_job_runs_total", 1, "job", boot, "user", "root")
	m.want(t, "svinit_cron_job_failures_total", 1, "job", boot, "user", "root")
	m.want(t, "svinit_cron_job_last_exit_code", 3, "job", boot, "user", "root")
	if d, _ := m.value("svinit_cron_job_last_duration_seconds", "job", boot, "user", "root"); d < 0 || d > 10 {
		t.Errorf("svinit_cron_job_last_duration_seconds of the @reboot job = %g, want a few ms", d)
	}
	if _, ok := m.value("svinit_cron_job_next_run_timestamp_seconds", "job", boot, "user", "root"); ok {
		t.Errorf("the @reboot job has a next run timestamp")
	}
	m.want(t, "svinit_cron_job_runs_total", 0, "job", yearly, "user", "root")
	next := time.Date(now.UTC().Year()+1, 1, 1, 0, 0, 0, 0, time.UTC)
	m.want(t, "svinit_cron_job_next_run_timestamp_seconds", float64(next.Unix()), "job", yearly, "user", "root")

	if _, ok := m.value("svinit_log_lines_dropped_total"); !ok {
		t.Errorf("no svinit_log_lines_dropped_total sample")
	}
	build := m.fams["svinit_build_info"].GetMetric()
	if len(build) != 1 {
		t.Fatalf("svinit_build_info: %d series, want 1", len(build))
	}
	labels := map[string]string{}
	for _, l := range build[0].GetLabel() {
		labels[l.GetName()] = l.GetValue()
	}
	if labels["version"] != s.version || labels["commit"] == "" || !strings.HasPrefix(labels["goversion"], "go1.") || build[0].GetGauge().GetValue() != 1 {
		t.Errorf("svinit_build_info %v = %g, want version %q, a commit, a Go version, 1", labels, build[0].GetGauge().GetValue(), s.version)
	}

	for _, bad := range []struct {
		method, path string
		code         int
	}{{http.MethodGet, "/other", http.StatusNotFound}, {http.MethodPost, "/metrics", http.StatusMethodNotAllowed}} {
		if code, _, _, err := httpDo(bad.method, "http://"+addr+bad.path); err != nil || code != bad.code {
			t.Errorf("%s %s: %d %v, want %d", bad.method, bad.path, code, err, bad.code)
		}
	}
	t.Logf("GET /metrics on %s: %d families, %d bytes; the restart, syslog message, orphan and @reboot job in it %s after ssh ran again",
		addr, len(m.fams), len(m.body), took.Round(time.Millisecond))
}

// httpDo makes one bounded request; it returns the status, the content
// type and the body.
func httpDo(method, url string) (int, string, string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, url, nil)
	if err != nil {
		return 0, "", "", err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, "", "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Content-Type"), string(b), err
}

// exposition is one GET /metrics, parsed by Prometheus's text parser.
type exposition struct {
	contentType, body string
	fams              map[string]*dto.MetricFamily
}

// getMetrics scrapes addr; it fails the test when the answer is not a
// 200 that Prometheus can parse, and waits up to 10s for a first answer.
func getMetrics(t *testing.T, addr string) exposition {
	t.Helper()
	var code int
	var ct, body string
	var err error
	for start := time.Now(); ; time.Sleep(200 * time.Millisecond) {
		if code, ct, body, err = httpDo(http.MethodGet, "http://"+addr+"/metrics"); err == nil || time.Since(start) > 10*time.Second {
			break
		}
	}
	if err != nil || code != http.StatusOK {
		t.Fatalf("GET http://%s/metrics (SVINIT_METRICS_ADDR=:9100): %d %v\n%s", addr, code, err, body)
	}
	parser := expfmt.NewTextParser(model.LegacyValidation)
	fams, err := parser.TextToMetricFamilies(strings.NewReader(body))
	if err != nil {
		t.Fatalf("GET /metrics: Prometheus's text parser: %v\n%s", err, body)
	}
	return exposition{contentType: ct, body: body, fams: fams}
}

// value is the sample of family name whose labels are exactly these
// (name, value, ...); ok is false when there is none.
func (m exposition) value(name string, labels ...string) (v float64, ok bool) {
	for _, x := range m.fams[name].GetMetric() {
		if has(x, labels) && len(x.GetLabel()) == len(labels)/2 {
			return sampleValue(x), true
		}
	}
	return 0, false
}

// at is value, NaN (never equal, never greater) when there is none.
func (m exposition) at(name string, labels ...string) float64 {
	if v, ok := m.value(name, labels...); ok {
		return v
	}
	return math.NaN()
}

// want reports a sample that is missing or not v.
func (m exposition) want(t *testing.T, name string, v float64, labels ...string) {
	t.Helper()
	if got, ok := m.value(name, labels...); !ok || got != v {
		t.Errorf("%s%v = %g (present: %v), want %g", name, labels, got, ok, v)
	}
}

// sum adds the samples of name that carry these labels (and maybe others).
func (m exposition) sum(name string, labels ...string) float64 {
	var n float64
	for _, x := range m.fams[name].GetMetric() {
		if has(x, labels) {
			n += sampleValue(x)
		}
	}
	return n
}

// checkSpec: every series of SPEC §13 is there, of its type, each sample
// with exactly its labels.
func (m exposition) checkSpec(t *testing.T) {
	t.Helper()
	for _, want := range spec13 {
		f := m.fams[want.name]
		if f == nil {
			t.Errorf("GET /metrics has no %s samples", want.name)
			continue
		}
		if got := f.GetType().String(); got != want.typ {
			t.Errorf("%s is a %s, want a %s", want.name, got, want.typ)
		}
		for _, x := range f.GetMetric() {
			var names []string
			for _, l := range x.GetLabel() {
				names = append(names, l.GetName())
			}
			sort.Strings(names)
			if strings.Join(names, ",") != strings.Join(want.labels, ",") {
				t.Errorf("%s sample with labels %v, want exactly %v", want.name, names, want.labels)
			}
		}
	}
}

func has(x *dto.Metric, labels []string) bool {
	for i := 0; i+1 < len(labels); i += 2 {
		found := false
		for _, l := range x.GetLabel() {
			found = found || (l.GetName() == labels[i] && l.GetValue() == labels[i+1])
		}
		if !found {
			return false
		}
	}
	return true
}

func sampleValue(x *dto.Metric) float64 {
	switch {
	case x.Counter != nil:
		return x.GetCounter().GetValue()
	case x.Gauge != nil:
		return x.GetGauge().GetValue()
	}
	return x.GetUntyped().GetValue()
}

// metricsPrometheus runs Debian's Prometheus on loopback scraping target
// every second (test/promtest) until its query API answers
// svinit_service_up for each of the container's services, each 1.
func metricsPrometheus(t *testing.T, s settings, target string) {
	start := time.Now()
	services := []string{"cron", "ssh", "syslog"}
	up := promtest.Scrape(t, promtest.Binary(t, s.repo), target, "svinit_service_up", services)
	for _, n := range services {
		if up[n] != "1" {
			t.Errorf("prometheus: svinit_service_up{service=%q} = %q; all: %v", n, up[n], up)
		}
	}
	if len(up) != len(services) {
		t.Errorf("prometheus: svinit_service_up for %v, want only %v", up, services)
	}
	t.Logf("prometheus scraped %s: svinit_service_up %v, %s after it was started", target, up, time.Since(start).Round(time.Millisecond))
}
