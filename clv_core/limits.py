"""Size limits for everything a user hands in: tables, compressed files, model bundles.

A shared server reads files from anyone who can open the workbench, and a file far below the
upload cap can still expand without bound: an 8 MB gzip file can hold gigabytes of text, a
zip member can declare a 3 GB ``meta.json``, a Parquet file can declare billions of rows. Every
limit here is enforced *while* reading (decompressed bytes are counted as they stream, archive
directories and Parquet metadata are checked before anything is inflated), so an oversized or
hostile file is refused after reading at most about one limit's worth, with a message that
names the limit and how to raise it.

The defaults are sized for real work: an honest 10-million-row log (a 200 MB upload, or a
gzip-compressed or Parquet file of it) loads with room to spare. They are set per server with
environment variables (:meth:`LoadLimits.from_environment`, used by the workbench) and per run
with command-line options (``python -m clv_core ... --max-rows N``).
"""

from __future__ import annotations

import gzip
import io
import os
import zipfile
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from typing import IO, Final

from clv_core.errors import ConfigError, DataError

__all__ = [
    "LIMIT_SETTINGS",
    "ZIP_ERRORS",
    "InflateBudget",
    "LoadLimits",
    "check_ratio",
    "format_bytes",
    "limit_hint",
    "short_error",
    "verify_zip_members",
]

_MIB: Final = 1 << 20
# The compression ratio is only judged once this much has been inflated: small files of
# repeated text (a header and a few identical rows) legitimately compress far better.
RATIO_FLOOR_BYTES: Final = 64 * _MIB


@dataclass(frozen=True, slots=True)
class _Setting:
    """How one limit is raised: its command-line option and environment variable."""

    option: str
    variable: str
    unit: int  # the option's and the variable's unit in the field's unit (MB -> bytes)


# field name -> how a user raises it; the messages and the CLI's options come from here.
LIMIT_SETTINGS: Final[Mapping[str, _Setting]] = {
    # The workbench's file-size cap is its upload cap (CLV_SESSION_UPLOAD_MB, at most
    # Streamlit's server.maxUploadSize), so from_environment leaves this one alone.
    "max_bytes": _Setting("--max-file-mb", "CLV_SESSION_UPLOAD_MB", _MIB),
    "max_inflated_bytes": _Setting("--max-inflated-mb", "CLV_MAX_INFLATED_MB", _MIB),
    "max_compression_ratio": _Setting("--max-compression-ratio", "CLV_MAX_COMPRESSION_RATIO", 1),
    "max_rows": _Setting("--max-rows", "CLV_MAX_ROWS", 1),
    "max_columns": _Setting("--max-columns", "CLV_MAX_COLUMNS", 1),
    "max_column_name_chars": _Setting("--max-column-name-chars", "CLV_MAX_COLUMN_NAME_CHARS", 1),
    "max_cell_chars": _Setting("--max-cell-chars", "CLV_MAX_CELL_CHARS", 1),
}


