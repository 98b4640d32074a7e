// Package boot is svinit as PID 1: the boot sequence of SPEC §3, the main
// command, signals, the control handler and the ordered shutdown of §11.
package boot

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"time"

	"alpine-server/internal/envsnap"
	"alpine-server/internal/logmux"
	"alpine-server/internal/metrics"
)

// Settings are svinit's SVINIT_* variables (SPEC §10), validated.
type Settings struct {
	ServicesDir      string
	PortList         bool // ServicesDir is the namespaced default because /etc/services is the port list
	StartupDir       string
	ShutdownDir      string
	KeepGoing        bool
	StartupTimeout   time.Duration
	WaitReadyTimeout time.Duration
	ShutdownTimeout  time.Duration
	LogFormat        logmux.Format
	LogLevel         logmux.Level
	EnvFile          string
	EnvFileSet       bool // SVINIT_ENV_FILE was given: write it even when not PID 1
	EnvMode          os.FileMode
	Control          string
	ControlSet       bool // SVINIT_CONTROL was given
	ProfileFile      string
	ProfileFileSet   bool // SVINIT_PROFILE_FILE was given ("" ProfileFile: none, SPEC §7)
	Secrets          envsnap.Secrets

	// boot (helper "boot"): the pre-stop delay of the first TERM
	StopDelay time.Duration // SVINIT_STOP_DELAY
	// MetricsAddr is SVINIT_METRICS_ADDR: where GET /metrics is served; "" = off.
	MetricsAddr string
}

// LoadSettings reads the settings from getenv; every bad value is reported
// in one error naming the variable.
func LoadSettings(getenv func(string) string) (*Settings, error) {
	return loadSettings(getenv, "/")
}

// loadSettings is LoadSettings with the file system's root injected (for
// the services-folder rule).
func loadSettings(getenv func(string) string, root string) (*Settings, error) {
	s := &Settings{
		StartupDir:  or(getenv("SVINIT_STARTUP_DIR"), "/etc/startup.d"),
		ShutdownDir: or(getenv("SVINIT_SHUTDOWN_DIR"), "/etc/shutdown.d"),
		EnvFile:     or(getenv("SVINIT_ENV_FILE"), "/etc/environment"),
		EnvFileSet:  getenv("SVINIT_ENV_FILE") != "",
		Control:     or(getenv("SVINIT_CONTROL"), "/run/svinit/control.sock"),
		ControlSet:  getenv("SVINIT_CONTROL") != "",
		ProfileFile: profileFile(getenv),
	}
	s.ProfileFileSet = getenv("SVINIT_PROFILE_FILE") != ""
	s.ServicesDir, s.PortList = servicesDir(getenv("SVINIT_SERVICES_DIR"), root)
	s.Secrets.Dirs = envsnap.ParseSecretsDirs(getenv("SVINIT_SECRETS_DIRS"))
	var errs []error
	bad := func(name string, err error) {
		if err != nil {
			errs = append(errs, fmt.Errorf("%s=%q: %w", name, getenv(name), err))
		}
	}
	var err error
	s.KeepGoing, err = parseBool(getenv("SVINIT_KEEP_GOING"))
	bad("SVINIT_KEEP_GOING", err)
	s.StartupTimeout, err = parseDuration(getenv("SVINIT_STARTUP_TIMEOUT"), 0)
	bad("SVINIT_STARTUP_TIMEOUT", err)
	s.WaitReadyTimeout, err = parseDuration(getenv("SVINIT_WAIT_READY_TIMEOUT"), 30*time.Second)
	bad("SVINIT_WAIT_READY_TIMEOUT", err)
	s.ShutdownTimeout, err = parseDuration(getenv("SVINIT_SHUTDOWN_TIMEOUT"), 9*time.Second)
	bad("SVINIT_SHUTDOWN_TIMEOUT", err)
	s.StopDelay, err = parseDuration(getenv("SVINIT_STOP_DELAY"), 0)
	bad("SVINIT_STOP_DELAY", err)
	s.MetricsAddr, err = metrics.ParseAddr(getenv("SVINIT_METRICS_ADDR"))
	bad("SVINIT_METRICS_ADDR", err)
	s.LogFormat, err = logmux.ParseFormat(or(getenv("SVINIT_LOG_FORMAT"), "prefix"))
	if err == nil && (s.LogFormat == logmux.Inherit || s.LogFormat == logmux.Discard) {
		err = errors.New("want prefix, plain or json")
	}
	bad("SVINIT_LOG_FORMAT", err)
	s.LogLevel, err = logmux.ParseLevel(or(getenv("SVINIT_LOG_LEVEL"), "info"))
	bad("SVINIT_LOG_LEVEL", err)
	s.EnvMode, err = envsnap.ParseMode(or(getenv("SVINIT_ENV_MODE"), "0400"))
	bad("SVINIT_ENV_MODE", err)
	s.Secrets.Names, err = envsnap.ParseSecretNames(getenv("SVINIT_SECRETS"))
	bad("SVINIT_SECRETS", err)
	return s, errors.Join(errs...)
}

// profileFile is SVINIT_PROFILE_FILE; unset, the login-shell script of
// SPEC §7, unless SVINIT_ENV_FILE was set (a run outside a container's
// /etc, such as a test's: then no profile script at all).
func profileFile(getenv func(string) string) string {
	switch {
	case getenv("SVINIT_PROFILE_FILE") != "":
		return getenv("SVINIT_PROFILE_FILE")
	case getenv("SVINIT_ENV_FILE") != "":
		return ""
	}
	return "/etc/profile.d/container_environment.sh"
}

func or(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

func parseBool(v string) (bool, error) {
	switch v {
	case "", "0", "false", "no":
		return false, nil
	case "1", "true", "yes":
		return true, nil
	}
	return false, errors.New("want 0 or 1")
}

// maxDuration bounds every SVINIT_* duration: a year is beyond any sane
// timeout, and far from time.Duration's overflow (292 years), which
// "inf" or "1e300" seconds used to reach as a negative deadline.
const maxDuration = 365 * 24 * time.Hour

// parseDuration accepts Go durations ("9s", "500ms") and plain seconds
// ("9", "2.5"), from 0 to maxDuration.
func parseDuration(v string, def time.Duration) (time.Duration, error) {
	if v == "" {
		return def, nil
	}
	bad := errors.New("want a duration such as 9s or 500ms, from 0 to 8760h")
	if n, err := strconv.ParseFloat(v, 64); err == nil || errors.Is(err, strconv.ErrRange) {
		// NaN and ±Inf fail the range test too.
		if !(n >= 0 && n <= maxDuration.Seconds()) {
			return 0, bad
		}
		return time.Duration(n * float64(time.Second)), nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 || d > maxDuration {
		return 0, bad
	}
	return d, nil
}
