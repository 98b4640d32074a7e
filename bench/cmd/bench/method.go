package main

import (
	"fmt"
	"strings"
)

// writeMethod says how each figure was measured, with the commands.
func writeMethod(b *strings.Builder, cfg config) {
	fmt.Fprintf(b, "\n## How each figure is measured\n\n")
	fmt.Fprintf(b, "`make bench` = `scripts/ensure-docker`, `make base`, `make image FLAVOR=offline`, then "+
		"`go run ./bench/cmd/bench` (flags: `-runs`, `-steady-runs`, `-stacks`, `-metrics`, `-syslog-messages`, `-orphans`, `-crash-window`). "+
		"It builds `alpine-server-bench:seed` and `alpine-server-bench:s6` (`FROM %s`, `COPY` of the Debian packages' "+
		"programs and libraries from `apt-get download` + `dpkg -x`, and the service folders in `bench/stacks/rootfs`), "+
		"and a static helper (`bench/cmd/benchhelper`) copied into containers that need it with `docker cp`. "+
		"Stacks are measured round-robin (seed, s6, svinit, seed, …) so that drift hits all of them alike.\n\n", cfg.Base)
	for _, line := range methodLines(cfg) {
		fmt.Fprintf(b, "- %s\n", line)
	}
}

// writeBehaviours explains, once, what each stack does that shapes its
// figures (found while building this bench; the commands to check are given).
func writeBehaviours(b *strings.Builder) {
	fmt.Fprintf(b, "\n## What shapes the figures\n\n")
	for _, line := range []string{
		"**seed's stop is fast because nothing is stopped**: dumb-init forwards TERM to runsvdir, which exits at once " +
			"(runsvdir(8): \"If runsvdir receives a TERM signal, it exits with 0 immediately\"); dumb-init exits with it " +
			"and the kernel SIGKILLs every other process of the PID namespace. No service ever gets TERM (see the " +
			"notes: 0 of N), so neither a clean shutdown nor a stop timeout exists in that tree.",
		"**busybox syslogd drops messages when stdout is slow**: it opens its `-O` file with `O_NONBLOCK` " +
			"(`/proc/PID/fdinfo` of its log fd shows flags 0106001), so when the container's stdout pipe is full " +
			"(dockerd reading slower than the flood) its writes fail with EAGAIN and the message is gone. The client " +
			"never drops (its datagram writes block), so *lost* is the server's doing.",
		"**runit restarts a service at once if it ran ≥ 1 s, else after 1 s** (runsv sleeps 1 s when the run " +
			"lasted < 1 s). **s6-supervise waited ~1 s in both cases here**: without a readiness notification-fd " +
			"the service is never \"ready\", and only a service ready for over 1 s is restarted at once.",
		"**svinit's restart backoff starts at 100 ms and doubles** (100 ms, 200 ms, … capped at 30 s; after 10 " +
			"failures in 60 s the service is `fatal`), hence fewer restarts and less CPU in the crash loop.",
		"**start → SSH ready is mostly docker**: with the page cache dropped, `docker start` itself and its " +
			"userland proxy take most of the time, the same for every stack; the row measured on the container's " +
			"own IP isolates the stacks' boot.",
		"**file pages are memory**: the memory cgroup is charged for the page cache of every file its processes " +
			"read, so a binary's size shows in `cache` (check with `fincore` on the files under `/proc/PID/root/` " +
			"after a start). The seed and s6 stacks share libc between their small C programs; in svinit's image " +
			"dropbear is the only libc user and pays for it alone (its Pss is higher).",
		"**it is readahead, not large folios**: `/dev/vda` has `read_ahead_kb` = 8192, so the first faults after " +
			"an exec read the whole 4 MB svinit binary; `/proc/kpageflags` shows its mapped pages are all order-0 " +
			"(no compound pages) and `smaps` shows no PMD-mapped file pages. `MADV_RANDOM` stops read-around on a " +
			"data mapping but, since Linux 6.16, not on executable memory, where a fault reads ahead to the end of " +
			"its mapping; and `MADV_PAGEOUT` of our own mapped file pages reclaims nothing on this kernel (6.18: " +
			"`mincore` before and after agree). So svinit's page-out maps its read-only mappings afresh over " +
			"themselves (the old pages, unmapped, are dropped with `fadvise(DONTNEED)`), then cuts them into " +
			"one-page mappings (every other one `MADV_DONTDUMP`, so they do not merge) marked `MADV_RANDOM`: a " +
			"later fault, or fault-around, brings in one page.",
		"**the HEALTHCHECK re-reads the binary**: each `sv check` is an exec of the 4 MB svinit binary, whose " +
			"readahead caches all of it in the container's cgroup, and PID 1 maps ~0.75 MB more of itself " +
			"while it answers (mapped pages by package, from `smaps` of the one-page mappings and `go tool nm`: " +
			"encoding/json, reflect, slices, runtime, net, time first). svinit counters both: `sv` remaps its own " +
			"pages and drops the unmapped cache before it exits, and PID 1 checks `mincore` every second, drops " +
			"what came back and remaps itself at most every 10 s. svinit only ever drops pages of its own binary: " +
			"busybox, libc and dropbear's pages are left alone.",
		"**svinit's container also pays for busybox**: its startup script (`/etc/startup.d/10-ssh`), the ssh run " +
			"script and `dropbearkey` run `/bin/sh` and other busybox applets at boot, so busybox (1.9 MiB) stays " +
			"in the page cache (inactive) as in the seed, where busybox syslogd and crond keep it mapped.",
	} {
		fmt.Fprintf(b, "- %s\n", line)
	}
}

