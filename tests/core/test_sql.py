"""The features and labels as SQL on DuckDB equal the pandas reference, on every kind of log."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from clv_core.errors import ConfigError, DataError
from clv_core.features import BTYD_COLUMNS, FeatureOptions, build_features, build_labels
from clv_core.loading import load_table
from clv_core.sql import feature_columns, feature_sql
from clv_core.sql.duckdb_engine import duckdb_features, duckdb_labels
from clv_core.synthetic import SyntheticConfig, generate_world
from clv_core.validation import CustomerAttributes, validate_customers, validate_transactions
from tests.conftest import NEEDS_JAVA
from tests.core.test_features import cdnow_transactions, lifetimes_summary

SAMPLE = Path(__file__).resolve().parents[2] / "sample_data"


def assert_same(
    transactions: pd.DataFrame,
    cutoff: str,
    *,
    customers: CustomerAttributes | None = None,
    options: FeatureOptions | None = None,
    horizon_days: int = 365,
) -> pd.DataFrame:
    """DuckDB's features and labels equal the reference's (1e-9 relative, NaN where NaN)."""
    expected = build_features(transactions, cutoff, customers=customers, options=options)
    actual = duckdb_features(transactions, cutoff, customers=customers, options=options)
    assert actual.index.equals(expected.index)
    assert list(actual.columns) == list(expected.columns)
    for column in expected.columns:
        if pd.api.types.is_numeric_dtype(expected[column]):
            np.testing.assert_allclose(
                actual[column].to_numpy(np.float64),
                expected[column].to_numpy(np.float64),
                rtol=1e-9,
                atol=1e-9,
                err_msg=column,
            )
        else:
            pd.testing.assert_series_equal(actual[column], expected[column])
    pd.testing.assert_series_equal(
        duckdb_labels(transactions, cutoff, horizon_days, expected.index),
        build_labels(transactions, cutoff, horizon_days, expected.index),
        rtol=1e-9,
        atol=1e-9,
    )
    return actual


def test_the_hand_computed_log(six_customer_log: pd.DataFrame) -> None:
    features = assert_same(six_customer_log, "2024-03-31", horizon_days=30)
    assert list(features.index) == ["A", "B", "C", "F"]
    assert features.loc["A", "first_order_value"] == 100.0  # the first row of the first day
    assert features.loc["B", "n_returns"] == 1.0


def test_the_bundled_sample_with_attributes() -> None:
    transactions = validate_transactions(load_table(SAMPLE / "transactions.csv").frame).frame
    customers = validate_customers(load_table(SAMPLE / "customers.csv").frame)
    features = assert_same(transactions, "2024-12-31", customers=customers)
    assert {"channel", "days_since_signup"} <= set(features.columns)


def test_cdnow_and_lifetimes_summary() -> None:
    transactions = cdnow_transactions()
    cutoff = "1997-09-30"
    features = assert_same(transactions, cutoff, horizon_days=273)
    expected = lifetimes_summary(transactions, cutoff).reindex(features.index)
    for column in BTYD_COLUMNS:
        np.testing.assert_allclose(features[column], expected[column], atol=1e-9)


@pytest.mark.parametrize(
    ("seed", "options"),
    [
        (1, FeatureOptions()),
        (2, FeatureOptions(window_days=(7, 14), trend_window_days=30)),
        (3, FeatureOptions(window_days=(400,), trend_window_days=1)),
    ],
)
def test_generated_shops_with_returns_and_other_windows(seed: int, options: FeatureOptions) -> None:
    world = generate_world(SyntheticConfig(n_customers=500, seed=seed))
    transactions = world.transactions[["customer_id", "order_date", "amount"]]
    assert (transactions["amount"] < 0).any()
    for cutoff in ("2023-03-31", "2024-12-31", "2025-12-31"):
        assert_same(transactions, cutoff, options=options, horizon_days=90)


def test_a_small_repeat_spend_after_a_huge_first_day_is_kept_exactly() -> None:
    """monetary_value sums the later purchase days themselves (as lifetimes does); total
    minus first day would lose 1.10 against a first day of 8.8 billion."""
    log = pd.DataFrame(
        {
            "customer_id": ["c", "c", "c", "d", "d"],
            "order_date": pd.to_datetime(
                ["2024-01-01", "2024-01-02", "2024-01-02", "2024-01-03", "2024-01-05"]
            ),
            "amount": [8813078882.62, 0.05, 1.05, 3.0, 4.0],
        }
    )
    features = assert_same(log, "2024-01-31", horizon_days=10)
    assert features.loc["c", "monetary_value"] == pytest.approx(1.10, rel=1e-12)
    expected = lifetimes_summary(log, "2024-01-31").reindex(features.index)
    np.testing.assert_allclose(features["monetary_value"], expected["monetary_value"], rtol=1e-12)


def test_ids_ending_in_nul_characters_are_indexed_as_the_reference_indexes_them() -> None:
    log = pd.DataFrame(
        {
            "customer_id": ["K1\x00", "K2", "K1\x00"],
            "order_date": pd.to_datetime(["2024-01-01", "2024-01-02", "2024-01-04"]),
            "amount": [1.0, 2.0, 3.0],
        }
    )
    assert_same(log, "2024-01-31", horizon_days=10)


def test_ids_sort_as_the_reference_sorts_them() -> None:
    log = pd.DataFrame(
        {
            "customer_id": ["b", "B", "用户2", "用户10", "a", "10", "9"],
            "order_date": pd.to_datetime([f"2024-01-0{day}" for day in range(1, 8)]),
            "amount": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0],
        }
    )
    assert_same(log, "2024-01-31", horizon_days=10)


def test_no_purchase_before_the_cutoff_and_bad_memory_limits(
    six_customer_log: pd.DataFrame,
) -> None:
    with pytest.raises(DataError, match="No customer has a purchase on or before the cutoff"):
        duckdb_features(six_customer_log, "2020-01-01")
    with pytest.raises(ConfigError, match="is not a memory size"):
        duckdb_features(six_customer_log, "2024-03-31", memory_limit="lots'; DROP")
    with pytest.raises(ConfigError, match="is not a memory size DuckDB knows"):
        duckdb_features(six_customer_log, "2024-03-31", memory_limit="12 parsecs")
    limited = duckdb_features(six_customer_log, "2024-03-31", memory_limit="64MB")
    assert len(limited) == 4


def test_one_canonical_query_names_every_column() -> None:
    options = FeatureOptions(window_days=(30, 60), trend_window_days=45)
    sql = feature_sql(int(np.datetime64(dt.date(2024, 1, 1), "D").astype(int)), options)
    for column in feature_columns(options):
        assert f"AS {column}" in sql or f'AS "{column}"' in sql, column


# -- the same text on Apache Spark (local mode) -----------------------------------------------


@pytest.fixture(scope="module")
def spark() -> Iterator[object]:
    """One local Spark session for the module (two cores, as CI has)."""
    from clv_core.sql.spark_engine import spark_session

    with spark_session("local[2]") as session:
        yield session


@NEEDS_JAVA
@pytest.mark.slow
def test_spark_runs_the_same_query_with_the_same_results(
    spark: object, six_customer_log: pd.DataFrame
) -> None:
    from clv_core.sql.spark_engine import spark_features, spark_labels

    transactions = validate_transactions(load_table(SAMPLE / "transactions.csv").frame).frame
    customers = validate_customers(load_table(SAMPLE / "customers.csv").frame)
    for log, cutoff, attributes in (
        (six_customer_log, "2024-03-31", None),
        (transactions, "2024-12-31", customers),
    ):
        expected = duckdb_features(log, cutoff, customers=attributes)
        actual = spark_features(log, cutoff, customers=attributes)
        pd.testing.assert_frame_equal(actual, expected, rtol=1e-9)
        pd.testing.assert_series_equal(
            spark_labels(log, cutoff, 30, expected.index),
            duckdb_labels(log, cutoff, 30, expected.index),
            rtol=1e-9,
        )


def test_the_spark_text_is_a_translation_of_the_one_query() -> None:
    from clv_core.sql.spark_engine import to_spark_sql

    translated = to_spark_sql(feature_sql(19_000, FeatureOptions()))
    assert "CAST('1970-01-01' AS DATE)" in translated
    assert "MIN_BY(amount" in translated and "MAX_BY(amount" in translated


def test_the_spark_translation_changes_functions_not_text() -> None:
    from clv_core.sql.spark_engine import to_spark_sql

    translated = to_spark_sql(
        "SELECT COUNT(DISTINCT hash(x)) FILTER (WHERE x IS NOT NULL), quantile_cont(a, 0.99) "
        "FROM t WHERE c IN ('hash(1)', 'quantile_cont(a, 0.5)')"
    )
    assert "COUNT(DISTINCT XXHASH64(x))" in translated
    assert "PERCENTILE(a, 0.99)" in translated
    assert "'hash(1)', 'quantile_cont(a, 0.5)'" in translated


def test_spark_without_java_is_one_message(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    environment = os.environ | {"JAVA_HOME": str(tmp_path / "no-java")}
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "clv_core",
            "features",
            "--transactions",
            str(SAMPLE / "transactions.csv"),
            "--cutoff",
            "2024-12-31",
            "--engine",
            "spark",
            "--out",
            str(tmp_path / "f.csv"),
        ],
        capture_output=True,
        text=True,
        env=environment,
        timeout=300,
        cwd=SAMPLE.parent,
    )
    assert completed.returncode == 2, completed.stderr
    assert "Traceback" not in completed.stderr
    assert "error: Spark could not start: it needs Java 17 or later" in completed.stderr


def test_a_window_whose_orders_were_all_returned_has_no_spend_trend() -> None:
    # 0.1 + 0.2 - 0.3 is 5.6e-17 in one summation order and 0 or below in another.
    log = pd.DataFrame(
        {
            "customer_id": ["A", "A", "A", "A"],
            "order_date": pd.to_datetime(["2023-01-05", "2024-12-01", "2024-12-02", "2024-12-03"]),
            "amount": [5.0, 0.1, 0.2, -0.3],
        }
    )
    features = assert_same(log, "2024-12-31", horizon_days=30)
    assert features.loc["A", "spend_trend"] == 0.0
    assert features.loc["A", "order_trend"] == 1.0
