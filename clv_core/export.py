"""Export: the scored customer list for a campaign, as CSV or XLSX, safe to open in Excel.

The list (:func:`build_scored_list`) has a fixed column order so CRM imports never break:
``customer_id``, ``predicted_clv``, ``clv_lower``, ``clv_upper``, ``p_purchase`` (the three only
when the model gives them), ``predicted_profit``, ``p_alive``, ``expected_next_order_date``,
``mean_days_between_orders`` (the value plan, :mod:`clv_core.value`), ``rank``, ``percentile``,
``tier``, ``churn_band``, ``action``,
``driver_1`` .. ``driver_3`` (when drivers are given), then the chosen attribute columns.
:func:`filter_segments` keeps the tiers, bands or actions a campaign targets.

Spreadsheet-formula injection (OWASP "CSV injection")
-----------------------------------------------------
A text cell such as ``=HYPERLINK("http://evil", "click")`` or ``-2+3+cmd|' /C calc'!A0`` is run
as a formula by Excel, LibreOffice and Google Sheets when the file is opened. Customer ids,
attribute values and even tier names come from uploaded data, so every export is neutralised
(:func:`neutralise_formulas`):

- a **text** cell (and a column header) whose first character after any leading single quotes
  is one of ``=`` ``+`` ``-`` ``@`` tab or carriage return gets one single quote ``'``
  prepended: ``=1+1`` -> ``'=1+1``, ``'=1+1`` -> ``''=1+1``, ``-abc`` -> ``'-abc``;
- every other text cell is unchanged (``'abc`` stays ``'abc``), and numbers are never touched
  (a negative CLV stays the number ``-5.0``).

The rule is an exact inverse pair with :func:`restore_formulas`, which removes one leading quote
from exactly the cells that start with a quote and, after all their leading quotes, a trigger
character. Programs that read the CSV through :func:`read_scored_csv` /
:func:`read_scored_xlsx` therefore get the original values back; a spreadsheet user sees the
quote, which is the point.

Round trips
-----------
``read_scored_csv(to_csv_bytes(x))`` and ``read_scored_xlsx(to_xlsx_bytes(x))`` give back ``x``:
text exactly (Chinese, leading zeros such as ``"00001"``, ``"=1+1"``, ``"-abc"``, ``"\\tx"``),
numbers within float precision. Limits, inherent in the formats:

- in a CSV an empty text cell and a missing value are the same empty field; both come back
  missing (XLSX keeps them apart);
- a CSV has no types: the scored-list columns are typed by name (``customer_id``, ``tier``,
  ``churn_band``, ``action``, ``driver_*`` text; ``rank`` integer; the others of the fixed
  columns float); another column becomes numeric when every value is written exactly as Python
  writes that number (``"1"``, ``"2.5"`` but not ``"007"`` or ``"1.50"``) and no value was
  neutralised, becomes boolean when every value is ``True``/``False``, and is text otherwise;
  dates come back as ISO text;
- XLSX stores control characters as ``_xHHHH_`` escapes, and openpyxl cannot tell those from the
  same pattern typed as text, so text containing a literal ``_x000D_``-style pattern (``_x``,
  four hex digits of a control character, ``_``) or ``x005F_`` is read back altered; Excel
  strings are at most 32,767 characters and a sheet holds at most 1,048,575 customers.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import unicodedata
import zipfile
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Final, cast

import numpy as np
import pandas as pd

from clv_core.errors import ConfigError, DataError
from clv_core.segments import indexed_by_customer
from clv_core.value import VALUE_COLUMNS

__all__ = [
    "DRIVER_COLUMNS",
    "FORMULA_TRIGGERS",
    "SCORED_COLUMNS",
    "build_scored_list",
    "filter_segments",
    "neutralise_formulas",
    "neutralise_text",
    "read_scored_csv",
    "read_scored_xlsx",
    "restore_formulas",
    "restore_text",
    "to_csv_bytes",
    "to_xlsx_bytes",
    "write_export",
]

FORMULA_TRIGGERS: Final = ("=", "+", "-", "@", "\t", "\r")
"""First characters that make a spreadsheet treat a text cell as a formula."""

_QUOTE: Final = "'"

SCORED_COLUMNS: Final = (
    "customer_id",
    "predicted_clv",
    "clv_lower",
    "clv_upper",
    "p_purchase",
    *VALUE_COLUMNS,
    "rank",
    "percentile",
    "tier",
    "churn_band",
    "action",
)
"""The fixed leading columns of a scored list, in order (the optional ones may be absent)."""

# The value plan's columns (clv_core.value) come with every scored list of this version.
_OPTIONAL_COLUMNS: Final = frozenset({"clv_lower", "clv_upper", "p_purchase", *VALUE_COLUMNS})
DRIVER_COLUMNS: Final = ("driver_1", "driver_2", "driver_3")
"""Columns of the top-3 drivers (text), after the fixed columns."""

_TEXT_COLUMNS: Final = frozenset({"customer_id", "tier", "churn_band", "action", *DRIVER_COLUMNS})
_INTEGER_COLUMNS: Final = frozenset({"rank"})
_FLOAT_COLUMNS: Final = frozenset(
    {
        "predicted_clv",
        "clv_lower",
        "clv_upper",
        "p_purchase",
        "predicted_profit",
        "p_alive",
        "mean_days_between_orders",
        "expected_net_profit",
        "percentile",
    }
)
_NUMBER_FORMATS: Final = {
    "predicted_clv": "#,##0.00",
    "clv_lower": "#,##0.00",
    "clv_upper": "#,##0.00",
    "p_purchase": "0.000",
    "predicted_profit": "#,##0.00",
    "p_alive": "0.000",
    "mean_days_between_orders": "0.0",
    "expected_net_profit": "#,##0.00",
    "percentile": "0.00",
}
_EXCEL_MAX_ROWS: Final = 1_048_576
_EXCEL_MAX_COLUMNS: Final = 16_384
_EXCEL_MAX_TEXT: Final = 32_767
_SHEET_NAME_FORBIDDEN: Final = frozenset("[]:*?/\\")
_WIDTH_SAMPLE_ROWS: Final = 2_000
# The characters xlsxwriter stores as _xHHHH_ escapes (XML cannot hold them).
_CONTROL_ESCAPE: Final = re.compile(r"_x(000[0-8B-Fb-f]|001[0-9A-Fa-f]|[Ff]{3}[EeFf])_")
_INTEGER_TEXT: Final = re.compile(r"-?(?:0|[1-9][0-9]*)")


# --- Formula neutralisation -------------------------------------------------------------------


def _is_triggered(text: str) -> bool:
    """Whether ``text``, after any leading quotes, starts with a formula trigger."""
    rest = text.lstrip(_QUOTE)
    return bool(rest) and rest[0] in FORMULA_TRIGGERS


def neutralise_text(text: str) -> str:
    """One text value made safe for a spreadsheet (see the module docstring for the rule)."""
    return _QUOTE + text if _is_triggered(text) else text


def restore_text(text: str) -> str:
    """The exact inverse of :func:`neutralise_text`."""
    return text[1:] if text.startswith(_QUOTE) and _is_triggered(text) else text


def _map_text(series: pd.Series, function: Callable[[str], str], *, add: bool) -> pd.Series:
    """Apply an escape rule to the text cells of one column, leaving other values alone."""
    dtype = series.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        return series.cat.rename_categories(
            [function(value) if isinstance(value, str) else value for value in dtype.categories]
        )
    if isinstance(dtype, pd.StringDtype):
        # Vectorised path for text columns (the pandas 3 default for strings).
        stripped = series.str.lstrip(_QUOTE)
        triggered = stripped.str[:1].isin(FORMULA_TRIGGERS).fillna(False).astype(bool)
        if add:
            return series.where(~triggered, _QUOTE + series)
        starts_with_quote = series.str.startswith(_QUOTE).fillna(False).astype(bool)
        return series.where(~(triggered & starts_with_quote), series.str[1:])
    if pd.api.types.is_object_dtype(dtype):
        # Built as object explicitly: ``map`` would infer the str dtype and turn None into NaN.
        return pd.Series(
            [function(value) if isinstance(value, str) else value for value in series.tolist()],
            index=series.index,
            name=series.name,
            dtype=object,
        )
    return series


def _map_frame(frame: pd.DataFrame, function: Callable[[str], str], *, add: bool) -> pd.DataFrame:
    result = frame.copy()
    for position in range(result.shape[1]):
        mapped = _map_text(result.iloc[:, position], function, add=add)
        # A Series (not its array) keeps an object column object; pandas-stubs omit Series here.
        result.isetitem(position, cast(Any, mapped))
    names = [function(name) if isinstance(name, str) else name for name in frame.columns]
    if names != list(frame.columns):
        result.columns = pd.Index(names)
    return result


def neutralise_formulas(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` safe to open in a spreadsheet.

    Every text cell, category and column header that (after any leading single quotes) starts
    with ``=``, ``+``, ``-``, ``@``, tab or carriage return gets one ``'`` prepended, following
    the OWASP guidance on CSV injection. Numeric, boolean and date values are never changed, so a
    negative number stays a number. :func:`restore_formulas` undoes it exactly.
    """
    return _map_frame(frame, neutralise_text, add=True)


