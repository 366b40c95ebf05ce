"""The data check: loaded files -> validated transactions, attributes and their row accounting.

The command line calls :func:`check_inputs` with the files it read; the workbench runs the same
steps one file at a time (each cached, in reader processes) through
:func:`clv_core.intake.validate_source` and :func:`attributes_report`, so a log, its order lines
and an attributes table are mapped, validated and accounted for by the same rules everywhere.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from clv_core.columns import ColumnMapping
from clv_core.intake import transaction_source, validate_source
from clv_core.loading import LoadedTable
from clv_core.money import MoneyCheck
from clv_core.validation import (
    CustomerAttributes,
    Transactions,
    ValidationOptions,
    ValidationReport,
    validate_customers,
)

__all__ = [
    "CheckedInputs",
    "attributes_report",
    "check_attributes",
    "check_inputs",
    "report_lines",
    "unmatched_report",
    "validation_data",
]


@dataclass(frozen=True, slots=True)
class CheckedInputs:
    """Validated transactions (and attributes) with the row accounting of every input table."""

    transactions: Transactions
    customers: CustomerAttributes | None
    reports: dict[str, ValidationReport]

    @property
    def mapping(self) -> ColumnMapping:
        """The column roles used for the transaction log."""
        return self.transactions.mapping

    def validation(self) -> dict[str, Any]:
        """Row accounting of every input table, as JSON-ready data."""
        return validation_data(self.reports, self.mapping, self.transactions.money)

    def report_lines(self) -> list[str]:
        """The reports (and the spend rule) of every input table, as lines for a terminal."""
        return report_lines(self.reports, self.transactions.money)


def validation_data(
    reports: Mapping[str, ValidationReport], mapping: ColumnMapping, money: MoneyCheck | None
) -> dict[str, Any]:
    """The row accounting of a log (its roles and money check) and its attributes, as JSON."""
    data = {name: report.to_dict() for name, report in reports.items()}
    data["transactions"]["mapping"] = mapping.to_dict()
    if money is not None:
        data["transactions"]["money"] = money.to_dict()
    return data


def report_lines(reports: Mapping[str, ValidationReport], money: MoneyCheck | None) -> list[str]:
    """The validation reports (and the spend rule) of a log and its attributes, as lines."""
    lines = [line for report in reports.values() for line in report.describe()]
    if money is not None:
        lines += list(money.describe())
    return lines


def check_attributes(attributes: LoadedTable) -> CustomerAttributes:
    """The loaded attributes table, validated (rows named as the file shows them)."""
    return validate_customers(
        attributes.frame,
        source_name=attributes.source_name,
        first_row=attributes.first_data_row,
    )


def attributes_report(
    transactions: Transactions, customers: CustomerAttributes, notes: tuple[str, ...] = ()
) -> ValidationReport:
    """The attributes table's report, warning about customers of the log without a row in it."""
    known = transactions.frame["customer_id"].isin(customers.frame.index)
    unmatched = int(transactions.frame.loc[~known, "customer_id"].nunique())
    return unmatched_report(customers, unmatched, notes)


def unmatched_report(
    customers: CustomerAttributes, unmatched: int, notes: tuple[str, ...] = ()
) -> ValidationReport:
    """The attributes table's report, given how many of the log's customers it lacks."""
    warnings = list(notes)
    if unmatched:
        warnings.append(
            f"{unmatched:,} customers in the transactions have no row in the customer "
            "table; their attributes are missing."
        )
    return customers.report.with_warnings(*warnings)


def check_inputs(
    table: LoadedTable,
    *,
    order_lines: LoadedTable | None = None,
    attributes: LoadedTable | None = None,
    roles: Mapping[str, str | None] | None = None,
    options: ValidationOptions | None = None,
) -> CheckedInputs:
    """Map and validate a transaction log (or orders + order lines) and its attributes table.

    ``roles`` are the analyst's column choices (role -> column, ``None`` for "no such column");
    every other role is detected. Raises :class:`~clv_core.errors.DataError` for what the
    analyst has to fix, naming the file, the column and the rows.
    """
    roles = dict(roles or {})
    source = transaction_source(table, order_lines, order_id=roles.get("order_id"))
    transactions = validate_source(source, roles, options)
    reports = {"transactions": transactions.report}
    customers = None
    if attributes is not None:
        customers = check_attributes(attributes)
        reports["customers"] = attributes_report(transactions, customers, attributes.notes)
    return CheckedInputs(transactions, customers, reports)
