"""Two-file exports: an orders table joined with its order-lines (or payments) table.

Shop platforms and ERPs often export orders (order id, customer, date, status) and their lines
(order id, quantity, unit price, discount, or a paid amount) as two files. They are joined on
the order id into one table of lines carrying their order's columns, which the usual role
detection and validation then read. Nothing is lost silently: lines whose order is not in the
orders table are marked so that validation drops and counts them, and orders without any line
are counted in a warning.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from clv_core.columns import detect_roles
from clv_core.errors import DataError
from clv_core.parsing import clean_ids

__all__ = ["JoinedOrderLines", "join_order_lines"]

# A shared column is the join key when this share of the lines' values are order ids.
_MIN_KEY_MATCH = 0.5
_ORDERS_SUFFIX = " (orders)"


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class JoinedOrderLines:
    """Order lines with their order's columns.

    Attributes
    ----------
    frame
        One row per line of the lines table, in its order; the orders table's columns come
        first (a column name both tables use gets the suffix ``" (orders)"`` on the orders'
        side), then the lines' columns. The key column appears once.
    unknown_order
        Lines whose order id is not in the orders table (pass to
        :func:`~clv_core.validation.validate_transactions`).
    key
        The order-id column the tables were joined on (the lines table's name).
    warnings
        Sentences about the join (orders without lines, repeated orders).
    source_name
        ``"orders.csv + lines.csv"`` for reports.
    order_columns
        The columns that came from the orders table (one value per order, repeated on each of
        its lines).
    """

    frame: pd.DataFrame
    unknown_order: np.ndarray
    key: str
    warnings: tuple[str, ...]
    source_name: str
    order_columns: frozenset[str] = frozenset()


def join_order_lines(
    orders: pd.DataFrame,
    lines: pd.DataFrame,
    *,
    orders_name: str = "orders",
    lines_name: str = "order lines",
    key: str | None = None,
) -> JoinedOrderLines:
    """Join an order-lines table to its orders table on the order id.

    Parameters
    ----------
    orders
        One row per order: order id, customer id, order date and optionally a status.
    lines
        One row per order line or payment: order id and an amount, or quantity and unit price.
    orders_name, lines_name
        File names for messages.
    key
        The order-id column (same name in both tables). ``None`` finds it: the order id
        recognised in the orders table when the lines table has the same column, else the
        shared column whose values in the lines are most often order ids of the orders table.

    Raises
    ------
    DataError
        No shared column links the lines to the orders.
    """

    key = key or _find_key(orders, lines, orders_name, lines_name)
    for table, name in ((orders, orders_name), (lines, lines_name)):
        if key not in table.columns:
            raise DataError(
                f"The order id column '{key}' is not in {name}. Its columns are "
                f"{[str(c) for c in table.columns]}; name the shared order id with "
                "--order-id-col."
            )
    order_keys = clean_ids(orders[key])
    line_keys = clean_ids(lines[key])
    _check_not_swapped(orders, lines, order_keys, line_keys, orders_name, lines_name)
    warnings = []
    repeated = order_keys.duplicated() & order_keys.notna()
    if repeated.any():
        warnings.append(
            f"{int(repeated.sum()):,} rows of {orders_name} repeat an order id already listed; "
            "the first row of each order was used."
        )
    first = ~repeated.to_numpy(bool) & order_keys.notna().to_numpy(bool)
    order_table = orders.loc[first].copy()
    order_table.index = pd.Index(order_keys[first].to_numpy(), name=None)
    order_table = order_table.drop(columns=[key])
    shared = [column for column in order_table.columns if column in lines.columns]
    order_table = order_table.rename(columns={c: f"{c}{_ORDERS_SUFFIX}" for c in shared})
    # Integer codes over both files' ids: Arrow-string isin is slow on millions of rows.
    codes, _ = pd.factorize(pd.concat([pd.Series(order_table.index), line_keys], ignore_index=True))
    order_codes, line_codes = codes[: len(order_table)], codes[len(order_table) :]
    known = np.isin(line_codes, order_codes) & (line_codes >= 0)
    attached = (
        order_table.reset_index(drop=True)
        .reindex(_positions(order_codes, line_codes))
        .reset_index(drop=True)
    )
    line_table = lines.reset_index(drop=True).copy(deep=False)
    for column in shared:
        # A column both files have keeps the line's value, or the order's where the line's is
        # empty (a lines file with an empty customer column still gets its orders' customers).
        empty = line_table[column].isna() | line_table[column].astype("string").str.strip().eq("")
        line_table[column] = line_table[column].where(~empty, attached[f"{column}{_ORDERS_SUFFIX}"])
    frame = pd.concat([attached, line_table], axis=1)
    without_lines = int((~np.isin(order_codes, line_codes[known])).sum())
    if without_lines:
        warnings.append(
            f"{without_lines:,} orders in {orders_name} have no line in {lines_name}; they "
            "carry no spend and are not counted as orders."
        )
    if not known.any():
        raise DataError(
            f"No line of {lines_name} belongs to an order of {orders_name} (joined on "
            f"'{key}', e.g. lines have {line_keys.dropna().head(3).tolist()}, orders have "
            f"{order_keys.dropna().head(3).tolist()}). Check that the two files are from the "
            "same export."
        )
    return JoinedOrderLines(
        frame=frame,
        unknown_order=~known,
        key=key,
        warnings=tuple(warnings),
        source_name=f"{orders_name} + {lines_name}",
        order_columns=frozenset(str(column) for column in attached.columns),
    )


def _positions(order_codes: np.ndarray, line_codes: np.ndarray) -> np.ndarray:
    """For each line, the row of its order in the (unique) orders table, or -1."""
    lookup = np.full(max(int(order_codes.max(initial=-1)), int(line_codes.max(initial=-1))) + 2, -1)
    lookup[order_codes[order_codes >= 0]] = np.flatnonzero(order_codes >= 0)
    return lookup[line_codes]


def _check_not_swapped(
    orders: pd.DataFrame,
    lines: pd.DataFrame,
    order_keys: pd.Series,
    line_keys: pd.Series,
    orders_name: str,
    lines_name: str,
) -> None:
    """Refuse the same file twice, and an orders file and a lines file given the wrong way."""
    same_layout = orders.shape == lines.shape and list(orders.columns) == list(lines.columns)
    if same_layout and orders.equals(lines):
        raise DataError(
            f"{orders_name} was given both as the orders file and as the order-lines file. "
            "Give the order lines (or payments) as the second file, or leave it out for a "
            "single-file export."
        )
    orders_repeat = (
        float(order_keys.dropna().duplicated().mean()) if order_keys.notna().any() else 0
    )
    lines_unique = line_keys.dropna().is_unique
    if orders_repeat > 0.2 and lines_unique:
        raise DataError(
            f"{orders_name} repeats its order ids on many rows while {lines_name} lists each "
            "order id once: the two files look swapped. Give the orders file (one row per "
            "order) as the transaction log (--transactions) and the lines file as the order "
            "lines (--order-lines)."
        )


def _find_key(orders: pd.DataFrame, lines: pd.DataFrame, orders_name: str, lines_name: str) -> str:
    """The order-id column shared by both tables."""

    detected = detect_roles(orders).order_id
    if detected is not None and detected in lines.columns:
        return detected
    # Orders exports may repeat an order's row (one per line item), so the key is the shared
    # column whose line values are most often found among the orders' values, weighted by how
    # distinct those values are (a status or currency column is shared but not a key).
    best, best_score, best_share = None, 0.0, 0.0
    for column in (str(c) for c in orders.columns if c in lines.columns):
        order_values = clean_ids(orders[column]).dropna()
        line_values = clean_ids(lines[column]).dropna()
        if order_values.empty or line_values.empty:
            continue
        share = float(line_values.isin(order_values).mean())
        score = share * order_values.nunique() / len(order_values)
        if score > best_score:
            best, best_score, best_share = column, score, share
    if best is None or best_share < _MIN_KEY_MATCH:
        raise DataError(
            f"Could not find the order id that links {lines_name} to {orders_name}: no column "
            "with the same name in both holds the orders' ids. Orders columns: "
            f"{[str(c) for c in orders.columns]}; lines columns: "
            f"{[str(c) for c in lines.columns]}. Name the shared order id column with "
            "--order-id-col."
        )
    return best
