//! A per-`ν` table of the two-sided Student-t tail, for degrees of freedom that
//! repeat.
//!
//! A detector's degrees of freedom (`n_eff - 1`) converge, and in floating point they
//! reach a fixed point, so once it has settled every tail it asks for has the same `ν`.
//! For such a `ν` the tail is tabulated; a call then costs a square root, a division,
//! a quintic and one `exp` instead of the incomplete beta function.
//!
//! **What is tabulated.** With `y = |t| / √(ν + t²)` (in `[0, 1)`), `L(y) = ln p` is
//! analytic on `[0, 1)`: near `t = 0`, `p = 1 - c|t| + …` is analytic in `y` where it
//! is not in `t²`. `L` is interpolated by a piecewise quintic Hermite polynomial on
//! [`CELLS`] equal cells of `[0, y_end]`, matching `L`, `L'` and `L''` at every node;
//! `L` comes from the exact path and its derivatives are closed forms of it
//! (`dp/dy = -2 (1 - y²)^{a-1} / B(1/2, a)`, see [`node`]). `y_end` is the smaller of
//! [`y_cap`] and the `y` of `|t| = T_END`; beyond it, the exact path answers.
//!
//! **Error bound.** The error of a quintic Hermite interpolant on a cell of width `h` is
//! `L⁽⁶⁾(ξ) h⁶ s³(1 - s)³ / 720` at relative position `s`, largest near the middle.
//! Every cell is checked when it is computed: at `s = 1/4, 1/2, 3/4` the interpolated
//! `ln p` must lie within [`BUILD_TOL`] (1e-9) of the exact one, or the cell is marked
//! failed and the exact path answers in it. An error `ε` in `ln p` is a relative error
//! `e^ε - 1 ≈ ε` in `p`, so the table is good to about 1e-9 relative, a thousand times
//! inside the 1e-6 the tail must meet. Tests compare tables with the exact path for `ν`
//! from 1 to 1e14 at 16 points of every cell, at every node and the doubles beside it,
//! and beyond the end (2e-9 asserted, 2.6e-11 observed), and require every cell of
//! those tables to pass its checks.
//!
//! **Monotonicity.** The derivative of a polynomial on `[0, 1]` is a convex combination
//! of the differences of its Bernstein coefficients; a cell passes only if all of them
//! are negative. So a table is non-increasing in `|t|` in exact arithmetic (cells
//! share their end values); in floating point only rounding (1e-16 relative) remains,
//! and where the table ends the exact path continues from the same value.
//!
//! **A pure function.** A call for a `ν` whose table is not built (yet, or any more)
//! computes the one cell it needs, with the same code and so the same bits as the
//! table's; the cache changes no result, only its cost.
//!
//! **Memory.** `SLOTS` tables per thread in a fixed, zero-initialised array (48 KiB;
//! nothing is ever allocated). A slot holds one table and one candidate `ν` with a
//! count: a call for the candidate counts up, a call that hits the resident table
//! counts down, and the candidate's table replaces the resident when the count reaches
//! [`REPEATS`]; so a `ν` in use is not evicted by another asked as often, nor by the
//! ever-changing `ν` of a warm-up. Building a table costs about 1,000 exact tails.

use super::{Consts, SERIES_X, power_series, raised_expansion, with_consts};

/// Cells of a table.
pub(super) const CELLS: usize = 256;

/// Tables kept per thread.
const SLOTS: usize = 4;

/// Calls with the same `ν` (net of calls that hit the resident table) before its table
/// is built.
pub(super) const REPEATS: u32 = 32;

/// A table ends at this `|t|` at the latest: there `p >= 5.7e-300` for every `ν` (the
/// normal tail, which Student's t exceeds that far out), so no node underflows.
const T_END: f64 = 37.0;

/// The table never goes beyond this `y`: `ln p` has the term `a ln(1 - y²)`, whose
/// sixth derivative grows as `120 a / (1 - y)⁶`, so the quintic's error on a cell of
/// width `h ≈ 1/CELLS` grows as `a (h / (1 - y))⁶`; ending the table at
/// `1 - y = 0.1 a^{1/6}` keeps it near 1e-11. (For `ν = 18`, `|t| <= 7.0`,
/// `p >= 1.5e-6`; for `ν = 1`, `|t| <= 2.2`; from `ν ≈ 1,400` on, `T_END` comes
/// first.)
fn y_cap(a: f64) -> f64 {
    // Far below this bound's floor of 0.5, T_END ends the table first.
    (1.0 - 0.1 * a.powf(1.0 / 6.0)).max(0.5)
}

/// Largest difference allowed between the interpolated and the exact `ln p` at the
/// points checked in each cell.
pub(super) const BUILD_TOL: f64 = 1e-9;

/// One table: `ln p` on `CELLS` cells of `[0, y_end]`, each a quintic in the cell's
/// relative position `s` (NaN for a cell that failed its checks).
#[derive(Clone, Copy)]
struct Table {
    /// `CELLS / y_end`.
    inv_h: f64,
    /// Quintic coefficients per cell, lowest order first.
    coef: [[f64; 6]; CELLS],
}

