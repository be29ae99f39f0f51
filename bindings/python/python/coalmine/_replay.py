"""Long-format pandas DataFrames (the ``coalmine`` command's metrics CSV) in and out.

A frame has the columns ``timestamp, cohort, segment, metric, value``, one row per
value; rows with the same timestamp form one tick, in any order. ``timestamp`` is
seconds (numbers), time-zone-aware datetimes, or RFC 3339 strings with an offset;
``cohort`` is ``baseline`` (or ``control``) or ``canary``; a missing value (NaN or an
empty field) is skipped by the analysis.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Dict, List, Tuple

import numpy as np

from ._coalmine import Analysis, BehaviorProfile, Config, Decision, ProfileBuilder
from ._errors import InputError, UnknownNameError

if TYPE_CHECKING:  # pandas is optional: only these functions need it.
    import pandas as pd  # type: ignore[import-untyped,unused-ignore]

COLUMNS = ("timestamp", "cohort", "segment", "metric", "value")
_COHORTS = {"baseline": 0, "control": 0, "canary": 1}


def _pandas() -> Any:
    try:
        import pandas
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise ImportError(
            "coalmine's DataFrame functions need pandas: pip install pandas"
        ) from e
    return pandas


def _seconds(column: "pd.Series") -> np.ndarray:
    pd = _pandas()
    if pd.api.types.is_bool_dtype(column):
        raise InputError("`timestamp` must hold seconds or datetimes, not booleans", 1101)
    if pd.api.types.is_numeric_dtype(column):
        return np.asarray(column.to_numpy(), dtype=np.float64)
    if not pd.api.types.is_datetime64_any_dtype(column):
        numeric = pd.to_numeric(column, errors="coerce")
        if not numeric.isna().any():
            return np.asarray(numeric.to_numpy(), dtype=np.float64)
        try:
            column = pd.to_datetime(column, format="ISO8601")
        except (ValueError, TypeError) as e:
            raise InputError(
                f"`timestamp` is neither seconds nor RFC 3339 with an offset: {e}", 1101
            ) from None
    if getattr(column.dt, "tz", None) is None:
        raise InputError(
            "`timestamp` holds datetimes without a time zone: localise them "
            "(Series.dt.tz_localize) or give seconds",
            1101,
        )
    ns = column.dt.tz_convert("UTC").dt.tz_localize(None).astype("datetime64[ns]")
    ns = np.asarray(ns.to_numpy()).astype(np.int64)
    # Whole seconds and the nanoseconds apart, so seconds stay exact in float64.
    whole, frac = np.divmod(ns, 1_000_000_000)
    out: np.ndarray = whole.astype(np.float64) + frac.astype(np.float64) / 1e9
    return out


def _indices(frame: "pd.DataFrame", column: str, names: List[str]) -> np.ndarray:
    lookup = {n: i for i, n in enumerate(names)}
    codes = frame[column].map(lookup)
    bad = codes.isna().to_numpy()
    if bad.any():
        pos = int(np.argmax(bad))
        raise UnknownNameError(
            f"row {frame.index[pos]!r}: unknown {column} `{frame[column].iloc[pos]}`", 8
        )
    return np.asarray(codes.to_numpy(), dtype=np.int64)


def ticks_from_frame(
    frame: "pd.DataFrame", config: Config, *, history: bool = False
) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Dense ticks from a long-format frame: ``(timestamps, control, canary)``, the
    timestamps sorted ascending and one row of ``config.tick_len`` values per tick and
    cohort (NaN where no row gave a value). With ``history=True`` canary rows are an
    error (history holds the stable version only)."""
    pd = _pandas()
    if not isinstance(frame, pd.DataFrame):
        raise InputError(f"expected a pandas DataFrame, got {type(frame).__name__}", 1101)
    missing = [c for c in COLUMNS if c not in frame.columns]
    if missing:
        raise InputError(
            f"the frame lacks the column(s) {', '.join(missing)} "
            f"(expected {', '.join(COLUMNS)})",
            1101,
        )
    if len(frame) == 0:
        raise InputError("the frame has no rows", 1101)
    ts = _seconds(frame["timestamp"])
    if not np.isfinite(ts).all():
        pos = int(np.argmax(~np.isfinite(ts)))
        raise InputError(f"row {frame.index[pos]!r}: timestamp {ts[pos]} is not finite", 1101)
    cohort_codes = frame["cohort"].map(_COHORTS)
    bad = cohort_codes.isna().to_numpy()
    if bad.any():
        pos = int(np.argmax(bad))
        raise InputError(
            f"row {frame.index[pos]!r}: unknown cohort `{frame['cohort'].iloc[pos]}` "
            "(expected baseline, control or canary)",
            1101,
        )
    cohort = cohort_codes.to_numpy(dtype=np.int64)
    if history and (cohort == 1).any():
        pos = int(np.argmax(cohort == 1))
        raise InputError(
            f"row {frame.index[pos]!r}: history holds the stable version only: "
            "found a canary row",
            1101,
        )
    if not history and not (cohort == 1).any():
        raise InputError("the live frame has no canary rows", 1101)
    seg = _indices(frame, "segment", config.segments)
    met = _indices(frame, "metric", config.metrics)
    raw = frame["value"]
    values = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=np.float64)
    unreadable = np.isnan(values) & ~_missing(raw)
    if unreadable.any():
        pos = int(np.argmax(unreadable))
        raise InputError(f"row {frame.index[pos]!r}: `{raw.iloc[pos]}` is not a number", 1101)

    length = config.tick_len
    flat = seg * len(config.metrics) + met
    stamps, tick = np.unique(ts, return_inverse=True)
    key = (tick * 2 + cohort) * length + flat
    order = np.argsort(key, kind="stable")
    repeated = key[order][1:] == key[order][:-1]
    if repeated.any():
        pos = int(order[1:][repeated].min())
        raise InputError(
            f"row {frame.index[pos]!r}: duplicate row: this timestamp, cohort, segment "
            "and metric already has a value",
            1101,
        )
    dense = np.full((2, len(stamps), length), np.nan)
    dense[cohort, tick, flat] = values
    return stamps, dense[0], dense[1]


