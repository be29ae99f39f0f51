//! The streaming detectors: `Ewma`, `HoltWinters`, `Autoencoder`.
//!
//! `update(x)` scores one observation; `update_many(xs)` scores a whole array with the
//! GIL released and returns numpy columns. A batch is atomic: if any value is refused,
//! none is applied, and the error names the index of the first bad one. `expected` is NaN for an observation that had no forecast
//! (the very first one an EWMA ever sees), so `Ewma.update_many(x).expected` is pandas'
//! `ewm(alpha, adjust=False).mean().shift(1)`.

use numpy::{PyArray1, PyArray2};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyType};

use crate::arrays;
use crate::core::{
    Anomaly, AnomalyColumns, AnomalyDetector, Autoencoder, AutoencoderConfig, Error, Ewma,
    EwmaConfig, FitOptions, HoltWinters, HoltWintersConfig, HoltWintersParams, MAX_ABS_VALUE,
    MAX_SEASON_LENGTH,
};
use crate::error::{BindError, BindResult};

/// A non-negative integer parameter, refused like the core refuses a bad parameter.
pub(crate) fn count(name: &'static str, v: i64) -> BindResult<u64> {
    u64::try_from(v).map_err(|_| {
        Error::InvalidParameter {
            name,
            value: v as f64,
            reason: "must not be negative",
        }
        .into()
    })
}

/// The check the core applies to every entry of an autoencoder input, done up front so
/// that a batch of rows fails before anything is applied (the core has no batch for
/// the autoencoder).
fn check_value(what: &'static str, x: f64) -> Result<(), Error> {
    if !x.is_finite() {
        Err(Error::NonFinite { what, value: x })
    } else if x.abs() > MAX_ABS_VALUE {
        Err(Error::OutOfRange {
            what,
            value: x,
            limit: MAX_ABS_VALUE,
        })
    } else {
        Ok(())
    }
}

/// A corrupt saved detector is a corrupt checkpoint of that detector.
fn corrupt(kind: &str, e: serde_json::Error) -> BindError {
    Error::CorruptCheckpoint {
        reason: format!("{kind} state: {e}"),
    }
    .into()
}

/// What one observation got: the forecast made before it, the residual, the signed
/// standardised deviation, the calibrated two-sided tail probability, and whether the
/// detector had finished warming up.
#[pyclass(module = "coalmine", name = "Anomaly", frozen, get_all)]
#[derive(Debug, Clone, Copy)]
pub(crate) struct PyAnomaly {
    expected: f64,
    residual: f64,
    deviation: f64,
    tail_probability: f64,
    ready: bool,
}

impl PyAnomaly {
    fn new(a: &Anomaly, had_forecast: bool) -> Self {
        let (expected, residual) = if had_forecast {
            (a.expected, a.residual)
        } else {
            (f64::NAN, f64::NAN)
        };
        PyAnomaly {
            expected,
            residual,
            deviation: a.deviation,
            tail_probability: a.tail_probability(),
            ready: a.ready,
        }
    }
}

#[pymethods]
impl PyAnomaly {
    fn __repr__(&self) -> String {
        format!(
            "Anomaly(expected={}, residual={}, deviation={}, tail_probability={}, ready={})",
            self.expected,
            self.residual,
            self.deviation,
            self.tail_probability,
            if self.ready { "True" } else { "False" }
        )
    }
}

/// The columns of a batch, one entry per observation.
#[derive(Debug, Default)]
struct Columns {
    expected: Vec<f64>,
    residual: Vec<f64>,
    deviation: Vec<f64>,
    tail_probability: Vec<f64>,
    ready: Vec<bool>,
    /// Autoencoder only: per-metric shares of the error, row-major `n × d`.
    shares: Option<(Vec<f64>, usize)>,
}

impl Columns {
    fn zeroed(n: usize) -> Self {
        Columns {
            expected: vec![0.0; n],
            residual: vec![0.0; n],
            deviation: vec![0.0; n],
            tail_probability: vec![0.0; n],
            ready: vec![false; n],
            shares: None,
        }
    }

