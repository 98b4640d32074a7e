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

// Two extra services per container: "crashup" runs until the bench releases
// its FIFO, then crashes (its next instance waits again, so it does not
// loop); "crasher" is down at boot and, once started with the stack's own
// command, exits 1 at once, every time.
const (
	upLog    = "/tmp/crashup.log"
	upFIFO   = "/tmp/crashup.fifo"
	loopLog  = "/tmp/crasher.log"
	crashUp  = "crashup"
	crashLp  = "crasher"
	upUptime = 2 * time.Second // > the 1 s under which runit and s6 see a crash loop
)

// crashRun is one container of the restart measurement.
type crashRun struct {
	st  stack
	c   *container
	cpu time.Duration // CPU the cgroup used during the crash-loop window
	up  string        // crashup's log
	log string        // crasher's log
}

// measureCrash runs every stack × run at once (CPU is per cgroup, and a
// crash loop is nearly idle); each container's sequence is started 1/N s
// after the previous one so that restarts of different containers do not
// coincide.
func (e *env) measureCrash(ctx context.Context) error {
	var runs []*crashRun
	defer func() {
		for _, r := range runs {
			r.c.remove(context.Background())
		}
	}()
	err := e.eachRun(func(st stack, i int) error {
		files := append(st.service(service{Name: crashUp, Run: "exec " + helperPath + " crash " + upLog + " " + upFIFO}),
			st.service(service{Name: crashLp, Run: "exec " + helperPath + " crash " + loopLog, Down: true})...)
		c, err := e.startWithHelper(ctx, st, "crash", i, files...)
		if err == nil {
			runs = append(runs, &crashRun{st: st, c: c})
		}
		return err
	})
	if err != nil {
		return err
	}
	logf("crash: %d containers up; crash after %s up, then a %s crash loop", len(runs), upUptime, e.cfg.CrashWindow)
	if err := e.crashAll(ctx, runs); err != nil {
		return err
	}
	for _, r := range runs {
		if err := e.recordCrash(r); err != nil {
			return err
		}
	}
	return nil
}

func (e *env) crashAll(ctx context.Context, runs []*crashRun) error {
	stagger := time.Second / time.Duration(len(runs))
	errs := make([]error, len(runs))
	var wg sync.WaitGroup
	for k, r := range runs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			time.Sleep(time.Duration(k) * stagger)
			errs[k] = e.crashSequence(ctx, r)
			if errs[k] != nil {
				errs[k] = fmt.Errorf("%s: %w", r.c.Name, errs[k])
			}
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// crashSequence crashes crashup after it has been up for upUptime, waits for
// its restart, then starts crasher and reads the cgroup's CPU over the
// window that follows.
func (e *env) crashSequence(ctx context.Context, r *crashRun) error {
	if err := waitFile(ctx, r.c.rootPath(upFIFO), 30*time.Second); err != nil {
		return err
	}
	if err := waitStarts(ctx, r.c.rootPath(upLog), 1, 0); err != nil {
		return err
	}
	b, _ := os.ReadFile(r.c.rootPath(upLog))
	starts, _, _ := parseCrashLog(string(b))
	time.Sleep(time.Until(starts[0].Add(upUptime)))
	if err := releaseFIFO(ctx, r.c.rootPath(upFIFO)); err != nil {
		return err
	}
	if err := waitStarts(ctx, r.c.rootPath(upLog), 2, 10*time.Second); err != nil {
		return err
	}
	if _, err := r.c.exec(ctx, r.st.up(crashLp)...); err != nil {
		return err
	}
	usage := filepath.Join(r.c.cpuCG, "cpuacct.usage")
	cpu0, err := readInt(usage)
	if err != nil {
		return err
	}
	time.Sleep(e.cfg.CrashWindow)
	cpu1, err := readInt(usage)
	if err != nil {
		return err
	}
	r.cpu = time.Duration(cpu1 - cpu0)
	up, err1 := os.ReadFile(r.c.rootPath(upLog))
	loop, err2 := os.ReadFile(r.c.rootPath(loopLog))
	r.up, r.log = string(up), string(loop)
	return errors.Join(err1, err2)
}

// waitStarts polls a crash log until it holds n starts (timeout 0: 30 s).
func waitStarts(ctx context.Context, path string, n int, timeout time.Duration) error {
	if timeout == 0 {
		timeout = 30 * time.Second
	}
	deadline := time.Now().Add(timeout)
	for {
		b, _ := os.ReadFile(path)
		if starts, _, err := parseCrashLog(string(b)); err == nil && len(starts) >= n {
			return nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("%s: fewer than %d starts after %s: %q", path, n, timeout, b)
		}
		time.Sleep(5 * time.Millisecond)
	}
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

// recordCrash turns the logs into restart latencies: crashup's second start
// − its first exit is the restart after a crash of a service that was up;
// crasher's second start − its first exit is the first restart of a service
// that exits at once.
func (e *env) recordCrash(r *crashRun) error {
	upStarts, upExits, err := parseCrashLog(r.up)
	if err != nil || len(upStarts) < 2 || len(upExits) < 1 {
		return fmt.Errorf("%s: crashup log %q: %v", r.c.Name, r.up, err)
	}
	starts, exits, err := parseCrashLog(r.log)
	if err != nil || len(starts) < 2 || len(exits) < 1 {
		return fmt.Errorf("%s: crasher restarted less than once in %s: %q %v", r.c.Name, e.cfg.CrashWindow, r.log, err)
	}
	afterUp, first := upStarts[1].Sub(upExits[0]).Seconds(), starts[1].Sub(exits[0]).Seconds()
	cpu := 100 * r.cpu.Seconds() / e.cfg.CrashWindow.Seconds()
	e.res.add("restart_up", r.st.Name, afterUp)
	e.res.add("restart_loop", r.st.Name, first)
	e.res.add("crash_cpu", r.st.Name, cpu)
	e.res.add("crash_restarts", r.st.Name, float64(len(starts)-1))
	logf("crash %s: restart %.3fs after a crash, first restart %.3fs in the loop, %d restarts, CPU %.2f%%",
		r.c.Name, afterUp, first, len(starts)-1, cpu)
	return nil
}

// parseCrashLog reads "start NS" / "exit NS" lines.
func parseCrashLog(s string) (starts, exits []time.Time, err error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil, nil
	}
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
