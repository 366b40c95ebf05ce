"""Reading one sheet of an Excel 2007+ workbook (.xlsx, .xlsm), keeping native cell types.

The sheet is chosen by name (case ignored) or position, or is the first; the column names are
row 1 unless a preamble sits above them; rows are cleaned and checked against the column and
cell limits as they are read, and reading stops past the row limit. Damaged, chart-only and
password-protected workbooks are refused with a message.
"""

from __future__ import annotations

import io
import itertools
import zipfile
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Final
from xml.etree.ElementTree import ParseError as XmlParseError

import openpyxl
import pandas as pd
from openpyxl.utils.exceptions import InvalidFileException

from clv_core.errors import DataError
from clv_core.limits import LoadLimits, limit_hint
from clv_core.loading.cells import _clean_cell
from clv_core.loading.header import (
    _HEADER_SEARCH_ROWS,
    _MIN_CONSISTENT_SHARE,
    _SNIFF_RECORDS,
    _check_header_size,
    _column_label,
    _finish_table,
    _header_position,
    _header_text,
    _preamble_note,
    _preamble_title,
)
from clv_core.loading.loaded import LoadedTable
from clv_core.loading.source import _Source


@dataclass(frozen=True, slots=True, kw_only=True)
class _SheetRows:
    """The rows of a worksheet: the column names, the cleaned data rows below them."""

    header_row: int
    header: tuple[object, ...]
    title: str | None
    data_rows: list[tuple[object, ...]]
    truncated: bool


# What openpyxl raises for damaged or unusual workbooks; anything else would be a bug.
_WORKBOOK_ERRORS: Final = (
    InvalidFileException,
    zipfile.BadZipFile,
    KeyError,
    ValueError,
    OSError,
    EOFError,
    XmlParseError,
    zlib.error,
    # openpyxl's own classes raise these for misspelt or missing XML parts.
    TypeError,
    IndexError,
    AttributeError,
    # Zip members compressed or encrypted in ways Python's zip reader does not support.
    NotImplementedError,
    RuntimeError,
)


def _load_workbook(
    source: _Source, *, sheet: str | int | None, limits: LoadLimits, notes: list[str]
) -> LoadedTable:
    """Read one sheet of an Excel 2007+ workbook, keeping native cell types."""
    try:
        workbook = openpyxl.load_workbook(
            str(source.path) if source.path is not None else io.BytesIO(source.data or b""),
            read_only=True,
            data_only=True,
        )
    except _WORKBOOK_ERRORS as error:
        raise _damaged_workbook_error(source) from error
    try:
        sheet_name = _choose_sheet(list(workbook.sheetnames), sheet, source.name)
        worksheet = workbook[sheet_name]
        if not hasattr(worksheet, "iter_rows"):
            raise DataError(
                f"Sheet '{sheet_name}' of '{source.name}' is a chart, not a table. Choose a "
                f"sheet with data: {_list_names(workbook.sheetnames)}."
            )
        if hasattr(worksheet, "reset_dimensions"):
            # Some writers store a wrong used range (e.g. A1:A1); without this the read-only
            # reader would cut the sheet to it.
            worksheet.reset_dimensions()
        sheet_rows = _read_sheet_rows(
            worksheet.iter_rows(values_only=True),
            limits=limits,
            where=f"sheet '{sheet_name}' of '{source.name}'",
        )
    except _WORKBOOK_ERRORS as error:
        raise _damaged_workbook_error(source) from error
    finally:
        workbook.close()
    where = f"sheet '{sheet_name}' of '{source.name}'"
    if sheet_rows is None:
        raise DataError(f"The {where} is empty. Choose the sheet that contains the table.")
    header, rows = sheet_rows.header, sheet_rows.data_rows
    width = max([len(header), *(len(row) for row in rows)])
    frame = pd.DataFrame.from_records(
        [row + (None,) * (width - len(row)) for row in rows], columns=range(width)
    )
    header_cells = list(header) + [None] * (width - len(header))
    if sheet_rows.header_row > 1:
        notes.append(_preamble_note(sheet_rows.header_row, sheet_rows.title))
    frame = _finish_table(
        header_cells,
        frame,
        where=where,
        header_row=sheet_rows.header_row,
        limits=limits,
        truncated=sheet_rows.truncated,
        notes=notes,
    )
    return LoadedTable(
        frame=frame,
        source_name=source.name,
        file_format="xlsx",
        encoding=None,
        delimiter=None,
        sheet_name=sheet_name,
        notes=tuple(notes),
        header_row=sheet_rows.header_row,
    )


def _choose_sheet(sheet_names: list[str], sheet: str | int | None, source_name: str) -> str:
    """The sheet to read: the first, one by name (case ignored) or one by 0-based position."""
    if not sheet_names:
        raise DataError(f"'{source_name}' has no sheets.")
    if sheet is None:
        return sheet_names[0]
    if isinstance(sheet, int) and not isinstance(sheet, bool):
        if sheet < len(sheet_names):
            return sheet_names[sheet]
        raise DataError(
            f"'{source_name}' has {len(sheet_names)} sheet(s), so there is no sheet at position "
            f"{sheet} (positions start at 0). The sheets are: {_list_names(sheet_names)}."
        )
    if sheet in sheet_names:
        return sheet
    wanted = str(sheet).strip().casefold()
    for name in sheet_names:
        if name.strip().casefold() == wanted:
            return name
    raise DataError(
        f"'{source_name}' has no sheet named '{sheet}'. The sheets are: "
        f"{_list_names(sheet_names)}. Choose one of them."
    )


