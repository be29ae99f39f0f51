"""Decision parity with the Rust crate: the same simulated rollout, replayed from
pandas through the Python package, gives the Rust crate's profile and decisions bit for
bit; and the same files give what the `coalmine` command gives."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Callable, List, Optional

import numpy as np
import pandas as pd
import pytest

import coalmine

SCENARIOS = [
    ("aa-identical", 7),
    ("error-spike", 3),
    ("feature-usage-drop", 7),
    ("memory-leak", 2),
    ("latency-regression-one-segment", 5),
    ("missing-ticks", 4),
]


def _counts(rows: List[List[Optional[float]]]) -> np.ndarray:
    """Counts as JSON holds them (null for an unknown count) as a float array."""
    return np.array([[np.nan if c is None else c for c in r] for r in rows], dtype=float)


@pytest.mark.parametrize("scenario, seed", SCENARIOS)
def test_replay_matches_rust_bit_for_bit(
    simulated: Callable[[str, int], Path], scenario: str, seed: int
) -> None:
    folder = simulated(scenario, seed)
    config = coalmine.Config.from_dict(json.loads((folder / "config.json").read_text()))
    profile = coalmine.learn(pd.read_csv(folder / "history.csv"), config)
    assert profile.to_json() == (folder / "profile.json").read_text()

    want = [json.loads(line) for line in (folder / "decisions.jsonl").read_text().splitlines()]
    stamps, control, canary = coalmine.ticks_from_frame(pd.read_csv(folder / "live.csv"), config)
    got = coalmine.Analysis(profile, config).observe_many(stamps, control, canary)
    assert len(got) == len(want) > 0
    for d, w in zip(got, want):
        # Python's json reads the shortest round-trip text Rust wrote back into the
        # same doubles, so == is bit-for-bit equality.
        assert d.to_dict() == w["decision"], f"tick {d.tick}"
        assert d.summary == w["summary"]

    # The same ticks with a count behind each value, in one batch.
    counts = json.loads((folder / "counts.json").read_text())
    want_counted = [json.loads(line) for line in (folder / "decisions_counts.jsonl").read_text().splitlines()]
    counted = coalmine.Analysis(profile, config).observe_many(
        stamps, control, canary, control_counts=_counts(counts["control"]), canary_counts=_counts(counts["canary"])
    )
    assert len(counted) == len(want_counted) > 0
    for d, w in zip(counted, want_counted):
        assert d.to_dict() == w["decision"], f"tick {d.tick} with counts"
        assert d.summary == w["summary"]

    frame = coalmine.replay(pd.read_csv(folder / "live.csv"), config, profile)
    assert list(frame["risk"]) == [w["decision"]["assessment"]["risk"] for w in want]
    assert list(frame["reason"]) == [w["decision"]["reason"] for w in want]
    assert list(frame["canary_share"]) == [w["decision"]["canary_share"] for w in want]


@pytest.mark.parametrize(
    "scenario, seed",
    [("error-spike", 3), ("aa-identical", 7), ("latency-creep", 2), ("missing-ticks", 2)],
)
def test_same_files_same_decisions_as_the_command(
    tmp_path: Path, coalmine_bin: Path, scenario: str, seed: int
) -> None:
    subprocess.run(
        [str(coalmine_bin), "simulate", "--scenario", scenario, "--seed", str(seed), "--out", str(tmp_path)],
        check=True,
        capture_output=True,
    )
    learnt = tmp_path / "profile.json"
    subprocess.run(
        [
            str(coalmine_bin), "learn", "--config", str(tmp_path / "config.toml"),
            "--history", str(tmp_path / "history.csv"), "--out", str(learnt),
        ],
        check=True,
        capture_output=True,
    )
    run = subprocess.run(
        [
            str(coalmine_bin), "analyze", "--config", str(tmp_path / "config.toml"),
            "--profile", str(learnt), "--live", str(tmp_path / "live.csv"), "--json",
        ],
        capture_output=True,
        text=True,
    )
    assert run.returncode not in (1, 2), run.stderr
    lines = [json.loads(line) for line in run.stdout.splitlines()]
    ticks, summary = lines[:-1], lines[-1]

    config = coalmine.Config.from_toml(tmp_path / "config.toml")
    profile = coalmine.learn(pd.read_csv(tmp_path / "history.csv"), config)
    assert profile.to_json() == learnt.read_text()
    assert coalmine.BehaviorProfile.load(learnt) == profile
    out = coalmine.replay(pd.read_csv(tmp_path / "live.csv"), config, profile)

    assert len(out) == len(ticks) > 0
    assert list(out["timestamp"]) == [t["timestamp"] for t in ticks]
    assert list(out["risk"]) == [t["risk"] for t in ticks]
    assert list(out["predicted_risk"]) == [t["predicted_risk"] for t in ticks]
    assert list(out["action"]) == [t["action"] for t in ticks]
    assert list(out["reason"]) == [t["reason"] for t in ticks]
    assert list(out["canary_share"]) == [t["canary_weight"] for t in ticks]
    assert out.attrs["peak_risk"] == summary["max_risk"]
    assert list(out.attrs["thresholds"]) == summary["thresholds"]
    exit_codes = {"promote": 0, "pause": 3, "rollback": 4, "inconclusive": 5}
    assert run.returncode == exit_codes[summary["verdict"]]
    assert out.attrs["verdict"] == summary["verdict"]
    assert out.attrs["verdict_reason"] == f"{summary['verdict']}: {summary['reason_text']}"
    assert out.attrs["ticks"] == summary["ticks"]


def test_replay_is_deterministic(simulated: Callable[[str, int], Path]) -> None:
    folder = simulated("feature-usage-drop", 7)
    config = coalmine.Config.from_dict(json.loads((folder / "config.json").read_text()))
    live = pd.read_csv(folder / "live.csv")
    profile = coalmine.learn(pd.read_csv(folder / "history.csv"), config)
    first = coalmine.replay(live, config, profile, stop_at_rollback=False)
    again = coalmine.replay(live.sample(frac=1.0, random_state=1), config, coalmine.BehaviorProfile.from_json(profile.to_json()), stop_at_rollback=False)
    pd.testing.assert_frame_equal(first, again, check_exact=True)
