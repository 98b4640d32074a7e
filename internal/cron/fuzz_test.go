package cron

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// FuzzParseCrontab checks that no crontab makes the parser panic, that
// every problem is a LineError naming a real line, and that every entry
// it returns is runnable. Seeds: testdata/fuzz/FuzzParseCrontab and below.
func FuzzParseCrontab(f *testing.F) {
	for _, seed := range []string{
		"* * * * * echo hi\n",
		"MAILTO=\"\"\nSHELL=/bin/sh\nCRON_TZ=UTC\n*/15 1-5 * jan-mar mon-fri x\n",
		"@reboot a\n@daily b\n@every 1m c\n",
		"0 0 13 * fri x\n0 0 * * 5-7 y\n1-2-3 * * * * z\n",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, data string) {
		tab, errs := ParseCrontab("f", []byte(data), time.UTC)
		lines := strings.Count(data, "\n") + 1
		for _, err := range errs {
			var le *LineError
			if !errors.As(err, &le) || le.Line < 1 || le.Line > lines {
				t.Fatalf("error %v is not a LineError within %d lines", err, lines)
			}
		}
		for _, e := range tab.Entries {
			if e.Command == "" || e.Line < 1 || e.Line > lines || (e.Schedule == nil) != e.Reboot {
				t.Fatalf("bad entry %+v", e)
			}
			if !e.Reboot && nextTime(e, from).IsZero() {
				t.Fatalf("entry %q never runs", e.Spec)
			}
		}
	})
}