def restore_formulas(frame: pd.DataFrame) -> pd.DataFrame:
    """The exact inverse of :func:`neutralise_formulas` (cells, categories and headers)."""
    return _map_frame(frame, restore_text, add=False)


# --- The scored list --------------------------------------------------------------------------


def build_scored_list(
    segmented: pd.DataFrame,
    drivers: pd.DataFrame | None = None,
    attributes: pd.DataFrame | None = None,
    passthrough: Sequence[str] = (),
) -> pd.DataFrame:
    """The campaign list: one row per customer in a fixed, documented column order.

    Parameters
    ----------
    segmented
        Output of :func:`clv_core.segments.segment_customers`: ``customer_id``,
        ``predicted_clv``, ``rank``, ``percentile``, ``tier``, ``churn_band``, ``action`` and
        optionally ``clv_lower``, ``clv_upper``, ``p_purchase``.
    drivers
        Optional top drivers per customer, indexed by ``customer_id`` (or with that column),
        with text columns ``driver_1`` to ``driver_3`` (or fewer, in order), e.g. the output of
        ``clv_core.explain.Explanation.top_drivers``. Columns after ``driver_3`` are ignored;
        customers without drivers (SHAP is often computed on a sample) get empty cells.
    attributes
        Optional customer attributes, indexed by ``customer_id`` (or with that column).
    passthrough
        Columns to append, in the given order, taken from ``attributes`` or, failing that,
        from the extra columns of ``segmented``.

    Returns
    -------
    pandas.DataFrame
        ``customer_id``, ``predicted_clv``, [``clv_lower``, ``clv_upper``, ``p_purchase``],
        ``rank``, ``percentile``, ``tier``, ``churn_band``, ``action``,
        [``driver_1`` .. ``driver_3``], passthrough columns; sorted by rank, with a
        fresh 0..n-1 index.

    Raises
    ------
    DataError
        A required column is missing, ``driver_1`` is missing, a passthrough column is
        unknown (the available ones are listed) or clashes with a list column, or ids repeat.
    """
    required = [column for column in SCORED_COLUMNS if column not in _OPTIONAL_COLUMNS]
    missing = [column for column in required if column not in segmented.columns]
    if missing:
        raise DataError(
            f"The segmented list lacks the column(s) {missing}; segment the scored customers "
            f"first (it has {list(segmented.columns)})."
        )
    indexed = indexed_by_customer(segmented, "the segmented list")
    columns = [column for column in SCORED_COLUMNS if column in segmented.columns]
    result = segmented.loc[:, columns].copy()
    if drivers is not None:
        driver_frame = indexed_by_customer(drivers, "the drivers")
        present = [column for column in DRIVER_COLUMNS if column in driver_frame.columns]
        if present != list(DRIVER_COLUMNS[: len(present)]) or not present:
            raise DataError(
                "The drivers need the columns driver_1 (and driver_2, driver_3 in order) as "
                f"returned by Explanation.top_drivers; they have {list(driver_frame.columns)}."
            )
        aligned = driver_frame.reindex(indexed.index)
        for column in present:
            result[column] = aligned[column].to_numpy()
    names = list(passthrough)
    if isinstance(passthrough, str):
        names = [passthrough]
    if names:
        source = (
            indexed_by_customer(attributes, "the attributes") if attributes is not None else None
        )
        extra = [column for column in segmented.columns if column not in SCORED_COLUMNS]
        available = list(source.columns) if source is not None else []
        available += [column for column in extra if column not in available]
        unknown = [name for name in names if name not in available]
        if unknown:
            raise DataError(
                f"Unknown passthrough column(s) {unknown}; available columns are {available}."
            )
        clashing = [name for name in names if name in result.columns or names.count(name) > 1]
        if clashing:
            raise DataError(
                f"Passthrough column(s) {sorted(set(clashing))} would repeat a column of the "
                "scored list; choose each attribute once and none of the list's own columns."
            )
        for name in names:
            if source is not None and name in source.columns:
                result[name] = source[name].reindex(indexed.index).to_numpy()
            else:
                result[name] = indexed[name].to_numpy()
    order = np.argsort(pd.to_numeric(segmented["rank"]).to_numpy(), kind="stable")
    return result.iloc[order].reset_index(drop=True)


