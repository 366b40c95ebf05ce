"""Profit, discounting, per-period value and next order (clv_core.value), against lifetimes."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from clv_core.baselines import BtydBaseline
from clv_core.errors import ConfigError, DataError
from clv_core.features import build_features
from clv_core.loading import load_table
from clv_core.validation import validate_transactions
from clv_core.value import (
    TimingModel,
    ValueSettings,
    customer_margins,
    discount_factors,
    fit_timing,
    margin_categories,
    next_order_days,
    period_ends,
    plan_value,
)
from tests.corpus.public import CDNOW_PATH


@pytest.fixture(scope="module")
def cdnow_features() -> pd.DataFrame:
    """CDNOW features at 1997-09-30 (every customer), as lifetimes summarises them."""
    transactions = validate_transactions(load_table(CDNOW_PATH).frame).frame
    return build_features(transactions, "1997-09-30")


@pytest.fixture(scope="module")
def cdnow_btyd(cdnow_features: pd.DataFrame) -> BtydBaseline:
    return BtydBaseline(horizon_days=360).fit(cdnow_features)


def test_discounted_bgnbd_gamma_gamma_equals_lifetimes_on_cdnow(
    cdnow_features: pd.DataFrame, cdnow_btyd: BtydBaseline
) -> None:
    """12 months of 30 days at 1% a month: lifetimes' customer_lifetime_value, to 1e-6."""
    assert cdnow_btyd.gamma_gamma_ is not None
    features = cdnow_features
    repeat = features["monetary_value"] > 0
    frequency = features["frequency"].where(repeat, 0)
    monetary = features["monetary_value"].where(repeat, 1.0)
    expected = cdnow_btyd.gamma_gamma_.customer_lifetime_value(
        cdnow_btyd.bgnbd_,
        frequency,
        features["recency"],
        features["T"],
        monetary,
        time=12,
        discount_rate=0.01,
        freq="D",
    ).to_numpy()
    annual = 1.01**12 - 1  # the annual rate whose monthly rate is 1%
    settings = ValueSettings(annual_discount_rate=annual)
    assert settings.monthly_discount_rate == pytest.approx(0.01, abs=1e-15)
    ours = cdnow_btyd.discounted_value(features.assign(frequency=frequency), 360, settings)
    assert len(ours) == len(expected) == 23_570
    np.testing.assert_allclose(ours, expected, rtol=1e-6, atol=1e-6)
    # Not a coincidence of zeros: real money over all customers.
    assert expected.sum() > 1e5
    # Undiscounted, the 12 months add up to the 360-day prediction.
    flat = cdnow_btyd.discounted_value(features, 360, ValueSettings(annual_discount_rate=0.0))
    np.testing.assert_allclose(flat, BtydBaseline(horizon_days=360).fit(features).predict(features))


def test_timing_model_equals_lifetimes_bgnbd(
    cdnow_features: pd.DataFrame, cdnow_btyd: BtydBaseline
) -> None:
    timing = cdnow_btyd.timing()
    f, r, t = (cdnow_features[c] for c in ("frequency", "recency", "T"))
    for days in (1.0, 30.0, 273.0, 3650.0):
        np.testing.assert_allclose(
            timing.expected_purchases(days, f.to_numpy(), r.to_numpy(), t.to_numpy()),
            cdnow_btyd.bgnbd_.conditional_expected_number_of_purchases_up_to_time(days, f, r, t),
            rtol=1e-12,
        )
    np.testing.assert_allclose(
        timing.p_alive(f.to_numpy(), r.to_numpy(), t.to_numpy()),
        cdnow_btyd.bgnbd_.conditional_probability_alive(f, r, t),
        rtol=1e-12,
    )
    assert TimingModel.from_dict(timing.to_dict()) == timing
    assert fit_timing(cdnow_features) == timing


def test_settings_refuse_impossible_values() -> None:
    with pytest.raises(ConfigError, match="between 0 and 1"):
        ValueSettings(margin=1.5)
    with pytest.raises(ConfigError, match="between 0 and 1"):
        ValueSettings(margin=-0.1)
    with pytest.raises(ConfigError, match="0 or more"):
        ValueSettings(annual_discount_rate=-0.05)
    with pytest.raises(ConfigError, match=r"write 10% as 0\.10"):
        ValueSettings(annual_discount_rate=12.0)
    with pytest.raises(ConfigError, match="period"):
        ValueSettings(period="quarter")
    with pytest.raises(ConfigError, match="margin") as caught:
        ValueSettings(margin=float("nan"), annual_discount_rate=-1)
    assert len(caught.value.problems) == 2


