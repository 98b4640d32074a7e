// Command benchhelper runs inside the benchmarked containers; the same static
// binary is copied into every stack so that each stack does exactly the same
// work. Subcommands:
//
//	orphans N        create N orphans and time how long PID 1 takes to reap them
//	syslog N TAG     send N messages to /dev/log as fast as the socket accepts them
//	crash LOG [FIFO] a service that exits 1 at once, or once FIFO is opened for
//	                 writing; every instance appends "start NS" and "exit NS"
//	                 lines to LOG
//	stubborn         a service that ignores SIGTERM (and says so once per signal)
//
// Results are printed as one JSON object on stdout.
package main

import (
	"fmt"
	"os"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "benchhelper:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	if len(args) == 0 {
		return fmt.Errorf("usage: benchhelper orphans|orphans-child|syslog|crash|stubborn ARGS")
	}
	switch args[0] {
	case "orphans":
		return orphans(args[1:])
	case "orphans-child":
		return orphansChild(args[1:])
	case "syslog":
		return syslogFlood(args[1:])
	case "crash":
		return crash(args[1:])
	case "stubborn":
		return stubborn()
	}
	return fmt.Errorf("unknown subcommand %q", args[0])
}
