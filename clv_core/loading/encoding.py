"""The text encoding of a delimited file, and its decoded start.

The encoding is the byte-order mark's, else strict UTF-8, else charset-normalizer's guess (with
Windows-1252 and GB18030 preferred to their look-alikes). The decoded first megabyte is what
the layout is sniffed from; blank files, HTML or XML documents and a first line longer than the
sample are refused. Bytes that do not decode, found while reading, are located and described
here, as is a gzip stream that cannot be decompressed.
"""

from __future__ import annotations

import codecs
import errno
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Final

import charset_normalizer

from clv_core.errors import DataError
from clv_core.limits import format_bytes
from clv_core.loading.cells import _CELL_WHITESPACE
from clv_core.loading.source import _SAMPLE_BYTES, _SUPPORTED_FORMATS, _reject_binary, _Source

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


@dataclass(frozen=True, slots=True, kw_only=True)
class _TextSample:
    """The decoded start of a text file."""

    raw: bytes
    text: str
    complete: bool
    encoding: str


def _read_text_sample(source: _Source, *, head: bytes, compressed: bool) -> _TextSample:
    """Decode the start of the file with the detected encoding."""
    if compressed:
        try:
            with source.inflate() as unzipped:
                raw = unzipped.read(_SAMPLE_BYTES)
                complete = unzipped.read(1) == b""
        except (OSError, EOFError, zlib.error) as error:
            _raise_if_out_of_memory(error)
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
    except (OSError, EOFError, zlib.error) as error:
        _raise_if_out_of_memory(error)
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


# How zlib, Arrow and the C library word a failed allocation. Under an address-space bound
# (the workbench's reader processes) a thread that cannot get its stack fails to start.
_OUT_OF_MEMORY_WORDS = (
    "insufficient memory",
    "out of memory",
    "cannot allocate memory",
    "malloc of size",
    "failed to launch worker thread",
)


def out_of_memory(error: BaseException) -> bool:
    """Whether ``error``, or an error it was raised from, is a failed allocation."""
    seen: BaseException | None = error
    for _ in range(10):
        if seen is None:
            return False
        if isinstance(seen, MemoryError):
            return True
        if isinstance(seen, OSError) and seen.errno == errno.ENOMEM:
            return True
        if any(words in str(seen).lower() for words in _OUT_OF_MEMORY_WORDS):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _raise_if_out_of_memory(error: BaseException) -> None:
    """zlib, Arrow and the OS report a failed allocation as their own errors: it is running
    out of memory (said as such by the caller), not a damaged file."""
    if out_of_memory(error):
        raise MemoryError(str(error)) from error


def _damaged_gzip_error(source: _Source) -> DataError:
    """The message for a gzip file that cannot be decompressed."""
    return DataError(
        f"'{source.name}' is a gzip file that is damaged or incomplete and cannot be "
        "decompressed. Download or compress it again, or load the uncompressed file."
    )
