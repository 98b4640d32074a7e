package manifest

import (
	"errors"
	"fmt"
	"maps"
	"net"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"alpine-server/internal/manifest/yaml"
)

// Defaults of health: (SPEC §4).
const (
	DefaultHealthInterval = 10 * time.Second
	DefaultHealthTimeout  = 5 * time.Second
	DefaultHealthRetries  = 3
)

// Health is a service's liveness probe, run once the service is ready: the
// probe kinds of Ready (tcp, http, exec, file; Kind "" = no health:), every
// Interval, each attempt bounded by Timeout; after Retries failures in a
// row the service is restarted through its restart policy. Failures within
// StartPeriod of the start do not count.
type Health struct {
	Ready
	Retries     int           // >= 1, default 3
	StartPeriod time.Duration // >= 0, default 0
}

// ready reads the `ready:` mapping: at most one probe plus its timing.
func (d *decoder) ready(r *Ready, n *yaml.Node) {
	d.probe("ready", r, n, map[string]func(*yaml.Node){
		"interval": func(v *yaml.Node) { r.Interval = d.duration("ready.interval", v, DefaultInterval) },
		"timeout":  func(v *yaml.Node) { r.Timeout = d.duration("ready.timeout", v, DefaultReadyTimeout) },
	}, map[ReadyKind]func(string, *yaml.Node){
		ReadyNotify: func(k string, v *yaml.Node) { d.notifyProbe(r, k, v) },
		ReadyFD:     func(k string, v *yaml.Node) { d.fdProbe(r, k, v) },
	})
}

// health reads the `health:` mapping: one probe (required) and its timing.
func (d *decoder) health(h *Health, n *yaml.Node) {
	h.Interval, h.Timeout, h.Retries = DefaultHealthInterval, DefaultHealthTimeout, DefaultHealthRetries
	if !d.probe("health", &h.Ready, n, map[string]func(*yaml.Node){
		"interval":     func(v *yaml.Node) { h.Interval = d.duration("health.interval", v, DefaultHealthInterval) },
		"timeout":      func(v *yaml.Node) { h.Timeout = d.duration("health.timeout", v, DefaultHealthTimeout) },
		"retries":      func(v *yaml.Node) { h.Retries = d.retries("health.retries", v) },
		"start_period": func(v *yaml.Node) { h.StartPeriod = d.durationOrZero("health.start_period", v) },
	}, nil) {
		return
	}
	if h.Kind == ReadyStarted {
		d.errorf(lineOf(n), "health: want a probe: one of tcp, http, exec, file")
	}
}

// probe reads a mapping of at most one probe kind (tcp, http, exec, file
// and the extra kinds) plus the timing keys of fields. false: n is not a
// mapping (and that was reported).
func (d *decoder) probe(where string, r *Ready, n *yaml.Node, fields map[string]func(*yaml.Node), extra map[ReadyKind]func(string, *yaml.Node)) bool {
	n = deref(n)
	if n == nil || n.Kind != yaml.MappingNode {
		d.errorf(lineOf(n), "%s: want a mapping like {tcp: 127.0.0.1:80}, got %s", where, kindName(n))
		return false
	}
	var kinds []string
	extraLine := 0 // where a second probe is written
	add := func(kind ReadyKind, read func(string, *yaml.Node)) {
		kinds = append(kinds, string(kind))
		fields[string(kind)] = func(v *yaml.Node) {
			if r.Kind != ReadyStarted && extraLine == 0 {
				extraLine = v.Line
			}
			r.Kind = kind
			read(where+"."+string(kind), v)
		}
	}
	add(ReadyTCP, func(k string, v *yaml.Node) { d.tcpProbe(r, k, v) })
	add(ReadyHTTP, func(k string, v *yaml.Node) { d.httpProbe(r, k, v) })
	add(ReadyExec, func(k string, v *yaml.Node) { d.execProbe(r, k, v) })
	add(ReadyFile, func(k string, v *yaml.Node) { d.fileProbe(r, k, v) })
	for _, kind := range []ReadyKind{ReadyNotify, ReadyFD} {
		if read, ok := extra[kind]; ok {
			add(kind, read)
		}
	}
	known := slices.Sorted(maps.Keys(fields))
	var given []string
	d.pairs(where, n, func(key string, kn, v *yaml.Node) {
		set, ok := fields[key]
		switch {
		case !ok:
			d.unknownKey(where, kn, known)
		case !isNull(deref(v)):
			if slices.Contains(kinds, key) {
				given = append(given, key)
			}
			set(v)
		}
	})
	if len(given) > 1 {
		d.errorf(extraLine, "%s: want exactly one of %s; got %s", where, strings.Join(kinds, ", "), strings.Join(given, " and "))
	}
	return true
}

