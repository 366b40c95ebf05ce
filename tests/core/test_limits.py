"""Input limits: configuration, and refusals while reading for each container."""

from __future__ import annotations

import gzip
import io
import zipfile
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from clv_core.errors import ConfigError, DataError
from clv_core.limits import LIMIT_SETTINGS, InflateBudget, LoadLimits, limit_hint, short_error
from clv_core.loading import load_table
from tests.corpus.hostile import HEADER, _rows, small_workbook


def test_defaults_load_real_work_and_can_be_turned_off() -> None:
    limits = LoadLimits()
    assert limits.max_bytes is None and limits.max_rows == 50_000_000
    assert limits.max_inflated_bytes == 4 << 30 and limits.max_compression_ratio == 100
    assert all(value is None for value in vars_of(LoadLimits.unlimited()).values())
    with pytest.raises(ConfigError, match="max_columns must be a positive whole number"):
        LoadLimits(max_columns=0)


def vars_of(limits: LoadLimits) -> dict[str, int | None]:
    return {name: getattr(limits, name) for name in LIMIT_SETTINGS}


def test_environment_and_options_set_limits_in_their_units() -> None:
    limits = LoadLimits.from_environment(
        {"CLV_MAX_ROWS": "10", "CLV_MAX_INFLATED_MB": "2", "CLV_MAX_CELL_CHARS": "0"},
        base=LoadLimits(max_bytes=5),
    )
    assert limits.max_rows == 10 and limits.max_inflated_bytes == 2 << 20
    assert limits.max_cell_chars is None, "0 turns a limit off"
    assert limits.max_bytes == 5, "the upload cap is the workbench's own setting"
    with pytest.raises(ConfigError, match="CLV_MAX_ROWS must be a whole number"):
        LoadLimits.from_environment({"CLV_MAX_ROWS": "many"})
    with pytest.raises(ConfigError, match="CLV_MAX_COLUMNS must be 0 or more"):
        LoadLimits.from_environment({"CLV_MAX_COLUMNS": "-1"})
    options = LoadLimits().with_options(
        {"max_inflated_bytes": 3, "max_rows": 0, "max_columns": None}
    )
    assert options.max_inflated_bytes == 3 << 20 and options.max_rows is None
    assert options.max_columns == 1_000
    assert "--max-rows" in limit_hint("max_rows") and "CLV_MAX_ROWS" in limit_hint("max_rows")


def test_short_error_is_printable_and_bounded() -> None:
    text = short_error(ValueError("bad \x00 name " + "x" * 500))
    assert "\x00" not in text and len(text) == 120 and text.endswith("...")


def test_gzip_is_refused_once_it_inflates_past_the_budget() -> None:
    honest = HEADER + _rows(100_000)
    packed = gzip.compress(honest)
    budget = LoadLimits(max_inflated_bytes=1 << 20)
    with pytest.raises(DataError, match=r"expands to more than 1.0 MB.*--max-inflated-mb"):
        load_table(packed, file_name="orders.csv.gz", limits=budget)
    assert load_table(packed, file_name="orders.csv.gz").n_rows == 100_000


def test_the_budget_reader_counts_and_keeps_its_refusal() -> None:
    packed = gzip.compress(b"a" * (3 << 20))
    reader = InflateBudget(
        io.BytesIO(packed), limits=LoadLimits(max_inflated_bytes=1 << 20), source_name="x.gz"
    )
    with pytest.raises(DataError):
        while reader.read(1 << 18):
            pass
    assert reader.refusal is not None and reader.inflated > 1 << 20
    with pytest.raises(DataError):
        reader.read(10)


def test_an_honest_gzip_log_is_far_below_the_ratio_limit() -> None:
    honest = HEADER + _rows(400_000)  # 9 MB of plausible rows
    ratio = len(honest) / len(gzip.compress(honest))
    assert ratio < 20


def test_workbooks_are_checked_against_their_directory_before_reading(tmp_path: Path) -> None:
    book = small_workbook([["customer_id", "amount"], *[[f"C{i}", i] for i in range(2000)]])
    with zipfile.ZipFile(io.BytesIO(book)) as archive:
        declared = sum(info.file_size for info in archive.infolist())
    small = LoadLimits(max_inflated_bytes=declared - 1)
    with pytest.raises(DataError, match=r"expands to .*\(nothing was decompressed\)"):
        load_table(book, file_name="book.xlsx", limits=small)
    assert load_table(book, file_name="book.xlsx").n_rows == 2000


def test_parquet_metadata_is_checked_before_reading() -> None:
    table = pa.table({f"c{i}": [1, 2] for i in range(30)} | {"customer_id": ["a", "b"]})
    buffer = io.BytesIO()
    pq.write_table(table, buffer)
    data = buffer.getvalue()
    with pytest.raises(DataError, match=r"31 columns, more than the 20.*--max-columns"):
        load_table(data, file_name="t.parquet", limits=LoadLimits(max_columns=20))
    with pytest.raises(DataError, match=r"2 data rows, more than the 1 "):
        load_table(data, file_name="t.parquet", limits=LoadLimits(max_rows=1))
    long = pa.table({"customer_id": ["a", "b" * 50], "amount": [1, 2]})
    buffer = io.BytesIO()
    pq.write_table(long, buffer)
    with pytest.raises(DataError, match=r"Row 3 .* 50 characters in column 'customer_id'"):
        load_table(buffer.getvalue(), file_name="t.parquet", limits=LoadLimits(max_cell_chars=10))


def test_text_header_and_cells_are_checked(tmp_path: Path) -> None:
    data = HEADER + b"C1,2024-01-01,1\nC2,2024-01-02," + b"9" * 40 + b"\n"
    with pytest.raises(
        DataError, match=r"Row 3 of 'o.csv' has a value of 40 characters in column 'amount'"
    ):
        load_table(data, file_name="o.csv", limits=LoadLimits(max_cell_chars=20))
    with pytest.raises(DataError, match=r"3 columns, more than the 2"):
        load_table(data, file_name="o.csv", limits=LoadLimits(max_columns=2))
    with pytest.raises(DataError, match=r"column 1 \(A\).* 11 characters long"):
        load_table(data, file_name="o.csv", limits=LoadLimits(max_column_name_chars=10))
    spaced = b"id date amount\n1 2024-01-01 " + b"9" * 40 + b"\n2 2024-01-02 1\n"
    with pytest.raises(DataError, match=r"Row 2 .* 40 characters"):
        load_table(spaced, file_name="o.dat", limits=LoadLimits(max_cell_chars=20))
    assert len(load_table(data, file_name="o.csv").frame) == 2
    assert isinstance(load_table(spaced, file_name="o.dat").frame, pd.DataFrame)
