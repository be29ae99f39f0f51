//! Offline rank statistics of a canary sample against a control sample: the
//! Mann-Whitney U test and the Hodges-Lehmann shift. They compare two whole windows of
//! values, as Kayenta's judge does, and are not part of the per-tick risk path; a test
//! repeated every tick needs the sequential test instead.
//!
//! # Mann-Whitney U
//!
//! [`mann_whitney_u`] ranks the pooled samples (ties get average ranks) and takes
//! `U = R_x - n_x (n_x + 1) / 2`, the number of pairs with `x_i > y_j` plus half the
//! tied pairs. Under "same distribution" `U` has mean `n_x n_y / 2` and, with the tie
//! correction, standard deviation
//! `sqrt(n_x n_y / 12 · ((n + 1) - Σ(t³ - t) / (n (n - 1))))` (`n = n_x + n_y`, `t` the
//! size of each group of ties). The p-values use the normal approximation with a
//! continuity correction of ½, exactly as `scipy.stats.mannwhitneyu(x, y,
//! method="asymptotic", use_continuity=True)` computes them for
//! `alternative="two-sided"`, `"greater"` and `"less"` (the oracle tests compare to
//! 1e-12). `U / (n_x n_y)` is the common-language effect size `P(X > Y) + ½ P(X = Y)`.
//!
//! # Hodges-Lehmann shift
//!
//! [`hodges_lehmann`] estimates the shift `x - y` as the median of all `n_x n_y`
//! pairwise differences `x_i - y_j`, with the distribution-free interval of Lehmann
//! and Moses: with `N = n_x n_y`,
//! `k = floor(N / 2 - z_{1-a/2} sqrt(N (n_x + n_y + 1) / 12))` and the interval
//! `[D_(k+1), D_(N-k)]` between order statistics of the differences (1-based, clamped
//! to valid indices). The normal approximation of `U` sets `k`; there is no tie
//! correction, so with heavily tied data the interval is somewhat conservative.

use serde::{Deserialize, Serialize};

use crate::Error;
use crate::math::dist;
use crate::math::robust::median_sorted;

/// The largest number of pairwise differences [`hodges_lehmann`] accepts
/// (`n_x · n_y`), which bounds its scratch buffer at 8 MB.
pub const MAX_PAIRS: usize = 1_000_000;

/// The largest combined sample size `n_x + n_y` [`mann_whitney_u`] accepts; below it
/// every rank sum is an exact half-integer in `f64`.
pub const MAX_RANK_SAMPLES: usize = 1 << 26;

/// Preallocated buffers for [`mann_whitney_u`] and [`hodges_lehmann`]: once they have
/// grown to the largest window used, repeated calls allocate nothing.
#[derive(Debug, Clone, Default)]
pub struct MannWhitneyScratch {
    xs: Vec<f64>,
    ys: Vec<f64>,
    pairs: Vec<f64>,
}

impl MannWhitneyScratch {
    /// Empty buffers; they grow on first use.
    pub fn new() -> Self {
        Self::default()
    }

    /// Room for two samples of up to `n` values each (the rank test's buffers). The
    /// `n_x · n_y` buffer of [`hodges_lehmann`] is not reserved here, as it can be large;
    /// see [`reserve_pairs`](Self::reserve_pairs).
    pub fn with_capacity(n: usize) -> Self {
        let n = n.min(MAX_RANK_SAMPLES);
        MannWhitneyScratch {
            xs: Vec::with_capacity(n),
            ys: Vec::with_capacity(n),
            pairs: Vec::new(),
        }
    }

    /// Reserves the pairwise-difference buffer of [`hodges_lehmann`] for samples of
    /// `n_x` and `n_y` values (at most [`MAX_PAIRS`] in all).
    pub fn reserve_pairs(&mut self, n_x: usize, n_y: usize) {
        let want = n_x.saturating_mul(n_y).min(MAX_PAIRS);
        self.pairs.reserve(want.saturating_sub(self.pairs.len()));
    }
}

