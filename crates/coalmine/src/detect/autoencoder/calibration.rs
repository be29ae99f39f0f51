//! From held-out reconstruction errors to calibrated tail probabilities: the sorted
//! calibration sample, its checks, and the empirical-then-exponential tail.

use crate::Error;
use crate::math::robust::quantile_sorted;

/// Quantile of the held-out errors above which the exponential tail takes over.
const TAIL_QUANTILE: f64 = 0.9;

/// Accepts calibration errors that are non-empty, finite, non-negative and sorted
/// ascending.
pub(super) fn check_calibration(sorted: &[f64]) -> Result<(), Error> {
    if sorted.is_empty() {
        return Err(Error::InsufficientData {
            what: "autoencoder calibration errors",
            needed: 1,
            got: 0,
        });
    }
    for &e in sorted {
        if !e.is_finite() {
            return Err(Error::NonFinite {
                what: "autoencoder calibration error",
                value: e,
            });
        }
        if e < 0.0 {
            return Err(Error::param(
                "holdout_errors",
                e,
                "reconstruction errors must be >= 0",
            ));
        }
    }
    if let Some(w) = sorted.windows(2).find(|w| w[1] < w[0]) {
        return Err(Error::param(
            "holdout_errors",
            w[1],
            "calibration errors must be sorted ascending",
        ));
    }
    Ok(())
}

/// Keeps at most `cap` evenly spaced order statistics of an ascending vector
/// (always including the smallest and the largest).
pub(super) fn thin_sorted(sorted: Vec<f64>, cap: usize) -> Vec<f64> {
    let n = sorted.len();
    if n <= cap || cap < 2 {
        return sorted;
    }
    let step = (n - 1) as f64 / (cap - 1) as f64;
    (0..cap)
        .map(|k| sorted[((k as f64 * step).round() as usize).min(n - 1)])
        .collect()
}

/// What the tail probability needs from the sorted held-out errors.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Tail {
    pub(super) median: f64,
    pub(super) q90: f64,
    pub(super) p_q90: f64,
    pub(super) beta: f64,
}

impl Tail {
    pub(super) fn from_sorted(sorted: &[f64]) -> Self {
        let q90 = quantile_sorted(sorted, TAIL_QUANTILE);
        let (excess, count) = sorted
            .iter()
            .filter(|&&s| s > q90)
            .fold((0.0, 0usize), |(sum, k), &s| (sum + (s - q90), k + 1));
        let beta = if count > 0 {
            excess / count as f64
        } else {
            0.0
        };
        Tail {
            median: quantile_sorted(sorted, 0.5),
            q90,
            p_q90: empirical_upper(sorted, q90),
            beta: beta.max(f64::MIN_POSITIVE),
        }
    }

    pub(super) fn probability(&self, sorted: &[f64], error: f64) -> f64 {
        if error.is_nan() {
            return 1.0;
        }
        let p = if error <= self.q90 {
            empirical_upper(sorted, error)
        } else {
            self.p_q90 * (-(error - self.q90) / self.beta).exp()
        };
        p.clamp(0.0, 1.0)
    }
}

/// `(1 + #{s >= e}) / (n + 1)` for an ascending slice.
fn empirical_upper(sorted: &[f64], e: f64) -> f64 {
    let n = sorted.len();
    let at_least = n - sorted.partition_point(|&s| s < e);
    (1 + at_least) as f64 / (n + 1) as f64
}
