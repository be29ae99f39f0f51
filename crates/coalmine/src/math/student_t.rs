//! Student's t two-sided tail, `P(|T| >= t) = I_x(ν/2, 1/2)` with `x = ν / (ν + t²)`,
//! without the general regularised incomplete beta function.
//!
//! The second parameter is always 1/2, and that makes every piece of the incomplete
//! beta cheap:
//!
//! - **Power series** (`x <= SERIES_X = 0.1`, the far tail):
//!   `I_x(a, 1/2) = x^a (1-x)^{1/2} / (a B(a, 1/2)) · Σ c_n x^n`, `c_0 = 1`,
//!   `c_{n+1} = c_n (a + 1/2 + n) / (a + 1 + n)`. Every ratio is below `x`, so the
//!   remainder after a term `u` is below `u / (1 - x)`: the loop stops when that bound
//!   falls under `EPS` of the sum, a proven truncation bound.
//! - **Asymptotic expansion for large `a`** (`x > SERIES_X`): DiDonato and Morris'
//!   `BGRAT` (ACM TOMS 708, 1992), the expansion of `I_x(a, b)` for `a >= 15`,
//!   `b <= 1` in incomplete gamma functions. With `b = 1/2` the leading incomplete
//!   gamma function is `erfc(√z)`, `z = (a - 1/4) ln(1 + t²/ν)`, so the expansion is
//!   the normal tail of a transformed deviate plus corrections in `1/(a - 1/4)²`
//!   whose coefficients depend on `b` alone and are constants here. Below `a = 15` the
//!   first parameter is raised to `a + n >= 15` with the exact finite sum
//!   `I_x(a, b) - I_x(a + n, b)` (TOMS 708's `BUP`), whose terms are all positive.
//! - The normalising constant `ln Γ(a + 1/2) - ln Γ(a)` comes from Stirling's series
//!   at `a >= 15`, written so that nothing large cancels, and from the exact
//!   recurrence below that: no general log-gamma function is called.
//!
//! A settled detector's tails come from a per-`ν` table instead (`table.rs`), within
//! 1e-9 of this.
//!
//! Accuracy is tested against `scipy.stats.t.sf` (`scripts/t_tail.py` writes the
//! fixture `tests/fixtures/student_t.json`): relative error at most 1e-6 (observed far
//! lower, see the test) for ν from 1 to 1e6 and p down to 1e-300.

mod table;

/// At or below this `x = ν / (ν + t²)` the power series is used (under 16 terms),
/// above it the asymptotic expansion. TOMS 708 switches at 0.7; the expansion holds
/// its accuracy (about 1e-14 against a 40-digit evaluation) down to 0.1, and it is
/// the cheaper of the two there.
const SERIES_X: f64 = 0.1;

/// Smallest first parameter at which the asymptotic expansion is used directly.
const BGRAT_MIN_A: f64 = 15.0;

/// Relative truncation tolerance of the power series.
const EPS: f64 = 1e-15;

/// Relative truncation tolerance of the asymptotic expansion: its terms shrink
/// slowly (by about `(2n)² / (4 (a - 1/4)²)` each), and 1e-13 is ten million times
/// finer than the accuracy asked of the tail while saving about half of the terms.
const BGRAT_EPS: f64 = 1e-13;

/// Terms of the asymptotic expansion kept at most (TOMS 708 keeps 30).
const BGRAT_TERMS: usize = 30;

/// `1 / √π`.
const FRAC_1_SQRT_PI: f64 = 0.564_189_583_547_756_3;

/// `ln √π`.
const LN_SQRT_PI: f64 = 0.572_364_942_924_700_1;

/// The coefficients `d_n` of TOMS 708's `BGRAT` for `b = 1/2`:
/// `c_n = 1 / (2n + 1)!`, `d_n = (b - 1) c_n + (1/n) Σ_{i<n} (i b - n) c_i d_{n-i}`.
static BGRAT_D: [f64; BGRAT_TERMS] = bgrat_coefficients();

const fn bgrat_coefficients() -> [f64; BGRAT_TERMS] {
    let b = 0.5;
    let mut c = [0.0; BGRAT_TERMS + 1];
    let mut d = [0.0; BGRAT_TERMS + 1];
    let mut cn = 1.0;
    let mut n = 1;
    while n <= BGRAT_TERMS {
        let n2 = 2.0 * n as f64;
        cn /= n2 * (n2 + 1.0);
        c[n] = cn;
        let mut s = 0.0;
        let mut i = 1;
        while i < n {
            s += (b * i as f64 - n as f64) * c[i] * d[n - i];
            i += 1;
        }
        d[n] = (b - 1.0) * cn + s / n as f64;
        n += 1;
    }
    let mut out = [0.0; BGRAT_TERMS];
    let mut k = 0;
    while k < BGRAT_TERMS {
        out[k] = d[k + 1];
        k += 1;
    }
    out
}

