package pid1

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// trappingMain records each signal it gets in a file named after it; a
// background child in its process group records USR1 too.
const trappingMain = `
trap 'touch "$T/usr1"' USR1
trap 'touch "$T/usr2"' USR2
trap 'touch "$T/winch"' WINCH
trap 'echo main got TERM; exit 42' TERM
( trap 'touch "$T/child-usr1"' USR1; touch "$T/child.ready"; while :; do sleep 0.05; done ) &
touch "$T/main.ready"
while :; do sleep 0.05; done
`

func (b *box) waitFile(name string, d time.Duration) {
	b.t.Helper()
	waitFor(b.t, d, "file "+name, func() bool {
		_, err := os.Stat(filepath.Join(b.dir, name))
		return err == nil
	})
}

func TestSignalsReachTheMainCommandsGroup(t *testing.T) {
	t.Parallel()
	b := boot(t, spec{main: []string{"sh", "-c", trappingMain}})
	b.waitFile("main.ready", 10*time.Second)
	b.waitFile("child.ready", 10*time.Second)
	for _, s := range []struct {
		sig   syscall.Signal
		files []string
	}{
		{syscall.SIGUSR1, []string{"usr1", "child-usr1"}},
		{syscall.SIGUSR2, []string{"usr2"}},
		{syscall.SIGWINCH, []string{"winch"}},
	} {
		b.signal(s.sig)
		for _, f := range s.files {
			b.waitFile(f, 5*time.Second)
		}
	}
	b.signal(syscall.SIGTERM)
	if got := b.wait(20 * time.Second); got != 42 {
		t.Errorf("svinit exited %d, want the main command's 42", got)
	}
	if b.out.index(`main got TERM`) < 0 {
		t.Errorf("the main command did not get TERM")
	}
}

func TestSignalsWithoutMainCommandAreIgnored(t *testing.T) {
	t.Parallel()
	b := boot(t, spec{services: map[string]map[string]string{
		"svc": {"manifest.yml": manifest(`command: [sleep, "100"]`)},
	}})
	pid := pidIn(t, b.waitStatus("svc", `^run: svc: \(pid \d+\)`, 10*time.Second))
	for _, sig := range []syscall.Signal{syscall.SIGUSR1, syscall.SIGUSR2, syscall.SIGWINCH} {
		b.signal(sig)
	}
	b.waitLog(`got SIGUSR1; no main command to forward it to, ignored`, 5*time.Second)
	b.waitLog(`got SIGUSR2; no main command to forward it to, ignored`, 5*time.Second)
	b.waitLog(`got SIGWINCH; no main command to forward it to, ignored`, 5*time.Second)
	select {
	case <-b.done:
		t.Fatalf("svinit exited %d after USR1", b.code)
	default:
	}
	if n := pidIn(t, b.waitStatus("svc", `^run: svc: `, time.Second)); n != pid {
		t.Errorf("the service was restarted by a signal to svinit: pid %d → %d", pid, n)
	}
}
