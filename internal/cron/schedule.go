package cron

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Schedule is when a job runs: the five crontab fields as bit sets (bit n
// set = value n allowed) and the zone they are read in. It replaces
// robfig/cron/v3's SpecSchedule, whose parser and Next it reproduces
// (FuzzSchedule compares the two), without the 32 KB robfig cost the binary.
type Schedule struct {
	minute, hour, dom, month, dow uint64
	loc                           *time.Location
}

// star marks a field written as "*" (or "?", or a list of every value: see
// busyboxDayOr); only the day fields look at it.
const star = 1 << 63

// bounds is the range of one field and its names (names[i] is min+i).
type bounds struct {
	min, max uint
	names    []string
}

var (
	minutes  = bounds{0, 59, nil}
	hours    = bounds{0, 23, nil}
	days     = bounds{1, 31, nil}
	months   = bounds{1, 12, []string{"jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"}}
	weekdays = bounds{0, 6, []string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"}}
)

// parseSchedule parses five fields, or a descriptor other than @reboot,
// with robfig/cron's rules and error messages, then applies normalizeDow
// before and busyboxDayOr after, as the robfig-based parser did.
func parseSchedule(spec string, loc *time.Location) (*Schedule, error) {
	if d := descriptors[spec]; d != "" {
		spec = d
	}
	f := strings.Fields(normalizeDow(spec))
	if len(f) != 5 {
		return nil, fmt.Errorf("expected exactly 5 fields, found %d: %s", len(f), f)
	}
	s := &Schedule{loc: loc}
	var err error
	for i, r := range []bounds{minutes, hours, days, months, weekdays} {
		bits := []*uint64{&s.minute, &s.hour, &s.dom, &s.month, &s.dow}[i]
		if *bits, err = parseField(f[i], r); err != nil {
			return nil, err
		}
	}
	busyboxDayOr(s)
	return s, nil
}

// parseField parses a comma-separated list of ranges; empty items are
// skipped (robfig: "1,,2" is "1,2" and "," allows nothing).
func parseField(field string, r bounds) (uint64, error) {
	var bits uint64
	for expr := range strings.SplitSeq(field, ",") {
		if expr == "" {
			continue
		}
		b, err := parseRange(expr, r)
		if err != nil {
			return 0, err
		}
		bits |= b
	}
	return bits, nil
}

// parseRange parses "*", "?", N, N-M, each optionally "/STEP"; "N/STEP" is
// N-max/STEP, and a "*" start ignores any "-M" after it (robfig's quirks).
func parseRange(expr string, r bounds) (uint64, error) {
	rangeStep := strings.Split(expr, "/")
	lowHigh := strings.Split(rangeStep[0], "-")
	var start, end, step uint
	var extra uint64
	var err error
	if lowHigh[0] == "*" || lowHigh[0] == "?" {
		start, end, extra = r.min, r.max, star
	} else {
		if start, err = parseNumber(lowHigh[0], r.names, r.min); err != nil {
			return 0, err
		}
		switch len(lowHigh) {
		case 1:
			end = start
		case 2:
			if end, err = parseNumber(lowHigh[1], r.names, r.min); err != nil {
				return 0, err
			}
		default:
			return 0, fmt.Errorf("too many hyphens: %s", expr)
		}
	}
	switch len(rangeStep) {
	case 1:
		step = 1
	case 2:
		if step, err = parseUint(rangeStep[1]); err != nil {
			return 0, err
		}
		if len(lowHigh) == 1 {
			end = r.max
		}
		if step > 1 {
			extra = 0
		}
	default:
		return 0, fmt.Errorf("too many slashes: %s", expr)
	}
	switch {
	case start < r.min:
		return 0, fmt.Errorf("beginning of range (%d) below minimum (%d): %s", start, r.min, expr)
	case end > r.max:
		return 0, fmt.Errorf("end of range (%d) above maximum (%d): %s", end, r.max, expr)
	case start > end:
		return 0, fmt.Errorf("beginning of range (%d) beyond end of range (%d): %s", start, end, expr)
	case step == 0:
		return 0, fmt.Errorf("step of range should be a positive number: %s", expr)
	}
	var bits uint64
	for i := start; i <= end; i += step {
		bits |= 1 << i
	}
	return bits | extra, nil
}

// parseNumber is a name (any case) or a number.
func parseNumber(s string, names []string, min uint) (uint, error) {
	lower := strings.ToLower(s)
	for i, name := range names {
		if lower == name {
			return min + uint(i), nil
		}
	}
	return parseUint(s)
}

func parseUint(s string) (uint, error) {
	n, err := strconv.Atoi(s)
	if err != nil {
		return 0, fmt.Errorf("failed to parse int from %s: %s", s, err)
	}
	if n < 0 {
		return 0, fmt.Errorf("negative number (%d) not allowed: %s", n, s)
	}
	return uint(n), nil
}

// Next is the first whole minute after t that the schedule allows, in t's
// location; zero if there is none within five years. It is robfig/cron's
// SpecSchedule.Next step for step (seconds fixed at 0), so the DST
// behaviour doc.go describes is unchanged: fields are matched on the wall
// clock, days advance with AddDate, hours and minutes with real durations.
func (s *Schedule) Next(t time.Time) time.Time {
	if s.minute == 0 || s.hour == 0 || s.month == 0 {
		// A field that allows nothing (","): robfig's answer too, which it
		// took 0.7 s of stepping minutes for five years to reach.
		return time.Time{}
	}
	orig := t.Location()
	loc := s.loc
	if loc == time.Local {
		loc = t.Location()
	} else {
		t = t.In(loc)
	}
	t = t.Add(time.Second - time.Duration(t.Nanosecond()))
	added := false // lower fields were reset to their start
	yearLimit := t.Year() + 5
wrap:
	if t.Year() > yearLimit {
		return time.Time{}
	}
	for 1<<uint(t.Month())&s.month == 0 {
		if !added {
			added = true
			t = time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, loc)
		}
		if t = t.AddDate(0, 1, 0); t.Month() == time.January {
			goto wrap
		}
	}
	for !s.dayMatches(t) {
		if !added {
			added = true
			t = time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, loc)
		}
		t = t.AddDate(0, 0, 1)
		// Where midnight does not exist (DST at 00:00) AddDate lands on
		// 23:00 or 01:00: go back to the day's first hour.
		if h := t.Hour(); h > 12 {
			t = t.Add(time.Duration(24-h) * time.Hour)
		} else if h != 0 {
			t = t.Add(time.Duration(-h) * time.Hour)
		}
		if t.Day() == 1 {
			goto wrap
		}
	}
	for 1<<uint(t.Hour())&s.hour == 0 {
		if !added {
			added = true
			t = time.Date(t.Year(), t.Month(), t.Day(), t.Hour(), 0, 0, 0, loc)
		}
		if t = t.Add(time.Hour); t.Hour() == 0 {
			goto wrap
		}
	}
	for 1<<uint(t.Minute())&s.minute == 0 {
		if !added {
			added = true
			t = t.Truncate(time.Minute)
		}
		if t = t.Add(time.Minute); t.Minute() == 0 {
			goto wrap
		}
	}
	for t.Second() != 0 {
		if !added {
			added = true
			t = t.Truncate(time.Second)
		}
		if t = t.Add(time.Second); t.Second() == 0 {
			goto wrap
		}
	}
	return t.In(orig)
}

// dayMatches is the classic cron rule: both day fields restricted means
// either may match; otherwise both must (one of them allows every day).
func (s *Schedule) dayMatches(t time.Time) bool {
	domMatch := 1<<uint(t.Day())&s.dom != 0
	dowMatch := 1<<uint(t.Weekday())&s.dow != 0
	if s.dom&star != 0 || s.dow&star != 0 {
		return domMatch && dowMatch
	}
	return domMatch || dowMatch
}

// busyboxDayOr gives a day-of-month or day-of-week field that lists every
// value ("1-31", "0-6") the meaning of "*", as busybox's FixDayDow does: the
// fields are ORed only when both restrict the day. robfig/cron's rule,
// kept by parseRange, only treats a field starting with "*" (and no step
// > 1) as unrestricted, so "0 0 1-31 * mon" would otherwise run every day
// instead of on Mondays.
func busyboxDayOr(s *Schedule) {
	const allDom, allDow = uint64(0xfffffffe), uint64(0x7f) // bits 1..31, 0..6
	if s.dom&allDom == allDom {
		s.dom |= star
	}
	if s.dow&allDow == allDow {
		s.dow |= star
	}
}
