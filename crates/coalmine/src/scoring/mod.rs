//! Univariate anomaly scoring: one number in `[0, 1]` per observation of a single
//! series, strictly causal, in the format of the Numenta Anomaly Benchmark (NAB).
//!
//! [`AnomalyScorer`] turns a stream of values into a stream of scores; each score uses
//! only the values up to and including its own. [`score_series`] does the same for a
//! whole series and sets the learning period from its length, as NAB does. The
//! running statistics live in `window.rs`, the season decision in `season.rs`.
//!
//! The pipeline, per observation `x_t`:
//!
//! 1. **Forecast and residual.** An [`Ewma`] (`alpha`, default 0.1) forecasts until
//!    the first checkpoint. With [`DetectorChoice::Auto`] the scorer keeps the values
//!    it sees (at most 3,000) and at checkpoints — when `max(probation, 50)` values
//!    have been seen, then every `max(probation, 250)` values while they are kept —
//!    fits exponential smoothing to them by least squares ([`HoltWinters::fit`],
//!    damped trend, 300 evaluations): without a season, and with the candidate period
//!    that has the largest detrended autocorrelation
//!    (the profile's season test, at least 0.3; a divisor within 0.05 of it
//!    is preferred) among common periods (7, 12, 24, 48, 60, 96, 144, 168, 288, 336,
//!    672, 1440 ticks) with two cycles of history. The seasonal model is adopted if it
//!    has the lower AIC (`k ln(MSE) + 2 × parameters`, its `m` seasonal terms
//!    counted); otherwise the non-seasonal one (adopted at the first checkpoint)
//!    forecasts, and later checkpoints may still find a season. Once a season is
//!    adopted, or 3,000 values have been seen, the kept values are dropped and
//!    nothing is fitted again. [`DetectorChoice::Ewma`] keeps the EWMA throughout;
//!    [`DetectorChoice::HoltWinters`] (the default) adopts the best-correlated season
//!    (or none, when no candidate correlates positively) at the first checkpoint,
//!    without the AIC test, and fits nothing after.
//! 2. **Point surprise.** The residual is standardised by the scorer's own
//!    exponentially weighted residual scale (`variance_alpha`, default 0.02;
//!    winsorised at 5 sd; floored at 1e-3 of the range seen so far, so that a series
//!    that was constant does not make its first wobble infinitely unusual), turned
//!    into a two-sided normal tail probability `p`, and into a raw surprise
//!    `r = min(1, −log10(p) / surprise_decades)` (default 5): 0 for an ordinary
//!    point, 1 for one beyond 5 decades.
//! 3. **Anomaly likelihood** (Numenta's, Ahmad et al. 2017). The mean of the last
//!    `short_window` (20) raw surprises is compared with the distribution of that
//!    mean over the last `long_window` (8,640) ticks (mean floored at 0.03, variance
//!    at 3e-4): `q = Q(z)` is the upper normal tail of its z-score. A `q` below 1e-5
//!    right after another is raised to 1e-3 (only the onset of a red run stays red),
//!    and the score is `ln(q + 1e-10) / ln(1e-10)`: 0.5 at `q = 1e-5`, 1 at `q = 0`.
//! 4. **Range rule** (Numenta's "spatial anomaly"). A value beyond the range seen so
//!    far, widened by `spatial_tolerance` (5 %) of that range on each side, scores 1.
//! 5. **Pulse.** A score not above the largest of the previous `pulse_window` (50)
//!    scores is halved, so an incident raises one alarm rather than a plateau of them.
//!
//! The defaults of `detector`, `short_window` and `surprise_decades` (with
//! `variance_alpha`, `spatial_tolerance` and `pulse_window`, which kept theirs) were
//! chosen by leave-one-folder-out cross-validation on the NAB subset
//! (`scripts/nab_cv.py`, `docs/evaluation.md`).
//!
//! During the learning period (`probation` ticks) the score is 0: the residual scale,
//! the likelihood distribution (from its second half) and the season are being learnt.
//!
//! **Non-finite input.** A NaN or ±∞ value, or one beyond [`crate::MAX_ABS_VALUE`],
//! scores 0 and leaves the scorer exactly as it was: the next value is scored as if the
//! rejected one had never been offered.
//!
//! **Cost.** O(1) per observation (O(`pulse_window`) for the pulse) except at the
//! checkpoints, where two Holt-Winters fits over at most 3,000 values run; memory is
//! O(`long_window` + 3,000), allocated at construction (the fits allocate their own
//! working space). Scoring the 34 NAB series (121,702 values) takes about 0.2 s of
//! CPU in release.
//!
//! ```
//! use coalmine::scoring::{ScoringConfig, score_series};
//!
//! let mut values: Vec<f64> = (0..400).map(|i| 10.0 + ((i * 37) % 11) as f64 * 0.1).collect();
//! values[300] = 25.0;
//! let scores = score_series(&values, ScoringConfig::default())?;
//! assert!(scores[300] > 0.9);
//! assert!(scores[..300].iter().all(|&s| s < 0.5));
//! # Ok::<(), coalmine::Error>(())
//! ```

