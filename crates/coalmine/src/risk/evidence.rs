//! Stage 1b: evidence of harm that accumulates over the rollout, per series, and stays
//! valid however long the rollout runs and whenever a fault begins.
//!
//! Each series turns its standardised harmful deviation `x_t` (calibrated to a standard
//! normal quantile, clipped) into likelihood ratios `L_t(λ) = exp(λ x_t − λ²/2)` for a
//! few shift sizes `λ`. A fault may begin at any tick `s`, so the evidence is the
//! weighted sum over start points of the products since each start,
//! `Y_t = mean_λ Σ_s w_s Π_{u=s..t} L_u(λ) + Σ_{s>t} w_s` with `w_s = 1/(s(s+1))`
//! (the start points not yet reached count 1 each). `Y` is a nonnegative
//! supermartingale under "no harm" with `Y_0 = 1`, so by Ville's inequality
//! `P(sup_t Y_t ≥ 1/α) ≤ α` over the whole rollout: `1/Y_t` is an anytime-valid
//! p-value, and a fault beginning at tick `s` pays only `log(s(s+1))` for not being
//! known in advance — the quiet ticks before its onset do not dilute it. The sum is
//! updated in O(1): `A_t = L_t (A_{t−1} + w_t)`.
//!
//! Beside it, the CUSUM `S_t = max(0, S_{t−1} + λ_r x_t − λ_r²/2)` (the log of the
//! largest product over start points at the tolerance shift `λ_r`) says whether the
//! data since the latest plausible onset still favour harm: a pause clears only once
//! it has fallen back.

use serde::{Deserialize, Serialize};

use crate::math::{dist, ew};
use crate::schema::Direction;

/// The shift sizes mixed, in standard deviations of the standardised difference.
pub(super) const LAMBDAS: [f64; 4] = [0.5, 1.0, 2.0, 4.0];
/// `e^{−λ²/2}` per λ in [`LAMBDAS`]: with `u = e^{x/2}`, `L(λ) = u^{2λ} e^{−λ²/2}`, so one
/// exponential gives all four likelihood ratios (the λ's are `u`'s powers 1, 2, 4, 8).
const HALF_SQUARES: [f64; 4] = [
    0.882_496_902_584_595_4,     // e^{-1/8}
    0.606_530_659_712_633_4,     // e^{-1/2}
    0.135_335_283_236_612_7,     // e^{-2}
    0.000_335_462_627_902_511_8, // e^{-8}
];
/// Harmful deviations are clipped here before they enter a likelihood ratio: one
/// extreme tick is worth at most `λ·CLIP − λ²/2` nats.
const CLIP: f64 = 4.0;
/// The shift at which the resume CUSUM breaks even against "no harm" is `λ_r / 2`.
const RESUME_LAMBDA: f64 = 1.0;

/// One side's accumulated evidence: `A_t(λ)` per shift size, and the resume CUSUM.
///
/// `A_t(λ)` grows by up to `e^8` a tick under a fault and shrinks towards the start
/// weights under none, so over a long rollout it leaves the range of an `f64`: each is
/// kept as a scaled value and a binary exponent, `A = m · 2^e`, with `m` brought back
/// to `[1, 2)` whenever it leaves `[2^-512, 2^512]`. Rescaling by a power of two is
/// exact, so the update needs no logarithm and no exponential beyond
/// the likelihood ratios' one (the log-domain form took eight `exp`/`ln_1p` pairs a
/// tick), and a checkpoint holds only finite numbers.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub(super) struct Side {
    /// `A_t(λ) / 2^e` per λ in [`LAMBDAS`]; 0 before the first tick.
    pub(super) mantissa: [f64; 4],
    /// Binary exponent of `A_t(λ)` per λ.
    pub(super) exponent: [i64; 4],
    /// `S_t`, in nats.
    pub(super) cusum: f64,
}

impl Default for Side {
    fn default() -> Self {
        Side {
            mantissa: [0.0; 4],
            exponent: [0; 4],
            cusum: 0.0,
        }
    }
}

impl Side {
    /// Absorbs a tick whose likelihood ratios are `ratios` (those of the clipped
    /// deviation `x`) with start weight `w`.
    fn absorb(&mut self, x: f64, ratios: [f64; 4], w: f64) {
        for ((m, e), l) in self.mantissa.iter_mut().zip(&mut self.exponent).zip(ratios) {
            // A' = L (A + w), in units of 2^e.
            let a = l * (*m + w * pow2(e.saturating_neg()));
            if (RESCALE_BELOW..=RESCALE_ABOVE).contains(&a) {
                *m = a;
            } else {
                let (mant, shift) = split(a);
                *m = mant;
                *e = e.saturating_add(shift);
            }
        }
        let r = RESUME_LAMBDA;
        self.cusum = (self.cusum + r * x - 0.5 * r * r).max(0.0);
    }

