package pid1

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestMainCommandExitCodeBecomesSvinits(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		main []string
		want int
	}{
		{"exit 0", []string{"sh", "-c", "exit 0"}, 0},
		{"exit 3", []string{"sh", "-c", "exit 3"}, 3},
		{"killed by TERM", []string{"sh", "-c", "kill -TERM $$"}, 128 + 15},
		{"killed by KILL", []string{"sh", "-c", "kill -KILL $$"}, 128 + 9},
		{"not found", []string{"no-such-program-here"}, 127},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := boot(t, spec{main: tt.main})
			if got := b.wait(20 * time.Second); got != tt.want {
				t.Errorf("svinit exited %d, want %d", got, tt.want)
			}
		})
	}
}

func TestMainCommandWaitsForReadinessAndGetsEnvironment(t *testing.T) {
	t.Parallel()
	b := boot(t, spec{
		services: map[string]map[string]string{
			"slow": {"manifest.yml": manifest(`command: [sh, -c, "sleep 0.3; touch $T/slow.ready; exec sleep 100"]`,
				"ready:", "  file: ${T}/slow.ready", "  interval: 20ms")},
		},
		env:  []string{"GREETING=hello world"},
		main: []string{"sh", "-c", `test -e "$T/slow.ready" && test "$GREETING" = "hello world"`},
	})
	if got := b.wait(20 * time.Second); got != 0 {
		t.Errorf("main command ran before readiness or without the environment: exit %d", got)
	}
}

func TestZombiesOfDoubleForksAreReaped(t *testing.T) {
	t.Parallel()
	b := boot(t, spec{services: map[string]map[string]string{
		"forker": {"manifest.yml": manifest("oneshot: true",
			`command: [sh, -c, "for i in $(seq 50); do (sleep 0.01 &) ; done; touch $T/forked"]`)},
	}})
	b.waitLog(`service forker done`, 20*time.Second)
	init := b.initPid()
	waitFor(t, 10*time.Second, "no zombie or orphan left under svinit", func() bool {
		return len(descendants(init)) == 0
	})
	b.signal(syscall.SIGTERM)
	if got := b.wait(20 * time.Second); got != 0 {
		t.Errorf("exit %d after TERM, want 0", got)
	}
}

func TestCrashLoopBacksOffThenFatal(t *testing.T) {
	t.Parallel()
	b := boot(t, spec{services: map[string]map[string]string{
		"crash": {"manifest.yml": manifest(`command: [sh, -c, "exit 7"]`)},
	}})
	b.waitLog(`service crash exited 7, restarting in 100ms`, 10*time.Second)
	b.waitLog(`service crash exited 7, restarting in 200ms`, 10*time.Second)
	b.waitLog(`service crash exited 7, restarting in 400ms`, 10*time.Second)
	// Ten failures: 100ms doubling to 25.6s between them, about 51s in all.
	b.waitLog(`service crash exited 7 10 times in 1m0s; giving up`, 90*time.Second)
	out := b.waitStatus("crash", `^fatal: crash: `, 5*time.Second)
	if !strings.Contains(out, "exited 7") {
		t.Errorf("fatal status does not say how it exited: %q", out)
	}
	// sv start clears fatal.
	if _, code := b.sv("start", "crash"); code != 0 {
		t.Errorf("sv start crash: exit %d", code)
	}
	b.waitStatus("crash", `^(backoff|run|down): crash: `, 5*time.Second)
}

