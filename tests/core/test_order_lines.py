"""Two-file exports: order lines joined to their orders on the order id, every line counted."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from clv_core.columns import detect_roles
from clv_core.errors import DataError
from clv_core.order_lines import join_order_lines
from clv_core.validation import ValidationOptions, validate_transactions

OPTIONS = ValidationOptions(latest_valid_date=dt.date(2030, 1, 1))


def orders() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "Name": ["#1001", "#1002", "#1003", "#1004", "#1002"],
            "Email": ["a@x.org", "b@x.org", "a@x.org", "c@x.org", "b@x.org"],
            "Created at": ["2024-01-05 10:00:00"] * 2 + ["2024-02-01 09:00:00"] * 3,
            "Financial Status": ["paid", "refunded", "paid", "paid", "refunded"],
            "Note": ["", "", "", "", ""],
        }
    )


def lines() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "Name": ["#1001", "#1001", "#1002", "#1003", "#0999"],
            "Lineitem quantity": ["1", "2", "1", "3", "1"],
            "Lineitem price": ["10.00", "5.00", "8.00", "2.50", "4.00"],
            "Note": ["gift", "", "", "", ""],
        }
    )


def test_lines_get_their_order_columns_and_unknown_orders_are_marked() -> None:
    joined = join_order_lines(orders(), lines(), orders_name="o.csv", lines_name="l.csv")
    assert joined.key == "Name"
    assert joined.source_name == "o.csv + l.csv"
    assert joined.unknown_order.tolist() == [False, False, False, False, True]
    assert joined.frame["Email"].tolist()[:4] == ["a@x.org", "a@x.org", "b@x.org", "a@x.org"]
    # A column both files have keeps both values, the orders' one marked.
    assert {"Note", "Note (orders)"} <= set(joined.frame.columns)
    assert len(joined.frame) == 5
    assert any("1 rows of o.csv repeat an order id" in w for w in joined.warnings)
    assert any("1 orders in o.csv have no line in l.csv" in w for w in joined.warnings)


def test_validation_counts_unknown_orders_and_status_by_reason() -> None:
    joined = join_order_lines(orders(), lines())
    result = validate_transactions(
        joined.frame,
        detect_roles(joined.frame, overrides={"order_id": joined.key}),
        options=OPTIONS,
        unknown_order=joined.unknown_order,
    )
    assert dict(result.report.dropped) == {"unknown_order": 1, "order_refunded": 1}
    assert result.report.examples["unknown_order"] == ("row 6: '#0999'",)
    assert result.frame.set_index("order_id")["amount"].to_dict() == {"#1001": 20.0, "#1003": 7.5}


def test_the_key_can_be_named_and_must_exist_in_both() -> None:
    joined = join_order_lines(orders(), lines(), key="Name")
    assert joined.key == "Name"
    with pytest.raises(DataError, match="'Email' is not in order lines"):
        join_order_lines(orders(), lines(), key="Email")


def test_no_shared_order_id_is_a_clear_error() -> None:
    unrelated = lines().rename(columns={"Name": "Order"})
    with pytest.raises(DataError, match=r"Could not find the order id.*--order-id-col"):
        join_order_lines(orders(), unrelated)


def test_lines_of_another_export_are_refused() -> None:
    other = lines().assign(Name=["#1", "#2", "#3", "#4", "#5"])
    for key in (None, "Name"):
        with pytest.raises(DataError, match=r"No line of order lines belongs to an order.*'#1'"):
            join_order_lines(orders(), other, key=key)
