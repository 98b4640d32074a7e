package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

const (
	crashLog   = "/tmp/crash.log"
	crashFIFO  = "/tmp/crash.fifo"
	crashArmed = "/tmp/crash.armed"
)

// crashRun is one container of the crash-loop measurement.
type crashRun struct {
	st  stack
	c   *container
	cpu time.Duration // CPU the cgroup used during the window
	log string
}

// measureCrash runs every stack × run at once (CPU is per cgroup, and a
// crash loop is nearly idle), each with a service that blocks until
// triggered, then crashes and exits at once on every restart. Triggers are
// staggered so that restarts of different containers do not coincide.
func (e *env) measureCrash(ctx context.Context) error {
	var runs []*crashRun
	defer func() {
		for _, r := range runs {
			r.c.remove(context.Background())
		}
	}()
	svc := "exec " + helperPath + " crash " + crashLog + " " + crashFIFO + " " + crashArmed
	for i := 0; i < e.cfg.Runs; i++ {
		for _, st := range e.stacks {
			c, err := e.startWithHelper(ctx, st, "crash", i, st.service("crasher", svc, 0)...)
			if err != nil {
				return fmt.Errorf("%s run %d: %w", st.Name, i+1, err)
			}
			runs = append(runs, &crashRun{st: st, c: c})
		}
	}
	for _, r := range runs {
		if err := waitFile(ctx, r.c.rootPath(crashFIFO), 30*time.Second); err != nil {
			return err
		}
	}
	logf("crash: %d containers up, triggering crashes; measuring %s", len(runs), e.cfg.CrashWindow)
	if err := e.triggerAll(ctx, runs); err != nil {
		return err
	}
	for _, r := range runs {
		if err := e.recordCrash(r); err != nil {
			return err
		}
	}
	return nil
}

func (e *env) triggerAll(ctx context.Context, runs []*crashRun) error {
	stagger := time.Second / time.Duration(len(runs))
	errs := make([]error, len(runs))
	var wg sync.WaitGroup
	for k, r := range runs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			time.Sleep(time.Duration(k) * stagger)
			errs[k] = e.crashWindow(ctx, r)
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// crashWindow arms the crash, releases the blocked first instance, and
// reads the cgroup's CPU over the window that follows.
func (e *env) crashWindow(ctx context.Context, r *crashRun) error {
	usage := filepath.Join(r.c.cpuCG, "cpuacct.usage")
	if err := waitUp(r, crashUptime); err != nil {
		return err
	}
	if err := os.WriteFile(r.c.rootPath(crashArmed), nil, 0o644); err != nil {
		return fmt.Errorf("%s: arm crash: %w", r.c.Name, err)
	}
	cpu0, err := readInt(usage)
	if err != nil {
		return err
	}
	t0 := time.Now()
	if err := releaseFIFO(ctx, r.c.rootPath(crashFIFO)); err != nil {
		return fmt.Errorf("%s: %w", r.c.Name, err)
	}
	time.Sleep(time.Until(t0.Add(e.cfg.CrashWindow)))
	cpu1, err := readInt(usage)
	if err != nil {
		return err
	}
	r.cpu = time.Duration(cpu1 - cpu0)
	b, err := os.ReadFile(r.c.rootPath(crashLog))
	r.log = string(b)
	return err
}

// crashUptime is how long the first instance runs before it crashes: more
// than the 1 s under which runit and s6 count an exit as a crash loop.
const crashUptime = 2 * time.Second

// waitUp sleeps until the first instance has been up for d, by its own
// start stamp.
func waitUp(r *crashRun, d time.Duration) error {
	b, err := os.ReadFile(r.c.rootPath(crashLog))
	if err != nil {
		return fmt.Errorf("%s: %w", r.c.Name, err)
	}
	starts, _, err := parseCrashLog(string(b))
	if err != nil || len(starts) == 0 {
		return fmt.Errorf("%s: no start in the crash log: %v", r.c.Name, err)
	}
	time.Sleep(time.Until(starts[0].Add(d)))
	return nil
}

// releaseFIFO opens the FIFO for writing, which unblocks its reader; a
// non-blocking open fails with ENXIO until the reader is there.
func releaseFIFO(ctx context.Context, path string) error {
	deadline := time.Now().Add(10 * time.Second)
	for {
		fd, err := syscall.Open(path, syscall.O_WRONLY|syscall.O_NONBLOCK, 0)
		if err == nil {
			return syscall.Close(fd)
		}
		if err != syscall.ENXIO || time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("release crash FIFO %s: %w", path, err)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func waitFile(ctx context.Context, path string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		if _, err := os.Stat(path); err == nil {
			return nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("%s did not appear within %s", path, timeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// recordCrash turns the crash log into restart latencies: instance 1 was up
// for seconds when it crashed; instance 2 exited at once; so start[1] -
// exit[0] is the restart after a crash and start[2] - exit[1] the first
// restart inside a crash loop.
func (e *env) recordCrash(r *crashRun) error {
	starts, exits, err := parseCrashLog(r.log)
	if err != nil {
		return fmt.Errorf("%s: %w", r.c.Name, err)
	}
	if len(starts) < 3 || len(exits) < 2 {
		return fmt.Errorf("%s: crasher restarted only %d times in %s: %q", r.c.Name, len(starts)-1, e.cfg.CrashWindow, r.log)
	}
	name := r.st.Name
	e.res.add("restart_up", name, starts[1].Sub(exits[0]).Seconds())
	e.res.add("restart_loop", name, starts[2].Sub(exits[1]).Seconds())
	e.res.add("crash_cpu", name, 100*r.cpu.Seconds()/e.cfg.CrashWindow.Seconds())
	e.res.add("crash_restarts", name, float64(len(starts)-1))
	logf("crash %s: restart %.3fs after a crash, %.3fs in the loop, %d restarts, CPU %.2f%%", r.c.Name,
		starts[1].Sub(exits[0]).Seconds(), starts[2].Sub(exits[1]).Seconds(), len(starts)-1,
		100*r.cpu.Seconds()/e.cfg.CrashWindow.Seconds())
	return nil
}

// parseCrashLog reads "start NS" / "exit NS" lines.
func parseCrashLog(s string) (starts, exits []time.Time, err error) {
	for n, line := range strings.Split(strings.TrimSpace(s), "\n") {
		kind, ns, ok := strings.Cut(line, " ")
		v, perr := strconv.ParseInt(ns, 10, 64)
		if !ok || perr != nil {
			return nil, nil, fmt.Errorf("crash log line %d: %q", n+1, line)
		}
		switch kind {
		case "start":
			starts = append(starts, time.Unix(0, v))
		case "exit":
			exits = append(exits, time.Unix(0, v))
		default:
			return nil, nil, fmt.Errorf("crash log line %d: %q", n+1, line)
		}
	}
	return starts, exits, nil
}
