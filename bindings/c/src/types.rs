//! The plain `#[repr(C)]` values that cross the ABI, and their conversion from the
//! core's types. Enums are only ever written by the library, never read from C, so a
//! value outside an enum's range cannot reach Rust.

use crate::core::{
    Action, AlertSeverity, Contributor, Decision, Phase, Reason, Source, Verdict, VerdictReason,
    VerdictReport,
};

/// What to do after a tick.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum coalmine_action {
    /// Keep going: set the canary's weight to `canary_share`.
    Continue = 0,
    /// Hold: set the (smaller) `canary_share`, multiply the evaluation interval by
    /// `interval_factor`, look at the remediation hint if there is one.
    Pause = 1,
    /// Send all traffic back to the stable version and raise the alert.
    Rollback = 2,
}

/// Why a decision was taken.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum coalmine_reason {
    /// The risk is below the pause threshold (or a pause has cleared).
    RiskLow = 0,
    /// The risk is between the thresholds, or a pause has not cleared yet.
    RiskElevated = 1,
    /// The risk reached the rollback threshold.
    RiskHigh = 2,
    /// The predicted risk reached the rollback threshold on consecutive ticks.
    Predicted = 3,
    /// A metric flagged critical is significantly anomalous.
    CriticalMetric = 4,
    /// A pause lasted longer than allowed.
    PauseTimeout = 5,
    /// The rollout was already rolled back.
    AlreadyRolledBack = 6,
    /// No evidence this tick (every series missing): nothing moves.
    NoData = 7,
}

/// Where the rollout stands.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum coalmine_phase {
    /// Ramping up.
    Ramping = 0,
    /// Held by a pause.
    Paused = 1,
    /// Reached the last step.
    Promoted = 2,
    /// Rolled back.
    RolledBack = 3,
}

/// The alert that comes with a rollback.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum coalmine_alert {
    /// No alert (the action is not a rollback).
    None = 0,
    /// Rolled back on a prediction: harm has not fully shown yet.
    Warning = 1,
    /// Rolled back on present evidence.
    Critical = 2,
}

/// What the rollout concludes if it ended now. Zero is "inconclusive", so that a
/// zeroed value never reads as a promotion.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum coalmine_verdict {
    /// Not enough evidence either way: see the report's reason for what was missing.
    Inconclusive = 0,
    /// Enough evidence that the canary is fine: the ramp completed.
    Promote = 1,
    /// The canary is harmful (or predicted to become so): roll back.
    Rollback = 2,
    /// Held by a pause: the risk was elevated, not conclusive.
    Pause = 3,
}

/// Why the verdict is what it is.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum coalmine_verdict_reason {
    /// The ramp reached its last step with sufficient evidence.
    Promoted = 0,
    /// The policy rolled back, for the report's `because`.
    RolledBack = 1,
    /// The rollout is held by a pause, for the report's `because`.
    Paused = 2,
    /// No tick was observed.
    NoTicks = 3,
    /// No tick carried any canary value.
    NoCanaryData = 4,
    /// No tick carried any control value.
    NoControlData = 5,
    /// Some series were never observed in both cohorts on the same tick
    /// (`coalmine_analysis_unobserved` lists them).
    SeriesNeverObserved = 6,
    /// The ramp had not reached its last step: the evidence rule was not met yet.
    RampIncomplete = 7,
}

/// A verdict with the evidence it rests on.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct coalmine_verdict_report {
    /// The conclusion.
    pub verdict: coalmine_verdict,
    /// Why.
    pub reason: coalmine_verdict_reason,
    /// Whether `because` holds the deciding decision's reason (rolled back, paused).
    pub has_because: bool,
    /// The reason of the rollback or pause decision.
    pub because: coalmine_reason,
    /// Whether `decided_at` holds the tick of the rollback or promotion.
    pub has_decided_at: bool,
    /// The tick at which the rollout was rolled back or promoted.
    pub decided_at: u64,
    /// Ticks observed.
    pub ticks: u64,
    /// Ticks that carried at least one canary value.
    pub canary_ticks: u64,
    /// Ticks that carried at least one control value.
    pub control_ticks: u64,
    /// The fewest ticks on which any series was observed in both cohorts.
    pub min_paired_ticks: u64,
    /// Series never observed in both cohorts (`coalmine_analysis_unobserved`).
    pub n_unobserved: usize,
    /// The canary's share of traffic at the end.
    pub canary_share: f64,
    /// Whether the last tick's evidence was sufficient.
    pub evidence_sufficient: bool,
    /// The largest minimum detectable effect among observed series at the last tick,
    /// in standard deviations (`DBL_MAX` before any data).
    pub max_detectable_effect: f64,
}

/// Where a contributor's evidence comes from.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum coalmine_source {
    /// One metric's canary-minus-control deviation.
    Metric = 0,
    /// A segment's joint behaviour (autoencoder); `metric` has the largest share of it.
    Joint = 1,
    /// A projected crossing of the metric's configured limit.
    Limit = 2,
}

