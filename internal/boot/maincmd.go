package boot

import (
	"context"

	"alpine-server/internal/reaper"
)

// mainCmd is the optional command after `--`: its exit is the container's.
type mainCmd struct {
	child  *reaper.Child
	exited bool
	exit   reaper.Exit
}

// startMain waits for the auto-start services to be ready (bounded by
// SVINIT_WAIT_READY_TIMEOUT), then runs argv with svinit's stdin, stdout and
// stderr in its own process group. On a terminal, that group becomes the
// foreground group, so `docker run -it image sh` gets a working TTY (job
// control, Ctrl-C to the shell, not to svinit).
func (s *svinit) startMain(ctx context.Context, argv []string) (*mainCmd, error) {
	if t := s.set.WaitReadyTimeout; t > 0 {
		wctx, cancel := context.WithTimeout(ctx, t)
		err := s.sup.WaitReady(wctx, s.sup.AutoStart())
		cancel()
		if err != nil {
			s.log.Warnf("services not ready (%v); starting the main command anyway", err)
		}
	}
	c, err := s.reap.Launch(reaper.Spec{
		Argv: argv, Env: s.environ(), Files: []uintptr{0, 1, 2}, Foreground: true,
	})
	if err != nil {
		return nil, err
	}
	s.log.Debugf("main command started (pid %d)", c.Pid)
	return &mainCmd{child: c}, nil
}
