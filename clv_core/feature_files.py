"""A feature table written to a CSV or Parquet file, from frames that arrive one after another.

The SQL engines stream a feature table of any size in frames of customers
(:func:`clv_core.sql.frames.feature_frames`); a table computed whole is one frame. Either way
the file is the same: the ``customer_id`` index first, then the columns, as pandas writes a
frame (``DataFrame.to_csv`` / ``DataFrame.to_parquet`` with the index, the Parquet schema
carrying pandas' metadata so ``pandas.read_parquet`` gives the index back). Only the Parquet
row groups follow the frames.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pandas as pd

from clv_core.errors import ConfigError, DataError

__all__ = ["FEATURE_FILE_SUFFIXES", "write_feature_frames"]

FEATURE_FILE_SUFFIXES = (".csv", ".parquet")


def write_feature_frames(frames: Iterable[pd.DataFrame], out: Path) -> int:
    """Write the frames, in order, as one table to ``out`` (``.csv`` or ``.parquet``) and return
    its number of rows. The table is written to a temporary file beside ``out`` that replaces
    ``out`` once complete: when a frame fails to arrive or to be written (an engine error, a
    full disk), a file already at ``out`` is left as it was and nothing else remains."""
    suffix = out.suffix.lower()
    if suffix not in FEATURE_FILE_SUFFIXES:
        raise ConfigError(f"'{out}' must end in .csv or .parquet.")
    writer = _ParquetFrames(out) if suffix == ".parquet" else _CsvFrames(out)
    rows = 0
    try:
        for frame in frames:
            writer.write(frame)
            rows += len(frame)
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

    def write(self, frame: pd.DataFrame) -> None:
        if self.handle is None:
            self.out.parent.mkdir(parents=True, exist_ok=True)
            self.handle = self.open(frame)
            self.first(frame)
        else:
            self.more(frame)

    def open(self, frame: pd.DataFrame) -> Any:
        raise NotImplementedError

    def first(self, frame: pd.DataFrame) -> None:
        self.more(frame)

    def more(self, frame: pd.DataFrame) -> None:
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


class _CsvFrames(_Frames):
    """``DataFrame.to_csv(out, encoding="utf-8")``, one frame after another."""

    def open(self, frame: pd.DataFrame) -> Any:
        # pandas opens a path it writes the same way.
        return self.partial.open("w", encoding="utf-8", newline="")

    def first(self, frame: pd.DataFrame) -> None:
        frame.to_csv(self.handle)

    def more(self, frame: pd.DataFrame) -> None:
        frame.to_csv(self.handle, header=False)


class _ParquetFrames(_Frames):
    """``DataFrame.to_parquet(out)``: one row group (or more) per frame, one schema."""

    schema: Any = None

    def open(self, frame: pd.DataFrame) -> Any:
        import pyarrow as pa
        import pyarrow.parquet as pq

        self.schema = pa.Schema.from_pandas(frame, preserve_index=True)
        return pq.ParquetWriter(self.partial, self.schema, compression="snappy")

    def more(self, frame: pd.DataFrame) -> None:
        import pyarrow as pa

        table = pa.Table.from_pandas(frame, schema=self.schema, preserve_index=True)
        self.handle.write_table(table)
