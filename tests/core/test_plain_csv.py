"""A plain CSV log read by DuckDB (``CsvLog``) gives what the loader's table gives.

For every file, read by DuckDB or turned down and read by the loader, the row accounting, the
example rows, the warnings, the money check and the features equal those of the same file
loaded by :func:`clv_core.loading.load_table`; a file the loader refuses is refused with the
loader's message.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import clv_core.sql.validation as sql_validation
from clv_core.errors import DataError
from clv_core.limits import LoadLimits
from clv_core.loading import load_table
from clv_core.loading.plain import plain_csv
from clv_core.usecases.features import CsvLog, FeatureRequest, log_features
from clv_core.validation import ValidationOptions
from tests.core.test_sql_validation import actual_features_equal, messy_lines

OPTIONS = ValidationOptions(latest_valid_date=dt.date(2024, 12, 31))
CUTOFF = pd.Timestamp("2024-06-30")
REQUEST = FeatureRequest(cutoff=CUTOFF, horizon_days=90, options=OPTIONS)

HEADER = "order_id,customer_id,order_date,amount\n"
ROWS = "".join(
    f"O{i},C{i % 7},2024-0{1 + i % 5}-1{i % 9} 10:00:00,{10 + i}.50\n" for i in range(60)
)


@pytest.fixture
def read_by_duckdb(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """Whether each CSV log was read by DuckDB (True) or turned down for the loader."""
    outcomes: list[bool] = []
    register = sql_validation.register_csv

    def spy(*args: Any, **kwargs: Any) -> Any:
        source = register(*args, **kwargs)
        outcomes.append(not isinstance(source, str))
        return source

    monkeypatch.setattr(sql_validation, "register_csv", spy)
    return outcomes


def both(path: Path, limits: LoadLimits | None = None) -> tuple[Any, Any]:
    """The run on ``CsvLog(path)`` and on the loader's table, or their two error messages."""
    limits = limits or LoadLimits()
    results = []
    for table in (lambda: CsvLog(path, limits), lambda: load_table(path, limits=limits)):
        try:
            results.append(log_features(table(), REQUEST))  # type: ignore[arg-type]
        except DataError as error:
            results.append(str(error))
    return results[0], results[1]


def assert_same(csv: Any, loaded: Any) -> None:
    if isinstance(loaded, str):
        assert csv == loaded
        return
    assert csv.validated_by == loaded.validated_by
    assert csv.validation() == loaded.validation()
    assert csv.report_lines() == loaded.report_lines()
    assert csv.warnings == loaded.warnings
    actual_features_equal(csv.features, loaded.features)


@pytest.mark.parametrize(
    ("with_order_id", "order_lines", "delimiter"),
    [(True, False, ","), (True, True, ";"), (False, False, "\t")],
)
def test_a_messy_export_read_by_duckdb(
    tmp_path: Path,
    read_by_duckdb: list[bool],
    with_order_id: bool,
    order_lines: bool,
    delimiter: str,
) -> None:
    """Guests, blank cells, duplicates, impossible dates, missing amounts, cancellations,
    ``1001.0`` ids, order lines: DuckDB reads the file and every figure is the loader's."""
    path = tmp_path / "export.csv"
    messy_lines(with_order_id, order_lines=order_lines).to_csv(path, index=False, sep=delimiter)
    csv, loaded = both(path)
    assert read_by_duckdb == [True]
    assert csv.validated_by == "duckdb"
    assert_same(csv, loaded)


@pytest.mark.parametrize("space", ["\u2003", "\x1f"])
def test_whitespace_the_loader_leaves_is_stripped_by_the_sql(
    tmp_path: Path, read_by_duckdb: list[bool], space: str
) -> None:
    """An em space or a unit separator around ids and amounts: the loader keeps them, so DuckDB
    reads the file and the SQL strips them as the reference does."""
    frame = messy_lines(with_order_id=True, seed=4)
    frame.loc[frame.index[:40], "Customer"] = (
        frame["Customer"]
        .iloc[:40]
        .map(lambda value: value if pd.isna(value) else f"{space}{value}")
    )
    frame.loc[frame.index[40:50], "Amount"] = (
        frame["Amount"]
        .iloc[40:50]
        .map(lambda value: value if pd.isna(value) else f"{value}{space}")
    )
    path = tmp_path / "spaced.csv"
    frame.to_csv(path, index=False)
    csv, loaded = both(path)
    assert read_by_duckdb == [True]
    assert_same(csv, loaded)


