//! Multivariate anomaly detection with a small dense autoencoder.
//!
//! An [`Autoencoder`] learns what a healthy segment's *vector* of metrics looks like
//! (latency, error rate, CPU, ... observed together) and flags vectors whose metrics
//! are each unremarkable but whose combination is not: a latency that is normal on
//! its own yet far too high for the request rate that came with it.
//!
//! The network is `d -> h -> d`: `hidden = tanh(W1 z + b1)`, `output = W2 hidden + b2`
//! (linear output), trained to reproduce its standardised input `z`. A vector that
//! breaks the correlations of the training data cannot be squeezed through the narrow
//! hidden layer and comes back with a large reconstruction error. That error is turned
//! into a calibrated tail probability by comparing it with the errors on held-out
//! training rows the network never saw (see [`Autoencoder::tail_probability`]).
//!
//! Training is deterministic: the same data, configuration and seed give bit-for-bit
//! the same model on every platform (one seeded generator, sequential arithmetic, no
//! threads and no CPU-dependent matrix kernels). Scoring allocates nothing.
//!
//! ```
//! use coalmine::{AnomalyDetector, Autoencoder, AutoencoderConfig};
//! use ndarray::Array2;
//!
//! // Two metrics that move together: the second is twice the first.
//! let data = Array2::from_shape_fn((200, 2), |(i, j)| {
//!     let t = (i as f64 * 0.37).sin();
//!     if j == 0 { t } else { 2.0 * t + 0.01 * (i as f64 * 1.3).cos() }
//! });
//! let config = AutoencoderConfig { hidden: 1, epochs: 30, ..AutoencoderConfig::default() };
//! let mut det = Autoencoder::train(config, data.view())?;
//! let normal = det.observe(&[0.5, 1.0])?;
//! let broken = det.observe(&[0.5, -1.0])?;
//! assert!(broken.tail_probability() < normal.tail_probability());
//! assert!(det.shares().iter().sum::<f64>() > 0.999);
//! # Ok::<(), coalmine::Error>(())
//! ```

use ndarray::ArrayView2;
use serde::{Deserialize, Serialize};

use self::calibration::{Tail, check_calibration, thin_sorted};
use self::net::{Net, Scratch, fit};
use self::state::AutoencoderState;
use super::{Anomaly, AnomalyDetector};
use crate::Error;
use crate::math::dist;
use crate::math::rng::Rng;
use crate::math::robust::{MAD_TO_SD, quantile_sorted};

mod calibration;
mod net;
mod state;

/// Largest number of metrics (input dimension) accepted.
const MAX_DIM: usize = 1024;
/// Largest hidden layer accepted (independently of the `4 * d` bound).
const MAX_HIDDEN: usize = 4096;
/// Largest number of training epochs accepted.
const MAX_EPOCHS: usize = 100_000;
/// Fewest training rows accepted (the bound is `max(MIN_ROWS, 2 * d)`).
const MIN_ROWS: usize = 20;
/// Most held-out errors kept for calibration.
const MAX_CALIBRATION: usize = 2000;
/// Floor of the per-dimension scale of the standardiser.
const MIN_SCALE: f64 = 1e-9;
/// Standardised training values are clipped to this magnitude so that one wild value
/// cannot overflow the gradients.
const TRAIN_CLIP: f64 = 1e6;

/// Hyper-parameters of [`Autoencoder::train`].
///
/// Every field has a default (`hidden` automatic, `epochs` 200, `batch_size` 32,
/// `learning_rate` 0.01, `holdout_fraction` 0.2, `seed` 0, `weight_decay` 1e-4), and a
/// serialised configuration may leave any of them out.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct AutoencoderConfig {
    /// Width of the hidden (bottleneck) layer: 0 (the default) chooses `ceil(d / 2)`
    /// capped at 16; otherwise at least 1, at most `4 * d` and 4096.
    /// It should be below the number of metrics `d`, ideally about the number of
    /// independent factors that drive them, so that the network has to learn their
    /// correlations rather than copy its input: a wider bottleneck can partly encode
    /// correlation-breaking directions, which costs detection power and blurs which
    /// metric [`Autoencoder::shares`] blames.
    pub hidden: usize,
    /// Passes over the training rows: 1 to 100 000.
    pub epochs: usize,
    /// Rows per Adam step: at least 1 (a batch larger than the training set is the
    /// whole training set).
    pub batch_size: usize,
    /// Adam step size: finite and positive.
    pub learning_rate: f64,
    /// Share of the rows held out of training to calibrate tail probabilities: in
    /// `[0.05, 0.5]`.
    pub holdout_fraction: f64,
    /// Seed of the split, the initial weights and the batch order.
    pub seed: u64,
    /// L2 penalty on the weights (not the biases), added to the gradient as
    /// `weight_decay * W`: finite and `>= 0`.
    pub weight_decay: f64,
}

impl Default for AutoencoderConfig {
    fn default() -> Self {
        AutoencoderConfig {
            hidden: 0,
            epochs: 200,
            batch_size: 32,
            learning_rate: 1e-2,
            holdout_fraction: 0.2,
            seed: 0,
            weight_decay: 1e-4,
        }
    }
}

impl AutoencoderConfig {
    /// The configuration with an automatic `hidden` (0) resolved for `dim` metrics:
    /// half the metrics, rounded up, at most 16 — narrow enough that the network must
    /// learn how the metrics move together instead of copying them.
    pub fn resolved(&self, dim: usize) -> AutoencoderConfig {
        let hidden = if self.hidden == 0 {
            dim.div_ceil(2).clamp(1, 16)
        } else {
            self.hidden
        };
        AutoencoderConfig { hidden, ..*self }
    }

