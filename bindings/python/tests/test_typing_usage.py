"""Typical use, written to be type-checked with `mypy --strict` (test_typing.py) and
run as a test: the stubs must describe what a user writes."""

from __future__ import annotations

from typing import List

import numpy as np

import coalmine


def test_typed_usage() -> None:
    det = coalmine.Ewma(alpha=0.2)
    batch: coalmine.Anomalies = det.update_many(np.arange(10.0))
    expected: np.ndarray = batch.expected
    one: coalmine.Anomaly = det.update(3.0)
    p: float = one.tail_probability
    mw = coalmine.mann_whitney_u([1.0, 2.0, 3.0], [2.0, 3.0, 4.0, 5.0])
    seq = coalmine.SequentialTest(direction="increase_is_bad")
    state: coalmine.SequentialState = seq.update_many(np.zeros(6))
    cfg = coalmine.Config(
        metrics=[{"name": "errors", "direction": "increase_is_bad", "kind": "count"}],
        segments=[{"name": "all"}],
    )
    builder = coalmine.ProfileBuilder(cfg)
    builder.push_many(np.random.default_rng(0).poisson(20, size=(100, 1)))
    profile: coalmine.BehaviorProfile = builder.build()
    analysis = coalmine.Analysis(profile, cfg)
    decisions: List[coalmine.Decision] = analysis.observe_many(
        np.arange(5.0), np.full((5, 1), 20.0), np.full((5, 1), 21.0)
    )
    verdict: str = analysis.verdict()
    try:
        analysis.observe(0.0, [1.0], [1.0])
    except coalmine.CoalmineError as e:
        code: int = e.code
        assert code == 6
    assert len(expected) == 10 and 0 <= p <= 1 and mw.n_x == 3 and state.n == 6
    assert len(decisions) == 5 and verdict in ("promote", "pause", "rollback", "inconclusive")
