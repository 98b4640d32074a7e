package cron

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"syscall"
	"time"

	"alpine-server/internal/jsoncodec"
)

// Cron is the built-in cron service: it loads the crontabs of Config.Dir
// and starts their jobs on time through Config.Spawn.
type Cron struct {
	cfg   Config
	clock Clock
	hup   chan struct{}
	// panics carries a panic of a job watcher to Run, which returns it: a
	// panic in a goroutine Run did not start would otherwise kill PID 1.
	panics chan error

	mu       sync.Mutex
	jobs     []*job
	files    map[string]fileSig
	running  map[*jobState]Process
	watchers sync.WaitGroup
}

// job is one loaded crontab line.
type job struct {
	user, home string
	file       string
	e          Entry
	next       time.Time // zero: never (@reboot, or a schedule with no more dates)
	st         *jobState
	id         string // stable short id (assignIDs), for sv status and metrics
}

// jobState is what survives a reload of an unchanged line.
type jobState struct {
	proc     Process // running run, or nil
	lastRun  time.Time
	lastExit *int
	lastErr  string
	results
}

// label names a job in log lines: "root:3".
func (j *job) label() string { return fmt.Sprintf("%s:%d", j.user, j.e.Line) }

// key identifies a line across reloads, so a running job keeps blocking an
// overlapping run and keeps its history when other lines move.
func (j *job) key() string {
	return j.user + "\x00" + j.e.Spec + "\x00" + j.e.Command + "\x00" + j.e.Location.String()
}

// New checks cfg and returns a Cron that is not running yet.
func New(cfg Config) (*Cron, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	return &Cron{
		cfg:     cfg,
		clock:   cfg.Clock,
		hup:     make(chan struct{}, 1),
		panics:  make(chan error, 1),
		running: map[*jobState]Process{},
	}, nil
}

// Run loads the crontabs, calls ready, and runs jobs until ctx is done.
// Then it sends TERM to running jobs, KILL to those still running after
// KillGrace, and returns nil. Run may be called again after it returns
// (a service restart), but not concurrently.
func (c *Cron) Run(ctx context.Context, ready func()) error {
	now := c.clock.Now()
	c.reload(now, "")
	if ready != nil {
		ready()
	}
	if c.cfg.Boot.claim() {
		c.startReboot(now)
	}
	defer c.stopAll()
	last, nextScan := now, now.Add(rescanEvery)
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-c.hup:
			c.reload(c.clock.Now(), " (HUP)")
			continue
		case err := <-c.panics:
			return err
		case <-c.clock.At(c.wakeAt(nextScan)):
		}
		now := c.clock.Now()
		if now.Before(last) {
			c.cfg.Log.Infof("cron: clock went back from %s to %s, rescheduling", last.Format(time.RFC3339), now.Format(time.RFC3339))
			c.reschedule(now)
			nextScan = now
		}
		last = now
		c.runDue(now)
		if !now.Before(nextScan) {
			c.rescan(now)
			nextScan = now.Add(rescanEvery)
		}
	}
}

// Signal handles `sv hup cron` and friends: HUP reloads the crontabs;
// other signals are ignored (stopping is the context's job).
func (c *Cron) Signal(sig syscall.Signal) {
	if sig != syscall.SIGHUP {
		c.cfg.Log.Debugf("cron: ignoring signal %v", sig)
		return
	}
	select {
	case c.hup <- struct{}{}:
	default: // a reload is already pending
	}
}

// wakeAt is when the loop must next look: the earliest due job, or the
// next rescan of the crontab files, whichever comes first.
func (c *Cron) wakeAt(nextScan time.Time) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	wake := nextScan
	for _, j := range c.jobs {
		if !j.next.IsZero() && j.next.Before(wake) {
			wake = j.next
		}
	}
	return wake
}

// runDue starts every job whose time has come. A job whose times were
// missed (host asleep, clock stepped forward) runs once, not once per
// missed time: its next time is computed from now.
func (c *Cron) runDue(now time.Time) {
	c.mu.Lock()
	var due []*job
	for _, j := range c.jobs {
		if !j.next.IsZero() && !now.Before(j.next) {
			due = append(due, j)
			j.next = nextTime(j.e, now)
		}
	}
	c.mu.Unlock()
	for _, j := range due {
		c.start(j, now)
	}
}

// reschedule recomputes every next time from now (after the clock went back).
func (c *Cron) reschedule(now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, j := range c.jobs {
		j.next = nextTime(j.e, now)
	}
}

// nextTime is the first time after now that e is due, zero for never.
func nextTime(e Entry, now time.Time) time.Time {
	if e.Schedule == nil {
		return time.Time{}
	}
	return e.Schedule.Next(now.In(e.Location))
}

// rescan reloads the crontabs if a file was added, removed or changed.
// An unreadable Dir reads as empty, so it is warned once (by the reload
// that sees it first), not every minute.
func (c *Cron) rescan(now time.Time) {
	files, _, _, _ := scanDir(c.cfg.Dir)
	c.mu.Lock()
	same := sameFiles(files, c.files)
	c.mu.Unlock()
	if !same {
		c.reload(now, " (crontabs changed)")
	}
}

