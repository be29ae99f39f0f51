package coalmine_test

import (
	"errors"
	"math"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"

	coalmine "github.com/coalmine-rs/coalmine/bindings/go"
)

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

const (
	segments     = 2
	metrics      = 3
	tickLen      = segments * metrics
	historyTicks = 24 * 14
)

var (
	profileConfig  = []byte(`{"candidate_periods": [24]}`)
	analysisConfig = []byte(`{"traffic": {"steps": [0.05, 0.25, 0.5, 1.0], "min_dwell_ticks": 10, "min_evidence_ticks": 8}}`)
)

// service is a small deterministic service: a daily cycle of 24 ticks with noise.
type service struct{ state uint64 }

func newService(seed uint64) *service {
	return &service{state: seed*6364136223846793005 + 1442695040888963407}
}

func (s *service) uniform() float64 {
	s.state = s.state*6364136223846793005 + 1442695040888963407
	return float64(s.state>>11) / (1 << 53)
}

func (s *service) noise() float64 {
	return s.uniform() + s.uniform() + s.uniform() + s.uniform() - 2
}

func (s *service) tick(t int, latencyFactor float64, out []float64) {
	day := math.Sin(2 * math.Pi * float64(t%24) / 24)
	for seg := 0; seg < segments; seg++ {
		load := 1 + 0.3*day + 0.1*float64(seg)
		out[seg*metrics] = math.Max(0, 0.01+0.002*s.noise())
		out[seg*metrics+1] = latencyFactor * (120*load + 4*s.noise())
		out[seg*metrics+2] = math.Max(0, 200*load+10*s.noise())
	}
}

type tick struct {
	ts              float64
	control, canary []float64
}

func liveTicks(n, faultAt int) []tick {
	s := newService(11)
	ticks := make([]tick, n)
	for k := range ticks {
		t := historyTicks + k
		ticks[k] = tick{ts: float64(t) * 3600, control: make([]float64, tickLen), canary: make([]float64, tickLen)}
		s.tick(t, 1, ticks[k].control)
		factor := 1.0
		if k >= faultAt {
			factor = 1.4
		}
		s.tick(t, factor, ticks[k].canary)
	}
	return ticks
}

// must unwraps a result in a test; the panic of a failure carries the error and
// the caller's line.
func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func learn(t testing.TB) *coalmine.Profile {
	t.Helper()
	schema := must(coalmine.ParseSchemaTOML([]byte(schemaTOML)))
	defer schema.Close()
	b := must(coalmine.NewProfileBuilder(schema, profileConfig))
	defer b.Close()
	s := newService(7)
	rows := make([]float64, historyTicks*tickLen)
	for i := 0; i < historyTicks; i++ {
		s.tick(i, 1, rows[i*tickLen:(i+1)*tickLen])
	}
	if n, err := b.PushTicks(rows, tickLen); err != nil || n != historyTicks {
		t.Fatalf("pushed %d: %v", n, err)
	}
	return must(b.Build())
}

var versionField = regexp.MustCompile(`"version":[0-9]+`)

// bumpVersion replaces a document's format version by one no build writes.
func bumpVersion(doc []byte) []byte {
	done := false
	return versionField.ReplaceAllFunc(doc, func(m []byte) []byte {
		if done {
			return m
		}
		done = true
		return []byte(`"version":999`)
	})
}

func TestVersion(t *testing.T) {
	if v := coalmine.Version(); strings.Count(v, ".") != 2 {
		t.Fatalf("version %q", v)
	}
}

