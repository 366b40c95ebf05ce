"""Monitoring's measures (clv_core.monitoring): PSI, drift, coverage, segments, the reasons."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from clv_core.monitoring import (
    Thresholds,
    coverage,
    feature_drift,
    population_stability,
    recommendation,
    segment_outcomes,
)


def test_psi_is_zero_for_the_same_distribution_and_grows_with_a_shift() -> None:
    rng = np.random.default_rng(0)
    reference = pd.Series(rng.gamma(2.0, 50.0, 20_000))
    same = pd.Series(rng.gamma(2.0, 50.0, 20_000))
    moved = pd.Series(rng.gamma(2.0, 65.0, 20_000))
    shifted = pd.Series(rng.gamma(2.0, 120.0, 20_000))
    assert population_stability(reference, same, numeric=True) < 0.01
    assert 0.05 < population_stability(reference, moved, numeric=True) < 0.25
    assert population_stability(reference, shifted, numeric=True) > 0.25
    # Hand computation on two bins: shares (0.5, 0.5) -> (0.8, 0.2).
    reference = pd.Series(["a"] * 50 + ["b"] * 50)
    current = pd.Series(["a"] * 80 + ["b"] * 20)
    expected = (0.8 - 0.5) * np.log(0.8 / 0.5) + (0.2 - 0.5) * np.log(0.2 / 0.5)
    assert population_stability(reference, current, numeric=False) == pytest.approx(expected)


def test_drift_names_shifted_features_and_levels_the_network_never_saw() -> None:
    rng = np.random.default_rng(1)
    reference = pd.DataFrame(
        {
            "T": rng.uniform(0, 300, 5000),
            "spend": rng.gamma(2.0, 50.0, 5000),
            "channel": rng.choice(["email", "organic"], 5000),
        }
    )
    current = pd.DataFrame(
        {
            "T": rng.uniform(200, 700, 5000),
            "spend": rng.gamma(2.0, 50.0, 5000),
            "channel": rng.choice(["email", "organic", "tiktok"], 5000, p=[0.45, 0.45, 0.1]),
        }
    )
    drift = feature_drift(
        reference,
        current,
        numeric=["T", "spend"],
        categorical=["channel"],
        known_levels={"channel": ["email", "organic"]},
    ).set_index("feature")
    assert drift.loc["T", "status"] == "shifted" and drift.loc["spend", "status"] == "stable"
    assert (
        drift.loc["T", "ks_statistic"] > 0.5 and "distributions differ" in drift.loc["T", "finding"]
    )
    assert drift.loc["channel", "unseen_levels"] == ["tiktok"]
    assert drift.loc["channel", "unseen_share"] == pytest.approx(0.1, abs=0.02)
    reasons = recommendation(
        {"normalized_gini": 0.8, "spearman": 0.5, "decile_mape": 0.1, "total_ratio": 1.0},
        {},
        achieved_coverage=None,
        promised_coverage=None,
        drift=drift.reset_index(),
        thresholds=Thresholds(),
    )
    assert any("2 of 3 features have shifted (PSI >= 0.25): T, channel" in r for r in reasons)
    assert any("never learned" in reason for reason in reasons)


def test_the_reasons_follow_the_thresholds() -> None:
    good = {"normalized_gini": 0.8, "spearman": 0.5, "decile_mape": 0.1, "total_ratio": 1.05}
    baselines = {"lightgbm": {"normalized_gini": 0.81, "spearman": 0.6}}
    empty = pd.DataFrame(columns=["feature", "status", "unseen_share"])
    none = recommendation(
        good,
        baselines,
        achieved_coverage=0.7,
        promised_coverage=0.8,
        drift=empty,
        thresholds=Thresholds(),
    )
    assert none == []
    bad = good | {"normalized_gini": 0.7, "decile_mape": 0.4, "total_ratio": 1.4}
    reasons = recommendation(
        bad,
        baselines,
        achieved_coverage=0.5,
        promised_coverage=0.8,
        drift=empty,
        thresholds=Thresholds(),
    )
    assert len(reasons) == 4
    assert reasons[0].startswith("lightgbm concentrated the value better")


def test_coverage_and_segment_outcomes() -> None:
    actual = np.array([0.0, 10.0, 50.0, 200.0])
    assert coverage(actual, np.zeros(4), np.array([1.0, 20.0, 40.0, 300.0])) == 0.75
    rows = segment_outcomes(
        pd.Series(["tier_1", "tier_1", "tier_2", None]),
        pd.Series([100.0, 50.0, 5.0, 1.0]),
        pd.Series([80.0, 0.0, 10.0, 3.0]),
        pd.Series([0.9, 0.7, 0.2, 0.1]),
    )
    assert rows == [
        {
            "code": "tier_1",
            "customers": 2,
            "predicted_revenue": 150.0,
            "realised_revenue": 80.0,
            "predicted_share_buying": 0.8,
            "realised_share_buying": 0.5,
        },
        {
            "code": "tier_2",
            "customers": 1,
            "predicted_revenue": 5.0,
            "realised_revenue": 10.0,
            "predicted_share_buying": 0.2,
            "realised_share_buying": 1.0,
        },
    ]
