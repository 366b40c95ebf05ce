"""Validation: typed output, row accounting by reason, dates and amounts in many forms."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clv_core.columns import ColumnMapping, detect_roles
from clv_core.errors import DataError
from clv_core.validation import (
    RowIssue,
    ValidationOptions,
    ValidationReport,
    parse_amounts,
    parse_dates,
    validate_customer_table,
    validate_customers,
    validate_transactions,
)

TODAY = ValidationOptions(latest_valid_date=dt.date(2025, 1, 1))


def messy_log() -> pd.DataFrame:
    """Strings as a CSV loader returns them, one problem per row after the first three."""
    rows = [
        ("c1", "2024-01-05 10:00:00", "10.50"),  # row 2: fine
        ("c1", "2024-02-05 11:00:00", "-3.00"),  # row 3: a return, kept
        ("c2", "2024-01-07 09:30:00", "¥1,200.00"),  # row 4: cleaned
        (None, "2024-01-08 09:00:00", "5"),  # row 5: missing id
        ("c3", None, "5"),  # row 6: missing date
        ("c3", "2024-13-45", "5"),  # row 7: unparsable date
        ("c3", "1900-01-01", "5"),  # row 8: placeholder date
        ("c3", "2031-01-01", "5"),  # row 9: future
        ("c4", "2024-01-09 08:00:00", None),  # row 10: missing amount
        ("c4", "2024-01-09 08:00:00", "abc"),  # row 11: non-numeric amount
        ("c1", "2024-01-05 10:00:00", "10.50"),  # row 12: exact duplicate of row 2
        ("c5", "2024-03-01 10:00:00", "0"),  # row 13: zero amount, kept
    ]
    return pd.DataFrame(rows, columns=["user_id", "order_time", "amount"], dtype="str")


def test_every_dropped_row_is_counted_by_reason() -> None:
    result = validate_transactions(messy_log(), options=TODAY, source_name="log.csv")
    report = result.report
    assert report.rows_read == 12
    assert report.rows_used == 4
    assert dict(report.dropped) == {
        "duplicate_row": 1,
        "missing_customer_id": 1,
        "missing_date": 1,
        "unparsable_date": 1,
        "date_too_early": 1,
        "future_date": 1,
        "missing_amount": 1,
        "non_numeric_amount": 1,
    }
    assert report.rows_read == report.rows_used + report.rows_dropped
    assert dict(report.altered) == {"amount_text_cleaned": 1}
    assert report.examples["unparsable_date"] == ("row 7: '2024-13-45'",)
    assert report.examples["non_numeric_amount"] == ("row 11: 'abc'",)
    assert report.summary["n_returns"] == 1
    assert report.summary["returns_amount"] == 3.0
    assert report.summary["n_zero_amount"] == 1


def test_clean_frame_is_typed_and_keeps_returns() -> None:
    frame = validate_transactions(messy_log(), options=TODAY).frame
    assert list(frame.columns) == ["customer_id", "order_date", "amount"]
    assert frame["order_date"].dtype == "datetime64[ns]"
    assert frame["amount"].dtype == "float64"
    assert frame["amount"].tolist() == [10.5, -3.0, 1200.0, 0.0]
    assert frame["customer_id"].tolist() == ["c1", "c1", "c2", "c5"]


def test_report_serialises_and_describes() -> None:
    report = validate_transactions(messy_log(), options=TODAY, source_name="log.csv").report
    data = report.to_dict()
    assert data["rows_dropped"] == 8
    assert data["summary"]["first_date"] == "2024-01-05"
    lines = report.describe()
    assert lines[0] == "transactions (log.csv): 12 rows read, 4 used, 8 dropped"
    assert any(
        "order date is not a recognised date (e.g. row 7: '2024-13-45')" in line for line in lines
    )


def test_report_refuses_broken_accounting() -> None:
    with pytest.raises(ValueError, match="row accounting"):
        ValidationReport(table="t", rows_read=10, rows_used=5, dropped={"x": 4})


def test_duplicates_are_kept_with_a_warning_when_rows_cannot_be_told_apart() -> None:
    frame = pd.DataFrame(
        {"customer": ["a", "a", "b"], "date": ["2024-01-01"] * 3, "amount": ["5", "5", "7"]}
    )
    result = validate_transactions(frame, options=TODAY)
    assert result.report.rows_used == 3
    assert "exact copies" in result.report.warnings[0]
    dropped = validate_transactions(
        frame,
        options=ValidationOptions(latest_valid_date=dt.date(2025, 1, 1), drop_duplicate_rows=True),
    )
    assert dropped.report.dropped == {"duplicate_row": 1}


def test_order_lines_are_combined_into_orders() -> None:
    frame = pd.DataFrame(
        {
            "InvoiceNo": ["1", "1", "2", "C3"],
            "CustomerID": ["17850.0", "17850.0", "17850.0", "17850.0"],
            "InvoiceDate": [
                "12/1/2010 8:26",
                "12/1/2010 8:28",
                "12/2/2010 9:00",
                "12/13/2010 9:00",
            ],
            "Quantity": ["6", "2", "1", "-2"],
            "UnitPrice": ["2.55", "3.39", "10", "2.55"],
        }
    )
    result = validate_transactions(frame, options=TODAY)
    assert result.mapping.order_id == "InvoiceNo"
    assert result.mapping.amount is None and result.mapping.quantity == "Quantity"
    orders = result.frame.sort_values("order_date")
    assert orders["amount"].round(2).tolist() == [22.08, 10.0, -5.1]
    assert orders["order_date"].iloc[0] == pd.Timestamp("2010-12-01 08:26")
    assert result.report.altered["order_lines_combined"] == 1
    assert result.report.altered["amount_from_quantity_and_price"] == 4
    assert result.report.rows_used == 4


def test_missing_required_columns_are_listed_together() -> None:
    frame = pd.DataFrame({"something": ["x"], "other": ["y"]})
    with pytest.raises(DataError, match="missing required columns") as caught:
        validate_transactions(frame, ColumnMapping())
    assert len(caught.value.problems) == 3


def test_a_column_without_any_date_is_rejected_with_examples() -> None:
    frame = pd.DataFrame(
        {"customer_id": ["a", "b"], "order_date": ["soon", "later"], "amount": ["1", "2"]}
    )
    with pytest.raises(DataError, match=r"no value that could be read as a date.*'soon'"):
        validate_transactions(frame, options=TODAY)


def test_an_amount_column_without_numbers_is_rejected() -> None:
    frame = pd.DataFrame(
        {"customer_id": ["a", "b"], "order_date": ["2024-01-01"] * 2, "amount": ["free", "gift"]}
    )
    with pytest.raises(DataError, match="no numeric value"):
        validate_transactions(frame, options=TODAY)


def test_all_rows_dropped_is_an_error_listing_reasons() -> None:
    frame = pd.DataFrame(
        {"customer_id": [None, None], "order_date": ["2024-01-01"] * 2, "amount": ["1", "2"]},
        dtype="str",
    )
    with pytest.raises(DataError, match="No usable transaction rows") as caught:
        validate_transactions(frame, options=TODAY)
    assert "customer id is empty" in caught.value.problems[0]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-01-31", "2024-01-31 00:00"),
        ("2024-01-31 14:05:00", "2024-01-31 14:05"),
        ("2024-01-31T14:05:00", "2024-01-31 14:05"),
        ("2024/1/31", "2024-01-31 00:00"),
        ("2024/01/31 14:05", "2024-01-31 14:05"),
        ("31.01.2024", "2024-01-31 00:00"),
        ("31.01.2024 14:05", "2024-01-31 14:05"),
        ("20240131", "2024-01-31 00:00"),
        ("2024年1月31日", "2024-01-31 00:00"),
        ("45322", "2024-01-31 00:00"),
        ("2024-01-31T14:05:00+08:00", "2024-01-31 14:05"),
    ],
)
def test_common_date_forms(text: str, expected: str) -> None:
    parsed = parse_dates(pd.Series([text], dtype="str"))
    assert parsed.values.iloc[0] == pd.Timestamp(expected)


def test_mixed_date_forms_in_one_column() -> None:
    values = pd.Series(["2024-01-31", "2024/2/1", "03.02.2024", "20240204", "junk"], dtype="str")
    parsed = parse_dates(values).values
    assert parsed.iloc[:4].dt.day.tolist() == [31, 1, 3, 4]
    assert pd.isna(parsed.iloc[4])


def test_day_month_order_is_decided_from_the_data() -> None:
    day_first = parse_dates(pd.Series(["13/2/2024", "1/2/2024"], dtype="str"))
    assert day_first.values.dt.month.tolist() == [2, 2]
    assert day_first.warnings == ()
    month_first = parse_dates(pd.Series(["2/13/2024", "1/2/2024"], dtype="str"))
    assert month_first.values.dt.month.tolist() == [2, 1]
    ambiguous = parse_dates(pd.Series(["1/2/2024"], dtype="str"))
    assert "ambiguous" in ambiguous.warnings[0]
    forced = parse_dates(pd.Series(["1/2/2024"], dtype="str"), dayfirst=True)
    assert forced.values.iloc[0] == pd.Timestamp("2024-02-01")


def test_native_and_numeric_dates() -> None:
    native = pd.Series(pd.to_datetime(["2024-01-31 10:00"]))
    assert parse_dates(native).values.iloc[0] == pd.Timestamp("2024-01-31 10:00")
    aware = native.dt.tz_localize("Asia/Shanghai")
    assert parse_dates(aware).values.iloc[0] == pd.Timestamp("2024-01-31 10:00")
    numbers = pd.Series([20240131, 45322.5])
    parsed = parse_dates(numbers).values
    assert parsed.iloc[0] == pd.Timestamp("2024-01-31")
    assert parsed.iloc[1] == pd.Timestamp("2024-01-31 12:00")
    mixed = pd.Series([dt.datetime(2024, 1, 31), "2024-02-01", None], dtype=object)
    assert parse_dates(mixed).values.iloc[:2].dt.day.tolist() == [31, 1]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("12.5", 12.5),
        ("-3", -3.0),
        ("¥1,234.50", 1234.5),
        ("￥88", 88.0),
        ("$ 1,000", 1000.0),
        ("1.234,56 €", 1234.56),
        ("12,5", 12.5),
        ("(12.00)", -12.0),
        ("12.00-", -12.0),
        ("100元", 100.0),
        ("RMB 15", 15.0),
        ("1\u00a0234,50", 1234.5),
    ],
)
def test_money_forms(text: str, expected: float) -> None:
    parsed = parse_amounts(pd.Series([text], dtype="str"))
    assert parsed.values.iloc[0] == pytest.approx(expected)


def test_amounts_that_are_not_numbers_become_missing() -> None:
    parsed = parse_amounts(pd.Series(["abc", "inf", "1e400", None], dtype="str"))
    assert parsed.values.isna().all()
    assert not parsed.cleaned.any()


@settings(max_examples=60, deadline=None)
@given(st.floats(min_value=-1e7, max_value=1e7, allow_nan=False).map(lambda v: round(v, 2)))
def test_formatted_amounts_round_trip(value: float) -> None:
    forms = [f"{value:.2f}", f"{value:,.2f}", f"¥{value:,.2f}"]
    parsed = parse_amounts(pd.Series(forms, dtype="str")).values
    np.testing.assert_allclose(parsed, value, atol=1e-9)


def test_detected_roles_feed_validation_for_chinese_headers() -> None:
    frame = pd.DataFrame(
        {"用户ID": ["u1", "u2"], "下单时间": ["2024/1/5", "2024/1/6"], "订单金额": ["10", "20"]}
    )
    mapping = detect_roles(frame)
    roles = (mapping.customer_id, mapping.order_date, mapping.amount)
    assert roles == ("用户ID", "下单时间", "订单金额")
    result = validate_transactions(frame, mapping, options=TODAY)
    assert result.frame["amount"].sum() == 30


def test_customer_attributes_are_typed_and_accounted() -> None:
    raw = pd.DataFrame(
        {
            "customer_id": ["a", "b", "b", None, "c"],
            "signup_date": ["2024-01-01", "2024-02-01", "2024-02-02", "2024-01-01", "garbage"],
            "channel": ["email", "social", "social", "email", "organic"],
            "browsing_minutes": ["1.5", "2", "3", "4", "5"],
            "postcode": ["01234", "02345", "02345", "0999", "01000"],
        },
        dtype="str",
    )
    customers = validate_customers(raw)
    report = customers.report
    assert report.rows_read == 5 and report.rows_used == 3
    assert dict(report.dropped) == {"missing_customer_id": 1, "duplicate_customer_id": 1}
    # c's signup date and browsing minutes could not be parsed: one altered row.
    assert dict(report.altered) == {"unparsable_value_set_missing": 1}
    assert customers.signup_column == "signup_date"
    assert customers.numeric_columns == ("browsing_minutes",)
    assert customers.categorical_columns == ("channel", "postcode")
    assert customers.frame.loc["b", "signup_date"] == pd.Timestamp("2024-02-01")
    assert list(customers.frame.index) == ["a", "b", "c"]


def test_customer_attributes_need_an_id() -> None:
    with pytest.raises(DataError, match="no customer id column"):
        validate_customers(pd.DataFrame({"colour": ["red"], "size": ["L"]}))


def seed_table() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "用户ID": ["1", "2", "3", "4", "4", "5"],
            "注册时间": [
                "2023-01-01",
                "2023-06-01",
                "2023-07-01",
                "2023-08-01",
                "2023-08-01",
                "2023-09-01",
            ],
            "购买次数": ["5", "1", "3", "2", "2", "7"],
            "平均购买金额": ["120.5", "80", "99", "10", "10", "66"],
            "浏览时长": ["30", "5", "12", "2", "2", "40"],
            "终身价值": ["800", "-5", "", "20", "20", "abc"],
        },
        dtype="str",
    )


def test_seed_format_customer_table() -> None:
    table = validate_customer_table(seed_table())
    assert table.mapping.target == "终身价值" and table.mapping.signup_date == "注册时间"
    report = table.report
    assert report.rows_read == 6 and report.rows_used == 3
    assert dict(report.dropped) == {
        "missing_target": 1,
        "non_numeric_target": 1,
        "duplicate_customer_id": 1,
    }
    assert dict(report.altered) == {"negative_target_clipped": 1}
    assert table.target.to_dict() == {"1": 800.0, "2": 0.0, "4": 20.0}
    assert table.reference_date == pd.Timestamp("2023-08-01")
    assert table.features.loc["1", "days_since_注册时间"] == 212
    expected = {"购买次数", "平均购买金额", "浏览时长", "days_since_注册时间"}
    assert set(table.numeric_columns) == expected


def test_customer_table_needs_id_and_target() -> None:
    with pytest.raises(DataError, match="no target column"):
        validate_customer_table(pd.DataFrame({"用户ID": ["1"], "浏览时长": ["3"]}))


def test_issue_keys_are_stable() -> None:
    assert RowIssue("unparsable_date") is RowIssue.UNPARSABLE_DATE


# --------------------------------------------------------------------------------------------
# Real exports: statuses, cancellations, guests, baskets
# --------------------------------------------------------------------------------------------


def test_orders_whose_status_is_not_spend_are_dropped_by_reason() -> None:
    statuses = ["paid", "Cancelled", "REFUNDED", "pending", "交易成功", "交易关闭", "退款成功"]
    statuses += ["等待买家付款", "partially_refunded", "voided", "已发货"]
    frame = pd.DataFrame(
        {
            "order_id": [str(i) for i in range(len(statuses))],
            "customer_id": ["a", "b"] * 5 + ["a"],
            "order_date": [f"2024-01-{i + 1:02d} 10:00:00" for i in range(len(statuses))],
            "amount": ["10.00"] * len(statuses),
            "订单状态": statuses,
        }
    )
    result = validate_transactions(frame, options=TODAY)
    assert result.mapping.status == "订单状态"
    assert dict(result.report.dropped) == {
        "order_cancelled": 3,
        "order_refunded": 2,
        "order_unpaid": 2,
    }
    assert result.report.examples["order_cancelled"][0] == "row 3: 'Cancelled'"
    assert result.report.rows_used == 4
    assert any("partially refunded" in warning for warning in result.report.warnings)


def test_cancellation_documents_are_returns_even_with_positive_amounts() -> None:
    frame = pd.DataFrame(
        {
            "Invoice": ["536365", "536366", "C536365", "536367", "536368"],
            "Customer": ["a", "a", "a", "b", "b"],
            "Date": [f"2024-01-0{day} 10:00:00" for day in range(1, 6)],
            "Total": ["20.00", "15.00", "20.00", "9.00", "11.00"],
        }
    )
    result = validate_transactions(frame, options=TODAY)
    assert result.frame.set_index("order_id").loc["C536365", "amount"] == -20.0
    assert result.report.altered["return_made_negative"] == 1
    assert result.report.summary["n_cancellation_lines"] == 1
    assert result.report.summary["n_returns"] == 1


def test_a_letter_used_by_every_order_id_is_not_a_cancellation_mark() -> None:
    frame = pd.DataFrame(
        {
            "order_id": ["R1001", "R1002", "R1003", "R1004"],
            "customer_id": ["a", "a", "b", "b"],
            "order_date": ["2024-01-01", "2024-01-02", "2024-01-03", "2024-01-04"],
            "amount": ["20.00", "15.00", "9.00", "11.00"],
        }
    )
    result = validate_transactions(frame, options=TODAY)
    assert (result.frame["amount"] > 0).all()
    assert "n_cancellation_lines" not in result.report.summary


def test_a_negative_quantity_makes_a_positive_total_a_return() -> None:
    frame = pd.DataFrame(
        {
            "customer_id": ["a", "a", "b"],
            "order_date": ["2024-01-01", "2024-01-02", "2024-01-03"],
            "quantity": ["2", "-1", "1"],
            "total": ["20.00", "10.00", "9.00"],
        }
    )
    result = validate_transactions(frame, options=TODAY)
    assert result.frame["amount"].tolist() == [20.0, -10.0, 9.0]
    assert result.report.altered["return_made_negative"] == 1


def test_guest_placeholders_are_dropped_and_counted() -> None:
    frame = pd.DataFrame(
        {
            "customer_id": ["a", "Guest", "游客", "0", "-1", "b", "anonymous"],
            "order_date": [f"2024-01-0{i + 1}" for i in range(7)],
            "amount": ["10.00"] * 7,
        }
    )
    result = validate_transactions(frame, options=TODAY)
    assert result.report.dropped["guest_customer_id"] == 3
    # A number is a placeholder only when it holds far more rows than a customer does.
    assert sorted(result.frame["customer_id"]) == ["-1", "0", "a", "b"]
    till = pd.DataFrame(
        {
            "customer_id": ["0"] * 12 + ["a", "b", "c"],
            "order_date": [f"2024-01-{i + 1:02d}" for i in range(15)],
            "amount": ["10.00"] * 15,
        }
    )
    assert validate_transactions(till, options=TODAY).report.dropped["guest_customer_id"] == 12


def test_lines_without_order_id_become_one_basket_per_customer_and_day() -> None:
    frame = pd.DataFrame(
        {
            "customer_id": ["a", "a", "a", "b", "a"],
            "order_date": ["2024-01-01", "2024-01-01", "2024-01-01", "2024-01-01", "2024-01-02"],
            "amount": ["1.50", "2.50", "-0.50", "4.00", "3.00"],
        }
    )
    result = validate_transactions(frame, options=TODAY)
    assert result.frame.groupby("customer_id")["amount"].apply(list).to_dict() == {
        "a": [3.5, 3.0],
        "b": [4.0],
    }
    assert result.report.altered["lines_combined_into_baskets"] == 2
    assert result.report.summary["n_orders"] == 3
    separate = validate_transactions(
        frame,
        options=ValidationOptions(latest_valid_date=dt.date(2025, 1, 1), combine_baskets=False),
    )
    assert len(separate.frame) == 5


def test_identical_order_lines_both_count() -> None:
    frame = pd.DataFrame(
        {
            "Invoice": ["1", "1", "1"],
            "Customer": ["a", "a", "a"],
            "Date": ["2024-01-01 10:00:00"] * 3,
            "Quantity": ["2", "2", "1"],
            "Price": ["1.25", "1.25", "3.00"],
        }
    )
    result = validate_transactions(frame, options=TODAY)
    assert result.frame["amount"].tolist() == [8.0]
    assert "duplicate_row" not in result.report.dropped
    assert any("one item can appear twice" in warning for warning in result.report.warnings)


def test_returns_without_an_earlier_sale_are_kept_and_counted() -> None:
    frame = pd.DataFrame(
        {
            "customer_id": ["a", "a", "b", "b"],
            "order_date": ["2024-01-01", "2024-01-05", "2024-01-02", "2024-01-09"],
            "amount": ["-5.00", "20.00", "10.00", "-4.00"],
        }
    )
    result = validate_transactions(frame, options=TODAY)
    assert result.report.summary["n_refunds_without_sale"] == 1
    assert result.frame["amount"].sum() == 21.0


def test_row_numbers_follow_the_first_data_row() -> None:
    result = validate_transactions(messy_log(), options=TODAY, first_row=4)
    assert result.report.examples["missing_customer_id"] == ("row 7",)


def test_ids_saved_as_float_text_lose_the_trailing_zero() -> None:
    frame = pd.DataFrame(
        {
            "customer_id": ["13085.0", "13085.0", None, "12000.0"],
            "order_date": ["2024-01-01", "2024-01-02", "2024-01-03", "2024-01-04"],
            "amount": ["1.00"] * 4,
        }
    )
    result = validate_transactions(frame, options=TODAY)
    assert sorted(set(result.frame["customer_id"])) == ["12000", "13085"]
    mixed = frame.assign(customer_id=["1.0", "1.5", "2.0", "2.0"])
    assert "1.0" in set(validate_transactions(mixed, options=TODAY).frame["customer_id"])


def test_timezone_after_a_space_is_removed() -> None:
    parsed = parse_dates(pd.Series(["2023-03-05 14:03:11 +0100", "2023-07-05 09:00:00 +0200"]))
    assert parsed.values.tolist() == [
        pd.Timestamp("2023-03-05 14:03:11"),
        pd.Timestamp("2023-07-05 09:00:00"),
    ]
    assert parsed.timezone_removed.tolist() == [True, True]


def test_order_fields_on_the_first_line_only_are_filled_and_the_total_counted_once() -> None:
    # A shop platform's single-file orders export: one row per line item; the customer, date,
    # status and order total stand on the order's first line only.
    frame = pd.DataFrame(
        {
            "Name": ["#1001", "#1001", "#1001", "#1002", "#1002", "#1003"],
            "Email": ["a@x.org", "", "", "b@x.org", "", "a@x.org"],
            "Financial Status": ["paid", "", "", "refunded", "", "paid"],
            "Created at": [
                "2024-01-05 10:00:00 +0100",
                "",
                "",
                "2024-01-06 11:00:00 +0100",
                "",
                "2024-02-01 09:00:00 +0100",
            ],
            "Total": ["57.90", "", "", "20.00", "", "12.50"],
            "Lineitem quantity": ["1", "2", "1", "1", "1", "1"],
            "Lineitem price": ["19.90", "9.00", "15.00", "10.00", "10.00", "12.50"],
        }
    )
    result = validate_transactions(frame, options=TODAY)
    mapping = result.mapping
    assert (mapping.amount, mapping.status, mapping.order_id) == (
        "Total",
        "Financial Status",
        "Name",
    )
    assert result.frame.set_index("order_id")["amount"].to_dict() == {"#1001": 57.9, "#1003": 12.5}
    assert result.report.altered["order_fields_filled"] == 3
    assert result.report.altered["order_total_on_other_line"] == 3
    assert dict(result.report.dropped) == {"order_refunded": 2}
    assert result.report.rows_used == 4


def test_a_dotted_thousand_in_a_decimal_comma_column() -> None:
    parsed = parse_amounts(pd.Series(["1.234,56", "12,50", "1.000", "2.500,00", "7"]))
    assert parsed.values.tolist() == [1234.56, 12.5, 1000.0, 2500.0, 7.0]
    plain = parse_amounts(pd.Series(["1.000", "2.5", "1,234.50"]))
    assert plain.values.tolist() == [1.0, 2.5, 1234.5]
