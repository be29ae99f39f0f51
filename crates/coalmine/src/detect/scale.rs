//! The one-step prediction-error scale shared by the univariate detectors, and the
//! conversion of a residual into a deviation and a calibrated tail probability.

use serde::{Deserialize, Serialize};

use super::Anomaly;
use crate::Error;
use crate::math::ew;

/// Exponentially weighted mean of squared one-step residuals, with an explicit
/// warm-up and an effective sample size that sets the Student-t degrees of freedom.
///
/// The weights are `math::ew`'s: equal while fewer than `1/alpha` residuals have been
/// seen (an ordinary mean, so the start is not biased towards the first point),
/// exponential forgetting afterwards. The sums of weights `w1 = Σw` and `w2 = Σw²` give
/// the effective sample size `n_eff = w1² / w2`, and the tail probability uses
/// Student's t with `n_eff - 1` degrees of freedom: few residuals mean heavy tails and
/// no fake confidence.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub(crate) struct ResidualScale {
    alpha: f64,
    clip: f64,
    warmup: u64,
    min_scale: f64,
    var: f64,
    w1: f64,
    w2: f64,
    n: u64,
}

impl ResidualScale {
    pub(crate) fn new(alpha: f64, clip: f64, warmup: u64, min_scale: f64) -> Result<Self, Error> {
        if !(alpha > 0.0 && alpha <= 1.0) {
            return Err(Error::param("variance_alpha", alpha, "must be in (0, 1]"));
        }
        if !(clip == 0.0 || clip >= 1.0) || clip.is_nan() {
            return Err(Error::param(
                "clip",
                clip,
                "must be 0 (off) or at least 1 (standard deviations)",
            ));
        }
        if !(min_scale >= 0.0 && min_scale.is_finite()) {
            return Err(Error::param(
                "min_scale",
                min_scale,
                "must be finite and >= 0",
            ));
        }
        if warmup < 2 {
            return Err(Error::param("warmup", warmup as f64, "must be at least 2"));
        }
        Ok(ResidualScale {
            alpha,
            clip,
            warmup,
            min_scale,
            var: 0.0,
            w1: 0.0,
            w2: 0.0,
            n: 0,
        })
    }

    /// Checks a deserialised state (the same rules as `new`, plus sane accumulators).
    pub(crate) fn validate(&self) -> Result<(), Error> {
        Self::new(self.alpha, self.clip, self.warmup, self.min_scale)?;
        // The variance is a mean of squares, so it may exceed MAX_ABS_VALUE; it must
        // only be finite and non-negative. The weight sums lie in [0, 1].
        for (what, v, hi) in [
            ("scale.var", self.var, f64::MAX),
            ("scale.w1", self.w1, 1.0),
            ("scale.w2", self.w2, 1.0),
        ] {
            if !(v >= 0.0 && v <= hi) {
                return Err(Error::param(what, v, "out of range for a residual scale"));
            }
        }
        Ok(())
    }

    /// Whether enough residuals have been seen for the tail probability to mean
    /// something.
    #[inline]
    pub(crate) fn is_ready(&self) -> bool {
        self.n >= self.warmup
    }

    /// Current one-step prediction-error standard deviation (never below the floor).
    #[inline]
    pub(crate) fn scale(&self) -> f64 {
        self.var.sqrt().max(self.min_scale).max(f64::MIN_POSITIVE)
    }

    /// Degrees of freedom of the Student-t used for tail probabilities.
    #[inline]
    pub(crate) fn dof(&self) -> f64 {
        if self.w2 > 0.0 {
            (ew::effective_sample_size(self.w1, self.w2) - 1.0).max(1.0)
        } else {
            1.0
        }
    }

