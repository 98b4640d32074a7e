package main

import (
	"archive/tar"
	"bytes"
	"io"
	"strings"
	"testing"
	"time"
)

// These tests cover the parsing and arithmetic of the bench; the bench
// itself (Docker, timings) only runs under `make bench`.

func TestSummarize(t *testing.T) {
	tests := []struct {
		in            []float64
		med, min, max float64
	}{
		{nil, 0, 0, 0},
		{[]float64{3}, 3, 3, 3},
		{[]float64{5, 1, 3}, 3, 1, 5},
		{[]float64{4, 1, 3, 2}, 2.5, 1, 4},
	}
	for _, tt := range tests {
		med, lo, hi := summarize(tt.in)
		if med != tt.med || lo != tt.min || hi != tt.max {
			t.Errorf("summarize(%v) = %v %v %v, want %v %v %v", tt.in, med, lo, hi, tt.med, tt.min, tt.max)
		}
	}
}

func TestTagSeq(t *testing.T) {
	tag := []byte("BENCHseed0 ")
	tests := []struct {
		line string
		seq  int
		ok   bool
	}{
		{`{"log":"Nov 29 23:56:44 h user.notice bench: BENCHseed0 1234\n","stream":"stdout"}`, 1234, true},
		{`{"log":"syslog | <13>bench: BENCHseed0 0\n"}`, 0, true},
		{`{"log":"BENCHseed0 \n"}`, 0, false},
		{`{"log":"BENCHseed1 5\n"}`, 0, false},
	}
	for _, tt := range tests {
		seq, ok := tagSeq([]byte(tt.line), tag)
		if seq != tt.seq || ok != tt.ok {
			t.Errorf("tagSeq(%q) = %d %v, want %d %v", tt.line, seq, ok, tt.seq, tt.ok)
		}
	}
}

func TestLogTime(t *testing.T) {
	line := []byte(`{"log":"x \"time\":\"no\"\n","stream":"stdout","time":"2026-11-29T23:56:44.123456789Z"}`)
	got, ok := logTime(line)
	want := time.Date(2026, 11, 29, 23, 56, 44, 123456789, time.UTC)
	if !ok || !got.Equal(want) {
		t.Errorf("logTime = %v %v, want %v", got, ok, want)
	}
	if _, ok := logTime([]byte(`{"log":"x"}`)); ok {
		t.Error("logTime without a time field: ok")
	}
}

func TestParseCrashLog(t *testing.T) {
	starts, exits, err := parseCrashLog("start 1000\nexit 2000\nstart 3000\n")
	if err != nil || len(starts) != 2 || len(exits) != 1 || starts[1].Sub(exits[0]) != time.Microsecond {
		t.Fatalf("parseCrashLog = %v %v %v", starts, exits, err)
	}
	for _, bad := range []string{"start", "start x", "boom 12"} {
		if _, _, err := parseCrashLog(bad); err == nil || !strings.Contains(err.Error(), "line 1") {
			t.Errorf("parseCrashLog(%q) error = %v, want one naming line 1", bad, err)
		}
	}
}

func TestMakeTarHasParentFolders(t *testing.T) {
	b, err := makeTar([]tarFile{{Path: "/etc/service/x/run", Mode: 0o755, Data: []byte("#!/bin/sh\n")}})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	tr := tar.NewReader(bytes.NewReader(b))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, h.Name)
	}
	want := "etc/ etc/service/ etc/service/x/ etc/service/x/run"
	if got := strings.Join(names, " "); got != want {
		t.Errorf("tar entries = %q, want %q", got, want)
	}
}

func TestServiceLayouts(t *testing.T) {
	stubborn := service{Name: "x", Run: "exec y", StopTimeout: 2 * time.Second}
	down := service{Name: "x", Run: "exec y", Down: true}
	tests := []struct {
		name  string
		files []tarFile
		want  map[string]string
	}{
		{"runit", runitService(stubborn), map[string]string{"/etc/service/x/run": "#!/bin/sh\nexec y\n"}},
		{"runit down", runitService(down), map[string]string{"/etc/service/x/run": "#!/bin/sh\nexec y\n", "/etc/service/x/down": ""}},
		{"s6", s6Service(stubborn), map[string]string{
			"/etc/service/x/run": "#!/bin/sh\nexec y\n", "/etc/service/x/timeout-kill": "2000\n"}},
		{"s6 down", s6Service(down), map[string]string{"/etc/service/x/run": "#!/bin/sh\nexec y\n", "/etc/service/x/down": ""}},
		{"svinit", svinitService(stubborn), map[string]string{
			"/etc/services/x/run":          "#!/bin/sh\nexec y\n",
			"/etc/services/x/manifest.yml": "enabled: true\nauto_start: true\nstop_timeout: 2s\n"}},
		{"svinit down", svinitService(down), map[string]string{
			"/etc/services/x/run":          "#!/bin/sh\nexec y\n",
			"/etc/services/x/manifest.yml": "enabled: true\nauto_start: false\n"}},
	}
	for _, tt := range tests {
		got := map[string]string{}
		for _, f := range tt.files {
			got[f.Path] = string(f.Data)
		}
		if len(got) != len(tt.want) {
			t.Errorf("%s: files %v, want %v", tt.name, got, tt.want)
		}
		for p, data := range tt.want {
			if got[p] != data {
				t.Errorf("%s: %s = %q, want %q", tt.name, p, got[p], data)
			}
		}
	}
}