use serde::{Deserialize, Serialize};

use self::season::{best_season, fit_in_sample};
use self::window::{ResidualScale, Window};
use crate::Error;
use crate::detect::{Ewma, EwmaConfig, HoltWinters};
use crate::math::dist;

mod season;
mod window;

/// Which forecaster the scorer's residuals come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DetectorChoice {
    /// EWMA during the learning period, then exponential smoothing fitted to the
    /// learning data: Holt-Winters with a season if one is found and lowers the AIC,
    /// Holt's damped trend otherwise.
    Auto,
    /// EWMA only.
    Ewma,
    /// Holt-Winters from the end of the learning period, with the best-correlated
    /// candidate season (none if no candidate correlates positively), without the AIC
    /// test; EWMA before. The default: the cross-validation on NAB chose it over
    /// `Auto` in every fold (`docs/evaluation.md`).
    #[default]
    HoltWinters,
}

/// Configuration of an [`AnomalyScorer`]. The defaults are the configuration
/// evaluated on NAB (see `docs/evaluation.md`); no field is tuned per series.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ScoringConfig {
    /// Forecaster.
    pub detector: DetectorChoice,
    /// Learning period in ticks: scores are 0 before it ends. 0 means automatic:
    /// [`score_series`] uses NAB's probationary period, `min(750, ⌊0.15 · len⌋)` (at
    /// least 1), and a streaming [`AnomalyScorer`] uses 750.
    pub probation: usize,
    /// Smoothing factor of the EWMA forecast, in `(0, 1]` (with `Auto` and
    /// `HoltWinters` the EWMA only forecasts until the first checkpoint).
    pub alpha: f64,
    /// Smoothing factor of the squared-residual mean that scales every forecaster's
    /// residuals, in `(0, 1]`.
    pub variance_alpha: f64,
    /// Raw surprises averaged by the anomaly likelihood (at least 1).
    pub short_window: usize,
    /// Ticks of averaged surprise whose distribution the likelihood compares against
    /// (at least 2).
    pub long_window: usize,
    /// Widening of the range seen so far, as a fraction of it, beyond which a value
    /// scores 1 (finite, at least 0).
    pub spatial_tolerance: f64,
    /// Ticks after a score during which later scores that do not exceed it are
    /// halved (0 turns the pulse off).
    pub pulse_window: usize,
    /// Decades of tail probability that make a raw surprise of 1: a point's surprise
    /// is `min(1, −log10(p) / surprise_decades)` (finite, above 0).
    pub surprise_decades: f64,
}

impl Default for ScoringConfig {
    fn default() -> Self {
        ScoringConfig {
            detector: DetectorChoice::HoltWinters,
            probation: 0,
            alpha: 0.1,
            variance_alpha: 0.02,
            short_window: 20,
            long_window: 8640,
            spatial_tolerance: 0.05,
            pulse_window: 50,
            surprise_decades: 5.0,
        }
    }
}

