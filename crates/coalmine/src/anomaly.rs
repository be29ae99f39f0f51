//! The value every detector returns, and the trait they share.

use serde::{Deserialize, Serialize};

use crate::Error;

/// What a detector says about one observation.
///
/// All fields are finite for finite input. While a detector is warming up
/// (`ready == false`) it has no calibrated idea of "normal" yet: `deviation` is 0 and
/// `tail_probability` is 1, so nothing downstream mistakes a cold start for evidence.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Anomaly {
    /// The forecast made before the observation was seen (for the autoencoder: the
    /// median reconstruction error on held-out baseline data).
    pub expected: f64,
    /// Observation minus `expected`.
    pub residual: f64,
    /// Signed standardised deviation: the residual in units of the detector's current
    /// one-step prediction-error scale. Positive means above the forecast.
    pub deviation: f64,
    /// Calibrated two-sided tail probability in `[0, 1]`: the chance of a deviation at
    /// least this large under the detector's model of normal behaviour. Small means
    /// unusual; it is comparable across series and detectors.
    pub tail_probability: f64,
    /// Whether the detector had finished warming up before this observation.
    pub ready: bool,
}

impl Anomaly {
    /// An anomaly that carries no evidence: used during warm-up.
    pub(crate) fn cold(expected: f64, observed: f64) -> Self {
        Anomaly {
            expected,
            residual: observed - expected,
            deviation: 0.0,
            tail_probability: 1.0,
            ready: false,
        }
    }
}

/// A streaming anomaly detector.
///
/// Implementations are deterministic, `Send`, `Clone` (a clone is a checkpoint that
/// continues exactly as the original) and serialisable with serde (state included).
/// After construction, `observe` allocates nothing.
///
/// An observation that is rejected with an error (non-finite, wrong length) leaves the
/// detector exactly as it was.
pub trait AnomalyDetector: Send {
    /// What one observation is: `f64` for univariate detectors, `[f64]` for the
    /// autoencoder's vector of metrics.
    type Input: ?Sized;

    /// Scores one observation against the forecast made before seeing it, then
    /// updates the detector's state with it.
    fn observe(&mut self, x: &Self::Input) -> Result<Anomaly, Error>;

    /// Number of observations accepted so far (since construction or fitting).
    fn observations(&self) -> u64;

    /// Whether the detector has left its warm-up and its tail probabilities mean
    /// something.
    fn is_ready(&self) -> bool;
}
