//! One rollout in progress: profile, detectors, risk, policy and traffic together.
//!
//! `Analysis::observe(tick)` takes one tick — a timestamp and, per cohort, the dense
//! `segments × metrics` values — and returns the [`Decision`] with the
//! [`RiskAssessment`] behind it. The analysis does no I/O and reads no clock: time
//! comes in with the tick. A rejected tick (non-finite or non-increasing timestamp,
//! wrong lengths, impossible values) leaves it unchanged and usable. Its whole state
//! checkpoints to JSON and a restored analysis continues with bit-identical decisions.

use serde::{Deserialize, Serialize};

use crate::Error;
use crate::feedback::Outcome;
use crate::policy::{Action, AlertSeverity, DecisionPolicy, PolicyConfig, Reason};
use crate::profile::BehaviorProfile;
use crate::risk::{RiskAssessment, RiskConfig, RiskEngine, Source};
use crate::schema::SchemaSpec;
use crate::traffic::{Allocation, Phase, TrafficConfig, TrafficController};

/// The format name written into every checkpoint.
pub const CHECKPOINT_FORMAT: &str = "coalmine-analysis";
/// The checkpoint format version this build reads and writes.
pub const CHECKPOINT_VERSION: u64 = 1;

/// Settings of an analysis.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AnalysisConfig {
    /// How risk is computed.
    pub risk: RiskConfig,
    /// How risk becomes an action.
    pub policy: PolicyConfig,
    /// How actions move traffic.
    pub traffic: TrafficConfig,
    /// Use the thresholds learnt from past outcomes (kept in the profile) instead of
    /// `policy.pause_at` / `policy.rollback_at`, once any outcome has been recorded.
    pub learned_thresholds: bool,
}

impl Default for AnalysisConfig {
    fn default() -> Self {
        AnalysisConfig {
            risk: RiskConfig::default(),
            policy: PolicyConfig::default(),
            traffic: TrafficConfig::default(),
            learned_thresholds: true,
        }
    }
}

/// One tick of a live rollout.
#[derive(Debug, Clone, Copy)]
pub struct Tick<'a> {
    /// Seconds (any epoch), strictly increasing from tick to tick.
    pub timestamp: f64,
    /// The control (baseline) cohort: `values[s * n_metrics + m]`, NaN for missing.
    pub control: &'a [f64],
    /// The canary cohort, laid out the same way.
    pub canary: &'a [f64],
}

/// What to do after a tick, and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Decision {
    /// Ticks observed, this one included.
    pub tick: u64,
    /// The tick's timestamp (0 before the first tick).
    pub timestamp: f64,
    /// What to do.
    pub action: Action,
    /// Why.
    pub reason: Reason,
    /// The canary's (all variants') share of traffic after this decision.
    pub canary_share: f64,
    /// Weights for an A/B or feature-flag framework.
    pub allocation: Allocation,
    /// Where the rollout stands.
    pub phase: Phase,
    /// True when the controller only observes (shadow mode): apply nothing.
    pub shadow: bool,
    /// The assessment behind the decision.
    pub assessment: RiskAssessment,
}

/// One rollout in progress. See the [module documentation](self).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Analysis {
    format: String,
    version: u64,
    schema: SchemaSpec,
    config: AnalysisConfig,
    risk: RiskEngine,
    policy: DecisionPolicy,
    traffic: TrafficController,
    last_timestamp: Option<f64>,
    ticks: u64,
    peak_risk: f64,
    decision: Decision,
}

impl Analysis {
    /// Starts analysing a rollout against `profile`.
    pub fn new(profile: &BehaviorProfile, config: AnalysisConfig) -> Result<Self, Error> {
        let mut policy_config = config.policy;
        if config.learned_thresholds && profile.feedback().recorded() > 0 {
            let (t1, t2) = profile.feedback().thresholds();
            policy_config.pause_at = t1;
            policy_config.rollback_at = t2;
        }
        let policy = DecisionPolicy::new(policy_config)?;
        let traffic = TrafficController::new(config.traffic.clone())?;
        let risk = RiskEngine::new(profile, config.risk)?;
        let decision = Decision {
            tick: 0,
            timestamp: 0.0,
            action: Action::Continue,
            reason: Reason::NoData,
            canary_share: traffic.share(),
            allocation: traffic.allocation(),
            phase: traffic.phase(),
            shadow: matches!(config.traffic.mode, crate::traffic::TrafficMode::Shadow),
            assessment: RiskAssessment {
                contributors: Vec::with_capacity(config.risk.max_contributors + 1),
                ..RiskAssessment::default()
            },
        };
        Ok(Analysis {
            format: CHECKPOINT_FORMAT.into(),
            version: CHECKPOINT_VERSION,
            schema: profile.schema_spec().clone(),
            config,
            risk,
            policy,
            traffic,
            last_timestamp: None,
            ticks: 0,
            peak_risk: 0.0,
            decision,
        })
    }

