"""The contracts outside checks rely on, pinned against the libraries users trust,
live on random inputs from seeded generators."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from scipy.stats import mannwhitneyu
from statsmodels.tsa.holtwinters import ExponentialSmoothing

import coalmine


@pytest.mark.parametrize("seed", range(8))
def test_ewma_expected_is_pandas_ewm_shifted(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(2, 3000))
    alpha = float(rng.uniform(0.01, 1.0))
    x = rng.normal(rng.uniform(-100, 100), rng.uniform(0.1, 50), n)
    if seed % 2:
        x = np.cumsum(x)  # a random walk as well as noise around a level
    got = coalmine.Ewma(alpha=alpha).update_many(x)
    want = pd.Series(x).ewm(alpha=alpha, adjust=False).mean().shift(1).to_numpy()
    assert isinstance(got.expected, np.ndarray) and got.expected.dtype == np.float64
    assert got.expected.shape == x.shape
    assert np.isnan(got.expected[0])
    scale = np.abs(x).max()
    np.testing.assert_allclose(got.expected[1:], want[1:], rtol=1e-12, atol=1e-12 * scale)


@pytest.mark.parametrize("seed", range(8))
def test_holt_winters_expected_is_statsmodels_fittedvalues(seed: int) -> None:
    rng = np.random.default_rng(100 + seed)
    m = int(rng.choice([2, 4, 7, 12, 24]))
    n = int(rng.integers(3 * m, 40 * m))
    a, b, g = (float(v) for v in rng.uniform(0.01, 0.99, 3))
    t = np.arange(n)
    y = (
        rng.uniform(10, 1000)
        + rng.uniform(-1, 1) * t
        + rng.uniform(1, 50) * np.sin(2 * np.pi * t / m)
        + rng.normal(0, rng.uniform(0.1, 10), n)
    )
    l0, b0 = float(rng.normal(y[:m].mean(), 5)), float(rng.normal(0, 1))
    s0 = rng.normal(0, 10, m)
    got = coalmine.HoltWinters(
        season_length=m,
        alpha=a,
        beta=b,
        gamma=g,
        initial_level=l0,
        initial_trend=b0,
        initial_seasonal=s0,
    ).update_many(y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = ExponentialSmoothing(
            y,
            trend="add",
            seasonal="add",
            seasonal_periods=m,
            initialization_method="known",
            initial_level=l0,
            initial_trend=b0,
            initial_seasonal=s0,
        ).fit(smoothing_level=a, smoothing_trend=b, smoothing_seasonal=g, optimized=False)
    want = np.asarray(fit.fittedvalues)
    assert got.expected.dtype == np.float64 and got.expected.shape == y.shape
    np.testing.assert_allclose(got.expected, want, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("seed", range(10))
def test_mann_whitney_u_is_scipy_asymptotic_with_continuity(seed: int) -> None:
    rng = np.random.default_rng(200 + seed)
    nx, ny = (int(v) for v in rng.integers(1, 400, 2))
    if seed % 3 == 0:
        # Heavy ties: small integers.
        x = rng.integers(0, 5, nx).astype(float)
        y = rng.integers(0, 5, ny).astype(float)
    else:
        x = rng.normal(0, 1, nx)
        y = rng.normal(rng.uniform(-0.5, 0.5), rng.uniform(0.5, 2), ny)
    got = coalmine.mann_whitney_u(x, y)
    want = mannwhitneyu(x, y, alternative="two-sided", method="asymptotic", use_continuity=True)
    assert got.statistic == want.statistic
    np.testing.assert_allclose(got.p_value, want.pvalue, rtol=1e-12, atol=1e-300)
    assert (got.n_x, got.n_y) == (nx, ny)
    greater = mannwhitneyu(x, y, alternative="greater", method="asymptotic", use_continuity=True)
    np.testing.assert_allclose(got.p_greater, greater.pvalue, rtol=1e-12, atol=1e-300)
