"""The small enumerations and constants the engine and the workbench share: input shapes, split
kinds, the periods and defaults of the value plan (:mod:`clv_core.value`).

They live apart from the modules that use them (``columns``, ``splits``) so that code which only
needs the names, such as the workbench's first page, does not import pandas.
"""

from __future__ import annotations

from enum import StrEnum

__all__ = [
    "DAYS_PER_MONTH",
    "DEFAULT_ANNUAL_DISCOUNT_RATE",
    "DEFAULT_MARGIN",
    "PERIODS",
    "TABLE_HORIZON_DAYS",
    "InputShape",
    "SplitKind",
]

# The period a per-customer table's target covers when the analyst does not say: it only labels
# the model (a table has no dates to cut windows from).
TABLE_HORIZON_DAYS = 365

# The value plan's month (the convention of lifetimes and pymc-marketing for daily data) and the
# period lengths in days.
DAYS_PER_MONTH = 30
PERIODS = {"month": DAYS_PER_MONTH, "week": 7}
# The value plan's defaults: no margin known (profit = discounted revenue), 10% a year.
DEFAULT_MARGIN = 1.0
DEFAULT_ANNUAL_DISCOUNT_RATE = 0.10


class InputShape(StrEnum):
    """The two first-class input shapes (README, "Your data")."""

    TRANSACTIONS = "transactions"
    CUSTOMER_TABLE = "customer_table"


class SplitKind(StrEnum):
    """How evaluation separates what the model learns from what it is measured on."""

    CUSTOMER = "customer"
    TIME = "time"
