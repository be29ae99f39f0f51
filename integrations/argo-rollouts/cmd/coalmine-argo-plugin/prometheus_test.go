package main

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/argoproj/argo-rollouts/pkg/apis/rollouts/v1alpha1"
	"github.com/coalmine-rs/coalmine/integrations/argo-rollouts/provider"
)

// exporter serves the simulated rollout's current tick as Prometheus metrics, for a
// real Prometheus to scrape.
type exporter struct {
	mu   sync.Mutex
	live int
	rel  release
}

func (e *exporter) set(live int, r release) {
	e.mu.Lock()
	e.live, e.rel = live, r
	e.mu.Unlock()
}

func (e *exporter) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	e.mu.Lock()
	live, rel := e.live, e.rel
	e.mu.Unlock()
	t := historyTicks + live
	fmt.Fprintf(w, "# TYPE sim gauge\n")
	for _, cohort := range []struct {
		label string
		v     []float64
	}{{"stable", measure(t, 1, 1)}, {"canary", measure(t, 2, rel.slowdown(live))}} {
		for s, seg := range []string{"free", "pro"} {
			for m, name := range metricNames {
				fmt.Fprintf(w, "sim{metric=%q,version=%q,segment=%q} %s\n", name, cohort.label, seg, strconv.FormatFloat(cohort.v[s*metrics+m], 'g', -1, 64))
			}
		}
	}
	fmt.Fprintf(w, "# TYPE sim_tick gauge\nsim_tick %d\n", live)
}

func freePort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// startPrometheus runs a real Prometheus on 127.0.0.1 scraping target every 500 ms,
// with its data in a temporary folder; it is stopped when the test ends.
func startPrometheus(t *testing.T, bin, target string) string {
	dir := t.TempDir()
	config := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(config, []byte(fmt.Sprintf(`global:
  scrape_interval: 500ms
  evaluation_interval: 500ms
scrape_configs:
  - job_name: sim
    static_configs:
      - targets: [%q]
`, target)), 0o600); err != nil {
		t.Fatal(err)
	}
	addr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	cmd := exec.Command(bin, "--config.file="+config, "--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+addr, "--log.level=warn")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	url := "http://" + addr
	for deadline := time.Now().Add(30 * time.Second); ; {
		if resp, err := http.Get(url + "/-/ready"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return url
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("Prometheus did not become ready")
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// waitForTick waits until Prometheus has scraped the exporter at live tick k.
func waitForTick(t *testing.T, url string, k int) {
	for deadline := time.Now().Add(20 * time.Second); ; {
		resp, err := http.Get(url + "/api/v1/query?query=sim_tick")
		if err == nil {
			var body struct {
				Data struct {
					Result []struct {
						Value []any `json:"value"`
					} `json:"result"`
				} `json:"data"`
			}
			_ = json.NewDecoder(resp.Body).Decode(&body)
			resp.Body.Close()
			if len(body.Data.Result) == 1 && len(body.Data.Result[0].Value) == 2 && body.Data.Result[0].Value[1] == strconv.Itoa(k) {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("Prometheus did not scrape tick %d", k)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// The same rollouts against a real Prometheus (the `prometheus` binary on PATH)
// scraping the simulated service: the plugin's queries, its HTTP client and the
// response parsing meet the real API. Skipped when Prometheus is not installed.
func TestRolloutsWithRealPrometheus(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	bin, err := exec.LookPath("prometheus")
	if err != nil {
		t.Skip("prometheus is not installed; the Prometheus stand-in tests cover the plugin without it")
	}
	exp := &exporter{}
	target := httptest.NewServer(exp)
	defer target.Close()
	url := startPrometheus(t, bin, strings.TrimPrefix(target.URL, "http://"))

	dir := t.TempDir()
	profile := filepath.Join(dir, "profile.json")
	writeProfile(t, profile)
	metric := v1alpha1.Metric{
		Name:     "coalmine",
		Provider: v1alpha1.MetricProvider{Plugin: map[string]json.RawMessage{provider.PluginName: pluginConfig(url, profile)}},
	}
	p := launch(t)
	for _, c := range []struct {
		rel    release
		failed bool
	}{
		{release{"healthy", -1, 0}, false},
		{release{"40 % slower from tick 15", 15, 0.4}, true},
	} {
		run := newRun("real-" + strings.ReplaceAll(c.rel.name, " ", "-"))
		var last v1alpha1.Measurement
		for k := 0; k < maxTicks; k++ {
			exp.set(k, c.rel)
			waitForTick(t, url, k)
			last = p.Run(run, metric)
			if last.Phase == v1alpha1.AnalysisPhaseError {
				t.Fatalf("%s, tick %d: %s", c.rel.name, k, last.Message)
			}
			if last.Metadata[provider.KeyMissing] != "0" {
				t.Fatalf("%s, tick %d: %s values missing", c.rel.name, k, last.Metadata[provider.KeyMissing])
			}
			if !c.failed && last.Phase == v1alpha1.AnalysisPhaseFailed {
				t.Fatalf("healthy release failed at tick %d: %s", k, last.Message)
			}
			record(run, metric.Name, last)
			if last.Phase == v1alpha1.AnalysisPhaseFailed || last.Metadata[provider.KeyVerdict] == "promote" {
				break
			}
		}
		t.Logf("%s: %s after %s ticks: %s", c.rel.name, last.Phase, last.Metadata[provider.KeyTick], last.Message)
		if c.failed && last.Phase != v1alpha1.AnalysisPhaseFailed {
			t.Fatalf("faulty release ends %s", last.Phase)
		}
		if !c.failed && (last.Phase != v1alpha1.AnalysisPhaseSuccessful || last.Metadata[provider.KeyVerdict] != "promote") {
			t.Fatalf("healthy release ends %s, verdict %q", last.Phase, last.Metadata[provider.KeyVerdict])
		}
	}

	// A query Prometheus cannot parse is an Error naming it.
	var cfg map[string]any
	_ = json.Unmarshal(pluginConfig(url, profile), &cfg)
	cfg["queries"].(map[string]any)["latency_ms"] = `sum(sim{metric="latency_ms",version="{cohort}",segment="{segment}"}`
	bad, _ := json.Marshal(cfg)
	badMetric := v1alpha1.Metric{Name: "coalmine", Provider: v1alpha1.MetricProvider{Plugin: map[string]json.RawMessage{provider.PluginName: bad}}}
	if m := p.Run(newRun("real-bad"), badMetric); m.Phase != v1alpha1.AnalysisPhaseError || !strings.Contains(m.Message, `query "sum(sim{metric=\"latency_ms\"`) || !strings.Contains(m.Message, "bad_data") {
		t.Fatalf("syntax error: %s %q", m.Phase, m.Message)
	}
}
