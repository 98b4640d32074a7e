package cron

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"
)

// from is a Monday, 2024-01-15 12:00:30 UTC.
var from = time.Date(2024, 1, 15, 12, 0, 30, 0, time.UTC)

// nextN lists the next n times of e after from, as "01-02 15:04" in UTC.
func nextN(e Entry, n int) []string {
	var out []string
	t := from
	for range n {
		t = nextTime(e, t)
		out = append(out, t.UTC().Format("2006-01-02 15:04"))
	}
	return out
}

func TestParseLines(t *testing.T) {
	tests := []struct {
		name, line string
		spec, cmd  string
		next       []string
	}{
		// busybox crond's help text and Debian's crontab(5) examples.
		{"busybox daily", "40 4 * * * /etc/cron/daily > /dev/null 2>&1", "40 4 * * *", "/etc/cron/daily > /dev/null 2>&1",
			[]string{"2024-01-16 04:40", "2024-01-17 04:40"}},
		{"debian after midnight", "5 0 * * *       $HOME/bin/daily.job >> $HOME/tmp/out 2>&1", "5 0 * * *",
			"$HOME/bin/daily.job >> $HOME/tmp/out 2>&1", []string{"2024-01-16 00:05"}},
		{"debian first of month", "15 14 1 * *     $HOME/bin/monthly", "15 14 1 * *", "$HOME/bin/monthly",
			[]string{"2024-02-01 14:15", "2024-03-01 14:15"}},
		{"debian weekdays, % kept as busybox does", `0 22 * * 1-5    mail -s "It's 10pm" joe%Joe,%%Where are your kids?%`,
			"0 22 * * 1-5", `mail -s "It's 10pm" joe%Joe,%%Where are your kids?%`,
			[]string{"2024-01-15 22:00", "2024-01-16 22:00", "2024-01-17 22:00", "2024-01-18 22:00", "2024-01-19 22:00", "2024-01-22 22:00"}},
		{"debian range step", `23 0-23/2 * * * echo "run 23 minutes after midn, 2am, 4am ..., everyday"`, "23 0-23/2 * * *",
			`echo "run 23 minutes after midn, 2am, 4am ..., everyday"`, []string{"2024-01-15 12:23", "2024-01-15 14:23"}},
		{"debian sunday name", `5 4 * * sun     echo "run at 5 after 4 every sunday"`, "5 4 * * sun",
			`echo "run at 5 after 4 every sunday"`, []string{"2024-01-21 04:05", "2024-01-28 04:05"}},
		{"every minute", "* * * * * /bin/true", "* * * * *", "/bin/true", []string{"2024-01-15 12:01", "2024-01-15 12:02"}},
		{"every 15 minutes", "*/15 * * * * x", "*/15 * * * *", "x", []string{"2024-01-15 12:15", "2024-01-15 12:30"}},
		{"list", "5,35 * * * * x", "5,35 * * * *", "x", []string{"2024-01-15 12:05", "2024-01-15 12:35", "2024-01-15 13:05"}},
		{"weekday range names", "0 9 * * mon-fri x", "0 9 * * mon-fri", "x",
			[]string{"2024-01-16 09:00", "2024-01-17 09:00", "2024-01-18 09:00", "2024-01-19 09:00", "2024-01-22 09:00"}},
		{"month names, any case", "0 0 1 JAN,jul * x", "0 0 1 JAN,jul *", "x", []string{"2024-07-01 00:00", "2025-01-01 00:00"}},
		{"sunday as 7", "0 0 * * 7 x", "0 0 * * 7", "x", []string{"2024-01-21 00:00", "2024-01-28 00:00"}},
		{"range to 7", "0 0 * * 5-7 x", "0 0 * * 5-7", "x", []string{"2024-01-19 00:00", "2024-01-20 00:00", "2024-01-21 00:00", "2024-01-26 00:00"}},
		{"dom or dow when both restricted", "0 0 13 * fri x", "0 0 13 * fri", "x",
			[]string{"2024-01-19 00:00", "2024-01-26 00:00", "2024-02-02 00:00", "2024-02-09 00:00", "2024-02-13 00:00"}},
		{"dom given in full acts as * (busybox)", "0 0 1-31 * mon x", "0 0 1-31 * mon", "x", []string{"2024-01-22 00:00", "2024-01-29 00:00"}},
		{"dow given in full acts as *", "0 0 15 * 0-6 x", "0 0 15 * 0-6", "x", []string{"2024-02-15 00:00", "2024-03-15 00:00"}},
		{"tabs and inner blanks kept", "*\t*\t*\t*\t*\tprintf 'a\tb'  ", "* * * * *", "printf 'a\tb'", []string{"2024-01-15 12:01"}},
		{"leading blanks, CRLF", "   0 12 * * * x\r", "0 12 * * *", "x", []string{"2024-01-16 12:00"}},
		{"@yearly", "@yearly x", "@yearly", "x", []string{"2025-01-01 00:00"}},
		{"@annually", "@annually x", "@annually", "x", []string{"2025-01-01 00:00"}},
		{"@monthly", "@monthly x", "@monthly", "x", []string{"2024-02-01 00:00"}},
		{"@weekly is sunday", "@weekly x", "@weekly", "x", []string{"2024-01-21 00:00"}},
		{"@daily", "@daily   x y", "@daily", "x y", []string{"2024-01-16 00:00"}},
		{"@midnight", "@midnight x", "@midnight", "x", []string{"2024-01-16 00:00"}},
		{"@hourly", "@hourly x", "@hourly", "x", []string{"2024-01-15 13:00", "2024-01-15 14:00"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tab, errs := ParseCrontab("root", []byte(tc.line), time.UTC)
			if len(errs) != 0 || len(tab.Entries) != 1 {
				t.Fatalf("errs = %v, entries = %d", errs, len(tab.Entries))
			}
			e := tab.Entries[0]
			if e.Spec != tc.spec || e.Command != tc.cmd || e.Line != 1 || e.Reboot {
				t.Errorf("entry = %+v", e)
			}
			if got := nextN(e, len(tc.next)); !slices.Equal(got, tc.next) {
				t.Errorf("next = %q, want %q", got, tc.next)
			}
		})
	}
}

