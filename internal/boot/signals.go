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

// loop runs until something says stop: a signal, the main command's exit,
// an essential service's failure, or `sv shutdown`.
func (s *svinit) loop(sigs <-chan os.Signal, m *mainCmd) int {
	var mainDone <-chan reaper.Exit
	if m != nil {
		mainDone = m.child.Done
	}
	for {
		select {
		case sig := <-sigs:
			switch {
			case isStop(sig):
				s.log.Infof("got %s; shutting down", sigName(sig))
				return s.shutdown(0, m)
			case sig == syscall.SIGHUP:
				go s.reloadAndLog()
			case sig == syscall.SIGPIPE:
				// our own write to a closed stdout: nothing to forward
			case m != nil:
				s.log.Debugf("forwarding %s to the main command", sigName(sig))
				_ = reaper.KillGroup(m.child.Pid, sig.(syscall.Signal))
			default:
				s.log.Debugf("got %s; no main command to forward it to, ignored", sigName(sig))
			}
		case e := <-mainDone:
			s.log.Infof("main command %s; shutting down", e)
			m.exited, m.exit = true, e
			return s.shutdown(e.Code, m)
		case r := <-s.stopC:
			s.log.Infof("%s; shutting down", r.why)
			return s.shutdown(r.code, m)
		}
	}
}
