"""Validation: turn a loaded table into clean, typed data and account for every row.

Three tables are validated here:

* a **transaction log** (one row per order or order line) -> :class:`Transactions` with the
  canonical columns ``customer_id`` (str), ``order_date`` (datetime64), ``amount`` (float,
  negative for returns) and, when mapped, ``order_id``;
* a **customer-attributes table** keyed by customer id -> :class:`CustomerAttributes`;
* a **per-customer table with a target column** (the seed format) -> :class:`CustomerTable`.

Each comes with a :class:`ValidationReport`: rows read, rows used, every dropped row counted by
reason and every altered value counted by reason, with example rows, so that
``rows_read == rows_used + sum(dropped)`` always holds and nothing is lost silently. Problems that
make the table unusable (a required column missing, no parsable dates at all) are raised together
as one :class:`~clv_core.errors.DataError`.

Row numbers in messages are spreadsheet rows: the header is row 1, the first data row is row 2.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from clv_core.columns import ColumnMapping, detect_roles, normalise_header
from clv_core.errors import DataError
from clv_core.issues import ISSUE_DESCRIPTIONS, RowIssue
from clv_core.money import (
    MoneyCheck,
    SpendFormula,
    amount_candidates,
    check_money,
    discount_rates,
    spend_formula,
)
from clv_core.parsing import (
    SUPPORTED_DATE_EXAMPLES,
    ParsedAmounts,
    ParsedDates,
    clean_ids,
    is_missing,
    parse_amounts,
    parse_dates,
)

__all__ = [
    "GUEST_PLACEHOLDERS",
    "ISSUE_DESCRIPTIONS",
    "NUMERIC_GUEST_PLACEHOLDERS",
    "CustomerAttributes",
    "CustomerTable",
    "ParsedAmounts",
    "ParsedDates",
    "RowIssue",
    "Transactions",
    "ValidationOptions",
    "ValidationReport",
    "clean_ids",
    "parse_amounts",
    "parse_dates",
    "validate_customer_table",
    "validate_customers",
    "validate_transactions",
]

_EXAMPLES_PER_ISSUE = 3
_EARLIEST_PLAUSIBLE_DATE = dt.date(1970, 1, 1)


@dataclass(frozen=True, slots=True, kw_only=True)
class ValidationReport:
    """What validation did to a table, row by row.

    Attributes
    ----------
    table
        Which table this is: ``"transactions"``, ``"customers"`` or ``"customer_table"``.
    rows_read, rows_used
        Data rows in the input and rows that made it into the output.
    dropped
        Reason key -> number of rows dropped for it. ``rows_read == rows_used + sum(dropped)``.
    altered
        Reason key -> number of rows kept with a changed value.
    examples
        Reason key -> a few ``"row N: 'value'"`` strings, so an analyst can find them.
    warnings
        Sentences about the data as a whole (e.g. too few repeat buyers).
    summary
        Plain facts about the clean data (customers, date range, returns, ...).
    """

    table: str
    source_name: str = ""
    rows_read: int
    rows_used: int
    dropped: Mapping[str, int] = field(default_factory=dict)
    altered: Mapping[str, int] = field(default_factory=dict)
    examples: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()
    summary: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.rows_read != self.rows_used + sum(self.dropped.values()):
            raise ValueError(
                f"row accounting is broken for {self.table}: read {self.rows_read}, used "
                f"{self.rows_used}, dropped {dict(self.dropped)}"
            )

    @property
    def rows_dropped(self) -> int:
        """All dropped rows, whatever the reason."""
        return sum(self.dropped.values())

    def with_warnings(self, *warnings: str) -> ValidationReport:
        """A copy with more warnings appended."""
        return _replace_report(self, warnings=self.warnings + tuple(warnings))

    def to_dict(self) -> dict[str, Any]:
        """The report as JSON-serialisable data (used by ``--json`` and the app)."""
        return {
            "table": self.table,
            "source": self.source_name,
            "rows_read": self.rows_read,
            "rows_used": self.rows_used,
            "rows_dropped": self.rows_dropped,
            "dropped": dict(self.dropped),
            "altered": dict(self.altered),
            "examples": {key: list(values) for key, values in self.examples.items()},
            "warnings": list(self.warnings),
            "summary": {key: _json_value(value) for key, value in self.summary.items()},
        }

    def describe(self) -> list[str]:
        """Human-readable lines: the accounting, then each reason with examples, then warnings."""
        name = f"{self.table} ({self.source_name})" if self.source_name else self.table
        lines = [
            f"{name}: {self.rows_read:,} rows read, {self.rows_used:,} used, "
            f"{self.rows_dropped:,} dropped"
        ]
        for kind, counts in (("dropped", self.dropped), ("altered", self.altered)):
            for key, count in counts.items():
                text = ISSUE_DESCRIPTIONS.get(RowIssue(key), key) if key in _ISSUE_KEYS else key
                example = "; ".join(self.examples.get(key, ()))
                suffix = f" (e.g. {example})" if example else ""
                lines.append(f"  {kind} {count:,}: {text}{suffix}")
        lines.extend(f"  warning: {warning}" for warning in self.warnings)
        return lines


_ISSUE_KEYS = {issue.value for issue in RowIssue}


def _replace_report(report: ValidationReport, **changes: Any) -> ValidationReport:
    values = {name: getattr(report, name) for name in ValidationReport.__dataclass_fields__}
    values.update(changes)
    return ValidationReport(**values)


def _json_value(value: Any) -> Any:
    if isinstance(value, pd.Timestamp | dt.date):
        return value.isoformat()[:10] if not isinstance(value, pd.Timestamp) else str(value.date())
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    return value


class _Accounting:
    """Collects drops and alterations while a table is validated, then freezes a report."""

    def __init__(self, row_numbers: np.ndarray) -> None:
        self.row_numbers = row_numbers
        self.dropped: dict[str, int] = {}
        self.altered: dict[str, int] = {}
        self.examples: dict[str, tuple[str, ...]] = {}

    def record(
        self,
        issue: RowIssue,
        mask: np.ndarray,
        values: pd.Series | None,
        *,
        dropped: bool,
    ) -> None:
        """Count the rows in ``mask`` for ``issue`` and keep a few examples."""
        count = int(mask.sum())
        if count == 0:
            return
        target = self.dropped if dropped else self.altered
        target[issue.value] = target.get(issue.value, 0) + count
        positions = np.flatnonzero(mask)[:_EXAMPLES_PER_ISSUE]
        examples = []
        for position in positions:
            row = int(self.row_numbers[position])
            if values is None:
                examples.append(f"row {row}")
            else:
                examples.append(f"row {row}: {values.iloc[position]!r}")
        self.examples[issue.value] = self.examples.get(issue.value, ()) + tuple(examples)

    def examples_of(self, values: pd.Series, mask: np.ndarray) -> str:
        """A few ``row N: 'value'`` examples of the rows in ``mask``, for a message."""
        positions = np.flatnonzero(mask)[:_EXAMPLES_PER_ISSUE]
        return ", ".join(f"row {self.row_numbers[p]}: {values.iloc[p]!r}" for p in positions)

    def report(
        self,
        *,
        table: str,
        source_name: str,
        rows_read: int,
        rows_used: int,
        warnings: list[str],
        summary: dict[str, Any],
    ) -> ValidationReport:
        return ValidationReport(
            table=table,
            source_name=source_name,
            rows_read=rows_read,
            rows_used=rows_used,
            dropped=dict(self.dropped),
            altered=dict(self.altered),
            examples={key: values[:_EXAMPLES_PER_ISSUE] for key, values in self.examples.items()},
            warnings=tuple(warnings),
            summary=summary,
        )


# --------------------------------------------------------------------------------------------
# Transactions
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class ValidationOptions:
    """Settings of transaction validation.

    Attributes
    ----------
    latest_valid_date
        Orders after this date are dropped as future dates. ``None`` means today.
    drop_duplicate_rows
        Drop rows identical in every column to an earlier row (exports appended twice).
        ``None`` (default) drops them only when rows can be told apart: an order-level log
        (no quantity or unit price) with an order id, or dates with a time of day. In a
        date-only log without order ids two identical orders on one day are normal, and in a
        line-item export the same item scanned twice on one invoice is two real lines, so
        there they are kept and a warning counts them.
    dayfirst
        Order of ``a/b/yyyy`` dates; ``None`` decides from the data.
    decimal_comma
        Whether ``","`` is the decimal mark in amounts; ``None`` decides from the data.
    combine_baskets
        Without an order id, combine the lines of one customer at one timestamp (one day when
        dates have no time of day) into one order, as a till receipt does. ``False`` keeps
        every row as its own order.
    guest_ids
        Customer ids to treat as guest placeholders (dropped and counted), on top of the
        common ones (``guest``, ``anonymous``, ``0``, ``-1``, ``游客``, ...).
    """

    latest_valid_date: dt.date | None = None
    drop_duplicate_rows: bool | None = None
    dayfirst: bool | None = None
    decimal_comma: bool | None = None
    combine_baskets: bool = True
    guest_ids: tuple[str, ...] = ()


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


# Customer ids that stand for "no customer" in real exports (compared in lower case).
GUEST_PLACEHOLDERS = frozenset(
    {
        "guest",
        "guests",
        "guest checkout",
        "anonymous",
        "anon",
        "unknown",
        "walk-in",
        "walkin",
        "walk in",
        "cash",
        "cash customer",
        "n/a",
        "na",
        "none",
        "null",
        "nan",
        "-",
        "--",
        "游客",
        "匿名",
        "访客",
        "散客",
        "未知",
        "无",
    }
)

# Numbers that stand for "no customer" only when they hold far more rows than a customer does
# (a real customer may well have the id 0).
NUMERIC_GUEST_PLACEHOLDERS = frozenset({"0", "-1", "00000", "000000", "999999", "9999999"})
_PLACEHOLDER_MIN_ROWS = 10
_PLACEHOLDER_TIMES_MEDIAN = 5

# Order status values (lower case, spaces, '_' and '-' removed) that mean "not spend".
_STATUS_WORDS: Mapping[RowIssue, frozenset[str]] = {
    RowIssue.ORDER_CANCELLED: frozenset(
        {
            "cancelled",
            "canceled",
            "cancel",
            "voided",
            "void",
            "declined",
            "rejected",
            "closed",
            "unavailable",
            "已取消",
            "取消",
            "交易关闭",
            "订单关闭",
            "已关闭",
            "作废",
            "已作废",
        }
    ),
    RowIssue.ORDER_REFUNDED: frozenset(
        {
            "refunded",
            "refund",
            "returned",
            "return",
            "chargeback",
            "chargedback",
            "fullyrefunded",
            "已退款",
            "退款成功",
            "退款完成",
            "退款",
            "退货",
            "已退货",
            "退货成功",
            "全额退款",
        }
    ),
    RowIssue.ORDER_UNPAID: frozenset(
        {
            "unpaid",
            "pending",
            "pendingpayment",
            "paymentpending",
            "awaitingpayment",
            "notpaid",
            "failed",
            "paymentfailed",
            "expired",
            "abandoned",
            "待付款",
            "未付款",
            "待支付",
            "未支付",
            "等待买家付款",
            "等待付款",
            "支付失败",
        }
    ),
}
_PARTIAL_REFUND_WORDS = frozenset(
    {"partiallyrefunded", "partialrefund", "部分退款", "部分退款成功"}
)
_STATUS_NOISE = r"[ \t_\-]+"
# A cancellation or credit document: a letter prefix before the usual number ("C536379",
# "R-1042", "退123").
_CANCELLATION_ID = re.compile(r"^(?:C|CN|CR|R|RMA|RET|退|退货|退款)[-_ ]?\d+$", re.IGNORECASE)
# The ordinary ids next to cancellation documents are numbers, possibly after a letter code
# ("536365", "SO-230001"); hexadecimal or random ids that happen to start with a c or an r
# followed by a digit are not cancellations.
_ORDINARY_ID = r"#?[A-Za-z]{0,4}[-_ ]?[0-9]+"
_CANCELLATION_FIRST_CHARACTERS = ("C", "c", "R", "r", "退")
# Cancellation documents are a minority of the rows; an id scheme where most ids carry the
# letter is not one of cancellations.
_CANCELLATION_MAX_SHARE = 0.3


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
    customer_column = str(mapping.customer_id)
    customer_ids = clean_ids(frame[customer_column])
    missing_id = customer_ids.isna().to_numpy(bool) & keep
    accounting.record(RowIssue.MISSING_CUSTOMER_ID, missing_id, None, dropped=True)
    keep &= ~missing_id
    guests = _guest_rows(customer_ids, options.guest_ids) & keep
    accounting.record(RowIssue.GUEST_CUSTOMER_ID, guests, customer_ids, dropped=True)
    keep &= ~guests

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


def _account_duplicates(
    frame: pd.DataFrame,
    dates: pd.Series,
    mapping: ColumnMapping,
    options: ValidationOptions,
    accounting: _Accounting,
    keep: np.ndarray,
    warnings: list[str],
    *,
    line_level: bool,
) -> None:
    """Drop exact duplicate rows (counted) where they are double counts, else warn (``keep``
    is updated in place)."""
    duplicate = _duplicate_rows(frame, dates, mapping.amount or mapping.quantity) & keep
    drop_duplicates = options.drop_duplicate_rows
    if drop_duplicates is None:
        has_time = bool((dates.dropna().dt.normalize() != dates.dropna()).any())
        drop_duplicates = (mapping.order_id is not None or has_time) and not line_level
    if drop_duplicates:
        accounting.record(RowIssue.DUPLICATE_ROW, duplicate, None, dropped=True)
        keep &= ~duplicate
    elif duplicate.any():
        reason = (
            "the export lists order lines, and one item can appear twice on an order"
            if line_level
            else "the log has no order id and no time of day, so they may be separate orders"
        )
        warnings.append(
            f"{int(duplicate.sum()):,} rows are exact copies of an earlier row "
            f"(e.g. {accounting.examples_of(frame[str(mapping.order_date)], duplicate)}). They "
            f"were kept because {reason}; drop duplicate rows explicitly if they are "
            "double-counted exports."
        )


def _account_dates(
    raw_dates: pd.Series,
    parsed: ParsedDates,
    accounting: _Accounting,
    keep: np.ndarray,
    *,
    latest: pd.Timestamp,
    column: str,
) -> None:
    """Drop rows without a usable date, counted by reason (``keep`` is updated in place)."""
    dates = parsed.values
    missing_date = is_missing(raw_dates) & keep
    accounting.record(RowIssue.MISSING_DATE, missing_date, None, dropped=True)
    keep &= ~missing_date
    unparsable = dates.isna().to_numpy(bool) & keep
    if unparsable.any() and unparsable.sum() == keep.sum():
        raise DataError(
            f"The order date column '{column}' has no value that could be read as a date "
            f"(e.g. {accounting.examples_of(raw_dates, unparsable)}). Supported forms: "
            f"{SUPPORTED_DATE_EXAMPLES}. Check the column mapping or convert the dates."
        )
    accounting.record(RowIssue.UNPARSABLE_DATE, unparsable, raw_dates, dropped=True)
    keep &= ~unparsable
    accounting.record(
        RowIssue.TIMEZONE_REMOVED, parsed.timezone_removed & keep, raw_dates, dropped=False
    )
    too_early = (dates < pd.Timestamp(_EARLIEST_PLAUSIBLE_DATE)).to_numpy(bool) & keep
    accounting.record(RowIssue.DATE_TOO_EARLY, too_early, raw_dates, dropped=True)
    keep &= ~too_early
    future = (dates >= latest).to_numpy(bool) & keep
    accounting.record(RowIssue.FUTURE_DATE, future, raw_dates, dropped=True)
    keep &= ~future


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
        warnings.append(
            f"{unmatched_refunds:,} returns or refunds have no earlier purchase by the same "
            "customer in this file (the sale is probably older than the export); they are "
            "kept and netted."
        )
    return summary


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


def _guest_rows(customer_ids: pd.Series, extra: tuple[str, ...]) -> np.ndarray:
    """Rows whose customer id is a placeholder for "no customer".

    Words (``guest``, ``游客``, ...) and the ids in ``extra`` always are; a number such as ``0``
    or ``-1`` only when it holds at least ten rows and five times as many as the median id.
    """
    placeholders = GUEST_PLACEHOLDERS | {str(value).strip().lower() for value in extra}
    lowered = customer_ids.astype("string").str.lower()
    guests = lowered.isin(placeholders).fillna(False).to_numpy(bool, copy=True)
    numeric = lowered.isin(NUMERIC_GUEST_PLACEHOLDERS).fillna(False).to_numpy(bool)
    if numeric.any():
        rows = customer_ids[numeric].value_counts()
        typical = float(customer_ids.value_counts().median())
        threshold = max(_PLACEHOLDER_MIN_ROWS, _PLACEHOLDER_TIMES_MEDIAN * typical)
        busy = rows.index[rows >= threshold]
        guests |= numeric & customer_ids.isin(busy).to_numpy(bool)
    return guests


def _drop_by_status(
    status: pd.Series, keep: np.ndarray, accounting: _Accounting, warnings: list[str]
) -> np.ndarray:
    """Rows whose order status says the order is not spend (cancelled, refunded, unpaid)."""
    words = (
        status.astype("string").str.strip().str.lower().str.replace(_STATUS_NOISE, "", regex=True)
    )
    dropped = np.zeros(len(status), dtype=bool)
    for issue, values in _STATUS_WORDS.items():
        mask = words.isin(values).fillna(False).to_numpy(bool) & keep
        accounting.record(issue, mask, status, dropped=True)
        dropped |= mask
    partial = words.isin(_PARTIAL_REFUND_WORDS).fillna(False).to_numpy(bool) & keep
    if partial.any():
        warnings.append(
            f"{int(partial.sum()):,} rows belong to partially refunded orders "
            f"(e.g. {accounting.examples_of(status, partial)}); the export does not say how "
            "much was refunded, so their full amount counts as spend."
        )
    return dropped


def _cancellation_documents(order_ids: pd.Series) -> np.ndarray | None:
    """Rows of cancellation or credit documents, told by a letter prefix on the order id.

    ``C536379`` next to ordinary ``536379``-style ids is a cancellation (ERP exports); so is
    ``R-1042`` or ``退123``. Returns ``None`` when no id has such a prefix, or when so many do
    that the letter is part of the ordinary numbering.
    """
    text = order_ids.astype("string")
    # A cheap first-character filter keeps the (Python) pattern to the few candidates.
    first = text.str.slice(0, 1)
    candidates = first.isin(_CANCELLATION_FIRST_CHARACTERS).fillna(False).to_numpy(bool)
    if not candidates.any():
        return None
    matches = np.zeros(len(text), dtype=bool)
    matches[candidates] = text[candidates].str.fullmatch(_CANCELLATION_ID).fillna(False)
    if not matches.any() or matches.mean() > _CANCELLATION_MAX_SHARE:
        return None
    ordinary = text[~matches].dropna().iloc[:50_000]
    if len(ordinary) == 0 or ordinary.str.fullmatch(_ORDINARY_ID).mean() < 0.95:
        return None
    return matches


def _refunds_without_sale(orders: pd.DataFrame) -> int:
    """Negative orders of customers with no purchase on or before the return's date."""
    amounts = orders["amount"].to_numpy(float)
    returns = amounts < 0
    if not returns.any():
        return 0
    # Integer codes instead of grouping by the string ids (ten-million-row logs).
    codes = pd.factorize(orders["customer_id"])[0]
    days = orders["order_date"].to_numpy("datetime64[ns]").view(np.int64)
    first_purchase = np.full(codes.max() + 1, np.iinfo(np.int64).max)
    purchases = amounts > 0
    np.minimum.at(first_purchase, codes[purchases], days[purchases])
    return int((first_purchase[codes[returns]] > days[returns]).sum())