func TestServiceIgnoringTermIsKilledAtStopTimeout(t *testing.T) {
	t.Parallel()
	b := boot(t, spec{services: map[string]map[string]string{
		"stubborn": {"manifest.yml": manifest(`command: [sh, -c, "trap '' TERM; echo trapped; while :; do sleep 0.05; done"]`,
			"stop_timeout: 500ms")},
	}})
	b.waitLog(`stubborn\s+\| trapped`, 10*time.Second)
	start := time.Now()
	b.signal(syscall.SIGTERM)
	if got := b.wait(20 * time.Second); got != 0 {
		t.Errorf("exit %d, want 0", got)
	}
	took := time.Since(start)
	if b.out.index(`service stubborn did not stop after SIGTERM; sending SIGKILL`) < 0 {
		t.Errorf("no KILL escalation in the log")
	}
	// svinit's own figure (see shutdownTook): KILL at the 500ms
	// stop_timeout, not at the default 5s one nor at once.
	if d := b.shutdownTook(); d < 500*time.Millisecond || d >= 5*time.Second {
		t.Errorf("shutdown took %v with a 500ms stop_timeout", d)
	}
	t.Logf("shutdown with a TERM-ignoring service (stop_timeout 500ms): %v (svinit: %v)", took, b.shutdownTook())
}

func TestShutdownFollowsReverseDependencyOrder(t *testing.T) {
	t.Parallel()
	svc := func(deps string) map[string]string {
		return map[string]string{"manifest.yml": manifest(`command: [sleep, "100"]`, "depends_on: ["+deps+"]")}
	}
	b := boot(t, spec{services: map[string]map[string]string{
		"db":    {"manifest.yml": manifest(`command: [sleep, "100"]`)},
		"cache": svc("db"),
		"web":   svc("db, cache"),
		"proxy": svc("web"),
	}})
	b.waitLog(`service proxy ready`, 10*time.Second)
	// Start order: a service is ready only after its dependencies.
	order := []string{"db", "cache", "web", "proxy"}
	for i := 1; i < len(order); i++ {
		if b.out.index(`service `+order[i-1]+` ready`) > b.out.index(`service `+order[i]+` ready`) {
			t.Errorf("%s ready before %s", order[i], order[i-1])
		}
	}
	b.signal(syscall.SIGTERM)
	b.wait(20 * time.Second)
	for i := 1; i < len(order); i++ {
		before, after := b.out.index(`service `+order[i]+` stopped`), b.out.index(`service `+order[i-1]+` stopped`)
		if before < 0 || after < 0 || before > after {
			t.Errorf("%s must stop before %s (lines %d, %d)", order[i], order[i-1], before, after)
		}
	}
}

func TestStartupScriptsRunInOrderExportEnvAndFailWith131(t *testing.T) {
	t.Parallel()
	b := boot(t, spec{
		startup: map[string]string{
			"10-first":  "#!/bin/sh\necho first\necho 'FROM_STARTUP=\"exported value\"' >> \"$SVINIT_ENV_FILE\"\n",
			"20-second": "#!/bin/sh\necho \"second sees $FROM_STARTUP\"\n",
		},
		main: []string{"sh", "-c", `test "$FROM_STARTUP" = "exported value"`},
	})
	if got := b.wait(20 * time.Second); got != 0 {
		t.Errorf("main command did not see the exported variable: exit %d", got)
	}
	if b.out.index(`startup/10-first\s+\| first`) > b.out.index(`startup/20-second\s+\| second sees exported value`) {
		t.Errorf("scripts ran out of order or without the exported variable")
	}

	f := boot(t, spec{
		startup:  map[string]string{"10-fail": "#!/bin/sh\necho broken >&2\nexit 4\n", "20-never": "#!/bin/sh\necho ran\n"},
		services: map[string]map[string]string{"svc": {"manifest.yml": manifest(`command: [sleep, "100"]`)}},
	})
	if got := f.wait(20 * time.Second); got != 131 {
		t.Errorf("failed startup script: exit %d, want 131", got)
	}
	if f.out.index(`startup/20-never`) >= 0 || f.out.index(`service svc`) >= 0 {
		t.Errorf("boot went on after a failed startup script")
	}
}

func TestKeepGoingBootsOnAfterAFailedScript(t *testing.T) {
	t.Parallel()
	b := boot(t, spec{
		startup: map[string]string{"10-fail": "#!/bin/sh\nexit 4\n"},
		env:     []string{"SVINIT_KEEP_GOING=1"},
		main:    []string{"true"},
	})
	if got := b.wait(20 * time.Second); got != 0 {
		t.Errorf("exit %d, want 0 with SVINIT_KEEP_GOING=1", got)
	}
}