    /// Checks the configuration for data with `dim` metrics: everything
    /// [`validate`](Self::validate) checks, and the hidden width against `dim`
    /// ([`Error::InvalidParameter`] for the first field out of range).
    pub fn validate_for(&self, dim: usize) -> Result<(), Error> {
        let max_hidden = dim.saturating_mul(4).min(MAX_HIDDEN);
        let hidden = self.resolved(dim).hidden;
        if hidden == 0 || hidden > max_hidden {
            return Err(Error::param(
                "hidden",
                hidden as f64,
                "must be at least 1 and at most min(4 * dimension, 4096)",
            ));
        }
        self.validate()
    }

    /// Checks every field that does not depend on the data's dimension (the hidden
    /// width only against its absolute limit of 4096; [`validate_for`](Self::validate_for)
    /// checks it against the dimension), returning [`Error::InvalidParameter`] for the
    /// first field out of range.
    pub fn validate(&self) -> Result<(), Error> {
        if self.hidden > MAX_HIDDEN {
            return Err(Error::param(
                "hidden",
                self.hidden as f64,
                "must be at most 4096 (0 chooses automatically)",
            ));
        }
        if self.epochs == 0 || self.epochs > MAX_EPOCHS {
            return Err(Error::param(
                "epochs",
                self.epochs as f64,
                "must be in 1..=100000",
            ));
        }
        if self.batch_size == 0 {
            return Err(Error::param(
                "batch_size",
                self.batch_size as f64,
                "must be at least 1",
            ));
        }
        if !(self.learning_rate.is_finite() && self.learning_rate > 0.0) {
            return Err(Error::param(
                "learning_rate",
                self.learning_rate,
                "must be finite and > 0",
            ));
        }
        if !(0.05..=0.5).contains(&self.holdout_fraction) {
            return Err(Error::param(
                "holdout_fraction",
                self.holdout_fraction,
                "must be in [0.05, 0.5]",
            ));
        }
        if !(self.weight_decay.is_finite() && self.weight_decay >= 0.0) {
            return Err(Error::param(
                "weight_decay",
                self.weight_decay,
                "must be finite and >= 0",
            ));
        }
        Ok(())
    }
}

/// A trained autoencoder that scores vectors of metrics.
///
/// Build one with [`Autoencoder::train`] on rows of healthy (baseline) observations,
/// then feed it vectors with [`AnomalyDetector::observe`] or
/// [`Autoencoder::score_into`]. The model does not learn while scoring: apart from a
/// counter of accepted vectors and scratch buffers, it is immutable, so scores do not
/// depend on the order in which vectors arrive. It is ready from the start.
///
/// For each vector the detector reports an [`Anomaly`] whose `expected` is the median
/// held-out reconstruction error, `residual` the vector's error minus that median,
/// `tail_probability` the calibrated upper-tail probability of the error (see
/// [`Autoencoder::tail_probability`]) and `deviation` the one-sided normal quantile of
/// that probability (`P(Z >= deviation) = tail_probability`), so that deviations are
/// comparable with the univariate detectors'. The probability used for `deviation` is
/// clamped to `[1e-300, n / (n + 1)]` (`n` the calibration size): the empirical tail
/// cannot resolve more than that, and the clamp keeps `deviation` finite.
///
/// [`Autoencoder::shares`] then tells which metrics carried the error.
///
/// Serialising stores the standardiser, the weights, the sorted calibration errors,
/// the configuration and the counter; deserialising checks all of them (shapes,
/// finite values, sorted calibration) and fails with a message rather than produce a
/// broken model.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(try_from = "AutoencoderState", into = "AutoencoderState")]
pub struct Autoencoder {
    config: AutoencoderConfig,
    /// Per-dimension median of the training rows.
    center: Vec<f64>,
    /// Per-dimension robust scale of the training rows (at least `MIN_SCALE`).
    scale: Vec<f64>,
    net: Net,
    /// Held-out reconstruction errors, sorted ascending, non-empty.
    holdout: Vec<f64>,
    /// Summary of `holdout` used for tail probabilities (derived, not serialised).
    tail: Tail,
    observations: u64,
    scratch: Scratch,
}

