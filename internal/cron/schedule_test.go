package cron

import (
	"fmt"
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // the same zones on every machine

	robfig "github.com/robfig/cron/v3"
)

// refParse is the schedule parser svinit had before Schedule: robfig/cron
// on normalizeDow's output, then busybox's day rule on robfig's bits
// (robfig marks a "*" field with bit 63, as Schedule does).
func refParse(spec string, loc *time.Location) (*robfig.SpecSchedule, error) {
	p := robfig.NewParser(robfig.Minute | robfig.Hour | robfig.Dom | robfig.Month | robfig.Dow | robfig.Descriptor)
	sched, err := p.Parse(normalizeDow(spec))
	if err != nil {
		return nil, err
	}
	ss, ok := sched.(*robfig.SpecSchedule)
	if !ok {
		return nil, fmt.Errorf("not a crontab schedule")
	}
	ss.Location = loc
	const allDom, allDow = uint64(0xfffffffe), uint64(0x7f)
	if ss.Dom&allDom == allDom {
		ss.Dom |= star
	}
	if ss.Dow&allDow == allDow {
		ss.Dow |= star
	}
	return ss, nil
}

// fuzzZones have DST at 02:00 (New York, Berlin), at midnight (Santiago,
// Sao Paulo until 2019), by half an hour (Lord Howe), a day skipped
// (Apia, 2011-12-30), odd offsets (Kathmandu +05:45, a zone with seconds).
func fuzzZones(t testing.TB) []*time.Location {
	zones := []*time.Location{time.UTC, time.Local, time.FixedZone("odd", 5*3600+30*60+17)}
	for _, name := range []string{"America/New_York", "Europe/Berlin", "America/Santiago", "America/Sao_Paulo",
		"Australia/Lord_Howe", "Pacific/Apia", "Asia/Kathmandu"} {
		loc, err := time.LoadLocation(name)
		if err != nil {
			t.Fatal(err)
		}
		zones = append(zones, loc)
	}
	return zones
}

// FuzzSchedule checks parseSchedule and Next against robfig/cron/v3, which
// they replace: the same error (word for word) for every schedule a job
// line can have, and the same next times from a start time in 1900-2100,
// chained four times, in every zone of fuzzZones. Seeds:
// testdata/fuzz/FuzzSchedule.
func FuzzSchedule(f *testing.F) {
	for _, spec := range []string{"* * * * *", "*/15 0-23/2 5/15 jan-MAR mon-7", "30 2 * * *", "0 0 13 * fri",
		"0 0 1-31 * mon", "0 0 29 2 *", "@weekly", "61 * * * *", "1-2-3 * * * *", "*-5 ? ,,1, * 7-7"} {
		f.Add(spec, int64(3_000_000_000))
	}
	zones := fuzzZones(f)
	f.Fuzz(func(t *testing.T, line string, at int64) {
		line = strings.TrimLeft(line, " \t") // as (*parserState).line does
		if line == "" {
			return
		}
		spec, _, err := splitSpec(line + " x")
		if err != nil || spec == "@reboot" || isNameStart(spec[0]) { // not a job line's schedule
			return
		}
		const span = 200 * 366 * 24 * 3600
		start := time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(((at%span)+span)%span) * time.Second).
			Add(time.Duration(at>>40) % time.Second)
		for i, loc := range zones {
			got, err := parseSchedule(spec, loc)
			want, wantErr := refParse(spec, loc)
			if norm := normalizeDow(spec); descriptors[spec] == "" && (strings.HasPrefix(norm, "@") ||
				strings.HasPrefix(norm, "TZ=") || strings.HasPrefix(norm, "CRON_TZ=")) {
				// Only behind a form feed or the like ("\f@ 1 2 3 4", "\fTZ=UTC
				// * * * *"): robfig read a descriptor or a zone there, and
				// refused the line; so does parseSchedule, in other words.
				if err == nil || wantErr == nil {
					t.Fatalf("%q: error %v, robfig %v", spec, err, wantErr)
				}
				return
			}
			if fmt.Sprint(err) != fmt.Sprint(wantErr) {
				t.Fatalf("%q: error %v, robfig %v", spec, err, wantErr)
			}
			if err != nil {
				return
			}
			if i > 0 && (want.Minute == 0 || want.Hour == 0 || want.Month == 0) {
				return // never matches; robfig takes up to 0.7 s to say so, once is enough
			}
			g, w := start.In(loc), start.In(loc)
			for range 4 {
				g, w = got.Next(g), want.Next(w)
				if !g.Equal(w) || g.Location() != w.Location() {
					t.Fatalf("%q in %v from %v: next %v, robfig %v", spec, loc, start, g, w)
				}
				if g.IsZero() {
					break
				}
			}
		}
	})
}
