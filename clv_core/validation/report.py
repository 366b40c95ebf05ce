"""The validation report and the row accounting behind it.

:class:`_Accounting` collects, while a table is validated, every dropped and every altered row
by reason with a few example rows; :class:`ValidationReport` is what it freezes into, and checks
on creation that ``rows_read == rows_used + sum(dropped)``. Also how messages name the table's
file (:func:`_named`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from clv_core.issues import ISSUE_DESCRIPTIONS, RowIssue

_EXAMPLES_PER_ISSUE = 3


@dataclass(frozen=True, slots=True, kw_only=True)
class ValidationReport:
    """What validation did to a table, row by row.

    Attributes
    ----------
    table
        Which table this is: ``"transactions"``, ``"customers"``, ``"customer_table"`` or
        ``"new_customers"``.
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
        quote: bool = True,
    ) -> None:
        """Count the rows in ``mask`` for ``issue`` and keep a few examples.

        ``values`` gives each example's text (quoted; ``quote=False`` when it is already
        written out, such as ``column='text'``).
        """
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
            elif quote:
                examples.append(f"row {row}: {values.iloc[position]!r}")
            else:
                examples.append(f"row {row}: {values.iloc[position]}")
        self.examples[issue.value] = self.examples.get(issue.value, ()) + tuple(examples)

    def record_unreadable(self, keep: np.ndarray, failed: np.ndarray, cells: np.ndarray) -> None:
        """Count the kept rows with a value set missing; ``failed`` and ``cells`` (each row's
        first unreadable ``column='value'``) are aligned with the kept rows."""
        positions = np.flatnonzero(keep)
        altered = np.zeros(len(keep), dtype=bool)
        altered[positions[failed]] = True
        described = np.full(len(keep), "", dtype=object)
        described[positions] = cells
        self.record(
            RowIssue.UNPARSABLE_VALUE_SET_MISSING,
            altered,
            pd.Series(described),
            dropped=False,
            quote=False,
        )

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


def _examples(values: pd.Series, mask: np.ndarray) -> str:
    return _Accounting(np.arange(len(values)) + 2).examples_of(values, mask)


def note_cells(cells: np.ndarray, rows: np.ndarray, column: str, values: pd.Series) -> None:
    """Write ``column='value'`` into ``cells`` at ``rows`` (examples of unreadable cells)."""
    for position in np.flatnonzero(rows):
        cells[position] = f"{column}={values.iloc[position]!r}"


def _named(source_name: str) -> str:
    """The file's name after a table's kind in a message (nothing when it is unknown)."""
    return f" {source_name}" if source_name else ""
