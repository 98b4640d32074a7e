package boot

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"alpine-server/internal/buildinfo"
	"alpine-server/internal/control"
	"alpine-server/internal/cron"
	"alpine-server/internal/metrics"
	"alpine-server/internal/supervisor"
	"alpine-server/internal/syslogd"
)

// metricStates are the state names of svinit_service_state, one series
// each: the names sv status prints.
var metricStates = []string{control.StateDown, control.StateStarting, control.StateRun,
	control.StateStopping, control.StateFinish, control.StateBackoff, control.StateFatal}

// renderMetrics is the exposition `sv metrics` prints and GET /metrics
// serves: the services once they are loaded, svinit's counters always.
func (s *svinit) renderMetrics() []byte {
	snap := &metrics.Snapshot{
		States: metricStates, LogLinesDropped: s.mux.Dropped(), OrphansReaped: s.reap.Orphans(),
		Build: metrics.Build{Version: buildinfo.Version, Commit: buildinfo.Commit, GoVersion: runtime.Version()},
	}
	select {
	case <-s.loaded:
		list, _ := s.sup.Status(nil)
		seen := map[[2]string]bool{} // two cron services over one folder: each job once
		for _, st := range list {
			snap.Services = append(snap.Services, serviceMetric(st))
			switch v := st.Value.(type) {
			case cron.StatusReport:
				snap.CronJobs = appendJobs(snap.CronJobs, v.Jobs, seen)
			case syslogd.Stats:
				snap.SyslogMessages += v.Received
			}
		}
	default:
	}
	return metrics.Append(nil, snap)
}

// serviceMetric is one service's series. Up: its process (or built-in)
// runs; healthy: ready and not failing its health: probe.
func serviceMetric(st supervisor.Status) metrics.Service {
	m := metrics.Service{Name: st.Name, State: wireStates[st.State], Ready: st.Ready,
		Healthy: st.Ready && st.Health != "unhealthy", Restarts: uint64(st.Restarts)}
	switch st.State {
	case supervisor.Starting, supervisor.Running, supervisor.Stopping:
		m.Up, m.Started = true, st.Started
	}
	if st.LastExit != nil {
		m.LastExit, m.HasExit = st.LastExit.Code, true
	}
	if st.Notify != nil {
		m.Notify, m.NotifyIgnored = true, st.Notify.Ignored()
	}
	return m
}

func appendJobs(out []metrics.CronJob, jobs []cron.JobStatus, seen map[[2]string]bool) []metrics.CronJob {
	for _, j := range jobs {
		if key := [2]string{j.User, j.ID}; !seen[key] {
			seen[key] = true
			m := metrics.CronJob{User: j.User, ID: j.ID, Runs: j.Runs, Failures: j.Failures}
			if j.LastExit != nil && j.Duration != nil {
				m.LastExit, m.HasLast = *j.LastExit, true
				m.LastDuration = time.Duration(*j.Duration * float64(time.Second))
			}
			if j.NextRun != nil {
				m.Next = *j.NextRun
			}
			out = append(out, m)
		}
	}
	return out
}

// serveMetrics opens SVINIT_METRICS_ADDR (a port in use is the caller's
// exit 2) and serves GET /metrics until ctx ends.
func (s *svinit) serveMetrics(ctx context.Context) error {
	if s.set.MetricsAddr == "" {
		return nil
	}
	ln, err := metrics.Listen(s.set.MetricsAddr)
	if err != nil {
		return err
	}
	s.log.Infof("metrics on http://%s/metrics", ln.Addr())
	go func() {
		if err := metrics.Serve(ctx, ln, s.renderMetrics, metrics.Options{Log: s.log}); err != nil {
			s.log.Warnf("%v", err)
		}
	}()
	return nil
}

// jobLines are the lines sv status prints under a cron service: one a job.
func jobLines(v any, now time.Time) []string {
	r, ok := v.(cron.StatusReport)
	if !ok {
		return nil
	}
	out := make([]string, 0, len(r.Jobs))
	for _, j := range r.Jobs {
		out = append(out, j.Text(now))
	}
	return out
}

// makeNotifyDir makes the folder of the notify sockets, when the first
// notify service needs it: beside the control socket's folder
// (/run/svinit-notify for /run/svinit/control.sock), not in it, since that
// one is 0700 and a service that runs as another user must reach its
// socket. Without root it falls back as the control socket does.
func (s *svinit) makeNotifyDir() (string, error) {
	dirs := []string{notifyDirFor(s.set.Control)}
	if !s.set.ControlSet && os.Getuid() != 0 {
		dirs = append(dirs, notifyDirFor(control.FallbackSocket(os.Getuid())))
	}
	var errs []error
	for _, d := range dirs {
		err := os.MkdirAll(d, 0o755)
		if err == nil {
			err = os.Chmod(d, 0o755)
		}
		if err == nil {
			return d, nil
		}
		errs = append(errs, err)
	}
	return "", fmt.Errorf("notify sockets: %w", errors.Join(errs...))
}

func notifyDirFor(controlSocket string) string {
	dir := filepath.Dir(controlSocket)
	return filepath.Join(filepath.Dir(dir), fmt.Sprintf("%s-notify", filepath.Base(dir)))
}
