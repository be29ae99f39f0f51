//! Bare loops for the benchmarks: the same arithmetic as coalmine's detectors, written
//! inline over plain locals with no abstraction, so that the benchmarks can show the
//! cost of the API as a ratio. The tests below check that each bare loop computes
//! exactly what the detector computes, so the comparison is like for like.
//!
//! Each univariate loop comes twice: with the Student-t tail probability of every
//! residual (the sum of tails is what it returns) and as the bare recurrence without
//! any tail (it returns the sum of deviations, so that nothing is optimised away). The
//! first shows the API's overhead, the second how far the API is from the arithmetic
//! the detector cannot avoid.

use coalmine::math::dist::{student_t_two_sided, student_t_two_sided_tabled};
use coalmine::{EwmaConfig, HoltWintersConfig};

/// Parameters of the residual scale, as the detectors' defaults set them.
#[derive(Debug, Clone, Copy)]
pub struct ScaleParams {
    /// Variance smoothing factor.
    pub alpha: f64,
    /// Winsorisation in standard deviations (0 = off).
    pub clip: f64,
    /// Residuals before tail probabilities are reported.
    pub warmup: u64,
}

/// The residual-scale state as plain locals.
#[derive(Debug, Clone, Copy, Default)]
struct Scale {
    var: f64,
    w1: f64,
    w2: f64,
    n: u64,
}

impl Scale {
    /// Tail probability of `r` (with `TAIL`; its deviation without), then absorb it;
    /// the same steps as the detector.
    #[inline(always)]
    fn step<const TAIL: bool>(&mut self, p: &ScaleParams, r: f64) -> f64 {
        let ready = self.n >= p.warmup;
        let sd = self.var.sqrt().max(0.0).max(f64::MIN_POSITIVE);
        let tail = if ready {
            let z = (r / sd).clamp(-f64::MAX, f64::MAX);
            if TAIL {
                let dof = if self.w2 > 0.0 {
                    (self.w1 * self.w1 / self.w2 - 1.0).max(1.0)
                } else {
                    1.0
                };
                // Settled weights (at their fixed point): the dof's table, as the
                // detector's residual scale.
                let a = p.alpha.max(1.0 / (self.n + 1) as f64);
                let settled = (1.0 - a) * self.w1 + a == self.w1
                    && (1.0 - a) * (1.0 - a) * self.w2 + a * a == self.w2;
                if settled {
                    student_t_two_sided_tabled(z, dof)
                } else {
                    student_t_two_sided(z, dof)
                }
            } else {
                z
            }
        } else if TAIL {
            1.0
        } else {
            0.0
        };
        let a = p.alpha.max(1.0 / (self.n + 1) as f64);
        let rc = if p.clip > 0.0 && ready {
            r.clamp(-p.clip * sd, p.clip * sd)
        } else {
            r
        };
        self.var = (1.0 - a) * self.var + a * rc * rc;
        self.w1 = (1.0 - a) * self.w1 + a;
        self.w2 = (1.0 - a) * (1.0 - a) * self.w2 + a * a;
        self.n += 1;
        tail
    }
}

/// EWMA over `xs` with its residual scale; returns the sum of tail probabilities.
pub fn ewma_bare(xs: &[f64], alpha: f64, scale: ScaleParams) -> f64 {
    ewma_loop::<true>(xs, alpha, scale)
}

/// The EWMA recurrence alone, no tail; returns the sum of deviations.
pub fn ewma_bare_recurrence(xs: &[f64], alpha: f64, scale: ScaleParams) -> f64 {
    ewma_loop::<false>(xs, alpha, scale)
}

#[inline(always)]
fn ewma_loop<const TAIL: bool>(xs: &[f64], alpha: f64, scale: ScaleParams) -> f64 {
    let mut mean = 0.0;
    let mut seen = false;
    let mut s = Scale::default();
    let mut sum = 0.0;
    for &x in xs {
        if !x.is_finite() || x.abs() > coalmine::MAX_ABS_VALUE {
            continue;
        }
        if !seen {
            mean = x;
            seen = true;
            sum += if TAIL { 1.0 } else { 0.0 };
            continue;
        }
        let r = x - mean;
        sum += s.step::<TAIL>(&scale, r);
        mean = (1.0 - alpha) * mean + alpha * x;
    }
    sum
}