func TestSchema(t *testing.T) {
	s := must(coalmine.ParseSchemaTOML([]byte(schemaTOML)))
	defer s.Close()
	j := must(coalmine.ParseSchemaJSON([]byte(`{"metrics": [{"name": "a"}, {"name": "b"}], "segments": [{"name": "s"}]}`)))
	defer j.Close()
	if s.TickLen() != tickLen || s.NumMetrics() != metrics || s.NumSegments() != segments || j.TickLen() != 2 {
		t.Fatal("sizes")
	}
	if name := must(s.MetricName(1)); name != "latency_ms" {
		t.Fatal(name)
	}
	if name := must(s.SegmentName(1)); name != "pro" {
		t.Fatal(name)
	}
	if i := must(s.MetricIndex("checkouts")); i != 2 {
		t.Fatal(i)
	}
	if _, err := s.MetricIndex("nope"); !errors.Is(err, coalmine.ErrUnknownName) {
		t.Fatal(err)
	}
	if _, err := s.MetricName(7); !errors.Is(err, coalmine.ErrIndexOutOfRange) {
		t.Fatal(err)
	}
}

func TestRollout(t *testing.T) {
	profile := learn(t)
	defer profile.Close()

	run := func(ticks []tick, restartAt int) []coalmine.Decision {
		a := must(coalmine.NewAnalysis(profile, analysisConfig))
		defer func() { a.Close() }()
		var out []coalmine.Decision
		for k, tk := range ticks {
			if k == restartAt {
				saved := must(a.Checkpoint())
				a.Close()
				a = must(coalmine.RestoreAnalysis(saved))
			}
			d := must(a.Observe(tk.ts, tk.control, tk.canary))
			out = append(out, d)
			if d.Phase == coalmine.PhasePromoted || d.Phase == coalmine.PhaseRolledBack {
				break
			}
		}
		return out
	}

	healthy := run(liveTicks(120, 1000), -1)
	if last := healthy[len(healthy)-1]; last.Phase != coalmine.PhasePromoted || last.CanaryShare != 1 {
		t.Fatalf("healthy release not promoted: %+v", last)
	}
	ticks := liveTicks(120, 15)
	faulty := run(ticks, -1)
	last := faulty[len(faulty)-1]
	if last.Action != coalmine.Rollback || last.Alert == coalmine.AlertNone || len(faulty) > 30 {
		t.Fatalf("faulty release: %d ticks, last %+v", len(faulty), last)
	}
	restarted := run(ticks, 8)
	if len(restarted) != len(faulty) {
		t.Fatalf("restart changed the rollout: %d vs %d ticks", len(restarted), len(faulty))
	}
	for k := range faulty {
		if restarted[k] != faulty[k] {
			t.Fatalf("tick %d differs after a restart:\n%+v\n%+v", k, restarted[k], faulty[k])
		}
	}

	// The same ticks in batches of 8.
	a := must(coalmine.NewAnalysis(profile, analysisConfig))
	defer a.Close()
	var batched []coalmine.Decision
	for lo := 0; lo < len(faulty); lo += 8 {
		hi := min(lo+8, len(faulty))
		var ts, control, canary []float64
		for _, tk := range ticks[lo:hi] {
			ts = append(ts, tk.ts)
			control = append(control, tk.control...)
			canary = append(canary, tk.canary...)
		}
		batched = must(a.ObserveMany(batched, ts, control, canary))
	}
	for k := range faulty {
		if batched[k] != faulty[k] {
			t.Fatalf("tick %d differs in a batch", k)
		}
	}
	if v := must(a.Verdict()); v.Verdict != coalmine.VerdictRollback || v.Reason != coalmine.VerdictRolledBack ||
		v.Because != last.Reason || v.DecidedAt != uint64(len(faulty)) || !strings.HasPrefix(v.Explanation, "rollback") {
		t.Fatalf("%+v", v)
	}
	cs := must(a.Contributors())
	if len(cs) != last.NumContributors || len(cs) == 0 || cs[0].Metric != 1 || cs[0].Deviation <= 0 {
		t.Fatalf("contributors %+v", cs)
	}
	if s := must(a.Summary()); !strings.Contains(s, "latency_ms") {
		t.Fatal(s)
	}
	if t1, t2, err := a.Thresholds(); err != nil || !(t1 > 0 && t1 < t2) {
		t.Fatal(t1, t2, err)
	}
	if a.Ticks() != uint64(len(faulty)) || a.PeakRisk() < last.Risk {
		t.Fatal(a.Ticks(), a.PeakRisk())
	}
}

