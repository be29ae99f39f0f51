//! One rollout in progress: profile, detectors, risk, policy and traffic together.
//!
//! `Analysis::observe(tick)` takes one tick — a timestamp and, per cohort, the dense
//! `segments × metrics` values — and returns the [`Decision`] with the
//! [`RiskAssessment`] behind it. The analysis does no I/O and reads no clock: time
//! comes in with the tick. A rejected tick (non-finite or non-increasing timestamp,
//! wrong lengths, impossible values) leaves it unchanged and usable. Its whole state
//! checkpoints to JSON and a restored analysis continues with bit-identical decisions.
//!
//! [`Analysis::verdict`] says what the rollout concluded and what that rests on
//! ([`crate::verdict`]): promotion needs the ramp completed — which needs sufficient
//! evidence and every series observed in both cohorts at least once — and a rollout
//! that ends without it is inconclusive. Promotion is terminal: after it, `observe`
//! refuses ticks with [`Error::Finished`]. A rolled-back analysis keeps assessing (its
//! decisions say `AlreadyRolledBack`), so a caller may watch a rolled-back canary
//! drain, but its verdict stays `Rollback`.

use serde::{Deserialize, Serialize};

use crate::detect::AnomalyDetector;
use crate::duration::{MAX_HORIZON_TICKS, to_ticks};
pub use crate::duration::{MAX_SETTING_SECONDS, MAX_TICK_SECONDS};
use crate::feedback::{Outcome, Thresholds};
use crate::persist::{Document, check_header_versions};
use crate::policy::{Action, AlertSeverity, DecisionPolicy, PolicyConfig, Reason, Ruling};
use crate::profile::BehaviorProfile;
use crate::risk::{Cohorts, RiskAssessment, RiskConfig, RiskEngine, Source};
use crate::schema::{SchemaSpec, SeriesId};
use crate::traffic::{Allocation, Phase, TrafficConfig, TrafficController, TrafficMode};
use crate::verdict::{Verdict, VerdictReason, VerdictReport};
use crate::{Error, Interval};

/// The format name written into every checkpoint.
pub const CHECKPOINT_FORMAT: &str = "coalmine-analysis";
/// The checkpoint format version this build reads and writes. Version 2 named the
/// series of a breach (`{segment, metric}` objects instead of arrays); version 3 moved
/// `shrink_factor` from the policy to the traffic settings and dropped the pause's copy
/// of the canary share; version 5 added each series' accumulated evidence and
/// reference cohort sizes; version 6 added each metric's evidence pooled across
/// segments, the policy's `require_confirmation`, the durations in seconds beside
/// their tick counts in the embedded settings, and holds the evidence as mantissas and
/// binary exponents instead of logarithms; version 7 added each counted ratio's
/// dispersion relative to binomial sampling and no longer stores each series'
/// sequential e-value and p-value beside its sequential test (they are read from the
/// test when a contributor reports them). A version 6 checkpoint is restored with the
/// dispersion starting afresh from its prior, as at a rollout's first tick, and its
/// stored sequential values ignored. Checkpoints older than version 6 are refused with
/// [`Error::CheckpointVersion`] (a version 5 analysis has no pooled evidence to
/// continue from).
pub const CHECKPOINT_VERSION: u64 = 7;

/// The oldest checkpoint version this build restores.
const OLDEST_CHECKPOINT_VERSION: u64 = 6;

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
    /// Adjust `policy.pause_at` / `policy.rollback_at` by the outcomes recorded in the
    /// profile ([`crate::Feedback::thresholds`]: nothing moves before a minimum number
    /// of outcomes, and only within bounds around the configured values). Turn it off
    /// to use the configured thresholds exactly.
    pub learned_thresholds: bool,
    /// The live tick interval in seconds, for converting the settings given in
    /// seconds when the profile does not know its own (a profile learnt without
    /// timestamps). The profile's learnt interval wins: its detectors and seasons were
    /// fitted at that rate, so the live ticks must come at it too. With neither, every
    /// setting keeps its tick count. See [`AnalysisConfig::at_interval`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tick_seconds: Option<f64>,
}

impl Default for AnalysisConfig {
    fn default() -> Self {
        AnalysisConfig {
            risk: RiskConfig::default(),
            policy: PolicyConfig::default(),
            traffic: TrafficConfig::default(),
            learned_thresholds: true,
            tick_seconds: None,
        }
    }
}

impl AnalysisConfig {
    /// Checks the risk, policy and traffic settings and the tick interval.
    pub fn validate(&self) -> Result<(), Error> {
        if let Some(t) = self.tick_seconds {
            if !(t.is_finite() && t > 0.0 && t <= MAX_TICK_SECONDS) {
                return Err(Error::param(
                    "tick_seconds",
                    t,
                    "must be finite, > 0 and at most a week",
                ));
            }
        }
        self.risk.validate()?;
        self.policy.validate()?;
        self.traffic.validate()
    }