# (file content, whether DuckDB reads it): what the loader reads differently is turned down.
FILES = {
    "plain": (HEADER + ROWS, True),
    "crlf and no final line break": ((HEADER + ROWS).replace("\n", "\r\n").rstrip(), True),
    "byte-order mark": ("\ufeff" + HEADER + ROWS, True),
    "missing markers, quoted too": (
        HEADER + ROWS + 'O90,C1,2024-03-01,NA\nO91,"NULL",2024-03-01,5\nO92,,#N/A,"N/A"\n',
        True,
    ),
    "quotes and a line break in a value": (
        HEADER + ROWS + 'O93,"C ""x""",2024-03-02,5\nO94,"C\ny",2024-03-03,6\n',
        True,
    ),
    "a row of empty cells inside": (HEADER + ",,,\n" + ROWS, True),
    "blank line inside": (HEADER + ROWS[:80] + "\n" + ROWS[80:], False),
    "blank lines at the end": (HEADER + ROWS + "\n\n", False),
    "empty row at the end": (HEADER + ROWS + ",,,\n", False),
    "padded cells": (HEADER + ROWS + " O95 ,C1,2024-03-01,5\n", False),
    "padded missing marker": (HEADER + ROWS + "O96,C1, NA ,5\n", False),
    "non-breaking space": (HEADER + ROWS + "O97,C1\u00a0,2024-03-01,5\n", False),
    "title row": ("Sales report 2024\n" + HEADER + ROWS, False),
    "unnamed trailing column": (HEADER.replace("\n", ",\n") + ROWS.replace("\n", ",\n"), False),
    "repeated column names": (HEADER.replace("amount", "Order_ID") + ROWS, False),
    "too many fields": (HEADER + ROWS + "O98,C1,2024-03-01,5,7\n", False),
    "too few fields": (HEADER + ROWS + "O99,C1\n", False),
}


@pytest.mark.parametrize("name", list(FILES))
def test_each_file_reads_as_the_loader_reads_it(
    tmp_path: Path, read_by_duckdb: list[bool], name: str
) -> None:
    content, by_duckdb = FILES[name]
    path = tmp_path / "log.csv"
    path.write_bytes(content.encode("utf-8"))
    csv, loaded = both(path)
    assert_same(csv, loaded)
    assert any(read_by_duckdb) is by_duckdb
    if not isinstance(csv, str):
        assert (csv.why_loader is None) is by_duckdb, csv.why_loader


