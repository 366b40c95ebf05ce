"""Why a row was dropped or altered: the reason codes of every row account, with their English.

Validation counts every dropped and every altered row by one of these codes; reports, the
command line's JSON and the workbench use the codes, and the English sentences here are the one
English wording (the workbench's catalogue adds the Chinese). This module imports nothing else
of the engine, so the workbench's first page can label reasons without loading pandas.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum

__all__ = ["ISSUE_DESCRIPTIONS", "RowIssue"]


class RowIssue(StrEnum):
    """Why a row was dropped or a value altered. The keys are stable (JSON, UI catalogue)."""

    MISSING_CUSTOMER_ID = "missing_customer_id"
    MISSING_DATE = "missing_date"
    UNPARSABLE_DATE = "unparsable_date"
    DATE_TOO_EARLY = "date_too_early"
    FUTURE_DATE = "future_date"
    MISSING_AMOUNT = "missing_amount"
    NON_NUMERIC_AMOUNT = "non_numeric_amount"
    DUPLICATE_ROW = "duplicate_row"
    DUPLICATE_CUSTOMER_ID = "duplicate_customer_id"
    MISSING_TARGET = "missing_target"
    NON_NUMERIC_TARGET = "non_numeric_target"
    GUEST_CUSTOMER_ID = "guest_customer_id"
    UNKNOWN_ORDER = "unknown_order"
    ORDER_CANCELLED = "order_cancelled"
    ORDER_REFUNDED = "order_refunded"
    ORDER_UNPAID = "order_unpaid"
    # Altered, not dropped:
    AMOUNT_TEXT_CLEANED = "amount_text_cleaned"
    AMOUNT_FROM_QUANTITY_AND_PRICE = "amount_from_quantity_and_price"
    TIMEZONE_REMOVED = "timezone_removed"
    NEGATIVE_TARGET_CLIPPED = "negative_target_clipped"
    UNPARSABLE_VALUE_SET_MISSING = "unparsable_value_set_missing"
    ORDER_LINES_COMBINED = "order_lines_combined"
    LINES_COMBINED_INTO_BASKETS = "lines_combined_into_baskets"
    DISCOUNT_SUBTRACTED = "discount_subtracted"
    RETURN_MADE_NEGATIVE = "return_made_negative"
    ORDER_FIELDS_FILLED = "order_fields_filled"
    ORDER_TOTAL_ON_OTHER_LINE = "order_total_on_other_line"


ISSUE_DESCRIPTIONS: Mapping[RowIssue, str] = {
    RowIssue.MISSING_CUSTOMER_ID: "customer id is empty",
    RowIssue.MISSING_DATE: "order date is empty",
    RowIssue.UNPARSABLE_DATE: "order date is not a recognised date",
    RowIssue.DATE_TOO_EARLY: "order date is before 1970 (usually a placeholder such as 1900-01-01)",
    RowIssue.FUTURE_DATE: "order date is after the latest valid date (in the future)",
    RowIssue.MISSING_AMOUNT: "amount is empty",
    RowIssue.NON_NUMERIC_AMOUNT: "amount is not a number",
    RowIssue.DUPLICATE_ROW: "exact duplicate of an earlier row",
    RowIssue.DUPLICATE_CUSTOMER_ID: "customer id already appeared on an earlier row",
    RowIssue.MISSING_TARGET: "target value is empty",
    RowIssue.NON_NUMERIC_TARGET: "target value is not a number",
    RowIssue.AMOUNT_TEXT_CLEANED: "amount had currency symbols, spaces or separators removed",
    RowIssue.AMOUNT_FROM_QUANTITY_AND_PRICE: "amount computed as quantity x unit price",
    RowIssue.TIMEZONE_REMOVED: "time-zone offset removed from the date (local time kept)",
    RowIssue.NEGATIVE_TARGET_CLIPPED: "negative target set to 0",
    RowIssue.UNPARSABLE_VALUE_SET_MISSING: "value could not be parsed and was set to missing",
    RowIssue.ORDER_LINES_COMBINED: "order line merged into its order (same customer and order id)",
    RowIssue.GUEST_CUSTOMER_ID: "customer id is a guest placeholder (e.g. 'guest', '0', '游客')",
    RowIssue.UNKNOWN_ORDER: "order line whose order id is not in the orders table",
    RowIssue.ORDER_CANCELLED: "order status says cancelled, voided or closed: not spend",
    RowIssue.ORDER_REFUNDED: "order status says refunded or returned: not spend",
    RowIssue.ORDER_UNPAID: "order status says unpaid, pending or failed: not spend",
    RowIssue.LINES_COMBINED_INTO_BASKETS: (
        "line merged into its basket (no order id: one order per customer per day or timestamp)"
    ),
    RowIssue.DISCOUNT_SUBTRACTED: "line discount subtracted from quantity x unit price",
    RowIssue.ORDER_FIELDS_FILLED: (
        "empty customer, date, status or currency filled from the same order's first line"
    ),
    RowIssue.ORDER_TOTAL_ON_OTHER_LINE: (
        "empty order total on a further line of an order whose total is on its first line "
        "(counted once)"
    ),
    RowIssue.RETURN_MADE_NEGATIVE: (
        "positive amount made negative: a return (negative quantity) or a line of a "
        "cancellation document"
    ),
}