def _read_sheet_rows(
    rows: Iterator[tuple[object, ...]], *, limits: LoadLimits, where: str
) -> _SheetRows | None:
    """The header row, the cleaned data rows below it, and whether reading stopped early.

    The header is row 1 unless a preamble of rows with at most one value each (a title, an
    export date) sits above the column names (see :func:`_header_position`); only the first
    rows are held back to decide. Reading stops after ``max_rows`` filled data rows. ``None``
    for a sheet without rows.
    """
    head = [tuple(row) for row in itertools.islice(rows, _HEADER_SEARCH_ROWS + _SNIFF_RECORDS)]
    if not head:
        return None
    header_index = _header_position(head, lambda index: _fits_sheet_rows_below(head, index))
    if header_index is None:
        # Without a recognisable header below a preamble row 1 is the header, as it always
        # was; the header check then says what is wrong with it.
        header_index = 0
    _check_header_size(
        head[header_index][: _filled_width(head[header_index])], where, header_index + 1, limits
    )
    max_rows, max_columns, max_cell = limits.max_rows, limits.max_columns, limits.max_cell_chars
    data_rows: list[tuple[object, ...]] = []
    truncated = False
    for index, row in enumerate(itertools.chain(head[header_index + 1 :], rows)):
        cleaned = tuple(_clean_cell(value) for value in row)
        if max_columns is not None and len(cleaned) > max_columns:
            cleaned = _within_columns(cleaned, max_columns, where, header_index + 2 + index)
        if max_cell is not None:
            _check_sheet_cells(cleaned, max_cell, where, header_index + 2 + index)
        data_rows.append(cleaned)
        # Only a filled row counts against the limit: Excel often stores formatted empty rows
        # below the table, and those are dropped later.
        if max_rows is not None and index >= max_rows and any(v is not None for v in cleaned):
            truncated = True
            break
    return _SheetRows(
        header_row=header_index + 1,
        header=head[header_index],
        title=_preamble_title(head[:header_index]),
        data_rows=data_rows,
        truncated=truncated,
    )


def _within_columns(
    row: tuple[object, ...], max_columns: int, where: str, row_number: int
) -> tuple[object, ...]:
    """A sheet row cut to ``max_columns`` cells; refused when a value lies beyond them.

    Empty formatted cells far to the right are common in workbooks and are dropped.
    """
    width = _filled_width(row)
    if width > max_columns:
        raise DataError(
            f"Row {row_number:,} of the {where} has a value in column {_column_label(width - 1)}, "
            f"beyond the {max_columns:,} columns that can be loaded here. Delete what is to "
            "the right of the table, or save only the columns you need. "
            + limit_hint("max_columns")
        )
    return row[:max_columns]


def _check_sheet_cells(row: tuple[object, ...], limit: int, where: str, row_number: int) -> None:
    """Refuse a text cell longer than ``limit`` characters."""
    for position, value in enumerate(row):
        if isinstance(value, str) and len(value) > limit:
            raise DataError(
                f"Row {row_number:,} of the {where} has a value of {len(value):,} characters in "
                f"column {_column_label(position)}, more than the {limit:,} allowed in one "
                "cell. " + limit_hint("max_cell_chars")
            )


def _fits_sheet_rows_below(rows: Sequence[Sequence[object]], header_index: int) -> bool:
    """Whether most filled rows below a candidate header end within its last named column.

    Data rows may leave trailing cells empty, so a row narrower than the header fits; a row
    reaching past it means the candidate is a label-and-value line (``Shop:``, ``Main``) of
    the preamble rather than the column names.
    """
    header_width = _filled_width(rows[header_index])
    widths = [
        width
        for row in rows[header_index + 1 : header_index + _SNIFF_RECORDS]
        if (width := _filled_width(row))
    ]
    if not widths:
        return True
    return sum(width <= header_width for width in widths) / len(widths) >= _MIN_CONSISTENT_SHARE


def _filled_width(row: Sequence[object]) -> int:
    """One plus the position of the last filled cell of a row; 0 for an empty row."""
    for position in range(len(row) - 1, -1, -1):
        if _header_text(row[position]):
            return position + 1
    return 0


def _damaged_workbook_error(source: _Source) -> DataError:
    """The message for a workbook that openpyxl cannot read."""
    return DataError(
        f"'{source.name}' could not be opened as an Excel workbook; it may be damaged, "
        "incomplete or password-protected. Open it in Excel and save it again as .xlsx (or as "
        "CSV UTF-8), then load that file."
    )


def _list_names(names: Sequence[str]) -> str:
    """Names quoted and separated by commas, for messages."""
    return ", ".join(f"'{name}'" for name in names)