/// Holt-Winters state as plain locals.
#[derive(Debug, Clone)]
pub struct HwBare {
    /// Level.
    pub level: f64,
    /// Trend.
    pub trend: f64,
    /// Seasonal ring buffer.
    pub season: Vec<f64>,
    /// (alpha, beta, gamma, phi).
    pub params: (f64, f64, f64, f64),
}

impl HwBare {
    /// The state the benchmarks start a Holt-Winters detector with `cfg` from: level
    /// 100, no trend, `season`.
    pub fn new(cfg: &HoltWintersConfig, season: Vec<f64>) -> Self {
        let p = cfg.params;
        HwBare {
            level: 100.0,
            trend: 0.0,
            season,
            params: (p.alpha, p.beta, p.gamma, p.phi),
        }
    }
}

/// Holt-Winters over `xs` from the given state; returns the sum of tail probabilities.
pub fn hw_bare(state: &mut HwBare, xs: &[f64], scale: ScaleParams) -> f64 {
    hw_loop::<true>(state, xs, scale)
}

/// The Holt-Winters recurrence alone, no tail; returns the sum of deviations.
pub fn hw_bare_recurrence(state: &mut HwBare, xs: &[f64], scale: ScaleParams) -> f64 {
    hw_loop::<false>(state, xs, scale)
}

#[inline(always)]
fn hw_loop<const TAIL: bool>(state: &mut HwBare, xs: &[f64], scale: ScaleParams) -> f64 {
    let (alpha, beta, gamma, phi) = state.params;
    let m = state.season.len();
    let (mut level, mut trend) = (state.level, state.trend);
    let season = &mut state.season;
    let mut s = Scale::default();
    let mut pos = 0;
    let mut sum = 0.0;
    for &y in xs {
        if !y.is_finite() || y.abs() > coalmine::MAX_ABS_VALUE {
            continue;
        }
        let damped = phi * trend;
        let base = level + damped;
        let seas = season[pos];
        let forecast = base + seas;
        let new_level = alpha * (y - seas) + (1.0 - alpha) * base;
        let new_trend = beta * (new_level - level) + (1.0 - beta) * damped;
        let new_season = gamma * (y - base) + (1.0 - gamma) * seas;
        if !(new_level.abs() <= coalmine::MAX_ABS_VALUE
            && new_trend.abs() <= coalmine::MAX_ABS_VALUE
            && new_season.abs() <= coalmine::MAX_ABS_VALUE
            && forecast.abs() <= coalmine::MAX_ABS_VALUE)
        {
            continue;
        }
        sum += s.step::<TAIL>(&scale, y - forecast);
        level = new_level;
        trend = new_trend;
        season[pos] = new_season;
        pos = if pos + 1 == m { 0 } else { pos + 1 };
    }
    state.level = level;
    state.trend = trend;
    sum
}

impl ScaleParams {
    /// The residual scale's parameters of an EWMA detector with `cfg`.
    pub fn of_ewma(cfg: &EwmaConfig) -> Self {
        ScaleParams {
            alpha: cfg.variance_alpha.unwrap_or(cfg.alpha),
            clip: cfg.clip,
            warmup: cfg.warmup,
        }
    }

    /// The residual scale's parameters of a Holt-Winters detector with `cfg`.
    pub fn of_holt_winters(cfg: &HoltWintersConfig) -> Self {
        ScaleParams {
            alpha: cfg.variance_alpha,
            clip: cfg.clip,
            warmup: cfg.warmup,
        }
    }
}

/// The seasonal part of [`signal`], one value per phase: the initial season the
/// benchmarks give a Holt-Winters detector of season `m`.
pub fn initial_season(m: usize) -> Vec<f64> {
    (0..m)
        .map(|i| 20.0 * (i as f64 * std::f64::consts::TAU / m as f64).sin())
        .collect()
}

