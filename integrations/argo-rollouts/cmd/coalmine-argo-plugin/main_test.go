package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/argoproj/argo-rollouts/metricproviders/plugin/rpc"
	"github.com/argoproj/argo-rollouts/pkg/apis/rollouts/v1alpha1"
	coalmine "github.com/coalmine-rs/coalmine/bindings/go"
	"github.com/coalmine-rs/coalmine/integrations/argo-rollouts/provider"
	hclog "github.com/hashicorp/go-hclog"
	goPlugin "github.com/hashicorp/go-plugin"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// The simulated service: two segments, three metrics, a daily cycle of 24 ticks.
const schemaTOML = `
[[metrics]]
name = "error_rate"
direction = "increase_is_bad"
kind = "ratio"
[[metrics]]
name = "latency_ms"
direction = "increase_is_bad"
[[metrics]]
name = "checkouts"
direction = "decrease_is_bad"
kind = "count"
[[segments]]
name = "free"
weight = 1.0
[[segments]]
name = "pro"
weight = 2.0
`

var metricNames = []string{"error_rate", "latency_ms", "checkouts"}

const (
	segments     = 2
	metrics      = 3
	historyTicks = 24 * 14
	maxTicks     = 120
	epoch        = 1.7e9 // the simulated rollout's first history tick, in Unix seconds
	step         = 60.0
	retention    = 10 // measurements the emulated controller keeps, as Argo's default
)

// measure is cohort's metrics at tick t: a pure function of its arguments, so a
// restarted plugin sees the same world. cohort 0 is the history, 1 the control,
// 2 the canary.
func measure(t int, cohort uint64, slowdown float64) []float64 {
	state := uint64(t)*0x9E3779B97F4A7C15 ^ cohort*0xD1B54A32D192ED03
	noise := func() float64 {
		sum := 0.0
		for i := 0; i < 4; i++ {
			state = state*6364136223846793005 + 1442695040888963407
			sum += float64(state>>11) / (1 << 53)
		}
		return sum - 2
	}
	day := math.Sin(2 * math.Pi * float64(t%24) / 24)
	v := make([]float64, segments*metrics)
	for s := 0; s < segments; s++ {
		load := 1 + 0.3*day + 0.1*float64(s)
		v[s*metrics] = math.Max(0, 0.01+0.002*noise())
		v[s*metrics+1] = slowdown * (120*load + 4*noise())
		v[s*metrics+2] = math.Max(0, 200*load+10*noise())
	}
	return v
}

// release is a simulated new version: slower by `slower` from live tick slowFrom.
type release struct {
	name     string
	slowFrom int
	slower   float64
}

func (r release) slowdown(k int) float64 {
	if r.slowFrom < 0 || k < r.slowFrom {
		return 1
	}
	return 1 + r.slower
}

// writeProfile learns the stable version's profile from the history and saves it.
func writeProfile(t *testing.T, path string) {
	schema, err := coalmine.ParseSchemaTOML([]byte(schemaTOML))
	if err != nil {
		t.Fatal(err)
	}
	defer schema.Close()
	b, err := coalmine.NewProfileBuilder(schema, []byte(`{"candidate_periods": [24]}`))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	for i := 0; i < historyTicks; i++ {
		if err := b.PushTick(measure(i, 0, 1)); err != nil {
			t.Fatal(err)
		}
	}
	profile, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	defer profile.Close()
	data, err := profile.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

// fakePrometheus answers /api/v1/query from the simulated rollout at the live tick
// the test sets, as Prometheus would: one series, stamped with the tick's time.
type fakePrometheus struct {
	mu      sync.Mutex
	live    int
	release release
	queries int
}

var selector = regexp.MustCompile(`^sim\{metric="([a-z_]+)",version="([a-z]+)",segment="([a-z]+)"\}$`)

func (f *fakePrometheus) set(live int, r release) {
	f.mu.Lock()
	f.live, f.release = live, r
	f.mu.Unlock()
}

func (f *fakePrometheus) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	live, rel := f.live, f.release
	f.queries++
	f.mu.Unlock()
	if r.URL.Path != "/api/v1/query" || r.ParseForm() != nil {
		http.NotFound(w, r)
		return
	}
	q := r.Form.Get("query")
	m := selector.FindStringSubmatch(q)
	if m == nil {
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprintf(w, `{"status":"error","errorType":"bad_data","error":%q}`, "1:1: parse error: unexpected "+q)
		return
	}
	metric, segment := -1, -1
	for i, n := range metricNames {
		if n == m[1] {
			metric = i
		}
	}
	segment = map[string]int{"free": 0, "pro": 1}[m[3]]
	t := historyTicks + live
	var values []float64
	switch m[2] {
	case "stable":
		values = measure(t, 1, 1)
	case "canary":
		values = measure(t, 2, rel.slowdown(live))
	default:
		fmt.Fprint(w, `{"status":"success","data":{"resultType":"vector","result":[]}}`)
		return
	}
	if metric < 0 {
		fmt.Fprint(w, `{"status":"success","data":{"resultType":"vector","result":[]}}`)
		return
	}
	v := values[segment*metrics+metric]
	fmt.Fprintf(w, `{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[%g,"%s"]}]}}`,
		epoch+float64(t)*step, fmt.Sprint(v))
}

