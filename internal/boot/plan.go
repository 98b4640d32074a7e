package boot

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"syscall"

	"alpine-server/internal/manifest"
	"alpine-server/internal/plan"
	"alpine-server/internal/privdrop"
)

// loadPlan reads the services folder and builds the dependency plan. Every
// problem is in the error, one line each, naming its file.
func (s *svinit) loadPlan() (*plan.Plan, error) {
	if s.set.PortList {
		s.log.Debugf("services from %s", describeServicesDir(s.set.ServicesDir, true, "/"))
	}
	p, warnings, err := LoadPlan(s.set.ServicesDir, s.lookupEnv, s.users)
	for _, w := range warnings {
		s.log.Warnf("%s", w)
	}
	return p, err
}

// LoadPlan loads and validates a services folder: manifests, dependencies
// and the users services run as. It is also `svinit check`.
func LoadPlan(dir string, lookup func(string) (string, bool), users privdrop.DB) (*plan.Plan, []string, error) {
	set, err := manifest.Load(dir, lookup)
	if err != nil {
		return nil, nil, err
	}
	warnings := set.Warnings
	for _, name := range slices.Sorted(maps.Keys(set.Services)) {
		warnings = append(warnings, set.Services[name].Warnings...)
	}
	p, err := plan.Build(set)
	if err != nil {
		return nil, warnings, err
	}
	return p, warnings, checkUsers(set, users)
}

// checkUsers fails for a service whose user or group does not exist: better
// at boot, naming the manifest line, than at every restart.
func checkUsers(set *manifest.Set, users privdrop.DB) error {
	var errs []error
	for _, name := range slices.Sorted(maps.Keys(set.Services)) {
		svc := set.Services[name]
		if svc.User == "" {
			continue
		}
		if _, err := users.Lookup(svc.User, svc.Group); err != nil {
			errs = append(errs, fmt.Errorf("%s: user: %w", svc.Pos("user"), err))
		}
	}
	return errors.Join(errs...)
}

// reload re-reads the services and applies the difference; on any error the
// running set stays as it is.
func (s *svinit) reload() error {
	s.opMu.Lock()
	defer s.opMu.Unlock()
	p, err := s.loadPlan()
	if err != nil {
		return fmt.Errorf("reload: %w; keeping the running services", err)
	}
	if err := s.sup.Apply(p, s.set.ShutdownTimeout); err != nil {
		return fmt.Errorf("reload: %w", err)
	}
	s.sup.SignalBuiltins(syscall.SIGHUP) // cron re-reads its crontabs
	return nil
}
