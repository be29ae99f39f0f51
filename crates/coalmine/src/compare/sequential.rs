//! The per-tick sequential test: canary-minus-control differences checked after
//! every tick with a false-alarm rate that holds however often it is looked at.
//!
//! A fixed-horizon test checked after every tick raises false alarms far more often
//! than its nominal level (in the integration tests' A/A simulation a Mann-Whitney test
//! at level 0.05, repeated at each of 46 ticks, flags about a quarter of the rollouts). [`SequentialTest`] is the mixture sequential probability ratio test
//! (mSPRT) of Johari, Pekelis and Walsh, "Always valid inference" (2017; Operations
//! Research 2022): its p-value and confidence sequence stay valid however often they
//! are looked at, and whenever the caller stops.
//!
//! It watches paired differences `d_t` (canary minus control per tick) with mean `θ`,
//! tests `θ = 0`, and mixes the likelihood ratio over `θ ~ N(0, τ²)`. With `n`
//! differences of mean `d̄` and a *known* variance `σ²`, and `g = τ² / σ²`:
//!
//! ```text
//! Λ_n = sqrt(σ² / (σ² + n τ²)) · exp( n² τ² d̄² / (2 σ² (σ² + n τ²)) )
//! ```
//!
//! `Λ_n` is a non-negative martingale under the null, so by Ville's inequality
//! `P(sup_n Λ_n ≥ 1/α) ≤ α`: the running `p_n = min(p_{n-1}, 1/Λ_n)` (from 1) is an
//! always-valid p-value, and the set of `θ` with `Λ_n(θ) < 1/α` (the same statistic with
//! `d̄ - θ` in place of `d̄`) is the confidence sequence
//!
//! ```text
//! d̄ ± sqrt( σ² (σ² + n τ²) / (n² τ²) · ln((σ² + n τ²) / (σ² α²)) )
//! ```
//!
//! whose half-width is the smallest mean difference that would be rejected now.
//!
//! **Unknown variance.** Usually `σ²` is not known, and the common practical approach
//! (the one Johari et al. discuss for unknown variance) is to plug in the running
//! sample variance `s²` (Welford's centred algorithm, so a constant shift does not
//! inflate it, floored at [`SequentialConfig::min_variance`]). The guarantee is then
//! approximate. Plugging `s²` straight into the formula above is anti-conservative at
//! small `n`, where `s²` is noisy: in simulation (normal data, `min_samples` 5) it
//! gives about 8 % false alarms over 50 ticks and nearly 10 % over 1,000 at α = 5 %. So with an estimated variance this
//! module uses the scale-invariant form of the same normal mixture, the Bayes factor
//! of the one-sample t statistic `t² = n d̄² / s²` with `ν = n - 1` (Rouder et al.,
//! 2009; an e-process by the group-invariance argument of Pérez-Ortiz, Lardy, de Heide
//! and Grünwald, "E-statistics, group invariance and anytime valid testing", 2022):
//!
//! ```text
//! Λ_n = (1 + n g)^(-1/2) · [ (1 + t²/ν) / (1 + t²/(ν (1 + n g))) ]^((ν + 1)/2),  g = τ²/s²
//! ```
//!
//! As `n` grows it tends to the plug-in formula above (and its confidence sequence to
//! the closed form above); at small `n` it accounts for the variance being estimated.
//! It is exact for normal differences when `g` is fixed; here `g` uses the running
//! `s²`, so the level is approximate, but in simulation it holds (about 3 % false alarms
//! over 50 ticks and over 1,000 at α = 5 %, for normal, Laplace and Student-t(3)
//! differences alike). With
//! [`SequentialConfig::known_variance`] the exact normal mixture above is used.
//!
//! **One-sided tests.** With [`Direction::IncreaseIsBad`] the mixing distribution is a
//! half-normal on `θ > 0`, which has the closed form `Λ⁺_n = 2 Λ_n Φ(w)`,
//! `w = n d̄ τ / (σ sqrt(σ² + n τ²))`. A mixture of likelihood ratios of `θ' > 0`
//! against 0 is a supermartingale under every `θ ≤ 0`, so the test is valid for the
//! whole composite null "no increase" (an improvement is never evidence of harm), and
//! it is more powerful against increases than the two-sided test. `Decrease` is the
//! mirror image. With an estimated variance `Λ_n` is the t form and `w` uses `s²`.
//!
//! Evidence sufficiency: [`required_samples`] says how many ticks a given effect needs
//! before it would be rejected, so "not enough data yet" can be told from "healthy".
//!
//! ```
//! use coalmine::compare::{Direction, SequentialConfig, SequentialTest};
//!
//! let config = SequentialConfig {
//!     direction: Direction::IncreaseIsBad, // only a higher canary metric is harmful
//!     ..SequentialConfig::with_reference_sd(2.0)
//! };
//! let mut test = SequentialTest::new(config)?;
//! let mut state = test.state();
//! for t in 0..40 {
//!     let canary = 101.5 + ((t * 7) % 5) as f64 * 0.5;
//!     let control = 100.0 + ((t * 3) % 5) as f64 * 0.5;
//!     state = test.observe(canary - control)?;
//!     if state.rejected {
//!         break;
//!     }
//! }
//! // Rejected within a few ticks; the effect is bounded by the confidence sequence.
//! assert!(state.rejected && state.n < 20);
//! let ci = state.confidence_interval;
//! assert!(ci.lower < state.mean && state.mean < ci.upper);
//! # Ok::<(), coalmine::Error>(())
//! ```

use std::f64::consts::LN_2;

use serde::{Deserialize, Serialize};

use crate::math::dist;
use crate::{Error, Interval};

/// The sample count beyond which [`required_samples`] gives up (and returns
/// `u64::MAX`).
pub const MAX_REQUIRED_SAMPLES: u64 = 1_000_000_000;

/// Which sign of the mean difference (canary minus control) counts as evidence of
/// harm in a [`SequentialTest`]: the schema's metric direction. `Any` is a two-sided
/// test with a normal mixture; `IncreaseIsBad` (`DecreaseIsBad`) counts only a
/// positive (negative) mean difference, with a half-normal mixture, so an improvement
/// never rejects (its e-value stays at most 1).
pub use crate::schema::Direction;

