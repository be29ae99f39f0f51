//! Additive Holt-Winters: level, (optionally damped) trend and seasonality of length
//! `m`, updated in O(1) per observation whatever `m` is.
//!
//! With forecast `f_t = l_{t-1} + φ b_{t-1} + s_{t-m}` and residual `e_t = y_t - f_t`:
//!
//! ```text
//! l_t = α (y_t - s_{t-m}) + (1 - α)(l_{t-1} + φ b_{t-1})
//! b_t = β (l_t - l_{t-1}) + (1 - β) φ b_{t-1}
//! s_t = γ (y_t - l_{t-1} - φ b_{t-1}) + (1 - γ) s_{t-m}
//! ```
//!
//! This is the recurrence of statsmodels' `ExponentialSmoothing(trend="add",
//! seasonal="add")` with known initialisation (φ = 1 without damping), which the tests
//! reproduce to 1e-9. The seasonal state is a ring buffer of `m` values.

use serde::{Deserialize, Serialize};

use super::scale::ResidualScale;
use super::{Anomaly, AnomalyDetector};
use crate::math::dist;
use crate::math::optimise::nelder_mead;
use crate::{Error, Interval};

/// The largest season length accepted (a week of one-second ticks is 604,800).
pub const MAX_SEASON_LENGTH: usize = 1 << 20;

/// Smoothing parameters of Holt-Winters.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HoltWintersParams {
    /// Level smoothing, in `(0, 1]`.
    pub alpha: f64,
    /// Trend smoothing, in `[0, 1]` (0 keeps the initial trend forever).
    pub beta: f64,
    /// Seasonal smoothing, in `[0, 1]` (0 keeps the initial season forever).
    pub gamma: f64,
    /// Trend damping, in `(0, 1]`; 1 means no damping.
    pub phi: f64,
}

impl Default for HoltWintersParams {
    fn default() -> Self {
        HoltWintersParams {
            alpha: 0.2,
            beta: 0.01,
            gamma: 0.1,
            phi: 1.0,
        }
    }
}

impl HoltWintersParams {
    /// Checks every parameter's range ([`Error::InvalidParameter`] naming the first
    /// one out of range).
    pub fn validate(&self) -> Result<(), Error> {
        let p = self;
        if !(p.alpha > 0.0 && p.alpha <= 1.0) {
            return Err(Error::param("alpha", p.alpha, "must be in (0, 1]"));
        }
        if !(0.0..=1.0).contains(&p.beta) {
            return Err(Error::param("beta", p.beta, "must be in [0, 1]"));
        }
        if !(0.0..=1.0).contains(&p.gamma) {
            return Err(Error::param("gamma", p.gamma, "must be in [0, 1]"));
        }
        if !(p.phi > 0.0 && p.phi <= 1.0) {
            return Err(Error::param("phi", p.phi, "must be in (0, 1]"));
        }
        Ok(())
    }
}

/// Configuration of a [`HoltWinters`] detector.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HoltWintersConfig {
    /// Season length `m` in ticks (1 = no seasonality; 1440 = a day of minutes).
    pub season_length: usize,
    /// Smoothing parameters (the starting point when fitting).
    pub params: HoltWintersParams,
    /// Smoothing factor of the squared-residual mean, in `(0, 1]`.
    pub variance_alpha: f64,
    /// Residuals to see before tail probabilities are reported (at least 2).
    pub warmup: u64,
    /// Winsorisation of residuals entering the scale, in standard deviations (0 off).
    pub clip: f64,
    /// Floor of the residual scale, in the metric's units.
    pub min_scale: f64,
}

impl Default for HoltWintersConfig {
    fn default() -> Self {
        HoltWintersConfig {
            season_length: 1,
            params: HoltWintersParams::default(),
            variance_alpha: 0.02,
            warmup: 10,
            clip: 5.0,
            min_scale: 0.0,
        }
    }
}

impl HoltWintersConfig {
    /// Checks the season length ([`Error::InvalidParameter`] for 0,
    /// [`Error::TooLarge`] beyond [`MAX_SEASON_LENGTH`]), the smoothing parameters and
    /// the residual scale's settings.
    pub fn validate(&self) -> Result<(), Error> {
        self.residual_scale().map(|_| ())
    }