/// Stirling's correction `ln Γ(z) - [(z - 1/2) ln z - z + ln √(2π)]` for `z >= 15`
/// (truncation error below 1e-19 there).
#[inline]
fn stirling_correction(z: f64) -> f64 {
    let r = 1.0 / z;
    let r2 = r * r;
    r * (1.0 / 12.0
        + r2 * (-1.0 / 360.0
            + r2 * (1.0 / 1260.0
                + r2 * (-1.0 / 1680.0
                    + r2 * (1.0 / 1188.0 + r2 * (-691.0 / 360_360.0 + r2 * (1.0 / 156.0)))))))
}

/// `ln Γ(a + 1/2) - ln Γ(a) - (1/2) ln a` for `a >= 15`: small, and computed without
/// cancelling large terms.
#[inline]
fn half_ratio_excess(a: f64) -> f64 {
    (a * (0.5 / a).ln_1p() - 0.5) + (stirling_correction(a + 0.5) - stirling_correction(a))
}

/// The number of unit steps that take `a` to at least [`BGRAT_MIN_A`].
#[inline]
fn steps_to_bgrat(a: f64) -> usize {
    if a >= BGRAT_MIN_A {
        0
    } else {
        (BGRAT_MIN_A - a).ceil() as usize
    }
}

/// `ln Γ(a + 1/2) - ln Γ(a)` for any `a >= 1/2`.
#[inline]
#[cfg(test)]
fn ln_half_ratio(a: f64) -> f64 {
    let n = steps_to_bgrat(a);
    let top = a + n as f64;
    ln_half_ratio_from(a, n, half_ratio_excess(top), top.ln())
}

/// `ln_half_ratio` (the tests' form) given `n = steps_to_bgrat(a)`, `half_ratio_excess(a + n)` and
/// `ln(a + n)`, which the caller needs too (a new `ν` on every call while a detector
/// warms up makes these worth computing once).
#[inline]
fn ln_half_ratio_from(a: f64, n: usize, excess_top: f64, ln_top: f64) -> f64 {
    // Γ(a + 1/2)/Γ(a) = Γ(top + 1/2)/Γ(top) · Π (a + k) / (a + k + 1/2).
    let mut prod = 1.0;
    for k in 0..n {
        let ak = a + k as f64;
        prod *= ak / (ak + 0.5);
    }
    // ln 1 = 0 adds nothing.
    let ln_prod = if n > 0 { prod.ln() } else { 0.0 };
    excess_top + 0.5 * ln_top + ln_prod
}

/// `ln(a B(a, 1/2)) = ln a + ln Γ(1/2) + ln Γ(a) - ln Γ(a + 1/2)`, given what
/// [`ln_half_ratio_from`] takes.
#[inline]
fn ln_a_beta_from(a: f64, n: usize, excess_top: f64, ln_top: f64) -> f64 {
    let ln_a = if n > 0 { a.ln() } else { ln_top };
    ln_a + LN_SQRT_PI - ln_half_ratio_from(a, n, excess_top, ln_top)
}

/// What the tail needs of one `ν`, computed once per `ν` and kept in a small
/// per-thread cache: the degrees of freedom of a series settle as its effective
/// sample size does, and a tick of the risk path uses one `ν` for all its series.
#[derive(Debug, Clone, Copy)]
struct Consts {
    /// `ν`'s bits (the cache key; NaN never gets here).
    key: u64,
    /// `a = ν / 2`.
    a: f64,
    /// `ln(a B(a, 1/2))`.
    ln_a_beta: f64,
    /// `1 / (a B(a, 1/2))`, used only to raise `a` (0 when `steps` is 0).
    inv_a_beta: f64,
    /// Steps `n` from `a` to the expansion's `a + n >= 15`.
    steps: usize,
    /// `a + n - 1/4`.
    nu: f64,
    /// `Γ(a + n + 1/2) / (Γ(a + n) √(a + n - 1/4))`.
    scale: f64,
    /// Coefficients of the finite sum `I_x(a, 1/2) - I_x(a + n, 1/2)` as a polynomial
    /// in `x`: `Π_{j<k} (a + 1/2 + j) / (a + 1 + j)`.
    raise: [f64; MAX_STEPS],
}

