#!/usr/bin/env python3
"""Generate the Mann-Whitney / Hodges-Lehmann oracle fixture for coalmine's comparison
module.

For each case (synthetic, seeded, small) it records scipy's
`mannwhitneyu(x, y, method="asymptotic", use_continuity=True)` statistic (U1, the U of
`x`) and its two-sided, "greater" and "less" p-values, and for most cases the
Hodges-Lehmann shift estimate: the median of all pairwise differences `x_i - y_j`,
computed with numpy (`np.median(np.subtract.outer(x, y))`). Samples are stored as
floats and the JSON keeps full float precision (Python's repr round-trips exactly).

Usage: python3 scripts/oracles_comparison.py [OUTPUT_DIR]
       (default crates/coalmine/tests/fixtures; writes mann_whitney.json)
Needs: numpy, scipy (pip install numpy scipy).
"""
import json
import os
import sys

import numpy as np
import scipy
from scipy.stats import mannwhitneyu


def make_cases(rng):
    """(name, x, y, with_hodges_lehmann) for every case."""
    normal = rng.standard_normal
    cases = [
        # Tiny samples (scipy's "auto" would go exact; we ask for asymptotic).
        ("tiny_3_vs_4", normal(3), normal(4) + 0.5, True),
        # Unequal sizes, continuous data, no real difference.
        ("null_20_vs_35", normal(20), normal(35), True),
        # A clear shift, larger samples.
        ("shifted_200_vs_150", normal(200) + 0.4, normal(150), True),
        # A shift the other way (x stochastically smaller).
        ("shifted_down_60_vs_80", 10.0 + normal(60) - 0.7, 10.0 + normal(80), True),
        # Heavy ties: small integer counts, many duplicates.
        (
            "ties_poisson_50_vs_50",
            rng.poisson(3.0, 50).astype(float),
            rng.poisson(3.5, 50).astype(float),
            True,
        ),
        # Extreme ties: three distinct values only.
        (
            "ties_three_levels_40_vs_25",
            rng.integers(0, 3, 40).astype(float),
            rng.integers(0, 3, 25).astype(float),
            True,
        ),
        # Identical samples (x equal to y, element by element).
        ("identical_30", *(lambda s: (s, s.copy()))(np.round(normal(30), 3)), True),
        # One sample all equal, the other varying (ties only inside x).
        ("x_constant_15_vs_40", np.full(15, 2.5), 2.5 + normal(40), True),
        # Both samples all equal (zero variance): p = 1 by convention.
        ("all_tied_5_vs_7", np.full(5, 1.0), np.full(7, 1.0), True),
        # Complete separation: every x above every y.
        ("separated_12_vs_9", 100.0 + rng.uniform(0, 1, 12), rng.uniform(0, 1, 9), True),
        # Heavy tails, unequal sizes.
        ("heavy_tail_120_vs_200", rng.standard_t(2, 120) * 50.0, rng.standard_t(2, 200) * 50.0, False),
        # Latency-like data rounded to whole milliseconds (ties across the samples).
        (
            "latency_ms_90_vs_110",
            np.round(rng.lognormal(4.0, 0.3, 90)),
            np.round(rng.lognormal(4.05, 0.3, 110)),
            True,
        ),
        # Sizes of one.
        ("single_vs_single", np.array([1.5]), np.array([0.5]), True),
        ("single_vs_many", np.array([0.2]), normal(17), True),
    ]
    return cases


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join("crates", "coalmine", "tests", "fixtures")
    os.makedirs(out, exist_ok=True)
    rng = np.random.default_rng(20260514)
    cases = []
    for name, x, y, with_hl in make_cases(rng):
        x = np.asarray(x, dtype=float)
        y = np.asarray(y, dtype=float)
        kw = dict(method="asymptotic", use_continuity=True)
        two = mannwhitneyu(x, y, alternative="two-sided", **kw)
        greater = mannwhitneyu(x, y, alternative="greater", **kw)
        less = mannwhitneyu(x, y, alternative="less", **kw)
        case = {
            "name": name,
            "x": [float(v) for v in x],
            "y": [float(v) for v in y],
            "u": float(two.statistic),
            "p_two_sided": float(two.pvalue),
            "p_greater": float(greater.pvalue),
            "p_less": float(less.pvalue),
        }
        if with_hl:
            case["hodges_lehmann"] = float(np.median(np.subtract.outer(x, y)))
        cases.append(case)
    versions = {"numpy": np.__version__, "scipy": scipy.__version__}
    path = os.path.join(out, "mann_whitney.json")
    with open(path, "w") as f:
        json.dump({"generator": "scripts/oracles_comparison.py", "versions": versions, "cases": cases}, f)
    print(f"wrote {path} ({len(cases)} cases) with {versions}")


if __name__ == "__main__":
    main()
