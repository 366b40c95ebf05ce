"""Tests for clv_core.loading: formats, encodings, delimiters, header checks, limits."""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import gzip
import io
import zipfile
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clv_core.errors import ConfigError, DataError
from clv_core.loading import LoadedTable, LoadLimits, load_table
from clv_core.loading.source import _SAMPLE_BYTES
from tests.corpus.public import CDNOW_PATH

ORDERS_CSV = (
    "order_id,customer_id,order_date,amount\n"
    "1,00001,2023-01-05 10:00:00,12.50\n"
    "2,00002,2023-01-06 11:30:00,7.00\n"
    "3,00001,2023-02-01 09:15:00,30.25\n"
)


def write(directory: Path, name: str, data: bytes) -> Path:
    """Write ``data`` to ``directory / name`` and return the path."""
    path = directory / name
    path.write_bytes(data)
    return path


def column_values(table: LoadedTable, column: str) -> list[object]:
    """A column as a list with missing values as None, for readable comparisons."""
    series = table.frame[column]
    return [None if pd.isna(value) else value for value in series]


def workbook_bytes(sheets: dict[str, list[list[object]]]) -> bytes:
    """An .xlsx file with the given sheets (rows of cell values) as bytes."""
    workbook = openpyxl.Workbook()
    workbook.remove(workbook.active)
    for name, rows in sheets.items():
        worksheet = workbook.create_sheet(name)
        for row in rows:
            worksheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def many_rows_csv(row_count: int) -> bytes:
    """A UTF-8 orders CSV; about 38 bytes a row, so 30,000 rows exceed the detection sample."""
    rows = "".join(
        f"{i},{i % 997:05d},2023-01-01 00:00:00,{i % 100}.25\n" for i in range(row_count)
    )
    return ("order_id,customer_id,order_date,amount\n" + rows).encode()


# --- delimited text: values --------------------------------------------------------------


def test_utf8_csv_keeps_every_value_as_text(tmp_path: Path) -> None:
    table = load_table(write(tmp_path, "orders.csv", ORDERS_CSV.encode()))

    assert table.file_format == "csv"
    assert table.encoding == "utf-8"
    assert table.delimiter == ","
    assert table.sheet_name is None
    assert table.notes == ()
    assert table.n_rows == 3
    assert list(table.frame.columns) == ["order_id", "customer_id", "order_date", "amount"]
    assert isinstance(table.frame.index, pd.RangeIndex)
    assert column_values(table, "customer_id") == ["00001", "00002", "00001"]
    assert column_values(table, "order_date")[0] == "2023-01-05 10:00:00"
    assert column_values(table, "amount") == ["12.50", "7.00", "30.25"]
    assert all(pd.api.types.is_string_dtype(dtype) for dtype in table.frame.dtypes)


def test_missing_markers_become_missing(tmp_path: Path) -> None:
    markers = ["", "NA", "N/A", "NULL", "null", "None", "nan", "NaN", "#N/A", " NA ", '""']
    rows = "".join(f"{i},{marker}\n" for i, marker in enumerate(markers))
    table = load_table(write(tmp_path, "markers.csv", f"id,value\n{rows}".encode()))

    assert table.n_rows == len(markers)
    assert table.frame["value"].isna().all()
    assert column_values(table, "id") == [str(i) for i in range(len(markers))]


def test_whitespace_is_stripped_from_cells_and_header(tmp_path: Path) -> None:
    text = "\ufeff  customer_id ,\tamount  \n  00007  ,  12.5\u00a0\n"
    table = load_table(write(tmp_path, "padded.csv", text.encode()))

    assert list(table.frame.columns) == ["customer_id", "amount"]
    assert column_values(table, "customer_id") == ["00007"]
    assert column_values(table, "amount") == ["12.5"]


def test_blank_line_keeps_spreadsheet_row_numbers(tmp_path: Path) -> None:
    text = "id,amount\n1,10\n\n3,30\n"
    table = load_table(write(tmp_path, "gap.csv", text.encode()))

    # Data row i is spreadsheet row i + 2: the blank line 3 is data row 1.
    assert column_values(table, "id") == ["1", None, "3"]


def test_trailing_empty_rows_are_removed_with_a_note(tmp_path: Path) -> None:
    text = "id,amount\n1,10\n2,20\n,\n,\n\n"
    table = load_table(write(tmp_path, "excel_export.csv", text.encode()))

    assert column_values(table, "id") == ["1", "2"]
    assert table.notes == ("3 empty rows at the end were removed",)


def test_quoted_values_may_contain_line_breaks(tmp_path: Path) -> None:
    text = 'id,comment,amount\n1,"first line\nsecond line",10\n2,plain,20\n'
    table = load_table(write(tmp_path, "comments.csv", text.encode()))

    assert column_values(table, "comment") == ["first line\nsecond line", "plain"]


# --- delimited text: encodings -----------------------------------------------------------


def test_utf8_with_bom(tmp_path: Path) -> None:
    data = codecs.BOM_UTF8 + "客户,金额\nA001,12.5\n".encode()
    table = load_table(write(tmp_path, "bom.csv", data))

    assert table.encoding == "utf-8-sig"
    assert list(table.frame.columns) == ["客户", "金额"]


CHINESE_HEADER = "用户ID,注册时间,订单金额,城市\n"
CHINESE_ROWS = "".join(
    f"U{i:05d},2023-01-{i % 28 + 1:02d},{i * 1.5:.2f},{city}\n"
    for i, city in enumerate(
        ["北京市朝阳区", "上海市浦东新区", "广州市天河区", "深圳市南山区"] * 15
    )
)
CHINESE_ORDERS = CHINESE_HEADER + CHINESE_ROWS


@pytest.mark.parametrize("encoding", ["gb18030", "gbk"])
def test_chinese_legacy_encodings_read_as_gb18030(tmp_path: Path, encoding: str) -> None:
    table = load_table(write(tmp_path, "订单.csv", CHINESE_ORDERS.encode(encoding)))

    assert table.encoding == "gb18030"
    assert list(table.frame.columns) == ["用户ID", "注册时间", "订单金额", "城市"]
    assert column_values(table, "城市")[:2] == ["北京市朝阳区", "上海市浦东新区"]
    assert column_values(table, "用户ID")[0] == "U00000"


WESTERN_NAMES = ["José Müller", "François Dupont", "Søren Ångström", "Ana Peña", "Zoë Brontë"]