/// `a >= 1/2` needs at most this many steps to reach 15.
const MAX_STEPS: usize = 15;

impl Consts {
    fn new(nu: f64) -> Consts {
        let a = 0.5 * nu;
        let steps = steps_to_bgrat(a);
        let top = a + steps as f64;
        let mut raise = [0.0; MAX_STEPS];
        let mut c = 1.0;
        for (j, r) in raise.iter_mut().enumerate().take(steps) {
            *r = c;
            let aj = a + j as f64;
            c *= (aj + 0.5) / (aj + 1.0);
        }
        let excess_top = half_ratio_excess(top);
        let ln_ab = ln_a_beta_from(a, steps, excess_top, top.ln());
        Consts {
            key: nu.to_bits(),
            a,
            ln_a_beta: ln_ab,
            inv_a_beta: if steps > 0 { (-ln_ab).exp() } else { 0.0 },
            steps,
            nu: top - 0.25,
            scale: (excess_top - 0.5 * (-0.25 / top).ln_1p()).exp(),
            raise,
        }
    }

    /// An entry no finite `ν` maps to (the bits of a NaN).
    const EMPTY: Consts = Consts {
        key: u64::MAX,
        a: 0.0,
        ln_a_beta: 0.0,
        inv_a_beta: 0.0,
        steps: 0,
        nu: 0.0,
        scale: 0.0,
        raise: [0.0; MAX_STEPS],
    };
}

/// Direct-mapped entries of the per-thread cache.
const CACHE_SLOTS: usize = 8;

thread_local! {
    static CACHE: std::cell::RefCell<[Consts; CACHE_SLOTS]> =
        const { std::cell::RefCell::new([Consts::EMPTY; CACHE_SLOTS]) };
}

/// Runs `f` with the constants of `ν`, from the cache or computed into it. The
/// constants are a pure function of `ν`, so the cache changes no result.
#[inline]
fn with_consts<R>(nu: f64, f: impl Fn(&Consts) -> R) -> R {
    let key = nu.to_bits();
    // Mixes the mantissa's high bits and the exponent, where nearby ν differ.
    let slot = ((key >> 40) ^ (key >> 52)) as usize % CACHE_SLOTS;
    CACHE
        .try_with(|cache| {
            let mut cache = cache.borrow_mut();
            let entry = &mut cache[slot];
            if entry.key != key {
                *entry = Consts::new(nu);
            }
            f(entry)
        })
        // Only while the thread is being torn down: compute without the cache.
        .unwrap_or_else(|_| f(&Consts::new(nu)))
}

/// `I_x(a, 1/2)` by its power series; `ln_x = ln x`, `y = 1 - x`.
#[inline]
fn power_series(c: &Consts, x: f64, ln_x: f64, y: f64) -> f64 {
    let a = c.a;
    let mut sum = 1.0;
    let mut term = 1.0;
    let bound = 1.0 / (1.0 - x);
    let mut n = 0.0;
    // At x <= 0.1 fewer than 16 terms reach EPS; the cap only guards the loop.
    for _ in 0..200 {
        term *= x * (a + 0.5 + n) / (a + 1.0 + n);
        sum += term;
        n += 1.0;
        if term * bound <= EPS * sum {
            break;
        }
    }
    (a * ln_x + 0.5 * y.ln() - c.ln_a_beta + sum.ln()).exp()
}

/// `I_x(a, 1/2)` at `x > SERIES_X`: the exact finite sum that raises `a` to
/// `a + n >= 15`, then the asymptotic expansion there; `ln1p_s = -ln x`, `y = 1 - x`.
#[inline]
fn raised_expansion(c: &Consts, x: f64, ln1p_s: f64, y: f64) -> f64 {
    let z = c.nu * ln1p_s;
    // e^{-z} = x^{a + n - 1/4}; the finite sum's x^a follows from it without a
    // second exponential (x > 0.1 and n <= 15 here: x^n is far from underflow).
    let ez = (-z).exp();
    let mut w = 0.0;
    if c.steps > 0 {
        let mut poly = 0.0;
        for &r in c.raise[..c.steps].iter().rev() {
            poly = poly * x + r;
        }
        let x_a = ez * x.sqrt().sqrt() / x.powi(c.steps as i32);
        w = x_a * y.sqrt() * c.inv_a_beta * poly;
    }
    w + bgrat(c, z, ez, ln1p_s, w)
}

