"""Feature and label arithmetic, pinned on a hand-computed log and checked against lifetimes."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clv_core.errors import ConfigError, DataError
from clv_core.features import (
    BTYD_COLUMNS,
    LABEL_COLUMN,
    FeatureOptions,
    build_features,
    build_labels,
    build_training_table,
    categorical_feature_columns,
    numeric_feature_columns,
)
from clv_core.validation import validate_customers, validate_transactions
from tests.corpus.public import CDNOW_PATH

CUTOFF = "2024-03-31"


def test_customers_are_buyers_on_or_before_the_cutoff(six_customer_log: pd.DataFrame) -> None:
    features = build_features(six_customer_log, CUTOFF)
    # D buys only after the cutoff, E only returned something: neither is a customer yet.
    assert list(features.index) == ["A", "B", "C", "F"]
    assert features.index.name == "customer_id"


def test_btyd_columns_by_hand(six_customer_log: pd.DataFrame) -> None:
    features = build_features(six_customer_log, CUTOFF)
    expected = pd.DataFrame(
        {
            # A: purchase days 01-01 (150), 02-15 (80), 03-31 (20).
            "frequency": [2.0, 0.0, 1.0, 0.0],
            "recency": [90.0, 0.0, 183.0, 0.0],
            "T": [90.0, 30.0, 304.0, 0.0],
            "monetary_value": [50.0, 0.0, 40.0, 0.0],
        },
        index=pd.Index(["A", "B", "C", "F"], name="customer_id"),
    )
    pd.testing.assert_frame_equal(features[list(BTYD_COLUMNS)], expected)


def test_order_value_and_return_columns_by_hand(six_customer_log: pd.DataFrame) -> None:
    features = build_features(six_customer_log, CUTOFF)
    a, b, c, f = (features.loc[key] for key in "ABCF")
    assert (a.n_orders, a.gross_spend, a.net_spend, a.average_order_value) == (4, 250, 250, 62.5)
    assert (a.first_order_value, a.last_order_value, a.max_order_value) == (100, 20, 100)
    assert (a.active_days, a.active_months, a.days_since_last_purchase) == (3, 3, 0)
    assert (a.mean_days_between_purchases, a.std_days_between_purchases) == (45, 0)
    assert (b.n_returns, b.return_amount, b.net_spend, b.return_share) == (1, 50, 150, 0.25)
    assert np.isnan(b.mean_days_between_purchases)
    assert b.days_since_last_purchase == 30
    assert c.mean_days_between_purchases == 183 and np.isnan(c.std_days_between_purchases)
    assert c.days_since_last_purchase == 121
    assert f.orders_per_month == pytest.approx(1 * 30 / 1)
    assert a.orders_per_month == pytest.approx(4 * 30 / 91)


def test_window_and_trend_columns_by_hand(six_customer_log: pd.DataFrame) -> None:
    features = build_features(six_customer_log, CUTOFF)
    a, b, c, f = (features.loc[key] for key in "ABCF")
    # Windows count days before the cutoff: age 0 is the cutoff day, age < window is inside.
    assert (a.orders_last_30d, a.spend_last_30d) == (1, 20)
    assert (a.orders_last_90d, a.spend_last_90d) == (2, 100)  # 2024-01-01 is 90 days old
    assert (a.orders_last_180d, a.spend_last_180d) == (4, 250)
    assert (b.orders_last_30d, b.spend_last_30d) == (0, -50)  # the order is 30 days old
    assert (b.orders_last_90d, b.spend_last_90d) == (1, 150)
    assert (c.orders_last_90d, c.orders_last_180d, c.orders_last_365d) == (0, 1, 2)
    assert (c.spend_last_365d, f.spend_last_30d) == (70, 10)
    assert a.spend_trend == pytest.approx((100 - 150) / 250)
    assert a.order_trend == 0
    assert (b.spend_trend, b.order_trend) == (1, 1)
    assert (c.spend_trend, c.order_trend) == (-1, -1)


def test_labels_by_hand(six_customer_log: pd.DataFrame) -> None:
    features = build_features(six_customer_log, CUTOFF)
    labels = build_labels(six_customer_log, CUTOFF, 30, features.index)
    # A 60; B -150 + 100 clipped to 0; C nothing; F 25 + 5 (05-01 is outside the horizon).
    assert labels.to_dict() == {"A": 60.0, "B": 0.0, "C": 0.0, "F": 30.0}
    assert labels.name == LABEL_COLUMN


def test_labels_default_to_customers_at_cutoff(six_customer_log: pd.DataFrame) -> None:
    labels = build_labels(six_customer_log, CUTOFF, 30)
    assert list(labels.index) == ["A", "B", "C", "F"]


def test_features_ignore_everything_after_the_cutoff(six_customer_log: pd.DataFrame) -> None:
    """Leakage guard: changing the future must not change a single feature."""
    features = build_features(six_customer_log, CUTOFF)
    changed = six_customer_log.copy()
    future = changed["order_date"] > pd.Timestamp("2024-04-01")
    changed.loc[future, "amount"] *= 1000
    extra = pd.DataFrame(
        {"customer_id": ["A"], "order_date": [pd.Timestamp("2024-04-01")], "amount": [9.0]}
    )
    changed = pd.concat([changed, extra], ignore_index=True)
    pd.testing.assert_frame_equal(build_features(changed, CUTOFF), features)


def test_at_least_fifteen_numeric_features(six_customer_log: pd.DataFrame) -> None:
    features = build_features(six_customer_log, CUTOFF)
    assert len(numeric_feature_columns(features)) >= 15
    assert categorical_feature_columns(features) == []
    assert features.notna().all().sum() >= 15


def lifetimes_summary(transactions: pd.DataFrame, cutoff: str) -> pd.DataFrame:
    """``lifetimes``' BTYD summary of the orders on or before ``cutoff`` (daily), ids as str."""
    from lifetimes.utils import summary_data_from_transaction_data

    history = transactions[transactions["order_date"] <= cutoff]
    expected = summary_data_from_transaction_data(
        history,
        "customer_id",
        "order_date",
        monetary_value_col="amount",
        observation_period_end=cutoff,
        freq="D",
    )
    expected.index = expected.index.astype(str)
    return expected


