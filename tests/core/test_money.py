"""Money semantics: which columns are spend, the spend sentence, and the plausibility checks."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from clv_core.columns import detect_roles
from clv_core.errors import DataError
from clv_core.money import MoneyKind, MoneyWarning, SpendFormula, explain_spend, money_kind
from clv_core.validation import ValidationOptions, validate_transactions

OPTIONS = ValidationOptions(latest_valid_date=dt.date(2030, 1, 1))


def _catalogue(rng: np.random.Generator, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Product codes and their fixed unit prices (two decimals)."""
    codes = np.array([f"SKU{i:03d}" for i in range(size)])
    prices = np.round(rng.uniform(0.5, 40.0, size), 2)
    return codes, prices


def line_items(
    *,
    seed: int = 0,
    lines: int = 1_500,
    value: str = "unit_price",
    value_header: str = "Price",
    with_product: bool = True,
) -> pd.DataFrame:
    """Invoice lines with a quantity and a money column that is a unit price or a line total."""
    rng = np.random.default_rng(seed)
    codes, prices = _catalogue(rng, 60)
    product = rng.integers(0, len(codes), lines)
    quantity = rng.choice([1, 1, 2, 3, 4, 6, 12, 24], lines)
    unit = prices[product]
    money = unit if value == "unit_price" else np.round(unit * quantity, 2)
    frame = pd.DataFrame(
        {
            "Invoice": [f"{500000 + i // 4}" for i in range(lines)],
            "Customer": [f"{12000 + (i // 4) % 90}" for i in range(lines)],
            "Date": [f"2024-{1 + (i // 4) % 12:02d}-{1 + (i // 4) % 27:02d}" for i in range(lines)],
            "Quantity": quantity.astype(str),
            value_header: [f"{v:.2f}" for v in money],
        }
    )
    if with_product:
        frame.insert(1, "StockCode", codes[product])
    return frame


def test_header_kinds() -> None:
    assert money_kind("Price") is MoneyKind.UNIT_PRICE
    assert money_kind("商品单价") is MoneyKind.UNIT_PRICE
    assert money_kind("实付金额") is MoneyKind.PAID_TOTAL
    assert money_kind("Net Amount") is MoneyKind.PAID_TOTAL
    assert money_kind("SALES_VALUE") is MoneyKind.TOTAL
    assert money_kind("COST") is MoneyKind.COST
    assert money_kind("Lineitem discount") is MoneyKind.DISCOUNT
    assert money_kind("Lineitem quantity") is MoneyKind.QUANTITY
    assert money_kind("Weight") is MoneyKind.OTHER


def test_price_next_to_quantity_is_a_unit_price() -> None:
    frame = line_items()
    mapping = detect_roles(frame)
    assert (mapping.amount, mapping.quantity, mapping.unit_price) == (None, "Quantity", "Price")
    result = validate_transactions(frame, mapping, options=OPTIONS)
    expected = (frame["Quantity"].astype(float) * frame["Price"].astype(float)).sum()
    assert result.frame["amount"].sum() == pytest.approx(expected)
    assert result.money is not None
    assert result.money.explanation.sentence == "spend per line = Quantity x Price"
    assert result.report.summary["spend_rule"] == "spend per line = Quantity x Price"


def test_a_price_named_column_holding_line_totals_is_spend() -> None:
    # "Sales price" is decided by the data: its value per unit is what stays the same.
    frame = line_items(value="total", value_header="Sales Price")
    mapping = detect_roles(frame)
    assert (mapping.amount, mapping.unit_price) == ("Sales Price", None)
    assert mapping.sources["amount"] == "content"


def test_without_a_product_column_the_elasticity_decides() -> None:
    prices = detect_roles(line_items(with_product=False))
    assert (prices.amount, prices.unit_price) == (None, "Price")
    totals = detect_roles(line_items(value="total", value_header="Sales Price", with_product=False))
    assert (totals.amount, totals.unit_price) == ("Sales Price", None)