// buildPlugin builds the plugin binary once per test binary.
var (
	buildOnce sync.Once
	binary    string
	buildErr  error
)

// TestMain removes the built binary when the tests end.
func TestMain(m *testing.M) {
	code := m.Run()
	if binary != "" {
		os.RemoveAll(filepath.Dir(binary))
	}
	os.Exit(code)
}

func buildPlugin(t *testing.T) string {
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "coalmine-argo-plugin-")
		if err != nil {
			buildErr = err
			return
		}
		binary = filepath.Join(dir, "coalmine-argo-plugin")
		goTool := filepath.Join(runtime.GOROOT(), "bin", "go")
		out, err := exec.Command(goTool, "build", "-o", binary, ".").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binary
}

// launch starts the plugin binary as the Argo Rollouts controller does
// (metricproviders/plugin/client): go-plugin's client with Argo's handshake and
// plugin map, a managed process, Dispense, InitPlugin.
func launch(t *testing.T) rpc.MetricProviderPlugin {
	client := goPlugin.NewClient(&goPlugin.ClientConfig{
		HandshakeConfig: goPlugin.HandshakeConfig{
			ProtocolVersion:  1,
			MagicCookieKey:   "ARGO_ROLLOUTS_RPC_PLUGIN",
			MagicCookieValue: "metricprovider",
		},
		Plugins: map[string]goPlugin.Plugin{
			"RpcMetricProviderPlugin": &rpc.RpcMetricProviderPlugin{},
		},
		Cmd:     exec.Command(buildPlugin(t)),
		Managed: true,
		Logger:  hclog.New(&hclog.LoggerOptions{Output: io.Discard}),
	})
	t.Cleanup(client.Kill)
	rpcClient, err := client.Client()
	if err != nil {
		t.Fatal(err)
	}
	raw, err := rpcClient.Dispense("RpcMetricProviderPlugin")
	if err != nil {
		t.Fatal(err)
	}
	p, ok := raw.(rpc.MetricProviderPlugin)
	if !ok {
		t.Fatalf("dispensed %T", raw)
	}
	if e := p.InitPlugin(); e.HasError() {
		t.Fatal(e)
	}
	if err := rpcClient.Ping(); err != nil {
		t.Fatal(err)
	}
	return p
}

func pluginConfig(promURL, profile string) json.RawMessage {
	queries := map[string]string{}
	for _, m := range metricNames {
		queries[m] = fmt.Sprintf(`sim{metric=%q,version="{cohort}",segment="{segment}"}`, m)
	}
	cfg, _ := json.Marshal(map[string]any{
		"prometheus": map[string]any{"url": promURL, "timeout": "5s"},
		"profile":    profile,
		"cohorts":    map[string]string{"control": "stable", "canary": "canary"},
		"queries":    queries,
		"analysis":   json.RawMessage(`{"traffic": {"steps": [0.05, 0.25, 0.5, 1.0], "min_dwell_ticks": 10, "min_evidence_ticks": 8}}`),
	})
	return cfg
}

