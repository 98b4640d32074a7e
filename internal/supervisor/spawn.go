package supervisor

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"
	"syscall"

	"alpine-server/internal/builtin"
	"alpine-server/internal/manifest"
	"alpine-server/internal/notify"
	"alpine-server/internal/reaper"
)

// runner is one running instance of a service: a process group or a
// built-in's goroutine. Its exit arrives on done, exactly once.
type runner interface {
	pid() int // 0 for a built-in
	done() <-chan reaper.Exit
	signal(sig syscall.Signal) error
	stop(sig syscall.Signal) // ask it to end
	kill()                   // make it end
}

// procRunner is a service process, leader of its own process group — or,
// after it exited (exit nil), the group it left behind. main is the
// process its MAINPID= named (0: none), which sv status shows.
type procRunner struct {
	u    *unit
	pgid int
	exit <-chan reaper.Exit
	main int
}

func (p procRunner) pid() int                        { return p.pgid }
func (p procRunner) done() <-chan reaper.Exit        { return p.exit }
func (p procRunner) signal(sig syscall.Signal) error { return p.u.killGroup(p.pgid, sig) }
func (p procRunner) kill()                           { p.u.killGroup(p.pgid, syscall.SIGKILL) }

// stop sends sig, then CONT so a stopped (paused) group can act on it, as
// runit does.
func (p procRunner) stop(sig syscall.Signal) {
	p.u.killGroup(p.pgid, sig)
	if sig != syscall.SIGKILL && sig != syscall.SIGCONT {
		p.u.killGroup(p.pgid, syscall.SIGCONT)
	}
}

// system is what units do to processes: launch them, signal their groups,
// look whether a group is empty, and find a run's processes that left
// its group. Tests replace it with a fake.
type system interface {
	launch(s reaper.Spec) (*reaper.Child, error)
	killGroup(pgid int, sig syscall.Signal) error
	groupAlive(pgid int) bool
	marked(run uint64) []reaper.Proc // live processes marked as run; none when /proc is not ours
	procAlive(p reaper.Proc) bool
	signalProc(p reaper.Proc, sig syscall.Signal) error
	member(pid, pgid int) bool                                          // pid is a process of the run whose group is pgid
	watchPid(pid int) (exit <-chan reaper.Exit, stop func(), err error) // a MAINPID= process's end (mainpid.go)
}

type realSystem struct{ r *reaper.Reaper }

func (s realSystem) launch(spec reaper.Spec) (*reaper.Child, error) { return s.r.Launch(spec) }

func (realSystem) killGroup(pgid int, sig syscall.Signal) error { return reaper.KillGroup(pgid, sig) }

// marked scans /proc only when it is svinit's own: another pid
// namespace's pids are not ours to signal. Then the group is all there is.
func (realSystem) marked(run uint64) []reaper.Proc {
	if reaper.OwnProc() != nil {
		return nil
	}
	return reaper.Marked(run)
}

func (realSystem) procAlive(p reaper.Proc) bool { return reaper.Alive(p) }

func (realSystem) signalProc(p reaper.Proc, sig syscall.Signal) error {
	return reaper.SignalProc(p, sig)
}

func (realSystem) member(pid, pgid int) bool { return notify.Member(pid, pgid) }

func (realSystem) watchPid(pid int) (<-chan reaper.Exit, func(), error) { return watchPidfd(pid) }

// groupAlive: some process (a zombie not reaped yet included) is still in
// the group. EPERM means one exists that we may not signal.
func (realSystem) groupAlive(pgid int) bool {
	err := syscall.Kill(-pgid, 0)
	return err == nil || err == syscall.EPERM
}

// builtinRunner runs a built-in in a goroutine. Its exit codes: 0 when it
// returned nil, 1 for an error, 2 for a recovered panic.
type builtinRunner struct {
	svc    builtin.Service
	cancel context.CancelFunc
	exit   chan reaper.Exit
	err    error // why Run failed; written before exit is sent
}

func (b *builtinRunner) pid() int                        { return 0 }
func (b *builtinRunner) done() <-chan reaper.Exit        { return b.exit }
func (b *builtinRunner) signal(sig syscall.Signal) error { b.svc.Signal(sig); return nil }
func (b *builtinRunner) stop(syscall.Signal)             { b.cancel() }
func (b *builtinRunner) kill()                           { b.cancel() }