@dataclass(frozen=True, slots=True, kw_only=True)
class LoadLimits:
    """Upper bounds that protect a shared server from files too large to handle.

    Every limit is a positive whole number or ``None`` (no limit). The defaults load an honest
    log of 10 million order lines in any supported format.

    Parameters
    ----------
    max_bytes
        The file's size on disk or of the upload, before any decompression. Checked before
        anything is parsed. No default limit (the workbench applies its upload cap).
    max_inflated_bytes
        How many bytes a compressed file (``.csv.gz``, an Excel workbook, a Parquet file) may
        expand to. Counted while decompressing (gzip) or checked against the archive's
        directory and the Parquet metadata before inflating, and against the decoded data as
        it is read. Default 4 GiB.
    max_compression_ratio
        The most a compressed file may expand per compressed byte, judged once 64 MiB have
        been inflated (gzip) or for archive members above that size (workbooks). Honest
        exports compress 5-30 times; decompression bombs a thousand times. Default 100.
    max_rows
        Data rows. Large files are streamed, so reading stops soon after the limit is passed.
        Default 50,000,000.
    max_columns
        Columns of the table, checked on the header before the rows are read. Default 1,000.
    max_column_name_chars
        The length of one column name. Default 1,000.
    max_cell_chars
        The length of one cell's text (Excel's own limit is 32,767). Default 32,767.
    """

    max_bytes: int | None = None
    max_inflated_bytes: int | None = 4096 * _MIB
    max_compression_ratio: int | None = 100
    max_rows: int | None = 50_000_000
    max_columns: int | None = 1_000
    max_column_name_chars: int | None = 1_000
    max_cell_chars: int | None = 32_767

    def __post_init__(self) -> None:
        problems = [
            f"{item.name} must be a positive whole number or None, got {value!r}"
            for item in fields(self)
            if (value := getattr(self, item.name)) is not None
            and (isinstance(value, bool) or not isinstance(value, int) or value < 1)
        ]
        if problems:
            raise ConfigError("Invalid load limits.", problems=problems)

    @classmethod
    def unlimited(cls) -> LoadLimits:
        """No limit at all (for trusted files in tests and benchmarks)."""
        return cls(**{item.name: None for item in fields(cls)})

    @classmethod
    def from_environment(
        cls, environ: Mapping[str, str] | None = None, base: LoadLimits | None = None
    ) -> LoadLimits:
        """``base`` (default: the defaults) with the limits set in the environment.

        Each limit's variable is in :data:`LIMIT_SETTINGS` (``CLV_MAX_ROWS``,
        ``CLV_MAX_INFLATED_MB``, ...); ``0`` turns a limit off.
        """
        environ = os.environ if environ is None else environ
        changes: dict[str, int | None] = {}
        for name, setting in LIMIT_SETTINGS.items():
            text = environ.get(setting.variable, "").strip()
            if not text or name == "max_bytes":
                continue
            try:
                value = int(text)
            except ValueError:
                raise ConfigError(
                    f"{setting.variable} must be a whole number (0 = no limit), got {text!r}."
                ) from None
            if value < 0:
                raise ConfigError(f"{setting.variable} must be 0 or more, got {value}.")
            changes[name] = value * setting.unit or None
        return replace(base or cls(), **changes)

    def with_options(self, values: Mapping[str, int | None]) -> LoadLimits:
        """These limits with the command-line options' values (option units; 0 = no limit)."""
        changes = {
            name: (value * LIMIT_SETTINGS[name].unit) or None
            for name, value in values.items()
            if value is not None
        }
        return replace(self, **changes)


def limit_hint(name: str) -> str:
    """How to raise the limit ``name``: the command-line option and the server's variable."""
    setting = LIMIT_SETTINGS[name]
    return (
        f"If the file is genuine, raise the limit: {setting.option} on the command line, or "
        f"{setting.variable} in the workbench server's environment (0 = no limit)."
    )


def short_error(error: BaseException, length: int = 120) -> str:
    """A library's error text for a message: printable and at most ``length`` characters."""
    text = "".join(c if c.isprintable() else "?" for c in str(error))
    return text if len(text) <= length else text[: length - 3] + "..."


def format_bytes(size: int) -> str:
    """A byte count for people: '512 bytes', '3.4 MB', '1.2 GB'."""
    if size < 1024:
        return f"{size} bytes"
    value = float(size)
    for unit in ("KB", "MB", "GB"):
        value /= 1024
        if value < 1024 or unit == "GB":
            return f"{value:,.1f} {unit}"
    return f"{value:,.1f} GB"


_ZIP_CHUNK_BYTES: Final = _MIB
# What Python's zip reader raises for damaged, encrypted or unsupported archives.
ZIP_ERRORS: Final = (
    zipfile.BadZipFile,
    OSError,
    EOFError,
    ValueError,
    zlib.error,
    NotImplementedError,
    RuntimeError,
)


