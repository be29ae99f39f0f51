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
    /// A saved profile was written by another format version.
    #[error(
        "profile format version {found} is not supported (this build reads version {supported})"
    )]
    ProfileVersion {
        /// The version found in the document.
        found: u64,
        /// The version this build reads and writes.
        supported: u64,
    },
    /// A saved profile is truncated, malformed or internally inconsistent.
    #[error("corrupt profile: {reason}")]
    CorruptProfile {
        /// What is wrong with it.
        reason: String,
    },
    /// An analysis checkpoint was written by another format version.
    #[error(
        "checkpoint format version {found} is not supported (this build reads version {supported})"
    )]
    CheckpointVersion {
        /// The version found in the document.
        found: u64,
        /// The version this build reads and writes.
        supported: u64,
    },
    /// An analysis checkpoint is truncated, malformed or internally inconsistent.
    #[error("corrupt checkpoint: {reason}")]
    CorruptCheckpoint {
        /// What is wrong with it.
        reason: String,
    },
    /// Two things that must share a schema do not (a profile and an analysis, a
    /// profile and a configuration).
    #[error("schema mismatch: {reason}")]
    SchemaMismatch {
        /// What differs.
        reason: String,
    },
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
    /// An internal invariant does not hold. This is a bug in coalmine: please report
    /// it with the input that caused it.
    #[error("internal error: {reason}")]
    Internal {
        /// Which invariant.
        reason: &'static str,
    },
    /// One observation of a batch would be rejected, so the whole batch was: nothing
    /// of it was applied. `error` says why observation `index` was refused.
    #[error("observation {index} of the batch: {error}")]
    Batch {
        /// Position of the first refused observation in the batch.
        index: usize,
        /// Why it was refused.
        error: Box<Error>,
    },
    /// The rollout was promoted: the analysis is over and takes no more ticks. (A
    /// promoted canary carries all traffic, so there is no control cohort left to
    /// compare with.) The tick was not applied.
    #[error("the rollout was promoted at tick {tick}: the analysis takes no more ticks")]
    Finished {
        /// The tick at which the rollout was promoted.
        tick: u64,
    },
    /// A count behind a tick's value is negative, infinite or beyond
    /// [`crate::MAX_ABS_VALUE`] (NaN, an unknown count, is accepted).
    #[error("invalid count {value} at position {index} of `{what}`: counts are finite and >= 0")]
    InvalidCount {
        /// Which cohort's counts.
        what: &'static str,
        /// The position in the tick layout (`segment * n_metrics + metric`).
        index: usize,
        /// The offending count.
        value: f64,
    },
}

impl Error {
    /// The error's stable numeric code, for bindings and logs. Codes are documented
    /// in `docs/integration.md`, never change meaning and are never reused; 0 is kept
    /// for success and 1000 and above for the bindings' own conditions.
    pub fn code(&self) -> u32 {
        match self {
            Error::InvalidParameter { .. } => 1,
            Error::NonFinite { .. } => 2,
            Error::LengthMismatch { .. } => 3,
            Error::InsufficientData { .. } => 4,
            Error::OutOfRange { .. } => 5,
            Error::Timestamp { .. } => 6,
            Error::Duplicate { .. } => 7,
            Error::UnknownName { .. } => 8,
            Error::InvalidValue { .. } => 9,
            Error::ProfileVersion { .. } => 10,
            Error::CorruptProfile { .. } => 11,
            Error::CheckpointVersion { .. } => 12,
            Error::CorruptCheckpoint { .. } => 13,
            Error::SchemaMismatch { .. } => 14,
            Error::TooLarge { .. } => 15,
            Error::Internal { .. } => 16,
            Error::Batch { .. } => 17,
            Error::Finished { .. } => 18,
            Error::InvalidCount { .. } => 19,
        }
    }

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

#[cfg(test)]
mod tests {
    use super::*;

    /// Codes are a public contract: this pins every one of them, and that no two
    /// variants share a code.
    #[test]
    fn codes_are_stable_and_distinct() {
        let all = [
            (Error::param("x", 0.0, "r"), 1),
            (
                Error::NonFinite {
                    what: "x",
                    value: f64::NAN,
                },
                2,
            ),
            (
                Error::LengthMismatch {
                    what: "x",
                    expected: 1,
                    got: 2,
                },
                3,
            ),
            (
                Error::InsufficientData {
                    what: "x",
                    needed: 1,
                    got: 0,
                },
                4,
            ),
            (
                Error::OutOfRange {
                    what: "x",
                    value: 1e101,
                    limit: 1e100,
                },
                5,
            ),
            (
                Error::Timestamp {
                    last: 1.0,
                    got: 1.0,
                },
                6,
            ),
            (
                Error::Duplicate {
                    what: "x",
                    name: "a".into(),
                },
                7,
            ),
            (
                Error::UnknownName {
                    what: "x",
                    name: "a".into(),
                },
                8,
            ),
            (
                Error::InvalidValue {
                    what: "x",
                    value: -1.0,
                    reason: "r",
                },
                9,
            ),
            (
                Error::ProfileVersion {
                    found: 0,
                    supported: 1,
                },
                10,
            ),
            (Error::CorruptProfile { reason: "r".into() }, 11),
            (
                Error::CheckpointVersion {
                    found: 0,
                    supported: 1,
                },
                12,
            ),
            (Error::CorruptCheckpoint { reason: "r".into() }, 13),
            (Error::Finished { tick: 3 }, 18),
            (Error::SchemaMismatch { reason: "r".into() }, 14),
            (
                Error::TooLarge {
                    what: "x",
                    got: 2,
                    limit: 1,
                },
                15,
            ),
            (Error::Internal { reason: "r" }, 16),
            (
                Error::Batch {
                    index: 3,
                    error: Box::new(Error::Internal { reason: "r" }),
                },
                17,
            ),
            (
                Error::InvalidCount {
                    what: "x",
                    index: 0,
                    value: -1.0,
                },
                19,
            ),
        ];
        for (i, (e, code)) in all.iter().enumerate() {
            assert_eq!(e.code(), *code, "{e}");
            assert!(all[..i].iter().all(|(o, _)| o.code() != e.code()));
        }
    }
}