// startBuiltin runs svc until it returns. A panic is recovered, logged with
// its stack and reported as exit 2: PID 1 never dies of a built-in.
func (u *unit) startBuiltin(svc builtin.Service, ready func()) runner {
	ctx, cancel := context.WithCancel(context.Background())
	b := &builtinRunner{svc: svc, cancel: cancel, exit: make(chan reaper.Exit, 1)}
	go func() {
		defer close(b.exit)
		var err error
		func() {
			defer builtin.Recover(func(p error) { err = p })
			err = svc.Run(ctx, ready)
		}()
		b.exit <- u.builtinExit(b, err)
	}()
	return b
}

// builtinExit logs how a built-in ended and gives its exit: 0 for nil, 2
// for a panic (in Run or in a goroutine of its own), 1 for an error.
func (u *unit) builtinExit(b *builtinRunner, err error) reaper.Exit {
	var p *builtin.PanicError
	switch {
	case err == nil:
		return reaper.Exit{Code: 0}
	case errors.As(err, &p):
		u.log.Errorf("service %s panicked: %v\n%s", u.name, p.Value, p.Stack)
		return reaper.Exit{Code: 2}
	}
	b.err = err
	if !u.sup.cannotAsNonRoot(err) {
		u.log.Errorf("service %s failed: %v", u.name, err)
	}
	return reaper.Exit{Code: 1}
}

// serviceEnv is the service's environment: the snapshot, the manifest's
// variables over it, and HOME of the user it runs as (su-exec sets HOME).
func serviceEnv(base []string, svc *manifest.Service, home string) map[string]string {
	env := map[string]string{}
	for _, kv := range base {
		if k, v, ok := strings.Cut(kv, "="); ok {
			env[k] = v
		}
	}
	maps.Copy(env, svc.Environment)
	if home != "" {
		env["HOME"] = home
	}
	return env
}

// envService names the service in the environment of its main process,
// finish script and exec probes. It is for them to read, never how svinit
// finds a service's processes: PostgreSQL and nginx overwrite the
// environ area /proc/PID/environ shows with their process titles.
const envService = "SVINIT_SERVICE"

// environ is serviceEnv as a child's KEY=value list, sorted, with
// SVINIT_SERVICE set.
func environ(base []string, svc *manifest.Service, home string) []string {
	env := serviceEnv(base, svc, home)
	env[envService] = svc.Name
	out := make([]string, 0, len(env))
	for _, k := range slices.Sorted(maps.Keys(env)) {
		out = append(out, k+"="+env[k])
	}
	return out
}

// spawn starts argv for the service u (its main process, finish or an
// exec probe): in its folder or directory, as its user, in a new process
// group, with stdio as fds 0, 1, 2.
func (u *unit) spawn(argv []string, stdio [3]uintptr) (*reaper.Child, error) {
	return u.spawnWith(argv, stdio[:], nil, 0)
}

// spawnWith is spawn with the child's fds 0, 1, 2 and beyond, extra
// variables over its environment, and, for a main process, the run it is
// marked with (reaper.Spec.Run; 0 for the others).
func (u *unit) spawnWith(argv []string, files []uintptr, extra []string, run uint64) (*reaper.Child, error) {
	svc := u.svc
	spec := reaper.Spec{Argv: argv, Dir: svc.Directory, Files: files, Run: run}
	if spec.Dir == "" {
		spec.Dir = svc.Dir
	}
	home := ""
	if svc.User != "" {
		cred, err := u.sup.cfg.Users.Lookup(svc.User, svc.Group)
		if err != nil {
			return nil, fmt.Errorf("%s: user: %w", svc.Pos("user"), err)
		}
		spec.Cred, home = cred.ForChild(), cred.Home
	}
	spec.Env = append(withoutNotifyEnv(environ(u.sup.cfg.Environ(), svc, home)), extra...)
	c, err := u.sup.sys.launch(spec)
	if errors.Is(err, syscall.EPERM) && svc.User != "" {
		return nil, fmt.Errorf("%w (svinit runs as uid %d and cannot switch to user %s)", err, os.Getuid(), svc.User)
	}
	return c, err
}

// cannotAsNonRoot: the error is a permission refusal and svinit is not
// root (docker run --user). Retrying cannot help, so the service is
// skipped, once and clearly, instead of crash-looping.
func (s *Supervisor) cannotAsNonRoot(err error) bool {
	return s.rootless && (errors.Is(err, os.ErrPermission) || errors.Is(err, syscall.EPERM) || errors.Is(err, syscall.EACCES))
}
