//! Distribution tails and quantiles, for every stage that turns a statistic into a
//! probability.
//!
//! All functions are total: they never panic and return a value in the documented
//! range for every input, NaN included (NaN in, "no evidence" out).
//!
//! The normal tail is a port of Cephes' `ndtr`, the function scipy uses, so that
//! p-values agree with scipy's to the last bits (statrs' `erfc` is only good to about
//! 1e-10 relative). statrs provides the inverse (for quantiles); Student's t has its
//! own tail (`student_t.rs`), specialised to the incomplete beta function it needs.

use statrs::function::erf;

use super::student_t;

/// Degrees of freedom beyond which the Student-t tail is replaced by the normal tail:
/// the two differ by about `t⁴ / (4 dof)` in relative terms, under 1e-9 for every
/// probability above 1e-300 (`|t| < 38`).
const T_TO_NORMAL_DOF: f64 = 1.0e15;

/// Two-sided tail probability of a standard normal: `P(|Z| >= |z|)`.
#[inline]
pub fn normal_two_sided(z: f64) -> f64 {
    if z.is_nan() {
        return 1.0;
    }
    (2.0 * cephes::ndtr(-z.abs())).clamp(0.0, 1.0)
}

/// Upper tail probability of a standard normal: `P(Z >= z)`, as scipy's
/// `special.ndtr(-z)`.
#[inline]
pub fn normal_upper(z: f64) -> f64 {
    if z.is_nan() {
        return 1.0;
    }
    cephes::ndtr(-z).clamp(0.0, 1.0)
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
/// `P(|T| >= |t|)`. `dof` below 1 (or NaN) is treated as 1, the heaviest tail used;
/// infinite `dof` is the normal tail.
///
/// Relative error at most 1e-6 against `scipy.stats.t.sf` for `dof` from 1 to 1e6
/// and probabilities down to 1e-300 (tested on a fixture), non-increasing in `|t|`;
/// the method is described in `student_t.rs`.
#[inline]
pub fn student_t_two_sided(t: f64, dof: f64) -> f64 {
    two_sided_with(t, dof, student_t::two_sided)
}

/// The conventions both two-sided tails share (NaN `t`, `dof` below 1 or NaN, the
/// normal tail from [`T_TO_NORMAL_DOF`], `t` of 0 or infinite); `tail` answers for a
/// finite, nonzero `t` and a finite `dof` of at least 1.
#[inline]
fn two_sided_with(t: f64, dof: f64, tail: impl Fn(f64, f64) -> f64) -> f64 {
    if t.is_nan() {
        return 1.0;
    }
    let dof = if dof.is_nan() { 1.0 } else { dof.max(1.0) };
    if dof >= T_TO_NORMAL_DOF {
        return normal_two_sided(t);
    }
    if t == 0.0 {
        return 1.0;
    }
    if t.is_infinite() {
        return 0.0;
    }
    tail(t, dof)
}

/// [`student_t_two_sided`] from a table of the degrees of freedom's tail: within 1e-9
/// relative of it (2e-9 asserted by the tests, for `dof` from 1 to 1e14 and
/// probabilities down to 1e-300), non-increasing in `|t|`, and like it a function of
/// `t` and `dof` alone. Once a `dof` has been asked for a few dozen times in a thread,
/// its table is built there (about 1,000 evaluations of the exact tail, once; no
/// allocation) and a call costs about a third of the exact tail's instructions; before
/// that, and for a `dof` whose table has been evicted, a call computes the one cell it
/// needs and costs several exact tails. Meant for a `dof` that repeats, such as a settled
/// detector's (`detect`); the method and its error bound are described in
/// `math/student_t/table.rs` and `docs/algorithms.md`.
#[inline]
pub fn student_t_two_sided_tabled(t: f64, dof: f64) -> f64 {
    two_sided_with(t, dof, student_t::two_sided_tabled)
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

/// `erfc(x)` for `x >= 0` given `e^{-x²}` (computed by the caller from an exact
/// `x²`): Cephes' rational approximations without a second exponential.
#[inline]
pub(super) fn erfc_given_exp(x: f64, exp_minus_x2: f64) -> f64 {
    cephes::erfc_given_exp(x, exp_minus_x2)
}

/// The Cephes normal distribution function as scipy's `xsf` library implements it
/// (`xsf/cephes/ndtr.h`): the same coefficient tables, branches and evaluation order.
/// Cephes Math Library Release 2.2, Copyright 1984, 1987, 1988, 1992 Stephen L.
/// Moshier; distributed with SciPy under the BSD licence. The coefficients are kept
/// digit for digit as published, hence the precision lint is off.
#[allow(clippy::excessive_precision)]
mod cephes {
    const P: [f64; 9] = [
        2.46196981473530512524E-10,
        5.64189564831068821977E-1,
        7.46321056442269912687E0,
        4.86371970985681366614E1,
        1.96520832956077098242E2,
        5.26445194995477358631E2,
        9.34528527171957607540E2,
        1.02755188689515710272E3,
        5.57535335369399327526E2,
    ];
    const Q: [f64; 8] = [
        1.32281951154744992508E1,
        8.67072140885989742329E1,
        3.54937778887819891062E2,
        9.75708501743205489753E2,
        1.82390916687909736289E3,
        2.24633760818710981792E3,
        1.65666309194161350182E3,
        5.57535340817727675546E2,
    ];
    const R: [f64; 6] = [
        5.64189583547755073984E-1,
        1.27536670759978104416E0,
        5.01905042251180477414E0,
        6.16021097993053585195E0,
        7.40974269950448939160E0,
        2.97886665372100240670E0,
    ];
    const S: [f64; 6] = [
        2.26052863220117276590E0,
        9.39603524938001434673E0,
        1.20489539808096656605E1,
        1.70814450747565897222E1,
        9.60896809063285878198E0,
        3.36907645100081516050E0,
    ];
    const T: [f64; 5] = [
        9.60497373987051638749E0,
        9.00260197203842689217E1,
        2.23200534594684319226E3,
        7.00332514112805075473E3,
        5.55923013010394962768E4,
    ];
    const U: [f64; 5] = [
        3.35617141647503099647E1,
        5.21357949780152679795E2,
        4.59432382970980127987E3,
        2.26290000613890934246E4,
        4.92673942608635921086E4,
    ];
    /// ln(2^1024), Cephes' MAXLOG.
    const MAXLOG: f64 = 7.09782712893383996732E2;

    /// `c[0] x^N + ... + c[N]`, Horner's rule as Cephes' `polevl`.
    fn polevl(x: f64, c: &[f64]) -> f64 {
        c.iter()
            .skip(1)
            .fold(c.first().copied().unwrap_or(0.0), |a, &ci| a * x + ci)
    }

    /// As [`polevl`] with an implicit leading coefficient 1 (Cephes' `p1evl`).
    fn p1evl(x: f64, c: &[f64]) -> f64 {
        c.iter()
            .skip(1)
            .fold(x + c.first().copied().unwrap_or(0.0), |a, &ci| a * x + ci)
    }

    pub(super) fn erf(x: f64) -> f64 {
        if x.is_nan() {
            return x;
        }
        if x < 0.0 {
            return -erf(-x);
        }
        if x > 1.0 {
            return 1.0 - erfc(x);
        }
        let z = x * x;
        x * polevl(z, &T) / p1evl(z, &U)
    }

    pub(super) fn erfc(a: f64) -> f64 {
        if a.is_nan() {
            return a;
        }
        let x = a.abs();
        if x < 1.0 {
            return 1.0 - erf(a);
        }
        let z = -a * a;
        let under = if a < 0.0 { 2.0 } else { 0.0 };
        if z < -MAXLOG {
            return under;
        }
        let z = z.exp();
        let (p, q) = if x < 8.0 {
            (polevl(x, &P), p1evl(x, &Q))
        } else {
            (polevl(x, &R), p1evl(x, &S))
        };
        let mut y = (z * p) / q;
        if a < 0.0 {
            y = 2.0 - y;
        }
        if y != 0.0 { y } else { under }
    }

    /// As [`erfc`] for `x >= 0`, with `e^{-x²}` supplied.
    #[inline]
    pub(super) fn erfc_given_exp(x: f64, ez: f64) -> f64 {
        if x < 1.0 {
            return 1.0 - erf(x);
        }
        let (p, q) = if x < 8.0 {
            (polevl(x, &P), p1evl(x, &Q))
        } else {
            (polevl(x, &R), p1evl(x, &S))
        };
        ez * p / q
    }

    /// The standard normal CDF.
    pub(super) fn ndtr(a: f64) -> f64 {
        if a.is_nan() {
            return a;
        }
        let x = a * std::f64::consts::FRAC_1_SQRT_2;
        let z = x.abs();
        if z < 1.0 {
            0.5 + 0.5 * erf(x)
        } else {
            let y = 0.5 * erfc(z);
            if x > 0.0 { 1.0 - y } else { y }
        }
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
        // Converges to the normal: 2 * scipy.stats.t.sf(2.5, 1e5) = 0.0124209..., and
        // the normal tail itself beyond 1e15 degrees of freedom.
        assert!((student_t_two_sided(2.5, 1e5) / 0.012420919192559051 - 1.0).abs() < 1e-9);
        let z = 2.5;
        assert_eq!(student_t_two_sided(z, 1e16), normal_two_sided(z));
        assert_eq!(student_t_two_sided(z, f64::INFINITY), normal_two_sided(z));
    }

    /// Degrees of freedom where the method changes (15 and 30 for the expansion's
    /// raised parameter), the detectors' usual ones and the range's ends.
    const DOFS: [f64; 16] = [
        1.0, 1.5, 2.0, 5.0, 17.999999, 18.0, 29.0, 29.999, 30.0, 30.001, 31.0, 100.0, 1e3, 1e4,
        1e6, 1e9,
    ];

    #[test]
    fn student_t_tail_is_non_increasing_in_t() {
        // Exact and tabled.
        for tail in [student_t_two_sided, student_t_two_sided_tabled] {
            for dof in DOFS {
                let mut t = 1e-6;
                let mut prev = tail(t, dof);
                while t < 1e200 {
                    t *= 1.001;
                    let p = tail(t, dof);
                    assert!(p <= prev, "dof {dof}: p({t}) = {p:e} > {prev:e}");
                    assert_eq!(p, tail(-t, dof));
                    prev = p;
                }
                assert!(tail(1e300, dof) < 1e-299);
            }
        }
    }

    #[test]
    fn the_table_and_the_exact_path_agree() {
        for dof in DOFS {
            let mut t = 1e-3;
            while t < 1e3 {
                let (fast, exact) = (
                    student_t_two_sided_tabled(t, dof),
                    student_t_two_sided(t, dof),
                );
                if exact > 1e-300 {
                    assert!((fast / exact - 1.0).abs() <= 2e-9, "dof {dof} t {t}");
                }
                t *= 1.01;
            }
        }
    }

    #[test]
    fn student_t_tail_is_monotone_across_the_change_of_method() {
        // The power series takes over from the expansion at x = dof / (dof + t²) = 0.1.
        for dof in DOFS {
            let switch = (dof * (1.0 / 0.1 - 1.0)).sqrt();
            for rel in [1e-12, 1e-10, 1e-8, 1e-6] {
                let below = student_t_two_sided(switch * (1.0 - rel), dof);
                let at = student_t_two_sided(switch, dof);
                let above = student_t_two_sided(switch * (1.0 + rel), dof);
                assert!(below >= at && at >= above, "dof {dof} rel {rel}");
            }
            // Between neighbouring doubles the two methods, the expansion's stopping
            // rule (1e-13) and rounding may disagree by that much, never more.
            let mut t = switch;
            for _ in 0..64 {
                t = f64::from_bits(t.to_bits() - 1);
            }
            let mut prev = student_t_two_sided(t, dof);
            for _ in 0..128 {
                t = f64::from_bits(t.to_bits() + 1);
                let p = student_t_two_sided(t, dof);
                assert!(
                    p <= prev * (1.0 + 1e-12),
                    "dof {dof}: {p:e} > {prev:e} at {t}"
                );
                prev = p;
            }
        }
    }

    #[test]
    fn student_t_tail_is_total() {
        let specials = [
            0.0,
            -0.0,
            f64::MIN_POSITIVE,
            5e-324,
            1e-300,
            0.5,
            1.0,
            3.0,
            1e10,
            1e154,
            1.5e154,
            1e300,
            f64::MAX,
            f64::INFINITY,
            f64::NAN,
        ];
        let dofs = [
            f64::NAN,
            f64::NEG_INFINITY,
            -5.0,
            0.0,
            0.5,
            1.0,
            1.0 + 1e-15,
            14.999999999999998,
            15.0,
            30.0,
            1e14,
            1e15,
            f64::MAX,
            f64::INFINITY,
        ];
        for &t in &specials {
            for sign in [1.0, -1.0] {
                for dof in dofs {
                    let p = student_t_two_sided(sign * t, dof);
                    assert!((0.0..=1.0).contains(&p), "t {t} dof {dof}: {p}");
                    let u = student_t_upper(sign * t, dof);
                    assert!((0.0..=1.0).contains(&u), "t {t} dof {dof}: {u}");
                }
            }
        }
        // Below one degree of freedom is one: the Cauchy tail, 1 - (2/π) atan(t).
        let cauchy = 1.0 - 2.0 / std::f64::consts::PI * 3.0f64.atan();
        for dof in [f64::NAN, -1.0, 0.0, 1.0] {
            assert!((student_t_two_sided(3.0, dof) / cauchy - 1.0).abs() < 1e-14);
        }
    }
}