def _choices(frame: pd.DataFrame, column: str) -> list[Any]:
    values = frame[column]
    if isinstance(values.dtype, pd.CategoricalDtype):
        return list(values.dtype.categories)
    return list(pd.unique(values.dropna()))


def filter_segments(
    frame: pd.DataFrame,
    tiers: Sequence[str] | str | None = None,
    bands: Sequence[str] | str | None = None,
    actions: Sequence[str] | str | None = None,
) -> pd.DataFrame:
    """The customers of the chosen segments, for one campaign.

    Parameters
    ----------
    frame
        A segmented or scored list with ``tier``, ``churn_band`` and ``action`` columns.
    tiers, bands, actions
        Names to keep (a name or a list of names, in the list's language). Within one argument
        any name matches; across arguments all must match (e.g. tiers ``["High value"]`` and
        bands ``["High"]`` keeps high-value customers at high risk). ``None`` or an empty list
        does not filter on that column.

    Returns
    -------
    pandas.DataFrame
        The matching rows in their original order, with a fresh 0..n-1 index.

    Raises
    ------
    ConfigError
        A name is not a tier, band or action of ``frame``; every unknown name is reported with
        the valid choices.
    DataError
        ``frame`` lacks a column that a filter needs.
    """
    keep = np.ones(len(frame), dtype=bool)
    problems: list[str] = []
    for column, argument, wanted in (
        ("tier", "tiers", tiers),
        ("churn_band", "bands", bands),
        ("action", "actions", actions),
    ):
        if wanted is None:
            continue
        names = [wanted] if isinstance(wanted, str) else list(wanted)
        if not names:
            continue
        if column not in frame.columns:
            raise DataError(
                f"Cannot filter by {argument}: the list has no {column!r} column (it has "
                f"{list(frame.columns)})."
            )
        choices = _choices(frame, column)
        unknown = [name for name in names if name not in choices]
        if unknown:
            problems.append(f"{argument}: {unknown} not found; choose from {choices}")
            continue
        keep &= frame[column].isin(names).to_numpy(dtype=bool)
    if problems:
        raise ConfigError("Unknown segment name(s):", problems=problems)
    return frame.loc[keep].reset_index(drop=True)


