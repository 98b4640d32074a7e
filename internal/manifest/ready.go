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

	"alpine-server/internal/manifest/yaml"
)

// ready reads the `ready:` mapping: at most one probe plus its timing.
func (d *decoder) ready(r *Ready, n *yaml.Node) {
	n = deref(n)
	if n == nil || n.Kind != yaml.MappingNode {
		d.errorf(lineOf(n), "ready: want a mapping like {tcp: 127.0.0.1:80}, got %s", kindName(n))
		return
	}
	var kinds []string
	extraLine := 0 // where a second probe is written
	probe := func(kind ReadyKind, read func(string, *yaml.Node)) func(*yaml.Node) {
		return func(v *yaml.Node) {
			if kinds = append(kinds, string(kind)); len(kinds) == 2 {
				extraLine = v.Line
			}
			r.Kind = kind
			read("ready."+string(kind), v)
		}
	}
	fields := map[string]func(*yaml.Node){
		"tcp":      probe(ReadyTCP, func(k string, v *yaml.Node) { d.tcpProbe(r, k, v) }),
		"http":     probe(ReadyHTTP, func(k string, v *yaml.Node) { d.httpProbe(r, k, v) }),
		"exec":     probe(ReadyExec, func(k string, v *yaml.Node) { d.execProbe(r, k, v) }),
		"file":     probe(ReadyFile, func(k string, v *yaml.Node) { d.fileProbe(r, k, v) }),
		"interval": func(v *yaml.Node) { r.Interval = d.duration("ready.interval", v, DefaultInterval) },
		"timeout":  func(v *yaml.Node) { r.Timeout = d.duration("ready.timeout", v, DefaultReadyTimeout) },
	}
	known := slices.Sorted(maps.Keys(fields))
	d.pairs("ready", n, func(key string, kn, v *yaml.Node) {
		if set, ok := fields[key]; !ok {
			d.unknownKey("ready", kn, known)
		} else if !isNull(deref(v)) {
			set(v)
		}
	})
	if len(kinds) > 1 {
		d.errorf(extraLine, "ready: want exactly one of tcp, http, exec, file; got %s", strings.Join(kinds, " and "))
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
