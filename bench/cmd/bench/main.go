// Command bench compares three container stacks that do the same job (sshd +
// syslog to stdout + cron, supervised): the seed's (dumb-init + runit +
// busybox syslogd/crond), s6, and svinit's offline image. It builds the
// first two FROM the shared offline base, measures every metric of issue 5
// on each, and writes bench/RESULTS.md, bench/results.json and
// bench/results.svg. `make bench` runs it; nothing here is a test.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// config is the bench's settings, from flags.
type config struct {
	Root           string // repository root
	Work           string // scratch folder (gitignored)
	Out            string // where RESULTS.md, results.json, results.svg go
	Base           string
	SvinitImage    string
	Runs           int
	SteadyRuns     int
	SyslogMessages int
	Orphans        int
	CrashWindow    time.Duration
	Stacks         []string
	Metrics        map[string]bool // groups to run; all when empty
}

func main() {
	cfg, err := parseFlags(os.Args[1:])
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := runBench(ctx, cfg); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func parseFlags(args []string) (config, error) {
	var cfg config
	var stacksFlag, metricsFlag string
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.StringVar(&cfg.Root, "root", ".", "repository root")
	fs.StringVar(&cfg.Base, "base", "alpine-server-base:offline", "offline base image the seed and s6 images are built FROM")
	fs.StringVar(&cfg.SvinitImage, "svinit-image", "", "svinit image (default alpine-server:$(cat VERSION)-offline)")
	fs.IntVar(&cfg.Runs, "runs", 3, "runs per metric and stack")
	fs.IntVar(&cfg.SteadyRuns, "steady-runs", 2, "runs per stack of the 90 s steady-state memory")
	fs.IntVar(&cfg.SyslogMessages, "syslog-messages", 200000, "messages per syslog run")
	fs.IntVar(&cfg.Orphans, "orphans", 10000, "orphans per zombie run")
	fs.DurationVar(&cfg.CrashWindow, "crash-window", 30*time.Second, "how long the crash loop's CPU is measured")
	fs.StringVar(&stacksFlag, "stacks", "seed,s6,svinit", "stacks to compare (seed first: ratios are to seed)")
	fs.StringVar(&metricsFlag, "metrics", "", "only these groups: idle,steady,services,stubborn,crash,zombies,syslog,size (default all)")
	if err := fs.Parse(args); err != nil {
		return cfg, err
	}
	if cfg.Runs < 1 || cfg.SteadyRuns < 1 || cfg.SyslogMessages < 1 || cfg.Orphans < 1 {
		return cfg, fmt.Errorf("-runs, -steady-runs, -syslog-messages and -orphans must be positive")
	}
	root, err := filepath.Abs(cfg.Root)
	if err != nil {
		return cfg, err
	}
	cfg.Root, cfg.Work, cfg.Out = root, filepath.Join(root, "bench/work"), filepath.Join(root, "bench")
	if cfg.SvinitImage == "" {
		v, err := os.ReadFile(filepath.Join(root, "VERSION"))
		if err != nil {
			return cfg, fmt.Errorf("read VERSION (or pass -svinit-image): %w", err)
		}
		cfg.SvinitImage = "alpine-server:" + strings.TrimSpace(string(v)) + "-offline"
	}
	cfg.Stacks = strings.Split(stacksFlag, ",")
	if cfg.Stacks[0] != seedName {
		return cfg, fmt.Errorf("-stacks must start with seed (ratios are to seed)")
	}
	cfg.Metrics = map[string]bool{}
	for _, m := range strings.Split(metricsFlag, ",") {
		if m != "" {
			cfg.Metrics[m] = true
		}
	}
	return cfg, nil
}

// wants says whether a metric group is to be run.
func (c config) wants(group string) bool { return len(c.Metrics) == 0 || c.Metrics[group] }

// selected returns the stacks named by -stacks, in that order.
func (c config) selected() ([]stack, error) {
	all := map[string]stack{}
	for _, s := range stacks(c) {
		all[s.Name] = s
	}
	var out []stack
	for _, name := range c.Stacks {
		s, ok := all[name]
		if !ok {
			return nil, fmt.Errorf("unknown stack %q (want seed, s6, svinit)", name)
		}
		out = append(out, s)
	}
	return out, nil
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "bench: "+format+"\n", args...)
}
