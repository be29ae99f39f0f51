//! Stage 1, detection: streaming detectors that say how unusual each observation is.
//!
//! Every detector implements [`AnomalyDetector`]: feed an observation, get an
//! [`Anomaly`] back — the forecast made *before* the observation was seen, the
//! residual, a signed standardised deviation and a calibrated tail probability.
//!
//! - [`ewma`]: [`Ewma`], an exponentially weighted mean, for series without a season.
//! - [`holt_winters`]: [`HoltWinters`], additive level, trend and season, with the
//!   least-squares fit of its smoothing parameters.
//! - `scale.rs` (internal): the one-step residual scale both univariate detectors
//!   share, which turns a residual into a deviation and a Student-t tail probability.
//! - [`autoencoder`]: [`Autoencoder`], a segment's vector of metrics at once; the
//!   network and its training (`net.rs`), the calibration of its tail
//!   (`calibration.rs`) and its serialised form (`state.rs`) each in a file of their
//!   own.
//!
//! The main types are re-exported here and at the crate root.
//!
//! Detectors are deterministic, allocation-free after construction, `Send`, and
//! cloneable for checkpoints; a rejected observation leaves them unchanged.

use serde::{Deserialize, Serialize};

use crate::Error;

pub mod autoencoder;
pub mod ewma;
pub mod holt_winters;
mod scale;

pub use autoencoder::{Autoencoder, AutoencoderConfig};
pub use ewma::{Ewma, EwmaConfig};
pub use holt_winters::{
    FitOptions, HoltWinters, HoltWintersConfig, HoltWintersParams, MAX_FIT_EVALUATIONS,
    MAX_SEASON_LENGTH,
};

/// What a detector says about one observation.
///
/// All values are finite for finite input. While a detector is warming up
/// (`ready == false`) it has no calibrated idea of "normal" yet: `deviation` is 0 and
/// [`tail_probability`](Self::tail_probability) is 1, so nothing downstream mistakes a
/// cold start for evidence.
///
/// The univariate detectors return the deviation with the degrees of freedom of its
/// Student-t distribution, and the tail probability is computed from them when it is
/// asked for: updating a detector costs the recurrence, and callers that need only the
/// deviation or the forecast (the risk path, or a threshold on `|deviation|`) never pay
/// for the tail. Serialised, an anomaly has the same five fields as always
/// (`expected`, `residual`, `deviation`, `tail_probability`, `ready`).
#[derive(Clone, Copy)]
pub struct Anomaly {
    /// The forecast made before the observation was seen (for the autoencoder: the
    /// median reconstruction error on held-out baseline data).
    pub expected: f64,
    /// Observation minus `expected`.
    pub residual: f64,
    /// Signed standardised deviation: the residual in units of the detector's current
    /// one-step prediction-error scale. Positive means above the forecast.
    pub deviation: f64,
    /// Whether the detector had finished warming up before this observation.
    pub ready: bool,
    /// How the tail probability follows from the rest.
    tail: Tail,
}

/// The tail probability of an [`Anomaly`], or what it is computed from.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Tail {
    /// Known already (warm-up, the autoencoder's calibrated tail, a deserialised
    /// anomaly).
    Probability(f64),
    /// Two-sided Student-t tail of `deviation` with these degrees of freedom; `true`
    /// once the residual scale has settled (its weights at their fixed point, so its
    /// degrees of freedom no longer change): then the tail comes from the table of
    /// that `dof` (`student_t_two_sided_tabled`, within 1e-9 relative), before that
    /// from the exact tail.
    StudentT(f64, bool),
}

impl Anomaly {
    /// An anomaly that carries no evidence: used during warm-up.
    pub(crate) fn cold(expected: f64, observed: f64) -> Self {
        Anomaly {
            expected,
            residual: observed - expected,
            deviation: 0.0,
            ready: false,
            tail: Tail::Probability(1.0),
        }
    }

    /// A calibrated anomaly whose tail is the two-sided Student-t tail of `deviation`
    /// with `dof` degrees of freedom, tabled if `settled` (see [`Tail::StudentT`]).
    #[inline]
    pub(crate) fn student_t(
        expected: f64,
        residual: f64,
        deviation: f64,
        dof: f64,
        settled: bool,
    ) -> Self {
        Anomaly {
            expected,
            residual,
            deviation,
            ready: true,
            tail: Tail::StudentT(dof, settled),
        }
    }