func TestParseReboot(t *testing.T) {
	tab, errs := ParseCrontab("root", []byte("@reboot /usr/local/bin/at-boot --once\n"), time.UTC)
	if len(errs) != 0 || len(tab.Entries) != 1 {
		t.Fatalf("errs = %v", errs)
	}
	if e := tab.Entries[0]; !e.Reboot || e.Schedule != nil || e.Command != "/usr/local/bin/at-boot --once" {
		t.Errorf("entry = %+v", e)
	}
	if !nextTime(tab.Entries[0], from).IsZero() {
		t.Error("@reboot has a next time")
	}
}

func TestParseBadLines(t *testing.T) {
	tests := []struct{ line, want string }{
		{"61 * * * * x", `schedule "61 * * * *": end of range (61) above maximum (59)`},
		{"* 24 * * * x", "above maximum (23)"},
		{"0 0 0 * * x", "below minimum (1)"},
		{"0 0 * 13 * x", "above maximum (12)"},
		{"5-1 * * * * x", "beginning of range (5) beyond end"},
		{"*/0 * * * * x", "step of range should be a positive number"},
		{"1-2-3 * * * * x", "too many hyphens"},
		{"* * * * fooday x", `failed to parse int from fooday`},
		{"0 0 30 2 * x", `schedule "0 0 30 2 *" never matches a date`},
		{"* * * * *", "no command after schedule"},
		{"* * * *", "no command after schedule"},
		{"@daily", "no command after schedule"},
		{"@every 5m x", `unknown schedule "@every"`},
		{"@often x", `unknown schedule "@often"`},
		{"bogus line", `not a job or NAME=value line: "bogus line"`},
		{"BAD NAME=x", `not a job or NAME=value line`},
		{"CRON_TZ=Mars/Olympus", "CRON_TZ=Mars/Olympus: unknown time zone"},
		{"* * * * * a\x00b", "NUL byte in line"},
	}
	for _, tc := range tests {
		_, errs := ParseCrontab("/etc/crontabs/root", []byte("# first\n"+tc.line+"\n"), time.UTC)
		var le *LineError
		if len(errs) != 1 || !errors.As(errs[0], &le) || le.Line != 2 {
			t.Errorf("%q: errs = %v, want one LineError at line 2", tc.line, errs)
			continue
		}
		if msg := errs[0].Error(); !strings.HasPrefix(msg, "/etc/crontabs/root:2: ") || !strings.Contains(msg, tc.want) {
			t.Errorf("%q: error = %q, want /etc/crontabs/root:2: ...%s", tc.line, msg, tc.want)
		}
	}
}

func TestParseKeepsGoodLines(t *testing.T) {
	data := "0 * * * * one\n99 * * * * bad\n\n# comment\n   # indented comment\n@hourly two\nnonsense\n*/5 * * * * three"
	tab, errs := ParseCrontab("/etc/crontabs/root", []byte(data), time.UTC)
	var got []string
	for _, err := range errs {
		got = append(got, err.Error()[:len("/etc/crontabs/root:2")])
	}
	if want := []string{"/etc/crontabs/root:2", "/etc/crontabs/root:7"}; !slices.Equal(got, want) {
		t.Errorf("errors at %q, want %q (%v)", got, want, errs)
	}
	var lines []int
	for _, e := range tab.Entries {
		lines = append(lines, e.Line)
	}
	if want := []int{1, 6, 8}; !slices.Equal(lines, want) {
		t.Errorf("entries at lines %v, want %v", lines, want)
	}
}

