"""The scored list, segment filters, formula neutralisation and CSV/XLSX round trips."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clv_core.errors import ConfigError, DataError
from clv_core.export import (
    DRIVER_COLUMNS,
    build_scored_list,
    filter_segments,
    neutralise_formulas,
    neutralise_text,
    read_scored_csv,
    read_scored_xlsx,
    restore_formulas,
    restore_text,
    to_csv_bytes,
    to_xlsx_bytes,
    write_export,
)
from clv_core.segments import segment_customers

BOM = b"\xef\xbb\xbf"
TRICKY_TEXT = [
    "=1+1",
    "+1",
    "-abc",
    "@x",
    "\tx",
    "\rx",
    "'=x",
    "''-x",
    "'plain",
    "a=b",
    "00001",
    "上海市",
    'say "hi", ok',
    "line\nbreak",
    '=HYPERLINK("http://example.com","点击")',
    " padded ",
]


@pytest.fixture
def segmented() -> pd.DataFrame:
    rng = np.random.default_rng(21)
    n_customers = len(TRICKY_TEXT)
    scored = pd.DataFrame(
        {
            "customer_id": [f"{number:05d}" for number in range(n_customers)],
            "predicted_clv": np.round(rng.lognormal(3, 1, n_customers), 4) - 5.0,
            "p_purchase": rng.random(n_customers),
            "clv_lower": rng.random(n_customers),
            "clv_upper": rng.random(n_customers) + 100,
        }
    )
    return segment_customers(scored, horizon_days=90, language="zh")


@pytest.fixture
def attributes(segmented: pd.DataFrame) -> pd.DataFrame:
    ids = sorted(segmented["customer_id"])
    return pd.DataFrame(
        {
            "customer_id": ids,
            "region": TRICKY_TEXT,
            "browsing_minutes": np.linspace(-3.5, 40.25, len(ids)),
            "orders": np.arange(len(ids)),
            "member": [index % 2 == 0 for index in range(len(ids))],
        }
    )


@pytest.fixture
def scored_list(segmented: pd.DataFrame, attributes: pd.DataFrame) -> pd.DataFrame:
    drivers = pd.DataFrame(
        {
            "driver_1": ["-net_spend 120.5"] * len(segmented),
            "driver_2": ["购买次数 +3"] * len(segmented),
            "driver_3": ["=days_since_last_purchase"] * len(segmented),
        },
        index=pd.Index(segmented["customer_id"], name="customer_id"),
    )
    return build_scored_list(
        segmented,
        drivers,
        attributes,
        passthrough=["region", "browsing_minutes", "orders", "member"],
    )


def _as_plain(frame: pd.DataFrame) -> pd.DataFrame:
    """Categoricals as text, as they come back from a file."""
    plain = frame.copy()
    for column in plain.columns:
        if isinstance(plain[column].dtype, pd.CategoricalDtype):
            plain[column] = plain[column].astype("str")
    return plain


# --- The scored list --------------------------------------------------------------------------


def test_scored_list_has_the_documented_column_order(scored_list: pd.DataFrame) -> None:
    assert list(scored_list.columns) == [
        "customer_id",
        "predicted_clv",
        "clv_lower",
        "clv_upper",
        "p_purchase",
        "rank",
        "percentile",
        "tier",
        "churn_band",
        "action",
        *DRIVER_COLUMNS,
        "region",
        "browsing_minutes",
        "orders",
        "member",
    ]
    assert scored_list["rank"].tolist() == list(range(1, len(scored_list) + 1))


def test_scored_list_aligns_attributes_by_customer_id(
    scored_list: pd.DataFrame, attributes: pd.DataFrame
) -> None:
    expected = attributes.set_index("customer_id")["region"]
    got = scored_list.set_index("customer_id")["region"]
    assert got.reindex(expected.index).tolist() == expected.tolist()


def test_scored_list_takes_fewer_drivers_and_leaves_unexplained_customers_empty(
    segmented: pd.DataFrame,
) -> None:
    explained = segmented["customer_id"].iloc[:3]
    drivers = pd.DataFrame(
        {"customer_id": explained, "driver_1": ["a", "b", "c"], "driver_2": ["d", "e", "f"]}
    )
    scored_list = build_scored_list(segmented, drivers)
    assert list(scored_list.columns[-2:]) == ["driver_1", "driver_2"]
    assert scored_list["driver_1"].tolist()[:3] == ["a", "b", "c"]
    assert scored_list["driver_1"].iloc[3:].isna().all()


def test_scored_list_without_optional_columns(segmented: pd.DataFrame) -> None:
    plain = segmented.drop(columns=["p_purchase", "clv_lower", "clv_upper"])
    assert list(build_scored_list(plain).columns) == [
        "customer_id",
        "predicted_clv",
        "rank",
        "percentile",
        "tier",
        "churn_band",
        "action",
    ]


def test_scored_list_errors_name_the_columns(
    segmented: pd.DataFrame, attributes: pd.DataFrame
) -> None:
    with pytest.raises(DataError, match=r"Unknown passthrough column\(s\) \['city'\]; available"):
        build_scored_list(segmented, attributes=attributes, passthrough=["city"])
    with pytest.raises(DataError, match=r"available columns are \['region', 'browsing_minutes'"):
        build_scored_list(segmented, attributes=attributes, passthrough=["city"])
    with pytest.raises(DataError, match=r"\['tier'\] would repeat a column"):
        build_scored_list(segmented, attributes=attributes.assign(tier="x"), passthrough=["tier"])
    with pytest.raises(DataError, match=r"The drivers need the columns driver_1 .* they have \["):
        build_scored_list(segmented, drivers=pd.DataFrame({"driver_2": [], "driver_3": []}))
    with pytest.raises(DataError, match=r"lacks the column\(s\) \['rank', 'percentile'"):
        build_scored_list(segmented.drop(columns=["rank", "percentile"]))


# --- Filters ----------------------------------------------------------------------------------


def test_filters_combine_within_and_across_arguments(segmented: pd.DataFrame) -> None:
    top = filter_segments(segmented, tiers="高价值")
    assert len(top) == (segmented["tier"] == "高价值").sum() and len(top) > 0
    two = filter_segments(segmented, tiers=["高价值", "潜力"], bands=["低", "中", "高"])
    assert len(two) == segmented["tier"].isin(["高价值", "潜力"]).sum()
    at_risk = filter_segments(segmented, tiers=["一般"], bands=["高"])
    mask = (segmented["tier"] == "一般") & (segmented["churn_band"] == "高")
    assert at_risk["customer_id"].tolist() == segmented.loc[mask, "customer_id"].tolist()
    assert filter_segments(segmented, tiers=[], actions=None).equals(segmented)
    win_back = filter_segments(segmented, actions=["立即挽回"])
    assert set(win_back["action"]) <= {"立即挽回"}


def test_filter_errors_list_the_valid_names(segmented: pd.DataFrame) -> None:
    with pytest.raises(ConfigError, match="Unknown segment name") as caught:
        filter_segments(segmented, tiers=["High value"], bands=["Low"])
    problems = caught.value.problems
    assert problems[0].startswith("tiers: ['High value'] not found; choose from ['高价值'")
    assert problems[1] == "bands: ['Low'] not found; choose from ['低', '中', '高']"
    with pytest.raises(DataError, match="the list has no 'churn_band' column"):
        filter_segments(segmented.drop(columns="churn_band"), bands=["低"])


# --- Formula neutralisation -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "safe"),
    [
        ("=1+1", "'=1+1"),
        ("+1", "'+1"),
        ("-abc", "'-abc"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("'=x", "''=x"),
        ("''-x", "'''-x"),
        ("'plain", "'plain"),
        ("'", "'"),
        ("a=b", "a=b"),
        ("", ""),
        ("高价值", "高价值"),
    ],
)
def test_text_cells_are_neutralised_and_restored(text: str, safe: str) -> None:
    assert neutralise_text(text) == safe
    assert restore_text(safe) == text


def test_numbers_dates_and_categories_in_a_frame() -> None:
    frame = pd.DataFrame(
        {
            "=header": ["=cmd", "ok"],
            "money": [-5.0, 3.0],
            "mixed": pd.Series([-7, "-7"], dtype=object),
            "segment": pd.Categorical(["@a", "b"]),
            "when": pd.to_datetime(["2024-01-01", "2024-02-01"]),
        }
    )
    safe = neutralise_formulas(frame)
    assert list(safe.columns) == ["'=header", "money", "mixed", "segment", "when"]
    assert safe["'=header"].tolist() == ["'=cmd", "ok"]
    assert safe["money"].dtype == np.float64 and safe["money"].tolist() == [-5.0, 3.0]
    assert safe["mixed"].tolist() == [-7, "'-7"]
    assert list(safe["segment"].cat.categories) == ["'@a", "b"]
    assert safe["when"].equals(frame["when"])
    assert frame["=header"].tolist() == ["=cmd", "ok"]  # the input is not changed
    pd.testing.assert_frame_equal(restore_formulas(safe), frame)


@settings(max_examples=200, deadline=None)
@given(
    texts=st.lists(
        st.text(
            # Surrogates are not text a file can hold (pyarrow strings reject them).
            alphabet=st.sampled_from("'=+-@\t\rab上 ")
            | st.characters(blacklist_categories=("Cs",)),
            max_size=8,
        ),
        min_size=1,
        max_size=6,
    )
)
def test_restore_inverts_neutralise_for_any_text(texts: list[str]) -> None:
    for dtype in ("str", object):
        frame = pd.DataFrame({"text": pd.Series(texts, dtype=dtype)})
        safe = neutralise_formulas(frame)
        pd.testing.assert_frame_equal(restore_formulas(safe), frame)
        for cell in safe["text"]:
            assert not cell[:1] or cell[0] not in "=+-@\t\r"


# --- CSV --------------------------------------------------------------------------------------


@pytest.mark.parametrize("excel_bom", [True, False])
def test_csv_round_trip(scored_list: pd.DataFrame, excel_bom: bool) -> None:
    data = to_csv_bytes(scored_list, excel_bom=excel_bom)
    assert data.startswith(BOM) == excel_bom
    back = read_scored_csv(data)
    pd.testing.assert_frame_equal(back, _as_plain(scored_list), check_exact=False, rtol=1e-12)
    assert back["customer_id"].iloc[0].startswith("0")


def test_csv_is_neutralised_and_keeps_chinese(scored_list: pd.DataFrame) -> None:
    data = to_csv_bytes(scored_list)
    text = data.decode("utf-8-sig")
    assert "上海市" in text and "高价值" in text and "购买次数 +3" in text
    assert "'=1+1" in text and "'=days_since_last_purchase" in text
    assert "'-net_spend 120.5" in text
    # Negative numbers stay plain numbers.
    assert ",-3.5," in text
    for line in text.split("\r\n"):
        for cell in line.split(","):
            assert not cell[:1] or cell[0] not in "=+-@" or cell[1:2].isdigit()


@settings(max_examples=150, deadline=None)
@given(
    texts=st.lists(
        st.text(
            alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00")
            | st.sampled_from("'=+-@\t\r\n,\"高"),
            min_size=1,
            max_size=10,
        ),
        min_size=1,
        max_size=5,
    )
)
def test_csv_round_trip_is_exact_for_any_text_in_text_columns(texts: list[str]) -> None:
    frame = pd.DataFrame({"customer_id": texts, "driver_1": texts[::-1]})
    for excel_bom in (True, False):
        back = read_scored_csv(to_csv_bytes(frame, excel_bom=excel_bom))
        assert back["customer_id"].tolist() == texts
        assert back["driver_1"].tolist() == texts[::-1]


def test_csv_types_other_columns_by_how_their_values_are_written() -> None:
    frame = pd.DataFrame(
        {
            "customer_id": ["1", "2", "3"],
            "zip_code": ["007", "010", "123"],
            "price_text": ["1.50", "2", "3"],
            "signed_text": ["-5", "6", "7"],
            "score": [1.5, -2.0, 1e-7],
            "count": [1, -2, 3],
            "flag": [True, False, True],
            "empty": [np.nan, np.nan, np.nan],
            "when": pd.to_datetime(["2024-01-01", "2024-02-01", "2024-03-01"]),
        }
    )
    back = read_scored_csv(to_csv_bytes(frame))
    assert back["customer_id"].tolist() == ["1", "2", "3"]  # ids are always text
    assert back["zip_code"].tolist() == ["007", "010", "123"]
    assert back["price_text"].tolist() == ["1.50", "2", "3"]
    # "-5" was neutralised, which marks the column as text.
    assert back["signed_text"].tolist() == ["-5", "6", "7"]
    assert back["score"].tolist() == [1.5, -2.0, 1e-7]
    assert back["count"].dtype == np.int64 and back["count"].tolist() == [1, -2, 3]
    assert back["flag"].dtype == bool and back["flag"].tolist() == [True, False, True]
    assert back["empty"].isna().all()
    assert back["when"].tolist() == ["2024-01-01", "2024-02-01", "2024-03-01"]


def test_csv_reading_errors() -> None:
    with pytest.raises(DataError, match="not UTF-8 text"):
        read_scored_csv("用户ID\n1".encode("gb18030"))
    with pytest.raises(DataError, match="not a readable CSV table"):
        read_scored_csv(b"")
    with pytest.raises(DataError, match="Column 'predicted_clv' should hold numbers"):
        read_scored_csv(b"customer_id,predicted_clv\r\na,lots\r\n")


# --- XLSX -------------------------------------------------------------------------------------


def test_xlsx_round_trip(scored_list: pd.DataFrame) -> None:
    back = read_scored_xlsx(to_xlsx_bytes(scored_list))
    expected = _as_plain(scored_list)
    pd.testing.assert_frame_equal(back, expected, check_exact=False, rtol=1e-12)
    assert sorted(back["region"]) == sorted(TRICKY_TEXT)


def test_xlsx_keeps_dates_booleans_and_empty_text_apart_from_missing() -> None:
    frame = pd.DataFrame(
        {
            "customer_id": ["a", "b"],
            "signup": pd.to_datetime(["2024-01-31 00:00", "2024-02-29 13:45"]),
            "member": [True, False],
            "note": ["", None],
        }
    )
    back = read_scored_xlsx(to_xlsx_bytes(frame))
    assert back["signup"].tolist() == frame["signup"].tolist()
    assert back["member"].tolist() == [True, False]
    assert back["note"].iloc[0] == "" and pd.isna(back["note"].iloc[1])


def test_xlsx_cells_are_text_or_numbers_never_formulas(scored_list: pd.DataFrame) -> None:
    workbook = openpyxl.load_workbook(io.BytesIO(to_xlsx_bytes(scored_list)))
    sheet = workbook["scored"]
    assert sheet.freeze_panes == "A2"
    assert sheet["A1"].value == "customer_id" and sheet["A1"].font.b
    types = {cell.data_type for row in sheet.iter_rows() for cell in row}
    assert "f" not in types
    headers = [cell.value for cell in sheet[1]]
    minutes = sheet.cell(row=2, column=headers.index("browsing_minutes") + 1)
    assert minutes.data_type == "n"
    values = [cell.value for row in sheet.iter_rows(min_row=2) for cell in row]
    assert "'=1+1" in values and "上海市" in values and "高价值" in values
    assert -3.5 in values
    assert sheet.column_dimensions["A"].width >= 11  # "customer_id" fits


def test_xlsx_keeps_injection_cases_and_chinese_exactly() -> None:
    frame = pd.DataFrame({"customer_id": TRICKY_TEXT, "名称": TRICKY_TEXT[::-1]})
    back = read_scored_xlsx(to_xlsx_bytes(frame, sheet_name="客户"), sheet_name="客户")
    assert back["customer_id"].tolist() == TRICKY_TEXT
    assert back["名称"].tolist() == TRICKY_TEXT[::-1]


def test_xlsx_errors() -> None:
    frame = pd.DataFrame({"a": [1]})
    with pytest.raises(ConfigError, match=r"sheet_name: 'a/b' is not a valid Excel sheet name"):
        to_xlsx_bytes(frame, sheet_name="a/b")
    with pytest.raises(DataError, match="not a readable Excel workbook"):
        read_scored_xlsx(b"not a zip")
    with pytest.raises(ConfigError, match=r"sheet_name: 'other' is not in the workbook; choose"):
        read_scored_xlsx(to_xlsx_bytes(frame), sheet_name="other")
    with pytest.raises(DataError, match="Excel cells hold at most 32767"):
        to_xlsx_bytes(pd.DataFrame({"note": ["x" * 40_000]}))


# --- Files ------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["list.csv", "list.xlsx", "LIST.XLSX"])
def test_write_export_chooses_the_format_by_suffix(
    scored_list: pd.DataFrame, tmp_path: Path, name: str
) -> None:
    path = tmp_path / name
    write_export(scored_list, path)
    data = path.read_bytes()
    back = read_scored_csv(data) if name.endswith(".csv") else read_scored_xlsx(data)
    pd.testing.assert_frame_equal(back, _as_plain(scored_list), check_exact=False, rtol=1e-12)


def test_write_export_errors(scored_list: pd.DataFrame, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"must end in one of \['.csv', '.xlsx'\]"):
        write_export(scored_list, tmp_path / "list.txt")
    with pytest.raises(DataError, match="Could not write the export to"):
        write_export(scored_list, tmp_path / "missing" / "list.csv")