    /// The settings with every duration given in seconds converted to ticks of
    /// `interval` seconds: the tick fields (`traffic.min_dwell_ticks`,
    /// `policy.resume_ticks`, `policy.max_pause_ticks`, `risk.horizon`) then hold the
    /// counts the analysis works with, and the seconds stay beside them as given.
    /// A setting without its time form, or an unknown interval (`None`), keeps its
    /// tick count. Each converted count is rounded to the nearest tick and held to a
    /// floor where the statistics need one (see the fields). [`Analysis::new`] calls
    /// this once with the profile's interval, else [`AnalysisConfig::tick_seconds`].
    pub fn at_interval(&self, interval: Option<f64>) -> Result<AnalysisConfig, Error> {
        self.validate()?;
        let mut c = self.clone();
        let Some(interval) = interval else {
            return Ok(c);
        };
        let u32_max = f64::from(u32::MAX);
        let t = &mut c.traffic;
        if let Some(s) = t.min_dwell_seconds {
            // A step also needs `min_evidence_ticks` paired ticks, whatever the clock
            // says; that gate is separate, so one tick is the dwell's own floor.
            t.min_dwell_ticks = to_ticks("min_dwell_seconds", s, interval, 1.0, u32_max)? as u32;
        }
        let p = &mut c.policy;
        if let Some(s) = p.resume_seconds {
            // One quiet tick is noise: a pause clears after two at the least.
            p.resume_ticks = to_ticks("resume_seconds", s, interval, 2.0, u32_max)? as u32;
        }
        if let Some(s) = p.max_pause_seconds {
            // 0 keeps its meaning (never); otherwise the pause must be able to clear
            // before it times out.
            p.max_pause_ticks = if s == 0.0 {
                0
            } else {
                let floor = f64::from(p.resume_ticks) + 1.0;
                to_ticks("max_pause_seconds", s, interval, floor, u32_max)? as u32
            };
        }
        let r = &mut c.risk;
        if let Some(s) = r.horizon_seconds {
            r.horizon = to_ticks("horizon_seconds", s, interval, 1.0, MAX_HORIZON_TICKS)? as usize;
        }
        c.validate()?;
        Ok(c)
    }
}

/// What the profile expects of one series, for charts and explanations: the
/// detector that follows the control cohort, seen from outside.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SeriesView {
    /// The forecast of the series' next value (what normal looks like next tick).
    pub expected: f64,
    /// The one-step prediction-error standard deviation around `expected`.
    pub scale: f64,
    /// The canary's smoothed level so far; `None` before the canary was observed.
    pub canary_level: Option<f64>,
    /// Whether the series' detector has finished warming up.
    pub ready: bool,
}

impl SeriesView {
    /// The band `expected ± k · scale`.
    pub fn band(&self, k: f64) -> Interval {
        Interval {
            lower: self.expected - k * self.scale,
            upper: self.expected + k * self.scale,
        }
    }
}

/// One tick of a live rollout.
///
/// Counts are optional. With them, each value says how much evidence it carries: the
/// requests behind an error ratio, the users or sessions behind a mean. A count of 0
/// means the value rests on nothing and is treated as missing (whatever the value
/// says); NaN means the count is unknown and the value is used as without counts.
/// Counts must be finite and `>= 0` ([`Error::InvalidCount`]) and laid out like the
/// values ([`Error::LengthMismatch`]); fractional counts are accepted (an average
/// number of users over the tick, say).
#[derive(Debug, Clone, Copy)]
pub struct Tick<'a> {
    /// Seconds (any epoch), strictly increasing from tick to tick.
    pub timestamp: f64,
    /// The control (baseline) cohort: `values[s * n_metrics + m]`, NaN for missing.
    pub control: &'a [f64],
    /// The canary cohort, laid out the same way.
    pub canary: &'a [f64],
    /// Optional: the count behind each control value (requests for a ratio, users or
    /// sessions for a mean), same layout as `control`; NaN = unknown.
    pub control_counts: Option<&'a [f64]>,
    /// Optional: the count behind each canary value, same layout as `canary`.
    pub canary_counts: Option<&'a [f64]>,
}

impl<'a> Tick<'a> {
    /// A tick without counts.
    pub fn new(timestamp: f64, control: &'a [f64], canary: &'a [f64]) -> Self {
        Tick {
            timestamp,
            control,
            canary,
            control_counts: None,
            canary_counts: None,
        }
    }

    /// The same tick with the count behind each value of each cohort.
    pub fn with_counts(self, control_counts: &'a [f64], canary_counts: &'a [f64]) -> Self {
        Tick {
            control_counts: Some(control_counts),
            canary_counts: Some(canary_counts),
            ..self
        }
    }
}

