package control

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// DefaultSocket is the control socket when $SVINIT_CONTROL is unset.
const DefaultSocket = "/run/svinit/control.sock"

// FallbackSocket is where an unprivileged svinit (docker run --user) puts
// its socket when it cannot create DefaultSocket's folder: per uid, so
// `sv` run as the same user (HEALTHCHECK, docker exec) finds it.
func FallbackSocket(uid int) string {
	return fmt.Sprintf("/tmp/svinit-%d/control.sock", uid)
}

// SocketPath is the socket sv talks to: $SVINIT_CONTROL when set, else
// DefaultSocket, else — for a non-root user, when DefaultSocket does not
// exist and the fallback does — FallbackSocket.
func SocketPath(env string) string {
	if env != "" {
		return env
	}
	if _, err := os.Stat(DefaultSocket); err != nil && os.Getuid() != 0 {
		if _, err := os.Stat(FallbackSocket(os.Getuid())); err == nil {
			return FallbackSocket(os.Getuid())
		}
	}
	return DefaultSocket
}

// Client defaults. runit's sv waits 7 s for start/stop/restart (its LSB
// verbs) and, with -v, for up/down; SVWAIT changes the 7. `wait` has its own
// default, as long as svinit's own wait for readiness at boot.
const (
	defaultWait     = 7
	defaultWaitVerb = 30
	replySlack      = 10 * time.Second // answer time beyond the requested wait
)

const usage = `usage: sv [-v] [-w SEC] [--json] VERB [NAME...]
  status [NAME...]          one line per service (all when none named)
  start|up NAME...          want up and start (start waits, up only with -v/-w)
  stop|down NAME...         want down and stop (stop waits, down only with -v/-w)
  restart NAME...           stop then start, and wait
  once NAME...              start, do not restart
  hup|term|kill|int|usr1|usr2|alarm|quit|cont|pause NAME...   send the signal
  check [NAME...]           exit 0 if all named (default: all auto-start) are ready
  wait [-t SEC] NAME...     block until ready (default -t 30)
  reload                    same as HUP to svinit
  shutdown [--now]          same as TERM to svinit (--now skips SVINIT_STOP_DELAY)
  metrics                   the Prometheus text exposition
env: SVINIT_CONTROL (default /run/svinit/control.sock), SVWAIT (default 7)
`

// errHelp asks for the usage on stdout and exit 0.
var errHelp = errors.New("help")

// invocation is a parsed command line.
type invocation struct {
	req  Request
	json bool
}

// options are the flags before the verb.
type options struct {
	json, verbose, waitSet bool
	wait                   float64
}

// SvMain is the sv CLI (SPEC §6). args excludes the program name. Exit
// codes: 0 success; 1 a verb failed or timed out, svinit refused the
// request, or svinit is unreachable; 2 usage.
func SvMain(args []string, stdout, stderr io.Writer) int {
	inv, err := parseArgs(args, os.Getenv)
	if errors.Is(err, errHelp) {
		fmt.Fprint(stdout, usage)
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "sv: %v\n%s", err, usage)
		return 2
	}
	resp, err := Call(SocketPath(os.Getenv("SVINIT_CONTROL")), inv.req)
	if err != nil {
		fmt.Fprintf(stderr, "sv: %v\n", err)
		return 1
	}
	return report(inv, resp, stdout, stderr)
}

// parseArgs turns sv's argv into a normalized request.
func parseArgs(args []string, getenv func(string) string) (invocation, error) {
	o, rest, err := parseFlags(args)
	if err != nil {
		return invocation{}, err
	}
	if len(rest) == 0 {
		return invocation{}, errors.New("missing verb")
	}
	if rest[0] == "help" {
		return invocation{}, errHelp
	}
	verb, names := rest[0], rest[1:]
	canon, ok := CanonicalVerb(verb)
	if !ok {
		return invocation{}, fmt.Errorf("unknown verb %q", verb)
	}
	wait, err := waitFor(verb, canon, o, getenv("SVWAIT"))
	if err != nil {
		return invocation{}, err
	}
	if canon == "wait" {
		if wait, names, err = parseWaitT(names, wait); err != nil {
			return invocation{}, err
		}
	}
	now := false
	if canon == "shutdown" && len(names) > 0 && names[0] == "--now" {
		now, names = true, names[1:]
	}
	req, err := Normalize(Request{Verb: canon, Names: names, Wait: wait, Now: now})
	return invocation{req: req, json: o.json}, err
}

