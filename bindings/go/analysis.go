package coalmine

// #include "coalmine.h"
import "C"

import "runtime"

// Analysis is one rollout in progress: feed it ticks, it decides.
type Analysis struct {
	h handle[*C.coalmine_analysis]
	// Scratch for the C side to write into, kept so steady calls do not allocate.
	one   C.coalmine_decision
	batch []C.coalmine_decision
}

func freeAnalysis(p *C.coalmine_analysis) { C.coalmine_analysis_free(p) }

func wrapAnalysis(p *C.coalmine_analysis) *Analysis {
	a := &Analysis{}
	track(a, &a.h, p, freeAnalysis)
	return a
}

// NewAnalysis starts analysing a rollout against profile (not retained). configJSON
// holds the analysis settings, every key optional, e.g. `{"policy": {"pause_at": 0.5,
// "rollback_at": 0.8}, "traffic": {"steps": [0.01, 0.05, 0.25, 1.0]}}`; nil for
// defaults.
func NewAnalysis(profile *Profile, configJSON []byte) (*Analysis, error) {
	pp, err := profile.h.lock()
	if err != nil {
		return nil, err
	}
	defer profile.h.unlock()
	var p *C.coalmine_analysis
	err = construct("NewAnalysis", func() C.coalmine_status {
		cfg, n := charsIn(configJSON)
		return C.coalmine_analysis_new(pp, cfg, n, &p)
	})
	runtime.KeepAlive(configJSON)
	runtime.KeepAlive(profile)
	if err != nil {
		return nil, err
	}
	return wrapAnalysis(p), nil
}

// RestoreAnalysis continues an analysis from Analysis.Checkpoint's bytes, bit for
// bit. Another format version is ErrCheckpointVersion; truncated or corrupt bytes
// are ErrCorruptCheckpoint.
func RestoreAnalysis(checkpoint []byte) (*Analysis, error) {
	var p *C.coalmine_analysis
	err := construct("RestoreAnalysis", func() C.coalmine_status {
		b, n := bytesIn(checkpoint)
		return C.coalmine_analysis_restore(b, n, &p)
	})
	runtime.KeepAlive(checkpoint)
	if err != nil {
		return nil, err
	}
	return wrapAnalysis(p), nil
}

func (a *Analysis) fail(op string, p *C.coalmine_analysis, status C.coalmine_status) error {
	msg, _ := readText(func(buf *C.char, n C.size_t, w *C.size_t) C.coalmine_status {
		return C.coalmine_analysis_last_error(p, buf, n, w)
	})
	return newError(op, status, msg)
}

// Observe observes one tick and decides. control and canary hold the two cohorts'
// values, values[segment*NumMetrics + metric], TickLen each; NaN marks a missing
// value. The timestamp (seconds, any epoch) must be after the previous tick's. A
// rejected tick changes nothing. Once the rollout is promoted the analysis is over:
// every tick gets ErrFinished.
func (a *Analysis) Observe(timestamp float64, control, canary []float64) (Decision, error) {
	p, err := a.h.lock()
	if err != nil {
		return Decision{}, err
	}
	defer a.h.unlock()
	status := C.coalmine_analysis_observe(p, C.double(timestamp),
		f64s(control), C.size_t(len(control)), f64s(canary), C.size_t(len(canary)), &a.one)
	runtime.KeepAlive(control)
	runtime.KeepAlive(canary)
	runtime.KeepAlive(a)
	if status != C.COALMINE_OK {
		return Decision{}, a.fail("Analysis.Observe", p, status)
	}
	return decisionFromC(&a.one), nil
}

// ObserveCounts is Observe with the count behind each value (the requests behind an
// error ratio, the users or sessions behind a mean): controlCounts laid out like
// control, canaryCounts like canary; nil (or empty) for no counts in that cohort. A
// count of 0 makes its value missing; NaN means unknown (the value is used as
// without counts). A negative, infinite or too large count is ErrInvalidCount, counts
// not laid out like the values ErrLengthMismatch; either changes nothing.
func (a *Analysis) ObserveCounts(timestamp float64, control, canary, controlCounts, canaryCounts []float64) (Decision, error) {
	p, err := a.h.lock()
	if err != nil {
		return Decision{}, err
	}
	defer a.h.unlock()
	status := C.coalmine_analysis_observe_counts(p, C.double(timestamp),
		f64s(control), C.size_t(len(control)), f64s(canary), C.size_t(len(canary)),
		f64s(controlCounts), C.size_t(len(controlCounts)),
		f64s(canaryCounts), C.size_t(len(canaryCounts)), &a.one)
	runtime.KeepAlive(control)
	runtime.KeepAlive(canary)
	runtime.KeepAlive(controlCounts)
	runtime.KeepAlive(canaryCounts)
	runtime.KeepAlive(a)
	if status != C.COALMINE_OK {
		return Decision{}, a.fail("Analysis.ObserveCounts", p, status)
	}
	return decisionFromC(&a.one), nil
}