    /// The empty residual scale these settings describe, validating them all.
    fn residual_scale(&self) -> Result<ResidualScale, Error> {
        let m = self.season_length;
        if m == 0 {
            return Err(Error::param("season_length", 0.0, "must be at least 1"));
        }
        if m > MAX_SEASON_LENGTH {
            return Err(Error::TooLarge {
                what: "season_length",
                got: m,
                limit: MAX_SEASON_LENGTH,
            });
        }
        self.params.validate()?;
        ResidualScale::new(self.variance_alpha, self.clip, self.warmup, self.min_scale)
    }
}

/// How [`HoltWinters::fit`] searches for smoothing parameters.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FitOptions {
    /// Fit the trend smoothing `beta` (otherwise it stays at the configured value).
    pub fit_trend: bool,
    /// Fit the seasonal smoothing `gamma` (otherwise it stays at the configured
    /// value; irrelevant when `m = 1`).
    pub fit_season: bool,
    /// Fit a damping factor `phi` in `[0.8, 0.98]` (otherwise it stays configured).
    pub damped: bool,
    /// Budget of objective evaluations (each is one pass over the history).
    pub max_evaluations: usize,
}

/// The largest evaluation budget [`FitOptions::max_evaluations`] accepts.
pub const MAX_FIT_EVALUATIONS: usize = 1_000_000;

impl FitOptions {
    /// Checks the evaluation budget ([`Error::TooLarge`] beyond
    /// [`MAX_FIT_EVALUATIONS`]; 0 is allowed and means one evaluation per start).
    pub fn validate(&self) -> Result<(), Error> {
        if self.max_evaluations > MAX_FIT_EVALUATIONS {
            return Err(Error::TooLarge {
                what: "max_evaluations",
                got: self.max_evaluations,
                limit: MAX_FIT_EVALUATIONS,
            });
        }
        Ok(())
    }
}

impl Default for FitOptions {
    fn default() -> Self {
        FitOptions {
            fit_trend: true,
            fit_season: true,
            damped: false,
            max_evaluations: 600,
        }
    }
}

/// Streaming additive Holt-Winters detector. See the [module documentation](self).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "HoltWintersState")]
pub struct HoltWinters {
    config: HoltWintersConfig,
    level: f64,
    trend: f64,
    season: Vec<f64>,
    /// Index in `season` of the seasonal term for the next observation.
    pos: usize,
    observations: u64,
    scale: ResidualScale,
}

/// The serialised form, validated before it becomes a [`HoltWinters`].
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct HoltWintersState {
    config: HoltWintersConfig,
    level: f64,
    trend: f64,
    season: Vec<f64>,
    pos: usize,
    observations: u64,
    scale: ResidualScale,
}

impl TryFrom<HoltWintersState> for HoltWinters {
    type Error = Error;

    fn try_from(s: HoltWintersState) -> Result<Self, Error> {
        let mut hw = HoltWinters::new(s.config, s.level, s.trend, &s.season)?;
        if s.pos >= s.season.len() {
            return Err(Error::LengthMismatch {
                what: "season position",
                expected: s.season.len(),
                got: s.pos,
            });
        }
        s.scale.validate()?;
        hw.pos = s.pos;
        hw.observations = s.observations;
        hw.scale = s.scale;
        Ok(hw)
    }
}

/// One step of the recurrence, shared by the detector, the fitter and the tests so the
/// arithmetic exists once. Returns the forecast and the new (level, trend, season).
#[inline(always)]
fn step(p: &HoltWintersParams, level: f64, trend: f64, s: f64, y: f64) -> (f64, f64, f64, f64) {
    let damped = p.phi * trend;
    let base = level + damped;
    let forecast = base + s;
    let new_level = p.alpha * (y - s) + (1.0 - p.alpha) * base;
    let new_trend = p.beta * (new_level - level) + (1.0 - p.beta) * damped;
    let new_season = p.gamma * (y - base) + (1.0 - p.gamma) * s;
    (forecast, new_level, new_trend, new_season)
}

