"""Reading a user's table file (delimited text, Excel workbook or Parquet) into a DataFrame.

The loader only *reads*: it decides the file format, the text encoding and the delimiter,
finds and checks the header row and hands back every value as it was written. Text formats keep
every cell as a string, so an id such as ``00001`` keeps its zeros and dates stay text; parsing
dates and amounts is the validation step's job, which counts and reports what fails. Workbooks
and Parquet files keep their native cell types. Whatever the loader changes (title rows skipped
above the column names, a renamed or removed column, empty rows dropped at the end of the file)
is described in :attr:`LoadedTable.notes`.

Every problem a user's file can cause is raised as a :class:`~clv_core.errors.DataError` whose
message says what is wrong, where, and what to do; no pandas, pyarrow or openpyxl exception
escapes for a bad file.

:func:`load_table` (below) is where an upload is read: it decides the container from the file's
first bytes and hands the file to the reader for its format. The modules, by job:

* :mod:`~clv_core.loading.source`: where the bytes come from, the container, refusing binaries
  and archives that are not workbooks (:func:`check_archive_sizes`);
* :mod:`~clv_core.loading.text`: delimited text (csv, tsv, txt, gzip-compressed too), with
  :mod:`~clv_core.loading.encoding` (the text encoding) and :mod:`~clv_core.loading.layout`
  (the delimiter and the line of the column names);
* :mod:`~clv_core.loading.workbook`: one sheet of an Excel workbook;
* :mod:`~clv_core.loading.parquet`: Parquet files;
* :mod:`~clv_core.loading.header`: the header row and the finished table, for every format;
* :mod:`~clv_core.loading.cells`: cleaning cell values (whitespace, missing markers);
* :mod:`~clv_core.loading.loaded`: :class:`LoadedTable`, what every reader returns.
"""

from __future__ import annotations

import os
from typing import Final

from clv_core.errors import ConfigError, DataError
from clv_core.limits import LoadLimits, format_bytes, limit_hint
from clv_core.loading.loaded import FileFormat as FileFormat
from clv_core.loading.loaded import LoadedTable
from clv_core.loading.parquet import _load_parquet
from clv_core.loading.source import (
    _PARQUET_EXTENSIONS,
    _SAMPLE_BYTES,
    _WORKBOOK_EXTENSIONS,
    _detect_container,
    _resolve_source,
    check_archive_sizes,
)
from clv_core.loading.text import _load_delimited

__all__ = ["LoadLimits", "LoadedTable", "check_archive_sizes", "load_table"]

DEFAULT_LIMITS: Final = LoadLimits()


def load_table(
    source: str | os.PathLike[str] | bytes,
    *,
    file_name: str | None = None,
    sheet: str | int | None = None,
    limits: LoadLimits = DEFAULT_LIMITS,
) -> LoadedTable:
    """Read a table file into a DataFrame, detecting its format, encoding and delimiter.

    The format is decided by the file's first bytes (zip => Excel workbook, ``PAR1`` =>
    Parquet, gzip => compressed text, otherwise text) and its extension second. Text is decoded
    with the detected encoding (byte-order mark, then strict UTF-8, then statistical detection)
    and split by the sniffed delimiter; every text cell is kept as a string with surrounding
    whitespace removed and the usual missing markers (``""``, ``NA``, ``N/A``, ``NULL``,
    ``null``, ``None``, ``nan``, ``NaN``, ``#N/A``) turned into missing values.

    The column names are normally in row 1. Exports that put a preamble above them (a report
    title, ``Shop: Main store``, an Alipay bill's account and date range, blank rows) load too:
    when row 1 holds at most one value, the column names are the first row among the first 25
    with at least two values, none of which looks like a number or a date, and about as wide
    as the rows below it; every row above it holds at most one value. Those rows are skipped
    with a note quoting the title.

    Parameters
    ----------
    source
        A path to the file, or the raw bytes of an uploaded file.
    file_name
        The name to show in messages and to read the extension from. Needed for uploads;
        for paths it defaults to the path's file name.
    sheet
        The workbook sheet to read, by name or 0-based position; the first sheet when
        ``None``. Ignored (with a note) for other formats.
    limits
        Size limits (:class:`~clv_core.limits.LoadLimits`); the defaults load an honest
        10-million-row log and refuse decompression bombs, huge headers and cells.

    Returns
    -------
    LoadedTable
        The data rows (one column per header cell; data row ``i`` is spreadsheet row
        ``first_data_row + i``), the row of the column names, what was detected, and notes on
        what was changed.

    Raises
    ------
    DataError
        When the file cannot be used as a table: missing, empty, binary or of an unsupported
        format, undecodable text, a single column, no header row (or none in the first 25 rows
        below a title), duplicate column names, rows with more or fewer fields than the header,
        no data rows, or over a limit.
    ConfigError
        When ``sheet`` names a sheet by a negative position.
    """
    resolved = _resolve_source(source, file_name, limits)
    if resolved.size == 0:
        raise DataError(
            f"'{resolved.name}' is empty (0 bytes). Choose the file that contains the table, "
            "or export it again."
        )
    if limits.max_bytes is not None and resolved.size > limits.max_bytes:
        raise DataError(
            f"'{resolved.name}' is {format_bytes(resolved.size)}, larger than the "
            f"{format_bytes(limits.max_bytes)} limit here. Load a filtered extract (fewer "
            "rows, for example one year, or only the id, date and amount columns). "
            + limit_hint("max_bytes")
        )
    if isinstance(sheet, int) and not isinstance(sheet, bool) and sheet < 0:
        raise ConfigError(f"sheet must be a sheet name or a position 0, 1, 2, ...; got {sheet}.")
    head = resolved.read_head(_SAMPLE_BYTES)
    container = _detect_container(head, resolved)
    notes: list[str] = []
    if container != "xlsx" and sheet is not None:
        notes.append(f"the sheet option ({sheet!r}) was ignored because the file is not a workbook")
    if container == "xlsx":
        if resolved.extension not in _WORKBOOK_EXTENSIONS:
            notes.append(f"'{resolved.name}' is an Excel workbook and was read as one")
        from clv_core.loading.workbook import _load_workbook

        return _load_workbook(resolved, sheet=sheet, limits=limits, notes=notes)
    if container == "parquet":
        if resolved.extension not in _PARQUET_EXTENSIONS:
            notes.append(f"'{resolved.name}' is a Parquet file and was read as one")
        return _load_parquet(resolved, limits=limits, notes=notes)
    if resolved.inner_extension in _WORKBOOK_EXTENSIONS + _PARQUET_EXTENSIONS:
        notes.append(
            f"'{resolved.name}' is named like a {resolved.inner_extension} file but contains "
            "delimited text, so it was read as text"
        )
    return _load_delimited(
        resolved, head=head, compressed=container == "gzip", limits=limits, notes=notes
    )
