"""Tests of the synthetic shop: determinism, invariants, realism and its ground truth."""

from __future__ import annotations

import dataclasses
import datetime
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from clv_core.errors import ConfigError
from clv_core.synthetic import (
    SyntheticConfig,
    SyntheticWorld,
    expected_future_spend,
    generate_world,
    make_seed_table,
    write_sample_data,
)

SAMPLE_DATA_FOLDER = Path(__file__).resolve().parents[2] / "sample_data"
SEED_TABLE_COLUMNS = ["用户ID", "注册时间", "购买次数", "平均购买金额", "浏览时长", "终身价值"]
ONE_DAY = pd.Timedelta(days=1)


@pytest.fixture(scope="module")
def world() -> SyntheticWorld:
    return generate_world(SyntheticConfig(n_customers=3000, seed=7))


@pytest.fixture(scope="module")
def large_retail_world() -> SyntheticWorld:
    # Without wholesale buyers the sums converge fast enough for tight statistical checks.
    return generate_world(SyntheticConfig(n_customers=20_000, seed=11, wholesale_share=0.0))


def purchases_of(world: SyntheticWorld) -> pd.DataFrame:
    transactions = world.transactions
    return transactions.loc[transactions["amount"] > 0]


def realised_spend(
    world: SyntheticWorld, as_of: datetime.date, horizon_days: int, customers: pd.Index
) -> pd.Series:
    """Net spend in (as_of, as_of + horizon] per customer, computed from the transactions."""
    transactions = world.transactions
    window_start = pd.Timestamp(as_of) + ONE_DAY
    window_end = window_start + pd.Timedelta(days=horizon_days)
    in_window = transactions.loc[
        (transactions["order_date"] >= window_start) & (transactions["order_date"] < window_end)
    ]
    spend = in_window.groupby("customer_id")["amount"].sum()
    return spend.reindex(customers, fill_value=0.0)


# --- determinism ------------------------------------------------------------------------------


def test_same_config_gives_identical_frames() -> None:
    config = SyntheticConfig(n_customers=500, seed=1)
    first, second = generate_world(config), generate_world(config)
    pd.testing.assert_frame_equal(first.transactions, second.transactions)
    pd.testing.assert_frame_equal(first.customers, second.customers)
    pd.testing.assert_frame_equal(first.truth, second.truth)
    assert first.config == second.config


def test_different_seed_gives_different_frames() -> None:
    first = generate_world(SyntheticConfig(n_customers=500, seed=1))
    second = generate_world(SyntheticConfig(n_customers=500, seed=2))
    assert not first.transactions.equals(second.transactions)
    assert not first.customers.equals(second.customers)
    assert not first.truth["purchase_rate_per_year"].equals(second.truth["purchase_rate_per_year"])


# --- invariants -------------------------------------------------------------------------------


def test_frames_have_the_documented_columns_and_types(world: SyntheticWorld) -> None:
    transactions = world.transactions
    assert list(transactions.columns) == ["order_id", "customer_id", "order_date", "amount"]
    assert transactions["order_date"].dtype == "datetime64[ns]"
    assert transactions["amount"].dtype == np.float64
    assert transactions["order_id"].str.fullmatch(r"[OR]\d{7}").all()
    assert transactions["customer_id"].str.fullmatch(r"C\d{6}").all()
    assert list(world.customers.columns) == [
        "customer_id",
        "signup_date",
        "channel",
        "region",
        "device",
        "age_group",
        "membership",
        "browsing_minutes",
    ]
    assert set(world.customers["membership"]) == {"member", "none"}
    assert set(world.customers["region"]) == {"华东", "华北", "华南", "华中", "西部"}
    assert set(world.customers["channel"]) == {
        "organic",
        "paid_search",
        "social",
        "referral",
        "email",
    }
    assert set(world.truth.columns) >= {
        "customer_id",
        "purchase_rate_per_year",
        "dropout_rate_per_year",
        "death_date",
        "alive_at_end",
        "mean_order_value",
        "return_probability",
        "is_wholesale",
    }


def test_transactions_are_sorted_unique_and_rounded(world: SyntheticWorld) -> None:
    transactions = world.transactions
    assert transactions["order_date"].is_monotonic_increasing
    assert transactions["order_id"].is_unique
    cents = transactions["amount"].to_numpy() * 100
    np.testing.assert_allclose(cents, np.round(cents), atol=1e-6)
    # Timestamps are whole seconds, so the CSV format loses nothing.
    assert (transactions["order_date"].dt.nanosecond == 0).all()
    assert (transactions["order_date"].dt.microsecond == 0).all()