/// Classic initialisation from the first whole seasons of `history` (NaN = missing):
/// a straight line through the per-season means gives level and trend; the average
/// de-trended deviation at each season position gives the seasonal terms (centred to
/// sum to zero).
fn initial_state(m: usize, history: &[f64]) -> Result<(f64, f64, Vec<f64>), Error> {
    let needed = if m == 1 { 4 } else { 2 * m };
    if history.len() < needed {
        return Err(Error::InsufficientData {
            what: "Holt-Winters initialisation (two seasons)",
            needed,
            got: history.len(),
        });
    }
    // m = 1 has no seasons to average; blocks of up to 5 points stand in for them.
    let block = if m == 1 {
        (history.len() / 4).clamp(1, 5)
    } else {
        m
    };
    let blocks = (history.len() / block).min(if m == 1 { 4 } else { 5 });
    let mut centres = Vec::with_capacity(blocks);
    let mut means = Vec::with_capacity(blocks);
    for k in 0..blocks {
        let chunk = &history[k * block..(k + 1) * block];
        let (sum, n) = chunk
            .iter()
            .filter(|v| !v.is_nan())
            .fold((0.0, 0usize), |(s, n), v| (s + v, n + 1));
        if n > 0 {
            // Centre of the block in ticks, the first observation being tick 1.
            centres.push(k as f64 * block as f64 + (block as f64 + 1.0) / 2.0);
            means.push(sum / n as f64);
        }
    }
    if means.len() < 2 {
        return Err(Error::InsufficientData {
            what: "Holt-Winters initialisation (observed seasons)",
            needed: 2,
            got: means.len(),
        });
    }
    let n = means.len() as f64;
    let cx = centres.iter().sum::<f64>() / n;
    let cy = means.iter().sum::<f64>() / n;
    let sxx: f64 = centres.iter().map(|x| (x - cx) * (x - cx)).sum();
    let sxy: f64 = centres
        .iter()
        .zip(&means)
        .map(|(x, y)| (x - cx) * (y - cy))
        .sum();
    let trend = if sxx > 0.0 { sxy / sxx } else { 0.0 };
    // Level at tick 0, just before the first observation.
    let level = cy - trend * cx;
    let mut season = vec![0.0; m];
    if m > 1 {
        let mut counts = vec![0usize; m];
        for (t, y) in history[..blocks * m].iter().enumerate() {
            if !y.is_nan() {
                season[t % m] += y - (level + trend * (t + 1) as f64);
                counts[t % m] += 1;
            }
        }
        for (s, c) in season.iter_mut().zip(&counts) {
            *s = if *c > 0 { *s / *c as f64 } else { 0.0 };
        }
        let mean = season.iter().sum::<f64>() / m as f64;
        season.iter_mut().for_each(|s| *s -= mean);
    }
    Error::check_value("initial level", level)?;
    Error::check_value("initial trend", trend)?;
    Ok((level, trend, season))
}

/// One-step squared error of the recurrence over `history` from a given start,
/// skipping the first season's residuals (they mostly measure the initialisation).
fn sse(
    p: &HoltWintersParams,
    init: &(f64, f64, Vec<f64>),
    history: &[f64],
    buf: &mut [f64],
) -> f64 {
    let (mut level, mut trend) = (init.0, init.1);
    buf.copy_from_slice(&init.2);
    let m = buf.len();
    let skip = m.max(4).min(history.len() / 2);
    let mut pos = 0;
    let mut total = 0.0;
    for (t, &y) in history.iter().enumerate() {
        let s = buf[pos];
        if y.is_nan() {
            level += p.phi * trend;
            trend *= p.phi;
        } else {
            let (f, l, b, s_new) = step(p, level, trend, s, y);
            if t >= skip {
                total += (y - f) * (y - f);
            }
            level = l;
            trend = b;
            buf[pos] = s_new;
        }
        pos += 1;
        if pos == m {
            pos = 0;
        }
    }
    total
}

