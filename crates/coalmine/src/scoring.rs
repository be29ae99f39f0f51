//! Univariate anomaly scoring (experimental draft).
#![allow(missing_docs)]

use serde::{Deserialize, Serialize};

use crate::holt_winters::{FitOptions, HoltWinters, HoltWintersConfig};
use crate::{AnomalyDetector, Error, Ewma, EwmaConfig, stats};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum DetectorChoice {
    #[default]
    Auto,
    Ewma,
    HoltWinters,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ScoringConfig {
    pub detector: DetectorChoice,
    pub probation: usize,
    pub fast_alpha: f64,
    pub slow_alpha: f64,
    pub variance_alpha: f64,
    pub season_threshold: f64,
    pub season_gain: f64,
    pub raw_mode: u8,
    pub raw_range: f64,
    pub short_window: usize,
    pub long_window: usize,
    pub mean_floor: f64,
    pub var_floor: f64,
    pub spatial_tolerance: f64,
    pub red: f64,
    pub yellow: f64,
    pub suppress: usize,
    pub combine: u8,
    pub floor_frac: f64,
    pub clip: f64,
    pub rarity: f64,
    pub one_sided: bool,
    pub select: u8,
    pub select_alpha: f64,
    pub suppress_mode: u8,
    pub suppress_factor: f64,
}

impl Default for ScoringConfig {
    fn default() -> Self {
        ScoringConfig {
            detector: DetectorChoice::Auto,
            probation: 0,
            fast_alpha: 0.1,
            slow_alpha: 0.0,
            variance_alpha: 0.02,
            season_threshold: 0.7,
            season_gain: 0.3,
            raw_mode: 0,
            raw_range: 10.0,
            short_window: 10,
            long_window: 8640,
            mean_floor: 0.03,
            var_floor: 0.0003,
            spatial_tolerance: 0.05,
            red: 1e-5,
            yellow: 1e-3,
            suppress: 0,
            combine: 0,
            floor_frac: 1e-3,
            clip: 5.0,
            rarity: 0.0,
            one_sided: false,
            select: 0,
            select_alpha: 0.01,
            suppress_mode: 0,
            suppress_factor: 0.5,
        }
    }
}

const DEFAULT_PROBATION: usize = 750;
const SEASONS: [usize; 7] = [12, 24, 48, 96, 144, 168, 288];
const HISTORY_CAP: usize = 2000;
const BINS: usize = 1000;

#[derive(Debug, Clone, Copy)]
struct Scale {
    alpha: f64,
    var: f64,
    n: u64,
    slow: f64,
    slow_alpha: f64,
}

impl Scale {
    fn new(alpha: f64) -> Self {
        Scale { alpha, var: 0.0, n: 0, slow: 0.0, slow_alpha: 0.01 }
    }
    /// Two-sided normal tail probability of `e`, then absorbs `e`.
    fn assess(&mut self, e: f64, floor: f64, clip: f64) -> f64 {
        let sd = self.var.sqrt().max(floor);
        let p = if self.n >= 10 { stats::normal_two_sided(e / sd) } else { 1.0 };
        let r = if self.n >= 10 && clip > 0.0 { e.clamp(-clip * sd, clip * sd) } else { e };
        self.n += 1;
        let a = self.alpha.max(1.0 / self.n as f64);
        self.var = (1.0 - a) * self.var + a * r * r;
        let b = self.slow_alpha.max(1.0 / self.n as f64);
        self.slow = (1.0 - b) * self.slow + b * r * r;
        p
    }
}

#[derive(Debug, Clone)]
struct Ring {
    buf: Vec<f64>,
    pos: usize,
    len: usize,
    s1: f64,
    s2: f64,
    pushes: usize,
    hist: Vec<u32>,
}

impl Ring {
    fn new(cap: usize) -> Self {
        Ring {
            buf: vec![0.0; cap.max(1)],
            pos: 0,
            len: 0,
            s1: 0.0,
            s2: 0.0,
            pushes: 0,
            hist: vec![0; BINS + 1],
        }
    }
    fn bin(v: f64) -> usize {
        ((v.clamp(0.0, 1.0) * BINS as f64) as usize).min(BINS)
    }
    fn count_ge(&self, v: f64) -> u32 {
        self.hist[Self::bin(v)..].iter().sum()
    }
    fn push(&mut self, v: f64) {
        let cap = self.buf.len();
        if self.len == cap {
            let old = self.buf[self.pos];
            self.hist[Self::bin(old)] -= 1;
            self.s1 -= old;
            self.s2 -= old * old;
        } else {
            self.len += 1;
        }
        self.buf[self.pos] = v;
        self.hist[Self::bin(v)] += 1;
        self.s1 += v;
        self.s2 += v * v;
        self.pos = (self.pos + 1) % cap;
        self.pushes += 1;
        if self.pushes % cap == 0 {
            self.s1 = self.buf[..self.len].iter().sum();
            self.s2 = self.buf[..self.len].iter().map(|v| v * v).sum();
        }
    }
    fn mean(&self) -> f64 {
        if self.len == 0 {
            0.0
        } else {
            self.s1 / self.len as f64
        }
    }
    fn var(&self) -> f64 {
        if self.len == 0 {
            return 0.0;
        }
        let m = self.mean();
        (self.s2 / self.len as f64 - m * m).max(0.0)
    }
}

#[derive(Debug, Clone)]
pub struct AnomalyScorer {
    config: ScoringConfig,
    probation: usize,
    n: usize,
    fast: Ewma,
    slow: Option<Ewma>,
    hw: Option<HoltWinters>,
    history: Vec<f64>,
    season_decided: bool,
    min: f64,
    max: f64,
    short: Ring,
    long: Ring,
    prev_red: bool,
    since_alarm: usize,
    pub dbg: [f64; 4],
    recent: std::collections::VecDeque<f64>,
    scales: [Scale; 3],
}

impl AnomalyScorer {
    pub fn new(config: ScoringConfig) -> Result<Self, Error> {
        let probation = if config.probation == 0 {
            DEFAULT_PROBATION
        } else {
            config.probation
        };
        let ew = |alpha: f64| {
            Ewma::new(EwmaConfig {
                alpha,
                variance_alpha: Some(config.variance_alpha),
                warmup: 10,
                clip: 5.0,
                min_scale: 0.0,
            })
        };
        Ok(AnomalyScorer {
            config,
            probation,
            n: 0,
            fast: ew(config.fast_alpha)?,
            slow: if config.slow_alpha > 0.0 {
                Some(ew(config.slow_alpha)?)
            } else {
                None
            },
            hw: None,
            history: Vec::new(),
            season_decided: false,
            min: f64::INFINITY,
            max: f64::NEG_INFINITY,
            short: Ring::new(config.short_window),
            long: Ring::new(config.long_window),
            prev_red: false,
            since_alarm: usize::MAX,
            dbg: [0.0; 4],
            recent: std::collections::VecDeque::new(),
            scales: [Scale { slow_alpha: config.select_alpha, ..Scale::new(config.variance_alpha) }; 3],
        })
    }

    pub fn score(&mut self, x: f64) -> f64 {
        if !x.is_finite() || x.abs() > crate::MAX_ABS_VALUE {
            return 0.0;
        }
        let t = self.n;
        self.n += 1;
        let range = self.max - self.min;
        let spatial = range > 0.0
            && (x > self.max + self.config.spatial_tolerance * range
                || x < self.min - self.config.spatial_tolerance * range);
        self.min = self.min.min(x);
        self.max = self.max.max(x);

        // Detector tail probabilities, from our own residual scale.
        let floor = (self.config.floor_frac * range.max(0.0)).max(1e-12 * (1.0 + x.abs()));
        let mut ps: [f64; 3] = [1.0; 3];
        let prev_err = [self.scales[0].slow, self.scales[1].slow, self.scales[2].slow];
        if let Ok(a) = self.fast.observe(&x) {
            ps[0] = self.scales[0].assess(a.residual, floor, self.config.clip);
        }
        if let Some(s) = self.slow.as_mut()
            && let Ok(a) = s.observe(&x)
        {
            ps[1] = self.scales[1].assess(a.residual, floor, self.config.clip);
        }
        if let Some(h) = self.hw.as_mut()
            && let Ok(a) = h.observe(&x)
        {
            ps[2] = self.scales[2].assess(a.residual, floor, self.config.clip);
        }
        let p = match (self.config.combine, self.hw.is_some()) {
            (0, true) if self.config.select > 0 => if prev_err[2] <= prev_err[0] { ps[2] } else { ps[0] },
            (0, true) => ps[2],
            (_, _) => {
                let k = 1 + self.slow.is_some() as usize + self.hw.is_some() as usize;
                (ps.iter().copied().fold(1.0, f64::min) * k as f64).min(1.0)
            }
        };

        // Season decision.
        if !self.season_decided {
            self.history.push(x);
            self.maybe_decide_season();
        }

        let raw = match self.config.raw_mode {
            0 => 1.0 - p,
            _ => (-(p.max(1e-300)).log10() / self.config.raw_range).min(1.0),
        };
        self.dbg = [p, raw, self.long.mean(), self.long.var().sqrt()];
        self.short.push(raw);
        let mavg = self.short.mean();
        let learn = self.probation / 2;
        if t < learn {
            return 0.0;
        }
        let out = if t < self.probation || self.long.len < 2 {
            0.0
        } else {
            let mean = self.long.mean().max(self.config.mean_floor);
            let sd = self.long.var().max(self.config.var_floor).sqrt();
            let z = if self.config.one_sided { (mavg - mean) / sd } else { ((mavg - mean) / sd).abs() };
            let mut q = stats::normal_upper(z);
            if self.config.rarity > 0.0 && mavg > mean {
                let c = self.long.count_ge(mavg) as f64;
                q = q.max(self.config.rarity * c / (self.long.len as f64 + 1.0));
            }
            let red = q <= self.config.red;
            if red && self.prev_red {
                q = self.config.yellow;
            }
            self.prev_red = red;
            let mut s = ((q + 1e-10).ln() / (1e-10f64).ln()).clamp(0.0, 1.0);
            if spatial {
                s = 1.0;
            }
            if self.config.suppress_mode == 1 && self.config.suppress > 0 {
                let m = self.recent.iter().copied().fold(0.0, f64::max);
                self.recent.push_back(s);
                if self.recent.len() > self.config.suppress {
                    self.recent.pop_front();
                }
                if s <= m {
                    s *= self.config.suppress_factor;
                }
            } else if self.config.suppress > 0 {
                if self.since_alarm < self.config.suppress {
                    s *= 0.5;
                }
                if s >= 0.5 {
                    self.since_alarm = 0;
                } else {
                    self.since_alarm = self.since_alarm.saturating_add(1);
                }
            }
            s
        };
        self.long.push(mavg);
        out
    }

    fn maybe_decide_season(&mut self) {
        let n = self.history.len();
        let wants_hw = match self.config.detector {
            DetectorChoice::Ewma => {
                self.season_decided = true;
                self.history = Vec::new();
                return;
            }
            DetectorChoice::HoltWinters => true,
            DetectorChoice::Auto => false,
        };
        let checkpoint = n == self.probation || (n > self.probation && n % 250 == 0);
        if !checkpoint {
            return;
        }
        let mut best = (1usize, 0.0f64);
        for &m in &SEASONS {
            if n < 2 * m + 10 {
                continue;
            }
            let r = crate::profile::autocorrelation(&self.history, m);
            if r > best.1 {
                best = (m, r);
            }
        }
        let done = n >= HISTORY_CAP;
        if std::env::var("SCORING_DEBUG").is_ok() { eprintln!("season check n={n} best={best:?}"); }
        if best.0 > 1 && (wants_hw || best.1 >= self.config.season_threshold) {
            let m = best.0;
            let seasonal = fit_in_sample(m, &self.history, self.config.variance_alpha);
            let plain = fit_in_sample(1, &self.history, self.config.variance_alpha);
            if let (Some((hw, mse_s)), Some((_, mse_p))) = (seasonal, plain) {
                let k = (n - m.max(4).min(n / 2)) as f64;
                let tiny = 1e-300;
                let aic_s = k * mse_s.max(tiny).ln() + 2.0 * (m as f64 + 5.0);
                let aic_p = k * mse_p.max(tiny).ln() + 2.0 * 5.0;
                let gain = 1.0 - (mse_s / mse_p.max(tiny)).sqrt();
                if std::env::var("SCORING_DEBUG").is_ok() { eprintln!("  hw m={m} {:?} rmse {} plain {} gain {gain} aic {aic_s} vs {aic_p}", hw.params(), mse_s.sqrt(), mse_p.sqrt()); }
                let accept = self.config.select == 1 || if self.config.season_gain < 0.0 { aic_s < aic_p } else { gain >= self.config.season_gain };
                if wants_hw || accept {
                    self.scales[2] = Scale { alpha: self.config.variance_alpha, var: mse_s, n: 10, slow: mse_s, slow_alpha: self.config.select_alpha };
                    self.hw = Some(hw);
                    self.season_decided = true;
                    self.history = Vec::new();
                    return;
                }
            }
        }
        if done {
            self.season_decided = true;
            self.history = Vec::new();
        }
    }
}

/// Fits Holt-Winters with season `m` on `history` and returns the detector (ready to
/// continue after the history) and its in-sample one-step mean squared error.
fn fit_in_sample(m: usize, history: &[f64], variance_alpha: f64) -> Option<(HoltWinters, f64)> {
    let cfg = HoltWintersConfig {
        season_length: m,
        variance_alpha,
        ..HoltWintersConfig::default()
    };
    let opts = FitOptions {
        damped: true,
        max_evaluations: 300,
        ..FitOptions::default()
    };
    let hw = HoltWinters::fit(cfg, history, &opts).ok()?;
    // With a negligible forgetting factor and no winsorising, the residual scale of a
    // pass over the history is the root mean squared one-step error.
    let exact = HoltWintersConfig {
        params: *hw.params(),
        variance_alpha: 1e-12,
        clip: 0.0,
        ..cfg
    };
    let mse = HoltWinters::from_history(exact, history).ok()?.residual_scale().powi(2);
    Some((hw, mse))
}

pub fn score_series(values: &[f64], config: ScoringConfig) -> Result<Vec<f64>, Error> {
    let mut cfg = config;
    if cfg.probation == 0 {
        cfg.probation = ((values.len() as f64 * 0.15) as usize).clamp(1, DEFAULT_PROBATION);
    }
    let mut s = AnomalyScorer::new(cfg)?;
    Ok(values.iter().map(|&v| s.score(v)).collect())
}