// ObserveMany observes len(timestamps) ticks in one call and appends their
// decisions to dst. control and canary hold the ticks' rows one after another
// (len(timestamps)*TickLen values each). The batch ends early after the tick that
// promotes the rollout (promotion is final): dst then gains a decision for each tick
// observed only, the last in PhasePromoted. Atomic: every tick is checked before any
// is applied; if one is rejected, nothing is applied, dst is returned unchanged, and
// the error names the tick's index.
func (a *Analysis) ObserveMany(dst []Decision, timestamps, control, canary []float64) ([]Decision, error) {
	return a.observeMany("Analysis.ObserveMany", dst, timestamps, control, canary, nil, nil)
}

// ObserveManyCounts is ObserveMany with the count behind each value, as for
// ObserveCounts: controlCounts laid out like control, canaryCounts like canary
// (len(timestamps)*TickLen values each); nil (or empty) for no counts in that cohort.
// A count of 0 makes its value missing, NaN means unknown. A bad count is
// ErrInvalidCount, counts not laid out like the values ErrLengthMismatch; either
// applies nothing.
func (a *Analysis) ObserveManyCounts(dst []Decision, timestamps, control, canary, controlCounts, canaryCounts []float64) ([]Decision, error) {
	return a.observeMany("Analysis.ObserveManyCounts", dst, timestamps, control, canary, controlCounts, canaryCounts)
}

func (a *Analysis) observeMany(op string, dst []Decision, timestamps, control, canary, controlCounts, canaryCounts []float64) ([]Decision, error) {
	p, err := a.h.lock()
	if err != nil {
		return dst, err
	}
	defer a.h.unlock()
	n := len(timestamps)
	if cap(a.batch) < n {
		a.batch = make([]C.coalmine_decision, n)
	}
	out := a.batch[:n]
	var outPtr *C.coalmine_decision
	if n > 0 {
		outPtr = &out[0]
	}
	var observed C.size_t
	status := C.coalmine_analysis_observe_batch_counts(p, f64s(timestamps), C.size_t(n),
		f64s(control), C.size_t(len(control)), f64s(canary), C.size_t(len(canary)),
		f64s(controlCounts), C.size_t(len(controlCounts)),
		f64s(canaryCounts), C.size_t(len(canaryCounts)),
		outPtr, C.size_t(n), &observed)
	runtime.KeepAlive(timestamps)
	runtime.KeepAlive(control)
	runtime.KeepAlive(canary)
	runtime.KeepAlive(controlCounts)
	runtime.KeepAlive(canaryCounts)
	runtime.KeepAlive(a)
	if status != C.COALMINE_OK {
		return dst, a.fail(op, p, status)
	}
	for i := range out[:int(observed)] {
		dst = append(dst, decisionFromC(&out[i]))
	}
	return dst, nil
}

// Decision is the last decision (before any tick: continue, no data, first step).
func (a *Analysis) Decision() (Decision, error) {
	p, err := a.h.lock()
	if err != nil {
		return Decision{}, err
	}
	defer a.h.unlock()
	status := C.coalmine_analysis_decision(p, &a.one)
	runtime.KeepAlive(a)
	if status != C.COALMINE_OK {
		return Decision{}, newError("Analysis.Decision", status, "")
	}
	return decisionFromC(&a.one), nil
}

// Contributors are the reasons behind the last decision, strongest first.
func (a *Analysis) Contributors() ([]Contributor, error) {
	p, err := a.h.lock()
	if err != nil {
		return nil, err
	}
	defer a.h.unlock()
	if s := C.coalmine_analysis_decision(p, &a.one); s != C.COALMINE_OK {
		return nil, newError("Analysis.Contributors", s, "")
	}
	out := make([]Contributor, 0, int(a.one.n_contributors))
	var c C.coalmine_contributor
	for i := 0; i < int(a.one.n_contributors); i++ {
		if s := C.coalmine_analysis_contributor(p, C.size_t(i), &c); s != C.COALMINE_OK {
			return nil, newError("Analysis.Contributors", s, "")
		}
		out = append(out, contributorFromC(&c))
	}
	runtime.KeepAlive(a)
	return out, nil
}

