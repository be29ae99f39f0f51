//! The network `d -> h -> d` and its training: the forward pass used to score, and
//! mini-batch Adam on the mean squared reconstruction error.

use ndarray::Array2;

use super::AutoencoderConfig;
use crate::Error;
use crate::math::rng::Rng;

/// Adam's first-moment decay.
const BETA1: f64 = 0.9;
/// Adam's second-moment decay.
const BETA2: f64 = 0.999;
/// Adam's denominator guard.
const ADAM_EPS: f64 = 1e-8;

/// The network's parameters (also used for their gradients and Adam moments).
///
/// `w1` is `hidden x dim` and `w2` is `dim x hidden`, both stored row-major in plain
/// vectors, so that every product is a sequential sweep over contiguous rows: no
/// CPU-dependent matrix kernel, the same bits on every platform, nothing allocated.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Net {
    pub(super) dim: usize,
    pub(super) w1: Vec<f64>,
    pub(super) b1: Vec<f64>,
    pub(super) w2: Vec<f64>,
    pub(super) b2: Vec<f64>,
}

impl Net {
    pub(super) fn zeros(dim: usize, hidden: usize) -> Self {
        Net {
            dim,
            w1: vec![0.0; hidden * dim],
            b1: vec![0.0; hidden],
            w2: vec![0.0; dim * hidden],
            b2: vec![0.0; dim],
        }
    }

    pub(super) fn hidden(&self) -> usize {
        self.b1.len()
    }

    /// Glorot-uniform weights (`U(-a, a)`, `a = sqrt(6 / (fan_in + fan_out))`), zero
    /// biases; `w1` is drawn before `w2`, each in row-major order.
    pub(super) fn glorot(dim: usize, hidden: usize, rng: &mut Rng) -> Self {
        let a = (6.0 / (dim + hidden) as f64).sqrt();
        let mut net = Net::zeros(dim, hidden);
        for w in net.w1.iter_mut().chain(net.w2.iter_mut()) {
            *w = (2.0 * rng.uniform() - 1.0) * a;
        }
        net
    }

    pub(super) fn fill(&mut self, v: f64) {
        self.w1.fill(v);
        self.b1.fill(v);
        self.w2.fill(v);
        self.b2.fill(v);
    }

    /// Accepts parameters that are finite and at most [`crate::MAX_ABS_VALUE`] in
    /// magnitude, which keeps every score finite.
    pub(super) fn check_values(&self, what: &'static str) -> Result<(), Error> {
        for &v in self
            .w1
            .iter()
            .chain(&self.b1)
            .chain(&self.w2)
            .chain(&self.b2)
        {
            Error::check_value(what, v)?;
        }
        Ok(())
    }

    /// `hid = tanh(W1 z + b1)`, `out = W2 hid + b2`.
    #[inline]
    pub(super) fn forward(&self, z: &[f64], hid: &mut [f64], out: &mut [f64]) {
        let hidden = self.hidden().max(1);
        for ((h, row), &b) in hid
            .iter_mut()
            .zip(self.w1.chunks_exact(self.dim.max(1)))
            .zip(&self.b1)
        {
            *h = (dot(row, z) + b).tanh();
        }
        for ((o, row), &b) in out
            .iter_mut()
            .zip(self.w2.chunks_exact(hidden))
            .zip(&self.b2)
        {
            *o = dot(row, hid) + b;
        }
    }

    /// The weight matrices as ndarray matrices (`hidden x dim`, `dim x hidden`).
    pub(super) fn matrices(&self) -> (Array2<f64>, Array2<f64>) {
        let (d, h) = (self.dim, self.hidden());
        let w1 = Array2::from_shape_fn((h, d), |(i, j)| {
            self.w1.get(i * d + j).copied().unwrap_or(0.0)
        });
        let w2 = Array2::from_shape_fn((d, h), |(i, j)| {
            self.w2.get(i * h + j).copied().unwrap_or(0.0)
        });
        (w1, w2)
    }
}

/// Sequential dot product (a fixed summation order, for reproducibility).
#[inline]
fn dot(w: &[f64], x: &[f64]) -> f64 {
    w.iter().zip(x).fold(0.0, |acc, (a, b)| acc + a * b)
}

/// The bias-corrected step size of one Adam update.
struct AdamStep {
    lr: f64,
    bc1: f64,
    bc2: f64,
}

fn adam_update(p: &mut [f64], g: &[f64], m: &mut [f64], v: &mut [f64], step: &AdamStep) {
    for (((p, &g), m), v) in p.iter_mut().zip(g).zip(m.iter_mut()).zip(v.iter_mut()) {
        *m = BETA1 * *m + (1.0 - BETA1) * g;
        *v = BETA2 * *v + (1.0 - BETA2) * g * g;
        let m_hat = *m / step.bc1;
        let v_hat = *v / step.bc2;
        *p -= step.lr * m_hat / (v_hat.sqrt() + ADAM_EPS);
    }
}

