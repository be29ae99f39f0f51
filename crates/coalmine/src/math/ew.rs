//! Exponentially weighted moments, once: the weight schedule, the updates of a mean,
//! a mean square and a centred variance, the sums of weights that give the effective
//! sample size, and the blend of a live estimate with a prior.
//!
//! The `k`-th value enters with weight `a_k = max(alpha, 1/k)`: equal weights (a plain
//! mean) while fewer than `1/alpha` values have been seen, so that the start is not
//! biased towards the first value, and exponential forgetting at rate `alpha` after.
//! The sums `W₁ = Σ w_i` and `W₂ = Σ w_i²` of the weights the values now carry give the
//! effective sample size `W₁² / W₂`.
//!
//! Users: the detectors' residual scale (`detect/scale.rs`) and the scorer's
//! (`scoring`), the risk engine's accumulated deviation, noise scale and joint baseline
//! (`risk/series.rs`). Each keeps its own state (its serialised fields are part of the
//! profile and checkpoint formats); the arithmetic is here.

/// The weight `max(alpha, 1/k)` of the `k`-th value (`k >= 1`).
#[inline]
pub(crate) fn weight(alpha: f64, k: u64) -> f64 {
    alpha.max(1.0 / k as f64)
}

/// A mean after one more value `x` of weight `a`.
#[inline]
pub(crate) fn mean(mean: f64, x: f64, a: f64) -> f64 {
    (1.0 - a) * mean + a * x
}

/// A mean square (an uncentred variance) after one more value `x` of weight `a`.
#[inline]
pub(crate) fn mean_square(mean_square: f64, x: f64, a: f64) -> f64 {
    (1.0 - a) * mean_square + a * x * x
}

/// A mean and a centred variance after one more value `x` of weight `a` (West's
/// update): a constant offset moves the mean, not the variance.
#[inline]
pub(crate) fn centred(mean: f64, variance: f64, x: f64, a: f64) -> (f64, f64) {
    let diff = x - mean;
    (mean + a * diff, (1.0 - a) * (variance + a * diff * diff))
}

/// The sums of weights `(W₁, W₂)` after one more value of weight `a`.
#[inline]
pub(crate) fn weight_sums(w1: f64, w2: f64, a: f64) -> (f64, f64) {
    ((1.0 - a) * w1 + a, (1.0 - a) * (1.0 - a) * w2 + a * a)
}

/// The effective sample size `W₁² / W₂`; 0 before any value.
#[inline]
pub(crate) fn effective_sample_size(w1: f64, w2: f64) -> f64 {
    if w2 > 0.0 { w1 * w1 / w2 } else { 0.0 }
}

/// The most observations an exponentially weighted average with weight `alpha` is
/// worth, `(2 − α)/α`: the limit of its effective sample size.
#[inline]
pub(crate) fn effective_weight(alpha: f64) -> f64 {
    (2.0 - alpha) / alpha
}

/// A live variance estimate worth `live` observations blended with a prior variance
/// worth `prior_ticks`, and the degrees of freedom of the blend (at least 1).
#[inline]
pub(crate) fn with_prior(live_var: f64, live: f64, prior: f64, prior_ticks: f64) -> (f64, f64) {
    let dof = prior_ticks + live;
    let var = (prior_ticks * prior + live * live_var) / dof.max(f64::MIN_POSITIVE);
    (var, dof.max(1.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_effective_sample_size_tends_to_its_limit() {
        let (mut w1, mut w2) = (0.0, 0.0);
        for k in 1..=2_000 {
            (w1, w2) = weight_sums(w1, w2, weight(0.05, k));
        }
        let n = effective_sample_size(w1, w2);
        assert!((n - effective_weight(0.05)).abs() < 1e-6, "{n}");
    }

    #[test]
    fn equal_weights_first_then_forgetting() {
        let (mut m, mut w1, mut w2) = (0.0, 0.0, 0.0);
        for (k, x) in [2.0, 4.0, 6.0].into_iter().enumerate() {
            let a = weight(0.1, k as u64 + 1);
            m = mean(m, x, a);
            (w1, w2) = weight_sums(w1, w2, a);
        }
        // Three values at a plain mean's weights: the mean, and n_eff = 3.
        assert!((m - 4.0).abs() < 1e-12);
        assert!((effective_sample_size(w1, w2) - 3.0).abs() < 1e-12);
        assert_eq!(weight(0.1, 20), 0.1);
        // The geometric limit of the effective sample size is (2 − a) / a.
        for k in 4..5_000 {
            (w1, w2) = weight_sums(w1, w2, weight(0.1, k));
        }
        assert!((effective_sample_size(w1, w2) - 19.0).abs() < 1e-9);
        assert_eq!(effective_sample_size(0.0, 0.0), 0.0);
    }

    #[test]
    fn a_centred_variance_ignores_an_offset_a_mean_square_does_not() {
        let (mut m, mut v, mut ms) = (10.0, 0.0, 0.0);
        for t in 0..2_000 {
            let x = 10.0 + if t % 2 == 0 { 1.0 } else { -1.0 };
            (m, v) = centred(m, v, x, 0.01);
            ms = mean_square(ms, x, 0.01);
        }
        assert!((v - 1.0).abs() < 0.05, "{v}");
        assert!(ms > 90.0);
        assert_eq!(with_prior(4.0, 0.0, 1.0, 2.0), (1.0, 2.0));
        assert_eq!(with_prior(4.0, 6.0, 0.0, 0.0), (4.0, 6.0));
    }
}