def test_an_amount_named_column_of_unit_prices_becomes_the_unit_price() -> None:
    frame = line_items(value_header="Value")
    mapping = detect_roles(frame)
    assert (mapping.amount, mapping.unit_price) == (None, "Value")


def test_a_price_without_quantity_is_the_spend_of_one_item() -> None:
    frame = line_items().drop(columns=["Quantity"])
    mapping = detect_roles(frame)
    assert (mapping.amount, mapping.unit_price) == ("Price", None)


def test_an_amount_of_small_whole_numbers_is_a_quantity() -> None:
    frame = pd.DataFrame(
        {
            "CUSTOMER_ID": ["1", "1", "2", "2", "3"] * 20,
            "DATE": ["01/02/2024"] * 100,
            "AMOUNT": ["1", "2", "1", "3", "1"] * 20,
            "COST": ["0.70", "2.10", "1.05", "4.20", "0.35"] * 20,
            "SALES_VALUE": ["0.99", "2.98", "1.49", "5.97", "0.49"] * 20,
        }
    )
    mapping = detect_roles(frame)
    assert (mapping.amount, mapping.quantity, mapping.cost) == ("SALES_VALUE", "AMOUNT", "COST")
    explanation = explain_spend(frame, mapping)
    assert explanation.sentence == "spend per line = SALES_VALUE"
    assert {item.column: item.key for item in explanation.rejected} == {
        "AMOUNT": "quantity_not_needed",
        "COST": "cost",
    }


def test_the_amount_paid_beats_the_list_value() -> None:
    frame = pd.DataFrame(
        {
            "订单号": [f"{i}" for i in range(40)],
            "买家ID": [f"u{i % 7}" for i in range(40)],
            "下单时间": ["2024-03-05 14:03:11"] * 40,
            "订单金额": [f"{100 + i}.00" for i in range(40)],
            "实付金额": [f"{90 + i}.50" for i in range(40)],
        }
    )
    mapping = detect_roles(frame)
    assert mapping.amount == "实付金额"
    rejected = explain_spend(frame, mapping).rejected
    assert [(item.column, item.key) for item in rejected] == [("订单金额", "other_total")]


def test_two_disagreeing_totals_stop_with_both_names() -> None:
    frame = pd.DataFrame(
        {
            "customer_id": [f"c{i % 5}" for i in range(30)],
            "order_date": ["2024-01-02"] * 30,
            "total": [f"{10 + i}.25" for i in range(30)],
            "revenue": [f"{3 + 2 * i}.75" for i in range(30)],
        }
    )
    mapping = detect_roles(frame)
    assert mapping.amount is None
    with pytest.raises(DataError, match=r"ambiguous: 'total' and 'revenue'.*--amount-col"):
        validate_transactions(frame, mapping, options=OPTIONS)
    chosen = detect_roles(frame, overrides={"amount": "revenue"})
    assert validate_transactions(frame, chosen, options=OPTIONS).frame["amount"].sum() > 0
    # Another decimal column is no way out of the ambiguity.
    with_more = frame.assign(qty=[str(1 + i % 3) for i in range(30)], weight_kg="0.25")
    assert detect_roles(with_more).amount is None


def test_two_identical_totals_are_not_ambiguous() -> None:
    frame = pd.DataFrame(
        {
            "customer_id": [f"c{i % 5}" for i in range(30)],
            "order_date": ["2024-01-02"] * 30,
            "total": [f"{10 + i}.25" for i in range(30)],
            "revenue": [f"{10 + i}.25" for i in range(30)],
        }
    )
    mapping = detect_roles(frame)
    assert mapping.amount == "total"
    rejected = explain_spend(frame, mapping).rejected
    assert [(item.column, item.key) for item in rejected] == [("revenue", "same_values")]


def test_user_choices_are_never_overridden() -> None:
    frame = line_items()
    mapping = detect_roles(frame, overrides={"amount": "Price"})
    assert (mapping.amount, mapping.unit_price) == ("Price", None)
    assert mapping.sources["amount"] == "user"


