package reaper

import (
	"fmt"
	"maps"
	"os"
	"slices"
	"strconv"
)

// OwnProc reports why /proc cannot be trusted to list svinit's processes,
// or nil when it can. /proc/self must name svinit's own pid: as PID 1 of a
// pid namespace that sees another namespace's /proc (unshare --pid without
// a new proc mount), the pids listed there are that namespace's — the
// host's — and with no procfs at all nothing is listed.
func OwnProc() error {
	link, err := os.Readlink("/proc/self")
	if err != nil {
		return fmt.Errorf("no procfs at /proc (%w)", err)
	}
	if self := strconv.Itoa(os.Getpid()); link != self {
		return fmt.Errorf("/proc is another pid namespace's (/proc/self is %s, svinit is pid %s)", link, self)
	}
	return nil
}

// Started lists, sorted, the pids of the children Start forked that have
// not been reaped yet. A child launched with Launch leads its own process
// group, so each pid is also a group id that is surely svinit's: what the
// final sweep may signal when /proc is not its own.
func (r *Reaper) Started() []int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Sorted(maps.Keys(r.owners))
}
