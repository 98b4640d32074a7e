// Package control is svinit's control socket: the server side that checks
// the peer and hands requests to the supervisor, and the `sv` CLI that talks
// to it. The wire format is one JSON Request line from the client and one
// JSON Response line back (see PROTOCOL.md).
package control

import (
	"context"
	"fmt"
	"math"
	"syscall"
	"time"

	"alpine-server/internal/jsoncodec"
	"alpine-server/internal/manifest"
)

// MaxRequestBytes bounds one request line (the newline included): a client
// that sends more is answered with an error, never buffered without limit.
const MaxRequestBytes = 64 << 10

// MaxWait bounds Request.Wait so a mistyped -w cannot overflow a
// time.Duration or park a connection for weeks.
const MaxWait = 24 * 60 * 60

// Request is what `sv` sends: one JSON object on one line.
type Request struct {
	Verb  string   `json:"verb"`            // status start stop restart once hup ... check wait reload shutdown metrics
	Names []string `json:"names,omitempty"` // services the verb applies to
	Wait  float64  `json:"wait,omitempty"`  // seconds: -w for start/stop/restart, -t for wait (0 = don't wait)
	Now   bool     `json:"now,omitempty"`   // shutdown only: skip SVINIT_STOP_DELAY (sv shutdown --now)
}

// Response is svinit's answer: one JSON object on one line.
type Response struct {
	OK       bool            `json:"ok"`
	Error    string          `json:"error,omitempty"`    // whole-request failure (usage, permission)
	Services []ServiceStatus `json:"services,omitempty"` // state after the verb, one per name (all for status)
	Results  []Result        `json:"results,omitempty"`  // per-name outcome of a verb
	Text     string          `json:"text,omitempty"`     // pre-formatted output printed as is (metrics)
}

// Result is the outcome of a verb for one named service.
type Result struct {
	Name  string `json:"name"`
	OK    bool   `json:"ok"`
	Error string `json:"error,omitempty"` // "timeout", "unknown service", ...
}

// ExitInfo describes how a service's process last ended.
type ExitInfo struct {
	Code   int       `json:"code"`
	Signal string    `json:"signal,omitempty"` // "KILL" when killed
	Time   time.Time `json:"time"`
}

// ServiceStatus is the state of one service as `sv status` shows it.
type ServiceStatus struct {
	Name       string        `json:"name"`
	State      string        `json:"state"` // run | down | starting | stopping | backoff | fatal | finish
	Pid        int           `json:"pid,omitempty"`
	Builtin    bool          `json:"builtin,omitempty"`
	Oneshot    bool          `json:"oneshot,omitempty"`
	Since      time.Time     `json:"since"`
	Ready      bool          `json:"ready"`
	WantUp     bool          `json:"want_up"`
	NormallyUp bool          `json:"normally_up"` // auto_start
	Restarts   int           `json:"restarts"`
	LastExit   *ExitInfo     `json:"last_exit,omitempty"`
	RestartIn  float64       `json:"restart_in,omitempty"`  // seconds, in backoff
	Failures   int           `json:"failures,omitempty"`    // failures within the fatal window
	Health     string        `json:"health,omitempty"`      // "", "healthy" or "unhealthy" (services with health:)
	StatusText string        `json:"status_text,omitempty"` // the last STATUS= line of a notify service
	Detail     jsoncodec.Raw `json:"detail,omitempty"`      // a built-in's Status() as JSON (cron jobs)
	Lines      []string      `json:"lines,omitempty"`       // printed under the status line (cron: one a job)
}

// Peer is the client process at the other end of a connection, as the kernel
// reported it (SO_PEERCRED).
type Peer struct{ Pid, Uid, Gid int }

// Handler carries out a validated request. Verbs arrive canonical (start,
// stop, never up/down). Handle may block for wait verbs, up to req.Wait
// seconds; ctx is cancelled when the server stops or the client goes away.
// PeerFrom(ctx) tells who asked.
type Handler interface {
	Handle(ctx context.Context, req Request) Response
}

type peerKey struct{}

// PeerFrom returns the peer of the request whose context ctx is.
func PeerFrom(ctx context.Context) (Peer, bool) {
	p, ok := ctx.Value(peerKey{}).(Peer)
	return p, ok
}

// withPeer returns ctx carrying p, for PeerFrom.
func withPeer(ctx context.Context, p Peer) context.Context {
	return context.WithValue(ctx, peerKey{}, p)
}

