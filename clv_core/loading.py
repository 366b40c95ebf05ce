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
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import itertools
import os
import re
import zipfile
import zlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Final, Literal
from xml.etree.ElementTree import ParseError as XmlParseError

import charset_normalizer
import numpy as np
import openpyxl
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from openpyxl.utils.exceptions import InvalidFileException

from clv_core.errors import ConfigError, DataError
from clv_core.limits import (
    ZIP_ERRORS,
    InflateBudget,
    LoadLimits,
    check_ratio,
    format_bytes,
    limit_hint,
    short_error,
    verify_zip_members,
)

__all__ = ["LoadLimits", "LoadedTable", "check_archive_sizes", "load_table"]

FileFormat = Literal["csv", "xlsx", "parquet"]
DEFAULT_LIMITS: Final = LoadLimits()

# Detection looks at the first megabyte only, so a 400 MB file costs the same to sniff as a
# 4 KB one.
_SAMPLE_BYTES: Final = 1 << 20
_BINARY_PROBE_BYTES: Final = 1024
_SNIFF_RECORDS: Final = 100
# Exports often put a title, an account name or a date range above the column names, one value
# to a row. The column names are looked for in this many rows at the top of the file or sheet.
_HEADER_SEARCH_ROWS: Final = 25
# A skipped title is quoted in the note up to this many characters.
_TITLE_NOTE_CHARACTERS: Final = 80
# A delimiter must split at least this share of the sampled data rows into as many fields as
# the header; below it the delimiter is a coincidence (a comma inside a decimal number).
_MIN_CONSISTENT_SHARE: Final = 0.5
# When the row count is estimated to be below this share of ``max_rows`` the file is read in
# one go (multi-threaded) and counted afterwards; above it, it is streamed so that reading
# stops as soon as the limit is passed.
_STREAM_ABOVE_LIMIT_SHARE: Final = 0.5
# pyarrow reads text in blocks of this size; one row must fit in a block.
_ARROW_BLOCK_BYTES: Final = 4 << 20

_MISSING_MARKERS: Final = ("", "NA", "N/A", "NULL", "null", "None", "nan", "NaN", "#N/A")
# Excel and Chinese input methods leave non-breaking and ideographic spaces around values.
_CELL_WHITESPACE: Final = " \t\r\n\v\f\u00a0\u2007\u202f\u3000\ufeff"
_DELIMITERS: Final = ((",", "comma"), (";", "semicolon"), ("\t", "tab"), ("|", "pipe"))
_WHITESPACE_DELIMITER: Final = "whitespace"