/// A deterministic seasonal test signal with noise, of season `m`.
pub fn signal(n: usize, m: usize) -> Vec<f64> {
    (0..n)
        .map(|t| {
            let noise = ((t.wrapping_mul(2_654_435_761) % 1000) as f64 / 1000.0) - 0.5;
            100.0 + 20.0 * ((t % m) as f64 * std::f64::consts::TAU / m as f64).sin() + noise
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use coalmine::{AnomalyDetector, Ewma, EwmaConfig, HoltWinters, HoltWintersConfig};

    #[test]
    fn bare_ewma_computes_what_the_detector_computes() {
        let xs = signal(5_000, 24);
        let cfg = EwmaConfig::default();
        let mut det = Ewma::new(cfg).unwrap();
        let api: f64 = xs
            .iter()
            .map(|x| det.observe(x).unwrap().tail_probability())
            .sum();
        let scale = ScaleParams::of_ewma(&cfg);
        assert_eq!(api, ewma_bare(&xs, cfg.alpha, scale));
        let mut det = Ewma::new(cfg).unwrap();
        let deviations: f64 = xs.iter().map(|x| det.observe(x).unwrap().deviation).sum();
        assert_eq!(deviations, ewma_bare_recurrence(&xs, cfg.alpha, scale));
    }

    #[test]
    fn bare_holt_winters_computes_what_the_detector_computes() {
        for m in [24, 1440] {
            let xs = signal(5 * m, m);
            let cfg = HoltWintersConfig {
                season_length: m,
                ..HoltWintersConfig::default()
            };
            let season: Vec<f64> = (0..m).map(|i| (i as f64).sin()).collect();
            let mut det = HoltWinters::new(cfg, 100.0, 0.0, &season).unwrap();
            let api: f64 = xs
                .iter()
                .map(|x| det.observe(x).unwrap().tail_probability())
                .sum();
            let mut bare = HwBare::new(&cfg, season.clone());
            let mut recurrence = bare.clone();
            let scale = ScaleParams::of_holt_winters(&cfg);
            assert_eq!(api, hw_bare(&mut bare, &xs, scale));
            assert_eq!(bare.level, det.level());
            let mut det = HoltWinters::new(cfg, 100.0, 0.0, &season).unwrap();
            let deviations: f64 = xs.iter().map(|x| det.observe(x).unwrap().deviation).sum();
            assert_eq!(deviations, hw_bare_recurrence(&mut recurrence, &xs, scale));
            assert_eq!(recurrence.level, det.level());
        }
    }
}

/// The autoencoder's scoring arithmetic written as bare loops: standardise, the two
/// matrix-vector products with tanh between them, the squared reconstruction error and
/// each input's share of it. The detector additionally validates the input and turns
/// the error into a calibrated tail probability and its z-value; the ratio of the two
/// benchmarks measures exactly that extra work.
#[derive(Debug, Clone)]
pub struct AeBare {
    d: usize,
    h: usize,
    center: Vec<f64>,
    scale: Vec<f64>,
    w1: Vec<f64>,
    b1: Vec<f64>,
    w2: Vec<f64>,
    b2: Vec<f64>,
    z: Vec<f64>,
    hid: Vec<f64>,
    shares: Vec<f64>,
}

impl AeBare {
    /// Weights of the given shape, filled deterministically (timing does not depend on
    /// their values).
    pub fn new(d: usize, h: usize) -> Self {
        let w = |n: usize, k: usize| -> Vec<f64> {
            (0..n)
                .map(|i| (((i * 7 + k) % 11) as f64 - 5.0) / 10.0)
                .collect()
        };
        AeBare {
            d,
            h,
            center: vec![100.0; d],
            scale: vec![20.0; d],
            w1: w(h * d, 1),
            b1: w(h, 2),
            w2: w(d * h, 3),
            b2: w(d, 4),
            z: vec![0.0; d],
            hid: vec![0.0; h],
            shares: vec![0.0; d],
        }
    }

    /// Mean squared standardised reconstruction error of `x`; fills the shares.
    // Index loops on purpose: this is the no-abstraction baseline.
    #[allow(clippy::needless_range_loop)]
    #[inline]
    pub fn score(&mut self, x: &[f64]) -> f64 {
        let (d, h) = (self.d, self.h);
        for i in 0..d {
            self.z[i] = (x[i] - self.center[i]) / self.scale[i];
        }
        for j in 0..h {
            let row = &self.w1[j * d..(j + 1) * d];
            let mut acc = self.b1[j];
            for i in 0..d {
                acc += row[i] * self.z[i];
            }
            self.hid[j] = acc.tanh();
        }
        let mut total = 0.0;
        for i in 0..d {
            let row = &self.w2[i * h..(i + 1) * h];
            let mut acc = self.b2[i];
            for j in 0..h {
                acc += row[j] * self.hid[j];
            }
            let r = acc - self.z[i];
            self.shares[i] = r * r;
            total += r * r;
        }
        if total > 0.0 {
            for s in &mut self.shares {
                *s /= total;
            }
        }
        total / d as f64
    }
}
