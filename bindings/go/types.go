package coalmine

// #include "coalmine.h"
import "C"

// Action is what to do after a tick.
type Action uint32

// The actions.
const (
	// Continue: set the canary's weight to Decision.CanaryShare.
	Continue Action = C.COALMINE_ACTION_CONTINUE
	// Pause: set the smaller Decision.CanaryShare, evaluate more often
	// (Decision.IntervalFactor), look at Decision.Remediation.
	Pause Action = C.COALMINE_ACTION_PAUSE
	// Rollback: send all traffic back to the stable version and raise the alert.
	Rollback Action = C.COALMINE_ACTION_ROLLBACK
)

var actionNames = [...]string{"continue", "pause", "rollback"}

func (a Action) String() string { return name(actionNames[:], uint32(a)) }

// Reason is why a decision was taken.
type Reason uint32

// The reasons.
const (
	// ReasonRiskLow: the risk is below the pause threshold (or a pause has cleared).
	ReasonRiskLow Reason = C.COALMINE_REASON_RISK_LOW
	// ReasonRiskElevated: the risk is between the thresholds, or a pause holds.
	ReasonRiskElevated Reason = C.COALMINE_REASON_RISK_ELEVATED
	// ReasonRiskHigh: the risk reached the rollback threshold.
	ReasonRiskHigh Reason = C.COALMINE_REASON_RISK_HIGH
	// ReasonPredicted: the predicted risk reached the rollback threshold.
	ReasonPredicted Reason = C.COALMINE_REASON_PREDICTED
	// ReasonCriticalMetric: a metric flagged critical is significantly anomalous.
	ReasonCriticalMetric Reason = C.COALMINE_REASON_CRITICAL_METRIC
	// ReasonPauseTimeout: a pause lasted longer than allowed.
	ReasonPauseTimeout Reason = C.COALMINE_REASON_PAUSE_TIMEOUT
	// ReasonAlreadyRolledBack: the rollout was already rolled back.
	ReasonAlreadyRolledBack Reason = C.COALMINE_REASON_ALREADY_ROLLED_BACK
	// ReasonNoData: no evidence this tick; nothing moves.
	ReasonNoData Reason = C.COALMINE_REASON_NO_DATA
)

var reasonNames = [...]string{
	"risk_low", "risk_elevated", "risk_high", "predicted", "critical_metric",
	"pause_timeout", "already_rolled_back", "no_data",
}

func (r Reason) String() string { return name(reasonNames[:], uint32(r)) }

// Phase is where the rollout stands.
type Phase uint32

// The phases.
const (
	PhaseRamping    Phase = C.COALMINE_PHASE_RAMPING
	PhasePaused     Phase = C.COALMINE_PHASE_PAUSED
	PhasePromoted   Phase = C.COALMINE_PHASE_PROMOTED
	PhaseRolledBack Phase = C.COALMINE_PHASE_ROLLED_BACK
)

var phaseNames = [...]string{"ramping", "paused", "promoted", "rolled_back"}

func (p Phase) String() string { return name(phaseNames[:], uint32(p)) }

// Alert is the alert that comes with a rollback.
type Alert uint32

// The alerts.
const (
	// AlertNone: the action is not a rollback.
	AlertNone Alert = C.COALMINE_ALERT_NONE
	// AlertWarning: rolled back on a prediction, before the harm fully shows.
	AlertWarning Alert = C.COALMINE_ALERT_WARNING
	// AlertCritical: rolled back on present evidence.
	AlertCritical Alert = C.COALMINE_ALERT_CRITICAL
)

var alertNames = [...]string{"none", "warning", "critical"}

func (a Alert) String() string { return name(alertNames[:], uint32(a)) }

// Verdict is what the rollout concludes if it ended now. The zero value is
// VerdictInconclusive, never a promotion.
type Verdict uint32

// The verdicts.
const (
	// VerdictInconclusive: not enough evidence either way (see VerdictReport.Reason).
	VerdictInconclusive Verdict = C.COALMINE_VERDICT_INCONCLUSIVE
	// VerdictPromote: enough evidence that the canary is fine; the ramp completed.
	VerdictPromote Verdict = C.COALMINE_VERDICT_PROMOTE
	// VerdictRollback: the canary is harmful, or predicted to become so.
	VerdictRollback Verdict = C.COALMINE_VERDICT_ROLLBACK
	// VerdictPause: held by a pause; the risk was elevated, not conclusive.
	VerdictPause Verdict = C.COALMINE_VERDICT_PAUSE
)

