package main

const mb = 1 << 20

// ratioAtMost is a target "svinit ≤ limit × seed".
func ratioAtMost(limit float64) func(sv, seed float64) bool {
	return func(sv, seed float64) bool { return seed > 0 && sv <= limit*seed }
}

// ratioAtLeast is a target "svinit ≥ limit × seed".
func ratioAtLeast(limit float64) func(sv, seed float64) bool {
	return func(sv, seed float64) bool { return seed > 0 && sv >= limit*seed }
}

// atMost is an absolute target "svinit ≤ limit".
func atMost(limit float64) func(sv, seed float64) bool {
	return func(sv, _ float64) bool { return sv <= limit }
}

// metricDefs are the rows of the table, in order, with issue 5's targets.
func metricDefs() []metricDef {
	return []metricDef{
		{Key: "mem_usage", Name: "idle memory: cgroup memory.usage_in_bytes at 6 s", Unit: "MiB", Lower: true, Digits: 2, Chart: true,
			Target: "≤ 1.0 × seed", check: ratioAtMost(1.0)},
		{Key: "mem_rss", Name: "idle memory: memory.stat rss", Unit: "MiB", Lower: true, Digits: 2},
		{Key: "mem_cache", Name: "idle memory: memory.stat cache", Unit: "MiB", Lower: true, Digits: 2},
		{Key: "mem_pss", Name: "idle memory: Σ Pss of the container's processes", Unit: "MiB", Lower: true, Digits: 2, Chart: true},
		{Key: "pid1_pss", Name: "PID 1's own Pss (svinit: with syslog + cron inside)", Unit: "MiB", Lower: true, Digits: 2,
			Target: "≤ 3.5 MB", check: atMost(3.5)},
		{Key: "start_ssh", Name: "docker start → first SSH banner", Unit: "s", Lower: true, Digits: 3, Chart: true,
			Target: "≤ 1.0 × seed", check: ratioAtMost(1.0)},
		{Key: "stop", Name: "docker stop, cooperative services", Unit: "s", Lower: true, Digits: 3, Chart: true,
			Target: "≤ 0.3 s", check: atMost(0.3)},
		{Key: "stop_stubborn", Name: "docker stop, + 1 service ignoring TERM (2 s stop timeout)", Unit: "s", Lower: true, Digits: 3,
			Target: "≤ 2.2 s", check: atMost(2.2)},
		{Key: "restart_loop", Name: "first restart of a service that exits at once", Unit: "s", Lower: true, Digits: 3, Chart: true,
			Target: "≤ 0.15 s", check: atMost(0.15)},
		{Key: "restart_up", Name: "restart after a crash of a service up for 2 s", Unit: "s", Lower: true, Digits: 3,
			Target: "≤ 0.15 s", check: atMost(0.15)},
		{Key: "crash_cpu", Name: "CPU of the stack during the crash loop", Unit: "% of 1 core", Lower: true, Digits: 2, Chart: true,
			Target: "≤ 2 %", check: atMost(2)},
		{Key: "crash_restarts", Name: "restarts during that crash loop", Unit: "count", Lower: true, Digits: 0},
		{Key: "reap", Name: "10,000 orphans: time until none left in /proc", Unit: "s", Lower: true, Digits: 3, Chart: true,
			Target: "≤ 1 s", check: atMost(1)},
		{Key: "syslog_rate", Name: "syslog: messages/s from /dev/log into docker logs", Unit: "msg/s", Lower: false, Digits: 0, Chart: true,
			Target: "≥ 1.0 × seed", check: ratioAtLeast(1.0)},
		{Key: "syslog_lost", Name: "syslog: messages lost (sent − received)", Unit: "count", Lower: true, Digits: 0,
			Target: "0", check: atMost(0)},
		{Key: "image_size", Name: "image size (docker image inspect)", Unit: "MiB", Lower: true, Digits: 2, Chart: true,
			Target: "≤ 1.0 × seed", check: ratioAtMost(1.0)},
		{Key: "binary_size", Name: "svinit binary", Unit: "MiB", Lower: true, Digits: 2,
			Target: "≤ 4 MB", check: atMost(4)},
	}
}