/// Many ticks for [`Analysis::observe_batch`], as flat arrays: tick `i` is
/// `timestamps[i]` with row `i` of `control` and `canary` (`values[i * tick_len +
/// s * n_metrics + m]`, so each holds `timestamps.len() × tick_len` values), and
/// optionally row `i` of the counts, laid out the same way (see [`Tick`] for what
/// counts mean). Nothing is copied: the rows are slices of these arrays.
#[derive(Debug, Clone, Copy)]
pub struct TickBatch<'a> {
    /// Seconds (any epoch), strictly increasing, after the analysis's last tick.
    pub timestamps: &'a [f64],
    /// The control cohort's rows, one after another.
    pub control: &'a [f64],
    /// The canary cohort's rows, one after another.
    pub canary: &'a [f64],
    /// Optional: the counts behind `control`, same layout.
    pub control_counts: Option<&'a [f64]>,
    /// Optional: the counts behind `canary`, same layout.
    pub canary_counts: Option<&'a [f64]>,
}

impl<'a> TickBatch<'a> {
    /// A batch without counts.
    pub fn new(timestamps: &'a [f64], control: &'a [f64], canary: &'a [f64]) -> Self {
        TickBatch {
            timestamps,
            control,
            canary,
            control_counts: None,
            canary_counts: None,
        }
    }

    /// The same batch with the count behind each value of each cohort.
    pub fn with_counts(self, control_counts: &'a [f64], canary_counts: &'a [f64]) -> Self {
        TickBatch {
            control_counts: Some(control_counts),
            canary_counts: Some(canary_counts),
            ..self
        }
    }

    /// Every array holds one row of `row` values per timestamp.
    fn check_layout(&self, row: usize) -> Result<(), Error> {
        let expected = self.timestamps.len().saturating_mul(row);
        let arrays = [
            ("control ticks", Some(self.control)),
            ("canary ticks", Some(self.canary)),
            ("control counts", self.control_counts),
            ("canary counts", self.canary_counts),
        ];
        for (what, values) in arrays {
            if let Some(v) = values.filter(|v| v.len() != expected) {
                return Err(Error::LengthMismatch {
                    what,
                    expected,
                    got: v.len(),
                });
            }
        }
        Ok(())
    }

    /// Tick `i`, rows of `row` values; [`check_layout`](Self::check_layout) holds.
    fn tick(&self, i: usize, row: usize) -> Tick<'a> {
        let rows = |v: &'a [f64]| &v[i * row..(i + 1) * row];
        Tick {
            timestamp: self.timestamps[i],
            control: rows(self.control),
            canary: rows(self.canary),
            control_counts: self.control_counts.map(rows),
            canary_counts: self.canary_counts.map(rows),
        }
    }
}

/// How [`Analysis::observe_batch`] ends besides the end of the batch (it always stops
/// after the tick that promotes the rollout).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BatchOptions {
    /// Stop after the first tick whose decision is a rollback (what a deployer that
    /// acts on the rollback does: the later ticks would not have been collected).
    pub stop_at_rollback: bool,
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
///
/// Deserialising (which [`Analysis::restore`] does) validates the whole state, so a
/// restored analysis is ready for its next tick.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(try_from = "AnalysisState")]
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
    tally: Tally,
    decision: Decision,
}

/// What the verdict needs beyond the last decision: how much data was seen, and when
/// the rollout was decided.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Tally {
    /// Ticks with at least one canary value.
    canary_ticks: u64,
    /// Ticks with at least one control value.
    control_ticks: u64,
    /// The first rollback: its tick and reason.
    rolled_back: Option<(u64, Reason)>,
    /// The tick at which the ramp completed.
    promoted_at: Option<u64>,
}

/// The serialised form of an [`Analysis`], validated before it becomes one.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AnalysisState {
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
    tally: Tally,
    decision: Decision,
}

impl TryFrom<AnalysisState> for Analysis {
    type Error = Error;

