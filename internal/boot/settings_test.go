package boot

import (
	"strings"
	"testing"
	"time"

	"alpine-server/internal/logmux"
)

func TestLoadSettingsDefaults(t *testing.T) {
	s, err := LoadSettings(func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	// ServicesDir depends on this machine's /etc/services: TestServicesDirRule.
	if s.StartupDir != "/etc/startup.d" || s.ShutdownDir != "/etc/shutdown.d" ||
		s.EnvFile != "/etc/environment" || s.EnvFileSet || s.EnvMode != 0o400 || s.Control != "/run/svinit/control.sock" ||
		s.ShutdownTimeout != 9*time.Second || s.WaitReadyTimeout != 30*time.Second || s.StartupTimeout != 0 ||
		s.LogFormat != logmux.Prefix || s.LogLevel != logmux.Info || s.KeepGoing {
		t.Errorf("defaults: %+v", s)
	}
}

func TestLoadSettingsValues(t *testing.T) {
	env := map[string]string{
		"SVINIT_SHUTDOWN_TIMEOUT": "2.5", "SVINIT_WAIT_READY_TIMEOUT": "0", "SVINIT_STARTUP_TIMEOUT": "500ms",
		"SVINIT_KEEP_GOING": "1", "SVINIT_LOG_FORMAT": "json", "SVINIT_ENV_MODE": "0444", "SVINIT_ENV_FILE": "/tmp/e",
	}
	s, err := LoadSettings(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if s.ShutdownTimeout != 2500*time.Millisecond || s.WaitReadyTimeout != 0 || s.StartupTimeout != 500*time.Millisecond ||
		!s.KeepGoing || s.LogFormat != logmux.JSON || s.EnvMode != 0o444 || !s.EnvFileSet {
		t.Errorf("values: %+v", s)
	}
}

func TestLoadSettingsNamesEveryBadVariable(t *testing.T) {
	env := map[string]string{
		"SVINIT_SHUTDOWN_TIMEOUT": "soon", "SVINIT_KEEP_GOING": "maybe", "SVINIT_LOG_FORMAT": "inherit",
		"SVINIT_LOG_LEVEL": "loud", "SVINIT_ENV_MODE": "rw", "SVINIT_STARTUP_TIMEOUT": "-1s",
	}
	_, err := LoadSettings(func(k string) string { return env[k] })
	if err == nil {
		t.Fatal("no error")
	}
	for k, v := range env {
		if !strings.Contains(err.Error(), k+"=\""+v+"\"") {
			t.Errorf("error does not name %s=%q:\n%v", k, v, err)
		}
	}
}

func TestLoadSettingsStopDelay(t *testing.T) {
	for v, want := range map[string]time.Duration{"": 0, "5": 5 * time.Second, "1500ms": 1500 * time.Millisecond} {
		s, err := LoadSettings(func(k string) string {
			if k == "SVINIT_STOP_DELAY" {
				return v
			}
			return ""
		})
		if err != nil || s.StopDelay != want {
			t.Errorf("SVINIT_STOP_DELAY=%q: %v, %v; want %v", v, s.StopDelay, err, want)
		}
	}
	_, err := LoadSettings(func(k string) string {
		if k == "SVINIT_STOP_DELAY" {
			return "later"
		}
		return ""
	})
	if err == nil || !strings.Contains(err.Error(), `SVINIT_STOP_DELAY="later"`) {
		t.Errorf("bad SVINIT_STOP_DELAY: %v", err)
	}
}

// TestLoadSettingsRefusesOutOfRangeDurations: "inf" or "1e300" seconds
// used to overflow to a negative deadline (everything killed at once).
func TestLoadSettingsRefusesOutOfRangeDurations(t *testing.T) {
	for _, name := range []string{"SVINIT_SHUTDOWN_TIMEOUT", "SVINIT_WAIT_READY_TIMEOUT", "SVINIT_STARTUP_TIMEOUT", "SVINIT_STOP_DELAY"} {
		for _, v := range []string{"inf", "+Inf", "infinity", "1e300", "NaN", "-1", "9223372036", "2562047h", "8761h", "-0.5"} {
			_, err := LoadSettings(func(k string) string {
				if k == name {
					return v
				}
				return ""
			})
			if err == nil || !strings.Contains(err.Error(), name+"=\""+v+"\"") {
				t.Errorf("%s=%s: %v; want an error naming it", name, v, err)
			}
		}
	}
	for v, want := range map[string]time.Duration{"8760h": 8760 * time.Hour, "31536000": 8760 * time.Hour, "0": 0, "1.5": 1500 * time.Millisecond, "90s": 90 * time.Second} {
		s, err := LoadSettings(func(k string) string {
			if k == "SVINIT_SHUTDOWN_TIMEOUT" {
				return v
			}
			return ""
		})
		if err != nil || s.ShutdownTimeout != want {
			t.Errorf("SVINIT_SHUTDOWN_TIMEOUT=%s: %v, %v; want %v", v, s.ShutdownTimeout, err, want)
		}
	}
}

// TestLoadSettingsRefusesWritableEnvMode: the environment carries secrets;
// a mode others may write would let them rewrite what every child reads.
func TestLoadSettingsRefusesWritableEnvMode(t *testing.T) {
	for _, v := range []string{"0777", "0666", "0620", "0402", "0460"} {
		_, err := LoadSettings(func(k string) string {
			if k == "SVINIT_ENV_MODE" {
				return v
			}
			return ""
		})
		if err == nil || !strings.Contains(err.Error(), `SVINIT_ENV_MODE="`+v+`"`) || !strings.Contains(err.Error(), "writable") {
			t.Errorf("SVINIT_ENV_MODE=%s: %v; want a refusal naming it", v, err)
		}
	}
	for _, v := range []string{"0400", "0444", "0600", "0640", "0644"} {
		if _, err := LoadSettings(func(k string) string {
			if k == "SVINIT_ENV_MODE" {
				return v
			}
			return ""
		}); err != nil {
			t.Errorf("SVINIT_ENV_MODE=%s: %v", v, err)
		}
	}
}
