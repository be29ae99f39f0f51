//! Canary against control: the Mann-Whitney U rank test and the always-valid
//! sequential test.

use pyo3::prelude::*;

use crate::arrays;
use crate::core::{
    Direction, Error, MannWhitney, MannWhitneyScratch, SequentialConfig, SequentialState,
    SequentialTest, mann_whitney_u,
};
use crate::detectors::count;
use crate::error::{BindError, BindResult};

/// The result of :func:`mann_whitney_u`. ``statistic`` and ``p_value`` are scipy's
/// ``mannwhitneyu(x, y, alternative="two-sided", method="asymptotic",
/// use_continuity=True)``.
#[pyclass(module = "coalmine", name = "MannWhitneyResult", frozen, get_all)]
#[derive(Debug, Clone, Copy)]
pub(crate) struct PyMannWhitney {
    /// ``U`` of ``x``: pairs with ``x_i > y_j`` plus half the tied pairs.
    statistic: f64,
    /// Two-sided p-value.
    p_value: f64,
    /// Signed standardised statistic with the continuity correction.
    z: f64,
    /// One-sided p-value for "x is stochastically greater than y".
    p_greater: f64,
    /// One-sided p-value for "x is stochastically less than y".
    p_less: f64,
    n_x: usize,
    n_y: usize,
    /// ``P(X > Y) + P(X = Y) / 2``.
    effect_size: f64,
    /// ``2 * effect_size - 1``.
    rank_biserial: f64,
}

impl From<MannWhitney> for PyMannWhitney {
    fn from(r: MannWhitney) -> Self {
        PyMannWhitney {
            statistic: r.u,
            p_value: r.p_value,
            z: r.z,
            p_greater: r.p_greater,
            p_less: r.p_less,
            n_x: r.n_x,
            n_y: r.n_y,
            effect_size: r.effect_size,
            rank_biserial: r.rank_biserial,
        }
    }
}

#[pymethods]
impl PyMannWhitney {
    fn __repr__(&self) -> String {
        format!(
            "MannWhitneyResult(statistic={}, p_value={}, z={}, effect_size={}, n_x={}, n_y={})",
            self.statistic, self.p_value, self.z, self.effect_size, self.n_x, self.n_y
        )
    }
}

/// Two-sided Mann-Whitney U test of ``x`` against ``y`` (normal approximation with
/// tie and continuity corrections), with one-sided p-values and effect sizes. The GIL
/// is released while ranking.
#[pyfunction(name = "mann_whitney_u")]
pub(crate) fn mann_whitney_u_py(
    py: Python<'_>,
    x: &Bound<'_, PyAny>,
    y: &Bound<'_, PyAny>,
) -> BindResult<PyMannWhitney> {
    let (vx, vy) = (arrays::vector(x, "x")?, arrays::vector(y, "y")?);
    let (sx, sy) = (arrays::slice(&vx)?, arrays::slice(&vy)?);
    let r = py.detach(|| {
        let mut scratch = MannWhitneyScratch::new();
        mann_whitney_u(sx, sy, &mut scratch)
    })?;
    Ok(r.into())
}

fn direction(name: &str) -> BindResult<Direction> {
    serde_json::from_value(serde_json::Value::String(name.to_string())).map_err(|_| {
        Error::UnknownName {
            what: "direction (increase_is_bad, decrease_is_bad or any)",
            name: name.to_string(),
        }
        .into()
    })
}

/// What a :class:`SequentialTest` knows after an observation.
#[pyclass(module = "coalmine", name = "SequentialState", frozen, get_all)]
#[derive(Debug, Clone, Copy)]
pub(crate) struct PySequentialState {
    n: u64,
    mean: f64,
    sd: f64,
    log_likelihood_ratio: f64,
    p_value: f64,
    e_value: f64,
    rejected: bool,
    confidence_interval: (f64, f64),
    minimum_detectable_effect: f64,
    sufficient: bool,
}

