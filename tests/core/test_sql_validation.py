"""Validation as SQL on DuckDB: the same row accounting, money check and features as pandas.

Every log is validated twice by :func:`clv_core.usecases.features.log_features`, once with the
DuckDB engine (SQL validation, SQL features) and once with the pandas reference, and the two
results must agree: counts by reason, example rows, warnings, summary, money figures, features
and labels.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from clv_core.errors import DataError
from clv_core.loading import LoadedTable, load_table
from clv_core.sql.spark_engine import spark_session
from clv_core.synthetic import SyntheticConfig, generate_world
from clv_core.usecases.features import (
    FeatureRequest,
    FeatureResult,
    ParquetLog,
    SparkLog,
    log_features,
    write_log_features,
)
from clv_core.validation import ValidationOptions
from tests.conftest import NEEDS_JAVA

OPTIONS = ValidationOptions(latest_valid_date=dt.date(2024, 12, 31))
CUTOFF = pd.Timestamp("2024-06-30")


def run_both(
    table: object, *, options: ValidationOptions = OPTIONS, horizon: int | None = 90
) -> tuple[FeatureResult, FeatureResult]:
    """The DuckDB run (asserted to validate in SQL) and the pandas reference run."""
    request = FeatureRequest(cutoff=CUTOFF, horizon_days=horizon, options=options)
    duck = log_features(table, request)  # type: ignore[arg-type]
    assert duck.validated_by == "duckdb", duck.why_pandas
    reference_table = table if not isinstance(table, ParquetLog) else load_table(table.path)
    reference = log_features(
        reference_table,  # type: ignore[arg-type]
        FeatureRequest(cutoff=CUTOFF, horizon_days=horizon, options=options, engine="pandas"),
    )
    return duck, reference


def assert_same(duck: FeatureResult, reference: FeatureResult) -> None:
    expected, actual = reference.validation(), duck.validation()
    assert actual["transactions"]["dropped"] == expected["transactions"]["dropped"]
    assert list(actual["transactions"]["dropped"]) == list(expected["transactions"]["dropped"])
    assert actual == expected
    assert duck.report_lines() == reference.report_lines()
    assert duck.warnings == reference.warnings
    assert actual_features_equal(duck.features, reference.features)


def actual_features_equal(actual: pd.DataFrame, expected: pd.DataFrame) -> bool:
    assert actual.index.equals(expected.index)
    assert list(actual.columns) == list(expected.columns)
    np.testing.assert_allclose(
        actual.to_numpy(np.float64), expected.to_numpy(np.float64), rtol=1e-9, atol=1e-9
    )
    return True


def messy_lines(with_order_id: bool, seed: int = 0, *, order_lines: bool = False) -> pd.DataFrame:
    """A shop export with every problem the SQL validates: guests, blanks, duplicates,
    dates before 1970 and in the future, missing amounts, returns, cancellation documents,
    ids written as ``1001.0`` and, with ``order_lines``, orders of several lines (then without
    empty cells: the reference fills those from the order's other lines, which the SQL leaves
    to it)."""
    world = generate_world(SyntheticConfig(n_customers=400, seed=seed))
    log = world.transactions.copy()
    log = log[log["order_date"] >= "2023-06-01"].reset_index(drop=True)
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "Order ID": [f"{100000 + i}" for i in range(len(log))],
            "Customer": log["customer_id"].str.replace("C", "", regex=False).astype(int).astype(str)
            + ".0",
            "Order Date": log["order_date"].dt.strftime("%Y-%m-%d %H:%M:%S"),
            "Amount": log["amount"].map(lambda value: f"{value:.2f}"),
            "Channel": rng.choice(["web", "app", "store"], len(log)),
        }
    ).astype(object)
    n = len(frame)
    picks = rng.choice(n, size=80, replace=False)
    blank = "guest" if order_lines else None
    frame.loc[picks[0:5], "Customer"] = blank
    # The placeholder in any case, as exports write it.
    frame.loc[picks[5:10], "Customer"] = ["guest", "Guest", "GUEST", "guest", "Guest"]
    frame.loc[picks[10:40], "Customer"] = "0.0"
    frame.loc[picks[40:44], "Order Date"] = "2031-01-01" if order_lines else None
    frame.loc[picks[44:46], "Order Date"] = "1965-03-01"
    frame.loc[picks[46:49], "Order Date"] = "2031-01-05 10:00:00"
    frame.loc[picks[49:53], "Amount"] = "0" if order_lines else None
    frame.loc[picks[53:58], "Order ID"] = [f"C{100000 + int(p)}" for p in picks[53:58]]
    frame.loc[picks[53:58], "Amount"] = "19.90"
    frame.loc[picks[58:60], "Amount"] = "0"
    if order_lines:
        # An order of three lines, and one line more of another order.
        frame.loc[picks[60:63], "Order ID"] = frame.loc[picks[60], "Order ID"]
        frame.loc[picks[60:63], "Customer"] = frame.loc[picks[60], "Customer"]
        frame.loc[picks[63], ["Order ID", "Customer"]] = frame.loc[
            picks[64], ["Order ID", "Customer"]
        ].to_numpy()
    if order_lines or not with_order_id:
        # Exact copies (with unique order ids a copy would repeat its order's id).
        frame = pd.concat([frame, frame.iloc[picks[70:76]]], ignore_index=True)
    if not with_order_id:
        frame = frame.drop(columns="Order ID")
    return frame


@pytest.mark.parametrize(
    ("with_order_id", "order_lines"), [(True, False), (True, True), (False, False)]
)
def test_a_messy_csv_export(tmp_path: Path, with_order_id: bool, order_lines: bool) -> None:
    path = tmp_path / "export.csv"
    messy_lines(with_order_id, order_lines=order_lines).to_csv(path, index=False)
    duck, reference = run_both(load_table(path))
    assert_same(duck, reference)
    dropped = duck.validation()["transactions"]["dropped"]
    for reason in ("guest_customer_id", "future_date"):
        assert dropped[reason] > 0, reason
    assert dropped["date_too_early"] == 2
    if not order_lines:
        for reason in ("missing_customer_id", "missing_date", "missing_amount"):
            assert dropped[reason] > 0, reason
    if with_order_id:
        assert duck.validation()["transactions"]["altered"]["return_made_negative"] >= 1
    if order_lines:
        assert duck.validation()["transactions"]["altered"]["order_lines_combined"] >= 3
        assert any("6 rows are exact copies" in line for line in duck.report_lines())
    if not with_order_id:
        assert dropped["duplicate_row"] == 6


def test_duplicates_kept_with_a_warning_and_baskets_without_times(tmp_path: Path) -> None:
    frame = messy_lines(with_order_id=False, seed=1)
    frame["Order Date"] = frame["Order Date"].str.slice(0, 10)
    path = tmp_path / "daily.csv"
    frame.to_csv(path, index=False)
    duck, reference = run_both(load_table(path))
    assert_same(duck, reference)
    assert any("exact copies" in warning for warning in duck.report_lines())
    assert duck.validation()["transactions"]["altered"]["lines_combined_into_baskets"] > 0


def test_guest_ids_and_switches(tmp_path: Path) -> None:
    frame = messy_lines(with_order_id=True, seed=2)
    path = tmp_path / "export.csv"
    frame.to_csv(path, index=False)
    customer = str(frame["Customer"].dropna().iloc[0])
    options = ValidationOptions(
        latest_valid_date=dt.date(2024, 12, 31),
        guest_ids=(customer.removesuffix(".0"),),
        drop_duplicate_rows=False,
        combine_baskets=False,
    )
    duck, reference = run_both(load_table(path), options=options, horizon=None)
    assert_same(duck, reference)


@pytest.mark.parametrize("space", ["\u2003", "\u205f", "\x1f", "\u2028"])
def test_whitespace_the_readers_leave_is_stripped_as_the_reference_strips_it(
    tmp_path: Path, space: str
) -> None:
    """Spaces outside the readers' own set (an em space, a unit separator, ...) before or
    after an id, a date or an amount: the SQL notices the padding from the first and last
    characters and strips as the reference does."""
    frame = messy_lines(with_order_id=True, seed=4)
    for column, rows in (("Customer", slice(0, 40)), ("Order Date", slice(40, 60))):
        frame.loc[frame.index[rows], column] = (
            frame[column]
            .iloc[rows]
            .map(lambda value: value if pd.isna(value) else f"{space}{value}")
        )
    amounts = frame["Amount"].iloc[60:70]
    frame.loc[frame.index[60:70], "Amount"] = amounts.map(
        lambda value: value if pd.isna(value) else f"{value}{space}"
    )
    path = tmp_path / "spaced.csv"
    frame.to_csv(path, index=False)
    duck, reference = run_both(load_table(path))
    assert_same(duck, reference)
    # The same cells in a Parquet log that DuckDB reads itself (no loader strips them there).
    parquet = tmp_path / "spaced.parquet"
    frame.to_parquet(parquet, index=False)
    duck, reference = run_both(ParquetLog(parquet))
    assert_same(duck, reference)


def test_a_typed_parquet_log_read_by_duckdb(tmp_path: Path) -> None:
    world = generate_world(SyntheticConfig(n_customers=300, seed=3))
    log = world.transactions.copy()
    log["amount"] = log["amount"].astype(float)
    log.loc[[3, 17], "amount"] = np.nan
    log.loc[[5], "order_date"] = pd.Timestamp("2030-02-01")
    path = tmp_path / "log.parquet"
    log.to_parquet(path, index=False)
    duck, reference = run_both(ParquetLog(path))
    assert_same(duck, reference)
    dropped = duck.validation()["transactions"]["dropped"]
    assert set(dropped) == {"missing_amount", "future_date"}
    assert dropped["missing_amount"] == 2


def quantity_log(tmp_path: Path) -> Path:
    """Order lines with a quantity and a unit price (what the SQL leaves to pandas)."""
    path = tmp_path / "lines.csv"
    path.write_text(
        "order_id,customer_id,order_date,quantity,unit_price\n"
        "1,a,2024-01-05,2,9.50\n2,b,2024-02-01,1,20\n3,a,2024-03-01,1,5\n"
    )
    return path


def test_ids_ending_in_nul_characters_keep_their_labels(tmp_path: Path) -> None:
    """A Parquet log can carry ids ending in NUL characters: the features and the labels meet
    them as the reference does."""
    log = pd.DataFrame(
        {
            "customer_id": ["a", "b\x00", "b\x00", "c", "a", "c"],
            "order_date": pd.to_datetime(
                ["2024-01-05", "2024-02-01", "2024-08-01", "2024-03-01", "2024-07-15", "2024-11-02"]
            ),
            "amount": [10.0, 20.0, 50.0, 5.0, 7.0, 3.0],
        }
    )
    path = tmp_path / "nul.parquet"
    log.to_parquet(path, index=False)
    duck, reference = run_both(ParquetLog(path))
    assert_same(duck, reference)
    assert duck.features["future_spend"].sum() == reference.features["future_spend"].sum() > 0


def test_what_the_sql_does_not_cover_is_validated_by_pandas(tmp_path: Path) -> None:
    path = quantity_log(tmp_path)
    request = FeatureRequest(cutoff=CUTOFF, options=OPTIONS)
    run = log_features(load_table(path), request)
    assert run.validated_by == "pandas"
    assert run.why_pandas == "the log has a quantity column"
    pandas_run = log_features(
        load_table(path),
        FeatureRequest(cutoff=CUTOFF, options=OPTIONS, engine="pandas"),
    )
    assert run.validation() == pandas_run.validation()
    actual_features_equal(run.features, pandas_run.features)


def test_slash_dates_fall_back(tmp_path: Path) -> None:
    path = tmp_path / "slash.csv"
    path.write_text("customer_id,order_date,amount\na,05/01/2024,10\nb,17/02/2024,20\n")
    run = log_features(load_table(path), FeatureRequest(cutoff=CUTOFF, options=OPTIONS))
    assert run.validated_by == "pandas"
    assert run.why_pandas is not None and "YYYY-MM-DD" in run.why_pandas


# -- the feature table streamed into the output file ---------------------------------------


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
@pytest.mark.parametrize("horizon", [90, None])
def test_the_feature_table_streams_into_the_file_as_the_frame(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, suffix: str, horizon: int | None
) -> None:
    """What ``features`` writes: streamed from DuckDB in many frames (a few customers each),
    the same table, columns and report as :func:`log_features` and the pandas reference."""
    import clv_core.sql.frames

    monkeypatch.setattr(clv_core.sql.frames, "_BATCH_ROWS", 37)
    path = tmp_path / "export.csv"
    messy_lines(True, seed=5).to_csv(path, index=False)
    duck, reference = run_both(load_table(path), horizon=horizon)
    request = FeatureRequest(cutoff=CUTOFF, horizon_days=horizon, options=OPTIONS)
    out = tmp_path / f"features{suffix}"
    written = write_log_features(load_table(path), request, out)
    assert written.validated_by == "duckdb" and written.out == out
    assert written.validation() == reference.validation()
    assert written.report_lines() == reference.report_lines()
    assert written.warnings == reference.warnings
    read = (
        pd.read_parquet(out) if suffix == ".parquet" else pd.read_csv(out, index_col="customer_id")
    )
    read.index = read.index.astype(str)
    assert written.n_customers == len(reference.features) > 3 * 37
    assert list(written.columns) == list(reference.features.columns) == list(read.columns)
    actual_features_equal(read, duck.features)
    actual_features_equal(read, reference.features)


def test_a_log_the_sql_does_not_cover_writes_the_same_file(tmp_path: Path) -> None:
    path = quantity_log(tmp_path)
    request = FeatureRequest(cutoff=CUTOFF, options=OPTIONS)
    out = tmp_path / "features.parquet"
    written = write_log_features(load_table(path), request, out)
    assert written.validated_by == "pandas" and written.why_pandas is not None
    frame = log_features(load_table(path), request).features
    pd.testing.assert_frame_equal(pd.read_parquet(out), frame)
    assert written.n_customers == 2 and written.columns == tuple(frame.columns)


def test_no_customer_before_the_cutoff_writes_no_file(tmp_path: Path) -> None:
    path = tmp_path / "late.csv"
    path.write_text("customer_id,order_date,amount\na,2024-09-05,10\nb,2024-10-01,20\n")
    out = tmp_path / "features.csv"
    with pytest.raises(DataError, match="No customer has a purchase on or before the cutoff"):
        write_log_features(load_table(path), FeatureRequest(cutoff=CUTOFF, options=OPTIONS), out)
    assert not out.exists()


# -- the same SQL on Apache Spark (local mode), reading the files itself -----------------------


@NEEDS_JAVA
@pytest.mark.slow
def test_spark_reads_validates_and_computes_like_duckdb(tmp_path: Path) -> None:
    """Spark reads a CSV and a Parquet file itself, validates them with the same SQL and gives
    the same report and features as DuckDB and the pandas reference."""
    csv_path = tmp_path / "export.csv"
    messy_lines(True, seed=4, order_lines=True).to_csv(csv_path, index=False)
    world = generate_world(SyntheticConfig(n_customers=200, seed=5))
    log = world.transactions.copy()
    log.loc[[2, 9], "amount"] = np.nan
    parquet_path = tmp_path / "log.parquet"
    # Spark reads micro- or millisecond timestamps (pandas writes nanoseconds by default).
    log.to_parquet(parquet_path, index=False, coerce_timestamps="us")
    request = FeatureRequest(cutoff=CUTOFF, horizon_days=90, options=OPTIONS, engine="spark")
    with spark_session("local[2]"):
        for path in (csv_path, parquet_path):
            on_spark = log_features(SparkLog(str(path)), request)
            assert on_spark.validated_by == "spark", on_spark.why_pandas
            duck = log_features(
                load_table(path), FeatureRequest(cutoff=CUTOFF, horizon_days=90, options=OPTIONS)
            )
            assert_same(on_spark, duck)


@NEEDS_JAVA
def test_spark_says_what_it_cannot_read(tmp_path: Path) -> None:
    request = FeatureRequest(cutoff=CUTOFF, options=OPTIONS, engine="spark")
    with spark_session("local[2]"), pytest.raises(DataError, match="could not read"):
        log_features(SparkLog(str(tmp_path / "missing.parquet")), request)


def test_a_spreadsheet_column_mixing_dates_and_text_is_validated_by_pandas() -> None:
    frame = pd.DataFrame(
        {
            "customer_id": ["a", "b", "a"],
            "order_date": [dt.datetime(2024, 1, 5), "2024-02-01", dt.datetime(2024, 3, 1)],
            "amount": [10.0, 20.0, 5.0],
        }
    )
    table = LoadedTable(
        frame=frame,
        source_name="orders.xlsx",
        file_format="xlsx",
        encoding=None,
        delimiter=None,
        sheet_name="Sheet1",
        notes=(),
        header_row=1,
    )
    run = log_features(table, FeatureRequest(cutoff=CUTOFF, options=OPTIONS))
    assert run.validated_by == "pandas"
    assert run.why_pandas == "a column mixes kinds of values"
    reference = log_features(table, FeatureRequest(cutoff=CUTOFF, options=OPTIONS, engine="pandas"))
    assert run.validation() == reference.validation()


@pytest.mark.parametrize(
    "name",
    ["erp_invoice_lines", "grocery_line_items", "shop_orders", "cn_marketplace", "xlsx_title_row"],
)
def test_the_realistic_exports_give_the_reference_numbers(tmp_path: Path, name: str) -> None:
    """ERP line items with cancellations, grocery baskets, a two-file shop export, a GB18030
    marketplace export with statuses and a workbook with a title row: on the default engine
    (which leaves what the SQL does not cover to pandas) the report and the features equal the
    pandas engine's."""
    from tests.corpus.exports import build_corpus

    export = build_corpus(tmp_path, seed=0)[name]
    table = load_table(export.files["transactions"])
    lines = export.files.get("order_lines")
    order_lines = load_table(lines) if lines is not None else None
    cutoff = pd.Timestamp(export.true_orders["order_date"].max()) - pd.Timedelta(days=30)
    runs = [
        log_features(
            table,
            FeatureRequest(cutoff=cutoff, horizon_days=30, engine=engine),
            order_lines=order_lines,
        )
        for engine in ("duckdb", "pandas")
    ]
    assert runs[0].validation() == runs[1].validation()
    actual_features_equal(runs[0].features, runs[1].features)


