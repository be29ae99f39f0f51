"""Detectors: single and batch updates agree, batches are atomic, bad input raises the
right exception and leaves the detector usable, state survives pickling."""

from __future__ import annotations

import copy
import pickle
from typing import Any, Callable, List

import numpy as np
import pytest

import coalmine

FIELDS = ("expected", "residual", "deviation", "tail_probability", "ready")


def _same(a: Any, b: Any) -> bool:
    """Equal bit for bit, NaN equal to NaN."""
    return bool(np.array_equal(np.asarray(a), np.asarray(b), equal_nan=True))


def _signal(n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    return 100 + 10 * np.sin(2 * np.pi * t / 24) + rng.normal(0, 1, n)


def _makers() -> List[Callable[[], Any]]:
    return [
        lambda: coalmine.Ewma(alpha=0.2),
        lambda: coalmine.HoltWinters(
            season_length=24, initial_level=100.0, initial_seasonal=np.zeros(24)
        ),
    ]


@pytest.mark.parametrize("make", _makers())
def test_update_many_equals_update_one_by_one(make: Callable[[], Any]) -> None:
    x = _signal(500)
    one, many = make(), make()
    singles = [one.update(float(v)) for v in x]
    batch = many.update_many(x[:200])
    batch2 = many.update_many(x[200:])
    for f in FIELDS:
        col = np.concatenate([getattr(batch, f), getattr(batch2, f)])
        assert _same(col, [getattr(a, f) for a in singles]), f
    assert one.to_json() == many.to_json()
    assert len(batch) == 200 and batch.ready.dtype == np.bool_


def test_first_ewma_observation_has_no_forecast() -> None:
    e = coalmine.Ewma(alpha=0.5)
    a = e.update(3.0)
    assert np.isnan(a.expected) and np.isnan(a.residual) and not a.ready
    assert a.tail_probability == 1.0 and a.deviation == 0.0
    assert e.mean == 3.0 and e.update(5.0).expected == 3.0


@pytest.mark.parametrize("make", _makers())
@pytest.mark.parametrize(
    "bad, error",
    [
        (np.nan, coalmine.NonFiniteError),
        (np.inf, coalmine.NonFiniteError),
        (-np.inf, coalmine.NonFiniteError),
        (1e101, coalmine.OutOfRangeError),
    ],
)
def test_bad_batch_names_the_index_and_changes_nothing(
    make: Callable[[], Any], bad: float, error: type
) -> None:
    det = make()
    det.update_many(_signal(50))
    before = det.to_json()
    x = _signal(30, seed=1)
    x[17] = bad
    with pytest.raises(error) as info:
        det.update_many(x)
    assert info.value.index == 17 and "observation 17 of the batch" in str(info.value)
    assert info.value.code == (2 if error is coalmine.NonFiniteError else 5)
    assert isinstance(info.value, ValueError) and isinstance(info.value, coalmine.CoalmineError)
    assert det.to_json() == before
    with pytest.raises(error):
        det.update(bad)
    assert det.to_json() == before
    # Still usable, and continues as if the bad calls never happened.
    twin = type(det).from_json(before)
    assert _same(det.update_many(x[:17]).expected, twin.update_many(x[:17]).expected)


def test_holt_winters_state_overflow_is_refused_mid_batch_and_rolled_back() -> None:
    hw = coalmine.HoltWinters(season_length=1, alpha=1.0, beta=1.0, initial_level=0.0)
    before = hw.to_json()
    # Each value is accepted alone, but the trend then leaves the supported range.
    x = np.array([0.0, 9e99, -9e99, 9e99, -9e99])
    with pytest.raises(coalmine.OutOfRangeError) as info:
        hw.update_many(x)
    assert info.value.index is not None and info.value.index > 0
    assert hw.to_json() == before


@pytest.mark.parametrize(
    "xs",
    [
        [1.0, 2.0, 3.0],
        np.array([1, 2, 3], dtype=np.int32),
        np.array([1.0, 2.0, 3.0], dtype=np.float32),
        np.array([[1.0, 0.0], [2.0, 0.0], [3.0, 0.0]])[:, 0],  # strided view
        (1.0, 2.0, 3.0),
    ],
)
def test_array_likes_are_accepted(xs: Any) -> None:
    got = coalmine.Ewma(alpha=0.5).update_many(xs).expected
    assert _same(got, [np.nan, 1.0, 1.5])


def test_fortran_order_and_strided_rows_are_accepted() -> None:
    rng = np.random.default_rng(3)
    data = rng.normal(size=(200, 3))
    ae = coalmine.Autoencoder.train(data, epochs=5)
    want = ae.update_many(np.ascontiguousarray(data[:20])).tail_probability
    for view in (np.asfortranarray(data[:20]), np.repeat(data[:20], 2, axis=1)[:, ::2]):
        twin = coalmine.Autoencoder.from_json(ae.to_json())
        assert _same(twin.update_many(view).tail_probability, want)


def test_input_is_not_copied_or_modified() -> None:
    x = _signal(100)
    keep = x.copy()
    coalmine.Ewma().update_many(x)
    assert _same(x, keep)


@pytest.mark.parametrize("xs", [np.zeros((3, 2)), np.float64(1.0)])
def test_wrong_dimensions_are_input_errors(xs: Any) -> None:
    with pytest.raises(coalmine.InputError) as info:
        coalmine.Ewma().update_many(xs)
    assert info.value.code == 1101 and isinstance(info.value, ValueError)


def test_non_numeric_input_raises() -> None:
    with pytest.raises(ValueError):
        coalmine.Ewma().update_many(["a", "b"])
    with pytest.raises(TypeError):
        coalmine.Ewma().update("a")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "make, name",
    [
        (lambda: coalmine.Ewma(alpha=0.0), "alpha"),
        (lambda: coalmine.Ewma(alpha=1.5), "alpha"),
        (lambda: coalmine.Ewma(warmup=-1), "warmup"),
        (lambda: coalmine.HoltWinters(season_length=0), "season_length"),
        (lambda: coalmine.HoltWinters(season_length=-3), "season_length"),
        (lambda: coalmine.HoltWinters(beta=2.0), "beta"),
        (lambda: coalmine.SequentialTest(alpha=1.0), "alpha"),
        (lambda: coalmine.SequentialTest(tau=-1.0), "tau"),
    ],
)
def test_invalid_parameters(make: Callable[[], Any], name: str) -> None:
    with pytest.raises(coalmine.InvalidParameterError) as info:
        make()
    assert info.value.code == 1 and f"`{name}`" in str(info.value)