def test_all_dates_lie_inside_the_window(world: SyntheticWorld) -> None:
    start = pd.Timestamp(world.config.start)
    after_end = pd.Timestamp(world.config.end) + ONE_DAY
    order_date = world.transactions["order_date"]
    assert order_date.min() >= start
    assert order_date.max() < after_end
    signup_date = world.customers["signup_date"]
    assert signup_date.min() >= start
    assert signup_date.max() < after_end
    assert (signup_date == signup_date.dt.normalize()).all()


def test_signup_is_on_or_before_the_first_order(world: SyntheticWorld) -> None:
    first_order = purchases_of(world).groupby("customer_id")["order_date"].min()
    signup = world.customers.set_index("customer_id")["signup_date"].loc[first_order.index]
    assert (signup <= first_order).all()
    # Some customers browse before they buy, so the two dates must not always coincide.
    assert (signup < first_order.dt.normalize()).mean() > 0.1


def test_orders_are_positive_and_refunds_negative_after_their_order(world: SyntheticWorld) -> None:
    transactions = world.transactions
    is_refund = transactions["order_id"].str.startswith("R")
    orders = transactions.loc[~is_refund].set_index("order_id")
    refunds = transactions.loc[is_refund]
    assert (orders["amount"] > 0).all()
    assert (refunds["amount"] < 0).all()
    assert len(refunds) > 0
    refunded_order = orders.loc[pd.Index("O" + refunds["order_id"].str.slice(1))]
    assert (refunded_order["customer_id"].to_numpy() == refunds["customer_id"].to_numpy()).all()
    delay = refunds["order_date"].to_numpy() - refunded_order["order_date"].to_numpy()
    assert (delay >= np.timedelta64(1, "D")).all()
    assert (delay <= np.timedelta64(30, "D")).all()
    refund_share = -refunds["amount"].to_numpy() / refunded_order["amount"].to_numpy()
    assert (refund_share > 0.29).all()
    assert (refund_share <= 1.0 + 1e-9).all()


def test_every_customer_appears_in_customers_and_truth(world: SyntheticWorld) -> None:
    customer_ids = world.customers["customer_id"]
    assert customer_ids.is_unique
    assert len(customer_ids) == world.config.n_customers
    assert customer_ids.tolist() == world.truth["customer_id"].tolist()
    assert set(world.transactions["customer_id"]) <= set(customer_ids)


def test_truth_agrees_with_the_transactions(world: SyntheticWorld) -> None:
    truth = world.truth.set_index("customer_id")
    purchases = purchases_of(world)
    first_order = purchases.groupby("customer_id")["order_date"].min().dt.normalize()
    pd.testing.assert_series_equal(
        first_order,
        truth["first_order_date"].dropna().loc[first_order.index],
        check_names=False,
    )
    last_order = purchases.groupby("customer_id")["order_date"].max().dt.normalize()
    death_date = truth["death_date"].loc[last_order.index]
    churned = death_date.notna()
    assert (last_order[churned] <= death_date[churned]).all()
    ordered = truth["first_order_date"].notna()
    assert (truth["alive_at_end"] == (ordered & truth["death_date"].isna())).all()
    assert truth["alive_at_end"].any()
    assert (~truth["alive_at_end"] & ordered).any()


# --- realism ----------------------------------------------------------------------------------


def test_default_world_has_about_ten_rows_per_customer(world: SyntheticWorld) -> None:
    rows_per_customer = len(world.transactions) / world.config.n_customers
    assert 8.0 <= rows_per_customer <= 13.0
    refund_share = world.transactions["order_id"].str.startswith("R").mean()
    assert 0.03 <= refund_share <= 0.15