/// TOMS 708's `BGRAT` for `b = 1/2` at `a + n >= 15`: `I_x(a + n, 1/2)` with
/// `z = (a + n - 1/4)(-ln x)`, `ez = e^{-z}`, `ln1p_s = -ln x`. `w` is what the caller
/// adds to the result (the stopping rule is relative to the total).
#[inline]
fn bgrat(c: &Consts, z: f64, ez: f64, ln1p_s: f64, w: f64) -> f64 {
    let sqrt_z = z.sqrt();
    // R = e^{-z} z^{1/2} / Γ(1/2); Q = Γ(1/2, z) / Γ(1/2) = erfc(√z).
    let r = ez * sqrt_z * FRAC_1_SQRT_PI;
    let q = super::dist::erfc_given_exp(sqrt_z, ez);
    let v = 0.25 / (c.nu * c.nu);
    let t2 = 0.25 * ln1p_s * ln1p_s;
    let floor = w / c.scale;
    // K_n = R J_n of the original (J scaled by R so that z = 0 needs no division).
    let mut k = q;
    let mut rt = r;
    let mut sum = q;
    let mut bp2n = 0.5;
    for &d in &BGRAT_D {
        k = (bp2n * (bp2n + 1.0) * k + (z + bp2n + 1.0) * rt) * v;
        rt *= t2;
        bp2n += 2.0;
        let dk = d * k;
        sum += dk;
        if dk.abs() <= BGRAT_EPS * (sum + floor) {
            break;
        }
    }
    c.scale * sum.max(0.0)
}

/// `P(|T| >= |t|)` for Student's t with `nu` degrees of freedom, `nu >= 1` finite,
/// `t` finite and non-zero.
#[inline]
pub(super) fn two_sided(t: f64, nu: f64) -> f64 {
    exact(t.abs(), nu)
}

/// [`two_sided`] from the per-`ν` table (`table.rs`), to 1e-9 relative.
#[inline]
pub(super) fn two_sided_tabled(t: f64, nu: f64) -> f64 {
    table::tabled(t.abs(), nu)
}

/// [`two_sided`] without the table: `t >= 0`.
#[inline]
fn exact(t: f64, nu: f64) -> f64 {
    // s = t²/ν; x = 1/(1+s); y = 1 - x = s/(1+s); ln1p_s = ln(1+s) = -ln x.
    let (x, y, ln1p_s) = if t < 1e150 {
        let s = t * t / nu;
        (1.0 / (1.0 + s), s / (1.0 + s), s.ln_1p())
    } else {
        // t² would overflow; ln(1 + s) = ln s to far better than double precision.
        let inv_s = (nu / t) / t;
        (inv_s, 1.0, 2.0 * t.ln() - nu.ln())
    };
    let p = with_consts(nu, |c| {
        if x <= SERIES_X {
            power_series(c, x, -ln1p_s, y)
        } else {
            raised_expansion(c, x, ln1p_s, y)
        }
    });
    p.clamp(0.0, 1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bgrat_coefficients_match_toms_708() {
        // d_1 = (b - 1) / 3! for b = 1/2.
        assert!((BGRAT_D[0] + 1.0 / 12.0).abs() < 1e-17);
        // d_2 = (b-1)/5! + (1/2)(b - 2) c_1 d_1.
        let d2 = -0.5 / 120.0 + 0.5 * (0.5 - 2.0) * (1.0 / 6.0) * (-1.0 / 12.0);
        assert!((BGRAT_D[1] - d2).abs() < 1e-17);
    }

    #[test]
    fn half_ratio_matches_known_gamma_values() {
        // Γ(1)/Γ(1/2) ... ln Γ(3/2) - ln Γ(1) = ln(√π / 2).
        let want = (std::f64::consts::PI.sqrt() / 2.0).ln();
        assert!((ln_half_ratio(1.0) - want).abs() < 1e-14);
        // ln Γ(1) - ln Γ(1/2) = -ln √π.
        assert!((ln_half_ratio(0.5) + LN_SQRT_PI).abs() < 1e-14);
        // a = 20: Γ(20.5)/Γ(20), from the exact product of half-integers.
        let mut g = std::f64::consts::PI.sqrt(); // Γ(1/2)
        for k in 0..20 {
            g *= 0.5 + k as f64;
        }
        let lg20: f64 = (1..20).map(|k| (k as f64).ln()).sum();
        assert!((ln_half_ratio(20.0) - (g.ln() - lg20)).abs() < 1e-13);
    }
}