// reload reads every crontab again. Lines that did not change keep their
// next time, last run and running process; new lines are scheduled from now.
func (c *Cron) reload(now time.Time, why string) {
	tabs, files, skipped := loadDir(c.cfg.Dir, c.cfg.Location, c.cfg.LookupUser,
		func(err error) { c.cfg.Log.Warnf("cron: %v", err) })
	for _, s := range skipped {
		c.cfg.Log.Debugf("cron: ignoring %s", s)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	old := map[string][]*job{}
	for _, j := range c.jobs {
		old[j.key()] = append(old[j.key()], j)
	}
	c.jobs = c.jobs[:0:0]
	for _, ut := range tabs {
		for _, e := range ut.tab.Entries {
			j := &job{user: ut.user, home: ut.home, file: ut.tab.File, e: e}
			j.st, j.next = &jobState{}, nextTime(e, now)
			if prev := old[j.key()]; len(prev) > 0 {
				j.st, j.next = prev[0].st, prev[0].next
				old[j.key()] = prev[1:]
			}
			c.jobs = append(c.jobs, j)
		}
	}
	assignIDs(c.jobs)
	c.files = files
	c.cfg.Log.Infof("cron: loaded %d jobs from %d crontabs in %s%s", len(c.jobs), len(tabs), c.cfg.Dir, why)
}

// startReboot starts the @reboot jobs; Run calls it once per Boot.
func (c *Cron) startReboot(now time.Time) {
	c.mu.Lock()
	var reboot []*job
	for _, j := range c.jobs {
		if j.e.Reboot {
			reboot = append(reboot, j)
		}
	}
	c.mu.Unlock()
	for _, j := range reboot {
		c.start(j, now)
	}
}

// JobStatus is one job in Status. Duration is the last finished run's,
// in seconds; ID is the job's stable short id (sv status cron, metrics);
// Runs and Failures (runs that could not start or exited non-zero) count
// since svinit started.
type JobStatus struct {
	User       string     `json:"user"`
	File       string     `json:"file"`
	Line       int        `json:"line"`
	Schedule   string     `json:"schedule"`
	Command    string     `json:"command"`
	LastRun    *time.Time `json:"last_run,omitempty"`
	LastExit   *int       `json:"last_exit,omitempty"`
	Duration   *float64   `json:"last_duration,omitempty"`
	ID         string     `json:"id"`
	Runs       uint64     `json:"runs"`
	Failures   uint64     `json:"failures"`
	LastError  string     `json:"last_error,omitempty"` // the job could not be started
	NextRun    *time.Time `json:"next_run,omitempty"`
	RunningPid int        `json:"running_pid,omitempty"`
}

// AppendJSON writes j as encoding/json would from its tags (the test
// compares them). A new field is its struct field and one line here.
func (j *JobStatus) AppendJSON(w *jsoncodec.Writer) {
	w.Open()
	w.String("user", j.User, jsoncodec.Always)
	w.String("file", j.File, jsoncodec.Always)
	w.Int("line", int64(j.Line), jsoncodec.Always)
	w.String("schedule", j.Schedule, jsoncodec.Always)
	w.String("command", j.Command, jsoncodec.Always)
	if j.LastRun != nil {
		w.Time("last_run", *j.LastRun)
	}
	if j.LastExit != nil {
		w.Int("last_exit", int64(*j.LastExit), jsoncodec.Always)
	}
	if j.Duration != nil {
		w.Float("last_duration", *j.Duration, jsoncodec.Always)
	}
	w.String("id", j.ID, jsoncodec.Always)
	w.Uint("runs", j.Runs, jsoncodec.Always)
	w.Uint("failures", j.Failures, jsoncodec.Always)
	w.String("last_error", j.LastError, jsoncodec.OmitEmpty)
	if j.NextRun != nil {
		w.Time("next_run", *j.NextRun)
	}
	w.Int("running_pid", int64(j.RunningPid), jsoncodec.OmitEmpty)
	w.Close()
}

// StatusReport is what Status returns, for `sv --json status`.
type StatusReport struct {
	Dir  string      `json:"dir"`
	Jobs []JobStatus `json:"jobs"`
}

// AppendJSON writes r as encoding/json would from its tags.
func (r StatusReport) AppendJSON(w *jsoncodec.Writer) {
	w.Open()
	w.String("dir", r.Dir, jsoncodec.Always)
	jsoncodec.AppendList(w, "jobs", r.Jobs, jsoncodec.Always, (*JobStatus).AppendJSON)
	w.Close()
}

// Status reports every loaded job, by user and line.
func (c *Cron) Status() jsoncodec.Value {
	c.mu.Lock()
	defer c.mu.Unlock()
	r := StatusReport{Dir: c.cfg.Dir, Jobs: make([]JobStatus, 0, len(c.jobs))}
	for _, j := range c.jobs {
		r.Jobs = append(r.Jobs, j.status())
	}
	sort.SliceStable(r.Jobs, func(a, b int) bool {
		if r.Jobs[a].User != r.Jobs[b].User {
			return r.Jobs[a].User < r.Jobs[b].User
		}
		return r.Jobs[a].Line < r.Jobs[b].Line
	})
	return r
}

// status is j as JobStatus; the caller holds c.mu.
func (j *job) status() JobStatus {
	s := JobStatus{User: j.user, File: j.file, Line: j.e.Line, Schedule: j.e.Spec,
		Command: j.e.Command, LastError: j.st.lastErr}
	if !j.st.lastRun.IsZero() {
		t := j.st.lastRun
		s.LastRun = &t
	}
	if j.st.lastExit != nil {
		code := *j.st.lastExit
		s.LastExit = &code
	}
	if !j.next.IsZero() {
		t := j.next
		s.NextRun = &t
	}
	if j.st.proc != nil {
		s.RunningPid = j.st.proc.Pid()
	}
	j.addResults(&s)
	return s
}