def cdnow_transactions() -> pd.DataFrame:
    """The CDNOW log shipped inside the lifetimes wheel, validated."""
    raw = pd.read_csv(CDNOW_PATH, sep=r"\s+", dtype=str)
    return validate_transactions(raw).frame


def test_matches_lifetimes_summary_on_cdnow() -> None:
    transactions = cdnow_transactions()
    cutoff = "1997-09-30"
    features = build_features(transactions, cutoff)
    expected = lifetimes_summary(transactions, cutoff).reindex(features.index)
    assert len(features) == len(expected) == 23570
    for column in BTYD_COLUMNS:
        np.testing.assert_allclose(features[column], expected[column], atol=1e-9)


def test_attributes_are_joined_and_dates_become_days(six_customer_log: pd.DataFrame) -> None:
    raw = pd.DataFrame(
        {
            "customer_id": ["A", "B", "C", "X"],
            "signup_date": ["2023-12-01", "2024-03-01", "2024-06-01", "2020-01-01"],
            "channel": ["email", "social", "email", "organic"],
            "browsing_minutes": ["12.5", "3", "7", "1"],
            "T": ["1", "2", "3", "4"],  # collides with a computed feature name
        }
    )
    customers = validate_customers(raw, signup_column="signup_date")
    features = build_features(six_customer_log, CUTOFF, customers=customers)
    assert features.loc["A", "days_since_signup"] == 121
    assert features.loc["A", "days_from_signup_to_first_purchase"] == 31
    # C's signup date lies after the cutoff: unknown at the cutoff.
    assert np.isnan(features.loc["C", "days_since_signup"])
    assert features.loc["B", "channel"] == "social"
    assert features.loc["A", "browsing_minutes"] == 12.5
    assert features.loc["A", "attribute_T"] == 1 and features.loc["A", "T"] == 90
    assert np.isnan(features.loc["F", "browsing_minutes"])  # F has no attribute row
    assert categorical_feature_columns(features) == ["channel"]