/// Parameters of a [`SequentialTest`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SequentialConfig {
    /// Level of the test, in `(0, 1)`: the probability of ever rejecting when there is
    /// no difference, however long the test runs and however often it is checked.
    /// Default 0.05.
    pub alpha: f64,
    /// Standard deviation `τ` of the normal mixing distribution over the mean
    /// difference, in the data's units; finite and positive. The test is most sensitive
    /// to effects of about this size (smaller `τ` favours small effects seen over many
    /// ticks). [`SequentialConfig::with_reference_sd`] sets it to a reference standard
    /// deviation of the differences. Default 1 (set it for your data).
    pub tau: f64,
    /// Differences to see before the test may reject; the always-valid p-value is only
    /// updated from then on (and, with an estimated variance, not before 2). Default 5.
    pub min_samples: u64,
    /// Which sign of difference is evidence of harm. Default [`Direction::Any`].
    pub direction: Direction,
    /// Floor of the estimated variance, in squared units; finite and positive. A run of
    /// identical differences then has a tiny but positive variance, so a constant
    /// non-zero shift is (correctly) overwhelming evidence. Default 1e-300.
    pub min_variance: f64,
    /// The variance of the differences when it is known (finite, positive): the test
    /// is then the exact normal-mixture mSPRT. `None` (the default) estimates it from
    /// the data, which makes the guarantee approximate (see the
    /// [module documentation](self)).
    pub known_variance: Option<f64>,
}

impl Default for SequentialConfig {
    fn default() -> Self {
        SequentialConfig {
            alpha: 0.05,
            tau: 1.0,
            min_samples: 5,
            direction: Direction::Any,
            min_variance: 1e-300,
            known_variance: None,
        }
    }
}

impl SequentialConfig {
    /// The default configuration with `τ` set to `reference_sd`, a typical standard
    /// deviation of the per-tick differences (from a baseline period, or
    /// `sqrt(2) ·` the metric's per-tick standard deviation for independent canary and
    /// control values). The mixture then weighs effects of about one standard
    /// deviation, the size a canary analysis needs to catch quickly; smaller effects
    /// are still detected, after more ticks. Validated by [`SequentialTest::new`].
    pub fn with_reference_sd(reference_sd: f64) -> Self {
        SequentialConfig {
            tau: reference_sd,
            ..SequentialConfig::default()
        }
    }

    /// Checks every parameter's range.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidParameter`] naming the first parameter out of range.
    pub fn validate(&self) -> Result<(), Error> {
        if !(self.alpha > 0.0 && self.alpha < 1.0) {
            return Err(Error::param("alpha", self.alpha, "must be in (0, 1)"));
        }
        if !(self.tau > 0.0 && self.tau <= crate::MAX_ABS_VALUE) {
            return Err(Error::param(
                "tau",
                self.tau,
                "must be positive and at most MAX_ABS_VALUE",
            ));
        }
        if !(self.min_variance > 0.0 && self.min_variance.is_finite()) {
            return Err(Error::param(
                "min_variance",
                self.min_variance,
                "must be finite and positive",
            ));
        }
        if let Some(v) = self.known_variance {
            if !(v > 0.0 && v.is_finite()) {
                return Err(Error::param(
                    "known_variance",
                    v,
                    "must be finite and positive",
                ));
            }
        }
        Ok(())
    }

    /// The first sample count at which the p-value is updated and the test may reject.
    fn first_test(&self) -> u64 {
        let floor = if self.known_variance.is_some() { 1 } else { 2 };
        self.min_samples.max(floor)
    }

    /// The variance the statistic uses after `n` differences with centred sum of
    /// squares `m2`; `None` while it cannot be estimated.
    fn variance(&self, n: u64, m2: f64) -> Option<f64> {
        match self.known_variance {
            Some(v) => Some(v),
            None if n >= 2 => Some((m2 / (n - 1) as f64).max(self.min_variance)),
            None => None,
        }
    }

    /// `ln Λ_n` for `n` differences of mean `mean` and variance `s2` (the direction's
    /// mixture; the t form when the variance is estimated). Never NaN.
    fn log_e_value(&self, n: u64, mean: f64, s2: f64) -> f64 {
        let nf = n as f64;
        let tau2 = self.tau * self.tau;
        // ln(1 + n g) with g = τ²/s²; ln(n g); ln t² with t² = n d̄²/s².
        let ln_g1 = ln_one_plus_ratio(nf * tau2, s2);
        let ln_ng = nf.ln() + tau2.ln() - s2.ln();
        let ln_t2 = if mean == 0.0 {
            f64::NEG_INFINITY
        } else {
            nf.ln() + 2.0 * mean.abs().ln() - s2.ln()
        };
        // w² = t² n g / (1 + n g): the half-normal mixture's argument, and in the
        // normal form `ln Λ = -½ ln(1 + n g) + ½ w²`.
        let ln_w2 = ln_t2 + ln_ng - ln_g1;
        let harmful_sign = match self.direction {
            Direction::Any => None,
            Direction::IncreaseIsBad => Some(1.0),
            Direction::DecreaseIsBad => Some(-1.0),
        };
        let w = |sign: f64| sign * mean.signum() * (0.5 * ln_w2).exp();
        let value = if self.known_variance.is_some() {
            match harmful_sign {
                None => -0.5 * ln_g1 + 0.5 * ln_w2.exp(),
                Some(sign) => LN_2 - 0.5 * ln_g1 + half_square_plus_ln_cdf(w(sign)),
            }
        } else {
            let nu = nf - 1.0;
            let ln_u = ln_t2 - nu.ln();
            let two_sided =
                -0.5 * ln_g1 + 0.5 * (nu + 1.0) * (softplus(ln_u) - softplus(ln_u - ln_g1));
            match harmful_sign {
                None => two_sided,
                Some(sign) => LN_2 + two_sided + ln_normal_cdf(w(sign)),
            }
        };
        if value.is_nan() {
            0.0
        } else {
            value.clamp(-f64::MAX, f64::MAX)
        }
    }

