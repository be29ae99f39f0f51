"""Configuration, profiles and analyses: the API, its errors, checkpoints and pickling,
and DataFrame replay, on a small synthetic service."""

from __future__ import annotations

import copy
import datetime
import pickle
import re
from pathlib import Path
from typing import Any, Dict, Tuple

import numpy as np
import pandas as pd
import pytest

import coalmine

SCHEMA: Dict[str, Any] = {
    "metrics": [
        {"name": "error_rate", "direction": "increase_is_bad", "kind": "ratio", "critical": True},
        {"name": "latency", "direction": "increase_is_bad", "feature": "search"},
        {"name": "checkouts", "direction": "decrease_is_bad", "kind": "count", "feature": "checkout"},
    ],
    "segments": [{"name": "free", "weight": 1.0}, {"name": "pro", "weight": 3.0}],
    "features": [{"name": "search", "weight": 1.0}, {"name": "checkout", "weight": 2.0}],
}

TOML = """
[[metrics]]
name = "error_rate"
direction = "increase_is_bad"
kind = "ratio"
critical = true

[[metrics]]
name = "latency"
direction = "increase_is_bad"
feature = "search"

[[metrics]]
name = "checkouts"
direction = "decrease_is_bad"
kind = "count"
feature = "checkout"

[[segments]]
name = "free"
weight = 1.0

[[segments]]
name = "pro"
weight = 3.0

[[features]]
name = "search"
weight = 1.0

[[features]]
name = "checkout"
weight = 2.0
"""

START = 1_700_000_000


def _tick(rng: np.random.Generator, fault: float = 0.0) -> np.ndarray:
    """One cohort's values, segments × metrics; `fault` raises the error rate."""
    rows = []
    for _ in range(2):
        rows.append(
            [
                min(1.0, max(0.0, 0.01 + fault + rng.normal(0, 0.002))),
                200 + rng.normal(0, 5),
                float(rng.poisson(50)),
            ]
        )
    return np.array(rows)


