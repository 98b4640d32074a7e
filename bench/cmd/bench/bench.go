package main

import (
	"context"
	"fmt"
	"os"
	"time"
)

// env is what every measurement needs: the config, the stacks, the helper
// binary and where results go.
type env struct {
	cfg    config
	stacks []stack
	helper []byte
	res    *results
	ipSeq  int // last address handed out on benchNetwork
	// quiet is what is left of the time the memory groups may wait for
	// other containers to go away (quietBudget for the whole run).
	quiet time.Duration
}

func runBench(ctx context.Context, cfg config) error {
	began := time.Now()
	sts, err := cfg.selected()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(cfg.Work, 0o755); err != nil {
		return err
	}
	e := &env{cfg: cfg, stacks: sts, res: newResults(metricDefs()), quiet: quietBudget}
	cleanupContainers(ctx)
	defer cleanupContainers(context.Background())
	if err := ensureNetwork(ctx); err != nil {
		return err
	}
	defer func() { _, _ = docker(context.Background(), nil, "network", "rm", benchNetwork) }()
	if err := e.prepare(ctx); err != nil {
		return err
	}
	groups := []struct {
		name string
		fn   func(context.Context) error
	}{
		{"size", e.measureSizes},
		{"idle", e.measureIdle},
		{"services", e.measureServices},
		{"steady", e.measureSteady},
		{"stubborn", e.measureStubborn},
		{"zombies", e.measureZombies},
		{"syslog", e.measureSyslog},
		{"crash", e.measureCrash},
	}
	for _, g := range groups {
		if !cfg.wants(g.name) {
			continue
		}
		t0 := time.Now()
		if err := g.fn(ctx); err != nil {
			return fmt.Errorf("%s: %w", g.name, err)
		}
		logf("%s done in %s", g.name, time.Since(t0).Round(time.Second))
	}
	e.res.finish()
	e.res.Config["duration_s"] = time.Since(began).Round(time.Second).Seconds()
	return e.write()
}

// prepare builds the helper and the seed and s6 images, and collects the
// machine and version facts.
func (e *env) prepare(ctx context.Context) error {
	if _, err := docker(ctx, nil, "image", "inspect", "-f", "{{.Id}}", e.cfg.Base); err != nil {
		return fmt.Errorf("base image %s missing (make base): %w", e.cfg.Base, err)
	}
	for _, st := range e.stacks {
		if st.Name == svinitName {
			if _, err := docker(ctx, nil, "image", "inspect", "-f", "{{.Id}}", st.Image); err != nil {
				return fmt.Errorf("svinit image %s missing (make image FLAVOR=offline): %w", st.Image, err)
			}
		}
	}
	path, err := buildHelper(ctx, e.cfg)
	if err != nil {
		return err
	}
	if e.helper, err = os.ReadFile(path); err != nil {
		return err
	}
	if err := e.buildImages(ctx); err != nil {
		return err
	}
	e.collectFacts(ctx)
	return nil
}

func (e *env) buildImages(ctx context.Context) error {
	var pkgs []string
	for _, s := range imageSpecs {
		pkgs = append(pkgs, s.Packages...)
	}
	debs, err := fetchDebs(ctx, e.cfg, pkgs)
	if err != nil {
		return err
	}
	for _, p := range []string{"dumb-init", "runit", "s6"} {
		e.res.Versions[p] = debVersion(ctx, debs[p])
	}
	for _, spec := range imageSpecs {
		st := e.stack(spec.Stack)
		if st == nil {
			continue
		}
		logf("building %s FROM %s", st.Image, e.cfg.Base)
		if err := buildStackImage(ctx, e.cfg, spec, st.Image, debs); err != nil {
			return err
		}
	}
	return nil
}

func (e *env) stack(name string) *stack {
	for i := range e.stacks {
		if e.stacks[i].Name == name {
			return &e.stacks[i]
		}
	}
	return nil
}

// helperFile is the helper binary as a file to copy into a container.
func (e *env) helperFile() tarFile {
	return tarFile{Path: helperPath, Mode: 0o755, Data: e.helper}
}

// eachRun calls fn for every run and stack, round-robin (seed, s6, svinit,
// seed, ...) so that drift on a shared machine hits every stack alike.
func (e *env) eachRun(fn func(st stack, i int) error) error {
	for i := 0; i < e.cfg.Runs; i++ {
		for _, st := range e.stacks {
			if err := fn(st, i); err != nil {
				return fmt.Errorf("%s run %d: %w", st.Name, i+1, err)
			}
		}
	}
	return nil
}

// containerName names a bench container after its stack, metric and run.
func containerName(st stack, metric string, run int) string {
	return fmt.Sprintf("bench-%s-%s-%d", st.Name, metric, run)
}
