package boot

import (
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"time"

	"alpine-server/internal/cron"
	"alpine-server/internal/privdrop"
	"alpine-server/internal/startup"
)

// Check is `svinit check`: it validates every manifest, the dependency
// graph, the users services run as, the crontabs of cron services and the
// script folders, printing one line per problem. It returns 0 when all is
// well, 1 otherwise.
func Check(servicesDir string, stdout, stderr io.Writer) int {
	return check("/", servicesDir, os.Getenv, stdout, stderr)
}

// check is Check on the file system under root (tests use a temporary one).
func check(root, servicesDir string, getenv func(string) string, stdout, stderr io.Writer) int {
	set, err := loadSettings(getenv, root)
	if err != nil {
		fmt.Fprintf(stderr, "svinit check: %v\n", err)
		return 1
	}
	where := servicesDir
	if servicesDir == "" {
		servicesDir = set.ServicesDir
		where = describeServicesDir(servicesDir, set.PortList, root)
	}
	var problems []error
	p, warnings, err := LoadPlan(servicesDir, os.LookupEnv, privdrop.DB{})
	problems = append(problems, unjoin(err)...)
	if p != nil {
		for _, name := range slices.Sorted(maps.Keys(p.Services)) {
			svc := p.Services[name]
			problems = append(problems, svc.PathProblems()...)
			if svc.Builtin == "cron" {
				problems = append(problems, checkCrontabs(svc.Environment)...)
			}
		}
	}
	for _, dir := range []string{set.StartupDir, set.ShutdownDir} {
		_, notes, err := startup.List(dir)
		warnings = append(warnings, notes...)
		problems = append(problems, unjoin(err)...)
	}
	for _, w := range warnings {
		if !slices.ContainsFunc(problems, func(e error) bool { return e.Error() == w }) {
			fmt.Fprintf(stderr, "warning: %s\n", w) // a path problem is an error here
		}
	}
	for _, e := range problems {
		fmt.Fprintf(stderr, "%v\n", e)
	}
	if len(problems) > 0 {
		fmt.Fprintf(stderr, "svinit check: %d problem(s)\n", len(problems))
		return 1
	}
	n := 0
	if p != nil {
		n = len(p.Services)
	}
	fmt.Fprintf(stdout, "ok: %d services in %s\n", n, where)
	return 0
}

func checkCrontabs(env map[string]string) []error {
	cfg := cron.Config{}
	if err := cron.ApplyEnv(&cfg, env); err != nil {
		return []error{err}
	}
	dir := cfg.Dir
	if dir == "" {
		dir = cron.DefaultDir
	}
	loc := cfg.Location
	if loc == nil {
		loc = time.Local
	}
	users := privdrop.DB{}
	return cron.Check(dir, loc, func(user string) (string, error) {
		c, err := users.Lookup(user, "")
		if err != nil {
			return "", err
		}
		return c.Home, nil
	})
}

// unjoin splits an errors.Join error into its lines.
func unjoin(err error) []error {
	if err == nil {
		return nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, unjoin(e)...)
		}
		return out
	}
	return []error{err}
}