    /// The parts validate themselves as they are read; this checks that they belong
    /// together.
    fn try_from(s: AnalysisState) -> Result<Self, Error> {
        if s.format != CHECKPOINT_FORMAT {
            return Err(Error::CorruptCheckpoint {
                reason: format!("format is {:?}, expected {CHECKPOINT_FORMAT:?}", s.format),
            });
        }
        if !(OLDEST_CHECKPOINT_VERSION..=CHECKPOINT_VERSION).contains(&s.version) {
            return Err(Error::CheckpointVersion {
                found: s.version,
                supported: CHECKPOINT_VERSION,
            });
        }
        s.config.validate()?;
        if s.risk.schema_spec() != &s.schema {
            return Err(Error::SchemaMismatch {
                reason: "the risk state was made for another schema than the analysis".into(),
            });
        }
        let mismatch = |what: &'static str| {
            Err(Error::param(
                what,
                0.0,
                "the state's settings differ from the analysis configuration",
            ))
        };
        if s.risk.config() != &s.config.risk {
            return mismatch("risk");
        }
        if s.traffic.config() != &s.config.traffic {
            return mismatch("traffic");
        }
        if s.risk.ticks() != s.ticks || s.decision.tick != s.ticks {
            return Err(Error::param(
                "ticks",
                s.ticks as f64,
                "the analysis, its risk state and its last decision count different ticks",
            ));
        }
        if s.peak_risk.is_nan() || s.peak_risk < 0.0 {
            return Err(Error::param("peak_risk", s.peak_risk, "must be >= 0"));
        }
        let t = &s.tally;
        let within = |tick: Option<u64>| tick.is_none_or(|k| (1..=s.ticks).contains(&k));
        if t.canary_ticks > s.ticks
            || t.control_ticks > s.ticks
            || !within(t.rolled_back.map(|r| r.0))
            || !within(t.promoted_at)
            || t.promoted_at.is_some() != (s.traffic.phase() == Phase::Promoted)
        {
            return Err(Error::CorruptCheckpoint {
                reason: "the data tally does not fit the ticks and phase of the analysis".into(),
            });
        }
        let mut decision = s.decision;
        // The decision reuses this buffer every tick: give it its full size now, so
        // that the first tick after a restore allocates nothing either.
        let mut contributors = Vec::with_capacity(s.config.risk.max_contributors + 1);
        contributors.extend_from_slice(&decision.assessment.contributors);
        decision.assessment.contributors = contributors;
        Ok(Analysis {
            format: s.format,
            // Restored, the state is this build's: it is written back as such.
            version: CHECKPOINT_VERSION,
            schema: s.schema,
            config: s.config,
            risk: s.risk,
            policy: s.policy,
            traffic: s.traffic,
            last_timestamp: s.last_timestamp,
            ticks: s.ticks,
            peak_risk: s.peak_risk,
            tally: s.tally,
            decision,
        })
    }
}

