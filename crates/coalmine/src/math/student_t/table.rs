//! A per-`ν` table of the two-sided Student-t tail, for the degrees of freedom that
//! repeat.
//!
//! A detector's degrees of freedom (`n_eff - 1`) converge, and in floating point they
//! reach a fixed point, so after warm-up nearly every tail it asks for has the same
//! `ν`. Once a `ν` has been asked for [`REPEATS`] times, a table of its tail is built
//! and checked; from then on a call costs a square root, a division, a quintic, one
//! `ln_1p` and one `exp` instead of the incomplete beta function.
//!
//! **What is tabulated.** With `y = |t| / √(ν + t²)` (in `[0, 1)`) and
//! `x = 1 - y² = ν / (ν + t²)`, the tail is `p = x^a · e^{G(y)}`, `a = ν / 2`, where
//! `G(y) = ln p + a ln(1 + t²/ν)` is analytic on a neighbourhood of `[0, 1]`: the
//! power law of the far tail (`p ≈ x^a / (a B(a, 1/2))` as `x → 0`) is factored out,
//! and near `t = 0`, where `p = 1 - c|t| + …`, `p` is analytic in `y` where it is not
//! in `t²`. `G` is interpolated by a piecewise quintic Hermite polynomial on [`CELLS`]
//! equal cells of `[0, y_end]`, matching `G`, `G'` and `G''` at every node; the
//! derivatives are closed forms (`dp/dy = -2 (1 - y²)^{a-1} / B(1/2, a)`, see
//! [`node`]) of the exact path's `p`. `y_end` is `Y_CAP` (`|t| ≈ 22 √ν`) or where `p`
//! falls to `e^{L_END}` (about 1e-304), whichever comes first; beyond it, and for
//! `|t| >= 1e150`, the exact path answers.
//!
//! **Error bound.** The error of a quintic Hermite interpolant on a cell of width `h`
//! is `G⁽⁶⁾(ξ) h⁶ s³(1 - s)³ / 720` at relative position `s`, largest near the middle.
//! Every table is checked when it is built: at `s = 1/4, 1/2, 3/4` of every cell the
//! interpolated `G` must lie within [`BUILD_TOL`] (1e-9) of the exact
//! `ln p + a ln(1 + t²/ν)`, or the table is never used (that `ν` keeps the exact path).
//! An error `ε` in `G` is a relative error `e^ε - 1 ≈ ε` in `p`, so a table is good to
//! about 1e-9 relative, a thousand times inside the 1e-6 the tail must meet. The
//! evaluation adds rounding: `a ln(1 + t²/ν)` is computed with `ln_1p`, whose error is
//! relative to `t²/2` (at most about 700 where `p >= 1e-304`), so it stays near 1e-13
//! whatever `a`. Tests compare tables with the exact path for `ν` from 1 to 1e14 at 16
//! points of every cell, at every node and the doubles beside it, and beyond the end
//! (at most 4.9e-10 relative, near 224 degrees of freedom, where the cells are widest
//! for the curvature), and with scipy's fixture.
//!
//! **Monotonicity.** `ln p = G(y) + a ln(1 - y²)` decreases in `y` while
//! `G'(y) < 2ay / (1 - y²)`. The build bounds the interpolant's slope on each cell from
//! above by its Bernstein coefficients (the slope of a polynomial on `[0, 1]` is a
//! convex combination of the differences of its Bernstein coefficients) and requires
//! the bound to be below `2a y₀ / (1 - y₀²)`, that bound's smallest value on the cell
//! (`y₀` its left end). So a table in use is non-increasing in `|t|` in exact
//! arithmetic; in floating point, only rounding (about 1e-16 relative) remains, and
//! where the table ends the exact path continues from the same value (the last node is
//! exact).
//!
//! **Which path answers.** A `ν`'s first calls take the exact path, later ones the
//! table; the two differ by at most 1e-9 relative, so a tail's last digits depend on
//! what the thread computed before (a pure function of `t` and `ν` to 1e-9, not to
//! the last bit).
//!
//! **Memory.** `SLOTS` tables per thread in a fixed array (48 KiB, zero-initialised;
//! nothing is ever allocated). A slot holds one table and one candidate `ν` with a
//! count: a call for the candidate counts up, a call that hits the resident table
//! counts down, and the candidate replaces the resident when the count reaches
//! [`REPEATS`], so a `ν` in use is not evicted by another asked as often, nor by the
//! ever-changing `ν` of a warm-up.

