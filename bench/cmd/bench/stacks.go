package main

import (
	"fmt"
	"time"
)

// stack is one of the compared images and the way extra services are added
// to it (each supervisor has its own service-folder layout).
type stack struct {
	Name  string
	Image string
	Tree  string // the process tree, for the report
	// StopTimeout says how the 2 s stop timeout of the TERM-ignoring
	// service is configured in this stack, for the report.
	StopTimeout string
	// Ready are the process names that run once the stack is up.
	Ready   []string
	service func(name, run string, stopTimeout time.Duration) []tarFile
}

const (
	seedName   = "seed"
	s6Name     = "s6"
	svinitName = "svinit"
	helperPath = "/usr/local/bin/benchhelper"
)

func stacks(cfg config) []stack {
	return []stack{
		{
			Name: seedName, Image: "alpine-server-bench:seed",
			Tree: "dumb-init -c -- runsvdir /etc/service → runsv → {busybox syslogd -n -O /proc/1/fd/1, busybox crond -f, dropbear -F -E}",
			StopTimeout: "none possible: runit's stop timeout is `sv -w 2 force-stop`, run by runit's stage 3; " +
				"the seed's tree has no stage 3 — dumb-init forwards TERM to runsvdir, which exits at once " +
				"without stopping its services, dumb-init exits with it and the kernel SIGKILLs the rest",
			Ready:   []string{"syslogd", "crond", "dropbear"},
			service: runitService,
		},
		{
			Name: s6Name, Image: "alpine-server-bench:s6",
			Tree:        "s6-svscan /etc/service → s6-supervise → {busybox syslogd -n -O /proc/1/fd/1, busybox crond -f, dropbear -F -E}",
			StopTimeout: "`timeout-kill` file containing 2000 in the service folder: s6-supervise sends TERM, then KILL after 2000 ms; s6-svscan waits for the whole tree",
			Ready:       []string{"syslogd", "crond", "dropbear"},
			service:     s6Service,
		},
		{
			Name: svinitName, Image: cfg.SvinitImage,
			Tree:        "svinit (PID 1, built-in syslog and cron) → dropbear -F -E",
			StopTimeout: "`stop_timeout: 2s` in the service's manifest.yml: svinit sends TERM to its group, then KILL after 2 s",
			Ready:       []string{"dropbear"},
			service:     svinitService,
		},
	}
}

func runScript(run string) []byte { return []byte("#!/bin/sh\n" + run + "\n") }

// runitService is a runit service folder: ./run only (runsv has no stop
// timeout of its own).
func runitService(name, run string, _ time.Duration) []tarFile {
	return []tarFile{{Path: "/etc/service/" + name + "/run", Mode: 0o755, Data: runScript(run)}}
}

// s6Service is an s6 service folder; timeout-kill is s6-supervise's stop
// timeout in milliseconds.
func s6Service(name, run string, stopTimeout time.Duration) []tarFile {
	files := []tarFile{{Path: "/etc/service/" + name + "/run", Mode: 0o755, Data: runScript(run)}}
	if stopTimeout > 0 {
		ms := fmt.Sprintf("%d\n", stopTimeout.Milliseconds())
		files = append(files, tarFile{Path: "/etc/service/" + name + "/timeout-kill", Mode: 0o644, Data: []byte(ms)})
	}
	return files
}

// svinitService is an svinit service folder: a manifest and ./run.
func svinitService(name, run string, stopTimeout time.Duration) []tarFile {
	manifest := "enabled: true\nauto_start: true\n"
	if stopTimeout > 0 {
		manifest += fmt.Sprintf("stop_timeout: %s\n", stopTimeout)
	}
	return []tarFile{
		{Path: "/etc/services/" + name + "/run", Mode: 0o755, Data: runScript(run)},
		{Path: "/etc/services/" + name + "/manifest.yml", Mode: 0o644, Data: []byte(manifest)},
	}
}