fn logistic(u: f64) -> f64 {
    1.0 / (1.0 + (-u).exp())
}

fn logit(p: f64) -> f64 {
    (p / (1.0 - p)).ln()
}

impl HoltWinters {
    /// Builds a detector from a known initial state: level and trend at the tick
    /// before the first observation and the `m` seasonal terms, `season[0]` being the
    /// one used for the first observation. The residual scale starts empty, so the
    /// first `warmup` observations carry no evidence.
    pub fn new(
        config: HoltWintersConfig,
        level: f64,
        trend: f64,
        season: &[f64],
    ) -> Result<Self, Error> {
        let scale = config.residual_scale()?;
        if season.len() != config.season_length {
            return Err(Error::LengthMismatch {
                what: "initial season",
                expected: config.season_length,
                got: season.len(),
            });
        }
        Error::check_value("initial level", level)?;
        Error::check_value("initial trend", trend)?;
        for &s in season {
            Error::check_value("initial season", s)?;
        }
        Ok(HoltWinters {
            config,
            level,
            trend,
            season: season.to_vec(),
            pos: 0,
            observations: 0,
            scale,
        })
    }

    /// Initialises from the first seasons of `history` (at least two seasons; NaN
    /// marks a missing tick) and then runs the whole history through the detector, so
    /// that it leaves ready to score the tick after the history's last one, with its
    /// residual scale estimated from the history (the first season's residuals, which
    /// mostly measure the initialisation, are left out of the scale).
    pub fn from_history(config: HoltWintersConfig, history: &[f64]) -> Result<Self, Error> {
        config.validate()?;
        for &y in history {
            if !y.is_nan() {
                Error::check_value("history", y)?;
            }
        }
        let (level, trend, season) = initial_state(config.season_length, history)?;
        let mut hw = HoltWinters::new(config, level, trend, &season)?;
        let skip = config.season_length.max(4).min(history.len() / 2);
        for (t, &y) in history.iter().enumerate() {
            if y.is_nan() {
                hw.skip();
            } else if t < skip {
                hw.advance(y)?;
            } else {
                hw.observe(&y)?;
            }
        }
        Ok(hw)
    }

    /// Fits `alpha` (and, per `options`, `beta`, `gamma`, `phi`) on `history` by
    /// minimising the one-step squared error with a deterministic Nelder-Mead search
    /// (three fixed starting points in logit space), then builds the detector with
    /// [`HoltWinters::from_history`]. The configured parameters are the first
    /// starting point and the values of parameters that are not fitted.
    pub fn fit(
        config: HoltWintersConfig,
        history: &[f64],
        options: &FitOptions,
    ) -> Result<Self, Error> {
        config.validate()?;
        options.validate()?;
        for &y in history {
            if !y.is_nan() {
                Error::check_value("history", y)?;
            }
        }
        let init = initial_state(config.season_length, history)?;
        let base = config.params;
        let fit_gamma = options.fit_season && config.season_length > 1;
        // Free coordinates in logit space, mapped into open intervals.
        const EPS: f64 = 1e-4;
        let to_params = |u: &[f64]| {
            let mut p = base;
            let mut i = 0;
            let mut take = || {
                let v = logistic(u[i]);
                i += 1;
                v
            };
            p.alpha = EPS + (1.0 - 2.0 * EPS) * take();
            if options.fit_trend {
                p.beta = EPS + (1.0 - 2.0 * EPS) * take();
            }
            if fit_gamma {
                p.gamma = EPS + (1.0 - 2.0 * EPS) * take();
            }
            if options.damped {
                p.phi = 0.8 + 0.18 * take();
            }
            p
        };
        let squash =
            |v: f64, lo: f64, hi: f64| logit(((v - lo) / (hi - lo)).clamp(1e-3, 1.0 - 1e-3));
        let start_from = |p: &HoltWintersParams| {
            let mut u = vec![squash(p.alpha, EPS, 1.0 - EPS)];
            if options.fit_trend {
                u.push(squash(p.beta, EPS, 1.0 - EPS));
            }
            if fit_gamma {
                u.push(squash(p.gamma, EPS, 1.0 - EPS));
            }
            if options.damped {
                u.push(squash(p.phi, 0.8, 0.98));
            }
            u
        };
        let starts = [
            base,
            HoltWintersParams {
                alpha: 0.5,
                beta: 0.1,
                gamma: 0.3,
                phi: 0.9,
            },
            HoltWintersParams {
                alpha: 0.05,
                beta: 0.001,
                gamma: 0.05,
                phi: 0.95,
            },
        ];
        let mut buf = vec![0.0; config.season_length];
        let budget = (options.max_evaluations / starts.len()).max(1);
        let mut best: Option<(f64, HoltWintersParams)> = None;
        for start in &starts {
            let u0 = start_from(start);
            let steps = vec![1.0; u0.len()];
            let found = nelder_mead(
                |u| sse(&to_params(u), &init, history, &mut buf),
                &u0,
                &steps,
                1e-10,
                budget,
            );
            if best.is_none_or(|(v, _)| found.value < v) {
                best = Some((found.value, to_params(&found.x)));
            }
        }
        let params = best.map(|(_, p)| p).unwrap_or(base);
        HoltWinters::from_history(HoltWintersConfig { params, ..config }, history)
    }