use super::{Consts, SERIES_X, power_series, raised_expansion};

/// Cells of a table.
pub(super) const CELLS: usize = 256;

/// Tables kept per thread.
const SLOTS: usize = 4;

/// Calls with the same `ν` (net of calls that hit the resident table) before its table
/// is built.
pub(super) const REPEATS: u32 = 32;

/// A table ends where `ln p` falls to this (`p ≈ 1.3e-304`, below the 1e-300 the tail
/// must be accurate to).
const L_END: f64 = -700.0;

/// The table never goes beyond this `y`: `ln p` has the term `a ln(1 - y²)`, whose
/// sixth derivative grows as `120 a / (1 - y)⁶`, so the quintic's error on a cell of
/// width `h ≈ 1/CELLS` grows as `a (h / (1 - y))⁶`; ending the table at
/// `1 - y = 0.1 a^{1/6}` keeps it near 1e-11. (For `ν = 18`, `|t| <= 7.0`,
/// `p >= 1.5e-6`; for `ν = 1`, `|t| <= 2.2`; from `ν ≈ 200` on, `L_END` comes first.)
fn y_cap(a: f64) -> f64 {
    // From ν ≈ 31,000 on, L_END ends the table far below this bound's 0.5.
    (1.0 - 0.1 * a.powf(1.0 / 6.0)).max(0.5)
}

/// Largest difference allowed between the interpolated and the exact `G` at the
/// points checked when a table is built.
pub(super) const BUILD_TOL: f64 = 1e-9;

/// One table: `G` on `CELLS` cells of `[0, y_end]`, each a quintic in the cell's
/// relative position `s`.
#[derive(Clone, Copy)]
struct Table {
    /// `CELLS / y_end`.
    inv_h: f64,
    /// Quintic coefficients per cell, lowest order first.
    coef: [[f64; 6]; CELLS],
}

/// A cache slot: the resident table's `ν` and whether it verified, plus a candidate
/// `ν` counting its calls.
#[derive(Clone, Copy)]
struct Slot {
    /// Bits of the resident table's `ν` (0: none).
    key: u64,
    /// Whether the resident table passed its checks (otherwise its `ν` takes the exact
    /// path).
    ok: bool,
    /// Bits of the candidate `ν`.
    candidate: u64,
    /// The candidate's calls, net of the resident's.
    count: u32,
    table: Table,
}

impl Slot {
    /// An empty slot: key 0 is `ν = 0`, which never gets here (`ν >= 1`), and an
    /// all-zero slot costs a thread nothing to set up.
    const EMPTY: Slot = Slot {
        key: 0,
        ok: false,
        candidate: 0,
        count: 0,
        table: Table {
            inv_h: 0.0,
            coef: [[0.0; 6]; CELLS],
        },
    };
}

thread_local! {
    static TABLES: std::cell::RefCell<[Slot; SLOTS]> =
        const { std::cell::RefCell::new([Slot::EMPTY; SLOTS]) };
}

/// The slot of `ν`'s bits (Fibonacci hashing: nearby `ν` spread over the slots).
#[inline]
fn slot_of(key: u64) -> usize {
    (key.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 62) as usize % SLOTS
}

/// The tail from `ν`'s table, if it has one and `t` lies in it; otherwise counts the
/// call towards building one and returns `None`. `t >= 0` finite, below 1e150;
/// `ν >= 1` finite.
#[inline]
pub(super) fn lookup(t: f64, nu: f64) -> Option<f64> {
    let key = nu.to_bits();
    TABLES
        .try_with(|tables| {
            let mut tables = tables.borrow_mut();
            let slot = &mut tables[slot_of(key)];
            if slot.key == key {
                slot.count = slot.count.saturating_sub(1);
                return if slot.ok {
                    slot.table.eval(t, nu)
                } else {
                    None
                };
            }
            if slot.candidate == key {
                slot.count += 1;
                if slot.count >= REPEATS {
                    slot.key = key;
                    slot.ok = slot.table.build(nu);
                    slot.candidate = 0;
                    slot.count = 0;
                }
            } else {
                slot.candidate = key;
                slot.count = 1;
            }
            None
        })
        .unwrap_or(None)
}