# --- CSV ---------------------------------------------------------------------------------------


def to_csv_bytes(frame: pd.DataFrame, *, excel_bom: bool = True) -> bytes:
    """The list as UTF-8 CSV, formulas neutralised, without the index.

    Parameters
    ----------
    frame
        The table to write (usually :func:`build_scored_list`).
    excel_bom
        Start with the UTF-8 byte-order mark (``EF BB BF``). Excel needs it to show Chinese
        text correctly when the file is opened by double-click; most other programs ignore it.

    Returns
    -------
    bytes
        RFC 4180 CSV (comma separated, CRLF line ends, quotes where needed); floats written
        with full precision.
    """
    text = neutralise_formulas(frame).to_csv(
        index=False, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL
    )
    return text.encode("utf-8-sig" if excel_bom else "utf-8")


def _is_exact_number_text(text: str) -> bool:
    """Whether ``text`` is exactly how pandas writes some int or float."""
    if _INTEGER_TEXT.fullmatch(text):
        return True
    try:
        return repr(float(text)) == text
    except ValueError:
        return False


def _typed_text_column(name: Any, values: pd.Series, was_escaped: bool) -> pd.Series:
    """Type one column read as text; ``values`` has missing cells as NaN."""
    present = values.dropna()
    if name in _TEXT_COLUMNS:
        return values
    if name in _INTEGER_COLUMNS or name in _FLOAT_COLUMNS:
        numbers = pd.to_numeric(values, errors="coerce")
        bad = numbers.isna() & values.notna()
        if bad.any():
            raise DataError(
                f"Column {name!r} should hold numbers but has {int(bad.sum())} other values, "
                f"e.g. {values[bad].head(3).tolist()}."
            )
        if name in _INTEGER_COLUMNS and not numbers.isna().any():
            return numbers.astype(np.int64)
        return numbers.astype(np.float64)
    if present.empty:
        return values.astype(np.float64)
    if was_escaped:
        return values
    texts = present.tolist()
    if all(text in ("True", "False") for text in texts) and len(present) == len(values):
        return values == "True"
    if all(_is_exact_number_text(text) for text in texts):
        numbers = pd.to_numeric(values)
        if all(_INTEGER_TEXT.fullmatch(text) for text in texts) and len(present) == len(values):
            return numbers.astype(np.int64)
        return numbers.astype(np.float64)
    return values


