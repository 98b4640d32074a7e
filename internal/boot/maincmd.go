package boot

import "alpine-server/internal/reaper"

// mainCmd is the optional command after `--`: its exit is the container's.
type mainCmd struct {
	child  *reaper.Child
	exited bool
	exit   reaper.Exit
}

// startMain runs argv with svinit's stdin, stdout and stderr in its own
// process group. On a terminal, that group becomes the foreground group, so
// `docker run -it image sh` gets a working TTY (job control, Ctrl-C to the
// shell, not to svinit). The boot loop calls it once the services are
// ready or SVINIT_WAIT_READY_TIMEOUT is over, never after a stop was asked.
func (s *svinit) startMain(argv []string) (*mainCmd, error) {
	c, err := s.reap.Launch(reaper.Spec{
		Argv: argv, Env: s.environ(), Files: []uintptr{0, 1, 2}, Foreground: true,
	})
	if err != nil {
		return nil, err
	}
	s.log.Debugf("main command started (pid %d)", c.Pid)
	return &mainCmd{child: c}, nil
}