impl Table {
    /// The tail at `t` if `t` lies in the table.
    #[inline]
    fn eval(&self, t: f64, nu: f64) -> Option<f64> {
        // Beyond, t² overflows (and the table has long ended).
        if t >= 1e150 {
            return None;
        }
        let t2 = t * t;
        let y = t / (t2 + nu).sqrt();
        let u = y * self.inv_h;
        if u.is_nan() || u >= CELLS as f64 {
            return None;
        }
        let k = u as usize;
        let s = u - k as f64;
        Some(quintic(&self.coef[k], s).exp())
    }

    /// The interpolated `G` at `y` (in the table).
    fn interpolate(&self, y: f64) -> f64 {
        let u = y * self.inv_h;
        let k = (u as usize).min(CELLS - 1);
        let s = u - k as f64;
        quintic(&self.coef[k], s)
    }

    /// Builds the table of `ν` and checks it (accuracy and monotonicity); `false` if it
    /// must not be used.
    fn build(&mut self, nu: f64) -> bool {
        self.build_with(&Consts::new(nu)).is_ok()
    }

    /// Builds and checks the table, or says which check failed.
    fn build_with(&mut self, c: &Consts) -> Result<(), Unfit> {
        let y_end = end_of_table(c);
        if y_end.is_nan() || y_end <= 0.0 {
            return Err(Unfit::Range);
        }
        let h = y_end / CELLS as f64;
        self.inv_h = CELLS as f64 / y_end;
        let mut left = node(c, 0.0);
        for k in 0..CELLS {
            let right = node(c, (k + 1) as f64 * h);
            let (g0, d0, e0) = (left.0, h * left.1, h * h * left.2);
            let (g1, d1, e1) = (right.0, h * right.1, h * h * right.2);
            if ![g0, d0, e0, g1, d1, e1].iter().all(|v| v.is_finite()) {
                return Err(Unfit::NonFinite(k));
            }
            let dg = g1 - g0;
            let cf = [
                g0,
                d0,
                0.5 * e0,
                10.0 * dg - 6.0 * d0 - 4.0 * d1 - 0.5 * (3.0 * e0 - e1),
                -15.0 * dg + 8.0 * d0 + 7.0 * d1 + 0.5 * (3.0 * e0 - 2.0 * e1),
                6.0 * dg - 3.0 * d0 - 3.0 * d1 - 0.5 * (e0 - e1),
            ];
            self.coef[k] = cf;
            // Monotone: the interpolant's slope in y stays negative.
            let steepest = steepest_slope(&cf);
            if steepest.is_nan() || steepest >= 0.0 {
                return Err(Unfit::Monotone(k));
            }
            left = right;
        }
        // Accuracy: where the Hermite error is largest.
        for k in 0..CELLS {
            for s in [0.25, 0.5, 0.75] {
                let y = (k as f64 + s) * h;
                let exact = node(c, y).0;
                let err = (self.interpolate(y) - exact).abs();
                if err.is_nan() || err > BUILD_TOL {
                    return Err(Unfit::Accuracy(k, err));
                }
            }
        }
        Ok(())
    }
}

/// The quintic with coefficients `c` (lowest order first) at `s`.
#[inline(always)]
fn quintic(c: &[f64; 6], s: f64) -> f64 {
    c[0] + s * (c[1] + s * (c[2] + s * (c[3] + s * (c[4] + s * c[5]))))
}

/// An upper bound on the derivative of the quintic `c` over `s` in `[0, 1]`: in the
/// Bernstein basis of degree 5 (coefficients `b_i`), the derivative is
/// `5 Σ (b_{i+1} - b_i) B_{i,4}(s)`, a convex combination of the `5 (b_{i+1} - b_i)`.
fn steepest_slope(c: &[f64; 6]) -> f64 {
    // b_i = Σ_{j<=i} C(i, j) / C(5, j) c_j.
    const BINOM: [[f64; 6]; 6] = [
        [1.0, 0.0, 0.0, 0.0, 0.0, 0.0],
        [1.0, 1.0, 0.0, 0.0, 0.0, 0.0],
        [1.0, 2.0, 1.0, 0.0, 0.0, 0.0],
        [1.0, 3.0, 3.0, 1.0, 0.0, 0.0],
        [1.0, 4.0, 6.0, 4.0, 1.0, 0.0],
        [1.0, 5.0, 10.0, 10.0, 5.0, 1.0],
    ];
    let mut b = [0.0; 6];
    for (i, bi) in b.iter_mut().enumerate() {
        *bi = (0..=i).map(|j| BINOM[i][j] / BINOM[5][j] * c[j]).sum();
    }
    (0..5)
        .map(|i| 5.0 * (b[i + 1] - b[i]))
        .fold(f64::NEG_INFINITY, f64::max)
}

