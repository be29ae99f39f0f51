//! Exponentially weighted moving average with an exponentially weighted residual scale.
//!
//! The mean follows `m_t = (1 - alpha) m_{t-1} + alpha x_t` with `m_1 = x_1`, which is
//! pandas' `Series.ewm(alpha=alpha, adjust=False).mean()`. The forecast for `x_t` is
//! `m_{t-1}`; the residual's scale is the shared residual scale described in
//! `docs/algorithms.md`.

use serde::{Deserialize, Serialize};

use super::scale::ResidualScale;
use super::{Anomaly, AnomalyDetector};
use crate::Error;

/// Parameters of an [`Ewma`] detector.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EwmaConfig {
    /// Smoothing factor of the mean, in `(0, 1]`. Larger follows the data faster.
    pub alpha: f64,
    /// Smoothing factor of the squared-residual mean, in `(0, 1]`. `None` uses
    /// `alpha`.
    pub variance_alpha: Option<f64>,
    /// Residuals to see before tail probabilities are reported (at least 2).
    pub warmup: u64,
    /// Residuals beyond `clip` standard deviations are winsorised before they update
    /// the scale (0 turns this off; otherwise at least 1).
    pub clip: f64,
    /// Floor of the residual scale, in the metric's units (0 = no floor beyond the
    /// smallest positive number).
    pub min_scale: f64,
}

impl Default for EwmaConfig {
    fn default() -> Self {
        EwmaConfig {
            alpha: 0.1,
            variance_alpha: None,
            warmup: 10,
            clip: 5.0,
            min_scale: 0.0,
        }
    }
}

impl EwmaConfig {
    /// Checks every parameter's range ([`Error::InvalidParameter`] naming the first
    /// one out of range).
    pub fn validate(&self) -> Result<(), Error> {
        self.residual_scale().map(|_| ())
    }

    /// The empty residual scale these settings describe, validating them.
    fn residual_scale(&self) -> Result<ResidualScale, Error> {
        let a = self.alpha;
        if !(a > 0.0 && a <= 1.0) {
            return Err(Error::param("alpha", a, "must be in (0, 1]"));
        }
        ResidualScale::new(
            self.variance_alpha.unwrap_or(a),
            self.clip,
            self.warmup,
            self.min_scale,
        )
    }
}

/// Streaming EWMA detector. See the [module documentation](self).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "EwmaState")]
pub struct Ewma {
    config: EwmaConfig,
    mean: f64,
    observations: u64,
    scale: ResidualScale,
}

/// The serialised form, validated before it becomes an [`Ewma`].
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EwmaState {
    config: EwmaConfig,
    mean: f64,
    observations: u64,
    scale: ResidualScale,
}

impl TryFrom<EwmaState> for Ewma {
    type Error = Error;

    fn try_from(s: EwmaState) -> Result<Self, Error> {
        let mut e = Ewma::new(s.config)?;
        Error::check_value("mean", s.mean)?;
        s.scale.validate()?;
        e.mean = s.mean;
        e.observations = s.observations;
        e.scale = s.scale;
        Ok(e)
    }
}

impl Ewma {
    /// Builds a detector, validating the configuration.
    pub fn new(config: EwmaConfig) -> Result<Self, Error> {
        let scale = config.residual_scale()?;
        Ok(Ewma {
            config,
            mean: 0.0,
            observations: 0,
            scale,
        })
    }

    /// The configuration the detector was built with.
    pub fn config(&self) -> &EwmaConfig {
        &self.config
    }

    /// The current smoothed mean (the forecast for the next observation); `None`
    /// before the first observation.
    pub fn mean(&self) -> Option<f64> {
        (self.observations > 0).then_some(self.mean)
    }

    /// The current one-step prediction-error standard deviation.
    pub fn residual_scale(&self) -> f64 {
        self.scale.scale()
    }
}

impl Ewma {
    /// What [`AnomalyDetector::observe`] does but the assessment: the state update,
    /// returning the forecast made before it, the observation, and whether there was a
    /// forecast (not on the first observation). Callers that keep their own residual
    /// scale skip the tail probability, the costly part.
    #[inline]
    pub(crate) fn learn(&mut self, x: f64) -> Result<(f64, f64, bool), Error> {
        // The assessment is pure arithmetic on values the update computes anyway; once
        // inlined here, where it is unused, the compiler drops it.
        self.update(x)
            .map(|(expected, x, anomaly)| (expected, x, anomaly.is_some()))
    }