/// The four factors of the risk, each in `[0, 1]`.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct coalmine_risk_factors {
    /// How far the behaviour deviates.
    pub severity: f64,
    /// How long it has lasted.
    pub persistence: f64,
    /// Which users: the weight of the segments with a significant anomaly.
    pub segment_weight: f64,
    /// How strongly the anomaly moves with a feature's metrics.
    pub feature_correlation: f64,
}

/// Traffic weights for an A/B or feature-flag framework; they sum to 1.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct coalmine_allocation {
    /// Share of traffic on the stable version (the control arm).
    pub control: f64,
    /// Share of traffic on each variant (all equal).
    pub per_variant: f64,
    /// Number of variants.
    pub variants: usize,
}

/// How much evidence the rollout has gathered.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct coalmine_evidence {
    /// Ticks assessed.
    pub ticks: u64,
    /// The fewest ticks on which any series had both cohorts observed.
    pub min_paired_ticks: u64,
    /// Series missing in either cohort this tick.
    pub missing: usize,
    /// Series observed in both cohorts this tick.
    pub observed: usize,
    /// Every observed series could now reject an effect of the target size: "no
    /// alarm" now means "healthy", not "not enough data yet".
    pub sufficient: bool,
    /// The largest minimum detectable effect among observed series, in standard
    /// deviations (`DBL_MAX` before any data).
    pub max_detectable_effect: f64,
    /// Series whose sequential test has rejected "no difference" in the harmful
    /// direction.
    pub sequential_rejections: usize,
}

/// What to do after a tick, and why. Contributors are read separately
/// (`coalmine_analysis_contributor`), for the analysis's last decision.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct coalmine_decision {
    /// Ticks observed, this one included.
    pub tick: u64,
    /// The tick's timestamp (0 before the first tick).
    pub timestamp: f64,
    /// What to do.
    pub action: coalmine_action,
    /// Why.
    pub reason: coalmine_reason,
    /// Where the rollout stands after this decision.
    pub phase: coalmine_phase,
    /// The alert to raise with a rollback (`COALMINE_ALERT_NONE` otherwise).
    pub alert: coalmine_alert,
    /// True when the controller only observes (shadow mode): apply nothing.
    pub shadow: bool,
    /// The tick's risk.
    pub risk: f64,
    /// The risk projected `horizon` ticks ahead.
    pub predicted_risk: f64,
    /// The four factors behind `risk`.
    pub factors: coalmine_risk_factors,
    /// The canary's (all variants') share of traffic after this decision.
    pub canary_share: f64,
    /// Weights for an A/B or feature-flag framework.
    pub allocation: coalmine_allocation,
    /// With a pause: multiply the evaluation interval by this; 1 otherwise.
    pub interval_factor: f64,
    /// With a pause: whether `remediation_segment` and `remediation_metric` point at
    /// where to look (restart or drain that segment's instances).
    pub has_remediation: bool,
    /// The segment index of the remediation hint.
    pub remediation_segment: usize,
    /// The metric index of the remediation hint.
    pub remediation_metric: usize,
    /// Contributors available through `coalmine_analysis_contributor`.
    pub n_contributors: usize,
    /// Evidence gathered so far.
    pub evidence: coalmine_evidence,
}

/// One reason behind a decision.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct coalmine_contributor {
    /// What kind of evidence.
    pub source: coalmine_source,
    /// Segment index.
    pub segment: usize,
    /// Metric index.
    pub metric: usize,
    /// Whether `feature` names the metric's feature.
    pub has_feature: bool,
    /// Feature index.
    pub feature: usize,
    /// Net deviation (canary against control) in standard deviations, signed.
    pub deviation: f64,
    /// The canary's deviation against the profile's forecast, in standard deviations.
    pub deviation_vs_profile: f64,
    /// The tail probability in the harmful direction (unadjusted).
    pub p_value: f64,
    /// Whether it is significant this tick (Holm's procedure).
    pub significant: bool,
    /// The series' sequential e-value since the start of the rollout.
    pub e_value: f64,
    /// The series' always-valid p-value since the start of the rollout.
    pub always_valid_p: f64,
}

/// What a detector says about one observation.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct coalmine_anomaly {
    /// The forecast made before the observation was seen.
    pub expected: f64,
    /// Observation minus `expected`.
    pub residual: f64,
    /// Signed standardised deviation.
    pub deviation: f64,
    /// Calibrated two-sided tail probability in `[0, 1]`; small means unusual.
    pub tail_probability: f64,
    /// Whether the detector had finished warming up before this observation.
    pub ready: bool,
}

impl From<Reason> for coalmine_reason {
    fn from(r: Reason) -> Self {
        match r {
            Reason::RiskLow => coalmine_reason::RiskLow,
            Reason::RiskElevated => coalmine_reason::RiskElevated,
            Reason::RiskHigh => coalmine_reason::RiskHigh,
            Reason::Predicted => coalmine_reason::Predicted,
            Reason::CriticalMetric => coalmine_reason::CriticalMetric,
            Reason::PauseTimeout => coalmine_reason::PauseTimeout,
            Reason::AlreadyRolledBack => coalmine_reason::AlreadyRolledBack,
            Reason::NoData => coalmine_reason::NoData,
        }
    }
}