    /// An upper bound on `ln Λ_n` in the estimated-variance form, given `ln(1 + n g)`:
    /// the exact form drops `ln(1 + u/G) >= 0` and bounds `ln(1 + u) <= u`
    /// (`u = t²/ν`), and a one-sided mixture's `ln Φ(w)` is at most 0, and at most
    /// `−ln 2` when the mean is not harmful. It costs no logarithm, and under no harm
    /// it is usually far below what could lower the running p-value. `None` with a
    /// known variance (no bound is needed there: the exact form is cheap).
    fn log_e_upper_bound(&self, n: u64, mean: f64, s2: f64, ln_g1: f64) -> Option<f64> {
        if self.known_variance.is_some() {
            return None;
        }
        let nf = n as f64;
        let nu = nf - 1.0;
        let u = nf * mean * mean / (s2 * nu);
        let two_sided = -0.5 * ln_g1 + 0.5 * (nu + 1.0) * u;
        let harmful_mean = match self.direction {
            Direction::Any => return Some(two_sided),
            Direction::IncreaseIsBad => mean > 0.0,
            Direction::DecreaseIsBad => mean < 0.0,
        };
        Some(if harmful_mean {
            LN_2 + two_sided
        } else {
            two_sided
        })
    }

    /// Half-width of the two-sided confidence sequence at level `alpha` after `n`
    /// differences with variance `s2`: `∞` while nothing could be rejected.
    fn half_width(&self, n: u64, s2: f64) -> f64 {
        let ln_g1 = self.ln_g1(n, s2);
        self.half_width_given(n, s2, ln_g1, -self.alpha.ln())
    }

    /// `ln(1 + n g)` with `g = τ²/s²`: shared by `ln Λ_n` and the half-width.
    fn ln_g1(&self, n: u64, s2: f64) -> f64 {
        ln_one_plus_ratio(n as f64 * (self.tau * self.tau), s2)
    }

    /// [`half_width`](Self::half_width) given `ln(1 + n g)` and `ln(1/α)`.
    fn half_width_given(&self, n: u64, s2: f64, ln_g1: f64, ln_inv_alpha: f64) -> f64 {
        let nf = n as f64;
        let tau2 = self.tau * self.tau;
        let h2 = if self.known_variance.is_some() {
            (s2 / nf) * (1.0 + s2 / (nf * tau2)) * (ln_g1 + 2.0 * ln_inv_alpha)
        } else {
            // Solve (ν+1)/2 · ln((1 + u) / (1 + u/G)) = ln(1/α) + ½ ln G for u = t²/ν;
            // the left side is below (ν+1)/2 · ln G for every u, so there may be none.
            let nu = nf - 1.0;
            let ln_r = 2.0 * (ln_inv_alpha + 0.5 * ln_g1) / (nu + 1.0);
            if ln_r >= ln_g1 {
                return f64::INFINITY;
            }
            let u = ln_r.exp_m1() / -(ln_r - ln_g1).exp_m1();
            nu * u * s2 / nf
        };
        if h2.is_nan() {
            f64::INFINITY
        } else {
            h2.max(0.0).sqrt()
        }
    }

    /// The smallest number of differences after which this test would reject when
    /// their mean is exactly `effect` and their standard deviation `sd`, i.e. the first
    /// `n >= min_samples` with `Λ_n(d̄ = effect) >= 1/α` (with the known variance if one
    /// is configured, else `sd²` in the estimated-variance form). The observed mean
    /// scatters around the true effect and the test stops at its first crossing, so
    /// more than half of the runs with that true effect have rejected by then (in
    /// simulation the median first rejection comes some 10-25 % earlier).
    ///
    /// Returns `u64::MAX` when that never happens within [`MAX_REQUIRED_SAMPLES`]: an
    /// effect of 0, an effect in the direction that is not harmful, or invalid input
    /// (a configuration that fails [`validate`](Self::validate), a non-finite effect,
    /// an `sd` that is not finite and positive).
    pub fn required_samples(&self, effect: f64, sd: f64) -> u64 {
        if self.validate().is_err() || !effect.is_finite() || !(sd > 0.0 && sd.is_finite()) {
            return u64::MAX;
        }
        let s2 = self
            .known_variance
            .unwrap_or((sd * sd).max(self.min_variance));
        let threshold = -self.alpha.ln();
        let rejects = |n: u64| self.log_e_value(n, effect, s2) >= threshold;
        // ln Λ_n first dips (the -½ ln(1 + n g) term) and then grows without bound, so
        // once it crosses the threshold it stays above: scan the start, where the t
        // form moves fast, then double and bisect.
        let start = self.first_test();
        let scan_end = start.saturating_add(4096);
        if let Some(n) = (start..scan_end).find(|&n| rejects(n)) {
            return n;
        }
        let (mut lo, mut hi) = (scan_end - 1, scan_end);
        while !rejects(hi) {
            if hi >= MAX_REQUIRED_SAMPLES {
                return u64::MAX;
            }
            lo = hi;
            hi = hi.saturating_mul(2).min(MAX_REQUIRED_SAMPLES);
        }
        while hi - lo > 1 {
            let mid = lo + (hi - lo) / 2;
            if rejects(mid) {
                hi = mid;
            } else {
                lo = mid;
            }
        }
        hi
    }
}

/// `ln(1 + a/b)` for positive `a`, `b`, without overflow when `a/b` would overflow.
fn ln_one_plus_ratio(a: f64, b: f64) -> f64 {
    let r = a / b;
    if r.is_finite() {
        r.ln_1p()
    } else {
        a.ln() - b.ln()
    }
}

/// `ln(1 + e^x)` without overflow.
fn softplus(x: f64) -> f64 {
    if x > 35.0 {
        x + (-x).exp()
    } else {
        x.exp().ln_1p()
    }
}

/// Below this argument the logarithm of the normal CDF uses its asymptotic series.
const LN_CDF_ASYMPTOTIC: f64 = -30.0;

/// `ln Φ(w) + w²/2` for `w` below [`LN_CDF_ASYMPTOTIC`]: the Mills-ratio series
/// `-ln(-w) - ½ ln(2π) + ln(1 - 1/w² + 3/w⁴ - 15/w⁶)` (relative error below 1e-9 there).
fn ln_cdf_tail_plus_half_square(w: f64) -> f64 {
    let r = 1.0 / (w * w);
    -(-w).ln() - 0.5 * (std::f64::consts::TAU).ln()
        + (1.0 - r + 3.0 * r * r - 15.0 * r * r * r).ln()
}

/// `ln Φ(w)` for a standard normal CDF `Φ`, finite for finite `w`.
fn ln_normal_cdf(w: f64) -> f64 {
    if w >= LN_CDF_ASYMPTOTIC {
        dist::normal_upper(-w).ln()
    } else {
        ln_cdf_tail_plus_half_square(w) - 0.5 * w * w
    }
}