func TestProfileBytes(t *testing.T) {
	profile := learn(t)
	defer profile.Close()
	data := must(profile.Bytes())
	again := must(coalmine.LoadProfile(data))
	defer again.Close()
	s := must(again.Schema())
	defer s.Close()
	if s.TickLen() != tickLen {
		t.Fatal(s.TickLen())
	}
	if _, err := coalmine.LoadProfile(data[:len(data)/2]); !errors.Is(err, coalmine.ErrCorruptProfile) {
		t.Fatal(err)
	}
	if _, err := coalmine.LoadProfile(bumpVersion(data)); !errors.Is(err, coalmine.ErrProfileVersion) {
		t.Fatal(err)
	}
	if _, err := coalmine.LoadProfile(nil); !errors.Is(err, coalmine.ErrCorruptProfile) {
		t.Fatal(err)
	}
}

func TestBadInput(t *testing.T) {
	profile := learn(t)
	defer profile.Close()
	a := must(coalmine.NewAnalysis(profile, analysisConfig))
	defer a.Close()
	ticks := liveTicks(4, 1000)
	must(a.Observe(ticks[0].ts, ticks[0].control, ticks[0].canary))

	bad := func(v float64) []float64 {
		c := append([]float64(nil), ticks[1].canary...)
		c[2] = v
		return c
	}
	cases := []struct {
		name            string
		ts              float64
		control, canary []float64
		want            error
	}{
		{"duplicate timestamp", ticks[0].ts, ticks[1].control, ticks[1].canary, coalmine.ErrTimestamp},
		{"earlier timestamp", ticks[0].ts - 1, ticks[1].control, ticks[1].canary, coalmine.ErrTimestamp},
		{"NaN timestamp", math.NaN(), ticks[1].control, ticks[1].canary, coalmine.ErrNonFinite},
		{"infinite value", ticks[1].ts, ticks[1].control, bad(math.Inf(1)), coalmine.ErrNonFinite},
		{"huge value", ticks[1].ts, ticks[1].control, bad(1e200), coalmine.ErrOutOfRange},
		{"negative count", ticks[1].ts, ticks[1].control, bad(-1), coalmine.ErrInvalidValue},
		{"short control", ticks[1].ts, ticks[1].control[:5], ticks[1].canary, coalmine.ErrLengthMismatch},
		{"long canary", ticks[1].ts, ticks[1].control, append(bad(1), 1), coalmine.ErrLengthMismatch},
		{"no canary", ticks[1].ts, ticks[1].control, nil, coalmine.ErrLengthMismatch},
	}
	for _, c := range cases {
		_, err := a.Observe(c.ts, c.control, c.canary)
		var e *coalmine.Error
		if !errors.Is(err, c.want) || !errors.As(err, &e) || e.Message == "" || e.Op != "Analysis.Observe" {
			t.Errorf("%s: got %v, want %v", c.name, err, c.want)
		}
		if a.Ticks() != 1 {
			t.Fatalf("%s changed the analysis", c.name)
		}
	}
	// NaN is a missing value, not an error.
	d := must(a.Observe(ticks[1].ts, ticks[1].control, bad(math.NaN())))
	if d.Evidence.Missing != 1 {
		t.Fatal(d.Evidence)
	}
	// A bad tick inside a batch: nothing applied, the index named, dst unchanged.
	ts := []float64{ticks[2].ts, ticks[3].ts}
	control := append(append([]float64(nil), ticks[2].control...), ticks[3].control...)
	canary := append(append([]float64(nil), ticks[2].canary...), ticks[3].canary...)
	canary[tickLen+1] = math.Inf(-1)
	dst := []coalmine.Decision{{Tick: 99}}
	got, err := a.ObserveMany(dst, ts, control, canary)
	if !errors.Is(err, coalmine.ErrNonFinite) || !strings.Contains(err.Error(), "tick 1 of the batch") || len(got) != 1 || a.Ticks() != 2 {
		t.Fatalf("%v %d %d", err, len(got), a.Ticks())
	}
	if _, err := a.ObserveMany(nil, ts, control[:7], canary); !errors.Is(err, coalmine.ErrLengthMismatch) {
		t.Fatal(err)
	}
	canary[tickLen+1] = 100
	got = must(a.ObserveMany(dst, ts, control, canary))
	if len(got) != 3 || got[2].Tick != 4 {
		t.Fatal(got)
	}

	// Corrupt and foreign checkpoints.
	saved := must(a.Checkpoint())
	for _, c := range []struct {
		data []byte
		want error
	}{
		{saved[:len(saved)-2], coalmine.ErrCorruptCheckpoint},
		{[]byte("{}"), coalmine.ErrCorruptCheckpoint},
		{[]byte{0xff, 0xfe}, coalmine.ErrCorruptCheckpoint},
		{bumpVersion(saved), coalmine.ErrCheckpointVersion},
	} {
		if _, err := coalmine.RestoreAnalysis(c.data); !errors.Is(err, c.want) {
			t.Errorf("restore: got %v, want %v", err, c.want)
		}
	}

	// Bad specs and configurations.
	if _, err := coalmine.ParseSchemaJSON([]byte(`{"metrics": [{"name": "a"}, {"name": "a"}], "segments": [{"name": "s"}]}`)); !errors.Is(err, coalmine.ErrDuplicate) {
		t.Error(err)
	}
	if _, err := coalmine.ParseSchemaTOML([]byte("[[metrics]\n")); !errors.Is(err, coalmine.ErrParse) {
		t.Error(err)
	}
	if _, err := coalmine.ParseSchemaJSON([]byte{'{', 0xff}); !errors.Is(err, coalmine.ErrInvalidUTF8) {
		t.Error(err)
	}
	if _, err := coalmine.NewAnalysis(profile, []byte(`{"policy": {"pause_at": 0.9, "rollback_at": 0.1}}`)); !errors.Is(err, coalmine.ErrInvalidParameter) || !strings.Contains(err.Error(), "pause_at") {
		t.Error(err)
	}
	if _, err := coalmine.NewAnalysis(profile, []byte(`{"polcy": {}}`)); !errors.Is(err, coalmine.ErrParse) {
		t.Error(err)
	}
	if _, err := coalmine.NewEwma([]byte(`{"alpha": 3}`)); !errors.Is(err, coalmine.ErrInvalidParameter) {
		t.Error(err)
	}
	schema := must(coalmine.ParseSchemaTOML([]byte(schemaTOML)))
	defer schema.Close()
	b := must(coalmine.NewProfileBuilder(schema, nil))
	defer b.Close()
	if _, err := b.Build(); !errors.Is(err, coalmine.ErrInsufficientData) || !strings.Contains(err.Error(), "not enough data") {
		t.Error(err)
	}
	if err := b.PushTick(make([]float64, tickLen-1)); !errors.Is(err, coalmine.ErrLengthMismatch) {
		t.Error(err)
	}
}