func newRun(name string) *v1alpha1.AnalysisRun {
	return &v1alpha1.AnalysisRun{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: name, UID: types.UID("uid-" + name)}}
}

// record appends m to run's results for metric and trims them to the retention
// limit, as the controller does after each measurement and garbage collection.
func record(run *v1alpha1.AnalysisRun, metric string, m v1alpha1.Measurement) {
	if len(run.Status.MetricResults) == 0 {
		run.Status.MetricResults = []v1alpha1.MetricResult{{Name: metric}}
	}
	r := &run.Status.MetricResults[0]
	r.Measurements = append(r.Measurements, m)
	if n := len(r.Measurements); n > retention {
		r.Measurements = append([]v1alpha1.Measurement(nil), r.Measurements[n-retention:]...)
	}
}

// rollout takes measurements from live tick `from` until the verdict is reached
// or maxTicks, starting with run's recorded measurements.
func rollout(t *testing.T, p rpc.MetricProviderPlugin, prom *fakePrometheus, rel release, run *v1alpha1.AnalysisRun, metric v1alpha1.Metric, from int) []v1alpha1.Measurement {
	var out []v1alpha1.Measurement
	for k := from; k < maxTicks; k++ {
		prom.set(k, rel)
		m := p.Run(run, metric)
		if m.Phase == v1alpha1.AnalysisPhaseError {
			t.Fatalf("%s, tick %d: %s", rel.name, k, m.Message)
		}
		record(run, metric.Name, m)
		out = append(out, m)
		if m.Phase == v1alpha1.AnalysisPhaseFailed || m.Metadata[provider.KeyVerdict] == "promote" {
			break
		}
	}
	return out
}

// difference describes how two measurements differ, checkpoints abbreviated.
func difference(a, b v1alpha1.Measurement) string {
	short := func(s string) string {
		if len(s) > 60 {
			return s[:60] + "..."
		}
		return s
	}
	out := fmt.Sprintf("phase %s / %s, value %s / %s, message %q / %q", a.Phase, b.Phase, a.Value, b.Value, a.Message, b.Message)
	for k, v := range a.Metadata {
		if b.Metadata[k] != v {
			out += fmt.Sprintf("\n  %s: %q / %q", k, short(v), short(b.Metadata[k]))
		}
	}
	return out
}

// same compares two measurements but for their wall-clock times.
func same(a, b v1alpha1.Measurement) bool {
	a.StartedAt, a.FinishedAt, b.StartedAt, b.FinishedAt = nil, nil, nil, nil
	return reflect.DeepEqual(a, b)
}