def test_bytes_that_are_not_utf8_after_the_start_get_the_loaders_message(
    tmp_path: Path, read_by_duckdb: list[bool]
) -> None:
    """The file's start (what the encoding is detected on) is UTF-8, a later line is not:
    DuckDB turns the file down and the loader names the line."""
    rows = ROWS * (1 + (1 << 20) // len(ROWS))
    path = tmp_path / "log.csv"
    path.write_bytes((HEADER + rows).encode() + b"O1,C\xff\xfe1,2024-03-01,5\n")
    csv, loaded = both(path)
    assert isinstance(loaded, str)
    assert_same(csv, loaded)
    assert read_by_duckdb == [False]


def test_encodings_other_than_utf8_and_other_formats_go_to_the_loader(tmp_path: Path) -> None:
    limits = LoadLimits()
    gb18030 = tmp_path / "cn.csv"
    gb18030.write_bytes(("订单号,买家,日期,实付金额\n" + ROWS).encode("gb18030"))
    spaces = tmp_path / "fixed.txt"
    spaces.write_text("id  date  amount\n1  2024-01-01  5\n2  2024-01-02  6\n")
    workbook = tmp_path / "log.xlsx"
    pd.DataFrame({"id": ["C1"], "date": ["2024-01-01"], "amount": [5]}).to_excel(
        workbook, index=False
    )
    reasons = {
        gb18030: "it is not UTF-8 but gb18030",
        spaces: "its fields are separated by runs of spaces",
        workbook: "it is xlsx",
        tmp_path / "missing.csv": "the Python reader is needed to say what is wrong with it",
    }
    for path, reason in reasons.items():
        assert plain_csv(path, limits) == reason
    plain = plain_csv(_write(tmp_path / "log.csv", HEADER + ROWS), limits)
    assert not isinstance(plain, str) and plain.columns == tuple(HEADER.strip().split(","))
    run = log_features(CsvLog(gb18030), FeatureRequest(cutoff=CUTOFF, options=OPTIONS))
    assert run.why_loader == "it is not UTF-8 but gb18030"


def test_limits_are_the_loaders(tmp_path: Path, read_by_duckdb: list[bool]) -> None:
    """Over the row or the cell limit DuckDB turns the file down and the loader refuses it."""
    path = _write(tmp_path / "log.csv", HEADER + ROWS)
    csv, loaded = both(path, LoadLimits(max_rows=10))
    assert isinstance(loaded, str) and "10" in loaded
    assert_same(csv, loaded)
    wide = _write(tmp_path / "wide.csv", HEADER + ROWS + f"O1,{'C' * 40},2024-03-01,5\n")
    csv, loaded = both(wide, LoadLimits(max_cell_chars=30))
    assert isinstance(loaded, str) and "30" in loaded
    assert_same(csv, loaded)
    assert read_by_duckdb == [False, False]


def test_the_realistic_exports(tmp_path: Path) -> None:
    """ERP lines, grocery items, a shop export, a GB18030 marketplace export: read by DuckDB
    or by the loader, the numbers are the loader's."""
    from tests.corpus.exports import build_corpus

    for name, export in build_corpus(tmp_path, seed=0).items():
        path = export.files["transactions"]
        if path.suffix != ".csv" or "order_lines" in export.files:
            continue
        cutoff = pd.Timestamp(export.true_orders["order_date"].max()) - pd.Timedelta(days=30)
        request = FeatureRequest(cutoff=cutoff, horizon_days=30)
        csv = log_features(CsvLog(path), request)
        loaded = log_features(load_table(path), request)
        assert csv.validation() == loaded.validation(), name
        actual_features_equal(csv.features, loaded.features)


def _write(path: Path, content: str) -> Path:
    path.write_text(content, encoding="utf-8")
    return path


def test_the_rows_keep_the_files_order_on_a_connection_that_may_reorder(tmp_path: Path) -> None:
    """The features' connection lets DuckDB keep tables in any order; a CSV table read in
    parallel is still numbered by its records' positions (1M rows: DuckDB reads it in parallel
    and, without the order kept, writes most of its rows elsewhere)."""
    import duckdb

    from clv_core.sql.duckdb_engine import duckdb_connection
    from clv_core.sql.runner import DuckDBRunner

    path = tmp_path / "log.csv"
    duckdb.execute(
        "COPY (SELECT i AS seq, 'C' || (i % 1000) AS customer_id, DATE '2024-01-01' AS day, "
        f"12.5 AS amount FROM range(1000000) AS t(i)) TO '{path}' (HEADER)"
    )
    with duckdb_connection(None) as connection:
        connection.execute("SET threads = 2")
        runner = DuckDBRunner(connection)
        plain = plain_csv(path, LoadLimits())
        assert not isinstance(plain, str)
        source = sql_validation.register_csv(runner, plain, LoadLimits())
        assert not isinstance(source, str) and source.n_rows == 1_000_000
        moved = runner.rows("SELECT COUNT(*) FROM raw WHERE CAST(c0 AS BIGINT) <> __row")
        assert moved == [(0,)]
        assert runner.rows("SELECT current_setting('preserve_insertion_order')") == [(False,)]
