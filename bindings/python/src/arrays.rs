//! numpy in and out: float64 contiguous arrays are borrowed as they are (zero-copy);
//! anything else array-like goes through `numpy.asarray(x, dtype=float64)` (its dimensions
//! checked first) and `numpy.ascontiguousarray` once, so lists, integer arrays and
//! strided views work too.

use numpy::prelude::*;
use numpy::{PyArray1, PyArray2, PyReadonlyArray1, PyReadonlyArray2};
use pyo3::prelude::*;
use pyo3::types::IntoPyDict;

use crate::core::Array2;
use crate::error::{BindError, BindResult};

/// `numpy.asarray(obj, dtype=float64)`: keeps the caller's number of dimensions (a
/// scalar stays 0-D), so that it can be checked before the data is made contiguous.
fn as_f64<'py>(obj: &Bound<'py, PyAny>) -> PyResult<(Bound<'py, PyAny>, usize)> {
    let py = obj.py();
    let kwargs = [("dtype", "float64")].into_py_dict(py)?;
    let a = py
        .import("numpy")?
        .getattr("asarray")?
        .call((obj,), Some(&kwargs))?;
    let ndim = a.getattr("ndim")?.extract::<usize>()?;
    Ok((a, ndim))
}

fn contiguous<'py>(a: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    a.py()
        .import("numpy")?
        .getattr("ascontiguousarray")?
        .call1((a,))
}

/// A 1-D float64 view of `obj`; `what` names the argument in errors.
pub(crate) fn vector<'py>(
    obj: &Bound<'py, PyAny>,
    what: &str,
) -> BindResult<PyReadonlyArray1<'py, f64>> {
    if let Ok(a) = obj.cast::<PyArray1<f64>>() {
        if a.is_contiguous() {
            return Ok(a.readonly());
        }
    }
    let (converted, ndim) = as_f64(obj)?;
    if ndim != 1 {
        return Err(BindError::input(format!(
            "`{what}` must be one-dimensional, got an array of {ndim} dimensions"
        )));
    }
    Ok(contiguous(&converted)?
        .cast_into::<PyArray1<f64>>()
        .map_err(PyErr::from)?
        .readonly())
}

/// A 2-D float64 C-contiguous view of `obj` (rows are observations).
pub(crate) fn matrix<'py>(
    obj: &Bound<'py, PyAny>,
    what: &str,
) -> BindResult<PyReadonlyArray2<'py, f64>> {
    if let Ok(a) = obj.cast::<PyArray2<f64>>() {
        if a.is_c_contiguous() {
            return Ok(a.readonly());
        }
    }
    let (converted, ndim) = as_f64(obj)?;
    if ndim != 2 {
        return Err(BindError::input(format!(
            "`{what}` must be two-dimensional (one row per observation), got an array of \
             {ndim} dimensions"
        )));
    }
    Ok(contiguous(&converted)?
        .cast_into::<PyArray2<f64>>()
        .map_err(PyErr::from)?
        .readonly())
}

/// One tick of values: a 1-D array, or a `segments × metrics` array taken row by row.
pub(crate) fn tick<'py>(
    obj: &Bound<'py, PyAny>,
    what: &str,
) -> BindResult<PyReadonlyArray1<'py, f64>> {
    if let Ok(a) = obj.cast::<PyArray1<f64>>() {
        if a.is_contiguous() {
            return Ok(a.readonly());
        }
    }
    let (converted, ndim) = as_f64(obj)?;
    let flat = match ndim {
        1 => converted,
        2 => contiguous(&converted)?.call_method1("reshape", (-1,))?,
        _ => {
            return Err(BindError::input(format!(
                "`{what}` must be a 1-D array of segments × metrics values or a 2-D \
                 (segments, metrics) array, got {ndim} dimensions"
            )));
        }
    };
    Ok(contiguous(&flat)?
        .cast_into::<PyArray1<f64>>()
        .map_err(PyErr::from)?
        .readonly())
}

/// The slice behind a view made by [`vector`] (contiguous by construction).
pub(crate) fn slice<'a>(a: &'a PyReadonlyArray1<'_, f64>) -> BindResult<&'a [f64]> {
    a.as_slice()
        .map_err(|e| BindError::input(format!("array is not contiguous: {e}")))
}

/// The row-major slice and shape behind a view made by [`matrix`].
pub(crate) fn rows<'a>(a: &'a PyReadonlyArray2<'_, f64>) -> BindResult<(&'a [f64], usize, usize)> {
    let shape = a.shape();
    let (n, d) = (shape[0], shape[1]);
    let data = a
        .as_slice()
        .map_err(|e| BindError::input(format!("array is not contiguous: {e}")))?;
    Ok((data, n, d))
}

/// A new 1-D numpy array that takes ownership of `v` (no copy).
pub(crate) fn owned<'py, T: numpy::Element>(py: Python<'py>, v: Vec<T>) -> Bound<'py, PyArray1<T>> {
    PyArray1::from_vec(py, v)
}

/// A new 2-D numpy array of shape `(n, d)` from row-major `v`.
pub(crate) fn owned2<'py>(
    py: Python<'py>,
    v: Vec<f64>,
    n: usize,
    d: usize,
) -> BindResult<Bound<'py, PyArray2<f64>>> {
    let arr = Array2::from_shape_vec((n, d), v)
        .map_err(|e| BindError::input(format!("internal shape error: {e}")))?;
    Ok(PyArray2::from_owned_array(py, arr))
}
