"""Several analyses at once in threads, and the GIL released during batch work."""

from __future__ import annotations

import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Callable, List, Tuple

import numpy as np
import pandas as pd

import coalmine


def _run(folder: Path) -> List[dict]:
    config = coalmine.Config.from_dict(json.loads((folder / "config.json").read_text()))
    profile = coalmine.learn(pd.read_csv(folder / "history.csv"), config)
    stamps, control, canary = coalmine.ticks_from_frame(pd.read_csv(folder / "live.csv"), config)
    analysis = coalmine.Analysis(profile, config)
    return [d.to_dict() for d in analysis.observe_many(stamps, control, canary, stop_at_rollback=False)]


def test_analyses_in_threads_match_sequential(simulated: Callable[[str, int], Path]) -> None:
    folders = [
        simulated(s, seed)
        for s, seed in [("error-spike", 3), ("aa-identical", 7), ("memory-leak", 2), ("retry-storm", 1)]
    ]
    sequential = [_run(f) for f in folders]
    with ThreadPoolExecutor(max_workers=len(folders)) as pool:
        for _ in range(2):
            assert list(pool.map(_run, folders)) == sequential


def test_detectors_in_threads_match_sequential() -> None:
    rng = np.random.default_rng(0)
    series = [rng.normal(0, 1, 200_000) for _ in range(4)]

    def run(x: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
        e = coalmine.Ewma(alpha=0.05).update_many(x)
        h = coalmine.HoltWinters(season_length=24).update_many(x)
        return e.tail_probability, h.expected

    sequential = [run(x) for x in series]
    with ThreadPoolExecutor(max_workers=4) as pool:
        for got, want in zip(pool.map(run, series), sequential):
            assert np.array_equal(got[0], want[0]) and np.array_equal(got[1], want[1])


def test_batch_work_releases_the_gil() -> None:
    # While one thread is inside `update_many`, a pure-Python thread keeps running. If
    # the GIL were held for the whole batch, the other thread could record nothing
    # between the batch's start and end.
    x = np.random.default_rng(1).normal(0, 1, 3_000_000)
    det = coalmine.Ewma()
    started = threading.Event()
    stop = threading.Event()
    beats: List[float] = []

    def heartbeat() -> None:
        started.set()
        while not stop.is_set():
            beats.append(time.perf_counter())
            time.sleep(0.001)

    t = threading.Thread(target=heartbeat)
    t.start()
    started.wait()
    begin = time.perf_counter()
    det.update_many(x)
    end = time.perf_counter()
    stop.set()
    t.join()
    inside = [b for b in beats if begin < b < end]
    assert end - begin > 0.05, "the batch was too short to tell"
    assert len(inside) >= 5, (len(inside), end - begin)


def test_a_second_call_during_a_batch_is_refused_and_changes_nothing() -> None:
    x = np.random.default_rng(2).normal(0, 1, 3_000_000)
    det = coalmine.Ewma()
    refused_reads = refused_updates = late_updates = 0
    running = threading.Event()

    def batch() -> None:
        running.set()
        det.update_many(x)

    t = threading.Thread(target=batch)
    t.start()
    running.wait()
    while t.is_alive():
        try:
            det.observations
            continue
        except RuntimeError as e:
            assert "borrowed" in str(e)
            refused_reads += 1
        # The batch held the object a moment ago: an update either is refused, or
        # comes after the whole batch.
        try:
            det.update(1.0)
            late_updates += 1
        except RuntimeError:
            refused_updates += 1
    t.join()
    assert refused_reads > 0 and refused_updates > 0
    twin = coalmine.Ewma()
    twin.update_many(x)
    for _ in range(late_updates):
        twin.update(1.0)
    assert det.to_json() == twin.to_json()