func methodLines(cfg config) []string {
	return []string{
		"**idle memory, start, stop**: `docker create -p 127.0.0.1:PORT:22 IMAGE`; `echo 3 > /proc/sys/vm/drop_caches`; " +
			"`docker start`, while polling 127.0.0.1:PORT until a connection yields `SSH-` (docker's proxy accepts " +
			"before the container listens, so a bare connect proves nothing); 6 s after `docker start` began, read the " +
			"container's `memory.usage_in_bytes` and `memory.stat` (`rss`, `cache`) and sum `Pss` of " +
			"`/proc/PID/smaps_rollup` over its `cgroup.procs`; then time `docker stop` (10 s grace). *PID 1 started → SSH banner on the " +
			"container's own IP* runs from docker's `State.StartedAt` to the first banner on CONTAINER_IP:22 (the " +
			"containers are on a bridge network with fixed addresses so this is polled from the start too): it leaves " +
			"out docker's own start-up work and its userland proxy, which here adds ~0.6 s before the published port " +
			"passes a banner through, the same for every stack.",
		fmt.Sprintf("**steady memory**: %d runs per stack, one container at a time, from a dropped page cache, created "+
			"with `--health-interval %s` (svinit's image runs its HEALTHCHECK `sv check` every %s; seed and s6 have no "+
			"HEALTHCHECK); around %s after `docker start` read `memory.usage_in_bytes` and the working set, usage − "+
			"`total_inactive_file` of `memory.stat` (what `docker stats` and the kubelet show), %d times a second apart, "+
			"and keep the mean (docker runs checks on a fixed beat: a single read would always fall at the same phase).",
			cfg.SteadyRuns, healthInterval, healthInterval, steadyDelay, steadyReads),
		fmt.Sprintf("**extra services**: the same tiny service in every stack, `%s` in a `#!/bin/sh` run script "+
			"(runit and s6: a service folder each, so runsv/s6-supervise + sh→sleep; svinit: a manifest + run), "+
			"%v of them; in svinit the first %d form a dependency chain (`depends_on` the previous), the rest start "+
			"in parallel; runit and s6 have no dependencies and start all at once. From a dropped page cache: "+
			"*all running* = docker's `State.StartedAt` → every `sleep` process is in the cgroup (polled every 5 ms); "+
			"memory 6 s after start as in the idle row; then `docker stop` is timed. Per added service = "+
			"(usage with 30 − usage with 10) ÷ 20, per run. `services.svg` plots the medians with the idle row at 0.",
			tinyService, serviceCounts, chainLen),
		"**stop with a TERM-ignoring service**: a fresh container plus a service (`benchhelper stubborn`, which catches " +
			"TERM and logs it) with a 2 s stop timeout in the stack's own way (see Stacks); once it logged `up`, time `docker stop`.",
		fmt.Sprintf("**restart and crash-loop CPU**: every stack × run at once (%d containers, each one's sequence "+
			"started 1/N s after the previous; CPU is per cgroup and a crash loop is near idle), each with two extra "+
			"services running `benchhelper crash`, which logs its start and exit in ns. `crashup` blocks on a FIFO; "+
			"%s after it started the bench opens the FIFO and it exits 1: *restart after a crash* is its next start − "+
			"that exit. `crasher` is down at boot (runit and s6: a `down` file; svinit: `auto_start: false`); the bench "+
			"starts it with the stack's own command (`sv up /etc/service/crasher`, `s6-svc -u /etc/service/crasher`, "+
			"`sv up crasher`) and every instance exits 1 at once: *first restart* is its second start − its first "+
			"exit, and CPU is the container's `cpuacct.usage` over the %s after that command returned (the crashing "+
			"instances' own CPU included).", cfg.Runs*3, upUptime, cfg.CrashWindow),
		fmt.Sprintf("**zombies**: `docker exec CTR benchhelper orphans %d`: the helper starts a middle process that "+
			"vforks %d children which exit at once, then exits without waiting, so PID 1 inherits %d zombies in one "+
			"burst; the helper then polls `/proc` inside the container until none is left.", cfg.Orphans, cfg.Orphans, cfg.Orphans),
		fmt.Sprintf("**syslog**: `docker exec CTR benchhelper syslog %d TAG` sends RFC 3164 messages to `/dev/log` "+
			"as fast as the socket takes them (blocking datagram writes: the client never drops); the bench then follows "+
			"docker's json-file log (what `docker logs` reads) until every message arrived or none did for 3 s. "+
			"Rate = arrived ÷ (docker's timestamp of the last arrival − the client's first send); lost = sent − arrived.",
			cfg.SyslogMessages),
		"Every container but the steady-state ones is created with `--no-healthcheck` (only svinit's image has a " +
			"HEALTHCHECK; its `sv check` execs add processes, CPU and page cache to the measured cgroup) and removed after its run.",
		"**size**: `docker image inspect -f {{.Size}}`; svinit's binary is copied out of the image with `docker cp`.",
	}
}
