"""coalmine: predictive canary analysis.

Streaming anomaly detectors (:class:`Ewma`, :class:`HoltWinters`,
:class:`Autoencoder`), canary-against-control tests (:func:`mann_whitney_u`,
:class:`SequentialTest`), and the judge of a rollout: learn a
:class:`BehaviorProfile` from the stable version's history, feed an
:class:`Analysis` one tick at a time (or :func:`replay` a whole DataFrame) and get a
:class:`Decision` per tick: continue, pause or roll back, with the risk and its
reasons. The computations are those of the Rust crate ``coalmine``; this package
converts types, releases the GIL for batch work and raises :class:`CoalmineError`
subclasses for bad input.
"""

from ._coalmine import (
    Allocation,
    Analysis,
    Anomalies,
    Anomaly,
    Autoencoder,
    BehaviorProfile,
    Config,
    Contributor,
    Decision,
    Ewma,
    HoltWinters,
    MannWhitneyResult,
    ProfileBuilder,
    RiskFactors,
    SequentialState,
    SequentialTest,
    __version__,
    mann_whitney_u,
)
from ._errors import (
    CheckpointVersionError,
    CoalmineError,
    ConfigError,
    CorruptCheckpointError,
    CorruptProfileError,
    DuplicateError,
    InputError,
    InsufficientDataError,
    InternalError,
    InvalidParameterError,
    InvalidValueError,
    LengthMismatchError,
    NonFiniteError,
    OutOfRangeError,
    ProfileVersionError,
    SchemaMismatchError,
    TimestampError,
    TooLargeError,
    UnknownNameError,
)
from ._replay import learn, replay, ticks_from_frame

__all__ = [
    "Allocation",
    "Analysis",
    "Anomalies",
    "Anomaly",
    "Autoencoder",
    "BehaviorProfile",
    "CheckpointVersionError",
    "CoalmineError",
    "Config",
    "ConfigError",
    "Contributor",
    "CorruptCheckpointError",
    "CorruptProfileError",
    "Decision",
    "DuplicateError",
    "Ewma",
    "HoltWinters",
    "InputError",
    "InsufficientDataError",
    "InternalError",
    "InvalidParameterError",
    "InvalidValueError",
    "LengthMismatchError",
    "MannWhitneyResult",
    "NonFiniteError",
    "OutOfRangeError",
    "ProfileBuilder",
    "ProfileVersionError",
    "RiskFactors",
    "SchemaMismatchError",
    "SequentialState",
    "SequentialTest",
    "TimestampError",
    "TooLargeError",
    "UnknownNameError",
    "__version__",
    "learn",
    "mann_whitney_u",
    "replay",
    "ticks_from_frame",
]
