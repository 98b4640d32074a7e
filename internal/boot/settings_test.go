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
