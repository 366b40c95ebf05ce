"""A feature table written to a CSV or Parquet file, from parts that arrive one after another.

The SQL engines stream a feature table of any size as Arrow tables of customers
(:func:`clv_core.sql.frames.feature_tables`); a table computed whole is one pandas frame. Either
way the file is the same: the ``customer_id`` index first, then the columns, as pandas writes a
frame (``DataFrame.to_csv`` / ``DataFrame.to_parquet`` with the index, the Parquet schema
carrying pandas' metadata so ``pandas.read_parquet`` gives the index back). Only the Parquet
row groups follow the parts. Arrow tables go into a Parquet file as they are (no pandas frame
is built for them, which is most of the cost of writing a large table).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pandas as pd

from clv_core.errors import ConfigError, DataError

__all__ = ["FEATURE_FILE_SUFFIXES", "table_frame", "write_feature_frames"]

FEATURE_FILE_SUFFIXES = (".csv", ".parquet")


def table_frame(table: Any) -> pd.DataFrame:
    """An Arrow feature table (its first column the ids, the others numbers) as the frame the
    pandas reference builds: the ids as its index, every other column float64 (NaN where the
    engine gave no value)."""
    table = _reference_table(table)
    ids = table.column(0).to_numpy(zero_copy_only=False)
    return pd.DataFrame(
        {name: table.column(name).to_numpy() for name in table.column_names[1:]},
        index=pd.Index(ids.astype(str), name=table.column_names[0]),
    )


def _reference_table(table: Any) -> Any:
    """The Arrow table with the reference's values: the ids as a NumPy text array holds them
    (trailing NUL characters dropped), the other columns float64 with NaN for no value."""
    import pyarrow as pa
    import pyarrow.compute as pc

    ids = table.column(0)
    if pc.any(pc.ends_with(ids, "\x00")).as_py():
        ids = pc.utf8_rtrim(ids, characters="\x00")
    columns = [ids] + [
        pc.fill_null(table.column(index).cast(pa.float64()), float("nan"))
        for index in range(1, table.num_columns)
    ]
    return pa.Table.from_arrays(columns, names=table.column_names)


def write_feature_frames(frames: Iterable[Any], out: Path) -> int:
    """Write the frames, in order, as one table to ``out`` (``.csv`` or ``.parquet``) and return
    its number of rows. A frame is a pandas frame (the ids its index) or an Arrow table in the
    form :func:`table_frame` reads (what the SQL engines stream). The table is written to a
    temporary file beside ``out`` that replaces ``out`` once complete: when a frame fails to
    arrive or to be written (an engine error, a full disk), a file already at ``out`` is left as
    it was and nothing else remains."""
    suffix = out.suffix.lower()
    if suffix not in FEATURE_FILE_SUFFIXES:
        raise ConfigError(f"'{out}' must end in .csv or .parquet.")
    writer = _ParquetFrames(out) if suffix == ".parquet" else _CsvFrames(out)
    rows = 0
    try:
        for frame in frames:
            size = len(frame) if isinstance(frame, pd.DataFrame) else frame.num_rows
            if not size and not isinstance(frame, pd.DataFrame):
                # An empty Arrow part adds nothing (and has no row to take a schema from).
                continue
            writer.write(frame)
            rows += size
        writer.close()
    except OSError as error:
        writer.abandon()
        raise DataError(f"Could not write '{out}': {error.strerror or error}.") from error
    except BaseException:
        writer.abandon()
        raise
    return rows


class _Frames:
    """A temporary file beside ``out``, opened on the first frame (so a failure before it
    creates nothing), that replaces ``out`` when closed."""

    def __init__(self, out: Path) -> None:
        self.out = out
        self.partial = out.with_name(f".{out.name}.{os.getpid()}.partial")
        self.handle: Any = None

    def write(self, frame: Any) -> None:
        if self.handle is None:
            self.out.parent.mkdir(parents=True, exist_ok=True)
            self.handle = self.open(frame)
            self.first(frame)
        else:
            self.more(frame)

    def open(self, frame: Any) -> Any:
        raise NotImplementedError

    def first(self, frame: Any) -> None:
        self.more(frame)

    def more(self, frame: Any) -> None:
        raise NotImplementedError

    def close(self) -> None:
        if self.handle is not None:
            self.handle.close()
            self.partial.replace(self.out)

    def abandon(self) -> None:
        """Close and remove what was written."""
        if self.handle is not None:
            with contextlib.suppress(Exception):
                self.handle.close()
            self.partial.unlink(missing_ok=True)


def _frame(frame: Any) -> pd.DataFrame:
    return frame if isinstance(frame, pd.DataFrame) else table_frame(frame)


class _CsvFrames(_Frames):
    """``DataFrame.to_csv(out, encoding="utf-8")``, one frame after another."""

    def open(self, frame: Any) -> Any:
        # pandas opens a path it writes the same way.
        return self.partial.open("w", encoding="utf-8", newline="")

    def first(self, frame: Any) -> None:
        _frame(frame).to_csv(self.handle)

    def more(self, frame: Any) -> None:
        _frame(frame).to_csv(self.handle, header=False)


class _ParquetFrames(_Frames):
    """``DataFrame.to_parquet(out)``: one row group (or more) per frame, one schema."""

    schema: Any = None

    def open(self, frame: Any) -> Any:
        import pyarrow as pa
        import pyarrow.parquet as pq

        # An Arrow table's schema is the one pandas gives its frame: that of its first row
        # (the types and metadata depend on the columns, the first part has a row).
        model = _frame(frame if isinstance(frame, pd.DataFrame) else frame.slice(0, 1))
        self.schema = pa.Schema.from_pandas(model, preserve_index=True)
        return pq.ParquetWriter(self.partial, self.schema, compression="snappy")

    def more(self, frame: Any) -> None:
        import pyarrow as pa

        if isinstance(frame, pd.DataFrame):
            table = pa.Table.from_pandas(frame, schema=self.schema, preserve_index=True)
        else:
            values = _reference_table(frame)
            # pandas puts the index after the columns.
            table = pa.Table.from_arrays(
                [values.column(field.name).cast(field.type) for field in self.schema],
                schema=self.schema,
            )
        self.handle.write_table(table)