/// Why a table was not used.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Unfit {
    /// The tail falls below `e^{L_END}` at once.
    Range,
    /// A node's value or slope is not finite (cell index).
    NonFinite(usize),
    /// The monotonicity check failed (cell index).
    Monotone(usize),
    /// The accuracy check failed (cell index, error in `G`).
    Accuracy(usize, f64),
}

/// `(L(y), L'(y), L''(y))` from the exact path, `L = ln p`: with
/// `p' = -2 (1 - y²)^{a-1} / B(1/2, a)`, `L' = p'/p` and, since
/// `p''/p = -L' · 2 (a - 1) y / (1 - y²)`, `L'' = -L' · 2 (a - 1) y / (1 - y²) - L'²`.
fn node(c: &Consts, y: f64) -> (f64, f64, f64) {
    let y2 = y * y;
    let x = (1.0 - y) * (1.0 + y);
    let ln_x = (-y2).ln_1p();
    let p = exact_at(c, x, ln_x, y2);
    let ln_p = p.ln();
    let a = c.a;
    // B(1/2, a) = e^{ln(a B(a, 1/2))} / a.
    let l1 = -2.0 * a * ((a - 1.0) * ln_x - c.ln_a_beta - ln_p).exp();
    let l2 = -l1 * 2.0 * (a - 1.0) * y / x - l1 * l1;
    (ln_p, l1, l2)
}

/// The exact tail at `x = 1 - y²` (`ln_x = ln x`, `y2 = y²`).
fn exact_at(c: &Consts, x: f64, ln_x: f64, y2: f64) -> f64 {
    let p = if x <= SERIES_X {
        power_series(c, x, ln_x, y2)
    } else {
        raised_expansion(c, x, -ln_x, y2)
    };
    p.clamp(0.0, 1.0)
}

