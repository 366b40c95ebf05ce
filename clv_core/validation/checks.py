"""The row checks of transaction validation.

Each step marks rows to drop (counted by reason in the accounting) or warns about them:
exact duplicate rows, missing, unreadable, implausibly early and future dates, guest
placeholder ids, order statuses that are not spend (cancelled, refunded, unpaid), lines of
cancellation documents told by the order id, and returns with no earlier sale.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping

import numpy as np
import pandas as pd

from clv_core.columns import ColumnMapping
from clv_core.errors import DataError
from clv_core.issues import RowIssue
from clv_core.parsing import SUPPORTED_DATE_EXAMPLES, ParsedDates, clean_ids, is_missing
from clv_core.validation.options import ValidationOptions
from clv_core.validation.report import _Accounting

_EARLIEST_PLAUSIBLE_DATE = dt.date(1970, 1, 1)

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


def _account_customer_ids(
    frame: pd.DataFrame,
    mapping: ColumnMapping,
    options: ValidationOptions,
    accounting: _Accounting,
    keep: np.ndarray,
) -> pd.Series:
    """The cleaned customer ids; rows without one or with a guest placeholder are dropped,
    counted (``keep`` is updated in place)."""
    customer_column = str(mapping.customer_id)
    customer_ids = clean_ids(frame[customer_column])
    missing_id = customer_ids.isna().to_numpy(bool) & keep
    accounting.record(RowIssue.MISSING_CUSTOMER_ID, missing_id, None, dropped=True)
    keep &= ~missing_id
    guests = _guest_rows(customer_ids, options.guest_ids) & keep
    accounting.record(RowIssue.GUEST_CUSTOMER_ID, guests, customer_ids, dropped=True)
    keep &= ~guests
    return customer_ids


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
        examples = accounting.examples_of(frame[str(mapping.order_date)], duplicate)
        warnings.append(_duplicates_warning(int(duplicate.sum()), examples, line_level=line_level))


def _duplicates_warning(count: int, examples: str, *, line_level: bool) -> str:
    """The warning about exact copies of rows that are kept (``examples``: a few rows)."""
    reason = (
        "the export lists order lines, and one item can appear twice on an order"
        if line_level
        else "the log has no order id and no time of day, so they may be separate orders"
    )
    return (
        f"{count:,} rows are exact copies of an earlier row (e.g. {examples}). They were kept "
        f"because {reason}; drop duplicate rows explicitly if they are double-counted exports."
    )


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
