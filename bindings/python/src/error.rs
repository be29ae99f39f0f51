//! From the core's errors (and the binding's own conditions) to Python exceptions.
//!
//! The exception classes live in `coalmine/_errors.py`, where Python's multiple
//! inheritance gives every bad-input class both `CoalmineError` and `ValueError` as
//! bases; this module only chooses the code and the message.

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

use crate::core::Error;

/// Codes of the binding's own conditions; the core keeps 1000 and above for bindings.
pub(crate) mod codes {
    /// A configuration (dict or TOML) the binding could not read into coalmine's types.
    pub(crate) const CONFIG: u32 = 1100;
    /// Input data the binding could not turn into coalmine's input: an array of the
    /// wrong shape, a DataFrame without a needed column, an unknown cohort, a
    /// duplicate row, a naive datetime.
    pub(crate) const INPUT: u32 = 1101;
}

/// Everything a call of this crate can fail with.
#[derive(Debug)]
pub(crate) enum BindError {
    /// The core refused.
    Core(Error),
    /// The binding's own condition: one of [`codes`] and a message.
    Own { code: u32, message: String },
    /// An exception raised by Python code the binding called (numpy, json).
    Py(PyErr),
}

impl BindError {
    pub(crate) fn config(message: impl Into<String>) -> Self {
        BindError::Own {
            code: codes::CONFIG,
            message: message.into(),
        }
    }

    pub(crate) fn input(message: impl Into<String>) -> Self {
        BindError::Own {
            code: codes::INPUT,
            message: message.into(),
        }
    }

    /// Element `index` of a batch the binding runs itself was refused: reported as the
    /// core reports its own batches.
    pub(crate) fn at(error: Error, index: usize) -> Self {
        Error::Batch {
            index,
            error: Box::new(error),
        }
        .into()
    }
}

impl From<Error> for BindError {
    fn from(error: Error) -> Self {
        BindError::Core(error)
    }
}

impl From<PyErr> for BindError {
    fn from(e: PyErr) -> Self {
        BindError::Py(e)
    }
}

impl From<BindError> for PyErr {
    fn from(e: BindError) -> PyErr {
        let (code, message, index) = match e {
            BindError::Py(e) => return e,
            // A refused batch is raised as the class of why it was refused, so that
            // `except NonFiniteError` catches a NaN in an array as it does a NaN alone;
            // `index` says where, the message is the core's.
            BindError::Core(Error::Batch { index, error }) => {
                let message = Error::Batch {
                    index,
                    error: error.clone(),
                }
                .to_string();
                (error.code(), message, Some(index))
            }
            BindError::Core(error) => (error.code(), error.to_string(), None),
            BindError::Own { code, message } => (code, message, None),
        };
        Python::attach(|py| make(py, code, &message, index))
    }
}

/// Builds the exception through `coalmine._errors.from_code`, the one table of classes.
fn make(py: Python<'_>, code: u32, message: &str, index: Option<usize>) -> PyErr {
    let built = py
        .import("coalmine._errors")
        .and_then(|m| m.getattr("from_code"))
        .and_then(|f| f.call1((code, message, index)));
    match built {
        Ok(exc) => PyErr::from_value(exc),
        // Only when the native module is imported without its package.
        Err(_) => PyValueError::new_err(format!("[coalmine error {code}] {message}")),
    }
}

pub(crate) type BindResult<T> = Result<T, BindError>;
