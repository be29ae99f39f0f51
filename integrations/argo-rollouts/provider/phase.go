package provider

import (
	"github.com/argoproj/argo-rollouts/pkg/apis/rollouts/v1alpha1"
	coalmine "github.com/coalmine-rs/coalmine/bindings/go"
)

// PhaseFor maps a decision and the verdict after it to a measurement's phase:
// a rollback (now or earlier) fails the measurement; a pause, or a tick without
// evidence, is inconclusive (Argo pauses the rollout for a person to judge: missing
// data is never taken for health); anything else succeeds.
func PhaseFor(d coalmine.Decision, v coalmine.Verdict) v1alpha1.AnalysisPhase {
	switch {
	case d.Action == coalmine.Rollback || v == coalmine.VerdictRollback:
		return v1alpha1.AnalysisPhaseFailed
	case d.Action == coalmine.Pause, d.Reason == coalmine.ReasonNoData:
		return v1alpha1.AnalysisPhaseInconclusive
	default:
		return v1alpha1.AnalysisPhaseSuccessful
	}
}
