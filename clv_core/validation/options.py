"""The settings of transaction validation: :class:`ValidationOptions`."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass


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
