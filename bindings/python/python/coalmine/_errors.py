"""The exceptions coalmine raises.

Every error carries the stable numeric ``code`` of the Rust core (``Error::code()``,
documented in ``docs/integration.md``); codes from 1100 belong to the Python binding.
Errors about bad input also subclass :class:`ValueError`, so code that already catches
``ValueError`` keeps working. A call that raises leaves the object it was called on
exactly as it was before the call.
"""

from __future__ import annotations

from typing import Dict, Optional, Tuple, Type

__all__ = [
    "CoalmineError",
    "InvalidParameterError",
    "NonFiniteError",
    "LengthMismatchError",
    "InsufficientDataError",
    "OutOfRangeError",
    "TimestampError",
    "DuplicateError",
    "UnknownNameError",
    "InvalidValueError",
    "ProfileVersionError",
    "CorruptProfileError",
    "CheckpointVersionError",
    "CorruptCheckpointError",
    "SchemaMismatchError",
    "TooLargeError",
    "InternalError",
    "FinishedError",
    "InvalidCountError",
    "ConfigError",
    "InputError",
]


class CoalmineError(Exception):
    """Base class of every coalmine error.

    ``code`` is the stable error number; ``index`` is, for a batch call, the position
    of the element that was refused (the batch was then not applied at all), else
    ``None``.
    """

    code: int
    index: Optional[int]

    def __init__(self, message: str, code: int = 0, index: Optional[int] = None) -> None:
        super().__init__(message)
        self.code = code
        self.index = index

    def __reduce__(self) -> Tuple[type, Tuple[str, int, Optional[int]]]:
        return (type(self), (str(self), self.code, self.index))


class InvalidParameterError(CoalmineError, ValueError):
    """A configuration parameter is outside its valid range (code 1)."""


class NonFiniteError(CoalmineError, ValueError):
    """A NaN or infinite value where a finite one is needed (code 2)."""


class LengthMismatchError(CoalmineError, ValueError):
    """A vector of the wrong length (code 3)."""


class InsufficientDataError(CoalmineError, ValueError):
    """Not enough history for what was asked (code 4)."""


class OutOfRangeError(CoalmineError, ValueError):
    """A finite value beyond the supported magnitude, 1e100 (code 5)."""


class TimestampError(CoalmineError, ValueError):
    """A tick's timestamp is not after the previous one (code 6)."""


class DuplicateError(CoalmineError, ValueError):
    """A name given twice where names must be unique (code 7)."""


class UnknownNameError(CoalmineError, ValueError):
    """A name that refers to nothing (code 8)."""


class InvalidValueError(CoalmineError, ValueError):
    """A value impossible for its metric's kind, such as a negative count (code 9)."""


class ProfileVersionError(CoalmineError, ValueError):
    """A profile written by another format version (code 10)."""


class CorruptProfileError(CoalmineError, ValueError):
    """A truncated, malformed or inconsistent profile (code 11)."""


class CheckpointVersionError(CoalmineError, ValueError):
    """A checkpoint written by another format version (code 12)."""


class CorruptCheckpointError(CoalmineError, ValueError):
    """A truncated, malformed or inconsistent checkpoint (code 13)."""


class SchemaMismatchError(CoalmineError, ValueError):
    """Two things that must share a schema do not (code 14)."""


class TooLargeError(CoalmineError, ValueError):
    """A size beyond coalmine's limits (code 15)."""


class InternalError(CoalmineError, RuntimeError):
    """A broken internal invariant: a bug in coalmine, please report it (code 16)."""


class FinishedError(CoalmineError):
    """The rollout was promoted: the analysis takes no more ticks (code 18). Not a
    bad value, so not a ValueError."""


class InvalidCountError(CoalmineError, ValueError):
    """A count behind a tick's value is negative, infinite or beyond 1e100 (code 19);
    NaN, an unknown count, is accepted."""


class ConfigError(CoalmineError, ValueError):
    """A configuration (dict or TOML) that cannot be read: a syntax error, an unknown
    key, a value of the wrong type (code 1100, the binding's own)."""


class InputError(CoalmineError, ValueError):
    """Data that cannot be turned into coalmine's input: an array of the wrong shape,
    a DataFrame without a needed column, an unknown cohort, a duplicate row, a
    datetime without a time zone (code 1101, the binding's own)."""


_BY_CODE: Dict[int, Type[CoalmineError]] = {
    1: InvalidParameterError,
    2: NonFiniteError,
    3: LengthMismatchError,
    4: InsufficientDataError,
    5: OutOfRangeError,
    6: TimestampError,
    7: DuplicateError,
    8: UnknownNameError,
    9: InvalidValueError,
    10: ProfileVersionError,
    11: CorruptProfileError,
    12: CheckpointVersionError,
    13: CorruptCheckpointError,
    14: SchemaMismatchError,
    15: TooLargeError,
    16: InternalError,
    18: FinishedError,
    19: InvalidCountError,
    1100: ConfigError,
    1101: InputError,
}


def from_code(code: int, message: str, index: Optional[int] = None) -> CoalmineError:
    """The exception for ``code``; a code this version does not know yet (the core adds
    codes, never reuses them) gives a plain :class:`CoalmineError`."""
    return _BY_CODE.get(code, CoalmineError)(message, code, index)
