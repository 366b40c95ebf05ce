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

Where a table is validated, by module:

* :mod:`~clv_core.validation.transactions`: :func:`validate_transactions`, the steps in order,
  and the summary;
* :mod:`~clv_core.validation.checks`: the row checks it runs (duplicates, dates, guest ids,
  order statuses, cancellation documents, returns without a sale);
* :mod:`~clv_core.validation.amounts`: the spend of each row (an amount, or quantity x unit
  price less a discount) and returns made negative;
* :mod:`~clv_core.validation.orders`: order lines (order-level cells filled, an order total
  counted once, lines combined into orders or daily baskets);
* :mod:`~clv_core.validation.customers`: :func:`validate_customers` and
  :func:`validate_customer_table`;
* :mod:`~clv_core.validation.new_customers`: :func:`validate_new_customers`;
* :mod:`~clv_core.validation.report`: :class:`ValidationReport` and the row accounting behind it;
* :mod:`~clv_core.validation.options`: :class:`ValidationOptions`.
"""

from __future__ import annotations

from clv_core.issues import ISSUE_DESCRIPTIONS, RowIssue
from clv_core.parsing import ParsedAmounts, ParsedDates, clean_ids, parse_amounts, parse_dates
from clv_core.validation.checks import GUEST_PLACEHOLDERS, NUMERIC_GUEST_PLACEHOLDERS
from clv_core.validation.customers import (
    CustomerAttributes,
    CustomerTable,
    TableSpec,
    validate_customer_table,
    validate_customers,
)
from clv_core.validation.new_customers import NewCustomers, validate_new_customers
from clv_core.validation.options import ValidationOptions
from clv_core.validation.report import ValidationReport
from clv_core.validation.transactions import Transactions, validate_transactions

__all__ = [
    "GUEST_PLACEHOLDERS",
    "ISSUE_DESCRIPTIONS",
    "NUMERIC_GUEST_PLACEHOLDERS",
    "CustomerAttributes",
    "CustomerTable",
    "NewCustomers",
    "ParsedAmounts",
    "ParsedDates",
    "RowIssue",
    "TableSpec",
    "Transactions",
    "ValidationOptions",
    "ValidationReport",
    "clean_ids",
    "parse_amounts",
    "parse_dates",
    "validate_customer_table",
    "validate_customers",
    "validate_new_customers",
    "validate_transactions",
]