    fn as_columns(&mut self) -> AnomalyColumns<'_> {
        AnomalyColumns {
            expected: &mut self.expected,
            residual: &mut self.residual,
            deviation: &mut self.deviation,
            tail_probability: &mut self.tail_probability,
            ready: &mut self.ready,
        }
    }

    #[inline]
    fn put(&mut self, i: usize, a: &Anomaly) {
        self.expected[i] = a.expected;
        self.residual[i] = a.residual;
        self.deviation[i] = a.deviation;
        self.tail_probability[i] = a.tail_probability();
        self.ready[i] = a.ready;
    }

    fn into_py(self, py: Python<'_>) -> BindResult<PyAnomalies> {
        let shares = match self.shares {
            Some((v, d)) => {
                let n = self.expected.len();
                Some(arrays::owned2(py, v, n, d)?.unbind())
            }
            None => None,
        };
        Ok(PyAnomalies {
            expected: arrays::owned(py, self.expected).unbind(),
            residual: arrays::owned(py, self.residual).unbind(),
            deviation: arrays::owned(py, self.deviation).unbind(),
            tail_probability: arrays::owned(py, self.tail_probability).unbind(),
            ready: arrays::owned(py, self.ready).unbind(),
            shares,
        })
    }
}

/// The result of `update_many`: float64 numpy arrays of the batch's length (`ready` is
/// boolean); `shares` is the autoencoder's `n × d` per-metric shares of the error
/// (None for univariate detectors).
#[pyclass(module = "coalmine", name = "Anomalies", frozen, get_all)]
pub(crate) struct PyAnomalies {
    expected: Py<PyArray1<f64>>,
    residual: Py<PyArray1<f64>>,
    deviation: Py<PyArray1<f64>>,
    tail_probability: Py<PyArray1<f64>>,
    ready: Py<PyArray1<bool>>,
    shares: Option<Py<PyArray2<f64>>>,
}

#[pymethods]
impl PyAnomalies {
    fn __len__(&self, py: Python<'_>) -> usize {
        use numpy::PyUntypedArrayMethods;
        self.expected.bind(py).len()
    }

    fn __repr__(&self, py: Python<'_>) -> String {
        format!("Anomalies(n={})", self.__len__(py))
    }

    /// The columns as a dict of arrays (for `pandas.DataFrame(a.to_dict())`).
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        d.set_item("expected", self.expected.bind(py))?;
        d.set_item("residual", self.residual.bind(py))?;
        d.set_item("deviation", self.deviation.bind(py))?;
        d.set_item("tail_probability", self.tail_probability.bind(py))?;
        d.set_item("ready", self.ready.bind(py))?;
        Ok(d)
    }
}

/// A univariate batch through the core's `observe_batch` (atomic: on error the
/// detector is as it was).
fn univariate<D>(det: &mut D, xs: &[f64]) -> BindResult<Columns>
where
    D: AnomalyDetector<Input = f64> + Clone,
{
    let mut cols = Columns::zeroed(xs.len());
    det.observe_batch(xs, &mut cols.as_columns())?;
    Ok(cols)
}

/// Exponentially weighted moving average detector.
///
/// The mean follows ``m_t = (1 - alpha) m_{t-1} + alpha x_t`` with ``m_1 = x_1``
/// (pandas' ``ewm(alpha=alpha, adjust=False)``); the forecast of ``x_t`` is
/// ``m_{t-1}``. Residuals are scaled by an exponentially weighted residual scale.
#[pyclass(module = "coalmine", name = "Ewma")]
#[derive(Debug, Clone)]
pub(crate) struct PyEwma {
    inner: Ewma,
}

#[pymethods]
impl PyEwma {
    #[new]
    #[pyo3(signature = (alpha = 0.1, *, variance_alpha = None, warmup = 10, clip = 5.0, min_scale = 0.0))]
    fn new(
        alpha: f64,
        variance_alpha: Option<f64>,
        warmup: i64,
        clip: f64,
        min_scale: f64,
    ) -> BindResult<Self> {
        let config = EwmaConfig {
            alpha,
            variance_alpha,
            warmup: count("warmup", warmup)?,
            clip,
            min_scale,
        };
        Ok(PyEwma {
            inner: Ewma::new(config)?,
        })
    }

    /// Scores one observation and learns from it.
    fn update(&mut self, x: f64) -> BindResult<PyAnomaly> {
        let had = self.inner.has_forecast();
        let a = self.inner.observe(&x)?;
        Ok(PyAnomaly::new(&a, had))
    }

    /// Scores every value of a 1-D array in order, with the GIL released.
    fn update_many(&mut self, py: Python<'_>, xs: &Bound<'_, PyAny>) -> BindResult<PyAnomalies> {
        let view = arrays::vector(xs, "xs")?;
        let slice = arrays::slice(&view)?;
        let det = &mut self.inner;
        let cols = py.detach(|| univariate(det, slice))?;
        cols.into_py(py)
    }