def read_scored_csv(data: bytes) -> pd.DataFrame:
    """Read a CSV written by :func:`to_csv_bytes` and undo the formula neutralisation.

    Works with and without the byte-order mark. Types follow the rules in the module
    docstring, so text (ids with leading zeros, Chinese, ``"=1+1"``) comes back exactly.

    Raises
    ------
    DataError
        The bytes are not UTF-8 or not a CSV with a header row, or a numeric column of the
        scored list holds text.
    """
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise DataError(
            f"The export is not UTF-8 text (byte {error.start} cannot be decoded); read it "
            "with the program that wrote it."
        ) from error
    try:
        raw = pd.read_csv(
            io.StringIO(text, newline=""),
            dtype=str,
            keep_default_na=False,
            na_values=[],
        )
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as error:
        raise DataError(f"The export is not a readable CSV table: {error}") from error
    columns: dict[Any, pd.Series] = {}
    for position, header in enumerate(raw.columns):
        cells = raw.iloc[:, position]
        values = cells.where(cells != "")
        restored = _map_text(values, restore_text, add=False)
        was_escaped = restored.dropna().tolist() != values.dropna().tolist()
        name = restore_text(header) if isinstance(header, str) else header
        columns[name] = _typed_text_column(name, restored, was_escaped)
    return pd.DataFrame(columns, index=pd.RangeIndex(len(raw)))


# --- XLSX --------------------------------------------------------------------------------------


def _display_width(value: Any) -> int:
    """Characters a value needs on screen; East Asian wide characters count twice."""
    if isinstance(value, float | np.floating):
        return min(len(f"{value:,.2f}"), 16)
    text = str(value)
    return sum(2 if unicodedata.east_asian_width(char) in "WF" else 1 for char in text)


def _check_sheet_name(sheet_name: str) -> None:
    forbidden = sorted(_SHEET_NAME_FORBIDDEN.intersection(sheet_name))
    if (
        not sheet_name
        or len(sheet_name) > 31
        or forbidden
        or sheet_name.startswith("'")
        or sheet_name.endswith("'")
    ):
        raise ConfigError(
            f"sheet_name: {sheet_name!r} is not a valid Excel sheet name; use 1 to 31 "
            "characters, none of [ ] : * ? / \\ and no quote at either end."
        )


def to_xlsx_bytes(
    frame: pd.DataFrame,
    *,
    sheet_name: str = "scored",
    extra_sheets: Mapping[str, pd.DataFrame] | None = None,
) -> bytes:
    """The list as an Excel workbook, formulas neutralised.

    One sheet with a bold, frozen header row and an autofilter; numbers are written as numbers
    (money columns shown with two decimals), booleans as booleans, naive datetimes as Excel
    dates (days without a time as ``yyyy-mm-dd``) and everything else as text - never as a
    formula or a hyperlink. Column widths fit the header and the first 2,000 rows (at most 60
    characters). ``extra_sheets`` (name -> table) follow in the same form, e.g. every
    customer's value per month.

    Raises
    ------
    ConfigError
        A sheet name is not a valid Excel sheet name or repeats.
    DataError
        A table exceeds Excel's limits (1,048,575 data rows, 16,384 columns, 32,767
        characters in a cell).
    """
    import xlsxwriter  # imported when needed: exports are rare

    sheets = {sheet_name: frame, **dict(extra_sheets or {})}
    if len(sheets) != 1 + len(extra_sheets or {}):
        raise ConfigError(f"The sheet name {sheet_name!r} is used twice.")
    for name, table in sheets.items():
        _check_sheet_name(name)
        if len(table) + 1 > _EXCEL_MAX_ROWS or table.shape[1] > _EXCEL_MAX_COLUMNS:
            raise DataError(
                f"The list has {len(table)} rows and {table.shape[1]} columns; an Excel sheet "
                f"holds at most {_EXCEL_MAX_ROWS - 1} data rows and {_EXCEL_MAX_COLUMNS} "
                "columns. Export as CSV or filter the list first."
            )
    buffer = io.BytesIO()
    workbook = xlsxwriter.Workbook(
        buffer,
        {
            "in_memory": True,
            "strings_to_formulas": False,
            "strings_to_urls": False,
            "strings_to_numbers": False,
            "nan_inf_to_errors": True,
        },
    )
    formats = {
        "header": workbook.add_format({"bold": True, "bottom": 1}),
        "datetime": workbook.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"}),
        "date": workbook.add_format({"num_format": "yyyy-mm-dd"}),
    }
    for name, table in sheets.items():
        _write_sheet(workbook, workbook.add_worksheet(name), table, formats)
    workbook.close()
    return buffer.getvalue()


