package metrics

import (
	"bytes"
	"math"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

var states = []string{"down", "starting", "run", "stopping", "finish", "backoff", "fatal"}

func example() *Snapshot {
	started := time.Unix(1700000000, 250e6)
	return &Snapshot{
		States: states,
		Services: []Service{
			{Name: "web", State: "run", Up: true, Ready: true, Healthy: true, Restarts: 3, Started: started, LastExit: 1, HasExit: true, Notify: true, NotifyIgnored: 4},
			{Name: "db", State: "starting", Up: true, Started: started},
			{Name: "syslog", State: "down"},
		},
		CronJobs: []CronJob{
			{User: "root", ID: "3f2a9c1b", Runs: 10, Failures: 2, LastExit: 1, LastDuration: 1500 * time.Millisecond, HasLast: true, Next: time.Unix(1700000060, 0)},
			{User: "app", ID: "0000beef"},
		},
		SyslogMessages: 12345, LogLinesDropped: 7, OrphansReaped: 2,
		Build: Build{Version: "0.1.0", Commit: "abc123", GoVersion: "go1.26.8"},
	}
}

// parse reads an exposition with Prometheus's own parser.
func parse(t testing.TB, b []byte) map[string]*dto.MetricFamily {
	t.Helper()
	p := expfmt.NewTextParser(model.LegacyValidation)
	fams, err := p.TextToMetricFamilies(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("prometheus cannot parse it: %v\n%s", err, b)
	}
	return fams
}

// value finds the sample of fam with exactly these labels (name, value...).
func value(t testing.TB, fams map[string]*dto.MetricFamily, fam string, labels ...string) (float64, bool) {
	t.Helper()
	f := fams[fam]
	if f == nil {
		t.Fatalf("no family %s", fam)
	}
next:
	for _, m := range f.Metric {
		if len(m.Label) != len(labels)/2 {
			continue
		}
		for i, l := range m.Label {
			if l.GetName() != labels[2*i] || l.GetValue() != labels[2*i+1] {
				continue next
			}
		}
		switch f.GetType() {
		case dto.MetricType_COUNTER:
			return m.Counter.GetValue(), true
		case dto.MetricType_GAUGE:
			return m.Gauge.GetValue(), true
		}
		t.Fatalf("%s: type %v", fam, f.GetType())
	}
	return 0, false
}

func TestAppend(t *testing.T) {
	fams := parse(t, Append(nil, example()))
	for _, tc := range []struct {
		fam    string
		labels []string
		want   float64 // NaN: no such series
	}{
		{"svinit_service_up", []string{"service", "web"}, 1},
		{"svinit_service_up", []string{"service", "syslog"}, 0},
		{"svinit_service_ready", []string{"service", "web"}, 1},
		{"svinit_service_ready", []string{"service", "db"}, 0},
		{"svinit_service_healthy", []string{"service", "web"}, 1},
		{"svinit_service_healthy", []string{"service", "db"}, 0},
		{"svinit_service_state", []string{"service", "web", "state", "run"}, 1},
		{"svinit_service_state", []string{"service", "web", "state", "down"}, 0},
		{"svinit_service_state", []string{"service", "db", "state", "starting"}, 1},
		{"svinit_service_state", []string{"service", "syslog", "state", "down"}, 1},
		{"svinit_service_restarts_total", []string{"service", "web"}, 3},
		{"svinit_service_start_time_seconds", []string{"service", "web"}, 1700000000.25},
		{"svinit_service_start_time_seconds", []string{"service", "syslog"}, math.NaN()},
		{"svinit_service_last_exit_code", []string{"service", "web"}, 1},
		{"svinit_service_last_exit_code", []string{"service", "db"}, math.NaN()},
		{"svinit_notify_messages_ignored_total", []string{"service", "web"}, 4},
		{"svinit_notify_messages_ignored_total", []string{"service", "db"}, math.NaN()},
		{"svinit_cron_job_runs_total", []string{"user", "root", "job", "3f2a9c1b"}, 10},
		{"svinit_cron_job_runs_total", []string{"user", "app", "job", "0000beef"}, 0},
		{"svinit_cron_job_failures_total", []string{"user", "root", "job", "3f2a9c1b"}, 2},
		{"svinit_cron_job_last_exit_code", []string{"user", "root", "job", "3f2a9c1b"}, 1},
		{"svinit_cron_job_last_exit_code", []string{"user", "app", "job", "0000beef"}, math.NaN()},
		{"svinit_cron_job_last_duration_seconds", []string{"user", "root", "job", "3f2a9c1b"}, 1.5},
		{"svinit_cron_job_next_run_timestamp_seconds", []string{"user", "root", "job", "3f2a9c1b"}, 1700000060},
		{"svinit_cron_job_next_run_timestamp_seconds", []string{"user", "app", "job", "0000beef"}, math.NaN()},
		{"svinit_syslog_messages_total", nil, 12345},
		{"svinit_log_lines_dropped_total", nil, 7},
		{"svinit_orphans_reaped_total", nil, 2},
		{"svinit_build_info", []string{"version", "0.1.0", "commit", "abc123", "goversion", "go1.26.8"}, 1},
	} {
		got, ok := value(t, fams, tc.fam, tc.labels...)
		switch {
		case math.IsNaN(tc.want) && ok:
			t.Errorf("%s%v = %v, want no series", tc.fam, tc.labels, got)
		case !math.IsNaN(tc.want) && (!ok || got != tc.want):
			t.Errorf("%s%v = %v (found %v), want %v", tc.fam, tc.labels, got, ok, tc.want)
		}
	}
	if n := len(fams["svinit_service_state"].Metric); n != 3*len(states) {
		t.Errorf("svinit_service_state has %d series, want one per service and state (%d)", n, 3*len(states))
	}
	for name, f := range fams {
		wantCounter := strings.HasSuffix(name, "_total")
		if (f.GetType() == dto.MetricType_COUNTER) != wantCounter || f.GetHelp() == "" {
			t.Errorf("%s: type %v, help %q", name, f.GetType(), f.GetHelp())
		}
	}
}

// TestAppendEmpty: with nothing running every family is still announced.
func TestAppendEmpty(t *testing.T) {
	out := Append(nil, &Snapshot{})
	parse(t, out)
	for _, fam := range []string{"svinit_service_up", "svinit_service_ready", "svinit_service_healthy", "svinit_service_state",
		"svinit_service_restarts_total", "svinit_service_start_time_seconds", "svinit_service_last_exit_code",
		"svinit_cron_job_runs_total", "svinit_cron_job_failures_total", "svinit_cron_job_last_exit_code",
		"svinit_cron_job_last_duration_seconds", "svinit_cron_job_next_run_timestamp_seconds",
		"svinit_syslog_messages_total", "svinit_log_lines_dropped_total", "svinit_orphans_reaped_total", "svinit_build_info"} {
		if !bytes.Contains(out, []byte("# TYPE "+fam+" ")) {
			t.Errorf("no TYPE line for %s", fam)
		}
	}
}

func TestEscaping(t *testing.T) {
	s := &Snapshot{Build: Build{Version: "1.0 \"beta\"\nline\\2", Commit: "\xff\xfe", GoVersion: "go"}}
	out := Append(nil, s)
	want := `svinit_build_info{version="1.0 \"beta\"\nline\\2",commit="\ufffd",goversion="go"} 1` + "\n"
	want = strings.ReplaceAll(want, `\ufffd`, "\ufffd")
	if !bytes.Contains(out, []byte(want)) {
		t.Errorf("want %q in\n%s", want, out)
	}
	fams := parse(t, out)
	if _, ok := value(t, fams, "svinit_build_info", "version", "1.0 \"beta\"\nline\\2", "commit", "\ufffd", "goversion", "go"); !ok {
		t.Error("escaped labels do not read back")
	}
}

func TestAppendValue(t *testing.T) {
	for _, tc := range []struct {
		v    float64
		want string
	}{
		{0, "0"}, {1, "1"}, {-1, "-1"}, {1.5, "1.5"}, {1700000000.25, "1.70000000025e+09"},
		{1e300, "1e+300"}, {math.Inf(1), "+Inf"}, {math.Inf(-1), "-Inf"}, {math.NaN(), "NaN"},
		{18446744073709551615, "1.8446744073709552e+19"},
	} {
		if got := string(appendValue(nil, tc.v)); got != tc.want {
			t.Errorf("appendValue(%v) = %q, want %q", tc.v, got, tc.want)
		}
	}
}

// FuzzAppend checks that whatever names and numbers reach the writer,
// Prometheus's parser reads the result, with the same label values (made
// valid UTF-8) and the same numbers. Seeds: testdata/fuzz/FuzzAppend.
func FuzzAppend(f *testing.F) {
	f.Add("web", "run", "root", "3f2a9c1b", "0.1.0", uint64(3), int64(1700000000123), int64(1500000000), -1)
	f.Add("a\"b\\c\nd", "x", "", "", "\xff", uint64(math.MaxUint64), int64(-1), int64(0), 255)
	f.Fuzz(func(t *testing.T, name, state, user, job, version string, n uint64, ms, dur int64, code int) {
		s := &Snapshot{
			States:   []string{state, "down"},
			Services: []Service{{Name: name, State: state, Up: true, Restarts: n, Started: time.UnixMilli(ms), LastExit: code, HasExit: true}},
			CronJobs: []CronJob{{User: user, ID: job, Runs: n, LastDuration: time.Duration(dur), HasLast: true, LastExit: code, Next: time.UnixMilli(ms)}},
			Build:    Build{Version: version, Commit: name, GoVersion: state},
		}
		if state == "down" {
			s.States = s.States[:1]
		}
		fams := parse(t, Append(nil, s))
		valid := func(v string) string { return strings.ToValidUTF8(v, "\ufffd") }
		if got, ok := value(t, fams, "svinit_service_restarts_total", "service", valid(name)); !ok || got != float64(n) {
			t.Fatalf("restarts of %q = %v, %v; want %d", name, got, ok, n)
		}
		if got, ok := value(t, fams, "svinit_service_state", "service", valid(name), "state", valid(state)); !ok || got != 1 {
			t.Fatalf("state %q of %q = %v, %v", state, name, got, ok)
		}
		if got, ok := value(t, fams, "svinit_cron_job_last_exit_code", "user", valid(user), "job", valid(job)); !ok || got != float64(code) {
			t.Fatalf("exit code = %v, %v; want %d", got, ok, code)
		}
		if got, ok := value(t, fams, "svinit_cron_job_last_duration_seconds", "user", valid(user), "job", valid(job)); !ok || got != time.Duration(dur).Seconds() {
			t.Fatalf("duration = %v, %v; want %v", got, ok, time.Duration(dur).Seconds())
		}
		if _, ok := value(t, fams, "svinit_build_info", "version", valid(version), "commit", valid(name), "goversion", valid(state)); !ok {
			t.Fatalf("build info of %q %q %q not found", version, name, state)
		}
	})
}