    /// The smoothed mean, the forecast of the next observation (None before the first).
    #[getter]
    fn mean(&self) -> Option<f64> {
        self.inner.mean()
    }

    /// The one-step prediction-error standard deviation.
    #[getter]
    fn residual_scale(&self) -> f64 {
        self.inner.residual_scale()
    }

    /// Observations accepted so far.
    #[getter]
    fn observations(&self) -> u64 {
        self.inner.observations()
    }

    /// Whether warm-up is over (tail probabilities mean something).
    #[getter]
    fn ready(&self) -> bool {
        self.inner.is_ready()
    }

    /// The smoothing factor of the mean.
    #[getter]
    fn alpha(&self) -> f64 {
        self.inner.config().alpha
    }

    /// The whole state as JSON (configuration included).
    fn to_json(&self) -> String {
        serde_json::to_string(&self.inner).unwrap_or_default()
    }

    /// A detector from :meth:`to_json`'s text, validated.
    #[staticmethod]
    fn from_json(text: &str) -> BindResult<Self> {
        let inner = serde_json::from_str(text).map_err(|e| corrupt("Ewma", e))?;
        Ok(PyEwma { inner })
    }

    fn __reduce__<'py>(slf: &Bound<'py, Self>) -> PyResult<(Bound<'py, PyAny>, (String,))> {
        let restore = slf.get_type().getattr("from_json")?;
        Ok((restore, (slf.borrow().to_json(),)))
    }

    fn __copy__(&self) -> Self {
        self.clone()
    }

    fn __deepcopy__(&self, _memo: &Bound<'_, PyAny>) -> Self {
        self.clone()
    }

    fn __repr__(&self) -> String {
        format!(
            "Ewma(alpha={}, observations={}, mean={})",
            self.inner.config().alpha,
            self.inner.observations(),
            self.inner
                .mean()
                .map_or_else(|| "None".to_string(), |m| m.to_string())
        )
    }
}

// The Python constructors' keyword arguments, passed through one by one.
#[allow(clippy::too_many_arguments)]
fn hw_config(
    season_length: i64,
    alpha: f64,
    beta: f64,
    gamma: f64,
    phi: f64,
    variance_alpha: f64,
    warmup: i64,
    clip: f64,
    min_scale: f64,
) -> BindResult<HoltWintersConfig> {
    let m = usize::try_from(season_length).map_err(|_| Error::InvalidParameter {
        name: "season_length",
        value: season_length as f64,
        reason: "must be at least 1",
    })?;
    Ok(HoltWintersConfig {
        season_length: m,
        params: HoltWintersParams {
            alpha,
            beta,
            gamma,
            phi,
        },
        variance_alpha,
        warmup: count("warmup", warmup)?,
        clip,
        min_scale,
    })
}

/// Additive Holt-Winters detector: level, (optionally damped) trend and a season of
/// ``season_length`` ticks, from a known initial state.
///
/// The forecasts are statsmodels' ``ExponentialSmoothing(trend="add",
/// seasonal="add", initialization_method="known")`` fitted values.
#[pyclass(module = "coalmine", name = "HoltWinters")]
#[derive(Debug, Clone)]
pub(crate) struct PyHoltWinters {
    inner: HoltWinters,
}

