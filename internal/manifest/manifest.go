// Package manifest reads and validates service folders (SPEC §4):
// $SVINIT_SERVICES_DIR/NAME/manifest.yml plus the optional run and finish
// programs beside it.
//
// Parsing is strict: unknown keys, wrong types, bad durations, signals or
// probe addresses are errors of the form "FILE:LINE: what is wrong", and a
// file's errors are all reported at once (errors.Join), so a user fixing a
// manifest sees every problem in one pass.
//
// Variables: ${VAR} and ${VAR:-default} are expanded in scalar values (not
// keys) after the YAML text is parsed into nodes and before the values are
// interpreted; see Expand for the exact rules. Expanding values rather than
// the raw text means a variable holding ':', '#' or a newline can never
// change the structure of the manifest, and line numbers in errors stay
// those of the file.
//
// Scalars are read by their text, whatever their YAML quoting: `enabled:
// "true"` is true, `PORT: 8080` is the string "8080". A value that is null
// (`key:`, `~`) or expands to "" is as if the key were absent (its default
// applies).
package manifest

import (
	"fmt"
	"syscall"
	"time"
)

// ReadyKind names the readiness probe of a service.
type ReadyKind string

// Readiness probes (SPEC §4 "ready").
const (
	ReadyStarted ReadyKind = ""     // ready once started (oneshot: once exited 0)
	ReadyTCP     ReadyKind = "tcp"  // a TCP connect to Addr succeeds
	ReadyHTTP    ReadyKind = "http" // GET Path on HostPort answers 2xx/3xx
	ReadyExec    ReadyKind = "exec" // the Exec command exits 0
	ReadyFile    ReadyKind = "file" // the file Addr exists
	// The service says it is ready itself (internal/notify):
	ReadyNotify ReadyKind = "notify" // READY=1 on $NOTIFY_SOCKET (Addr: the protocol, "systemd")
	ReadyFD     ReadyKind = "fd"     // a newline written to fd FD, s6's notification-fd
)

// Defaults of the manifest's durations.
const (
	DefaultInterval     = 200 * time.Millisecond
	DefaultReadyTimeout = 30 * time.Second
	DefaultStopTimeout  = 5 * time.Second
)

// Ready says when a started service counts as ready.
type Ready struct {
	Kind ReadyKind
	// Addr is the probe target as written: tcp "host:port", http URL,
	// file absolute path. Empty for exec and the default.
	Addr string
	// HostPort is what to dial for tcp and http probes; for http the port
	// defaults to 80.
	HostPort string
	// Path is the http request target ("/health?x=1"), "/" when the URL has none.
	Path string
	// Exec is the probe command for exec probes (argv, non-empty).
	Exec []string
	// FD is the descriptor the service writes its newline to, for fd
	// readiness (3 to 1023).
	FD int
	// Interval between probes, > 0 (default 200ms).
	Interval time.Duration
	// Timeout: not ready by then → the start failed; > 0 (default 30s).
	// For a oneshot it bounds the run.
	Timeout time.Duration
}

// Restart is a service's restart policy.
type Restart string

// Restart policies.
const (
	RestartAlways    Restart = "always"
	RestartOnFailure Restart = "on-failure"
	RestartNever     Restart = "never"
)

// KillMode says what svinit stops when a service's main process exits or
// the service is stopped (`kill_mode:`).
type KillMode string

// Kill modes, named after systemd's KillMode=.
const (
	// KillControlGroup (the default): the main process's group and every
	// other process of the run, found by the run's mark, even those that
	// left the group (PostgreSQL's backends call setsid).
	KillControlGroup KillMode = "control-group"
	// KillProcessGroup: the main process's group only; a process that
	// started a session of its own lives on (an SSH login under dropbear).
	KillProcessGroup KillMode = "process-group"
)

// Builtin service names accepted in `command: [builtin, NAME]`.
const (
	BuiltinSyslog = "syslog"
	BuiltinCron   = "cron"
)

// Service is one validated service folder.
type Service struct {
	Name string // folder name, matches NamePattern
	Dir  string // absolute path of the service folder
	File string // path of manifest.yml, as given (used in messages)

	Enabled   bool
	AutoStart bool

	// Command is argv as written; empty means run Dir/run. For a builtin
	// it is ["builtin", NAME] and Builtin is NAME.
	Command []string
	Builtin string // "syslog" or "cron" for builtins, else ""
	// Run is Dir/run when Command is empty (checked to be an executable
	// regular file when the service is enabled).
	Run string
	// Finish is Dir/finish when present (checked executable); else "".
	Finish string

	User      string // run as this user (su-exec rules); "" = svinit's own
	Group     string // "" = the user's primary group (needs User)
	Directory string // working directory, absolute; default Dir

	Environment map[string]string // extra variables, nil when none
	DependsOn   []string          // as written, no duplicates, not itself

	Ready   Ready
	Oneshot bool
	Restart Restart // default always; oneshot: never

	StopSignal  syscall.Signal // default SIGTERM
	StopTimeout time.Duration  // > 0, default 5s
	Essential   bool
	KillMode    KillMode // default KillControlGroup
	Log         string   // "" (the global default) | prefix | plain | json | inherit | discard

	// Watchdog: a notify service sends WATCHDOG=1 at least this often,
	// else it is restarted; 0 = none.
	Watchdog time.Duration
	// Health is the liveness probe after ready; Health.Kind "" = none.
	Health Health

	// Hash is a digest of every field above and of the run and finish
	// files' contents and modes: reload restarts a service when it changes.
	// Comments and formatting of the manifest do not change it.
	Hash string

	// Warnings about this manifest (unset variables, ignored files), each
	// one line naming the file.
	Warnings []string

	lines map[string]int // top-level key → line, for messages about it
}

// Line returns the line of key ("depends_on", "ready"...) in the manifest,
// or 0 when the key is absent or unknown.
func (s *Service) Line(key string) int {
	return s.lines[key]
}

// Pos returns "FILE:LINE" for key, or just FILE when its line is unknown:
// the prefix other packages put on errors about this service's settings.
func (s *Service) Pos(key string) string {
	if l := s.Line(key); l > 0 {
		return fmt.Sprintf("%s:%d", s.File, l)
	}
	return s.File
}

// NamePattern is the rule for service folder names (SPEC §4).
const NamePattern = `^[a-z0-9][a-z0-9_.-]{0,63}$`

// ValidName reports whether name matches NamePattern. It is the one copy
// of the rule: every package that checks a service name (the control
// protocol too) calls it. Hand-written, as a loop over bytes, rather than a
// regexp compiled at start-up in PID 1; FuzzValidName holds it to
// NamePattern.
func ValidName(name string) bool {
	if name == "" || len(name) > 64 {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
		case i > 0 && (c == '_' || c == '.' || c == '-'):
		default:
			return false
		}
	}
	return true
}

// Error is one problem in one manifest; Error() is "FILE:LINE: Msg", or
// "FILE: Msg" when Line is 0.
type Error struct {
	File string
	Line int
	Msg  string
}

// Error is "FILE:LINE: Msg", or "FILE: Msg" without a line.
func (e *Error) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	}
	return fmt.Sprintf("%s: %s", e.File, e.Msg)
}
