//! How a rollout ended, and what the verdict rests on.
//!
//! [`crate::Analysis::verdict`] answers "if the rollout ended now, what would we
//! conclude?". Promote means *enough evidence that the canary is fine* — the traffic
//! controller reached its last step, which needs the evidence rule met — never "nothing
//! was seen". When the rollout ends without that evidence the verdict is
//! [`Verdict::Inconclusive`], with the reason and what was missing: no ticks, no canary
//! or no control data, series never observed in both cohorts, or a ramp that had not
//! finished.

use serde::{Deserialize, Serialize};

use crate::policy::Reason;
use crate::schema::{SchemaSpec, SeriesId};

/// The conclusion about a rollout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Enough evidence that the canary is fine: the ramp completed.
    Promote,
    /// The rollout ended held by a pause: the risk was elevated, not conclusive.
    Pause,
    /// Roll back: the canary is harmful (or predicted to become so).
    Rollback,
    /// Not enough evidence either way; see [`VerdictReason`] for what was missing.
    Inconclusive,
}

impl Verdict {
    /// The verdict's name as the command line and the bindings print it.
    pub fn name(self) -> &'static str {
        match self {
            Verdict::Promote => "promote",
            Verdict::Pause => "pause",
            Verdict::Rollback => "rollback",
            Verdict::Inconclusive => "inconclusive",
        }
    }
}

/// Why the verdict is what it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum VerdictReason {
    /// The traffic controller reached its last step with sufficient evidence.
    Promoted,
    /// The policy rolled back, for this reason.
    RolledBack {
        /// The rollback decision's reason (risk over `t2`, a prediction, a critical
        /// metric, a pause that lasted too long).
        because: Reason,
    },
    /// The rollout ended held by a pause, for this reason.
    Paused {
        /// The last decision's reason.
        because: Reason,
    },
    /// No tick was observed.
    NoTicks,
    /// No tick carried any canary value.
    NoCanaryData,
    /// No tick carried any control value.
    NoControlData,
    /// Some series were never observed in both cohorts on the same tick, so nothing is
    /// known about them ([`VerdictReport::unobserved`] lists them).
    SeriesNeverObserved,
    /// The ramp had not reached its last step: the evidence rule (dwell, evidence
    /// ticks, detectable effect) was not met yet.
    RampIncomplete,
}

/// A verdict with the evidence it rests on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VerdictReport {
    /// The conclusion.
    pub verdict: Verdict,
    /// Why.
    pub reason: VerdictReason,
    /// The tick at which the rollout was rolled back or promoted, if it was.
    pub decided_at: Option<u64>,
    /// Ticks observed.
    pub ticks: u64,
    /// Ticks that carried at least one canary value.
    pub canary_ticks: u64,
    /// Ticks that carried at least one control value.
    pub control_ticks: u64,
    /// The fewest ticks on which any series was observed in both cohorts.
    pub min_paired_ticks: u64,
    /// Series never observed in both cohorts on the same tick.
    pub unobserved: Vec<SeriesId>,
    /// The canary's share of traffic at the end.
    pub canary_share: f64,
    /// Whether the last tick's evidence was sufficient (every observed series could
    /// detect the target effect).
    pub evidence_sufficient: bool,
    /// The largest minimum detectable effect among observed series at the last tick,
    /// in standard deviations (`f64::MAX` before any data).
    pub max_detectable_effect: f64,
}

impl VerdictReport {
    /// One line for a person: the verdict and its reason, naming what was missing.
    pub fn explain(&self, schema: &SchemaSpec) -> String {
        let name = self.verdict.name();
        let because = match self.reason {
            VerdictReason::Promoted => format!(
                "the ramp completed at tick {} with sufficient evidence",
                self.decided_at.unwrap_or(self.ticks)
            ),
            VerdictReason::RolledBack { because } => format!(
                "{} at tick {}",
                reason_text(because),
                self.decided_at.unwrap_or(self.ticks)
            ),
            VerdictReason::Paused { because } => {
                format!("the rollout ended paused ({})", reason_text(because))
            }
            VerdictReason::NoTicks => "no tick was observed".into(),
            VerdictReason::NoCanaryData => {
                format!("none of the {} ticks had canary data", self.ticks)
            }
            VerdictReason::NoControlData => {
                format!("none of the {} ticks had control data", self.ticks)
            }
            VerdictReason::SeriesNeverObserved => {
                let names: Vec<String> = self
                    .unobserved
                    .iter()
                    .take(5)
                    .map(|id| series_name(schema, *id))
                    .collect();
                let more = self.unobserved.len().saturating_sub(names.len());
                let tail = if more > 0 {
                    format!(" and {more} more")
                } else {
                    String::new()
                };
                format!(
                    "{} series never observed in both cohorts: {}{tail}",
                    self.unobserved.len(),
                    names.join(", ")
                )
            }
            VerdictReason::RampIncomplete => format!(
                "the ramp stopped at {:.1} % canary after {} ticks, before the evidence to \
                 promote (fewest paired ticks of a series: {}; detectable effect {})",
                100.0 * self.canary_share,
                self.ticks,
                self.min_paired_ticks,
                if self.max_detectable_effect < 1e6 {
                    format!("{:.2} sd", self.max_detectable_effect)
                } else {
                    "not yet estimable".into()
                }
            ),
        };
        format!("{name}: {because}")
    }
}

fn reason_text(reason: Reason) -> &'static str {
    match reason {
        Reason::RiskLow => "risk below the pause threshold",
        Reason::RiskElevated => "risk between the pause and rollback thresholds",
        Reason::RiskHigh => "risk reached the rollback threshold",
        Reason::Predicted => "the predicted risk reached the rollback threshold",
        Reason::CriticalMetric => "a critical metric was significantly anomalous",
        Reason::PauseTimeout => "a pause lasted longer than allowed",
        Reason::AlreadyRolledBack => "already rolled back",
        Reason::NoData => "no data",
    }
}

fn series_name(schema: &SchemaSpec, id: SeriesId) -> String {
    let metric = schema
        .metrics
        .get(id.metric)
        .map_or("?", |m| m.name.as_str());
    let segment = schema
        .segments
        .get(id.segment)
        .map_or("?", |s| s.name.as_str());
    format!("{metric} in {segment}")
}