impl Autoencoder {
    /// Trains an autoencoder on `data`, whose rows are observations and whose `d`
    /// columns are the metrics.
    ///
    /// Steps, all deterministic given `config.seed`:
    /// 1. The row indices are shuffled with the seeded generator; the first
    ///    `round(rows * holdout_fraction)` are held out, the rest train the model.
    /// 2. The standardiser is learned from the training rows: per-dimension median and
    ///    robust scale `1.4826 * MAD` (the standard deviation when the MAD is 0),
    ///    floored at 1e-9 so that a constant column does not divide by zero. All
    ///    training and scoring happens on standardised vectors (training values are
    ///    clipped to ±1e6 to keep gradients finite).
    /// 3. Weights are initialised Glorot-uniform, biases at 0, and trained with Adam
    ///    (β1 0.9, β2 0.999, ε 1e-8) on the mean squared reconstruction error of
    ///    mini-batches, reshuffled every epoch, plus the L2 weight decay.
    /// 4. The reconstruction errors of the held-out rows are sorted and kept (at most
    ///    2000 of them: evenly spaced order statistics when there are more) to
    ///    calibrate tail probabilities.
    ///
    /// Errors: `d` of 0 ([`Error::InvalidParameter`]) or above 1024
    /// ([`Error::TooLarge`]); an invalid configuration ([`Error::InvalidParameter`]);
    /// fewer than `max(20, 2 * d)` rows ([`Error::InsufficientData`]); a NaN or
    /// infinite entry ([`Error::NonFinite`]) or one beyond [`crate::MAX_ABS_VALUE`]
    /// ([`Error::OutOfRange`]); weights that diverged during training, which takes
    /// an absurd learning rate ([`Error::NonFinite`] or [`Error::OutOfRange`]).
    pub fn train(config: AutoencoderConfig, data: ArrayView2<'_, f64>) -> Result<Self, Error> {
        let (rows, dim) = data.dim();
        check_dim(dim)?;
        let config = config.resolved(dim);
        config.validate_for(dim)?;
        let needed = MIN_ROWS.max(2 * dim);
        if rows < needed {
            return Err(Error::InsufficientData {
                what: "autoencoder training rows",
                needed,
                got: rows,
            });
        }
        for &v in data.iter() {
            Error::check_value("autoencoder training data", v)?;
        }

        let mut rng = Rng::new(config.seed);
        let mut order: Vec<usize> = (0..rows).collect();
        rng.shuffle(&mut order);
        let n_hold = ((rows as f64 * config.holdout_fraction).round() as usize).clamp(1, rows - 1);
        let (hold_idx, train_idx) = order.split_at(n_hold);

        let (center, scale) = standardiser(data, train_idx);
        let mut train = Vec::with_capacity(train_idx.len() * dim);
        for &r in train_idx {
            let row = data.row(r);
            for ((&v, &c), &s) in row.iter().zip(&center).zip(&scale) {
                train.push(((v - c) / s).clamp(-TRAIN_CLIP, TRAIN_CLIP));
            }
        }

        let mut net = Net::glorot(dim, config.hidden, &mut rng);
        fit(&mut net, &train, &config, &mut rng);
        // Only an absurd learning rate makes training diverge.
        net.check_values("autoencoder weight after training")?;

        let mut scratch = Scratch::new(dim, config.hidden);
        let mut errors: Vec<f64> = hold_idx
            .iter()
            .map(|&r| scratch.reconstruct(&net, &center, &scale, data.row(r)))
            .collect();
        errors.sort_by(f64::total_cmp);
        let holdout = thin_sorted(errors, MAX_CALIBRATION);
        check_calibration(&holdout)?;
        Ok(Self::assemble(config, center, scale, net, holdout, 0))
    }

    /// Trains like [`Autoencoder::train`] on `rows` observations stored row after row
    /// in one flat slice (`data[r * d + j]` is metric `j` of row `r`, with
    /// `d = data.len() / rows`): the layout a C array, a numpy array in C order or a Go
    /// slice already has, so a binding passes its buffer without building a matrix.
    ///
    /// Errors: as [`Autoencoder::train`], and [`Error::LengthMismatch`] when
    /// `data.len()` is not a multiple of `rows`, [`Error::InsufficientData`] when
    /// `rows` is 0.
    pub fn train_flat(config: AutoencoderConfig, data: &[f64], rows: usize) -> Result<Self, Error> {
        if rows == 0 {
            return Err(Error::InsufficientData {
                what: "autoencoder training rows",
                needed: MIN_ROWS,
                got: 0,
            });
        }
        let dim = data.len() / rows;
        let view = ArrayView2::from_shape((rows, dim), data)
            .ok()
            .filter(|_| dim * rows == data.len())
            .ok_or(Error::LengthMismatch {
                what: "autoencoder training data (rows x metrics)",
                expected: rows * dim.max(1),
                got: data.len(),
            })?;
        Self::train(config, view)
    }

    /// Builds the model from checked parts, deriving the tail summary and scratch.
    fn assemble(
        config: AutoencoderConfig,
        center: Vec<f64>,
        scale: Vec<f64>,
        net: Net,
        holdout: Vec<f64>,
        observations: u64,
    ) -> Self {
        let tail = Tail::from_sorted(&holdout);
        let scratch = Scratch::new(center.len(), config.hidden);
        Autoencoder {
            config,
            center,
            scale,
            net,
            holdout,
            tail,
            observations,
            scratch,
        }
    }

    /// Number of metrics `d` in a vector.
    pub fn dim(&self) -> usize {
        self.center.len()
    }

    /// Width of the hidden layer.
    pub fn hidden(&self) -> usize {
        self.config.hidden
    }

    /// The configuration the model was trained with.
    pub fn config(&self) -> &AutoencoderConfig {
        &self.config
    }

    /// Per-dimension centre (median of the training rows) of the standardiser.
    pub fn center(&self) -> &[f64] {
        &self.center
    }

    /// Per-dimension scale of the standardiser (robust scale of the training rows,
    /// at least 1e-9).
    pub fn scale(&self) -> &[f64] {
        &self.scale
    }

    /// The held-out reconstruction errors used for calibration, sorted ascending
    /// (at most 2000).
    pub fn holdout_errors(&self) -> &[f64] {
        &self.holdout
    }

    /// Number of held-out errors used for calibration.
    pub fn calibration_size(&self) -> usize {
        self.holdout.len()
    }

    /// The median held-out reconstruction error (the `expected` of every anomaly).
    pub fn median_error(&self) -> f64 {
        self.tail.median
    }

    /// Calibrated upper-tail probability of a reconstruction error (the mean over
    /// dimensions of the squared standardised reconstruction error).
    ///
    /// With the `n` sorted held-out errors `s` and their 90th percentile `q90`
    /// (linear interpolation):
    /// * for `error <= q90`, the empirical upper tail
    ///   `p = (1 + #{s_i >= error}) / (n + 1)`, a conformal p-value (`P(p <= a) <= a`
    ///   for a vector exchangeable with the held-out rows) that is never 0;
    /// * beyond `q90`, an exponential tail (peaks over threshold with shape 0):
    ///   `p = p(q90) * exp(-(error - q90) / beta)`, where `beta` is the mean excess
    ///   `s_i - q90` of the held-out errors above `q90` (floored at the smallest
    ///   positive normal number), so that probabilities keep falling smoothly past the
    ///   largest held-out error instead of stopping at `1 / (n + 1)`.
    ///
    /// The function is continuous at `q90`, non-increasing, in `[0, 1]`; NaN gives 1
    /// (no evidence).
    pub fn tail_probability(&self, error: f64) -> f64 {
        self.tail.probability(&self.holdout, error)
    }

