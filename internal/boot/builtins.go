package boot

import (
	"fmt"
	"os"
	"syscall"

	"alpine-server/internal/builtin"
	"alpine-server/internal/cron"
	"alpine-server/internal/reaper"
	"alpine-server/internal/syslogd"
)

// newBuiltin is the builtin.Factory: syslog and cron, wired to svinit's
// mux, reaper and users.
func (s *svinit) newBuiltin(name string, d builtin.Deps) (builtin.Service, error) {
	switch name {
	case "syslog":
		return syslogd.NewService(name, d)
	case "cron":
		return s.newCron(d)
	}
	return nil, fmt.Errorf("unknown built-in %q", name)
}

func (s *svinit) newCron(d builtin.Deps) (builtin.Service, error) {
	cfg := cron.Config{
		Environ: d.Environ, Log: d.Log, Boot: &s.cronBoot,
		Spawn: s.cronSpawner(d),
		LookupUser: func(user string) (string, error) {
			c, err := d.Users.Lookup(user, "")
			if err != nil {
				return "", err
			}
			return c.Home, nil
		},
	}
	if err := cron.ApplyEnv(&cfg, d.Env); err != nil {
		return nil, fmt.Errorf("service %s: %w", d.Name, err)
	}
	return cron.New(cfg)
}

// cronSpawner starts a job as its user with `SHELL -c COMMAND`, in its own
// process group, its output prefixed cron/USER.
func (s *svinit) cronSpawner(d builtin.Deps) cron.SpawnFunc {
	return func(j cron.Job) (cron.Process, error) {
		cred, err := d.Users.Lookup(j.User, "")
		if err != nil {
			return nil, err
		}
		pipes, err := s.mux.PipePair("cron/"+j.User, d.Format)
		if err != nil {
			return nil, err
		}
		// Each job has its own pipes: closing svinit's ends right after
		// the fork lets its last line out as soon as it exits.
		defer pipes.Close()
		null, err := s.reap.Null()
		if err != nil {
			return nil, err
		}
		out, errw := pipes.Fds()
		c, err := s.reap.Launch(reaper.Spec{
			Argv: []string{j.Shell, "-c", j.Command}, Dir: jobDir(cred.Home), Env: j.Env,
			Cred: cred.ForChild(), Files: []uintptr{null, out, errw},
		})
		if err != nil {
			return nil, err
		}
		return newJobProcess(c), nil
	}
}

// jobProcess adapts a reaper.Child to cron.Process.
type jobProcess struct {
	c    *reaper.Child
	done chan int
}

func newJobProcess(c *reaper.Child) *jobProcess {
	p := &jobProcess{c: c, done: make(chan int, 1)}
	go func() { e := <-c.Done; p.done <- e.Code; close(p.done) }()
	return p
}

func (p *jobProcess) Pid() int                        { return p.c.Pid }
func (p *jobProcess) Done() <-chan int                { return p.done }
func (p *jobProcess) Signal(sig syscall.Signal) error { return reaper.KillGroup(p.c.Pid, sig) }

// jobDir is where a job starts: the user's home, or / when it does not
// exist (Debian's nobody has /nonexistent), as busybox crond falls back.
func jobDir(home string) string {
	if fi, err := os.Stat(home); err == nil && fi.IsDir() {
		return home
	}
	return "/"
}