impl ScoringConfig {
    /// Checks every setting's range ([`Error::InvalidParameter`] naming the first one
    /// out of range, [`Error::TooLarge`] for a window beyond 2^22 ticks).
    pub fn validate(&self) -> Result<(), Error> {
        let c = self;
        if !(c.variance_alpha > 0.0 && c.variance_alpha <= 1.0) {
            return Err(Error::param(
                "variance_alpha",
                c.variance_alpha,
                "must be in (0, 1]",
            ));
        }
        if c.short_window == 0 {
            return Err(Error::param("short_window", 0.0, "must be at least 1"));
        }
        if c.long_window < 2 {
            return Err(Error::param(
                "long_window",
                c.long_window as f64,
                "must be at least 2",
            ));
        }
        for (what, got) in [
            ("short_window", c.short_window),
            ("long_window", c.long_window),
            ("pulse_window", c.pulse_window),
        ] {
            if got > MAX_WINDOW {
                return Err(Error::TooLarge {
                    what,
                    got,
                    limit: MAX_WINDOW,
                });
            }
        }
        if !(c.surprise_decades > 0.0 && c.surprise_decades.is_finite()) {
            return Err(Error::param(
                "surprise_decades",
                c.surprise_decades,
                "must be finite and > 0",
            ));
        }
        if !(c.spatial_tolerance >= 0.0 && c.spatial_tolerance.is_finite()) {
            return Err(Error::param(
                "spatial_tolerance",
                c.spatial_tolerance,
                "must be finite and >= 0",
            ));
        }
        EwmaConfig {
            alpha: c.alpha,
            ..EwmaConfig::default()
        }
        .validate()
    }
}

/// Learning period of a streaming scorer whose configuration says "automatic".
pub const DEFAULT_PROBATION: usize = 750;
/// NAB's probationary period as a fraction of the series length.
const PROBATION_FRACTION: f64 = 0.15;
/// The largest window accepted (guards against absurd allocations).
const MAX_WINDOW: usize = 1 << 22;
/// Floor of the residual scale, as a fraction of the range seen so far.
const SCALE_FLOOR: f64 = 1e-3;
/// Numenta's lower bounds of the likelihood distribution's mean and variance.
const MEAN_FLOOR: f64 = 0.03;
const VARIANCE_FLOOR: f64 = 3e-4;
/// Numenta's red and yellow tail probabilities (the filter of consecutive reds).
const RED: f64 = 1e-5;
const YELLOW: f64 = 1e-3;
/// The tail probability that scores 1.
const LOG_FLOOR: f64 = 1e-10;
/// Factor applied to a score inside the pulse window of a higher one.
const PULSE_FACTOR: f64 = 0.5;
/// Smallest detrended autocorrelation that makes a season worth fitting.
const MIN_SEASON_ACF: f64 = 0.3;
/// Values kept for the season decision.
const HISTORY_CAP: usize = 3000;
/// Fewest values a season checkpoint looks at, and the smallest checkpoint spacing.
const MIN_HISTORY: usize = 50;
const MIN_CHECKPOINT_STEP: usize = 250;

/// Streaming anomaly scorer. See the [module documentation](self).
///
/// Deterministic, `Send` and `Clone` (a clone continues exactly as the original).
#[derive(Debug, Clone, PartialEq)]
pub struct AnomalyScorer {
    config: ScoringConfig,
    probation: usize,
    observations: u64,
    ewma: Ewma,
    ewma_scale: ResidualScale,
    hw: Option<(HoltWinters, ResidualScale)>,
    /// Values kept for the season decision; emptied once it is made.
    history: Vec<f64>,
    season_decided: bool,
    min: f64,
    max: f64,
    short: Window,
    long: Window,
    previous_red: bool,
    recent: Window,
}

