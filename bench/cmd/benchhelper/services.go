package main

import (
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"
)

// crash is a service that crashes: at once, or, given FIFO, when the
// harness opens FIFO for writing (so the crash comes when the harness wants
// it). Each instance appends "start NS" and "exit NS" to LOG, from which the
// harness computes the restart latency (exit of one instance → start of the
// next).
func crash(args []string) error {
	if len(args) < 1 || len(args) > 2 {
		return fmt.Errorf("usage: crash LOG [FIFO]")
	}
	stamp(args[0], "start")
	if len(args) == 2 {
		waitFIFO(args[1])
	}
	stamp(args[0], "exit")
	os.Exit(1)
	return nil
}

// waitFIFO blocks until a writer opens fifo (creating it first).
func waitFIFO(fifo string) {
	if err := syscall.Mkfifo(fifo, 0o600); err != nil && !os.IsExist(err) {
		fmt.Fprintln(os.Stderr, "crash: mkfifo:", err)
		return
	}
	f, err := os.OpenFile(fifo, os.O_RDONLY, 0)
	if err == nil {
		f.Close()
	}
}

func stamp(path, what string) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return
	}
	defer f.Close()
	f.WriteString(what + " " + strconv.FormatInt(time.Now().UnixNano(), 10) + "\n")
}

// stubborn is a service that ignores SIGTERM: it can only be stopped by
// SIGKILL, i.e. by the stack's stop timeout.
func stubborn() error {
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM)
	fmt.Println("bench-stubborn: up")
	for range sigs {
		fmt.Println("bench-stubborn: got TERM, ignoring it")
	}
	return nil
}
