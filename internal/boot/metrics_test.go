package boot

import (
	"strings"
	"testing"
)

func TestLoadSettingsMetricsAddr(t *testing.T) {
	env := func(v string) func(string) string {
		return func(k string) string {
			if k == "SVINIT_METRICS_ADDR" {
				return v
			}
			return ""
		}
	}
	for v, want := range map[string]string{"": "", ":9100": ":9100", "127.0.0.1:9100": "127.0.0.1:9100"} {
		if s, err := LoadSettings(env(v)); err != nil || s.MetricsAddr != want {
			t.Errorf("SVINIT_METRICS_ADDR=%q: %q, %v", v, s.MetricsAddr, err)
		}
	}
	for _, v := range []string{"9100", ":http", ":0", "host:99999"} {
		if _, err := LoadSettings(env(v)); err == nil || !strings.Contains(err.Error(), `SVINIT_METRICS_ADDR="`+v+`"`) {
			t.Errorf("SVINIT_METRICS_ADDR=%q: %v", v, err)
		}
	}
}

func TestNotifyDirFor(t *testing.T) {
	for control, want := range map[string]string{
		"/run/svinit/control.sock":      "/run/svinit-notify",
		"/tmp/svinit-1000/control.sock": "/tmp/svinit-1000-notify",
		"/x/run/control.sock":           "/x/run-notify",
	} {
		if got := notifyDirFor(control); got != want {
			t.Errorf("notifyDirFor(%q) = %q, want %q", control, got, want)
		}
	}
}
