//! Order statistics, each definition written once: the median, the linearly
//! interpolated quantile, the nearest-rank quantile, and the robust location and scale
//! (median and MAD) of a profile.
//!
//! The functions take values already sorted ascending (with `f64::total_cmp`), so a
//! caller that needs several statistics sorts once, and they never panic: an empty
//! slice gives 0.

/// Converts a median absolute deviation into a normal-consistent standard deviation.
pub const MAD_TO_SD: f64 = 1.4826;

/// The median of sorted values: the middle one, or the mean of the two middle ones
/// for an even count (numpy's `median`); 0 for none.
pub fn median_sorted(sorted: &[f64]) -> f64 {
    match sorted.len() {
        0 => 0.0,
        n if n % 2 == 1 => sorted[n / 2],
        n => 0.5 * (sorted[n / 2 - 1] + sorted[n / 2]),
    }
}

/// The `q` quantile (`q` in `[0, 1]`) of sorted values by linear interpolation between
/// order statistics (numpy's default `percentile`); 0 for none.
pub fn quantile_sorted(sorted: &[f64], q: f64) -> f64 {
    let Some(&last) = sorted.last() else {
        return 0.0;
    };
    let pos = q * (sorted.len() - 1) as f64;
    let lo = pos.floor() as usize;
    let hi = (lo + 1).min(sorted.len() - 1);
    match (sorted.get(lo), sorted.get(hi)) {
        (Some(&a), Some(&b)) => a + (b - a) * (pos - lo as f64),
        _ => last,
    }
}

/// The `q` quantile of sorted values by nearest rank: the `⌈q n⌉`-th smallest (at
/// least the first); 0 for none.
pub fn nearest_rank(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = (sorted.len() as f64 * q).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// Median and 1.4826 × MAD (the standard deviation when the MAD is 0, floored at a
/// tiny positive value so that a constant series has a usable scale).
pub(crate) fn robust_location_scale(xs: &[f64]) -> (f64, f64) {
    let mut v: Vec<f64> = xs.to_vec();
    v.sort_by(f64::total_cmp);
    let med = median_sorted(&v);
    let mut dev: Vec<f64> = v.iter().map(|x| (x - med).abs()).collect();
    dev.sort_by(f64::total_cmp);
    let mad = MAD_TO_SD * median_sorted(&dev);
    let scale = if mad > 0.0 {
        mad
    } else {
        let n = v.len().max(1) as f64;
        let mean = v.iter().sum::<f64>() / n;
        (v.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / n).sqrt()
    };
    (med, scale.max(1e-12 * (1.0 + med.abs())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_three_quantiles_on_small_samples() {
        assert_eq!(median_sorted(&[]), 0.0);
        assert_eq!(median_sorted(&[1.0, 2.0, 4.0]), 2.0);
        assert_eq!(median_sorted(&[1.0, 2.0, 4.0, 8.0]), 3.0);
        assert_eq!(quantile_sorted(&[], 0.5), 0.0);
        assert_eq!(quantile_sorted(&[1.0, 2.0, 4.0, 8.0], 0.5), 3.0);
        assert_eq!(quantile_sorted(&[0.0, 10.0], 0.25), 2.5);
        assert_eq!(quantile_sorted(&[0.0, 10.0], 1.0), 10.0);
        let v: Vec<f64> = (1..=10).map(f64::from).collect();
        assert_eq!(nearest_rank(&v, 0.9), 9.0);
        assert_eq!(nearest_rank(&v, 0.0), 1.0);
        assert_eq!(nearest_rank(&v, 1.0), 10.0);
        assert_eq!(nearest_rank(&[], 0.5), 0.0);
    }

    #[test]
    fn location_and_scale_are_robust_and_never_zero() {
        let (loc, scale) = robust_location_scale(&[1.0, 2.0, 3.0, 4.0, 1000.0]);
        assert_eq!(loc, 3.0);
        assert_eq!(scale, MAD_TO_SD);
        let (loc, scale) = robust_location_scale(&[5.0; 10]);
        assert_eq!(loc, 5.0);
        assert!(scale > 0.0 && scale < 1e-10);
    }
}
