// forkdaemon is a fake daemon for the PID-1 tests, shaped like nginx: the
// master binds a TCP address, forks a worker that serves the socket, and
// waits. The worker stays in the master's process group; with
// master-setsid it calls setsid() first, as PostgreSQL's backends do, and
// leaves the group, with an empty environment. Killing the master (kill -9) leaves the worker holding
// the port; a new master then fails to bind, exit 1.
package main

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"syscall"
	"time"
)

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: forkdaemon master|master-setsid|worker ADDR")
		os.Exit(2)
	}
	if os.Args[1] == "worker" {
		worker()
		return
	}
	l, err := net.Listen("tcp", os.Args[2])
	if err != nil {
		fmt.Fprintf(os.Stderr, "bind() to %s failed: %v\n", os.Args[2], err)
		os.Exit(1)
	}
	f, err := l.(*net.TCPListener).File()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	w := exec.Command(os.Args[0], "worker", os.Args[2])
	w.ExtraFiles = []*os.File{f} // fd 3
	if os.Args[1] == "master-setsid" {
		w.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
		w.Env = []string{} // and clears its environment
	}
	w.Stdout, w.Stderr = os.Stdout, os.Stderr
	if err := w.Start(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Printf("master %d, worker %d on %s\n", os.Getpid(), w.Process.Pid, os.Args[2])
	for {
		time.Sleep(time.Hour)
	}
}

func worker() {
	l, err := net.FileListener(os.NewFile(3, "listener"))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	for {
		c, err := l.Accept()
		if err != nil {
			os.Exit(1)
		}
		c.Close()
	}
}
