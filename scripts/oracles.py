#!/usr/bin/env python3
"""Generate the oracle fixtures the Rust tests compare against.

Holt-Winters one-step forecasts come from statsmodels' ExponentialSmoothing with known
initialisation and fixed smoothing parameters; EWMA means from pandas'
`Series.ewm(alpha, adjust=False).mean()`. The series are synthetic (seeded), small, and
written as JSON with full float precision (Python's repr round-trips exactly).

Usage: python3 scripts/oracles.py [OUTPUT_DIR]   (default crates/coalmine/tests/fixtures)
Needs: numpy, pandas, statsmodels (pip install numpy pandas statsmodels).
"""
import json
import os
import sys

import numpy as np
import pandas as pd
import statsmodels
from statsmodels.tsa.holtwinters import ExponentialSmoothing


def seasonal_series(rng, n, m, level, trend, amp, noise, shape="sin"):
    t = np.arange(n)
    if shape == "sin":
        season = amp * np.sin(2 * np.pi * (t % m) / m)
    else:  # a sharp daily-peak shape
        season = amp * np.exp(-(((t % m) - m / 2) ** 2) / (2 * (m / 8) ** 2))
    return level + trend * t + season + noise * rng.standard_normal(n)


def holt_winters_cases(rng):
    specs = [
        # name, n, m, (level, trend, amp, noise, shape), (alpha, beta, gamma, phi)
        ("quarterly", 60, 4, (50.0, 0.3, 5.0, 1.0, "sin"), (0.3, 0.1, 0.2, None)),
        ("monthly", 120, 12, (200.0, -0.5, 30.0, 4.0, "sin"), (0.5, 0.05, 0.3, None)),
        ("hourly_peak", 24 * 10, 24, (1000.0, 2.0, 400.0, 30.0, "peak"), (0.2, 0.01, 0.1, None)),
        ("weekly_damped", 7 * 20, 7, (10.0, 0.05, 2.0, 0.5, "sin"), (0.4, 0.2, 0.15, 0.9)),
        ("extreme_params", 48, 6, (-20.0, 1.0, 3.0, 2.0, "sin"), (1.0, 0.0, 1.0, None)),
    ]
    cases = []
    for name, n, m, (level, trend, amp, noise, shape), (a, b, g, phi) in specs:
        y = seasonal_series(rng, n, m, level, trend, amp, noise, shape)
        l0 = float(y[:m].mean())
        b0 = float((y[m : 2 * m].mean() - y[:m].mean()) / m)
        s0 = [float(v) for v in (y[:m] - y[:m].mean())]
        model = ExponentialSmoothing(
            y,
            trend="add",
            damped_trend=phi is not None,
            seasonal="add",
            seasonal_periods=m,
            initialization_method="known",
            initial_level=l0,
            initial_trend=b0,
            initial_seasonal=s0,
        )
        kwargs = dict(smoothing_level=a, smoothing_trend=b, smoothing_seasonal=g, optimized=False)
        if phi is not None:
            kwargs["damping_trend"] = phi
        fit = model.fit(**kwargs)
        cases.append(
            {
                "name": name,
                "season_length": m,
                "alpha": a,
                "beta": b,
                "gamma": g,
                "phi": 1.0 if phi is None else phi,
                "initial_level": l0,
                "initial_trend": b0,
                "initial_season": s0,
                "y": [float(v) for v in y],
                "fitted": [float(v) for v in fit.fittedvalues],
                "forecast": [float(v) for v in fit.forecast(2 * m)],
            }
        )
    return cases


def ewma_cases(rng):
    cases = []
    for name, alpha, y in [
        ("noise", 0.1, 5.0 + rng.standard_normal(300)),
        ("steps", 0.3, np.repeat([1.0, 10.0, -3.0, 7.5], 25) + 0.1 * rng.standard_normal(100)),
        ("heavy_tail", 0.05, rng.standard_t(2, 400) * 100.0),
        ("alpha_one", 1.0, rng.standard_normal(20)),
        ("tiny_alpha", 0.001, 1e6 + rng.standard_normal(200)),
    ]:
        mean = pd.Series(y).ewm(alpha=alpha, adjust=False).mean()
        cases.append(
            {
                "name": name,
                "alpha": alpha,
                "y": [float(v) for v in y],
                "mean": [float(v) for v in mean],
            }
        )
    return cases


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join("crates", "coalmine", "tests", "fixtures")
    os.makedirs(out, exist_ok=True)
    rng = np.random.default_rng(20261128)
    versions = {"numpy": np.__version__, "pandas": pd.__version__, "statsmodels": statsmodels.__version__}
    with open(os.path.join(out, "holt_winters.json"), "w") as f:
        json.dump({"generator": "scripts/oracles.py", "versions": versions, "cases": holt_winters_cases(rng)}, f)
    with open(os.path.join(out, "ewma.json"), "w") as f:
        json.dump({"generator": "scripts/oracles.py", "versions": versions, "cases": ewma_cases(rng)}, f)
    print(f"wrote {out}/holt_winters.json and {out}/ewma.json with {versions}")


if __name__ == "__main__":
    main()
