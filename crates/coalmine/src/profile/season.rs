//! Is a series seasonal, and with which period? The autocorrelation of the detrended
//! series at each candidate period, the best one above a threshold.

/// Autocorrelation of `y` (NaN = missing, pairs with a missing side skipped) at `lag`,
/// after removing a least-squares line so that a trend does not look like a season.
pub(crate) fn autocorrelation(y: &[f64], lag: usize) -> f64 {
    let n = y.len();
    if lag == 0 || lag >= n {
        return 0.0;
    }
    // Detrend over the observed points.
    let (mut st, mut sy, mut stt, mut sty, mut k) = (0.0, 0.0, 0.0, 0.0, 0.0);
    for (t, &v) in y.iter().enumerate() {
        if !v.is_nan() {
            let t = t as f64;
            st += t;
            sy += v;
            stt += t * t;
            sty += t * v;
            k += 1.0;
        }
    }
    if k < 3.0 {
        return 0.0;
    }
    let den = k * stt - st * st;
    let slope = if den > 0.0 {
        (k * sty - st * sy) / den
    } else {
        0.0
    };
    let intercept = (sy - slope * st) / k;
    let r = |t: usize| y[t] - (intercept + slope * t as f64);
    let mut var = 0.0;
    for (t, v) in y.iter().enumerate() {
        if !v.is_nan() {
            var += r(t) * r(t);
        }
    }
    var /= k;
    if var <= 0.0 {
        return 0.0;
    }
    let (mut cov, mut pairs) = (0.0, 0.0);
    for t in lag..n {
        if !y[t].is_nan() && !y[t - lag].is_nan() {
            cov += r(t) * r(t - lag);
            pairs += 1.0;
        }
    }
    if pairs < 2.0 {
        return 0.0;
    }
    (cov / pairs / var).clamp(-1.0, 1.0)
}

/// The candidate period with the highest autocorrelation above `threshold` among those
/// with at least three cycles of history; `(1, 0)` when none qualifies.
pub(crate) fn detect_season(y: &[f64], candidates: &[usize], threshold: f64) -> (usize, f64) {
    let mut best = (1, 0.0);
    for &m in candidates {
        if m < 2 || y.len() < 3 * m {
            continue;
        }
        let r = autocorrelation(y, m);
        if r > threshold && r > best.1 {
            best = (m, r);
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_trend_is_not_a_season() {
        let y: Vec<f64> = (0..500)
            .map(|t| t as f64 * 0.3 + ((t * 7919) % 11) as f64 * 0.01)
            .collect();
        assert_eq!(detect_season(&y, &[24, 48], 0.3).0, 1);
        let mut gappy: Vec<f64> = (0..500)
            .map(|t| (std::f64::consts::TAU * t as f64 / 24.0).sin())
            .collect();
        for t in (0..500).step_by(7) {
            gappy[t] = f64::NAN;
        }
        assert_eq!(detect_season(&gappy, &[24, 48], 0.3).0, 24);
    }
}