def _duplicate_rows(frame: pd.DataFrame, dates: pd.Series, amount_column: str | None) -> np.ndarray:
    """Rows identical in every column to an earlier row.

    Hashing every text column of a 10-million-row table is slow, so candidates are found first
    on cheap integer keys (the parsed date and the amount text's code), which identical rows
    necessarily share, and only the candidates are compared column by column.
    """
    keys = {"date": dates.to_numpy(dtype="datetime64[ns]").view(np.int64)}
    if amount_column is not None:
        keys["amount"] = pd.factorize(frame[amount_column], use_na_sentinel=True)[0]
    candidates = pd.DataFrame(keys).duplicated(keep=False).to_numpy(bool)
    duplicate = np.zeros(len(frame), dtype=bool)
    if candidates.any():
        duplicate[candidates] = frame.loc[candidates].duplicated().to_numpy(bool)
    return duplicate


def _named(source_name: str) -> str:
    """The file's name after a table's kind in a message (nothing when it is unknown)."""
    return f" {source_name}" if source_name else ""


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
            raw_discount = frame[mapping.discount]
            if formula is SpendFormula.QUANTITY_X_PRICE_X_RATE:
                rates = discount_rates(raw_discount)
                off = rates.fillna(0.0) * amounts.abs()
                source += f" x (1 - '{mapping.discount}')"
            else:
                rates = parse_amounts(raw_discount, decimal_comma=options.decimal_comma).values
                off = rates.fillna(0.0)
                source += f" - '{mapping.discount}'"
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
                frame[mapping.discount],
                dropped=False,
            )
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
    flip = is_return & (amounts > 0).to_numpy(bool) & keep
    if flip.any():
        accounting.record(RowIssue.RETURN_MADE_NEGATIVE, flip, raw, dropped=False)
        amounts = amounts.where(~flip, -amounts)
    return amounts.where(keep), source


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


