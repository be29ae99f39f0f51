//! Is a series seasonal, and with which period? The seasonal strength at each
//! candidate period (how much closer values one period apart are than values at lags
//! inside the period), the best one above a threshold; and the candidates a day and a
//! week make at the tick interval the timestamps show.

/// Lags inside a candidate period whose variogram the one at the period is compared
/// with. Eight, evenly spread, average out the shape of any season (a season of the
/// period, or of one of its divisors, leaves most of them far from a multiple of it)
/// at a cost of nine passes over the history per candidate.
const INSIDE_LAGS: usize = 8;
/// How much weaker a candidate that divides the strongest one may be and still be
/// preferred: a daily cycle is as strong at a week as at a day, and the shorter
/// season needs a seventh of the history to learn.
const DIVISOR_MARGIN: f64 = 0.05;
/// Seconds in a day and in a week.
const DAY_SECONDS: f64 = 86_400.0;
const WEEK_SECONDS: f64 = 7.0 * DAY_SECONDS;

/// The series minus its least-squares line over the observed points (NaN stays NaN),
/// so that a trend does not look like a season; `None` with fewer than three points
/// observed.
fn detrended(y: &[f64]) -> Option<Vec<f64>> {
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
        return None;
    }
    let den = k * stt - st * st;
    let slope = if den > 0.0 {
        (k * sty - st * sy) / den
    } else {
        0.0
    };
    let intercept = (sy - slope * st) / k;
    Some(
        y.iter()
            .enumerate()
            .map(|(t, &v)| v - (intercept + slope * t as f64))
            .collect(),
    )
}

/// Autocorrelation of `y` (NaN = missing, pairs with a missing side skipped) at `lag`,
/// after removing a least-squares line so that a trend does not look like a season.
pub(crate) fn autocorrelation(y: &[f64], lag: usize) -> f64 {
    let n = y.len();
    if lag == 0 || lag >= n {
        return 0.0;
    }
    let Some(r) = detrended(y) else {
        return 0.0;
    };
    let (mut var, mut k) = (0.0, 0.0);
    for v in r.iter().filter(|v| !v.is_nan()) {
        var += v * v;
        k += 1.0;
    }
    var /= k;
    if var <= 0.0 {
        return 0.0;
    }
    let (mut cov, mut pairs) = (0.0, 0.0);
    for t in lag..n {
        if !r[t].is_nan() && !r[t - lag].is_nan() {
            cov += r[t] * r[t - lag];
            pairs += 1.0;
        }
    }
    if pairs < 2.0 {
        return 0.0;
    }
    (cov / pairs / var).clamp(-1.0, 1.0)
}

/// The trend per tick of `y` (NaN = missing) judged at period `m`: the least-squares
/// slope through the means of its whole periods, each placed at its centre. A season
/// of period `m` has the same mean in every period, so unlike a line fitted to the
/// values themselves (which a sine over two periods tilts) it leaves the season
/// periodic. `None` with fewer than two periods observed.
fn period_slope(y: &[f64], m: usize) -> Option<f64> {
    let (mut sx, mut sy, mut sxx, mut sxy, mut k) = (0.0, 0.0, 0.0, 0.0, 0.0);
    for (c, chunk) in y.chunks_exact(m).enumerate() {
        let (sum, n) = chunk
            .iter()
            .filter(|v| !v.is_nan())
            .fold((0.0, 0usize), |(s, n), v| (s + v, n + 1));
        if n > 0 {
            let x = (c * m) as f64 + 0.5 * (m as f64 - 1.0);
            let mean = sum / n as f64;
            sx += x;
            sy += mean;
            sxx += x * x;
            sxy += x * mean;
            k += 1.0;
        }
    }
    if k < 2.0 {
        return None;
    }
    let den = k * sxx - sx * sx;
    Some(if den > 0.0 {
        (k * sxy - sx * sy) / den
    } else {
        0.0
    })
}

