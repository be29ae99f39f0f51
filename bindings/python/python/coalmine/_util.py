"""Small helpers the native module calls."""

from __future__ import annotations

import json
from typing import Any


def _plain(o: Any) -> Any:
    # numpy scalars and 0-d arrays carry `.item()`; anything else is not configuration.
    item = getattr(o, "item", None)
    if callable(item):
        return item()
    if isinstance(o, (set, frozenset)):
        return sorted(o)
    raise TypeError(f"{type(o).__name__} is not a configuration value")


def to_json(value: Any) -> str:
    """JSON text of a configuration value; NaN and infinities are refused."""
    return json.dumps(value, allow_nan=False, default=_plain)