@pytest.mark.slow
def test_cancellation_documents_of_a_long_log_are_judged_on_the_first_ordinary_ids(
    tmp_path: Path,
) -> None:
    """Past 200,000 rows the SQL looks at the first ordinary ids by position only; the lines
    it keeps and the cancellations it finds equal the reference's."""
    rows = 260_000
    rng = np.random.default_rng(5)
    order = np.arange(rows)
    ids = np.char.add("", (500_000 + order).astype(str)).astype(object)
    cancelled = rng.random(rows) < 0.01
    ids[cancelled] = np.char.add("C", (500_000 + order[cancelled]).astype(str))
    frame = pd.DataFrame(
        {
            "order_id": ids,
            "customer_id": rng.integers(1, 20_000, rows).astype(str),
            "order_date": (
                pd.Timestamp("2023-01-01")
                + pd.to_timedelta(np.sort(rng.integers(0, 700, rows)), "D")
            ).strftime("%Y-%m-%d"),
            "amount": np.round(rng.gamma(2.0, 40.0, rows), 2).astype(str),
        }
    )
    path = tmp_path / "long.csv"
    frame.to_csv(path, index=False)
    duck, reference = run_both(load_table(path))
    assert_same(duck, reference)
    assert duck.validated_by == "duckdb"
    altered = duck.validation()["transactions"]["altered"]
    assert altered["return_made_negative"] == int(cancelled.sum())