/// A cache slot: the resident table and its `ν`, plus a candidate `ν` counting its
/// calls.
#[derive(Clone, Copy)]
struct Slot {
    /// Bits of the resident table's `ν` (0: none).
    key: u64,
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

/// The tabled tail at `t` for `ν`: from the thread's table of `ν` if it has one,
/// otherwise from the one cell of it that `t` falls in, computed for this call (the
/// same numbers, so the result never depends on the cache), counting the call towards
/// building the table. `t >= 0`, `ν >= 1` finite.
#[inline]
pub(super) fn tabled(t: f64, nu: f64) -> f64 {
    let key = nu.to_bits();
    TABLES
        .try_with(|tables| {
            let mut tables = tables.borrow_mut();
            let slot = &mut tables[slot_of(key)];
            if slot.key == key {
                slot.count = slot.count.saturating_sub(1);
                return Some(slot.table.eval(t, nu));
            }
            if slot.candidate == key {
                slot.count += 1;
                if slot.count >= REPEATS {
                    slot.key = key;
                    slot.table.build(nu);
                    slot.candidate = 0;
                    slot.count = 0;
                    return Some(slot.table.eval(t, nu));
                }
            } else {
                slot.candidate = key;
                slot.count = 1;
            }
            None
        })
        .ok()
        .flatten()
        .unwrap_or_else(|| one_cell(t, nu))
}

/// What [`Table::eval`] returns, from the one cell `t` falls in.
fn one_cell(t: f64, nu: f64) -> f64 {
    let (h, inv_h) = grid(0.5 * nu, nu);
    match position(t, nu, inv_h) {
        Some((k, s)) => {
            // The exact path (which `finish` may take) borrows the constants' cache
            // itself, so it runs after this borrow ends.
            let ln_p = with_consts(nu, |c| {
                quintic(
                    &cell(c, h, k, node(c, k as f64 * h), node(c, (k + 1) as f64 * h)),
                    s,
                )
            });
            finish(ln_p, t, nu)
        }
        None => super::exact(t, nu),
    }
}

/// The cell `k` and relative position `s` of `t` in a table of `1 / h = inv_h`, or
/// `None` beyond its end.
#[inline(always)]
fn position(t: f64, nu: f64, inv_h: f64) -> Option<(usize, f64)> {
    // Beyond 1e150, t² overflows (and the table has long ended).
    if t >= 1e150 {
        return None;
    }
    let u = t / (t * t + nu).sqrt() * inv_h;
    if u.is_nan() || u >= CELLS as f64 {
        return None;
    }
    let k = u as usize;
    Some((k, u - k as f64))
}

/// The tail from an interpolated `ln p`, or from the exact path where the cell failed
/// its checks (NaN).
#[inline(always)]
fn finish(ln_p: f64, t: f64, nu: f64) -> f64 {
    if ln_p.is_nan() {
        return super::exact(t, nu);
    }
    ln_p.exp().min(1.0)
}

/// Cell width and its inverse for `ν`: `y_end / CELLS`, with `y_end` the smaller of
/// [`y_cap`] and the `y` of `|t| = T_END`.
fn grid(a: f64, nu: f64) -> (f64, f64) {
    let y_end = y_cap(a).min(T_END / (nu + T_END * T_END).sqrt());
    (y_end / CELLS as f64, CELLS as f64 / y_end)
}

impl Table {
    /// The tabled tail at `t`.
    #[inline]
    fn eval(&self, t: f64, nu: f64) -> f64 {
        match position(t, nu, self.inv_h) {
            Some((k, s)) => finish(quintic(&self.coef[k], s), t, nu),
            None => super::exact(t, nu),
        }
    }