    /// An anomaly whose tail probability is already known.
    pub(crate) fn with_probability(
        expected: f64,
        residual: f64,
        deviation: f64,
        tail_probability: f64,
        ready: bool,
    ) -> Self {
        Anomaly {
            expected,
            residual,
            deviation,
            ready,
            tail: Tail::Probability(tail_probability),
        }
    }

    /// Calibrated two-sided tail probability in `[0, 1]`: the chance of a deviation at
    /// least this large under the detector's model of normal behaviour. Small means
    /// unusual; it is comparable across series and detectors.
    ///
    /// For the univariate detectors it is the two-sided Student-t tail of `deviation`
    /// ([`math::dist::student_t_two_sided`](crate::math::dist::student_t_two_sided)),
    /// computed on each call; keep the value if it is needed more than once. Once the
    /// detector's residual scale has settled (its effective sample size, and so the
    /// degrees of freedom, at their floating-point fixed point), the tail comes from a
    /// table of those degrees of freedom
    /// ([`student_t_two_sided_tabled`](crate::math::dist::student_t_two_sided_tabled)):
    /// within 1e-9 relative of the exact tail, several times cheaper, and like it a
    /// function of the detector's state alone.
    #[inline]
    pub fn tail_probability(&self) -> f64 {
        match self.tail {
            Tail::Probability(p) => p,
            Tail::StudentT(dof, false) => {
                crate::math::dist::student_t_two_sided(self.deviation, dof)
            }
            Tail::StudentT(dof, true) => {
                crate::math::dist::student_t_two_sided_tabled(self.deviation, dof)
            }
        }
    }

    /// The degrees of freedom of the Student-t distribution the tail probability comes
    /// from, or `None` where it comes from elsewhere (warm-up, the autoencoder's
    /// calibrated tail, a deserialised anomaly). With it, a caller can compare
    /// `|deviation|` with a quantile computed once instead of computing tails.
    pub fn dof(&self) -> Option<f64> {
        match self.tail {
            Tail::Probability(_) => None,
            Tail::StudentT(dof, _) => Some(dof),
        }
    }
}

/// Equal when every value is equal, the tail probability included (however either
/// was obtained).
impl PartialEq for Anomaly {
    fn eq(&self, other: &Self) -> bool {
        self.expected == other.expected
            && self.residual == other.residual
            && self.deviation == other.deviation
            && self.ready == other.ready
            && (self.tail == other.tail || self.tail_probability() == other.tail_probability())
    }
}

impl std::fmt::Debug for Anomaly {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Anomaly")
            .field("expected", &self.expected)
            .field("residual", &self.residual)
            .field("deviation", &self.deviation)
            .field("tail_probability", &self.tail_probability())
            .field("ready", &self.ready)
            .finish()
    }
}

/// The five values, as before the tail probability became a method.
#[derive(Serialize, Deserialize)]
#[serde(rename = "Anomaly")]
struct AnomalyFields {
    expected: f64,
    residual: f64,
    deviation: f64,
    tail_probability: f64,
    ready: bool,
}

impl Serialize for Anomaly {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        AnomalyFields {
            expected: self.expected,
            residual: self.residual,
            deviation: self.deviation,
            tail_probability: self.tail_probability(),
            ready: self.ready,
        }
        .serialize(s)
    }
}

impl<'de> Deserialize<'de> for Anomaly {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let a = AnomalyFields::deserialize(d)?;
        Ok(Anomaly::with_probability(
            a.expected,
            a.residual,
            a.deviation,
            a.tail_probability,
            a.ready,
        ))
    }
}

/// Output columns of [`AnomalyDetector::observe_batch`]: slot `i` of each column holds
/// the corresponding field of observation `i`'s [`Anomaly`]. Every column must be as
/// long as the batch. Plain slices, so a binding can pass the buffers of its host
/// (numpy arrays, Go slices, C arrays) without copying.
#[derive(Debug)]
pub struct AnomalyColumns<'a> {
    /// [`Anomaly::expected`], or NaN where the detector had no forecast yet.
    pub expected: &'a mut [f64],
    /// [`Anomaly::residual`], or NaN where the detector had no forecast yet.
    pub residual: &'a mut [f64],
    /// [`Anomaly::deviation`].
    pub deviation: &'a mut [f64],
    /// [`Anomaly::tail_probability`] (computed for every observation).
    pub tail_probability: &'a mut [f64],
    /// [`Anomaly::ready`].
    pub ready: &'a mut [bool],
}

