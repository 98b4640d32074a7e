package e2e

import (
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"alpine-server/test/promtest"
)

// TestDebianNotifyAndPrometheus: examples/debian with PostgreSQL and redis
// under `ready: {notify: systemd}` (test/e2e/testdata/notify): both reach
// ready by their own READY=1, postgres has a liveness probe, and the
// container's GET /metrics is parsed by Prometheus's parser and scraped by
// Debian's Prometheus server on the host's loopback.
func TestDebianNotifyAndPrometheus(t *testing.T) {
	t.Parallel()
	s := loadSettings(t)
	tag := "alpine-server-e2e-notify:" + s.version
	buildImage(t, tag, repoPath(t, s, "test/e2e/testdata/notify"), "BASE="+debianImage(t, s))
	c := runContainer(t, tag, "-p", "127.0.0.1::9100")
	took := c.waitRunning(2*time.Minute, "redis", "postgres", "app")
	t.Logf("redis and postgres ready by READY=1, app after them: %s after docker run", took.Round(time.Millisecond))

	t.Run("ready by their own announcement", func(t *testing.T) {
		c := c.in(t)
		for _, n := range []string{"postgres", "redis"} {
			if _, err := c.exec("sh", "-c", "test -S /run/svinit-notify/"+n); err != nil {
				t.Errorf("no notify socket for %s: %v", n, err)
			}
			c.waitLog(regexp.MustCompile(`svinit +\| info: service `+n+` ready \(pid \d+, `), 10*time.Second)
		}
		if out, err := psql(c, "SELECT 1"); err != nil {
			t.Errorf("psql once postgres is ready: %v: %s", err, out)
		}
		// redis says STATUS= too ("Ready to accept connections").
		out := c.mustExec("sv", "status", "redis")
		if !regexp.MustCompile(`^run: redis: \(pid \d+\) \d+s, ready; \S`).MatchString(out) {
			t.Errorf("sv status redis = %q, want its STATUS= after the ready", out)
		}
		waitFor(t, "postgres healthy", time.Minute, func() bool {
			out, _ := c.exec("sv", "status", "postgres")
			return strings.Contains(out, ", ready, healthy")
		})
	})

	addr := c.publishedPort("9100/tcp")
	t.Run("metrics parse", func(t *testing.T) {
		body := scrape(t, addr)
		parser := expfmt.NewTextParser(model.LegacyValidation)
		fams, err := parser.TextToMetricFamilies(strings.NewReader(body))
		if err != nil {
			t.Fatalf("prometheus cannot parse GET /metrics: %v\n%s", err, body)
		}
		up := map[string]float64{}
		for _, m := range fams["svinit_service_up"].GetMetric() {
			up[m.GetLabel()[0].GetValue()] = m.GetGauge().GetValue()
		}
		for _, n := range []string{"postgres", "redis", "app"} {
			if up[n] != 1 {
				t.Errorf("svinit_service_up{service=%q} = %v; all: %v", n, up[n], up)
			}
		}
	})
	t.Run("scraped by prometheus", func(t *testing.T) {
		services := []string{"postgres", "redis", "app"}
		got := promtest.Scrape(t, promtest.Binary(t, s.repo), addr, "svinit_service_up", services)
		for _, n := range services {
			if got[n] != "1" {
				t.Errorf("prometheus: svinit_service_up{service=%q} = %q; all: %v", n, got[n], got)
			}
		}
	})
}

// scrape is the body of GET /metrics at addr.
func scrape(t *testing.T, addr string) string {
	t.Helper()
	var body []byte
	waitFor(t, "GET /metrics on "+addr, 30*time.Second, func() bool {
		resp, err := http.Get("http://" + addr + "/metrics")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		body, err = io.ReadAll(resp.Body)
		return err == nil && resp.StatusCode == 200 &&
			strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain; version=0.0.4")
	})
	return string(body)
}
