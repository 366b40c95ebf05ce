"""Order lines: the cells an export writes once per order, and lines combined into orders.

On exports with one row per order line, the order's customer, date, status and currency are
filled from the order's line that has them and an order total counts once per order
(:func:`_order_level_cells`); after validation, the kept lines of one order, or of one customer
at one timestamp (a basket), are combined into one order (:func:`_clean_orders`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from clv_core.columns import ColumnMapping, normalise_header
from clv_core.issues import RowIssue
from clv_core.money import SpendFormula, spend_formula
from clv_core.parsing import clean_ids, is_missing
from clv_core.validation.options import ValidationOptions
from clv_core.validation.report import _Accounting


def _order_level_cells(
    frame: pd.DataFrame,
    mapping: ColumnMapping,
    accounting: _Accounting,
    order_columns: frozenset[str],
) -> tuple[pd.DataFrame, np.ndarray]:
    """Read order-level cells right on exports with one row per order line.

    Shop platforms list an order's customer, date, status and currency (and its total) on the
    order's first line only, leaving them empty on its other lines; other exports (and the
    orders file of a two-file export, joined to each line) repeat the order's total on every
    line. Empty customer, date, status and currency cells are filled from the same order's
    line that has them; an order total counts once per order, the order's other lines adding
    0. Both are counted as altered rows.

    Returns
    -------
    tuple
        The frame with the cells filled, and the rows whose order total was set to 0.
    """
    counted_once = np.zeros(len(frame), dtype=bool)
    total = spend_formula(mapping, frame) is SpendFormula.TOTAL
    columns = [mapping.customer_id, mapping.order_date, mapping.status, mapping.currency]
    if total:
        columns.append(mapping.amount)
    # Cheap looks first: most exports have no empty cell in these columns and no total that
    # repeats on an order's lines.
    empty = any(_has_empty_cells(frame[column]) for column in columns if column is not None)
    repeated = total and (
        mapping.amount in order_columns or _total_repeats_on_lines(frame, mapping)
    )
    if not (empty or repeated):
        return frame, counted_once
    order_ids = clean_ids(frame[str(mapping.order_id)])
    if order_ids.is_unique:
        return frame, counted_once
    frame = frame.copy(deep=False)
    known_order = order_ids.notna().to_numpy(bool)
    filled = np.zeros(len(frame), dtype=bool)
    for column in (mapping.customer_id, mapping.order_date, mapping.status, mapping.currency):
        if column is None or not empty:
            continue
        missing = is_missing(frame[column]) & known_order
        if not missing.any():
            continue
        given = ~is_missing(frame[column]) & known_order
        # The first value of each order, looked up by order id (cheaper than a group-by).
        first = pd.Series(frame[column][given].to_numpy(), index=order_ids[given].to_numpy())
        first = first[~first.index.duplicated()]
        values = pd.Series(order_ids[missing].map(first).to_numpy(), index=frame.index[missing])
        fill = np.zeros(len(frame), dtype=bool)
        fill[np.flatnonzero(missing)] = values.notna().to_numpy(bool)
        column_values = frame[column].astype(object)
        column_values[fill] = values[values.notna()].to_numpy()
        frame[column] = column_values
        filled |= fill
    accounting.record(RowIssue.ORDER_FIELDS_FILLED, filled, None, dropped=False)
    if total:
        amount = frame[str(mapping.amount)]
        present = ~is_missing(amount) & known_order
        value_line = present
        if repeated:
            # The first line with the total keeps it; the order's other lines repeat it.
            value_line = present & ~order_ids.where(present).duplicated().to_numpy(bool)
        has_value = pd.Series(present).groupby(order_ids.to_numpy()).transform("any")
        counted_once = known_order & has_value.to_numpy(bool) & ~value_line
        if counted_once.any():
            frame[str(mapping.amount)] = amount.where(~counted_once, 0)
            accounting.record(RowIssue.ORDER_TOTAL_ON_OTHER_LINE, counted_once, None, dropped=False)
    return frame, counted_once


def _total_repeats_on_lines(frame: pd.DataFrame, mapping: ColumnMapping) -> bool:
    """Whether the amount is an order total written on every line of its order.

    Only a column named for the order (``Order Total``, ``订单金额``) can be; decided on the first
    rows: among orders with at least two lines carrying an amount (five such orders at least),
    the amount is the same on all of an order's lines in 95% of them.
    """
    name = normalise_header(mapping.amount)
    if not ("order" in name or "订单" in name):
        # Line and payment amounts (line_total, payment_value) may repeat within an order.
        return False
    sample = frame.head(50_000)
    amount = sample[str(mapping.amount)]
    present = ~is_missing(amount)
    lines = pd.DataFrame(
        {
            "order": clean_ids(sample[str(mapping.order_id)])[present].to_numpy(),
            "amount": amount[present].astype("string").str.strip().to_numpy(),
        }
    ).dropna()
    per_order = lines.groupby("order", sort=False)["amount"].agg(["size", "nunique"])
    several = per_order[per_order["size"] >= 2]
    return len(several) >= 5 and bool((several["nunique"] == 1).mean() >= 0.95)


def _has_empty_cells(values: pd.Series) -> bool:
    """Whether a column has a missing value or an empty text cell (no per-cell stripping)."""
    if values.isna().any():
        return True
    return bool(pd.api.types.is_string_dtype(values) and values.astype("string").eq("").any())


def _clean_orders(
    customer_ids: pd.Series,
    dates: pd.Series,
    amounts: pd.Series,
    order_ids: pd.Series | None,
    keep: np.ndarray,
    options: ValidationOptions,
    accounting: _Accounting,
    *,
    unique: bool,
) -> pd.DataFrame:
    """The kept rows as orders: lines of one order (or one basket) combined, counted."""
    clean = pd.DataFrame(
        {
            "customer_id": customer_ids[keep].to_numpy(),
            "order_date": dates[keep].to_numpy(),
            "amount": amounts[keep].to_numpy(),
        }
    )
    if order_ids is not None:
        clean["order_id"] = order_ids[keep].to_numpy()
        clean, combined = _combine_order_lines(clean, ["customer_id", "order_id"], unique=unique)
        if combined:
            accounting.altered[RowIssue.ORDER_LINES_COMBINED.value] = combined
    elif options.combine_baskets:
        clean, combined = _combine_order_lines(clean, ["customer_id", "order_date"])
        if combined:
            accounting.altered[RowIssue.LINES_COMBINED_INTO_BASKETS.value] = combined
    return clean


def _combine_order_lines(
    clean: pd.DataFrame, keys: list[str], *, unique: bool = False
) -> tuple[pd.DataFrame, int]:
    """One row per order (``keys``): earliest line time, summed amount.

    ``unique`` says the order ids are known to be unique (nothing to combine). A line without
    an order id is an order of its own (grouping would drop it).
    """
    if "order_id" in keys:
        if unique:
            return clean, 0
        without_id = clean["order_id"].isna()
        if without_id.any():
            with_id = clean.loc[~without_id]
            orders, combined = _combine_order_lines(
                with_id, keys, unique=with_id["order_id"].is_unique
            )
            return pd.concat([orders, clean.loc[without_id]], ignore_index=True), combined
    grouped = clean.groupby(keys, sort=False, observed=True)
    aggregations = {"order_date": ("order_date", "min"), "amount": ("amount", "sum")}
    orders = grouped.agg(**{k: v for k, v in aggregations.items() if k not in keys})
    if len(orders) == len(clean):
        return clean, 0
    orders = orders.reset_index()[list(clean.columns)]
    return orders, len(clean) - len(orders)