    /// `mean_λ A_t(λ)` as a scaled value and a binary exponent.
    fn mean(&self) -> (f64, i64) {
        // Each term in [1, 2) · 2^k first, so that the largest exponent is the largest
        // term's and only terms below 2^-1022 of it can be lost.
        let mut terms = [(0.0, 0); 4];
        for (t, (&m, &e)) in terms
            .iter_mut()
            .zip(self.mantissa.iter().zip(&self.exponent))
        {
            let (mant, shift) = split(m);
            // A zero term must not set the scale.
            let e = if mant == 0.0 {
                i64::MIN
            } else {
                e.saturating_add(shift)
            };
            *t = (mant, e);
        }
        let top = terms.iter().map(|t| t.1).max().unwrap_or(0);
        let sum: f64 = terms
            .iter()
            .map(|&(m, e)| m * pow2(e.saturating_sub(top)))
            .sum();
        (sum / LAMBDAS.len() as f64, top)
    }
}

/// A scaled `A_t(λ)` is brought back to `[1, 2)` once it leaves `[2^-512, 2^512]`: a
/// tick multiplies it by at most `e^8`, so it stays far from overflow and underflow,
/// and rescaling only then (it is exact) keeps the common tick free of it.
const RESCALE_BELOW: f64 = 7.458_340_731_200_207e-155; // 2^-512
const RESCALE_ABOVE: f64 = 1.340_780_792_994_259_7e154; // 2^512

/// `2^k` for the exponents the evidence meets: exact from −1022 to 1023, 0 below
/// (where a term is lost in the rounding of the sum it is added to anyway) and
/// `2^1023` above.
#[inline]
fn pow2(k: i64) -> f64 {
    if k < -1022 {
        0.0
    } else {
        f64::from_bits(((k.min(1023) + 1023) as u64) << 52)
    }
}

/// A positive normal `a` as `(m, k)` with `a = m · 2^k` and `m` in `[1, 2)`; anything
/// else (0, subnormal, not finite: only from a corrupt checkpoint) as `(0, 0)`.
#[inline]
fn split(a: f64) -> (f64, i64) {
    if !(a.is_normal() && a > 0.0) {
        return (0.0, 0);
    }
    let bits = a.to_bits();
    let k = ((bits >> 52) & 0x7ff) as i64 - 1023;
    (
        f64::from_bits((bits & ((1u64 << 52) - 1)) | (1023u64 << 52)),
        k,
    )
}

/// The likelihood ratios `e^{λx − λ²/2}` per λ in [`LAMBDAS`] of a clipped `x`, from
/// `u = e^{x/2}`.
#[inline]
fn ratios(u: f64) -> [f64; 4] {
    let u2 = u * u;
    let u4 = u2 * u2;
    [
        u * HALF_SQUARES[0],
        u2 * HALF_SQUARES[1],
        u4 * HALF_SQUARES[2],
        u4 * u4 * HALF_SQUARES[3],
    ]
}

/// A series' accumulated evidence of harm in both directions (a directed metric uses
/// the harmful side only; `Any` averages the two sides' e-processes, each half).
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub(super) struct Accumulated {
    /// Ticks absorbed.
    pub(super) n: u64,
    /// Evidence that the canary is above the control.
    pub(super) up: Side,
    /// Evidence that the canary is below the control.
    pub(super) down: Side,
}

impl Accumulated {
    /// Absorbs one tick's standardised difference `z` (canary minus control, in
    /// standard deviations, Student's t with `dof` degrees of freedom).
    /// Returns the calibrated deviation absorbed (a standard normal score under "no
    /// harm", clipped).
    pub(super) fn absorb(&mut self, z: f64, dof: f64) -> f64 {
        // A t statistic from a young scale estimate is worth less than its face
        // value: the normal quantile of its tail probability keeps the likelihood
        // ratios honest while the scale warms up.
        let x = calibrated(z, dof);
        self.absorb_score(x);
        x
    }

    /// Absorbs one tick's deviation already calibrated to a standard normal score
    /// under "no harm" (clipped here).
    pub(super) fn absorb_score(&mut self, x: f64) {
        let x = clipped(x);
        let w = self.next_weight();
        // x is clipped to ±CLIP, so u^8 = e^{4x} stays within e^{±16}.
        let u = (0.5 * x).exp();
        self.up.absorb(x, ratios(u), w);
        self.down.absorb(-x, ratios(1.0 / u), w);
    }

    /// Absorbs one tick of a counted ratio (errors over requests): the likelihood
    /// ratios are the exact conditional binomial ones of the canary's share of the
    /// tick's events (see [`Counted`]) instead of the normal score's, so that a tick
    /// whose counts leave no doubt is worth what they say, up to [`count_cap`] nats,
    /// where the normal score stops at [`CLIP`] standard deviations. The resume CUSUM
    /// still follows the calibrated score. Returns the calibrated score, as
    /// [`absorb`](Self::absorb) does.
    pub(super) fn absorb_counted(&mut self, z: f64, dof: f64, counted: &Counted) -> f64 {
        let x = calibrated(z, dof);
        let Some((up, down)) = counted.ratios() else {
            self.absorb_score(x);
            return x;
        };
        let c = clipped(x);
        let w = self.next_weight();
        self.up.absorb(c, up, w);
        self.down.absorb(-c, down, w);
        x
    }

