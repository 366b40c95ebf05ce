"""Tests of the export corpus itself: determinism, the counts identity and agreement of each
written file with the ground truth that the generator computed from its simulated orders.

The reference readers below are deliberately plain pandas code written for one known layout
each; they check the generator, they are not a model for the engine.
"""

from __future__ import annotations

import dataclasses
import datetime
import re
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest

from tests.corpus.exports import (
    COUNT_KEYS,
    EXCLUSION_KEYS,
    EXPORT_NAMES,
    CorpusExport,
    build_corpus,
)

MINIMUM_LINES = 300
MAXIMUM_LINES = 3000


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> dict[str, CorpusExport]:
    return build_corpus(tmp_path_factory.mktemp("corpus"), seed=0)


def cents_of(text: pd.Series) -> pd.Series:
    """Two-decimal money text as integer cents."""
    return (text.astype(float) * 100).round().astype(np.int64)


def orders_from(
    customer: pd.Series, order_key: pd.Series, moment: pd.Series, cents: pd.Series
) -> pd.DataFrame:
    """Counted lines -> one row per (customer, order) at its earliest moment, like true_orders."""
    lines = pd.DataFrame(
        {"customer_id": customer, "key": order_key, "order_date": moment, "cents": cents}
    )
    orders = (
        lines.groupby(["customer_id", "key"])
        .agg(order_date=("order_date", "min"), cents=("cents", "sum"))
        .reset_index()
        .sort_values(["customer_id", "order_date"])
    )
    return pd.DataFrame(
        {
            "customer_id": orders["customer_id"].to_numpy(),
            "order_date": orders["order_date"].astype("datetime64[ns]").to_numpy(),
            "amount": orders["cents"].to_numpy() / 100.0,
        }
    )


def read_erp(export: CorpusExport) -> tuple[pd.DataFrame, dict[str, int]]:
    frame = pd.read_csv(export.files["transactions"], dtype=str, keep_default_na=False)
    customer = frame["Customer ID"].str.removesuffix(".0")
    counted = customer != ""
    cents = frame["Quantity"].astype(np.int64) * cents_of(frame["Price"])
    moment = pd.to_datetime(frame["InvoiceDate"], format="%m/%d/%Y %H:%M")
    orders = orders_from(
        customer[counted], frame["Invoice"][counted], moment[counted], cents[counted]
    )
    counts = {
        "lines": len(frame),
        "no_customer_id": int((~counted).sum()),
        "cancellation_lines": int(frame["Invoice"].str.startswith("C").sum()),
        "counted_lines": int(counted.sum()),
    }
    return orders, counts


def read_grocery(export: CorpusExport) -> tuple[pd.DataFrame, dict[str, int]]:
    frame = pd.read_csv(export.files["transactions"], dtype=str, keep_default_na=False)
    moment = pd.to_datetime(frame["DATE"], format="%d/%m/%Y")
    orders = orders_from(
        frame["CUSTOMER_ID"], frame["DATE"], moment, cents_of(frame["SALES_VALUE"])
    )
    return orders, {"lines": len(frame), "counted_lines": len(frame)}


def read_shop(export: CorpusExport) -> tuple[pd.DataFrame, dict[str, int]]:
    orders_file = pd.read_csv(export.files["transactions"], dtype=str, keep_default_na=False)
    lines_file = pd.read_csv(export.files["order_lines"], dtype=str, keep_default_na=False)
    lines = lines_file.merge(orders_file, on="Name", how="left", indicator=True)
    known = lines["_merge"] == "both"
    has_email = known & (lines["Email"] != "")
    status = lines["Financial Status"]
    counted = has_email & status.isin(["paid", "partially_refunded"])
    cents = lines["Lineitem quantity"].astype(np.int64) * cents_of(
        lines["Lineitem price"]
    ) - cents_of(lines["Lineitem discount"])
    # The offset is dropped: the order happened at this local wall time.
    moment = pd.to_datetime(lines["Created at"].str.slice(0, 19), format="%Y-%m-%d %H:%M:%S")
    orders = orders_from(
        lines["Email"][counted], lines["Name"][counted], moment[counted], cents[counted]
    )
    counts = {
        "lines": len(lines_file),
        "unknown_order": int((~known).sum()),
        "no_customer_id": int((known & ~has_email).sum()),
        "status_refunded": int((has_email & (status == "refunded")).sum()),
        "status_cancelled": int((has_email & (status == "voided")).sum()),
        "status_unpaid": int((has_email & (status == "pending")).sum()),
        "orders_without_lines": int((~orders_file["Name"].isin(lines_file["Name"])).sum()),
        "counted_lines": int(counted.sum()),
    }
    return orders, counts