#[pymethods]
impl PyHoltWinters {
    #[new]
    #[pyo3(signature = (
        season_length = 1, alpha = 0.2, beta = 0.01, gamma = 0.1, phi = 1.0, *,
        initial_level = 0.0, initial_trend = 0.0, initial_seasonal = None,
        variance_alpha = 0.02, warmup = 10, clip = 5.0, min_scale = 0.0
    ))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        season_length: i64,
        alpha: f64,
        beta: f64,
        gamma: f64,
        phi: f64,
        initial_level: f64,
        initial_trend: f64,
        initial_seasonal: Option<&Bound<'_, PyAny>>,
        variance_alpha: f64,
        warmup: i64,
        clip: f64,
        min_scale: f64,
    ) -> BindResult<Self> {
        let config = hw_config(
            season_length,
            alpha,
            beta,
            gamma,
            phi,
            variance_alpha,
            warmup,
            clip,
            min_scale,
        )?;
        let inner = match initial_seasonal {
            Some(s) => {
                let view = arrays::vector(s, "initial_seasonal")?;
                HoltWinters::new(config, initial_level, initial_trend, arrays::slice(&view)?)?
            }
            None => {
                // Checked before the zeros are allocated, so an absurd length is an
                // error rather than an allocation failure.
                if config.season_length > MAX_SEASON_LENGTH {
                    return Err(Error::TooLarge {
                        what: "season_length",
                        got: config.season_length,
                        limit: MAX_SEASON_LENGTH,
                    }
                    .into());
                }
                let zeros = vec![0.0; config.season_length];
                HoltWinters::new(config, initial_level, initial_trend, &zeros)?
            }
        };
        Ok(PyHoltWinters { inner })
    }

    /// Initialises level, trend and season from the first seasons of ``history`` (NaN
    /// marks a missing tick), then runs the whole history through the detector.
    #[classmethod]
    #[pyo3(signature = (
        history, season_length = 1, alpha = 0.2, beta = 0.01, gamma = 0.1, phi = 1.0, *,
        variance_alpha = 0.02, warmup = 10, clip = 5.0, min_scale = 0.0
    ))]
    #[allow(clippy::too_many_arguments)]
    fn from_history(
        _cls: &Bound<'_, PyType>,
        py: Python<'_>,
        history: &Bound<'_, PyAny>,
        season_length: i64,
        alpha: f64,
        beta: f64,
        gamma: f64,
        phi: f64,
        variance_alpha: f64,
        warmup: i64,
        clip: f64,
        min_scale: f64,
    ) -> BindResult<Self> {
        let config = hw_config(
            season_length,
            alpha,
            beta,
            gamma,
            phi,
            variance_alpha,
            warmup,
            clip,
            min_scale,
        )?;
        let view = arrays::vector(history, "history")?;
        let h = arrays::slice(&view)?;
        let inner = py.detach(|| HoltWinters::from_history(config, h))?;
        Ok(PyHoltWinters { inner })
    }

    /// Fits the smoothing parameters on ``history`` (one-step squared error,
    /// deterministic Nelder-Mead), then initialises as :meth:`from_history`. The GIL
    /// is released while fitting.
    #[classmethod]
    #[pyo3(signature = (
        history, season_length = 1, *, fit_trend = true, fit_season = true, damped = false,
        max_evaluations = 600, alpha = 0.2, beta = 0.01, gamma = 0.1, phi = 1.0,
        variance_alpha = 0.02, warmup = 10, clip = 5.0, min_scale = 0.0
    ))]
    #[allow(clippy::too_many_arguments)]
    fn fit(
        _cls: &Bound<'_, PyType>,
        py: Python<'_>,
        history: &Bound<'_, PyAny>,
        season_length: i64,
        fit_trend: bool,
        fit_season: bool,
        damped: bool,
        max_evaluations: i64,
        alpha: f64,
        beta: f64,
        gamma: f64,
        phi: f64,
        variance_alpha: f64,
        warmup: i64,
        clip: f64,
        min_scale: f64,
    ) -> BindResult<Self> {
        let config = hw_config(
            season_length,
            alpha,
            beta,
            gamma,
            phi,
            variance_alpha,
            warmup,
            clip,
            min_scale,
        )?;
        let options = FitOptions {
            fit_trend,
            fit_season,
            damped,
            max_evaluations: count("max_evaluations", max_evaluations)? as usize,
        };
        let view = arrays::vector(history, "history")?;
        let h = arrays::slice(&view)?;
        let inner = py.detach(|| HoltWinters::fit(config, h, &options))?;
        Ok(PyHoltWinters { inner })
    }

    /// Scores one observation against the one-step forecast and learns from it.
    fn update(&mut self, x: f64) -> BindResult<PyAnomaly> {
        let a = self.inner.observe(&x)?;
        Ok(PyAnomaly::new(&a, true))
    }

    /// Scores every value of a 1-D array in order, with the GIL released.
    fn update_many(&mut self, py: Python<'_>, xs: &Bound<'_, PyAny>) -> BindResult<PyAnomalies> {
        let view = arrays::vector(xs, "xs")?;
        let slice = arrays::slice(&view)?;
        let det = &mut self.inner;
        let cols = py.detach(|| univariate(det, slice))?;
        cols.into_py(py)
    }

    /// The forecast ``h >= 1`` steps ahead of the last observation.
    #[pyo3(signature = (h = 1))]
    fn forecast(&self, h: i64) -> BindResult<f64> {
        Ok(self.inner.forecast(count("h", h)? as usize))
    }

    /// A central normal prediction interval ``(low, high)`` for the value ``h`` steps
    /// ahead with the given coverage in (0, 1).
    #[pyo3(signature = (h = 1, coverage = 0.95))]
    fn prediction_interval(&self, h: i64, coverage: f64) -> BindResult<(f64, f64)> {
        let i = self
            .inner
            .prediction_interval(count("h", h)? as usize, coverage)?;
        Ok((i.lower, i.upper))
    }

    /// Current level.
    #[getter]
    fn level(&self) -> f64 {
        self.inner.level()
    }

    /// Current (undamped) trend per tick.
    #[getter]
    fn trend(&self) -> f64 {
        self.inner.trend()
    }

    /// The seasonal term that applies to the next observation.
    #[getter]
    fn next_season(&self) -> f64 {
        self.inner.next_season()
    }

    /// The season length ``m``.
    #[getter]
    fn season_length(&self) -> usize {
        self.inner.config().season_length
    }

    /// The smoothing parameters in use: ``{"alpha", "beta", "gamma", "phi"}``.
    #[getter]
    fn params<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let p = self.inner.params();
        let d = PyDict::new(py);
        d.set_item("alpha", p.alpha)?;
        d.set_item("beta", p.beta)?;
        d.set_item("gamma", p.gamma)?;
        d.set_item("phi", p.phi)?;
        Ok(d)
    }

    /// The one-step prediction-error standard deviation.
    #[getter]
    fn residual_scale(&self) -> f64 {
        self.inner.residual_scale()
    }

    /// Observations accepted so far.
    #[getter]
    fn observations(&self) -> u64 {
        self.inner.observations()
    }

    /// Whether warm-up is over.
    #[getter]
    fn ready(&self) -> bool {
        self.inner.is_ready()
    }

    /// The whole state as JSON.
    fn to_json(&self) -> String {
        serde_json::to_string(&self.inner).unwrap_or_default()
    }

    /// A detector from :meth:`to_json`'s text, validated.
    #[staticmethod]
    fn from_json(text: &str) -> BindResult<Self> {
        let inner = serde_json::from_str(text).map_err(|e| corrupt("HoltWinters", e))?;
        Ok(PyHoltWinters { inner })
    }

    fn __reduce__<'py>(slf: &Bound<'py, Self>) -> PyResult<(Bound<'py, PyAny>, (String,))> {
        let restore = slf.get_type().getattr("from_json")?;
        Ok((restore, (slf.borrow().to_json(),)))
    }

    fn __copy__(&self) -> Self {
        self.clone()
    }

    fn __deepcopy__(&self, _memo: &Bound<'_, PyAny>) -> Self {
        self.clone()
    }

    fn __repr__(&self) -> String {
        let p = self.inner.params();
        format!(
            "HoltWinters(season_length={}, alpha={}, beta={}, gamma={}, phi={}, observations={})",
            self.inner.config().season_length,
            p.alpha,
            p.beta,
            p.gamma,
            p.phi,
            self.inner.observations()
        )
    }
}