impl AnomalyScorer {
    /// Builds a scorer, validating the configuration.
    pub fn new(config: ScoringConfig) -> Result<Self, Error> {
        config.validate()?;
        let c = &config;
        let ewma = Ewma::new(EwmaConfig {
            alpha: c.alpha,
            ..EwmaConfig::default()
        })?;
        let probation = if c.probation == 0 {
            DEFAULT_PROBATION
        } else {
            c.probation
        };
        let season_decided = c.detector == DetectorChoice::Ewma;
        Ok(AnomalyScorer {
            config,
            probation,
            observations: 0,
            ewma,
            ewma_scale: ResidualScale::new(c.variance_alpha),
            hw: None,
            history: if season_decided {
                Vec::new()
            } else {
                Vec::with_capacity(HISTORY_CAP)
            },
            season_decided,
            min: f64::INFINITY,
            max: f64::NEG_INFINITY,
            short: Window::new(c.short_window),
            long: Window::new(c.long_window),
            previous_red: false,
            recent: Window::new(c.pulse_window),
        })
    }

    /// The configuration the scorer was built with.
    pub fn config(&self) -> &ScoringConfig {
        &self.config
    }

    /// The learning period in use (ticks during which scores are 0).
    pub fn probation(&self) -> usize {
        self.probation
    }

    /// Number of observations accepted so far (rejected non-finite ones excluded).
    pub fn observations(&self) -> u64 {
        self.observations
    }

    /// The season length of the Holt-Winters model in use (1 for the non-seasonal
    /// model), or `None` while the EWMA is the forecaster.
    pub fn season(&self) -> Option<usize> {
        self.hw.as_ref().map(|(hw, _)| hw.config().season_length)
    }

    /// Scores one observation in `[0, 1]` (larger is more anomalous) and learns from
    /// it. A non-finite value, or one beyond [`crate::MAX_ABS_VALUE`], scores 0 and
    /// leaves the scorer unchanged.
    pub fn score(&mut self, x: f64) -> f64 {
        if !x.is_finite() || x.abs() > crate::MAX_ABS_VALUE {
            return 0.0;
        }
        let t = self.observations;
        self.observations += 1;

        // Range rule, against the range seen before this value.
        let range = (self.max - self.min).max(0.0);
        let tolerance = self.config.spatial_tolerance * range;
        let beyond_range = range > 0.0 && (x > self.max + tolerance || x < self.min - tolerance);
        self.min = self.min.min(x);
        self.max = self.max.max(x);

        // Tail probability of the forecast residual.
        let floor = (SCALE_FLOOR * range).max(1e-12 * (1.0 + x.abs()));
        // The detectors only forecast: the scorer's own scales judge the residuals.
        let mut p = match self.ewma.learn(x) {
            Ok((expected, x, true)) => self.ewma_scale.assess(x - expected, floor),
            _ => 1.0,
        };
        if let Some((hw, scale)) = self.hw.as_mut()
            && let Ok((forecast, x)) = hw.learn(x)
        {
            p = scale.assess(x - forecast, floor);
        }
        let raw = surprise(p, self.config.surprise_decades);
        if !self.season_decided {
            self.history.push(x);
            self.consider_season();
        }

        // Anomaly likelihood of the short-term mean surprise.
        self.short.push(raw);
        let average = self.short.mean();
        if (t as usize) < self.probation / 2 {
            return 0.0;
        }
        if (t as usize) < self.probation || self.long.len < 2 {
            self.long.push(average);
            return 0.0;
        }
        let mean = self.long.mean().max(MEAN_FLOOR);
        let sd = self.long.variance().max(VARIANCE_FLOOR).sqrt();
        self.long.push(average);
        let mut q = dist::normal_upper((average - mean) / sd);
        let red = q <= RED;
        if red && self.previous_red {
            q = YELLOW;
        }
        self.previous_red = red;
        let mut score = ((q + LOG_FLOOR).ln() / LOG_FLOOR.ln()).clamp(0.0, 1.0);
        if beyond_range {
            score = 1.0;
        }

        // Pulse: only a score above the recent ones keeps its full value.
        if self.config.pulse_window > 0 {
            let recent_max = self.recent.max();
            self.recent.push(score);
            if self.recent.len > 1 && score <= recent_max {
                score *= PULSE_FACTOR;
            }
        }
        score
    }

