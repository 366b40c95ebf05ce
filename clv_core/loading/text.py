"""Reading delimited text (csv, tsv, txt; gzip-compressed too) with every cell as a string.

:func:`_load_delimited` decodes the file's start (:mod:`~clv_core.loading.encoding`), sniffs
its layout (:mod:`~clv_core.loading.layout`) and reads the whole file: with pyarrow's CSV reader
for a character delimiter (streamed, stopping at the row limit, when the file may pass it) or
with pandas for runs of whitespace. Reading failures become messages that name the row and say
what to do.
"""

from __future__ import annotations

import io
import re
import zlib
from collections.abc import Callable, Sequence
from typing import Final

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

from clv_core.errors import DataError
from clv_core.limits import InflateBudget, LoadLimits, format_bytes
from clv_core.loading.cells import _CELL_WHITESPACE, _MISSING_MARKERS, _clean_text_array
from clv_core.loading.encoding import (
    _damaged_gzip_error,
    _locate_undecodable,
    _raise_if_out_of_memory,
    _read_text_sample,
    _TextSample,
)
from clv_core.loading.header import (
    _check_cell_lengths,
    _check_header_size,
    _finish_table,
    _preamble_note,
)
from clv_core.loading.layout import (
    _WHITESPACE_DELIMITER,
    _check_first_line_fields,
    _field_count_error,
    _sniff_layout,
    _TextLayout,
)
from clv_core.loading.loaded import LoadedTable
from clv_core.loading.source import _SAMPLE_BYTES, _Source

# When the row count is estimated to be below this share of ``max_rows`` the file is read in
# one go (multi-threaded) and counted afterwards; above it, it is streamed so that reading
# stops as soon as the limit is passed.
_STREAM_ABOVE_LIMIT_SHARE: Final = 0.5

# pyarrow reads text in blocks of this size; one row must fit in a block.
_ARROW_BLOCK_BYTES: Final = 4 << 20

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
        _raise_if_out_of_memory(error)
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
        _raise_if_out_of_memory(error)
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
            _raise_if_out_of_memory(error)
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