/// A small autoencoder over a vector of metrics: scores how well the joint behaviour
/// of the metrics matches what it was trained on (reconstruction error, calibrated on
/// held-out rows), with each metric's share of the error.
#[pyclass(module = "coalmine", name = "Autoencoder")]
#[derive(Debug, Clone)]
pub(crate) struct PyAutoencoder {
    inner: Autoencoder,
}

impl PyAutoencoder {
    fn check_row(&self, row: &[f64]) -> Result<(), Error> {
        if row.len() != self.inner.dim() {
            return Err(Error::LengthMismatch {
                what: "autoencoder input",
                expected: self.inner.dim(),
                got: row.len(),
            });
        }
        for &v in row {
            check_value("autoencoder input", v)?;
        }
        Ok(())
    }
}

#[pymethods]
impl PyAutoencoder {
    /// Trains on ``data`` (rows are observations, columns the metrics) with the GIL
    /// released. Deterministic for a given ``seed``.
    #[staticmethod]
    #[pyo3(signature = (
        data, *, hidden = 0, epochs = 200, batch_size = 32, learning_rate = 0.01,
        holdout_fraction = 0.2, seed = 0, weight_decay = 1e-4
    ))]
    #[allow(clippy::too_many_arguments)]
    fn train(
        py: Python<'_>,
        data: &Bound<'_, PyAny>,
        hidden: i64,
        epochs: i64,
        batch_size: i64,
        learning_rate: f64,
        holdout_fraction: f64,
        seed: u64,
        weight_decay: f64,
    ) -> BindResult<Self> {
        let config = AutoencoderConfig {
            hidden: count("hidden", hidden)? as usize,
            epochs: count("epochs", epochs)? as usize,
            batch_size: count("batch_size", batch_size)? as usize,
            learning_rate,
            holdout_fraction,
            seed,
            weight_decay,
        };
        let view = arrays::matrix(data, "data")?;
        let (flat, rows, _) = arrays::rows(&view)?;
        let inner = py.detach(|| Autoencoder::train_flat(config, flat, rows))?;
        Ok(PyAutoencoder { inner })
    }

    /// Scores one vector of ``dim`` metrics.
    fn update(&mut self, x: &Bound<'_, PyAny>) -> BindResult<PyAnomaly> {
        let view = arrays::vector(x, "x")?;
        let a = self.inner.observe(arrays::slice(&view)?)?;
        Ok(PyAnomaly::new(&a, true))
    }

    /// Scores every row of a 2-D array (``n × dim``), with the GIL released; the
    /// result's ``shares`` holds each row's per-metric shares of the error.
    fn update_many(&mut self, py: Python<'_>, xs: &Bound<'_, PyAny>) -> BindResult<PyAnomalies> {
        let view = arrays::matrix(xs, "xs")?;
        let (data, n, d) = arrays::rows(&view)?;
        if d != self.inner.dim() && n > 0 {
            return Err(BindError::at(
                Error::LengthMismatch {
                    what: "autoencoder input",
                    expected: self.inner.dim(),
                    got: d,
                },
                0,
            ));
        }
        let this = &*self;
        let (work, cols) = py.detach(|| -> BindResult<(Autoencoder, Columns)> {
            for i in 0..n {
                this.check_row(&data[i * d..(i + 1) * d])
                    .map_err(|e| BindError::at(e, i))?;
            }
            let mut work = this.inner.clone();
            let mut cols = Columns::zeroed(n);
            let mut shares = vec![0.0; n * d];
            for i in 0..n {
                let a = work
                    .score_into(&data[i * d..(i + 1) * d], &mut shares[i * d..(i + 1) * d])
                    .map_err(|e| BindError::at(e, i))?;
                cols.put(i, &a);
            }
            cols.shares = Some((shares, d));
            Ok((work, cols))
        })?;
        self.inner = work;
        cols.into_py(py)
    }

    /// The calibrated tail probability of a reconstruction error.
    fn tail_probability(&self, error: f64) -> f64 {
        self.inner.tail_probability(error)
    }

    /// Each metric's share of the last scored vector's error.
    #[getter]
    fn shares<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<f64>> {
        arrays::owned(py, self.inner.shares().to_vec())
    }

    /// Number of metrics.
    #[getter]
    fn dim(&self) -> usize {
        self.inner.dim()
    }

    /// Width of the hidden layer.
    #[getter]
    fn hidden(&self) -> usize {
        self.inner.hidden()
    }

    /// The median reconstruction error on held-out rows (the ``expected`` of every
    /// score).
    #[getter]
    fn median_error(&self) -> f64 {
        self.inner.median_error()
    }

    /// Vectors scored so far.
    #[getter]
    fn observations(&self) -> u64 {
        self.inner.observations()
    }

    /// The whole model as JSON.
    fn to_json(&self) -> String {
        serde_json::to_string(&self.inner).unwrap_or_default()
    }

    /// A model from :meth:`to_json`'s text, validated.
    #[staticmethod]
    fn from_json(text: &str) -> BindResult<Self> {
        let inner = serde_json::from_str(text).map_err(|e| corrupt("Autoencoder", e))?;
        Ok(PyAutoencoder { inner })
    }

    fn __reduce__<'py>(slf: &Bound<'py, Self>) -> PyResult<(Bound<'py, PyAny>, (String,))> {
        let restore = slf.get_type().getattr("from_json")?;
        Ok((restore, (slf.borrow().to_json(),)))
    }

    fn __copy__(&self) -> Self {
        self.clone()
    }

    fn __deepcopy__(&self, _memo: &Bound<'_, PyAny>) -> Self {
        self.clone()
    }

    fn __repr__(&self) -> String {
        format!(
            "Autoencoder(dim={}, hidden={}, observations={})",
            self.inner.dim(),
            self.inner.hidden(),
            self.inner.observations()
        )
    }
}