def _write_sheet(workbook: Any, sheet: Any, frame: pd.DataFrame, formats: dict[str, Any]) -> None:
    """One table as a sheet: header, typed cells, widths, frozen header, autofilter."""
    safe = neutralise_formulas(frame)
    for position, name in enumerate(safe.columns):
        header = str(name)
        sheet.write_string(0, position, header, formats["header"])
        series = safe.iloc[:, position]
        number_format = (
            workbook.add_format({"num_format": _NUMBER_FORMATS[str(frame.columns[position])]})
            if str(frame.columns[position]) in _NUMBER_FORMATS
            else None
        )
        _write_column(sheet, position, series, number_format, _date_format(series, formats))
        sample = series.iloc[:_WIDTH_SAMPLE_ROWS].dropna().tolist()
        width = max([_display_width(header), *(_display_width(value) for value in sample)])
        sheet.set_column(position, position, min(max(width + 2, 8), 60))
    sheet.freeze_panes(1, 0)
    if safe.shape[1]:
        sheet.autofilter(0, 0, len(safe), safe.shape[1] - 1)


def _date_format(series: pd.Series, formats: dict[str, Any]) -> Any:
    """``yyyy-mm-dd`` for a datetime column whose values are all whole days."""
    if pd.api.types.is_datetime64_dtype(series.dtype):
        present = series.dropna()
        if len(present) and (present == present.dt.normalize()).all():
            return formats["date"]
    return formats["datetime"]


def _write_column(
    sheet: Any, column: int, series: pd.Series, number_format: Any, date_format: Any
) -> None:
    """Write one column below the header, cell by cell with the cell's own type."""
    is_naive_datetime = pd.api.types.is_datetime64_dtype(series.dtype)
    for offset, value in enumerate(series.tolist()):
        row = offset + 1
        if value is None or value is pd.NaT or (isinstance(value, float) and np.isnan(value)):
            continue
        if isinstance(value, str):
            if len(value) > _EXCEL_MAX_TEXT:
                raise DataError(
                    f"A value in column {series.name!r} (row {row}) has {len(value)} "
                    f"characters; Excel cells hold at most {_EXCEL_MAX_TEXT}. Export as CSV."
                )
            sheet.write_string(row, column, value)
        elif isinstance(value, bool | np.bool_):
            sheet.write_boolean(row, column, bool(value))
        elif isinstance(value, int | float | np.integer | np.floating):
            sheet.write_number(row, column, float(value), number_format)
        elif is_naive_datetime and isinstance(value, pd.Timestamp):
            sheet.write_datetime(row, column, value.to_pydatetime(), date_format)
        else:
            # Dates with a time zone, durations, decimals ...: their text, made safe.
            sheet.write_string(row, column, neutralise_text(str(value)))


def _decode_control_escapes(text: str) -> str:
    return _CONTROL_ESCAPE.sub(lambda match: chr(int(match.group(1), 16)), text)