def _examples(values: pd.Series, mask: np.ndarray) -> str:
    return _Accounting(np.arange(len(values)) + 2).examples_of(values, mask)


# --------------------------------------------------------------------------------------------
# Customer attributes and per-customer tables
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CustomerAttributes:
    """A validated customer-attributes table.

    ``frame`` is indexed by ``customer_id`` (str) and holds numeric columns (float64),
    categorical columns (str) and date columns (datetime64), listed in the three tuples.
    ``signup_column`` names the signup date column when there is one (it is also in
    ``date_columns``).
    """

    frame: pd.DataFrame
    numeric_columns: tuple[str, ...]
    categorical_columns: tuple[str, ...]
    date_columns: tuple[str, ...]
    signup_column: str | None
    report: ValidationReport


def validate_customers(
    frame: pd.DataFrame,
    *,
    customer_id_column: str | None = None,
    signup_column: str | None = None,
    source_name: str = "",
) -> CustomerAttributes:
    """Validate a customer-attributes table (one row per customer).

    Every column other than the id is typed: numeric when at least 95% of its values are
    numbers, a date when at least 90% are dates, otherwise categorical. Values that do not fit
    the chosen type become missing and are counted. Rows without an id and repeated ids (the
    first row is kept) are dropped and counted.

    Raises
    ------
    DataError
        No customer id column can be found.
    """
    overrides: dict[str, str | None] = {"customer_id": customer_id_column}
    if signup_column is not None:
        overrides["signup_date"] = signup_column
    mapping = detect_roles(frame, overrides={k: v for k, v in overrides.items() if v})
    if mapping.customer_id is None:
        raise DataError(
            "The customer table has no customer id column (e.g. customer_id, user_id, 用户ID). "
            f"Found columns: {[str(c) for c in frame.columns]}. Name it explicitly."
        )
    typed, report = _validate_keyed_table(
        frame,
        id_column=mapping.customer_id,
        skip_columns=(),
        signup_column=mapping.signup_date,
        table="customers",
        source_name=source_name,
    )
    return CustomerAttributes(
        frame=typed.frame,
        numeric_columns=typed.numeric,
        categorical_columns=typed.categorical,
        date_columns=typed.dates,
        signup_column=mapping.signup_date,
        report=report,
    )


