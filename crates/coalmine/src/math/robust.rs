//! Robust location and scale: medians and the median absolute deviation.

/// Median and 1.4826 × MAD (the standard deviation when the MAD is 0, floored at a
/// tiny positive value so that a constant series has a usable scale).
pub(crate) fn robust_location_scale(xs: &[f64]) -> (f64, f64) {
    let mut v: Vec<f64> = xs.to_vec();
    v.sort_by(f64::total_cmp);
    let med = median_sorted(&v);
    let mut dev: Vec<f64> = v.iter().map(|x| (x - med).abs()).collect();
    dev.sort_by(f64::total_cmp);
    let mad = 1.4826 * median_sorted(&dev);
    let scale = if mad > 0.0 {
        mad
    } else {
        let n = v.len().max(1) as f64;
        let mean = v.iter().sum::<f64>() / n;
        (v.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / n).sqrt()
    };
    (med, scale.max(1e-12 * (1.0 + med.abs())))
}

fn median_sorted(v: &[f64]) -> f64 {
    match v.len() {
        0 => 0.0,
        n if n % 2 == 1 => v[n / 2],
        n => 0.5 * (v[n / 2 - 1] + v[n / 2]),
    }
}
