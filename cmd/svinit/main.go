// Command svinit is the container's init: PID 1, the `sv` control CLI and
// `su-exec`, one static binary chosen by the name it is called by.
package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"alpine-server/internal/boot"
	"alpine-server/internal/buildinfo"
	"alpine-server/internal/control"
	"alpine-server/internal/privdrop"
)

func main() {
	os.Exit(run(filepath.Base(os.Args[0]), os.Args[1:], os.Stdout, os.Stderr))
}

const usage = `usage:
  svinit [-- CMD [ARG...]]          boot as init; CMD is the main command
  svinit check [--services DIR]     validate manifests, crontabs and script folders
  svinit version                    print the version
  sv [-w SEC] [--json] VERB [NAME...]   control a running svinit (see sv --help)
  su-exec USER[:GROUP] CMD [ARG...] run CMD as USER

svinit is configured by SVINIT_* variables (README, "Configuration").
`

// run dispatches on the program's name and returns the exit code.
func run(name string, args []string, stdout, stderr io.Writer) int {
	switch name {
	case "sv":
		return sv(args, stdout, stderr)
	case "su-exec":
		return privdrop.SuExec(args, stderr)
	}
	return svinit(args, stdout, stderr)
}

func svinit(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		return boot.Run(nil)
	}
	switch a := args[0]; {
	case a == "--":
		return boot.Run(args[1:])
	case a == "-h" || a == "--help" || a == "help":
		fmt.Fprint(stdout, usage)
		return 0
	case a == "version" || a == "--version":
		fmt.Fprintln(stdout, buildinfo.String())
		return 0
	case a == "check":
		return check(args[1:], stdout, stderr)
	case a == "sv":
		return sv(args[1:], stdout, stderr)
	case a == "su-exec":
		return privdrop.SuExec(args[1:], stderr)
	case strings.HasPrefix(a, "-"):
		fmt.Fprintf(stderr, "svinit: unknown flag %s (svinit --help)\n", a)
		return 2
	default:
		fmt.Fprintf(stderr, "svinit: unknown command %q; to run a main command use: svinit -- %s\n", a, strings.Join(args, " "))
		return 2
	}
}

// sv runs the control client, then lets go of the page cache of the binary
// it read: the image's HEALTHCHECK execs one every interval, and each exec
// caches the whole binary, charged to the container (boot.ReleaseBinary).
func sv(args []string, stdout, stderr io.Writer) int {
	code := control.SvMain(args, stdout, stderr)
	boot.ReleaseBinary()
	return code
}

func check(args []string, stdout, stderr io.Writer) int {
	dir := ""
	for i := 0; i < len(args); i++ {
		switch {
		case args[i] == "--services" && i+1 < len(args):
			dir = args[i+1]
			i++
		case strings.HasPrefix(args[i], "--services="):
			dir = strings.TrimPrefix(args[i], "--services=")
		default:
			fmt.Fprintf(stderr, "svinit check: unknown argument %s (usage: svinit check [--services DIR])\n", args[i])
			return 2
		}
	}
	return boot.Check(dir, stdout, stderr)
}