/// `w²/2 + ln Φ(w)`, computed without cancelling infinities for very negative `w`.
fn half_square_plus_ln_cdf(w: f64) -> f64 {
    if w >= LN_CDF_ASYMPTOTIC {
        0.5 * w * w + dist::normal_upper(-w).ln()
    } else {
        ln_cdf_tail_plus_half_square(w)
    }
}

/// The smallest number of per-tick differences after which the default
/// [`SequentialTest`] (two-sided, estimated variance, `min_samples` 5) with level
/// `alpha` and mixing scale `tau` would reject when the differences have mean `effect`
/// and standard deviation `sd`: see [`SequentialConfig::required_samples`]. A
/// one-sided test needs at most as many for an effect in its harmful direction.
///
/// While fewer ticks than this have been seen, an accepted null means "not enough
/// data yet" rather than "healthy" for effects of that size. Returns `u64::MAX` for an
/// effect of 0, invalid input, or more than [`MAX_REQUIRED_SAMPLES`].
pub fn required_samples(effect: f64, sd: f64, tau: f64, alpha: f64) -> u64 {
    SequentialConfig {
        alpha,
        tau,
        ..SequentialConfig::default()
    }
    .required_samples(effect, sd)
}

/// What a [`SequentialTest`] knows after an observation.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SequentialState {
    /// Differences seen.
    pub n: u64,
    /// Their mean `d̄` (0 before the first).
    pub mean: f64,
    /// The standard deviation the statistic uses: the known one, or the estimate
    /// (floored); 0 while the variance cannot be estimated yet (fewer than 2
    /// differences).
    pub sd: f64,
    /// `ln Λ_n`, the log of the current mixture likelihood ratio (0 = no evidence).
    pub log_likelihood_ratio: f64,
    /// The always-valid p-value `min_k 1/Λ_k` over the ticks `k` since the test could
    /// first reject (see [`SequentialConfig::min_samples`]); 1 before that. It never
    /// increases.
    pub p_value: f64,
    /// The current e-value `Λ_n` (saturating at `f64::MAX`).
    pub e_value: f64,
    /// Whether the null "no difference" (for one-sided tests, "no harmful difference")
    /// is rejected at level `alpha`: `p_value <= alpha` with `n >= min_samples`. Once
    /// true it stays true until [`SequentialTest::reset`].
    pub rejected: bool,
    /// The always-valid two-sided confidence sequence for the mean difference at level
    /// `alpha`: `mean ± minimum_detectable_effect`, infinite while it cannot be
    /// computed. It is valid at every tick simultaneously (intersecting the intervals
    /// over time stays valid too).
    pub confidence_interval: Interval,
    /// Half-width of the confidence sequence: the smallest `|mean difference|` that
    /// the two-sided test would reject now (for a one-sided test an upper bound on the
    /// smallest harmful mean that would). `∞` while none would be.
    pub minimum_detectable_effect: f64,
    /// Whether `n >= min_samples`.
    pub sufficient: bool,
}

/// The streaming mixture sequential probability ratio test on paired per-tick
/// differences (canary minus control). See the [module documentation](self).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(try_from = "SequentialTestState")]
pub struct SequentialTest {
    config: SequentialConfig,
    n: u64,
    mean: f64,
    m2: f64,
    p_value: f64,
    /// `ln(1/α)`, from the configuration (not stored: derived).
    #[serde(skip)]
    ln_inv_alpha: f64,
    /// `ln(1/p_value)`: `ln Λ_n` must exceed it to lower the p-value (not stored:
    /// derived).
    #[serde(skip)]
    ln_inv_p: f64,
}

/// What [`SequentialTest::advance`] returns: the parts of a [`SequentialState`] that
/// do not need `ln Λ_n` (the fields mean the same).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct SequentialProgress {
    /// As [`SequentialState::sd`].
    pub(crate) sd: f64,
    /// As [`SequentialState::p_value`].
    pub(crate) p_value: f64,
    /// As [`SequentialState::rejected`].
    pub(crate) rejected: bool,
    /// As [`SequentialState::minimum_detectable_effect`].
    pub(crate) minimum_detectable_effect: f64,
    /// As [`SequentialState::sufficient`].
    pub(crate) sufficient: bool,
}

/// The serialised form, validated before it becomes a [`SequentialTest`].
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SequentialTestState {
    config: SequentialConfig,
    n: u64,
    mean: f64,
    m2: f64,
    p_value: f64,
}

impl TryFrom<SequentialTestState> for SequentialTest {
    type Error = Error;

    fn try_from(s: SequentialTestState) -> Result<Self, Error> {
        let mut t = SequentialTest::new(s.config)?;
        // The mean of accepted values may exceed MAX_ABS_VALUE by rounding; it only
        // has to be finite.
        if !s.mean.is_finite() {
            return Err(Error::NonFinite {
                what: "mean",
                value: s.mean,
            });
        }
        if !(s.m2 >= 0.0 && s.m2.is_finite()) {
            return Err(Error::param("m2", s.m2, "must be finite and >= 0"));
        }
        if !(0.0..=1.0).contains(&s.p_value) {
            return Err(Error::param("p_value", s.p_value, "must be in [0, 1]"));
        }
        if s.n == 0 && (s.mean != 0.0 || s.m2 != 0.0 || s.p_value != 1.0) {
            return Err(Error::param(
                "n",
                0.0,
                "an empty test must have mean 0, m2 0 and p-value 1",
            ));
        }
        t.n = s.n;
        t.mean = s.mean;
        t.m2 = s.m2;
        t.set_p_value(s.p_value);
        Ok(t)
    }
}

impl<'de> Deserialize<'de> for SequentialTest {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let state = SequentialTestState::deserialize(d)?;
        SequentialTest::try_from(state).map_err(serde::de::Error::custom)
    }
}

impl SequentialTest {
    /// A test that has seen nothing, validating the configuration.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidParameter`] as [`SequentialConfig::validate`].
    pub fn new(config: SequentialConfig) -> Result<Self, Error> {
        config.validate()?;
        Ok(SequentialTest {
            config,
            n: 0,
            mean: 0.0,
            m2: 0.0,
            p_value: 1.0,
            ln_inv_alpha: -config.alpha.ln(),
            ln_inv_p: 0.0,
        })
    }