    /// Absorbs one tick whose log-likelihood ratios per λ are given (above, then below;
    /// each capped at `cap` nats here), with `x` the calibrated score for the resume
    /// CUSUM: the pooled evidence of a counted ratio.
    pub(super) fn absorb_log_ratios(&mut self, x: f64, (up, down): ([f64; 4], [f64; 4]), cap: f64) {
        let c = clipped(x);
        let w = self.next_weight();
        let ratios = |l: [f64; 4]| l.map(|l| if l.is_nan() { 1.0 } else { l.min(cap).exp() });
        self.up.absorb(c, ratios(up), w);
        self.down.absorb(-c, ratios(down), w);
    }

    /// Counts the tick and returns its start weight `1/(n(n+1))`.
    fn next_weight(&mut self) -> f64 {
        // Saturating: a hand-edited checkpoint may hold any count.
        self.n = self.n.saturating_add(1);
        let n = self.n as f64;
        1.0 / (n * (n + 1.0))
    }

    /// The resume CUSUM of the harmful side(s), in nats.
    pub(super) fn harm_cusum(&self, direction: Direction) -> f64 {
        match direction {
            Direction::IncreaseIsBad => self.up.cusum,
            Direction::DecreaseIsBad => self.down.cusum,
            Direction::Any => self.up.cusum.max(self.down.cusum),
        }
    }

    /// The anytime-valid p-value `min(1, 1/Y_t)` of harm in `direction` after the last
    /// tick (1 before any tick).
    pub(super) fn p_value(&self, direction: Direction) -> f64 {
        if self.n == 0 {
            return 1.0;
        }
        let n = self.n as f64;
        let (m, e) = match direction {
            Direction::IncreaseIsBad => self.up.mean(),
            Direction::DecreaseIsBad => self.down.mean(),
            Direction::Any => {
                let ((mu, eu), (md, ed)) = (self.up.mean(), self.down.mean());
                let e = eu.max(ed);
                (
                    0.5 * (mu * pow2(eu.saturating_sub(e)) + md * pow2(ed.saturating_sub(e))),
                    e,
                )
            }
        };
        // Start points not reached yet each count 1: their weights sum to 1/(n+1).
        // p = 1 / (m 2^e + 1/(n+1)), arranged so that neither power of two overflows.
        let p = if e > 0 {
            let s = pow2(e.saturating_neg());
            s / (m + s / (n + 1.0))
        } else {
            1.0 / (m * pow2(e) + 1.0 / (n + 1.0))
        };
        if p >= 0.0 { p.min(1.0) } else { 1.0 }
    }
}

/// A calibrated score clipped to `±CLIP` (NaN, no evidence, as 0).
fn clipped(x: f64) -> f64 {
    if x.is_nan() {
        0.0
    } else {
        x.clamp(-CLIP, CLIP)
    }
}

/// Most nats one tick of a count test may add to a likelihood ratio in a family of
/// `family` series confirmed at `alpha`: the normal score's most, `λ·CLIP − λ²/2 = 8`
/// at the largest λ, or, in larger families, `ln(K/α) − ln 2`. At the first tick
/// (start weight ½) a tick at that cap leaves the evidence at `K/(4α)`, a quarter of
/// what confirmation needs, so in a family of more than a few series one tick alone
/// never confirms harm — a single tick's burst (a retried request, a host's hiccup)
/// is what a canary shows now and then, and the dispersion has not seen it yet —
/// while two ticks at the cap do for an onset up to tick `s` with
/// `s(s + 1) ≤ K/(4α)` (29 for 36 series at `α = 0.01`). Capping a likelihood ratio
/// from above keeps its mean at most 1, so the evidence stays a supermartingale.
pub(super) fn count_cap(family: usize, alpha: f64) -> f64 {
    let largest = LAMBDAS[LAMBDAS.len() - 1];
    let normal = largest * CLIP - 0.5 * largest * largest;
    normal.max((family.max(1) as f64 / alpha).ln() - std::f64::consts::LN_2)
}

/// One tick of a counted ratio: the events (errors) and trials (requests) of each
/// cohort, and how overdispersed the live differences are relative to binomial
/// sampling.
///
/// Under "no harm" both cohorts have the same event rate, so given the tick's total
/// events `K`, the canary's events are `Binomial(K, r₀)` with `r₀ = n_k / (n_k + n_c)`
/// whatever the rate is: an exact test with no nuisance parameter (the conditional
/// test for two Poisson rates). The alternatives are the shifts `λ` of [`LAMBDAS`] in
/// that binomial's standard deviations, `r₁ = r₀ ± λ √(r₀(1 − r₀)/K)`, so that they
/// follow the information each tick carries as the normal score's do. Each
/// log-likelihood ratio is divided by the dispersion `φ ≥ 1` (the live variance of
/// the tick's binomial score, [`Dispersion`]): by Jensen's inequality `E[L^{1/φ}] ≤ 1` for
/// any `φ ≥ 1`, so the evidence stays valid under exact binomial noise, and events
/// that cluster (retries, one user's failures) are discounted by what the live noise
/// shows. Each is capped at `cap` nats ([`count_cap`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Counted {
    /// The canary's events and trials.
    pub(super) canary: (f64, f64),
    /// The control's events and trials.
    pub(super) control: (f64, f64),
    /// `φ`, at least 1.
    pub(super) dispersion: f64,
    /// Most nats one tick may add ([`count_cap`]).
    pub(super) cap: f64,
}

