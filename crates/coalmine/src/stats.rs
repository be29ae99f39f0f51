//! Small numerical helpers shared by the detectors: distribution tails and quantiles.
//!
//! All functions are total: they never panic and return a value in the documented
//! range for every input, NaN included (NaN in, "no evidence" out).

use statrs::function::{beta, erf};

/// Degrees of freedom beyond which the Student-t tail is replaced by the normal tail
/// (the two differ by less than 1e-4 in relative terms at |t| <= 6 there).
const T_TO_NORMAL_DOF: f64 = 1.0e4;

/// Two-sided tail probability of a standard normal: `P(|Z| >= |z|)`.
#[inline]
pub fn normal_two_sided(z: f64) -> f64 {
    if z.is_nan() {
        return 1.0;
    }
    erf::erfc(z.abs() * std::f64::consts::FRAC_1_SQRT_2).clamp(0.0, 1.0)
}

/// Upper tail probability of a standard normal: `P(Z >= z)`.
#[inline]
pub fn normal_upper(z: f64) -> f64 {
    if z.is_nan() {
        return 1.0;
    }
    (0.5 * erf::erfc(z * std::f64::consts::FRAC_1_SQRT_2)).clamp(0.0, 1.0)
}

/// The `z` with `P(Z >= z) = p` for a standard normal (`p` clamped to `[1e-300, 1]`).
#[inline]
pub fn normal_upper_quantile(p: f64) -> f64 {
    if p.is_nan() {
        return 0.0;
    }
    let p = p.clamp(1e-300, 1.0);
    // erfc_inv(2p) * sqrt(2); erfc_inv is defined on [0, 2].
    std::f64::consts::SQRT_2 * erf::erfc_inv(2.0 * p)
}

/// Two-sided tail probability of Student's t with `dof` degrees of freedom:
/// `P(|T| >= |t|)`. `dof` below 1 is treated as 1 (the heaviest tail used);
/// very large `dof` falls back to the normal tail.
#[inline]
pub fn student_t_two_sided(t: f64, dof: f64) -> f64 {
    if t.is_nan() {
        return 1.0;
    }
    let dof = if dof.is_nan() { 1.0 } else { dof.max(1.0) };
    if dof >= T_TO_NORMAL_DOF {
        return normal_two_sided(t);
    }
    if t.is_infinite() {
        return 0.0;
    }
    let x = dof / (dof + t * t);
    // P(|T| >= t) = I_x(dof/2, 1/2), the regularised incomplete beta function.
    match beta::checked_beta_reg(0.5 * dof, 0.5, x) {
        Ok(p) if p.is_finite() => p.clamp(0.0, 1.0),
        _ => normal_two_sided(t),
    }
}

/// Upper tail probability of Student's t with `dof` degrees of freedom: `P(T >= t)`
/// (same conventions as [`student_t_two_sided`]).
#[inline]
pub fn student_t_upper(t: f64, dof: f64) -> f64 {
    let two_sided = student_t_two_sided(t, dof);
    if t > 0.0 {
        0.5 * two_sided
    } else {
        1.0 - 0.5 * two_sided
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normal_tails_match_known_values() {
        // Reference values from scipy.stats.norm.sf (statrs' erfc is good to ~1e-10
        // relative, far finer than any decision needs).
        assert!((normal_two_sided(1.959963984540054) - 0.05).abs() < 1e-10);
        assert!((normal_upper(2.326347874040841) - 0.01).abs() < 1e-10);
        assert!((normal_upper_quantile(0.01) - 2.326347874040841).abs() < 1e-9);
        assert!((normal_upper_quantile(0.5)).abs() < 1e-12);
        assert_eq!(normal_two_sided(f64::NAN), 1.0);
        assert_eq!(normal_two_sided(f64::INFINITY), 0.0);
    }

    #[test]
    fn student_t_tails_match_scipy() {
        // 2 * scipy.stats.t.sf(|t|, dof)
        assert!((student_t_two_sided(2.0, 5.0) - 0.10193947882985835).abs() < 1e-10);
        assert!((student_t_two_sided(-3.0, 10.0) - 0.01334365502256957).abs() < 1e-10);
        assert!((student_t_two_sided(1.0, 1.0) - 0.5).abs() < 1e-12);
        assert_eq!(student_t_two_sided(0.0, 3.0), 1.0);
        assert_eq!(student_t_two_sided(f64::INFINITY, 3.0), 0.0);
        assert_eq!(student_t_two_sided(f64::NAN, 3.0), 1.0);
        // One-sided: 2 * scipy.stats.t.sf(2, 5) / 2, and its complement below zero.
        assert!((student_t_upper(2.0, 5.0) - 0.10193947882985835 / 2.0).abs() < 1e-10);
        assert!((student_t_upper(-2.0, 5.0) - (1.0 - 0.10193947882985835 / 2.0)).abs() < 1e-10);
        assert_eq!(student_t_upper(0.0, 5.0), 0.5);
        // Converges to the normal.
        let z = 2.5;
        assert!((student_t_two_sided(z, 1e5) - normal_two_sided(z)).abs() < 1e-9);
    }
}