var verdictNames = [...]string{"inconclusive", "promote", "rollback", "pause"}

func (v Verdict) String() string { return name(verdictNames[:], uint32(v)) }

// VerdictReason is why the verdict is what it is.
type VerdictReason uint32

// The verdict reasons.
const (
	VerdictPromoted            VerdictReason = C.COALMINE_VERDICT_REASON_PROMOTED
	VerdictRolledBack          VerdictReason = C.COALMINE_VERDICT_REASON_ROLLED_BACK
	VerdictPaused              VerdictReason = C.COALMINE_VERDICT_REASON_PAUSED
	VerdictNoTicks             VerdictReason = C.COALMINE_VERDICT_REASON_NO_TICKS
	VerdictNoCanaryData        VerdictReason = C.COALMINE_VERDICT_REASON_NO_CANARY_DATA
	VerdictNoControlData       VerdictReason = C.COALMINE_VERDICT_REASON_NO_CONTROL_DATA
	VerdictSeriesNeverObserved VerdictReason = C.COALMINE_VERDICT_REASON_SERIES_NEVER_OBSERVED
	VerdictRampIncomplete      VerdictReason = C.COALMINE_VERDICT_REASON_RAMP_INCOMPLETE
)

var verdictReasonNames = [...]string{
	"promoted", "rolled_back", "paused", "no_ticks", "no_canary_data", "no_control_data",
	"series_never_observed", "ramp_incomplete",
}

func (r VerdictReason) String() string { return name(verdictReasonNames[:], uint32(r)) }

// SeriesID names one (segment, metric) series by index.
type SeriesID struct {
	Segment int
	Metric  int
}

// VerdictReport is a verdict with the evidence it rests on.
type VerdictReport struct {
	Verdict Verdict
	Reason  VerdictReason
	// Because is the rollback or pause decision's reason, when Reason is
	// VerdictRolledBack or VerdictPaused.
	Because Reason
	// DecidedAt is the tick of the rollback or promotion, 0 when neither happened.
	DecidedAt           uint64
	Ticks               uint64     // ticks observed
	CanaryTicks         uint64     // ticks with at least one canary value
	ControlTicks        uint64     // ticks with at least one control value
	MinPairedTicks      uint64     // fewest ticks any series had both cohorts observed
	Unobserved          []SeriesID // series never observed in both cohorts
	CanaryShare         float64    // the canary's share of traffic at the end
	EvidenceSufficient  bool       // the last tick's evidence was sufficient
	MaxDetectableEffect float64    // at the last tick, in standard deviations
	// Explanation is one line for a person: the verdict, its reason, what was missing.
	Explanation string
}

// Source is where a contributor's evidence comes from.
type Source uint32

// The sources.
const (
	// SourceMetric: one metric's canary-minus-control deviation.
	SourceMetric Source = C.COALMINE_SOURCE_METRIC
	// SourceJoint: a segment's joint behaviour (Metric has the largest share).
	SourceJoint Source = C.COALMINE_SOURCE_JOINT
	// SourceLimit: a projected crossing of the metric's configured limit.
	SourceLimit Source = C.COALMINE_SOURCE_LIMIT
)

var sourceNames = [...]string{"metric", "joint", "limit"}

func (s Source) String() string { return name(sourceNames[:], uint32(s)) }

func name(names []string, v uint32) string {
	if int(v) < len(names) {
		return names[v]
	}
	return "unknown"
}

// RiskFactors are the four factors of the risk, each in [0, 1].
type RiskFactors struct {
	Severity           float64 // how far the behaviour deviates
	Persistence        float64 // how long it has lasted
	SegmentWeight      float64 // which users: weight of the segments concerned
	FeatureCorrelation float64 // how strongly it moves with a feature's metrics
}

// Allocation holds traffic weights for an A/B or feature-flag framework; they sum
// to 1.
type Allocation struct {
	Control    float64 // the stable version's (control arm's) share
	PerVariant float64 // each variant's share
	Variants   int     // number of variants
}

// Remediation points at where to look during a pause.
type Remediation struct {
	Present bool // whether the hint is given
	Segment int  // segment index whose instances to restart or drain
	Metric  int  // metric index that points there
}

// Evidence is how much evidence the rollout has gathered.
type Evidence struct {
	Ticks                uint64  // ticks assessed
	MinPairedTicks       uint64  // fewest ticks any series had both cohorts observed
	Missing              int     // series missing in either cohort this tick
	Observed             int     // series observed in both cohorts this tick
	Sufficient           bool    // "no alarm" now means healthy, not "too early"
	MaxDetectableEffect  float64 // largest minimum detectable effect, in sd
	SequentialRejections int     // series whose sequential test rejected "no difference"
}