    /// The state update and, where there was a forecast, the assessment of `x` against
    /// it (one shared step, so both callers compute exactly the same numbers).
    #[inline(always)]
    fn update(&mut self, x: f64) -> Result<(f64, f64, Option<Anomaly>), Error> {
        let x = Error::check_value("observation", x)?;
        if self.observations == 0 {
            self.mean = x;
            self.observations = 1;
            return Ok((x, x, None));
        }
        let expected = self.mean;
        let a = self.config.alpha;
        self.mean = (1.0 - a) * self.mean + a * x;
        let anomaly = self.scale.assess_and_absorb(expected, x);
        self.observations += 1;
        Ok((expected, x, Some(anomaly)))
    }
}

impl AnomalyDetector for Ewma {
    type Input = f64;

    /// The first observation only sets the mean (it has no forecast; its anomaly has
    /// `expected == x` and no evidence). Non-finite or out-of-range observations are
    /// rejected and leave the detector unchanged.
    #[inline]
    fn observe(&mut self, x: &f64) -> Result<Anomaly, Error> {
        match self.update(*x)? {
            (_, _, Some(anomaly)) => Ok(anomaly),
            (expected, x, None) => Ok(Anomaly::cold(expected, x)),
        }
    }

    fn observations(&self) -> u64 {
        self.observations
    }

    fn is_ready(&self) -> bool {
        self.scale.is_ready()
    }

    /// False before the first observation, which only sets the mean.
    fn has_forecast(&self) -> bool {
        self.observations > 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_points_carry_no_evidence() {
        let mut e = Ewma::new(EwmaConfig::default()).unwrap();
        for i in 0..11 {
            let a = e.observe(&(i as f64 * 1000.0)).unwrap();
            assert!(!a.ready);
            assert_eq!(a.tail_probability(), 1.0);
            assert_eq!(a.deviation, 0.0);
        }
        assert!(e.is_ready());
    }

    #[test]
    fn flags_a_level_shift() {
        let mut e = Ewma::new(EwmaConfig::default()).unwrap();
        for i in 0..500 {
            let x = 50.0 + ((i * 7919) % 13) as f64 / 13.0;
            let a = e.observe(&x).unwrap();
            if i > 50 {
                assert!(a.tail_probability() > 1e-4, "false alarm at {i}: {a:?}");
            }
        }
        let a = e.observe(&60.0).unwrap();
        assert!(
            a.ready && a.deviation > 10.0 && a.tail_probability() < 1e-6,
            "{a:?}"
        );
        assert_eq!(a.expected, e.mean().unwrap() - 0.1 * (60.0 - a.expected));
    }

    #[test]
    fn rejects_bad_input_without_changing_state() {
        let mut e = Ewma::new(EwmaConfig::default()).unwrap();
        for x in [1.0, 2.0, 3.0] {
            e.observe(&x).unwrap();
        }
        let before = e.clone();
        for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY, 1e101, -1e200] {
            assert!(e.observe(&bad).is_err());
            assert_eq!(e, before);
        }
    }

    #[test]
    fn invalid_configurations_are_errors() {
        for alpha in [0.0, -0.1, 1.5, f64::NAN] {
            let err = Ewma::new(EwmaConfig {
                alpha,
                ..EwmaConfig::default()
            })
            .unwrap_err();
            assert!(matches!(err, Error::InvalidParameter { name: "alpha", .. }));
        }
        assert!(
            Ewma::new(EwmaConfig {
                alpha: 1.0,
                ..EwmaConfig::default()
            })
            .is_ok()
        );
        assert!(
            Ewma::new(EwmaConfig {
                warmup: 0,
                ..EwmaConfig::default()
            })
            .is_err()
        );
    }

    #[test]
    fn deserialising_validates() {
        let mut e = Ewma::new(EwmaConfig::default()).unwrap();
        e.observe(&1.0).unwrap();
        let json = serde_json::to_string(&e).unwrap();
        let back: Ewma = serde_json::from_str(&json).unwrap();
        assert_eq!(back, e);
        let bad = json.replace("\"alpha\":0.1", "\"alpha\":7.0");
        assert!(serde_json::from_str::<Ewma>(&bad).is_err());
        let bad = json.replace("\"mean\":1.0", "\"mean\":1e300");
        assert!(serde_json::from_str::<Ewma>(&bad).is_err());
        assert!(serde_json::from_str::<Ewma>(&json[..json.len() / 2]).is_err());
    }
}
