package reaper

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"
)

// Spec is everything svinit decides about a child it starts: services,
// finish scripts, exec probes, cron jobs, startup scripts and the main
// command all go through it, so each rule below is written once.
type Spec struct {
	Argv []string // Argv[0] looked up on Env's PATH (execvp rules) unless it contains '/'
	Dir  string   // working directory; "" = svinit's own
	Env  []string
	Cred *syscall.Credential // nil: svinit's own user
	// Files are the child's fds 0, 1, 2, then extra fds 3, 4, ... (a
	// readiness fd). Each is svinit's fd number; it is dup'd into place.
	Files []uintptr
	// Foreground makes the child's new group the terminal's foreground
	// group when Files[0] is a terminal (docker run -it); without a
	// controlling tty it falls back quietly to a background group.
	Foreground bool
	// Run, when not 0, marks the child and everything it forks as this run
	// (a soft RLIMIT_LOCKS of MarkBase+Run), so Marked finds what leaves
	// its process group.
	Run uint64
}

// Launch starts s in a new process group of its own (its pid is the
// group's id), registered before any exit can be reaped. Errors name what
// is missing: the directory ("directory /x: no such file or directory")
// or the program ("start /usr/bin/x: no such file or directory").
func (r *Reaper) Launch(s Spec) (*Child, error) {
	if len(s.Argv) == 0 || s.Argv[0] == "" {
		return nil, errors.New("start: empty command")
	}
	path, err := LookPath(s.Argv[0], s.Env)
	if err != nil {
		return nil, err
	}
	if err := checkDir(s.Dir); err != nil {
		return nil, err
	}
	sys := &syscall.SysProcAttr{Setpgid: true, Credential: s.Cred}
	attr := &syscall.ProcAttr{Dir: s.Dir, Env: s.Env, Files: s.Files, Sys: sys}
	if s.Foreground && len(s.Files) > 0 && isTerminal(s.Files[0]) {
		sys.Foreground, sys.Ctty = true, 0 // Ctty is the child's fd: Files[0]
	}
	c, err := r.start(path, s.Argv, attr, s.Run)
	if err != nil && sys.Foreground {
		// fd 0 is a terminal but not our controlling one (tcsetpgrp
		// fails): run in the background rather than not at all.
		sys.Foreground, sys.Ctty = false, 0
		c, err = r.start(path, s.Argv, attr, s.Run)
	}
	if err != nil && s.Dir != "" && isPathErr(err) {
		// The directory may have gone between the check and the fork;
		// chdir and exec fail with the same errno, so look again.
		if derr := checkDir(s.Dir); derr != nil {
			return nil, derr
		}
	}
	return c, err
}

// checkDir says, naming the directory, why dir cannot be a working
// directory. The child's chdir would fail with the same errno as a missing
// program, and the error would blame the program.
func checkDir(dir string) error {
	if dir == "" {
		return nil
	}
	fi, err := os.Stat(dir)
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return fmt.Errorf("directory %s: %w", dir, err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("directory %s: %w", dir, syscall.ENOTDIR)
	}
	return nil
}

func isPathErr(err error) bool {
	return errors.Is(err, syscall.ENOENT) || errors.Is(err, syscall.ENOTDIR) || errors.Is(err, syscall.EACCES)
}

func isTerminal(fd uintptr) bool {
	_, err := unix.IoctlGetTermios(int(fd), unix.TCGETS)
	return err == nil
}

// nullFile is /dev/null, opened once and shared by every child that needs
// it: one fd for the whole of svinit, not one per service (under
// `ulimit -n 64` the difference is how many services can boot).
type nullFile struct {
	once sync.Once
	f    *os.File
	err  error
}

// Null returns svinit's one /dev/null (read-write), for children's stdin
// or discarded output. It stays open for the Reaper's life; never close it.
func (r *Reaper) Null() (uintptr, error) {
	r.null.once.Do(func() {
		r.null.f, r.null.err = os.OpenFile(os.DevNull, os.O_RDWR, 0)
	})
	if r.null.err != nil {
		return 0, fmt.Errorf("open %s: %w", os.DevNull, r.null.err)
	}
	return r.null.f.Fd(), nil
}