impl Analysis {
    /// Starts analysing a rollout against `profile`.
    pub fn new(profile: &BehaviorProfile, config: AnalysisConfig) -> Result<Self, Error> {
        // Converted once: the analysis, its checkpoints and its parts work in ticks.
        let config = config.at_interval(profile.tick_interval().or(config.tick_seconds))?;
        let mut policy_config = config.policy;
        if config.learned_thresholds {
            let learnt = profile.feedback().thresholds(Thresholds {
                pause_at: policy_config.pause_at,
                rollback_at: policy_config.rollback_at,
            });
            policy_config.pause_at = learnt.pause_at;
            policy_config.rollback_at = learnt.rollback_at;
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
            shadow: matches!(config.traffic.mode, TrafficMode::Shadow),
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
            tally: Tally::default(),
            decision,
        })
    }

    /// Observes one tick and decides. After promotion the analysis is over and every
    /// tick is refused with [`Error::Finished`].
    pub fn observe(&mut self, tick: &Tick<'_>) -> Result<&Decision, Error> {
        self.check_tick(tick, self.last_timestamp)?;
        self.apply(tick);
        Ok(&self.decision)
    }

    /// Observes the ticks of `batch` in order, as [`observe`](Self::observe) would one
    /// after the other, and calls `each` with the analysis after each tick (its
    /// [`decision`](Self::decision) is that tick's; nothing is copied unless `each`
    /// copies it). Returns how many ticks were observed: all of them, or fewer when
    /// the batch stopped early, after the tick that promoted the rollout (promotion is
    /// final: the later ticks would be refused with [`Error::Finished`]) or, with
    /// [`BatchOptions::stop_at_rollback`], after the first rollback decision.
    ///
    /// The batch is atomic. Every tick is checked before any is applied — layout,
    /// finiteness, the metrics' kinds, counts, strictly increasing timestamps, and
    /// [`Error::Finished`] for an analysis promoted before the batch — so a refused
    /// tick leaves the analysis exactly as it was and `each` is never called. Arrays
    /// that are not `timestamps.len()` rows of the schema's tick length are
    /// [`Error::LengthMismatch`]; a refused tick is [`Error::Batch`] with its index and
    /// the reason [`observe`](Self::observe) would have given. The decisions are
    /// exactly those of [`observe`](Self::observe), and nothing is allocated per tick.
    pub fn observe_batch(
        &mut self,
        batch: &TickBatch<'_>,
        options: BatchOptions,
        mut each: impl FnMut(&Analysis),
    ) -> Result<usize, Error> {
        let n = batch.timestamps.len();
        let row = self.schema.metrics.len() * self.schema.segments.len();
        batch.check_layout(row)?;
        let at = |index: usize| {
            move |e: Error| Error::Batch {
                index,
                error: Box::new(e),
            }
        };
        let mut last = self.last_timestamp;
        for i in 0..n {
            let tick = batch.tick(i, row);
            self.check_tick(&tick, last).map_err(at(i))?;
            last = Some(tick.timestamp);
        }
        for i in 0..n {
            // `check_tick` accepted every tick: applying one cannot fail.
            self.apply(&batch.tick(i, row));
            each(self);
            let d = &self.decision;
            if d.phase == Phase::Promoted
                || (options.stop_at_rollback && matches!(d.action, Action::Rollback { .. }))
            {
                return Ok(i + 1);
            }
        }
        Ok(n)
    }

    /// Every reason to refuse `tick` after a tick at `last`, changing nothing: the
    /// rollout promoted, the timestamp, and the values and counts as the risk engine
    /// checks them. [`Analysis::observe_batch`] runs it over a whole batch before
    /// applying any of it, which is what makes the batch atomic without a copy of the
    /// analysis.
    fn check_tick(&self, tick: &Tick<'_>, last: Option<f64>) -> Result<(), Error> {
        if let Some(at) = self.tally.promoted_at {
            return Err(Error::Finished { tick: at });
        }
        let ts = tick.timestamp;
        if !ts.is_finite() {
            return Err(Error::NonFinite {
                what: "tick timestamp",
                value: ts,
            });
        }
        if let Some(last) = last {
            if ts <= last {
                return Err(Error::Timestamp { last, got: ts });
            }
        }
        self.risk.check_cohorts(&self.cohorts(tick))
    }

    /// The tick as the risk engine reads it, with the share in force during the tick
    /// (the one the last decision set).
    fn cohorts<'a>(&self, tick: &Tick<'a>) -> Cohorts<'a> {
        Cohorts {
            control: tick.control,
            canary: tick.canary,
            control_counts: tick.control_counts,
            canary_counts: tick.canary_counts,
            canary_share: self.traffic.share(),
        }
    }

    /// Observes a tick [`check_tick`](Self::check_tick) accepted.
    fn apply(&mut self, tick: &Tick<'_>) {
        let cohorts = self.cohorts(tick);
        let assessment = self.risk.assess_checked(&cohorts);
        let Ruling { action, reason } = self.policy.decide(assessment);
        // Steps advance on ticks with data, full promotion only on sufficient evidence.
        let paired = assessment.evidence.observed > 0;
        // A series never observed in both cohorts is not evidence of health: it holds
        // the ramp below its last step.
        let sufficient = assessment.evidence.sufficient && assessment.evidence.min_paired_ticks > 0;
        self.traffic.apply(action.level(), paired, sufficient);
        let ts = tick.timestamp;
        self.last_timestamp = Some(ts);
        self.ticks += 1;
        self.peak_risk = self.peak_risk.max(assessment.risk);
        let t = &mut self.tally;
        t.canary_ticks += any_value(tick.canary, tick.canary_counts) as u64;
        t.control_ticks += any_value(tick.control, tick.control_counts) as u64;
        if matches!(action, Action::Rollback { .. }) && t.rolled_back.is_none() {
            t.rolled_back = Some((self.ticks, reason));
        }
        if self.traffic.phase() == Phase::Promoted && t.promoted_at.is_none() {
            t.promoted_at = Some(self.ticks);
        }
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
    }

    /// The last decision.
    pub fn decision(&self) -> &Decision {
        &self.decision
    }

    /// What the rollout concluded if it ended now, and the evidence it rests on (see
    /// [`crate::verdict`]).
    pub fn verdict(&self) -> VerdictReport {
        let d = &self.decision;
        let t = &self.tally;
        let nm = self.schema.metrics.len().max(1);
        let unobserved: Vec<SeriesId> = self
            .risk
            .paired_ticks()
            .enumerate()
            .filter(|(_, n)| *n == 0)
            .map(|(i, _)| SeriesId {
                segment: i / nm,
                metric: i % nm,
            })
            .collect();
        let (verdict, reason, decided_at) = if let Some((at, because)) = t.rolled_back {
            (
                Verdict::Rollback,
                VerdictReason::RolledBack { because },
                Some(at),
            )
        } else if let Some(at) = t.promoted_at {
            (Verdict::Promote, VerdictReason::Promoted, Some(at))
        } else if self.ticks == 0 {
            (Verdict::Inconclusive, VerdictReason::NoTicks, None)
        } else if t.canary_ticks == 0 {
            (Verdict::Inconclusive, VerdictReason::NoCanaryData, None)
        } else if t.control_ticks == 0 {
            (Verdict::Inconclusive, VerdictReason::NoControlData, None)
        } else if d.phase == Phase::Paused {
            let because = d.reason;
            (Verdict::Pause, VerdictReason::Paused { because }, None)
        } else if !unobserved.is_empty() {
            (
                Verdict::Inconclusive,
                VerdictReason::SeriesNeverObserved,
                None,
            )
        } else {
            (Verdict::Inconclusive, VerdictReason::RampIncomplete, None)
        };
        let e = &d.assessment.evidence;
        VerdictReport {
            verdict,
            reason,
            decided_at,
            ticks: self.ticks,
            canary_ticks: t.canary_ticks,
            control_ticks: t.control_ticks,
            min_paired_ticks: e.min_paired_ticks,
            unobserved,
            canary_share: d.canary_share,
            evidence_sufficient: e.sufficient,
            max_detectable_effect: e.max_detectable_effect,
        }
    }

    /// The highest risk seen so far (what feedback records).
    pub fn peak_risk(&self) -> f64 {
        self.peak_risk
    }

    /// Ticks observed.
    pub fn ticks(&self) -> u64 {
        self.ticks
    }

    /// The policy's thresholds in use (configured, or learnt from feedback).
    pub fn thresholds(&self) -> Thresholds {
        self.policy.thresholds()
    }

    /// The schema the analysis follows.
    pub fn schema_spec(&self) -> &SchemaSpec {
        &self.schema
    }

    /// What the profile expects of (segment `s`, metric `m`) next tick; `None` when
    /// either index is out of range.
    pub fn series(&self, s: usize, m: usize) -> Option<SeriesView> {
        let nm = self.schema.metrics.len();
        if s >= self.schema.segments.len() || m >= nm {
            return None;
        }
        self.series_at(s * nm + m)
    }

    /// Every series' view, in tick layout order (`s * n_metrics + m`).
    pub fn series_views(&self) -> impl Iterator<Item = SeriesView> + '_ {
        let n = self.schema.metrics.len() * self.schema.segments.len();
        (0..n).filter_map(|i| self.series_at(i))
    }

    fn series_at(&self, i: usize) -> Option<SeriesView> {
        let (detector, canary_level) = self.risk.series_state(i)?;
        Some(SeriesView {
            expected: detector.forecast(),
            scale: detector.residual_scale(),
            canary_level,
            ready: detector.is_ready(),
        })
    }

    /// Folds this rollout, which turned out healthy, into `profile`: every series'
    /// detector continues from the state the rollout left it in (it followed the
    /// control cohort throughout), and its location moves towards the canary's
    /// smoothed level by the feedback's `fold_rate` (exponential decay of older
    /// behaviour). Refuses a profile of another schema ([`Error::SchemaMismatch`],
    /// the profile unchanged).
    pub fn fold_into(&self, profile: &mut BehaviorProfile) -> Result<(), Error> {
        if profile.schema_spec() != &self.schema {
            return Err(Error::SchemaMismatch {
                reason: "the analysis was made with another schema than the profile's".into(),
            });
        }
        let rate = profile.feedback().config().fold_rate;
        let nm = self.schema.metrics.len();
        for (s, seg) in profile.segments_mut().iter_mut().enumerate() {
            for (m, series) in seg.series.iter_mut().enumerate() {
                // Same schema, and a restored analysis was checked against it: every
                // series exists.
                let Some((detector, canary_level)) = self.risk.series_state(s * nm + m) else {
                    continue;
                };
                series.detector = detector.clone();
                if let Some(level) = canary_level {
                    series.location = (1.0 - rate) * series.location + rate * level;
                }
            }
        }
        Ok(())
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

    /// The settings in force: the configuration given to [`Analysis::new`] with its
    /// durations converted to ticks ([`AnalysisConfig::at_interval`]).
    pub fn config(&self) -> &AnalysisConfig {
        &self.config
    }

    /// Serialises the whole state.
    pub fn checkpoint(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Restores a checkpoint made by [`Analysis::checkpoint`], validating all of it
    /// (format and version, every configuration, every part's state against the
    /// schema), so that a bad checkpoint is refused here and not at the next tick:
    /// [`Error::CheckpointVersion`] for another version, [`Error::CorruptCheckpoint`]
    /// for anything else that is wrong with it.
    pub fn restore(text: &str) -> Result<Self, Error> {
        check_header_versions(
            text,
            Document::Checkpoint,
            CHECKPOINT_FORMAT,
            OLDEST_CHECKPOINT_VERSION..=CHECKPOINT_VERSION,
            "checkpoint bytes",
        )?;
        serde_json::from_str(text).map_err(|e| Error::CorruptCheckpoint {
            reason: e.to_string(),
        })
    }
}

/// Whether a cohort carries at least one value: not NaN, and not resting on a count of
/// 0 (which makes it missing).
fn any_value(values: &[f64], counts: Option<&[f64]>) -> bool {
    match counts {
        None => values.iter().any(|v| !v.is_nan()),
        Some(n) => values.iter().zip(n).any(|(v, &n)| !v.is_nan() && n != 0.0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every duration in its time form (the defaults, and the horizon).
    fn timed() -> AnalysisConfig {
        let mut c = AnalysisConfig::default();
        c.risk.horizon_seconds = Some(18_000.0);
        c
    }

    /// Every duration in ticks only.
    fn ticks_only() -> AnalysisConfig {
        let mut c = AnalysisConfig::default();
        c.traffic.min_dwell_seconds = None;
        c.policy.resume_seconds = None;
        c.policy.max_pause_seconds = None;
        c.risk.horizon_seconds = None;
        c
    }

    /// (dwell, resume, pause timeout, horizon) in ticks.
    fn counts(c: &AnalysisConfig) -> (u32, u32, u32, usize) {
        (
            c.traffic.min_dwell_ticks,
            c.policy.resume_ticks,
            c.policy.max_pause_ticks,
            c.risk.horizon,
        )
    }

    #[test]
    fn each_duration_is_counted_in_ticks_of_the_interval() {
        let half_hour = timed().at_interval(Some(1_800.0)).unwrap();
        // The time forms of the tick defaults: the same counts at half-hour ticks.
        assert_eq!(counts(&half_hour), counts(&AnalysisConfig::default()));
        let d = AnalysisConfig::default();
        assert_eq!(d.at_interval(Some(1_800.0)).unwrap(), d);
        assert_eq!(
            d.traffic.min_dwell_seconds.unwrap() / 1_800.0,
            f64::from(d.traffic.min_dwell_ticks)
        );
        let minute = timed().at_interval(Some(60.0)).unwrap();
        assert_eq!(counts(&minute), (300, 90, 900, 300));
        // The seconds stay beside the converted counts, as given.
        assert_eq!(minute.traffic.min_dwell_seconds, Some(18_000.0));
        // A learnt interval carries jitter: it rounds to the nearest tick.
        let jittery = timed().at_interval(Some(1_799.9)).unwrap();
        assert_eq!(counts(&jittery), counts(&half_hour));
        // Each setting alone converts alone.
        for (i, one) in [
            |c: &mut AnalysisConfig| c.traffic.min_dwell_seconds = Some(600.0),
            |c: &mut AnalysisConfig| c.policy.resume_seconds = Some(600.0),
            |c: &mut AnalysisConfig| c.policy.max_pause_seconds = Some(600.0),
            |c: &mut AnalysisConfig| c.risk.horizon_seconds = Some(600.0),
        ]
        .into_iter()
        .enumerate()
        {
            let mut c = ticks_only();
            one(&mut c);
            let d = counts(&ticks_only());
            let got = counts(&c.at_interval(Some(60.0)).unwrap());
            let want = [
                (10, d.1, d.2, d.3),
                (d.0, 10, d.2, d.3),
                (d.0, d.1, 10, d.3),
                (d.0, d.1, d.2, 10),
            ][i];
            assert_eq!(got, want, "setting {i}");
        }
    }

    #[test]
    fn converted_counts_keep_their_floors() {
        // An hour-long tick makes every short duration round to zero ticks.
        let mut c = ticks_only();
        c.traffic.min_dwell_seconds = Some(60.0);
        c.policy.resume_seconds = Some(60.0);
        c.policy.max_pause_seconds = Some(60.0);
        c.risk.horizon_seconds = Some(60.0);
        let hourly = c.at_interval(Some(3_600.0)).unwrap();
        // Dwell and horizon at least a tick, resume two, and a pause outlasts its resume.
        assert_eq!(counts(&hourly), (1, 2, 3, 1));
        // The evidence a step needs is not a duration: it stays as configured.
        assert_eq!(
            hourly.traffic.min_evidence_ticks,
            c.traffic.min_evidence_ticks
        );
        // A pause timeout of 0 still means never.
        c.policy.max_pause_seconds = Some(0.0);
        assert_eq!(c.at_interval(Some(60.0)).unwrap().policy.max_pause_ticks, 0);
    }

    #[test]
    fn without_an_interval_every_setting_keeps_its_tick_count() {
        let c = timed();
        assert_eq!(c.at_interval(None).unwrap(), c);
        assert_eq!(
            counts(&c.at_interval(None).unwrap()),
            counts(&AnalysisConfig::default())
        );
        // Without time forms the interval changes nothing.
        let plain = ticks_only();
        assert_eq!(plain.at_interval(Some(60.0)).unwrap(), plain);
        // Nor does an interval out of range, when nothing needs converting.
        assert_eq!(plain.at_interval(Some(1e9)).unwrap(), plain);
    }

    #[test]
    fn bad_seconds_and_intervals_are_typed_errors() {
        let named = |r: Result<AnalysisConfig, Error>| match r {
            Err(Error::InvalidParameter { name, .. }) => name,
            other => panic!("expected an invalid parameter, got {other:?}"),
        };
        for bad in [f64::NAN, f64::INFINITY, -1.0, 1e9] {
            let mut c = AnalysisConfig::default();
            c.traffic.min_dwell_seconds = Some(bad);
            assert_eq!(named(c.at_interval(Some(60.0))), "min_dwell_seconds");
            assert!(c.validate().is_err());
            let mut c = AnalysisConfig::default();
            c.policy.resume_seconds = Some(bad);
            assert_eq!(named(c.at_interval(None)), "resume_seconds");
            let mut c = AnalysisConfig::default();
            c.policy.max_pause_seconds = Some(bad);
            assert_eq!(named(c.at_interval(None)), "max_pause_seconds");
            let mut c = AnalysisConfig::default();
            c.risk.horizon_seconds = Some(bad);
            assert_eq!(named(c.at_interval(None)), "horizon_seconds");
        }
        for bad in [f64::NAN, 0.0, -60.0, 1e9] {
            let c = AnalysisConfig {
                tick_seconds: Some(bad),
                ..AnalysisConfig::default()
            };
            assert_eq!(named(c.at_interval(None)), "tick_seconds");
            assert_eq!(named(timed().at_interval(Some(bad))), "tick_seconds");
        }
        // A year of horizon at millisecond ticks is more than the horizon may count.
        let mut c = AnalysisConfig::default();
        c.risk.horizon_seconds = Some(MAX_SETTING_SECONDS);
        assert_eq!(named(c.at_interval(Some(1e-3))), "horizon_seconds");
        let mut c = AnalysisConfig::default();
        c.traffic.min_dwell_seconds = Some(MAX_SETTING_SECONDS);
        assert_eq!(named(c.at_interval(Some(1e-6))), "min_dwell_seconds");
    }

    #[test]
    fn configurations_without_time_forms_load_and_serialise_as_before() {
        // Written before the time forms existed: loads, and counts in ticks.
        let old = r#"{"risk":{"horizon":4},"policy":{"resume_ticks":5,"max_pause_ticks":20},
            "traffic":{"min_dwell_ticks":6,"min_evidence_ticks":4},"learned_thresholds":false}"#;
        let c: AnalysisConfig = serde_json::from_str(old).unwrap();
        assert_eq!(counts(&c.at_interval(Some(60.0)).unwrap()), (6, 5, 20, 4));
        assert_eq!(c.traffic.min_dwell_seconds, None);
        // A tick count alone counts in ticks; the others keep their defaults.
        let one: AnalysisConfig = serde_json::from_str(r#"{"policy":{"resume_ticks":5}}"#).unwrap();
        assert_eq!(
            counts(&one.at_interval(Some(60.0)).unwrap()),
            (300, 5, 900, 10)
        );
        // Silent settings take the defaults, in time.
        let silent: AnalysisConfig = serde_json::from_str("{}").unwrap();
        assert_eq!(silent, AnalysisConfig::default());
        let silent: AnalysisConfig = serde_json::from_str(r#"{"traffic":{},"policy":{}}"#).unwrap();
        assert_eq!(silent, AnalysisConfig::default());
        // Both forms given: the time form converts, the tick count is the fallback.
        let both: AnalysisConfig =
            serde_json::from_str(r#"{"traffic":{"min_dwell_ticks":6,"min_dwell_seconds":600}}"#)
                .unwrap();
        assert_eq!(both.traffic.min_dwell_ticks, 6);
        assert_eq!(
            both.at_interval(Some(60.0))
                .unwrap()
                .traffic
                .min_dwell_ticks,
            10
        );
        assert_eq!(both.at_interval(None).unwrap().traffic.min_dwell_ticks, 6);
        // A null is not a default.
        for null in [
            r#"{"traffic":{"min_dwell_seconds":null}}"#,
            r#"{"policy":{"pause_at":null}}"#,
        ] {
            assert!(
                serde_json::from_str::<AnalysisConfig>(null).is_err(),
                "{null}"
            );
        }
        // Settings without time forms serialise without them.
        let text = serde_json::to_string(&ticks_only()).unwrap();
        assert!(!text.contains("_seconds"), "{text}");
        assert_eq!(
            serde_json::from_str::<AnalysisConfig>(&text).unwrap(),
            ticks_only()
        );
        // The time forms round-trip.
        let timed = AnalysisConfig {
            tick_seconds: Some(60.0),
            ..timed()
        };
        let text = serde_json::to_string(&timed).unwrap();
        assert_eq!(
            serde_json::from_str::<AnalysisConfig>(&text).unwrap(),
            timed
        );
        let parsed: AnalysisConfig =
            serde_json::from_str(r#"{"traffic":{"min_dwell_seconds":600}}"#).unwrap();
        assert_eq!(parsed.traffic.min_dwell_seconds, Some(600.0));
        assert!(
            serde_json::from_str::<AnalysisConfig>(r#"{"traffic":{"dwell_seconds":6}}"#).is_err()
        );
    }
}
