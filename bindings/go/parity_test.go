package coalmine_test

import (
	"bufio"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	coalmine "github.com/coalmine-rs/coalmine/bindings/go"
)

// The parity fixture is written by the Rust example `parity_fixture` (`make
// parity-fixture`): simulated rollouts and the decisions the core takes on them.
func fixturePath() string {
	if p := os.Getenv("COALMINE_PARITY_FIXTURE"); p != "" {
		return p
	}
	return filepath.Join("..", "..", "target", "parity", "rollouts.txt")
}

type wantDecision struct {
	action, reason, phase  string
	risk, predicted, share uint64
}

type rollout struct {
	name                            string
	schema, profileCfg, analysisCfg []byte
	cols                            int
	history                         []float64
	timestamps, control, canary     []float64
	checkpointAt                    int
	want                            []wantDecision
	controlCounts, canaryCounts     []float64
	wantCounted                     []wantDecision
}

// fixtureReader reads the fixture's words, and JSON texts as whole lines.
type fixtureReader struct {
	lines *bufio.Scanner
	words []string
	err   error
}

func (r *fixtureReader) word() string {
	for len(r.words) == 0 {
		if r.err != nil {
			return ""
		}
		if !r.lines.Scan() {
			r.err = fmt.Errorf("unexpected end of fixture")
			return ""
		}
		r.words = strings.Fields(r.lines.Text())
	}
	w := r.words[0]
	r.words = r.words[1:]
	return w
}

func (r *fixtureReader) expect(w string) {
	if got := r.word(); got != w && r.err == nil {
		r.err = fmt.Errorf("expected %q, found %q", w, got)
	}
}

func (r *fixtureReader) int() int {
	n, err := strconv.Atoi(r.word())
	if err != nil && r.err == nil {
		r.err = err
	}
	return n
}

func (r *fixtureReader) bits() uint64 {
	b, err := strconv.ParseUint(r.word(), 16, 64)
	if err != nil && r.err == nil {
		r.err = err
	}
	return b
}

func (r *fixtureReader) float() float64 { return math.Float64frombits(r.bits()) }

// json reads `json LABEL BYTES` and then the next line, BYTES bytes of JSON.
func (r *fixtureReader) json(label string) []byte {
	r.expect("json")
	r.expect(label)
	n := r.int()
	if r.err != nil || len(r.words) != 0 || !r.lines.Scan() {
		r.err = fmt.Errorf("%s: malformed", label)
		return nil
	}
	text := r.lines.Bytes()
	if len(text) != n {
		r.err = fmt.Errorf("%s: %d bytes, expected %d", label, len(text), n)
	}
	return append([]byte(nil), text...)
}

func readFixture(t testing.TB) []rollout {
	f, err := os.Open(fixturePath())
	if err != nil {
		t.Fatalf("%v: run `make parity-fixture` at the repository root first", err)
	}
	defer f.Close()
	lines := bufio.NewScanner(f)
	lines.Buffer(make([]byte, 1<<20), 1<<26)
	r := &fixtureReader{lines: lines}
	r.expect("coalmine-parity")
	r.expect("2")
	r.expect("rollouts")
	out := make([]rollout, r.int())
	for i := range out {
		ro := &out[i]
		r.expect("rollout")
		ro.name = r.word()
		ro.schema = r.json("schema")
		ro.profileCfg = r.json("profile_config")
		ro.analysisCfg = r.json("analysis_config")
		r.expect("history")
		rows, cols := r.int(), r.int()
		ro.cols = cols
		for j := 0; j < rows*cols; j++ {
			ro.history = append(ro.history, r.float())
		}
		r.expect("live")
		ticks := r.int()
		if r.int() != cols {
			t.Fatal("live columns")
		}
		for k := 0; k < ticks; k++ {
			ro.timestamps = append(ro.timestamps, r.float())
			for j := 0; j < cols; j++ {
				ro.control = append(ro.control, r.float())
			}
			for j := 0; j < cols; j++ {
				ro.canary = append(ro.canary, r.float())
			}
		}
		r.expect("checkpoint_at")
		ro.checkpointAt = r.int()
		r.expect("decisions")
		if r.int() != ticks {
			t.Fatal("decision count")
		}
		for k := 0; k < ticks; k++ {
			ro.want = append(ro.want, wantDecision{
				action: r.word(), reason: r.word(), phase: r.word(),
				risk: r.bits(), predicted: r.bits(), share: r.bits(),
			})
		}
		r.expect("counts")
		if r.int() != ticks || r.int() != cols {
			t.Fatal("counts shape")
		}
		for k := 0; k < ticks; k++ {
			for j := 0; j < cols; j++ {
				ro.controlCounts = append(ro.controlCounts, r.float())
			}
			for j := 0; j < cols; j++ {
				ro.canaryCounts = append(ro.canaryCounts, r.float())
			}
		}
		r.expect("counted_decisions")
		counted := r.int()
		for k := 0; k < counted && r.err == nil; k++ {
			ro.wantCounted = append(ro.wantCounted, wantDecision{
				action: r.word(), reason: r.word(), phase: r.word(),
				risk: r.bits(), predicted: r.bits(), share: r.bits(),
			})
		}
		r.expect("end")
	}
	if r.err != nil {
		t.Fatalf("reading %s: %v", fixturePath(), r.err)
	}
	return out
}

