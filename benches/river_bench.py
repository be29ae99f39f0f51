"""coalmine's detectors against river's streaming peers, on the same series, in one run.

    .venv/bin/python benches/river_bench.py [--full] [--rounds N]
        [--measurement-time S] [--warm-up-time S]

Times river's `stats.EWMean.update` and `time_series.HoltWinters.learn_one` (season 24
and 1440) on the series the criterion benchmarks use (`signal` in benches/src/lib.rs,
reproduced exactly below), then runs the criterion groups `ewma`, `holt_winters_m24`
and `holt_winters_m1440` (`--quick` unless `--full`) and prints one Markdown table with
every row of those groups and the ratios the speed targets are stated in. river's
figures are the median of several rounds; criterion's are its point estimates.

river is installed into .venv by the Makefile's Python dependencies (`make
python-build`), or with `.venv/bin/pip install river`.
"""

from __future__ import annotations

import argparse
import datetime
import math
import os
import re
import statistics
import subprocess
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
N = 10_000  # the criterion benchmarks' series length
_UNITS = {"ps": 1e-3, "ns": 1.0, "µs": 1e3, "us": 1e3, "ms": 1e6, "s": 1e9}
GROUPS = ("ewma", "holt_winters_m24", "holt_winters_m1440")
ROWS = ("api", "api_deviation", "bare", "bare_recurrence")


def signal(n: int, m: int) -> list[float]:
    """`coalmine_benches::signal(n, m)`: a seasonal sine plus deterministic noise."""
    out = []
    for t in range(n):
        noise = ((t * 2_654_435_761) % (1 << 64) % 1000) / 1000.0 - 0.5
        out.append(100.0 + 20.0 * math.sin((t % m) * math.tau / m) + noise)
    return out


def median_ns(run, n: int, rounds: int) -> float:
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times) / n * 1e9


def river_ns(rounds: int) -> dict[str, float]:
    from river import stats, time_series

    xs = signal(N, 24)

    def ewmean():
        # coalmine's EWMA default alpha is 0.1; river's fading factor is that weight.
        m = stats.EWMean(fading_factor=0.1)
        for x in xs:
            m.update(x)

    found = {"river EWMean.update": median_ns(ewmean, N, rounds)}
    for season in (24, 1440):
        ys = signal(N, season)

        def hw():
            # coalmine's HoltWintersConfig defaults: alpha 0.2, beta 0.01, gamma 0.1.
            model = time_series.HoltWinters(alpha=0.2, beta=0.01, gamma=0.1, seasonality=season)
            for y in ys:
                model.learn_one(y)

        found[f"river HoltWinters.learn_one m={season}"] = median_ns(hw, N, rounds)
    return found


def criterion_ns(full: bool, measurement: float | None, warm_up: float | None) -> dict[str, float]:
    cmd = ["cargo", "bench", "-p", "coalmine-benches", "--bench", "detectors", "--"]
    if not full:
        cmd.append("--quick")
    if measurement is not None:
        cmd += ["--measurement-time", str(measurement)]
    if warm_up is not None:
        cmd += ["--warm-up-time", str(warm_up)]
    cmd.append("^(" + "|".join(GROUPS) + ")/")
    run = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    if run.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{run.stderr}")
    out = run.stdout
    found = {}
    for group in GROUPS:
        for row in ROWS:
            name = f"{group}/{row}"
            m = re.search(re.escape(name) + r"\s+time:\s+\[\S+ \S+ (\S+) (\S+) \S+ \S+\]", out)
            if not m:
                raise RuntimeError(f"no criterion estimate for {name} in:\n{out}")
            found[name] = float(m.group(1)) * _UNITS[m.group(2)] / N
    return found


def machine() -> str:
    model = "unknown CPU"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    load = ", ".join(f"{v:.1f}" for v in os.getloadavg())
    return f"{model}, nproc {os.cpu_count()}, load average {load}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--full", action="store_true", help="criterion's full measurement")
    parser.add_argument("--rounds", type=int, default=7, help="river rounds (median)")
    parser.add_argument("--measurement-time", type=float, help="criterion's, in seconds")
    parser.add_argument("--warm-up-time", type=float, help="criterion's, in seconds")
    args = parser.parse_args()

    import river

    start = machine()
    before = river_ns(args.rounds)
    rust = criterion_ns(args.full, args.measurement_time, args.warm_up_time)
    after = river_ns(args.rounds)
    # river before and after the criterion run: the load may change in between.
    peers = {k: statistics.median([before[k], after[k]]) for k in before}

    print(f"## {datetime.date.today()} — {start} (river {river.__version__})\n")
    print("| detector | API (tail asked) | API (deviation only) | bare with tail | "
          "bare recurrence | API ÷ bare with tail | API ÷ bare recurrence | river | "
          "river ÷ API |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for group, peer in (
        ("ewma", "river EWMean.update"),
        ("holt_winters_m24", "river HoltWinters.learn_one m=24"),
        ("holt_winters_m1440", "river HoltWinters.learn_one m=1440"),
    ):
        api, dev, bare, rec = (rust[f"{group}/{r}"] for r in ROWS)
        print(
            f"| {group} | {api:.1f} | {dev:.1f} | {bare:.1f} | {rec:.1f} | "
            f"{api / bare:.2f} | {api / rec:.1f} | {peers[peer]:.0f} | {peers[peer] / api:.1f} |"
        )
    print("\nns per update; river before/after the criterion run: "
          + ", ".join(f"{k} {before[k]:.0f}/{after[k]:.0f}" for k in before))


if __name__ == "__main__":
    main()
