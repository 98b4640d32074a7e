package boot

import (
	"os"
	"os/signal"
	"syscall"

	"alpine-server/internal/reaper"
)

// handled are the signals svinit catches. Catching (not ignoring) keeps
// their default action for children: exec resets caught handlers, while an
// ignored signal would stay ignored in every service. CHLD belongs to the
// reaper; URG is the Go runtime's preemption signal and is never touched.
var handled = []os.Signal{
	syscall.SIGTERM, syscall.SIGINT, syscall.SIGQUIT, syscall.SIGHUP,
	syscall.SIGUSR1, syscall.SIGUSR2, syscall.SIGWINCH, syscall.SIGALRM,
	syscall.SIGCONT, syscall.SIGTSTP, syscall.SIGTTIN, syscall.SIGTTOU,
	syscall.SIGVTALRM, syscall.SIGPROF, syscall.SIGIO, syscall.SIGPWR,
	syscall.SIGSYS, syscall.SIGXCPU, syscall.SIGXFSZ, syscall.SIGSTKFLT,
	syscall.SIGTRAP, syscall.SIGPIPE,
}

func (s *svinit) notifySignals() chan os.Signal {
	c := make(chan os.Signal, 32)
	signal.Notify(c, handled...)
	return c
}

func stopSignals(c chan os.Signal) { signal.Stop(c) }

// isStop: TERM, INT and QUIT shut svinit down.
func isStop(sig os.Signal) bool {
	return sig == syscall.SIGTERM || sig == syscall.SIGINT || sig == syscall.SIGQUIT
}

func sigName(sig os.Signal) string {
	if n, ok := sig.(syscall.Signal); ok {
		return "SIG" + reaper.SignalName(n)
	}
	return sig.String()
}

// killLogged signals the process group pgid; an error other than ESRCH
// (the group is gone, which KillGroup does not report) is logged, naming
// what was signalled.
func (s *svinit) killLogged(pgid int, sig syscall.Signal, what string) {
	if err := reaper.KillGroup(pgid, sig); err != nil {
		s.log.Warnf("signal SIG%s to %s (pid %d): %v", reaper.SignalName(sig), what, pgid, err)
	}
}