def read_cn(export: CorpusExport) -> tuple[pd.DataFrame, dict[str, int]]:
    frame = pd.read_csv(
        export.files["transactions"], dtype=str, keep_default_na=False, encoding="gb18030"
    )
    guest = frame["买家ID"] == "游客"
    status = frame["订单状态"]
    counted = ~guest & status.isin(["交易成功", "已发货"])
    moment = pd.to_datetime(frame["下单时间"], format="%Y-%m-%d %H:%M:%S")
    orders = orders_from(
        frame["买家ID"][counted],
        frame["订单号"][counted],
        moment[counted],
        cents_of(frame["实付金额"])[counted],
    )
    counts = {
        "lines": len(frame),
        "guest_placeholder": int(guest.sum()),
        "status_cancelled": int((~guest & (status == "交易关闭")).sum()),
        "status_unpaid": int((~guest & (status == "等待买家付款")).sum()),
        "status_refunded": int((~guest & (status == "退款成功")).sum()),
        "counted_lines": int(counted.sum()),
    }
    return orders, counts


def read_xlsx(export: CorpusExport) -> tuple[pd.DataFrame, dict[str, int]]:
    frame = pd.read_excel(export.files["transactions"], header=2)
    cents = (frame["Net Amount"] * 100).round().astype(np.int64)
    orders = orders_from(frame["Customer"], frame["Order No."], frame["Order Date"], cents)
    counts = {
        "lines": len(frame),
        "cancellation_lines": int(frame["Order No."].str.startswith("R-").sum()),
        "counted_lines": len(frame),
    }
    return orders, counts


REFERENCE_READERS = {
    "erp_invoice_lines": read_erp,
    "grocery_line_items": read_grocery,
    "shop_orders": read_shop,
    "cn_marketplace": read_cn,
    "xlsx_title_row": read_xlsx,
}


def header_of(export: CorpusExport) -> list[str]:
    if export.name == "xlsx_title_row":
        return list(pd.read_excel(export.files["transactions"], header=2, nrows=0).columns)
    path = export.files.get("order_lines", export.files["transactions"])
    encoding = "gb18030" if export.name == "cn_marketplace" else "utf-8"
    return list(pd.read_csv(path, nrows=0, encoding=encoding).columns)


def test_build_is_deterministic(tmp_path: Path) -> None:
    first = build_corpus(tmp_path / "first", seed=0)
    second = build_corpus(tmp_path / "second", seed=0)
    for name in EXPORT_NAMES:
        for role, path in first[name].files.items():
            assert path.read_bytes() == second[name].files[role].read_bytes(), (name, role)
        pd.testing.assert_frame_equal(first[name].true_orders, second[name].true_orders)
        pd.testing.assert_series_equal(first[name].true_spend, second[name].true_spend)
        assert first[name].counts == second[name].counts


def test_another_seed_writes_other_files(tmp_path: Path) -> None:
    first = build_corpus(tmp_path / "first", seed=0)
    second = build_corpus(tmp_path / "second", seed=1)
    for name in EXPORT_NAMES:
        path = first[name].files["transactions"]
        assert path.read_bytes() != second[name].files["transactions"].read_bytes(), name