/// Where the table ends: `Y_CAP`, or the `y` where `ln p` falls to `L_END` if that
/// comes first (bisection; `ln p` decreases in `y`).
fn end_of_table(c: &Consts) -> f64 {
    let ln_p = |y: f64| {
        let y2 = y * y;
        exact_at(c, (1.0 - y) * (1.0 + y), (-y2).ln_1p(), y2).ln()
    };
    let cap = y_cap(c.a);
    if ln_p(cap) >= L_END {
        return cap;
    }
    let (mut lo, mut hi) = (0.0, cap);
    for _ in 0..60 {
        let mid = 0.5 * (lo + hi);
        if ln_p(mid) >= L_END {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    lo
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Builds the table of `ν` directly (not through the cache).
    fn table(nu: f64) -> Result<Box<Table>, Unfit> {
        let mut t = Box::new(Slot::EMPTY.table);
        t.build_with(&Consts::new(nu)).map(|()| t)
    }

    /// The tail as `two_sided` computes it once `ν` has a table.
    fn tabled(tab: &Table, t: f64, nu: f64) -> f64 {
        tab.eval(t, nu)
            .map_or_else(|| super::super::exact(t, nu), |p| p.clamp(0.0, 1.0))
    }

    /// The `t` at relative position `y` (`y = t / √(ν + t²)`).
    fn t_of(y: f64, nu: f64) -> f64 {
        y * (nu / ((1.0 - y) * (1.0 + y))).sqrt()
    }

    /// Degrees of freedom from 1 to 1e14 (beyond, the tail is the normal one), every
    /// 10^(1/20), and the detectors' usual ones.
    fn dofs() -> Vec<f64> {
        let mut nus: Vec<f64> = (0..=280).map(|i| 10f64.powf(i as f64 / 20.0)).collect();
        nus.extend([
            1.5,
            3.7,
            17.999999,
            18.0,
            29.999,
            30.0,
            197.99999999999997,
            198.0,
        ]);
        nus
    }

    /// Relative error at most 2e-9 against the exact path for `p >= 1e-300`: at 16
    /// points of every cell, at every node and the doubles beside it, at the end of
    /// the table and beyond it (where the exact path answers).
    #[test]
    fn tables_match_the_exact_path_on_a_dense_grid() {
        let mut worst = (0.0f64, 0.0, 0.0);
        for nu in dofs() {
            let tab = table(nu).unwrap_or_else(|e| panic!("no table for {nu}: {e:?}"));
            let h = 1.0 / tab.inv_h;
            let mut ys = Vec::new();
            for k in 0..=CELLS {
                let node = k as f64 * h;
                ys.extend([node, f64::from_bits(node.to_bits() + 1)]);
                if k > 0 {
                    ys.push(f64::from_bits(node.to_bits() - 1));
                }
                ys.extend((1..16).map(|i| node + h * i as f64 / 16.0));
            }
            // Beyond the table, to where the tail underflows or y reaches 1.
            let end = CELLS as f64 * h;
            ys.extend((1..64).map(|i| end + (1.0 - end) * i as f64 / 64.0));
            for y in ys {
                if !(0.0..1.0).contains(&y) {
                    continue;
                }
                let t = t_of(y, nu);
                if t == 0.0 {
                    continue;
                }
                let (got, want) = (tabled(&tab, t, nu), super::super::exact(t, nu));
                if want >= 1e-300 {
                    let rel = (got / want - 1.0).abs();
                    assert!(rel <= 2e-9, "dof {nu} t {t}: {got:e} vs {want:e} ({rel:e})");
                    if rel > worst.0 {
                        worst = (rel, nu, t);
                    }
                } else {
                    assert!(got <= 1.0000001e-300, "dof {nu} t {t}: {got:e} vs {want:e}");
                }
            }
        }
        println!(
            "largest relative error {:e} at dof {} t {}",
            worst.0, worst.1, worst.2
        );
    }

    /// Non-increasing in `|t|` on a 0.05 % grid from 1e-8 to 1e200 (through the table
    /// and beyond its end), and across the end of the table from one double to the
    /// next (where the exact path takes over; rounding may differ there by 1e-12).
    #[test]
    fn tabled_tails_are_non_increasing_in_t() {
        for nu in dofs().into_iter().step_by(7) {
            let tab = table(nu).unwrap();
            let mut t = 1e-8;
            let mut prev = tabled(&tab, t, nu);
            while t < 1e200 {
                t *= 1.0005;
                let p = tabled(&tab, t, nu);
                assert!(p <= prev, "dof {nu}: p({t}) = {p:e} > {prev:e}");
                prev = p;
            }
            let mut t = t_of(CELLS as f64 / tab.inv_h, nu);
            for _ in 0..64 {
                t = f64::from_bits(t.to_bits() - 1);
            }
            let mut prev = tabled(&tab, t, nu);
            for _ in 0..128 {
                t = f64::from_bits(t.to_bits() + 1);
                let p = tabled(&tab, t, nu);
                assert!(
                    p <= prev * (1.0 + 1e-12),
                    "dof {nu}: {p:e} > {prev:e} at {t}"
                );
                prev = p;
            }
        }
    }

    #[test]
    fn a_table_is_used_once_its_dof_repeats_and_is_not_evicted_by_others() {
        let nu = 18.123_456_789;
        for _ in 0..REPEATS - 1 {
            assert_eq!(lookup(2.0, nu), None);
        }
        // The call that builds the table still takes the exact path.
        assert_eq!(lookup(2.0, nu), None);
        let p = lookup(2.0, nu).expect("table built");
        assert!((p / super::super::exact(2.0, nu) - 1.0).abs() < 1e-9);
        // Another ν asked as often as this one (same slot or not) does not evict it,
        // and ever-changing ν (a warm-up) never do.
        let other = f64::from_bits(nu.to_bits() + 1);
        for i in 0..1_000 {
            let _ = lookup(1.0, other);
            let _ = lookup(1.0, 5.0 + i as f64 * 1e-3);
            assert!(lookup(2.0, nu).is_some());
        }
        // Beyond the end of the table, the exact path.
        assert_eq!(lookup(1e120, nu), None);
    }
}