def test_periods_and_discount_factors() -> None:
    np.testing.assert_array_equal(period_ends(90), [30, 60, 90])
    ends = period_ends(365)
    assert len(ends) == 13 and ends[-2] == 360 and ends[-1] == 365
    assert len(period_ends(14, "week")) == 2
    assert len(period_ends(15, "week")) == 3
    np.testing.assert_allclose(
        discount_factors(np.array([30.0, 60.0]), 0.01), [1 / 1.01, 1 / 1.0201]
    )
    with pytest.raises(ConfigError):
        period_ends(0)


def _scored(features: pd.DataFrame, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {"customer_id": features.index, "predicted_clv": rng.gamma(1.0, 50.0, len(features))}
    )


def test_plan_spreads_the_networks_total_and_discounts_it(
    cdnow_features: pd.DataFrame, cdnow_btyd: BtydBaseline
) -> None:
    features = cdnow_features.iloc[:2000]
    scored = _scored(features)
    timing = cdnow_btyd.timing()
    as_of = dt.date(1997, 9, 30)
    flat = plan_value(
        scored,
        features,
        timing=timing,
        horizon_days=273,
        as_of=as_of,
        settings=ValueSettings(annual_discount_rate=0.0),
    )
    # The periods add up to the network's prediction; no discount and margin 1 = the prediction.
    np.testing.assert_allclose(flat.per_period.sum(axis=1), scored["predicted_clv"], rtol=1e-12)
    np.testing.assert_allclose(flat.columns["predicted_profit"], scored["predicted_clv"])
    assert flat.per_period.shape == (2000, 10)
    # The spread follows BG/NBD: an active frequent buyer's months are nearly even, a lapsed
    # customer's value comes early.
    shares = flat.per_period.div(scored.set_index("customer_id")["predicted_clv"], axis=0)
    assert (shares.iloc[:, 0] >= shares.iloc[:, 8] - 1e-12).all()

    plan = plan_value(
        scored,
        features,
        timing=timing,
        horizon_days=273,
        as_of=as_of,
        settings=ValueSettings(margin=0.4, annual_discount_rate=0.12),
    )
    profit = plan.columns["predicted_profit"].to_numpy()
    clv = scored["predicted_clv"].to_numpy()
    assert np.all(profit < 0.4 * clv + 1e-9)
    assert np.all(profit > 0.4 * clv / 1.12)  # less than a year of discounting
    np.testing.assert_allclose(plan.profit_factor * clv, profit)
    total = plan.aggregate()
    assert list(total["end_day"])[-1] == 273
    assert total["start"].iloc[0] == dt.date(1997, 10, 1)
    assert total["end"].iloc[-1] == as_of + dt.timedelta(days=273)
    assert total["revenue"].sum() == pytest.approx(clv.sum())
    assert total["profit"].sum() == pytest.approx(profit.sum())
    # p_alive and the next order date come from the same BG/NBD.
    np.testing.assert_allclose(
        plan.columns["p_alive"],
        timing.p_alive(*(features[c].to_numpy() for c in ("frequency", "recency", "T"))),
    )
    days = (plan.columns["expected_next_order_date"] - pd.Timestamp(as_of)).dt.days
    assert days.between(1, 273).all()
    pd.testing.assert_series_equal(
        plan.columns["mean_days_between_orders"],
        features["mean_days_between_purchases"].rename("mean_days_between_orders"),
        check_index_type=False,
        check_names=False,
    )
    assert "273 days after 1997-09-30" in plan.sentence()


def test_repeated_customers_are_refused() -> None:
    features = pd.DataFrame(index=pd.Index(["a"], name="customer_id"))
    scored = pd.DataFrame({"customer_id": ["a", "a"], "predicted_clv": [1.0, 2.0]})
    with pytest.raises(DataError, match="repeat"):
        plan_value(scored, features, timing=None, horizon_days=30, as_of=dt.date(2025, 1, 1))


