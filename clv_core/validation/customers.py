"""Customer tables: a customer-attributes table and a per-customer table with a target.

Both are keyed by customer id: rows without an id and repeated ids are dropped and counted, and
every other column is typed (numeric, date or categorical) with the values that do not fit
counted. A per-customer table also needs a numeric target, and its date columns become
``days_since_<column>``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from clv_core.columns import ColumnMapping, detect_roles
from clv_core.errors import DataError
from clv_core.issues import RowIssue
from clv_core.parsing import clean_ids, is_missing, parse_amounts, parse_dates
from clv_core.validation.report import (
    ValidationReport,
    _Accounting,
    _examples,
    _named,
    note_cells,
)


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
    first_row: int = 2,
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
        first_row=first_row,
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
    date_columns: tuple[str, ...] = ()

    @property
    def spec(self) -> TableSpec:
        """What a model trained on this table needs from a table of new customers."""
        return TableSpec(
            id_column=str(self.mapping.customer_id),
            target_column=str(self.mapping.target),
            numeric_columns=tuple(
                name
                for name in self.numeric_columns
                if name not in {f"days_since_{column}" for column in self.date_columns}
            ),
            categorical_columns=self.categorical_columns,
            date_columns=self.date_columns,
            reference_date=(
                self.reference_date.date().isoformat() if self.reference_date is not None else None
            ),
        )


@dataclass(frozen=True, slots=True)
class TableSpec:
    """The columns of a per-customer table a model was trained on, as the user named them.

    ``numeric_columns`` are numbers as they are; ``categorical_columns`` text levels (levels not
    seen in training share one "other" slot); ``date_columns`` become
    ``days_since_<column>``: whole days before the table's reference date (the latest date in
    the table unless one is given). ``target_column`` is the value the model learned to
    predict; ``reference_date`` is the training table's.
    """

    id_column: str
    target_column: str
    numeric_columns: tuple[str, ...]
    categorical_columns: tuple[str, ...]
    date_columns: tuple[str, ...]
    reference_date: str | None = None

    @property
    def required_columns(self) -> tuple[str, ...]:
        """Every column a table of new customers must have (the id aside), in table order."""
        return (*self.numeric_columns, *self.categorical_columns, *self.date_columns)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready, with each column's type and unit (what a bundle's meta.json records)."""
        columns = [
            {"name": name, "type": "number", "feature": name, "unit": "as in the table"}
            for name in self.numeric_columns
        ]
        columns += [
            {"name": name, "type": "category", "feature": name, "unit": "text level"}
            for name in self.categorical_columns
        ]
        columns += [
            {
                "name": name,
                "type": "date",
                "feature": f"days_since_{name}",
                "unit": "days before the table's reference date",
            }
            for name in self.date_columns
        ]
        return {
            "id_column": self.id_column,
            "target_column": self.target_column,
            "columns": columns,
            "reference_date": self.reference_date,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TableSpec:
        """The spec :meth:`to_dict` wrote (KeyError/TypeError/ValueError when damaged)."""
        columns = list(data["columns"])
        by_type: dict[str, list[str]] = {"number": [], "category": [], "date": []}
        for column in columns:
            by_type[str(column["type"])].append(str(column["name"]))
        reference = data.get("reference_date")
        return cls(
            id_column=str(data["id_column"]),
            target_column=str(data["target_column"]),
            numeric_columns=tuple(by_type["number"]),
            categorical_columns=tuple(by_type["category"]),
            date_columns=tuple(by_type["date"]),
            reference_date=str(reference) if reference is not None else None,
        )


def validate_customer_table(
    frame: pd.DataFrame,
    mapping: ColumnMapping | None = None,
    *,
    reference_date: dt.date | None = None,
    source_name: str = "",
    first_row: int = 2,
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
    first_row
        The file row of the first data row (after a title above the header), so that messages
        name rows as the file shows them.

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
    accounting = _Accounting(np.arange(rows_read) + first_row)
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
        date_columns=typed.dates,
    )


@dataclass(frozen=True, slots=True)
class _TypedTable:
    frame: pd.DataFrame
    numeric: tuple[str, ...]
    categorical: tuple[str, ...]
    dates: tuple[str, ...]
    kept_positions: np.ndarray


def account_ids(
    values: pd.Series, accounting: _Accounting, keep: np.ndarray | None = None
) -> tuple[pd.Series, np.ndarray]:
    """The cleaned ids and the rows kept: rows without an id and repeated ids (the first row
    kept) are dropped and counted."""
    keep = np.ones(len(values), dtype=bool) if keep is None else keep.copy()
    ids = clean_ids(values)
    missing_id = ids.isna().to_numpy(bool) & keep
    accounting.record(RowIssue.MISSING_CUSTOMER_ID, missing_id, None, dropped=True)
    keep &= ~missing_id
    duplicate = np.zeros(len(values), dtype=bool)
    duplicate[keep] = ids[keep].duplicated().to_numpy(bool)
    accounting.record(RowIssue.DUPLICATE_CUSTOMER_ID, duplicate, ids, dropped=True)
    keep &= ~duplicate
    return ids, keep


def days_before(
    dates: dict[str, pd.Series], reference_date: dt.date | None
) -> tuple[dict[str, pd.Series], pd.Timestamp | None]:
    """``days_since_<column>`` of each date column: whole days before the reference date
    (default: the latest of these dates)."""
    if not dates:
        return {}, None
    reference = (
        pd.Timestamp(reference_date)
        if reference_date is not None
        else pd.Timestamp(max(values.max() for values in dates.values()))
    )
    days = {
        f"days_since_{name}": (reference - values).dt.days.astype("float64")
        for name, values in dates.items()
    }
    return days, reference


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
    first_row: int = 2,
) -> tuple[_TypedTable, ValidationReport]:
    """Shared part of customer-table validation: ids, duplicate ids, column typing."""
    rows_read = len(frame)
    accounting = accounting or _Accounting(np.arange(rows_read) + first_row)
    ids, keep = account_ids(frame[id_column], accounting, keep)

    kept = frame.loc[keep]
    typed = pd.DataFrame(index=pd.Index(ids[keep].to_numpy(), name="customer_id"))
    numeric: list[str] = []
    categorical: list[str] = []
    dates: list[str] = []
    unparsable = np.zeros(int(keep.sum()), dtype=bool)
    cells = np.full(int(keep.sum()), "", dtype=object)  # the first unreadable cell of each row
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
        note_cells(cells, failed & ~unparsable, name, values)
        unparsable |= failed
        typed[name] = converted.to_numpy()
        (dates if kind == "date" else numeric).append(name)
    positions = np.flatnonzero(keep)
    accounting.record_unreadable(keep, unparsable, cells)
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
    days, reference = days_before(
        {column: features.pop(column) for column in typed.dates}, reference_date
    )
    for name, values in days.items():
        features[name] = values
    return features, (*typed.numeric, *days), reference
