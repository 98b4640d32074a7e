// Package metrics is svinit's Prometheus exposition (SPEC §13): the text
// format 0.0.4 written from a plain Snapshot, for `sv metrics`, and a
// small HTTP/1.x server for `GET /metrics` on SVINIT_METRICS_ADDR.
//
// Both are written by hand. The Prometheus client library would pull in
// net/http (+3.9 MB of binary, which is container memory, SPEC §12) and
// a registry svinit has no use for: the series are few and fixed, and the
// format is lines of `name{label="value"} number`.
package metrics

import (
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// ContentType is the exposition format's media type.
const ContentType = "text/plain; version=0.0.4; charset=utf-8"

// Snapshot is everything one exposition shows, taken at one moment.
type Snapshot struct {
	Services []Service
	// States are every state name a service can be in, for
	// svinit_service_state's one-series-per-state (1 for the current one).
	States   []string
	CronJobs []CronJob

	SyslogMessages  uint64 // datagrams the built-in syslog received
	LogLinesDropped uint64 // lines the log mux dropped (stdout too slow)
	OrphansReaped   uint64 // processes reaped that svinit did not start

	Build Build
}

// Service is one supervised service.
type Service struct {
	Name  string
	State string // one of Snapshot.States
	Up    bool   // its process (or built-in) runs
	Ready bool
	// Healthy is 1 while its liveness (health:) passes; a service without
	// health: is healthy while it is ready.
	Healthy  bool
	Restarts uint64
	// Started is when its current process started; zero when none runs
	// (no svinit_service_start_time_seconds series then).
	Started time.Time
	// LastExit is the last exit's code (128+N when killed by signal N);
	// HasExit is false before the first exit (no series then).
	LastExit int
	HasExit  bool
	// NotifyIgnored counts the notify messages ignored (foreign sender,
	// oversized, malformed); Notify says the service has a notify socket.
	NotifyIgnored uint64
	Notify        bool
}

// CronJob is one line of a crontab.
type CronJob struct {
	User, ID string // ID: the job's stable short id (`sv status cron`)
	Runs     uint64
	Failures uint64
	// LastExit and LastDuration describe the last finished run; HasLast
	// is false before the first one (no series then).
	LastExit     int
	LastDuration time.Duration
	HasLast      bool
	// Next is the next scheduled run; zero for none (@reboot).
	Next time.Time
}

// Build names the binary (svinit_build_info).
type Build struct{ Version, Commit, GoVersion string }

// Append writes s in the text exposition format 0.0.4 to b. Every family
// is written, with its HELP and TYPE, even with no series, so a scrape
// always lists what svinit offers.
func Append(b []byte, s *Snapshot) []byte {
	w := writer{b: b}
	w.services(s)
	w.cron(s.CronJobs)
	w.family("svinit_syslog_messages_total", "counter", "Syslog messages received by the built-in syslog.")
	w.sample("svinit_syslog_messages_total", nil, float64(s.SyslogMessages))
	w.family("svinit_log_lines_dropped_total", "counter", "Log lines dropped because stdout was too slow.")
	w.sample("svinit_log_lines_dropped_total", nil, float64(s.LogLinesDropped))
	w.family("svinit_orphans_reaped_total", "counter", "Orphaned processes reaped by svinit.")
	w.sample("svinit_orphans_reaped_total", nil, float64(s.OrphansReaped))
	w.family("svinit_build_info", "gauge", "The svinit binary: version, commit and Go version (always 1).")
	w.sample("svinit_build_info", []string{"version", s.Build.Version, "commit", s.Build.Commit, "goversion", s.Build.GoVersion}, 1)
	return w.b
}

// series is one metric family with a series per item (service, job);
// value's false means "no series for this item".
type series[T any] struct {
	name, typ, help string
	value           func(T) (float64, bool)
}

// families writes each family of fs over items, labelled by labels.
func families[T any](w *writer, fs []series[T], items []T, labels func(T) []string) {
	for _, f := range fs {
		w.family(f.name, f.typ, f.help)
		for _, it := range items {
			if x, ok := f.value(it); ok {
				w.sample(f.name, labels(it), x)
			}
		}
	}
}

func (w *writer) services(s *Snapshot) {
	families(w, []series[Service]{
		{"svinit_service_up", "gauge", "1 while the service's process (or built-in) runs.", func(v Service) (float64, bool) { return b2f(v.Up), true }},
		{"svinit_service_ready", "gauge", "1 while the service is ready.", func(v Service) (float64, bool) { return b2f(v.Ready), true }},
		{"svinit_service_healthy", "gauge", "1 while the service's health probe passes (without health: while it is ready).", func(v Service) (float64, bool) { return b2f(v.Healthy), true }},
		{"svinit_service_restarts_total", "counter", "Restarts of the service since svinit started.", func(v Service) (float64, bool) { return float64(v.Restarts), true }},
		{"svinit_service_start_time_seconds", "gauge", "Start time of the service's current process, in seconds since the epoch.", func(v Service) (float64, bool) { return unixSeconds(v.Started), !v.Started.IsZero() }},
		{"svinit_service_last_exit_code", "gauge", "Exit code of the service's last exit (128+N when killed by signal N).", func(v Service) (float64, bool) { return float64(v.LastExit), v.HasExit }},
		{"svinit_notify_messages_ignored_total", "counter", "Messages on the service's NOTIFY_SOCKET that were ignored: from another process, oversized or malformed.", func(v Service) (float64, bool) { return float64(v.NotifyIgnored), v.Notify }},
	}, s.Services, func(v Service) []string { return []string{"service", v.Name} })
	w.family("svinit_service_state", "gauge", "1 for the state the service is in, 0 for the others.")
	for _, v := range s.Services {
		for _, st := range s.States {
			w.sample("svinit_service_state", []string{"service", v.Name, "state", st}, b2f(st == v.State))
		}
	}
}

func (w *writer) cron(jobs []CronJob) {
	families(w, []series[CronJob]{
		{"svinit_cron_job_runs_total", "counter", "Runs of the cron job started since svinit started.", func(j CronJob) (float64, bool) { return float64(j.Runs), true }},
		{"svinit_cron_job_failures_total", "counter", "Runs of the cron job that failed to start or exited non-zero.", func(j CronJob) (float64, bool) { return float64(j.Failures), true }},
		{"svinit_cron_job_last_exit_code", "gauge", "Exit code of the cron job's last finished run.", func(j CronJob) (float64, bool) { return float64(j.LastExit), j.HasLast }},
		{"svinit_cron_job_last_duration_seconds", "gauge", "How long the cron job's last finished run took.", func(j CronJob) (float64, bool) { return j.LastDuration.Seconds(), j.HasLast }},
		{"svinit_cron_job_next_run_timestamp_seconds", "gauge", "When the cron job runs next, in seconds since the epoch.", func(j CronJob) (float64, bool) { return unixSeconds(j.Next), !j.Next.IsZero() }},
	}, jobs, func(j CronJob) []string { return []string{"user", j.User, "job", j.ID} })
}

// writer appends exposition lines.
type writer struct{ b []byte }

// family writes the HELP and TYPE lines that open a metric family.
func (w *writer) family(name, typ, help string) {
	w.b = append(w.b, "# HELP "...)
	w.b = append(w.b, name...)
	w.b = append(w.b, ' ')
	w.b = appendEscaped(w.b, help, false)
	w.b = append(w.b, "\n# TYPE "...)
	w.b = append(w.b, name...)
	w.b = append(w.b, ' ')
	w.b = append(w.b, typ...)
	w.b = append(w.b, '\n')
}

// sample writes `name{k="v",...} value`; labels alternate names and values.
func (w *writer) sample(name string, labels []string, v float64) {
	w.b = append(w.b, name...)
	for i := 0; i+1 < len(labels); i += 2 {
		if i == 0 {
			w.b = append(w.b, '{')
		} else {
			w.b = append(w.b, ',')
		}
		w.b = append(w.b, labels[i]...)
		w.b = append(w.b, `="`...)
		w.b = appendEscaped(w.b, labels[i+1], true)
		w.b = append(w.b, '"')
	}
	if len(labels) > 0 {
		w.b = append(w.b, '}')
	}
	w.b = append(w.b, ' ')
	w.b = appendValue(w.b, v)
	w.b = append(w.b, '\n')
}

// appendEscaped escapes as 0.0.4 asks: backslash and newline everywhere,
// and the double quote inside label values. Bytes that are not UTF-8
// (which scrapers refuse) become U+FFFD.
func appendEscaped(b []byte, s string, quote bool) []byte {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	if !strings.ContainsAny(s, "\\\n\"") {
		return append(b, s...)
	}
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\\':
			b = append(b, `\\`...)
		case c == '\n':
			b = append(b, `\n`...)
		case c == '"' && quote:
			b = append(b, `\"`...)
		default:
			b = append(b, c)
		}
	}
	return b
}

// appendValue writes a sample value: integers as integers, other numbers
// in Go's shortest form, which Prometheus reads (as it does +Inf, -Inf, NaN).
func appendValue(b []byte, v float64) []byte {
	switch {
	case math.IsInf(v, 1):
		return append(b, "+Inf"...)
	case math.IsInf(v, -1):
		return append(b, "-Inf"...)
	case math.IsNaN(v):
		return append(b, "NaN"...)
	case v == math.Trunc(v) && math.Abs(v) < 1e15:
		return strconv.AppendInt(b, int64(v), 10)
	}
	return strconv.AppendFloat(b, v, 'g', -1, 64)
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// unixSeconds is t in seconds since the epoch, to the millisecond.
func unixSeconds(t time.Time) float64 { return float64(t.UnixMilli()) / 1e3 }