/// Half the mean squared difference of values `lag` apart once `slope` per tick is
/// removed (the empirical variogram of the detrended series), over pairs where both
/// are observed; `None` with fewer than two pairs.
fn variogram(y: &[f64], lag: usize, slope: f64) -> Option<f64> {
    let drift = slope * lag as f64;
    let (mut sum, mut pairs) = (0.0, 0usize);
    for (a, b) in y[lag..].iter().zip(y) {
        if !a.is_nan() && !b.is_nan() {
            let d = a - b - drift;
            sum += d * d;
            pairs += 1;
        }
    }
    (pairs >= 2).then(|| 0.5 * sum / pairs as f64)
}

/// Seasonal strength of `y` (NaN = missing) at period `m`: `1 − γ(m) / γ̄`, where
/// `γ(k)` is the variogram at lag `k` of the series less its trend (the slope through
/// its period means) and `γ̄` its mean over [`INSIDE_LAGS`] lags spread evenly inside
/// `(0, m)`.
///
/// With a season of period `m` plus independent noise, `γ(m)` is the noise variance
/// and `γ̄` the noise plus the season's variance, so the strength is the share of the
/// variance the season explains (as the autocorrelation at `m` would be). A level
/// that varies slowly compared with `m` has `γ(k)` growing with `k`, so `γ(m)` is
/// above the mean and the strength is negative: such a level is never taken for a
/// short season, however high its autocorrelation at `m`. Noise scores about 0.
/// `None` when `m < 2`, with fewer than two periods of history, or when the series
/// does not vary.
pub(crate) fn seasonal_strength(y: &[f64], m: usize) -> Option<f64> {
    if m < 2 || y.len() < 2 * m {
        return None;
    }
    let slope = period_slope(y, m)?;
    let at_period = variogram(y, m, slope)?;
    let lags = INSIDE_LAGS.min(m - 1);
    let (mut inside, mut count) = (0.0, 0usize);
    for j in 1..=lags {
        let k = ((j * m) as f64 / (lags + 1) as f64).round() as usize;
        if let Some(g) = variogram(y, k.clamp(1, m - 1), slope) {
            inside += g;
            count += 1;
        }
    }
    if count == 0 || !(inside > 0.0 && inside.is_finite() && at_period.is_finite()) {
        return None;
    }
    let inside = inside / count as f64;
    Some((1.0 - at_period / inside).clamp(-1.0, 1.0))
}

/// The candidate period with the largest seasonal strength above `threshold`, among
/// those with at least two periods of history, replaced by the shortest candidate
/// dividing it whose strength is within [`DIVISOR_MARGIN`] of it and above the
/// threshold; `(1, 0)` when none qualifies.
pub(crate) fn detect_season(y: &[f64], candidates: &[usize], threshold: f64) -> (usize, f64) {
    let strengths: Vec<(usize, f64)> = candidates
        .iter()
        .filter_map(|&m| seasonal_strength(y, m).map(|s| (m, s)))
        .filter(|&(_, s)| s > threshold)
        .collect();
    let Some(&best) = strengths
        .iter()
        .max_by(|a, b| a.1.total_cmp(&b.1).then(b.0.cmp(&a.0)))
    else {
        return (1, 0.0);
    };
    strengths
        .iter()
        .filter(|&&(m, s)| best.0 % m == 0 && s >= best.1 - DIVISOR_MARGIN)
        .min_by_key(|&&(m, _)| m)
        .copied()
        .unwrap_or(best)
}