def test_training_table_has_label(six_customer_log: pd.DataFrame) -> None:
    table = build_training_table(six_customer_log, CUTOFF, 30)
    assert table[LABEL_COLUMN].to_dict() == {"A": 60.0, "B": 0.0, "C": 0.0, "F": 30.0}


def test_cutoff_before_any_purchase_is_a_clear_error(six_customer_log: pd.DataFrame) -> None:
    with pytest.raises(DataError, match="No customer has a purchase on or before the cutoff"):
        build_features(six_customer_log, "2020-01-01")


def test_invalid_options_are_config_errors(six_customer_log: pd.DataFrame) -> None:
    with pytest.raises(ConfigError, match="window_days"):
        FeatureOptions(window_days=(30, -1))
    with pytest.raises(ConfigError, match="repeat"):
        FeatureOptions(window_days=(30, 30))
    with pytest.raises(ConfigError, match="horizon_days"):
        build_labels(six_customer_log, CUTOFF, 0)
    with pytest.raises(ConfigError, match="cutoff"):
        build_features(six_customer_log, "not a date")


def test_custom_windows_name_columns(six_customer_log: pd.DataFrame) -> None:
    features = build_features(six_customer_log, CUTOFF, options=FeatureOptions(window_days=(7,)))
    assert "orders_last_7d" in features and "orders_last_30d" not in features


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["a", "b", "c", "d"]),
            st.integers(min_value=0, max_value=200),
            st.floats(min_value=-50, max_value=500, allow_nan=False).map(lambda v: round(v, 2)),
        ),
        min_size=1,
        max_size=40,
    )
)
def test_invariants_on_random_logs(rows: list[tuple[str, int, float]]) -> None:
    frame = pd.DataFrame(rows, columns=["customer_id", "day", "amount"])
    frame["order_date"] = pd.Timestamp("2024-01-01") + pd.to_timedelta(frame.pop("day"), "D")
    cutoff = pd.Timestamp("2024-04-01")
    history = frame[frame["order_date"] <= cutoff]
    if not (history["amount"] >= 0).any():
        return
    features = build_features(frame, cutoff)
    # lifetimes' input invariants: recency <= T, recency 0 without repeats, frequency >= 0.
    assert (features["recency"] <= features["T"]).all()
    assert (features.loc[features["frequency"] == 0, "recency"] == 0).all()
    assert (features["frequency"] >= 0).all()
    assert (features["n_orders"] >= features["active_days"]).all()
    assert features["return_share"].between(0, np.inf).all()
    assert features["spend_trend"].between(-1, 1).all()
    expected_net = history.groupby("customer_id")["amount"].sum().reindex(features.index)
    np.testing.assert_allclose(features["net_spend"], expected_net, atol=1e-6)
    labels = build_labels(frame, cutoff, 60, features.index)
    assert (labels >= 0).all()


def test_a_cutoff_long_after_the_last_order_gives_zero_windows(
    six_customer_log: pd.DataFrame,
) -> None:
    features = build_features(six_customer_log, pd.Timestamp("2030-01-01"))
    assert (features["spend_last_30d"] == 0).all()
    assert (features["spend_trend"] == 0).all()


def test_labels_are_money_even_when_nobody_bought_in_the_horizon(
    six_customer_log: pd.DataFrame,
) -> None:
    labels = build_labels(six_customer_log, "2025-01-01", 30, pd.Index(["A", "B"]))
    assert labels.dtype == np.float64 and (labels == 0).all()