/// The result of a two-sided Mann-Whitney U test of `x` against `y`. See the
/// [module documentation](self).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct MannWhitney {
    /// `U` of `x`: the number of pairs with `x_i > y_j` plus half the tied pairs
    /// (scipy's statistic, `U1`).
    pub u: f64,
    /// Signed standardised statistic with the continuity correction,
    /// `(U - n_x n_y / 2 ∓ ½) / sd(U)`: positive when `x` tends to be larger, 0 when
    /// `U` is at its mean or every value is tied.
    pub z: f64,
    /// Two-sided p-value (scipy's `alternative="two-sided"`).
    pub p_value: f64,
    /// One-sided p-value for "`x` is stochastically greater than `y`" (scipy's
    /// `alternative="greater"`).
    pub p_greater: f64,
    /// One-sided p-value for "`x` is stochastically less than `y`" (scipy's
    /// `alternative="less"`).
    pub p_less: f64,
    /// Size of `x`.
    pub n_x: usize,
    /// Size of `y`.
    pub n_y: usize,
    /// Common-language effect size (probability of superiority)
    /// `P(X > Y) + ½ P(X = Y) = U / (n_x n_y)`, in `[0, 1]`; ½ means no tendency.
    pub effect_size: f64,
    /// Rank-biserial correlation `2 · effect_size - 1`, in `[-1, 1]`.
    pub rank_biserial: f64,
}

/// Checks that a sample is non-empty and finite (and, if `bounded`, within
/// [`crate::MAX_ABS_VALUE`]), then copies it into `buf`.
fn load_sample(
    buf: &mut Vec<f64>,
    sample: &[f64],
    what: &'static str,
    bounded: bool,
) -> Result<(), Error> {
    if sample.is_empty() {
        return Err(Error::InsufficientData {
            what,
            needed: 1,
            got: 0,
        });
    }
    for &v in sample {
        if bounded {
            Error::check_value(what, v)?;
        } else if !v.is_finite() {
            return Err(Error::NonFinite { what, value: v });
        }
    }
    buf.clear();
    buf.extend_from_slice(sample);
    buf.sort_unstable_by(f64::total_cmp);
    Ok(())
}

/// Two-sided Mann-Whitney U test of `x` against `y` (normal approximation with tie and
/// continuity corrections; scipy's `method="asymptotic"`), with one-sided p-values and
/// effect sizes. See the [module documentation](self).
///
/// When every value is tied the variance of `U` is zero: the p-values are 1 and `z` is
/// 0. `scratch` holds sorted copies of the samples; once it is large enough the call
/// allocates nothing.
///
/// # Errors
///
/// [`Error::InsufficientData`] if a sample is empty, [`Error::NonFinite`] for NaN or
/// infinite values, [`Error::TooLarge`] beyond [`MAX_RANK_SAMPLES`] values in all.
pub fn mann_whitney_u(
    x: &[f64],
    y: &[f64],
    scratch: &mut MannWhitneyScratch,
) -> Result<MannWhitney, Error> {
    let total = x.len().saturating_add(y.len());
    if total > MAX_RANK_SAMPLES {
        return Err(Error::TooLarge {
            what: "mann_whitney_u samples",
            got: total,
            limit: MAX_RANK_SAMPLES,
        });
    }
    load_sample(&mut scratch.xs, x, "mann_whitney_u x", false)?;
    load_sample(&mut scratch.ys, y, "mann_whitney_u y", false)?;
    let (xs, ys) = (&scratch.xs, &scratch.ys);
    let (nx, ny) = (xs.len(), ys.len());

    // Merge the sorted samples group by group of equal values: each group of `t` values
    // takes the average of the ranks it spans; `x`'s share goes into its rank sum.
    let (mut i, mut j) = (0usize, 0usize);
    let mut ranked = 0usize;
    let mut rank_sum_x = 0.0;
    let mut tie_term = 0.0;
    loop {
        let v = match (xs.get(i), ys.get(j)) {
            (Some(&a), Some(&b)) => a.min(b),
            (Some(&a), None) => a,
            (None, Some(&b)) => b,
            (None, None) => break,
        };
        let (i0, j0) = (i, j);
        while i < nx && xs[i] == v {
            i += 1;
        }
        while j < ny && ys[j] == v {
            j += 1;
        }
        let in_x = (i - i0) as f64;
        let t = (i - i0 + j - j0) as f64;
        rank_sum_x += in_x * (ranked as f64 + (t + 1.0) / 2.0);
        tie_term += t * t * t - t;
        ranked += i - i0 + j - j0;
    }

    let (n1, n2) = (nx as f64, ny as f64);
    let n1n2 = (nx as f64) * (ny as f64);
    let n = n1 + n2;
    let u1 = rank_sum_x - n1 * (n1 + 1.0) / 2.0;
    let u2 = n1n2 - u1;
    let mu = n1n2 / 2.0;
    // The same expression, in the same order, as scipy's `_get_mwu_z`.
    let sd = (n1n2 / 12.0 * ((n + 1.0) - tie_term / (n * (n - 1.0)))).sqrt();
    let effect_size = u1 / n1n2;
    let (z, p_value, p_greater, p_less) = if sd > 0.0 && sd.is_finite() {
        // Continuity correction: the p-value of `U` uses the survival function at
        // `U - ½` (scipy always takes the upper tail of U1, U2 or max(U1, U2)).
        let p_value = (2.0 * dist::normal_upper((u1.max(u2) - mu - 0.5) / sd)).clamp(0.0, 1.0);
        let p_greater = dist::normal_upper((u1 - mu - 0.5) / sd);
        let p_less = dist::normal_upper((u2 - mu - 0.5) / sd);
        let z = if u1 > mu {
            (u1 - mu - 0.5) / sd
        } else if u1 < mu {
            (u1 - mu + 0.5) / sd
        } else {
            0.0
        };
        (z, p_value, p_greater, p_less)
    } else {
        (0.0, 1.0, 1.0, 1.0)
    };
    Ok(MannWhitney {
        u: u1,
        z,
        p_value,
        p_greater,
        p_less,
        n_x: nx,
        n_y: ny,
        effect_size,
        rank_biserial: 2.0 * effect_size - 1.0,
    })
}