def test_build_returns_the_five_exports_with_their_files(
    corpus: dict[str, CorpusExport], tmp_path: Path
) -> None:
    assert list(corpus) == list(EXPORT_NAMES)
    expected_files = {
        "erp_invoice_lines": {"transactions": "erp_invoice_lines.csv"},
        "grocery_line_items": {"transactions": "grocery_line_items.csv"},
        "shop_orders": {
            "transactions": "shop_orders.csv",
            "order_lines": "shop_order_lines.csv",
        },
        "cn_marketplace": {"transactions": "cn_marketplace_orders.csv"},
        "xlsx_title_row": {"transactions": "sales_report.xlsx"},
    }
    for name, export in corpus.items():
        assert export.name == name
        assert {role: path.name for role, path in export.files.items()} == expected_files[name]
        assert all(path.is_file() for path in export.files.values())
        assert export.description


@pytest.mark.parametrize("name", EXPORT_NAMES)
def test_counts_add_up(corpus: dict[str, CorpusExport], name: str) -> None:
    counts = corpus[name].counts
    assert list(counts) == list(COUNT_KEYS)
    assert all(isinstance(value, int) and value >= 0 for value in counts.values())
    excluded = sum(counts[key] for key in EXCLUSION_KEYS)
    assert counts["counted_lines"] + excluded == counts["lines"]
    assert counts["cancellation_lines"] <= counts["counted_lines"]
    assert counts["orders"] == len(corpus[name].true_orders)
    assert MINIMUM_LINES <= counts["lines"] <= MAXIMUM_LINES


@pytest.mark.parametrize("name", EXPORT_NAMES)
def test_true_spend_is_the_sum_of_true_orders(corpus: dict[str, CorpusExport], name: str) -> None:
    export = corpus[name]
    grouped = export.true_orders.groupby("customer_id")["amount"].sum()
    pd.testing.assert_series_equal(
        export.true_spend, grouped, check_names=False, check_index_type=False, rtol=1e-12
    )


@pytest.mark.parametrize("name", EXPORT_NAMES)
def test_truth_has_the_documented_shape(corpus: dict[str, CorpusExport], name: str) -> None:
    export = corpus[name]
    orders = export.true_orders
    assert list(orders.columns) == ["customer_id", "order_date", "amount"]
    assert orders["order_date"].dtype == np.dtype("datetime64[ns]")
    assert orders["amount"].dtype == np.float64
    assert orders["customer_id"].map(type).eq(str).all()
    assert orders.equals(orders.sort_values(["customer_id", "order_date"], kind="stable"))
    assert not orders.duplicated(["customer_id", "order_date"]).any()
    index = export.true_spend.index
    assert index.is_unique and index.is_monotonic_increasing
    assert all(isinstance(value, str) and value == value.strip() and value for value in index)
    assert export.true_spend.dtype == np.float64
    assert set(export.spend_columns) <= set(header_of(export))


@pytest.mark.parametrize("name", EXPORT_NAMES)
def test_files_agree_with_the_truth(corpus: dict[str, CorpusExport], name: str) -> None:
    export = corpus[name]
    orders, counts = REFERENCE_READERS[name](export)
    pd.testing.assert_frame_equal(
        orders.reset_index(drop=True), export.true_orders, check_dtype=False, rtol=1e-12
    )
    assert counts == {key: export.counts[key] for key in counts}


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_other_seeds_keep_sizes_and_every_quirk(tmp_path: Path, seed: int) -> None:
    corpus = build_corpus(tmp_path, seed=seed)
    for export in corpus.values():
        counts = export.counts
        assert MINIMUM_LINES <= counts["lines"] <= MAXIMUM_LINES, export.name
        excluded = sum(counts[key] for key in EXCLUSION_KEYS)
        assert counts["counted_lines"] + excluded == counts["lines"], export.name
    assert corpus["erp_invoice_lines"].counts["no_customer_id"] > 0
    assert corpus["erp_invoice_lines"].counts["cancellation_lines"] > 0
    shop = corpus["shop_orders"].counts
    assert min(shop[key] for key in ("unknown_order", "orders_without_lines", "no_customer_id")) > 0
    assert min(shop[key] for key in ("status_refunded", "status_cancelled", "status_unpaid")) > 0
    marketplace = corpus["cn_marketplace"].counts
    assert marketplace["guest_placeholder"] > 0
    assert (
        min(marketplace[key] for key in ("status_refunded", "status_cancelled", "status_unpaid"))
        > 0
    )
    assert corpus["xlsx_title_row"].counts["cancellation_lines"] > 0