@pytest.mark.parametrize("repeat_at", [3, 60_000])
def test_order_ids_repeated_early_or_late_are_order_lines(tmp_path: Path, repeat_at: int) -> None:
    """A repeated order id decides the lines are combined whether it shows among the first rows
    (the cheap check) or only past them (the full count)."""
    rows = 60_010
    frame = pd.DataFrame(
        {
            "order_id": [f"SO{i:06d}" for i in range(rows)],
            "customer_id": [f"C{i % 700:04d}" for i in range(rows)],
            "order_date": [f"2024-{1 + i % 12:02d}-{1 + i % 28:02d}" for i in range(rows)],
            "amount": [f"{5 + i % 37}.50" for i in range(rows)],
        }
    )
    frame.loc[repeat_at, ["order_id", "customer_id"]] = frame.loc[1, ["order_id", "customer_id"]]
    path = tmp_path / "lines.csv"
    frame.to_csv(path, index=False)
    duck, reference = run_both(load_table(path))
    assert_same(duck, reference)
    assert duck.validation()["transactions"]["altered"]["order_lines_combined"] == 1


def test_the_history_facts_in_sql_are_the_references() -> None:
    """Customers who bought on one day (twice), on two days, only returned, bought only after
    the cutoff or only at a zero amount: counted as the pandas reference counts them."""
    import pyarrow as pa

    from clv_core.splits import history_facts
    from clv_core.sql.duckdb_engine import duckdb_connection
    from clv_core.sql.runner import DuckDBRunner
    from clv_core.usecases.features import _history

    rows = [
        ("same_day", "2024-03-01 09:00", 10.0),
        ("same_day", "2024-03-01 18:30", 5.0),
        ("two_days", "2024-01-05 10:00", 20.0),
        ("two_days", "2024-06-30 23:59", 7.0),
        ("two_days", "2024-07-02 08:00", 9.0),
        ("returned", "2024-02-01 12:00", -15.0),
        ("later", "2024-07-01 00:00", 30.0),
        ("zero", "2024-04-01 11:00", 0.0),
        ("zero", "2024-05-01 11:00", -3.0),
        ("return_then_buy", "2024-02-01 10:00", -5.0),
        ("return_then_buy", "2024-02-02 10:00", 5.0),
    ]
    frame = pd.DataFrame(rows, columns=["customer_id", "order_date", "amount"])
    frame["order_date"] = pd.to_datetime(frame["order_date"])
    orders = pa.table(
        {
            "row_id": pa.array(np.arange(len(frame)), pa.int64()),
            "customer_id": pa.array(frame["customer_id"], pa.string()),
            "day": pa.array((frame["order_date"].dt.normalize() - pd.Timestamp(0)).dt.days),
            "amount": pa.array(frame["amount"], pa.float64()),
            "order_ts": pa.array(frame["order_date"]),
        }
    )
    with duckdb_connection(None) as connection:
        connection.register("orders", orders)
        facts = _history(DuckDBRunner(connection), CUTOFF)
    expected = history_facts(frame, CUTOFF)
    assert facts == expected
    assert (expected.n_customers, expected.n_repeat) == (4, 1)