// notifyProbe reads `notify: systemd`, the one protocol svinit speaks.
func (d *decoder) notifyProbe(r *Ready, key string, n *yaml.Node) {
	v, ok := d.scalar(key, n)
	if !ok {
		return
	}
	if v != "systemd" {
		d.errorf(lineOf(n), "%s: want systemd (sd_notify's READY=1 on $NOTIFY_SOCKET), got %q", key, v)
		return
	}
	r.Addr = v
}

// fdProbe reads `fd: N`: not 0-2 (stdin, stdout and stderr are taken)
// and below 1024, where every select()-based daemon can write.
func (d *decoder) fdProbe(r *Ready, key string, n *yaml.Node) {
	v, ok := d.scalar(key, n)
	if !ok {
		return
	}
	fd, err := strconv.Atoi(v)
	if err != nil || fd < 3 || fd > 1023 {
		d.errorf(lineOf(n), "%s: want a descriptor from 3 to 1023 (0, 1, 2 are stdin, stdout, stderr), got %q", key, v)
		return
	}
	r.FD, r.Addr = fd, v
}

// retries reads a count of at least 1.
func (d *decoder) retries(key string, n *yaml.Node) int {
	v, ok := d.scalar(key, n)
	if !ok || v == "" {
		return DefaultHealthRetries
	}
	c, err := strconv.Atoi(v)
	if err != nil || c < 1 {
		d.errorf(lineOf(n), "%s: want a whole number of 1 or more, got %q", key, v)
		return DefaultHealthRetries
	}
	return c
}

// durationOrZero is duration for the one key where 0 means something
// (start_period: failures count from the start).
func (d *decoder) durationOrZero(key string, n *yaml.Node) time.Duration {
	v, ok := d.scalar(key, n)
	if !ok || v == "" {
		return 0
	}
	t, err := time.ParseDuration(v)
	switch {
	case err != nil:
		d.errorf(lineOf(n), "%s: want a duration like 0s, 30s or 1m, got %q", key, v)
	case t < 0:
		d.errorf(lineOf(n), "%s: must be 0 or more, got %q", key, v)
	default:
		return t
	}
	return 0
}

// checkNotify applies the rules between watchdog:, health: and the rest.
func (d *decoder) checkNotify(s *Service) {
	if w := s.Line("watchdog"); w > 0 && s.Ready.Kind != ReadyNotify {
		d.errorf(w, "watchdog: needs ready: {notify: systemd} (the service sends WATCHDOG=1 to $NOTIFY_SOCKET)")
	}
	h := s.Line("health")
	switch {
	case h == 0:
	case s.Builtin != "":
		d.errorf(h, "health: not used by builtin services (command: [builtin, %s])", s.Builtin)
	case s.Oneshot:
		d.errorf(h, "health: a oneshot runs once to completion; it has no liveness to probe")
	}
}

func (d *decoder) tcpProbe(r *Ready, key string, n *yaml.Node) {
	v, ok := d.scalar(key, n)
	if !ok {
		return
	}
	if err := checkHostPort(v); err != nil {
		d.errorf(lineOf(n), "%s: %q: %v", key, v, err)
		return
	}
	r.Addr, r.HostPort = v, v
}

