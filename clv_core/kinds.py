"""The small enumerations the engine and the workbench share: input shapes and split kinds.

They live apart from the modules that use them (``columns``, ``splits``) so that code which only
needs the names, such as the workbench's first page, does not import pandas.
"""

from __future__ import annotations

from enum import StrEnum

__all__ = ["TABLE_HORIZON_DAYS", "InputShape", "SplitKind"]

# The period a per-customer table's target covers when the analyst does not say: it only labels
# the model (a table has no dates to cut windows from).
TABLE_HORIZON_DAYS = 365


class InputShape(StrEnum):
    """The two first-class input shapes (README, "Your data")."""

    TRANSACTIONS = "transactions"
    CUSTOMER_TABLE = "customer_table"


class SplitKind(StrEnum):
    """How evaluation separates what the model learns from what it is measured on."""

    CUSTOMER = "customer"
    TIME = "time"
