//! # coalmine
//!
//! Predictive canary analysis. This crate is the core: streaming anomaly detectors
//! today, with behavioural profiles, risk scoring and rollout decisions built on top
//! of them. It does no I/O, spawns no threads, reads no clock, and allocates nothing
//! per observation once a detector is built.
//!
//! The detectors share one contract, [`AnomalyDetector`]: feed an observation, get an
//! [`Anomaly`] back — the forecast made *before* the observation was seen, the residual,
//! a signed standardised deviation and a calibrated tail probability.
//!
//! ```
//! use coalmine::{AnomalyDetector, Ewma, EwmaConfig};
//!
//! let mut det = Ewma::new(EwmaConfig { alpha: 0.1, ..EwmaConfig::default() })?;
//! for i in 0..200 {
//!     det.observe(&(10.0 + (i % 7) as f64 * 0.1))?;
//! }
//! let a = det.observe(&25.0)?;
//! assert!(a.ready && a.tail_probability < 1e-6);
//! # Ok::<(), coalmine::Error>(())
//! ```
#![deny(missing_docs)]
#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::expect_used))]

pub mod analysis;
mod anomaly;
pub mod autoencoder;
pub mod comparison;
mod error;
pub mod ewma;
pub mod feedback;
pub mod holt_winters;
mod optimise;
pub mod policy;
pub mod profile;
pub mod risk;
mod rng;
mod scale;
pub mod schema;
pub mod scoring;
pub mod stats;
pub mod traffic;

pub use analysis::{Analysis, AnalysisConfig, Decision, SeriesView, Tick};
pub use anomaly::{Anomaly, AnomalyColumns, AnomalyDetector};
pub use autoencoder::{Autoencoder, AutoencoderConfig};
pub use comparison::{
    MannWhitney, MannWhitneyScratch, SequentialConfig, SequentialState, SequentialTest,
    ShiftEstimate, hodges_lehmann, mann_whitney_u, relative_shift,
};
pub use error::Error;
pub use ewma::{Ewma, EwmaConfig};
pub use feedback::{Feedback, FeedbackConfig, Outcome};
pub use holt_winters::{FitOptions, HoltWinters, HoltWintersConfig, HoltWintersParams};
/// The ndarray version coalmine's matrix types come from, so callers need not match it.
pub use ndarray;
pub use policy::{
    Action, Alert, AlertSeverity, Level, PolicyConfig, Reason, Remediation, Thresholds,
};
pub use profile::{BehaviorProfile, ProfileBuilder, ProfileConfig, SeriesDetector};
pub use risk::{
    Contributor, Evidence, LimitBreach, RiskAssessment, RiskConfig, RiskFactors, Scorer, Source,
};
pub use schema::{
    Direction, FeatureSpec, MetricKind, MetricSpec, Schema, SchemaSpec, SegmentSpec, SeriesId,
};
pub use traffic::{Allocation, Phase, TrafficConfig, TrafficMode};

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