func TestBadConfigurationStopsBootWithExit2(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		services map[string]map[string]string
		want     string
	}{
		{"unknown key", map[string]map[string]string{"a": {"manifest.yml": manifest("comand: [x]")}},
			`a/manifest.yml:3: .*comand`},
		{"cycle", map[string]map[string]string{
			"a": {"manifest.yml": manifest("command: [x]", "depends_on: [b]")},
			"b": {"manifest.yml": manifest("command: [x]", "depends_on: [a]")}},
			`cycle`},
		{"unknown dependency", map[string]map[string]string{"a": {"manifest.yml": manifest("command: [x]", "depends_on: [nope]")}},
			`unknown service "nope"`},
		{"unknown user", map[string]map[string]string{"a": {"manifest.yml": manifest("command: [x]", "user: no-such-user")}},
			`a/manifest.yml:\d+: user: unknown user no-such-user`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := boot(t, spec{services: tt.services})
			if got := b.wait(20 * time.Second); got != 2 {
				t.Errorf("exit %d, want 2", got)
			}
			if b.out.index(tt.want) < 0 {
				t.Errorf("no error matching %q in:\n%s", tt.want, b.out.String())
			}
			if b.out.index(`service \S+ (started|ready)`) >= 0 {
				t.Errorf("something started despite the bad configuration")
			}
		})
	}
}

func TestEssentialServiceFailureStopsContainerWithItsCode(t *testing.T) {
	t.Parallel()
	b := boot(t, spec{services: map[string]map[string]string{
		"job":   {"manifest.yml": manifest(`command: [sh, -c, "exit 5"]`, "essential: true", "restart: never")},
		"other": {"manifest.yml": manifest(`command: [sleep, "100"]`)},
	}})
	if got := b.wait(20 * time.Second); got != 5 {
		t.Errorf("exit %d, want the essential service's 5", got)
	}
}

// descendants lists the processes below pid in the host's /proc, with
// their state (Z = zombie).
func descendants(pid int) []string {
	children := map[int][]int{}
	state := map[int]string{}
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		data, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		s := string(data)
		f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
		ppid, _ := strconv.Atoi(f[1])
		children[ppid] = append(children[ppid], p)
		state[p] = fmt.Sprintf("%d(%s)", p, f[0])
	}
	var out []string
	queue := []int{pid}
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		for _, c := range children[p] {
			out = append(out, state[c])
			queue = append(queue, c)
		}
	}
	return out
}

func TestOneshotBoundedByReadyTimeout(t *testing.T) {
	t.Parallel()
	b := boot(t, spec{services: map[string]map[string]string{
		"slowjob": {"manifest.yml": manifest(`command: [sleep, "100"]`, "oneshot: true", "restart: never",
			"ready:", "  timeout: 300ms")},
		"longjob": {"manifest.yml": manifest(`command: [sh, -c, "sleep 0.5"]`, "oneshot: true")},
	}})
	b.waitLog(`service slowjob: oneshot still running after ready.timeout 300ms; stopping it`, 10*time.Second)
	b.waitLog(`service slowjob killed by SIGTERM`, 10*time.Second)
	b.waitLog(`service longjob done`, 10*time.Second) // no ready: no bound
}

func TestBadEnvFileLineIsReportedAndBootGoesOn(t *testing.T) {
	t.Parallel()
	b := boot(t, spec{
		startup: map[string]string{"10-bad": "#!/bin/sh\necho 'NOT A VALID LINE' >> \"$SVINIT_ENV_FILE\"\n"},
		main:    []string{"true"},
	})
	if got := b.wait(20 * time.Second); got != 0 {
		t.Errorf("exit %d, want 0", got)
	}
	if b.out.index(`warn: re-read environment: .*/environment:\d+: `) < 0 {
		t.Errorf("the bad env file line was not reported with its file:line")
	}
}