def test_discount_is_subtracted_from_quantity_times_price() -> None:
    frame = pd.DataFrame(
        {
            "order_id": ["1", "1", "2", "3"],
            "customer_id": ["a", "a", "b", "b"],
            "order_date": ["2024-01-01 10:00:00"] * 2 + ["2024-01-02 10:00:00"] * 2,
            "quantity": ["2", "1", "3", "-1"],
            "unit_price": ["10.00", "5.00", "4.00", "4.00"],
            "discount": ["1.50", "", "0", "0.50"],
        }
    )
    result = validate_transactions(frame, detect_roles(frame), options=OPTIONS)
    assert result.frame.set_index("order_id")["amount"].to_dict() == {
        "1": 23.5,
        "2": 12.0,
        "3": -3.5,
    }
    assert result.report.altered["discount_subtracted"] == 2
    assert result.money is not None
    assert result.money.explanation.formula is SpendFormula.QUANTITY_X_PRICE_MINUS_DISCOUNT


def test_discount_rate_multiplies() -> None:
    frame = pd.DataFrame(
        {
            "customer_id": ["a", "b"],
            "order_date": ["2024-01-01", "2024-01-02"],
            "quantity": ["2", "1"],
            "unit_price": ["10.00", "5.00"],
            "discount rate": ["25", "10"],
        }
    )
    mapping = detect_roles(frame, overrides={"discount": "discount rate"})
    result = validate_transactions(frame, mapping, options=OPTIONS)
    # The scale is the column's: percentages, since a value is above 1.
    assert result.frame["amount"].tolist() == [15.0, 4.5]
    shares = frame.assign(**{"discount rate": ["0.25", "0.1"]})
    assert validate_transactions(shares, mapping, options=OPTIONS).frame["amount"].tolist() == [
        15.0,
        4.5,
    ]


# --------------------------------------------------------------------------------------------
# Plausibility
# --------------------------------------------------------------------------------------------


def _keys(warnings: tuple[MoneyWarning, ...]) -> list[str]:
    return [warning.key for warning in warnings]


def test_unit_prices_taken_as_spend_are_flagged_with_the_fix() -> None:
    frame = line_items()
    result = validate_transactions(
        frame, detect_roles(frame, overrides={"amount": "Price"}), options=OPTIONS
    )
    assert result.money is not None
    warning = result.money.warnings[0]
    assert warning.key == "amount_is_unit_price"
    assert dict(warning.roles) == {"amount": None, "unit_price": "Price"}
    assert warning.flags == "--amount-col none --unit-price-col Price"
    fixed = detect_roles(frame, overrides=dict(warning.roles))
    assert validate_transactions(frame, fixed, options=OPTIONS).money.warnings == ()  # type: ignore[union-attr]


def test_small_integer_spend_is_flagged_and_the_decimal_column_suggested() -> None:
    frame = pd.DataFrame(
        {
            "customer_id": [f"c{i % 9}" for i in range(60)],
            "order_date": [f"2024-01-{1 + i % 28:02d}" for i in range(60)],
            "items": [str(1 + i % 4) for i in range(60)],
            "paid": [f"{(1 + i % 4) * 3.99:.2f}" for i in range(60)],
        }
    )
    mapping = detect_roles(frame, overrides={"amount": "items", "quantity": None})
    result = validate_transactions(frame, mapping, options=OPTIONS)
    assert result.money is not None
    assert _keys(result.money.warnings) == ["spend_small_integers"]
    assert dict(result.money.warnings[0].roles) == {"amount": "paid", "quantity": "items"}


def test_median_order_below_the_unit_price_is_flagged() -> None:
    frame = pd.DataFrame(
        {
            "customer_id": [f"c{i % 9}" for i in range(40)],
            "order_date": [f"2024-01-{1 + i % 28:02d}" for i in range(40)],
            "discount_amount_x": [f"{0.5 + i % 3:.2f}" for i in range(40)],
            "unit price": [f"{20 + i % 5}.90" for i in range(40)],
        }
    )
    mapping = detect_roles(frame, overrides={"amount": "discount_amount_x", "unit_price": None})
    result = validate_transactions(frame, mapping, options=OPTIONS)
    assert result.money is not None
    assert "order_value_below_unit_price" in _keys(result.money.warnings)


