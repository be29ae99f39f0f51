package provider

import (
	"testing"

	"github.com/argoproj/argo-rollouts/pkg/apis/rollouts/v1alpha1"
	coalmine "github.com/coalmine-rs/coalmine/bindings/go"
)

func TestPhaseFor(t *testing.T) {
	for _, c := range []struct {
		action  coalmine.Action
		reason  coalmine.Reason
		verdict coalmine.Verdict
		want    v1alpha1.AnalysisPhase
	}{
		{coalmine.Continue, coalmine.ReasonRiskLow, coalmine.VerdictInconclusive, v1alpha1.AnalysisPhaseSuccessful},
		{coalmine.Continue, coalmine.ReasonRiskLow, coalmine.VerdictPromote, v1alpha1.AnalysisPhaseSuccessful},
		{coalmine.Continue, coalmine.ReasonNoData, coalmine.VerdictInconclusive, v1alpha1.AnalysisPhaseInconclusive},
		{coalmine.Pause, coalmine.ReasonRiskElevated, coalmine.VerdictInconclusive, v1alpha1.AnalysisPhaseInconclusive},
		{coalmine.Rollback, coalmine.ReasonRiskHigh, coalmine.VerdictRollback, v1alpha1.AnalysisPhaseFailed},
		{coalmine.Rollback, coalmine.ReasonPredicted, coalmine.VerdictRollback, v1alpha1.AnalysisPhaseFailed},
		{coalmine.Rollback, coalmine.ReasonCriticalMetric, coalmine.VerdictRollback, v1alpha1.AnalysisPhaseFailed},
		{coalmine.Rollback, coalmine.ReasonAlreadyRolledBack, coalmine.VerdictRollback, v1alpha1.AnalysisPhaseFailed},
		{coalmine.Continue, coalmine.ReasonNoData, coalmine.VerdictRollback, v1alpha1.AnalysisPhaseFailed},
	} {
		d := coalmine.Decision{Action: c.action, Reason: c.reason}
		if got := PhaseFor(d, c.verdict); got != c.want {
			t.Errorf("%v %v %v: %s, want %s", c.action, c.reason, c.verdict, got, c.want)
		}
	}
}

func TestCheckpointEncoding(t *testing.T) {
	in := []byte(`{"format":"coalmine-checkpoint","version":3,"state":[1,2,3]}`)
	s, err := EncodeCheckpoint(in)
	if err != nil {
		t.Fatal(err)
	}
	out, err := DecodeCheckpoint(s)
	if err != nil || string(out) != string(in) {
		t.Fatalf("%q %v", out, err)
	}
	for _, bad := range []string{"", "plain", checkpointPrefix + "!!!", checkpointPrefix + "aGVsbG8="} {
		if _, err := DecodeCheckpoint(bad); err == nil {
			t.Errorf("%q decoded", bad)
		}
	}
	run := &v1alpha1.AnalysisRun{Status: v1alpha1.AnalysisRunStatus{MetricResults: []v1alpha1.MetricResult{
		{Name: "other", Measurements: []v1alpha1.Measurement{{Metadata: map[string]string{KeyCheckpoint: "x"}}}},
		{Name: "coalmine", Measurements: []v1alpha1.Measurement{
			{Metadata: map[string]string{KeyCheckpoint: "first"}},
			{Metadata: map[string]string{KeyCheckpoint: "second"}},
			{Phase: v1alpha1.AnalysisPhaseError},
		}},
	}}}
	if got := LastCheckpoint(run, "coalmine"); got != "second" {
		t.Fatalf("%q", got)
	}
	if got := LastCheckpoint(run, "none"); got != "" {
		t.Fatalf("%q", got)
	}
}