impl From<SequentialState> for PySequentialState {
    fn from(s: SequentialState) -> Self {
        PySequentialState {
            n: s.n,
            mean: s.mean,
            sd: s.sd,
            log_likelihood_ratio: s.log_likelihood_ratio,
            p_value: s.p_value,
            e_value: s.e_value,
            rejected: s.rejected,
            confidence_interval: (s.confidence_interval.lower, s.confidence_interval.upper),
            minimum_detectable_effect: s.minimum_detectable_effect,
            sufficient: s.sufficient,
        }
    }
}

#[pymethods]
impl PySequentialState {
    fn __repr__(&self) -> String {
        format!(
            "SequentialState(n={}, mean={}, p_value={}, rejected={})",
            self.n,
            self.mean,
            self.p_value,
            if self.rejected { "True" } else { "False" }
        )
    }
}

/// The mixture sequential probability ratio test (mSPRT) on paired per-tick
/// differences (canary minus control): its always-valid p-value holds however often
/// it is looked at.
#[pyclass(module = "coalmine", name = "SequentialTest")]
#[derive(Debug, Clone)]
pub(crate) struct PySequentialTest {
    inner: SequentialTest,
}

#[pymethods]
impl PySequentialTest {
    #[new]
    #[pyo3(signature = (
        alpha = 0.05, tau = 1.0, *, min_samples = 5, direction = "any",
        min_variance = 1e-300, known_variance = None
    ))]
    fn new(
        alpha: f64,
        tau: f64,
        min_samples: i64,
        direction: &str,
        min_variance: f64,
        known_variance: Option<f64>,
    ) -> BindResult<Self> {
        let config = SequentialConfig {
            alpha,
            tau,
            min_samples: count("min_samples", min_samples)?,
            direction: self::direction(direction)?,
            min_variance,
            known_variance,
        };
        Ok(PySequentialTest {
            inner: SequentialTest::new(config)?,
        })
    }

    /// Adds one difference and returns the new state.
    fn update(&mut self, d: f64) -> BindResult<PySequentialState> {
        Ok(self.inner.observe(d)?.into())
    }

    /// Adds every difference of a 1-D array in order (atomic: a bad value, named by
    /// its index, leaves the test unchanged) and returns the final state.
    fn update_many(
        &mut self,
        py: Python<'_>,
        ds: &Bound<'_, PyAny>,
    ) -> BindResult<PySequentialState> {
        let view = arrays::vector(ds, "ds")?;
        let slice = arrays::slice(&view)?;
        let test = &self.inner;
        let work = py.detach(|| -> BindResult<SequentialTest> {
            let mut work = test.clone();
            for (i, &d) in slice.iter().enumerate() {
                work.observe(d).map_err(|e| BindError::at(e, i))?;
            }
            Ok(work)
        })?;
        self.inner = work;
        Ok(self.inner.state().into())
    }

    /// The current state.
    #[getter]
    fn state(&self) -> PySequentialState {
        self.inner.state().into()
    }

    /// Differences seen since creation or the last :meth:`reset`.
    #[getter]
    fn observations(&self) -> u64 {
        self.inner.observations()
    }

    /// Forgets every observation (the configuration stays).
    fn reset(&mut self) {
        self.inner.reset();
    }

    /// The whole state as JSON.
    fn to_json(&self) -> String {
        serde_json::to_string(&self.inner).unwrap_or_default()
    }

    /// A test from :meth:`to_json`'s text, validated.
    #[staticmethod]
    fn from_json(text: &str) -> BindResult<Self> {
        let inner = serde_json::from_str(text).map_err(|e| {
            BindError::from(Error::CorruptCheckpoint {
                reason: format!("SequentialTest state: {e}"),
            })
        })?;
        Ok(PySequentialTest { inner })
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
        let s = self.inner.state();
        format!(
            "SequentialTest(alpha={}, tau={}, n={}, p_value={})",
            self.inner.config().alpha,
            self.inner.config().tau,
            s.n,
            s.p_value
        )
    }
}
