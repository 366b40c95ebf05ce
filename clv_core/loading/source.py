"""Where a table file's bytes come from and what kind of file it is.

A path or an upload's bytes become a :class:`_Source`; the first bytes decide the container
(a zip workbook, Parquet, gzip-compressed or plain text). What is not a table is refused here
with a message that says what it is: binaries (PDFs, images, other archives, old Office files),
zip archives that are not Excel 2007+ workbooks, and zips whose directory declares more than
the limits allow (:func:`check_archive_sizes`).
"""

from __future__ import annotations

import codecs
import io
import os
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Final, Literal

import pyarrow as pa

from clv_core.errors import DataError
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

# Detection looks at the first megabyte only, so a 400 MB file costs the same to sniff as a
# 4 KB one.
_SAMPLE_BYTES: Final = 1 << 20

_BINARY_PROBE_BYTES: Final = 1024

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