def check_ratio(
    where: str, inflated: int, compressed: int, limits: LoadLimits, *, what: str
) -> None:
    """Refuse data that expand more than ``max_compression_ratio`` times, once past 64 MiB.

    ``what`` says how far reading got, e.g. ``"before anything was decompressed"``.
    """
    limit = limits.max_compression_ratio
    if limit is None or inflated < RATIO_FLOOR_BYTES:
        return
    ratio = inflated / max(compressed, 1)
    if ratio > limit:
        raise DataError(
            f"{where} expands {ratio:,.0f} times ({format_bytes(compressed)} to "
            f"{format_bytes(inflated)} {what}); honest files expand 4-30 times, and the limit "
            f"here is {limit:,}. This looks like a decompression bomb, so it was refused. "
            + limit_hint("max_compression_ratio")
        )


def verify_zip_members(archive: zipfile.ZipFile, where: str) -> None:
    """Inflate every member once, a megabyte at a time, and refuse one that lies about its size.

    Python's zip reader stops a member at the size the archive's directory declares, but a
    whole-member read inflates up to 2 GB of a longer stream before cutting it; libraries
    (openpyxl, Keras) read whole members. A member whose compressed stream does not end
    exactly at its declared size, or whose checksum fails, is refused here, so that later
    whole-member reads inflate no more than the (already checked) declared sizes.
    """
    for info in archive.infolist():
        if info.is_dir():
            continue
        with archive.open(info) as member:
            while member.read(_ZIP_CHUNK_BYTES):
                pass
            decompressor = getattr(member, "_decompressor", None)
            if decompressor is not None and not getattr(decompressor, "eof", True):
                raise DataError(
                    f"{where} is damaged: '{info.filename}' holds more data than the archive's "
                    "directory declares (a decompression bomb, or a broken file). Export or "
                    "download it again."
                )


class InflateBudget(io.RawIOBase):
    """A decompressing reader that refuses to inflate past the limits.

    Wraps a gzip stream (all members of a multi-member file) and counts the bytes it hands
    out. Past ``max_inflated_bytes``, or past ``max_compression_ratio`` times the compressed
    bytes consumed so far once :data:`RATIO_FLOOR_BYTES` have been inflated, the next read
    raises :class:`~clv_core.errors.DataError`, which is also kept in :attr:`refusal` for
    callers whose reader (pyarrow) wraps exceptions raised inside it.
    """

    def __init__(self, compressed: IO[bytes], *, limits: LoadLimits, source_name: str) -> None:
        super().__init__()
        self._compressed = compressed
        self._inflater = gzip.GzipFile(fileobj=compressed, mode="rb")
        self._limits = limits
        self._source_name = source_name
        self.inflated = 0
        self.refusal: DataError | None = None

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        if self.refusal is not None:
            raise self.refusal
        data = self._inflater.read(len(buffer))
        count = len(data)
        buffer[:count] = data
        self.inflated += count
        self._check()
        return count

    def _check(self) -> None:
        limits = self._limits
        if limits.max_inflated_bytes is not None and self.inflated > limits.max_inflated_bytes:
            self.refusal = DataError(
                f"'{self._source_name}' expands to more than "
                f"{format_bytes(limits.max_inflated_bytes)} when decompressed, the limit here "
                f"(reading stopped there). Load a smaller extract. "
                + limit_hint("max_inflated_bytes")
            )
        else:
            try:
                check_ratio(
                    f"'{self._source_name}'",
                    self.inflated,
                    self._compressed.tell(),
                    limits,
                    what="before reading stopped",
                )
            except DataError as error:
                self.refusal = error
        if self.refusal is not None:
            raise self.refusal

    def close(self) -> None:
        try:
            self._inflater.close()
            self._compressed.close()
        finally:
            super().close()
