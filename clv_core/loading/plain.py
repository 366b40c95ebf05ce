"""Whether a delimited text file is plain enough for a SQL engine to read it as the loader would.

The loader (:func:`clv_core.loading.load_table`) reads any text export: detected encodings,
title rows above the column names, blank lines, padded cells, unnamed and repeated columns. A
plain file is the common case of none of those: UTF-8, the column names in line 1, all of them
named and different, one character between the fields and no blank line. For such a file the
loader's table is the file's records with the usual missing markers as missing values, and
DuckDB's CSV reader gives the same cells (:func:`clv_core.sql.validation.register_csv` checks
what can only be seen in the rows: their number, cell lengths, padded cells, a last empty row).

:func:`plain_csv` runs the loader's own first steps on the file's start and says whether the
file is plain, or why not; it never raises: a file it turns down (or that the loader would
refuse) is read by the loader, which gives the message.
"""

from __future__ import annotations

import mmap
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from clv_core.errors import DataError
from clv_core.limits import LoadLimits
from clv_core.loading.encoding import _read_text_sample
from clv_core.loading.header import _check_header_size, _header_text, _looks_like_data
from clv_core.loading.layout import _WHITESPACE_DELIMITER, _check_first_line_fields, _sniff_layout
from clv_core.loading.source import _SAMPLE_BYTES, _detect_container, _resolve_source

__all__ = ["PlainCsv", "plain_csv"]

# Encodings DuckDB reads natively, as the loader decodes them (it skips a UTF-8 byte-order mark).
_PLAIN_ENCODINGS: Final = ("utf-8", "utf-8-sig")

# A blank line (the loader keeps one inside the table as an empty row, DuckDB skips it; at the
# end the loader removes it with a note) in any of the line-break conventions.
_BLANK_LINES: Final = (b"\n\n", b"\n\r\n", b"\r\r")


@dataclass(frozen=True, slots=True)
class PlainCsv:
    """A plain delimited text file: its path, name, delimiter and column names (line 1)."""

    path: Path
    name: str
    delimiter: str
    columns: tuple[str, ...]


def plain_csv(path: Path, limits: LoadLimits) -> PlainCsv | str:
    """The file's layout when it is plain (see the module), else why not."""
    try:
        source = _resolve_source(path, None, limits)
        if source.path is None or source.size == 0:
            return "it is empty"
        if limits.max_bytes is not None and source.size > limits.max_bytes:
            return "it is over the size limit"
        head = source.read_head(_SAMPLE_BYTES)
        container = _detect_container(head, source)
        if container != "text":
            return "it is gzip-compressed" if container == "gzip" else f"it is {container}"
        sample = _read_text_sample(source, head=head, compressed=False)
        if sample.encoding not in _PLAIN_ENCODINGS:
            return f"it is not UTF-8 but {sample.encoding}"
        _check_first_line_fields(sample.text, source.name)
        layout = _sniff_layout(sample.text, source.name)
        _check_header_size(layout.header, f"'{source.name}'", 1, limits)
    except (DataError, OSError, ValueError):
        return "the Python reader is needed to say what is wrong with it"
    if layout.header_row != 1:
        return "its column names are not in line 1"
    if layout.delimiter == _WHITESPACE_DELIMITER or len(layout.delimiter) != 1:
        return "its fields are separated by runs of spaces"
    names = tuple(_header_text(cell) for cell in layout.header)
    if len(names) < 2 or not all(names) or len({name.casefold() for name in names}) < len(names):
        return "a column has no name, or two columns have the same name"
    if all(_looks_like_data(cell) for cell in layout.header):
        return "its first line looks like data, not column names"
    if _has_blank_line(source.path):
        return "it has a blank line"
    return PlainCsv(source.path, source.name, layout.delimiter, names)


def _has_blank_line(path: Path) -> bool:
    """Whether the file has an empty line (also inside a quoted value: then it is not plain
    for want of a cheaper test, and the loader reads it)."""
    with path.open("rb") as handle, mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as data:
        return any(data.find(blank) >= 0 for blank in _BLANK_LINES)