impl From<Phase> for coalmine_phase {
    fn from(p: Phase) -> Self {
        match p {
            Phase::Ramping => coalmine_phase::Ramping,
            Phase::Paused => coalmine_phase::Paused,
            Phase::Promoted => coalmine_phase::Promoted,
            Phase::RolledBack => coalmine_phase::RolledBack,
        }
    }
}

impl From<&VerdictReport> for coalmine_verdict_report {
    fn from(r: &VerdictReport) -> Self {
        let verdict = match r.verdict {
            Verdict::Inconclusive => coalmine_verdict::Inconclusive,
            Verdict::Promote => coalmine_verdict::Promote,
            Verdict::Rollback => coalmine_verdict::Rollback,
            Verdict::Pause => coalmine_verdict::Pause,
        };
        let (reason, because) = match r.reason {
            VerdictReason::Promoted => (coalmine_verdict_reason::Promoted, None),
            VerdictReason::RolledBack { because } => {
                (coalmine_verdict_reason::RolledBack, Some(because))
            }
            VerdictReason::Paused { because } => (coalmine_verdict_reason::Paused, Some(because)),
            VerdictReason::NoTicks => (coalmine_verdict_reason::NoTicks, None),
            VerdictReason::NoCanaryData => (coalmine_verdict_reason::NoCanaryData, None),
            VerdictReason::NoControlData => (coalmine_verdict_reason::NoControlData, None),
            VerdictReason::SeriesNeverObserved => {
                (coalmine_verdict_reason::SeriesNeverObserved, None)
            }
            VerdictReason::RampIncomplete => (coalmine_verdict_reason::RampIncomplete, None),
        };
        coalmine_verdict_report {
            verdict,
            reason,
            has_because: because.is_some(),
            because: because.map_or(coalmine_reason::NoData, Into::into),
            has_decided_at: r.decided_at.is_some(),
            decided_at: r.decided_at.unwrap_or(0),
            ticks: r.ticks,
            canary_ticks: r.canary_ticks,
            control_ticks: r.control_ticks,
            min_paired_ticks: r.min_paired_ticks,
            n_unobserved: r.unobserved.len(),
            canary_share: r.canary_share,
            evidence_sufficient: r.evidence_sufficient,
            max_detectable_effect: r.max_detectable_effect,
        }
    }
}

impl From<&Decision> for coalmine_decision {
    fn from(d: &Decision) -> Self {
        let a = &d.assessment;
        let (action, alert, interval_factor, remediation) = match &d.action {
            Action::Continue => (coalmine_action::Continue, coalmine_alert::None, 1.0, None),
            Action::Pause {
                interval_factor,
                remediation,
                ..
            } => (
                coalmine_action::Pause,
                coalmine_alert::None,
                *interval_factor,
                *remediation,
            ),
            Action::Rollback { alert } => (
                coalmine_action::Rollback,
                match alert.severity {
                    AlertSeverity::Warning => coalmine_alert::Warning,
                    AlertSeverity::Critical => coalmine_alert::Critical,
                },
                1.0,
                None,
            ),
        };
        let e = &a.evidence;
        coalmine_decision {
            tick: d.tick,
            timestamp: d.timestamp,
            action,
            reason: d.reason.into(),
            phase: d.phase.into(),
            alert,
            shadow: d.shadow,
            risk: a.risk,
            predicted_risk: a.predicted_risk,
            factors: coalmine_risk_factors {
                severity: a.factors.severity,
                persistence: a.factors.persistence,
                segment_weight: a.factors.segment_weight,
                feature_correlation: a.factors.feature_correlation,
            },
            canary_share: d.canary_share,
            allocation: coalmine_allocation {
                control: d.allocation.control,
                per_variant: d.allocation.per_variant,
                variants: d.allocation.variants,
            },
            interval_factor,
            has_remediation: remediation.is_some(),
            remediation_segment: remediation.map_or(0, |r| r.segment),
            remediation_metric: remediation.map_or(0, |r| r.metric),
            n_contributors: a.contributors.len(),
            evidence: coalmine_evidence {
                ticks: e.ticks,
                min_paired_ticks: e.min_paired_ticks,
                missing: e.missing,
                observed: e.observed,
                sufficient: e.sufficient,
                max_detectable_effect: e.max_detectable_effect,
                sequential_rejections: e.sequential_rejections,
            },
        }
    }
}

impl From<&Contributor> for coalmine_contributor {
    fn from(c: &Contributor) -> Self {
        coalmine_contributor {
            source: match c.source {
                Source::Metric => coalmine_source::Metric,
                Source::Joint => coalmine_source::Joint,
                Source::Limit => coalmine_source::Limit,
            },
            segment: c.segment,
            metric: c.metric,
            has_feature: c.feature.is_some(),
            feature: c.feature.unwrap_or(0),
            deviation: c.deviation,
            deviation_vs_profile: c.deviation_vs_profile,
            p_value: c.p_value,
            significant: c.significant,
            e_value: c.e_value,
            always_valid_p: c.always_valid_p,
        }
    }
}
