package reaper

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// Proc is a live process seen in /proc. Pid and Start together name one
// process: a pid reused after it exited has another start time.
type Proc struct {
	Pid   int
	Comm  string
	Pgid  int
	Start uint64 // starttime, in clock ticks since boot (proc_pid_stat(5) field 22)
}

// stat is what svinit reads of /proc/PID/stat.
type stat struct {
	Proc
	state byte // R, S, D, Z, ...
	ppid  int
}

// Descendants lists every living process below pid (children, their
// children...), from /proc. At shutdown svinit signals only these: as a
// subreaper on a developer's machine, kill(-1) would hit the whole session.
func Descendants(pid int) []Proc {
	var out []Proc
	for _, s := range below(scanStats("/proc"), pid) {
		out = append(out, s.Proc)
	}
	return out
}

// below lists, from stats, the processes under pid, parents first.
func below(stats map[int]stat, pid int) []stat {
	children := map[int][]int{}
	for child, s := range stats {
		children[s.ppid] = append(children[s.ppid], child)
	}
	var out []stat
	for queue := []int{pid}; len(queue) > 0; queue = queue[1:] {
		for _, child := range children[queue[0]] {
			out = append(out, stats[child])
			queue = append(queue, child)
		}
	}
	return out
}

// scanStats reads every /proc/PID/stat under root. Processes that vanish
// while we read are skipped.
func scanStats(root string) map[int]stat {
	stats := map[int]stat{}
	entries, _ := os.ReadDir(root)
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if s, ok := readStat(root, pid); ok {
			stats[pid] = s
		}
	}
	return stats
}

// readStat parses root/PID/stat; false when it is gone or unreadable.
func readStat(root string, pid int) (stat, bool) {
	b, err := os.ReadFile(root + "/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return stat{}, false
	}
	// comm is in parentheses and may itself contain ") ": split at the last one.
	s := string(b)
	open, end := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
	if open < 0 || end < open {
		return stat{}, false
	}
	// From field 3 on: state ppid pgrp ... starttime is field 22.
	f := strings.Fields(s[end+1:])
	if len(f) < 20 || len(f[0]) != 1 {
		return stat{}, false
	}
	ppid, err1 := strconv.Atoi(f[1])
	pgid, err2 := strconv.Atoi(f[2])
	start, err3 := strconv.ParseUint(f[19], 10, 64)
	if err1 != nil || err2 != nil || err3 != nil {
		return stat{}, false
	}
	return stat{Proc: Proc{Pid: pid, Comm: s[open+1 : end], Pgid: pgid, Start: start}, state: f[0][0], ppid: ppid}, true
}

// KillGroup sends sig to a process group (pid > 0 means the group led by pid).
// ESRCH — the group is already gone — is not an error.
func KillGroup(pgid int, sig syscall.Signal) error {
	err := unix.Kill(-pgid, sig)
	if err == unix.ESRCH {
		return nil
	}
	return err
}

var signalNames = map[syscall.Signal]string{
	unix.SIGHUP: "HUP", unix.SIGINT: "INT", unix.SIGQUIT: "QUIT", unix.SIGILL: "ILL",
	unix.SIGTRAP: "TRAP", unix.SIGABRT: "ABRT", unix.SIGBUS: "BUS", unix.SIGFPE: "FPE",
	unix.SIGKILL: "KILL", unix.SIGUSR1: "USR1", unix.SIGSEGV: "SEGV", unix.SIGUSR2: "USR2",
	unix.SIGPIPE: "PIPE", unix.SIGALRM: "ALRM", unix.SIGTERM: "TERM", unix.SIGCHLD: "CHLD",
	unix.SIGCONT: "CONT", unix.SIGSTOP: "STOP", unix.SIGTSTP: "TSTP", unix.SIGTTIN: "TTIN",
	unix.SIGTTOU: "TTOU", unix.SIGURG: "URG", unix.SIGXCPU: "XCPU", unix.SIGXFSZ: "XFSZ",
	unix.SIGVTALRM: "VTALRM", unix.SIGPROF: "PROF", unix.SIGWINCH: "WINCH", unix.SIGIO: "IO",
	unix.SIGPWR: "PWR", unix.SIGSYS: "SYS", unix.SIGSTKFLT: "STKFLT",
}

// SignalName is the short name of sig ("TERM"), or its number.
func SignalName(sig syscall.Signal) string {
	if n, ok := signalNames[sig]; ok {
		return n
	}
	return strconv.Itoa(int(sig))
}

// defaultPath is execvp's fallback when the environment has no PATH.
const defaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// LookPath finds file on the PATH of env, as execvp would; a name with a
// slash is used as is. exec.LookPath is not used: it reads svinit's own
// PATH, not the child's.
func LookPath(file string, env []string) (string, error) {
	if strings.Contains(file, "/") {
		return file, nil
	}
	path := defaultPath
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "PATH="); ok {
			path = v
		}
	}
	for _, dir := range filepath.SplitList(path) {
		if dir == "" {
			dir = "."
		}
		p := filepath.Join(dir, file)
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode().Perm()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s: not found in PATH %s", file, path)
}