// parseFlags reads the flags before the verb: -v, -w SEC, --json, --help.
func parseFlags(args []string) (options, []string, error) {
	var o options
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--":
			return o, args[i+1:], nil
		case a == "-" || !strings.HasPrefix(a, "-"):
			return o, args[i:], nil
		case a == "-h" || a == "--help" || a == "-help":
			return o, nil, errHelp
		case a == "--json" || a == "-json":
			o.json = true
		case a == "-v":
			o.verbose = true
		case a == "-w" && i+1 < len(args):
			i++
			a = "-w" + args[i]
			fallthrough
		case strings.HasPrefix(a, "-w") && a != "-w":
			var err error
			o.wait, err = parseSeconds("-w", strings.TrimPrefix(a[2:], "="))
			if err != nil {
				return o, nil, err
			}
			o.waitSet = true
		case a == "-w":
			return o, nil, errors.New("-w needs SEC")
		default:
			return o, nil, fmt.Errorf("unknown flag %s", a)
		}
	}
	return o, nil, nil
}

// waitFor is the wait a verb asks for, with runit's defaults: start, stop
// and restart wait SVWAIT (7 s); up and down only with -v; -w SEC always.
func waitFor(verb, canon string, o options, svwait string) (float64, error) {
	def := float64(defaultWait)
	if svwait != "" {
		var err error
		if def, err = parseSeconds("SVWAIT", svwait); err != nil {
			return 0, err
		}
	}
	switch canon {
	case "start", "stop", "restart":
		switch {
		case o.waitSet:
			return o.wait, nil
		case verb == canon || o.verbose:
			return def, nil
		}
	case "wait":
		if o.waitSet {
			return o.wait, nil
		}
		return defaultWaitVerb, nil
	}
	return 0, nil
}

// parseWaitT reads `wait`'s optional -t SEC before its names.
func parseWaitT(names []string, wait float64) (float64, []string, error) {
	if len(names) == 0 || !strings.HasPrefix(names[0], "-t") {
		return wait, names, nil
	}
	v := strings.TrimPrefix(strings.TrimPrefix(names[0], "-t"), "=")
	names = names[1:]
	if v == "" {
		if len(names) == 0 {
			return 0, nil, errors.New("-t needs SEC")
		}
		v, names = names[0], names[1:]
	}
	t, err := parseSeconds("-t", v)
	return t, names, err
}

// parseSeconds reads a flag's seconds: a non-negative number, fractions ok.
func parseSeconds(flag, v string) (float64, error) {
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || math.IsNaN(f) || f < 0 || f > MaxWait {
		return 0, fmt.Errorf("bad %s %q: want seconds from 0 to %d", flag, v, MaxWait)
	}
	return f, nil
}

// Call sends req to the svinit listening at path and returns its answer.
// The connection is bounded by req.Wait plus a margin, so a stuck svinit
// cannot hang a HEALTHCHECK.
func Call(path string, req Request) (Response, error) {
	var resp Response
	// One deadline for the whole call, the connect included: connecting to
	// a unix socket fails at once or succeeds at once (as runit's sv opens
	// its control fifo), so a separate connect timeout only fails a client
	// that a busy machine held up.
	deadline := time.Now().Add(time.Duration(req.Wait*float64(time.Second)) + replySlack)
	d := dialer
	d.Deadline = deadline
	c, err := d.Dial("unix", path)
	if err != nil {
		return resp, unreachable(path, err)
	}
	defer c.Close()
	if err := c.SetDeadline(deadline); err != nil {
		return resp, fmt.Errorf("svinit at %s: %w", path, err)
	}
	b, err := encodeRequest(&req)
	if err != nil {
		return resp, fmt.Errorf("encode request: %w", err)
	}
	if _, err := c.Write(append(b, '\n')); err != nil {
		return resp, fmt.Errorf("send to svinit at %s: %w", path, err)
	}
	line, err := readAnswer(bufio.NewReader(c), maxResponseBytes)
	if err == nil {
		resp, err = parseResponse(line)
	}
	if err != nil {
		return resp, fmt.Errorf("no answer from svinit at %s: %w", path, err)
	}
	return resp, nil
}