/// A shift estimate `x - y` with a confidence interval (see [`hodges_lehmann`]).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ShiftEstimate {
    /// The point estimate (median of the pairwise differences `x_i - y_j`).
    pub shift: f64,
    /// Lower end of the confidence interval.
    pub lower: f64,
    /// Upper end of the confidence interval.
    pub upper: f64,
    /// The confidence level the interval was built for, in `(0, 1)`.
    pub confidence: f64,
}

impl ShiftEstimate {
    /// The estimate and its interval relative to a baseline level (typically the
    /// control's median, as [`relative_shift`] does): each value divided by
    /// `|baseline|`, so that `0.1` means "10 % of the baseline" and the sign still says
    /// up or down. `None` when the baseline is 0 or not finite, or a ratio would not be
    /// finite.
    pub fn relative_to(&self, baseline: f64) -> Option<ShiftEstimate> {
        let b = baseline.abs();
        if !(b > 0.0 && b.is_finite()) {
            return None;
        }
        let r = ShiftEstimate {
            shift: self.shift / b,
            lower: self.lower / b,
            upper: self.upper / b,
            confidence: self.confidence,
        };
        (r.shift.is_finite() && r.lower.is_finite() && r.upper.is_finite()).then_some(r)
    }
}

/// The Hodges-Lehmann estimate of the shift `x - y` (the median of all pairwise
/// differences `x_i - y_j`) with the distribution-free Lehmann-Moses confidence
/// interval at level `confidence` (see the [module documentation](self)).
///
/// The differences go into `scratch` (`n_x · n_y` values; reserve them with
/// [`MannWhitneyScratch::reserve_pairs`] to avoid the allocation on first use).
///
/// # Errors
///
/// [`Error::InvalidParameter`] unless `0 < confidence < 1`,
/// [`Error::InsufficientData`] if a sample is empty, [`Error::NonFinite`] /
/// [`Error::OutOfRange`] for values that are not finite or beyond
/// [`crate::MAX_ABS_VALUE`], [`Error::TooLarge`] beyond [`MAX_PAIRS`] differences.
pub fn hodges_lehmann(
    x: &[f64],
    y: &[f64],
    confidence: f64,
    scratch: &mut MannWhitneyScratch,
) -> Result<ShiftEstimate, Error> {
    if !(confidence > 0.0 && confidence < 1.0) {
        return Err(Error::param("confidence", confidence, "must be in (0, 1)"));
    }
    let pairs = x.len().saturating_mul(y.len());
    if pairs > MAX_PAIRS {
        return Err(Error::TooLarge {
            what: "hodges_lehmann pairwise differences",
            got: pairs,
            limit: MAX_PAIRS,
        });
    }
    load_sample(&mut scratch.xs, x, "hodges_lehmann x", true)?;
    load_sample(&mut scratch.ys, y, "hodges_lehmann y", true)?;
    let d = &mut scratch.pairs;
    d.clear();
    for &a in x {
        d.extend(y.iter().map(|&b| a - b));
    }
    d.sort_unstable_by(f64::total_cmp);

    let n = d.len();
    let nf = n as f64;
    let z = dist::normal_upper_quantile((1.0 - confidence) / 2.0);
    let spread = (nf * (x.len() + y.len() + 1) as f64 / 12.0).sqrt();
    let k = (nf / 2.0 - z * spread).floor();
    // D_(k+1) and D_(N-k), 1-based; k in [0, (N-1)/2] keeps them valid and ordered.
    let k = if k > 0.0 { k as usize } else { 0 }.min((n - 1) / 2);
    Ok(ShiftEstimate {
        shift: median_sorted(d),
        lower: d[k],
        upper: d[n - 1 - k],
        confidence,
    })
}