@pytest.mark.parametrize("encoding", ["cp1252", "latin-1"])
def test_western_legacy_encodings_keep_accents(tmp_path: Path, encoding: str) -> None:
    text = "customer_id,name,amount\n" + "".join(
        f"{i:05d},{name},{i}.50\n" for i, name in enumerate(WESTERN_NAMES * 8)
    )
    table = load_table(write(tmp_path, "customers.csv", text.encode(encoding)))

    assert table.encoding == "cp1252"
    assert column_values(table, "name")[: len(WESTERN_NAMES)] == WESTERN_NAMES


def test_cp1252_euro_sign(tmp_path: Path) -> None:
    text = "customer_id,note\n" + "".join(f"{i},Preis 5 € für Müller\n" for i in range(20))
    table = load_table(write(tmp_path, "euro.csv", text.encode("cp1252")))

    assert column_values(table, "note")[0] == "Preis 5 € für Müller"


def test_utf16_tab_separated_unicode_text_export(tmp_path: Path) -> None:
    text = "customer_id\tname\tamount\r\n00001\tJosé\t12,50\r\n00002\t王芳\t3,00\r\n"
    table = load_table(write(tmp_path, "unicode.txt", text.encode("utf-16")))

    assert table.encoding == "utf-16"
    assert table.delimiter == "\t"
    assert column_values(table, "name") == ["José", "王芳"]
    assert column_values(table, "amount") == ["12,50", "3,00"]


def test_character_cut_at_the_end_of_the_sample_is_still_utf8(tmp_path: Path) -> None:
    head = many_rows_csv(25_000)
    # A row whose 'é' starts on the last byte of the sample, so the sample ends mid-character.
    padding = _SAMPLE_BYTES - 1 - len(head) - len(b"99999,")
    assert padding > 0
    data = head + b"99999," + b"a" * padding + "é,1,2\n".encode() + b"100000,1,2,3\n"
    assert data[_SAMPLE_BYTES - 1 : _SAMPLE_BYTES + 1] == "é".encode()
    # The padding cell is longer than a cell may be by default.
    table = load_table(write(tmp_path, "cut.csv", data), limits=LoadLimits(max_cell_chars=None))

    assert table.encoding == "utf-8"
    assert table.frame["customer_id"].iloc[-2].endswith("aé")


def test_undecodable_bytes_after_the_sample_name_encoding_and_line(tmp_path: Path) -> None:
    head = many_rows_csv(40_000)
    assert len(head) > _SAMPLE_BYTES
    line_of_bad_byte = head.count(b"\n") + 1
    data = head + b"40000,caf\xe9,2023-01-01 00:00:00,1.00\n"
    path = write(tmp_path, "mixed.csv", data)

    with pytest.raises(DataError, match=rf"utf-8.*0xE9.*line {line_of_bad_byte:,}.*UTF-8"):
        load_table(path)
    with pytest.raises(DataError, match=rf"line {line_of_bad_byte:,}"):
        load_table(data, file_name="mixed.csv")


def test_undecodable_legacy_bytes_are_reported(tmp_path: Path) -> None:
    data = (CHINESE_HEADER + CHINESE_ROWS * 500).encode("gb18030") + b"U1,2023-01-01,1,\x81\x20\n"
    assert len(data) > _SAMPLE_BYTES

    with pytest.raises(DataError, match=r"gb18030.*line"):
        load_table(write(tmp_path, "bad.csv", data))


# --- delimited text: delimiters ----------------------------------------------------------


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
def test_delimiters_are_sniffed_with_quoted_delimiters_inside_values(
    tmp_path: Path, delimiter: str
) -> None:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\n")
    writer.writerow(["customer_id", "name", "amount"])
    writer.writerow(["00001", f"Smith{delimiter} John", "12.5"])
    writer.writerow(["00002", f"a{delimiter}b{delimiter}c", "7"])
    writer.writerow(["00003", "plain", "1"])
    table = load_table(write(tmp_path, "quoted.txt", buffer.getvalue().encode()))

    assert table.delimiter == delimiter
    assert column_values(table, "name") == [
        f"Smith{delimiter} John",
        f"a{delimiter}b{delimiter}c",
        "plain",
    ]


def test_semicolon_with_decimal_commas(tmp_path: Path) -> None:
    text = "kunde;datum;betrag\n00001;05.01.2023;12,50\n00002;06.01.2023;7,00\n00003;07.01.2023;3\n"
    table = load_table(write(tmp_path, "umsatz.csv", text.encode()))

    assert table.delimiter == ";"
    assert column_values(table, "betrag") == ["12,50", "7,00", "3"]


def test_cdnow_whitespace_separated_file_from_lifetimes() -> None:
    table = load_table(CDNOW_PATH)

    assert table.delimiter == "whitespace"
    assert table.source_name == "CDNOW_master.txt"
    assert list(table.frame.columns) == ["customer_id", "date", "number_of_cds", "dollar_value"]
    assert table.n_rows == 69_659
    assert table.frame["customer_id"].iloc[0] == "00001"
    assert table.frame["dollar_value"].iloc[0] == "11.77"
    assert table.frame["customer_id"].nunique() == 23_570


def test_cdnow_bytes_equal_path() -> None:
    from_bytes = load_table(CDNOW_PATH.read_bytes(), file_name="CDNOW_master.txt")

    pd.testing.assert_frame_equal(from_bytes.frame, load_table(CDNOW_PATH).frame)


def test_carriage_return_line_endings(tmp_path: Path) -> None:
    table = load_table(write(tmp_path, "mac.csv", b"id,amount\r1,2\r3,4\r"))

    assert column_values(table, "amount") == ["2", "4"]


def test_whitespace_separated_short_rows_are_padded(tmp_path: Path) -> None:
    text = "id  date      amount\n1   20230101  5\n2   20230102\n"
    table = load_table(write(tmp_path, "fixed.dat", text.encode()))

    assert table.delimiter == "whitespace"
    assert column_values(table, "amount") == ["5", None]


def test_one_column_file_is_refused(tmp_path: Path) -> None:
    text = "customer_id\n00001\n00002\n"
    with pytest.raises(
        DataError, match=r"only one column.*comma, semicolon, tab, pipe.*customer id"
    ):
        load_table(write(tmp_path, "ids.csv", text.encode()))


# --- inputs and containers ---------------------------------------------------------------