    /// Each metric's share of the squared reconstruction error of the last accepted
    /// vector (sums to 1; all `1 / d` when the error is exactly 0 or before the first
    /// vector). Shares are in standardised units, so a metric's share says how far off
    /// it is relative to its own baseline spread.
    pub fn shares(&self) -> &[f64] {
        &self.scratch.shares
    }

    /// Scores `x` like [`AnomalyDetector::observe`] and copies the per-metric shares
    /// of the error (see [`Autoencoder::shares`]) into `shares`, which must have
    /// length `d`. Allocates nothing.
    ///
    /// Errors (the detector is left unchanged): [`Error::LengthMismatch`] if `x` or
    /// `shares` does not have length `d`; [`Error::NonFinite`] or
    /// [`Error::OutOfRange`] for a bad entry of `x`.
    pub fn score_into(&mut self, x: &[f64], shares: &mut [f64]) -> Result<Anomaly, Error> {
        if shares.len() != self.dim() {
            return Err(Error::LengthMismatch {
                what: "autoencoder shares",
                expected: self.dim(),
                got: shares.len(),
            });
        }
        let anomaly = self.observe(x)?;
        shares.copy_from_slice(&self.scratch.shares);
        Ok(anomaly)
    }

    /// Checks that `x` can be scored, without touching the detector.
    fn check_input(&self, x: &[f64]) -> Result<(), Error> {
        if x.len() != self.dim() {
            return Err(Error::LengthMismatch {
                what: "autoencoder input",
                expected: self.dim(),
                got: x.len(),
            });
        }
        for &v in x {
            Error::check_value("autoencoder input", v)?;
        }
        Ok(())
    }

    /// The anomaly for a reconstruction error.
    fn assess(&self, error: f64) -> Anomaly {
        let p = self.tail_probability(error);
        let n = self.holdout.len() as f64;
        let p_dev = p.clamp(1e-300, n / (n + 1.0));
        Anomaly::with_probability(
            self.tail.median,
            error - self.tail.median,
            dist::normal_upper_quantile(p_dev),
            p,
            true,
        )
    }
}

/// Two models are equal when they would score every vector identically: same
/// configuration, standardiser, weights and calibration (scratch buffers and the
/// observation counter are not part of the model).
impl PartialEq for Autoencoder {
    fn eq(&self, other: &Self) -> bool {
        self.config == other.config
            && self.center == other.center
            && self.scale == other.scale
            && self.net == other.net
            && self.holdout == other.holdout
    }
}

impl AnomalyDetector for Autoencoder {
    type Input = [f64];

    /// Scores a vector of `d` metrics: standardises it, reconstructs it, and turns the
    /// mean squared standardised reconstruction error into an [`Anomaly`]. Updates the
    /// per-metric [`Autoencoder::shares`] and the observation counter; the model itself
    /// does not change. Allocates nothing.
    ///
    /// Errors (the detector is left unchanged): [`Error::LengthMismatch`] with `what`
    /// `"autoencoder input"`; [`Error::NonFinite`] or [`Error::OutOfRange`] for a bad
    /// entry.
    fn observe(&mut self, x: &[f64]) -> Result<Anomaly, Error> {
        self.check_input(x)?;
        let error = self
            .scratch
            .reconstruct(&self.net, &self.center, &self.scale, x);
        self.observations = self.observations.saturating_add(1);
        Ok(self.assess(error))
    }

    fn observations(&self) -> u64 {
        self.observations
    }

    /// Always true: a trained autoencoder is calibrated from the start.
    fn is_ready(&self) -> bool {
        true
    }
}

/// Rejects a dimension outside `1..=MAX_DIM`.
fn check_dim(dim: usize) -> Result<(), Error> {
    if dim == 0 {
        return Err(Error::param(
            "dimension",
            0.0,
            "the data must have at least one column",
        ));
    }
    if dim > MAX_DIM {
        return Err(Error::TooLarge {
            what: "autoencoder dimension",
            got: dim,
            limit: MAX_DIM,
        });
    }
    Ok(())
}