impl Counted {
    /// The canary's events as a binomial score under "no harm",
    /// `(e_k − K r₀) / √(K r₀ (1 − r₀))` (mean 0, variance 1 under binomial sampling);
    /// `None` when the counts cannot be used or there were no events.
    pub(super) fn binomial_z(&self) -> Option<f64> {
        let (ek, total, r0) = self.parts()?;
        if total <= 0.0 {
            return None;
        }
        let z = (ek - total * r0) / (total * r0 * (1.0 - r0)).sqrt();
        z.is_finite().then_some(z)
    }

    /// The canary's events, the tick's total events and `r₀`, when the counts can be
    /// used (finite, events within `[0, trials]`, trials positive).
    fn parts(&self) -> Option<(f64, f64, f64)> {
        let ((ek, nk), (ec, nc)) = (self.canary, self.control);
        (usable(ek, nk) && usable(ec, nc)).then(|| (ek, ek + ec, nk / (nk + nc)))
    }

    /// The likelihood ratios of the canary being above (first) and below (second) the
    /// control, per λ; `None` when the counts cannot be used (not finite, events
    /// outside `[0, trials]`, no trials).
    fn ratios(&self) -> Option<([f64; 4], [f64; 4])> {
        let (up, down) = self.log_ratios(1.0)?;
        let capped = |l: [f64; 4]| l.map(|l| l.min(self.cap).exp());
        Some((capped(up), capped(down)))
    }

    /// The tempered log-likelihood ratios, uncapped, of the shifts `λ·scale` per λ in
    /// [`LAMBDAS`] (above, then below); `None` as for [`ratios`](Self::ratios). The
    /// pooled evidence takes `scale = 1/√c` in each of `c` segments.
    pub(super) fn log_ratios(&self, scale: f64) -> Option<([f64; 4], [f64; 4])> {
        let (ek, total, r0) = self.parts()?;
        if total <= 0.0 {
            // No events: the tick says nothing about the ratio of rates.
            return Some(([0.0; 4], [0.0; 4]));
        }
        let sd = scale * (r0 * (1.0 - r0) / total).sqrt();
        let phi = if self.dispersion.is_finite() {
            self.dispersion.max(1.0)
        } else {
            1.0
        };
        let ln_r0 = r0.ln();
        let ln_q0 = (-r0).ln_1p();
        let log_ratio =
            |r1: f64| (ek * (r1.ln() - ln_r0) + (total - ek) * ((-r1).ln_1p() - ln_q0)) / phi;
        let mut up = [0.0; 4];
        let mut down = [0.0; 4];
        for (j, lambda) in LAMBDAS.iter().enumerate() {
            // Kept strictly inside (0, 1), where every ratio is finite.
            let hi = (r0 + lambda * sd).min(0.5 * (r0 + 1.0));
            let lo = (r0 - lambda * sd).max(0.5 * r0);
            up[j] = log_ratio(hi);
            down[j] = log_ratio(lo);
        }
        Some((up, down))
    }
}

/// Whether `e` events out of `n` trials can enter a count test.
fn usable(e: f64, n: f64) -> bool {
    n.is_finite() && n > 0.0 && e.is_finite() && e >= 0.0 && e <= n
}

/// Pseudo-observations behind the dispersion's prior of 1 (binomial sampling).
const DISPERSION_PRIOR_TICKS: f64 = 8.0;

/// A counted ratio's live dispersion `φ`: the variance of its binomial scores
/// ([`Counted::binomial_z`]) from their first differences, `EW mean of (z_t −
/// z_{t−1})² / 2`, blended with a prior of 1 (binomial sampling) worth
/// [`DISPERSION_PRIOR_TICKS`]. A step in the canary's rate moves one difference only,
/// and that difference is winsorised at four of the current standard deviations (it
/// adds at most `16 φ` times its weight, 0.8 φ at `α = 0.05`, once), while
/// heavy-tailed noise, whose large differences keep coming, raises the dispersion
/// as far as it goes. (Leaving such differences out instead kept the dispersion of
/// heavy-tailed error counts too low: two more false rollbacks in 800 held-out
/// healthy rollouts of the widened traps.)
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub(super) struct Dispersion {
    last: f64,
    var: f64,
    /// Differences absorbed.
    k: u64,
    started: bool,
}

impl Dispersion {
    /// `φ ≥ 1` before this tick.
    pub(super) fn phi(&self) -> f64 {
        let (var, _) = ew::with_prior(self.var, self.k as f64, 1.0, DISPERSION_PRIOR_TICKS);
        if var.is_finite() { var.max(1.0) } else { 1.0 }
    }