def test_bytes_with_file_name_equal_path_input(tmp_path: Path) -> None:
    data = CHINESE_ORDERS.encode("gbk")
    from_path = load_table(write(tmp_path, "orders.csv", data))
    from_bytes = load_table(data, file_name="orders.csv")

    pd.testing.assert_frame_equal(from_path.frame, from_bytes.frame)
    assert (from_path.source_name, from_path.encoding, from_path.delimiter) == (
        from_bytes.source_name,
        from_bytes.encoding,
        from_bytes.delimiter,
    )


def test_path_given_as_string_and_display_name_override(tmp_path: Path) -> None:
    path = write(tmp_path, "x.csv", ORDERS_CSV.encode())
    table = load_table(str(path), file_name="upload-2023.csv")

    assert table.source_name == "upload-2023.csv"
    assert table.n_rows == 3


def test_gzip_compressed_csv(tmp_path: Path) -> None:
    data = gzip.compress(ORDERS_CSV.encode("utf-16"))
    from_path = load_table(write(tmp_path, "orders.csv.gz", data))
    from_bytes = load_table(data, file_name="orders.csv.gz")

    assert from_path.file_format == "csv"
    assert from_path.encoding == "utf-16"
    assert column_values(from_path, "customer_id") == ["00001", "00002", "00001"]
    pd.testing.assert_frame_equal(from_path.frame, from_bytes.frame)


def test_gzip_is_detected_by_content_not_name(tmp_path: Path) -> None:
    table = load_table(write(tmp_path, "orders.dat", gzip.compress(ORDERS_CSV.encode())))

    assert table.n_rows == 3