// Verdict is what the rollout concludes if it ended now, with the evidence it rests
// on: promote only once the ramp completed with sufficient evidence, rollback once
// rolled back, pause while held, inconclusive otherwise (never "promote" for lack of
// evidence).
func (a *Analysis) Verdict() (VerdictReport, error) {
	p, err := a.h.lock()
	if err != nil {
		return VerdictReport{}, err
	}
	defer a.h.unlock()
	var r C.coalmine_verdict_report
	if s := C.coalmine_analysis_verdict(p, &r); s != C.COALMINE_OK {
		return VerdictReport{}, newError("Analysis.Verdict", s, "")
	}
	report := VerdictReport{
		Verdict:             Verdict(r.verdict),
		Reason:              VerdictReason(r.reason),
		Ticks:               uint64(r.ticks),
		CanaryTicks:         uint64(r.canary_ticks),
		ControlTicks:        uint64(r.control_ticks),
		MinPairedTicks:      uint64(r.min_paired_ticks),
		CanaryShare:         float64(r.canary_share),
		EvidenceSufficient:  bool(r.evidence_sufficient),
		MaxDetectableEffect: float64(r.max_detectable_effect),
	}
	if r.has_because {
		report.Because = Reason(r.because)
	}
	if r.has_decided_at {
		report.DecidedAt = uint64(r.decided_at)
	}
	for i := 0; i < int(r.n_unobserved); i++ {
		var seg, metric C.size_t
		if s := C.coalmine_analysis_unobserved(p, C.size_t(i), &seg, &metric); s != C.COALMINE_OK {
			return VerdictReport{}, newError("Analysis.Verdict", s, "")
		}
		report.Unobserved = append(report.Unobserved, SeriesID{Segment: int(seg), Metric: int(metric)})
	}
	text, s := readText(func(buf *C.char, n C.size_t, w *C.size_t) C.coalmine_status {
		return C.coalmine_analysis_verdict_explain(p, buf, n, w)
	})
	runtime.KeepAlive(a)
	if s != C.COALMINE_OK {
		return VerdictReport{}, newError("Analysis.Verdict", s, "")
	}
	report.Explanation = text
	return report, nil
}

// Summary is a one-line human summary of the last decision and its top contributor.
func (a *Analysis) Summary() (string, error) {
	p, err := a.h.lock()
	if err != nil {
		return "", err
	}
	defer a.h.unlock()
	s, status := readText(func(buf *C.char, n C.size_t, w *C.size_t) C.coalmine_status {
		return C.coalmine_analysis_summary(p, buf, n, w)
	})
	runtime.KeepAlive(a)
	if status != C.COALMINE_OK {
		return "", newError("Analysis.Summary", status, "")
	}
	return s, nil
}

// Ticks is the number of ticks observed.
func (a *Analysis) Ticks() uint64 {
	p, err := a.h.lock()
	if err != nil {
		return 0
	}
	defer a.h.unlock()
	n := uint64(C.coalmine_analysis_ticks(p))
	runtime.KeepAlive(a)
	return n
}

// PeakRisk is the highest risk seen so far.
func (a *Analysis) PeakRisk() float64 {
	p, err := a.h.lock()
	if err != nil {
		return 0
	}
	defer a.h.unlock()
	r := float64(C.coalmine_analysis_peak_risk(p))
	runtime.KeepAlive(a)
	return r
}

// Thresholds are the pause (t1) and rollback (t2) thresholds in use.
func (a *Analysis) Thresholds() (pauseAt, rollbackAt float64, err error) {
	p, err := a.h.lock()
	if err != nil {
		return 0, 0, err
	}
	defer a.h.unlock()
	var t1, t2 C.double
	status := C.coalmine_analysis_thresholds(p, &t1, &t2)
	runtime.KeepAlive(a)
	if status != C.COALMINE_OK {
		return 0, 0, newError("Analysis.Thresholds", status, "")
	}
	return float64(t1), float64(t2), nil
}

// Checkpoint saves the whole state; RestoreAnalysis continues from it bit for bit.
func (a *Analysis) Checkpoint() ([]byte, error) {
	p, err := a.h.lock()
	if err != nil {
		return nil, err
	}
	defer a.h.unlock()
	var out *C.coalmine_bytes
	status := C.coalmine_analysis_checkpoint(p, &out)
	runtime.KeepAlive(a)
	if status != C.COALMINE_OK {
		return nil, newError("Analysis.Checkpoint", status, "")
	}
	return takeBytes(out), nil
}

// Close releases the analysis; it is idempotent.
func (a *Analysis) Close() error {
	a.h.close()
	return nil
}
