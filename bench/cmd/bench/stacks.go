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
	service func(svc service) []tarFile
	// up is the stack's own command to start a service that is down.
	up func(name string) []string
}

// service is an extra service added to a container for a measurement.
type service struct {
	Name        string
	Run         string        // the body of ./run
	StopTimeout time.Duration // 0: the stack's default
	Down        bool          // not started at boot; `up` starts it
	DependsOn   string        // svinit only: started once this one is ready
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
			up:      func(n string) []string { return []string{"sv", "up", "/etc/service/" + n} },
		},
		{
			Name: s6Name, Image: "alpine-server-bench:s6",
			Tree:        "s6-svscan /etc/service → s6-supervise → {busybox syslogd -n -O /proc/1/fd/1, busybox crond -f, dropbear -F -E}",
			StopTimeout: "`timeout-kill` file containing 2000 in the service folder: s6-supervise sends TERM, then KILL after 2000 ms; s6-svscan waits for the whole tree",
			Ready:       []string{"syslogd", "crond", "dropbear"},
			service:     s6Service,
			up:          func(n string) []string { return []string{"s6-svc", "-u", "/etc/service/" + n} },
		},
		{
			Name: svinitName, Image: cfg.SvinitImage,
			Tree:        "svinit (PID 1, built-in syslog and cron) → dropbear -F -E",
			StopTimeout: "`stop_timeout: 2s` in the service's manifest.yml: svinit sends TERM to its group, then KILL after 2 s",
			Ready:       []string{"dropbear"},
			service:     svinitService,
			up:          func(n string) []string { return []string{"sv", "up", n} },
		},
	}
}

func runScript(run string) []byte { return []byte("#!/bin/sh\n" + run + "\n") }

// runitService is a runit service folder: ./run, and ./down to stay down at
// boot (runsv has no stop timeout of its own).
func runitService(svc service) []tarFile {
	dir := "/etc/service/" + svc.Name + "/"
	files := []tarFile{{Path: dir + "run", Mode: 0o755, Data: runScript(svc.Run)}}
	if svc.Down {
		files = append(files, tarFile{Path: dir + "down", Mode: 0o644})
	}
	return files
}

// s6Service is an s6 service folder: runit's files, plus timeout-kill, the
// stop timeout of s6-supervise in milliseconds.
func s6Service(svc service) []tarFile {
	files := runitService(svc)
	if svc.StopTimeout > 0 {
		ms := fmt.Sprintf("%d\n", svc.StopTimeout.Milliseconds())
		files = append(files, tarFile{Path: "/etc/service/" + svc.Name + "/timeout-kill", Mode: 0o644, Data: []byte(ms)})
	}
	return files
}

// svinitService is an svinit service folder: a manifest and ./run.
func svinitService(svc service) []tarFile {
	manifest := fmt.Sprintf("enabled: true\nauto_start: %v\n", !svc.Down)
	if svc.StopTimeout > 0 {
		manifest += fmt.Sprintf("stop_timeout: %s\n", svc.StopTimeout)
	}
	if svc.DependsOn != "" {
		manifest += fmt.Sprintf("depends_on: [%s]\n", svc.DependsOn)
	}
	dir := "/etc/services/" + svc.Name + "/"
	return []tarFile{
		{Path: dir + "run", Mode: 0o755, Data: runScript(svc.Run)},
		{Path: dir + "manifest.yml", Mode: 0o644, Data: []byte(manifest)},
	}
}