def test_spend_and_frequency_are_heavy_tailed(world: SyntheticWorld) -> None:
    purchases = purchases_of(world)
    orders_per_customer = purchases.groupby("customer_id").size()
    assert (orders_per_customer == 1).mean() > 0.2
    assert orders_per_customer.max() > 20 * orders_per_customer.median()
    spend = purchases.groupby("customer_id")["amount"].sum().sort_values(ascending=False)
    top_percent = max(1, len(spend) // 100)
    assert spend.iloc[:top_percent].sum() / spend.sum() > 0.2

    wholesale_ids = world.truth.loc[world.truth["is_wholesale"], "customer_id"]
    assert len(wholesale_ids) > 0
    is_wholesale_order = purchases["customer_id"].isin(wholesale_ids)
    retail_median = purchases.loc[~is_wholesale_order, "amount"].median()
    wholesale_median = purchases.loc[is_wholesale_order, "amount"].median()
    assert wholesale_median > 15 * retail_median


def test_seasonality_is_visible_in_daily_orders(world: SyntheticWorld) -> None:
    order_day = purchases_of(world)["order_date"].dt.normalize()
    daily = order_day.value_counts()
    # Compare the 2024 season with the following February-March, when the customer base is
    # larger, so growth cannot explain a higher season.
    season = daily[(daily.index >= "2024-11-01") & (daily.index <= "2024-12-31")].mean()
    quiet = daily[(daily.index >= "2025-02-01") & (daily.index <= "2025-03-31")].mean()
    assert season > 1.2 * quiet
    singles_day = daily[pd.Timestamp("2024-11-11")]
    other_november_days = daily[
        (daily.index >= "2024-11-01") & (daily.index <= "2024-11-30") & (daily.index.day != 11)
    ]
    assert singles_day > 1.8 * other_november_days.median()
    weekday = order_day.dt.day_of_week
    weekend_rate = (weekday >= 5).sum() / 2
    working_day_rate = (weekday <= 3).sum() / 4
    assert weekend_rate > 1.05 * working_day_rate


def test_seasonality_can_be_switched_off() -> None:
    flat = generate_world(SyntheticConfig(n_customers=3000, seed=7, seasonality_strength=0.0))
    daily = purchases_of(flat)["order_date"].dt.normalize().value_counts()
    november = daily[(daily.index >= "2024-11-01") & (daily.index <= "2024-11-30")]
    assert november[pd.Timestamp("2024-11-11")] < 1.5 * november.median()


def test_attributes_drive_the_latent_parameters(world: SyntheticWorld) -> None:
    table = world.customers.merge(world.truth, on="customer_id")
    retail = table.loc[~table["is_wholesale"]]
    dropout = retail.groupby("membership")["dropout_rate_per_year"].mean()
    assert dropout["member"] < 0.5 * dropout["none"]
    channel_dropout = retail.groupby("channel")["dropout_rate_per_year"].mean()
    assert channel_dropout["social"] > 1.5 * channel_dropout["referral"]
    order_value = retail.groupby("device")["mean_order_value"].mean()
    assert order_value["desktop"] > 1.3 * order_value["mobile_web"]
    region_value = retail.groupby("region")["mean_order_value"].mean()
    assert region_value["华东"] > 1.2 * region_value["西部"]
    # Browsing time is a noisy proxy of the purchase rate: clearly related, far from exact.
    correlation = retail["browsing_minutes"].corr(retail["purchase_rate_per_year"], "spearman")
    assert 0.5 < correlation < 0.95


def test_members_have_higher_expected_future_spend(world: SyntheticWorld) -> None:
    expected = expected_future_spend(world, datetime.date(2024, 12, 31), 365)
    membership = world.customers.set_index("customer_id")["membership"].loc[expected.index]
    mean_by_membership = expected.groupby(membership).mean()
    assert mean_by_membership["member"] > 1.3 * mean_by_membership["none"]


# --- ground truth -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("as_of", "horizon_days"),
    [
        # The season: the forecast must follow the Singles' Day and December peaks.
        (datetime.date(2025, 10, 15), 60),
        # Short and at the end: pending refunds and cut-off refunds weigh most here.
        (datetime.date(2025, 12, 10), 14),
        (datetime.date(2024, 12, 31), 365),
    ],
)
def test_expected_future_spend_matches_realised_spend(
    large_retail_world: SyntheticWorld, as_of: datetime.date, horizon_days: int
) -> None:
    """The realised future of the simulated world is one draw from what the truth expects.

    Each customer's (realised - expected) has mean zero, so their sum divided by its estimated
    standard deviation is about standard normal; a wrong seasonality, dropout or refund rule
    shifts the total by several percent, which is many standard deviations here.
    """
    world = large_retail_world
    expected = expected_future_spend(world, as_of, horizon_days)
    realised = realised_spend(world, as_of, horizon_days, expected.index)
    membership = world.customers.set_index("customer_id")["membership"].loc[expected.index]
    for group in (membership == "member", membership == "none", membership.notna()):
        difference = realised[group] - expected[group]
        z_score = difference.sum() / math.sqrt((difference**2).sum())
        assert abs(z_score) < 4.0
        assert realised[group].sum() == pytest.approx(expected[group].sum(), rel=0.06)