func TestRolloutsThroughArgoClient(t *testing.T) {
	dir := t.TempDir()
	profile := filepath.Join(dir, "profile.json")
	writeProfile(t, profile)
	prom := &fakePrometheus{}
	srv := httptest.NewServer(prom)
	defer srv.Close()
	metric := v1alpha1.Metric{
		Name:     "coalmine",
		Provider: v1alpha1.MetricProvider{Plugin: map[string]json.RawMessage{provider.PluginName: pluginConfig(srv.URL, profile)}},
	}
	p := launch(t)
	if got := p.Type(); got != provider.PluginName {
		t.Fatalf("Type() = %q", got)
	}
	if md := p.GetMetadata(metric); md["profile"] != profile || md["query.latency_ms"] == "" || md["coalmineVersion"] != coalmine.Version() {
		t.Fatalf("GetMetadata: %v", md)
	}

	for _, c := range []struct {
		rel    release
		failed bool
	}{
		{release{"healthy", -1, 0}, false},
		{release{"40 % slower from tick 15", 15, 0.4}, true},
	} {
		t.Run(c.rel.name, func(t *testing.T) {
			run := newRun(strings.ReplaceAll(c.rel.name, " ", "-"))
			straight := rollout(t, p, prom, c.rel, run, metric, 0)
			last := straight[len(straight)-1]
			phases := map[v1alpha1.AnalysisPhase]int{}
			for _, m := range straight {
				phases[m.Phase]++
			}
			t.Logf("%d measurements, phases %v, last: %s %v", len(straight), phases, last.Phase, last.Message)
			if c.failed {
				if last.Phase != v1alpha1.AnalysisPhaseFailed || last.Metadata[provider.KeyAction] != "rollback" || last.Metadata[provider.KeyContributors] == "" {
					t.Fatalf("faulty release ends %s: %v", last.Phase, last.Metadata)
				}
				if !strings.Contains(last.Metadata[provider.KeyContributors], "latency_ms@") {
					t.Errorf("the slowdown is not named: %q", last.Metadata[provider.KeyContributors])
				}
			} else {
				if phases[v1alpha1.AnalysisPhaseFailed] > 0 {
					t.Fatalf("healthy release failed a measurement: %v", phases)
				}
				if last.Phase != v1alpha1.AnalysisPhaseSuccessful || last.Metadata[provider.KeyVerdict] != "promote" {
					t.Fatalf("healthy release ends %s, verdict %q", last.Phase, last.Metadata[provider.KeyVerdict])
				}
			}
			if n := len(last.Metadata[provider.KeyCheckpoint]); n == 0 {
				t.Fatal("no checkpoint in the metadata")
			} else {
				t.Logf("checkpoint in the metadata: %d bytes", n)
			}

			// A restarted plugin (a new process, nothing in memory) given the run's
			// status as the controller keeps it continues bit-identically.
			restarted := launch(t)
			for _, at := range []int{1, 12, len(straight) - 1} {
				if at < 1 || at >= len(straight) {
					continue
				}
				resumed := newRun(run.Name)
				for _, m := range straight[:at] {
					record(resumed, metric.Name, m)
				}
				rest := rollout(t, restarted, prom, c.rel, resumed, metric, at)
				if len(rest) != len(straight)-at {
					t.Fatalf("restart at %d: %d measurements, want %d", at, len(rest), len(straight)-at)
				}
				for i := range rest {
					if !same(rest[i], straight[at+i]) {
						t.Fatalf("restart at %d: measurement %d differs:\n%s", at, at+i, difference(rest[i], straight[at+i]))
					}
				}
			}

			// Resume and Terminate of a completed measurement give it back.
			if got := p.Resume(run, metric, last); !same(got, last) || got.Phase != last.Phase {
				t.Fatalf("Resume changed the measurement: %+v", got)
			}
			if got := p.Terminate(run, metric, last); !same(got, last) {
				t.Fatalf("Terminate changed a completed measurement: %+v", got)
			}
			if e := p.GarbageCollect(run, metric, retention); e.HasError() {
				t.Fatal(e)
			}
		})
	}
}