impl AnomalyColumns<'_> {
    /// Checks that every column holds `n` values.
    fn check_len(&self, n: usize) -> Result<(), Error> {
        for (what, got) in [
            ("expected column", self.expected.len()),
            ("residual column", self.residual.len()),
            ("deviation column", self.deviation.len()),
            ("tail_probability column", self.tail_probability.len()),
            ("ready column", self.ready.len()),
        ] {
            if got != n {
                return Err(Error::LengthMismatch {
                    what,
                    expected: n,
                    got,
                });
            }
        }
        Ok(())
    }

    /// Writes observation `i`'s anomaly; `forecast` says whether the detector had one.
    #[inline]
    fn put(&mut self, i: usize, a: &Anomaly, forecast: bool) {
        let (expected, residual) = if forecast {
            (a.expected, a.residual)
        } else {
            (f64::NAN, f64::NAN)
        };
        self.expected[i] = expected;
        self.residual[i] = residual;
        self.deviation[i] = a.deviation;
        self.tail_probability[i] = a.tail_probability();
        self.ready[i] = a.ready;
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

    /// Whether the detector has a forecast for the next observation. Only a detector
    /// that starts from nothing lacks one, before its first observation (an [`Ewma`]
    /// takes its first value as its mean); the default is `true`.
    ///
    /// [`Ewma`]: crate::Ewma
    fn has_forecast(&self) -> bool {
        true
    }

    /// Observes a whole series in one call and writes one [`Anomaly`] per value into
    /// the columns of `out`, each `xs.len()` long.
    ///
    /// The result is exactly that of calling [`observe`](Self::observe) on each value
    /// in turn, with one difference: where the detector had no forecast (see
    /// [`has_forecast`](Self::has_forecast): an EWMA's very first observation),
    /// `expected` and `residual` are NaN rather than the observation and 0, so that
    /// "no forecast" cannot be mistaken for a perfect one.
    ///
    /// The batch is atomic. If any value would be rejected, nothing of the batch is
    /// applied: the detector is left as it was and the error is [`Error::Batch`] with
    /// the index of the first refused value and the reason (the columns may have been
    /// written up to that index). Columns of the wrong length are
    /// [`Error::LengthMismatch`]. Nothing is allocated per observation; atomicity costs
    /// one copy of the detector's state per batch (none for an EWMA, the season for
    /// Holt-Winters).
    fn observe_batch(&mut self, xs: &[f64], out: &mut AnomalyColumns<'_>) -> Result<(), Error>
    where
        Self: AnomalyDetector<Input = f64> + Clone + Sized,
    {
        out.check_len(xs.len())?;
        let mut trial = self.clone();
        for (i, x) in xs.iter().enumerate() {
            let forecast = trial.has_forecast();
            let a = trial.observe(x).map_err(|e| Error::Batch {
                index: i,
                error: Box::new(e),
            })?;
            out.put(i, &a, forecast);
        }
        *self = trial;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::math::dist;

    #[test]
    fn the_tail_is_computed_on_demand_with_the_same_meaning() {
        let a = Anomaly::student_t(10.0, 3.0, 2.5, 18.0, false);
        assert_eq!(a.tail_probability(), dist::student_t_two_sided(2.5, 18.0));
        let settled = Anomaly::student_t(10.0, 3.0, 2.5, 18.0, true);
        assert_eq!(
            settled.tail_probability(),
            dist::student_t_two_sided_tabled(2.5, 18.0)
        );
        assert_eq!(settled.dof(), Some(18.0));
        assert_eq!(a.dof(), Some(18.0));
        assert_eq!(Anomaly::cold(1.0, 2.0).tail_probability(), 1.0);
        assert_eq!(Anomaly::cold(1.0, 2.0).dof(), None);
        // Serialised with the five values; read back, the same anomaly.
        let json = serde_json::to_string(&a).unwrap();
        let p = a.tail_probability();
        assert_eq!(
            json,
            format!(
                "{{\"expected\":10.0,\"residual\":3.0,\"deviation\":2.5,\
                 \"tail_probability\":{p:?},\"ready\":true}}"
            )
        );
        let back: Anomaly = serde_json::from_str(&json).unwrap();
        assert_eq!(back, a);
        assert_eq!(back.tail_probability().to_bits(), p.to_bits());
        assert!(format!("{a:?}").contains(&format!("tail_probability: {p:?}")));
        let other = Anomaly::student_t(10.0, 3.0, 2.5, 19.0, false);
        assert_ne!(other, a);
    }
}