    /// Absorbs this tick's binomial score.
    pub(super) fn absorb(&mut self, z: f64, alpha: f64) {
        if self.started {
            let r = z - self.last;
            let half_sq = 0.5 * r * r;
            let half_sq = half_sq.min(16.0 * self.phi());
            self.k += 1;
            self.var = ew::mean(self.var, half_sq, ew::weight(alpha, self.k));
        }
        self.last = z;
        self.started = true;
    }
}

/// Degrees of freedom from which [`calibrated`] uses Hill's closed form instead of
/// the exact tail and quantile.
const CLOSED_FORM_DOF: f64 = 30.0;

/// Largest difference between the closed form and the exact map at or above
/// [`CLOSED_FORM_DOF`] degrees of freedom, asserted over a grid in the tests (the
/// form's error falls like `dof^{-4}`: about 5e-10 at 30, 6e-11 at 50, 1e-12 at 100,
/// and the exact map's own rounding from 200 on). The switch sits at 30 because a
/// series' calibration never counts more degrees of freedom than its weighted scale
/// is worth (about 41 by default): a higher switch would never be reached.
#[cfg(test)]
const CLOSED_FORM_ERROR: f64 = 1e-9;

/// The standard normal quantile with the same upper tail as `t` under Student's t with
/// `dof` degrees of freedom (symmetric, so negative `t` maps to a negative quantile),
/// clipped to `±CLIP`.
///
/// Below [`CLOSED_FORM_DOF`] it is computed exactly (the tail, then the quantile);
/// from there on by Hill's normalising transformation (ACM Algorithm 396, 1970),
/// `y = (ν − ½) ln(1 + t²/ν)`,
/// `z = √y · (1 + (y + 3 + (−0.4y³ − 3.3y² − 24y − 85.5) / (0.8y² + 100 + b)) / b)`,
/// `b = 48 (ν − ½)²`, within `CLOSED_FORM_ERROR` (1e-9) of the exact map and, like it,
/// non-decreasing in `t` (both tested over a grid); the degrees of freedom of a series grow by one a
/// tick, so after its first ticks a series pays one logarithm and a square root.
fn calibrated(t: f64, dof: f64) -> f64 {
    if !t.is_finite() {
        return if t.is_nan() { 0.0 } else { t.signum() * CLIP };
    }
    if dof >= CLOSED_FORM_DOF && dof.is_finite() {
        closed_form(t, dof)
    } else {
        exact(t, dof)
    }
}

/// Hill's transformation (see [`calibrated`]), for finite `dof >= CLOSED_FORM_DOF`
/// and finite `t`.
#[inline]
fn closed_form(t: f64, dof: f64) -> f64 {
    let a = dof - 0.5;
    let y = a * (t * t / dof).ln_1p();
    // From y = 16 on, z >= √y >= CLIP (the correction is positive there: the rational
    // term is above −y/2 − 4.2), so the clip is known without the rest; this also
    // covers t² overflowing to infinity.
    if y >= CLIP * CLIP {
        return CLIP * t.signum();
    }
    let b = 48.0 * a * a;
    let rational = (((-0.4 * y - 3.3) * y - 24.0) * y - 85.5) / (0.8 * y * y + 100.0 + b);
    let z = ((rational + y + 3.0) / b + 1.0) * y.sqrt();
    (z.min(CLIP)) * t.signum()
}