def _missing(raw: "pd.Series") -> np.ndarray:
    pd = _pandas()
    text = raw.astype(str).str.strip().str.lower()
    return np.asarray((raw.isna() | text.isin(["", "nan"])).to_numpy(), dtype=bool)


def learn(history: "pd.DataFrame", config: Config) -> BehaviorProfile:
    """Learns a profile from a long-format frame of the stable version's history (the
    ``coalmine learn`` command)."""
    stamps, control, _ = ticks_from_frame(history, config, history=True)
    builder = ProfileBuilder(config)
    builder.push_many(control, timestamps=stamps)
    return builder.build()


_FRAME_COLUMNS = (
    "timestamp",
    "tick",
    "action",
    "reason",
    "risk",
    "predicted_risk",
    "severity",
    "persistence",
    "segment_weight",
    "feature_correlation",
    "canary_share",
    "phase",
    "top_segment",
    "top_metric",
    "top_deviation",
    "top_p_value",
    "summary",
)


def _row(d: Decision) -> Dict[str, Any]:
    top = d.contributors[0] if d.contributors else None
    return {
        "timestamp": d.timestamp,
        "tick": d.tick,
        "action": d.action,
        "reason": d.reason,
        "risk": d.risk,
        "predicted_risk": d.predicted_risk,
        "severity": d.severity,
        "persistence": d.persistence,
        "segment_weight": d.segment_weight,
        "feature_correlation": d.feature_correlation,
        "canary_share": d.canary_share,
        "phase": d.phase,
        "top_segment": top.segment if top else None,
        "top_metric": top.metric if top else None,
        "top_deviation": top.deviation if top else np.nan,
        "top_p_value": top.p_value if top else np.nan,
        "summary": d.summary,
    }


def replay(
    frame: "pd.DataFrame",
    config: Config,
    profile: BehaviorProfile,
    *,
    stop_at_rollback: bool = True,
) -> "pd.DataFrame":
    """Replays a live rollout (a long-format frame with baseline and canary rows)
    through an :class:`Analysis` and returns one row a tick: timestamp, tick, action,
    reason, risk, predicted risk, the four factors, canary share, phase, the top
    contributor and a one-line summary. Like ``coalmine analyze`` it stops at the first
    rollback (``stop_at_rollback=False`` goes on) and at promotion. ``frame.attrs`` of
    the result holds ``verdict``, ``verdict_reason`` (one line saying why, naming what
    was missing for an inconclusive verdict), ``peak_risk``, ``thresholds`` and
    ``ticks``."""
    pd = _pandas()
    stamps, control, canary = ticks_from_frame(frame, config)
    analysis = Analysis(profile, config)
    decisions = analysis.observe_many(
        stamps, control, canary, stop_at_rollback=stop_at_rollback
    )
    out = pd.DataFrame([_row(d) for d in decisions], columns=list(_FRAME_COLUMNS))
    report = analysis.verdict_report()
    out.attrs["verdict"] = report.verdict
    out.attrs["verdict_reason"] = report.explanation
    out.attrs["peak_risk"] = analysis.peak_risk
    out.attrs["thresholds"] = analysis.thresholds
    out.attrs["ticks"] = analysis.ticks
    return out