    /// At a checkpoint, fits exponential smoothing to the kept values and adopts the
    /// model the configuration and the data choose.
    fn consider_season(&mut self) {
        let n = self.history.len();
        let first = self.probation.max(MIN_HISTORY);
        let step = self.probation.max(MIN_CHECKPOINT_STEP);
        if n < first || (n - first) % step != 0 {
            return;
        }
        let last_checkpoint = n + step > HISTORY_CAP;
        let forced = self.config.detector == DetectorChoice::HoltWinters;
        let best = best_season(&self.history);
        let chosen = if forced {
            Some(if best.1 > 0.0 { best.0 } else { 1 })
        } else if best.1 >= MIN_SEASON_ACF {
            Some(best.0)
        } else {
            None
        };
        let mut plain = None;
        if let Some(m) = chosen
            && let Some((hw, mse)) = fit_in_sample(m, &self.history, self.config.variance_alpha)
        {
            plain = fit_in_sample(1, &self.history, self.config.variance_alpha);
            let accept = forced
                || match &plain {
                    Some((_, plain_mse)) => {
                        let k = (n - m.max(4).min(n / 2)) as f64;
                        let aic = |mse: f64, params: f64| {
                            k * mse.max(f64::MIN_POSITIVE).ln() + 2.0 * params
                        };
                        // Smoothing parameters, level and trend: 5; plus the season.
                        aic(mse, 5.0 + m as f64) < aic(*plain_mse, 5.0)
                    }
                    None => false,
                };
            if accept {
                self.adopt(hw, mse);
                self.decide();
                return;
            }
        }
        // Without a better seasonal model, Auto uses exponential smoothing fitted to the
        // learning data (Holt's damped trend) rather than the fixed-alpha EWMA, and
        // keeps looking for a season at later checkpoints.
        if !forced && self.hw.is_none() {
            if plain.is_none() {
                plain = fit_in_sample(1, &self.history, self.config.variance_alpha);
            }
            if let Some((hw, mse)) = plain {
                self.adopt(hw, mse);
            }
        }
        if last_checkpoint {
            self.decide();
        }
    }

    /// Makes `hw` (fitted on the kept values, `mse` its in-sample one-step error) the
    /// forecaster; its residual scale starts from `mse`. The likelihood keeps the
    /// surprises it has seen (a replay of the kept values through the fitted model
    /// makes them in-sample, hence too small, and scored worse on NAB).
    fn adopt(&mut self, hw: HoltWinters, mse: f64) {
        let scale = ResidualScale::warm(self.config.variance_alpha, mse);
        self.hw = Some((hw, scale));
    }

    fn decide(&mut self) {
        self.season_decided = true;
        self.history = Vec::new();
    }
}

/// Raw surprise of a tail probability: decades below 1, over `decades`, capped at 1.
fn surprise(p: f64, decades: f64) -> f64 {
    (-(p.max(f64::MIN_POSITIVE)).log10() / decades).clamp(0.0, 1.0)
}

