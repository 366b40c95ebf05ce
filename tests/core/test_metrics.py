"""Metric definitions, checked by hand-computed values and by properties."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clv_core.errors import ConfigError
from clv_core.metrics import (
    METRIC_NAMES,
    compute_metrics,
    decile_mape,
    decile_table,
    gain_curve,
    mean_absolute_error,
    normalized_gini,
    root_mean_squared_error,
    spearman,
    top_decile_share,
    total_ratio,
)


@pytest.fixture
def heavy_tailed() -> np.ndarray:
    return np.random.default_rng(3).lognormal(3, 1.5, 2000) * (
        np.random.default_rng(4).random(2000) < 0.4
    )


def test_perfect_ranking_has_normalized_gini_one(heavy_tailed: np.ndarray) -> None:
    assert normalized_gini(heavy_tailed, heavy_tailed) == pytest.approx(1.0)
    # Only the order matters, not the scale.
    assert normalized_gini(heavy_tailed, np.log1p(heavy_tailed) * 7) == pytest.approx(1.0)


def test_reversed_ranking_is_negative(heavy_tailed: np.ndarray) -> None:
    assert normalized_gini(heavy_tailed, -heavy_tailed) < -0.5
    assert spearman(heavy_tailed, -heavy_tailed) < -0.9


def test_shuffled_ranking_is_about_zero(heavy_tailed: np.ndarray) -> None:
    rng = np.random.default_rng(0)
    ginis = [normalized_gini(heavy_tailed, rng.random(heavy_tailed.size)) for _ in range(20)]
    assert abs(np.mean(ginis)) < 0.05


def test_hand_computed_values() -> None:
    y = np.array([10.0, 0.0, 5.0, 5.0])
    p = np.array([8.0, 1.0, 6.0, 2.0])
    assert mean_absolute_error(y, p) == pytest.approx((2 + 1 + 1 + 3) / 4)
    assert root_mean_squared_error(y, p) == pytest.approx(np.sqrt((4 + 1 + 1 + 9) / 4))
    assert total_ratio(y, p) == pytest.approx(17 / 20)
    # Order by p: 10, 5, 5, 0 -> gains 0.5, 0.75, 1, 1 -> raw Gini 2*0.8125-1 = 0.625, the
    # same as the perfect order, so the normalised Gini is 1.
    curve = gain_curve(y, p)
    assert curve["share_of_value"].tolist() == [0.5, 0.75, 1.0, 1.0]
    assert normalized_gini(y, p) == pytest.approx(1.0)
    # Swap the top two predictions: gains 0.25, 0.75, 1, 1 -> raw 0.5 -> 0.5 / 0.625.
    assert normalized_gini(y, np.array([6.0, 1.0, 8.0, 2.0])) == pytest.approx(0.8)


def test_decile_table_sums_and_sizes() -> None:
    rng = np.random.default_rng(1)
    y = rng.gamma(1, 10, 1003)
    p = y + rng.normal(0, 5, 1003)
    table = decile_table(y, p)
    assert table["customers"].tolist() == [101, 101, 101] + [100] * 7
    assert table["sum_actual"].sum() == pytest.approx(y.sum())
    assert table["sum_predicted"].sum() == pytest.approx(p.sum())
    assert table["mean_predicted"].is_monotonic_decreasing
    assert top_decile_share(y, p) == pytest.approx(table["sum_actual"].iloc[0] / y.sum())


def test_decile_mape_zero_for_calibrated_deciles() -> None:
    y = np.repeat(np.arange(10, 0, -1, dtype=float), 10)
    p = y.copy()
    assert decile_mape(y, p) == 0.0
    assert decile_mape(y, p * 1.1) == pytest.approx(0.1)


def test_decile_mape_skips_deciles_without_value() -> None:
    y = np.r_[np.full(10, 4.0), np.zeros(90)]
    p = np.r_[np.full(10, 5.0), np.linspace(1, 0, 90)]
    assert decile_mape(y, p) == pytest.approx(0.25)


def test_ties_are_broken_by_input_order() -> None:
    y = np.array([0.0, 1.0])
    assert normalized_gini(y, np.zeros(2)) == pytest.approx(0.0)
    assert normalized_gini(y[::-1], np.zeros(2)) == pytest.approx(1.0)


def test_degenerate_inputs() -> None:
    assert np.isnan(normalized_gini(np.zeros(5), np.arange(5)))
    assert np.isnan(spearman(np.ones(5), np.arange(5)))
    assert np.isnan(total_ratio(np.zeros(3), np.ones(3)))
    with pytest.raises(ConfigError, match="same length"):
        mean_absolute_error([1, 2], [1])
    with pytest.raises(ConfigError, match="finite"):
        total_ratio([1, np.nan], [1, 2])
    with pytest.raises(ConfigError, match="at least one"):
        total_ratio([], [])


def test_compute_metrics_has_every_metric(heavy_tailed: np.ndarray) -> None:
    metrics = compute_metrics(heavy_tailed, heavy_tailed + 1)
    assert tuple(metrics) == METRIC_NAMES
    assert metrics["normalized_gini"] == pytest.approx(1.0)


@settings(max_examples=50, deadline=None)
@given(
    st.lists(st.floats(min_value=0, max_value=1e6, allow_nan=False), min_size=10, max_size=200),
    st.integers(min_value=0, max_value=2**31),
)
def test_gini_is_bounded_by_the_perfect_order(values: list[float], seed: int) -> None:
    y = np.asarray(values)
    if y.sum() == 0 or np.ptp(y) == 0:
        return
    p = np.random.default_rng(seed).random(y.size)
    assert -1.0 - 1e-9 <= normalized_gini(y, p) <= 1.0 + 1e-9
    assert normalized_gini(y, y) == pytest.approx(1.0)
    table = decile_table(y, p)
    assert table["customers"].sum() == y.size
