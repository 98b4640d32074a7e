// Package buildinfo carries the version stamped into the binary at link time
// (make build sets them with -ldflags -X).
package buildinfo

import (
	"fmt"
	"runtime"
)

// Version and Commit are set by the linker; the defaults mark a plain go build.
var (
	Version = "dev"
	Commit  = "unknown"
)

// String is the one-line answer of `svinit version`.
func String() string {
	return fmt.Sprintf("svinit %s (commit %s, %s)", Version, Commit, runtime.Version())
}
