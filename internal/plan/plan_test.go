package plan

import (
	"reflect"
	"strings"
	"testing"

	"alpine-server/internal/manifest"
)

// set builds a Set from "name: dep dep" specs; names listed in disabled
// are left out of Services.
func set(specs map[string]string, disabled ...string) *manifest.Set {
	s := &manifest.Set{Services: map[string]*manifest.Service{}, Disabled: disabled}
	for name, deps := range specs {
		s.Services[name] = &manifest.Service{
			Name:      name,
			File:      "/etc/services/" + name + "/manifest.yml",
			Enabled:   true,
			DependsOn: strings.Fields(deps),
			Hash:      "h-" + name,
		}
	}
	return s
}

func TestBuildOrders(t *testing.T) {
	tests := []struct {
		name   string
		specs  map[string]string
		levels [][]string
	}{
		{name: "empty", specs: map[string]string{}, levels: nil},
		{name: "independent services share a level", specs: map[string]string{"c": "", "a": "", "b": ""}, levels: [][]string{{"a", "b", "c"}}},
		{name: "chain", specs: map[string]string{"web": "app", "app": "db", "db": ""}, levels: [][]string{{"db"}, {"app"}, {"web"}}},
		{name: "diamond", specs: map[string]string{"top": "left right", "left": "base", "right": "base", "base": "", "solo": ""},
			levels: [][]string{{"base", "solo"}, {"left", "right"}, {"top"}}},
		{name: "level is the longest path", specs: map[string]string{"ssh": "syslog", "web": "ssh syslog", "syslog": ""},
			levels: [][]string{{"syslog"}, {"ssh"}, {"web"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Build(set(tt.specs))
			if err != nil {
				t.Fatalf("Build: %v", err)
			}
			if got := p.StartOrder(); !reflect.DeepEqual(got, tt.levels) && !(len(got) == 0 && len(tt.levels) == 0) {
				t.Errorf("StartOrder = %q, want %q", got, tt.levels)
			}
			checkLevels(t, p)
		})
	}
}

// checkLevels asserts the StartOrder contract: every dependency is in an
// earlier level, every service appears once, StopOrder is the reverse.
func checkLevels(t *testing.T, p *Plan) {
	t.Helper()
	at := map[string]int{}
	for i, level := range p.StartOrder() {
		for _, name := range level {
			if _, dup := at[name]; dup {
				t.Errorf("%s appears twice", name)
			}
			at[name] = i
		}
	}
	for name := range p.Services {
		for _, dep := range p.Deps(name) {
			if at[dep] >= at[name] {
				t.Errorf("%s (level %d) depends on %s (level %d)", name, at[name], dep, at[dep])
			}
		}
	}
	start, stop := p.StartOrder(), p.StopOrder()
	for i := range start {
		if !reflect.DeepEqual(start[i], stop[len(stop)-1-i]) {
			t.Errorf("StopOrder %q is not StartOrder %q reversed", stop, start)
		}
	}
}

func TestDepsAndDependents(t *testing.T) {
	p, err := Build(set(map[string]string{"web": "db cache", "worker": "db", "db": "", "cache": ""}))
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		got, want []string
	}{
		{p.Deps("web"), []string{"cache", "db"}},
		{p.Deps("db"), nil},
		{p.Dependents("db"), []string{"web", "worker"}},
		{p.Dependents("cache"), []string{"web"}},
		{p.Dependents("web"), nil},
		{p.Deps("nope"), nil},
	}
	for i, c := range checks {
		if !reflect.DeepEqual(c.got, c.want) && (len(c.got) != 0 || len(c.want) != 0) {
			t.Errorf("check %d: got %q, want %q", i, c.got, c.want)
		}
	}
	// The results are copies: changing them must not change the plan.
	p.Dependents("db")[0] = "x"
	if p.Dependents("db")[0] != "web" {
		t.Error("Dependents returned the plan's own slice")
	}
}

func TestBuildErrors(t *testing.T) {
	tests := []struct {
		name     string
		specs    map[string]string
		disabled []string
		want     []string
	}{
		{name: "unknown dependency", specs: map[string]string{"web": "db"},
			want: []string{`/etc/services/web/manifest.yml: depends_on: unknown service "db"`}},
		{name: "disabled dependency", specs: map[string]string{"web": "db"}, disabled: []string{"db"},
			want: []string{`/etc/services/web/manifest.yml: depends_on: service "db" is disabled (enabled: false in its manifest)`}},
		{name: "two cycles", specs: map[string]string{"a": "b", "b": "a", "c": "d", "d": "e", "e": "c", "f": "a"},
			want: []string{
				"dependency cycle: a → b → a (/etc/services/a/manifest.yml, /etc/services/b/manifest.yml)",
				"dependency cycle: c → d → e → c (/etc/services/c/manifest.yml, /etc/services/d/manifest.yml, /etc/services/e/manifest.yml)"}},
		{name: "self cycle", specs: map[string]string{"a": "a"}, want: []string{"dependency cycle: a → a"}},
		{name: "every bad dependency at once", specs: map[string]string{"web": "db x", "api": "y"},
			want: []string{`api/manifest.yml: depends_on: unknown service "y"`, `web/manifest.yml: depends_on: unknown service "db"`, `unknown service "x"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Build(set(tt.specs, tt.disabled...))
			if err == nil {
				t.Fatal("Build succeeded")
			}
			lines := strings.Split(err.Error(), "\n")
			if len(lines) != len(tt.want) {
				t.Errorf("got %d error lines, want %d:\n%v", len(lines), len(tt.want), err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error:\n%v\nwant a line containing %q", err, w)
				}
			}
		})
	}
}

func TestDiff(t *testing.T) {
	old, err := Build(set(map[string]string{"keep": "", "edit": "", "gone": ""}))
	if err != nil {
		t.Fatal(err)
	}
	next := set(map[string]string{"keep": "", "edit": "", "new": "keep"})
	next.Services["edit"].Hash = "edited"
	cur, err := Build(next)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name                    string
		old, new                *Plan
		added, removed, changed []string
	}{
		{name: "reload", old: old, new: cur, added: []string{"new"}, removed: []string{"gone"}, changed: []string{"edit"}},
		{name: "first load", old: nil, new: old, added: []string{"edit", "gone", "keep"}},
		{name: "everything removed", old: old, new: nil, removed: []string{"edit", "gone", "keep"}},
		{name: "no change", old: old, new: old},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, r, c := Diff(tt.old, tt.new)
			if !reflect.DeepEqual(a, tt.added) || !reflect.DeepEqual(r, tt.removed) || !reflect.DeepEqual(c, tt.changed) {
				t.Errorf("Diff = %q, %q, %q; want %q, %q, %q", a, r, c, tt.added, tt.removed, tt.changed)
			}
		})
	}
}

// TestBuildFromManifests checks the line of depends_on reaches the error
// through real manifests.
func TestBuildFromManifests(t *testing.T) {
	s, err := manifest.Parse("/nonexistent/web/manifest.yml", []byte("# web\ndepends_on: [db]\n"), nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = Build(&manifest.Set{Services: map[string]*manifest.Service{"web": s}})
	want := `/nonexistent/web/manifest.yml:2: depends_on: unknown service "db"`
	if err == nil || err.Error() != want {
		t.Fatalf("err = %v, want %s", err, want)
	}
}