@dataclass(frozen=True, slots=True)
class CustomerTable:
    """A validated per-customer table with a target column (no transactions).

    ``features`` is indexed by ``customer_id`` and holds the typed feature columns (dates are
    already turned into ``days_since_<column>`` relative to ``reference_date``); ``target`` is
    the value to predict, aligned with ``features``.
    """

    features: pd.DataFrame
    target: pd.Series
    numeric_columns: tuple[str, ...]
    categorical_columns: tuple[str, ...]
    reference_date: pd.Timestamp | None
    report: ValidationReport
    mapping: ColumnMapping


def validate_customer_table(
    frame: pd.DataFrame,
    mapping: ColumnMapping | None = None,
    *,
    reference_date: dt.date | None = None,
    source_name: str = "",
) -> CustomerTable:
    """Validate a per-customer table with a target column (e.g. 用户ID, 注册时间, ..., 终身价值).

    Parameters
    ----------
    frame
        One row per customer.
    mapping
        Needs ``customer_id`` and ``target``; ``signup_date`` is optional.
    reference_date
        Date against which date columns become "days since"; default: the latest date found in
        the table's date columns.

    Raises
    ------
    DataError
        The id or target column is missing, or no row has a numeric target.
    """
    mapping = mapping or detect_roles(frame)
    problems = []
    if mapping.customer_id is None:
        problems.append("no customer id column (e.g. customer_id, 用户ID)")
    if mapping.target is None:
        problems.append("no target column (e.g. lifetime_value, clv, 终身价值)")
    if problems:
        raise DataError(
            f"The per-customer table{_named(source_name)} is missing required columns. "
            f"Map them explicitly (found columns: {[str(c) for c in frame.columns]}):",
            problems=problems,
        )
    target_column = str(mapping.target)
    raw_target = frame[target_column]
    target = parse_amounts(raw_target).values

    rows_read = len(frame)
    accounting = _Accounting(np.arange(rows_read) + 2)
    keep = np.ones(rows_read, dtype=bool)
    missing = is_missing(raw_target)
    accounting.record(RowIssue.MISSING_TARGET, missing, None, dropped=True)
    non_numeric = target.isna().to_numpy(bool) & ~missing
    accounting.record(RowIssue.NON_NUMERIC_TARGET, non_numeric, raw_target, dropped=True)
    keep &= ~(missing | non_numeric)
    negative = (target < 0).to_numpy(bool) & keep
    accounting.record(RowIssue.NEGATIVE_TARGET_CLIPPED, negative, raw_target, dropped=False)
    if not keep.any():
        raise DataError(
            f"The target column '{target_column}' has no numeric value "
            f"(e.g. {_examples(raw_target, non_numeric | missing)})."
        )
    typed, report = _validate_keyed_table(
        frame,
        id_column=str(mapping.customer_id),
        skip_columns=(target_column,),
        signup_column=mapping.signup_date,
        table="customer_table",
        source_name=source_name,
        accounting=accounting,
        keep=keep,
    )
    target_by_id = pd.Series(
        target.clip(lower=0).to_numpy()[typed.kept_positions],
        index=typed.frame.index,
        name="target",
    )
    features, numeric, reference = _dates_to_days(typed, reference_date)
    return CustomerTable(
        features=features,
        target=target_by_id,
        numeric_columns=numeric,
        categorical_columns=typed.categorical,
        reference_date=reference,
        report=report,
        mapping=mapping,
    )