def test_export_rejects_incomplete_counts(corpus: dict[str, CorpusExport]) -> None:
    export = corpus["grocery_line_items"]
    counts = {key: value for key, value in export.counts.items() if key != "orders"}
    with pytest.raises(ValueError, match=r"counts keys are wrong \(missing \['orders'\]"):
        dataclasses.replace(export, counts=counts)
    with pytest.raises(ValueError, match="name 'pos' is not one of erp_invoice_lines"):
        dataclasses.replace(export, name="pos")


def test_erp_export_has_the_real_quirks(corpus: dict[str, CorpusExport]) -> None:
    export = corpus["erp_invoice_lines"]
    frame = pd.read_csv(export.files["transactions"], dtype=str, keep_default_na=False)
    assert list(frame.columns) == [
        "Invoice", "StockCode", "Description", "Quantity", "InvoiceDate", "Price",
        "Customer ID", "Country",
    ]  # fmt: skip
    known = frame["Customer ID"] != ""
    assert frame["Customer ID"][known].str.fullmatch(r"1\d{4}\.0").all()
    assert 0.15 <= (~known).mean() <= 0.25
    assert frame["InvoiceDate"].str.fullmatch(r"\d{1,2}/\d{1,2}/\d{4} \d{1,2}:\d{2}").all()
    assert frame["Price"].str.fullmatch(r"\d+\.\d{2}").all()
    assert (frame["Price"] == "0.00").any()

    quantity = frame["Quantity"].astype(int)
    cancelled = frame["Invoice"].str.startswith("C")
    assert frame["Invoice"].str.fullmatch(r"C?\d{6}").all()
    assert (quantity[cancelled] < 0).all() and (quantity[~cancelled] > 0).all()
    assert 0.01 <= cancelled.mean() <= 0.03
    assert known[cancelled].all()
    assert (quantity >= 100).any()

    # Genuinely repeated lines: identical rows within one invoice, and both count.
    assert frame[known].duplicated(keep=False).sum() >= 2
    # Price tiers: some stock codes sell at two unit prices.
    sold = frame[~cancelled & (frame["Price"] != "0.00")]
    assert (sold.groupby("StockCode")["Price"].nunique() > 1).any()

    # Some cancellations refund a product the customer never bought within the file.
    moment = pd.to_datetime(frame["InvoiceDate"], format="%m/%d/%Y %H:%M")
    bought = {
        (customer, code)
        for customer, code in zip(
            frame["Customer ID"][~cancelled], frame["StockCode"][~cancelled], strict=True
        )
    }
    refunds = frame[cancelled]
    orphans = [
        (customer, code) not in bought
        for customer, code in zip(refunds["Customer ID"], refunds["StockCode"], strict=True)
    ]
    assert any(orphans) and not all(orphans)
    assert moment.is_monotonic_increasing


def test_grocery_amount_is_a_small_item_count(corpus: dict[str, CorpusExport]) -> None:
    export = corpus["grocery_line_items"]
    frame = pd.read_csv(export.files["transactions"], dtype=str, keep_default_na=False)
    assert list(frame.columns) == [
        "CUSTOMER_ID", "DATE", "PRODUCT_ID", "CATEGORY", "AMOUNT", "COST", "SALES_VALUE",
    ]  # fmt: skip
    assert frame["AMOUNT"].str.fullmatch(r"-?[1-6]").all()
    items = frame["AMOUNT"].astype(int)
    assert (items == 1).mean() > 0.5
    sales = frame["SALES_VALUE"].astype(float)
    assert (sales != sales.round()).mean() > 0.5
    assert frame["DATE"].str.fullmatch(r"\d{2}/\d{2}/\d{4}").all()
    assert (frame["DATE"].str.slice(0, 2).astype(int) > 12).any()
    returned = items < 0
    assert returned.any()
    assert (sales[returned] < 0).all() and (frame["COST"][returned].astype(float) < 0).all()
    cost_share = frame["COST"].astype(float) / sales
    assert cost_share.between(0.55, 0.8).all()
    visit_sizes = frame.groupby(["CUSTOMER_ID", "DATE"]).size()
    assert visit_sizes.between(10, 30).all()


