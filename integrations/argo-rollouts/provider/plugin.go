// Package provider is coalmine's Argo Rollouts metric provider: each measurement
// reads one tick of both cohorts from Prometheus, feeds it to a coalmine Analysis
// and turns the decision into the measurement's phase. The analysis's state travels
// in the measurement's metadata, so a restarted controller or plugin continues
// exactly where the last measurement left off.
package provider

import (
	"context"
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/argoproj/argo-rollouts/metricproviders/plugin/rpc"
	"github.com/argoproj/argo-rollouts/pkg/apis/rollouts/v1alpha1"
	"github.com/argoproj/argo-rollouts/utils/plugin/types"
	coalmine "github.com/coalmine-rs/coalmine/bindings/go"
	goPlugin "github.com/hashicorp/go-plugin"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// The measurement metadata keys.
const (
	KeyAction       = "action"
	KeyReason       = "reason"
	KeyRisk         = "risk"
	KeyPredicted    = "predictedRisk"
	KeyCanaryShare  = "canaryShare"
	KeyVerdict      = "verdict"
	KeyVerdictText  = "verdictExplanation"
	KeyTick         = "tick"
	KeyTimestamp    = "timestamp"
	KeyMissing      = "missing"
	KeyContributors = "contributors"
	KeyAlert        = "alert"
	KeyCheckpoint   = "checkpoint"
)

// maxLive bounds the analyses kept in memory between measurements; an evicted one
// is restored from its checkpoint at its next measurement.
const maxLive = 256

// topContributors is how many contributors a measurement's metadata names.
const topContributors = 3

var _ rpc.MetricProviderPlugin = (*Plugin)(nil)

// Plugin implements Argo Rollouts' MetricProviderPlugin.
type Plugin struct {
	// Now is the clock used for the measurements' start and finish times and the
	// Prometheus evaluation time; time.Now when nil.
	Now func() time.Time

	mu       sync.Mutex
	live     map[string]*liveAnalysis
	order    []string
	profiles map[string]*loadedProfile
}

type liveAnalysis struct {
	analysis *coalmine.Analysis
	digest   [32]byte // of the encoded checkpoint it is in the state of
}

type loadedProfile struct {
	modTime time.Time
	size    int64
	profile *coalmine.Profile
	names   SchemaNames
}

func (p *Plugin) now() time.Time {
	if p.Now != nil {
		return p.Now()
	}
	return time.Now()
}

// InitPlugin prepares the plugin; it checks that the coalmine library answers.
func (p *Plugin) InitPlugin() types.RpcError {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.live = make(map[string]*liveAnalysis)
	p.profiles = make(map[string]*loadedProfile)
	if coalmine.Version() == "" {
		return types.RpcError{ErrorString: "coalmine library reports no version"}
	}
	return types.RpcError{}
}

// Type is the plugin's name.
func (p *Plugin) Type() string { return PluginName }

// GetMetadata gives what the metric result should record: the library version, the
// profile, the server and each metric's query template.
func (p *Plugin) GetMetadata(metric v1alpha1.Metric) map[string]string {
	md := map[string]string{"coalmineVersion": coalmine.Version()}
	cfg, err := ParseConfig(metric.Provider.Plugin[PluginName])
	if err != nil {
		md["error"] = err.Error()
		return md
	}
	md["profile"] = cfg.Profile
	md["prometheus"] = cfg.Prometheus.URL
	md["cohorts"] = cfg.Cohorts.Control + "," + cfg.Cohorts.Canary
	for m, q := range cfg.Queries {
		md["query."+m] = q
	}
	return md
}

// Run takes one measurement: the tick now, the decision on it, the state after it.
func (p *Plugin) Run(run *v1alpha1.AnalysisRun, metric v1alpha1.Metric) v1alpha1.Measurement {
	started := metav1.NewTime(p.now())
	m := v1alpha1.Measurement{StartedAt: &started}
	if run == nil {
		return p.fail(m, fmt.Errorf("analysisRun is nil"))
	}
	cfg, err := ParseConfig(metric.Provider.Plugin[PluginName])
	if err != nil {
		return p.fail(m, err)
	}
	prof, err := p.profile(cfg.Profile)
	if err != nil {
		return p.fail(m, err)
	}
	if err := cfg.CheckSchema(prof.names); err != nil {
		return p.fail(m, fmt.Errorf("configuration of %s against the profile %s: %w", PluginName, cfg.Profile, err))
	}
	key := liveKey(run, metric.Name)
	prev := LastCheckpoint(run, metric.Name)
	analysis, err := p.take(key, prev, prof.profile, cfg.Analysis)
	if err != nil {
		return p.fail(m, err)
	}
	// The analysis goes back into the cache in the state it ends in.
	state := prev
	defer func() { p.put(key, analysis, state) }()

	// Whatever fails from here leaves the state as it was: the measurement carries
	// the previous checkpoint, so the next one continues from there.
	failKeep := func(err error) v1alpha1.Measurement {
		m = p.fail(m, err)
		if prev != "" {
			m.Metadata = map[string]string{KeyCheckpoint: prev}
		}
		return m
	}
	ts, control, canary, missing, err := p.fetch(cfg, prof.names)
	if err != nil {
		return failKeep(err)
	}
	d, err := analysis.Observe(ts, control, canary)
	if err != nil {
		return failKeep(fmt.Errorf("observing the tick at %s: %w", formatFloat(ts), err))
	}
	verdict, err := analysis.Verdict()
	if err != nil {
		return failKeep(err)
	}
	checkpoint, err := analysis.Checkpoint()
	if err != nil {
		return failKeep(err)
	}
	encoded, err := EncodeCheckpoint(checkpoint)
	if err != nil {
		return failKeep(err)
	}
	state = encoded
	summary, _ := analysis.Summary()
	contributors, _ := analysis.Contributors()

	m.Phase = PhaseFor(d, verdict.Verdict)
	m.Value = formatFloat(d.Risk)
	m.Message = summary
	m.Metadata = map[string]string{
		KeyAction:       d.Action.String(),
		KeyReason:       d.Reason.String(),
		KeyRisk:         formatFloat(d.Risk),
		KeyPredicted:    formatFloat(d.PredictedRisk),
		KeyCanaryShare:  formatFloat(d.CanaryShare),
		KeyVerdict:      verdict.Verdict.String(),
		KeyVerdictText:  verdict.Explanation,
		KeyTick:         strconv.FormatUint(d.Tick, 10),
		KeyTimestamp:    formatFloat(ts),
		KeyMissing:      strconv.Itoa(missing),
		KeyContributors: describe(contributors, prof.names),
		KeyCheckpoint:   encoded,
	}
	if d.Alert != coalmine.AlertNone {
		m.Metadata[KeyAlert] = d.Alert.String()
	}
	finished := metav1.NewTime(p.now())
	m.FinishedAt = &finished
	return m
}

// Resume returns the measurement: Run completes every measurement it starts, so
// there is never one to wait for.
func (p *Plugin) Resume(run *v1alpha1.AnalysisRun, metric v1alpha1.Metric, m v1alpha1.Measurement) v1alpha1.Measurement {
	return m
}

// Terminate ends a measurement: none is ever in progress, so a completed one is
// returned as it is and an incomplete one is marked Successful (Argo then records
// "Metric Terminated"). The run's analysis is dropped from memory; its state stays
// in the measurements.
func (p *Plugin) Terminate(run *v1alpha1.AnalysisRun, metric v1alpha1.Metric, m v1alpha1.Measurement) v1alpha1.Measurement {
	if run != nil {
		p.drop(liveKey(run, metric.Name))
	}
	if !m.Phase.Completed() {
		m.Phase = v1alpha1.AnalysisPhaseSuccessful
		finished := metav1.NewTime(p.now())
		m.FinishedAt = &finished
	}
	return m
}

// GarbageCollect has nothing to delete: the plugin creates no external resources,
// and the controller itself trims the measurements to the limit (the newest, which
// carries the state, is always kept).
func (p *Plugin) GarbageCollect(run *v1alpha1.AnalysisRun, metric v1alpha1.Metric, limit int) types.RpcError {
	return types.RpcError{}
}

func (p *Plugin) fail(m v1alpha1.Measurement, err error) v1alpha1.Measurement {
	m.Phase = v1alpha1.AnalysisPhaseError
	m.Message = err.Error()
	finished := metav1.NewTime(p.now())
	m.FinishedAt = &finished
	return m
}

// fetch reads one tick of both cohorts. The tick's timestamp is the evaluation
// time Prometheus reports with the samples (the newest, should they differ), or the
// time asked for when every query came back empty.
func (p *Plugin) fetch(cfg *Config, names SchemaNames) (ts float64, control, canary []float64, missing int, err error) {
	prom, err := NewPrometheus(cfg.Prometheus)
	if err != nil {
		return 0, nil, nil, 0, err
	}
	at := p.now()
	nm := len(names.Metrics)
	tickLen := len(names.Segments) * nm
	control = make([]float64, tickLen)
	canary = make([]float64, tickLen)
	for _, cohort := range []struct {
		label string
		dst   []float64
	}{{cfg.Cohorts.Control, control}, {cfg.Cohorts.Canary, canary}} {
		for s, seg := range names.Segments {
			for mi, metric := range names.Metrics {
				q := cfg.Query(metric, cohort.label, seg)
				sample, err := prom.Query(context.Background(), q, at)
				if err != nil {
					return 0, nil, nil, 0, err
				}
				cohort.dst[s*nm+mi] = sample.Value
				if math.IsNaN(sample.Value) {
					missing++
				}
				ts = math.Max(ts, sample.Timestamp)
			}
		}
	}
	if ts == 0 {
		ts = float64(at.UnixMilli()) / 1000
	}
	return ts, control, canary, missing, nil
}

// profile loads the profile at path, again only when the file changed.
func (p *Plugin) profile(path string) (*loadedProfile, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("profile: %w", err)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.profiles == nil {
		p.profiles = make(map[string]*loadedProfile)
	}
	if lp, ok := p.profiles[path]; ok && lp.modTime.Equal(st.ModTime()) && lp.size == st.Size() {
		return lp, nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("profile: %w", err)
	}
	prof, err := coalmine.LoadProfile(data)
	if err != nil {
		return nil, fmt.Errorf("profile %s: %w", path, err)
	}
	schema, err := prof.Schema()
	if err != nil {
		prof.Close()
		return nil, fmt.Errorf("profile %s: %w", path, err)
	}
	defer schema.Close()
	var names SchemaNames
	for i := 0; i < schema.NumMetrics(); i++ {
		n, err := schema.MetricName(i)
		if err != nil {
			prof.Close()
			return nil, err
		}
		names.Metrics = append(names.Metrics, n)
	}
	for i := 0; i < schema.NumSegments(); i++ {
		n, err := schema.SegmentName(i)
		if err != nil {
			prof.Close()
			return nil, err
		}
		names.Segments = append(names.Segments, n)
	}
	if old, ok := p.profiles[path]; ok {
		old.profile.Close()
	}
	lp := &loadedProfile{modTime: st.ModTime(), size: st.Size(), profile: prof, names: names}
	p.profiles[path] = lp
	return lp, nil
}

// take hands out the analysis in the state of the encoded checkpoint prev: the one
// kept in memory when it is in that state, else one restored from prev, else (no
// checkpoint yet) a new one.
func (p *Plugin) take(key, prev string, prof *coalmine.Profile, config []byte) (*coalmine.Analysis, error) {
	p.mu.Lock()
	la, ok := p.live[key]
	if ok {
		delete(p.live, key)
	}
	p.mu.Unlock()
	if ok {
		if prev != "" && la.digest == digest(prev) {
			return la.analysis, nil
		}
		la.analysis.Close()
	}
	if prev == "" {
		a, err := coalmine.NewAnalysis(prof, config)
		if err != nil {
			return nil, fmt.Errorf("analysis configuration: %w", err)
		}
		return a, nil
	}
	raw, err := DecodeCheckpoint(prev)
	if err != nil {
		return nil, fmt.Errorf("the last measurement's %w", err)
	}
	a, err := coalmine.RestoreAnalysis(raw)
	if err != nil {
		return nil, fmt.Errorf("restoring the analysis from the last measurement: %w", err)
	}
	return a, nil
}

// put keeps a in memory as being in the state of the encoded checkpoint state.
func (p *Plugin) put(key string, a *coalmine.Analysis, state string) {
	if state == "" {
		a.Close()
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.live == nil {
		p.live = make(map[string]*liveAnalysis)
	}
	if old, ok := p.live[key]; ok {
		old.analysis.Close()
	} else {
		p.order = append(p.order, key)
	}
	p.live[key] = &liveAnalysis{analysis: a, digest: digest(state)}
	for len(p.live) > maxLive && len(p.order) > 0 {
		oldest := p.order[0]
		p.order = p.order[1:]
		if la, ok := p.live[oldest]; ok {
			la.analysis.Close()
			delete(p.live, oldest)
		}
	}
	if len(p.order) > 4*maxLive {
		kept := p.order[:0]
		for _, k := range p.order {
			if _, ok := p.live[k]; ok {
				kept = append(kept, k)
			}
		}
		p.order = kept
	}
}

func (p *Plugin) drop(key string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if la, ok := p.live[key]; ok {
		la.analysis.Close()
		delete(p.live, key)
	}
}

func liveKey(run *v1alpha1.AnalysisRun, metric string) string {
	id := string(run.UID)
	if id == "" {
		id = run.Namespace + "/" + run.Name
	}
	return id + "\x00" + metric
}

// describe names the strongest contributors: "latency_ms@pro metric +4.21sd; ...".
func describe(cs []Contributor, names SchemaNames) string {
	parts := make([]string, 0, topContributors)
	for i, c := range cs {
		if i == topContributors {
			break
		}
		metric, segment := "?", "?"
		if c.Metric >= 0 && c.Metric < len(names.Metrics) {
			metric = names.Metrics[c.Metric]
		}
		if c.Segment >= 0 && c.Segment < len(names.Segments) {
			segment = names.Segments[c.Segment]
		}
		parts = append(parts, fmt.Sprintf("%s@%s %s %+.2fsd", metric, segment, c.Source, c.Deviation))
	}
	return strings.Join(parts, "; ")
}

// Contributor is the Go package's contributor.
type Contributor = coalmine.Contributor

// formatFloat prints a float so that parsing it gives the same bits back.
func formatFloat(x float64) string { return strconv.FormatFloat(x, 'g', -1, 64) }

// Handshake is the go-plugin handshake of Argo Rollouts' metric-provider plugins
// (the values the controller's metricproviders/plugin/client package uses, which it
// does not export).
var Handshake = goPlugin.HandshakeConfig{
	ProtocolVersion:  1,
	MagicCookieKey:   "ARGO_ROLLOUTS_RPC_PLUGIN",
	MagicCookieValue: "metricprovider",
}

// PluginMapKey is the name the controller dispenses the plugin by.
const PluginMapKey = "RpcMetricProviderPlugin"
