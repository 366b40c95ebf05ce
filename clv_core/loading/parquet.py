"""Reading a Parquet file, keeping native column types.

The footer's row count, column count and declared sizes are checked against the limits before
anything is read; the data are then decoded a batch at a time and refused as soon as they pass
the limits. Text columns are cleaned like text cells; a pandas index stored in the file becomes
columns (or is dropped when unnamed).
"""

from __future__ import annotations

from typing import Final

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from clv_core.errors import DataError
from clv_core.limits import LoadLimits, check_ratio, format_bytes, limit_hint
from clv_core.loading.cells import _clean_text_array
from clv_core.loading.header import _check_cell_lengths, _finish_table, _too_many_rows_error
from clv_core.loading.loaded import LoadedTable
from clv_core.loading.source import _Source

# Parquet footers of real tables are kilobytes; these bound what the footer's decoder accepts.
_PARQUET_THRIFT_BYTES: Final = 16 * (1 << 20)

_PARQUET_THRIFT_ITEMS: Final = 1_000_000

# Decoded a batch at a time, so a file whose pages expand past the limits stops early.
_PARQUET_BATCH_ROWS: Final = 16_384


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
