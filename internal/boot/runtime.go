package boot

import (
	"os"
	"runtime"
)

// tuneRuntime sizes the Go runtime for PID 1, which mostly waits: one P
// unless GOMAXPROCS is set. Every P brings its own mcache, run queue and,
// once used, an OS thread with its stack, and the runtime sizes Ps to the
// host's cores (64 on a big host), not to what an init needs. The
// syslog, reaping and restart figures of `make bench` are measured with it.
func tuneRuntime() {
	if os.Getenv("GOMAXPROCS") == "" {
		runtime.GOMAXPROCS(1)
	}
}
