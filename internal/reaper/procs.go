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

// Proc is a live process seen in /proc.
type Proc struct {
	Pid  int
	Comm string
}

// Descendants lists every living process below pid (children, their
// children...), from /proc. At shutdown svinit signals only these: as a
// subreaper on a developer's machine, kill(-1) would hit the whole session.
func Descendants(pid int) []Proc {
	parent, comm := scanProc()
	children := map[int][]int{}
	for child, pp := range parent {
		children[pp] = append(children[pp], child)
	}
	var out []Proc
	for queue := []int{pid}; len(queue) > 0; queue = queue[1:] {
		for _, child := range children[queue[0]] {
			out = append(out, Proc{Pid: child, Comm: comm[child]})
			queue = append(queue, child)
		}
	}
	return out
}

// scanProc maps every pid to its parent and command name. Processes that
// vanish while we read are skipped.
func scanProc() (map[int]int, map[int]string) {
	parent, comm := map[int]int{}, map[int]string{}
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		// comm is in parentheses and may itself contain ") ": split at the last one.
		s := string(b)
		open, end := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
		if open < 0 || end < open {
			continue
		}
		fields := strings.Fields(s[end+1:])
		if len(fields) < 2 {
			continue
		}
		ppid, _ := strconv.Atoi(fields[1])
		parent[pid], comm[pid] = ppid, s[open+1:end]
	}
	return parent, comm
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