    /// Applies one observation's update without scoring it or touching the scale.
    fn advance(&mut self, y: f64) -> Result<f64, Error> {
        let s = self.season[self.pos];
        let (forecast, level, trend, season) =
            step(&self.config.params, self.level, self.trend, s, y);
        for v in [forecast, level, trend, season] {
            Error::check_value("Holt-Winters state", v)?;
        }
        self.level = level;
        self.trend = trend;
        self.season[self.pos] = season;
        self.pos = if self.pos + 1 == self.season.len() {
            0
        } else {
            self.pos + 1
        };
        self.observations += 1;
        Ok(forecast)
    }

    /// Advances one tick with no observation (a missing tick): level and trend move
    /// on by the damped trend, the season position moves, nothing is learnt.
    pub fn skip(&mut self) {
        let damped = self.config.params.phi * self.trend;
        self.level += damped;
        self.trend = damped;
        self.pos = if self.pos + 1 == self.season.len() {
            0
        } else {
            self.pos + 1
        };
    }

    /// The forecast `h >= 1` steps ahead of the last observation:
    /// `l + (φ + … + φ^h) b + s` with the seasonal term of that tick. `h = 0` is
    /// treated as 1.
    pub fn forecast(&self, h: usize) -> f64 {
        let h = h.max(1);
        let m = self.season.len();
        let s = self.season[(self.pos + (h - 1) % m) % m];
        self.level + damped_sum(self.config.params.phi, h) * self.trend + s
    }

    /// Fills `out[k]` with the forecast `k + 1` steps ahead.
    pub fn forecast_into(&self, out: &mut [f64]) {
        for (k, o) in out.iter_mut().enumerate() {
            *o = self.forecast(k + 1);
        }
    }

    /// Standard deviation of the `h`-step forecast error, from the one-step scale and
    /// the model's error-propagation weights:
    /// `σ_h² = σ² (1 + Σ_{j=1}^{h-1} (α (1 + β φ_j) + γ [j mod m = 0])²)`,
    /// `φ_j = φ + … + φ^j`.
    pub fn forecast_std(&self, h: usize) -> f64 {
        let p = &self.config.params;
        let m = self.season.len();
        let mut acc = 1.0;
        let mut phi_j = 0.0;
        let mut phi_pow = 1.0;
        for j in 1..h.max(1) {
            phi_pow *= p.phi;
            phi_j += phi_pow;
            let seasonal = if m > 1 && j % m == 0 { p.gamma } else { 0.0 };
            let c = p.alpha * (1.0 + p.beta * phi_j) + seasonal;
            acc += c * c;
        }
        self.scale.scale() * acc.sqrt()
    }