def test_absurd_season_length_is_too_large_not_an_allocation() -> None:
    with pytest.raises(coalmine.TooLargeError):
        coalmine.HoltWinters(season_length=10**12)


def test_initial_season_of_wrong_length() -> None:
    with pytest.raises(coalmine.LengthMismatchError):
        coalmine.HoltWinters(season_length=4, initial_seasonal=[0.0, 1.0])


@pytest.mark.parametrize("make", _makers())
def test_pickle_copy_and_json_continue_identically(make: Callable[[], Any]) -> None:
    det = make()
    det.update_many(_signal(300))
    x = _signal(100, seed=5)
    clones = [
        pickle.loads(pickle.dumps(det)),
        copy.copy(det),
        copy.deepcopy(det),
        type(det).from_json(det.to_json()),
    ]
    want = det.update_many(x)
    for c in clones:
        got = c.update_many(x)
        for f in FIELDS:
            assert _same(getattr(got, f), getattr(want, f))


def test_corrupt_detector_state_is_refused() -> None:
    text = coalmine.Ewma().to_json()
    with pytest.raises(coalmine.CorruptCheckpointError):
        coalmine.Ewma.from_json(text[: len(text) // 2])
    with pytest.raises(coalmine.CorruptCheckpointError):
        coalmine.Ewma.from_json(text.replace('"alpha":0.1', '"alpha":7.0'))


def test_holt_winters_from_history_and_fit() -> None:
    hist = _signal(24 * 20)
    hw = coalmine.HoltWinters.from_history(hist, season_length=24)
    assert hw.observations > 0 and hw.ready
    fitted = coalmine.HoltWinters.fit(hist, season_length=24)
    assert fitted.ready and set(fitted.params) == {"alpha", "beta", "gamma", "phi"}
    # A fitted model forecasts the seasonal signal better than its residual noise alone.
    nxt = _signal(24 * 21)[-24:]
    err = np.abs(fitted.update_many(nxt).residual)
    assert err.mean() < 3.0
    lo, hi = fitted.prediction_interval(1, 0.95)
    assert lo < fitted.forecast(1) < hi
    with pytest.raises(coalmine.InsufficientDataError):
        coalmine.HoltWinters.from_history(hist[:30], season_length=24)


def test_autoencoder_scores_rows_with_shares() -> None:
    rng = np.random.default_rng(3)
    z = rng.normal(size=(400, 2))
    data = np.column_stack([z[:, 0], z[:, 0] * 2 + 0.1 * rng.normal(size=400), z[:, 1], -z[:, 1]])
    ae = coalmine.Autoencoder.train(data, epochs=60, seed=1)
    assert ae.dim == 4
    normal = ae.update_many(data[:50])
    assert normal.shares is not None and normal.shares.shape == (50, 4)
    broken = data[:5].copy()
    broken[:, 1] = -broken[:, 1] * 3 + 5  # breaks the correlation with column 0
    odd = ae.update_many(broken)
    assert np.median(odd.tail_probability) < np.median(normal.tail_probability)
    assert odd.shares is not None and (odd.shares.argmax(axis=1) <= 1).all()
    one = pickle.loads(pickle.dumps(ae)).update(broken[0])
    assert one.tail_probability == odd.tail_probability[0]
    before = ae.observations
    bad = broken.copy()
    bad[3, 2] = np.nan
    with pytest.raises(coalmine.NonFiniteError) as info:
        ae.update_many(bad)
    assert info.value.index == 3 and ae.observations == before
    with pytest.raises(coalmine.LengthMismatchError):
        ae.update(np.zeros(3))
    with pytest.raises(coalmine.InsufficientDataError):
        coalmine.Autoencoder.train(data[:5])


def test_sequential_test() -> None:
    rng = np.random.default_rng(9)
    d = rng.normal(0.8, 1.0, 200)
    one = coalmine.SequentialTest(alpha=0.05, tau=1.0)
    states = [one.update(float(v)) for v in d]
    many = coalmine.SequentialTest(alpha=0.05, tau=1.0)
    last = many.update_many(d)
    assert last.p_value == states[-1].p_value and last.n == 200
    assert last.rejected and last.confidence_interval[0] < 0.8 < last.confidence_interval[1]
    # The always-valid p-value never increases.
    ps = np.array([s.p_value for s in states])
    assert (np.diff(ps) <= 0).all()
    bad = d.copy()
    bad[5] = np.inf
    with pytest.raises(coalmine.NonFiniteError) as info:
        many.update_many(bad)
    assert info.value.index == 5 and many.observations == 200
    assert pickle.loads(pickle.dumps(many)).state.p_value == last.p_value
    with pytest.raises(coalmine.UnknownNameError):
        coalmine.SequentialTest(direction="up")  # type: ignore[arg-type]
    null = coalmine.SequentialTest(direction="increase_is_bad").update_many(
        rng.normal(0, 1, 200)
    )
    assert not null.rejected


def test_exceptions_pickle_with_code_and_index() -> None:
    x = np.array([1.0, np.nan])
    with pytest.raises(coalmine.NonFiniteError) as info:
        coalmine.Ewma().update_many(x)
    back = pickle.loads(pickle.dumps(info.value))
    assert type(back) is coalmine.NonFiniteError
    assert (back.code, back.index, str(back)) == (2, 1, str(info.value))
