"""Column-role detection from headers (English and Chinese) and from content."""

from __future__ import annotations

import pandas as pd
import pytest

from clv_core.columns import (
    ColumnMapping,
    InputShape,
    Role,
    detect_input_shape,
    detect_roles,
    normalise_header,
)
from clv_core.errors import DataError


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        (["customer_id", "order_date", "amount"], ("customer_id", "order_date", "amount")),
        (["Customer ID", "Order Date", "Revenue"], ("Customer ID", "Order Date", "Revenue")),
        (["USER-ID", "date", "Sales"], ("USER-ID", "date", "Sales")),
        (["用户ID", "下单时间", "订单金额"], ("用户ID", "下单时间", "订单金额")),
        (["客户ID", "订单日期", "金额"], ("客户ID", "订单日期", "金额")),
        (["会员编号", "支付时间", "实付金额"], ("会员编号", "支付时间", "实付金额")),
    ],
)
def test_roles_from_headers(headers: list[str], expected: tuple[str, str, str]) -> None:
    frame = pd.DataFrame([["a", "2024-01-01", "1.5"]], columns=headers)
    mapping = detect_roles(frame)
    assert (mapping.customer_id, mapping.order_date, mapping.amount) == expected
    assert mapping.sources["customer_id"] == "header"


def test_optional_roles_from_headers() -> None:
    frame = pd.DataFrame(
        [["o1", "c1", "2024-01-01", "3", "2.5", "2023-01-01", "9"]],
        columns=["订单号", "用户ID", "日期", "数量", "单价", "注册时间", "终身价值"],
    )
    mapping = detect_roles(frame)
    assert mapping.assigned() == {
        Role.CUSTOMER_ID: "用户ID",
        Role.ORDER_DATE: "日期",
        Role.ORDER_ID: "订单号",
        Role.QUANTITY: "数量",
        Role.UNIT_PRICE: "单价",
        Role.SIGNUP_DATE: "注册时间",
        Role.TARGET: "终身价值",
    }


def test_roles_from_content_when_headers_say_nothing() -> None:
    frame = pd.DataFrame(
        {
            "col_a": ["x1", "x2", "x1", "x3"],
            "col_b": ["2024-01-01", "2024-01-03", "2024-02-01", "2024-02-05"],
            "col_c": ["10.50", "3.20", "7.00", "1.99"],
        }
    )
    mapping = detect_roles(frame)
    assert (mapping.customer_id, mapping.order_date, mapping.amount) == ("col_a", "col_b", "col_c")
    assert mapping.sources == {
        "order_date": "content",
        "amount": "content",
        "customer_id": "content",
    }


def test_plain_numbers_are_not_taken_for_dates() -> None:
    frame = pd.DataFrame({"k": ["a", "b", "a"], "n": ["1", "2", "3"], "v": ["1.5", "2.5", "3.5"]})
    assert detect_roles(frame).order_date is None


def test_overrides_win_and_are_checked() -> None:
    frame = pd.DataFrame(columns=["customer_id", "order_date", "amount", "net_amount"])
    mapping = detect_roles(frame, overrides={"amount": "net_amount"})
    assert mapping.amount == "net_amount" and mapping.sources["amount"] == "user"
    cleared = detect_roles(frame, overrides={"order_date": None})
    assert cleared.order_date is None
    with pytest.raises(DataError, match=r"not in the table.*amount='nope'"):
        detect_roles(frame, overrides={"amount": "nope"})
    with pytest.raises(DataError, match="valid roles are"):
        detect_roles(frame, overrides={"price_per_kilo": "amount"})


def test_with_roles_records_user_choice() -> None:
    mapping = ColumnMapping(customer_id="a", sources={"customer_id": "header"})
    changed = mapping.with_roles(amount="b", customer_id=None)
    assert changed.amount == "b" and changed.customer_id is None
    assert changed.sources == {"amount": "user"}
    assert changed.to_dict()["amount"] == "b"


def test_normalise_header() -> None:
    assert normalise_header(" Customer_ID ") == normalise_header("customer-id") == "customerid"
    assert normalise_header("用户 ID（主）") == "用户id主"


def test_input_shape() -> None:
    seed = pd.DataFrame(
        {"用户ID": ["1", "2"], "注册时间": ["2023-01-01"] * 2, "终身价值": ["1", "2"]}
    )
    assert detect_input_shape(seed, detect_roles(seed)) is InputShape.CUSTOMER_TABLE
    log = pd.DataFrame(
        {"customer_id": ["1", "1"], "date": ["2024-01-01"] * 2, "amount": ["1", "2"]}
    )
    assert detect_input_shape(log, detect_roles(log)) is InputShape.TRANSACTIONS
    other = pd.DataFrame({"colour": ["red"]})
    with pytest.raises(DataError, match="Could not tell what kind of table"):
        detect_input_shape(other, detect_roles(other))


def test_a_currency_unit_after_a_money_header_is_ignored() -> None:
    assert normalise_header("金额（元）") == "金额"
    assert normalise_header("Unit Price (EUR)") == "unitprice"
    assert normalise_header("Total $") == "total"
    assert normalise_header("元") == "元"
    frame = pd.DataFrame(
        {
            "交易号": ["1", "2", "3"],
            "买家ID": ["a", "b", "a"],
            "交易创建时间": ["2024-01-01 10:00:00", "2024-01-02 10:00:00", "2024-01-03 10:00:00"],
            "金额（元）": ["12.50", "8.00", "3.20"],
            "交易状态": ["交易成功", "交易关闭", "交易成功"],
        }
    )
    mapping = detect_roles(frame)
    assert (mapping.amount, mapping.status, mapping.order_id) == (
        "金额（元）",
        "交易状态",
        "交易号",
    )
    assert mapping.order_date == "交易创建时间"
