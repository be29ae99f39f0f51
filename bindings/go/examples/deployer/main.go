// Command deployer shows a canary deployer built on coalmine: it learns (or loads)
// the stable version's profile, then each tick measures both cohorts, asks the
// analysis for a decision and acts on it — set the canary's weight, pause, roll
// back or promote — and checkpoints, so that a restarted deployer resumes exactly
// where it stopped. Here the service is simulated and a restart is forced half-way
// through each rollout.
//
// Build and run (after `make c-lib` at the repository root):
//
//	cd bindings/go && go run ./examples/deployer
package main

import (
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"time"

	coalmine "github.com/coalmine-rs/coalmine/bindings/go"
)

// Router is what a deployer drives: a service mesh, an ingress, a feature-flag
// system.
type Router interface {
	SetCanaryWeight(share float64)
	Pause(share float64, interval time.Duration, hint string)
	Rollback(alert string)
	Promote()
}

// Release describes one simulated rollout.
type Release struct {
	Name     string
	SlowFrom int     // live tick from which the new version is slower; -1 never
	Slower   float64 // how much slower (0.4 = 40 %)
}

// slowdown is the new version's latency factor at live tick k.
func (r Release) slowdown(k int) float64 {
	if r.SlowFrom < 0 || k < r.SlowFrom {
		return 1
	}
	return 1 + r.Slower
}

const (
	baseInterval = time.Minute
	historyTicks = 24 * 14
	maxTicks     = 120
	segments     = 2
	metrics      = 3
	tickLen      = segments * metrics
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

var analysisConfig = []byte(`{"traffic": {"steps": [0.05, 0.25, 0.5, 1.0], "min_dwell_ticks": 10, "min_evidence_ticks": 8}}`)

// errCrash stands for the deployer's process dying.
var errCrash = errors.New("deployer stopped")

// measure simulates one cohort's metrics at tick t: a pure function of (t, cohort),
// so a restarted deployer sees the same world.
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
	v := make([]float64, tickLen)
	for s := 0; s < segments; s++ {
		load := 1 + 0.3*day + 0.1*float64(s)
		v[s*metrics] = math.Max(0, 0.01+0.002*noise())
		v[s*metrics+1] = slowdown * (120*load + 4*noise())
		v[s*metrics+2] = math.Max(0, 200*load+10*noise())
	}
	return v
}

// loadProfile loads the saved profile, or learns it from the stable version's
// history and saves it.
func loadProfile(dir string) (*coalmine.Profile, error) {
	path := filepath.Join(dir, "profile.json")
	if data, err := os.ReadFile(path); err == nil {
		return coalmine.LoadProfile(data)
	}
	schema, err := coalmine.ParseSchemaTOML([]byte(schemaTOML))
	if err != nil {
		return nil, err
	}
	defer schema.Close()
	b, err := coalmine.NewProfileBuilder(schema, []byte(`{"candidate_periods": [24]}`))
	if err != nil {
		return nil, err
	}
	defer b.Close()
	for t := 0; t < historyTicks; t++ {
		if err := b.PushTick(measure(t, 0, 1)); err != nil {
			return nil, err
		}
	}
	profile, err := b.Build()
	if err != nil {
		return nil, err
	}
	data, err := profile.Bytes()
	if err != nil {
		profile.Close()
		return nil, err
	}
	return profile, writeFile(path, data)
}

