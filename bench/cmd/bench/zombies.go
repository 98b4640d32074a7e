package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"time"
)

// orphanReport mirrors what `benchhelper orphans` prints.
type orphanReport struct {
	ForkMS   float64 `json:"fork_ms"`
	ReapMS   float64 `json:"reap_ms"`
	TimedOut bool    `json:"timed_out"`
	Left     int     `json:"left"`
}

// measureZombies has the helper create N orphans in each stack and time how
// long PID 1 takes to reap them (the helper polls /proc inside the
// container, so docker exec's own latency is not counted).
func (e *env) measureZombies(ctx context.Context) error {
	return e.eachRun(func(st stack, i int) error { return e.zombieRun(ctx, st, i) })
}

func (e *env) zombieRun(ctx context.Context, st stack, i int) error {
	var rep orphanReport
	c, err := e.runHelper(ctx, st, "zombies", i, &rep, "orphans", strconv.Itoa(e.cfg.Orphans))
	if err != nil {
		return err
	}
	defer c.remove(ctx)
	if rep.TimedOut {
		e.res.note(fmt.Sprintf("Zombies, %s run %d: %d orphans were still in /proc after 30 s.", st.Name, i+1, rep.Left))
	}
	e.res.add("reap", st.Name, rep.ReapMS/1000)
	logf("zombies %s #%d: created in %.0f ms, reaped in %.1f ms", st.Name, i+1, rep.ForkMS, rep.ReapMS)
	return nil
}

// runHelper starts a container of the stack with the helper inside, runs
// `benchhelper ARGS...` in it and decodes its JSON report into v. The caller
// removes the container (its log may still be needed).
func (e *env) runHelper(ctx context.Context, st stack, metric string, i int, v any, args ...string) (*container, error) {
	c, err := e.startWithHelper(ctx, st, metric, i)
	if err != nil {
		return nil, err
	}
	out, err := c.exec(ctx, append([]string{helperPath}, args...)...)
	if err == nil {
		if err = json.Unmarshal([]byte(out), v); err != nil {
			err = fmt.Errorf("parse benchhelper %s report %q: %w", args[0], out, err)
		}
	}
	if err != nil {
		c.remove(ctx)
		return nil, err
	}
	return c, nil
}

// startWithHelper creates and starts a container of the stack with the
// helper inside, and waits until its services run.
func (e *env) startWithHelper(ctx context.Context, st stack, metric string, i int, extra ...tarFile) (*container, error) {
	files := append([]tarFile{e.helperFile()}, extra...)
	c, err := createContainer(ctx, st.Image, containerName(st, metric, i), createOpts{Files: files})
	if err != nil {
		return nil, err
	}
	if err := c.start(ctx); err != nil {
		c.remove(ctx)
		return nil, err
	}
	if err := waitForComms(ctx, c, st.Ready, 30*time.Second); err != nil {
		c.remove(ctx)
		return nil, err
	}
	return c, nil
}
