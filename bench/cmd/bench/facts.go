package main

import (
	"context"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// collectFacts fills in the machine, date and versions of the report;
// a fact that cannot be read is written as "?".
func (e *env) collectFacts(ctx context.Context) {
	r := e.res
	r.Date = time.Now().UTC().Format("2006-01-02 15:04 UTC")
	r.Machine["cpu"] = cpuModel()
	r.Machine["cores"] = strconv.Itoa(runtime.NumCPU())
	r.Machine["memory"] = memTotal()
	r.Machine["kernel"] = firstLine(commandOut(ctx, "uname", "-sr"))
	r.Machine["docker"] = orUnknown(docker(ctx, nil, "version", "-f", "{{.Server.Version}}"))
	r.Machine["docker_info"] = orUnknown(docker(ctx, nil, "info", "-f",
		"cgroup v{{.CgroupVersion}}, {{.Driver}}, log driver {{.LoggingDriver}}"))
	r.Versions["go"] = firstLine(commandOut(ctx, "go", "version"))
	r.Versions["busybox"] = e.inBase(ctx, "busybox | head -n 1")
	r.Versions["dropbear"] = e.inBase(ctx, "dropbear -V 2>&1 | head -n 1")
	if st := e.stack(svinitName); st != nil {
		r.Versions["svinit"] = strings.ReplaceAll(orUnknown(docker(ctx, nil, "run", "--rm", "--entrypoint", "/sbin/svinit", st.Image, "version")), "\n", "; ")
	}
	for _, st := range e.stacks {
		r.Stacks = append(r.Stacks, stackInfo{Name: st.Name, Image: st.Image, Tree: st.Tree, StopTimeout: st.StopTimeout})
	}
	r.Config["runs"] = e.cfg.Runs
	r.Config["syslog_messages"] = e.cfg.SyslogMessages
	r.Config["orphans"] = e.cfg.Orphans
	r.Config["crash_window_s"] = e.cfg.CrashWindow.Seconds()
	r.Config["base"] = e.cfg.Base
}

// inBase runs a shell snippet in the offline base image.
func (e *env) inBase(ctx context.Context, script string) string {
	return orUnknown(docker(ctx, nil, "run", "--rm", "--entrypoint", "/bin/sh", e.cfg.Base, "-c", script))
}

func cpuModel() string {
	b, _ := os.ReadFile("/proc/cpuinfo")
	for _, line := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "?"
}

func memTotal() string {
	b, _ := os.ReadFile("/proc/meminfo")
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "MemTotal:" {
			kb, _ := strconv.ParseFloat(f[1], 64)
			return strconv.FormatFloat(kb/1024/1024, 'f', 1, 64) + " GiB"
		}
	}
	return "?"
}

func commandOut(ctx context.Context, name string, args ...string) string {
	out, err := exec.CommandContext(ctx, name, args...).Output()
	if err != nil {
		return "?"
	}
	return strings.TrimSpace(string(out))
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

func orUnknown(s string, err error) string {
	if err != nil || s == "" {
		return "?"
	}
	return s
}