// writeFile replaces path atomically, so a crash never leaves half a checkpoint.
func writeFile(path string, data []byte) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// deploy runs (or resumes) the rollout of r whose state lives in dir. With stopAt
// >= 0 the deployer stops before that live tick, as if its process died. It returns
// the verdict.
func deploy(dir string, r Release, router Router, log io.Writer, stopAt int) (coalmine.VerdictReport, error) {
	var none coalmine.VerdictReport
	profile, err := loadProfile(dir)
	if err != nil {
		return none, err
	}
	defer profile.Close()
	checkpoint := filepath.Join(dir, "analysis.checkpoint")
	var analysis *coalmine.Analysis
	if data, err := os.ReadFile(checkpoint); err == nil {
		analysis, err = coalmine.RestoreAnalysis(data)
		if err != nil {
			return none, fmt.Errorf("resuming: %w", err)
		}
		fmt.Fprintf(log, "  resumed from the checkpoint after tick %d\n", analysis.Ticks())
	} else if analysis, err = coalmine.NewAnalysis(profile, analysisConfig); err != nil {
		return none, err
	}
	defer analysis.Close()

	for k := int(analysis.Ticks()); k < maxTicks; k++ {
		if k == stopAt {
			return none, errCrash
		}
		t := historyTicks + k
		d, err := analysis.Observe(float64(t)*60, measure(t, 1, 1), measure(t, 2, r.slowdown(k)))
		if err != nil {
			return none, err
		}
		switch d.Action {
		case coalmine.Continue:
			router.SetCanaryWeight(d.CanaryShare)
		case coalmine.Pause:
			hint := ""
			if d.Remediation.Present {
				hint = fmt.Sprintf("look at segment %d, metric %d", d.Remediation.Segment, d.Remediation.Metric)
			}
			router.Pause(d.CanaryShare, time.Duration(float64(baseInterval)*d.IntervalFactor), hint)
		case coalmine.Rollback:
			summary, err := analysis.Summary()
			if err != nil {
				return none, err
			}
			router.Rollback(fmt.Sprintf("%v alert: %s", d.Alert, summary))
		}
		data, err := analysis.Checkpoint()
		if err != nil {
			return none, err
		}
		if err := writeFile(checkpoint, data); err != nil {
			return none, err
		}
		// Promotion and rollback end the rollout.
		if d.Phase == coalmine.PhasePromoted {
			router.Promote()
			break
		}
		if d.Phase == coalmine.PhaseRolledBack {
			break
		}
	}
	// Also for a rollout that ran out of ticks: promote only with enough evidence.
	return analysis.Verdict()
}

// logRouter prints what a real router would be told, when it changes.
type logRouter struct {
	w      io.Writer
	weight float64
	events []string
}

func (l *logRouter) event(format string, args ...any) {
	e := fmt.Sprintf(format, args...)
	l.events = append(l.events, e)
	fmt.Fprintln(l.w, "  "+e)
}

func (l *logRouter) SetCanaryWeight(share float64) {
	if share != l.weight {
		l.weight = share
		l.event("canary weight %.1f %%", 100*share)
	}
}

func (l *logRouter) Pause(share float64, interval time.Duration, hint string) {
	l.weight = share
	l.event("PAUSE: canary weight %.1f %%, next evaluation in %v; %s", 100*share, interval, hint)
}

func (l *logRouter) Rollback(alert string) {
	l.weight = 0
	l.event("ROLLBACK: all traffic to stable; %s", alert)
}

func (l *logRouter) Promote() {
	l.event("PROMOTE: the new version takes all traffic")
}

// roll deploys r in a fresh state directory, stopping the deployer once before
// restartAt (if >= 0) and starting it again.
func roll(r Release, w io.Writer, restartAt int) (coalmine.Verdict, []string, error) {
	dir, err := os.MkdirTemp("", "coalmine-deployer-")
	if err != nil {
		return coalmine.VerdictInconclusive, nil, err
	}
	defer os.RemoveAll(dir)
	router := &logRouter{w: w}
	fmt.Fprintf(w, "%s:\n", r.Name)
	report, err := deploy(dir, r, router, w, restartAt)
	if errors.Is(err, errCrash) {
		fmt.Fprintf(w, "  -- deployer restarted --\n")
		report, err = deploy(dir, r, router, w, -1)
	}
	if err == nil {
		fmt.Fprintf(w, "  verdict: %s\n", report.Explanation)
	}
	return report.Verdict, router.events, err
}

var releases = []Release{
	{Name: "healthy release", SlowFrom: -1},
	{Name: "release 40 % slower from tick 15", SlowFrom: 15, Slower: 0.4},
	{Name: "release 10 % slower from tick 15", SlowFrom: 15, Slower: 0.1},
}

// run rolls out each release, restarting the deployer at tick 12.
func run(w io.Writer) error {
	for _, r := range releases {
		if _, _, err := roll(r, w, 12); err != nil {
			return err
		}
	}
	return nil
}

func main() {
	if err := run(os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
