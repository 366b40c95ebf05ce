"""From loaded files to validated transactions: the one path the CLI and the workbench share.

A transaction log arrives as one file, or as an orders file plus an order-lines (or payments)
file. :func:`transaction_source` turns either into one table of lines with everything
validation needs to account for its rows (the file row of the first line, the lines whose
order is unknown, the loader's and the join's notes); :func:`validate_source` maps its columns
(detected, with the analyst's choices on top) and validates it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from clv_core.columns import ColumnMapping, detect_roles
from clv_core.loading import LoadedTable
from clv_core.money import MoneyKind, money_kind
from clv_core.order_lines import join_order_lines
from clv_core.validation import Transactions, ValidationOptions, validate_transactions

__all__ = [
    "TransactionSource",
    "detect_source_roles",
    "source_roles",
    "transaction_source",
    "validate_source",
]


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class TransactionSource:
    """The table validation reads, with what it needs to count and name its rows.

    Attributes
    ----------
    frame
        One row per order or order line.
    source_name
        The file name, or ``"orders.csv + lines.csv"`` for a two-file export.
    first_row
        The file row of ``frame``'s first row (of the lines file for a two-file export).
    unknown_order
        Lines whose order is not in the orders file (two-file exports only).
    order_id
        The order id the two files were joined on (used when detection finds none).
    notes
        What the loader and the join changed or noticed, for the report's warnings.
    order_columns
        The columns from the orders file of a two-file export (one value per order).
    """

    frame: pd.DataFrame
    source_name: str
    first_row: int = 2
    unknown_order: np.ndarray | None = None
    order_id: str | None = None
    notes: tuple[str, ...] = ()
    order_columns: frozenset[str] = frozenset()


def transaction_source(
    table: LoadedTable, order_lines: LoadedTable | None = None, *, order_id: str | None = None
) -> TransactionSource:
    """The table to validate: ``table`` itself, or its orders joined with ``order_lines``.

    Parameters
    ----------
    table
        The transaction log, or the orders file of a two-file export.
    order_lines
        The order-lines or payments file of a two-file export.
    order_id
        The order-id column both files share; found automatically when ``None``.
    """
    if order_lines is None:
        return TransactionSource(
            frame=table.frame,
            source_name=table.source_name,
            first_row=table.first_data_row,
            notes=table.notes,
        )
    joined = join_order_lines(
        table.frame,
        order_lines.frame,
        orders_name=table.source_name,
        lines_name=order_lines.source_name,
        key=order_id,
    )
    return TransactionSource(
        frame=joined.frame,
        source_name=joined.source_name,
        first_row=order_lines.first_data_row,
        unknown_order=joined.unknown_order,
        order_id=joined.key,
        notes=(*table.notes, *order_lines.notes, *joined.warnings),
        order_columns=joined.order_columns,
    )


def source_roles(
    source: TransactionSource, roles: Mapping[str, str | None] | None = None
) -> dict[str, str | None]:
    """The analyst's role choices, plus the join's order id when nothing else names one."""
    chosen = dict(roles or {})
    if source.order_id is not None and "order_id" not in chosen:
        chosen["order_id"] = source.order_id
    return chosen


def detect_source_roles(
    source: TransactionSource, roles: Mapping[str, str | None] | None = None
) -> ColumnMapping:
    """The column roles of ``source``; ``roles`` (the analyst's choices) are kept as they are.

    In a two-file export the money is in the lines (or payments) file: a total of the orders
    file is spend only when the lines carry no money (no amount, no quantity and unit price).
    """
    chosen = source_roles(source, roles)
    order_money = [
        column for column in source.order_columns if money_kind(column) is not MoneyKind.OTHER
    ]
    if order_money and "amount" not in chosen:
        lines_only = detect_roles(source.frame.drop(columns=order_money), overrides=chosen)
        if lines_only.amount is not None or None not in (
            lines_only.quantity,
            lines_only.unit_price,
        ):
            return lines_only
    return detect_roles(source.frame, overrides=chosen)


def validate_source(
    source: TransactionSource,
    roles: Mapping[str, str | None] | None = None,
    options: ValidationOptions | None = None,
) -> Transactions:
    """Map the columns of ``source`` (``roles`` override detection) and validate it."""
    mapping = detect_source_roles(source, roles)
    transactions = validate_transactions(
        source.frame,
        mapping,
        options=options,
        source_name=source.source_name,
        first_row=source.first_row,
        unknown_order=source.unknown_order,
        order_columns=source.order_columns,
    )
    report = transactions.report.with_warnings(*source.notes)
    return Transactions(
        frame=transactions.frame, report=report, mapping=mapping, money=transactions.money
    )
