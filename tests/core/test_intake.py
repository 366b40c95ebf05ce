"""Raw exports in, right money out: the corpus of realistic exports through the intake path.

Each export of ``tests/corpus`` comes with the true net spend per customer, the true orders and
the number of lines per reason, all computed by the generator from its own simulated orders.
The engine must find the same money with no manual mapping, name the right columns in its spend
sentence, and account for every line with the right reason.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest

from clv_core.errors import DataError
from clv_core.evaluation import EvaluationSettings, evaluate
from clv_core.features import build_features
from clv_core.intake import TransactionSource, transaction_source, validate_source
from clv_core.loading import load_table
from clv_core.validation import Transactions, ValidationOptions
from tests.conftest import TINY_CONFIG
from tests.corpus.exports import DROP_REASONS, EXPORT_NAMES, CorpusExport, build_corpus

OPTIONS = ValidationOptions(latest_valid_date=dt.date(2030, 1, 1))


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> dict[str, CorpusExport]:
    return build_corpus(tmp_path_factory.mktemp("corpus"))


def _source(export: CorpusExport) -> TransactionSource:
    table = load_table(export.files["transactions"])
    lines = export.files.get("order_lines")
    return transaction_source(table, load_table(lines) if lines is not None else None)


def _read(export: CorpusExport) -> Transactions:
    return validate_source(_source(export), options=OPTIONS)


def _spend(transactions: Transactions) -> pd.Series:
    spend = transactions.frame.groupby("customer_id")["amount"].sum()
    return pd.Series(spend.to_numpy(), index=spend.index.astype(str)).sort_index()


@pytest.mark.parametrize("name", EXPORT_NAMES)
def test_raw_export_gives_the_true_spend_per_customer(
    corpus: dict[str, CorpusExport], name: str
) -> None:
    export = corpus[name]
    transactions = _read(export)
    true = pd.Series(export.true_spend.to_numpy(), index=export.true_spend.index.astype(str))
    computed = _spend(transactions)
    assert computed.sum() == pytest.approx(true.sum(), rel=0.005)
    assert computed.index.tolist() == true.sort_index().index.tolist()
    assert (computed - true.sort_index()).abs().max() < 0.005


@pytest.mark.parametrize("name", EXPORT_NAMES)
def test_the_spend_sentence_names_the_right_columns(
    corpus: dict[str, CorpusExport], name: str
) -> None:
    export = corpus[name]
    transactions = _read(export)
    assert transactions.money is not None
    explanation = transactions.money.explanation
    assert explanation.columns == export.spend_columns
    for column in export.spend_columns:
        assert column in explanation.sentence
    assert transactions.report.summary["spend_rule"] == explanation.sentence
    # Nothing about clean, correctly read money should look implausible.
    assert transactions.money.warnings == ()


@pytest.mark.parametrize("name", EXPORT_NAMES)
def test_every_line_is_accounted_for_with_its_reason(
    corpus: dict[str, CorpusExport], name: str
) -> None:
    export = corpus[name]
    report = _read(export).report
    counts = export.counts
    assert report.rows_read == counts["lines"]
    assert report.rows_used == counts["counted_lines"]
    expected = {DROP_REASONS[key]: counts[key] for key in DROP_REASONS if counts[key]}
    assert dict(report.dropped) == expected
    assert report.summary["n_orders"] == counts["orders"]


@pytest.mark.parametrize("name", EXPORT_NAMES)
def test_orders_are_the_true_orders(corpus: dict[str, CorpusExport], name: str) -> None:
    export = corpus[name]
    orders = _read(export).frame[["customer_id", "order_date", "amount"]]
    orders = orders.sort_values(["customer_id", "order_date"]).reset_index(drop=True)
    true = export.true_orders.reset_index(drop=True)
    assert orders["customer_id"].astype(str).tolist() == true["customer_id"].astype(str).tolist()
    assert (orders["order_date"] == true["order_date"]).all()
    assert (orders["amount"] - true["amount"]).abs().max() < 0.005


def test_erp_cancellations_are_returns_and_refunds_without_a_sale_are_kept(
    corpus: dict[str, CorpusExport],
) -> None:
    export = corpus["erp_invoice_lines"]
    transactions = _read(export)
    summary = transactions.report.summary
    assert summary["n_cancellation_lines"] == export.counts["cancellation_lines"]
    cancellations = transactions.frame["order_id"].str.startswith("C")
    assert (transactions.frame.loc[cancellations, "amount"] < 0).all()
    assert summary["n_returns"] == int(cancellations.sum())
    assert summary["n_refunds_without_sale"] > 0
    assert any("no earlier purchase" in warning for warning in transactions.report.warnings)
    # Float ids from the spreadsheet are plain ids; identical repeated lines both count.
    assert transactions.frame["customer_id"].str.fullmatch(r"\d+").all()
    assert any("exact copies" in warning for warning in transactions.report.warnings)


def test_grocery_lines_become_daily_baskets_unless_switched_off(
    corpus: dict[str, CorpusExport],
) -> None:
    export = corpus["grocery_line_items"]
    transactions = _read(export)
    assert transactions.mapping.quantity == "AMOUNT"
    assert transactions.mapping.cost == "COST"
    combined = transactions.report.altered["lines_combined_into_baskets"]
    assert combined == export.counts["lines"] - export.counts["orders"]
    every_line = validate_source(
        _source(export),
        options=ValidationOptions(latest_valid_date=dt.date(2030, 1, 1), combine_baskets=False),
    )
    assert len(every_line.frame) == export.counts["lines"]
    assert "lines_combined_into_baskets" not in every_line.report.altered
    assert every_line.frame["amount"].sum() == pytest.approx(export.true_spend.sum())


def test_two_file_export_reports_its_join(corpus: dict[str, CorpusExport]) -> None:
    export = corpus["shop_orders"]
    transactions = _read(export)
    assert transactions.report.source_name == "shop_orders.csv + shop_order_lines.csv"
    assert transactions.mapping.order_id == "Name"
    assert transactions.mapping.status == "Financial Status"
    warnings = " ".join(transactions.report.warnings)
    assert f"{export.counts['orders_without_lines']:,} orders in shop_orders.csv" in warnings
    assert "partially refunded" in warnings
    # Examples name rows of the lines file.
    assert transactions.report.examples["unknown_order"][0].startswith("row ")


def test_title_row_is_skipped_and_rows_are_numbered_as_in_the_sheet(
    corpus: dict[str, CorpusExport], tmp_path: Path
) -> None:
    export = corpus["xlsx_title_row"]
    table = load_table(export.files["transactions"])
    assert table.header_row == 3
    source = transaction_source(table)
    frame = source.frame.copy()
    frame.loc[0, "Customer"] = None
    blanked = TransactionSource(frame=frame, source_name="x.xlsx", first_row=source.first_row)
    report = validate_source(blanked, options=OPTIONS).report
    assert report.examples["missing_customer_id"] == ("row 4",)


def test_cleaned_data_gives_the_same_features_and_metrics_as_the_raw_export(
    corpus: dict[str, CorpusExport],
) -> None:
    """The engine's numbers do not depend on the file's shape (issue: raw vs cleaned)."""
    export = corpus["erp_invoice_lines"]
    raw = _read(export)
    cleaned_table = export.true_orders.assign(
        order_date=export.true_orders["order_date"].dt.strftime("%Y-%m-%d %H:%M:%S"),
        amount=export.true_orders["amount"].map("{:.2f}".format),
    )
    cleaned = validate_source(
        TransactionSource(frame=cleaned_table.astype(str), source_name="clean.csv"),
        options=OPTIONS,
    )
    cutoff = pd.Timestamp("2011-07-31")
    pd.testing.assert_frame_equal(
        build_features(raw.frame, cutoff), build_features(cleaned.frame, cutoff)
    )
    settings = EvaluationSettings(
        cutoff=cutoff.date(), horizon_days=120, config=TINY_CONFIG, test_size=0.3
    )
    raw_metrics = evaluate(raw.frame, settings).metrics_table().drop(columns="fit_seconds")
    clean_metrics = evaluate(cleaned.frame, settings).metrics_table().drop(columns="fit_seconds")
    pd.testing.assert_frame_equal(raw_metrics, clean_metrics)


# --------------------------------------------------------------------------------------------
# Shapes found in review: each was read wrongly once
# --------------------------------------------------------------------------------------------


def _read_file(path: Path) -> Transactions:
    """A single-file export read as the CLI and the workbench read it, with no mapping."""
    return validate_source(transaction_source(load_table(path)), options=OPTIONS)


def _csv(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_an_order_total_of_the_orders_file_counts_once_per_order(tmp_path: Path) -> None:
    orders = _csv(
        tmp_path,
        "orders.csv",
        "order_id,customer_id,order_date,total\n"
        "1,a,2023-01-01,24.98\n2,b,2023-01-02,20.00\n3,a,2023-02-01,22.50\n",
    )
    # The lines carry no money: the orders' total is the spend, once per order.
    lines = _csv(
        tmp_path,
        "lines.csv",
        "order_id,sku,quantity\n1,A1,2\n1,B2,1\n2,C3,1\n3,D4,1\n3,E5,1\n",
    )
    source = transaction_source(load_table(orders), load_table(lines))
    transactions = validate_source(source, options=OPTIONS)
    assert transactions.mapping.amount == "total"
    assert transactions.frame["amount"].sum() == pytest.approx(67.48)
    assert transactions.report.altered["order_total_on_other_line"] == 2
    assert transactions.money is not None
    assert transactions.money.figures["zero_line_share"] == 0.0


def test_an_order_total_repeated_on_every_line_counts_once(tmp_path: Path) -> None:
    rows = ["Order Number,Customer,Order Date,Order Total,Item,Qty"]
    for order in range(8):
        total = f"{10 + order}.50"
        rows += [
            f"{100 + order},c{order % 3},2024-01-{order + 1:02d},{total},i{k},1" for k in range(3)
        ]
    path = _csv(tmp_path, "woo.csv", "\n".join(rows) + "\n")
    transactions = _read_file(path)
    assert transactions.frame["amount"].sum() == pytest.approx(sum(10.5 + k for k in range(8)))
    assert transactions.report.altered["order_total_on_other_line"] == 16


def test_a_price_without_quantity_beats_a_shipping_column(tmp_path: Path) -> None:
    path = _csv(
        tmp_path,
        "items.csv",
        "customer_id,order_date,price,shipping\n"
        "a,2023-01-01,58.90,13.29\nb,2023-01-02,239.90,19.93\na,2023-01-05,19.90,8.72\n",
    )
    transactions = _read_file(path)
    assert transactions.mapping.amount == "price"
    assert transactions.frame["amount"].sum() == pytest.approx(318.70)


def test_hexadecimal_order_ids_are_not_cancellation_documents(tmp_path: Path) -> None:
    path = _csv(
        tmp_path,
        "hex.csv",
        "order_id,customer_id,order_date,amount\n"
        "e481f51cbdc5,a,2023-01-01,10.50\n53cdb2fc8bc7,b,2023-01-02,20.00\n"
        "c1e7ab8f2a3b,c,2023-01-03,30.00\n47770eb9100c,d,2023-01-04,40.00\n",
    )
    transactions = _read_file(path)
    assert (transactions.frame["amount"] > 0).all()
    assert "return_made_negative" not in transactions.report.altered


def test_a_discount_column_of_shares_is_a_rate(tmp_path: Path) -> None:
    path = _csv(
        tmp_path,
        "details.csv",
        "OrderID,CustomerID,OrderDate,UnitPrice,Quantity,Discount\n"
        "10248,VINET,1996-07-04,14.00,12,0\n10249,TOMSP,1996-07-05,18.60,9,0.05\n"
        "10250,HANAR,1996-07-08,42.40,35,0.15\n",
    )
    transactions = _read_file(path)
    expected = 14.0 * 12 + 18.6 * 9 * 0.95 + 42.4 * 35 * 0.85
    assert transactions.frame["amount"].sum() == pytest.approx(expected)
    percent = _csv(
        tmp_path,
        "percent.csv",
        "customer_id,order_date,unit_price,quantity,discount\n"
        "a,2024-01-01,10.00,2,10%\nb,2024-01-02,5.00,1,\n",
    )
    transactions = _read_file(percent)
    assert transactions.frame["amount"].tolist() == [18.0, 5.0]


def test_lines_without_an_order_id_are_orders_of_their_own(tmp_path: Path) -> None:
    path = _csv(
        tmp_path,
        "gaps.csv",
        "customer_id,order_date,order_id,amount\n"
        "a,2023-01-01,1,10.5\na,2023-01-01,1,2.5\nb,2023-01-02,,7.25\nc,2023-01-03,3,8.75\n",
    )
    transactions = _read_file(path)
    assert transactions.frame["amount"].sum() == pytest.approx(29.0)
    assert sorted(transactions.frame["customer_id"]) == ["a", "b", "c"]


def test_whole_prices_next_to_a_weight_stay_the_spend(tmp_path: Path) -> None:
    rows = ["customer_id,order_date,amount,weight_kg"]
    rows += [
        f"c{i % 20},2024-01-{1 + i % 28:02d},{(5, 6, 8, 10, 12)[i % 5]},{0.25 + (i % 7) / 10:.2f}"
        for i in range(100)
    ]
    path = _csv(tmp_path, "cafe.csv", "\n".join(rows) + "\n")
    transactions = _read_file(path)
    assert (transactions.mapping.amount, transactions.mapping.quantity) == ("amount", None)


def test_an_empty_customer_column_of_the_lines_file_takes_the_orders_customers(
    tmp_path: Path,
) -> None:
    orders = _csv(
        tmp_path,
        "orders.csv",
        "order_id,customer_id,order_date\n1,a,2023-01-01\n2,b,2023-01-02\n",
    )
    lines = _csv(
        tmp_path,
        "lines.csv",
        "order_id,customer_id,quantity,unit_price\n1,,2,9.99\n2,,1,20.00\n",
    )
    source = transaction_source(load_table(orders), load_table(lines))
    transactions = validate_source(source, options=OPTIONS)
    assert sorted(transactions.frame["customer_id"]) == ["a", "b"]
    assert transactions.frame["amount"].sum() == pytest.approx(39.98)


def test_the_lines_money_beats_a_gross_total_of_the_orders_file(tmp_path: Path) -> None:
    orders = _csv(
        tmp_path,
        "orders.csv",
        "order_id,customer_id,order_date,status,total\n"
        "1,a,2023-01-01,paid,29.98\n2,b,2023-01-02,paid,20.00\n",
    )
    lines = _csv(
        tmp_path,
        "lines.csv",
        "order_id,sku,quantity,unit_price,discount\n1,A1,2,9.99,2.00\n1,B2,1,10.00,0\n"
        "2,C3,1,20.00,5.00\n",
    )
    transactions = validate_source(
        transaction_source(load_table(orders), load_table(lines)), options=OPTIONS
    )
    assert transactions.money is not None
    assert transactions.money.explanation.sentence == (
        "spend per line = quantity x unit_price - discount"
    )
    assert transactions.frame["amount"].sum() == pytest.approx(42.98)


def test_equal_line_amounts_are_not_an_order_total(tmp_path: Path) -> None:
    rows = ["order_id,customer_id,order_date,sku,line_total"]
    rows += [f"{o},c{o % 4},2024-01-{o + 1:02d},SKU{k},9.99" for o in range(20) for k in range(3)]
    path = _csv(tmp_path, "lines.csv", "\n".join(rows) + "\n")
    transactions = _read_file(path)
    assert transactions.frame["amount"].sum() == pytest.approx(599.40)


def test_a_discount_amount_header_is_money_off(tmp_path: Path) -> None:
    path = _csv(
        tmp_path,
        "d.csv",
        "customer_id,order_date,quantity,unit_price,discount_amount\n"
        "a,2024-01-01,2,10.00,0.50\nb,2024-01-02,1,4.00,0.25\n",
    )
    transactions = _read_file(path)
    assert transactions.frame["amount"].tolist() == [19.5, 3.75]


def test_identical_lines_of_an_order_both_count_without_quantities(tmp_path: Path) -> None:
    path = _csv(
        tmp_path,
        "tea.csv",
        "order_id,customer_id,order_date,product,line_amount\n"
        "1001,a,2024-01-01,Tea,5.00\n1001,a,2024-01-01,Tea,5.00\n1001,a,2024-01-01,Mug,12.00\n",
    )
    transactions = _read_file(path)
    assert transactions.frame["amount"].tolist() == [22.0]


def test_swapped_or_repeated_files_are_refused(corpus: dict[str, CorpusExport]) -> None:
    export = corpus["shop_orders"]
    orders = load_table(export.files["transactions"])
    lines = load_table(export.files["order_lines"])
    with pytest.raises(DataError, match="look swapped"):
        transaction_source(lines, orders)
    with pytest.raises(DataError, match="given both as the orders file and as the order-lines"):
        transaction_source(orders, load_table(export.files["transactions"]))


def test_more_time_zone_forms(tmp_path: Path) -> None:
    path = _csv(
        tmp_path,
        "tz.csv",
        "customer_id,order_date,amount\n"
        "a,2024-01-05 10:00:00 UTC,1.50\nb,2024-01-05T10:00Z,2.50\nc,2024-01-06T11:30:00Z,3.00\n",
    )
    transactions = _read_file(path)
    assert transactions.report.rows_used == 3
    assert transactions.report.altered["timezone_removed"] == 3
