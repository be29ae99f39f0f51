//! Python bindings of coalmine: the module `coalmine._coalmine`, re-exported by the
//! `coalmine` package (see `python/coalmine/__init__.py` and `docs/python.md`).
//!
//! The binding is thin: it converts types, releases the GIL for batch work and maps
//! the core's errors to exceptions; every computation is the core's.

mod analysis;
mod arrays;
mod compare;
mod config;
mod core;
mod detectors;
mod error;

use pyo3::prelude::*;

/// The native part of the `coalmine` package.
#[pymodule]
fn _coalmine(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_class::<detectors::PyAnomaly>()?;
    m.add_class::<detectors::PyAnomalies>()?;
    m.add_class::<detectors::PyEwma>()?;
    m.add_class::<detectors::PyHoltWinters>()?;
    m.add_class::<detectors::PyAutoencoder>()?;
    m.add_class::<compare::PyMannWhitney>()?;
    m.add_class::<compare::PySequentialState>()?;
    m.add_class::<compare::PySequentialTest>()?;
    m.add_function(wrap_pyfunction!(compare::mann_whitney_u_py, m)?)?;
    m.add_class::<config::PyConfig>()?;
    m.add_class::<analysis::PyProfileBuilder>()?;
    m.add_class::<analysis::PyProfile>()?;
    m.add_class::<analysis::PyContributor>()?;
    m.add_class::<analysis::PyAllocation>()?;
    m.add_class::<analysis::PyRiskFactors>()?;
    m.add_class::<analysis::PyDecision>()?;
    m.add_class::<analysis::PyVerdictReport>()?;
    m.add_class::<analysis::PyAnalysis>()?;
    Ok(())
}