    /// A central prediction interval for the value `h` steps ahead with the given
    /// coverage in `(0, 1)` (normal approximation).
    pub fn prediction_interval(&self, h: usize, coverage: f64) -> Result<Interval, Error> {
        if !(coverage > 0.0 && coverage < 1.0) {
            return Err(Error::param("coverage", coverage, "must be in (0, 1)"));
        }
        let z = dist::normal_upper_quantile((1.0 - coverage) / 2.0);
        let (f, s) = (self.forecast(h), self.forecast_std(h));
        Ok(Interval {
            lower: f - z * s,
            upper: f + z * s,
        })
    }

    /// The one-step prediction-error standard deviation.
    pub fn residual_scale(&self) -> f64 {
        self.scale.scale()
    }

    /// The configuration, with the fitted parameters after [`HoltWinters::fit`].
    pub fn config(&self) -> &HoltWintersConfig {
        &self.config
    }

    /// The smoothing parameters in use.
    pub fn params(&self) -> &HoltWintersParams {
        &self.config.params
    }

    /// Current level.
    pub fn level(&self) -> f64 {
        self.level
    }

    /// Current (undamped) trend per tick.
    pub fn trend(&self) -> f64 {
        self.trend
    }

    /// The seasonal term that applies to the next observation.
    pub fn next_season(&self) -> f64 {
        self.season[self.pos]
    }
}

/// `φ + φ² + … + φ^h` (= h when φ = 1).
fn damped_sum(phi: f64, h: usize) -> f64 {
    if phi == 1.0 {
        h as f64
    } else {
        phi * (1.0 - phi.powi(h.min(i32::MAX as usize) as i32)) / (1.0 - phi)
    }
}

impl AnomalyDetector for HoltWinters {
    type Input = f64;

    /// Scores `y` against the one-step forecast and updates level, trend, season and
    /// scale. A non-finite or out-of-range `y`, or one that would push the state out of
    /// range, is rejected and leaves the detector unchanged.
    #[inline]
    fn observe(&mut self, y: &f64) -> Result<Anomaly, Error> {
        self.update(*y).map(|(_, _, anomaly)| anomaly)
    }

    fn observations(&self) -> u64 {
        self.observations
    }

    fn is_ready(&self) -> bool {
        self.scale.is_ready()
    }
}

impl HoltWinters {
    /// What [`AnomalyDetector::observe`] does but the assessment: the state update,
    /// returning the forecast made before it and the observation. Callers that keep
    /// their own residual scale skip the tail probability, the costly part.
    #[inline]
    pub(crate) fn learn(&mut self, y: f64) -> Result<(f64, f64), Error> {
        // The assessment is pure arithmetic on values the update computes anyway; once
        // inlined here, where it is unused, the compiler drops it.
        self.update(y).map(|(forecast, y, _)| (forecast, y))
    }

