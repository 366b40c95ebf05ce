"""New customers to score with a model trained on a per-customer table.

The table must carry the columns the model was trained on (:class:`TableSpec`, recorded in the
model bundle) under the same names; each is read as the type it had in training. Extra columns
are ignored and named in the report; a missing column, an empty table or a column whose values
are all of the wrong type is one :class:`~clv_core.errors.DataError` that says which column and
what to do. Single values that cannot be read are set missing (filled as in training) and
counted with example rows; category levels not seen in training share the "other" slot of the
preprocessing. Rows without an id and repeated ids are dropped and counted.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

from clv_core.columns import detect_roles
from clv_core.errors import DataError
from clv_core.parsing import parse_amounts, parse_dates
from clv_core.validation.customers import TableSpec, account_ids, days_before
from clv_core.validation.report import ValidationReport, _Accounting, _named, note_cells

__all__ = ["NewCustomers", "validate_new_customers"]


@dataclass(frozen=True, slots=True)
class NewCustomers:
    """A validated table of customers to score.

    ``features`` is indexed by ``customer_id`` with the model's feature columns (dates already
    ``days_since_<column>`` relative to ``reference_date``). ``known_value`` is the table's
    target column when it has one (the training table itself), else ``None``.
    """

    features: pd.DataFrame
    known_value: pd.Series | None
    reference_date: pd.Timestamp | None
    report: ValidationReport
    ignored_columns: tuple[str, ...]


def validate_new_customers(
    frame: pd.DataFrame,
    spec: TableSpec,
    *,
    id_column: str | None = None,
    reference_date: dt.date | None = None,
    source_name: str = "",
    first_row: int = 2,
) -> NewCustomers:
    """Check and type a table of new customers against the columns a model was trained on.

    ``reference_date`` is the day date columns count back from (default: the latest date in
    the table's date columns); ``first_row`` the file row of the first data row.
    """
    where = _named(source_name)
    if len(frame) == 0:
        raise DataError(
            f"The table{where} has no rows of customers; export it again with one row per "
            "customer below the header."
        )
    frame = frame.rename(columns=str)
    identifier = _id_column(frame, spec, id_column, where)
    _check_required(frame, spec, where)
    ignored = tuple(
        str(column)
        for column in frame.columns
        if column not in {identifier, spec.target_column, *spec.required_columns}
    )
    accounting = _Accounting(np.arange(len(frame)) + first_row)
    ids, keep = account_ids(frame[identifier], accounting)
    if not keep.any():
        raise DataError(
            f"No row of the table{where} has a customer id in '{identifier}'; fill the ids or "
            "choose the id column."
        )
    features, reference = _typed_features(frame, spec, keep, accounting, reference_date, where)
    features.index = pd.Index(ids[keep].to_numpy(), name="customer_id")
    known = None
    if spec.target_column in frame.columns:
        values = parse_amounts(frame[spec.target_column]).values.clip(lower=0)
        known = pd.Series(values[keep].to_numpy(), index=features.index, name="known_value")
    warnings = []
    if ignored:
        warnings.append(f"Columns not used by the model (ignored): {list(ignored)}.")
    report = accounting.report(
        table="new_customers",
        source_name=source_name,
        rows_read=len(frame),
        rows_used=int(keep.sum()),
        warnings=warnings,
        summary={"n_customers": int(keep.sum()), "columns": len(features.columns)},
    )
    return NewCustomers(features, known, reference, report, ignored)


def _id_column(frame: pd.DataFrame, spec: TableSpec, chosen: str | None, where: str) -> str:
    """The id column: the one chosen, else the training table's name, else detected."""
    if chosen is not None:
        if chosen not in frame.columns:
            raise DataError(
                f"The table{where} has no column '{chosen}'; its columns are {list(frame.columns)}."
            )
        return chosen
    if spec.id_column in frame.columns:
        return spec.id_column
    detected = detect_roles(frame).customer_id
    if detected is None:
        raise DataError(
            f"The table{where} has no customer id column ('{spec.id_column}' in the training "
            f"table); its columns are {list(frame.columns)}. Name the id column."
        )
    return str(detected)


def _check_required(frame: pd.DataFrame, spec: TableSpec, where: str) -> None:
    missing = [name for name in spec.required_columns if name not in frame.columns]
    if missing:
        raise DataError(
            f"The table{where} lacks {len(missing)} column(s) the model was trained on: "
            f"{missing}. Add them under the same names (empty cells are allowed: they are "
            f"filled as in training). The model needs {list(spec.required_columns)}."
        )


def _typed_features(
    frame: pd.DataFrame,
    spec: TableSpec,
    keep: np.ndarray,
    accounting: _Accounting,
    reference_date: dt.date | None,
    where: str,
) -> tuple[pd.DataFrame, pd.Timestamp | None]:
    """The kept rows' columns read as in training; values that cannot be read set missing."""
    kept = frame.loc[keep].reset_index(drop=True)
    rows = accounting.row_numbers[keep]
    features = pd.DataFrame(index=kept.index)
    failed_any = np.zeros(len(kept), dtype=bool)
    cells = np.full(len(kept), "", dtype=object)
    for name in spec.numeric_columns:
        features[name] = _read_column(kept[name], "number", rows, (failed_any, cells), where)
    for name in spec.categorical_columns:
        features[name] = kept[name].astype("string").to_numpy()
    dates = {
        name: _read_column(kept[name], "date", rows, (failed_any, cells), where)
        for name in spec.date_columns
    }
    days, reference = days_before(dates, reference_date)
    for name, values in days.items():
        features[name] = values
    accounting.record_unreadable(keep, failed_any, cells)
    return features, reference


def _read_column(
    values: pd.Series,
    kind: str,
    rows: np.ndarray,
    unreadable: tuple[np.ndarray, np.ndarray],
    where: str,
) -> pd.Series:
    """``values`` as numbers or dates; a column with no readable value at all is an error."""
    parsed = parse_amounts(values).values if kind == "number" else parse_dates(values).values
    present = values.notna().to_numpy(bool) & (values.astype("string").str.strip() != "").fillna(
        False
    ).to_numpy(bool)
    failed = present & parsed.isna().to_numpy(bool)
    if present.any() and failed.sum() == present.sum():
        examples = ", ".join(
            f"row {rows[position]}: {values.iloc[position]!r}"
            for position in np.flatnonzero(failed)[:3]
        )
        raise DataError(
            f"Column '{values.name}' of the table{where} holds no {kind} ({examples}), but the "
            f"model was trained on {kind}s in it. Check that it is the same column as in the "
            "training table, and that its values are written the same way."
        )
    failed_any, cells = unreadable
    note_cells(cells, failed & ~failed_any, str(values.name), values)
    failed_any |= failed
    return parsed.reset_index(drop=True)