func TestParseVariables(t *testing.T) {
	data := strings.Join([]string{
		"* * * * * before",
		"PATH=/usr/local/bin:/usr/bin:/bin",
		`GREETING = "  hello world  "`,
		"SINGLE='it''s'",
		"EMPTY=",
		"SHELL=/bin/ash",
		"CRON_TZ=America/New_York",
		"0 3 * * * after",
		"CRON_TZ=",
		"SHELL=",
		"0 3 * * * reset",
	}, "\n")
	tab, errs := ParseCrontab("root", []byte(data), time.UTC)
	if len(errs) != 0 || len(tab.Entries) != 3 {
		t.Fatalf("errs = %v, entries = %+v", errs, tab.Entries)
	}
	before, after, reset := tab.Entries[0], tab.Entries[1], tab.Entries[2]
	if len(before.Vars) != 0 || before.Location != time.UTC || before.Shell != DefaultShell {
		t.Errorf("variables below a line changed it: %+v", before)
	}
	wantVars := []string{"PATH=/usr/local/bin:/usr/bin:/bin", "GREETING=  hello world  ", "SINGLE=it''s", "EMPTY=",
		"SHELL=/bin/ash", "CRON_TZ=America/New_York"}
	if !slices.Equal(after.Vars, wantVars) {
		t.Errorf("vars = %q, want %q", after.Vars, wantVars)
	}
	if after.Shell != "/bin/ash" || after.Location.String() != "America/New_York" {
		t.Errorf("after: shell %q zone %v", after.Shell, after.Location)
	}
	if got := nextN(after, 1); got[0] != "2024-01-16 08:00" { // 03:00 EST
		t.Errorf("CRON_TZ ignored: next %v", got)
	}
	if reset.Shell != DefaultShell || reset.Location != time.UTC || len(reset.Vars) != len(wantVars)+2 {
		t.Errorf("reset: %+v", reset)
	}
}

func TestJobEnv(t *testing.T) {
	got := jobEnv([]string{"PATH=/bin", "HOME=/", "USER=x", "TERM=dumb"}, "alice", "/home/alice",
		[]string{"PATH=/opt/bin", "USER=root", "HOME=/srv", "SHELL=/bin/ash"})
	want := []string{"PATH=/opt/bin", "HOME=/srv", "USER=alice", "TERM=dumb", "SHELL=/bin/ash", "LOGNAME=alice"}
	if !slices.Equal(got, want) {
		t.Errorf("env = %q, want %q", got, want)
	}
}

// TestDST pins what robfig/cron's Next (and so this cron) does around
// daylight-saving changes, documented in doc.go: a time skipped by the
// spring-forward jump does not run that day; a time repeated by the
// fall-back runs twice (once per offset). busybox crond, which walks wall
// clock minutes through localtime, does the same.
func TestDST(t *testing.T) {
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Skipf("no tzdata: %v", err)
	}
	tests := []struct {
		name, spec string
		from       time.Time
		want       []string // local times
	}{
		{"02:30 on spring-forward day is skipped", "30 2 * * *", time.Date(2024, 3, 9, 12, 0, 0, 0, ny),
			[]string{"2024-03-11 02:30 EDT", "2024-03-12 02:30 EDT"}},
		{"01:30 on fall-back day runs twice", "30 1 * * *", time.Date(2024, 11, 2, 12, 0, 0, 0, ny),
			[]string{"2024-11-03 01:30 EDT", "2024-11-03 01:30 EST", "2024-11-04 01:30 EST"}},
		{"02:30 on fall-back day runs once", "30 2 * * *", time.Date(2024, 11, 2, 12, 0, 0, 0, ny),
			[]string{"2024-11-03 02:30 EST", "2024-11-04 02:30 EST"}},
		{"hourly keeps real hours through spring-forward", "0 * * * *", time.Date(2024, 3, 10, 0, 30, 0, 0, ny),
			[]string{"2024-03-10 01:00 EST", "2024-03-10 03:00 EDT", "2024-03-10 04:00 EDT"}},
	}
	for _, tc := range tests {
		tab, errs := ParseCrontab("root", []byte("CRON_TZ=America/New_York\n"+tc.spec+" x\n"), time.UTC)
		if len(errs) != 0 {
			t.Fatal(errs)
		}
		var got []string
		at := tc.from.UTC() // the scheduler's clock need not be in the zone
		for range tc.want {
			at = nextTime(tab.Entries[0], at)
			got = append(got, at.In(ny).Format("2006-01-02 15:04 MST"))
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("%s: got %q, want %q", tc.name, got, tc.want)
		}
	}
}

// TestDSTScheduler runs the fall-back case through the scheduler.
func TestDSTScheduler(t *testing.T) {
	if _, err := time.LoadLocation("America/New_York"); err != nil {
		t.Skipf("no tzdata: %v", err)
	}
	h := newHarness(t, map[string]string{"root": "CRON_TZ=America/New_York\n30 1 * * * twice\n"}, nil)
	h.clock.Set(time.Date(2024, 11, 3, 4, 0, 0, 0, time.UTC)) // 00:00 EDT
	h.start()
	for i, hh := range []int{5, 6} { // 01:30 EDT, then 01:30 EST
		h.clock.Set(time.Date(2024, 11, 3, hh, 30, 0, 0, time.UTC))
		h.waitSpawns(i + 1)
		h.exit(i, 0)
	}
}