/// The tail probability of `t`, then the normal quantile of it.
fn exact(t: f64, dof: f64) -> f64 {
    let p = dist::student_t_upper(t.abs(), dof).clamp(1e-300, 0.5);
    let q = dist::normal_upper_quantile(p);
    (q.max(0.0) * t.signum()).clamp(-CLIP, CLIP)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A deterministic sequence of uniforms in `[0, 1)` (a 64-bit LCG) from `seed`.
    fn uniforms(seed: u64) -> impl FnMut() -> f64 {
        let mut r = seed;
        move || {
            r = r
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (r >> 11) as f64 / (1u64 << 53) as f64
        }
    }

    /// A deterministic, roughly normal sequence: twelve uniforms summed, less 6.
    fn normals(seed: u64) -> impl FnMut() -> f64 {
        let mut uniform = uniforms(seed);
        move || {
            let mut s = 0.0;
            for _ in 0..12 {
                s += uniform();
            }
            s - 6.0
        }
    }

    #[test]
    fn no_evidence_under_noise_and_growing_evidence_under_a_shift() {
        let mut quiet = Accumulated::default();
        let mut next = normals(1);
        let mut smallest = 1.0f64;
        for _ in 0..2_000 {
            quiet.absorb(next(), 200.0);
            smallest = smallest.min(quiet.p_value(Direction::IncreaseIsBad));
        }
        assert!(smallest > 0.01, "{smallest}");
        // A 2-sd shift beginning after 400 quiet ticks is found within a few ticks.
        let mut late = Accumulated::default();
        for _ in 0..400 {
            late.absorb(next(), 200.0);
        }
        let mut found = None;
        for k in 0..30 {
            late.absorb(2.0 + next(), 200.0);
            if late.p_value(Direction::IncreaseIsBad) < 1e-4 {
                found = Some(k);
                break;
            }
        }
        let k = found.expect("the shift was found");
        assert!(k <= 12, "found after {k} ticks");
        assert!(late.harm_cusum(Direction::IncreaseIsBad) > 5.0);
        // The wrong direction gives no evidence.
        let mut wrong = Accumulated::default();
        for _ in 0..50 {
            wrong.absorb(-3.0, 200.0);
        }
        assert_eq!(wrong.p_value(Direction::IncreaseIsBad), 1.0);
        assert_eq!(wrong.harm_cusum(Direction::IncreaseIsBad), 0.0);
    }

    /// `ln C(n, k)` by summing logarithms (small `n` only).
    fn ln_choose(n: u64, k: u64) -> f64 {
        (1..=k).map(|i| ((n - k + i) as f64 / i as f64).ln()).sum()
    }

    fn counted(canary: (f64, f64), control: (f64, f64)) -> Counted {
        Counted {
            canary,
            control,
            dispersion: 1.0,
            cap: count_cap(36, 0.01),
        }
    }

    #[test]
    fn the_count_test_has_mean_at_most_one_under_binomial_sampling() {
        // Given K events, the canary's are Binomial(K, r0) under "no harm": the mean of
        // every likelihood ratio over that distribution is at most 1 (exactly 1 where
        // neither the cap nor the alternatives' bounds bite), whatever φ ≥ 1.
        for (nk, nc) in [(1_000.0, 99_000.0), (5_000.0, 45_000.0), (300.0, 700.0)] {
            let r0: f64 = nk / (nk + nc);
            for total in [1u64, 2, 5, 17, 60, 300] {
                for phi in [1.0, 2.5] {
                    let (mut up, mut down) = ([0.0; 4], [0.0; 4]);
                    for k in 0..=total {
                        let ln_pmf = ln_choose(total, k)
                            + k as f64 * r0.ln()
                            + (total - k) as f64 * (-r0).ln_1p();
                        let mut c = counted((k as f64, nk), ((total - k) as f64, nc));
                        c.dispersion = phi;
                        let (u, d) = c.ratios().unwrap();
                        for j in 0..4 {
                            up[j] += ln_pmf.exp() * u[j];
                            down[j] += ln_pmf.exp() * d[j];
                        }
                    }
                    for j in 0..4 {
                        assert!(up[j] <= 1.0 + 1e-9, "{nk} {total} {phi} up {j}: {}", up[j]);
                        assert!(down[j] <= 1.0 + 1e-9, "{nk} {total} {phi} down {j}");
                    }
                    if phi == 1.0 && total == 60 && nk == 1_000.0 {
                        // Neither the cap nor the bounds bite for the small shifts.
                        assert!((up[0] - 1.0).abs() < 1e-9, "{}", up[0]);
                    }
                }
            }
        }
    }

    #[test]
    fn a_tripled_error_ratio_is_confirmed_on_its_second_tick_not_its_first() {
        // A 1 % canary: 10 errors expected, 30 seen; the control's 990 as expected.
        let family = 36.0;
        let level = 0.01;
        let step = counted((30.0, 1_000.0), (990.0, 99_000.0));
        for onset in [0, 5, 25] {
            let mut acc = Accumulated::default();
            for _ in 0..onset {
                acc.absorb_counted(0.0, 40.0, &counted((10.0, 1_000.0), (990.0, 99_000.0)));
            }
            acc.absorb_counted(6.0, 40.0, &step);
            let first = family * acc.p_value(Direction::IncreaseIsBad);
            acc.absorb_counted(6.0, 40.0, &step);
            let second = family * acc.p_value(Direction::IncreaseIsBad);
            assert!(first > level, "onset {onset}: {first}");
            assert!(second <= level, "onset {onset}: {second}");
            // Nothing says the canary is below the control.
            assert!(acc.p_value(Direction::DecreaseIsBad) > 0.5);
        }
        // The normal score alone (clipped at 4 sd) needs a third tick from tick 25.
        let mut normal = Accumulated::default();
        for _ in 0..25 {
            normal.absorb(0.0, 40.0);
        }
        normal.absorb(6.0, 40.0);
        normal.absorb(6.0, 40.0);
        assert!(family * normal.p_value(Direction::IncreaseIsBad) > level);
    }

    #[test]
    fn unusable_counts_fall_back_to_the_normal_score() {
        for (canary, control) in [
            ((f64::NAN, 10.0), (1.0, 10.0)),
            ((11.0, 10.0), (1.0, 10.0)),
            ((1.0, 0.0), (1.0, 10.0)),
            ((-1.0, 10.0), (1.0, 10.0)),
            ((1.0, f64::INFINITY), (1.0, 10.0)),
        ] {
            let c = counted(canary, control);
            assert!(c.ratios().is_none() && c.binomial_z().is_none());
            let (mut a, mut b) = (Accumulated::default(), Accumulated::default());
            assert_eq!(a.absorb_counted(2.0, 10.0, &c), b.absorb(2.0, 10.0));
            assert_eq!(a, b);
        }
        // No events at all: no information either way, and no binomial score.
        let none = counted((0.0, 10.0), (0.0, 1_000.0));
        assert_eq!(none.ratios(), Some(([1.0; 4], [1.0; 4])));
        assert_eq!(none.binomial_z(), None);
    }

    #[test]
    fn the_dispersion_learns_overdispersion_but_not_a_step() {
        let mut normal = normals(7);
        let mut binomial = Dispersion::default();
        let mut doubled = Dispersion::default();
        for _ in 0..400 {
            binomial.absorb(normal(), 0.05);
            doubled.absorb(2.0 * normal(), 0.05);
        }
        assert!(binomial.phi() < 1.5, "{}", binomial.phi());
        assert!((doubled.phi() - 4.0).abs() < 1.5, "{}", doubled.phi());
        // A 10-sd step in the scores moves one difference (50 in half-squares), which
        // counts as 16 φ at most: φ rises by at most 0.8 φ, once, and then decays.
        let before = binomial.phi();
        binomial.absorb(10.0 + normal(), 0.05);
        let after = binomial.phi();
        assert!(after <= before * 1.8 + 0.05, "{after} vs {before}");
        for _ in 0..5 {
            binomial.absorb(10.0 + normal(), 0.05);
        }
        assert!(binomial.phi() < after, "{} vs {after}", binomial.phi());
    }

    #[test]
    fn a_young_scale_is_discounted_and_extremes_are_clipped() {
        assert!(calibrated(5.0, 2.0) < 3.0);
        assert!((calibrated(2.0, 1e6) - 2.0).abs() < 1e-3);
        assert_eq!(calibrated(-1e9, 50.0), -CLIP);
        assert_eq!(calibrated(-1e9, 20.0), -CLIP);
        assert_eq!(calibrated(f64::MAX, 1e3), CLIP);
        assert_eq!(calibrated(f64::NAN, 5.0), 0.0);
        assert_eq!(calibrated(0.0, 80.0), 0.0);
        assert!((calibrated(2.0, f64::INFINITY) - 2.0).abs() < 1e-12);
    }

    /// Degrees of freedom at and beyond the switch to the closed form.
    const CLOSED_FORM_GRID: [f64; 18] = [
        30.0, 30.5, 31.0, 35.0, 41.0, 45.0, 50.0, 55.0, 60.0, 75.0, 100.0, 150.0, 200.0, 1e3, 1e4,
        1e6, 1e9, 1e14,
    ];

    #[test]
    fn the_closed_form_stays_within_its_bound_of_the_exact_map() {
        let mut worst = 0.0f64;
        for dof in CLOSED_FORM_GRID {
            // Up to where both are clipped, and a little beyond.
            for k in 0..=6_000 {
                let t = k as f64 * 0.001 + (k as f64 * 1e-3).powi(3) * 0.01;
                for t in [t, -t] {
                    let (fast, slow) = (closed_form(t, dof), exact(t, dof));
                    worst = worst.max((fast - slow).abs());
                    assert!(
                        (fast - slow).abs() <= CLOSED_FORM_ERROR,
                        "dof {dof}, t {t}: {fast} vs {slow}"
                    );
                }
            }
        }
        // The bound is not slack by orders of magnitude: at 30 dof it is nearly met.
        assert!(worst > 0.1 * CLOSED_FORM_ERROR, "{worst}");
        // The switch-over: exact below, the closed form from CLOSED_FORM_DOF on.
        let below = CLOSED_FORM_DOF - 1e-9;
        for t in [0.3, 1.0, 2.5, 4.0] {
            assert_eq!(calibrated(t, below), exact(t, below));
            assert_eq!(
                calibrated(t, CLOSED_FORM_DOF),
                closed_form(t, CLOSED_FORM_DOF)
            );
            assert!(
                (calibrated(t, below) - calibrated(t, CLOSED_FORM_DOF)).abs()
                    < 2.0 * CLOSED_FORM_ERROR
            );
        }
    }

    #[test]
    fn the_closed_form_is_monotone_like_the_exact_map() {
        for dof in CLOSED_FORM_GRID {
            let mut last = 0.0;
            // A 1e-4 grid through the clip at y = 16, and on to huge t.
            for k in 0..=80_000 {
                let t = k as f64 * 1e-4;
                let z = closed_form(t, dof);
                assert!(z >= last, "dof {dof}: z({t}) = {z} < {last}");
                last = z;
            }
            for t in [10.0, 1e3, 1e12, 1e200] {
                assert!(closed_form(t, dof) >= last);
            }
        }
    }

    /// The evidence in the log domain, as it was computed before the mantissa and
    /// exponent form: `ln Y_t` after each tick.
    struct LogDomain {
        n: u64,
        log_a: [f64; 4],
    }

    impl LogDomain {
        fn absorb(&mut self, x: f64) -> f64 {
            fn log_add(a: f64, b: f64) -> f64 {
                let (hi, lo) = if a >= b { (a, b) } else { (b, a) };
                if lo == f64::MIN {
                    return hi;
                }
                hi + (lo - hi).exp().ln_1p()
            }
            self.n += 1;
            let n = self.n as f64;
            let log_w = -(n.ln() + (n + 1.0).ln());
            let x = x.clamp(-CLIP, CLIP);
            for (la, lambda) in self.log_a.iter_mut().zip(LAMBDAS) {
                *la = lambda * x - 0.5 * lambda * lambda + log_add(*la, log_w);
            }
            let mut acc = f64::MIN;
            for &la in &self.log_a {
                acc = log_add(acc, la);
            }
            log_add(acc - 4f64.ln(), -(n + 1.0).ln())
        }
    }

    /// `ln Y_t` of the harmful side of a directed metric.
    fn log_y(acc: &Accumulated) -> f64 {
        let (m, e) = acc.up.mean();
        let n = acc.n as f64;
        m.ln() + e as f64 * std::f64::consts::LN_2 + (pow2(-e) / (m * (n + 1.0))).ln_1p()
    }

    #[test]
    fn the_mantissa_and_exponent_form_matches_the_log_domain() {
        let mut uniform = uniforms(7);
        // Quiet, then a fault long enough to leave the range of an f64 (e^8 a tick),
        // then quiet again while the evidence decays back, with clipped extremes.
        let mut reference = LogDomain {
            n: 0,
            log_a: [f64::MIN; 4],
        };
        let mut acc = Accumulated::default();
        let mut worst = 0.0f64;
        for tick in 0..3_000 {
            let x = match tick {
                0..=499 => 6.0 * uniform() - 3.0,
                500..=799 => 4.0 + 2.0 * uniform(),
                800..=1_199 => -6.0 * uniform(),
                _ => 2.0 * uniform() - 1.0,
            };
            // dof far above the closed form's switch: calibrated(x) is x to ~1e-13.
            let want = reference.absorb(calibrated(x, 1e14));
            acc.absorb(x, 1e14);
            let got = log_y(&acc);
            let err = (got - want).abs() / want.abs().max(1.0);
            worst = worst.max(err);
            assert!(err < 1e-12, "tick {tick}: ln Y {got} vs {want}");
            // An absolute error in ln Y is a relative one in p.
            let p = (-want).exp().min(1.0);
            assert!(
                (acc.p_value(Direction::IncreaseIsBad) - p).abs()
                    <= 1e-12 * want.abs().max(1.0) * p + 1e-300,
                "tick {tick}: p {} vs {p}",
                acc.p_value(Direction::IncreaseIsBad)
            );
        }
        assert!(acc.up.exponent.iter().all(|&e| e > -1100));
        assert!(worst < 1e-12);
    }

    #[test]
    fn both_directions_average_the_two_sides() {
        let mut any = Accumulated::default();
        for k in 0..40 {
            let z = if k % 20 < 10 { 3.0 } else { -3.0 };
            any.absorb(z, 300.0);
        }
        // Y_any = (M_up + M_down) / 2 + 1/(n+1), M a side's mixture.
        let n = any.n as f64;
        let mixture = |(m, e): (f64, i64)| m * 2f64.powi(e as i32);
        let want = 0.5 * (mixture(any.up.mean()) + mixture(any.down.mean())) + 1.0 / (n + 1.0);
        assert!(any.p_value(Direction::Any) < 1e-3);
        assert!((1.0 / any.p_value(Direction::Any) - want).abs() < 1e-12 * want);
    }

    #[test]
    fn a_corrupt_state_gives_a_p_value_not_a_panic() {
        // What a hand-edited checkpoint could hold: negative, huge and zero scaled
        // values, exponents at the ends of their range.
        for (m, e) in [
            (-1.0, 0),
            (f64::MAX, i64::MAX),
            (0.0, i64::MIN),
            (1.5, i64::MIN),
            (1.5, i64::MAX),
            (1e-300, -5),
        ] {
            let side = Side {
                mantissa: [m; 4],
                exponent: [e; 4],
                cusum: 0.0,
            };
            for direction in [Direction::IncreaseIsBad, Direction::Any] {
                let mut acc = Accumulated {
                    n: u64::MAX - 1,
                    up: side,
                    down: side,
                };
                for z in [3.0, -3.0, 0.0] {
                    acc.absorb(z, 60.0);
                    let p = acc.p_value(direction);
                    assert!((0.0..=1.0).contains(&p), "{m} {e}: {p}");
                }
            }
        }
    }

    #[test]
    fn powers_of_two_and_splits_are_exact() {
        assert_eq!(pow2(0), 1.0);
        assert_eq!(pow2(-3), 0.125);
        assert_eq!(pow2(1023), 2f64.powi(1023));
        assert_eq!(pow2(5000), 2f64.powi(1023));
        assert_eq!(pow2(-1023), 0.0);
        assert_eq!(split(12.0), (1.5, 3));
        assert_eq!(split(0.75), (1.5, -1));
        assert_eq!(split(0.0), (0.0, 0));
        assert_eq!(split(f64::INFINITY), (0.0, 0));
    }
}
