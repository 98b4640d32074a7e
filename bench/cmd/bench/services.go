package main

import (
	"context"
	"fmt"
	"time"
)

// serviceCounts are the extra-service counts the memory-vs-services rows
// and chart are measured at (0 is the idle run).
var serviceCounts = []int{10, 30}

// chainLen is how many of the extra services form a dependency chain in
// svinit (each depends_on the previous); the rest start in parallel. runit
// and s6 have no dependencies: they start all at once.
const chainLen = 5

// tinyService is the extra service, the same in every stack: a shell run
// script that execs busybox sleep.
const tinyService = "exec sleep 2147483647"

// extraServices returns the files of n tiny services for the stack.
func extraServices(st stack, n int) []tarFile {
	var files []tarFile
	for k := 1; k <= n; k++ {
		svc := service{Name: fmt.Sprintf("tiny%02d", k), Run: tinyService}
		if k > 1 && k <= chainLen {
			svc.DependsOn = fmt.Sprintf("tiny%02d", k-1)
		}
		files = append(files, st.service(svc)...)
	}
	return files
}

// measureServices starts each stack with 10 and 30 extra services, one
// container at a time from a dropped page cache: boot until all run,
// memory 6 s after start (as the idle row), then docker stop.
func (e *env) measureServices(ctx context.Context) error {
	per := map[string]map[int]float64{} // stack → run → usage with 10
	for i := 0; i < e.cfg.Runs; i++ {
		for _, n := range serviceCounts {
			for _, st := range e.stacks {
				waitQuiet(ctx, &e.quiet)
				usage, err := e.servicesRun(ctx, st, n, i)
				if err != nil {
					return fmt.Errorf("%s, %d services, run %d: %w", st.Name, n, i+1, err)
				}
				if per[st.Name] == nil {
					per[st.Name] = map[int]float64{}
				}
				if n == serviceCounts[0] {
					per[st.Name][i] = usage
				} else if u10, ok := per[st.Name][i]; ok {
					e.res.add("svc_cost", st.Name, (usage-u10)/float64(n-serviceCounts[0])*1024)
				}
			}
		}
	}
	return nil
}

// servicesRun is one container with n extra services; it returns the
// cgroup usage in MiB.
func (e *env) servicesRun(ctx context.Context, st stack, n, i int) (float64, error) {
	c, err := createContainer(ctx, st.Image, containerName(st, fmt.Sprintf("svc%d", n), i), createOpts{Files: extraServices(st, n)})
	if err != nil {
		return 0, err
	}
	defer c.remove(ctx)
	_ = dropCaches()
	t0 := time.Now()
	if err := c.start(ctx); err != nil {
		return 0, err
	}
	if err := waitCount(ctx, c, "sleep", n, 30*time.Second); err != nil {
		return 0, err
	}
	boot := time.Since(c.Started)
	time.Sleep(time.Until(t0.Add(idleDelay)))
	m, err := readMemory(c)
	if err != nil {
		return 0, err
	}
	d, _, err := c.stop(ctx)
	if err != nil {
		return 0, err
	}
	usage := float64(m.Usage) / mb
	e.res.add(fmt.Sprintf("svc%d_usage", n), st.Name, usage)
	e.res.add(fmt.Sprintf("svc%d_boot", n), st.Name, boot.Seconds())
	e.res.add(fmt.Sprintf("svc%d_stop", n), st.Name, d.Seconds())
	logf("services %s %d #%d: all running %.3fs after PID 1 started, usage %.2f MiB, stop %.3fs",
		st.Name, n, i+1, boot.Seconds(), usage, d.Seconds())
	return usage, nil
}

// waitCount polls the container's processes until n of them are named
// comm, or the timeout passes.
func waitCount(ctx context.Context, c *container, comm string, n int, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		pids, _ := cgroupPids(c.memCG)
		k := 0
		for _, pid := range pids {
			if commOf(pid) == comm {
				k++
			}
		}
		if k >= n {
			return nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("%s: %d of %d %s processes after %s", c.Name, k, n, comm, timeout)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
