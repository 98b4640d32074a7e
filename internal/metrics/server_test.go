package metrics

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

type running struct {
	addr   string
	cancel context.CancelFunc
	done   chan error
	calls  atomic.Int64
}

func start(t *testing.T, o Options) *running {
	t.Helper()
	ln, err := Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{addr: ln.Addr().String(), cancel: cancel, done: make(chan error, 1)}
	go func() {
		r.done <- Serve(ctx, ln, func() []byte { r.calls.Add(1); return Append(nil, example()) }, o)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-r.done:
			if err != nil {
				t.Errorf("Serve: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Error("Serve did not return after cancel")
		}
	})
	return r
}

// do sends raw and returns the whole response.
func (r *running) do(t *testing.T, raw string) string {
	t.Helper()
	c, err := net.Dial("tcp", r.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(c, raw); err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(c)
	if err != nil {
		t.Fatalf("read response: %v", err)
	}
	return string(b)
}

func TestServeMetrics(t *testing.T) {
	r := start(t, Options{})
	resp := r.do(t, "GET /metrics HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip\r\nUser-Agent: Prometheus/2.42.0\r\n\r\n")
	head, body, ok := strings.Cut(resp, "\r\n\r\n")
	if !ok || !strings.HasPrefix(head, "HTTP/1.1 200 OK\r\n") || !strings.Contains(head, "\r\nContent-Type: "+ContentType+"\r\n") ||
		!strings.Contains(head, "\r\nContent-Length: ") {
		t.Fatalf("response head:\n%s", head)
	}
	fams := parse(t, []byte(body))
	if v, ok := value(t, fams, "svinit_service_up", "service", "web"); !ok || v != 1 {
		t.Errorf("svinit_service_up{service=web} = %v %v", v, ok)
	}
	// A query string and HTTP/1.0 are fine; HEAD has the headers only.
	if resp := r.do(t, "GET /metrics?x=1 HTTP/1.0\n\n"); !strings.HasPrefix(resp, "HTTP/1.1 200 OK") {
		t.Errorf("with a query: %q", resp)
	}
	resp = r.do(t, "HEAD /metrics HTTP/1.1\r\n\r\n")
	if _, body, _ := strings.Cut(resp, "\r\n\r\n"); !strings.HasPrefix(resp, "HTTP/1.1 200 OK") || body != "" {
		t.Errorf("HEAD: %q", resp)
	}
}

func TestServeErrors(t *testing.T) {
	r := start(t, Options{})
	for _, tc := range []struct{ req, want string }{
		{"GET / HTTP/1.1\r\n\r\n", "HTTP/1.1 404 Not Found\r\n"},
		{"GET /metricsx HTTP/1.1\r\n\r\n", "HTTP/1.1 404 Not Found\r\n"},
		{"POST /metrics HTTP/1.1\r\nContent-Length: 0\r\n\r\n", "HTTP/1.1 405 Method Not Allowed\r\n"},
		{"DELETE /metrics HTTP/1.1\r\n\r\n", "Allow: GET, HEAD\r\n"},
		{"GET /metrics\r\n\r\n", "HTTP/1.1 400 Bad Request\r\n"},
		{"GET metrics HTTP/1.1\r\n\r\n", "HTTP/1.1 400 Bad Request\r\n"},
		{"GET /metrics SPDY/3\r\n\r\n", "HTTP/1.1 400 Bad Request\r\n"},
		{"GET /metrics HTTP/1.1\r\nX: " + strings.Repeat("a", maxRequest) + "\r\n\r\n", "HTTP/1.1 400 Bad Request\r\n"},
	} {
		if got := r.do(t, tc.req); !strings.Contains(got, tc.want) {
			t.Errorf("%.40q: got %q, want %q", tc.req, got, tc.want)
		}
	}
	if n := r.calls.Load(); n != 0 {
		t.Errorf("render called %d times for requests that were refused", n)
	}
}

// TestIdleClientDelaysNoOne: a client that connects and sends nothing
// (read timeout an hour here) does not hold up a scrape, and a client
// that stops mid-request neither.
func TestIdleClientDelaysNoOne(t *testing.T) {
	r := start(t, Options{ReadTimeout: time.Hour})
	for _, partial := range []string{"", "GET /metr"} {
		idle, err := net.Dial("tcp", r.addr)
		if err != nil {
			t.Fatal(err)
		}
		defer idle.Close()
		io.WriteString(idle, partial)
	}
	if resp := r.do(t, "GET /metrics HTTP/1.1\r\n\r\n"); !strings.HasPrefix(resp, "HTTP/1.1 200 OK") {
		t.Errorf("scrape next to idle clients: %q", resp)
	}
}

// TestReadTimeout: an idle client is dropped after ReadTimeout.
func TestReadTimeout(t *testing.T) {
	r := start(t, Options{ReadTimeout: 50 * time.Millisecond})
	c, err := net.Dial("tcp", r.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if n, err := c.Read(make([]byte, 10)); err != io.EOF {
		t.Errorf("idle client: read %d bytes, %v; want EOF (dropped)", n, err)
	}
}

// TestMaxConns: over the bound, clients are closed at once, not queued;
// once a slot frees up, scrapes work again.
func TestMaxConns(t *testing.T) {
	r := start(t, Options{MaxConns: 2, ReadTimeout: time.Hour})
	var idle []net.Conn
	for range 2 {
		c, err := net.Dial("tcp", r.addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		idle = append(idle, c)
	}
	// The slots are taken once the server has accepted both idle clients,
	// which it does in its own time: retry until a scrape is refused.
	scrape := func() string {
		c, err := net.Dial("tcp", r.addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(10 * time.Second))
		io.WriteString(c, "GET /metrics HTTP/1.1\r\n\r\n")
		b, _ := io.ReadAll(c) // a refused client may read a reset
		return string(b)
	}
	waitFor := func(what string, ok func(string) bool) {
		deadline := time.Now().Add(10 * time.Second)
		for resp := scrape(); !ok(resp); resp = scrape() {
			if time.Now().After(deadline) {
				t.Fatalf("%s: last response %.60q", what, resp)
			}
		}
	}
	waitFor("never refused over MaxConns", func(resp string) bool { return resp == "" })
	idle[0].Close()
	waitFor("a freed slot was not reused", func(resp string) bool { return strings.HasPrefix(resp, "HTTP/1.1 200 OK") })
}

// TestStopClosesIdleClients: the end of Serve does not wait for a client.
func TestStopClosesIdleClients(t *testing.T) {
	r := start(t, Options{ReadTimeout: time.Hour})
	c, err := net.Dial("tcp", r.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	r.do(t, "GET /metrics HTTP/1.1\r\n\r\n") // the idle one was accepted before this
	r.cancel()
	select {
	case err := <-r.done:
		r.done <- err // for Cleanup
	case <-time.After(10 * time.Second):
		t.Fatal("Serve waits for an idle client")
	}
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.Read(make([]byte, 1)); err == nil {
		t.Error("idle client still connected")
	}
}

func TestParseAddr(t *testing.T) {
	for _, ok := range []string{":9100", "127.0.0.1:9100", "[::1]:9100", "0.0.0.0:65535", "localhost:1"} {
		if got, err := ParseAddr(ok); err != nil || got != ok {
			t.Errorf("ParseAddr(%q) = %q, %v", ok, got, err)
		}
	}
	if got, err := ParseAddr(""); got != "" || err != nil {
		t.Errorf("ParseAddr(\"\") = %q, %v; want off", got, err)
	}
	for _, tc := range []struct{ in, want string }{
		{"9100", "want [HOST]:PORT"},
		{"::1:9100", "want [HOST]:PORT"},
		{":http", `port "http": want a number from 1 to 65535`},
		{":0", `port "0"`},
		{":65536", `port "65536"`},
		{"a b:80", `bad host "a b"`},
	} {
		if _, err := ParseAddr(tc.in); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ParseAddr(%q) = %v, want %q", tc.in, err, tc.want)
		}
	}
}

func TestListenPortInUse(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	_, err = Listen(ln.Addr().String())
	if err == nil || !strings.Contains(err.Error(), `SVINIT_METRICS_ADDR="`+ln.Addr().String()+`"`) || !strings.Contains(err.Error(), "address already in use") {
		t.Errorf("Listen on a port in use: %v", err)
	}
}

// FuzzReadRequest: no request head makes the reader panic or accept
// something that is not "METHOD /path HTTP/1.x" followed by headers and
// a blank line. Seeds: testdata/fuzz/FuzzReadRequest.
func FuzzReadRequest(f *testing.F) {
	for _, s := range []string{"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n", "HEAD /metrics?x HTTP/1.0\n\n", "GET /metrics\r\n\r\n", "\r\n", ""} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		method, path, err := readRequest(bufio.NewReaderSize(io.LimitReader(bytes.NewReader(b), maxRequest), 1024))
		if err != nil {
			return
		}
		line, _, _ := strings.Cut(string(b), "\n")
		if method == "" || !strings.HasPrefix(path, "/") || strings.Contains(path, "?") || !strings.HasPrefix(line, method+" ") ||
			!strings.Contains(string(b), "\n\r\n") && !strings.Contains(string(b), "\n\n") {
			t.Fatalf("accepted %q as %q %q", b, method, path)
		}
	})
}
