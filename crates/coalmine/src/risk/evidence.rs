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

use crate::math::dist;
use crate::schema::Direction;

/// The shift sizes mixed, in standard deviations of the standardised difference.
pub(super) const LAMBDAS: [f64; 4] = [0.5, 1.0, 2.0, 4.0];
/// Harmful deviations are clipped here before they enter a likelihood ratio: one
/// extreme tick is worth at most `λ·CLIP − λ²/2` nats.
const CLIP: f64 = 4.0;
/// The shift at which the resume CUSUM breaks even against "no harm" is `λ_r / 2`.
const RESUME_LAMBDA: f64 = 1.0;

/// One side's accumulated evidence: `ln A` per shift size, and the resume CUSUM.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub(super) struct Side {
    /// `ln A_t(λ)` per λ in [`LAMBDAS`]; `f64::MIN` (not −∞: checkpoints are JSON)
    /// before the first tick.
    pub(super) log_a: [f64; 4],
    /// `S_t`, in nats.
    pub(super) cusum: f64,
}

impl Default for Side {
    fn default() -> Self {
        Side {
            log_a: [f64::MIN; 4],
            cusum: 0.0,
        }
    }
}

impl Side {
    fn absorb(&mut self, x: f64, log_w: f64) {
        let x = x.clamp(-CLIP, CLIP);
        for (la, lambda) in self.log_a.iter_mut().zip(LAMBDAS) {
            *la = lambda * x - 0.5 * lambda * lambda + log_add(*la, log_w);
        }
        let r = RESUME_LAMBDA;
        self.cusum = (self.cusum + r * x - 0.5 * r * r).max(0.0);
    }

    /// `ln mean_λ A_t(λ)`.
    fn log_mean(&self) -> f64 {
        let mut acc = f64::MIN;
        for &la in &self.log_a {
            acc = log_add(acc, la);
        }
        acc - (LAMBDAS.len() as f64).ln()
    }
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
    /// The anytime-valid p-value `min(1, 1/Y_t)` after the last tick.
    pub(super) p: f64,
}

impl Accumulated {
    /// Absorbs one tick's standardised difference `z` (canary minus control, in
    /// standard deviations, Student's t with `dof` degrees of freedom).
    /// Returns the calibrated deviation absorbed (a standard normal score under "no
    /// harm", clipped).
    pub(super) fn absorb(&mut self, z: f64, dof: f64, direction: Direction) -> f64 {
        // A t statistic from a young scale estimate is worth less than its face
        // value: the normal quantile of its tail probability keeps the likelihood
        // ratios honest while the scale warms up.
        let x = calibrated(z, dof);
        self.absorb_score(x, direction);
        x
    }

    /// Absorbs one tick's deviation already calibrated to a standard normal score
    /// under "no harm" (clipped here).
    pub(super) fn absorb_score(&mut self, x: f64, direction: Direction) {
        let x = if x.is_nan() {
            0.0
        } else {
            x.clamp(-CLIP, CLIP)
        };
        self.n += 1;
        let n = self.n as f64;
        let log_w = -(n.ln() + (n + 1.0).ln());
        self.up.absorb(x, log_w);
        self.down.absorb(-x, log_w);
        let log_mix = match direction {
            Direction::IncreaseIsBad => self.up.log_mean(),
            Direction::DecreaseIsBad => self.down.log_mean(),
            Direction::Any => log_add(self.up.log_mean(), self.down.log_mean()) - 2f64.ln(),
        };
        // Start points not reached yet each count 1: their weights sum to 1/(n+1).
        let log_y = log_add(log_mix, -(n + 1.0).ln());
        self.p = (-log_y).exp().min(1.0);
    }

    /// The resume CUSUM of the harmful side(s), in nats.
    pub(super) fn harm_cusum(&self, direction: Direction) -> f64 {
        match direction {
            Direction::IncreaseIsBad => self.up.cusum,
            Direction::DecreaseIsBad => self.down.cusum,
            Direction::Any => self.up.cusum.max(self.down.cusum),
        }
    }

    /// The p-value before any tick is 1.
    pub(super) fn p_value(&self) -> f64 {
        if self.n == 0 { 1.0 } else { self.p }
    }
}

/// The standard normal quantile with the same upper tail as `t` under Student's t with
/// `dof` degrees of freedom (symmetric, so negative `t` maps to a negative quantile).
fn calibrated(t: f64, dof: f64) -> f64 {
    if !t.is_finite() {
        return if t.is_nan() { 0.0 } else { t.signum() * CLIP };
    }
    let p = dist::student_t_upper(t.abs(), dof).clamp(1e-300, 0.5);
    let q = dist::normal_upper_quantile(p);
    (q.max(0.0) * t.signum()).clamp(-CLIP, CLIP)
}

/// `ln(e^a + e^b)` without overflow; `f64::MIN` stands for `ln 0`.
fn log_add(a: f64, b: f64) -> f64 {
    let (hi, lo) = if a >= b { (a, b) } else { (b, a) };
    if lo == f64::MIN {
        return hi;
    }
    hi + (lo - hi).exp().ln_1p()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_evidence_under_noise_and_growing_evidence_under_a_shift() {
        let mut quiet = Accumulated::default();
        let mut r = 1u64;
        let mut next = || {
            // A deterministic, roughly normal sequence (sum of uniforms).
            let mut s = 0.0;
            for _ in 0..12 {
                r = r
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                s += (r >> 11) as f64 / (1u64 << 53) as f64;
            }
            s - 6.0
        };
        let mut smallest = 1.0f64;
        for _ in 0..2_000 {
            quiet.absorb(next(), 200.0, Direction::IncreaseIsBad);
            smallest = smallest.min(quiet.p_value());
        }
        assert!(smallest > 0.01, "{smallest}");
        // A 2-sd shift beginning after 400 quiet ticks is found within a few ticks.
        let mut late = Accumulated::default();
        for _ in 0..400 {
            late.absorb(next(), 200.0, Direction::IncreaseIsBad);
        }
        let mut found = None;
        for k in 0..30 {
            late.absorb(2.0 + next(), 200.0, Direction::IncreaseIsBad);
            if late.p_value() < 1e-4 {
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
            wrong.absorb(-3.0, 200.0, Direction::IncreaseIsBad);
        }
        assert_eq!(wrong.p_value(), 1.0);
        assert_eq!(wrong.harm_cusum(Direction::IncreaseIsBad), 0.0);
    }

    #[test]
    fn a_young_scale_is_discounted_and_extremes_are_clipped() {
        assert!(calibrated(5.0, 2.0) < 3.0);
        assert!((calibrated(2.0, 1e6) - 2.0).abs() < 1e-3);
        assert_eq!(calibrated(-1e9, 50.0), -CLIP);
        assert_eq!(calibrated(f64::NAN, 5.0), 0.0);
        assert_eq!(log_add(f64::MIN, 0.5), 0.5);
        assert!((log_add(0.0, 0.0) - 2f64.ln()).abs() < 1e-15);
    }
}