func TestClosedHandles(t *testing.T) {
	profile := learn(t)
	a := must(coalmine.NewAnalysis(profile, nil))
	if a.Close() != nil || a.Close() != nil {
		t.Fatal("Close is idempotent")
	}
	if _, err := a.Observe(1, nil, nil); !errors.Is(err, coalmine.ErrClosed) {
		t.Fatal(err)
	}
	if _, err := a.Checkpoint(); !errors.Is(err, coalmine.ErrClosed) {
		t.Fatal(err)
	}
	if a.Ticks() != 0 {
		t.Fatal("ticks of a closed analysis")
	}
	profile.Close()
	if _, err := coalmine.NewAnalysis(profile, nil); !errors.Is(err, coalmine.ErrClosed) {
		t.Fatal(err)
	}
	if _, err := profile.Bytes(); !errors.Is(err, coalmine.ErrClosed) {
		t.Fatal(err)
	}
	e := must(coalmine.NewEwma(nil))
	e.Close()
	if _, err := e.Observe(1); !errors.Is(err, coalmine.ErrClosed) {
		t.Fatal(err)
	}
}

// Handles that are never closed are released by the garbage collector; run with
// GOGC=1 this also stresses the handles' lifetimes across cgo calls.
func TestForgottenHandlesAreCollected(t *testing.T) {
	for i := 0; i < 200; i++ {
		e := must(coalmine.NewEwma(nil))
		for j := 0; j < 20; j++ {
			must(e.Observe(float64(j)))
		}
	}
	runtime.GC()
	runtime.GC()
}

