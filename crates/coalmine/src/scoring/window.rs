//! The scorer's running statistics: the residual scale that turns a forecast error
//! into a tail probability, and the rolling windows of the anomaly likelihood.

use crate::math::{dist, ew};

/// Residuals seen before a residual scale is trusted.
const WARMUP: u64 = 10;
/// Winsorisation of residuals entering the scale, in scale units.
const CLIP: f64 = 5.0;
/// Exponentially weighted mean of squared residuals (winsorised, floored) and the
/// tail probability of a residual against it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct ResidualScale {
    alpha: f64,
    var: f64,
    n: u64,
}

impl ResidualScale {
    /// A scale that starts warm, from a known mean square (a fit's in-sample error).
    pub(super) fn warm(alpha: f64, mean_square: f64) -> Self {
        ResidualScale {
            alpha,
            var: mean_square,
            n: WARMUP,
        }
    }

    pub(super) fn new(alpha: f64) -> Self {
        ResidualScale {
            alpha,
            var: 0.0,
            n: 0,
        }
    }

    /// Two-sided normal tail probability of residual `e` (1 during warm-up), then
    /// absorbs `e`. `floor` is the smallest scale used.
    pub(super) fn assess(&mut self, e: f64, floor: f64) -> f64 {
        let sd = self.var.sqrt().max(floor);
        let warm = self.n >= WARMUP;
        let p = if warm {
            dist::normal_two_sided(e / sd)
        } else {
            1.0
        };
        let r = if warm {
            e.clamp(-CLIP * sd, CLIP * sd)
        } else {
            e
        };
        self.n += 1;
        self.var = ew::mean_square(self.var, r, ew::weight(self.alpha, self.n));
        p
    }
}

/// A ring buffer with running mean and variance (sums recomputed exactly once per
/// lap, so rounding cannot accumulate).
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Window {
    buf: Vec<f64>,
    pos: usize,
    /// Values in the window (at most its capacity).
    pub(super) len: usize,
    sum: f64,
    sum_sq: f64,
}

impl Window {
    pub(super) fn new(cap: usize) -> Self {
        Window {
            buf: vec![0.0; cap.max(1)],
            pos: 0,
            len: 0,
            sum: 0.0,
            sum_sq: 0.0,
        }
    }

    pub(super) fn push(&mut self, v: f64) {
        let cap = self.buf.len();
        if self.len == cap {
            let old = self.buf[self.pos];
            self.sum -= old;
            self.sum_sq -= old * old;
        } else {
            self.len += 1;
        }
        self.buf[self.pos] = v;
        self.sum += v;
        self.sum_sq += v * v;
        self.pos += 1;
        if self.pos == cap {
            self.pos = 0;
            let live = &self.buf[..self.len];
            self.sum = live.iter().sum();
            self.sum_sq = live.iter().map(|v| v * v).sum();
        }
    }

    pub(super) fn mean(&self) -> f64 {
        if self.len == 0 {
            0.0
        } else {
            self.sum / self.len as f64
        }
    }

    pub(super) fn variance(&self) -> f64 {
        if self.len == 0 {
            return 0.0;
        }
        let m = self.mean();
        (self.sum_sq / self.len as f64 - m * m).max(0.0)
    }

    pub(super) fn max(&self) -> f64 {
        self.buf[..self.len].iter().copied().fold(0.0, f64::max)
    }
}