@dataclass(frozen=True, slots=True)
class _TypedTable:
    frame: pd.DataFrame
    numeric: tuple[str, ...]
    categorical: tuple[str, ...]
    dates: tuple[str, ...]
    kept_positions: np.ndarray


def _validate_keyed_table(
    frame: pd.DataFrame,
    *,
    id_column: str,
    skip_columns: tuple[str, ...],
    signup_column: str | None,
    table: str,
    source_name: str,
    accounting: _Accounting | None = None,
    keep: np.ndarray | None = None,
) -> tuple[_TypedTable, ValidationReport]:
    """Shared part of customer-table validation: ids, duplicate ids, column typing."""
    rows_read = len(frame)
    accounting = accounting or _Accounting(np.arange(rows_read) + 2)
    keep = np.ones(rows_read, dtype=bool) if keep is None else keep.copy()
    ids = clean_ids(frame[id_column])
    missing_id = ids.isna().to_numpy(bool) & keep
    accounting.record(RowIssue.MISSING_CUSTOMER_ID, missing_id, None, dropped=True)
    keep &= ~missing_id
    duplicate = np.zeros(rows_read, dtype=bool)
    duplicate[keep] = ids[keep].duplicated().to_numpy(bool)
    accounting.record(RowIssue.DUPLICATE_CUSTOMER_ID, duplicate, ids, dropped=True)
    keep &= ~duplicate

    kept = frame.loc[keep]
    typed = pd.DataFrame(index=pd.Index(ids[keep].to_numpy(), name="customer_id"))
    numeric: list[str] = []
    categorical: list[str] = []
    dates: list[str] = []
    unparsable = np.zeros(int(keep.sum()), dtype=bool)
    for column in frame.columns:
        name = str(column)
        if name == id_column or name in skip_columns:
            continue
        values = kept[column].reset_index(drop=True)
        present = values.notna().to_numpy(bool)
        kind, converted = _infer_column_type(values, is_signup=name == signup_column)
        if kind == "categorical":
            typed[name] = values.astype("string").to_numpy()
            categorical.append(name)
            continue
        failed = present & converted.isna().to_numpy(bool)
        unparsable |= failed
        typed[name] = converted.to_numpy()
        (dates if kind == "date" else numeric).append(name)
    positions = np.flatnonzero(keep)
    altered = np.zeros(rows_read, dtype=bool)
    altered[positions[unparsable]] = True
    accounting.record(RowIssue.UNPARSABLE_VALUE_SET_MISSING, altered, None, dropped=False)
    report = accounting.report(
        table=table,
        source_name=source_name,
        rows_read=rows_read,
        rows_used=int(keep.sum()),
        warnings=[],
        summary={"n_customers": int(keep.sum()), "columns": len(typed.columns)},
    )
    return _TypedTable(typed, tuple(numeric), tuple(categorical), tuple(dates), positions), report


