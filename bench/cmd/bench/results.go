package main

import (
	"sort"
)

// metricDef describes one row of the results table.
type metricDef struct {
	Key    string `json:"key"`
	Name   string `json:"name"`
	Unit   string `json:"unit"`
	Lower  bool   `json:"lower_is_better"`
	Digits int    `json:"-"`
	Chart  bool   `json:"-"` // drawn in results.svg
	// Target is svinit's goal from issue 5, checked on svinit's median;
	// nil when the row has none.
	Target *target `json:"target,omitempty"`
}

// series is the samples of one metric for one stack.
type series struct {
	Samples []float64 `json:"samples"`
	Median  float64   `json:"median"`
	Min     float64   `json:"min"`
	Max     float64   `json:"max"`
	Ratio   float64   `json:"ratio_to_seed,omitempty"`
}

// metric is one row: its definition and a series per stack.
type metric struct {
	metricDef
	Stacks map[string]*series `json:"stacks"`
	Met    *bool              `json:"target_met,omitempty"`
	// Miss says by how much svinit's median misses the target ("" when met).
	Miss string `json:"target_missed_by,omitempty"`
}

// results is everything one bench run produced.
type results struct {
	Date     string            `json:"date"`
	Machine  map[string]string `json:"machine"`
	Versions map[string]string `json:"versions"`
	Config   map[string]any    `json:"config"`
	Stacks   []stackInfo       `json:"stacks"`
	Metrics  []*metric         `json:"metrics"`
	// PSS is each stack's median PSS per process name, in MB, at idle.
	PSS   map[string]map[string]float64 `json:"pss_by_process_mb"`
	Notes []string                      `json:"notes"`
	pss   map[string]map[string][]float64
}

// stackInfo describes a compared stack in the report.
type stackInfo struct {
	Name        string `json:"name"`
	Image       string `json:"image"`
	Tree        string `json:"process_tree"`
	StopTimeout string `json:"stop_timeout_config"`
}

func newResults(defs []metricDef) *results {
	r := &results{Machine: map[string]string{}, Versions: map[string]string{}, Config: map[string]any{},
		PSS: map[string]map[string]float64{}, pss: map[string]map[string][]float64{}}
	for _, d := range defs {
		r.Metrics = append(r.Metrics, &metric{metricDef: d, Stacks: map[string]*series{}})
	}
	return r
}

// add records one sample of metric key for a stack.
func (r *results) add(key, stack string, v float64) {
	for _, m := range r.Metrics {
		if m.Key == key {
			if m.Stacks[stack] == nil {
				m.Stacks[stack] = &series{}
			}
			m.Stacks[stack].Samples = append(m.Stacks[stack].Samples, v)
			return
		}
	}
	panic("bench: unknown metric " + key) // a typo in this program, not bad input
}

// addPSS records one idle sample of per-process PSS.
func (r *results) addPSS(stack string, byName map[string]float64) {
	if r.pss[stack] == nil {
		r.pss[stack] = map[string][]float64{}
	}
	for name, v := range byName {
		r.pss[stack][name] = append(r.pss[stack][name], v)
	}
}

func (r *results) note(s string) { r.Notes = append(r.Notes, s) }

// finish computes medians, ranges, ratios to seed and targets, and drops
// rows nobody measured.
func (r *results) finish() {
	kept := r.Metrics[:0]
	for _, m := range r.Metrics {
		if len(m.Stacks) == 0 {
			continue
		}
		for _, s := range m.Stacks {
			s.Median, s.Min, s.Max = summarize(s.Samples)
		}
		seed, sv := m.Stacks[seedName], m.Stacks[svinitName]
		for _, s := range m.Stacks {
			if seed != nil && seed.Median != 0 {
				s.Ratio = s.Median / seed.Median
			}
		}
		if m.Target != nil && sv != nil {
			base := 0.0
			if seed != nil {
				base = seed.Median
			}
			if m.Target.Fastest {
				base = fastest(m)
			}
			met := m.Target.met(sv.Median, base)
			m.Met = &met
			if !met {
				m.Miss = m.Target.missBy(sv.Median, base, m.Digits, m.Unit)
			}
		}
		kept = append(kept, m)
	}
	r.Metrics = kept
	for stack, byName := range r.pss {
		r.PSS[stack] = map[string]float64{}
		for name, xs := range byName {
			r.PSS[stack][name], _, _ = summarize(xs)
		}
	}
}

// fastest is the best median among the stacks other than svinit.
func fastest(m *metric) float64 {
	best := 0.0
	for name, s := range m.Stacks {
		if name == svinitName {
			continue
		}
		if best == 0 || (m.Lower && s.Median < best) || (!m.Lower && s.Median > best) {
			best = s.Median
		}
	}
	return best
}

// summarize returns the median, min and max of xs.
func summarize(xs []float64) (median, lo, hi float64) {
	if len(xs) == 0 {
		return 0, 0, 0
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	n := len(s)
	median = s[n/2]
	if n%2 == 0 {
		median = (s[n/2-1] + s[n/2]) / 2
	}
	return median, s[0], s[n-1]
}
