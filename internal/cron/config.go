package cron

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"alpine-server/internal/clock"
)

// Defaults for Config.
const (
	DefaultDir       = "/etc/crontabs"
	DefaultKillGrace = 5 * time.Second
	// rescanEvery is how often the crontab files are checked for changes.
	rescanEvery = time.Minute
)

// Job is what SpawnFunc starts: one run of one crontab line.
type Job struct {
	User    string   // the crontab's user; the job runs as this user
	Line    int      // line number in File
	File    string   // path of the crontab
	Spec    string   // the schedule as written
	Command string   // given to Shell as `Shell -c Command`
	Shell   string   // SHELL= from the crontab, or DefaultShell
	Env     []string // snapshot env + crontab VARs + HOME/USER/LOGNAME/SHELL, as crond sets them
}

// Process is a started job.
type Process interface {
	Pid() int
	// Done receives the exit code (128+N when killed by signal N) once.
	Done() <-chan int
	// Signal signals the job's process group.
	Signal(sig syscall.Signal) error
}

// SpawnFunc starts j.Command with j.Shell as j.User, in its own process
// group, output prefixed cron/USER. Only internal/reaper may fork, so the
// integrator supplies it.
type SpawnFunc func(j Job) (Process, error)

// Logger is where cron's own messages go (*logmux.Logger fits).
type Logger interface {
	Debugf(format string, a ...any)
	Infof(format string, a ...any)
	Warnf(format string, a ...any)
	Errorf(format string, a ...any)
}

// Clock is the time source of the scheduler, injected so tests drive
// minutes in microseconds.
type Clock = clock.Clock

// Boot remembers whether @reboot jobs have run during this boot. Share one
// Boot between every Cron built by one svinit process so that restarting
// or reconfiguring the cron service does not run @reboot jobs again.
type Boot struct{ done atomic.Bool }

// claim reports whether the caller is the first to ask.
func (b *Boot) claim() bool { return b.done.CompareAndSwap(false, true) }

// Config configures a Cron.
type Config struct {
	Dir        string           // CRONTABS_DIR; "" = DefaultDir
	JobTimeout time.Duration    // CRON_JOB_TIMEOUT; 0 = none
	KillGrace  time.Duration    // TERM → KILL delay on timeout and stop; 0 = DefaultKillGrace
	Environ    func() []string  // the snapshot environment for jobs; nil = os.Environ
	Spawn      SpawnFunc        // required
	LookupUser LookupUserFunc   // required: user → home, error if unknown
	Log        Logger           // nil = discard
	Now        func() time.Time // used when Clock is nil; nil = time.Now
	Clock      Clock            // nil = the real clock (with Now)
	Location   *time.Location   // the container's TZ, default zone of schedules; nil = time.Local
	Boot       *Boot            // nil = @reboot jobs run on this Cron's first Run
}

// ApplyEnv sets Dir, JobTimeout and Location from a service environment:
// CRONTABS_DIR, CRON_JOB_TIMEOUT (seconds, or a Go duration such as "90s",
// "1h"), and TZ (a zone name; when unset or not loadable, time.Local stays).
func ApplyEnv(cfg *Config, env map[string]string) error {
	if d := env["CRONTABS_DIR"]; d != "" {
		cfg.Dir = d
	}
	if s := env["CRON_JOB_TIMEOUT"]; s != "" {
		d, err := ParseJobTimeout(s)
		if err != nil {
			return err
		}
		cfg.JobTimeout = d
	}
	if tz := strings.TrimPrefix(env["TZ"], ":"); tz != "" {
		if loc, err := time.LoadLocation(tz); err == nil {
			cfg.Location = loc
		}
	}
	return nil
}

// ParseJobTimeout parses CRON_JOB_TIMEOUT: whole seconds ("300") or a Go
// duration ("5m"); 0 means no timeout.
func ParseJobTimeout(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if n, err := strconv.ParseUint(s, 10, 32); err == nil {
		return time.Duration(n) * time.Second, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("CRON_JOB_TIMEOUT=%q: want seconds or a duration like 90s, 1h", s)
	}
	return d, nil
}

// withDefaults checks cfg and fills in its defaults.
func (cfg Config) withDefaults() (Config, error) {
	switch {
	case cfg.Spawn == nil:
		return cfg, errors.New("cron: Config.Spawn is required")
	case cfg.LookupUser == nil:
		return cfg, errors.New("cron: Config.LookupUser is required")
	case cfg.JobTimeout < 0 || cfg.KillGrace < 0:
		return cfg, errors.New("cron: negative JobTimeout or KillGrace")
	}
	if cfg.Dir == "" {
		cfg.Dir = DefaultDir
	}
	if cfg.KillGrace == 0 {
		cfg.KillGrace = DefaultKillGrace
	}
	if cfg.Environ == nil {
		cfg.Environ = os.Environ
	}
	if cfg.Log == nil {
		cfg.Log = nopLogger{}
	}
	if cfg.Location == nil {
		cfg.Location = time.Local
	}
	if cfg.Boot == nil {
		cfg.Boot = new(Boot)
	}
	if cfg.Clock == nil {
		// Waits are capped at rescanEvery by the scheduler, so a timer that
		// slept through a host suspend (Go timers use the monotonic clock,
		// which stops during suspend) is late by a minute at most.
		cfg.Clock = clock.Real{NowFunc: cfg.Now}
	}
	return cfg, nil
}

type nopLogger struct{}

func (nopLogger) Debugf(string, ...any) {}
func (nopLogger) Infof(string, ...any)  {}
func (nopLogger) Warnf(string, ...any)  {}
func (nopLogger) Errorf(string, ...any) {}