    fn set_p_value(&mut self, p: f64) {
        self.p_value = p;
        self.ln_inv_p = -p.ln();
    }

    /// The configuration the test was built with.
    pub fn config(&self) -> &SequentialConfig {
        &self.config
    }

    /// Differences seen since creation or the last [`reset`](Self::reset).
    pub fn observations(&self) -> u64 {
        self.n
    }

    /// Forgets every observation (the configuration stays).
    pub fn reset(&mut self) {
        self.n = 0;
        self.mean = 0.0;
        self.m2 = 0.0;
        self.set_p_value(1.0);
    }

    /// Adds one difference `d` (canary minus control for one tick) and returns the new
    /// state. The statistic is updated on every call; the always-valid p-value only
    /// from the first tick at which the test may reject (`min_samples`, and at least 2
    /// with an estimated variance), so that the noisy first variance estimates cannot
    /// set its running minimum. With a known variance that start costs nothing in
    /// validity (Ville's bound covers every subset of ticks).
    ///
    /// # Errors
    ///
    /// [`Error::NonFinite`] or [`Error::OutOfRange`] for a value that is not finite or
    /// beyond [`crate::MAX_ABS_VALUE`]; the test is then unchanged.
    pub fn observe(&mut self, d: f64) -> Result<SequentialState, Error> {
        self.absorb(d)?;
        // The p-value and the state share one ln Λ: it is most of an update's cost.
        let parts = self.variance_and_log_e();
        if self.n >= self.config.first_test()
            && let Some((_, log_e)) = parts
        {
            self.lower_p_value(log_e);
        }
        Ok(self.state_from(parts))
    }

    /// [`observe`](Self::observe) for a caller that needs neither `ln Λ_n` nor the
    /// e-value now (they stay available from [`state`](Self::state)): the running
    /// p-value is the same, but `ln Λ_n` is computed only when a bound that needs no
    /// logarithm says it could lower the p-value, which under no harm is rare.
    ///
    /// # Errors
    ///
    /// As [`observe`](Self::observe); the test is then unchanged.
    pub(crate) fn advance(&mut self, d: f64) -> Result<SequentialProgress, Error> {
        self.absorb(d)?;
        let c = &self.config;
        let Some(s2) = c.variance(self.n, self.m2) else {
            return Ok(self.progress(0.0, f64::INFINITY));
        };
        let ln_g1 = c.ln_g1(self.n, s2);
        if self.n >= c.first_test() && self.could_lower_p(s2, ln_g1) {
            self.lower_p_value(c.log_e_value(self.n, self.mean, s2));
        }
        let half_width = self
            .config
            .half_width_given(self.n, s2, ln_g1, self.ln_inv_alpha);
        Ok(self.progress(s2.sqrt(), half_width))
    }

    /// Whether `ln Λ_n` could lower the p-value, by its bound. The margin covers the
    /// rounding of both sides: when the bound says no, the exact `exp(−ln Λ_n)` is
    /// above the p-value and the running minimum would keep the p-value.
    fn could_lower_p(&self, s2: f64, ln_g1: f64) -> bool {
        !self
            .config
            .log_e_upper_bound(self.n, self.mean, s2, ln_g1)
            .is_some_and(|b| b + 1e-9 * (1.0 + b.abs()) < self.ln_inv_p)
    }

    /// The always-valid p-value, as [`state`](Self::state) gives it.
    pub(crate) fn p_value(&self) -> f64 {
        self.p_value
    }

    /// The current e-value `Λ_n`, as [`state`](Self::state) gives it, without the
    /// confidence sequence.
    pub(crate) fn e_value(&self) -> f64 {
        self.variance_and_log_e()
            .map_or(1.0, |(_, log_e)| log_e.exp().min(f64::MAX))
    }

    /// Checks `d` and adds it to the running mean and centred sum of squares.
    fn absorb(&mut self, d: f64) -> Result<(), Error> {
        let d = Error::check_value("difference", d)?;
        self.n += 1;
        let delta = d - self.mean;
        self.mean += delta / self.n as f64;
        self.m2 += delta * (d - self.mean);
        Ok(())
    }

    /// The running minimum of `1/Λ_k` after `ln Λ_n = log_e`.
    fn lower_p_value(&mut self, log_e: f64) {
        let p = (-log_e).exp();
        if p < self.p_value {
            self.set_p_value(p);
        }
    }

    fn progress(&self, sd: f64, half_width: f64) -> SequentialProgress {
        let sufficient = self.n >= self.config.min_samples;
        SequentialProgress {
            sd,
            p_value: self.p_value,
            rejected: sufficient && self.p_value <= self.config.alpha,
            minimum_detectable_effect: half_width,
            sufficient,
        }
    }

    /// The current state, as the last [`observe`](Self::observe) returned it.
    pub fn state(&self) -> SequentialState {
        self.state_from(self.variance_and_log_e())
    }

    /// The variance and `ln Λ_n` after the differences seen, once there is a variance.
    fn variance_and_log_e(&self) -> Option<(f64, f64)> {
        let c = &self.config;
        match c.variance(self.n, self.m2) {
            Some(s2) if self.n > 0 => Some((s2, c.log_e_value(self.n, self.mean, s2))),
            _ => None,
        }
    }