def test_a_parquet_log_in_parts_reads_as_the_same_log_in_one_file(tmp_path: Path) -> None:
    """A glob of Parquet files is one log: rows numbered across the files (in name order), so
    the report's row numbers, the duplicates and the first order of a customer whose orders
    sit in two files are those of the same rows in one file."""
    world = generate_world(SyntheticConfig(n_customers=300, seed=4))
    # Without order ids, exact copies are found by comparing whole rows (in row order).
    log = world.transactions.drop(columns="order_id")
    log["amount"] = log["amount"].astype(float)
    size = len(log) // 3
    log.loc[[2, size + 5, 2 * size + 7], "amount"] = np.nan
    log.loc[[size + 9], "customer_id"] = None
    # An exact copy of a row of the first part in the last part.
    log.loc[2 * size + 11] = log.loc[4]
    whole = tmp_path / "whole.parquet"
    log.to_parquet(whole, index=False)
    parts = tmp_path / "parts"
    parts.mkdir()
    # Named so that name order is the log's order ("part-10" would sort before "part-2").
    for number, start in enumerate(range(0, len(log), size)):
        log.iloc[start : start + size].to_parquet(parts / f"part-{number:02d}.parquet")
    assert len(list(parts.iterdir())) > 2
    request = FeatureRequest(cutoff=CUTOFF, horizon_days=90, options=OPTIONS)
    split = log_features(ParquetLog(parts / "*.parquet"), request)
    one = log_features(ParquetLog(whole), request)
    assert split.validated_by == one.validated_by == "duckdb"
    lines = [line.replace("(*.parquet)", "(whole.parquet)") for line in split.report_lines()]
    assert lines == one.report_lines()
    split_report, one_report = split.validation(), one.validation()
    assert split_report["transactions"].pop("source") == "*.parquet"
    one_report["transactions"].pop("source")
    assert split_report == one_report
    dropped = split.validation()["transactions"]["dropped"]
    assert dropped["missing_amount"] >= 2 and dropped["duplicate_row"] == 1
    # The copy in the last file is the later row: its number is its place in the whole log.
    assert f"row {2 * size + 11 + 2}" in str(split.validation()["transactions"])
    assert actual_features_equal(split.features, one.features)


def test_a_parquet_glob_with_a_stranger_file_says_which(tmp_path: Path) -> None:
    """A part without the log's columns, or a file that is not Parquet, is named in one clear
    error that says what to do."""
    log = generate_world(SyntheticConfig(n_customers=50, seed=5)).transactions
    request = FeatureRequest(cutoff=CUTOFF, horizon_days=90, options=OPTIONS)
    log.to_parquet(tmp_path / "a.parquet")
    log.drop(columns="order_date").to_parquet(tmp_path / "b.parquet")
    with pytest.raises(DataError, match=r"'.*b\.parquet' has no column 'order_date'.*narrow"):
        log_features(ParquetLog(tmp_path / "*.parquet"), request)
    (tmp_path / "b.parquet").unlink()
    (tmp_path / "notes.parquet").write_text("not a table")
    with pytest.raises(DataError, match=r"could not be read as Parquet.*Move other files out"):
        log_features(ParquetLog(tmp_path / "*.parquet"), request)