def test_shop_export_times_and_statuses(corpus: dict[str, CorpusExport]) -> None:
    export = corpus["shop_orders"]
    orders = pd.read_csv(export.files["transactions"], dtype=str, keep_default_na=False)
    assert list(orders.columns) == [
        "Name", "Email", "Financial Status", "Fulfillment Status", "Created at", "Currency",
    ]  # fmt: skip
    assert orders["Name"].str.fullmatch(r"#\d{4}").all()
    assert (
        orders["Created at"].str.fullmatch(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} \+0[12]00").all()
    )
    assert set(orders["Created at"].str.slice(20)) == {"+0100", "+0200"}
    assert set(orders["Financial Status"]) == {
        "paid", "refunded", "voided", "pending", "partially_refunded",
    }  # fmt: skip
    assert set(orders["Currency"]) == {"EUR"}
    lines = pd.read_csv(export.files["order_lines"], dtype=str, keep_default_na=False)
    discount = lines["Lineitem discount"].astype(float)
    assert (discount == 0).mean() > 0.5 and (discount > 0).any()
    # A partially refunded order counts in full.
    partial = orders.loc[orders["Financial Status"] == "partially_refunded", "Email"]
    assert set(partial) - {""} <= set(export.true_spend.index)


def test_marketplace_file_is_gb18030(corpus: dict[str, CorpusExport]) -> None:
    raw = corpus["cn_marketplace"].files["transactions"].read_bytes()
    text = raw.decode("gb18030")
    assert text.startswith(
        "订单号,买家ID,下单时间,商品名称,商品单价,购买数量,实付金额,订单状态\r\n"
    )
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    # A character outside GBK makes the narrower Chinese codec fail too.
    with pytest.raises(UnicodeDecodeError):
        raw.decode("gbk")


def test_marketplace_paid_amount_is_after_discounts(corpus: dict[str, CorpusExport]) -> None:
    export = corpus["cn_marketplace"]
    frame = pd.read_csv(
        export.files["transactions"], dtype=str, keep_default_na=False, encoding="gb18030"
    )
    assert frame["订单号"].str.fullmatch(r"[1-3]\d{15}").all()
    assert frame["下单时间"].str.fullmatch(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}").all()
    list_price = cents_of(frame["商品单价"]) * frame["购买数量"].astype(int)
    paid = cents_of(frame["实付金额"])
    assert (paid <= list_price).all() and (paid > 0).all()
    assert (paid < list_price).mean() > 0.5
    assert set(frame["订单状态"]) == {"交易成功", "已发货", "交易关闭", "等待买家付款", "退款成功"}
    assert frame["订单号"].duplicated().any()


def test_xlsx_has_a_title_row_and_real_excel_values(corpus: dict[str, CorpusExport]) -> None:
    export = corpus["xlsx_title_row"]
    sheet = openpyxl.load_workbook(export.files["transactions"]).active
    assert re.fullmatch(r"Sales report 2023 – exported .+ by BackOffice", sheet["A1"].value)
    assert all(cell.value is None for cell in sheet[2])
    assert [cell.value for cell in sheet[3]] == [
        "Order No.", "Customer", "Order Date", "Items", "Net Amount", "Currency",
    ]  # fmt: skip
    rows = list(sheet.iter_rows(min_row=4, values_only=True))
    assert len(rows) == export.counts["lines"]
    assert all(isinstance(row[2], datetime.datetime) for row in rows)
    # Whole-euro amounts come back from the cell as int, the rest as float; never as text.
    assert all(isinstance(row[3], int) and isinstance(row[4], int | float) for row in rows)
    refunds = [row for row in rows if row[0].startswith("R-")]
    assert refunds and all(row[3] < 0 and row[4] < 0 for row in refunds)
    assert all(row[4] > 0 for row in rows if row[0].startswith("SO-"))