    /// The state given [`variance_and_log_e`](Self::variance_and_log_e).
    fn state_from(&self, parts: Option<(f64, f64)>) -> SequentialState {
        let c = &self.config;
        let (sd, log_e, half_width) = match parts {
            Some((s2, log_e)) => (s2.sqrt(), log_e, c.half_width(self.n, s2)),
            None => (0.0, 0.0, f64::INFINITY),
        };
        let sufficient = self.n >= c.min_samples;
        SequentialState {
            n: self.n,
            mean: self.mean,
            sd,
            log_likelihood_ratio: log_e,
            p_value: self.p_value,
            e_value: log_e.exp().min(f64::MAX),
            rejected: sufficient && self.p_value <= c.alpha,
            confidence_interval: Interval {
                lower: self.mean - half_width,
                upper: self.mean + half_width,
            },
            minimum_detectable_effect: half_width,
            sufficient,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::math::rng::Rng;
    use std::f64::consts::SQRT_2;

    fn test_with(config: SequentialConfig) -> SequentialTest {
        SequentialTest::new(config).unwrap()
    }

    #[test]
    fn invalid_sequential_configurations_are_errors() {
        let base = SequentialConfig::default();
        for (name, c) in [
            ("alpha", SequentialConfig { alpha: 0.0, ..base }),
            ("alpha", SequentialConfig { alpha: 1.0, ..base }),
            (
                "alpha",
                SequentialConfig {
                    alpha: f64::NAN,
                    ..base
                },
            ),
            ("tau", SequentialConfig { tau: 0.0, ..base }),
            (
                "tau",
                SequentialConfig {
                    tau: f64::INFINITY,
                    ..base
                },
            ),
            ("tau", SequentialConfig { tau: -1.0, ..base }),
            (
                "min_variance",
                SequentialConfig {
                    min_variance: 0.0,
                    ..base
                },
            ),
            (
                "known_variance",
                SequentialConfig {
                    known_variance: Some(-1.0),
                    ..base
                },
            ),
            (
                "known_variance",
                SequentialConfig {
                    known_variance: Some(f64::NAN),
                    ..base
                },
            ),
        ] {
            match SequentialTest::new(c) {
                Err(Error::InvalidParameter { name: got, .. }) => assert_eq!(got, name),
                other => panic!("{name}: {other:?}"),
            }
        }
        assert!(SequentialTest::new(SequentialConfig::with_reference_sd(3.0)).is_ok());
    }

    #[test]
    fn bad_observations_leave_the_test_unchanged() {
        let mut t = test_with(SequentialConfig::default());
        for d in [0.5, -0.2, 0.1] {
            t.observe(d).unwrap();
        }
        let before = t.clone();
        for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY, 1e101] {
            assert!(t.observe(bad).is_err());
            assert_eq!(t, before);
        }
    }

    #[test]
    fn early_ticks_cannot_reject() {
        let mut t = test_with(SequentialConfig::default());
        let s = t.state();
        assert_eq!(
            (s.n, s.p_value, s.e_value, s.rejected, s.sufficient),
            (0, 1.0, 1.0, false, false)
        );
        assert_eq!(s.minimum_detectable_effect, f64::INFINITY);
        let s = t.observe(100.0).unwrap();
        assert_eq!((s.sd, s.log_likelihood_ratio, s.p_value), (0.0, 0.0, 1.0));
        for _ in 0..3 {
            let s = t.observe(100.0 + 1e-9).unwrap();
            assert!(!s.rejected && s.p_value == 1.0 && !s.sufficient);
        }
        let s = t.observe(100.0).unwrap();
        assert!(s.sufficient && s.rejected && s.p_value < 1e-6, "{s:?}");
    }

    #[test]
    fn constant_differences() {
        // A constant non-zero shift with no noise is overwhelming evidence...
        let mut t = test_with(SequentialConfig::default());
        for _ in 0..5 {
            t.observe(1.0).unwrap();
        }
        let s = t.state();
        assert!(s.rejected && s.confidence_interval.lower > 0.0, "{s:?}");
        assert!(s.log_likelihood_ratio.is_finite() && s.e_value.is_finite());
        // ...and a constant zero difference is none.
        let mut t = test_with(SequentialConfig::default());
        for _ in 0..1000 {
            let s = t.observe(0.0).unwrap();
            assert!(!s.rejected && s.p_value == 1.0);
        }
        // Extreme values stay finite.
        for direction in [
            Direction::Any,
            Direction::IncreaseIsBad,
            Direction::DecreaseIsBad,
        ] {
            for known_variance in [None, Some(1e-300)] {
                let mut t = test_with(SequentialConfig {
                    direction,
                    known_variance,
                    tau: 1e100,
                    ..SequentialConfig::default()
                });
                for i in 0..10 {
                    let s = t.observe(if i % 2 == 0 { 1e100 } else { 9e99 }).unwrap();
                    assert!(!s.log_likelihood_ratio.is_nan() && !s.p_value.is_nan());
                    assert!(!s.minimum_detectable_effect.is_nan());
                }
                let mut t = test_with(SequentialConfig {
                    direction,
                    known_variance,
                    ..SequentialConfig::default()
                });
                for _ in 0..10 {
                    let s = t.observe(-1e100).unwrap();
                    assert!(!s.log_likelihood_ratio.is_nan() && !s.p_value.is_nan());
                }
            }
        }
    }

    #[test]
    fn p_value_is_monotone_and_matches_the_e_values() {
        for direction in [
            Direction::Any,
            Direction::IncreaseIsBad,
            Direction::DecreaseIsBad,
        ] {
            let mut rng = Rng::new(11);
            let mut t = test_with(SequentialConfig {
                direction,
                ..SequentialConfig::with_reference_sd(1.0)
            });
            let mut last = 1.0;
            let mut min_inv_e: f64 = 1.0;
            for i in 0..300 {
                let d = rng.normal() + if i > 150 { 0.3 } else { 0.0 };
                let s = t.observe(d).unwrap();
                assert!(s.p_value <= last);
                if s.n >= 5 {
                    min_inv_e = min_inv_e.min(1.0 / s.e_value);
                }
                assert!((s.p_value - min_inv_e.min(1.0)).abs() <= 1e-12 * s.p_value.max(1e-300));
                last = s.p_value;
            }
        }
    }

    #[test]
    fn advance_agrees_with_observe() {
        // Healthy stretches (the bound skips ln Λ), shifts in either direction (it must
        // not), a constant run (the variance floor) and extreme values.
        for direction in [
            Direction::Any,
            Direction::IncreaseIsBad,
            Direction::DecreaseIsBad,
        ] {
            for (seed, tau) in [(3, 1.0), (4, 0.05), (5, 40.0)] {
                let config = SequentialConfig {
                    direction,
                    ..SequentialConfig::with_reference_sd(tau)
                };
                let (mut full, mut lean) = (test_with(config), test_with(config));
                let mut rng = Rng::new(seed);
                for i in 0..600 {
                    let d = match i {
                        0..200 => rng.normal(),
                        200..300 => rng.normal() + 0.4,
                        300..400 => rng.normal() - 0.6,
                        400..420 => 2.5,
                        420..430 => 1e90,
                        _ => rng.normal() * 1e-3,
                    };
                    let s = full.observe(d).unwrap();
                    let q = lean.advance(d).unwrap();
                    assert_eq!(
                        (q.sd, q.p_value, q.rejected, q.sufficient),
                        (s.sd, s.p_value, s.rejected, s.sufficient),
                        "{direction:?} {tau} {i}"
                    );
                    assert_eq!(
                        q.minimum_detectable_effect.to_bits(),
                        s.minimum_detectable_effect.to_bits()
                    );
                    assert_eq!(lean.e_value().to_bits(), s.e_value.to_bits());
                    assert_eq!(lean, full);
                }
                assert!(lean.advance(f64::NAN).is_err());
                assert_eq!(lean, full);
            }
        }
    }

    #[test]
    fn the_bound_on_ln_lambda_holds() {
        let mut healthy_below_zero = 0;
        let mut rng = Rng::new(9);
        for direction in [
            Direction::Any,
            Direction::IncreaseIsBad,
            Direction::DecreaseIsBad,
        ] {
            let c = SequentialConfig {
                direction,
                ..SequentialConfig::with_reference_sd(2.0)
            };
            for n in [2u64, 3, 5, 10, 40, 1000, 1_000_000] {
                for s2 in [1e-300, 1e-6, 0.3, 1.0, 50.0, 1e200] {
                    for mean in [0.0, 1e-8, -0.01, 0.2, -1.0, 3.0, 1e50, -1e90] {
                        let exact = c.log_e_value(n, mean, s2);
                        let bound = c.log_e_upper_bound(n, mean, s2, c.ln_g1(n, s2)).unwrap();
                        assert!(
                            bound >= exact - 1e-12 * exact.abs().max(1.0),
                            "{direction:?} {n} {s2} {mean}: {bound} < {exact}"
                        );
                    }
                }
                // Under no harm (a mean of about one standard error) the bound is usually
                // below 0, where the p-value cannot move yet.
                for _ in 0..10 {
                    let mean = rng.normal() / (n as f64).sqrt();
                    let b = c.log_e_upper_bound(n, mean, 1.0, c.ln_g1(n, 1.0)).unwrap();
                    healthy_below_zero += (n >= 5 && b < 0.0) as u32;
                }
            }
        }
        // 3 directions × 5 counts from 5 × 10 draws.
        assert!(healthy_below_zero > 100, "{healthy_below_zero}");
        let known = SequentialConfig {
            known_variance: Some(1.0),
            ..SequentialConfig::default()
        };
        assert_eq!(known.log_e_upper_bound(10, 0.1, 1.0, 0.0), None);
    }

    #[test]
    fn ln_lambda_is_rarely_needed_without_harm() {
        // The risk path's setting: τ = 5 reference standard deviations, α = 5 % over
        // 200 series; canary noise 1 to 10 times the reference; 200 rollouts of 200
        // ticks each. Share of ticks on which the bound cannot decide.
        let share = |noise: f64, shift: f64, direction| {
            let c = SequentialConfig {
                alpha: 0.05 / 200.0,
                direction,
                ..SequentialConfig::with_reference_sd(5.0 * SQRT_2)
            };
            let mut rng = Rng::new(1);
            let (mut exact, mut total) = (0u32, 0u32);
            for _ in 0..200 {
                let mut t = test_with(c);
                for _ in 0..200 {
                    let d = SQRT_2 * noise * (rng.normal() + shift);
                    t.absorb(d).unwrap();
                    if let Some(s2) = c.variance(t.n, t.m2)
                        && t.n >= c.first_test()
                    {
                        total += 1;
                        if t.could_lower_p(s2, c.ln_g1(t.n, s2)) {
                            exact += 1;
                            t.lower_p_value(c.log_e_value(t.n, t.mean, s2));
                        }
                    }
                }
            }
            f64::from(exact) / f64::from(total)
        };
        for direction in [Direction::Any, Direction::IncreaseIsBad] {
            assert!(share(1.0, 0.0, direction) < 0.02);
            assert!(share(3.0, 0.0, direction) < 0.05);
            assert!(share(10.0, 0.0, direction) < 0.15);
            // A persistent shift of 0.3 standard deviations needs it often.
            assert!(share(1.0, 0.3, direction) > 0.1);
        }
    }

    #[test]
    fn known_variance_matches_the_closed_form() {
        let (tau, s2, alpha) = (0.7_f64, 2.0_f64, 0.05_f64);
        let c = SequentialConfig {
            tau,
            alpha,
            known_variance: Some(s2),
            ..SequentialConfig::default()
        };
        for n in [1u64, 5, 50, 1000] {
            for mean in [0.0, 0.1, -0.4, 1.3] {
                let nf = n as f64;
                let t2 = tau * tau;
                let want = 0.5 * (s2 / (s2 + nf * t2)).ln()
                    + nf * nf * t2 * mean * mean / (2.0 * s2 * (s2 + nf * t2));
                let got = c.log_e_value(n, mean, s2);
                assert!(
                    (got - want).abs() < 1e-12 * want.abs().max(1.0),
                    "{n} {mean}"
                );
                let h = ((s2 * (s2 + nf * t2) / (nf * nf * t2))
                    * ((s2 + nf * t2) / (s2 * alpha * alpha)).ln())
                .sqrt();
                assert!((c.half_width(n, s2) - h).abs() < 1e-12 * h);
                // The boundary of the confidence sequence is where Λ = 1/α.
                assert!((c.log_e_value(n, h, s2) + alpha.ln()).abs() < 1e-9);
            }
        }
    }

    #[test]
    fn estimated_variance_form_inverts_and_tends_to_the_plug_in() {
        let (tau, alpha) = (1.2_f64, 0.05_f64);
        let c = SequentialConfig {
            tau,
            alpha,
            ..SequentialConfig::default()
        };
        let known = |s2| SequentialConfig {
            known_variance: Some(s2),
            ..c
        };
        // (At n = 5 with g = τ²/s² = 0.48 no mean could be rejected yet.)
        for n in [8u64, 20, 200] {
            for s2 in [0.5, 3.0] {
                let h = c.half_width(n, s2);
                assert!(h.is_finite());
                assert!(
                    (c.log_e_value(n, h, s2) + alpha.ln()).abs() < 1e-9,
                    "{n} {s2}"
                );
                assert!((c.log_e_value(n, -h, s2) + alpha.ln()).abs() < 1e-9);
                // Harder to reject with an estimated variance.
                assert!(h > known(s2).half_width(n, s2));
            }
        }
        let (n, s2, mean) = (1_000_000u64, 2.0, 0.004);
        let a = c.log_e_value(n, mean, s2);
        let b = known(s2).log_e_value(n, mean, s2);
        assert!((a - b).abs() < 1e-3 * b.abs(), "{a} {b}");
        assert!((c.half_width(n, s2) / known(s2).half_width(n, s2) - 1.0).abs() < 1e-4);
        // With few points no mean at all can be rejected at this tau.
        let small = SequentialConfig { tau: 0.1, ..c };
        assert_eq!(small.half_width(3, 1.0), f64::INFINITY);
    }

    #[test]
    fn one_sided_mixture_ignores_improvements() {
        for known_variance in [None, Some(1.0)] {
            let up = SequentialConfig {
                direction: Direction::IncreaseIsBad,
                known_variance,
                ..SequentialConfig::default()
            };
            let down = SequentialConfig {
                direction: Direction::DecreaseIsBad,
                ..up
            };
            let any = SequentialConfig {
                direction: Direction::Any,
                ..up
            };
            for n in [5u64, 30, 300] {
                for mean in [0.05, 0.3, 1.0, 5.0] {
                    let (u, d, a) = (
                        up.log_e_value(n, mean, 1.0),
                        down.log_e_value(n, mean, 1.0),
                        any.log_e_value(n, mean, 1.0),
                    );
                    // Λ⁺ = 2 Λ Φ(w): between Λ and 2Λ for a harmful mean ...
                    assert!(u >= a - 1e-12 && u <= a + LN_2 + 1e-12, "{n} {mean}");
                    // ... and below Λ for an improvement; symmetric.
                    assert!(d < a);
                    assert!((down.log_e_value(n, -mean, 1.0) - u).abs() < 1e-12);
                }
                assert!((up.log_e_value(n, 0.0, 1.0) - any.log_e_value(n, 0.0, 1.0)).abs() < 1e-12);
            }
            let mut t = test_with(up);
            for i in 0..200 {
                let s = t.observe(-3.0 + (i % 3) as f64 * 0.1).unwrap();
                assert!(!s.rejected && s.p_value == 1.0, "{s:?}");
            }
        }
    }

    #[test]
    fn serde_round_trip_continues_identically() {
        let mut rng = Rng::new(5);
        let mut t = test_with(SequentialConfig {
            direction: Direction::DecreaseIsBad,
            ..SequentialConfig::with_reference_sd(0.8)
        });
        for _ in 0..37 {
            t.observe(rng.normal() * 0.8 - 0.2).unwrap();
        }
        let json = serde_json::to_string(&t).unwrap();
        let mut back: SequentialTest = serde_json::from_str(&json).unwrap();
        assert_eq!(back, t);
        for _ in 0..50 {
            let d = rng.normal() * 0.8 - 0.2;
            assert_eq!(back.observe(d).unwrap(), t.observe(d).unwrap());
        }
        assert_eq!(back, t);
        let bad = json.replace("\"alpha\":0.05", "\"alpha\":2.0");
        assert!(serde_json::from_str::<SequentialTest>(&bad).is_err());
        let bad = json.replacen("\"p_value\":", "\"p_value\":-", 1);
        assert!(serde_json::from_str::<SequentialTest>(&bad).is_err());
        assert!(serde_json::from_str::<SequentialTest>(&json[..json.len() / 2]).is_err());
        let config: SequentialConfig =
            serde_json::from_str(r#"{"direction":"increase_is_bad"}"#).unwrap();
        assert_eq!(config.direction, Direction::IncreaseIsBad);
        assert_eq!(config.alpha, 0.05);
    }

    #[test]
    fn reset_starts_over() {
        let mut t = test_with(SequentialConfig::default());
        for _ in 0..10 {
            t.observe(3.0).unwrap();
        }
        assert!(t.state().rejected);
        t.reset();
        assert_eq!(t, test_with(SequentialConfig::default()));
        assert_eq!(t.observations(), 0);
    }

    #[test]
    fn required_samples_is_monotone_and_exact() {
        let mut last = 0;
        for effect in [2.0, 1.0, 0.5, 0.25, 0.1, 0.02] {
            let n = required_samples(effect, 1.0, 1.0, 0.05);
            assert!(n >= last && n >= 5, "{effect}: {n}");
            assert_eq!(n, required_samples(-effect, 1.0, 1.0, 0.05));
            last = n;
            let c = SequentialConfig::default();
            let threshold = -c.alpha.ln();
            assert!(c.log_e_value(n, effect, 1.0) >= threshold);
            if n > c.first_test() {
                assert!(c.log_e_value(n - 1, effect, 1.0) < threshold);
            }
        }
        assert!(last > 1000);
        assert_eq!(required_samples(0.0, 1.0, 1.0, 0.05), u64::MAX);
        assert_eq!(required_samples(1e-7, 1.0, 1.0, 0.05), u64::MAX);
        assert_eq!(required_samples(1.0, 0.0, 1.0, 0.05), u64::MAX);
        assert_eq!(required_samples(1.0, 1.0, 1.0, 1.5), u64::MAX);
        assert_eq!(required_samples(f64::NAN, 1.0, 1.0, 0.05), u64::MAX);
        // A one-sided test needs no more for a harmful effect and never rejects an
        // improvement.
        let up = SequentialConfig {
            direction: Direction::IncreaseIsBad,
            ..SequentialConfig::default()
        };
        assert!(up.required_samples(0.5, 1.0) <= required_samples(0.5, 1.0, 1.0, 0.05));
        assert_eq!(up.required_samples(-0.5, 1.0), u64::MAX);
        // Known variance: a little fewer.
        let known = SequentialConfig {
            known_variance: Some(1.0),
            ..SequentialConfig::default()
        };
        assert!(known.required_samples(0.5, 1.0) <= required_samples(0.5, 1.0, 1.0, 0.05));
    }

    #[test]
    fn ln_normal_cdf_is_continuous_at_the_switch() {
        let below = ln_normal_cdf(LN_CDF_ASYMPTOTIC - 1e-9);
        let above = ln_normal_cdf(LN_CDF_ASYMPTOTIC);
        assert!(
            (below - above).abs() < 1e-7 * above.abs(),
            "{below} {above}"
        );
        assert_eq!(ln_normal_cdf(f64::INFINITY), 0.0);
        assert!(half_square_plus_ln_cdf(-1e200).is_finite());
    }
}
