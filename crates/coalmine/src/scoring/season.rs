//! The scorer's season decision: the best-correlated candidate period, and the
//! least-squares Holt-Winters fit with its in-sample error.

use crate::detect::{FitOptions, HoltWinters, HoltWintersConfig};
use crate::profile::autocorrelation;

/// Candidate season lengths (ticks): hourly, daily and weekly cycles at common
/// sampling intervals.
const SEASON_CANDIDATES: [usize; 12] = [7, 12, 24, 48, 60, 96, 144, 168, 288, 336, 672, 1440];
/// How much less a divisor of the best period may correlate and still be preferred.
const HARMONIC_MARGIN: f64 = 0.05;
/// Objective evaluations per Holt-Winters fit.
const FIT_EVALUATIONS: usize = 300;

/// The candidate period with two cycles in `history` and the largest detrended
/// autocorrelation, replaced by its shortest candidate divisor whose autocorrelation
/// is within 0.05 of it (a period-24 cycle correlates as well at lag 48); `(1, -inf)`
/// when no candidate has two cycles.
pub(super) fn best_season(history: &[f64]) -> (usize, f64) {
    let n = history.len();
    let mut acf = [f64::NEG_INFINITY; SEASON_CANDIDATES.len()];
    for (r, &m) in acf.iter_mut().zip(&SEASON_CANDIDATES) {
        if n >= 2 * m + 10 {
            *r = autocorrelation(history, m);
        }
    }
    let mut best = (1, f64::NEG_INFINITY);
    for (&r, &m) in acf.iter().zip(&SEASON_CANDIDATES) {
        if r > best.1 {
            best = (m, r);
        }
    }
    for (&r, &m) in acf.iter().zip(&SEASON_CANDIDATES) {
        if m < best.0 && best.0 % m == 0 && r >= best.1 - HARMONIC_MARGIN {
            return (m, r);
        }
    }
    best
}

/// Fits Holt-Winters (damped trend; season `m`, 1 for none) on `history` and returns
/// the detector, ready to continue after the history, with its in-sample one-step
/// mean squared error.
pub(super) fn fit_in_sample(
    m: usize,
    history: &[f64],
    variance_alpha: f64,
) -> Option<(HoltWinters, f64)> {
    let config = HoltWintersConfig {
        season_length: m,
        variance_alpha,
        ..HoltWintersConfig::default()
    };
    let options = FitOptions {
        damped: true,
        max_evaluations: FIT_EVALUATIONS,
        ..FitOptions::default()
    };
    let hw = HoltWinters::fit(config, history, &options).ok()?;
    // With negligible forgetting and no winsorising, the residual scale left by a pass
    // over the history is the root mean squared one-step error.
    let exact = HoltWintersConfig {
        params: *hw.params(),
        variance_alpha: 1e-12,
        clip: 0.0,
        ..config
    };
    let rmse = HoltWinters::from_history(exact, history)
        .ok()?
        .residual_scale();
    Some((hw, rmse * rmse))
}
