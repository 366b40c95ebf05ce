"""Transaction validation: :func:`validate_transactions` and the :class:`Transactions` it returns.

The steps run in order, each on the rows still kept: unknown orders of a joined two-file export,
order-level cells (:mod:`~clv_core.validation.orders`), customer ids and guests, duplicates and
dates, order statuses (:mod:`~clv_core.validation.checks`), the spend
(:mod:`~clv_core.validation.amounts`), then the kept lines are combined into orders and
summarised, with the money check of :mod:`clv_core.money`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from clv_core.columns import ColumnMapping, detect_roles
from clv_core.errors import DataError
from clv_core.issues import ISSUE_DESCRIPTIONS, RowIssue
from clv_core.money import MoneyCheck, amount_candidates, check_money
from clv_core.parsing import clean_ids, parse_dates
from clv_core.validation.amounts import _transaction_amounts
from clv_core.validation.checks import (
    _account_customer_ids,
    _account_dates,
    _account_duplicates,
    _cancellation_documents,
    _drop_by_status,
    _refunds_without_sale,
)
from clv_core.validation.options import ValidationOptions
from clv_core.validation.orders import _clean_orders, _order_level_cells
from clv_core.validation.report import ValidationReport, _Accounting, _named


@dataclass(frozen=True, slots=True)
class Transactions:
    """A validated transaction log.

    ``frame`` has the columns ``customer_id`` (str), ``order_date`` (datetime64[ns]),
    ``amount`` (float64; negative = return) and ``order_id`` (str, only when mapped). With an
    order id, order lines are already combined into one row per order; without one, the lines
    of a customer at one timestamp (day) are combined into a basket unless switched off.
    ``money`` states how spend was computed and how plausible it looks.
    """

    frame: pd.DataFrame
    report: ValidationReport
    mapping: ColumnMapping
    money: MoneyCheck | None = None

    @property
    def first_date(self) -> pd.Timestamp:
        """Date of the earliest order."""
        return pd.Timestamp(self.frame["order_date"].min())

    @property
    def last_date(self) -> pd.Timestamp:
        """Date of the latest order (the default ``as_of``)."""
        return pd.Timestamp(self.frame["order_date"].max())


def validate_transactions(
    frame: pd.DataFrame,
    mapping: ColumnMapping | None = None,
    *,
    options: ValidationOptions | None = None,
    source_name: str = "",
    first_row: int = 2,
    unknown_order: np.ndarray | None = None,
    order_columns: frozenset[str] = frozenset(),
) -> Transactions:
    """Validate a transaction log and return clean orders with a full row account.

    Parameters
    ----------
    frame
        The loaded table (text columns as strings, or native types from XLSX/Parquet), one
        row per order or order line.
    mapping
        Column roles; detected with :func:`~clv_core.columns.detect_roles` when ``None``.
        Needs ``customer_id``, ``order_date`` and either ``amount`` or ``quantity`` +
        ``unit_price`` (optionally ``discount``); ``order_id``, ``status`` and ``currency`` are
        optional.
    options
        See :class:`ValidationOptions`.
    source_name
        File name for the report and messages.
    first_row
        The file's row number of ``frame``'s first row (2 when the column names are in row 1),
        so that examples name the rows an analyst sees in a spreadsheet.
    unknown_order
        For order lines joined to an orders table: the lines whose order id is not in it
        (dropped and counted); see :func:`~clv_core.order_lines.join_order_lines`.
    order_columns
        Columns that hold one value per order (those of the orders table of a two-file
        export): an amount among them is counted once per order, not once per line.

    Returns
    -------
    Transactions
        Clean orders; returns (negative amounts, negative quantities, lines of cancellation
        documents) are kept as negative amounts and netted by later steps. Orders whose
        status says cancelled, refunded or unpaid are not spend and are dropped, counted by
        reason.

    Raises
    ------
    DataError
        Required columns are missing, the date column holds no dates, or no row survives.
    """
    options = options or ValidationOptions()
    mapping = mapping or detect_roles(frame)
    _require_roles(frame, mapping, source_name)
    latest = pd.Timestamp(options.latest_valid_date or dt.date.today()) + pd.Timedelta(days=1)

    rows_read = len(frame)
    accounting = _Accounting(np.arange(rows_read) + first_row)
    keep = np.ones(rows_read, dtype=bool)
    warnings: list[str] = []

    if unknown_order is not None:
        # Checked first: a line of an unknown order has no customer or date from its order.
        order_values = frame[mapping.order_id] if mapping.order_id is not None else None
        accounting.record(RowIssue.UNKNOWN_ORDER, unknown_order, order_values, dropped=True)
        keep &= ~unknown_order
    counted_once = np.zeros(rows_read, dtype=bool)
    if mapping.order_id is not None:
        frame, counted_once = _order_level_cells(frame, mapping, accounting, order_columns)
    customer_ids = _account_customer_ids(frame, mapping, options, accounting, keep)

    date_column = str(mapping.order_date)
    raw_dates = frame[date_column]
    parsed = parse_dates(raw_dates, dayfirst=options.dayfirst)
    warnings.extend(parsed.warnings)
    dates = parsed.values
    order_ids = clean_ids(frame[mapping.order_id]) if mapping.order_id is not None else None
    unique_orders = order_ids is None or order_ids.is_unique
    # Quantities, unit prices or an order id on several rows: one row per order line.
    line_level = mapping.quantity is not None or mapping.unit_price is not None or not unique_orders
    _account_duplicates(
        frame, dates, mapping, options, accounting, keep, warnings, line_level=line_level
    )
    _account_dates(raw_dates, parsed, accounting, keep, latest=latest, column=date_column)

    if mapping.status is not None:
        keep &= ~_drop_by_status(frame[mapping.status], keep, accounting, warnings)

    cancellation = _cancellation_documents(order_ids) if order_ids is not None else None
    amounts, amount_source = _transaction_amounts(
        frame, mapping, options, accounting, keep, cancellation
    )
    keep &= amounts.notna().to_numpy(bool)

    clean = _clean_orders(
        customer_ids, dates, amounts, order_ids, keep, options, accounting, unique=unique_orders
    )
    rows_used = int(keep.sum())
    _check_rows_used(accounting, rows_read=rows_read, rows_used=rows_used, warnings=warnings)
    summary = _summary_with_returns(clean, amount_source, cancellation, keep, warnings)
    money = check_money(frame, mapping, amounts, keep, clean, counted_once=counted_once)
    summary["spend_rule"] = money.explanation.sentence
    report = accounting.report(
        table="transactions",
        source_name=source_name,
        rows_read=rows_read,
        rows_used=rows_used,
        warnings=warnings,
        summary=summary,
    )
    return Transactions(frame=clean, report=report, mapping=mapping, money=money)


def _check_rows_used(
    accounting: _Accounting, *, rows_read: int, rows_used: int, warnings: list[str]
) -> None:
    """Refuse a log without a usable row, listing why rows were dropped; warn below 80% used."""
    if rows_used == 0:
        raise DataError(
            "No usable transaction rows remain after validation.",
            problems=[
                f"{count:,} rows: {ISSUE_DESCRIPTIONS[RowIssue(key)]}"
                f" (e.g. {'; '.join(accounting.examples.get(key, ()))})"
                for key, count in accounting.dropped.items()
            ],
        )
    if rows_used < 0.8 * rows_read:
        warnings.append(
            f"Only {rows_used / rows_read:.0%} of the rows could be used; check the reasons "
            "rows were dropped for and the column mapping."
        )


def _require_roles(frame: pd.DataFrame, mapping: ColumnMapping, source_name: str) -> None:
    problems = []
    if mapping.customer_id is None:
        problems.append("no customer id column (e.g. customer_id, user_id, 用户ID, 客户ID)")
    if mapping.order_date is None:
        problems.append("no order date column (e.g. order_date, date, 下单时间, 订单日期)")
    if mapping.amount is None and (mapping.quantity is None or mapping.unit_price is None):
        taken = list(mapping.assigned().values())
        candidates = amount_candidates(frame, taken)
        if len(candidates) >= 2:
            problems.append(
                "the spend is ambiguous: "
                + " and ".join(f"'{column}'" for column in candidates)
                + " are both totals with different values. Choose the one customers paid with "
                "--amount-col (or the 'amount' select)"
            )
        else:
            problems.append(
                "no amount column (e.g. amount, revenue, 订单金额, 金额), nor quantity + unit price"
            )
    if problems:
        raise DataError(
            f"The transaction table{_named(source_name)} is missing required columns. "
            f"Map them explicitly (found columns: {[str(c) for c in frame.columns]}):",
            problems=problems,
        )


def _summary_with_returns(
    clean: pd.DataFrame,
    amount_source: str,
    cancellation: np.ndarray | None,
    keep: np.ndarray,
    warnings: list[str],
) -> dict[str, Any]:
    """The report's summary, with cancellation lines and returns that have no earlier sale."""
    summary = _transaction_summary(clean)
    summary["amount_source"] = amount_source
    if cancellation is not None and cancellation.any():
        summary["n_cancellation_lines"] = int((cancellation & keep).sum())
    unmatched_refunds = _refunds_without_sale(clean)
    summary["n_refunds_without_sale"] = unmatched_refunds
    if unmatched_refunds:
        warnings.append(_refunds_warning(unmatched_refunds))
    return summary


def _refunds_warning(count: int) -> str:
    """The warning about returns without an earlier purchase in the file."""
    return (
        f"{count:,} returns or refunds have no earlier purchase by the same "
        "customer in this file (the sale is probably older than the export); they are "
        "kept and netted."
    )


def _transaction_summary(clean: pd.DataFrame) -> dict[str, Any]:
    amounts = clean["amount"]
    returns = amounts < 0
    orders_per_customer = clean.groupby("customer_id", sort=False).size()
    return {
        "n_customers": int(orders_per_customer.size),
        "n_orders": len(clean),
        "first_date": pd.Timestamp(clean["order_date"].min()),
        "last_date": pd.Timestamp(clean["order_date"].max()),
        "n_returns": int(returns.sum()),
        "returns_amount": round(abs(float(amounts[returns].sum())), 2),
        "n_zero_amount": int((amounts == 0).sum()),
        "net_amount": round(float(amounts.sum()), 2),
        "repeat_customer_share": round(float((orders_per_customer > 1).mean()), 4),
    }