// One analysis shared by goroutines: calls are serialised, nothing races (run with
// -race), every tick is observed exactly once.
func TestConcurrentUse(t *testing.T) {
	profile := learn(t)
	defer profile.Close()
	a := must(coalmine.NewAnalysis(profile, analysisConfig))
	defer a.Close()
	// Fewer ticks than a promotion needs: promotion ends the analysis.
	ticks := liveTicks(24, 1000)
	var mu sync.Mutex
	next := 0
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				// Timestamps must increase, so the ticks are handed out in order.
				mu.Lock()
				if next == len(ticks) {
					mu.Unlock()
					return
				}
				tk := ticks[next]
				next++
				_, err := a.Observe(tk.ts, tk.control, tk.canary)
				mu.Unlock()
				if err != nil {
					t.Error(err)
					return
				}
				// Reads from other goroutines interleave with the writes.
				if _, err := a.Decision(); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if a.Ticks() != uint64(len(ticks)) {
		t.Fatal(a.Ticks())
	}
	// Independent analyses in parallel.
	wg = sync.WaitGroup{}
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			b, err := coalmine.NewAnalysis(profile, analysisConfig)
			if err != nil {
				t.Error(err)
				return
			}
			defer b.Close()
			for _, tk := range ticks {
				if _, err := b.Observe(tk.ts, tk.control, tk.canary); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
}

func TestVerdicts(t *testing.T) {
	profile := learn(t)
	defer profile.Close()
	a := must(coalmine.NewAnalysis(profile, analysisConfig))
	defer a.Close()
	if v := must(a.Verdict()); v.Verdict != coalmine.VerdictInconclusive || v.Reason != coalmine.VerdictNoTicks {
		t.Fatalf("%+v", v)
	}
	// Canary values for the first segment only: its other series are never observed.
	ticks := liveTicks(80, 1000)
	for _, tk := range ticks[:3] {
		canary := append([]float64(nil), tk.canary...)
		for i := metrics; i < tickLen; i++ {
			canary[i] = math.NaN()
		}
		must(a.Observe(tk.ts, tk.control, canary))
	}
	v := must(a.Verdict())
	want := []coalmine.SeriesID{{Segment: 1, Metric: 0}, {Segment: 1, Metric: 1}, {Segment: 1, Metric: 2}}
	if v.Verdict != coalmine.VerdictInconclusive || v.Reason != coalmine.VerdictSeriesNeverObserved ||
		!slices.Equal(v.Unobserved, want) || !strings.Contains(v.Explanation, "never observed") {
		t.Fatalf("%+v", v)
	}

	// A healthy release is promoted, and the analysis then takes no more ticks.
	b := must(coalmine.NewAnalysis(profile, analysisConfig))
	defer b.Close()
	k := 0
	for ; k < len(ticks); k++ {
		if d := must(b.Observe(ticks[k].ts, ticks[k].control, ticks[k].canary)); d.Phase == coalmine.PhasePromoted {
			break
		}
	}
	if v := must(b.Verdict()); v.Verdict != coalmine.VerdictPromote || v.DecidedAt != uint64(k+1) || !v.EvidenceSufficient {
		t.Fatalf("%+v", v)
	}
	next := ticks[k+1]
	if _, err := b.Observe(next.ts, next.control, next.canary); !errors.Is(err, coalmine.ErrFinished) || b.Ticks() != uint64(k+1) {
		t.Fatal(err, b.Ticks())
	}
}

func TestDetectors(t *testing.T) {
	s := newService(5)
	row := make([]float64, tickLen)
	xs := make([]float64, 400)
	for i := range xs {
		factor := 1.0
		if i == 350 {
			factor = 1.6
		}
		s.tick(i, factor, row)
		xs[i] = row[1]
	}
	one := must(coalmine.NewEwma(nil))
	defer one.Close()
	many := must(coalmine.NewEwma([]byte(`{"alpha": 0.1}`)))
	defer many.Close()
	cols := coalmine.NewAnomalyColumns(len(xs))
	if err := many.ObserveMany(xs, &cols); err != nil {
		t.Fatal(err)
	}
	if !math.IsNaN(cols.Expected[0]) {
		t.Fatal("the first observation had no forecast")
	}
	for i, x := range xs {
		a := must(one.Observe(x))
		if i > 0 && (a.Expected != cols.Expected[i] || a.TailProbability != cols.TailProbability[i] || a.Ready != cols.Ready[i]) {
			t.Fatalf("observation %d: %+v", i, a)
		}
	}
	// Atomic: a bad value changes nothing and is named.
	before := many.Observations()
	small := coalmine.NewAnomalyColumns(3)
	err := many.ObserveMany([]float64{1, math.NaN(), 2}, &small)
	if !errors.Is(err, coalmine.ErrNonFinite) || !strings.Contains(err.Error(), "observation 1") || many.Observations() != before {
		t.Fatal(err)
	}
	if err := many.ObserveMany(xs[:4], &small); !errors.Is(err, coalmine.ErrBufferTooSmall) {
		t.Fatal(err)
	}

	hw := must(coalmine.FitHoltWinters([]byte(`{"season_length": 24}`), nil, xs[:240]))
	defer hw.Close()
	rest := coalmine.NewAnomalyColumns(160)
	if err := hw.ObserveMany(xs[240:], &rest); err != nil {
		t.Fatal(err)
	}
	if rest.TailProbability[110] > 1e-6 || rest.TailProbability[60] < 1e-3 {
		t.Fatalf("spike %g, quiet %g", rest.TailProbability[110], rest.TailProbability[60])
	}
	if f := must(hw.Forecast(1)); f < 50 || f > 250 {
		t.Fatal(f)
	}
	if _, err := coalmine.NewHoltWinters([]byte(`{"season_length": 24}`), xs[:10]); !errors.Is(err, coalmine.ErrInsufficientData) {
		t.Fatal(err)
	}
	plain := must(coalmine.NewHoltWinters([]byte(`{"season_length": 24}`), xs[:240]))
	defer plain.Close()
	if a := must(plain.Observe(xs[240])); !a.Ready {
		t.Fatal("ready after its history")
	}
}

func TestStatusNames(t *testing.T) {
	if got := coalmine.ErrTimestamp.Error(); got != "coalmine: timestamp not after the previous tick's" {
		t.Fatal(got)
	}
	if got := coalmine.Status(999).Error(); got != "coalmine: unknown status" {
		t.Fatal(got)
	}
	if coalmine.Rollback.String() != "rollback" || coalmine.ReasonNoData.String() != "no_data" || coalmine.VerdictPromote.String() != "promote" {
		t.Fatal("names")
	}
}

func TestObserveCounts(t *testing.T) {
	profile := learn(t)
	defer profile.Close()
	open := func() *coalmine.Analysis { return must(coalmine.NewAnalysis(profile, analysisConfig)) }
	plain, unknown, zero, nanFirst := open(), open(), open(), open()
	defer plain.Close()
	defer unknown.Close()
	defer zero.Close()
	defer nanFirst.Close()
	key := func(d coalmine.Decision) [8]uint64 {
		return [8]uint64{d.Tick, uint64(d.Action), uint64(d.Reason), uint64(d.Phase),
			math.Float64bits(d.Risk), math.Float64bits(d.PredictedRisk),
			math.Float64bits(d.CanaryShare), uint64(d.Evidence.Missing)}
	}
	nans := make([]float64, tickLen)
	for i := range nans {
		nans[i] = math.NaN()
	}
	zeroFirst := append([]float64(nil), nans...)
	zeroFirst[0] = 0
	ticks := liveTicks(30, 10)
	for _, tk := range ticks {
		d0 := must(plain.Observe(tk.ts, tk.control, tk.canary))
		d1 := must(unknown.ObserveCounts(tk.ts, tk.control, tk.canary, nans, nans))
		if key(d0) != key(d1) {
			t.Fatalf("unknown counts changed the decision: %+v vs %+v", d1, d0)
		}
		// A count of 0 on the canary's first value is that value missing.
		d2 := must(zero.ObserveCounts(tk.ts, tk.control, tk.canary, nil, zeroFirst))
		canary := append([]float64(nil), tk.canary...)
		canary[0] = math.NaN()
		d3 := must(nanFirst.Observe(tk.ts, tk.control, canary))
		if key(d2) != key(d3) || d2.Evidence.Missing != d0.Evidence.Missing+1 {
			t.Fatalf("a zero count is not a missing value: %+v vs %+v", d2, d3)
		}
	}

	next := ticks[len(ticks)-1].ts + 3600
	tk := ticks[0]
	negative := append([]float64(nil), nans...)
	negative[2] = -1
	before := plain.Ticks()
	for _, c := range []struct {
		counts []float64
		want   coalmine.Status
	}{
		{negative, coalmine.ErrInvalidCount},
		{nans[:tickLen-1], coalmine.ErrLengthMismatch},
	} {
		_, err := plain.ObserveCounts(next, tk.control, tk.canary, c.counts, nil)
		var e *coalmine.Error
		if !errors.Is(err, c.want) || !errors.As(err, &e) || !strings.Contains(e.Message, "control counts") {
			t.Fatalf("want %v naming the control counts, got %v", c.want, err)
		}
		if plain.Ticks() != before {
			t.Fatalf("a refused tick was applied: %d ticks, not %d", plain.Ticks(), before)
		}
	}
	if got := coalmine.ErrInvalidCount.Error(); got != "coalmine: invalid count" {
		t.Fatal(got)
	}
	// The analysis still takes the tick once its counts are valid.
	if _, err := plain.ObserveCounts(next, tk.control, tk.canary, nans, nans); err != nil {
		t.Fatal(err)
	}
}

// A batch with counts decides as ObserveCounts tick by tick, stops after the tick that
// promotes the rollout, and a bad count anywhere in it applies nothing.
func TestObserveManyCounts(t *testing.T) {
	profile := learn(t)
	defer profile.Close()
	ticks := liveTicks(200, 1<<30)
	n := len(ticks)
	ts := make([]float64, 0, n)
	var control, canary, controlCounts, canaryCounts []float64
	for k, tk := range ticks {
		ts = append(ts, tk.ts)
		control = append(control, tk.control...)
		canary = append(canary, tk.canary...)
		for i := 0; i < tickLen; i++ {
			r := (5*k + 3*i) % 13
			c, kc := 800+10*float64(r), 20+3*float64(r)
			if r == 4 {
				c = math.NaN()
			}
			if r == 7 {
				kc = 0
			}
			controlCounts = append(controlCounts, c)
			canaryCounts = append(canaryCounts, kc)
		}
	}
	row := func(v []float64, k int) []float64 { return v[k*tickLen : (k+1)*tickLen] }

	one := must(coalmine.NewAnalysis(profile, analysisConfig))
	defer one.Close()
	var want []coalmine.Decision
	for k := range ticks {
		d := must(one.ObserveCounts(ts[k], row(control, k), row(canary, k), row(controlCounts, k), row(canaryCounts, k)))
		want = append(want, d)
		if d.Phase == coalmine.PhasePromoted {
			break
		}
	}
	if len(want) == n {
		t.Fatalf("the healthy release was not promoted within %d ticks", n)
	}

	// A bad count in the middle: nothing applied, the tick named, dst unchanged.
	many := must(coalmine.NewAnalysis(profile, analysisConfig))
	defer many.Close()
	bad := append([]float64(nil), canaryCounts...)
	bad[7*tickLen+2] = math.Inf(1)
	dst := []coalmine.Decision{{Tick: 99}}
	got, err := many.ObserveManyCounts(dst, ts, control, canary, controlCounts, bad)
	var e *coalmine.Error
	if !errors.Is(err, coalmine.ErrInvalidCount) || !errors.As(err, &e) || e.Op != "Analysis.ObserveManyCounts" ||
		!strings.Contains(e.Message, "tick 7 of the batch") || len(got) != 1 || many.Ticks() != 0 {
		t.Fatalf("%v %d %d", err, len(got), many.Ticks())
	}
	if _, err := many.ObserveManyCounts(nil, ts, control, canary, controlCounts[:5], nil); !errors.Is(err, coalmine.ErrLengthMismatch) || many.Ticks() != 0 {
		t.Fatal(err)
	}

	// The whole series in batches of 32: the same decisions, up to the promotion.
	var all []coalmine.Decision
	for lo := 0; lo < n; lo += 32 {
		hi := min(lo+32, n)
		before := len(all)
		all = must(many.ObserveManyCounts(all, ts[lo:hi], control[lo*tickLen:hi*tickLen], canary[lo*tickLen:hi*tickLen],
			controlCounts[lo*tickLen:hi*tickLen], canaryCounts[lo*tickLen:hi*tickLen]))
		if len(all)-before < hi-lo {
			break
		}
	}
	if !slices.EqualFunc(all, want, func(a, b coalmine.Decision) bool {
		return a.Tick == b.Tick && a.Action == b.Action && a.Reason == b.Reason && a.Phase == b.Phase &&
			math.Float64bits(a.Risk) == math.Float64bits(b.Risk) && math.Float64bits(a.CanaryShare) == math.Float64bits(b.CanaryShare)
	}) {
		t.Fatalf("batches decided %d ticks differently from one by one (%d)", len(all), len(want))
	}
	// Promoted: ObserveMany stops after the promotion too, and a later batch is refused.
	plain := must(coalmine.NewAnalysis(profile, analysisConfig))
	defer plain.Close()
	stopped := must(plain.ObserveMany(nil, ts, control, canary))
	if last := stopped[len(stopped)-1]; len(stopped) == n || last.Phase != coalmine.PhasePromoted || plain.Ticks() != uint64(len(stopped)) {
		t.Fatalf("%d decisions, last %+v", len(stopped), last)
	}
	if _, err := plain.ObserveMany(nil, ts[n-1:], control[(n-1)*tickLen:], canary[(n-1)*tickLen:]); !errors.Is(err, coalmine.ErrFinished) {
		t.Fatal(err)
	}
}

// A builder fed one-minute timestamps learns a 60-second tick interval.
func TestPushAt(t *testing.T) {
	schema := must(coalmine.ParseSchemaTOML([]byte(schemaTOML)))
	defer schema.Close()
	b := must(coalmine.NewProfileBuilder(schema, profileConfig))
	defer b.Close()
	s := newService(7)
	row := make([]float64, tickLen)
	t0 := 1.7e9
	for i := 0; i < historyTicks; i++ {
		s.tick(i, 1, row)
		if err := b.PushAt(t0+60*float64(i), row); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.PushAt(t0, row); !errors.Is(err, coalmine.ErrTimestamp) {
		t.Fatal(err)
	}
	if err := b.PushAt(math.NaN(), row); !errors.Is(err, coalmine.ErrNonFinite) {
		t.Fatal(err)
	}
	if err := b.PushTick(row); !errors.Is(err, coalmine.ErrInvalidValue) || b.Ticks() != historyTicks {
		t.Fatal(err, b.Ticks())
	}
	p := must(b.Build())
	if s, ok := p.TickInterval(); !ok || s != 60 {
		t.Fatalf("interval %v %v", s, ok)
	}
	p.Close()
	if _, ok := p.TickInterval(); ok {
		t.Fatal("a closed profile has an interval")
	}
	untimed := learn(t)
	defer untimed.Close()
	if _, ok := untimed.TickInterval(); ok {
		t.Fatal("a history without timestamps has an interval")
	}
}