/// Scores a whole series with one [`AnomalyScorer`]: `scores[i]` depends only on
/// `values[..=i]` and on the learning period. With `config.probation == 0` the
/// learning period is NAB's, `min(750, ⌊0.15 · values.len()⌋)` (at least 1): the
/// only use of the series length. Non-finite values score 0 and are skipped.
pub fn score_series(values: &[f64], config: ScoringConfig) -> Result<Vec<f64>, Error> {
    let mut config = config;
    if config.probation == 0 {
        let nab = (values.len() as f64 * PROBATION_FRACTION) as usize;
        config.probation = nab.clamp(1, DEFAULT_PROBATION);
    }
    let mut scorer = AnomalyScorer::new(config)?;
    Ok(values.iter().map(|&v| scorer.score(v)).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::math::rng::Rng;

    /// Bounded noise (uniform on 49..51): no record values after the first ticks, so
    /// the range rule stays quiet.
    fn noise(n: usize, seed: u64) -> Vec<f64> {
        let mut rng = Rng::new(seed);
        (0..n).map(|_| 49.0 + 2.0 * rng.uniform()).collect()
    }

    fn seasonal(n: usize, m: usize, seed: u64) -> Vec<f64> {
        let mut rng = Rng::new(seed);
        (0..n)
            .map(|t| {
                let phase = std::f64::consts::TAU * (t % m) as f64 / m as f64;
                100.0 + 20.0 * phase.sin() + rng.normal()
            })
            .collect()
    }

    fn with_probation(probation: usize) -> ScoringConfig {
        ScoringConfig {
            probation,
            ..ScoringConfig::default()
        }
    }

    #[test]
    fn invalid_configurations_are_typed_errors() {
        let bad = |f: fn(&mut ScoringConfig)| {
            let mut c = ScoringConfig::default();
            f(&mut c);
            AnomalyScorer::new(c).unwrap_err()
        };
        assert!(matches!(
            bad(|c| c.alpha = 0.0),
            Error::InvalidParameter { name: "alpha", .. }
        ));
        assert!(matches!(
            bad(|c| c.variance_alpha = 1.5),
            Error::InvalidParameter {
                name: "variance_alpha",
                ..
            }
        ));
        assert!(matches!(
            bad(|c| c.variance_alpha = f64::NAN),
            Error::InvalidParameter {
                name: "variance_alpha",
                ..
            }
        ));
        assert!(matches!(
            bad(|c| c.short_window = 0),
            Error::InvalidParameter {
                name: "short_window",
                ..
            }
        ));
        assert!(matches!(
            bad(|c| c.long_window = 1),
            Error::InvalidParameter {
                name: "long_window",
                ..
            }
        ));
        assert!(matches!(
            bad(|c| c.pulse_window = MAX_WINDOW + 1),
            Error::TooLarge {
                what: "pulse_window",
                ..
            }
        ));
        for surprise_decades in [0.0, -1.0, f64::NAN, f64::INFINITY] {
            let c = ScoringConfig {
                surprise_decades,
                ..ScoringConfig::default()
            };
            assert!(matches!(
                AnomalyScorer::new(c),
                Err(Error::InvalidParameter {
                    name: "surprise_decades",
                    ..
                })
            ));
        }
        assert!(matches!(
            bad(|c| c.spatial_tolerance = f64::INFINITY),
            Error::InvalidParameter {
                name: "spatial_tolerance",
                ..
            }
        ));
        assert!(matches!(
            score_series(
                &[1.0],
                ScoringConfig {
                    alpha: 2.0,
                    ..ScoringConfig::default()
                }
            ),
            Err(Error::InvalidParameter { name: "alpha", .. })
        ));
    }

    #[test]
    fn window_statistics_match_a_direct_computation() {
        let mut w = Window::new(7);
        let mut all = Vec::new();
        let mut rng = Rng::new(3);
        for i in 0..40 {
            let v = rng.uniform() * 1e3 + i as f64;
            w.push(v);
            all.push(v);
            let live = &all[all.len().saturating_sub(7)..];
            let mean = live.iter().sum::<f64>() / live.len() as f64;
            let var = live.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / live.len() as f64;
            assert_eq!(w.len, live.len());
            assert!((w.mean() - mean).abs() < 1e-9 * mean.abs(), "{i}");
            assert!((w.variance() - var).abs() < 1e-6 * (1.0 + var), "{i}");
            assert_eq!(w.max(), live.iter().copied().fold(0.0, f64::max));
        }
    }

    #[test]
    fn non_finite_values_score_zero_and_change_nothing() {
        let mut s = AnomalyScorer::new(with_probation(20)).unwrap();
        for v in noise(60, 1) {
            s.score(v);
        }
        let before = s.clone();
        for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY, 2e100, -1e300] {
            assert_eq!(s.score(bad), 0.0);
            assert_eq!(s, before);
        }
        assert_eq!(s.observations(), 60);
    }

    #[test]
    fn learning_period_scores_zero() {
        let mut values = noise(300, 2);
        values[50] = 1e6;
        let scores = score_series(&values, with_probation(100)).unwrap();
        assert!(scores[..100].iter().all(|&s| s == 0.0));
        assert!(scores[100..].iter().any(|&s| s > 0.0));
        // Automatic probation: NAB's 15 % of the length.
        let mut s = AnomalyScorer::new(ScoringConfig::default()).unwrap();
        assert_eq!(s.probation(), DEFAULT_PROBATION);
        s.score(1.0);
        assert_eq!(s.observations(), 1);
    }

    #[test]
    fn a_spike_after_a_steady_stretch_scores_near_one() {
        let mut values = noise(600, 4);
        values[500] = 58.0;
        let scores = score_series(&values, with_probation(200)).unwrap();
        assert!(scores[500] > 0.95, "{}", scores[500]);
        let steady = scores[200..500].iter().copied().fold(0.0, f64::max);
        assert!(steady < 0.5, "steady stretch peaked at {steady}");
    }

    #[test]
    fn a_drop_inside_the_range_is_caught_by_the_likelihood() {
        // A sustained level shift to a value seen before (so not the range rule).
        let mut values = noise(800, 5);
        values[300] = 40.0;
        for v in &mut values[600..] {
            *v -= 4.0;
        }
        let scores = score_series(&values, with_probation(200)).unwrap();
        let onset = scores[600..610].iter().copied().fold(0.0, f64::max);
        assert!(onset > 0.5, "onset {onset}");
    }

    #[test]
    fn auto_finds_a_season_and_ewma_never_does() {
        let values = seasonal(24 * 40, 24, 6);
        let auto_config = ScoringConfig {
            detector: DetectorChoice::Auto,
            ..with_probation(200)
        };
        let mut auto = AnomalyScorer::new(auto_config).unwrap();
        let mut ewma = AnomalyScorer::new(ScoringConfig {
            detector: DetectorChoice::Ewma,
            ..with_probation(200)
        })
        .unwrap();
        for &v in &values {
            auto.score(v);
            ewma.score(v);
        }
        assert_eq!(auto.season(), Some(24));
        assert_eq!(ewma.season(), None);
        // A seasonal model scores the cycle itself as normal.
        let scores = score_series(&values, with_probation(200)).unwrap();
        let peak = scores[300..].iter().copied().fold(0.0, f64::max);
        assert!(peak < 0.5, "peak {peak}");
        // White noise: no season for Auto, the fitted non-seasonal model; the
        // Holt-Winters choice takes the best-correlated candidate however weak.
        let mut plain = AnomalyScorer::new(auto_config).unwrap();
        let mut forced = AnomalyScorer::new(with_probation(200)).unwrap();
        for v in noise(400, 7) {
            plain.score(v);
            forced.score(v);
        }
        assert_eq!(plain.season(), Some(1));
        assert_ne!(forced.season(), None);
    }

    #[test]
    fn the_pulse_halves_repeats_of_a_recent_score() {
        let mut values = noise(600, 8);
        values[500] = 80.0;
        values[505] = 80.0;
        let on = score_series(&values, with_probation(200)).unwrap();
        let off = score_series(
            &values,
            ScoringConfig {
                pulse_window: 0,
                ..with_probation(200)
            },
        )
        .unwrap();
        assert_eq!(on[500], 1.0);
        assert_eq!(off[500], 1.0);
        assert!(
            on[505] <= 0.5 * off[505] + 1e-12,
            "{} vs {}",
            on[505],
            off[505]
        );
        assert!(off[505] > 0.0);
    }

    #[test]
    fn extreme_magnitudes_stay_finite() {
        let values: Vec<f64> = (0..400)
            .map(|i| if i % 3 == 0 { 1e100 } else { -1e100 + i as f64 })
            .collect();
        for detector in [
            DetectorChoice::Auto,
            DetectorChoice::Ewma,
            DetectorChoice::HoltWinters,
        ] {
            let config = ScoringConfig {
                detector,
                ..with_probation(60)
            };
            for s in score_series(&values, config).unwrap() {
                assert!((0.0..=1.0).contains(&s), "{s}");
            }
        }
    }
}
