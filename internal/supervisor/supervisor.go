// Package supervisor keeps services in the state they are wanted in.
//
// Each service is one goroutine (a unit) that owns its state and changes it
// one event at a time: its exit, a control command, a timer, a readiness
// result. The Supervisor holds the set of units, starts them in dependency
// order, applies reloads, answers `sv` and stops everything in reverse
// dependency order at shutdown.
package supervisor

import (
	"fmt"
	"maps"
	"os"
	"slices"
	"sync"
	"time"

	"alpine-server/internal/builtin"
	"alpine-server/internal/clock"
	"alpine-server/internal/logmux"
	"alpine-server/internal/plan"
	"alpine-server/internal/privdrop"
	"alpine-server/internal/reaper"
)

// Config is what the supervisor needs from the rest of svinit.
type Config struct {
	Reaper   *reaper.Reaper
	Mux      *logmux.Mux
	Log      *logmux.Logger
	Format   logmux.Format   // default log format of services
	Environ  func() []string // the snapshot environment
	Users    privdrop.DB     // for user:/group:
	Builtins builtin.Factory // makes syslog and cron
	Clock    clock.Clock     // backoff, kill escalation, ready timeouts; nil = the wall clock
	// EssentialFailed is called (once) when an essential service fails for
	// good; svinit then shuts down with code.
	EssentialFailed func(name string, code int)
	// NotifyDir makes (once) and names the folder of the services' notify
	// sockets: NAME there is NOTIFY_SOCKET of `ready: {notify: systemd}`.
	// nil: no notify service can start.
	NotifyDir func() (string, error)
}

// Supervisor owns the units.
type Supervisor struct {
	cfg Config

	mu      sync.Mutex
	units   map[string]*unit
	plan    *plan.Plan
	changeC chan struct{} // closed and replaced on every state change
	failed  bool

	rootless bool // svinit is not root: permission errors skip a service
	clock    clock.Clock
	sys      system // processes; tests swap in a fake before Start
}

// New returns an empty supervisor.
func New(cfg Config) *Supervisor {
	c := cfg.Clock
	if c == nil {
		c = clock.Real{}
	}
	return &Supervisor{cfg: cfg, units: map[string]*unit{}, changeC: make(chan struct{}),
		rootless: os.Getuid() != 0, clock: c, sys: realSystem{cfg.Reaper}}
}

func (s *Supervisor) now() time.Time { return s.clock.Now() }

// changed returns a channel closed at the next state change of any unit.
func (s *Supervisor) changed() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.changeC
}

func (s *Supervisor) notify() {
	s.mu.Lock()
	close(s.changeC)
	s.changeC = make(chan struct{})
	s.mu.Unlock()
}

func (s *Supervisor) unit(name string) *unit {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.units[name]
}

func (s *Supervisor) essentialFailed(name string, code int) {
	s.mu.Lock()
	first := !s.failed
	s.failed = true
	s.mu.Unlock()
	if first && s.cfg.EssentialFailed != nil {
		s.cfg.EssentialFailed(name, code)
	}
}

// Start creates a unit for every service of p and starts the auto_start
// ones; each starts once its dependencies are ready.
func (s *Supervisor) Start(p *plan.Plan) error {
	s.mu.Lock()
	s.plan = p
	s.mu.Unlock()
	for _, level := range p.StartOrder() {
		for _, name := range level {
			if err := s.add(p, name); err != nil {
				return err
			}
		}
	}
	return nil
}

func (s *Supervisor) add(p *plan.Plan, name string) error {
	svc := p.Services[name]
	u, err := newUnit(s, svc)
	if err != nil {
		return err
	}
	s.mu.Lock()
	s.units[name] = u
	s.mu.Unlock()
	go u.loop()
	return nil
}

// send delivers a command to a unit and returns its immediate answer.
func (u *unit) send(c command) error {
	c.reply = make(chan error, 1)
	select {
	case u.cmds <- c:
		return <-c.reply
	case <-u.quit:
		return fmt.Errorf("service %s is gone", u.name)
	}
}

// Names lists the units' names, sorted.
func (s *Supervisor) Names() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Sorted(maps.Keys(s.units))
}

// AutoStart lists the services that are normally up.
func (s *Supervisor) AutoStart() []string {
	var out []string
	for _, n := range s.Names() {
		if u := s.unit(n); u != nil && u.svc.AutoStart {
			out = append(out, n)
		}
	}
	return out
}

// Status returns the status of the named services (all when none), and
// the names no service has.
func (s *Supervisor) Status(names []string) ([]Status, []string) {
	if len(names) == 0 {
		names = s.Names()
	}
	var out []Status
	var unknown []string
	for _, n := range names {
		u := s.unit(n)
		if u == nil {
			unknown = append(unknown, n)
			continue
		}
		out = append(out, u.snapshot())
	}
	return out, unknown
}

// Shutdown stops every unit, each after the services that depend on it,
// and returns once all are down or deadline has passed. Units with no
// order between them stop in parallel. Their logs stay open: CloseLogs.
func (s *Supervisor) Shutdown(deadline time.Time) {
	s.mu.Lock()
	units := make(map[string]*unit, len(s.units))
	for n, u := range s.units {
		units[n] = u
	}
	s.mu.Unlock()
	s.stopInOrder(units, deadline)
}

// CloseLogs closes every service's log pipes and waits until deadline for
// their last lines. Call it after the final sweep: a process that escaped
// its service (a daemon's per-connection child) may hold a pipe open until
// it gets its TERM.
func (s *Supervisor) CloseLogs(deadline time.Time) {
	s.mu.Lock()
	units := make([]*unit, 0, len(s.units))
	for _, u := range s.units {
		units = append(units, u)
	}
	s.mu.Unlock()
	for _, u := range units {
		u.closeLog(deadline)
	}
}

// stopInOrder stops units, each only after its dependents among them.
func (s *Supervisor) stopInOrder(units map[string]*unit, deadline time.Time) {
	var wg sync.WaitGroup
	for _, u := range units {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, d := range units {
				if dependsOn(d, u.name) {
					<-d.quit
				}
			}
			if err := u.send(command{kind: evShutdown, deadline: deadline}); err != nil {
				s.cfg.Log.Debugf("stop %s: %v", u.name, err) // gone already
			}
			<-u.quit
		}()
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	t := time.NewTimer(time.Until(deadline) + time.Second)
	defer t.Stop()
	select {
	case <-done:
	case <-t.C: // a unit did not settle even after KILL; the caller sweeps
	}
}

func dependsOn(u *unit, name string) bool {
	for _, d := range u.svc.DependsOn {
		if d == name {
			return true
		}
	}
	return false
}