// Decision is what to do after a tick, and why.
type Decision struct {
	Tick           uint64 // ticks observed, this one included
	Timestamp      float64
	Action         Action
	Reason         Reason
	Phase          Phase
	Alert          Alert
	Shadow         bool    // shadow mode: apply nothing
	Risk           float64 // the tick's risk
	PredictedRisk  float64 // the risk projected ahead
	Factors        RiskFactors
	CanaryShare    float64 // the canary's share of traffic after this decision
	Allocation     Allocation
	IntervalFactor float64 // with a pause: multiply the evaluation interval by this
	Remediation    Remediation
	// NumContributors is how many contributors Analysis.Contributors returns for
	// the analysis's last decision.
	NumContributors int
	Evidence        Evidence
}

// Contributor is one reason behind a decision.
type Contributor struct {
	Source             Source
	Segment            int
	Metric             int
	Feature            int     // the metric's feature index, -1 for none
	Deviation          float64 // canary against control, in sd, signed
	DeviationVsProfile float64 // canary against the profile's forecast, in sd
	PValue             float64 // tail probability in the harmful direction
	Significant        bool    // significant this tick (Holm)
	EValue             float64 // sequential e-value since the rollout's start
	AlwaysValidP       float64 // always-valid p-value since the rollout's start
}

// Anomaly is what a detector says about one observation.
type Anomaly struct {
	Expected        float64 // the forecast made before the observation
	Residual        float64 // observation minus Expected
	Deviation       float64 // signed standardised deviation
	TailProbability float64 // calibrated two-sided tail probability; small is unusual
	Ready           bool    // whether the detector had finished warming up
}

func decisionFromC(d *C.coalmine_decision) Decision {
	return Decision{
		Tick:          uint64(d.tick),
		Timestamp:     float64(d.timestamp),
		Action:        Action(d.action),
		Reason:        Reason(d.reason),
		Phase:         Phase(d.phase),
		Alert:         Alert(d.alert),
		Shadow:        bool(d.shadow),
		Risk:          float64(d.risk),
		PredictedRisk: float64(d.predicted_risk),
		Factors: RiskFactors{
			Severity:           float64(d.factors.severity),
			Persistence:        float64(d.factors.persistence),
			SegmentWeight:      float64(d.factors.segment_weight),
			FeatureCorrelation: float64(d.factors.feature_correlation),
		},
		CanaryShare: float64(d.canary_share),
		Allocation: Allocation{
			Control:    float64(d.allocation.control),
			PerVariant: float64(d.allocation.per_variant),
			Variants:   int(d.allocation.variants),
		},
		IntervalFactor: float64(d.interval_factor),
		Remediation: Remediation{
			Present: bool(d.has_remediation),
			Segment: int(d.remediation_segment),
			Metric:  int(d.remediation_metric),
		},
		NumContributors: int(d.n_contributors),
		Evidence: Evidence{
			Ticks:                uint64(d.evidence.ticks),
			MinPairedTicks:       uint64(d.evidence.min_paired_ticks),
			Missing:              int(d.evidence.missing),
			Observed:             int(d.evidence.observed),
			Sufficient:           bool(d.evidence.sufficient),
			MaxDetectableEffect:  float64(d.evidence.max_detectable_effect),
			SequentialRejections: int(d.evidence.sequential_rejections),
		},
	}
}

func contributorFromC(c *C.coalmine_contributor) Contributor {
	feature := -1
	if c.has_feature {
		feature = int(c.feature)
	}
	return Contributor{
		Source:             Source(c.source),
		Segment:            int(c.segment),
		Metric:             int(c.metric),
		Feature:            feature,
		Deviation:          float64(c.deviation),
		DeviationVsProfile: float64(c.deviation_vs_profile),
		PValue:             float64(c.p_value),
		Significant:        bool(c.significant),
		EValue:             float64(c.e_value),
		AlwaysValidP:       float64(c.always_valid_p),
	}
}

func anomalyFromC(a *C.coalmine_anomaly) Anomaly {
	return Anomaly{
		Expected:        float64(a.expected),
		Residual:        float64(a.residual),
		Deviation:       float64(a.deviation),
		TailProbability: float64(a.tail_probability),
		Ready:           bool(a.ready),
	}
}