def _infer_column_type(values: pd.Series, *, is_signup: bool) -> tuple[str, pd.Series]:
    """Decide numeric / date / categorical for an attribute column and convert it."""
    present = values.dropna()
    if len(present) == 0:
        return "categorical", values
    if is_signup:
        return "date", parse_dates(values).values
    numbers = parse_amounts(values).values
    if numbers[values.notna()].notna().mean() >= 0.95 and not _is_id_like(present):
        return "numeric", numbers
    if not pd.api.types.is_numeric_dtype(values):
        parsed = parse_dates(values).values
        if parsed[values.notna()].notna().mean() >= 0.9:
            return "date", parsed
    return "categorical", values


def _is_id_like(values: pd.Series) -> bool:
    """Zero-padded codes such as postcodes ('01234') are labels, not quantities."""
    if pd.api.types.is_numeric_dtype(values):
        return False
    text = values.astype("string")
    return bool(text.str.match(r"^0\d").mean() > 0.1)


def _dates_to_days(
    typed: _TypedTable, reference_date: dt.date | None
) -> tuple[pd.DataFrame, tuple[str, ...], pd.Timestamp | None]:
    """Replace date columns by ``days_since_<column>`` relative to the reference date."""
    features = typed.frame.copy()
    numeric = list(typed.numeric)
    reference: pd.Timestamp | None = None
    if typed.dates:
        if reference_date is not None:
            reference = pd.Timestamp(reference_date)
        else:
            reference = pd.Timestamp(max(features[c].max() for c in typed.dates))
        for column in typed.dates:
            days = (reference - features.pop(column)).dt.days.astype("float64")
            features[f"days_since_{column}"] = days
            numeric.append(f"days_since_{column}")
    return features, tuple(numeric), reference