_ZIP_MAGICS: Final = (b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08")
_PARQUET_MAGIC: Final = b"PAR1"
_GZIP_MAGIC: Final = b"\x1f\x8b"
_OLE2_MAGIC: Final = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_UNICODE_BOMS: Final = (
    codecs.BOM_UTF8,
    codecs.BOM_UTF32_LE,
    codecs.BOM_UTF32_BE,
    codecs.BOM_UTF16_LE,
    codecs.BOM_UTF16_BE,
)
_BINARY_SIGNATURES: Final = (
    (b"%PDF", "a PDF document"),
    (b"\x89PNG", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
    (b"BZh", "a bzip2-compressed file"),
    (b"\xfd7zXZ\x00", "an xz-compressed file"),
    (b"\x28\xb5\x2f\xfd", "a zstd-compressed file"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive"),
    (b"Rar!\x1a\x07", "a RAR archive"),
    (b"SQLite format 3\x00", "an SQLite database"),
    (b"PK\x03\x04", "a zip archive"),
    (b"PAR1", "a Parquet file"),
    (b"\x1f\x8b", "a gzip file"),
    (_OLE2_MAGIC, "an old Office binary file"),
)
_SUPPORTED_FORMATS: Final = (
    "Supported formats: delimited text (.csv, .tsv, .txt, .dat; also gzip-compressed, e.g. "
    ".csv.gz), Excel workbooks (.xlsx, .xlsm) and Parquet (.parquet)."
)
_WORKBOOK_EXTENSIONS: Final = (".xlsx", ".xlsm", ".xls", ".xlsb", ".ods")
_PARQUET_EXTENSIONS: Final = (".parquet", ".pq")
# charset-normalizer often ranks a Central European or Nordic code page first for Western
# European text (the byte statistics of 'é', 'ü', 'ç' are similar), and then 'ø' or 'ñ' come
# out as 'ř' or 'ń'. Windows-1252 is by far the most common legacy encoding of spreadsheet
# exports, so it wins whenever the detector's choice is one of these look-alikes and
# Windows-1252 decodes the sample.
_CP1252_LOOKALIKES: Final = frozenset(
    {
        "cp1250",
        "cp1257",
        "cp437",
        "cp775",
        "cp850",
        "cp858",
        "iso8859-1",
        "iso8859-2",
        "iso8859-3",
        "iso8859-4",
        "iso8859-10",
        "iso8859-13",
        "iso8859-14",
        "iso8859-15",
        "iso8859-16",
        "mac-latin2",
        "mac-roman",
    }
)
# GB18030 is a superset of GB2312 and GBK (cp936); decoding with it never loses a character
# that a narrower guess would have read.
_GB_FAMILY: Final = frozenset({"gb2312", "gbk", "cp936"})

_NUMBER_PATTERN: Final = re.compile(
    r"[+-]?[$€£¥]?\s?(?:\d{1,3}(?:[,\s]\d{3})+|\d+)?(?:[.,]\d+)?(?:[eE][+-]?\d+)?%?"
)
_DATE_PATTERN: Final = re.compile(
    r"\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}"
    r"(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?)?(?:\s?(?:Z|[+-]\d{2}:?\d{2}|[AaPp][Mm]))?"
    r"|\d{4}年\d{1,2}月\d{1,2}日.*"
    r"|\d{1,2}:\d{2}(?::\d{2})?"
)
_PANDAS_RAGGED_PATTERN: Final = re.compile(r"Expected (\d+) fields in line (\d+), saw (\d+)")

# Engine choice for delimited text, measured on a generated 2,000,000-row, 85 MB CSV of
# (order_id, customer_id, order_date 'YYYY-MM-DD HH:MM:SS', amount) on a 2-core box, every
# column read as strings (wall time, peak resident memory of the process, ~130 MB of which
# is the imported libraries):
#   pandas C engine, dtype=str ............... 1.50 s, 456 MB
#   pandas C engine, dtype=object ............ 1.42 s, 697 MB
#   pandas engine="pyarrow", dtype=str ....... 0.11 s, 343 MB
#   pyarrow.csv.read_csv, all string ......... 0.13 s, 383 MB  (+0.02 s whitespace check)
#   pyarrow.csv.open_csv (streaming) ......... 0.51 s, 371 MB
# pyarrow.csv is used directly (rather than through pandas) because it is as fast as
# engine="pyarrow" and exposes what the loader needs: the invalid-row callback that names the
# offending row, the streaming reader that stops at ``max_rows``, and strict UTF-8 checking.
# The pandas C engine remains for whitespace-separated files (pyarrow has no "runs of
# whitespace" delimiter); those are small fixed-width exports such as CDNOW.
# load_table as a whole, same box: the 2M-row file in 0.22-0.30 s (425 MB peak); a 10M-row,
# 430 MB file in 1.2-1.5 s (1.3 GB peak, ~430 MB of it the memory-mapped file's clean pages;
# the frame itself is 680 MB), or 1.3-2.0 s when max_rows makes it stream.


# eq=False: the generated __eq__ would compare DataFrames element-wise and fail; a loaded table
# is compared by identity (tests compare the frames themselves).
@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class LoadedTable:
    """A table read from a user's file, with what was detected and what was changed.

    Attributes
    ----------
    frame
        The data rows with a ``RangeIndex``: data row ``i`` is spreadsheet row
        ``first_data_row + i`` (the row below the column names; row 2 unless title rows were
        skipped). Text formats hold strings (missing cells are NaN); workbooks and Parquet
        files keep their native types.
    source_name
        The file name shown in messages.
    file_format
        ``"csv"`` for any delimited text (csv/tsv/txt, gzip-compressed too), ``"xlsx"`` or
        ``"parquet"``.
    encoding
        The detected text encoding (for example ``"utf-8"``, ``"utf-8-sig"``, ``"gb18030"``,
        ``"utf-16"``, ``"cp1252"``); ``None`` for workbooks and Parquet files.
    delimiter
        ``","``, ``";"``, ``"\\t"``, ``"|"`` or ``"whitespace"``; ``None`` for workbooks and
        Parquet files.
    sheet_name
        The sheet that was read (workbooks only).
    notes
        What the loader changed, one sentence each, to show to the analyst.
    header_row
        The 1-based spreadsheet row (for text: line) that holds the column names; above 1 when
        title rows were skipped. Always 1 for Parquet files.
    """

    frame: pd.DataFrame
    source_name: str
    file_format: FileFormat
    encoding: str | None
    delimiter: str | None
    sheet_name: str | None
    notes: tuple[str, ...]
    header_row: int = 1

    @property
    def n_rows(self) -> int:
        """The number of data rows (the header row is not counted)."""
        return len(self.frame)

    @property
    def first_data_row(self) -> int:
        """The spreadsheet row of data row 0, the row below the column names."""
        return self.header_row + 1


@dataclass(frozen=True, slots=True, kw_only=True)
class _Source:
    """Where the bytes come from: a file on disk or an upload held in memory."""

    name: str
    path: Path | None
    data: bytes | None
    size: int
    limits: LoadLimits

    @property
    def extension(self) -> str:
        """The last suffix of the file name in lower case, e.g. ``".gz"``; ``""`` when none."""
        return Path(self.name).suffix.lower()

    @property
    def inner_extension(self) -> str:
        """The suffix before a ``.gz``, e.g. ``".csv"`` for ``orders.csv.gz``."""
        suffixes = [suffix.lower() for suffix in Path(self.name).suffixes]
        if len(suffixes) >= 2 and suffixes[-1] == ".gz":
            return suffixes[-2]
        return self.extension

    def open_binary(self) -> IO[bytes]:
        """Open the raw bytes for reading from the start."""
        if self.path is not None:
            return self.path.open("rb")
        return io.BytesIO(self.data or b"")

    def open_arrow(self) -> pa.NativeFile:
        """Open the raw bytes as an Arrow file (memory-mapped from disk, zero-copy in memory)."""
        if self.path is not None:
            return pa.memory_map(str(self.path), "r")
        return pa.BufferReader(self.data or b"")

    def inflate(self) -> InflateBudget:
        """The decompressed bytes of a gzip file, refused past the inflation limits."""
        return InflateBudget(self.open_binary(), limits=self.limits, source_name=self.name)

    def read_head(self, size: int) -> bytes:
        """The first ``size`` bytes (fewer when the file is shorter)."""
        if self.data is not None:
            return self.data[:size]
        with self.open_binary() as handle:
            return handle.read(size)


@dataclass(frozen=True, slots=True, kw_only=True)
class _TextLayout:
    """How a delimited text file is laid out, as sniffed from its first records.

    ``header_row`` is the 1-based line of the column names; the ``header_row - 1`` lines above
    it are a preamble (a title, an account name, blank lines) that is skipped, and ``title`` is
    its first value.
    """

    delimiter: str
    header: tuple[str, ...]
    header_row: int = 1
    title: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class _SheetRows:
    """The rows of a worksheet: the column names, the cleaned data rows below them."""

    header_row: int
    header: tuple[object, ...]
    title: str | None
    data_rows: list[tuple[object, ...]]
    truncated: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class _TextSample:
    """The decoded start of a text file."""

    raw: bytes
    text: str
    complete: bool
    encoding: str


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


# --- source and format -------------------------------------------------------------------


def _resolve_source(
    source: str | os.PathLike[str] | bytes, file_name: str | None, limits: LoadLimits
) -> _Source:
    """Describe where the bytes come from and how big they are."""
    if isinstance(source, bytes | bytearray | memoryview):
        data = bytes(source)
        return _Source(
            name=file_name or "uploaded file", path=None, data=data, size=len(data), limits=limits
        )
    if not isinstance(source, str | os.PathLike):
        raise TypeError(f"source must be a path or bytes, got {type(source).__name__}")
    path = Path(os.fspath(source))
    name = file_name or path.name or str(path)
    try:
        if path.is_dir():
            raise DataError(f"'{path}' is a folder, not a file. Choose the table file inside it.")
        size = path.stat().st_size
    except FileNotFoundError as error:
        raise DataError(f"File not found: '{path}'. Check the path and the file name.") from error
    except PermissionError as error:
        raise DataError(
            f"'{path}' cannot be read (permission denied). Copy it somewhere readable or ask "
            "its owner for access."
        ) from error
    return _Source(name=name, path=path, data=None, size=size, limits=limits)


def _detect_container(head: bytes, source: _Source) -> Literal["xlsx", "parquet", "gzip", "text"]:
    """Decide the format from the file's first bytes; refuse what is not a table."""
    if head.startswith(_ZIP_MAGICS):
        _check_workbook_archive(source)
        return "xlsx"
    if head.startswith(_PARQUET_MAGIC):
        return "parquet"
    if head.startswith(_GZIP_MAGIC):
        return "gzip"
    if head.startswith(_OLE2_MAGIC):
        raise DataError(
            f"'{source.name}' is an old binary Excel file (.xls) or a password-protected "
            "workbook, which cannot be read here. Open it in Excel and save it as .xlsx "
            "(Excel Workbook) or as CSV UTF-8, without a password, then load that file."
        )
    _reject_binary(head, source, inside_gzip=False)
    return "text"


def _check_workbook_archive(source: _Source) -> None:
    """Refuse zip archives that are not Excel 2007+ workbooks, saying what they are."""
    try:
        with source.open_binary() as handle, zipfile.ZipFile(handle) as archive:
            entries = archive.infolist()
    except ZIP_ERRORS as error:
        raise DataError(
            f"'{source.name}' looks like a zip or Excel file but is damaged or incomplete. "
            "Download or export it again."
        ) from error
    members = {entry.filename for entry in entries}
    if "xl/workbook.xml" in members:
        check_archive_sizes(entries, f"'{source.name}'", source.limits)
        try:
            with source.open_binary() as handle, zipfile.ZipFile(handle) as archive:
                verify_zip_members(archive, f"'{source.name}'")
        except ZIP_ERRORS as error:
            raise DataError(
                f"'{source.name}' looks like an Excel file but is damaged or incomplete "
                f"({short_error(error)}). Download or export it again."
            ) from error
        return
    if "xl/workbook.bin" in members:
        raise DataError(
            f"'{source.name}' is an Excel binary workbook (.xlsb), which cannot be read here. "
            "Open it in Excel and save it as .xlsx or CSV UTF-8."
        )
    if "content.xml" in members and "mimetype" in members:
        raise DataError(
            f"'{source.name}' is an OpenDocument file (LibreOffice/OpenOffice), which cannot be "
            "read here. Save it as .xlsx or CSV UTF-8."
        )
    tables = sorted(member for member in members if member.lower().endswith((".csv", ".txt")))
    if tables:
        raise DataError(
            f"'{source.name}' is a zip archive, not a table. Extract the table from it first "
            f"(it contains {', '.join(tables[:3])}) and load that file."
        )
    raise DataError(
        f"'{source.name}' is a zip archive that is not an Excel workbook, so it is not a table. "
        + _SUPPORTED_FORMATS
    )


# Excel itself never writes more parts than this; a zip with more is not a workbook.
_MAX_ARCHIVE_MEMBERS: Final = 10_000


def check_archive_sizes(entries: Sequence[zipfile.ZipInfo], where: str, limits: LoadLimits) -> None:
    """Refuse a zip whose directory declares more than the limits allow, before inflating.

    Python's zip reader never inflates a member past the size its directory declares (a
    member that would is reported as damaged), so checking the declared sizes bounds what
    reading can expand to: in total (``max_inflated_bytes``) and per member
    (``max_compression_ratio`` for members above 64 MiB).
    """
    if len(entries) > _MAX_ARCHIVE_MEMBERS:
        raise DataError(
            f"{where} is a zip archive of {len(entries):,} files, more than a workbook ever "
            f"holds ({_MAX_ARCHIVE_MEMBERS:,}). Open it in Excel and save it again as .xlsx, or "
            "save the table as CSV UTF-8."
        )
    total = sum(entry.file_size for entry in entries)
    if limits.max_inflated_bytes is not None and total > limits.max_inflated_bytes:
        raise DataError(
            f"{where} expands to {format_bytes(total)} when decompressed, more than the "
            f"{format_bytes(limits.max_inflated_bytes)} limit here (nothing was decompressed). "
            "Save a smaller extract, or the table as CSV. " + limit_hint("max_inflated_bytes")
        )
    if limits.max_compression_ratio is None:
        return
    for entry in entries:
        check_ratio(
            f"'{entry.filename}' in {where}",
            entry.file_size,
            entry.compress_size,
            limits,
            what="by its archive's directory; nothing was decompressed",
        )


def _reject_binary(head: bytes, source: _Source, *, inside_gzip: bool) -> None:
    """Refuse content that is clearly not text (known signatures, NUL bytes without a BOM)."""
    container = "The gzip file" if inside_gzip else f"'{source.name}'"
    for signature, description in _BINARY_SIGNATURES:
        if head.startswith(signature) and (signature != b"BZh" or head[4:10] == b"1AY&SY"):
            raise DataError(f"{container} is {description}, not a table. {_SUPPORTED_FORMATS}")
    has_unicode_bom = head.startswith(_UNICODE_BOMS)
    if not has_unicode_bom and b"\x00" in head[:_BINARY_PROBE_BYTES]:
        raise DataError(
            f"{container} contains binary data, not a table (text without a byte-order mark "
            f"has no NUL bytes). {_SUPPORTED_FORMATS}"
        )


# --- delimited text ----------------------------------------------------------------------


def _load_delimited(
    source: _Source, *, head: bytes, compressed: bool, limits: LoadLimits, notes: list[str]
) -> LoadedTable:
    """Read delimited text (optionally gzip-compressed) with every cell as a string."""
    sample = _read_text_sample(source, head=head, compressed=compressed)
    _check_first_line_fields(sample.text, source.name)
    layout = _sniff_layout(sample.text, source.name)
    _check_header_size(layout.header, f"'{source.name}'", layout.header_row, limits)
    stream = limits.max_rows is not None and _should_stream(
        sample, source, compressed=compressed, max_rows=limits.max_rows
    )
    encoding = sample.encoding
    if layout.header_row > 1:
        notes.append(_preamble_note(layout.header_row, layout.title))
    if layout.delimiter == _WHITESPACE_DELIMITER:
        frame, truncated = _read_whitespace_separated(
            source,
            encoding=encoding,
            compressed=compressed,
            max_rows=limits.max_rows,
            skip_lines=layout.header_row - 1,
        )
    else:
        frame, truncated = _read_with_arrow(
            source,
            layout=layout,
            encoding=encoding,
            compressed=compressed,
            stop_after_rows=limits.max_rows if stream else None,
        )
    if frame.shape[1] != len(layout.header):
        raise DataError(
            f"The header of '{source.name}' could not be read consistently ({len(layout.header)} "
            f"fields in the column names in line {layout.header_row}, {frame.shape[1]} columns "
            "in the table). Check the quotes in that line, save the file again as CSV and load "
            "it again."
        )
    frame = _finish_table(
        layout.header,
        frame,
        where=f"'{source.name}'",
        header_row=layout.header_row,
        limits=limits,
        truncated=truncated,
        notes=notes,
    )
    return LoadedTable(
        frame=frame,
        source_name=source.name,
        file_format="csv",
        encoding=encoding,
        delimiter=layout.delimiter,
        sheet_name=None,
        notes=tuple(notes),
        header_row=layout.header_row,
    )


def _read_text_sample(source: _Source, *, head: bytes, compressed: bool) -> _TextSample:
    """Decode the start of the file with the detected encoding."""
    if compressed:
        try:
            with source.inflate() as unzipped:
                raw = unzipped.read(_SAMPLE_BYTES)
                complete = unzipped.read(1) == b""
        except (OSError, EOFError, zlib.error) as error:
            raise _damaged_gzip_error(source) from error
        if not raw:
            raise DataError(f"'{source.name}' is a gzip file that contains an empty file.")
        _reject_binary(raw, source, inside_gzip=True)
    else:
        raw = head
        complete = len(head) >= source.size
    encoding = _detect_encoding(raw, complete=complete, source_name=source.name)
    decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
    try:
        text = decoder.decode(raw, final=complete)
    except UnicodeDecodeError as error:
        raise _undecodable_error(
            source,
            encoding=encoding,
            position=error.start,
            line=raw[: error.start].count(b"\n") + 1,
            bad_bytes=error.object[error.start : error.end],
        ) from error
    if not complete:
        # Drop the last, probably cut, line so that sniffing sees whole records only.
        last_line_break = max(text.rfind("\n"), text.rfind("\r"))
        if last_line_break < 0:
            raise DataError(
                f"The first line of '{source.name}' is longer than "
                f"{format_bytes(_SAMPLE_BYTES)}, so it is not a table. {_SUPPORTED_FORMATS}"
            )
        text = text[: last_line_break + 1]
    if not text.strip(_CELL_WHITESPACE):
        raise DataError(
            f"'{source.name}' contains only blank space, no table. Choose the file that "
            "contains the table, or export it again."
        )
    opening = text.lstrip(_CELL_WHITESPACE)[:200].lower()
    if opening.startswith(("<!doctype html", "<html", "<table", "<?xml", "<workbook")):
        raise DataError(
            f"'{source.name}' is an HTML or XML document, not a delimited table (some systems "
            "export web pages named .xls). Open it in Excel and save it as .xlsx or CSV UTF-8."
        )
    return _TextSample(raw=raw, text=text, complete=complete, encoding=encoding)


def _detect_encoding(sample: bytes, *, complete: bool, source_name: str) -> str:
    """Detect the text encoding of a sample: byte-order mark, strict UTF-8, then statistics.

    Parameters
    ----------
    sample
        The first bytes of the (decompressed) file.
    complete
        Whether the sample is the whole file. When it is not, a multibyte character cut at the
        end of the sample is not held against UTF-8.
    source_name
        The file name for messages.

    Returns
    -------
    str
        A Python codec name: ``"utf-8-sig"``, ``"utf-32"``, ``"utf-16"``, ``"utf-8"``,
        ``"gb18030"``, ``"cp1252"`` or whatever charset-normalizer finds.
    """
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    # The UTF-32 LE mark starts with the UTF-16 LE mark, so it is checked first.
    if sample.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
        return "utf-32"
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    try:
        codecs.getincrementaldecoder("utf-8")(errors="strict").decode(sample, final=complete)
    except UnicodeDecodeError:
        pass
    else:
        return "utf-8"
    # Whole lines only: a character cut at the end of the sample must not skew the statistics.
    whole_lines = sample if complete else sample[: sample.rfind(b"\n") + 1] or sample
    match = charset_normalizer.from_bytes(whole_lines).best()
    if match is None:
        raise DataError(
            f"The text encoding of '{source_name}' could not be recognised (it is not UTF-8 "
            "and no other encoding fits). Open the file in a text editor or Excel and save it "
            "as UTF-8 (in Excel: 'CSV UTF-8'), then load it again."
        )
    encoding = str(codecs.lookup(match.encoding).name)
    if encoding in _GB_FAMILY:
        return "gb18030"
    if encoding in _CP1252_LOOKALIKES and _decodes(whole_lines, "cp1252"):
        return "cp1252"
    return encoding


def _decodes(sample: bytes, encoding: str) -> bool:
    """Whether ``sample`` decodes strictly with ``encoding``."""
    try:
        sample.decode(encoding)
    except UnicodeDecodeError:
        return False
    return True


def _sniff_layout(text: str, source_name: str) -> _TextLayout:
    """Find the delimiter whose field count is consistent across the first records.

    Each of comma, semicolon, tab and pipe is tried with a quote-aware csv reader over the first
    records. For each, the column names are row 1 when it has two or more values; otherwise the
    rows at the top holding at most one value are taken as a preamble and the column names are
    searched below them (see :func:`_header_position`). A delimiter qualifies when the header
    splits into more than one field and at least half of the data rows split into as many.
    Fully consistent delimiters beat partly consistent ones, then a header in row 1 beats one
    below a preamble, then more columns win (so ``;`` wins over ``,`` in a file with decimal
    commas). Runs of whitespace are tried only when no character delimiter qualifies. As a last
    resort a delimiter that splits only the header is taken, so that the reader can name the
    first row that does not match it (better than calling the file one column wide).
    """
    candidates: list[tuple[tuple[bool, bool, bool, int, float], _TextLayout]] = []
    for delimiter, _ in _DELIMITERS:
        records, line_ends = _first_records(text, delimiter)
        header_index = _delimited_header_index(records)
        if header_index is None:
            continue
        header = records[header_index]
        share = _share_as_wide_below(records, header_index)
        key = (share >= _MIN_CONSISTENT_SHARE, share == 1.0, header_index == 0, len(header), share)
        layout = _TextLayout(
            delimiter=delimiter,
            header=tuple(header),
            header_row=line_ends[header_index - 1] + 1 if header_index else 1,
            title=_preamble_title(records[:header_index]),
        )
        candidates.append((key, layout))
    best = max(candidates, key=lambda candidate: candidate[0], default=None)
    if best is not None and best[0][0]:
        return best[1]
    lines = [
        line.split()
        for line in itertools.islice(
            io.StringIO(text, newline=""), _HEADER_SEARCH_ROWS + _SNIFF_RECORDS
        )
    ]
    header_index = _header_position(
        lines, lambda index: _share_as_wide_below(lines, index) >= _MIN_CONSISTENT_SHARE
    )
    if header_index is None and len(lines[0]) > 1:
        header_index = 0
    if (
        header_index is not None
        and _share_as_wide_below(lines, header_index) >= _MIN_CONSISTENT_SHARE
    ):
        return _TextLayout(
            delimiter=_WHITESPACE_DELIMITER,
            header=tuple(lines[header_index]),
            header_row=header_index + 1,
            title=_preamble_title(lines[:header_index]),
        )
    if best is not None:
        return best[1]
    raise _no_columns_error(text, source_name)


def _delimited_header_index(records: Sequence[Sequence[str]]) -> int | None:
    """The index of the record with the column names, or None when the delimiter cannot split it.

    Without a recognisable header below a preamble, row 1 is the header whenever it has more
    than one field, as it always was; the header check then says what is wrong with it.
    """
    if not records:
        return None
    header_index = _header_position(
        records, lambda index: _share_as_wide_below(records, index) >= _MIN_CONSISTENT_SHARE
    )
    if header_index is None and len(records[0]) > 1:
        return 0
    return header_index


def _share_as_wide_below(records: Sequence[Sequence[str]], header_index: int) -> float:
    """The share of the sampled non-empty records below the header with as many fields."""
    below = records[header_index + 1 : header_index + _SNIFF_RECORDS]
    return _consistent_share(
        len(records[header_index]), [len(record) for record in below if record]
    )


def _no_columns_error(text: str, source_name: str) -> DataError:
    """The message for text that no delimiter splits into a header and matching rows."""
    first_line = next(line for line in text.splitlines() if line.strip(_CELL_WHITESPACE))
    wide_lines: list[tuple[int, int, list[str]]] = []
    for delimiter, _ in _DELIMITERS:
        records, line_ends = _first_records(text, delimiter)
        index = next(
            (index for index, record in enumerate(records) if _filled_count(record) >= 2), None
        )
        if index is not None:
            line = line_ends[index - 1] + 1 if index else 1
            wide_lines.append((line, -len(records[index]), records[index]))
    if wide_lines:
        line, _, record = min(wide_lines)
        values = ", ".join(field.strip(_CELL_WHITESPACE) for field in record)[:100]
        if line > _HEADER_SEARCH_ROWS:
            return DataError(
                f"The column names of '{source_name}' were not found in the first "
                f"{_HEADER_SEARCH_ROWS} lines: each of them holds at most one value, like a "
                f"title. The first line with several values is line {line:,} ({values}). Delete "
                "the lines above the column names and load the file again."
            )
        return DataError(
            f"Line {line:,} of '{source_name}', the first line with several values, does not "
            f"look like the column names of the table below it ({values}). Put the column "
            "names (for example customer_id, order_date, amount) in one line above the data, "
            "with at most one value (a title) on each line above them, and load the file again."
        )
    tried = ", ".join(name for _, name in _DELIMITERS) + " and runs of spaces"
    return DataError(
        f"'{source_name}' has only one column (tried these delimiters: {tried}). A transaction "
        "table needs at least a customer id, a date and an amount column. Save the file as CSV "
        "with one column per field (for example 'customer_id,order_date,amount') and load it "
        f"again. The first line reads: {first_line[:80]!r}"
    )


def _consistent_share(header_count: int, data_counts: Sequence[int]) -> float:
    """The share of data records with as many fields as the header (1.0 without data)."""
    if not data_counts:
        return 1.0
    return sum(count == header_count for count in data_counts) / len(data_counts)


def _check_first_line_fields(text: str, source_name: str) -> None:
    """Refuse a first line with a value longer than the quote-aware reader takes (128 KB).

    Such a line cannot be split into column names, and saying so beats the misleading "only one
    column" that sniffing would otherwise report.
    """
    limit = csv.field_size_limit()
    line_end = text.find("\n")
    first_line = text if line_end < 0 else text[:line_end]
    if len(first_line) <= limit:
        return
    # The longest value under the delimiter that splits the line best.
    longest = min(
        max((len(field) for field in first_line.split(delimiter)), default=0)
        for delimiter, _ in _DELIMITERS
    )
    if longest > limit:
        raise DataError(
            f"The first line of '{source_name}' holds a value of {longest:,} characters, longer "
            f"than any column name can be ({limit:,}). Check that the file's first line holds "
            "the column names, or export the table again."
        )


def _first_records(text: str, delimiter: str) -> tuple[list[list[str]], list[int]]:
    """The first records of ``text`` split by ``delimiter``, respecting double quotes.

    Also returns, for each record, the number of lines read up to its end (a quoted value may
    span lines), so that the line of any record is known.
    """
    reader = csv.reader(
        io.StringIO(text, newline=""), delimiter=delimiter, quotechar='"', doublequote=True
    )
    records: list[list[str]] = []
    line_ends: list[int] = []
    try:
        for record in itertools.islice(reader, _HEADER_SEARCH_ROWS + _SNIFF_RECORDS):
            records.append(record)
            line_ends.append(reader.line_num)
    except csv.Error:
        # An oversized or malformed field means this delimiter does not describe the file,
        # unless it comes after the records that sniffing needs.
        if len(records) < _SNIFF_RECORDS:
            return [], []
    return records, line_ends


def _should_stream(
    sample: _TextSample, source: _Source, *, compressed: bool, max_rows: int
) -> bool:
    """Whether the file may exceed ``max_rows``, so that reading should stop at the limit."""
    if sample.complete:
        return False
    if compressed:
        return True
    line_breaks = max(sample.text.count("\n"), 1)
    estimated_rows = source.size * line_breaks / max(len(sample.raw), 1)
    return estimated_rows > max_rows * _STREAM_ABOVE_LIMIT_SHARE


def _open_text_input(
    source: _Source, *, compressed: bool
) -> tuple[pa.NativeFile, InflateBudget | None]:
    """Open the file for pyarrow, decompressing on the fly within the source's limits."""
    if not compressed:
        return source.open_arrow(), None
    budget = source.inflate()
    return pa.PythonFile(io.BufferedReader(budget, _SAMPLE_BYTES), mode="r"), budget


def _arrow_encoding(encoding: str) -> str:
    """The encoding name to give pyarrow; UTF-8 (with or without BOM) is read natively."""
    # pyarrow skips a UTF-8 byte-order mark itself; naming any other codec makes it transcode
    # through Python, which is several times slower.
    return "utf8" if encoding in ("utf-8", "utf-8-sig") else encoding


def _read_with_arrow(
    source: _Source,
    *,
    layout: _TextLayout,
    encoding: str,
    compressed: bool,
    stop_after_rows: int | None,
) -> tuple[pd.DataFrame, bool]:
    """Read character-delimited text with pyarrow, every column as strings.

    Returns the data rows (header row excluded, columns numbered from 0) and whether reading
    stopped early at ``stop_after_rows``.
    """
    invalid_rows: list[pacsv.InvalidRow] = []

    def refuse_invalid_row(row: pacsv.InvalidRow) -> str:
        invalid_rows.append(row)
        return "error"

    read_options, parse_options, convert_options = _arrow_csv_options(
        layout, encoding, use_threads=True, invalid_row_handler=refuse_invalid_row
    )
    truncated = False
    handle, budget = _open_text_input(source, compressed=compressed)
    try:
        with handle:
            if stop_after_rows is None:
                table = pacsv.read_csv(
                    handle,
                    read_options=read_options,
                    parse_options=parse_options,
                    convert_options=convert_options,
                )
            else:
                table, truncated = _read_until(
                    handle,
                    stop_after_rows=stop_after_rows + 1,  # plus the header row
                    read_options=read_options,
                    parse_options=parse_options,
                    convert_options=convert_options,
                )
    except (pa.ArrowException, UnicodeDecodeError, OSError, EOFError, zlib.error) as error:
        if budget is not None and budget.refusal is not None:
            raise budget.refusal from None
        if isinstance(error, pa.ArrowMemoryError):
            raise MemoryError(str(error)) from error
        raise _translate_text_error(
            error,
            source,
            layout=layout,
            encoding=encoding,
            compressed=compressed,
            rows=invalid_rows,
        ) from error
    data = table.slice(1)
    columns = [_clean_text_array(column) for column in data.columns]
    del table, data
    _check_cell_lengths(
        columns,
        layout.header,
        where=f"'{source.name}'",
        first_data_row=layout.header_row + 1,
        limit=source.limits.max_cell_chars,
    )
    names = [str(position) for position in range(len(columns))]
    frame = pa.table(columns, names=names).to_pandas(split_blocks=True, self_destruct=True)
    frame.columns = pd.RangeIndex(len(names))
    return frame, truncated


def _arrow_csv_options(
    layout: _TextLayout,
    encoding: str,
    *,
    use_threads: bool,
    invalid_row_handler: Callable[[pacsv.InvalidRow], str],
) -> tuple[pacsv.ReadOptions, pacsv.ParseOptions, pacsv.ConvertOptions]:
    """pyarrow options that skip the preamble, read the header as row 0, fields as strings."""
    read_options = pacsv.ReadOptions(
        use_threads=use_threads,
        block_size=_ARROW_BLOCK_BYTES,
        encoding=_arrow_encoding(encoding),
        # pyarrow counts the skipped lines in the row numbers of invalid rows, so those stay
        # the file's line numbers.
        skip_rows=layout.header_row - 1,
        # The header is read as data row 0 so that pyarrow counts fields against it; the names
        # come from the sniffed header, which keeps cells such as "NA" as names.
        autogenerate_column_names=True,
    )
    parse_options = pacsv.ParseOptions(
        delimiter=layout.delimiter,
        quote_char='"',
        double_quote=True,
        escape_char=False,
        # Quote-aware splitting into blocks costs about 0.15 s per 10 million rows; without it
        # a quoted line break that happens to fall on a block boundary splits a record in two.
        newlines_in_values=True,
        # Blank lines are kept as empty rows so that data row i stays spreadsheet row
        # header_row + 1 + i.
        ignore_empty_lines=False,
        invalid_row_handler=invalid_row_handler,
    )
    convert_options = pacsv.ConvertOptions(
        column_types={f"f{position}": pa.string() for position in range(len(layout.header))},
        null_values=list(_MISSING_MARKERS),
        strings_can_be_null=True,
        quoted_strings_can_be_null=True,
    )
    return read_options, parse_options, convert_options


def _read_until(
    handle: pa.NativeFile,
    *,
    stop_after_rows: int,
    read_options: pacsv.ReadOptions,
    parse_options: pacsv.ParseOptions,
    convert_options: pacsv.ConvertOptions,
) -> tuple[pa.Table, bool]:
    """Stream record batches until more than ``stop_after_rows`` rows have been read."""
    reader = pacsv.open_csv(
        handle,
        read_options=read_options,
        parse_options=parse_options,
        convert_options=convert_options,
    )
    batches = []
    row_count = 0
    truncated = False
    for batch in reader:
        batches.append(batch)
        row_count += batch.num_rows
        if row_count > stop_after_rows:
            truncated = True
            break
    return pa.Table.from_batches(batches, schema=reader.schema), truncated


def _clean_text_array(column: pa.ChunkedArray) -> pa.ChunkedArray:
    """Strip surrounding whitespace and turn padded missing markers (" NA ") into nulls."""
    trimmed = pc.utf8_trim(column, characters=_CELL_WHITESPACE)
    # Trimming is cheap, but matching against the markers is not, so the markers are only
    # matched again when trimming changed something (exact markers are already nulls).
    changed = pc.any(pc.not_equal(pc.binary_length(trimmed), pc.binary_length(column))).as_py()
    if not changed:
        return column
    is_marker = pc.is_in(trimmed, value_set=pa.array(_MISSING_MARKERS, type=column.type))
    return pc.if_else(is_marker, pa.scalar(None, type=column.type), trimmed)


def _translate_text_error(
    error: BaseException,
    source: _Source,
    *,
    layout: _TextLayout,
    encoding: str,
    compressed: bool,
    rows: Sequence[pacsv.InvalidRow],
) -> DataError:
    """Turn a pyarrow reading failure into a message for the analyst."""
    message = str(error)
    if isinstance(error, UnicodeDecodeError) or "invalid UTF8" in message:
        return _locate_undecodable(source, encoding=encoding, compressed=compressed)
    if rows:
        return _ragged_row_error(
            source, layout=layout, encoding=encoding, compressed=compressed, first_seen=rows[0]
        )
    if "straddl" in message:
        return DataError(
            f"A row of '{source.name}' is longer than {format_bytes(_ARROW_BLOCK_BYTES)}, the "
            "most one row may hold. The file is probably damaged, or a quote opened in a row "
            "is never closed, so the rest of the file became one value. Check the quotes, "
            "save the file again as CSV and load it again."
        )
    if compressed and isinstance(error, OSError | EOFError | zlib.error | pa.ArrowException):
        return _damaged_gzip_error(source)
    return DataError(
        f"'{source.name}' could not be read as delimited text: {message}. Open it in Excel or a "
        "text editor, save it again as CSV UTF-8 and load it again."
    )


def _ragged_row_error(
    source: _Source,
    *,
    layout: _TextLayout,
    encoding: str,
    compressed: bool,
    first_seen: pacsv.InvalidRow,
) -> DataError:
    """Describe the first row whose field count differs from the header's."""
    row = first_seen
    if row.number is None:
        # Multi-threaded parsing does not number rows, so the file is read again on one thread
        # up to the first bad row (only on this error path).
        found: list[pacsv.InvalidRow] = []

        def record(invalid: pacsv.InvalidRow) -> str:
            found.append(invalid)
            return "error"

        options = _arrow_csv_options(
            layout, encoding, use_threads=False, invalid_row_handler=record
        )
        try:
            with _open_text_input(source, compressed=compressed)[0] as handle:
                pacsv.read_csv(
                    handle,
                    read_options=options[0],
                    parse_options=options[1],
                    convert_options=options[2],
                )
        except (pa.ArrowException, UnicodeDecodeError, OSError, DataError):
            pass
        if found:
            row = found[0]
    return _field_count_error(
        source.name,
        delimiter=layout.delimiter,
        row_number=row.number,
        expected=row.expected_columns,
        actual=row.actual_columns,
        text=row.text,
    )


def _field_count_error(
    source_name: str,
    *,
    delimiter: str,
    row_number: int | None,
    expected: int,
    actual: int,
    text: str | None,
) -> DataError:
    """The message for a row with more or fewer fields than the header."""
    delimiter_name = dict(_DELIMITERS).get(delimiter, "whitespace")
    where = f"Row {row_number:,}" if row_number is not None else "A row"
    example = f": {text[:120]!r}" if text else ""
    if actual > expected:
        advice = (
            f"A value probably contains an unquoted {delimiter_name}. Put double quotes around "
            "values that contain the delimiter (Excel does this when it saves a CSV), or remove "
            "the extra field,"
        )
    else:
        advice = (
            f"Add the missing fields (an empty field is fine, e.g. two {delimiter_name}s in a "
            "row), or check for a line break inside a value that is not quoted,"
        )
    return DataError(
        f"{where} of '{source_name}' has {actual} fields but the header has {expected} "
        f"(delimiter: {delimiter_name}){example}. {advice} then load the file again."
    )


def _read_whitespace_separated(
    source: _Source, *, encoding: str, compressed: bool, max_rows: int | None, skip_lines: int
) -> tuple[pd.DataFrame, bool]:
    """Read text whose fields are separated by runs of spaces, every column as strings.

    The first ``skip_lines`` lines (a preamble above the column names) are skipped. Short rows
    are padded with missing values: with whitespace as the delimiter an empty trailing field
    cannot be written any other way.
    """
    # Row 0 is the header, then max_rows data rows and one more to tell whether there are more.
    row_budget = None if max_rows is None else max_rows + 2
    try:
        with (
            io.BufferedReader(source.inflate(), _SAMPLE_BYTES)
            if compressed
            else source.open_binary()
        ) as handle:
            raw = pd.read_csv(
                handle,
                sep=r"\s+",
                header=None,
                dtype=str,
                keep_default_na=False,
                na_values=list(_MISSING_MARKERS),
                encoding=encoding,
                compression=None,
                skip_blank_lines=False,
                # The line numbers in pandas' messages still count the skipped lines.
                skiprows=skip_lines,
                nrows=row_budget,
                quotechar='"',
            )
    except pd.errors.ParserError as error:
        match = _PANDAS_RAGGED_PATTERN.search(str(error))
        if match is None:
            raise DataError(
                f"'{source.name}' could not be read as whitespace-separated text: {error}. Save "
                "it as CSV UTF-8 and load it again."
            ) from error
        raise _field_count_error(
            source.name,
            delimiter=_WHITESPACE_DELIMITER,
            row_number=int(match.group(2)),
            expected=int(match.group(1)),
            actual=int(match.group(3)),
            text=None,
        ) from error
    except UnicodeDecodeError as error:
        raise _locate_undecodable(source, encoding=encoding, compressed=compressed) from error
    except (OSError, EOFError, zlib.error) as error:
        if compressed:
            raise _damaged_gzip_error(source) from error
        raise
    truncated = max_rows is not None and len(raw) > max_rows + 1
    frame = raw.iloc[1:].reset_index(drop=True)
    for position in range(frame.shape[1]):
        column = frame.iloc[:, position]
        stripped = column.str.strip(_CELL_WHITESPACE)
        frame.isetitem(position, stripped.where(~stripped.isin(_MISSING_MARKERS)).array)
    frame.columns = pd.RangeIndex(frame.shape[1])
    header = [str(cell) for cell in raw.iloc[0]] if len(raw) else []
    _check_header_size(header, f"'{source.name}'", skip_lines + 1, source.limits)
    _check_cell_lengths(
        [
            pa.chunked_array([pa.array(frame.iloc[:, p], type=pa.string(), from_pandas=True)])
            for p in range(frame.shape[1])
        ],
        header,
        where=f"'{source.name}'",
        first_data_row=skip_lines + 2,
        limit=source.limits.max_cell_chars,
    )
    return frame, truncated


def _locate_undecodable(source: _Source, *, encoding: str, compressed: bool) -> DataError:
    """Find where the file stops being valid ``encoding`` and say so (error path only)."""
    decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
    offset = 0
    line = 1
    chunk = b""
    try:
        for chunk in _iter_chunks(source, compressed=compressed):
            line += decoder.decode(chunk).count("\n")
            offset += len(chunk)
        chunk = b""
        decoder.decode(b"", final=True)
    except UnicodeDecodeError as error:
        # The position is relative to this chunk (plus any bytes the decoder held back), which
        # is close enough to find the place in a text editor.
        position = offset + max(error.start, 0)
        line += chunk[: error.start].decode(encoding, errors="ignore").count("\n")
        return _undecodable_error(
            source,
            encoding=encoding,
            position=position,
            line=line,
            bad_bytes=error.object[error.start : error.end],
        )
    except (OSError, EOFError, zlib.error):
        return _damaged_gzip_error(source)
    return DataError(
        f"'{source.name}' is not valid {encoding} text. Open it in a text editor or Excel and "
        "save it as UTF-8 (in Excel: 'CSV UTF-8'), then load it again."
    )


def _iter_chunks(source: _Source, *, compressed: bool) -> Iterator[bytes]:
    """The (decompressed) bytes of the file in chunks of the sample size."""
    if not compressed:
        with source.open_binary() as handle:
            yield from iter(lambda: handle.read(_SAMPLE_BYTES), b"")
        return
    with source.inflate() as unzipped:
        yield from iter(lambda: unzipped.read(_SAMPLE_BYTES), b"")


def _undecodable_error(
    source: _Source, *, encoding: str, position: int, line: int, bad_bytes: bytes
) -> DataError:
    """The message for bytes that the detected encoding cannot decode."""
    shown = " ".join(f"0x{byte:02X}" for byte in bad_bytes[:4]) or "?"
    return DataError(
        f"'{source.name}' could not be read as {encoding} text: the byte(s) {shown} near byte "
        f"{position:,} (about line {line:,}) are not valid {encoding}. The start of the file "
        f"looked like {encoding}, so the file may mix encodings. Open it in a text editor or "
        "Excel and save it as UTF-8 (in Excel: 'CSV UTF-8'), then load it again."
    )


def _damaged_gzip_error(source: _Source) -> DataError:
    """The message for a gzip file that cannot be decompressed."""
    return DataError(
        f"'{source.name}' is a gzip file that is damaged or incomplete and cannot be "
        "decompressed. Download or compress it again, or load the uncompressed file."
    )


# --- workbooks ---------------------------------------------------------------------------

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


def _clean_cell(value: object) -> object:
    """Strip text cells and turn missing markers into ``None``; other types stay native."""
    if isinstance(value, str):
        stripped = value.strip(_CELL_WHITESPACE)
        return None if stripped in _MISSING_MARKERS else stripped
    return value


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


# --- parquet -----------------------------------------------------------------------------


def _load_parquet(source: _Source, *, limits: LoadLimits, notes: list[str]) -> LoadedTable:
    """Read a Parquet file, keeping native column types."""
    try:
        with source.open_arrow() as handle:
            parquet_file = pq.ParquetFile(
                handle,
                thrift_string_size_limit=_PARQUET_THRIFT_BYTES,
                thrift_container_size_limit=_PARQUET_THRIFT_ITEMS,
            )
            _check_parquet_metadata(parquet_file.metadata, source)
            table = _read_parquet_batches(parquet_file, source)
            for position, arrow_field in enumerate(table.schema):
                if pa.types.is_string(arrow_field.type) or pa.types.is_large_string(
                    arrow_field.type
                ):
                    cleaned = _clean_text_array(table.column(position))
                    table = table.set_column(
                        position, arrow_field.name, cleaned.cast(arrow_field.type)
                    )
    except pa.ArrowMemoryError as error:
        raise MemoryError(str(error)) from error
    except (pa.ArrowException, OSError, EOFError, UnicodeDecodeError) as error:
        raise DataError(
            f"'{source.name}' could not be read as a Parquet file; it may be damaged or "
            "incomplete. Write or download it again."
        ) from error
    names = list(table.column_names)
    try:
        if len({name.casefold() for name in names}) < len(names):
            # Duplicate names cannot go through pandas' metadata; the header check reports them.
            frame = table.rename_columns(
                [str(position) for position in range(len(names))]
            ).to_pandas(ignore_metadata=True)
            header_cells: list[object] = list(names)
        else:
            frame = table.to_pandas()
            frame = _index_to_columns(frame, notes)
            header_cells = list(frame.columns)
    except (pa.ArrowException, ValueError, TypeError) as error:
        raise DataError(
            f"The columns of '{source.name}' could not be converted to a table: {error}. Write "
            "the file again with plain column types (text, numbers, dates)."
        ) from error
    frame.columns = pd.RangeIndex(frame.shape[1])
    frame = _finish_table(
        header_cells,
        frame,
        where=f"'{source.name}'",
        header_row=1,
        limits=limits,
        truncated=False,
        notes=notes,
    )
    return LoadedTable(
        frame=frame,
        source_name=source.name,
        file_format="parquet",
        encoding=None,
        delimiter=None,
        sheet_name=None,
        notes=tuple(notes),
    )


# Parquet footers of real tables are kilobytes; these bound what the footer's decoder accepts.
_PARQUET_THRIFT_BYTES: Final = 16 * (1 << 20)
_PARQUET_THRIFT_ITEMS: Final = 1_000_000
# Decoded a batch at a time, so a file whose pages expand past the limits stops early.
_PARQUET_BATCH_ROWS: Final = 16_384


def _check_parquet_metadata(metadata: pq.FileMetaData, source: _Source) -> None:
    """Refuse a Parquet file whose footer declares more than the limits allow, before reading."""
    limits, where = source.limits, f"'{source.name}'"
    if limits.max_rows is not None and metadata.num_rows > limits.max_rows:
        raise _too_many_rows_error(where, limits.max_rows, metadata.num_rows)
    if limits.max_columns is not None and metadata.num_columns > limits.max_columns:
        raise DataError(
            f"{where} has {metadata.num_columns:,} columns, more than the "
            f"{limits.max_columns:,} that can be loaded here. Write only the columns you need. "
            + limit_hint("max_columns")
        )
    # Row-group totals only: pyarrow's per-column-chunk accessor aborts the process (an
    # uncatchable C++ terminate) on some damaged schemas, which reading itself reports cleanly.
    declared = sum(
        max(metadata.row_group(group).total_byte_size, 0)
        for group in range(metadata.num_row_groups)
    )
    if limits.max_inflated_bytes is not None and declared > limits.max_inflated_bytes:
        raise _inflated_error(where, limits.max_inflated_bytes, declared)
    check_ratio(where, declared, source.size, limits, what="by its footer, before reading")


def _read_parquet_batches(parquet_file: pq.ParquetFile, source: _Source) -> pa.Table:
    """Read the file a batch at a time, refusing it once the decoded data pass the limits.

    The footer's sizes describe encoded pages; a column of one value repeated (dictionary or
    run-length encoded) decodes to far more, so the decoded size is counted too.
    """
    limits, where = source.limits, f"'{source.name}'"
    batches: list[pa.RecordBatch] = []
    decoded = 0
    rows = 0
    for batch in parquet_file.iter_batches(batch_size=_PARQUET_BATCH_ROWS):
        decoded += batch.nbytes
        if limits.max_inflated_bytes is not None and decoded > limits.max_inflated_bytes:
            raise _inflated_error(where, limits.max_inflated_bytes, None)
        check_ratio(
            where, decoded, source.size, limits, what="when decoded, before reading stopped"
        )
        _check_cell_lengths(
            [pa.chunked_array([column]) for column in batch.columns],
            batch.schema.names,
            where=where,
            first_data_row=rows + 2,
            limit=limits.max_cell_chars,
        )
        rows += batch.num_rows
        batches.append(batch)
    return pa.Table.from_batches(batches, schema=parquet_file.schema_arrow)


def _inflated_error(where: str, limit: int, size: int | None) -> DataError:
    """The message for data that expand past ``max_inflated_bytes``."""
    amount = (
        f"to {format_bytes(size)}" if size is not None else f"to more than {format_bytes(limit)}"
    )
    return DataError(
        f"{where[0].upper()}{where[1:]} expands {amount} when decoded, more than the "
        f"{format_bytes(limit)} limit here (reading stopped there). Load a smaller extract. "
        + limit_hint("max_inflated_bytes")
    )


def _index_to_columns(frame: pd.DataFrame, notes: list[str]) -> pd.DataFrame:
    """Give the frame a fresh RangeIndex; a named index stored by pandas becomes columns."""
    index = frame.index
    if isinstance(index, pd.RangeIndex):
        return frame.reset_index(drop=True)
    index_names = [name for name in index.names if name is not None]
    if index_names:
        notes.append(
            "the stored index "
            + ", ".join(f"'{name}'" for name in index_names)
            + " was turned into a column"
        )
        return frame.reset_index()
    notes.append("the stored unnamed row index was dropped")
    return frame.reset_index(drop=True)


# --- header and rows, all formats ----------------------------------------------------------


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
    filled_cells = [cell for cell, name in zip(header_cells, names, strict=True) if name]
    if all(_looks_like_data(cell) for cell in filled_cells):
        example = ", ".join(name for name in names if name)[:100]
        raise DataError(
            f"Row {header_row:,} of {where} looks like data, not column names ({example}). Add "
            "a header row naming the columns (for example customer_id, order_date, amount) and "
            "load the file again."
        )
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
    taken = {name.casefold() for name in names if name}
    for position in unnamed_with_data:
        new_name = f"column_{position + 1}"
        suffix = 2
        while new_name.casefold() in taken:
            new_name = f"column_{position + 1}_{suffix}"
            suffix += 1
        taken.add(new_name.casefold())
        names[position] = new_name
        notes.append(f"column {_column_label(position)} had no header and was named '{new_name}'")
    if empty_unnamed:
        notes.append(_removed_columns_note(empty_unnamed, len(names)))
        kept = [position for position in range(len(names)) if position not in set(empty_unnamed)]
        frame = frame.iloc[:, kept]
        names = [names[position] for position in kept]
    _check_unique(names, where, header_row)
    frame.columns = pd.Index(names)
    trailing_empty = _count_trailing_empty_rows(frame)
    if trailing_empty:
        frame = frame.iloc[: len(frame) - trailing_empty]
        what = "row at the end was" if trailing_empty == 1 else "rows at the end were"
        notes.append(f"{trailing_empty:,} empty {what} removed")
    if limits.max_rows is not None and (truncated or len(frame) > limits.max_rows):
        raise _too_many_rows_error(where, limits.max_rows, None if truncated else len(frame))
    if frame.empty:
        raise DataError(
            f"{where[0].upper()}{where[1:]} has column names in row {header_row:,} but no data "
            "rows below them. Check that you chose the right file (or sheet) and that the "
            "export included the data."
        )
    return frame.reset_index(drop=True)


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