// names says whether a verb takes service names.
type names int

const (
	namesOptional names = iota // status, check: none means all
	namesRequired              // start, stop, signals, wait...
	namesNone                  // reload, shutdown
)

// verb is one row of the verb table shared by the client and the server.
type verb struct {
	names  names
	mutate bool           // changes state: root or svinit's uid only
	signal syscall.Signal // for the signal verbs, else 0
}

// verbs is the table of canonical verbs.
var verbs = map[string]verb{
	"status":   {names: namesOptional},
	"check":    {names: namesOptional},
	"wait":     {names: namesRequired},
	"start":    {names: namesRequired, mutate: true},
	"stop":     {names: namesRequired, mutate: true},
	"restart":  {names: namesRequired, mutate: true},
	"once":     {names: namesRequired, mutate: true},
	"reload":   {names: namesNone, mutate: true},
	"shutdown": {names: namesNone, mutate: true},
	"metrics":  {names: namesNone},
	"hup":      {names: namesRequired, mutate: true, signal: syscall.SIGHUP},
	"term":     {names: namesRequired, mutate: true, signal: syscall.SIGTERM},
	"kill":     {names: namesRequired, mutate: true, signal: syscall.SIGKILL},
	"int":      {names: namesRequired, mutate: true, signal: syscall.SIGINT},
	"usr1":     {names: namesRequired, mutate: true, signal: syscall.SIGUSR1},
	"usr2":     {names: namesRequired, mutate: true, signal: syscall.SIGUSR2},
	"alarm":    {names: namesRequired, mutate: true, signal: syscall.SIGALRM},
	"quit":     {names: namesRequired, mutate: true, signal: syscall.SIGQUIT},
	"cont":     {names: namesRequired, mutate: true, signal: syscall.SIGCONT},
	"pause":    {names: namesRequired, mutate: true, signal: syscall.SIGSTOP},
}

// aliases are runit's other spellings of canonical verbs.
var aliases = map[string]string{"up": "start", "down": "stop"}

// CanonicalVerb maps a verb or alias (up, down) to its canonical name; ok is
// false for an unknown verb.
func CanonicalVerb(v string) (string, bool) {
	if c, ok := aliases[v]; ok {
		return c, true
	}
	_, ok := verbs[v]
	return v, ok
}

// SignalFor returns the signal a signal verb (hup, term, pause...) sends;
// ok is false for every other verb.
func SignalFor(v string) (syscall.Signal, bool) {
	r, ok := verbs[v]
	return r.signal, ok && r.signal != 0
}

// Mutates says whether a verb changes state and so needs root or svinit's
// own uid. Unknown verbs count as mutating.
func Mutates(v string) bool {
	r, ok := verbs[v]
	return !ok || r.mutate
}

// Normalize canonicalizes req.Verb and checks the request as the server
// will: known verb, names where the verb needs them and none where it takes
// none, valid names, a sane wait.
func Normalize(req Request) (Request, error) {
	c, ok := CanonicalVerb(req.Verb)
	if !ok {
		return req, fmt.Errorf("unknown verb %q", req.Verb)
	}
	req.Verb = c
	switch r := verbs[c]; {
	case r.names == namesRequired && len(req.Names) == 0:
		return req, fmt.Errorf("%s needs at least one service name", c)
	case r.names == namesNone && len(req.Names) > 0:
		return req, fmt.Errorf("%s takes no service names", c)
	}
	for _, n := range req.Names {
		if !manifest.ValidName(n) {
			return req, fmt.Errorf("invalid service name %q", n)
		}
	}
	if math.IsNaN(req.Wait) || req.Wait < 0 || req.Wait > MaxWait {
		return req, fmt.Errorf("wait %v out of range (0 to %d seconds)", req.Wait, MaxWait)
	}
	if req.Now && c != "shutdown" {
		return req, fmt.Errorf("now is only for shutdown, not %s", c)
	}
	return req, nil
}

// decodeRequest parses and validates one request line as the server
// receives it. Keys are exact; unknown and duplicate keys and trailing data
// are errors, so that a typo in a hand-written request is reported, never
// ignored or overridden.
func decodeRequest(line []byte) (Request, error) {
	req, err := parseRequest(line)
	if err != nil {
		return req, fmt.Errorf("invalid request: %w", err)
	}
	return Normalize(req)
}
