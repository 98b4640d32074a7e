package main

import (
	"fmt"
	"math"
	"sort"
	"strings"
)

// Chart geometry: one row per charted metric, one bar per non-seed stack,
// on a log2 scale of the ratio to seed from 1/16 to 16 (1 = seed, centre).
const (
	chartW     = 760
	labelW     = 250
	rowH       = 44
	barH       = 14
	chartTop   = 50
	scaleLimit = 4.0 // log2(16)
)

// chart draws the main ratios to seed as a hand-written SVG bar chart.
func chart(r *results, sts []stack) string {
	var rows []*metric
	for _, m := range r.Metrics {
		if m.Chart {
			rows = append(rows, m)
		}
	}
	height := chartTop + rowH*len(rows) + 40
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="sans-serif" font-size="12">`+"\n", chartW, height)
	fmt.Fprintf(&b, `<rect width="100%%" height="100%%" fill="white"/>`+"\n")
	fmt.Fprintf(&b, `<text x="10" y="20" font-size="15" font-weight="bold">Ratio to seed (dumb-init + runit), median of runs — %s</text>`+"\n", r.Date)
	fmt.Fprintf(&b, `<text x="10" y="38" fill="#555">log scale; green = better than seed, red = worse</text>`+"\n")
	drawAxis(&b, height)
	for i, m := range rows {
		drawRow(&b, m, sts, chartTop+i*rowH)
	}
	b.WriteString("</svg>\n")
	return b.String()
}

// xOf maps a ratio to an x coordinate.
func xOf(ratio float64) float64 {
	l := math.Max(-scaleLimit, math.Min(scaleLimit, math.Log2(ratio)))
	half := float64(chartW-labelW-20) / 2
	return float64(labelW) + half + l/scaleLimit*half
}

func drawAxis(b *strings.Builder, height int) {
	for _, t := range []float64{1.0 / 16, 0.25, 1, 4, 16} {
		x := xOf(t)
		stroke := "#ccc"
		if t == 1 {
			stroke = "#000"
		}
		fmt.Fprintf(b, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="%s"/>`+"\n", x, chartTop-6, x, height-30, stroke)
		fmt.Fprintf(b, `<text x="%.1f" y="%d" text-anchor="middle" fill="#555">×%s</text>`+"\n", x, height-14, ratioLabel(t))
	}
}

func ratioLabel(t float64) string {
	if t < 1 {
		return fmt.Sprintf("1/%.0f", 1/t)
	}
	return fmt.Sprintf("%.0f", t)
}

func drawRow(b *strings.Builder, m *metric, sts []stack, y int) {
	better := "lower is better"
	if !m.Lower {
		better = "higher is better"
	}
	fmt.Fprintf(b, `<text x="10" y="%d">%s</text>`+"\n", y+14, xmlEscape(shortName(m)))
	fmt.Fprintf(b, `<text x="10" y="%d" fill="#777" font-size="10">%s</text>`+"\n", y+28, better)
	k := 0
	for _, st := range sts {
		s := m.Stacks[st.Name]
		if st.Name == seedName || s == nil || s.Ratio == 0 {
			continue
		}
		by := y + k*(barH+2)
		x0, x1 := xOf(1), xOf(s.Ratio)
		good := (s.Ratio <= 1) == m.Lower || s.Ratio == 1
		color := map[bool]string{true: "#2a9d4b", false: "#d1495b"}[good]
		fmt.Fprintf(b, `<rect x="%.1f" y="%d" width="%.1f" height="%d" fill="%s"/>`+"\n", math.Min(x0, x1), by, math.Max(math.Abs(x1-x0), 1), barH, color)
		tx, anchor := x1+4, "start"
		if x1 < x0 {
			tx, anchor = x1-4, "end"
		}
		if x1 < x0 && tx < labelW+80 { // no room on the left: label right of the centre line
			tx, anchor = x0+4, "start"
		}
		fmt.Fprintf(b, `<text x="%.1f" y="%d" text-anchor="%s" font-size="11">%s ×%.2f</text>`+"\n", tx, by+11, anchor, st.Name, s.Ratio)
		k++
	}
}

