package main

import (
	"context"
	"fmt"
	"path/filepath"
	"time"
)

// steadyDelay is when the steady-state memory is read: long after boot,
// with the HEALTHCHECK having run every healthInterval since. The figure
// is the mean of steadyReads reads a second apart centred on it: docker
// runs the checks on a fixed beat, so one read at 90 s would always land
// at the same phase of it (here: on a check).
const (
	steadyDelay = 90 * time.Second
	steadyReads = 11
)

// measureSteady starts each stack SteadyRuns times, round-robin and one at a
// time (containers of the same base share page cache, charged to whoever
// read it first), from a dropped page cache, with the image's HEALTHCHECK
// every healthInterval, and reads its memory steadyDelay after the start.
func (e *env) measureSteady(ctx context.Context) error {
	for i := 0; i < e.cfg.SteadyRuns; i++ {
		for _, st := range e.stacks {
			waitQuiet(ctx, &e.quiet)
			if err := e.steadyRun(ctx, st, i); err != nil {
				return fmt.Errorf("%s run %d: %w", st.Name, i+1, err)
			}
		}
	}
	return nil
}

func (e *env) steadyRun(ctx context.Context, st stack, i int) error {
	c, err := createContainer(ctx, st.Image, containerName(st, "steady", i), createOpts{Health: true})
	if err != nil {
		return err
	}
	defer c.remove(ctx)
	_ = dropCaches()
	t0 := time.Now()
	if err := c.start(ctx); err != nil {
		return err
	}
	var usage, ws float64
	first := t0.Add(steadyDelay - steadyReads/2*time.Second)
	for k := range steadyReads {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Until(first.Add(time.Duration(k) * time.Second))):
		}
		u, err := readInt(filepath.Join(c.memCG, "memory.usage_in_bytes"))
		if err != nil {
			return err
		}
		stat, err := readKeyed(filepath.Join(c.memCG, "memory.stat"))
		if err != nil {
			return err
		}
		usage += float64(u) / steadyReads
		ws += float64(workingSet(u, stat)) / steadyReads
	}
	e.res.add("steady_usage", st.Name, usage/mb)
	e.res.add("steady_ws", st.Name, ws/mb)
	health, _ := docker(ctx, nil, "inspect", "-f", "{{if .State.Health}}{{.State.Health.Status}} {{len .State.Health.Log}}{{end}}", c.ID)
	logf("steady %s #%d: usage %.2f MiB, working set %.2f MiB, health %q", st.Name, i+1, usage/mb, ws/mb, health)
	return nil
}

// workingSet is what `docker stats` and the kubelet report: usage minus
// the inactive file pages (those the kernel reclaims first).
func workingSet(usage int64, stat map[string]int64) int64 {
	ws := usage - stat["total_inactive_file"]
	if ws < 0 {
		return 0
	}
	return ws
}