func (ro *rollout) profile(t testing.TB) *coalmine.Profile {
	schema := must(coalmine.ParseSchemaJSON(ro.schema))
	defer schema.Close()
	if schema.TickLen() != ro.cols {
		t.Fatalf("%s: tick length %d, fixture %d", ro.name, schema.TickLen(), ro.cols)
	}
	b := must(coalmine.NewProfileBuilder(schema, ro.profileCfg))
	defer b.Close()
	must(b.PushTicks(ro.history, ro.cols))
	return must(b.Build())
}

func (ro *rollout) tick(k int) (float64, []float64, []float64) {
	c := ro.cols
	return ro.timestamps[k], ro.control[k*c : (k+1)*c], ro.canary[k*c : (k+1)*c]
}

func same(d coalmine.Decision, w wantDecision) bool {
	return d.Action.String() == w.action && d.Reason.String() == w.reason &&
		d.Phase.String() == w.phase && math.Float64bits(d.Risk) == w.risk &&
		math.Float64bits(d.PredictedRisk) == w.predicted && math.Float64bits(d.CanaryShare) == w.share
}

// The same simulated rollouts through Rust (the fixture), C (bindings/c/tests) and
// Go give identical decisions: action, reason, phase, and risk to the last bit.
func TestParityWithRust(t *testing.T) {
	rollouts := readFixture(t)
	if len(rollouts) == 0 {
		t.Fatal("no rollouts in the fixture")
	}
	for _, ro := range rollouts {
		profile := ro.profile(t)
		// One tick per call, with a restart from a checkpoint half-way.
		a := must(coalmine.NewAnalysis(profile, ro.analysisCfg))
		for k, w := range ro.want {
			if k == ro.checkpointAt {
				saved := must(a.Checkpoint())
				a.Close()
				a = must(coalmine.RestoreAnalysis(saved))
			}
			d := must(a.Observe(ro.tick(k)))
			if !same(d, w) {
				t.Errorf("%s tick %d: Go %v %v %v risk %016x, Rust %+v", ro.name, k,
					d.Action, d.Reason, d.Phase, math.Float64bits(d.Risk), w)
			}
		}
		a.Close()
		// All ticks in one batch.
		b := must(coalmine.NewAnalysis(profile, ro.analysisCfg))
		all := must(b.ObserveMany(nil, ro.timestamps, ro.control, ro.canary))
		for k, w := range ro.want {
			if !same(all[k], w) {
				t.Errorf("%s tick %d differs in a batch", ro.name, k)
			}
		}
		b.Close()
		// All ticks with counts in one batch (it stops after a promotion).
		c := must(coalmine.NewAnalysis(profile, ro.analysisCfg))
		counted := must(c.ObserveManyCounts(nil, ro.timestamps, ro.control, ro.canary, ro.controlCounts, ro.canaryCounts))
		if len(counted) != len(ro.wantCounted) {
			t.Errorf("%s: %d decisions with counts, Rust %d", ro.name, len(counted), len(ro.wantCounted))
		}
		moved := 0
		for k := 0; k < len(counted) && k < len(ro.wantCounted); k++ {
			w := ro.wantCounted[k]
			if !same(counted[k], w) {
				t.Errorf("%s tick %d differs in a batch with counts: Go %v %v %v risk %016x, Rust %+v", ro.name, k,
					counted[k].Action, counted[k].Reason, counted[k].Phase, math.Float64bits(counted[k].Risk), w)
			}
			if w.risk != ro.want[k].risk {
				moved++
			}
		}
		if moved == 0 {
			t.Errorf("%s: the counts changed no tick's risk", ro.name)
		}
		c.Close()
		profile.Close()
		t.Logf("%s: %d decisions identical to Rust's, %d with counts", ro.name, len(ro.want), len(ro.wantCounted))
	}
}