// shortName is the metric's name up to a colon-free, chart-sized label.
func shortName(m *metric) string {
	names := map[string]string{
		"mem_usage": "idle memory (cgroup)", "mem_pss": "idle memory (Σ Pss)", "start_ssh": "start → SSH ready",
		"boot_ssh": "PID 1 → SSH ready",
		"stop":     "docker stop", "restart_loop": "first restart (crash loop)", "crash_cpu": "crash-loop CPU",
		"reap": "reap 10,000 orphans", "steady_usage": "steady memory (cgroup)", "steady_ws": "steady working set",
		"svc10_usage": "memory, +10 services", "svc30_usage": "memory, +30 services",
		"svc30_boot": "boot, +30 services", "svc30_stop": "docker stop, +30 services", "syslog_rate": "syslog throughput", "image_size": "image size",
	}
	if n, ok := names[m.Key]; ok {
		return n
	}
	return m.Name
}

func xmlEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

// servicesChart draws each stack's cgroup memory (median MiB) against the
// number of extra services: 0 is the idle row, then serviceCounts.
func servicesChart(r *results, sts []stack) string {
	const w, h, left, top, bottom, right = 640, 360, 60, 50, 50, 110
	keys := map[int]string{0: "mem_usage"}
	xs := []int{0}
	for _, n := range serviceCounts {
		keys[n] = fmt.Sprintf("svc%d_usage", n)
		xs = append(xs, n)
	}
	pts := map[string][][2]float64{}
	maxY := 0.0
	for _, n := range xs {
		for _, m := range r.Metrics {
			if m.Key != keys[n] {
				continue
			}
			for name, s := range m.Stacks {
				pts[name] = append(pts[name], [2]float64{float64(n), s.Median})
				maxY = math.Max(maxY, s.Median)
			}
		}
	}
	maxY = math.Ceil(maxY/5) * 5
	if maxY == 0 {
		maxY = 5
	}
	maxX := float64(xs[len(xs)-1])
	px := func(x float64) float64 { return left + x/maxX*float64(w-left-right) }
	py := func(y float64) float64 { return float64(h-bottom) - y/maxY*float64(h-top-bottom) }
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="sans-serif" font-size="12">`+"\n", w, h)
	fmt.Fprintf(&b, `<rect width="100%%" height="100%%" fill="white"/>`+"\n")
	fmt.Fprintf(&b, `<text x="10" y="20" font-size="15" font-weight="bold">Container memory vs. extra services (cgroup usage at 6 s, median) — %s</text>`+"\n", r.Date)
	for y := 0.0; y <= maxY; y += 5 {
		fmt.Fprintf(&b, `<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#ddd"/><text x="%d" y="%.1f" text-anchor="end" fill="#555">%.0f MiB</text>`+"\n",
			left, py(y), w-right, py(y), left-4, py(y)+4, y)
	}
	for _, n := range xs {
		fmt.Fprintf(&b, `<text x="%.1f" y="%d" text-anchor="middle" fill="#555">%d</text>`+"\n", px(float64(n)), h-bottom+16, n)
	}
	fmt.Fprintf(&b, `<text x="%.1f" y="%d" text-anchor="middle" fill="#555">extra services (same tiny service in every stack)</text>`+"\n", px(maxX/2), h-bottom+34)
	colors := []string{"#555", "#e09f3e", "#2a9d4b"}
	for k, st := range sts {
		p := pts[st.Name]
		if len(p) == 0 {
			continue
		}
		sort.Slice(p, func(i, j int) bool { return p[i][0] < p[j][0] })
		var path []string
		for _, q := range p {
			path = append(path, fmt.Sprintf("%.1f,%.1f", px(q[0]), py(q[1])))
			fmt.Fprintf(&b, `<circle cx="%.1f" cy="%.1f" r="3" fill="%s"/>`+"\n", px(q[0]), py(q[1]), colors[k%len(colors)])
		}
		fmt.Fprintf(&b, `<polyline points="%s" fill="none" stroke="%s" stroke-width="2"/>`+"\n", strings.Join(path, " "), colors[k%len(colors)])
		last := p[len(p)-1]
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" fill="%s">%s %.1f MiB</text>`+"\n", px(last[0])+6, py(last[1])+4, colors[k%len(colors)], st.Name, last[1])
	}
	b.WriteString("</svg>\n")
	return b.String()
}