/// The [`hodges_lehmann`] shift of `x` (canary) against `y` (control) relative to the
/// median of `y`, in the manner of Kayenta's judge, which weighs a difference against
/// the control's level: see [`ShiftEstimate::relative_to`]. `Ok(None)` when the
/// control's median is 0.
///
/// # Errors
///
/// As [`hodges_lehmann`].
pub fn relative_shift(
    x: &[f64],
    y: &[f64],
    confidence: f64,
    scratch: &mut MannWhitneyScratch,
) -> Result<Option<ShiftEstimate>, Error> {
    let estimate = hodges_lehmann(x, y, confidence, scratch)?;
    // `hodges_lehmann` left a sorted copy of `y` in the scratch.
    Ok(estimate.relative_to(median_sorted(&scratch.ys)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::math::rng::Rng;

    fn normals(rng: &mut Rng, n: usize, mean: f64, sd: f64) -> Vec<f64> {
        (0..n).map(|_| mean + sd * rng.normal()).collect()
    }

    #[test]
    fn mann_whitney_rejects_bad_input() {
        let mut s = MannWhitneyScratch::new();
        for (x, y) in [(&[][..], &[1.0][..]), (&[1.0][..], &[][..])] {
            assert!(matches!(
                mann_whitney_u(x, y, &mut s),
                Err(Error::InsufficientData { got: 0, .. })
            ));
            assert!(matches!(
                hodges_lehmann(x, y, 0.95, &mut s),
                Err(Error::InsufficientData { got: 0, .. })
            ));
        }
        for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
            assert!(matches!(
                mann_whitney_u(&[1.0, bad], &[1.0], &mut s),
                Err(Error::NonFinite { .. })
            ));
            assert!(matches!(
                mann_whitney_u(&[1.0], &[bad, 2.0], &mut s),
                Err(Error::NonFinite { .. })
            ));
            assert!(matches!(
                hodges_lehmann(&[1.0], &[bad], 0.9, &mut s),
                Err(Error::NonFinite { .. })
            ));
        }
        // Large finite values are fine for ranks, not for differences.
        assert!(mann_whitney_u(&[1e300], &[-1e300], &mut s).is_ok());
        assert!(matches!(
            hodges_lehmann(&[1e300], &[-1e300], 0.9, &mut s),
            Err(Error::OutOfRange { .. })
        ));
        for c in [0.0, 1.0, -0.5, f64::NAN] {
            assert!(matches!(
                hodges_lehmann(&[1.0], &[2.0], c, &mut s),
                Err(Error::InvalidParameter {
                    name: "confidence",
                    ..
                })
            ));
        }
        let big = vec![0.0; 1001];
        assert!(matches!(
            hodges_lehmann(&big, &big[..1000], 0.9, &mut s),
            Err(Error::TooLarge { got: 1_001_000, .. })
        ));
        assert!(hodges_lehmann(&big[..1000], &big[..1000], 0.9, &mut s).is_ok());
    }

    #[test]
    fn all_tied_data_has_no_evidence() {
        let mut s = MannWhitneyScratch::new();
        let r = mann_whitney_u(&[3.0; 4], &[3.0; 9], &mut s).unwrap();
        assert_eq!((r.u, r.z), (18.0, 0.0));
        assert_eq!((r.p_value, r.p_greater, r.p_less), (1.0, 1.0, 1.0));
        assert_eq!((r.effect_size, r.rank_biserial), (0.5, 0.0));
        let hl = hodges_lehmann(&[3.0; 4], &[3.0; 9], 0.95, &mut s).unwrap();
        assert_eq!((hl.shift, hl.lower, hl.upper), (0.0, 0.0, 0.0));
        // Signed zeros are one value.
        let r = mann_whitney_u(&[0.0, -0.0], &[-0.0, 0.0, 0.0], &mut s).unwrap();
        assert_eq!((r.u, r.p_value), (3.0, 1.0));
    }

    #[test]
    fn small_example_by_hand() {
        // x = {1, 3, 5}, y = {2, 4}: pairs with x > y are (3,2), (5,2), (5,4) → U = 3.
        let mut s = MannWhitneyScratch::new();
        let r = mann_whitney_u(&[5.0, 1.0, 3.0], &[4.0, 2.0], &mut s).unwrap();
        assert_eq!(r.u, 3.0);
        assert_eq!((r.n_x, r.n_y), (3, 2));
        assert_eq!(r.effect_size, 0.5);
        assert_eq!(r.z, 0.0);
        assert_eq!(r.p_value, 1.0);
        // Complete separation.
        let r = mann_whitney_u(&[10.0, 11.0, 12.0, 13.0], &[1.0, 2.0, 3.0], &mut s).unwrap();
        assert_eq!((r.u, r.effect_size, r.rank_biserial), (12.0, 1.0, 1.0));
        assert!(r.z > 0.0 && r.p_greater < r.p_less && r.p_value < 0.06);
        assert!((r.p_value - 2.0 * r.p_greater).abs() < 1e-15);
    }

    #[test]
    fn scratch_reuse_gives_identical_results_without_growing() {
        let mut s = MannWhitneyScratch::with_capacity(64);
        s.reserve_pairs(64, 64);
        let caps = (s.xs.capacity(), s.ys.capacity(), s.pairs.capacity());
        let sizes = [5usize, 17, 64, 40];
        let mut first = Vec::new();
        for round in 0..3 {
            for (k, &n) in sizes.iter().enumerate() {
                let x = normals(&mut Rng::new(n as u64), n, 0.3, 1.0);
                let y = normals(&mut Rng::new(n as u64 + 100), 64 - n / 2, 0.0, 1.0);
                let a = mann_whitney_u(&x, &y, &mut s).unwrap();
                let b = hodges_lehmann(&x, &y, 0.9, &mut s).unwrap();
                let fresh = mann_whitney_u(&x, &y, &mut MannWhitneyScratch::new()).unwrap();
                assert_eq!(a, fresh);
                if round == 0 {
                    first.push((a, b));
                } else {
                    assert_eq!(first[k], (a, b));
                }
            }
        }
        assert_eq!(caps, (s.xs.capacity(), s.ys.capacity(), s.pairs.capacity()));
    }

    #[test]
    fn hodges_lehmann_interval_covers_the_true_shift() {
        let mut s = MannWhitneyScratch::new();
        let mut covered = 0;
        for seed in 0..200 {
            let mut rng = Rng::new(seed);
            let x = normals(&mut rng, 30, 2.5, 1.0);
            let y = normals(&mut rng, 25, 0.0, 1.0);
            let e = hodges_lehmann(&x, &y, 0.95, &mut s).unwrap();
            assert!(e.lower <= e.shift && e.shift <= e.upper);
            assert!((e.shift - 2.5).abs() < 1.5);
            if e.lower <= 2.5 && 2.5 <= e.upper {
                covered += 1;
            }
        }
        // 95 % nominal; 200 draws.
        assert!((180..=200).contains(&covered), "covered {covered}");
        // An exact shift of a sample against itself.
        let y = [1.0, 4.0, 2.0, 8.0, 5.0];
        let x: Vec<f64> = y.iter().map(|v| v + 10.0).collect();
        let e = hodges_lehmann(&x, &y, 0.8, &mut s).unwrap();
        assert_eq!(e.shift, 10.0);
        assert!(e.lower < 10.0 && e.upper > 10.0 && e.confidence == 0.8);
        // Tiny samples: the interval is everything.
        let e = hodges_lehmann(&[1.0, 2.0], &[0.0], 0.95, &mut s).unwrap();
        assert_eq!((e.shift, e.lower, e.upper), (1.5, 1.0, 2.0));
    }

    #[test]
    fn relative_shift_divides_by_the_control_median() {
        let mut s = MannWhitneyScratch::new();
        let y = [100.0, 98.0, 102.0, 101.0, 99.0];
        let x: Vec<f64> = y.iter().map(|v| v + 5.0).collect();
        let r = relative_shift(&x, &y, 0.9, &mut s).unwrap().unwrap();
        assert_eq!(r.shift, 0.05);
        let neg: Vec<f64> = y.iter().map(|v| -v).collect();
        let xn: Vec<f64> = neg.iter().map(|v| v + 5.0).collect();
        let r = relative_shift(&xn, &neg, 0.9, &mut s).unwrap().unwrap();
        assert_eq!(r.shift, 0.05);
        assert_eq!(
            relative_shift(&[1.0], &[0.0, 0.0, 1.0], 0.9, &mut s).unwrap(),
            None
        );
        let e = ShiftEstimate {
            shift: 1.0,
            lower: 0.0,
            upper: 2.0,
            confidence: 0.9,
        };
        assert_eq!(e.relative_to(f64::NAN), None);
        assert_eq!(e.relative_to(1e-320), None);
        assert_eq!(e.relative_to(-4.0).unwrap().upper, 0.5);
    }
}