    /// Whether the weights are at their fixed point: absorbing a residual leaves `w1`
    /// and `w2`, and so the degrees of freedom, as they are (in floating point they get
    /// there: after 179 residuals at `alpha = 0.1`, 884 at 0.02). From then on every
    /// tail has the same degrees of freedom and may come from their table.
    #[cfg(test)]
    pub(crate) fn settled(&self) -> bool {
        let a = ew::weight(self.alpha, self.n + 1);
        ew::weight_sums(self.w1, self.w2, a) == (self.w1, self.w2)
    }

    /// Scores a residual against the current scale. Before warm-up ends this is "no
    /// evidence" (deviation 0, tail probability 1).
    #[cfg(test)]
    pub(crate) fn assess(&self, expected: f64, observed: f64) -> Anomaly {
        if !self.is_ready() {
            return Anomaly::cold(expected, observed);
        }
        let residual = observed - expected;
        // Clamped so that a jump after a constant stretch (scale at its floor) is a
        // huge but finite deviation.
        let deviation = (residual / self.scale()).clamp(-f64::MAX, f64::MAX);
        Anomaly::student_t(expected, residual, deviation, self.dof(), self.settled())
    }

    /// `assess` then `absorbed` (their test-only forms) of the same residual
    /// `observed - expected`, with the scale's square root taken once: what a detector's
    /// update does.
    #[inline(always)]
    pub(crate) fn assess_and_absorb(&mut self, expected: f64, observed: f64) -> Anomaly {
        let sd = self.scale();
        let residual = observed - expected;
        let a = ew::weight(self.alpha, self.n + 1);
        let sums = ew::weight_sums(self.w1, self.w2, a);
        let anomaly = if self.is_ready() {
            let deviation = (residual / sd).clamp(-f64::MAX, f64::MAX);
            // Settled (see `settled`): the sums are where they were.
            let settled = sums == (self.w1, self.w2);
            Anomaly::student_t(expected, residual, deviation, self.dof(), settled)
        } else {
            Anomaly::cold(expected, observed)
        };
        *self = self.absorbed_with(residual, sd, a, sums);
        anomaly
    }

    /// The state after absorbing one residual, computed without touching `self`.
    #[cfg(test)]
    pub(crate) fn absorbed(&self, residual: f64) -> Self {
        self.absorbed_with_scale(residual, self.scale())
    }

    /// [`absorbed`](Self::absorbed) given `sd = self.scale()`.
    #[cfg(test)]
    fn absorbed_with_scale(&self, residual: f64, sd: f64) -> Self {
        let a = ew::weight(self.alpha, self.n + 1);
        self.absorbed_with(residual, sd, a, ew::weight_sums(self.w1, self.w2, a))
    }

