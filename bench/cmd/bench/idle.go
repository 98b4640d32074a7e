package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"time"
)

// idleDelay is when the seed measured its memory: 6 s after start.
const idleDelay = 6 * time.Second

// measureIdle starts each stack Runs times, round-robin, from a dropped page
// cache: start → SSH banner, memory 6 s after start, then a cooperative stop.
func (e *env) measureIdle(ctx context.Context) error {
	dropped := true
	shared := 0
	err := e.eachRun(func(st stack, i int) error {
		if others := waitQuiet(ctx, &e.quiet); others > 0 {
			shared++
		}
		ok, err := e.idleRun(ctx, st, i)
		dropped = dropped && ok
		return err
	})
	if err != nil {
		return err
	}
	if shared > 0 {
		e.res.note(fmt.Sprintf("%d of %d idle samples were taken while containers other than the bench's ran on this machine. "+
			"Containers from the same base share its files' page cache, which is charged to the cgroup that read it first: "+
			"those samples can be lower (min of the range) than a container alone would use.", shared, e.cfg.Runs*len(e.stacks)))
	}
	if !dropped {
		e.res.note("The page cache could not be dropped before some starts (not root?): idle memory and start times are warm-cache figures.")
	}
	return nil
}

// quietBudget bounds the total time the memory groups wait for other containers
// to go away.
const quietBudget = 3 * time.Minute

// waitQuiet waits (within the budget left) until no container other than the
// bench's runs, and returns how many still run.
func waitQuiet(ctx context.Context, budget *time.Duration) int {
	for {
		others := otherContainers(ctx)
		if others == 0 || *budget <= 0 || ctx.Err() != nil {
			return others
		}
		time.Sleep(time.Second)
		*budget -= time.Second
	}
}

// otherContainers counts running containers the bench did not create.
func otherContainers(ctx context.Context) int {
	// "c" + the label: "c1" for the bench's containers, "c" for others.
	out, err := docker(ctx, nil, "ps", "--format", `c{{.Label "alpine-server.bench"}}`)
	if err != nil {
		return 0
	}
	n := 0
	for _, l := range strings.Fields(out) {
		if l == "c" {
			n++
		}
	}
	return n
}

// idleRun is one start/measure/stop cycle; it reports whether the page cache
// was dropped before the start.
func (e *env) idleRun(ctx context.Context, st stack, i int) (bool, error) {
	port, err := freePort()
	if err != nil {
		return false, err
	}
	// A fresh address each time: a reused one could meet a stale ARP entry.
	e.ipSeq++
	ip := benchIP(e.ipSeq)
	c, err := createContainer(ctx, st.Image, containerName(st, "idle", i), createOpts{SSHPort: port, IP: ip})
	if err != nil {
		return false, err
	}
	defer c.remove(ctx)
	dropped := dropCaches() == nil
	t0 := time.Now()
	ready, boot, err := startTimed(ctx, c, port, ip)
	if err != nil {
		return dropped, err
	}
	e.res.add("start_ssh", st.Name, ready.Seconds())
	e.res.add("boot_ssh", st.Name, boot.Seconds())
	time.Sleep(time.Until(t0.Add(idleDelay)))
	m, err := readMemory(c)
	if err != nil {
		return dropped, err
	}
	e.recordMemory(st.Name, m)
	d, _, err := c.stop(ctx)
	if err != nil {
		return dropped, err
	}
	e.res.add("stop", st.Name, d.Seconds())
	logf("idle %s #%d: ready %.3fs (PID 1 → SSH %.3fs), usage %.2f MiB, stop %.3fs", st.Name, i+1,
		ready.Seconds(), boot.Seconds(), float64(m.Usage)/mb, d.Seconds())
	return dropped, nil
}

// startTimed starts the container while polling its SSH port, published and
// direct; it returns docker start → banner on the published port, and PID 1
// started → banner on the container's own address.
func startTimed(ctx context.Context, c *container, port int, ip string) (ready, boot time.Duration, err error) {
	t0 := time.Now()
	published := pollBanner(ctx, net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	direct := pollBanner(ctx, net.JoinHostPort(ip, "22"))
	if err := c.start(ctx); err != nil {
		return 0, 0, err
	}
	p, d := <-published, <-direct
	if p.err != nil || d.err != nil {
		return 0, 0, fmt.Errorf("%s: %w", c.Name, errors.Join(p.err, d.err))
	}
	return p.t.Sub(t0), d.t.Sub(c.Started), nil
}

func (e *env) recordMemory(stack string, m memSample) {
	e.res.add("mem_usage", stack, float64(m.Usage)/mb)
	e.res.add("mem_rss", stack, float64(m.RSS)/mb)
	e.res.add("mem_cache", stack, float64(m.Cache)/mb)
	e.res.add("mem_pss", stack, m.PSS/mb)
	e.res.add("pid1_pss", stack, m.PID1PSS/mb)
	e.res.addPSS(stack, m.ByName)
}

// measureStubborn times docker stop with one more service that ignores
// TERM, stopped by each stack's own 2 s stop timeout, and notes whether the
// service was sent TERM at all.
func (e *env) measureStubborn(ctx context.Context) error {
	termed := map[string]int{}
	codes := map[string][]int{}
	err := e.eachRun(func(st stack, i int) error {
		got, code, err := e.stubbornRun(ctx, st, i)
		if got {
			termed[st.Name]++
		}
		codes[st.Name] = append(codes[st.Name], code)
		return err
	})
	if err != nil {
		return err
	}
	for _, st := range e.stacks {
		e.res.note(fmt.Sprintf("Stop with a TERM-ignoring service, %s: the service received TERM in %d of %d runs; container exit codes %v. Stop timeout: %s.",
			st.Name, termed[st.Name], e.cfg.Runs, codes[st.Name], st.StopTimeout))
	}
	return nil
}

func (e *env) stubbornRun(ctx context.Context, st stack, i int) (bool, int, error) {
	svc := service{Name: "stubborn", Run: "exec " + helperPath + " stubborn", StopTimeout: 2 * time.Second}
	files := append([]tarFile{e.helperFile()}, st.service(svc)...)
	c, err := createContainer(ctx, st.Image, containerName(st, "stubborn", i), createOpts{Files: files})
	if err != nil {
		return false, 0, err
	}
	defer c.remove(ctx)
	if err := c.start(ctx); err != nil {
		return false, 0, err
	}
	if err := waitForComms(ctx, c, append(st.Ready, "benchhelper"), 30*time.Second); err != nil {
		return false, 0, err
	}
	if err := waitLog(ctx, c, "bench-stubborn: up", 10*time.Second); err != nil {
		return false, 0, err
	}
	d, code, err := c.stop(ctx)
	if err != nil {
		return false, 0, err
	}
	e.res.add("stop_stubborn", st.Name, d.Seconds())
	logf("stubborn %s #%d: stop %.3fs, exit %d", st.Name, i+1, d.Seconds(), code)
	return logHas(c, "bench-stubborn: got TERM"), code, nil
}

// logHas says whether the container's log (docker's json-file) holds s.
func logHas(c *container, s string) bool {
	b, err := os.ReadFile(c.logPath)
	return err == nil && strings.Contains(string(b), s)
}

// waitLog polls the container's log until it holds s.
func waitLog(ctx context.Context, c *container, s string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for !logHas(c, s) {
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("%s: %q not in its log after %s", c.Name, s, timeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return nil
}
