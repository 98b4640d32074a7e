package cron

import (
	"fmt"
	"hash/fnv"
	"strings"
	"time"
)

// results is what svinit knows of a job's runs since it started (for
// `sv status cron` and the svinit_cron_job_* metrics); it lives in the
// jobState, so an unchanged line keeps it across reloads.
type results struct {
	runs, failures uint64
	lastDuration   time.Duration
	finished       bool // a run has ended: lastDuration and lastExit hold
}

// started counts a start; one that could not spawn is also a failure.
func (r *results) started(err error) {
	r.runs++
	if err != nil {
		r.failures++
	}
}

// exited records the end of a run that took d.
func (r *results) exited(code int, d time.Duration) {
	if code != 0 {
		r.failures++
	}
	r.lastDuration, r.finished = d, true
}

// addResults fills the results fields of s; the caller holds c.mu.
func (j *job) addResults(s *JobStatus) {
	s.ID, s.Runs, s.Failures = j.id, j.st.runs, j.st.failures
	if j.st.finished {
		d := j.st.lastDuration.Seconds()
		s.Duration = &d
	}
}

// assignIDs gives every job its short id: 8 hex digits of a hash of what
// defines the line (user, schedule, command, zone), so the id of a line
// stays the same across reloads, restarts of svinit and edits of other
// lines, and an edited line gets a new one. Identical lines of one user
// are told apart by their order: the second is ID-2, and so on.
func assignIDs(jobs []*job) {
	seen := make(map[string]int, len(jobs))
	for _, j := range jobs {
		h := fnv.New32a()
		h.Write([]byte(j.key()))
		id := fmt.Sprintf("%08x", h.Sum32())
		if seen[id]++; seen[id] > 1 {
			id = fmt.Sprintf("%s-%d", id, seen[id])
		}
		j.id = id
	}
}

// Text is the job as `sv status cron` prints it under the service's line:
//
//	job 3f2a9c1b root */15 * * * * report: last run 2m ago, exit 0 in 3s, next in 13m
//	job 0d1e2f3a alice @reboot ./warm: running (pid 42)
//	job 77aa0b1c root 0 * * * * backup: never run, next in 41m
//
// Times are relative to now, to the second.
func (s JobStatus) Text(now time.Time) string {
	var b strings.Builder
	fmt.Fprintf(&b, "job %s %s %s %s: ", s.ID, s.User, s.Schedule, s.Command)
	switch {
	case s.RunningPid > 0:
		fmt.Fprintf(&b, "running (pid %d)", s.RunningPid)
	case s.LastRun == nil:
		b.WriteString("never run")
	default:
		fmt.Fprintf(&b, "last run %s ago", seconds(now.Sub(*s.LastRun)))
		switch {
		case s.LastError != "":
			fmt.Fprintf(&b, ", could not start: %s", s.LastError)
		case s.LastExit != nil && s.Duration != nil:
			fmt.Fprintf(&b, ", exit %d in %s", *s.LastExit, seconds(time.Duration(*s.Duration*float64(time.Second))))
		}
	}
	if s.Runs > 0 {
		fmt.Fprintf(&b, ", %d runs, %d failed", s.Runs, s.Failures)
	}
	if s.NextRun != nil {
		fmt.Fprintf(&b, ", next in %s", seconds(s.NextRun.Sub(now)))
	}
	return b.String()
}

// seconds rounds d to the second for people ("2m3s"); under a second it
// keeps milliseconds ("350ms"), and a negative d (clock skew) is 0s.
func seconds(d time.Duration) string {
	switch {
	case d <= 0:
		return "0s"
	case d < time.Second:
		return d.Round(time.Millisecond).String()
	}
	return d.Round(time.Second).String()
}