    /// `absorbed` given `sd = self.scale()`, the weight
    /// `a = ew::weight(alpha, n + 1)` and the weight sums after it.
    #[inline(always)]
    fn absorbed_with(&self, residual: f64, sd: f64, a: f64, sums: (f64, f64)) -> Self {
        let mut next = *self;
        // Once calibrated, winsorise so that one outlier cannot inflate the scale and
        // mask the outliers that follow it.
        let r = if self.clip > 0.0 && self.is_ready() {
            let lim = self.clip * sd;
            residual.clamp(-lim, lim)
        } else {
            residual
        };
        next.var = ew::mean_square(self.var, r, a);
        (next.w1, next.w2) = sums;
        next.n = self.n + 1;
        next
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::math::dist;
    use crate::math::rng::Rng;

    #[test]
    fn warm_up_gives_no_evidence_then_calibrates() {
        let mut s = ResidualScale::new(0.05, 5.0, 10, 0.0).unwrap();
        let mut rng = Rng::new(3);
        for _ in 0..9 {
            assert_eq!(s.assess(0.0, 100.0).tail_probability(), 1.0);
            s = s.absorbed(rng.normal());
        }
        s = s.absorbed(rng.normal());
        assert!(s.is_ready());
        // Student-t with few degrees of freedom is more cautious than the normal.
        let p = s.assess(0.0, 3.0 * s.scale()).tail_probability();
        assert!(p > dist::normal_two_sided(3.0));
    }

    #[test]
    fn the_weights_settle_at_a_fixed_point() {
        for (alpha, at) in [(0.1, 179), (0.02, 884), (1.0, 2)] {
            let mut s = ResidualScale::new(alpha, 0.0, 2, 0.0).unwrap();
            let mut first = None;
            for k in 1..5_000u64 {
                if s.settled() && first.is_none() {
                    first = Some(k);
                }
                if first.is_some() {
                    assert!(s.settled());
                    assert_eq!(s.absorbed(1.0).dof().to_bits(), s.dof().to_bits());
                }
                s = s.absorbed(1.0);
            }
            assert_eq!(first, Some(at), "alpha {alpha}");
        }
    }

    #[test]
    fn effective_sample_size_approaches_the_geometric_limit() {
        let alpha = 0.1;
        let mut s = ResidualScale::new(alpha, 0.0, 2, 0.0).unwrap();
        for _ in 0..2_000 {
            s = s.absorbed(1.0);
        }
        let limit = (2.0 - alpha) / alpha - 1.0;
        assert!((s.dof() - limit).abs() < 1e-9, "{} vs {}", s.dof(), limit);
        assert!((s.scale() - 1.0).abs() < 1e-12);
    }

    #[test]
    fn tail_probabilities_are_calibrated_on_gaussian_noise() {
        let mut s = ResidualScale::new(0.02, 5.0, 30, 0.0).unwrap();
        let mut rng = Rng::new(11);
        let (mut below_1pc, mut below_5pc, mut n) = (0, 0, 0);
        for i in 0..100_000 {
            let r = rng.normal() * 3.0;
            let a = s.assess(0.0, r);
            if i > 1_000 {
                n += 1;
                below_1pc += (a.tail_probability() < 0.01) as usize;
                below_5pc += (a.tail_probability() < 0.05) as usize;
            }
            s = s.absorbed(r);
        }
        let f1 = below_1pc as f64 / n as f64;
        let f5 = below_5pc as f64 / n as f64;
        assert!((0.007..0.013).contains(&f1), "P(p<0.01) = {f1}");
        assert!((0.04..0.06).contains(&f5), "P(p<0.05) = {f5}");
    }

    /// The update's one-pass form computes what assessing then absorbing computes,
    /// bit for bit, through warm-up, clipping and steady state.
    #[test]
    fn assess_and_absorb_is_assess_then_absorbed() {
        let mut one = ResidualScale::new(0.05, 3.0, 10, 1e-3).unwrap();
        let mut two = one;
        let mut rng = Rng::new(5);
        for i in 0..2_000 {
            let x = rng.normal() * if i % 97 == 0 { 50.0 } else { 1.0 };
            let want = two.assess(0.25, x);
            two = two.absorbed(x - 0.25);
            let got = one.assess_and_absorb(0.25, x);
            assert_eq!(got.deviation.to_bits(), want.deviation.to_bits());
            assert_eq!(got.residual.to_bits(), want.residual.to_bits());
            assert_eq!(got.dof(), want.dof());
            assert_eq!(
                got.tail_probability().to_bits(),
                want.tail_probability().to_bits()
            );
            assert_eq!(got.ready, want.ready);
            assert_eq!(one, two);
        }
    }

    #[test]
    fn bad_parameters_are_typed_errors() {
        assert!(ResidualScale::new(0.0, 5.0, 10, 0.0).is_err());
        assert!(ResidualScale::new(f64::NAN, 5.0, 10, 0.0).is_err());
        assert!(ResidualScale::new(0.1, 0.5, 10, 0.0).is_err());
        assert!(ResidualScale::new(0.1, 5.0, 1, 0.0).is_err());
        assert!(ResidualScale::new(0.1, 5.0, 10, -1.0).is_err());
    }
}