def test_cost_larger_than_spend_and_cost_taken_as_spend_are_flagged() -> None:
    frame = pd.DataFrame(
        {
            "customer_id": [f"c{i % 9}" for i in range(40)],
            "order_date": [f"2024-01-{1 + i % 28:02d}" for i in range(40)],
            "net": [f"{1 + i % 3}.10" for i in range(40)],
            "cost": [f"{8 + i % 3}.50" for i in range(40)],
            "gross sales": [f"{12 + i % 3}.20" for i in range(40)],
        }
    )
    result = validate_transactions(
        frame, detect_roles(frame, overrides={"amount": "net"}), options=OPTIONS
    )
    assert result.money is not None
    assert _keys(result.money.warnings) == ["cost_above_spend"]
    assert dict(result.money.warnings[0].roles) == {"amount": "gross sales"}
    as_cost = validate_transactions(
        frame, detect_roles(frame, overrides={"amount": "cost"}), options=OPTIONS
    )
    assert as_cost.money is not None
    assert _keys(as_cost.money.warnings) == ["spend_is_cost"]


def test_one_placeholder_customer_holding_most_spend_is_flagged_then_dropped() -> None:
    customers = ["99999"] * 60 + [f"c{i}" for i in range(20)]
    frame = pd.DataFrame(
        {
            "customer_id": customers,
            "order_date": [f"2024-02-{1 + i % 28:02d} 1{i % 10}:00:00" for i in range(80)],
            "amount": [f"{10 + i % 7}.00" for i in range(80)],
        }
    )
    result = validate_transactions(frame, options=OPTIONS)
    assert result.money is not None
    warning = result.money.warnings[0]
    assert warning.key == "dominant_customer_spend"
    assert warning.guest_ids == ("99999",)
    assert warning.flags == "--guest-id 99999"
    guests = ValidationOptions(latest_valid_date=dt.date(2030, 1, 1), guest_ids=warning.guest_ids)
    cleaned = validate_transactions(frame, options=guests)
    assert cleaned.report.dropped["guest_customer_id"] == 60
    assert cleaned.money is not None and cleaned.money.warnings == ()


def test_mixed_currencies_are_flagged() -> None:
    frame = pd.DataFrame(
        {
            "customer_id": [f"c{i % 9}" for i in range(30)],
            "order_date": [f"2024-01-{1 + i % 28:02d}" for i in range(30)],
            "amount": [f"{10 + i}.00" for i in range(30)],
            "currency": ["EUR"] * 20 + ["USD"] * 10,
        }
    )
    result = validate_transactions(frame, options=OPTIONS)
    assert result.money is not None
    assert result.money.currencies == {"EUR": 20, "USD": 10}
    assert _keys(result.money.warnings) == ["mixed_currencies"]


def test_plausibility_figures() -> None:
    frame = pd.DataFrame(
        {
            "order_id": ["1", "1", "2", "3", "4"],
            "customer_id": ["a", "a", "a", "b", "b"],
            "order_date": ["2024-01-01 10:00:00"] * 2 + ["2024-01-05 10:00:00"] * 3,
            "amount": ["10.00", "0", "30.00", "50.00", "-5.00"],
        }
    )
    result = validate_transactions(frame, options=OPTIONS)
    assert result.money is not None
    figures = result.money.figures
    assert figures["median_order_value"] == 30.0
    assert figures["negative_line_share"] == 0.2
    assert figures["zero_line_share"] == 0.2
    assert figures["orders_per_customer_mean"] == 2.0
    assert figures["lines_per_order"] == 1.25
    assert figures["top_customer_spend_share"] == pytest.approx(45 / 85, abs=1e-4)
    assert result.money.to_dict()["spend"]["sentence"] == "spend per line = amount"
