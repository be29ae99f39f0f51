//! # coalmine
//!
//! Predictive canary analysis. While a new version of a service is rolled out to a
//! small share of its users, coalmine compares how those users behave against a learnt
//! baseline and against the concurrent control cohort, turns the deviations into a risk
//! score, and says what to do next — continue, pause and shrink the canary, or roll
//! back — before the harm fully shows.
//!
//! This crate is the core. It does no I/O, spawns no threads, reads no clock, and
//! allocates nothing per tick once an [`Analysis`] is built.
//!
//! # The pipeline
//!
//! Each stage is a module; data flows down, and no module imports one below it in this
//! list ([`math`], [`feedback`] and [`schema`] sit underneath them all).
//!
//! | stage | module | what it does |
//! | --- | --- | --- |
//! | detect | [`detect`] | streaming detectors ([`Ewma`], [`HoltWinters`], [`Autoencoder`]): one [`Anomaly`] per observation |
//! | profile | [`profile`] | [`ProfileBuilder`] learns a [`BehaviorProfile`] from the stable version's history |
//! | compare | [`compare`] | the canary against its control: the per-tick [`SequentialTest`], offline rank statistics |
//! | risk | [`risk`] | the tick's anomalies folded into a [`RiskAssessment`]: severity, persistence, segment weight, feature correlation, prediction, contributors |
//! | policy | [`policy`] | thresholds `t1 < t2` turn the risk into an [`Action`] and a [`Reason`] |
//! | traffic | [`traffic`] | the canary's share along a ramp, moved by the policy's [`Level`] |
//! | analysis | [`analysis`] | one rollout: all of the above behind [`Analysis::observe`], checkpoints, feedback |
//!
//! Beside the pipeline: [`feedback`] learns thresholds from finished rollouts,
//! [`scoring`] scores a single series in the Numenta Anomaly Benchmark's format, and
//! [`math`] holds the distribution tails every p-value comes from.
//!
//! # One rollout
//!
//! ```
//! use coalmine::{
//!     Action, Analysis, AnalysisConfig, Direction, MetricSpec, ProfileBuilder, ProfileConfig,
//!     Schema, SchemaSpec, SegmentSpec, Tick,
//! };
//!
//! // What is measured: two metrics in one segment, addressed by position afterwards.
//! let schema = Schema::new(SchemaSpec {
//!     metrics: vec![
//!         MetricSpec::new("error_rate", Direction::IncreaseIsBad),
//!         MetricSpec::new("latency_ms", Direction::IncreaseIsBad),
//!     ],
//!     segments: vec![SegmentSpec { name: "all".into(), weight: 1.0 }],
//!     features: vec![],
//! })?;
//! // A day of the stable version's history, one tick per half hour.
//! let noise = |t: usize, k: usize| ((t * 7919 + k * 104_729) % 1000) as f64 / 1000.0 - 0.5;
//! let mut builder = ProfileBuilder::new(schema, ProfileConfig::default())?;
//! for t in 0..96 {
//!     builder.push_tick(&[0.01 + 0.002 * noise(t, 0), 120.0 + 4.0 * noise(t, 1)])?;
//! }
//! let profile = builder.build()?;
//!
//! // The rollout: the canary's latency jumps by 40 ms at tick 20.
//! let mut analysis = Analysis::new(&profile, AnalysisConfig::default())?;
//! for t in 0..60 {
//!     let control = [0.01 + 0.002 * noise(t, 2), 120.0 + 4.0 * noise(t, 3)];
//!     let jump = if t >= 20 { 40.0 } else { 0.0 };
//!     let canary = [0.01 + 0.002 * noise(t, 4), 120.0 + jump + 4.0 * noise(t, 5)];
//!     let tick = Tick::new(1_800.0 * t as f64, &control, &canary);
//!     let decision = analysis.observe(&tick)?;
//!     if let Action::Rollback { .. } = decision.action {
//!         assert!(t >= 20);
//!         break;
//!     }
//! }
//! assert!(matches!(analysis.decision().action, Action::Rollback { .. }), "{}", analysis.summary());
//! # Ok::<(), coalmine::Error>(())
//! ```
//!
//! # Rules that hold everywhere
//!
//! - Bad input never panics and never corrupts state: every call returns
//!   `Result<_, `[`Error`]`>`, each error has a stable [`Error::code`], and a rejected
//!   call leaves the object exactly as it was.
//! - Determinism: the same inputs give the same outputs, bit for bit.
//! - A checkpoint ([`Analysis::checkpoint`]) restores into an analysis that continues
//!   bit-identically; [`Analysis::restore`] validates all of it first.
//!
//! `docs/architecture.md` in the repository maps the code in more detail.
#![deny(missing_docs)]
#![warn(unreachable_pub)]
#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::expect_used))]

pub mod analysis;
pub mod compare;
pub mod detect;
mod duration;
mod error;
pub mod feedback;
pub mod math;
mod persist;
pub mod policy;
pub mod profile;
pub mod risk;
pub mod schema;
pub mod scoring;
pub mod traffic;
pub mod verdict;

pub use analysis::{Analysis, AnalysisConfig, BatchOptions, Decision, SeriesView, Tick, TickBatch};
pub use compare::{
    MannWhitney, MannWhitneyScratch, SequentialConfig, SequentialState, SequentialTest,
    ShiftEstimate, hodges_lehmann, mann_whitney_u, relative_shift,
};
pub use detect::{
    Anomaly, AnomalyColumns, AnomalyDetector, Autoencoder, AutoencoderConfig, Ewma, EwmaConfig,
    FitOptions, HoltWinters, HoltWintersConfig, HoltWintersParams,
};
pub use error::Error;
pub use feedback::{Feedback, FeedbackConfig, Outcome, Thresholds};
/// The ndarray version coalmine's matrix types come from, so callers need not match it.
pub use ndarray;
pub use persist::MAX_DOCUMENT_BYTES;
pub use policy::{
    Action, Alert, AlertSeverity, DecisionPolicy, Level, PolicyConfig, Reason, Remediation, Ruling,
};
pub use profile::{BehaviorProfile, ProfileBuilder, ProfileConfig, SeriesDetector};
pub use risk::{
    Cohorts, Contributor, Evidence, LimitBreach, RiskAssessment, RiskConfig, RiskFactors, Scorer,
    Source,
};
pub use schema::{
    Direction, FeatureSpec, MetricKind, MetricSpec, Schema, SchemaSpec, SegmentSpec, SeriesId,
};
pub use traffic::{Allocation, Phase, TrafficConfig, TrafficMode};
pub use verdict::{Verdict, VerdictReason, VerdictReport};

/// The largest magnitude an observation or state value may have. Metrics never come
/// near it; it exists so that squares and sums of accepted values stay finite, which
/// lets every detector promise finite output for accepted input.
pub const MAX_ABS_VALUE: f64 = 1e100;

/// A closed interval `[lower, upper]` of real numbers: a prediction interval, a
/// confidence interval or a confidence sequence's current bounds.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Interval {
    /// Lower end.
    pub lower: f64,
    /// Upper end.
    pub upper: f64,
}

impl Interval {
    /// Whether `x` lies in the interval (ends included).
    pub fn contains(&self, x: f64) -> bool {
        self.lower <= x && x <= self.upper
    }
}

/// The README's Rust examples, compiled and run as doc tests so they cannot rot.
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
pub struct ReadmeDoctests;

/// The integration guide's Rust examples, compiled as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../../../docs/integration.md")]
pub struct IntegrationDoctests;