func TestFinishRatiosAndTargets(t *testing.T) {
	r := newResults(metricDefs())
	for _, v := range []float64{8, 8.2, 8.4} {
		r.add("mem_usage", seedName, v)
	}
	for _, v := range []float64{7.8, 8.0, 9.0} {
		r.add("mem_usage", svinitName, v)
	}
	r.finish()
	if len(r.Metrics) != 1 {
		t.Fatalf("finish kept %d metrics, want only the measured one", len(r.Metrics))
	}
	m := r.Metrics[0]
	if got := m.Stacks[svinitName].Ratio; got < 0.975 || got > 0.977 {
		t.Errorf("ratio = %v, want 8.0/8.2", got)
	}
	if m.Met == nil || !*m.Met {
		t.Errorf("target ≤ 1.0 × seed not met for 8.0 vs 8.2")
	}
	if c := cell(m, svinitName); c != "8.00 (7.80–9.00) ×0.98" {
		t.Errorf("cell = %q", c)
	}
}

func TestChartIsWellFormed(t *testing.T) {
	r := newResults(metricDefs())
	r.add("reap", seedName, 0.4)
	r.add("reap", s6Name, 0.1)
	r.add("reap", svinitName, 0.25)
	r.finish()
	svg := chart(r, stacks(config{SvinitImage: "x"}))
	if !strings.HasPrefix(svg, "<svg ") || !strings.HasSuffix(svg, "</svg>\n") || strings.Count(svg, "<rect") != 3 {
		t.Errorf("chart: unexpected SVG:\n%s", svg)
	}
	if !strings.Contains(svg, "svinit ×0.62") {
		t.Errorf("chart: no svinit ratio label")
	}
}

func TestTargets(t *testing.T) {
	tests := []struct {
		name     string
		tg       *target
		sv, seed float64
		met      bool
		miss     string
	}{
		{"ratio met", ratioAtMost(1.0), 8, 8.5, true, ""},
		{"ratio missed", ratioAtMost(1.0), 12.75, 8.5, false, "+50.0 % of seed"},
		{"no seed", ratioAtMost(1.0), 1, 0, false, "+1.00 MiB"},
		{"at least met", ratioAtLeast(1.0), 120, 100, true, ""},
		{"at least missed", ratioAtLeast(1.0), 90, 100, false, "-10.0 % of seed"},
		{"absolute met", atMost(0.3, "s"), 0.2, 9, true, ""},
		{"absolute missed", atMost(3.5, "MiB"), 5.38, 0.3, false, "+1.88 MiB"},
	}
	for _, tt := range tests {
		if got := tt.tg.met(tt.sv, tt.seed); got != tt.met {
			t.Errorf("%s: met = %v, want %v", tt.name, got, tt.met)
		}
		if tt.met {
			continue
		}
		if got := tt.tg.missBy(tt.sv, tt.seed, 2, "MiB"); got != tt.miss {
			t.Errorf("%s: missBy = %q, want %q", tt.name, got, tt.miss)
		}
	}
	if atMost(0, "").Text != "0" || atMost(2, "%").Text != "≤ 2 %" {
		t.Errorf("target texts: %q %q", atMost(0, "").Text, atMost(2, "%").Text)
	}
}

func TestFastestPeerTarget(t *testing.T) {
	m := &metric{metricDef: metricDef{Key: "reap", Lower: true, Target: fastestPeer()}, Stacks: map[string]*series{
		seedName: {Samples: []float64{0.08}}, s6Name: {Samples: []float64{0.06}}, svinitName: {Samples: []float64{0.07}}}}
	r := &results{Metrics: []*metric{m}, pss: map[string]map[string][]float64{}, PSS: map[string]map[string]float64{}}
	r.finish()
	if m.Met == nil || *m.Met {
		t.Fatalf("0.07 against a fastest peer at 0.06: met = %v, want false", m.Met)
	}
	if !strings.Contains(m.Miss, "fastest peer") {
		t.Errorf("miss = %q, want it relative to the fastest peer", m.Miss)
	}
}

func TestExtraServicesChain(t *testing.T) {
	var st stack
	for _, s := range stacks(config{SvinitImage: "x"}) {
		if s.Name == svinitName {
			st = s
		}
	}
	deps := 0
	for _, f := range extraServices(st, 30) {
		if strings.HasSuffix(f.Path, "manifest.yml") && strings.Contains(string(f.Data), "depends_on") {
			deps++
		}
	}
	if deps != chainLen-1 {
		t.Errorf("%d services with depends_on, want %d (a chain of %d)", deps, chainLen-1, chainLen)
	}
	if !strings.Contains(servicesChart(&results{}, nil), "<svg") {
		t.Error("services chart without data is not an SVG")
	}
}