def _history(n: int = 200, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.stack([_tick(rng).ravel() for _ in range(n)])


@pytest.fixture(scope="module")
def config() -> coalmine.Config:
    return coalmine.Config.from_dict(SCHEMA)


@pytest.fixture(scope="module")
def profile(config: coalmine.Config) -> coalmine.BehaviorProfile:
    b = coalmine.ProfileBuilder(config)
    b.push_many(_history())
    return b.build()


def _live(n: int, fault_from: int = 10**9, seed: int = 1) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    ts = START + 60.0 * np.arange(n)
    control = np.stack([_tick(rng).ravel() for _ in range(n)])
    canary = np.stack([_tick(rng, 0.05 if k >= fault_from else 0.0).ravel() for k in range(n)])
    return ts, control, canary


def _frame(ts: np.ndarray, control: np.ndarray, canary: np.ndarray, config: coalmine.Config) -> pd.DataFrame:
    rows = []
    for cohort, values in (("control", control), ("canary", canary)):
        for k, t in enumerate(ts):
            for i, v in enumerate(values[k]):
                s, m = divmod(i, len(config.metrics))
                rows.append((t, cohort, config.segments[s], config.metrics[m], v))
    frame = pd.DataFrame(rows, columns=["timestamp", "cohort", "segment", "metric", "value"])
    # Rows of a tick may come in any order.
    return frame.sample(frac=1.0, random_state=4).reset_index(drop=True)


# --- configuration -------------------------------------------------------------------


def test_config_from_dict_toml_and_keywords_agree(config: coalmine.Config, tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text(TOML)
    assert coalmine.Config.from_toml(path) == config
    assert coalmine.Config.from_toml(str(path)) == config
    assert coalmine.Config.from_toml_str(TOML) == config
    assert coalmine.Config(**SCHEMA) == config
    assert coalmine.Config.from_toml_str(config.to_toml()) == config
    assert coalmine.Config.from_dict(config.to_dict()) == config
    assert pickle.loads(pickle.dumps(config)) == config
    assert hash(coalmine.Config.from_toml_str(TOML)) == hash(config)
    assert config.segments == ["free", "pro"] and config.tick_len == 6
    assert config.learned_thresholds and config.thresholds == (0.5, 0.8)


def test_explicit_thresholds_turn_learning_off_other_policy_keys_do_not() -> None:
    c = coalmine.Config.from_dict({**SCHEMA, "policy": {"pause_at": 0.4, "rollback_at": 0.9}})
    assert not c.learned_thresholds and c.thresholds == (0.4, 0.9)
    only = coalmine.Config.from_dict({**SCHEMA, "policy": {"rollback_at": 0.9}})
    assert not only.learned_thresholds
    other = coalmine.Config.from_dict({**SCHEMA, "policy": {"resume_ticks": 5}})
    assert other.learned_thresholds and other.thresholds == (0.5, 0.8)
    toml = coalmine.Config.from_toml_str(TOML + "\n[policy]\nresume_ticks = 5\n")
    assert toml == other and toml.learned_thresholds
    # What was written, not the defaults filled in, survives a round trip.
    for config in (c, only, other):
        assert coalmine.Config.from_dict(config.to_dict()) == config
        assert coalmine.Config.from_toml_str(config.to_toml()) == config
        assert pickle.loads(pickle.dumps(config)).learned_thresholds == config.learned_thresholds
    assert other != coalmine.Config.from_dict({**SCHEMA, "policy": {"resume_ticks": 5, "pause_at": 0.5}})


def test_nested_tables_round_trip_through_toml() -> None:
    d = {**SCHEMA, "profile": {"ewma": {"alpha": 0.2}, "season_length": 24}, "risk": {"horizon": 4}}
    c = coalmine.Config.from_dict(d)
    assert coalmine.Config.from_toml_str(c.to_toml()) == c
    assert c.to_dict() == d


def test_durations_in_seconds_round_trip_beside_tick_counts() -> None:
    d = {
        **SCHEMA,
        "policy": {"resume_seconds": 5400.0, "max_pause_ticks": 20},
        "traffic": {"min_dwell_seconds": 600.0},
        "risk": {"horizon_seconds": 1800.0},
    }
    c = coalmine.Config.from_dict(d)
    assert c.to_dict() == d
    assert coalmine.Config.from_toml_str(c.to_toml()) == c
    assert c != coalmine.Config.from_dict({**SCHEMA, "traffic": {"min_dwell_ticks": 10}})


def test_feedback_settings_apply_to_profiles_and_analyses(profile: coalmine.BehaviorProfile) -> None:
    strict = coalmine.Config.from_dict({**SCHEMA, "feedback": {"min_outcomes": 2, "step": 0.05}})
    p = copy.deepcopy(profile)
    # Missed bad releases with low peaks: with two outcomes enough, t2 tightens; with
    # the default minimum it does not move yet.
    p.record_outcome("promoted_later_bad", 0.3)
    p.record_outcome("promoted_later_bad", 0.35)
    default = coalmine.Config.from_dict(SCHEMA)
    assert p.learned_thresholds(default) == (0.5, 0.8)
    analysis = coalmine.Analysis(p, strict)
    assert analysis.thresholds[1] < 0.8
    # The caller's profile keeps its own settings.
    assert p.learned_thresholds(default) == (0.5, 0.8)
    with pytest.raises(coalmine.InvalidParameterError):
        coalmine.Config.from_dict({**SCHEMA, "feedback": {"max_loosen": -1.0}})
    with pytest.raises(coalmine.ConfigError):
        coalmine.Config.from_dict({**SCHEMA, "feedback": {"fold": 0.1}})


def test_absurd_profile_settings_are_refused_with_the_configuration() -> None:
    with pytest.raises(coalmine.TooLargeError):
        coalmine.Config.from_dict({**SCHEMA, "profile": {"season_length": 10**12}})
    with pytest.raises(coalmine.InvalidParameterError):
        coalmine.Config.from_dict({**SCHEMA, "profile": {"ewma": {"alpha": 3.0}}})


@pytest.mark.parametrize(
    "change, error, words",
    [
        ({"policy": {"pause_att": 0.4}}, coalmine.ConfigError, "pause_att"),
        ({"policy": {"pause_at": "high"}}, coalmine.ConfigError, "invalid type"),
        ({"policy": {"pause_at": 0.9, "rollback_at": 0.5}}, coalmine.InvalidParameterError, "pause_at"),
        ({"policy": {"pause_at": float("nan")}}, coalmine.ConfigError, "JSON compliant"),
        ({"traffic": {"steps": [0.5, 0.1]}}, coalmine.InvalidParameterError, "steps"),
        ({"traffic": {"min_dwell_seconds": -60.0}}, coalmine.InvalidParameterError, "min_dwell_seconds"),
        ({"policy": {"resume_seconds": float("nan")}}, coalmine.ConfigError, "JSON compliant"),
        ({"policy": {"max_pause_seconds": 1e12}}, coalmine.InvalidParameterError, "max_pause_seconds"),
        ({"risk": {"horizon_seconds": "5h"}}, coalmine.ConfigError, "invalid type"),
        ({"segments": [{"name": "a"}, {"name": "a"}]}, coalmine.DuplicateError, "`a`"),
        ({"metrics": [{"name": "x", "direction": "any", "feature": "nope"}]}, coalmine.UnknownNameError, "nope"),
        ({"metrics": [{"name": "x", "direction": "sideways"}]}, coalmine.ConfigError, "sideways"),
        ({"metrics": object()}, coalmine.ConfigError, "not a configuration value"),
    ],
)
def test_bad_configuration(change: Dict[str, Any], error: type, words: str) -> None:
    with pytest.raises(error) as info:
        coalmine.Config.from_dict({**SCHEMA, **change})
    assert words in str(info.value) and isinstance(info.value, ValueError)


def test_toml_errors_name_the_line(tmp_path: Path) -> None:
    with pytest.raises(coalmine.ConfigError) as info:
        coalmine.Config.from_toml_str(TOML + "\n[policy]\npause_at = = 1\n")
    assert "<string>:" in str(info.value) and info.value.code == 1100
    path = tmp_path / "bad.toml"
    path.write_text(TOML + "\n[polcy]\n")
    with pytest.raises(coalmine.ConfigError) as info:
        coalmine.Config.from_toml(path)
    assert str(path) in str(info.value) and "polcy" in str(info.value)
    with pytest.raises(FileNotFoundError):
        coalmine.Config.from_toml(tmp_path / "missing.toml")


# --- profiles ------------------------------------------------------------------------


def test_profile_builder_errors_are_atomic(config: coalmine.Config) -> None:
    b = coalmine.ProfileBuilder(config)
    with pytest.raises(coalmine.LengthMismatchError):
        b.push(np.zeros(5))
    rows = _history(10)
    rows[7, 2] = -1.0  # a negative count
    with pytest.raises(coalmine.InvalidValueError) as info:
        b.push_many(rows)
    assert info.value.index == 7 and b.ticks == 0
    rows[7, 2] = 3.0
    rows[4, 0] = np.inf
    with pytest.raises(coalmine.NonFiniteError):
        b.push_many(rows)
    assert b.ticks == 0
    b.push(rows[0].reshape(2, 3))  # a segments × metrics array works too
    assert b.ticks == 1
    with pytest.raises(coalmine.InsufficientDataError):
        b.build()


def test_profile_save_load_pickle(profile: coalmine.BehaviorProfile, tmp_path: Path) -> None:
    path = tmp_path / "p.json"
    profile.save(path)
    assert coalmine.BehaviorProfile.load(path) == profile
    assert pickle.loads(pickle.dumps(profile)) == profile
    assert copy.deepcopy(profile) == profile
    assert profile.history_ticks == 200 and profile.metrics == ["error_rate", "latency", "checkouts"]


def test_corrupt_and_foreign_profiles(profile: coalmine.BehaviorProfile) -> None:
    text = profile.to_json()
    with pytest.raises(coalmine.CorruptProfileError):
        coalmine.BehaviorProfile.from_json(text[:1000])
    with pytest.raises(coalmine.CorruptProfileError):
        coalmine.BehaviorProfile.from_json("[]")
    with pytest.raises(coalmine.ProfileVersionError) as info:
        coalmine.BehaviorProfile.from_json(re.sub(r'"version":\d+', '"version":999', text, count=1))
    assert info.value.code == 10


def test_feedback_and_fold(config: coalmine.Config, profile: coalmine.BehaviorProfile) -> None:
    p = copy.deepcopy(profile)
    a = coalmine.Analysis(p, config)
    ts, control, canary = _live(20)
    a.observe_many(ts, control, canary)
    assert a.outcome(False) in ("promoted_healthy", "rolled_back_false_alarm")
    assert p.record_outcome(a.outcome(False), a.peak_risk) is None
    assert p.outcomes_recorded == 1
    # One outcome never moves the thresholds.
    assert p.learned_thresholds(config) == config.thresholds == p.learned_thresholds()
    p.fold_healthy(a)
    with pytest.raises(coalmine.UnknownNameError):
        p.record_outcome("great", 0.1)  # type: ignore[arg-type]
    with pytest.raises(coalmine.NonFiniteError):
        p.record_outcome("promoted_healthy", float("nan"))
    assert p.outcomes_recorded == 1


# --- analysis ------------------------------------------------------------------------


def test_observe_and_decision_fields(config: coalmine.Config, profile: coalmine.BehaviorProfile) -> None:
    a = coalmine.Analysis(profile, config)
    ts, control, canary = _live(40, fault_from=20)
    decisions = [a.observe(t, c, k) for t, c, k in zip(ts, control, canary)]
    last = decisions[-1]
    assert a.verdict() == "rollback" and last.action == "rollback"
    assert last.reason in ("critical_metric", "risk_high", "predicted", "already_rolled_back")
    first_rb = next(d for d in decisions if d.action == "rollback")
    assert first_rb.tick > 20 and first_rb.alert in ("critical", "warning")
    top = first_rb.contributors[0]
    assert top.metric == "error_rate" and top.segment in ("free", "pro") and top.deviation > 0
    assert first_rb.canary_share == 0.0 and first_rb.phase == "rolled_back"
    assert first_rb.allocation.control == 1.0
    f = first_rb.factors
    assert (f.severity, f.persistence, f.segment_weight, f.feature_correlation) == (
        first_rb.severity,
        first_rb.persistence,
        first_rb.segment_weight,
        first_rb.feature_correlation,
    )
    assert "error_rate" in first_rb.summary
    d = first_rb.to_dict()
    assert d["assessment"]["risk"] == first_rb.risk and d["tick"] == first_rb.tick
    assert decisions[0].action == "continue" and decisions[0].interval_factor is None


def test_bad_ticks_leave_the_analysis_usable(config: coalmine.Config, profile: coalmine.BehaviorProfile) -> None:
    a = coalmine.Analysis(profile, config)
    ts, control, canary = _live(10)
    a.observe(ts[0], control[0], canary[0])
    before = a.checkpoint()
    with pytest.raises(coalmine.TimestampError):
        a.observe(ts[0], control[1], canary[1])
    with pytest.raises(coalmine.NonFiniteError):
        a.observe(float("nan"), control[1], canary[1])
    with pytest.raises(coalmine.LengthMismatchError):
        a.observe(ts[1], control[1][:4], canary[1])
    bad = canary[1].copy()
    bad[2] = -5.0
    with pytest.raises(coalmine.InvalidValueError):
        a.observe(ts[1], control[1], bad)
    bad[2] = np.inf
    with pytest.raises(coalmine.CoalmineError):
        a.observe(ts[1], control[1], bad)
    with pytest.raises(coalmine.InputError):
        a.observe(ts[1], np.zeros((2, 3, 1)), canary[1])
    with pytest.raises(coalmine.InputError):
        a.observe("soon", control[1], canary[1])  # type: ignore[arg-type]
    with pytest.raises(coalmine.InputError):
        a.observe(datetime.datetime(2026, 1, 1), control[1], canary[1])
    assert a.checkpoint() == before
    strided = np.repeat(canary[1], 2)[::2]  # a non-contiguous view is copied, not refused
    a.observe(ts[1], control[1].reshape(2, 3), strided)
    assert a.ticks == 2


def test_datetimes_are_seconds(config: coalmine.Config, profile: coalmine.BehaviorProfile) -> None:
    ts, control, canary = _live(3)
    a, b = coalmine.Analysis(profile, config), coalmine.Analysis(profile, config)
    for t, c, k in zip(ts, control, canary):
        when = datetime.datetime.fromtimestamp(t, tz=datetime.timezone.utc)
        assert a.observe(when, c, k).timestamp == b.observe(pd.Timestamp(when), c, k).timestamp == t


def test_observe_many_is_atomic_and_equals_observe(config: coalmine.Config, profile: coalmine.BehaviorProfile) -> None:
    ts, control, canary = _live(60, fault_from=30)
    one = coalmine.Analysis(profile, config)
    singles = [one.observe(t, c, k).to_dict() for t, c, k in zip(ts, control, canary)]
    many = coalmine.Analysis(profile, config)
    bad = canary.copy()
    bad[12, 1] = np.nan  # missing is fine
    bad[25, 0] = 2.0  # a ratio above 1 is not
    with pytest.raises(coalmine.InvalidValueError) as info:
        many.observe_many(ts, control, bad)
    assert info.value.index == 25 and many.ticks == 0
    with pytest.raises(coalmine.InputError):
        many.observe_many(ts[:5], control, canary)
    got = many.observe_many(ts, control, canary, stop_at_rollback=False)
    assert [d.to_dict() for d in got] == singles
    stopped = coalmine.Analysis(profile, config).observe_many(ts, control, canary)
    assert stopped[-1].action == "rollback" and len(stopped) < len(singles)


def test_schema_mismatch(profile: coalmine.BehaviorProfile) -> None:
    other = coalmine.Config.from_dict({**SCHEMA, "segments": [{"name": "free"}, {"name": "team"}]})
    with pytest.raises(coalmine.SchemaMismatchError):
        coalmine.Analysis(profile, other)


def test_checkpoint_restore_and_pickle_continue_identically(
    config: coalmine.Config, profile: coalmine.BehaviorProfile
) -> None:
    ts, control, canary = _live(50, fault_from=35)
    a = coalmine.Analysis(profile, config)
    a.observe_many(ts[:25], control[:25], canary[:25])
    clones = [
        coalmine.Analysis.restore(a.checkpoint()),
        pickle.loads(pickle.dumps(a)),
        copy.deepcopy(a),
    ]
    want = [d.to_dict() for d in a.observe_many(ts[25:], control[25:], canary[25:])]
    for c in clones:
        assert [d.to_dict() for d in c.observe_many(ts[25:], control[25:], canary[25:])] == want
        assert c.verdict() == a.verdict()
    with pytest.raises(coalmine.CorruptCheckpointError):
        coalmine.Analysis.restore(a.checkpoint()[:500])
    text = re.sub(r'"version":\d+', '"version":999', a.checkpoint(), count=1)
    with pytest.raises(coalmine.CheckpointVersionError):
        coalmine.Analysis.restore(text)


def test_series_view(config: coalmine.Config, profile: coalmine.BehaviorProfile) -> None:
    a = coalmine.Analysis(profile, config)
    before = a.series("pro", "latency")
    assert before["canary_level"] is None and 150 < before["expected"] < 250
    ts, control, canary = _live(5)
    a.observe_many(ts, control, canary)
    after = a.series("pro", "latency")
    assert after["canary_level"] is not None and after["scale"] > 0
    with pytest.raises(coalmine.UnknownNameError):
        a.series("team", "latency")
    with pytest.raises(coalmine.UnknownNameError):
        a.series("pro", "cpu")


def test_default_config_analysis(profile: coalmine.BehaviorProfile) -> None:
    a = coalmine.Analysis(profile)
    assert a.verdict() == "inconclusive" and a.verdict_report().reason == "no_ticks"
    ts, control, canary = _live(5)
    assert len(a.observe_many(ts, control, canary)) == 5
    report = a.verdict_report()
    assert a.verdict() == report.verdict == "inconclusive" and a.last_decision.tick == 5
    assert report.reason == "ramp_incomplete" and report.ticks == 5
    assert "ramp" in report.explanation and report.to_dict()["ticks"] == 5


FAST = {"traffic": {"steps": [0.5, 1.0], "min_dwell_ticks": 3, "min_evidence_ticks": 3}}


def test_promotion_is_final(profile: coalmine.BehaviorProfile) -> None:
    config = coalmine.Config.from_dict({**SCHEMA, **FAST})
    ts, control, canary = _live(200)
    a = coalmine.Analysis(profile, config)
    decisions = a.observe_many(ts, control, canary)
    assert decisions[-1].phase == "promoted" and len(decisions) < 200
    report = a.verdict_report()
    assert report.verdict == "promote" and report.decided_at == decisions[-1].tick
    before = a.checkpoint()
    k = len(decisions)
    with pytest.raises(coalmine.FinishedError) as info:
        a.observe(ts[k], control[k], canary[k])
    assert info.value.code == 18 and not isinstance(info.value, ValueError)
    assert a.checkpoint() == before
    # A batch that runs past the promotion stops there, like the command.
    again = coalmine.Analysis(profile, config).observe_many(ts, control, canary, stop_at_rollback=False)
    assert [d.to_dict() for d in again] == [d.to_dict() for d in decisions]


def test_inconclusive_without_canary_or_with_unobserved_series(
    config: coalmine.Config, profile: coalmine.BehaviorProfile
) -> None:
    ts, control, canary = _live(10)
    a = coalmine.Analysis(profile, config)
    a.observe_many(ts, control, np.full_like(canary, np.nan))
    r = a.verdict_report()
    assert (r.verdict, r.reason, r.canary_ticks) == ("inconclusive", "no_canary_data", 0)
    partial = canary.copy()
    partial[:, 4] = np.nan  # "latency" in "pro" never seen in the canary
    b = coalmine.Analysis(profile, config)
    b.observe_many(ts, control, partial)
    r = b.verdict_report()
    assert r.reason == "series_never_observed" and r.unobserved == [("pro", "latency")]
    assert "latency in pro" in r.explanation


# --- DataFrames ----------------------------------------------------------------------


def test_replay_frame(config: coalmine.Config, profile: coalmine.BehaviorProfile) -> None:
    ts, control, canary = _live(60, fault_from=30)
    frame = _frame(ts, control, canary, config)
    out = coalmine.replay(frame, config, profile)
    direct = coalmine.Analysis(profile, config).observe_many(ts, control, canary)
    assert len(out) == len(direct) and out.attrs["verdict"] == "rollback"
    assert "critical" in out.attrs["verdict_reason"] or "risk" in out.attrs["verdict_reason"]
    assert list(out["risk"]) == [d.risk for d in direct]
    assert list(out["action"]) == [d.action for d in direct]
    assert list(out["reason"]) == [d.reason for d in direct]
    assert list(out["timestamp"]) == list(ts[: len(out)])
    assert out["top_metric"].iloc[-1] == "error_rate"
    # The same ticks with datetimes and RFC 3339 strings.
    dated = frame.assign(timestamp=pd.to_datetime(frame["timestamp"], unit="s", utc=True))
    assert coalmine.replay(dated, config, profile)["risk"].equals(out["risk"])
    texts = dated.assign(timestamp=dated["timestamp"].dt.strftime("%Y-%m-%dT%H:%M:%S+00:00"))
    assert coalmine.replay(texts, config, profile)["risk"].equals(out["risk"])
    stamps = START - 60.0 * np.arange(200, 0, -1)
    learnt = coalmine.learn(
        _frame(stamps, _history(), _history(), config).query("cohort == 'control'"),
        config,
    )
    # learn passes the frame's timestamps, as the command does.
    timed = coalmine.ProfileBuilder(config)
    timed.push_many(_history(), timestamps=stamps)
    assert learnt == timed.build()
    assert learnt.to_json().replace('"tick_interval":60.0', '"tick_interval":null') == profile.to_json()


@pytest.mark.parametrize(
    "mutate, error, words",
    [
        (lambda f: f.drop(columns=["metric"]), coalmine.InputError, "metric"),
        (lambda f: f.assign(cohort="treatment"), coalmine.InputError, "treatment"),
        (lambda f: f.assign(segment=f["segment"].where(f.index != 3, "team")), coalmine.UnknownNameError, "team"),
        (lambda f: f.assign(metric=f["metric"].where(f.index != 5, "cpu")), coalmine.UnknownNameError, "cpu"),
        (lambda f: pd.concat([f, f.iloc[[7]]]), coalmine.InputError, "duplicate"),
        (lambda f: f[f["cohort"] != "canary"], coalmine.InputError, "no canary rows"),
        (lambda f: f.iloc[:0], coalmine.InputError, "no rows"),
        (lambda f: f.assign(value=f["value"].astype(object).where(f.index != 2, "lots")), coalmine.InputError, "lots"),
        (lambda f: f.assign(timestamp=pd.to_datetime(f["timestamp"], unit="s")), coalmine.InputError, "time zone"),
        (lambda f: f.assign(timestamp="yesterday"), coalmine.InputError, "RFC 3339"),
    ],
)
def test_bad_frames(config: coalmine.Config, profile: coalmine.BehaviorProfile, mutate: Any, error: type, words: str) -> None:
    ts, control, canary = _live(5)
    frame = _frame(ts, control, canary, config)
    with pytest.raises(error) as info:
        coalmine.replay(mutate(frame), config, profile)
    assert words in str(info.value)


def test_history_frame_must_not_hold_canary_rows(config: coalmine.Config) -> None:
    ts, control, canary = _live(5)
    with pytest.raises(coalmine.InputError) as info:
        coalmine.learn(_frame(ts, control, canary, config), config)
    assert "stable version only" in str(info.value)


def test_missing_values_are_skipped(config: coalmine.Config, profile: coalmine.BehaviorProfile) -> None:
    ts, control, canary = _live(8)
    frame = _frame(ts, control, canary, config)
    frame.loc[frame.index[:10], "value"] = np.nan
    stamps, c, k = coalmine.ticks_from_frame(frame, config)
    assert np.isnan(c).sum() + np.isnan(k).sum() == 10
    assert len(coalmine.replay(frame, config, profile)) == 8


def test_timestamped_history_learns_the_tick_interval() -> None:
    config = coalmine.Config.from_dict(SCHEMA)
    rng = np.random.default_rng(3)
    rows = 0.5 + 0.01 * rng.normal(size=(60, config.tick_len))
    stamps = 1.7e9 + 60.0 * np.arange(60)
    builder = coalmine.ProfileBuilder(config)
    builder.push_many(rows, timestamps=stamps)
    built = builder.build()
    assert '"tick_interval":60.0' in built.to_json() and built.tick_interval == 60.0
    with pytest.raises(coalmine.TimestampError):
        builder.push(rows[0], timestamp=stamps[-1])  # not after the last tick
    with pytest.raises(coalmine.InvalidValueError):
        builder.push(rows[0])  # a timestamped history needs timestamps
    assert builder.ticks == 60
    untimed = coalmine.ProfileBuilder(config)
    with pytest.raises(coalmine.LengthMismatchError):
        untimed.push_many(rows, timestamps=stamps[:10])
    assert untimed.ticks == 0
    untimed.push_many(rows)
    assert untimed.build().tick_interval is None


# --- counts behind the values -----------------------------------------------------------


def test_counts(config: coalmine.Config, profile: coalmine.BehaviorProfile) -> None:
    ts, control, canary = _live(30, fault_from=15)
    unknown = np.full(control.shape[1], np.nan)
    zero_first = unknown.copy()
    zero_first[0] = 0.0
    nan_first = canary.copy()
    nan_first[:, 0] = np.nan
    plain, with_unknown, with_zero, without_first = (coalmine.Analysis(profile, config) for _ in range(4))
    for t, c, k, kn in zip(ts, control, canary, nan_first):
        d = plain.observe(t, c, k)
        # Unknown counts, as a list or an array: the values are used as without counts.
        du = with_unknown.observe(t, c, k, control_counts=list(unknown), canary_counts=unknown)
        assert du.to_dict() == d.to_dict()
        # A count of 0 makes its value missing, whatever the value.
        dz = with_zero.observe(t, c, k, canary_counts=zero_first)
        assert dz.to_dict() == without_first.observe(t, c, kn).to_dict()
    assert ("free", "error_rate") in with_zero.verdict_report().unobserved
    assert ("free", "error_rate") not in plain.verdict_report().unobserved
    assert with_zero.checkpoint() != plain.checkpoint()

    # The batch entry point takes the same counts, one row per tick.
    n = len(ts)
    batch = coalmine.Analysis(profile, config).observe_many(
        ts,
        control,
        canary,
        control_counts=np.tile(unknown, (n, 1)),
        canary_counts=np.tile(zero_first, (n, 1)),
        stop_at_rollback=False,
    )
    replay = coalmine.Analysis(profile, config).observe_many(ts, control, nan_first, stop_at_rollback=False)
    assert [d.to_dict() for d in batch] == [d.to_dict() for d in replay]

    # Bad counts are refused and change nothing.
    t = ts[-1] + 60.0
    before, ticks = plain.checkpoint(), plain.ticks
    negative = unknown.copy()
    negative[2] = -1.0
    with pytest.raises(coalmine.InvalidCountError) as info:
        plain.observe(t, control[0], canary[0], control_counts=negative)
    assert info.value.code == 19 and isinstance(info.value, ValueError)
    assert "control counts" in str(info.value)
    for bad in (np.inf, 1e101):
        with pytest.raises(coalmine.InvalidCountError):
            plain.observe(t, control[0], canary[0], canary_counts=np.full_like(unknown, bad))
    with pytest.raises(coalmine.LengthMismatchError) as mismatch:
        plain.observe(t, control[0], canary[0], canary_counts=unknown[:-1])
    assert mismatch.value.code == 3
    with pytest.raises(coalmine.InvalidCountError) as in_batch:
        plain.observe_many(
            [t, t + 60.0], control[:2], canary[:2], control_counts=np.stack([unknown, negative]), stop_at_rollback=False
        )
    assert in_batch.value.index == 1
    with pytest.raises(coalmine.InputError):
        plain.observe_many(
            [t, t + 60.0], control[:2], canary[:2], control_counts=np.stack([unknown]), stop_at_rollback=False
        )
    assert (plain.checkpoint(), plain.ticks) == (before, ticks)
    plain.observe(t, control[0], canary[0], control_counts=unknown, canary_counts=unknown)
    assert plain.ticks == ticks + 1


def test_observe_many_with_counts_equals_observe_and_checks_every_tick_first(
    config: coalmine.Config, profile: coalmine.BehaviorProfile
) -> None:
    ts, control, canary = _live(40, fault_from=20)
    n, width = control.shape
    rng = np.random.default_rng(5)
    control_counts = rng.integers(500, 2000, size=(n, width)).astype(float)
    canary_counts = rng.integers(5, 80, size=(n, width)).astype(float)
    canary_counts[rng.random((n, width)) < 0.05] = 0.0
    control_counts[rng.random((n, width)) < 0.05] = np.nan
    one = coalmine.Analysis(profile, config)
    singles = [
        one.observe(t, c, k, control_counts=cc, canary_counts=kc).to_dict()
        for t, c, k, cc, kc in zip(ts, control, canary, control_counts, canary_counts)
    ]
    many = coalmine.Analysis(profile, config)
    got = many.observe_many(
        ts, control, canary, control_counts=control_counts, canary_counts=canary_counts, stop_at_rollback=False
    )
    assert [d.to_dict() for d in got] == singles
    assert many.checkpoint() == one.checkpoint()
    # The counts matter: without them the decisions differ.
    without = coalmine.Analysis(profile, config).observe_many(ts, control, canary, stop_at_rollback=False)
    assert [d.to_dict() for d in without] != singles

    # Stopping at the first rollback, the batch still checks every tick first: a bad
    # count after the rollback refuses the whole batch.
    stopped = coalmine.Analysis(profile, config).observe_many(
        ts, control, canary, control_counts=control_counts, canary_counts=canary_counts
    )
    assert stopped[-1].action == "rollback" and len(stopped) < n
    bad = canary_counts.copy()
    bad[n - 1, 0] = -1.0
    fresh = coalmine.Analysis(profile, config)
    with pytest.raises(coalmine.InvalidCountError) as info:
        fresh.observe_many(ts, control, canary, control_counts=control_counts, canary_counts=bad)
    assert info.value.index == n - 1 and fresh.ticks == 0
    # Rows not of the tick's length are the core's length mismatch, nothing applied.
    with pytest.raises(coalmine.LengthMismatchError):
        fresh.observe_many(ts, control[:, :-1], canary[:, :-1])
    assert fresh.ticks == 0