def test_expected_future_spend_counts_pending_refunds() -> None:
    """In a shop where customers churn within days, refunds of orders placed before the cutoff
    are a large part of the window's net spend, so leaving them out (or misjudging their size or
    timing) moves the total by many standard deviations."""
    world = generate_world(
        SyntheticConfig(
            n_customers=20_000,
            seed=2,
            wholesale_share=0.0,
            mean_return_probability=0.4,
            base_dropout_rate_per_year=50.0,
        )
    )
    as_of = datetime.date(2025, 6, 30)
    expected = expected_future_spend(world, as_of, 30)
    realised = realised_spend(world, as_of, 30, expected.index)
    assert (realised < 0).sum() > 100
    difference = realised - expected
    assert abs(difference.sum() / math.sqrt((difference**2).sum())) < 4.0


def test_expected_future_spend_covers_acquired_customers_only(world: SyntheticWorld) -> None:
    as_of = datetime.date(2024, 6, 30)
    expected = expected_future_spend(world, as_of, 90)
    truth = world.truth.set_index("customer_id")
    acquired = truth.index[truth["first_order_date"] <= pd.Timestamp(as_of)]
    assert expected.index.tolist() == acquired.tolist()
    assert expected.name == "expected_future_spend"
    assert np.isfinite(expected.to_numpy()).all()


def test_churned_customers_expect_nothing_but_pending_refunds(world: SyntheticWorld) -> None:
    as_of = datetime.date(2024, 6, 30)
    expected = expected_future_spend(world, as_of, 90)
    truth = world.truth.set_index("customer_id").loc[expected.index]
    churned = truth["death_date"] <= pd.Timestamp(as_of)
    assert churned.any()
    assert (expected[churned] <= 0.0).all()
    # Without orders in the last 31 days no refund is pending: a churned customer then expects
    # exactly nothing and an active one strictly more than nothing.
    recent_start = pd.Timestamp(as_of) - pd.Timedelta(days=31)
    transactions = world.transactions
    recent_buyers = transactions.loc[transactions["order_date"] >= recent_start, "customer_id"]
    quiet = ~expected.index.isin(recent_buyers.unique())
    assert (expected[churned & quiet] == 0.0).all()
    assert (expected[~churned & quiet] > 0.0).all()


def test_expected_future_spend_rejects_bad_arguments(world: SyntheticWorld) -> None:
    with pytest.raises(ConfigError, match="as_of must be a date between 2023-01-01 and 2025-12-31"):
        expected_future_spend(world, datetime.date(2026, 1, 1), 30)
    with pytest.raises(ConfigError, match="horizon_days must be an integer between 1 and 3650"):
        expected_future_spend(world, datetime.date(2025, 1, 1), 0)


# --- seed table -------------------------------------------------------------------------------


def test_seed_table_has_the_seed_article_format(world: SyntheticWorld) -> None:
    snapshot = datetime.date(2024, 12, 31)
    table = make_seed_table(world, snapshot, 365)
    assert list(table.columns) == SEED_TABLE_COLUMNS
    purchases = purchases_of(world)
    history = purchases.loc[purchases["order_date"] < pd.Timestamp("2025-01-01")]
    assert table["用户ID"].tolist() == sorted(history["customer_id"].unique())
    assert table["购买次数"].dtype == np.int64
    assert (table["购买次数"] >= 1).all()
    assert (table["终身价值"] >= 0.0).all()
    assert (table["终身价值"] == 0.0).mean() > 0.1

    customers = world.customers.set_index("customer_id")
    transactions = world.transactions
    # Recompute a few customers' rows by hand from the raw log.
    for row in table.sample(n=20, random_state=3).itertuples(index=False):
        customer_id = row[0]
        own = transactions.loc[transactions["customer_id"] == customer_id]
        own_history = own.loc[(own["amount"] > 0) & (own["order_date"] < "2025-01-01")]
        own_future = own.loc[
            (own["order_date"] >= "2025-01-01") & (own["order_date"] < "2026-01-01")
        ]
        assert row[1] == customers.at[customer_id, "signup_date"]
        assert row[2] == len(own_history)
        assert row[3] == pytest.approx(own_history["amount"].mean(), abs=0.006)
        assert row[4] == customers.at[customer_id, "browsing_minutes"]
        assert row[5] == pytest.approx(max(own_future["amount"].sum(), 0.0), abs=0.006)


def test_seed_table_rejects_a_window_past_the_data(world: SyntheticWorld) -> None:
    with pytest.raises(ConfigError, match="snapshot must be between 2023-01-01 and 2024-12-31"):
        make_seed_table(world, datetime.date(2025, 6, 30), 365)


# --- sample files -----------------------------------------------------------------------------


