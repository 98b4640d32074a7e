// Package promtest runs Debian's Prometheus server for the tests that
// check svinit's GET /metrics with a real scraper (test/pid1, test/e2e).
// It is test code: svinit never links it.
package promtest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// Binary finds prometheus on PATH or where scripts/test-deps unpacks it
// (bin/deps/prometheus below repo); the test skips without it.
func Binary(t *testing.T, repo string) string {
	t.Helper()
	if p, err := exec.LookPath("prometheus"); err == nil {
		return p
	}
	p, _ := filepath.Abs(filepath.Join(repo, "bin", "deps", "prometheus"))
	if _, err := os.Stat(p); err != nil {
		t.Skip("needs Debian's prometheus (scripts/test-deps unpacks it into bin/deps)")
	}
	return p
}

// Scrape runs prometheus on loopback, scraping target (host:port) every
// second, until the instant query for metric returns a value for each of
// services (label service), or the minute is up; it returns the values by
// service.
func Scrape(t *testing.T, bin, target, metric string, services []string) map[string]string {
	t.Helper()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "prometheus.yml")
	conf := fmt.Sprintf("global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: svinit\n    static_configs:\n      - targets: ['%s']\n", target)
	if err := os.WriteFile(cfg, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	web := freeAddr(t)
	cmd := exec.Command(bin, "--config.file="+cfg, "--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+web, "--log.level=warn")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	query := "http://" + web + "/api/v1/query?query=" + url.QueryEscape(metric)
	deadline := time.Now().Add(time.Minute)
	for {
		got := instant(query)
		complete := true
		for _, s := range services {
			_, ok := got[s]
			complete = complete && ok
		}
		if complete {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("prometheus: %s by service after a minute: %v; want %v\n%s", metric, got, services, out.String())
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// instant is the result of an instant query, value by service label.
func instant(query string) map[string]string {
	got := map[string]string{}
	resp, err := http.Get(query)
	if err != nil {
		return got
	}
	defer resp.Body.Close()
	var r struct {
		Data struct {
			Result []struct {
				Metric map[string]string `json:"metric"`
				Value  [2]any            `json:"value"`
			} `json:"result"`
		} `json:"data"`
	}
	if json.NewDecoder(resp.Body).Decode(&r) != nil {
		return got
	}
	for _, s := range r.Data.Result {
		got[s.Metric["service"]], _ = s.Value[1].(string)
	}
	return got
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}