    /// Observes one tick and decides.
    pub fn observe(&mut self, tick: &Tick<'_>) -> Result<&Decision, Error> {
        let ts = tick.timestamp;
        if !ts.is_finite() {
            return Err(Error::NonFinite {
                what: "tick timestamp",
                value: ts,
            });
        }
        if let Some(last) = self.last_timestamp {
            if ts <= last {
                return Err(Error::Timestamp { last, got: ts });
            }
        }
        // The risk engine validates the values and changes nothing on error.
        let assessment = self.risk.assess(tick.control, tick.canary)?;
        let (mut action, reason) = self.policy.decide(assessment);
        // Steps advance on ticks with data, full promotion only on sufficient evidence.
        let paired = assessment.evidence.observed > 0;
        let sufficient = assessment.evidence.sufficient;
        self.traffic.apply(
            &action,
            paired,
            sufficient,
            self.policy.config().shrink_factor,
        );
        if let Action::Pause { canary_share, .. } = &mut action {
            *canary_share = self.traffic.share();
        }
        self.last_timestamp = Some(ts);
        self.ticks += 1;
        self.peak_risk = self.peak_risk.max(assessment.risk);
        let d = &mut self.decision;
        d.tick = self.ticks;
        d.timestamp = ts;
        d.action = action;
        d.reason = reason;
        d.canary_share = self.traffic.share();
        d.allocation = self.traffic.allocation();
        d.phase = self.traffic.phase();
        // Reuses the contributor buffer: no allocation per tick.
        d.assessment.copy_from(assessment);
        Ok(&self.decision)
    }

    /// The last decision.
    pub fn decision(&self) -> &Decision {
        &self.decision
    }

    /// The highest risk seen so far (what feedback records).
    pub fn peak_risk(&self) -> f64 {
        self.peak_risk
    }

    /// Ticks observed.
    pub fn ticks(&self) -> u64 {
        self.ticks
    }

    /// The policy's thresholds in use, `(t1, t2)`.
    pub fn thresholds(&self) -> (f64, f64) {
        let c = self.policy.config();
        (c.pause_at, c.rollback_at)
    }

    /// The risk engine (per-series state, for folding into a profile).
    pub fn risk_engine(&self) -> &RiskEngine {
        &self.risk
    }

    /// The outcome this rollout would be recorded with if the release turned out
    /// `truly_bad` or not.
    pub fn outcome(&self, truly_bad: bool) -> Outcome {
        match (self.policy.rolled_back(), truly_bad) {
            (true, true) => Outcome::RolledBackTrulyBad,
            (true, false) => Outcome::RolledBackFalseAlarm,
            (false, false) => Outcome::PromotedHealthy,
            (false, true) => Outcome::PromotedLaterBad,
        }
    }

    /// A one-line human summary of the last decision, naming its top contributor.
    pub fn summary(&self) -> String {
        let d = &self.decision;
        let spec = &self.schema;
        let what = match d.action {
            Action::Continue => "continue".to_string(),
            Action::Pause { .. } => format!("pause at {:.1} % canary", 100.0 * d.canary_share),
            Action::Rollback { alert } => match alert.severity {
                AlertSeverity::Warning => "ROLL BACK (predicted)".to_string(),
                AlertSeverity::Critical => "ROLL BACK".to_string(),
            },
        };
        let mut line = format!(
            "tick {}: {what} — risk {:.2} (predicted {:.2}), {:?}",
            d.tick, d.assessment.risk, d.assessment.predicted_risk, d.reason
        );
        if let Some(c) = d.assessment.contributors.first() {
            let metric = spec.metrics.get(c.metric).map_or("?", |m| m.name.as_str());
            let segment = spec
                .segments
                .get(c.segment)
                .map_or("?", |s| s.name.as_str());
            let kind = match c.source {
                Source::Metric => "",
                Source::Joint => " (joint behaviour)",
                Source::Limit => " (heading for its limit)",
            };
            line.push_str(&format!(
                "; top: {metric} in {segment}{kind}, {:+.1} sd vs control, p = {:.1e}",
                c.deviation, c.p_value
            ));
        }
        line
    }

    /// Serialises the whole state.
    pub fn checkpoint(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Restores a checkpoint made by [`Analysis::checkpoint`].
    pub fn restore(text: &str) -> Result<Self, Error> {
        crate::profile::check_header(
            text,
            crate::profile::Document::Checkpoint,
            CHECKPOINT_FORMAT,
            CHECKPOINT_VERSION,
            "checkpoint bytes",
        )?;
        let a: Analysis = serde_json::from_str(text).map_err(|e| Error::CorruptCheckpoint {
            reason: e.to_string(),
        })?;
        a.policy.config().validate()?;
        TrafficController::new(a.traffic.config().clone())?;
        Ok(a)
    }
}