def _typed_cell_column(name: Any, cells: list[Any]) -> pd.Series:
    """Build one column from openpyxl cell values, restoring text."""
    present = [value for value in cells if value is not None]
    complete = len(present) == len(cells)
    if not present:
        return pd.Series(cells, dtype=np.float64)
    if all(isinstance(value, str) for value in present):
        restored = [
            restore_text(_decode_control_escapes(value)) if value is not None else None
            for value in cells
        ]
        return pd.Series(restored, dtype="str")
    if all(isinstance(value, bool) for value in present):
        return pd.Series(cells, dtype=bool if complete else object)
    if all(isinstance(value, int | float) and not isinstance(value, bool) for value in present):
        numbers = pd.Series([np.nan if value is None else value for value in cells], dtype=float)
        integral = all(isinstance(value, int) for value in present)
        if name in _FLOAT_COLUMNS or not complete or not integral:
            return numbers
        return numbers.astype(np.int64)
    if all(isinstance(value, dt.datetime) for value in present):
        return pd.Series(pd.to_datetime(cells))
    return pd.Series(
        [
            restore_text(_decode_control_escapes(value)) if isinstance(value, str) else value
            for value in cells
        ],
        dtype=object,
    )


def read_scored_xlsx(data: bytes, *, sheet_name: str | None = None) -> pd.DataFrame:
    """Read a workbook written by :func:`to_xlsx_bytes` and undo the formula neutralisation.

    Parameters
    ----------
    data
        The ``.xlsx`` bytes.
    sheet_name
        The sheet to read; default the first one.

    Returns
    -------
    pandas.DataFrame
        The first row as headers; text columns exact, number columns as float (whole-number
        columns as int), booleans and dates as such; empty cells missing.

    Raises
    ------
    DataError
        The bytes are not an Excel workbook or the sheet is empty.
    ConfigError
        ``sheet_name`` is not in the workbook (its sheets are listed).
    """
    import openpyxl  # Imported here: reading exports back is rare.
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, OSError, ValueError) as error:
        raise DataError(f"The export is not a readable Excel workbook: {error}") from error
    try:
        if sheet_name is None:
            sheet = workbook.worksheets[0]
        elif sheet_name in workbook.sheetnames:
            sheet = workbook[sheet_name]
        else:
            raise ConfigError(
                f"sheet_name: {sheet_name!r} is not in the workbook; choose from "
                f"{workbook.sheetnames}."
            )
        rows = [tuple(row) for row in sheet.iter_rows(values_only=True)]
    finally:
        workbook.close()
    while rows and all(value is None for value in rows[-1]):
        rows.pop()
    if not rows:
        raise DataError("The workbook's sheet is empty; it has no header row.")
    header = rows[0]
    width = max(len(row) for row in rows)
    while width and header[width - 1 : width] in ((None,), ()):
        width -= 1
    body = rows[1:]
    columns: dict[Any, pd.Series] = {}
    for position in range(width):
        raw_name = header[position] if position < len(header) else None
        name = (
            restore_text(_decode_control_escapes(raw_name))
            if isinstance(raw_name, str)
            else raw_name
        )
        cells = [row[position] if position < len(row) else None for row in body]
        columns[name] = _typed_cell_column(name, cells)
    return pd.DataFrame(columns, index=pd.RangeIndex(len(body)))


# --- Files -------------------------------------------------------------------------------------


def write_export(
    frame: pd.DataFrame,
    path: Path,
    *,
    excel_bom: bool = True,
    sheet_name: str = "scored",
    extra_sheets: Mapping[str, pd.DataFrame] | None = None,
) -> None:
    """Write the list to ``path``: CSV for ``.csv``, Excel for ``.xlsx`` (case-insensitive;
    ``extra_sheets`` go into the workbook only).

    Raises
    ------
    ConfigError
        Any other suffix (the valid ones are listed), or an invalid sheet name.
    DataError
        The file cannot be written (missing folder, no permission, disk full ...).
    """
    suffix = Path(path).suffix.lower()
    if suffix == ".csv":
        data = to_csv_bytes(frame, excel_bom=excel_bom)
    elif suffix == ".xlsx":
        data = to_xlsx_bytes(frame, sheet_name=sheet_name, extra_sheets=extra_sheets)
    else:
        raise ConfigError(
            f"Cannot export to {Path(path).name!r}: the file name must end in one of "
            "['.csv', '.xlsx']."
        )
    try:
        Path(path).write_bytes(data)
    except OSError as error:
        raise DataError(
            f"Could not write the export to {path}: {error.strerror or error}."
        ) from error