// A measurement that cannot be taken is an Error naming the cause, and leaves the
// state where it was.
func TestErrorsThroughArgoClient(t *testing.T) {
	dir := t.TempDir()
	profile := filepath.Join(dir, "profile.json")
	writeProfile(t, profile)
	prom := &fakePrometheus{}
	srv := httptest.NewServer(prom)
	defer srv.Close()
	p := launch(t)
	metricWith := func(cfg json.RawMessage) v1alpha1.Metric {
		return v1alpha1.Metric{Name: "coalmine", Provider: v1alpha1.MetricProvider{Plugin: map[string]json.RawMessage{provider.PluginName: cfg}}}
	}
	good := metricWith(pluginConfig(srv.URL, profile))
	healthy := release{"healthy", -1, 0}

	run := newRun("errors")
	prom.set(0, healthy)
	first := p.Run(run, good)
	if first.Phase != v1alpha1.AnalysisPhaseSuccessful {
		t.Fatalf("%s %s", first.Phase, first.Message)
	}
	record(run, good.Name, first)

	var cfg map[string]any
	_ = json.Unmarshal(pluginConfig(srv.URL, profile), &cfg)
	cfg["queries"].(map[string]any)["latency_ms"] = `sim{metric="latency_ms",version="{cohort}",segment="{segment}"} +`
	badQuery, _ := json.Marshal(cfg)
	down := httptest.NewServer(prom)
	down.Close()
	for _, c := range []struct {
		metric v1alpha1.Metric
		want   string
	}{
		{metricWith(json.RawMessage(`{"prometheus": {}}`)), "prometheus.url is required"},
		{metricWith(pluginConfig(srv.URL, filepath.Join(dir, "absent.json"))), "profile: stat"},
		{metricWith(badQuery), `failed to run via plugin: query "sim{metric=\"latency_ms\",version=\"stable\",segment=\"free\"} +": HTTP 400: bad_data: 1:1: parse error`},
		{metricWith(pluginConfig(down.URL, profile)), "connection refused"},
	} {
		prom.set(1, healthy)
		m := p.Run(run, c.metric)
		if m.Phase != v1alpha1.AnalysisPhaseError || !strings.Contains(m.Message, c.want) {
			t.Errorf("phase %s, message %q; want an Error containing %q", m.Phase, m.Message, c.want)
		}
		if m.Metadata[provider.KeyCheckpoint] != "" && m.Metadata[provider.KeyCheckpoint] != first.Metadata[provider.KeyCheckpoint] {
			t.Errorf("an Error measurement moved the state")
		}
		record(run, good.Name, m)
	}
	// The same tick again is refused (timestamps must increase): an Error, state kept.
	prom.set(0, healthy)
	if m := p.Run(run, good); m.Phase != v1alpha1.AnalysisPhaseError || !strings.Contains(m.Message, "observing the tick") {
		t.Errorf("a repeated tick: %s %q", m.Phase, m.Message)
	}
	// After the errors the analysis continues from the first measurement's state,
	// exactly as a fresh rollout's second measurement.
	prom.set(1, healthy)
	second := p.Run(run, good)
	fresh := newRun("fresh")
	prom.set(0, healthy)
	record(fresh, good.Name, p.Run(fresh, good))
	prom.set(1, healthy)
	if want := p.Run(fresh, good); !same(second, want) {
		t.Fatalf("after errors:\n%+v\nwant\n%+v", second, want)
	}
}

// A measurement the controller failed to record is taken again from the recorded
// state, not from the plugin's memory: the retry gives the same measurement.
// A metric Prometheus has no series for is missing data, not an error.
func TestRetryAndMissingThroughArgoClient(t *testing.T) {
	dir := t.TempDir()
	profile := filepath.Join(dir, "profile.json")
	writeProfile(t, profile)
	prom := &fakePrometheus{}
	srv := httptest.NewServer(prom)
	defer srv.Close()
	p := launch(t)
	metric := v1alpha1.Metric{Name: "coalmine", Provider: v1alpha1.MetricProvider{Plugin: map[string]json.RawMessage{provider.PluginName: pluginConfig(srv.URL, profile)}}}
	healthy := release{"healthy", -1, 0}

	run := newRun("retry")
	for k := 0; k < 5; k++ {
		prom.set(k, healthy)
		record(run, metric.Name, p.Run(run, metric))
	}
	prom.set(5, healthy)
	lost := p.Run(run, metric) // not recorded, as if the status update failed
	retried := p.Run(run, metric)
	if lost.Phase != v1alpha1.AnalysisPhaseSuccessful || !same(lost, retried) {
		t.Fatalf("retry:\n%s", difference(retried, lost))
	}

	var cfg map[string]any
	_ = json.Unmarshal(pluginConfig(srv.URL, profile), &cfg)
	cfg["queries"].(map[string]any)["checkouts"] = `sim{metric="checkouts_gone",version="{cohort}",segment="{segment}"}`
	absent, _ := json.Marshal(cfg)
	gone := v1alpha1.Metric{Name: "coalmine", Provider: v1alpha1.MetricProvider{Plugin: map[string]json.RawMessage{provider.PluginName: absent}}}
	missingRun := newRun("missing")
	for k := 0; k < 3; k++ {
		prom.set(k, healthy)
		m := p.Run(missingRun, gone)
		if m.Phase == v1alpha1.AnalysisPhaseError || m.Metadata[provider.KeyMissing] != "4" {
			t.Fatalf("tick %d: %s %q, missing %q", k, m.Phase, m.Message, m.Metadata[provider.KeyMissing])
		}
		record(missingRun, gone.Name, m)
	}
}
