//! The crate's error type.

/// Everything that can go wrong in coalmine, as plain values.
///
/// Errors never leave a detector in a changed state: an observation that is rejected
/// is as if it had never been offered.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A configuration parameter is outside its valid range.
    #[error("invalid parameter `{name}` = {value}: {reason}")]
    InvalidParameter {
        /// The parameter's name as it appears in the configuration.
        name: &'static str,
        /// The offending value.
        value: f64,
        /// What the valid range is.
        reason: &'static str,
    },
    /// An observation (or an initial state value) is NaN or infinite.
    #[error("non-finite value {value} for `{what}`")]
    NonFinite {
        /// What the value was for.
        what: &'static str,
        /// The value (NaN or ±inf).
        value: f64,
    },
    /// A vector does not have the length the detector was built for.
    #[error("length mismatch for `{what}`: expected {expected}, got {got}")]
    LengthMismatch {
        /// What the vector was for.
        what: &'static str,
        /// The length the detector expects.
        expected: usize,
        /// The length that was given.
        got: usize,
    },
    /// There is not enough history to do what was asked.
    #[error("not enough data for {what}: need at least {needed}, got {got}")]
    InsufficientData {
        /// What was being attempted.
        what: &'static str,
        /// The minimum number of points.
        needed: usize,
        /// The number of points given.
        got: usize,
    },
    /// A finite value is too large in magnitude for the detectors' arithmetic to stay
    /// finite (see [`crate::MAX_ABS_VALUE`]).
    #[error("value {value} for `{what}` is beyond the supported magnitude {limit}")]
    OutOfRange {
        /// What the value was for.
        what: &'static str,
        /// The offending value.
        value: f64,
        /// The largest magnitude accepted.
        limit: f64,
    },
    /// A tick's timestamp is not after the previous tick's (out of order or duplicate).
    #[error("timestamp {got} is not after the previous tick's {last}")]
    Timestamp {
        /// The previous tick's timestamp.
        last: f64,
        /// The rejected timestamp.
        got: f64,
    },
    /// A name appears twice where names must be unique.
    #[error("duplicate {what} name `{name}`")]
    Duplicate {
        /// What kind of name (metric, segment, feature).
        what: &'static str,
        /// The repeated name.
        name: String,
    },
    /// A name refers to something that does not exist.
    #[error("unknown {what} `{name}`")]
    UnknownName {
        /// What kind of name (metric, segment, feature).
        what: &'static str,
        /// The name that was not found.
        name: String,
    },
    /// A value breaks its metric's kind (a negative count, a ratio above 1).
    #[error("invalid value {value} for {what}: {reason}")]
    InvalidValue {
        /// What the value was for.
        what: &'static str,
        /// The offending value.
        value: f64,
        /// Why it is invalid.
        reason: &'static str,
    },
    /// A serialised profile was written by another format version.
    #[error(
        "profile format version {found} is not supported (this build reads version {supported})"
    )]
    ProfileVersion {
        /// The version found in the file.
        found: u64,
        /// The version this build reads and writes.
        supported: u64,
    },
    /// A serialised profile (or checkpoint) is truncated, malformed or inconsistent.
    #[error("corrupt profile: {0}")]
    CorruptProfile(String),
    /// A size is beyond what coalmine accepts (guards against absurd allocations).
    #[error("size of `{what}` is {got}, above the limit of {limit}")]
    TooLarge {
        /// What was being sized.
        what: &'static str,
        /// The requested size.
        got: usize,
        /// The largest size accepted.
        limit: usize,
    },
}

impl Error {
    pub(crate) fn param(name: &'static str, value: f64, reason: &'static str) -> Self {
        Error::InvalidParameter {
            name,
            value,
            reason,
        }
    }

    /// Accepts a finite value whose magnitude is at most [`crate::MAX_ABS_VALUE`].
    pub(crate) fn check_value(what: &'static str, value: f64) -> Result<f64, Self> {
        if !value.is_finite() {
            Err(Error::NonFinite { what, value })
        } else if value.abs() > crate::MAX_ABS_VALUE {
            Err(Error::OutOfRange {
                what,
                value,
                limit: crate::MAX_ABS_VALUE,
            })
        } else {
            Ok(value)
        }
    }
}
