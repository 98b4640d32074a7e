// Package startup runs a folder of scripts one at a time, in byte order of
// name, as ylem did for the seed image: /etc/startup.d before the services,
// /etc/shutdown.d after them.
package startup

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"syscall"
	"time"

	"alpine-server/internal/logmux"
	"alpine-server/internal/reaper"
)

// Runner runs script folders. Every field is required except Timeout and
// AfterEach.
type Runner struct {
	Reaper  *reaper.Reaper
	Mux     *logmux.Mux
	Format  logmux.Format
	Log     *logmux.Logger
	Environ func() []string // the environment of each script, read before it starts
	// AfterEach runs after every script, whatever its result: svinit re-reads
	// the env file there, so a script can export variables to the next ones.
	AfterEach func()
	Timeout   time.Duration // per script; 0 = none
}

// List returns the scripts of dir: executable regular files directly in it,
// sorted by name bytes. A missing folder has no scripts. Other entries are
// skipped; the returned notes say why, for the log.
func List(dir string) (scripts []string, notes []string, err error) {
	if dir, err = filepath.Abs(dir); err != nil {
		return nil, nil, fmt.Errorf("script folder: %w", err)
	}
	entries, err := os.ReadDir(dir) // ReadDir sorts by name, bytewise
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, fmt.Errorf("read script folder: %w", err)
	}
	for _, e := range entries {
		path := filepath.Join(dir, e.Name())
		info, err := os.Stat(path) // follow links, as ylem did
		switch {
		case err != nil:
			notes = append(notes, fmt.Sprintf("%s: skipped: %v", path, err))
		case !info.Mode().IsRegular():
			notes = append(notes, fmt.Sprintf("%s: skipped: not a regular file", path))
		case info.Mode().Perm()&0o111 == 0:
			notes = append(notes, fmt.Sprintf("%s: skipped: not executable", path))
		default:
			scripts = append(scripts, path)
		}
	}
	sort.Strings(scripts)
	return scripts, notes, nil
}

// RunDir runs every script of dir in order. label names the phase in logs
// and sources ("startup" → "startup/NAME"). With keepGoing a failure is
// logged and the next script runs; otherwise the first failure is returned.
func (r *Runner) RunDir(ctx context.Context, dir, label string, keepGoing bool) error {
	scripts, notes, err := List(dir)
	if err != nil {
		return err
	}
	for _, n := range notes {
		r.Log.Warnf("%s", n)
	}
	var failed error
	for _, s := range scripts {
		err := r.runOne(ctx, s, label+"/"+filepath.Base(s))
		if r.AfterEach != nil {
			r.AfterEach()
		}
		if err == nil {
			continue
		}
		if !keepGoing {
			return err
		}
		r.Log.Warnf("%v; going on", err)
		failed = errors.Join(failed, err)
	}
	return failed
}

func (r *Runner) runOne(ctx context.Context, path, source string) error {
	pipes, err := r.Mux.PipePair(source, r.Format)
	if err != nil {
		return err
	}
	null, err := r.Reaper.Null()
	if err != nil {
		pipes.Close()
		return fmt.Errorf("%s: %w", source, err)
	}
	out, errw := pipes.Fds()
	start := time.Now()
	c, err := r.Reaper.Launch(reaper.Spec{
		Argv: []string{path}, Dir: filepath.Dir(path), Env: r.Environ(),
		Files: []uintptr{null, out, errw},
	})
	if err != nil {
		pipes.Close()
		return fmt.Errorf("%s: %w", source, err)
	}
	r.Log.Debugf("%s started (pid %d)", source, c.Pid)
	e, err := r.wait(ctx, c)
	// Its last lines before the next script's first (a daemon it left
	// holding the pipe is not waited for).
	pipes.CloseAndDrain(time.Now().Add(time.Second))
	if err != nil {
		return fmt.Errorf("%s: %w", source, err)
	}
	if e.Code != 0 {
		return fmt.Errorf("%s %s", source, e)
	}
	r.Log.Infof("%s done (%s)", source, time.Since(start).Round(time.Millisecond))
	return nil
}

// wait waits for the script, killing its process group at the timeout or
// when ctx ends (a shutdown signal during boot).
func (r *Runner) wait(ctx context.Context, c *reaper.Child) (reaper.Exit, error) {
	var timeout <-chan time.Time
	if r.Timeout > 0 {
		t := time.NewTimer(r.Timeout)
		defer t.Stop()
		timeout = t.C
	}
	select {
	case e := <-c.Done:
		return e, nil
	case <-timeout:
		r.kill(c)
		<-c.Done
		return reaper.Exit{}, fmt.Errorf("killed after SVINIT_STARTUP_TIMEOUT=%s", r.Timeout)
	case <-ctx.Done():
		r.kill(c)
		<-c.Done
		return reaper.Exit{}, fmt.Errorf("killed: %w", context.Cause(ctx))
	}
}

// kill ends the script's process group; ESRCH (already gone) is no error.
func (r *Runner) kill(c *reaper.Child) {
	if err := reaper.KillGroup(c.Pid, syscall.SIGKILL); err != nil {
		r.Log.Warnf("signal SIGKILL to script (pid %d): %v", c.Pid, err)
	}
}
