package main

import "fmt"

const mb = 1 << 20

// target is one of issue 5's goals for svinit: median ≤ Limit (≥ with
// AtLeast), or Limit × seed's median when Relative.
type target struct {
	Text     string  `json:"text"`
	Limit    float64 `json:"limit"`
	Relative bool    `json:"relative_to_seed,omitempty"`
	AtLeast  bool    `json:"at_least,omitempty"`
	// Fastest makes a Relative target relative to the best peer's median
	// (seed or s6), not to seed's.
	Fastest bool `json:"relative_to_fastest_peer,omitempty"`
}

func (t *target) bound(seed float64) float64 {
	if t.Relative {
		return t.Limit * seed
	}
	return t.Limit
}

// met checks svinit's median against the target.
func (t *target) met(sv, seed float64) bool {
	if t.Relative && seed <= 0 {
		return false
	}
	if t.AtLeast {
		return sv >= t.bound(seed)
	}
	return sv <= t.bound(seed)
}

// missBy says how far svinit's median is from the target: in % of seed for
// targets relative to seed, in the metric's unit otherwise.
func (t *target) missBy(sv, seed float64, digits int, unit string) string {
	if t.Relative && seed > 0 {
		of := "seed"
		if t.Fastest {
			of = "the fastest peer"
		}
		return fmt.Sprintf("%+.1f %% of %s", 100*(sv/seed-t.Limit), of)
	}
	return fmt.Sprintf("%+.*f %s", digits, sv-t.bound(seed), unit)
}

func ratioAtMost(limit float64) *target {
	return &target{Text: fmt.Sprintf("≤ %.2g × seed", limit), Limit: limit, Relative: true}
}

func ratioAtLeast(limit float64) *target {
	return &target{Text: fmt.Sprintf("≥ %.2g × seed", limit), Limit: limit, Relative: true, AtLeast: true}
}

// fastestPeer is "no slower than the best of seed and s6".
func fastestPeer() *target {
	return &target{Text: "≤ 1.0 × fastest peer", Limit: 1, Relative: true, Fastest: true}
}

func atMost(limit float64, unit string) *target {
	text := fmt.Sprintf("≤ %g %s", limit, unit)
	if limit == 0 {
		text = "0"
	}
	return &target{Text: text, Limit: limit}
}

// metricDefs are the rows of the table, in order, with issue 5's targets.
func metricDefs() []metricDef {
	return []metricDef{
		{Key: "mem_usage", Name: "idle memory: cgroup memory.usage_in_bytes at 6 s", Unit: "MiB", Lower: true, Digits: 2, Chart: true, Target: ratioAtMost(1.0)},
		{Key: "steady_usage", Name: "steady memory 90 s after start (mean of 85–95 s), HEALTHCHECK every 5 s: cgroup usage", Unit: "MiB", Lower: true, Digits: 2, Chart: true, Target: ratioAtMost(1.0)},
		{Key: "steady_ws", Name: "steady memory: working set (usage − total_inactive_file)", Unit: "MiB", Lower: true, Digits: 2, Chart: true, Target: ratioAtMost(1.0)},
		{Key: "svc10_usage", Name: "memory with 10 extra services, at 6 s", Unit: "MiB", Lower: true, Digits: 2, Chart: true, Target: ratioAtMost(0.85)},
		{Key: "svc30_usage", Name: "memory with 30 extra services, at 6 s", Unit: "MiB", Lower: true, Digits: 2, Chart: true, Target: ratioAtMost(0.7)},
		{Key: "svc_cost", Name: "memory per added service ((30 − 10 extra) ÷ 20)", Unit: "KiB", Lower: true, Digits: 0},
		{Key: "svc30_boot", Name: "PID 1 started → all 30 extra services running", Unit: "s", Lower: true, Digits: 3, Chart: true},
		{Key: "svc30_stop", Name: "docker stop with 30 extra services", Unit: "s", Lower: true, Digits: 3, Chart: true, Target: atMost(0.3, "s")},
		{Key: "svc10_boot", Name: "PID 1 started → all 10 extra services running", Unit: "s", Lower: true, Digits: 3},
		{Key: "svc10_stop", Name: "docker stop with 10 extra services", Unit: "s", Lower: true, Digits: 3},
		{Key: "mem_rss", Name: "idle memory: memory.stat rss", Unit: "MiB", Lower: true, Digits: 2},
		{Key: "mem_cache", Name: "idle memory: memory.stat cache", Unit: "MiB", Lower: true, Digits: 2},
		{Key: "mem_pss", Name: "idle memory: Σ Pss of the container's processes", Unit: "MiB", Lower: true, Digits: 2, Chart: true},
		{Key: "pid1_pss", Name: "PID 1's own Pss (svinit: with syslog + cron inside)", Unit: "MiB", Lower: true, Digits: 2, Target: atMost(3.5, "MiB")},
		{Key: "start_ssh", Name: "docker start → first SSH banner", Unit: "s", Lower: true, Digits: 3, Chart: true, Target: ratioAtMost(1.0)},
		{Key: "boot_ssh", Name: "PID 1 started → first SSH banner on the container's own IP", Unit: "s", Lower: true, Digits: 3, Chart: true, Target: ratioAtMost(0.8)},
		{Key: "stop", Name: "docker stop, cooperative services", Unit: "s", Lower: true, Digits: 3, Chart: true, Target: atMost(0.3, "s")},
		{Key: "stop_stubborn", Name: "docker stop, + 1 service ignoring TERM (2 s stop timeout)", Unit: "s", Lower: true, Digits: 3, Target: atMost(2.2, "s")},
		{Key: "restart_loop", Name: "first restart of a service that exits at once", Unit: "s", Lower: true, Digits: 3, Chart: true, Target: atMost(0.15, "s")},
		{Key: "restart_up", Name: "restart after a crash of a service up for 2 s", Unit: "s", Lower: true, Digits: 3, Target: atMost(0.15, "s")},
		{Key: "crash_cpu", Name: "CPU of the stack during the crash loop", Unit: "% of 1 core", Lower: true, Digits: 2, Chart: true, Target: atMost(2, "%")},
		{Key: "crash_restarts", Name: "restarts during that crash loop", Unit: "count", Lower: true, Digits: 0},
		{Key: "reap", Name: "10,000 orphans: time until none left in /proc", Unit: "s", Lower: true, Digits: 3, Chart: true, Target: fastestPeer()},
		{Key: "syslog_rate", Name: "syslog: messages/s from /dev/log into docker logs", Unit: "msg/s", Lower: false, Digits: 0, Chart: true, Target: ratioAtLeast(1.2)},
		{Key: "syslog_lost", Name: "syslog: messages lost (sent − received)", Unit: "count", Lower: true, Digits: 0, Target: atMost(0, "")},
		{Key: "image_size", Name: "image size (docker image inspect)", Unit: "MiB", Lower: true, Digits: 2, Chart: true, Target: ratioAtMost(1.0)},
		{Key: "binary_size", Name: "svinit binary", Unit: "MiB", Lower: true, Digits: 2, Target: atMost(3.5, "MiB")},
	}
}
