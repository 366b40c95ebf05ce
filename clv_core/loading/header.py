"""The header row and the finished table, the same for every format.

Finds the row of column names below a preamble (a title, an account, an export date) and
quotes the skipped title in a note; checks the header's size and the cells' lengths against the
limits; and finishes what a reader read (:func:`_finish_table`): names the columns (an unnamed
column with data gets a name, an empty unnamed one is dropped), refuses repeated names, drops
empty rows at the end and refuses a table without data rows or over the row limit.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Sequence
from typing import Final

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from clv_core.errors import DataError
from clv_core.limits import LoadLimits, limit_hint
from clv_core.loading.cells import _CELL_WHITESPACE

# Sniffing (a delimiter, whether a row is as wide as the rows below it) looks at this many
# records below a candidate header.
_SNIFF_RECORDS: Final = 100

# Exports often put a title, an account name or a date range above the column names, one value
# to a row. The column names are looked for in this many rows at the top of the file or sheet.
_HEADER_SEARCH_ROWS: Final = 25

# A skipped title is quoted in the note up to this many characters.
_TITLE_NOTE_CHARACTERS: Final = 80

# A delimiter must split at least this share of the sampled data rows into as many fields as
# the header; below it the delimiter is a coincidence (a comma inside a decimal number).
_MIN_CONSISTENT_SHARE: Final = 0.5

_NUMBER_PATTERN: Final = re.compile(
    r"[+-]?[$€£¥]?\s?(?:\d{1,3}(?:[,\s]\d{3})+|\d+)?(?:[.,]\d+)?(?:[eE][+-]?\d+)?%?"
)

_DATE_PATTERN: Final = re.compile(
    r"\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}"
    r"(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?)?(?:\s?(?:Z|[+-]\d{2}:?\d{2}|[AaPp][Mm]))?"
    r"|\d{4}年\d{1,2}月\d{1,2}日.*"
    r"|\d{1,2}:\d{2}(?::\d{2})?"
)


def _finish_table(
    header_cells: Sequence[object],
    frame: pd.DataFrame,
    *,
    where: str,
    header_row: int,
    limits: LoadLimits,
    truncated: bool,
    notes: list[str],
) -> pd.DataFrame:
    """Check the header, name the columns, and drop empty unnamed columns and trailing rows.

    Parameters
    ----------
    header_cells
        The cells of the header row, one per column of ``frame``.
    frame
        The data rows, columns numbered ``0 .. n-1``; data row ``i`` is spreadsheet row
        ``header_row + 1 + i``.
    where
        How messages name the table, e.g. ``"'orders.csv'"``.
    header_row
        The 1-based spreadsheet row of ``header_cells``, for messages.
    limits
        Checked for ``max_rows``.
    truncated
        Whether reading stopped early because there were more than ``max_rows`` rows.
    notes
        Receives one sentence per change.

    Returns
    -------
    pandas.DataFrame
        The data rows with named columns and a ``RangeIndex``.
    """
    names = [_header_text(cell) for cell in header_cells]
    filled_cells = [cell for cell, name in zip(header_cells, names, strict=True) if name]
    _check_header_row(names, filled_cells, frame, where=where, header_row=header_row)
    has_data = [
        bool(name) or bool(frame.iloc[:, position].notna().any())
        for position, name in enumerate(names)
    ]
    unnamed_with_data = [
        position for position, name in enumerate(names) if not name and has_data[position]
    ]
    if len(filled_cells) == 1 and len(unnamed_with_data) >= 2:
        raise DataError(
            f"Row {header_row:,} of {where} has a single filled cell ({filled_cells[0]!r}), "
            "which looks like a title rather than column names, and no row of column names was "
            f"found below it in the first {_HEADER_SEARCH_ROWS} rows (a row with at least two "
            "names, not numbers or dates, as wide as the rows below it, with at most one value "
            "in each row above it). Delete the rows above the column names (or add a row of "
            "column names above the data) and load the file again."
        )
    empty_unnamed = [position for position, name in enumerate(names) if not has_data[position]]
    _name_unnamed_columns(names, unnamed_with_data, notes)
    if empty_unnamed:
        notes.append(_removed_columns_note(empty_unnamed, len(names)))
        kept = [position for position in range(len(names)) if position not in set(empty_unnamed)]
        frame = frame.iloc[:, kept]
        names = [names[position] for position in kept]
    _check_unique(names, where, header_row)
    frame.columns = pd.Index(names)
    frame = _drop_trailing_empty_rows(frame, notes)
    if limits.max_rows is not None and (truncated or len(frame) > limits.max_rows):
        raise _too_many_rows_error(where, limits.max_rows, None if truncated else len(frame))
    if frame.empty:
        raise DataError(
            f"{where[0].upper()}{where[1:]} has column names in row {header_row:,} but no data "
            "rows below them. Check that you chose the right file (or sheet) and that the "
            "export included the data."
        )
    return frame.reset_index(drop=True)


def _check_header_row(
    names: Sequence[str],
    filled_cells: Sequence[object],
    frame: pd.DataFrame,
    *,
    where: str,
    header_row: int,
) -> None:
    """Refuse a header row that is empty or whose values all look like data, not names."""
    # Row 1 is only taken with at most one value when no row below it could hold the column
    # names (see _header_position), so these messages say that the search came up empty.
    if not any(names):
        first_filled = _first_filled_row(frame, header_row)
        hint = (
            f" The first row with values is row {first_filled:,}: delete the rows above the "
            "column names (or add a row of column names above the data) and load the file "
            "again."
            if first_filled is not None
            else ""
        )
        raise DataError(
            f"Row {header_row:,} of {where} is empty, and no row of column names was found in "
            f"the first {_HEADER_SEARCH_ROWS} rows (a row with at least two names, not numbers "
            f"or dates, as wide as the rows below it).{hint}"
        )
    if all(_looks_like_data(cell) for cell in filled_cells):
        example = ", ".join(name for name in names if name)[:100]
        raise DataError(
            f"Row {header_row:,} of {where} looks like data, not column names ({example}). Add "
            "a header row naming the columns (for example customer_id, order_date, amount) and "
            "load the file again."
        )


def _name_unnamed_columns(names: list[str], positions: Sequence[int], notes: list[str]) -> None:
    """Name the unnamed columns at ``positions`` ``column_<n>`` (in place), noting each name.

    A name already taken (ignoring case) gets a suffix: ``column_3_2``.
    """
    taken = {name.casefold() for name in names if name}
    for position in positions:
        new_name = f"column_{position + 1}"
        suffix = 2
        while new_name.casefold() in taken:
            new_name = f"column_{position + 1}_{suffix}"
            suffix += 1
        taken.add(new_name.casefold())
        names[position] = new_name
        notes.append(f"column {_column_label(position)} had no header and was named '{new_name}'")


def _drop_trailing_empty_rows(frame: pd.DataFrame, notes: list[str]) -> pd.DataFrame:
    """``frame`` without the rows at its end that have no value, noting how many."""
    trailing_empty = _count_trailing_empty_rows(frame)
    if trailing_empty:
        frame = frame.iloc[: len(frame) - trailing_empty]
        what = "row at the end was" if trailing_empty == 1 else "rows at the end were"
        notes.append(f"{trailing_empty:,} empty {what} removed")
    return frame


def _header_text(cell: object) -> str:
    """A header cell as a column name: stripped text, whole numbers without '.0', ISO dates."""
    if cell is None:
        return ""
    if isinstance(cell, float):
        if np.isnan(cell):
            return ""
        if cell.is_integer():
            return str(int(cell))
    if isinstance(cell, dt.datetime | dt.date | dt.time):
        return cell.isoformat()
    return str(cell).strip(_CELL_WHITESPACE)


def _looks_like_data(cell: object) -> bool:
    """Whether a header cell is a number or a date rather than a column name."""
    if isinstance(cell, bool | int | float | np.number | dt.datetime | dt.date | dt.time):
        return True
    if isinstance(cell, pd.Timestamp):
        return True
    text = str(cell).strip(_CELL_WHITESPACE)
    return bool(_NUMBER_PATTERN.fullmatch(text) and any(ch.isdigit() for ch in text)) or bool(
        _DATE_PATTERN.fullmatch(text)
    )


def _header_position(
    rows: Sequence[Sequence[object]], fits_rows_below: Callable[[int], bool]
) -> int | None:
    """The index of the row with the column names among the first rows of a table.

    Row 0 is the header when it has at least two filled cells (whether they look like names is
    checked later, as for any header). Otherwise rows with at most one filled cell are taken as
    a preamble (a title, an export date, an account, blank rows), and the header is the first
    row after them, within the first ``_HEADER_SEARCH_ROWS``, with at least two filled cells,
    none of which looks like data (a number or a date), for which ``fits_rows_below(index)``
    holds (its width matches the rows below it).

    Parameters
    ----------
    rows
        The first rows of the table, raw cells (strings for text, native values for sheets).
    fits_rows_below
        Whether the row at an index is as wide as the rows below it.

    Returns
    -------
    int or None
        The 0-based index of the header row; ``None`` when there is no such row, so that the
        caller falls back to row 1 as before, or reports that there is no header.
    """
    for index, row in enumerate(rows[:_HEADER_SEARCH_ROWS]):
        filled = [cell for cell in row if _header_text(cell)]
        if len(filled) < 2:
            continue
        if index == 0:
            return 0
        if any(_looks_like_data(cell) for cell in filled) or not fits_rows_below(index):
            return None
        return index
    return None


def _filled_count(row: Sequence[object]) -> int:
    """How many cells of a row hold a value."""
    return sum(1 for cell in row if _header_text(cell))


def _preamble_title(rows: Sequence[Sequence[object]]) -> str | None:
    """The first value in the preamble rows above the column names (None when all are empty)."""
    for row in rows:
        for cell in row:
            text = " ".join(_header_text(cell).split())
            if text:
                return text
    return None


def _preamble_note(header_row: int, title: str | None) -> str:
    """The note for the rows skipped above the column names, quoting the title if any."""
    if header_row == 2:
        skipped = "row 1 above the column names was skipped"
    else:
        skipped = f"rows 1-{header_row - 1:,} above the column names were skipped"
    if title is None:
        return f"{skipped} (empty)"
    if len(title) > _TITLE_NOTE_CHARACTERS:
        title = title[: _TITLE_NOTE_CHARACTERS - 1].rstrip() + "…"
    return f"{skipped} (title: '{title}')"


def _check_unique(names: Sequence[str], where: str, header_row: int) -> None:
    """Refuse column names that repeat (ignoring case and surrounding spaces), naming them."""
    positions_by_name: dict[str, list[int]] = {}
    for position, name in enumerate(names):
        positions_by_name.setdefault(name.casefold(), []).append(position)
    problems = [
        "'"
        + "', '".join(dict.fromkeys(names[position] for position in positions))
        + "' in columns "
        + _join_words([_column_label(position) for position in positions])
        for positions in positions_by_name.values()
        if len(positions) > 1
    ]
    if problems:
        raise DataError(
            f"Column names in row {header_row:,} of {where} must be unique (ignoring "
            "upper/lower case and surrounding spaces). Rename or delete the repeated columns "
            "and load the file again.",
            problems=problems,
        )


def _removed_columns_note(positions: Sequence[int], column_count: int) -> str:
    """Describe empty unnamed columns that were removed."""
    count = len(positions)
    noun = "column" if count == 1 else "columns"
    labels = _join_words([_column_label(position) for position in positions])
    trailing = list(positions) == list(range(column_count - count, column_count))
    kind = f"empty trailing {noun}" if trailing else f"empty {noun} without a header"
    verb = "was" if count == 1 else "were"
    return f"{count} {kind} {verb} removed ({noun} {labels})"


def _column_label(position: int) -> str:
    """A 0-based column position as '3 (C)': the 1-based number and the spreadsheet letter."""
    letters = ""
    number = position + 1
    while number:
        number, remainder = divmod(number - 1, 26)
        letters = chr(ord("A") + remainder) + letters
    return f"{position + 1} ({letters})"


def _join_words(words: Sequence[str]) -> str:
    """'a', 'a and b', 'a, b and c'."""
    if len(words) <= 1:
        return "".join(words)
    return ", ".join(words[:-1]) + " and " + words[-1]


def _first_filled_row(frame: pd.DataFrame, header_row: int) -> int | None:
    """The spreadsheet row number of the first data row with a value (error path only)."""
    filled = frame.notna().any(axis=1).to_numpy()
    if not filled.any():
        return None
    return int(np.argmax(filled)) + header_row + 1


def _count_trailing_empty_rows(frame: pd.DataFrame) -> int:
    """How many rows at the end of ``frame`` have no value at all.

    Only the tail is inspected, block by block, so a 10-million-row frame costs next to nothing
    when its last row has data.
    """
    end = len(frame)
    block_size = 1024
    while end > 0:
        start = max(0, end - block_size)
        filled = frame.iloc[start:end].notna().any(axis=1).to_numpy()
        if filled.any():
            last_filled = start + int(np.flatnonzero(filled)[-1])
            return len(frame) - last_filled - 1
        end = start
        block_size *= 4
    return len(frame)


def _check_header_size(
    header: Sequence[object], where: str, header_row: int, limits: LoadLimits
) -> None:
    """Refuse a header with more columns, or a longer column name, than the limits allow.

    Checked on the header alone, before the rows are read.
    """
    if limits.max_columns is not None and len(header) > limits.max_columns:
        raise DataError(
            f"Row {header_row:,} of {where} has {len(header):,} columns, more than the "
            f"{limits.max_columns:,} that can be loaded here. Export only the columns you need "
            "(customer id, order date, amount and a few attributes). " + limit_hint("max_columns")
        )
    if limits.max_column_name_chars is None:
        return
    for position, cell in enumerate(header):
        name = _header_text(cell)
        if len(name) > limits.max_column_name_chars:
            raise DataError(
                f"The name of column {_column_label(position)} in row {header_row:,} of {where} "
                f"is {len(name):,} characters long, more than the "
                f"{limits.max_column_name_chars:,} allowed ({name[:40]!r}...). Check that row "
                f"{header_row:,} holds the column names. " + limit_hint("max_column_name_chars")
            )


def _check_cell_lengths(
    columns: Sequence[pa.ChunkedArray],
    header: Sequence[object],
    *,
    where: str,
    first_data_row: int,
    limit: int | None,
) -> None:
    """Refuse the first text cell longer than ``limit`` characters, naming its row and column."""
    if limit is None:
        return
    for position, column in enumerate(columns):
        if not (pa.types.is_string(column.type) or pa.types.is_large_string(column.type)):
            continue
        # A cell has at most as many characters as bytes, and byte lengths cost nothing.
        widest = pc.max(pc.binary_length(column)).as_py()
        if widest is None or widest <= limit:
            continue
        lengths = pc.utf8_length(column)
        longest = pc.max(lengths).as_py()
        if longest is None or longest <= limit:
            continue
        row = int(pc.index(pc.greater(lengths, limit), True).as_py())
        name = _header_text(header[position]) if position < len(header) else ""
        raise DataError(
            f"Row {first_data_row + row:,} of {where} has a value of {longest:,} characters in "
            f"column {name or _column_label(position)!r}, more than the {limit:,} allowed in one "
            "cell (Excel's own limit is 32,767). The file is probably damaged, or a quote "
            "opened in that row is never closed, so the rest of the file became one value. "
            + limit_hint("max_cell_chars")
        )


def _too_many_rows_error(where: str, max_rows: int, row_count: int | None) -> DataError:
    """The message for a table over the row limit (``row_count`` is None when not counted)."""
    counted = (
        f"has {row_count:,} data rows, more than the {max_rows:,} that"
        if row_count is not None
        else f"has more than {max_rows:,} data rows, the most that"
    )
    return DataError(
        f"{where[0].upper()}{where[1:]} {counted} can be loaded here. Filter or aggregate the "
        "file first (for example to one year, or to the customers you need). "
        + limit_hint("max_rows")
    )
