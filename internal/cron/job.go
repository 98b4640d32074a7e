package cron

import (
	"alpine-server/internal/builtin"
	"strings"
	"syscall"
	"time"
)

// start runs j once unless its previous run is still going (no overlap).
// Only the Run goroutine calls it, so nothing can start j between the
// check and the spawn.
func (c *Cron) start(j *job, now time.Time) {
	c.mu.Lock()
	prev := j.st.proc
	c.mu.Unlock()
	if prev != nil {
		c.cfg.Log.Warnf("cron: skipped %s %q: still running (pid %d)", j.label(), j.e.Command, prev.Pid())
		return
	}
	p, err := c.cfg.Spawn(c.jobFor(j))
	c.mu.Lock()
	j.st.lastRun = now
	j.st.started(err)
	if err != nil {
		j.st.lastErr = err.Error()
		c.mu.Unlock()
		c.cfg.Log.Warnf("cron: %s: start %q: %v", j.label(), j.e.Command, err)
		return
	}
	j.st.proc, j.st.lastErr = p, ""
	c.running[j.st] = p
	c.watchers.Add(1)
	c.mu.Unlock()
	c.cfg.Log.Debugf("cron: started %s %q (pid %d)", j.label(), j.e.Command, p.Pid())
	go c.watch(j, p, now)
}

// jobFor builds what Spawn needs for one run of j. The environment is
// taken now, so a changed snapshot reaches the next run.
func (c *Cron) jobFor(j *job) Job {
	return Job{
		User: j.user, Line: j.e.Line, File: j.file, Spec: j.e.Spec,
		Command: j.e.Command, Shell: j.e.Shell,
		Env: jobEnv(c.cfg.Environ(), j.user, j.home, j.e.Vars),
	}
}

// jobEnv is what crond gives a job: the snapshot, HOME from passwd and
// SHELL=/bin/sh (both may be overridden by crontab variables, as in Vixie
// cron), the crontab's variables, then USER and LOGNAME, which may not be.
func jobEnv(base []string, user, home string, vars []string) []string {
	env := make([]string, 0, len(base)+len(vars)+4)
	idx := make(map[string]int, cap(env))
	set := func(kv string) {
		name, _, _ := strings.Cut(kv, "=")
		if i, ok := idx[name]; ok {
			env[i] = kv
			return
		}
		idx[name] = len(env)
		env = append(env, kv)
	}
	for _, kv := range base {
		set(kv)
	}
	set("HOME=" + home)
	set("SHELL=" + DefaultShell)
	for _, kv := range vars {
		set(kv)
	}
	set("USER=" + user)
	set("LOGNAME=" + user)
	return env
}

// watch waits for p to exit, enforcing Config.JobTimeout: TERM to the
// job's group when it runs out, KILL KillGrace later.
func (c *Cron) watch(j *job, p Process, started time.Time) {
	defer c.watchers.Done()
	defer builtin.Recover(func(err error) {
		c.mu.Lock()
		delete(c.running, j.st) // nobody watches it any more: stopAll must not wait
		j.st.proc = nil
		c.mu.Unlock()
		select {
		case c.panics <- err:
		default: // one is enough to end Run
		}
	})
	var timeout, kill <-chan time.Time
	if c.cfg.JobTimeout > 0 {
		timeout = c.clock.At(started.Add(c.cfg.JobTimeout))
	}
	for {
		select {
		case code, ok := <-p.Done():
			if !ok {
				code = -1 // Done closed without a code: the owner lost the exit
			}
			c.finish(j, p, code)
			return
		case <-timeout:
			timeout = nil
			termAt := c.clock.Now() // before the TERM, so the grace is never short
			c.cfg.Log.Warnf("cron: %s timed out after %s (pid %d), sending TERM", j.label(), c.cfg.JobTimeout, p.Pid())
			c.signal(j, p, syscall.SIGTERM)
			kill = c.clock.At(termAt.Add(c.cfg.KillGrace))
		case <-kill:
			kill = nil
			c.cfg.Log.Warnf("cron: %s still running %s after TERM (pid %d), sending KILL", j.label(), c.cfg.KillGrace, p.Pid())
			c.signal(j, p, syscall.SIGKILL)
		}
	}
}

// signal signals p's group; ESRCH means it is already gone, which is fine.
func (c *Cron) signal(j *job, p Process, sig syscall.Signal) {
	if err := p.Signal(sig); err != nil && err != syscall.ESRCH {
		c.cfg.Log.Warnf("cron: %s: signal %v to pid %d: %v", j.label(), sig, p.Pid(), err)
	}
}

// finish records the exit of one run.
func (c *Cron) finish(j *job, p Process, code int) {
	c.mu.Lock()
	if j.st.proc == p {
		j.st.proc = nil
	}
	j.st.lastExit = &code
	j.st.exited(code, c.clock.Now().Sub(j.st.lastRun))
	delete(c.running, j.st)
	c.mu.Unlock()
	if code != 0 {
		c.cfg.Log.Warnf("cron: %s exited %d (pid %d)", j.label(), code, p.Pid())
		return
	}
	c.cfg.Log.Debugf("cron: %s exited 0 (pid %d)", j.label(), p.Pid())
}

// stopAll ends the running jobs when the service stops: TERM to each
// group, KILL to what is left after KillGrace, and one more KillGrace for
// the exits to arrive before giving up on them.
func (c *Cron) stopAll() {
	if len(c.runningNow()) == 0 {
		return
	}
	done := make(chan struct{})
	go func() { c.watchers.Wait(); close(done) }()
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGKILL} {
		procs, sentAt := c.runningNow(), c.clock.Now()
		c.cfg.Log.Infof("cron: stopping, sending %v to %d running jobs", sig, len(procs))
		for _, p := range procs {
			if err := p.Signal(sig); err != nil && err != syscall.ESRCH { // ESRCH: it exited meanwhile
				c.cfg.Log.Warnf("cron: stopping: signal %v to pid %d: %v", sig, p.Pid(), err)
			}
		}
		select {
		case <-done:
			return
		case <-c.clock.At(sentAt.Add(c.cfg.KillGrace)):
		}
	}
	c.cfg.Log.Warnf("cron: %d jobs did not report their exit after KILL", len(c.runningNow()))
}

func (c *Cron) runningNow() []Process {
	c.mu.Lock()
	defer c.mu.Unlock()
	procs := make([]Process, 0, len(c.running))
	for _, p := range c.running {
		procs = append(procs, p)
	}
	return procs
}