def test_write_sample_data_round_trips(tmp_path: Path) -> None:
    config = SyntheticConfig(n_customers=400, seed=5)
    paths = write_sample_data(tmp_path / "sample", config)
    assert [path.name for path in paths] == [
        "transactions.csv",
        "customers.csv",
        "customers_seed_zh.csv",
        "new_customers_seed_zh.csv",
    ]
    world = generate_world(config)

    transactions = pd.read_csv(paths[0], dtype={"order_id": "str", "customer_id": "str"})
    assert list(transactions.columns) == ["order_id", "customer_id", "order_date", "amount"]
    assert transactions["order_date"].str.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d").all()
    pd.testing.assert_series_equal(
        pd.to_datetime(transactions["order_date"]).astype("datetime64[ns]"),
        world.transactions["order_date"],
    )
    assert transactions["order_id"].tolist() == world.transactions["order_id"].tolist()
    np.testing.assert_allclose(transactions["amount"], world.transactions["amount"], atol=1e-9)

    customers = pd.read_csv(paths[1], encoding="utf-8")
    assert customers["signup_date"].str.fullmatch(r"\d{4}-\d\d-\d\d").all()
    assert customers["region"].tolist() == world.customers["region"].tolist()
    np.testing.assert_allclose(
        customers["browsing_minutes"], world.customers["browsing_minutes"], atol=1e-9
    )

    seed_bytes = paths[2].read_bytes()
    with pytest.raises(UnicodeDecodeError):
        seed_bytes.decode("utf-8")
    seed_text = seed_bytes.decode("gb18030")
    assert seed_text.splitlines()[0] == ",".join(SEED_TABLE_COLUMNS)
    seed_table = pd.read_csv(paths[2], encoding="gb18030")
    expected_table = make_seed_table(world, datetime.date(2024, 12, 31), 365)
    assert seed_table["用户ID"].tolist() == expected_table["用户ID"].tolist()
    np.testing.assert_allclose(seed_table["终身价值"], expected_table["终身价值"], atol=1e-9)

    new_customers = pd.read_csv(paths[3], encoding="gb18030")
    assert list(new_customers.columns) == list(SEED_TABLE_COLUMNS[:-1])
    assert not set(new_customers["用户ID"]) & set(seed_table["用户ID"])
    later = make_seed_table(world, datetime.date(2025, 6, 30), 1)
    assert set(new_customers["用户ID"]) == set(later["用户ID"]) - set(seed_table["用户ID"])
    assert len(new_customers) > 0


def test_bundled_sample_files_are_reproducible(tmp_path: Path) -> None:
    """The committed files are exactly what the documented command writes."""
    for path in write_sample_data(tmp_path):
        bundled = SAMPLE_DATA_FOLDER / path.name
        assert bundled.read_bytes() == path.read_bytes(), (
            f"{bundled} is stale; regenerate it with write_sample_data(Path('sample_data'))."
        )


# --- configuration ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"n_customers": 0}, r"n_customers must be between 1 and 20,000,000; got 0"),
        ({"n_customers": 2.5}, r"n_customers must be an integer"),
        ({"seed": -1}, r"seed must be an integer of 0 or more"),
        ({"wholesale_share": 0.5}, r"wholesale_share must be a number between 0 and 0\.2"),
        ({"member_share": float("nan")}, r"member_share must be a number between 0 and 1"),
        (
            {"base_purchase_rate_per_year": 0.0},
            r"base_purchase_rate_per_year must be a number between 0\.01 and 100",
        ),
        ({"seasonality_strength": 5}, r"seasonality_strength must be a number between 0 and 3"),
        (
            {"start": datetime.date(2025, 1, 1), "end": datetime.date(2025, 1, 10)},
            r"end must be at least 30 days after start",
        ),
        ({"end": "2025-12-31"}, r"end must be a datetime\.date"),
        ({"start": datetime.date(1900, 1, 1)}, r"start must lie in the years 1970 to 2200"),
    ],
)
def test_invalid_config_raises_config_error(changes: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        SyntheticConfig(**changes)  # type: ignore[arg-type]


def test_config_problems_are_reported_together() -> None:
    with pytest.raises(ConfigError) as raised:
        SyntheticConfig(n_customers=-5, mean_return_probability=0.9)
    assert len(raised.value.problems) == 2
    assert "mean_return_probability must be a number between 0 and 0.5" in str(raised.value)


def test_config_is_a_hashable_frozen_value() -> None:
    config = SyntheticConfig(n_customers=10)
    assert hash(config) == hash(SyntheticConfig(n_customers=10))
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.n_customers = 20  # type: ignore[misc]