// dialer dials svinit; tests set Control to stall the connect.
var dialer net.Dialer

// maxResponseBytes bounds the answer sv reads: far above the status of a
// thousand services, far below what could hurt.
const maxResponseBytes = 16 << 20

// readAnswer reads the response line, up to '\n' or the end, at most max
// bytes.
func readAnswer(r *bufio.Reader, max int) ([]byte, error) {
	var line []byte
	for {
		chunk, err := r.ReadSlice('\n')
		line = append(line, chunk...)
		switch {
		case len(line) > max:
			return nil, fmt.Errorf("answer longer than %d bytes", max)
		case err == nil, errors.Is(err, io.EOF) && len(line) > 0:
			return line, nil
		case !errors.Is(err, bufio.ErrBufferFull):
			return nil, err
		}
	}
}

// unreachable explains a failed connect in one line.
func unreachable(path string, err error) error {
	reason := err
	var op *net.OpError
	if errors.As(err, &op) {
		reason = op.Err
	}
	hint := "is svinit running as PID 1?"
	if errors.Is(err, syscall.EACCES) {
		hint = "only root and svinit's own user may use it"
	}
	return fmt.Errorf("cannot reach svinit at %s: %v (%s)", path, reason, hint)
}

// report prints resp for the verb that was asked and returns the exit code.
func report(inv invocation, resp Response, stdout, stderr io.Writer) int {
	code := 0
	if !resp.OK {
		code = 1
	}
	if resp.Error != "" {
		fmt.Fprintf(stderr, "sv: %s\n", resp.Error)
	}
	out, errs := lines(inv.req, resp)
	if len(errs) > 0 {
		code = 1
	}
	switch {
	case inv.req.Verb == "metrics":
		fmt.Fprint(stdout, resp.Text)
	case inv.json:
		printJSON(stdout, resp.Services)
	default:
		writeLines(stdout, out)
	}
	writeLines(stderr, errs)
	return code
}

// lines are the stdout and stderr lines for resp: status lines, runit's
// "ok:"/"timeout:"/"fail:" lines, or check's "NAME: not ready (STATE)".
func lines(req Request, resp Response) (out, errs []string) {
	now := time.Now()
	byName := make(map[string]ServiceStatus, len(resp.Services))
	for _, s := range resp.Services {
		byName[s.Name] = s
	}
	if req.Verb == "status" {
		for _, s := range resp.Services {
			out = append(out, StatusLine(s, now))
			for _, l := range s.Lines {
				out = append(out, "  "+printable(l))
			}
		}
	}
	for _, r := range resp.Results {
		s, known := byName[r.Name]
		o, e := resultLine(req, r, s, known, now)
		if o != "" {
			out = append(out, o)
		}
		if e != "" {
			errs = append(errs, e)
		}
	}
	return out, errs
}

// resultLine is the line for one per-name result, on stdout (o) or stderr
// (e); both are empty for a quiet success. s is the service's status when
// known says the answer carried it.
func resultLine(req Request, r Result, s ServiceStatus, known bool, now time.Time) (o, e string) {
	quiet := req.Verb == "check" || req.Verb == "wait"
	switch {
	case r.OK && (quiet || req.Wait == 0 || !known):
		return "", ""
	case r.OK:
		return "ok: " + StatusLine(s, now), ""
	case quiet && known && r.Error == "unhealthy":
		return "", r.Name + ": unhealthy (health: failing)"
	case quiet && known:
		return "", fmt.Sprintf("%s: not ready (%s)", r.Name, s.State)
	case quiet:
		return "", r.Name + ": " + r.Error
	case r.Error == "timeout" && known:
		return "timeout: " + StatusLine(s, now), ""
	}
	return "", "fail: " + r.Name + ": " + r.Error
}

// printJSON prints the services as one indented JSON document.
func printJSON(w io.Writer, services []ServiceStatus) {
	b, err := indentServices(services)
	if err != nil {
		b = []byte(`{"error": ` + strconv.Quote(err.Error()) + `}`)
	}
	fmt.Fprintf(w, "%s\n", b)
}

// writeLines writes each line with a newline.
func writeLines(w io.Writer, ls []string) {
	for _, l := range ls {
		fmt.Fprintln(w, l)
	}
}