def test_damaged_gzip_is_refused(tmp_path: Path) -> None:
    data = gzip.compress(many_rows_csv(20_000))
    with pytest.raises(DataError, match=r"gzip.*damaged or incomplete"):
        load_table(write(tmp_path, "cut.csv.gz", data[: len(data) // 2]))


def test_text_named_like_a_workbook_is_read_as_text_with_a_note(tmp_path: Path) -> None:
    table = load_table(write(tmp_path, "orders.xlsx", ORDERS_CSV.encode()))

    assert table.file_format == "csv"
    assert "read as text" in table.notes[0]


def test_sheet_option_on_text_is_noted(tmp_path: Path) -> None:
    table = load_table(write(tmp_path, "orders.csv", ORDERS_CSV.encode()), sheet="Orders")

    assert "sheet option" in table.notes[0]


# --- workbooks ---------------------------------------------------------------------------

WORKBOOK_SHEETS: dict[str, list[list[object]]] = {
    "Orders": [
        ["customer_id", "order_date", "amount"],
        ["00001", dt.datetime(2023, 1, 5, 10, 0), 12.5],
        ["00002", dt.datetime(2023, 1, 6), 7],
    ],
    "Customers": [["customer_id", " city "], ["00001", "  Berlin "], ["00002", "N/A"]],
}


def test_workbook_first_sheet_keeps_native_types(tmp_path: Path) -> None:
    table = load_table(write(tmp_path, "book.xlsx", workbook_bytes(WORKBOOK_SHEETS)))

    assert table.file_format == "xlsx"
    assert table.sheet_name == "Orders"
    assert (table.encoding, table.delimiter) == (None, None)
    assert column_values(table, "customer_id") == ["00001", "00002"]
    assert pd.api.types.is_datetime64_any_dtype(table.frame["order_date"])
    assert pd.api.types.is_float_dtype(table.frame["amount"])
    assert table.frame["order_date"].iloc[0] == pd.Timestamp("2023-01-05 10:00")


def test_workbook_sheet_by_name_and_position() -> None:
    data = workbook_bytes(WORKBOOK_SHEETS)
    by_name = load_table(data, file_name="book.xlsx", sheet="Customers")
    by_case_insensitive_name = load_table(data, file_name="book.xlsx", sheet="customers")
    by_position = load_table(data, file_name="book.xlsx", sheet=1)

    assert by_name.sheet_name == by_position.sheet_name == "Customers"
    assert by_case_insensitive_name.sheet_name == "Customers"
    assert list(by_name.frame.columns) == ["customer_id", "city"]
    assert column_values(by_name, "city") == ["Berlin", None]
    pd.testing.assert_frame_equal(by_name.frame, by_position.frame)


def test_workbook_bytes_equal_path(tmp_path: Path) -> None:
    data = workbook_bytes(WORKBOOK_SHEETS)
    pd.testing.assert_frame_equal(
        load_table(write(tmp_path, "book.xlsx", data)).frame,
        load_table(data, file_name="book.xlsx").frame,
    )


def test_missing_sheet_lists_the_sheet_names(tmp_path: Path) -> None:
    path = write(tmp_path, "book.xlsx", workbook_bytes(WORKBOOK_SHEETS))
    with pytest.raises(DataError, match=r"no sheet named 'Sales'.*'Orders', 'Customers'"):
        load_table(path, sheet="Sales")
    with pytest.raises(DataError, match=r"no sheet at position 5.*'Orders', 'Customers'"):
        load_table(path, sheet=5)


def test_workbook_row_limit() -> None:
    rows: list[list[object]] = [["customer_id", "amount"], *([f"{i:05d}", i] for i in range(20))]
    data = workbook_bytes({"Orders": rows})
    with pytest.raises(DataError, match="more than 10 data rows"):
        load_table(data, file_name="book.xlsx", limits=LoadLimits(max_rows=10))
    assert load_table(data, file_name="book.xlsx", limits=LoadLimits(max_rows=20)).n_rows == 20


def test_workbook_unnamed_column_and_empty_columns() -> None:
    rows: list[list[object]] = [
        ["customer_id", None, "amount", None, None],
        ["00001", "web", 1, None, None],
        ["00002", "shop", 2, None, None],
    ]
    table = load_table(workbook_bytes({"Orders": rows}), file_name="book.xlsx")

    assert list(table.frame.columns) == ["customer_id", "column_2", "amount"]


# --- parquet -----------------------------------------------------------------------------


def test_parquet_keeps_native_types_and_cleans_text(tmp_path: Path) -> None:
    frame = pd.DataFrame(
        {
            "customer_id": ["00001", " 00002 ", "NA"],
            "order_date": pd.to_datetime(["2023-01-05", "2023-01-06", "2023-01-07"]),
            "amount": [12.5, 7.0, 1.0],
        }
    )
    path = tmp_path / "orders.parquet"
    frame.to_parquet(path)
    table = load_table(path)

    assert table.file_format == "parquet"
    assert column_values(table, "customer_id") == ["00001", "00002", None]
    assert pd.api.types.is_datetime64_any_dtype(table.frame["order_date"])
    assert table.frame["amount"].tolist() == [12.5, 7.0, 1.0]
    pd.testing.assert_frame_equal(
        table.frame, load_table(path.read_bytes(), file_name="o.parquet").frame
    )


def test_parquet_named_index_becomes_a_column(tmp_path: Path) -> None:
    frame = pd.DataFrame({"amount": [1.0, 2.0]}, index=pd.Index(["a", "b"], name="customer_id"))
    path = tmp_path / "indexed.parquet"
    frame.to_parquet(path)
    table = load_table(path)

    assert list(table.frame.columns) == ["customer_id", "amount"]
    assert isinstance(table.frame.index, pd.RangeIndex)
    assert "'customer_id' was turned into a column" in table.notes[0]


def test_parquet_row_limit_uses_the_metadata(tmp_path: Path) -> None:
    path = tmp_path / "orders.parquet"
    pd.DataFrame({"customer_id": [f"{i}" for i in range(50)], "amount": range(50)}).to_parquet(path)
    with pytest.raises(DataError, match="50 data rows, more than the 10"):
        load_table(path, limits=LoadLimits(max_rows=10))


def test_parquet_duplicate_columns_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "dup.parquet"
    pq.write_table(pa.table([pa.array([1]), pa.array(["x"])], names=["Amount", "amount"]), path)
    with pytest.raises(DataError, match=r"'Amount', 'amount' in columns 1 \(A\) and 2 \(B\)"):
        load_table(path)


def test_damaged_parquet_is_refused(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="could not be read as a Parquet file"):
        load_table(write(tmp_path, "broken.parquet", b"PAR1" + b"\x00garbage" * 20))


# --- header checks -----------------------------------------------------------------------


def test_unnamed_column_with_data_is_named_and_noted(tmp_path: Path) -> None:
    text = "customer_id,amount,,channel\n00001,5,x,web\n00002,6,y,shop\n"
    table = load_table(write(tmp_path, "unnamed.csv", text.encode()))

    assert list(table.frame.columns) == ["customer_id", "amount", "column_3", "channel"]
    assert table.notes == ("column 3 (C) had no header and was named 'column_3'",)


def test_empty_trailing_columns_are_removed_and_noted(tmp_path: Path) -> None:
    text = "customer_id,amount,,\n00001,5,,\n00002,6,,\n"
    table = load_table(write(tmp_path, "trailing.csv", text.encode()))

    assert list(table.frame.columns) == ["customer_id", "amount"]
    assert table.notes == ("2 empty trailing columns were removed (columns 3 (C) and 4 (D))",)


def test_no_header_row_is_refused(tmp_path: Path) -> None:
    text = "00001,2023-01-05,12.50\n00002,2023-01-06,7.00\n"
    with pytest.raises(DataError, match=r"looks like data, not column names.*Add a header row"):
        load_table(write(tmp_path, "noheader.csv", text.encode()))


def test_workbook_header_of_numbers_is_refused() -> None:
    rows: list[list[object]] = [[2021, 2022, dt.datetime(2023, 1, 1)], [1, 2, 3]]
    with pytest.raises(DataError, match=r"Row 1 of sheet 'Data' of 'years.xlsx' looks like data"):
        load_table(workbook_bytes({"Data": rows}), file_name="years.xlsx")


def test_empty_sheet_is_refused() -> None:
    data = workbook_bytes({"Orders": [], "Other": [["a", "b"], [1, 2]]})
    with pytest.raises(DataError, match=r"sheet 'Orders' of 'book.xlsx' is empty"):
        load_table(data, file_name="book.xlsx")


def test_header_cut_short_by_a_trailing_delimiter_names_the_row(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"Row 2 .* has 3 fields but the header has 4"):
        load_table(write(tmp_path, "extra.csv", b"id,date,amount,\n1,2023-01-01,5\n"))


def test_duplicate_column_names_are_refused_with_positions(tmp_path: Path) -> None:
    text = "customer_id,Amount,date, amount \n1,2,3,4\n"
    with pytest.raises(
        DataError, match=r"unique[\s\S]*'Amount', 'amount' in columns 2 \(B\) and 4 \(D\)"
    ):
        load_table(write(tmp_path, "dup.csv", text.encode()))


def test_header_without_data_rows_is_refused(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="no data rows"):
        load_table(write(tmp_path, "header_only.csv", b"customer_id,date,amount\n"))
    with pytest.raises(DataError, match="no data rows"):
        load_table(write(tmp_path, "header_blank.csv", b"customer_id,date,amount\n,,\n\n"))


def test_row_with_too_many_fields_names_the_row(tmp_path: Path) -> None:
    text = "customer_id,date,amount\n1,2023-01-01,5\n2,2023-01-02,1,234.50\n"
    with pytest.raises(
        DataError, match=r"Row 3 of 'ragged.csv' has 4 fields but the header has 3.*quotes"
    ):
        load_table(write(tmp_path, "ragged.csv", text.encode()))


def test_row_with_too_few_fields_names_the_row(tmp_path: Path) -> None:
    text = "customer_id,date,amount\n1,2023-01-01,5\n2,2023-01-02\n"
    with pytest.raises(DataError, match=r"Row 3 .* has 2 fields but the header has 3"):
        load_table(write(tmp_path, "short.csv", text.encode()))


def test_ragged_row_far_into_a_large_file_is_numbered(tmp_path: Path) -> None:
    data = many_rows_csv(60_000) + b"60000,1,2,3,4\n" + many_rows_csv(10).split(b"\n", 1)[1]
    with pytest.raises(DataError, match=r"Row 60,002 .* has 5 fields"):
        load_table(write(tmp_path, "big_ragged.csv", data))


def test_whitespace_ragged_row_names_the_line(tmp_path: Path) -> None:
    text = "id date amount\n1 20230101 5\n2 20230102 5 extra\n"
    with pytest.raises(DataError, match=r"Row 3 .* has 4 fields but the header has 3"):
        load_table(write(tmp_path, "ragged.txt", text.encode()))


# --- title rows above the column names ---------------------------------------------------

REPORT_TITLE = "Sales report 2023 – exported 2024-01-05 by ERP"


def sheet_with_cells(cells: dict[str, object], merged: str | None = None) -> bytes:
    """An .xlsx file whose first sheet has the given cells (e.g. {"A3": "id"}) as bytes."""
    workbook = openpyxl.Workbook()
    worksheet = workbook.active
    assert worksheet is not None
    for coordinate, value in cells.items():
        worksheet[coordinate] = value
    if merged is not None:
        worksheet.merge_cells(merged)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def test_table_without_a_preamble_has_its_header_in_row_1(tmp_path: Path) -> None:
    text_table = load_table(write(tmp_path, "orders.csv", ORDERS_CSV.encode()))
    sheet_table = load_table(workbook_bytes(WORKBOOK_SHEETS), file_name="book.xlsx")
    frame = pd.DataFrame({"customer_id": ["00001"], "amount": [1.0]})
    frame.to_parquet(tmp_path / "orders.parquet")
    parquet_table = load_table(tmp_path / "orders.parquet")

    for table in (text_table, sheet_table, parquet_table):
        assert (table.header_row, table.first_data_row) == (1, 2)
        assert not any("above the column names" in note for note in table.notes)


def test_loaded_table_built_by_keyword_defaults_to_header_row_1() -> None:
    table = LoadedTable(
        frame=pd.DataFrame({"a": [1]}),
        source_name="x.csv",
        file_format="csv",
        encoding="utf-8",
        delimiter=",",
        sheet_name=None,
        notes=(),
    )

    assert (table.header_row, table.first_data_row) == (1, 2)


def test_workbook_title_and_empty_row_above_the_header_are_skipped() -> None:
    rows: list[list[object]] = [
        [REPORT_TITLE],
        [],
        ["customer_id", "order_date", "amount"],
        ["00001", dt.datetime(2023, 1, 5, 10, 0), 12.5],
        ["00002", dt.datetime(2023, 1, 6), 7],
    ]
    table = load_table(workbook_bytes({"Report": rows}), file_name="report.xlsx")

    assert (table.header_row, table.first_data_row) == (3, 4)
    assert list(table.frame.columns) == ["customer_id", "order_date", "amount"]
    assert column_values(table, "customer_id") == ["00001", "00002"]
    assert pd.api.types.is_datetime64_any_dtype(table.frame["order_date"])
    assert table.frame["order_date"].iloc[0] == pd.Timestamp("2023-01-05 10:00")
    assert table.frame["amount"].tolist() == [12.5, 7.0]
    assert table.notes == (
        f"rows 1-2 above the column names were skipped (title: '{REPORT_TITLE}')",
    )


def test_workbook_merged_title_and_export_line_are_skipped() -> None:
    data = sheet_with_cells(
        {
            "A1": "Umsatz nach Kunde",
            "A2": "Exported on 2024-01-05 by ERP",
            "A3": "kunde",
            "B3": "datum",
            "C3": "betrag",
            "A4": "K-1",
            "B4": dt.date(2023, 1, 5),
            "C4": 12.5,
            "A5": "K-2",
            "C5": 3,
        },
        merged="A1:C1",
    )
    table = load_table(data, file_name="umsatz.xlsx")

    assert table.header_row == 3
    assert list(table.frame.columns) == ["kunde", "datum", "betrag"]
    assert column_values(table, "kunde") == ["K-1", "K-2"]
    assert column_values(table, "betrag") == [12.5, 3]
    assert table.notes == (
        "rows 1-2 above the column names were skipped (title: 'Umsatz nach Kunde')",
    )


def test_workbook_empty_rows_above_the_header_are_skipped() -> None:
    data = sheet_with_cells({"A3": "customer_id", "B3": "amount", "A4": "00001", "B4": 5})
    table = load_table(data, file_name="low.xlsx")

    assert table.header_row == 3
    assert column_values(table, "amount") == [5]
    assert table.notes == ("rows 1-2 above the column names were skipped (empty)",)


def test_long_title_is_shortened_in_the_note() -> None:
    title = "Quarterly revenue by customer " * 5
    rows: list[list[object]] = [[title], ["customer_id", "amount"], ["00001", 1]]
    table = load_table(workbook_bytes({"Report": rows}), file_name="report.xlsx")

    quoted = table.notes[0].split("title: '")[1].rstrip("')")
    assert table.notes[0].startswith("row 1 above the column names was skipped (title: 'Q")
    assert len(quoted) == 80
    assert quoted.endswith("…")


def test_workbook_title_above_data_without_column_names_is_refused() -> None:
    rows: list[list[object]] = [["Sales report 2023"], [1, 2, 3], [4, 5, 6]]
    with pytest.raises(
        DataError,
        match=r"Row 1 .* single filled cell \('Sales report 2023'\).*title.*no row of column "
        r"names was found below it in the first 25 rows",
    ):
        load_table(workbook_bytes({"Report": rows}), file_name="report.xlsx")


def test_workbook_empty_rows_above_data_without_column_names_are_refused() -> None:
    data = sheet_with_cells({"A3": 1, "B3": 2, "A4": 3, "B4": 4})
    with pytest.raises(
        DataError,
        match=r"Row 1 of sheet 'Sheet' of 'low.xlsx' is empty, and no row of column names "
        r"was found in the first 25 rows.*first row with values is row 3",
    ):
        load_table(data, file_name="low.xlsx")


def test_workbook_preamble_longer_than_the_search_is_refused() -> None:
    rows: list[list[object]] = [
        ["Sales report 2023"],
        *([f"note {i}"] for i in range(30)),
        ["customer_id", "order_date", "amount"],
        ["00001", "2023-01-05", 12.5],
    ]
    with pytest.raises(DataError, match=r"no row of column names .* in the first 25 rows"):
        load_table(workbook_bytes({"Report": rows}), file_name="report.xlsx")


def test_workbook_row_limit_counts_data_rows_below_the_title() -> None:
    rows: list[list[object]] = [
        ["Orders export"],
        ["customer_id", "amount"],
        *([f"{i:05d}", i] for i in range(20)),
    ]
    data = workbook_bytes({"Orders": rows})
    with pytest.raises(DataError, match="more than 10 data rows"):
        load_table(data, file_name="book.xlsx", limits=LoadLimits(max_rows=10))
    assert load_table(data, file_name="book.xlsx", limits=LoadLimits(max_rows=20)).n_rows == 20


ALIPAY_PREAMBLE = (
    "支付宝交易记录明细查询\n"
    "账号:[20880012345678900156]\n"
    "起始日期:[2024-01-01 00:00:00]    终止日期:[2024-03-31 23:59:59]\n"
)
ALIPAY_TABLE = "交易号,交易创建时间,交易对方,商品名称,金额（元）\n" + "".join(
    f"2024{i:06d},2024-01-{i % 28 + 1:02d} 10:00:00,{shop},{item},{i * 1.5:.2f}\n"
    for i, (shop, item) in enumerate(
        [("天猫超市", "洗衣液"), ("淘宝店铺", "手机壳"), ("饿了么", "午餐外卖")] * 15
    )
)


def test_gb18030_alipay_bill_with_account_lines_above_the_header(tmp_path: Path) -> None:
    table = load_table(
        write(tmp_path, "alipay.csv", (ALIPAY_PREAMBLE + ALIPAY_TABLE).encode("gb18030"))
    )

    assert (table.encoding, table.delimiter) == ("gb18030", ",")
    assert (table.header_row, table.first_data_row) == (4, 5)
    assert list(table.frame.columns) == [
        "交易号",
        "交易创建时间",
        "交易对方",
        "商品名称",
        "金额（元）",
    ]
    assert table.n_rows == 45
    assert column_values(table, "交易对方")[:3] == ["天猫超市", "淘宝店铺", "饿了么"]
    assert column_values(table, "金额（元）")[:2] == ["0.00", "1.50"]
    assert table.notes == (
        "rows 1-3 above the column names were skipped (title: '支付宝交易记录明细查询')",
    )


def test_gzip_csv_with_a_title_line(tmp_path: Path) -> None:
    data = gzip.compress(f"{REPORT_TITLE}\n{ORDERS_CSV}".encode())
    table = load_table(write(tmp_path, "orders.csv.gz", data))

    assert table.header_row == 2
    assert column_values(table, "customer_id") == ["00001", "00002", "00001"]
    assert table.notes == (f"row 1 above the column names was skipped (title: '{REPORT_TITLE}')",)


@pytest.mark.parametrize("title", ["Umsatzbericht 2023", "Umsatzbericht Januar, 2023"])
def test_semicolon_csv_with_a_title_line(tmp_path: Path, title: str) -> None:
    text = (
        f"{title}\n\nkunde;datum;betrag\n"
        "00001;05.01.2023;12,50\n00002;06.01.2023;7,00\n00003;07.01.2023;3\n"
    )
    table = load_table(write(tmp_path, "umsatz.csv", text.encode("cp1252")))

    assert table.delimiter == ";"
    assert table.header_row == 3
    assert column_values(table, "betrag") == ["12,50", "7,00", "3"]
    assert table.notes == (f"rows 1-2 above the column names were skipped (title: '{title}')",)


def test_title_row_with_empty_fields_in_text_is_skipped(tmp_path: Path) -> None:
    text = "Sales report 2023,,\ncustomer_id,order_date,amount\n00001,2023-01-05,12.5\n"
    table = load_table(write(tmp_path, "report.csv", text.encode()))

    assert table.header_row == 2
    assert list(table.frame.columns) == ["customer_id", "order_date", "amount"]
    assert column_values(table, "amount") == ["12.5"]


def test_blank_lines_above_the_header_in_text_are_skipped(tmp_path: Path) -> None:
    table = load_table(write(tmp_path, "blank_top.csv", b"\n\nid,amount\n1,2\n"))

    assert table.header_row == 3
    assert column_values(table, "amount") == ["2"]
    assert table.notes == ("rows 1-2 above the column names were skipped (empty)",)


def test_title_in_a_tab_separated_utf16_export(tmp_path: Path) -> None:
    text = "Report\r\n\r\ncustomer_id\tname\r\n1\tJosé\r\n2\t王芳\r\n"
    table = load_table(write(tmp_path, "unicode.txt", text.encode("utf-16")))

    assert (table.delimiter, table.header_row) == ("\t", 3)
    assert column_values(table, "name") == ["José", "王芳"]


def test_title_above_a_whitespace_separated_table(tmp_path: Path) -> None:
    text = "CDNOW\n\ncustomer_id  date      amount\n00001        19970101  5\n00002  19970102\n"
    table = load_table(write(tmp_path, "fixed.dat", text.encode()))

    assert (table.delimiter, table.header_row) == ("whitespace", 3)
    assert column_values(table, "amount") == ["5", None]


def test_data_rows_below_a_title_keep_their_line_numbers(tmp_path: Path) -> None:
    text = "Report\ncustomer_id,amount\n1,10\n\n3,30\n"
    table = load_table(write(tmp_path, "gap.csv", text.encode()))

    # Data row i is line first_data_row + i: the blank line 4 is data row 1.
    assert table.first_data_row == 3
    assert column_values(table, "customer_id") == ["1", None, "3"]


def test_quoted_title_spanning_two_lines_is_skipped(tmp_path: Path) -> None:
    text = '"Sales report\n2023"\ncustomer_id,amount\n1,10\n'
    table = load_table(write(tmp_path, "report.csv", text.encode()))

    assert table.header_row == 3
    assert table.notes == (
        "rows 1-2 above the column names were skipped (title: 'Sales report 2023')",
    )


@pytest.mark.parametrize(
    ("name", "text", "line"),
    [
        ("ragged.csv", "Report\n\ncustomer_id,amount\n1,10\n2,20,30\n", 5),
        ("ragged.txt", "Report\n\ncustomer_id amount\n1 10\n2 20 30\n", 5),
        # A two-line title makes the header line 3; the quoted line break in a value does
        # not start a new row, so the bad row is data row 1, row first_data_row + 1 = 5.
        ("quoted.csv", '"A\nB"\ncustomer_id,amount\n1,"x\ny"\n2,20,30\n', 5),
    ],
)
def test_ragged_row_below_a_title_names_its_line(
    tmp_path: Path, name: str, text: str, line: int
) -> None:
    with pytest.raises(
        DataError, match=rf"Row {line} of '{name}' has 3 fields but the header has 2"
    ):
        load_table(write(tmp_path, name, text.encode()))


def test_ragged_row_far_into_a_large_file_below_a_title_is_numbered(tmp_path: Path) -> None:
    data = b"Orders\n\n" + many_rows_csv(60_000) + b"60000,1,2,3,4\n"
    with pytest.raises(DataError, match=r"Row 60,004 .* has 5 fields"):
        load_table(write(tmp_path, "big_ragged.csv", data))


def test_row_limit_below_a_title_streams_and_counts_data_rows_only(tmp_path: Path) -> None:
    data = b"Orders\n\n" + many_rows_csv(60_000)
    assert len(data) > _SAMPLE_BYTES
    path = write(tmp_path, "many.csv", data)
    with pytest.raises(DataError, match="more than 1,000 data rows"):
        load_table(path, limits=LoadLimits(max_rows=1_000))
    table = load_table(path, limits=LoadLimits(max_rows=60_000))
    assert (table.n_rows, table.header_row) == (60_000, 3)
    assert table.frame["order_id"].iloc[-1] == "59999"


def test_header_messages_name_the_row_below_the_title(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"Column names in row 2 of 'dup.csv' must be unique"):
        load_table(write(tmp_path, "dup.csv", b"Report\ncustomer_id,Amount,amount\n1,2,3\n"))
    with pytest.raises(DataError, match=r"column names in row 3 but no data rows"):
        load_table(write(tmp_path, "header_only.csv", b"Report\n\ncustomer_id,amount\n"))


def test_text_of_single_values_only_is_refused(tmp_path: Path) -> None:
    text = "支付宝交易记录明细查询\n账号:[20880012345678900156]\n共0笔记录\n"
    with pytest.raises(DataError, match=r"only one column.*The first line reads: '支付宝"):
        load_table(write(tmp_path, "empty_bill.csv", text.encode()))


def test_title_above_data_without_column_names_in_text_is_refused(tmp_path: Path) -> None:
    text = "Sales report 2023\n00001,2023-01-05,12.50\n00002,2023-01-06,7.00\n"
    with pytest.raises(
        DataError,
        match=r"Line 2 of 'report.csv', the first line with several values, does not look "
        r"like the column names.*00001, 2023-01-05, 12.50",
    ):
        load_table(write(tmp_path, "report.csv", text.encode()))


def test_column_names_are_found_up_to_row_25() -> None:
    text = "".join(f"note_{i}\n" for i in range(24)) + ORDERS_CSV
    rows: list[list[object]] = [
        *([f"note {i}"] for i in range(24)),
        ["customer_id", "amount"],
        ["00001", 1],
    ]

    assert load_table(text.encode(), file_name="notes.csv").header_row == 25
    assert load_table(workbook_bytes({"Notes": rows}), file_name="notes.xlsx").header_row == 25


def test_text_preamble_longer_than_the_search_is_refused(tmp_path: Path) -> None:
    text = "Sales report 2023\n" + "".join(f"note_{i}\n" for i in range(30)) + ORDERS_CSV
    with pytest.raises(
        DataError,
        match=r"column names of 'notes.csv' were not found in the first 25 lines.*line 32 "
        r"\(order_id, customer_id, order_date, amount\).*Delete the lines above",
    ):
        load_table(write(tmp_path, "notes.csv", text.encode()))


# --- files that are not tables -----------------------------------------------------------


def test_empty_and_blank_files_are_refused(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"empty \(0 bytes\)"):
        load_table(write(tmp_path, "empty.csv", b""))
    with pytest.raises(DataError, match="only blank space"):
        load_table(write(tmp_path, "blank.csv", b"  \r\n\n \t\n"))
    with pytest.raises(DataError, match="empty"):
        load_table(b"", file_name="upload.csv")


def test_old_xls_is_refused_with_advice(tmp_path: Path) -> None:
    data = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600
    with pytest.raises(DataError, match=r"old binary Excel file \(.xls\).*save it as .xlsx"):
        load_table(write(tmp_path, "legacy.xls", data))


@pytest.mark.parametrize(
    ("name", "data", "pattern"),
    [
        ("scan.pdf", b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj", "PDF document, not a table"),
        ("chart.png", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "PNG image, not a table"),
        ("photo.csv", b"\xff\xd8\xff\xe0\x00\x10JFIF", "JPEG image, not a table"),
        ("data.csv", b"id,amount\n1,\x00\x00\x01\x02", "binary data, not a table"),
        ("model.bin", b"\x00\x01\x02\x03binary", "not a table.*Supported formats"),
    ],
)
def test_binary_files_are_refused(tmp_path: Path, name: str, data: bytes, pattern: str) -> None:
    with pytest.raises(DataError, match=pattern):
        load_table(write(tmp_path, name, data))


def test_zip_that_is_not_a_workbook_is_refused(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("readme.md", "hello")
    with pytest.raises(
        DataError, match="zip archive that is not an Excel workbook, so it is not a table"
    ):
        load_table(write(tmp_path, "bundle.xlsx", buffer.getvalue()))

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("orders.csv", ORDERS_CSV)
    with pytest.raises(DataError, match=r"Extract the table.*orders.csv"):
        load_table(write(tmp_path, "orders.zip", buffer.getvalue()))


def test_html_disguised_as_xls_is_refused(tmp_path: Path) -> None:
    data = b"<html><body><table><tr><td>id</td></tr></table></body></html>"
    with pytest.raises(DataError, match="HTML or XML document"):
        load_table(write(tmp_path, "export.xls", data))


def test_missing_file_and_folder_are_refused(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="File not found"):
        load_table(tmp_path / "nope.csv")
    with pytest.raises(DataError, match="is a folder"):
        load_table(tmp_path)


# --- limits ------------------------------------------------------------------------------


def test_max_bytes_is_checked_before_parsing() -> None:
    data = b"\x00" * 5000  # would be refused as binary if it were parsed
    with pytest.raises(
        DataError, match=r"4.9 KB, larger than the 1.0 KB limit.*filtered.*--max-file-mb"
    ):
        load_table(data, file_name="big.csv", limits=LoadLimits(max_bytes=1024))


def test_max_rows_small_file(tmp_path: Path) -> None:
    path = write(tmp_path, "orders.csv", ORDERS_CSV.encode())
    with pytest.raises(DataError, match="3 data rows, more than the 2 that can be loaded"):
        load_table(path, limits=LoadLimits(max_rows=2))
    assert load_table(path, limits=LoadLimits(max_rows=3)).n_rows == 3


def test_max_rows_large_file_stops_early(tmp_path: Path) -> None:
    data = many_rows_csv(60_000)
    path = write(tmp_path, "many.csv", data)
    with pytest.raises(DataError, match="more than 1,000 data rows"):
        load_table(path, limits=LoadLimits(max_rows=1_000))
    with pytest.raises(DataError, match="more than 1,000 data rows"):
        load_table(gzip.compress(data), file_name="many.csv.gz", limits=LoadLimits(max_rows=1_000))
    assert load_table(path, limits=LoadLimits(max_rows=60_000)).n_rows == 60_000


def test_max_rows_whitespace_file() -> None:
    with pytest.raises(DataError, match="more than 100 data rows"):
        load_table(CDNOW_PATH, limits=LoadLimits(max_rows=100))


def test_limits_must_be_positive() -> None:
    with pytest.raises(ConfigError, match="max_rows must be a positive whole number"):
        LoadLimits(max_rows=0)
    with pytest.raises(ConfigError, match="max_bytes must be a positive whole number"):
        LoadLimits(max_bytes=-5)


# --- properties --------------------------------------------------------------------------

CELL_TEXT = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cs", "Cc", "Zl", "Zp")),
    min_size=1,
    max_size=12,
).filter(
    lambda text: (
        text.strip() == text
        and text not in {"NA", "N/A", "NULL", "null", "None", "nan", "NaN", "#N/A"}
    )
)


@settings(max_examples=40, deadline=None)
@given(
    delimiter=st.sampled_from([",", ";", "\t", "|"]),
    rows=st.lists(
        st.tuples(st.from_regex(r"0\d{4}", fullmatch=True), CELL_TEXT), min_size=1, max_size=8
    ),
)
def test_written_csv_reads_back_unchanged(delimiter: str, rows: list[tuple[str, str]]) -> None:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow(["customer_id", "comment"])
    writer.writerows(rows)
    table = load_table(buffer.getvalue().encode(), file_name="orders.csv")

    assert table.delimiter == delimiter
    assert column_values(table, "customer_id") == [row[0] for row in rows]
    assert column_values(table, "comment") == [row[1] for row in rows]
    assert np.array_equal(table.frame.index.to_numpy(), np.arange(len(rows)))


def test_a_failed_allocation_while_inflating_is_memory_not_a_damaged_file() -> None:
    """zlib says "insufficient memory" with its own error; the reader must say memory."""
    import errno
    import zlib

    import pyarrow as pa

    from clv_core.loading.encoding import _raise_if_out_of_memory

    for error in (
        zlib.error("Error -4 while decompressing data: insufficient memory"),
        OSError(errno.ENOMEM, "Cannot allocate memory"),
        # Arrow under an address-space bound: a failed malloc, a thread without a stack.
        pa.ArrowInvalid("In CSV column #1: malloc of size 2207552 failed"),
        pa.ArrowException("Unknown error: Failed to launch worker thread: Resource temporarily"),
    ):
        with pytest.raises(MemoryError):
            _raise_if_out_of_memory(error)
    _raise_if_out_of_memory(zlib.error("Error -3 while decompressing data: invalid block type"))
    _raise_if_out_of_memory(pa.ArrowInvalid("CSV parse error: Expected 3 columns, got 4"))


# Every character Python's str.strip() removes, which is also Arrow's utf8_trim_whitespace set.
_ALL_WHITESPACE = "".join(chr(code) for code in range(0x3001) if chr(code).isspace())


def _trim_changes(column: pa.ChunkedArray | pa.Array, characters: str) -> bool:
    import pyarrow.compute as pc

    trimmed = pc.utf8_trim(column, characters=characters)
    return bool(pc.any(pc.not_equal(pc.binary_length(trimmed), pc.binary_length(column))).as_py())


@settings(max_examples=300, deadline=None)
@given(
    cells=st.lists(
        st.one_of(
            st.none(),
            st.text(
                alphabet=st.sampled_from("ab1. 中\u00a0\u3000\u2003\x1c\u0130K\u200b"), max_size=5
            ),
        ),
        max_size=12,
    ),
    split=st.integers(min_value=0, max_value=12),
    skip=st.integers(min_value=0, max_value=3),
    large=st.booleans(),
)
def test_the_edge_prefilter_never_misses_a_cell_that_trimming_changes(
    cells: list[str | None], split: int, skip: int, large: bool
) -> None:
    from clv_core.loading.cells import _CELL_WHITESPACE, may_have_edge

    kind = pa.large_string() if large else pa.string()
    whole = pa.array(cells, type=kind)
    # Chunks that are slices of one buffer (offsets not starting at 0), as readers make them.
    column = pa.chunked_array(
        [whole.slice(skip, max(split - skip, 0)), whole.slice(max(split, skip))], type=kind
    )
    for characters in (_CELL_WHITESPACE, _ALL_WHITESPACE):
        if _trim_changes(column, characters):
            assert may_have_edge(column, characters)


def test_the_edge_prefilter_clears_clean_columns_and_defers_on_other_types() -> None:
    from clv_core.loading.cells import _CELL_WHITESPACE, may_have_edge

    clean = pa.chunked_array(
        [pa.array(["C001", None, "", "2024-01-05 10:00:00"]), pa.array([], pa.string())]
    )
    assert not may_have_edge(clean, _CELL_WHITESPACE)
    assert not may_have_edge(clean, _ALL_WHITESPACE)
    # Empty cells without nulls first, between and last, also in a slice of a longer buffer.
    empties = pa.array(["", "C001", "", "", "客户", "", " x", "y", ""])
    for column in (empties.slice(0, 6), empties.slice(2, 3), empties.slice(8)):
        assert not may_have_edge(column, _ALL_WHITESPACE)
    assert may_have_edge(empties, _ALL_WHITESPACE)
    assert may_have_edge(empties.slice(5, 2), _ALL_WHITESPACE)
    assert may_have_edge(pa.array(["C001", "C002\u3000"]), _CELL_WHITESPACE)
    assert may_have_edge(pa.array(["\u2003C001"]), _ALL_WHITESPACE)
    # A null slot whose bytes are whitespace is not a cell.
    padded_null = pa.Array.from_buffers(
        pa.string(),
        2,
        [
            pa.py_buffer(np.packbits([0, 1], bitorder="little").tobytes()),
            pa.py_buffer(np.array([0, 1, 2], dtype=np.int32).tobytes()),
            pa.py_buffer(b" x"),
        ],
        null_count=1,
    )
    assert not may_have_edge(padded_null, _CELL_WHITESPACE)
    assert may_have_edge(pa.array([b"x "], type=pa.binary()), _CELL_WHITESPACE)


def test_a_long_cell_of_multibyte_characters_is_measured_in_characters(tmp_path: Path) -> None:
    # 30 Chinese characters are 90 bytes: within a 40-character limit although over 40 bytes.
    path = tmp_path / "long.csv"
    path.write_text("customer_id,order_date,amount,note\nC1,2024-01-05,12.50," + "中" * 30 + "\n")
    loaded = load_table(path, limits=LoadLimits(max_cell_chars=40))
    assert loaded.frame.iloc[0, 3] == "中" * 30
    with pytest.raises(DataError, match="31 characters"):
        path.write_text(
            "customer_id,order_date,amount,note\nC1,2024-01-05,12.50," + "中" * 31 + "\n"
        )
        load_table(path, limits=LoadLimits(max_cell_chars=30))