/// Mini-batch Adam on the mean squared reconstruction error of the standardised
/// training rows (`train`, row-major with `net.dim` columns), plus
/// `weight_decay / 2 * |W|^2`.
pub(super) fn fit(net: &mut Net, train: &[f64], config: &AutoencoderConfig, rng: &mut Rng) {
    let dim = net.dim.max(1);
    let hidden = net.hidden();
    let n = train.len() / dim;
    let batch = config.batch_size.clamp(1, n.max(1));
    let wd = config.weight_decay;
    let mut grad = Net::zeros(dim, hidden);
    let mut m = Net::zeros(dim, hidden);
    let mut v = Net::zeros(dim, hidden);
    let mut hid = vec![0.0; hidden];
    let mut out = vec![0.0; dim];
    let mut dy = vec![0.0; dim];
    let mut dh = vec![0.0; hidden];
    let mut order: Vec<usize> = (0..n).collect();
    let (mut beta1_t, mut beta2_t) = (1.0_f64, 1.0_f64);
    for _ in 0..config.epochs {
        rng.shuffle(&mut order);
        for chunk in order.chunks(batch) {
            grad.fill(0.0);
            let inv = 2.0 / (chunk.len() * dim) as f64;
            for &r in chunk {
                let Some(x) = train.get(r * dim..(r + 1) * dim) else {
                    continue;
                };
                net.forward(x, &mut hid, &mut out);
                // d loss / d output.
                for ((d, &o), &xi) in dy.iter_mut().zip(&out).zip(x) {
                    *d = inv * (o - xi);
                }
                // Output layer, and back-propagation into the hidden layer.
                dh.fill(0.0);
                for (((g_row, w_row), gb), &d) in grad
                    .w2
                    .chunks_exact_mut(hidden)
                    .zip(net.w2.chunks_exact(hidden))
                    .zip(grad.b2.iter_mut())
                    .zip(&dy)
                {
                    *gb += d;
                    for (((g, &w), &h), acc) in
                        g_row.iter_mut().zip(w_row).zip(&hid).zip(dh.iter_mut())
                    {
                        *g += d * h;
                        *acc += d * w;
                    }
                }
                // Through tanh, then the input layer.
                for ((g_row, gb), (acc, &h)) in grad
                    .w1
                    .chunks_exact_mut(dim)
                    .zip(grad.b1.iter_mut())
                    .zip(dh.iter_mut().zip(&hid))
                {
                    *acc *= 1.0 - h * h;
                    let d = *acc;
                    *gb += d;
                    for (g, &xi) in g_row.iter_mut().zip(x) {
                        *g += d * xi;
                    }
                }
            }
            if wd > 0.0 {
                for (g, &w) in grad.w1.iter_mut().zip(&net.w1) {
                    *g += wd * w;
                }
                for (g, &w) in grad.w2.iter_mut().zip(&net.w2) {
                    *g += wd * w;
                }
            }
            beta1_t *= BETA1;
            beta2_t *= BETA2;
            let step = AdamStep {
                lr: config.learning_rate,
                bc1: 1.0 - beta1_t,
                bc2: 1.0 - beta2_t,
            };
            adam_update(&mut net.w1, &grad.w1, &mut m.w1, &mut v.w1, &step);
            adam_update(&mut net.b1, &grad.b1, &mut m.b1, &mut v.b1, &step);
            adam_update(&mut net.w2, &grad.w2, &mut m.w2, &mut v.w2, &step);
            adam_update(&mut net.b2, &grad.b2, &mut m.b2, &mut v.b2, &step);
        }
    }
}

/// Preallocated buffers for scoring one vector.
#[derive(Debug, Clone)]
pub(super) struct Scratch {
    pub(super) z: Vec<f64>,
    pub(super) hid: Vec<f64>,
    pub(super) out: Vec<f64>,
    pub(super) shares: Vec<f64>,
}

impl Scratch {
    pub(super) fn new(dim: usize, hidden: usize) -> Self {
        Scratch {
            z: vec![0.0; dim],
            hid: vec![0.0; hidden],
            out: vec![0.0; dim],
            shares: vec![1.0 / dim.max(1) as f64; dim],
        }
    }

    /// Standardises and reconstructs `x` (length already checked), fills the
    /// per-dimension shares, and returns the mean squared standardised error.
    pub(super) fn reconstruct<'a>(
        &mut self,
        net: &Net,
        center: &[f64],
        scale: &[f64],
        x: impl IntoIterator<Item = &'a f64>,
    ) -> f64 {
        for (((z, &xi), &c), &s) in self.z.iter_mut().zip(x).zip(center).zip(scale) {
            *z = (xi - c) / s;
        }
        net.forward(&self.z, &mut self.hid, &mut self.out);
        let mut total = 0.0;
        for ((share, &o), &z) in self.shares.iter_mut().zip(&self.out).zip(&self.z) {
            let r = o - z;
            *share = r * r;
            total += *share;
        }
        let dim = self.shares.len().max(1) as f64;
        if total > 0.0 {
            for share in self.shares.iter_mut() {
                *share /= total;
            }
        } else {
            self.shares.fill(1.0 / dim);
        }
        total / dim
    }
}