    /// The state update and the assessment of `y` against the forecast made before it
    /// (one shared step, so both callers compute exactly the same numbers).
    #[inline(always)]
    fn update(&mut self, y: f64) -> Result<(f64, f64, Anomaly), Error> {
        let y = Error::check_value("observation", y)?;
        let s = self.season[self.pos];
        let (forecast, level, trend, season) =
            step(&self.config.params, self.level, self.trend, s, y);
        if !(level.abs() <= crate::MAX_ABS_VALUE
            && trend.abs() <= crate::MAX_ABS_VALUE
            && season.abs() <= crate::MAX_ABS_VALUE
            && forecast.abs() <= crate::MAX_ABS_VALUE)
        {
            return Err(Error::OutOfRange {
                what: "Holt-Winters state",
                value: level,
                limit: crate::MAX_ABS_VALUE,
            });
        }
        let anomaly = self.scale.assess_and_absorb(forecast, y);
        self.level = level;
        self.trend = trend;
        self.season[self.pos] = season;
        self.pos = if self.pos + 1 == self.season.len() {
            0
        } else {
            self.pos + 1
        };
        self.observations += 1;
        Ok((forecast, y, anomaly))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::math::rng::Rng;

    fn seasonal(n: usize, m: usize, seed: u64) -> Vec<f64> {
        let mut rng = Rng::new(seed);
        (0..n)
            .map(|t| {
                let phase = std::f64::consts::TAU * (t % m) as f64 / m as f64;
                100.0 + 0.05 * t as f64 + 10.0 * phase.sin() + rng.normal()
            })
            .collect()
    }

    #[test]
    fn configuration_errors_are_typed() {
        let cfg = HoltWintersConfig::default();
        let bad = |f: fn(&mut HoltWintersConfig)| {
            let mut c = cfg;
            f(&mut c);
            HoltWinters::new(c, 0.0, 0.0, &vec![0.0; c.season_length.min(10)])
        };
        assert!(matches!(
            bad(|c| c.season_length = 0),
            Err(Error::InvalidParameter {
                name: "season_length",
                ..
            })
        ));
        assert!(matches!(
            bad(|c| c.season_length = MAX_SEASON_LENGTH + 1),
            Err(Error::TooLarge { .. })
        ));
        assert!(matches!(
            bad(|c| c.params.alpha = 0.0),
            Err(Error::InvalidParameter { name: "alpha", .. })
        ));
        assert!(matches!(
            bad(|c| c.params.alpha = 1.01),
            Err(Error::InvalidParameter { name: "alpha", .. })
        ));
        assert!(matches!(
            bad(|c| c.params.beta = -0.1),
            Err(Error::InvalidParameter { name: "beta", .. })
        ));
        assert!(matches!(
            bad(|c| c.params.gamma = f64::NAN),
            Err(Error::InvalidParameter { name: "gamma", .. })
        ));
        assert!(matches!(
            bad(|c| c.params.phi = 0.0),
            Err(Error::InvalidParameter { name: "phi", .. })
        ));
        assert!(matches!(
            HoltWinters::new(
                HoltWintersConfig {
                    season_length: 3,
                    ..cfg
                },
                0.0,
                0.0,
                &[0.0; 2]
            ),
            Err(Error::LengthMismatch { .. })
        ));
        assert!(matches!(
            HoltWinters::new(cfg, f64::NAN, 0.0, &[0.0]),
            Err(Error::NonFinite { .. })
        ));
        assert!(matches!(
            HoltWinters::new(cfg, 0.0, f64::INFINITY, &[0.0]),
            Err(Error::NonFinite { .. })
        ));
        let short = HoltWinters::from_history(
            HoltWintersConfig {
                season_length: 24,
                ..cfg
            },
            &[1.0; 30],
        );
        assert!(matches!(short, Err(Error::InsufficientData { .. })));
        assert!(HoltWinters::from_history(cfg, &[1.0, f64::INFINITY, 2.0, 3.0, 4.0]).is_err());
    }

    #[test]
    fn rejected_observations_leave_state_unchanged() {
        let cfg = HoltWintersConfig {
            season_length: 4,
            ..HoltWintersConfig::default()
        };
        let mut hw = HoltWinters::from_history(cfg, &seasonal(40, 4, 1)).unwrap();
        let before = hw.clone();
        for bad in [f64::NAN, f64::INFINITY, 2e100] {
            assert!(hw.observe(&bad).is_err());
            assert_eq!(hw, before);
        }
    }

    #[test]
    fn fit_recovers_a_good_model_and_flags_a_shift() {
        let m = 24;
        let y = seasonal(24 * 14, m, 5);
        let cfg = HoltWintersConfig {
            season_length: m,
            ..HoltWintersConfig::default()
        };
        let hw = HoltWinters::fit(cfg, &y, &FitOptions::default()).unwrap();
        assert!(hw.is_ready());
        // Unit noise: the fitted one-step scale should be close to 1.
        let s = hw.residual_scale();
        assert!((0.85..1.3).contains(&s), "scale {s}");
        // Fitting never does worse than the starting parameters.
        let init = initial_state(m, &y).unwrap();
        let mut buf = vec![0.0; m];
        let fitted = sse(hw.params(), &init, &y, &mut buf);
        let start = sse(&cfg.params, &init, &y, &mut buf);
        assert!(fitted <= start, "{fitted} > {start}");
        // Forecast continues the season; a +8 sigma point is flagged, a normal one not.
        let mut det = hw.clone();
        let t = y.len();
        let phase = std::f64::consts::TAU * (t % m) as f64 / m as f64;
        let truth = 100.0 + 0.05 * t as f64 + 10.0 * phase.sin();
        assert!(
            (hw.forecast(1) - truth).abs() < 2.0,
            "{} vs {truth}",
            hw.forecast(1)
        );
        let normal = det.observe(&(truth + 0.5)).unwrap();
        assert!(normal.tail_probability() > 0.1, "{normal:?}");
        let spike = det.observe(&(hw.forecast(2) + 8.0)).unwrap();
        assert!(spike.tail_probability() < 1e-6, "{spike:?}");
    }

    #[test]
    fn fit_is_deterministic() {
        let y = seasonal(24 * 8, 24, 9);
        let cfg = HoltWintersConfig {
            season_length: 24,
            ..HoltWintersConfig::default()
        };
        let opts = FitOptions {
            damped: true,
            ..FitOptions::default()
        };
        let a = HoltWinters::fit(cfg, &y, &opts).unwrap();
        let b = HoltWinters::fit(cfg, &y, &opts).unwrap();
        assert_eq!(a, b);
        assert!((0.8..=0.98).contains(&a.params().phi));
    }

    #[test]
    fn forecasts_extend_level_trend_and_season() {
        let cfg = HoltWintersConfig {
            season_length: 3,
            params: HoltWintersParams {
                alpha: 0.5,
                beta: 0.5,
                gamma: 0.5,
                phi: 1.0,
            },
            ..HoltWintersConfig::default()
        };
        let hw = HoltWinters::new(cfg, 10.0, 2.0, &[1.0, -2.0, 1.0]).unwrap();
        assert_eq!(hw.forecast(1), 13.0);
        assert_eq!(hw.forecast(2), 12.0);
        assert_eq!(hw.forecast(4), 19.0);
        let mut out = [0.0; 4];
        hw.forecast_into(&mut out);
        assert_eq!(out, [13.0, 12.0, 17.0, 19.0]);
        let damped = HoltWinters::new(
            HoltWintersConfig {
                params: HoltWintersParams {
                    phi: 0.5,
                    ..cfg.params
                },
                ..cfg
            },
            10.0,
            2.0,
            &[0.0; 3],
        )
        .unwrap();
        assert!((damped.forecast(2) - (10.0 + 2.0 * 0.75)).abs() < 1e-12);
        // Intervals widen with the horizon.
        assert!(hw.forecast_std(1) <= hw.forecast_std(2));
        assert!(hw.forecast_std(2) < hw.forecast_std(4));
    }

    #[test]
    fn prediction_intervals_cover_as_promised() {
        let m = 12;
        let y = seasonal(12 * 200, m, 21);
        let (train, test) = y.split_at(12 * 20);
        let cfg = HoltWintersConfig {
            season_length: m,
            ..HoltWintersConfig::default()
        };
        let mut hw = HoltWinters::fit(cfg, train, &FitOptions::default()).unwrap();
        let (mut inside, mut n) = (0, 0);
        for &v in test {
            inside += hw.prediction_interval(1, 0.9).unwrap().contains(v) as usize;
            n += 1;
            hw.observe(&v).unwrap();
        }
        let cover = inside as f64 / n as f64;
        assert!((0.86..0.94).contains(&cover), "coverage {cover}");
    }

    #[test]
    fn missing_ticks_keep_the_season_aligned() {
        let m = 6;
        let mut y = seasonal(6 * 20, m, 4);
        let clean = HoltWinters::fit(
            HoltWintersConfig {
                season_length: m,
                ..HoltWintersConfig::default()
            },
            &y,
            &FitOptions::default(),
        )
        .unwrap();
        y[50] = f64::NAN;
        y[51] = f64::NAN;
        let gappy = HoltWinters::from_history(*clean.config(), &y).unwrap();
        assert_eq!(gappy.pos, clean.pos);
        assert!((gappy.forecast(1) - clean.forecast(1)).abs() < 1.0);
    }
}