def test_without_timing_the_value_is_spread_evenly_and_p_alive_is_missing() -> None:
    features = pd.DataFrame({"x": [1.0, 2.0]}, index=pd.Index(["a", "b"], name="customer_id"))
    scored = pd.DataFrame({"customer_id": ["b", "a"], "predicted_clv": [100.0, 10.0]})
    plan = plan_value(scored, features, timing=None, horizon_days=60, as_of=dt.date(2025, 1, 1))
    np.testing.assert_allclose(plan.per_period.loc["b"], [50.0, 50.0])
    assert plan.columns["p_alive"].isna().all()
    assert plan.columns["expected_next_order_date"].isna().all()
    assert list(plan.columns.index) == ["b", "a"]


def test_next_order_days_lie_in_the_horizon_and_follow_the_rhythm() -> None:
    timing = TimingModel(r=0.25, alpha=4.0, a=0.8, b=2.4)
    frequent = next_order_days(timing, np.array([20.0]), np.array([200.0]), 365)
    rare = next_order_days(timing, np.array([1.0]), np.array([200.0]), 365)
    assert 1 <= frequent[0] < rare[0] <= 365


def _margins(attributes: pd.DataFrame | None, column: str, customers: list[str], **more: object):
    settings = ValueSettings(margin_column=column, **more)  # type: ignore[arg-type]
    return customer_margins(attributes, settings, pd.Index(customers))


def test_margins_from_an_attributes_column() -> None:
    attributes = pd.DataFrame({"customer_id": ["a", "b", "c"], "margin": [0.3, None, 0.5]})
    margins = _margins(attributes, "margin", ["a", "b", "d"])
    assert margins is not None
    assert margins.tolist()[0] == 0.3 and int(margins.isna().sum()) == 2
    with pytest.raises(DataError, match=r"outside 0..1 \(e.g. c: 35\)"):
        _margins(attributes.assign(margin=[0.3, 0.2, 35]), "margin", ["a"])
    with pytest.raises(DataError, match="holds categories"):
        _margins(attributes.assign(margin=["30%", 0.2, 0.1]), "margin", ["a"])
    with pytest.raises(DataError, match="no column 'gm'"):
        _margins(attributes, "gm", ["a"])
    with pytest.raises(DataError, match="attributes table"):
        _margins(None, "margin", ["a"])
    with pytest.raises(DataError, match="holds numbers, not categories"):
        _margins(attributes, "margin", ["a"], category_margins=(("x", 0.1),))
    features = pd.DataFrame(index=pd.Index(["a", "b", "d"], name="customer_id"))
    scored = pd.DataFrame({"customer_id": ["a", "b", "d"], "predicted_clv": [100.0] * 3})
    plan = plan_value(
        scored,
        features,
        timing=None,
        horizon_days=30,
        as_of=dt.date(2025, 1, 1),
        settings=ValueSettings(margin=0.1, annual_discount_rate=0.0),
        margins=margins,
    )
    np.testing.assert_allclose(plan.columns["predicted_profit"], [30.0, 10.0, 10.0])
    assert plan.margins_defaulted == 2


def test_margins_per_category() -> None:
    attributes = pd.DataFrame(
        {"customer_id": ["a", "b", "c", "d"], "segment": ["retail", " wholesale", None, "vip"]}
    )
    assert margin_categories(attributes, "segment") == ["retail", "vip", "wholesale"]
    assert margin_categories(attributes.assign(segment=0.2), "segment") is None
    pairs = (("retail", 0.45), ("wholesale", 0.12))
    margins = _margins(attributes, "segment", ["a", "b", "c", "d"], category_margins=pairs)
    assert margins is not None
    assert margins.tolist()[:2] == [0.45, 0.12]
    assert int(margins.isna().sum()) == 2  # no category, and a category without a margin
    with pytest.raises(DataError, match=r"holds categories \('retail'"):
        _margins(attributes, "segment", ["a"])
    with pytest.raises(ConfigError, match="between 0 and 1"):
        ValueSettings(margin_column="segment", category_margins=(("retail", 45.0),))
    with pytest.raises(ConfigError, match="more than one margin"):
        ValueSettings(margin_column="segment", category_margins=(("a", 0.1), ("a", 0.2)))
    with pytest.raises(ConfigError, match="column that holds the categories"):
        ValueSettings(category_margins=(("a", 0.1),))
