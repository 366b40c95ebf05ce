"""The spend of each transaction row.

Spend is the mapped amount column, or quantity x unit price less a discount (an amount off or a
rate); missing and non-numeric amounts are dropped and cleaned text is counted. A positive amount
on a return (a negative quantity, a line of a cancellation document) is made negative.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from clv_core.columns import ColumnMapping
from clv_core.errors import DataError
from clv_core.issues import RowIssue
from clv_core.money import SpendFormula, discount_rates, spend_formula
from clv_core.parsing import is_missing, parse_amounts
from clv_core.validation.options import ValidationOptions
from clv_core.validation.report import _Accounting


def _transaction_amounts(
    frame: pd.DataFrame,
    mapping: ColumnMapping,
    options: ValidationOptions,
    accounting: _Accounting,
    keep: np.ndarray,
    cancellation: np.ndarray | None,
) -> tuple[pd.Series, str]:
    """Spend per row (NaN for rows to drop), recording missing/non-numeric/cleaned rows.

    Spend is the amount column, or quantity x unit price (less a discount when one is mapped).
    A positive amount on a row with a negative quantity, or on a line of a cancellation
    document, is a return and is made negative.
    """
    quantity = None
    if mapping.quantity is not None:
        quantity = parse_amounts(frame[mapping.quantity], decimal_comma=options.decimal_comma)
    formula = spend_formula(mapping, frame)
    if formula is SpendFormula.TOTAL:
        raw = frame[str(mapping.amount)]
        parsed = parse_amounts(raw, decimal_comma=options.decimal_comma)
        source = f"column '{mapping.amount}'"
        cleaned = parsed.cleaned
        amounts = parsed.values
        missing = is_missing(raw)
    else:
        assert quantity is not None
        quantity_raw = frame[str(mapping.quantity)]
        price_raw = frame[str(mapping.unit_price)]
        price = parse_amounts(price_raw, decimal_comma=options.decimal_comma)
        amounts = quantity.values * price.values
        missing = is_missing(quantity_raw) | is_missing(price_raw)
        cleaned = quantity.cleaned | price.cleaned
        raw = quantity_raw.astype("string") + " x " + price_raw.astype("string")
        source = f"'{mapping.quantity}' x '{mapping.unit_price}'"
        accounting.record(
            RowIssue.AMOUNT_FROM_QUANTITY_AND_PRICE,
            keep & amounts.notna().to_numpy(bool),
            None,
            dropped=False,
        )
        if mapping.discount is not None:
            amounts, discount_source = _subtract_discount(
                frame[mapping.discount],
                amounts,
                column=mapping.discount,
                formula=formula,
                options=options,
                accounting=accounting,
                keep=keep,
            )
            source += discount_source
    missing = missing & keep
    accounting.record(RowIssue.MISSING_AMOUNT, missing, None, dropped=True)
    non_numeric = amounts.isna().to_numpy(bool) & keep & ~missing
    if non_numeric.any() and non_numeric.sum() == (keep & ~missing).sum():
        raise DataError(
            f"The amount {source} has no numeric value "
            f"(e.g. {accounting.examples_of(raw, non_numeric)}). Check the column mapping."
        )
    accounting.record(RowIssue.NON_NUMERIC_AMOUNT, non_numeric, raw, dropped=True)
    accounting.record(RowIssue.AMOUNT_TEXT_CLEANED, cleaned & keep, raw, dropped=False)
    is_return = np.zeros(len(frame), dtype=bool)
    if quantity is not None and formula is SpendFormula.TOTAL:
        is_return |= (quantity.values < 0).to_numpy(bool)
    if cancellation is not None:
        is_return |= cancellation
    amounts = _make_returns_negative(amounts, raw, is_return, accounting, keep)
    return amounts.where(keep), source


def _subtract_discount(
    raw_discount: pd.Series,
    amounts: pd.Series,
    *,
    column: str,
    formula: SpendFormula,
    options: ValidationOptions,
    accounting: _Accounting,
    keep: np.ndarray,
) -> tuple[pd.Series, str]:
    """Quantity x unit price less the discount in ``column`` (an amount off, or a rate).

    Returns the discounted amounts and how the discount reads in the spend's source, e.g.
    ``" - 'discount'"``. Rows with a discount and unreadable discount cells are counted.
    """
    if formula is SpendFormula.QUANTITY_X_PRICE_X_RATE:
        rates = discount_rates(raw_discount)
        off = rates.fillna(0.0) * amounts.abs()
        source = f" x (1 - '{column}')"
    else:
        rates = parse_amounts(raw_discount, decimal_comma=options.decimal_comma).values
        off = rates.fillna(0.0)
        source = f" - '{column}'"
    # An empty discount cell means no discount; an unreadable one is counted.
    unreadable = rates.isna().to_numpy(bool) & ~is_missing(raw_discount) & keep
    accounting.record(
        RowIssue.UNPARSABLE_VALUE_SET_MISSING, unreadable, raw_discount, dropped=False
    )
    # A discount reduces what was paid for a sale and what is refunded for a return.
    amounts = amounts - np.sign(amounts) * off.abs()
    accounting.record(
        RowIssue.DISCOUNT_SUBTRACTED,
        keep & amounts.notna().to_numpy(bool) & (off != 0).to_numpy(bool),
        raw_discount,
        dropped=False,
    )
    return amounts, source


def _make_returns_negative(
    amounts: pd.Series,
    raw: pd.Series,
    is_return: np.ndarray,
    accounting: _Accounting,
    keep: np.ndarray,
) -> pd.Series:
    """``amounts`` with the positive amounts of returns (``is_return``) made negative, counted."""
    flip = is_return & (amounts > 0).to_numpy(bool) & keep
    if flip.any():
        accounting.record(RowIssue.RETURN_MADE_NEGATIVE, flip, raw, dropped=False)
        amounts = amounts.where(~flip, -amounts)
    return amounts
