"""Calibration of predicted CLV: order kept, known power laws recovered, JSON round trips."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clv_core.calibration import MonotoneCalibrator, PowerCalibrator, calibrator_from_dict
from clv_core.errors import DataError, NotFittedError

TRUE_INTERCEPT, TRUE_EXPONENT = 0.7, 0.6


def _power_law_sample(seed: int, n: int = 5000) -> tuple[np.ndarray, np.ndarray]:
    """Raw predictions and gamma-distributed actuals around ``exp(0.7) * raw**0.6``."""
    rng = np.random.default_rng(seed)
    raw = rng.lognormal(2.0, 1.0, n)
    mean = np.exp(TRUE_INTERCEPT) * raw**TRUE_EXPONENT
    return raw, rng.gamma(4.0, mean / 4.0)


def _heavy_sample(seed: int, n: int = 2000) -> tuple[np.ndarray, np.ndarray]:
    """Money-like actuals: 40% zeros and a noisy heavy tail rising with the raw prediction."""
    rng = np.random.default_rng(seed)
    raw = rng.lognormal(3.0, 1.2, n)
    actual = rng.gamma(0.7, 2.5 * raw / 0.7) * (rng.random(n) < 0.6)
    return raw, actual


@pytest.fixture(scope="module")
def power() -> PowerCalibrator:
    return PowerCalibrator().fit(*_heavy_sample(1))


@pytest.fixture(scope="module")
def monotone() -> MonotoneCalibrator:
    """Fitted on noisy data with small bins, so pooling (flat stretches) does happen."""
    return MonotoneCalibrator(customers_per_bin=40).fit(*_heavy_sample(2))


def test_monotone_fixture_has_pooled_bins(monotone: MonotoneCalibrator) -> None:
    # The order property below is only interesting if the map has flat stretches to break.
    assert monotone.knots_x_ is not None and monotone.knots_y_ is not None
    assert monotone.knots_x_.size == 50
    assert (np.diff(monotone.knots_y_) == 0).any()
    assert (np.diff(monotone.knots_x_) > 0).all()


_POSITIVE = st.floats(min_value=1e-4, max_value=1e7, allow_nan=False, allow_infinity=False)


def _distinct_sorted(values: list[float]) -> np.ndarray:
    """Sorted values whose neighbours differ by at least one part in a million."""
    kept: list[float] = []
    for value in sorted(values):
        if not kept or value > kept[-1] * (1 + 1e-6):
            kept.append(value)
    return np.array(kept)


@settings(max_examples=100, deadline=None)
@given(values=st.lists(_POSITIVE, min_size=2, max_size=40))
def test_power_calibration_is_strictly_increasing(
    power: PowerCalibrator, values: list[float]
) -> None:
    raw = _distinct_sorted(values)
    calibrated = power.transform(raw)
    assert (np.diff(calibrated) > 0).all()
    assert (calibrated > 0).all()
    # The order survives any shuffling of the input.
    permutation = np.random.default_rng(0).permutation(raw.size)
    np.testing.assert_array_equal(power.transform(raw[permutation]), calibrated[permutation])


@settings(max_examples=100, deadline=None)
@given(values=st.lists(_POSITIVE, min_size=2, max_size=40))
def test_monotone_calibration_is_strictly_increasing(
    monotone: MonotoneCalibrator, values: list[float]
) -> None:
    raw = _distinct_sorted(values)
    calibrated = monotone.transform(raw)
    assert (np.diff(calibrated) > 0).all()
    assert (calibrated >= 0).all()


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_power_recovers_a_known_power_law(seed: int) -> None:
    raw, actual = _power_law_sample(seed)
    calibrator = PowerCalibrator().fit(raw, actual)
    assert calibrator.exponent_ == pytest.approx(TRUE_EXPONENT, abs=0.03)
    assert calibrator.intercept_ == pytest.approx(TRUE_INTERCEPT, abs=0.08)
    probe = np.array([1.0, 10.0, 100.0])
    np.testing.assert_allclose(
        calibrator.transform(probe), np.exp(TRUE_INTERCEPT) * probe**TRUE_EXPONENT, rtol=0.1
    )


def test_power_matches_totals_approximately() -> None:
    raw, actual = _heavy_sample(3)
    calibrator = PowerCalibrator().fit(raw, actual)
    assert calibrator.transform(raw).sum() == pytest.approx(actual.sum(), rel=1e-4)


def test_power_does_not_depend_on_the_unit_of_the_raw_prediction() -> None:
    raw, actual = _heavy_sample(4)
    calibrated = PowerCalibrator().fit(raw, actual).transform(raw)
    rescaled = PowerCalibrator().fit(raw * 1000.0, actual).transform(raw * 1000.0)
    np.testing.assert_allclose(rescaled, calibrated, rtol=1e-3)


def test_power_matches_totals_exactly_on_its_fitting_data() -> None:
    relative_errors = []
    for seed in range(8):
        rng = np.random.default_rng(seed)
        raw = rng.lognormal(3.0, 1.0, 2000)
        actual = rng.gamma(2.0, np.exp(0.5) * raw**0.8 / 2.0) * (rng.random(2000) >= 0.3)
        calibrated = PowerCalibrator().fit(raw, actual).transform(raw)
        relative_errors.append(abs(calibrated.sum() / actual.sum() - 1))
    rng = np.random.default_rng(5)
    raw = rng.lognormal(0.0, 1.5, 500)
    counts = rng.poisson(raw * 1e-3).astype(float)
    calibrated = PowerCalibrator().fit(raw, counts).transform(raw)
    relative_errors.append(abs(calibrated.sum() / counts.sum() - 1))
    assert max(relative_errors) <= 1e-6


def test_power_zero_and_negative_raw_give_zero(power: PowerCalibrator) -> None:
    calibrated = power.transform(np.array([0.0, -3.0, 1.0]))
    assert calibrated[0] == 0.0
    assert calibrated[1] == 0.0
    assert calibrated[2] == pytest.approx(np.exp(power.intercept_))


def test_power_ignores_zero_raw_rows_when_fitting() -> None:
    raw, actual = _power_law_sample(4, n=1000)
    fitted = PowerCalibrator().fit(raw, actual)
    with_zeros = PowerCalibrator().fit(
        np.concatenate([raw, np.zeros(50)]), np.concatenate([actual, np.full(50, 1e4)])
    )
    assert with_zeros.intercept_ == pytest.approx(fitted.intercept_, abs=1e-9)
    assert with_zeros.exponent_ == pytest.approx(fitted.exponent_, abs=1e-9)


def test_monotone_bin_means_are_right_on_fitting_data() -> None:
    rng = np.random.default_rng(7)
    raw = rng.lognormal(3.0, 1.0, 2000)
    actual = rng.gamma(4.0, 3.0 * raw / 4.0)
    calibrated = MonotoneCalibrator(customers_per_bin=200).fit(raw, actual).transform(raw)
    for members in np.array_split(np.argsort(raw, kind="stable"), 10):
        assert calibrated[members].mean() == pytest.approx(actual[members].mean(), rel=0.1)
    assert calibrated.sum() == pytest.approx(actual.sum(), rel=0.05)


def test_monotone_knots_are_the_isotonic_fit_of_bin_means() -> None:
    raw = np.arange(1.0, 101.0)
    # Ten bins of ten; the bin means of actual are 5, 1, 3, 8, 8, 2, 9, 9, 9, 20.
    bin_means = np.array([5.0, 1.0, 3.0, 8.0, 8.0, 2.0, 9.0, 9.0, 9.0, 20.0])
    actual = np.repeat(bin_means, 10)
    calibrator = MonotoneCalibrator(customers_per_bin=10).fit(raw, actual)
    np.testing.assert_allclose(calibrator.knots_x_, np.arange(5.5, 100.0, 10.0))
    # Pool adjacent violators by hand: (5, 1, 3) -> 3; (8, 8, 2) -> 6; the rest is increasing.
    np.testing.assert_allclose(calibrator.knots_y_, [3, 3, 3, 6, 6, 6, 9, 9, 9, 20])


def test_monotone_interpolates_in_money_between_knots() -> None:
    raw = np.arange(1.0, 101.0)
    actual = np.repeat([2.0, 4.0, 10.0, 30.0, 80.0], 20)
    calibrator = MonotoneCalibrator(customers_per_bin=20).fit(raw, actual)
    x, y = calibrator.knots_x_, calibrator.knots_y_
    assert x is not None and y is not None
    middle = (x[:-1] + x[1:]) / 2
    # Halfway between two knots in money is halfway between their values: a bin's customers
    # keep the bin's mean on average (log-space interpolation is concave in money: too high).
    expected = (y[:-1] + y[1:]) / 2 + 1e-6 * middle
    np.testing.assert_allclose(calibrator.transform(middle), expected, rtol=1e-12)
    logged = MonotoneCalibrator(customers_per_bin=20, interpolation="log1p").fit(raw, actual)
    assert (logged.transform(middle) > calibrator.transform(middle)).all()


def test_bundles_from_before_keep_log_interpolation_on_the_ensemble_mean(
    monotone: MonotoneCalibrator, power: PowerCalibrator
) -> None:
    old_isotonic = {
        k: v for k, v in monotone.to_dict().items() if k not in ("interpolation", "per_member")
    }
    restored = calibrator_from_dict(old_isotonic)
    assert isinstance(restored, MonotoneCalibrator)
    assert (restored.interpolation, restored.per_member) == ("log1p", False)
    raw = np.geomspace(1.0, 1e4, 30)
    x, y = monotone.knots_x_, monotone.knots_y_
    assert x is not None and y is not None
    inside = raw[(raw > x[0]) & (raw < x[-1])]
    np.testing.assert_allclose(
        restored.transform(inside), np.interp(np.log1p(inside), np.log1p(x), y) + 1e-6 * inside
    )
    old_power = {"kind": "power", "intercept": power.intercept_, "exponent": power.exponent_}
    assert calibrator_from_dict(old_power).per_member is False
    assert monotone.per_member and power.per_member
    assert monotone.to_dict()["interpolation"] == "linear"


def test_monotone_never_maps_to_negative_money_when_returns_dominate() -> None:
    raw = np.arange(1.0, 51.0)
    # Five bins of ten: net returns in the lowest two (bin means -5 and -1).
    actual = np.repeat([-5.0, -1.0, 2.0, 4.0, 8.0], 10)
    calibrator = MonotoneCalibrator(customers_per_bin=10).fit(raw, actual)
    np.testing.assert_allclose(calibrator.knots_y_, [0.0, 0.0, 2.0, 4.0, 8.0])
    assert (calibrator.transform(np.geomspace(1e-3, 1e3, 40)) >= 0).all()


def test_monotone_extrapolates_proportionally_and_stays_ordered(
    monotone: MonotoneCalibrator,
) -> None:
    x, y = monotone.knots_x_, monotone.knots_y_
    assert x is not None and y is not None
    below = np.array([0.0, x[0] / 100, x[0] / 2])
    above = np.array([x[-1] * 2, x[-1] * 100])
    inside = np.array([x[0], x[-1]])
    calibrated = monotone.transform(np.concatenate([below, inside, above]))
    assert (calibrated >= 0).all()
    assert (np.diff(calibrated) > 0).all()
    assert calibrated[0] == 0.0
    tie_break = 1e-6
    np.testing.assert_allclose(calibrated[1:3], below[1:] * (y[0] / x[0] + tie_break))
    np.testing.assert_allclose(calibrated[-2:], above * (y[-1] / x[-1] + tie_break))
    np.testing.assert_allclose(calibrated[3:5], y[[0, -1]] + tie_break * inside, rtol=1e-12)
    # Negative raw predictions are treated as zero.
    assert monotone.transform(np.array([-5.0]))[0] == 0.0


def test_monotone_with_a_single_distinct_prediction_is_proportional() -> None:
    calibrator = MonotoneCalibrator().fit(np.full(20, 4.0), np.arange(20.0))
    np.testing.assert_array_equal(calibrator.knots_x_, [4.0])
    np.testing.assert_allclose(calibrator.knots_y_, [9.5])
    calibrated = calibrator.transform(np.array([0.0, 2.0, 4.0, 8.0]))
    np.testing.assert_allclose(calibrated, np.array([0.0, 2.0, 4.0, 8.0]) * (9.5 / 4.0 + 1e-6))


@pytest.mark.parametrize("calibrator", [PowerCalibrator(), MonotoneCalibrator()])
def test_too_few_rows_raise_data_error(calibrator: PowerCalibrator | MonotoneCalibrator) -> None:
    raw = np.linspace(1.0, 9.0, 9)
    with pytest.raises(DataError, match=r"at least 10 .* got 9"):
        calibrator.fit(raw, raw)


@pytest.mark.parametrize("calibrator", [PowerCalibrator(), MonotoneCalibrator()])
def test_mismatched_shapes_raise_data_error(
    calibrator: PowerCalibrator | MonotoneCalibrator,
) -> None:
    with pytest.raises(DataError, match="Calibration needs at least 10"):
        calibrator.fit(np.ones(20), np.ones(19))


def test_power_needs_positive_predictions_and_some_spend() -> None:
    raw = np.concatenate([np.zeros(30), np.linspace(1.0, 2.0, 9)])
    with pytest.raises(DataError, match="with a positive prediction and some spend; got 9"):
        PowerCalibrator().fit(raw, np.ones(39))
    with pytest.raises(DataError, match="with a positive prediction and some spend; got 20"):
        PowerCalibrator().fit(np.linspace(1.0, 2.0, 20), np.zeros(20))


@pytest.mark.parametrize("calibrator", [PowerCalibrator(), MonotoneCalibrator()])
def test_use_before_fit_raises_not_fitted(
    calibrator: PowerCalibrator | MonotoneCalibrator,
) -> None:
    with pytest.raises(NotFittedError, match="not fitted yet; call fit first"):
        calibrator.transform(np.ones(3))
    with pytest.raises(NotFittedError, match="not fitted yet; call fit first"):
        calibrator.to_dict()


def test_power_round_trip(power: PowerCalibrator) -> None:
    data = json.loads(json.dumps(power.to_dict()))
    assert data == {
        "kind": "power",
        "intercept": power.intercept_,
        "exponent": power.exponent_,
        "per_member": True,
    }
    raw = np.geomspace(0.01, 1e5, 50)
    for restored in (PowerCalibrator.from_dict(data), calibrator_from_dict(data)):
        assert isinstance(restored, PowerCalibrator)
        np.testing.assert_array_equal(restored.transform(raw), power.transform(raw))


def test_monotone_round_trip(monotone: MonotoneCalibrator) -> None:
    data = json.loads(json.dumps(monotone.to_dict()))
    assert data["kind"] == "isotonic"
    assert data["customers_per_bin"] == 40
    raw = np.geomspace(0.01, 1e5, 50)
    for restored in (MonotoneCalibrator.from_dict(data), calibrator_from_dict(data)):
        assert isinstance(restored, MonotoneCalibrator)
        assert restored.customers_per_bin == 40
        assert restored.to_dict() == data
        np.testing.assert_array_equal(restored.transform(raw), monotone.transform(raw))


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"kind": "power", "exponent": 1.0}, "damaged: KeyError"),
        ({"kind": "power", "intercept": "high", "exponent": 1.0}, "damaged: ValueError"),
        ({"kind": "power", "intercept": 0.0, "exponent": None}, "damaged: TypeError"),
        ({"kind": "isotonic", "knots_x": [1.0], "knots_y": [1.0]}, "damaged: KeyError"),
        (
            {"kind": "isotonic", "customers_per_bin": 200, "knots_x": "abc", "knots_y": [1.0]},
            "damaged: ValueError",
        ),
        (
            {"kind": "isotonic", "customers_per_bin": 200, "knots_x": [1, 2], "knots_y": [1]},
            "damaged: knots must be finite",
        ),
        (
            {"kind": "isotonic", "customers_per_bin": 200, "knots_x": [], "knots_y": []},
            "damaged: knots must be finite",
        ),
        (
            {"kind": "isotonic", "customers_per_bin": 200, "knots_x": [2, 1], "knots_y": [1, 2]},
            "damaged: knots must be finite, increasing",
        ),
        (
            {
                "kind": "isotonic",
                "customers_per_bin": 200,
                "interpolation": "cubic",
                "knots_x": [1],
                "knots_y": [1],
            },
            "damaged: ConfigError",
        ),
        (
            {"kind": "power", "intercept": 0.0, "exponent": 1.0, "per_member": "yes"},
            "damaged: ValueError",
        ),
        ({"kind": "spline"}, "damaged: expected an object with kind"),
        ({}, "damaged: expected an object with kind"),
    ],
)
def test_damaged_dicts_raise_data_error(data: dict[str, Any], message: str) -> None:
    with pytest.raises(DataError, match=rf"The calibration in meta\.json is {message}"):
        calibrator_from_dict(data)


@pytest.mark.parametrize("data", ["power", ["power", 0.1, 1.0]])
def test_non_object_calibration_raises_data_error(data: Any) -> None:
    with pytest.raises(DataError, match="calibration"):
        calibrator_from_dict(data)
