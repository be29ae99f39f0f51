"""The Python package's costs, measured in one run beside the Rust crate's own per-point
cost (the criterion benchmarks in this folder), river and pandas.

    make python-bench            (or: python benches/python_bench.py [--no-rust])

Prints a Markdown table for docs/benchmarks.md. The machines are shared and noisy, so
compare the ratios within one run; every figure is the median of several repeats.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable, Dict, List, Optional

import numpy as np

import coalmine

ROOT = Path(__file__).resolve().parents[1]
N_BATCH = 1_000_000
N_LOOP = 200_000
SEASON = 24
ROUNDS = 5


def signal(n: int, seed: int = 0) -> np.ndarray:
    """A daily-seasonal metric with noise, like the Rust benchmarks' input."""
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    return 100 + 20 * np.sin(2 * np.pi * t / SEASON) + rng.normal(0, 2, n)


def median_ns_per_point(run: Callable[[], object], n: int, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times) / n * 1e9


_UNITS = {"ps": 1e-3, "ns": 1.0, "µs": 1e3, "us": 1e3, "ms": 1e6, "s": 1e9}


def rust_ns_per_point() -> Dict[str, float]:
    """Runs the criterion benchmarks `ewma/api` and `holt_winters_m24/api` (10,000
    points through a fresh detector per iteration) and returns ns per point."""
    out = subprocess.run(
        [
            "cargo", "bench", "-p", "coalmine-benches", "--bench", "detectors", "--",
            "--quick", "^(ewma|holt_winters_m24)/api$",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    found = {}
    for name in ("ewma/api", "holt_winters_m24/api"):
        m = re.search(
            re.escape(name) + r"\s+time:\s+\[\S+ \S+ (\S+) (\S+) \S+ \S+\]", out
        )
        if not m:
            raise RuntimeError(f"no criterion estimate for {name} in:\n{out}")
        found[name] = float(m.group(1)) * _UNITS[m.group(2)] / 10_000
    return found


def machine() -> str:
    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    load = ", ".join(f"{v:.1f}" for v in os.getloadavg())
    return (
        f"{model}, nproc {os.cpu_count()}, load average {load} at the start, "
        f"Python {platform.python_version()}, numpy {np.__version__}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--no-rust", action="store_true", help="skip the criterion run")
    args = parser.parse_args()

    import pandas as pd
    import river
    from river import anomaly, stats, time_series

    where = machine()
    x = signal(N_BATCH)
    xl = [float(v) for v in x[:N_LOOP]]
    rows: List[tuple] = []

    def ewma_batch_run() -> float:
        return median_ns_per_point(lambda: coalmine.Ewma().update_many(x), N_BATCH, 3)

    def hw_batch_run() -> float:
        return median_ns_per_point(
            lambda: coalmine.HoltWinters(season_length=SEASON, initial_level=100.0).update_many(x),
            N_BATCH,
            3,
        )

    # The Rust and Python batch costs are measured in alternating rounds and compared
    # round by round, so that a change in the machine's load between the two affects
    # both sides of a ratio alike.
    rust: Optional[Dict[str, float]] = None
    batch_ratios: Dict[str, List[float]] = {"ewma": [], "hw": []}
    ewma_runs: List[float] = []
    hw_runs: List[float] = []
    rust_runs: List[Dict[str, float]] = []
    for _ in range(1 if args.no_rust else ROUNDS):
        if not args.no_rust:
            rust_runs.append(rust_ns_per_point())
        ewma_runs.append(ewma_batch_run())
        hw_runs.append(hw_batch_run())
        if rust_runs:
            batch_ratios["ewma"].append(ewma_runs[-1] / rust_runs[-1]["ewma/api"])
            batch_ratios["hw"].append(hw_runs[-1] / rust_runs[-1]["holt_winters_m24/api"])
    ewma_batch = statistics.median(ewma_runs)
    hw_batch = statistics.median(hw_runs)
    if rust_runs:
        rust = {k: statistics.median(r[k] for r in rust_runs) for k in rust_runs[0]}

    def ewma_loop() -> None:
        d = coalmine.Ewma()
        for v in xl:
            d.update(v)

    def hw_loop() -> None:
        d = coalmine.HoltWinters(season_length=SEASON, initial_level=100.0)
        for v in xl:
            d.update(v)

    def river_ewmean() -> None:
        m = stats.EWMean(fading_factor=0.1)
        for v in xl:
            m.update(v)

    def river_hw() -> None:
        m = time_series.HoltWinters(alpha=0.2, beta=0.01, gamma=0.1, seasonality=SEASON)
        for v in xl:
            m.learn_one(v)

    def river_gauss() -> None:
        m = anomaly.GaussianScorer(grace_period=10)
        for v in xl:
            m.score_one(None, v)
            m.learn_one(None, v)

    def empty_loop() -> None:
        for v in xl:
            pass

    ewma_loop_ns = median_ns_per_point(ewma_loop, N_LOOP, 3)
    hw_loop_ns = median_ns_per_point(hw_loop, N_LOOP, 3)
    empty_ns = median_ns_per_point(empty_loop, N_LOOP, 3)
    river_ewmean_ns = median_ns_per_point(river_ewmean, N_LOOP, 3)
    river_hw_ns = median_ns_per_point(river_hw, N_LOOP, 3)
    river_gauss_ns = median_ns_per_point(river_gauss, N_LOOP, 3)
    series = pd.Series(x)
    pandas_ns = median_ns_per_point(
        lambda: series.ewm(alpha=0.1, adjust=False).mean(), N_BATCH, 5
    )

    def ratio(a: float, b: Optional[float]) -> str:
        return "–" if b is None else f"{a / b:.2f}"

    r_ewma = rust["ewma/api"] if rust else None
    r_hw = rust["holt_winters_m24/api"] if rust else None
    ewma_ratio = f"{statistics.median(batch_ratios['ewma']):.2f}" if rust else "–"
    hw_ratio = f"{statistics.median(batch_ratios['hw']):.2f}" if rust else "–"
    rows += [
        ("Rust `Ewma::observe` (criterion `ewma/api`)", r_ewma, "1.00" if rust else "–", ratio(r_ewma or 0, ewma_batch) if rust else "–"),
        ("Python `Ewma.update_many`, 1,000,000 points", ewma_batch, ewma_ratio, "1.00"),
        ("Python `Ewma.update`, one call per point", ewma_loop_ns, ratio(ewma_loop_ns, r_ewma), ratio(ewma_loop_ns, ewma_batch)),
        ("Rust `HoltWinters::observe`, m = 24 (criterion)", r_hw, "1.00" if rust else "–", ratio(r_hw or 0, ewma_batch) if rust else "–"),
        ("Python `HoltWinters.update_many`, m = 24, 1,000,000 points", hw_batch, hw_ratio, ratio(hw_batch, ewma_batch)),
        ("Python `HoltWinters.update`, one call per point", hw_loop_ns, ratio(hw_loop_ns, r_hw), ratio(hw_loop_ns, ewma_batch)),
        ("river `stats.EWMean.update` (mean only)", river_ewmean_ns, ratio(river_ewmean_ns, r_ewma), ratio(river_ewmean_ns, ewma_batch)),
        ("river `time_series.HoltWinters.learn_one`, m = 24", river_hw_ns, ratio(river_hw_ns, r_hw), ratio(river_hw_ns, ewma_batch)),
        ("river `anomaly.GaussianScorer` score_one + learn_one", river_gauss_ns, ratio(river_gauss_ns, r_ewma), ratio(river_gauss_ns, ewma_batch)),
        ("pandas `Series.ewm(adjust=False).mean()`, 1,000,000 points", pandas_ns, ratio(pandas_ns, r_ewma), ratio(pandas_ns, ewma_batch)),
        ("an empty Python `for` loop over the same floats", empty_ns, ratio(empty_ns, r_ewma), ratio(empty_ns, ewma_batch)),
    ]

    today = datetime.date.today().isoformat()
    print(f"## Python package, {today} — {where}, river {river.__version__}, pandas {pd.__version__}\n")
    print("| what | ns per point | × Rust per point | × `Ewma.update_many` |")
    print("| --- | ---: | ---: | ---: |")
    for name, ns, r, rb in rows:
        shown = "–" if ns is None else f"{ns:,.0f}" if ns >= 10 else f"{ns:.1f}"
        print(f"| {name} | {shown} | {r} | {rb} |")
    print()
    print(
        f"Per-call overhead of `update` over the batch: Ewma {ewma_loop_ns - ewma_batch:,.0f} ns, "
        f"Holt-Winters {hw_loop_ns - hw_batch:,.0f} ns (an empty loop costs {empty_ns:.0f} ns)."
    )
    if rust:
        print(
            "Batch against Rust, per round: Ewma "
            + ", ".join(f"{r:.2f}" for r in batch_ratios["ewma"])
            + "; Holt-Winters "
            + ", ".join(f"{r:.2f}" for r in batch_ratios["hw"])
            + "."
        )
    if rust and statistics.median(batch_ratios["ewma"]) > 1.5:
        print("\nTARGET MISSED: Ewma.update_many costs more than 1.5x the Rust per point.", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