/// Ticks per day and per week at `interval` seconds per tick, rounded, keeping those of
/// at least two ticks (a season needs two positions) and at most `max_len`.
pub(crate) fn calendar_periods(interval: f64, max_len: usize) -> Vec<usize> {
    if !(interval.is_finite() && interval > 0.0) {
        return Vec::new();
    }
    [DAY_SECONDS, WEEK_SECONDS]
        .iter()
        .map(|&p| (p / interval).round())
        .filter(|&m| m >= 2.0 && m <= max_len as f64)
        .map(|m| m as usize)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::math::rng::Rng;

    const DAY: usize = 1440;

    /// One-minute ticks: a daily cycle (a smooth, slowly varying level at any lag far
    /// below a day) plus noise.
    fn daily(days: usize, noise: f64, seed: u64) -> Vec<f64> {
        let mut rng = Rng::new(seed);
        (0..days * DAY)
            .map(|t| {
                let phase = std::f64::consts::TAU * (t % DAY) as f64 / DAY as f64;
                100.0 + 30.0 * phase.sin() + noise * rng.normal()
            })
            .collect()
    }

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

    #[test]
    fn a_daily_cycle_is_found_from_two_days_and_never_as_a_short_season() {
        let y = daily(2, 3.0, 1);
        // The slowly varying level correlates highly at 24 minutes...
        assert!(autocorrelation(&y, 24) > 0.9);
        // ...but is no season there: values 24 minutes apart differ more than values
        // closer together.
        let short = seasonal_strength(&y, 24).unwrap();
        assert!(short < 0.0, "{short}");
        let day = seasonal_strength(&y, DAY).unwrap();
        assert!(day > 0.9, "{day}");
        let (m, s) = detect_season(&y, &[24, 48, 96, 144, 288, 1440], 0.3);
        assert_eq!((m, s), (DAY, day));
        // The week does not fit in two days.
        assert_eq!(detect_season(&y, &[DAY, 7 * DAY], 0.3).0, DAY);
        // Less than two days: no daily season.
        assert_eq!(detect_season(&y[..2 * DAY - 1], &[DAY], 0.3).0, 1);
    }

    #[test]
    fn noise_and_a_wandering_level_are_not_seasonal() {
        let mut rng = Rng::new(2);
        let noise: Vec<f64> = (0..2 * DAY).map(|_| 50.0 + rng.normal()).collect();
        let s = seasonal_strength(&noise, DAY).unwrap();
        assert!(s.abs() < 0.1, "{s}");
        assert_eq!(detect_season(&noise, &[24, 48, 288, DAY], 0.3).0, 1);
        // A random walk: every lag's autocorrelation is high, none is a season.
        let mut level = 0.0;
        let walk: Vec<f64> = (0..6 * 48)
            .map(|_| {
                level += rng.normal();
                level
            })
            .collect();
        assert!(autocorrelation(&walk, 24) > 0.3);
        assert_eq!(detect_season(&walk, &[24, 48, 96], 0.3).0, 1);
    }

    #[test]
    fn the_shorter_of_equally_strong_periods_wins() {
        // A daily cycle over three weeks is as strong at a week as at a day.
        let y = daily(21, 3.0, 3);
        assert_eq!(detect_season(&y, &[7 * DAY, DAY], 0.3).0, DAY);
        // A weekend that differs makes the week clearly stronger.
        let weekly: Vec<f64> = y
            .iter()
            .enumerate()
            .map(|(t, v)| if (t / DAY) % 7 >= 5 { v - 60.0 } else { *v })
            .collect();
        assert_eq!(detect_season(&weekly, &[DAY, 7 * DAY], 0.3).0, 7 * DAY);
    }

    #[test]
    fn calendar_periods_at_common_intervals() {
        assert_eq!(calendar_periods(60.0, 1 << 20), vec![1440, 10_080]);
        assert_eq!(calendar_periods(1800.0, 1 << 20), vec![48, 336]);
        assert_eq!(calendar_periods(10.0, 10_000), vec![8640]);
        assert_eq!(calendar_periods(86_400.0, 1 << 20), vec![7]);
        assert_eq!(
            calendar_periods(7.0 * 86_400.0, 1 << 20),
            Vec::<usize>::new()
        );
        assert!(calendar_periods(0.0, 100).is_empty());
        assert!(calendar_periods(f64::NAN, 100).is_empty());
    }
}