func (d *decoder) httpProbe(r *Ready, key string, n *yaml.Node) {
	v, ok := d.scalar(key, n)
	if !ok {
		return
	}
	hostPort, path, err := ParseHTTPURL(v)
	if err != nil {
		d.errorf(lineOf(n), "%s: %q: %v", key, v, err)
		return
	}
	r.Addr, r.HostPort, r.Path = v, hostPort, path
}

func (d *decoder) execProbe(r *Ready, key string, n *yaml.Node) {
	argv := d.list(key, n)
	if len(argv) == 0 || argv[0] == "" {
		d.errorf(lineOf(n), "%s: want a command like [pg_isready, -q]", key)
		return
	}
	r.Exec = argv
}

func (d *decoder) fileProbe(r *Ready, key string, n *yaml.Node) {
	v, ok := d.scalar(key, n)
	if !ok {
		return
	}
	if !filepath.IsAbs(v) {
		d.errorf(lineOf(n), "%s: want an absolute path like /run/app.pid, got %q", key, v)
		return
	}
	r.Addr = filepath.Clean(v)
}

// checkHostPort accepts "host:port" and ":port" (the local host) with a
// numeric port 1-65535.
func checkHostPort(v string) error {
	if v == "" {
		return errors.New("want host:port, got nothing")
	}
	_, port, err := net.SplitHostPort(v)
	if err != nil {
		return fmt.Errorf("want host:port like 127.0.0.1:8080 ([::1]:8080 for IPv6)")
	}
	return checkPort(port)
}

func checkPort(port string) error {
	n, err := strconv.Atoi(port)
	if err != nil || n < 1 || n > 65535 {
		return fmt.Errorf("port %q: want a number from 1 to 65535", port)
	}
	return nil
}

// ParseHTTPURL splits an http readiness URL into what to dial (host:port,
// port 80 by default) and the request target (path and query, "/" when
// absent). Only plain http:// is accepted: svinit links no TLS client
// (SPEC §12), so https:// is refused with a message saying so.
func ParseHTTPURL(v string) (hostPort, target string, err error) {
	if strings.HasPrefix(strings.ToLower(v), "https://") {
		return "", "", errors.New("https is not supported (svinit has no TLS client); probe a plain http:// port")
	}
	rest, ok := strings.CutPrefix(v, "http://")
	if !ok {
		return "", "", errors.New("want a URL like http://127.0.0.1:8080/health")
	}
	if i := strings.IndexFunc(v, func(c rune) bool { return c <= ' ' || c == 0x7f }); i >= 0 {
		return "", "", errors.New("spaces and control characters must be %-encoded")
	}
	authority, target := rest, "/"
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		authority, target = rest[:i], rest[i:]
	}
	target, _, _ = strings.Cut(target, "#")
	if !strings.HasPrefix(target, "/") {
		target = "/" + target
	}
	hostPort, err = httpHostPort(authority)
	return hostPort, target, err
}

// httpHostPort adds the default port 80 to an URL authority.
func httpHostPort(authority string) (string, error) {
	if strings.Contains(authority, "@") {
		return "", errors.New("user:password@ in the URL is not supported")
	}
	bracketed := strings.HasPrefix(authority, "[") && strings.HasSuffix(authority, "]")
	if !strings.Contains(authority, ":") || bracketed {
		authority = net.JoinHostPort(strings.Trim(authority, "[]"), "80")
	}
	host, port, err := net.SplitHostPort(authority)
	if err != nil || host == "" {
		return "", errors.New("want a URL like http://127.0.0.1:8080/health (missing or bad host)")
	}
	return authority, checkPort(port)
}

// healthHash is what hashService adds for readiness by fd, the watchdog
// and health: (a reload restarts the service when they change).
func healthHash(s *Service) []string {
	h := s.Health
	out := []string{strconv.Itoa(s.Ready.FD), s.Watchdog.String(), string(h.Kind), h.Addr, h.HostPort, h.Path,
		h.Interval.String(), h.Timeout.String(), strconv.Itoa(h.Retries), h.StartPeriod.String(), strconv.Itoa(len(h.Exec))}
	return append(out, h.Exec...)
}
