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
	sup   *supervisor.Supervisor // set by the boot loop; read by others once loaded is closed
	users privdrop.DB
	pid1  bool

	envMu       sync.Mutex
	env         *envsnap.Snapshot
	envReadOnly bool // the env files cannot be written: memory only

	cronBoot  cron.Boot // @reboot jobs run once per boot, not per cron restart
	notifyDir func() (string, error)

	// The boot loop's inbox (events.go): asks to stop and to reload, from
	// `sv` and the supervisor. loopDone is closed when the loop has ended,
	// so an ask never waits on a loop that no longer reads.
	stopC    chan stopReq
	reloadC  chan chan error
	loopDone chan struct{}
	loaded   chan struct{} // closed once the services are loaded and sup is set
	opMu     sync.Mutex    // reload and shutdown never overlap
}

// stopReq asks the boot loop to shut down with code; now skips what is
// left of SVINIT_STOP_DELAY.
type stopReq struct {
	code int
	why  string
	now  bool
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
		pid1: os.Getpid() == 1, stopC: make(chan stopReq), reloadC: make(chan chan error),
		loopDone: make(chan struct{}), loaded: make(chan struct{}),
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
		close(s.loopDone)
		return s.shutdown(ExitConfig, nil, time.Now().Add(s.set.ShutdownTimeout))
	}
	if err := s.serveMetrics(ctx); err != nil {
		s.log.Errorf("%v", err)
		close(s.loopDone)
		return s.shutdown(ExitConfig, nil, time.Now().Add(s.set.ShutdownTimeout))
	}
	s.notifyDir = sync.OnceValues(s.makeNotifyDir)
	// Served from the start, so `sv shutdown` works in every phase.
	go s.serveControl(ctx)
	return newBootLoop(ctx, s, sigs, main).run()
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
		Environ: s.environ, Users: s.users, Builtins: s.newBuiltin, NotifyDir: s.notifyDir,
		EssentialFailed: func(name string, code int) {
			s.askStop(stopReq{code: code, why: fmt.Sprintf("essential service %s failed", name), now: true})
		},
	}
}

// askStop hands r to the boot loop. Once the loop has ended the shutdown is
// under way: there is nothing left to ask.
func (s *svinit) askStop(r stopReq) {
	select {
	case s.stopC <- r:
	case <-s.loopDone:
	}
}

// serveControl serves `sv`. Without root (docker run --user) the default
// /run/svinit cannot be created: svinit then serves on the per-uid
// fallback that sv also looks for, unless SVINIT_CONTROL was set.
func (s *svinit) serveControl(ctx context.Context) {
	h := bootHandler{s}
	err := control.Serve(ctx, s.set.Control, h, s.log)
	if err != nil && errors.Is(err, os.ErrPermission) && !s.set.ControlSet && os.Getuid() != 0 {
		fallback := control.FallbackSocket(os.Getuid())
		s.log.Infof("control socket: %v; using %s (svinit runs as uid %d)", err, fallback, os.Getuid())
		err = control.Serve(ctx, fallback, h, s.log)
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