/// Per-dimension median and robust scale of the rows `rows` of `data`.
fn standardiser(data: ArrayView2<'_, f64>, rows: &[usize]) -> (Vec<f64>, Vec<f64>) {
    let dim = data.ncols();
    let mut center = Vec::with_capacity(dim);
    let mut scale = Vec::with_capacity(dim);
    let mut col = vec![0.0; rows.len()];
    for j in 0..dim {
        for (c, &r) in col.iter_mut().zip(rows) {
            *c = data[[r, j]];
        }
        col.sort_by(f64::total_cmp);
        let median = quantile_sorted(&col, 0.5);
        let n = col.len() as f64;
        let mean = col.iter().sum::<f64>() / n;
        let var = col.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / (n - 1.0).max(1.0);
        for c in col.iter_mut() {
            *c = (*c - median).abs();
        }
        col.sort_by(f64::total_cmp);
        let mad = MAD_TO_SD * quantile_sorted(&col, 0.5);
        let s = if mad > 0.0 && mad.is_finite() {
            mad
        } else {
            var.sqrt()
        };
        center.push(median);
        scale.push(if s.is_finite() {
            s.max(MIN_SCALE)
        } else {
            MIN_SCALE
        });
    }
    (center, scale)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array2;
    use std::f64::consts::FRAC_1_SQRT_2;
    use std::time::Instant;

    const DIM: usize = 6;
    /// Per-metric offsets and spreads, so that the standardiser has work to do.
    const MU: [f64; DIM] = [10.0, -3.0, 0.0, 100.0, 5.0, 1.0];
    const SIGMA: [f64; DIM] = [1.0, 2.0, 0.5, 10.0, 1.0, 3.0];

    /// A healthy vector in unit scale: two latent factors, each coordinate loading on
    /// them, plus 0.1 noise. Coordinates 0 and 1 are both `z0`; 2 and 3 both `z1`.
    fn latent(rng: &mut Rng) -> [f64; DIM] {
        let (z0, z1) = (rng.normal(), rng.normal());
        let clean = [
            z0,
            z0,
            z1,
            z1,
            FRAC_1_SQRT_2 * (z0 + z1),
            FRAC_1_SQRT_2 * (z0 - z1),
        ];
        clean.map(|c| c + 0.1 * rng.normal())
    }

    fn to_metrics(u: [f64; DIM]) -> [f64; DIM] {
        let mut x = [0.0; DIM];
        for j in 0..DIM {
            x[j] = MU[j] + SIGMA[j] * u[j];
        }
        x
    }

    fn dataset(rows: usize, seed: u64) -> Array2<f64> {
        let mut rng = Rng::new(seed);
        let mut data = Array2::zeros((rows, DIM));
        for mut row in data.rows_mut() {
            for (v, x) in row.iter_mut().zip(to_metrics(latent(&mut rng))) {
                *v = x;
            }
        }
        data
    }

    fn quick() -> AutoencoderConfig {
        AutoencoderConfig {
            epochs: 20,
            ..AutoencoderConfig::default()
        }
    }

    fn median(mut xs: Vec<f64>) -> f64 {
        xs.sort_by(f64::total_cmp);
        quantile_sorted(&xs, 0.5)
    }

    #[test]
    fn flags_broken_correlations_and_is_calibrated_on_normal_data() {
        let data = dataset(2000, 1);
        let t0 = Instant::now();
        // The bottleneck matches the two latent factors: a wider one leaves room to
        // encode off-manifold directions, which blurs which metric is to blame.
        let config = AutoencoderConfig {
            hidden: 2,
            epochs: 40,
            ..AutoencoderConfig::default()
        };
        let mut det = Autoencoder::train(config, data.view()).unwrap();
        let trained = t0.elapsed();
        assert_eq!(det.calibration_size(), 400);
        assert!(det.is_ready());

        let mut rng = Rng::new(99);
        let n = 2000;
        let mut normal_errors = Vec::with_capacity(n);
        let mut below_5pc = 0;
        for _ in 0..n {
            let a = det.observe(&to_metrics(latent(&mut rng))).unwrap();
            assert!(a.ready && a.deviation.is_finite());
            assert!((0.0..=1.0).contains(&a.tail_probability()));
            below_5pc += (a.tail_probability() < 0.05) as usize;
            normal_errors.push(a.residual + a.expected);
        }
        let f5 = below_5pc as f64 / n as f64;
        assert!(
            (0.02..=0.10).contains(&f5),
            "P(p < 0.05) on normal data = {f5}"
        );

        // Break the correlation between coordinates 0 and 1 (both are z0): set the
        // second to minus the first, at an amplitude where both stay well inside
        // their marginal range (|u| <= 2.5 standard deviations).
        let m = 1000;
        let (mut flagged, mut blamed) = (0, 0);
        let mut broken_errors = Vec::with_capacity(m);
        let mut shares = [0.0; DIM];
        while broken_errors.len() < m {
            let mut u = latent(&mut rng);
            if !(1.0..=2.5).contains(&u[0].abs()) {
                continue;
            }
            u[1] = -u[0];
            let a = det.score_into(&to_metrics(u), &mut shares).unwrap();
            assert_eq!(&shares[..], det.shares());
            assert!((shares.iter().sum::<f64>() - 1.0).abs() < 1e-12);
            flagged += (a.tail_probability() < 0.01) as usize;
            let top = (0..DIM)
                .max_by(|&i, &j| shares[i].total_cmp(&shares[j]))
                .unwrap();
            blamed += (top == 1) as usize;
            broken_errors.push(a.residual + a.expected);
        }
        let flagged = flagged as f64 / m as f64;
        let blamed = blamed as f64 / m as f64;
        let (med_normal, med_broken) = (median(normal_errors), median(broken_errors));
        assert!(
            flagged >= 0.9,
            "share of broken vectors flagged = {flagged}"
        );
        assert!(blamed >= 0.75, "share blaming the broken metric = {blamed}");
        assert!(
            med_broken > 10.0 * med_normal,
            "median errors: broken {med_broken}, normal {med_normal}"
        );
        assert_eq!(det.observations(), (n + m) as u64);
        eprintln!(
            "trained in {trained:?}; P(p<0.05) normal {f5}, flagged {flagged}, blamed \
             {blamed}, median errors {med_normal} vs {med_broken}"
        );
    }

    #[test]
    fn a_flat_buffer_trains_the_same_model_as_a_matrix() {
        let data = dataset(300, 2);
        let flat: Vec<f64> = data.iter().copied().collect();
        let from_matrix = Autoencoder::train(quick(), data.view()).unwrap();
        let from_flat = Autoencoder::train_flat(quick(), &flat, 300).unwrap();
        assert_eq!(from_flat, from_matrix);
        assert!(matches!(
            Autoencoder::train_flat(quick(), &flat[1..], 300),
            Err(Error::LengthMismatch { .. })
        ));
        assert!(matches!(
            Autoencoder::train_flat(quick(), &flat, 0),
            Err(Error::InsufficientData { .. })
        ));
        assert!(matches!(
            Autoencoder::train_flat(quick(), &flat[..10], 20),
            Err(Error::LengthMismatch { .. })
        ));
    }

    #[test]
    fn training_is_deterministic_per_seed() {
        let data = dataset(300, 2);
        let a = Autoencoder::train(quick(), data.view()).unwrap();
        let b = Autoencoder::train(quick(), data.view()).unwrap();
        assert_eq!(a.net, b.net);
        assert_eq!(a.holdout_errors(), b.holdout_errors());
        assert_eq!(a.center(), b.center());
        assert_eq!(a.scale(), b.scale());
        let (mut a, mut b) = (a, b);
        let mut rng = Rng::new(5);
        for _ in 0..50 {
            let x = to_metrics(latent(&mut rng));
            assert_eq!(a.observe(&x).unwrap(), b.observe(&x).unwrap());
            assert_eq!(a.shares(), b.shares());
        }
        let c = Autoencoder::train(AutoencoderConfig { seed: 1, ..quick() }, data.view()).unwrap();
        assert_ne!(a.net.w1, c.net.w1);
        assert_ne!(a.holdout_errors(), c.holdout_errors());
    }

    #[test]
    fn clone_is_a_checkpoint() {
        fn assert_traits<T: Send + Sync + Clone + std::fmt::Debug>() {}
        assert_traits::<Autoencoder>();
        let mut a = Autoencoder::train(quick(), dataset(200, 3).view()).unwrap();
        a.observe(&MU).unwrap();
        let mut b = a.clone();
        let x = to_metrics([1.0, -1.0, 0.5, 0.5, 0.0, 0.0]);
        assert_eq!(a.observe(&x).unwrap(), b.observe(&x).unwrap());
        assert_eq!(a.shares(), b.shares());
        assert_eq!(a.observations(), 2);
        assert_eq!(b.observations(), 2);
    }

    /// Checkpoints must restore bit for bit (serde_json's `float_roundtrip` is on).
    fn close(a: f64, b: f64) -> bool {
        a.to_bits() == b.to_bits()
    }

    fn close_anomaly(a: &Anomaly, b: &Anomaly) -> bool {
        a == b
    }

    #[test]
    fn serde_round_trip_scores_identically() {
        let mut a = Autoencoder::train(quick(), dataset(300, 4).view()).unwrap();
        a.observe(&MU).unwrap();
        let json = serde_json::to_string(&a).unwrap();
        let mut b: Autoencoder = serde_json::from_str(&json).unwrap();
        assert_eq!(a.config(), b.config());
        assert_eq!(a.observations(), b.observations());
        assert_eq!((a.dim(), a.hidden()), (b.dim(), b.hidden()));
        assert_eq!(a.calibration_size(), b.calibration_size());
        // Every parameter must come back bit for bit.
        let (wa, wb) = (a.net.matrices(), b.net.matrices());
        assert_eq!(wa.0.dim(), wb.0.dim());
        assert_eq!(wa.1.dim(), wb.1.dim());
        let params = |m: &Autoencoder| -> Vec<f64> {
            let n = &m.net;
            n.w1.iter()
                .chain(&n.b1)
                .chain(&n.w2)
                .chain(&n.b2)
                .chain(&m.center)
                .chain(&m.scale)
                .chain(&m.holdout)
                .copied()
                .collect()
        };
        let (pa, pb) = (params(&a), params(&b));
        assert_eq!(pa.len(), pb.len());
        assert!(pa.iter().zip(&pb).all(|(&x, &y)| close(x, y)));
        let mut rng = Rng::new(6);
        for i in 0..50 {
            let mut u = latent(&mut rng);
            if i % 2 == 0 {
                u[3] = -u[2];
            }
            let x = to_metrics(u);
            let (sa, sb) = (a.observe(&x).unwrap(), b.observe(&x).unwrap());
            assert!(close_anomaly(&sa, &sb), "{sa:?} vs {sb:?}");
            assert!(
                a.shares()
                    .iter()
                    .zip(b.shares())
                    .all(|(&x, &y)| close(x, y))
            );
        }
        // Serialising the deserialised model again is stable.
        let again: Autoencoder = serde_json::from_str(&serde_json::to_string(&b).unwrap()).unwrap();
        assert!(params(&again).iter().zip(&pb).all(|(&x, &y)| close(x, y)));
        // A configuration may leave fields out.
        let c: AutoencoderConfig = serde_json::from_str(r#"{"hidden": 2}"#).unwrap();
        assert_eq!(
            c,
            AutoencoderConfig {
                hidden: 2,
                ..AutoencoderConfig::default()
            }
        );
    }

    #[test]
    fn corrupted_state_is_rejected() {
        let a = Autoencoder::train(quick(), dataset(300, 7).view()).unwrap();
        let value = serde_json::to_value(&a).unwrap();
        let parse = |v: &serde_json::Value| serde_json::from_value::<Autoencoder>(v.clone());
        assert!(parse(&value).is_ok());

        let corrupt = |f: &dyn Fn(&mut serde_json::Value)| {
            let mut v = value.clone();
            f(&mut v);
            parse(&v)
        };
        // Weights of the wrong shape (w2 is dim x hidden, w1 must be hidden x dim).
        let err = corrupt(&|v| v["w1"] = v["w2"].clone()).unwrap_err();
        assert!(err.to_string().contains("w1"), "{err}");
        // A bias too short, a scale missing an entry.
        assert!(
            corrupt(&|v| {
                v["b1"].as_array_mut().unwrap().pop();
            })
            .is_err()
        );
        assert!(
            corrupt(&|v| {
                v["scale"].as_array_mut().unwrap().pop();
            })
            .is_err()
        );
        // A hidden width that disagrees with the weights.
        assert!(corrupt(&|v| v["config"]["hidden"] = 2.into()).is_err());
        assert!(corrupt(&|v| v["config"]["hidden"] = 0.into()).is_err());
        // Non-finite or absurd weights, a non-positive scale.
        assert!(corrupt(&|v| v["w2"]["data"][0] = 1e300.into()).is_err());
        assert!(corrupt(&|v| v["b2"][0] = serde_json::Value::Null).is_err());
        assert!(corrupt(&|v| v["scale"][0] = 0.0.into()).is_err());
        // Unsorted, negative or empty calibration.
        assert!(
            corrupt(&|v| {
                v["holdout_errors"].as_array_mut().unwrap().reverse();
            })
            .is_err()
        );
        assert!(corrupt(&|v| v["holdout_errors"][0] = (-1.0).into()).is_err());
        assert!(corrupt(&|v| v["holdout_errors"] = serde_json::json!([])).is_err());
        // An invalid configuration.
        assert!(corrupt(&|v| v["config"]["holdout_fraction"] = 0.9.into()).is_err());

        // Text edits: an overflowing number, NaN spelt out.
        let json = serde_json::to_string(&a).unwrap();
        let w1_at = json.find("\"w1\"").unwrap();
        let data_at = w1_at + json[w1_at..].find("\"data\":[").unwrap() + "\"data\":[".len();
        let end = data_at + json[data_at..].find([',', ']']).unwrap();
        for bad in ["1e999", "NaN", "-1e400"] {
            let edited = format!("{}{}{}", &json[..data_at], bad, &json[end..]);
            assert!(
                serde_json::from_str::<Autoencoder>(&edited).is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn bad_input_is_rejected_and_leaves_the_detector_unchanged() {
        let mut det = Autoencoder::train(quick(), dataset(200, 8).view()).unwrap();
        let first = det.observe(&MU).unwrap();
        let shares_before = det.shares().to_vec();
        assert_eq!(
            det.observe(&MU[..5]),
            Err(Error::LengthMismatch {
                what: "autoencoder input",
                expected: DIM,
                got: 5,
            })
        );
        let mut x = to_metrics([2.0, -2.0, 0.0, 0.0, 0.0, 0.0]);
        x[3] = f64::NAN;
        assert!(matches!(det.observe(&x), Err(Error::NonFinite { .. })));
        x[3] = f64::NEG_INFINITY;
        assert!(matches!(det.observe(&x), Err(Error::NonFinite { .. })));
        x[3] = 1e200;
        assert!(matches!(det.observe(&x), Err(Error::OutOfRange { .. })));
        let mut shares = [0.0; DIM - 1];
        assert!(matches!(
            det.score_into(&MU, &mut shares),
            Err(Error::LengthMismatch {
                what: "autoencoder shares",
                ..
            })
        ));
        assert_eq!(det.observations(), 1);
        assert_eq!(det.shares(), &shares_before[..]);
        assert_eq!(det.observe(&MU).unwrap(), first);
        assert_eq!(det.observations(), 2);
    }

    #[test]
    fn bad_training_data_and_configuration_are_typed_errors() {
        let data = dataset(100, 9);
        let train = |c: AutoencoderConfig| Autoencoder::train(c, data.view());
        let invalid = |c: AutoencoderConfig, name: &str| match train(c) {
            Err(Error::InvalidParameter { name: got, .. }) => assert_eq!(got, name),
            other => panic!("{name}: expected InvalidParameter, got {other:?}"),
        };
        let d = AutoencoderConfig::default();
        invalid(AutoencoderConfig { hidden: 37, ..d }, "hidden");
        // Automatic width: half the metrics, rounded up.
        assert_eq!(
            train(AutoencoderConfig {
                hidden: 0,
                epochs: 1,
                ..d
            })
            .unwrap()
            .hidden(),
            DIM.div_ceil(2)
        );
        invalid(AutoencoderConfig { epochs: 0, ..d }, "epochs");
        invalid(
            AutoencoderConfig {
                epochs: 100_001,
                ..d
            },
            "epochs",
        );
        invalid(AutoencoderConfig { batch_size: 0, ..d }, "batch_size");
        for lr in [0.0, -1e-3, f64::NAN, f64::INFINITY] {
            invalid(
                AutoencoderConfig {
                    learning_rate: lr,
                    ..d
                },
                "learning_rate",
            );
        }
        for h in [0.0, 0.04, 0.51, f64::NAN] {
            invalid(
                AutoencoderConfig {
                    holdout_fraction: h,
                    ..d
                },
                "holdout_fraction",
            );
        }
        for wd in [-1e-4, f64::NAN, f64::INFINITY] {
            invalid(
                AutoencoderConfig {
                    weight_decay: wd,
                    ..d
                },
                "weight_decay",
            );
        }
        // hidden = 4 * d is the largest accepted.
        assert!(
            train(AutoencoderConfig {
                hidden: 24,
                epochs: 1,
                ..d
            })
            .is_ok()
        );

        // Too few rows: max(20, 2d).
        let few = dataset(19, 10);
        assert_eq!(
            Autoencoder::train(d, few.view()).unwrap_err(),
            Error::InsufficientData {
                what: "autoencoder training rows",
                needed: 20,
                got: 19,
            }
        );
        let wide = Array2::<f64>::zeros((30, 16));
        assert!(matches!(
            Autoencoder::train(d, wide.view()),
            Err(Error::InsufficientData { needed: 32, .. })
        ));
        // Dimensions.
        assert!(matches!(
            Autoencoder::train(d, Array2::<f64>::zeros((50, 0)).view()),
            Err(Error::InvalidParameter { .. })
        ));
        assert!(matches!(
            Autoencoder::train(d, Array2::<f64>::zeros((0, 1025)).view()),
            Err(Error::TooLarge { limit: 1024, .. })
        ));
        // Non-finite training data.
        let mut bad = data.clone();
        bad[[17, 2]] = f64::NAN;
        assert!(matches!(
            Autoencoder::train(quick(), bad.view()),
            Err(Error::NonFinite { .. })
        ));
        bad[[17, 2]] = f64::INFINITY;
        assert!(matches!(
            Autoencoder::train(quick(), bad.view()),
            Err(Error::NonFinite { .. })
        ));
    }

    #[test]
    fn constant_columns_do_not_produce_nan() {
        let mut data = dataset(200, 11);
        data.column_mut(2).fill(5.0);
        data.column_mut(4).fill(0.0);
        let mut det = Autoencoder::train(quick(), data.view()).unwrap();
        assert_eq!(det.scale()[2], MIN_SCALE);
        assert!(det.holdout_errors().iter().all(|e| e.is_finite()));
        let mut x = data.row(0).to_vec();
        let a = det.observe(&x).unwrap();
        assert!(a.deviation.is_finite() && a.residual.is_finite());
        assert!(a.tail_probability() > 0.01);
        // Any change of a constant metric is extreme, but still finite.
        x[2] = 5.1;
        let a = det.observe(&x).unwrap();
        assert!(a.deviation.is_finite() && a.residual.is_finite());
        assert!(a.tail_probability() < 1e-6);
        assert!(det.shares()[2] > 0.99);
        assert!(det.shares().iter().all(|s| s.is_finite()));

        // All columns constant: errors are exactly 0, shares are equal.
        let flat = Array2::from_elem((40, 3), 7.0);
        let mut det = Autoencoder::train(quick(), flat.view()).unwrap();
        let a = det.observe(&[7.0, 7.0, 7.0]).unwrap();
        assert_eq!(a.tail_probability(), 1.0);
        assert!(a.deviation.is_finite());
        assert_eq!(det.shares(), &[1.0 / 3.0; 3]);
        let a = det.observe(&[7.0, 7.5, 7.0]).unwrap();
        assert_eq!(a.tail_probability(), 0.0);
        assert!(a.deviation.is_finite() && a.deviation > 30.0);
        assert!(a.residual.is_finite());
    }

    #[test]
    fn extreme_values_stay_finite_and_divergence_is_an_error() {
        let mut data = dataset(200, 14);
        data.column_mut(0).mapv_inplace(|v| v * 5e98);
        data[[3, 1]] = -1e100;
        data[[4, 1]] = 1e100;
        let mut det = Autoencoder::train(quick(), data.view()).unwrap();
        assert!(det.holdout_errors().iter().all(|e| e.is_finite()));
        for x in [
            [1e100, -1e100, 1e100, -1e100, 1e100, -1e100],
            [-1e100, 1e100, 0.0, 1e-300, -1e100, 1e100],
        ] {
            let a = det.observe(&x).unwrap();
            assert!(a.residual.is_finite() && a.deviation.is_finite());
            assert!(a.tail_probability() < 1e-6, "{a:?}");
            assert!(det.shares().iter().all(|s| s.is_finite() && *s >= 0.0));
            assert!((det.shares().iter().sum::<f64>() - 1.0).abs() < 1e-9);
        }
        // A model trained on such data still round-trips.
        let json = serde_json::to_string(&det).unwrap();
        assert!(serde_json::from_str::<Autoencoder>(&json).is_ok());

        let config = AutoencoderConfig {
            learning_rate: 1e300,
            epochs: 3,
            ..AutoencoderConfig::default()
        };
        assert!(matches!(
            Autoencoder::train(config, dataset(100, 15).view()),
            Err(Error::NonFinite { .. } | Error::OutOfRange { .. })
        ));
    }

    #[test]
    fn tail_probability_is_empirical_then_exponential() {
        let det = Autoencoder::train(quick(), dataset(500, 12).view()).unwrap();
        let s = det.holdout_errors().to_vec();
        let n = s.len();
        assert_eq!(n, 100);
        assert!(s.windows(2).all(|w| w[0] <= w[1]));
        let q90 = quantile_sorted(&s, 0.9);
        // Empirical part: exactly (1 + #{s_i >= e}) / (n + 1).
        assert_eq!(det.tail_probability(0.0), 1.0);
        assert_eq!(det.tail_probability(s[50]), 51.0 / 101.0);
        // Continuous at q90, exponential beyond with the mean excess as scale.
        let p90 = det.tail_probability(q90);
        assert!((det.tail_probability(q90 * (1.0 + 1e-12)) - p90).abs() < 1e-9);
        let excess: Vec<f64> = s.iter().filter(|&&e| e > q90).map(|e| e - q90).collect();
        let beta = excess.iter().sum::<f64>() / excess.len() as f64;
        let e = s[n - 1] + 3.0 * beta;
        let want = p90 * (-(e - q90) / beta).exp();
        assert!((det.tail_probability(e) - want).abs() <= 1e-12 * want);
        assert!(det.tail_probability(e) < 1.0 / (n + 1) as f64);
        // Monotone, in [0, 1], total.
        let mut last = 1.0;
        for k in 0..400 {
            let p = det.tail_probability(k as f64 * s[n - 1] / 100.0);
            assert!((0.0..=1.0).contains(&p) && p <= last);
            last = p;
        }
        assert_eq!(det.tail_probability(f64::INFINITY), 0.0);
        assert_eq!(det.tail_probability(f64::NAN), 1.0);
        assert_eq!(det.median_error(), quantile_sorted(&s, 0.5));
    }

    #[test]
    fn calibration_is_capped_by_evenly_spaced_order_statistics() {
        let sorted: Vec<f64> = (0..5001).map(f64::from).collect();
        let thin = thin_sorted(sorted, 2000);
        assert_eq!(thin.len(), 2000);
        assert_eq!((thin[0], thin[1999]), (0.0, 5000.0));
        assert!(thin.windows(2).all(|w| (w[1] - w[0] - 2.5).abs() <= 0.5));

        let config = AutoencoderConfig {
            epochs: 1,
            batch_size: 256,
            holdout_fraction: 0.25,
            ..AutoencoderConfig::default()
        };
        let det = Autoencoder::train(config, dataset(8400, 13).view()).unwrap();
        assert_eq!(det.calibration_size(), 2000);
        assert!(det.holdout_errors().windows(2).all(|w| w[0] <= w[1]));
    }
}
