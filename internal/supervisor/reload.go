package supervisor

import (
	"time"

	"alpine-server/internal/plan"
)

// Apply moves the running set to p (a reload): removed services stop,
// changed ones stop and start again from their new manifest, added ones
// start if auto_start, and services in fatal get another chance.
func (s *Supervisor) Apply(p *plan.Plan, stopDeadline time.Duration) error {
	s.mu.Lock()
	old := s.plan
	s.mu.Unlock()
	added, removed, changed := plan.Diff(old, p)
	gone := map[string]*unit{}
	for _, n := range append(removed, changed...) {
		if u := s.unit(n); u != nil {
			gone[n] = u
		}
	}
	s.stopInOrder(gone, s.now().Add(stopDeadline))
	s.mu.Lock()
	for n := range gone {
		delete(s.units, n)
	}
	s.plan = p
	s.mu.Unlock()
	for _, u := range gone {
		u.closeLog(s.now()) // no wait: the readers drain on their own
	}
	for _, n := range removed {
		s.cfg.Log.Infof("service %s removed", n)
	}
	for _, level := range p.StartOrder() {
		for _, n := range level {
			if s.unit(n) == nil {
				if err := s.add(p, n); err != nil {
					return err
				}
			}
		}
	}
	for _, n := range s.Names() {
		if u := s.unit(n); u != nil && u.status().State == Fatal && u.svc.AutoStart {
			if err := u.send(command{kind: evStart}); err != nil {
				s.cfg.Log.Warnf("reload: start %s: %v", n, err)
			}
		}
	}
	s.cfg.Log.Infof("reload: %d added, %d removed, %d changed", len(added), len(removed), len(changed))
	return nil
}
