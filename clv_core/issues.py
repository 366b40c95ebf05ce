"""Why a row was dropped or altered: the reason codes of every row account, with their English.

Validation counts every dropped and every altered row by one of these codes; reports, the
command line's JSON and the workbench use the codes. Their English and Chinese wording lives in
the one catalogue of labels, :data:`clv_core.catalogue.ISSUE_LABELS`.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum

from clv_core.catalogue import ISSUE_LABELS

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
    issue: ISSUE_LABELS[issue.value][0] for issue in RowIssue
}
"""The English description of every reason (from :data:`clv_core.catalogue.ISSUE_LABELS`)."""
