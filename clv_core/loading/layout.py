"""How a delimited text file is laid out, sniffed from its first records.

The delimiter (comma, semicolon, tab, pipe, or runs of whitespace as a last resort) is the one
that splits the column names and the rows below them consistently; the column names are the
first line unless a preamble (a title, blank lines) sits above them. Also the messages for
text that no delimiter splits into a table and for a row whose field count differs from the
header's.
"""

from __future__ import annotations

import csv
import io
import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from clv_core.errors import DataError
from clv_core.loading.cells import _CELL_WHITESPACE
from clv_core.loading.header import (
    _HEADER_SEARCH_ROWS,
    _MIN_CONSISTENT_SHARE,
    _SNIFF_RECORDS,
    _filled_count,
    _header_position,
    _preamble_title,
)

_DELIMITERS: Final = ((",", "comma"), (";", "semicolon"), ("\t", "tab"), ("|", "pipe"))

_WHITESPACE_DELIMITER: Final = "whitespace"


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
