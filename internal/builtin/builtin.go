// Package builtin defines the contract of services that run inside svinit
// (syslog, cron) rather than as child processes. The supervisor drives them
// through the same state machine as processes: start, stop, restart,
// backoff, fatal, readiness and `sv status`.
package builtin

import (
	"context"
	"fmt"
	"runtime/debug"
	"syscall"
	"time"

	"alpine-server/internal/jsoncodec"
	"alpine-server/internal/logmux"
	"alpine-server/internal/privdrop"
	"alpine-server/internal/reaper"
)

// Deps is what a built-in gets from svinit.
type Deps struct {
	Name    string            // service name ("syslog", "cron")
	Env     map[string]string // snapshot env + manifest environment (SYSLOG_SOCKET, CRONTABS_DIR...)
	Environ func() []string   // the current snapshot environment, for children
	Mux     *logmux.Mux
	Format  logmux.Format // the service's log format
	Log     *logmux.Logger
	Reaper  *reaper.Reaper
	Users   privdrop.DB
	Now     func() time.Time
}

// Service is a built-in service.
type Service interface {
	// Run blocks until ctx is done (then returns nil) or the service fails
	// (an error). It calls ready once it serves.
	Run(ctx context.Context, ready func()) error
	// Signal delivers `sv hup NAME` and the like; HUP reloads.
	Signal(sig syscall.Signal)
	// Status is the built-in's own state for `sv --json status` (cron's
	// jobs and their next runs), or nil. It is called for every status
	// request, from the control socket's goroutine.
	Status() jsoncodec.Value
}

// Factory makes a fresh built-in for each start of the service.
type Factory func(name string, d Deps) (Service, error)

// PanicError is a panic recovered in one of a built-in's goroutines. A
// built-in returns it from Run; the supervisor logs it with its stack and
// counts it as a crash of the service (exit 2), as it does for a panic in
// Run's own goroutine.
type PanicError struct {
	Value any
	Stack []byte
}

// Error is "panic: VALUE".
func (e *PanicError) Error() string { return fmt.Sprintf("panic: %v", e.Value) }

// Recover is deferred first in every goroutine a built-in starts: a panic
// there would otherwise kill PID 1, whatever Run's caller recovers. It
// hands the panic to report as a *PanicError.
func Recover(report func(error)) {
	if r := recover(); r != nil {
		report(&PanicError{Value: r, Stack: debug.Stack()})
	}
}
