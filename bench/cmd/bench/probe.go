package main

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// memSample is one idle-memory reading of a container.
type memSample struct {
	Usage, RSS, Cache int64   // bytes, from the memory cgroup
	PSS, PID1PSS      float64 // bytes, from /proc/PID/smaps_rollup
	ByName            map[string]float64
}

// readMemory reads the container's memory cgroup and the Pss of each of its
// processes.
func readMemory(c *container) (memSample, error) {
	var m memSample
	var err error
	if m.Usage, err = readInt(filepath.Join(c.memCG, "memory.usage_in_bytes")); err != nil {
		return m, err
	}
	stat, err := readKeyed(filepath.Join(c.memCG, "memory.stat"))
	if err != nil {
		return m, err
	}
	m.RSS, m.Cache = stat["rss"], stat["cache"]
	pids, err := cgroupPids(c.memCG)
	if err != nil {
		return m, err
	}
	m.ByName = map[string]float64{}
	for _, pid := range pids {
		pss, err := pssOf(pid)
		if err != nil {
			continue // it exited between the listing and the read
		}
		m.PSS += pss
		m.ByName[commOf(pid)] += pss / mb
		if pid == c.Pid {
			m.PID1PSS = pss
		}
	}
	return m, nil
}

// readKeyed parses "key value" lines (memory.stat).
func readKeyed(path string) (map[string]int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	out := map[string]int64{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), " "); ok {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return nil, fmt.Errorf("parse %s: %q: %w", path, sc.Text(), err)
			}
			out[k] = n
		}
	}
	return out, sc.Err()
}

// cgroupPids lists the processes (thread-group leaders) of a cgroup.
func cgroupPids(dir string) ([]int, error) {
	b, err := os.ReadFile(filepath.Join(dir, "cgroup.procs"))
	if err != nil {
		return nil, err
	}
	var pids []int
	for _, f := range strings.Fields(string(b)) {
		if pid, err := strconv.Atoi(f); err == nil {
			pids = append(pids, pid)
		}
	}
	return pids, nil
}

// pssOf returns a process's proportional set size in bytes.
func pssOf(pid int) (float64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/smaps_rollup", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "Pss:" {
			kb, err := strconv.ParseFloat(f[1], 64)
			return kb * 1024, err
		}
	}
	return 0, fmt.Errorf("pid %d: no Pss line in smaps_rollup", pid)
}

func commOf(pid int) string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
	if err != nil {
		return "?"
	}
	return strings.TrimSpace(string(b))
}

// waitForComms polls the container's processes until each name in want runs
// (the stack's services are up), or the timeout passes.
func waitForComms(ctx context.Context, c *container, want []string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		pids, _ := cgroupPids(c.memCG)
		have := map[string]bool{}
		for _, pid := range pids {
			have[commOf(pid)] = true
		}
		missing := ""
		for _, w := range want {
			if !have[w] {
				missing = w
				break
			}
		}
		if missing == "" {
			return nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("%s: no %s process after %s", c.Name, missing, timeout)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// bannerAt is when an address first gave an SSH banner.
type bannerAt struct {
	t   time.Time
	err error
}

// pollBanner runs waitBanner on addr in the background.
func pollBanner(ctx context.Context, addr string) <-chan bannerAt {
	ch := make(chan bannerAt, 1)
	go func() {
		t, err := waitBanner(ctx, addr, 30*time.Second)
		ch <- bannerAt{t, err}
	}()
	return ch
}

// waitBanner tries addr every 10 ms, each try in its own goroutine, and
// returns when the first one got an SSH banner. Tries overlap because one
// can hang (an address whose ARP is not resolved yet, docker's proxy still
// dialling the container) while a later one would already succeed; and
// docker's proxy accepts connections before the container listens and
// closes them, so a connect alone proves nothing.
func waitBanner(ctx context.Context, addr string, timeout time.Duration) (time.Time, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	got := make(chan time.Time, 1)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case t := <-got:
			return t, nil
		case <-ctx.Done():
			return time.Time{}, fmt.Errorf("no SSH banner on %s within %s", addr, timeout)
		case <-tick.C:
			go func() {
				if banner(addr) {
					select {
					case got <- time.Now():
					default:
					}
				}
			}()
		}
	}
}

func banner(addr string) bool {
	conn, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return false
	}
	defer conn.Close()
	_ = conn.SetReadDeadline(time.Now().Add(2 * time.Second))
	buf := make([]byte, 4)
	n := 0
	for n < 4 {
		k, err := conn.Read(buf[n:])
		n += k
		if err != nil {
			break
		}
	}
	return string(buf[:n]) == "SSH-"
}

// freePort asks the kernel for a free TCP port on 127.0.0.1.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// dropCaches empties the page cache so that each start reads its files
// from disk and charges them to its own cgroup, as the seed measured.
func dropCaches() error {
	return os.WriteFile("/proc/sys/vm/drop_caches", []byte("3\n"), 0o200)
}