    /// Builds the table of `ν`.
    fn build(&mut self, nu: f64) {
        let c = &Consts::new(nu);
        let (h, inv_h) = grid(c.a, nu);
        self.inv_h = inv_h;
        let mut left = node(c, 0.0);
        for k in 0..CELLS {
            let right = node(c, (k + 1) as f64 * h);
            self.coef[k] = cell(c, h, k, left, right);
            left = right;
        }
    }
}

/// Cell `k` (width `h`) of `ν`'s table from its ends' `(L, L', L'')`: the quintic
/// Hermite coefficients in the cell's relative position, lowest order first, checked
/// for monotonicity and accuracy; a cell that fails either check is NaN (the exact
/// path answers there).
fn cell(c: &Consts, h: f64, k: usize, left: (f64, f64, f64), right: (f64, f64, f64)) -> [f64; 6] {
    const FAILED: [f64; 6] = [f64::NAN; 6];
    let (g0, d0, e0) = (left.0, h * left.1, h * h * left.2);
    let (g1, d1, e1) = (right.0, h * right.1, h * h * right.2);
    if ![g0, d0, e0, g1, d1, e1].iter().all(|v| v.is_finite()) {
        return FAILED;
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
    // Monotone: the interpolant's slope stays negative.
    let steepest = steepest_slope(&cf);
    if steepest.is_nan() || steepest >= 0.0 {
        return FAILED;
    }
    // Accurate: where the Hermite error is largest.
    for s in [0.25, 0.5, 0.75] {
        let exact = node(c, (k as f64 + s) * h).0;
        let err = (quintic(&cf, s) - exact).abs();
        if err.is_nan() || err > BUILD_TOL {
            return FAILED;
        }
    }
    cf
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The table of `ν`, built directly (not through the cache).
    fn table(nu: f64) -> Box<Table> {
        let mut t = Box::new(Slot::EMPTY.table);
        t.build(nu);
        t
    }

    /// The `t` at `y = t / √(ν + t²)`.
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
            17.999999999999986,
            18.0,
            29.999,
            30.0,
            97.99999999999997,
        ]);
        nus.push(197.99999999999892);
        nus
    }

    /// Relative error at most 2e-9 against the exact path for `p >= 1e-300`: at 16
    /// points of every cell, at every node and the doubles beside it, at the end of
    /// the table and beyond it (where the exact path answers); and every cell passes
    /// its checks.
    #[test]
    fn tables_match_the_exact_path_on_a_dense_grid() {
        let mut worst = (0.0f64, 0.0, 0.0);
        for nu in dofs() {
            let tab = table(nu);
            assert!(
                tab.coef.iter().all(|c| !c[0].is_nan()),
                "a cell of dof {nu} failed its checks"
            );
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
            let end = CELLS as f64 * h;
            ys.extend((1..64).map(|i| end + (1.0 - end) * i as f64 / 64.0));
            for y in ys {
                let t = t_of(y, nu);
                if !(y < 1.0 && t > 0.0) {
                    continue;
                }
                let (got, want) = (tab.eval(t, nu), super::super::exact(t, nu));
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
            let tab = table(nu);
            let mut t = 1e-8;
            let mut prev = tab.eval(t, nu);
            while t < 1e200 {
                t *= 1.0005;
                let p = tab.eval(t, nu);
                assert!(p <= prev, "dof {nu}: p({t}) = {p:e} > {prev:e}");
                prev = p;
            }
            let mut t = t_of(CELLS as f64 / tab.inv_h, nu);
            for _ in 0..64 {
                t = f64::from_bits(t.to_bits() - 1);
            }
            let mut prev = tab.eval(t, nu);
            for _ in 0..128 {
                t = f64::from_bits(t.to_bits() + 1);
                let p = tab.eval(t, nu);
                assert!(
                    p <= prev * (1.0 + 1e-12),
                    "dof {nu}: {p:e} > {prev:e} at {t}"
                );
                prev = p;
            }
        }
    }

    /// The value never depends on the cache: the cell computed for one call is the
    /// table's, bit for bit.
    #[test]
    fn one_cell_is_the_tables_cell() {
        for nu in [1.0, 2.5, 18.0, 97.99999999999997, 1e3, 1e6] {
            let tab = table(nu);
            for i in 0..2_000 {
                let t = i as f64 * 0.02 + 1e-3;
                assert_eq!(one_cell(t, nu).to_bits(), tab.eval(t, nu).to_bits());
            }
            // Beyond the table, before and after it is built.
            for t in [50.0, 1e6, 1e149, 1e151, 1e300] {
                let fresh = f64::from_bits(nu.to_bits() + 3);
                let want = super::super::exact(t, fresh);
                assert_eq!(tabled(t, fresh).to_bits(), want.to_bits());
                assert_eq!(one_cell(t, nu).to_bits(), tab.eval(t, nu).to_bits());
            }
        }
    }

    #[test]
    fn a_table_is_built_once_its_dof_repeats_and_is_not_evicted_by_others() {
        let nu = 18.123_456_789;
        let slot_key =
            |nu: f64| TABLES.with(|t| t.borrow()[slot_of(nu.to_bits())].key == nu.to_bits());
        let first = tabled(2.0, nu);
        for _ in 0..REPEATS {
            assert_eq!(tabled(2.0, nu).to_bits(), first.to_bits());
        }
        assert!(slot_key(nu));
        assert!((first / super::super::exact(2.0, nu) - 1.0).abs() < 1e-9);
        // Another ν asked as often as this one (same slot or not) does not evict it,
        // and ever-changing ν (a warm-up) never do.
        let other = f64::from_bits(nu.to_bits() + 1);
        for i in 0..1_000 {
            let _ = tabled(1.0, other);
            let _ = tabled(1.0, 5.0 + i as f64 * 1e-3);
            assert_eq!(tabled(2.0, nu).to_bits(), first.to_bits());
        }
        assert!(slot_key(nu));
        // Beyond the end of the table, the exact path.
        assert_eq!(tabled(1e120, nu), super::super::exact(1e120, nu));
    }
}
