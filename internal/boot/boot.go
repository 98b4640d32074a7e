package boot

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"alpine-server/internal/control"
	"alpine-server/internal/cron"
	"alpine-server/internal/envsnap"
	"alpine-server/internal/logmux"
	"alpine-server/internal/privdrop"
	"alpine-server/internal/reaper"
	"alpine-server/internal/startup"
	"alpine-server/internal/supervisor"
)

// Exit codes of svinit itself (SPEC §3).
const (
	ExitConfig  = 2   // bad settings, manifests or dependencies
	ExitStartup = 131 // a startup script failed (ylem's code)
)

// svinit is one boot of svinit: what it started and how it ends.
type svinit struct {
	set   *Settings
	mux   *logmux.Mux
	log   *logmux.Logger
	reap  *reaper.Reaper
	sup   *supervisor.Supervisor
	users privdrop.DB
	pid1  bool

	envMu       sync.Mutex
	env         *envsnap.Snapshot
	envReadOnly bool // the env files cannot be written: memory only

	cronBoot cron.Boot // @reboot jobs run once per boot, not per cron restart

	stopC   chan stopReq // ask the event loop to shut down
	reloadC chan chan error
	opMu    sync.Mutex // reload and shutdown never overlap
}

type stopReq struct {
	code int
	why  string
}

// Run boots svinit with an optional main command and returns the exit code.
func Run(main []string) int {
	tuneRuntime()
	set, err := LoadSettings(os.Getenv)
	if err != nil {
		fmt.Fprintf(os.Stderr, "svinit: %v\n", err)
		return ExitConfig
	}
	mux := logmux.New(logmux.Options{})
	s := &svinit{
		set: set, mux: mux, log: mux.Logger("svinit", set.LogLevel, set.LogFormat),
		pid1: os.Getpid() == 1, stopC: make(chan stopReq, 1), reloadC: make(chan chan error),
	}
	mux.Register("svinit")
	code := s.run(main)
	mux.Close(time.Now().Add(time.Second))
	return code
}

func (s *svinit) run(main []string) int {
	if !s.pid1 {
		// Orphans of our services must come back to us, not to the real init.
		if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
			s.log.Warnf("prctl PR_SET_CHILD_SUBREAPER: %v; orphans will not be reaped by svinit", err)
		}
	}
	s.reap = reaper.New(s.log.Debugf)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go s.reap.Run(ctx)
	sigs := s.notifySignals()
	defer stopSignals(sigs)

	if err := s.snapshotEnv(); err != nil {
		s.log.Errorf("%v", err)
		return s.shutdown(ExitConfig, nil)
	}
	bootCtx, stopBoot := context.WithCancelCause(ctx)
	go s.cancelOnStopSignal(bootCtx, sigs, stopBoot)
	err := s.scripts().RunDir(bootCtx, s.set.StartupDir, "startup", s.set.KeepGoing)
	stopped := bootCtx.Err() != nil
	stopBoot(nil)
	if stopped {
		return s.shutdown(0, nil)
	}
	if err != nil && !s.set.KeepGoing {
		s.log.Errorf("%v; stopping (set SVINIT_KEEP_GOING=1 to boot on)", err)
		return s.shutdown(ExitStartup, nil)
	}
	s.writeEnv() // again: the profile gets what the scripts exported
	p, err := s.loadPlan()
	if err != nil {
		s.log.Errorf("%v", err)
		return s.shutdown(ExitConfig, nil)
	}
	s.sup = supervisor.New(s.supervisorConfig())
	if err := s.sup.Start(p); err != nil {
		s.log.Errorf("%v", err)
		return s.shutdown(ExitConfig, nil)
	}
	go s.serveControl(ctx)
	go s.trimWhenSettled(ctx)
	var m *mainCmd
	if len(main) > 0 {
		if m, err = s.startMain(ctx, main); err != nil {
			s.log.Errorf("main command: %v", err)
			return s.shutdown(127, nil)
		}
	}
	return s.loop(sigs, m)
}

// cancelOnStopSignal ends the boot phase early when TERM, INT or QUIT
// arrives while startup scripts run.
func (s *svinit) cancelOnStopSignal(ctx context.Context, sigs <-chan os.Signal, cancel context.CancelCauseFunc) {
	for {
		select {
		case <-ctx.Done():
			return
		case sig := <-sigs:
			if isStop(sig) {
				s.log.Infof("got %s during startup; stopping", sigName(sig))
				cancel(errors.New("got " + sigName(sig)))
				return
			}
			s.log.Debugf("got %s during startup; ignored", sigName(sig))
		}
	}
}

func (s *svinit) scripts() *startup.Runner {
	return &startup.Runner{
		Reaper: s.reap, Mux: s.mux, Format: s.set.LogFormat, Log: s.log,
		Environ: s.environ, AfterEach: s.rereadEnv, Timeout: s.set.StartupTimeout,
	}
}

func (s *svinit) supervisorConfig() supervisor.Config {
	return supervisor.Config{
		Reaper: s.reap, Mux: s.mux, Log: s.log, Format: s.set.LogFormat,
		Environ: s.environ, Users: s.users, Builtins: s.newBuiltin,
		EssentialFailed: func(name string, code int) {
			s.requestStop(code, fmt.Sprintf("essential service %s failed", name))
		},
	}
}

// requestStop asks the event loop to shut down with code; the first ask wins.
func (s *svinit) requestStop(code int, why string) {
	select {
	case s.stopC <- stopReq{code, why}:
	default:
	}
}

// serveControl serves `sv`. Without root (docker run --user) the default
// /run/svinit cannot be created: svinit then serves on the per-uid
// fallback that sv also looks for, unless SVINIT_CONTROL was set.
func (s *svinit) serveControl(ctx context.Context) {
	err := control.Serve(ctx, s.set.Control, s, s.log)
	if err != nil && errors.Is(err, os.ErrPermission) && !s.set.ControlSet && os.Getuid() != 0 {
		fallback := control.FallbackSocket(os.Getuid())
		s.log.Infof("control socket: %v; using %s (svinit runs as uid %d)", err, fallback, os.Getuid())
		err = control.Serve(ctx, fallback, s, s.log)
	}
	if err != nil {
		s.log.Warnf("control socket: %v; sv will not reach svinit", err)
	}
}

// trimWhenSettled pages out svinit's own binary once the auto-start
// services are ready (or have had SVINIT_WAIT_READY_TIMEOUT): boot is the
// only time most of the binary is used.
func (s *svinit) trimWhenSettled(ctx context.Context) {
	wait := s.set.WaitReadyTimeout
	if wait <= 0 {
		wait = 30 * time.Second
	}
	wctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	_ = s.sup.WaitReady(wctx, s.sup.AutoStart())
	if ctx.Err() == nil {
		s.log.Debugf("paged out %d KiB of svinit's own binary", trimBinaryPages(ctx)/1024)
	}
}
