// Package plan turns a loaded set of services into a dependency graph:
// it checks that every depends_on names an enabled service and that there
// is no cycle, then answers the supervisor's questions — in which order to
// start and stop, who depends on whom, and what a reload changed.
package plan

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"

	"alpine-server/internal/manifest"
)

// Plan is a validated dependency graph over enabled services. It is not
// changed after Build, so it may be shared between goroutines.
type Plan struct {
	// Services are the enabled services by name (the Set's map).
	Services map[string]*manifest.Service

	deps       map[string][]string // name → what it depends on, sorted
	dependents map[string][]string // name → who depends on it, sorted
	levels     [][]string
}

// Build checks set's dependencies and returns the graph. Every problem is
// reported, one line each, joined: a depends_on naming an unknown or a
// disabled service (at the manifest's depends_on line), and each cycle,
// named in full ("a → b → a") with the files that make it.
func Build(set *manifest.Set) (*Plan, error) {
	p := &Plan{
		Services:   set.Services,
		deps:       map[string][]string{},
		dependents: map[string][]string{},
	}
	if p.Services == nil {
		p.Services = map[string]*manifest.Service{}
	}
	disabled := map[string]bool{}
	for _, name := range set.Disabled {
		disabled[name] = true
	}
	var errs []error
	for _, name := range p.names() {
		errs = append(errs, p.link(p.Services[name], disabled)...)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	for _, list := range p.dependents {
		sort.Strings(list)
	}
	if errs := p.cycles(); len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	p.levels = p.computeLevels()
	return p, nil
}

// link records s's dependencies, or says why one cannot be met.
func (p *Plan) link(s *manifest.Service, disabled map[string]bool) []error {
	var errs []error
	for _, dep := range s.DependsOn {
		switch {
		case p.Services[dep] != nil:
			p.deps[s.Name] = append(p.deps[s.Name], dep)
			p.dependents[dep] = append(p.dependents[dep], s.Name)
		case disabled[dep]:
			errs = append(errs, fmt.Errorf("%s: depends_on: service %q is disabled (enabled: false in its manifest)", s.Pos("depends_on"), dep))
		default:
			errs = append(errs, fmt.Errorf("%s: depends_on: unknown service %q", s.Pos("depends_on"), dep))
		}
	}
	sort.Strings(p.deps[s.Name])
	return errs
}

// names returns the service names, sorted, so every walk is deterministic.
func (p *Plan) names() []string {
	return slices.Sorted(maps.Keys(p.Services))
}

// cycles finds each dependency cycle with a depth-first walk: an edge back
// to a service still on the walk's path closes a cycle.
func (p *Plan) cycles() []error {
	const (
		unseen = iota
		onPath
		done
	)
	state := map[string]int{}
	var path []string
	var errs []error
	var visit func(name string)
	visit = func(name string) {
		state[name] = onPath
		path = append(path, name)
		for _, dep := range p.deps[name] {
			switch state[dep] {
			case unseen:
				visit(dep)
			case onPath:
				errs = append(errs, p.cycleError(path, dep))
			}
		}
		path = path[:len(path)-1]
		state[name] = done
	}
	for _, name := range p.names() {
		if state[name] == unseen {
			visit(name)
		}
	}
	return errs
}

// cycleError names the cycle that path closes by reaching back to start.
func (p *Plan) cycleError(path []string, start string) error {
	i := len(path) - 1
	for path[i] != start {
		i--
	}
	loop := append(append([]string(nil), path[i:]...), start)
	var where []string
	for _, name := range path[i:] {
		where = append(where, p.Services[name].Pos("depends_on"))
	}
	return fmt.Errorf("dependency cycle: %s (%s)", strings.Join(loop, " → "), strings.Join(where, ", "))
}

// computeLevels puts each service one level after its deepest dependency.
func (p *Plan) computeLevels() [][]string {
	level := map[string]int{}
	var depth func(name string) int
	depth = func(name string) int {
		if l, ok := level[name]; ok {
			return l
		}
		l := 0
		for _, dep := range p.deps[name] {
			l = max(l, depth(dep)+1)
		}
		level[name] = l
		return l
	}
	var levels [][]string
	for _, name := range p.names() { // sorted, so each level is sorted too
		l := depth(name)
		for len(levels) <= l {
			levels = append(levels, nil)
		}
		levels[l] = append(levels[l], name)
	}
	return levels
}

// StartOrder returns the services in levels: every service depends only
// on services of earlier levels, so a level may start in parallel once
// the ones before it are ready. Names are sorted within a level.
func (p *Plan) StartOrder() [][]string {
	out := make([][]string, len(p.levels))
	for i, l := range p.levels {
		out[i] = append([]string(nil), l...)
	}
	return out
}

// StopOrder is StartOrder reversed: dependents stop before what they
// depend on (SPEC §11); a level may stop in parallel.
func (p *Plan) StopOrder() [][]string {
	out := p.StartOrder()
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out
}

// Dependents returns the services whose depends_on names name, sorted.
func (p *Plan) Dependents(name string) []string {
	return append([]string(nil), p.dependents[name]...)
}

// Deps returns what name depends on, sorted.
func (p *Plan) Deps(name string) []string {
	return append([]string(nil), p.deps[name]...)
}

// Diff compares two plans for a reload (SPEC §3, HUP): added and removed
// services, and changed ones — whose Hash differs, so their manifest,
// run or finish changed. A nil plan is an empty one. All lists are sorted.
func Diff(old, new *Plan) (added, removed, changed []string) {
	oldSvcs, newSvcs := services(old), services(new)
	for name, s := range newSvcs {
		switch o, ok := oldSvcs[name]; {
		case !ok:
			added = append(added, name)
		case o.Hash != s.Hash:
			changed = append(changed, name)
		}
	}
	for name := range oldSvcs {
		if _, ok := newSvcs[name]; !ok {
			removed = append(removed, name)
		}
	}
	sort.Strings(added)
	sort.Strings(removed)
	sort.Strings(changed)
	return added, removed, changed
}

func services(p *Plan) map[string]*manifest.Service {
	if p == nil {
		return nil
	}
	return p.Services
}
