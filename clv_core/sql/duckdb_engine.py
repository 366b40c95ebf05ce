"""Run the feature and label SQL on DuckDB (embedded, no server).

The validated orders are handed to DuckDB as an Arrow table (no copy of the numeric columns);
the query runs on all cores and, with ``memory_limit``, spills to a temporary folder instead of
running out of memory. The attribute columns are joined by the reference's own code, so the
result equals :func:`clv_core.features.build_features` column for column (to floating-point
summation order, far below 1e-9 of the values).
"""

from __future__ import annotations

import datetime as dt
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pandas as pd

from clv_core.errors import ConfigError, DataError
from clv_core.features import FeatureOptions, _cutoff_day
from clv_core.sql import feature_sql, label_sql
from clv_core.sql.frames import features_frame, labelled_table, labels_series, orders_table
from clv_core.validation import CustomerAttributes

__all__ = ["duckdb_connection", "duckdb_features", "duckdb_labels", "features_in", "labels_in"]


@contextmanager
def duckdb_connection(memory_limit: str | None) -> Iterator[Any]:
    """A fresh in-memory DuckDB connection; with a memory limit it spills to a temp folder."""
    import duckdb

    with tempfile.TemporaryDirectory(prefix="clv-duckdb-") as spill:
        connection = duckdb.connect(":memory:")
        try:
            if memory_limit is not None:
                try:
                    connection.execute(f"SET memory_limit = '{_checked_limit(memory_limit)}'")
                except duckdb.Error as error:
                    raise ConfigError(
                        f"--memory-limit {memory_limit!r} is not a memory size DuckDB knows "
                        "(write it like 4GB or 512MB)."
                    ) from error
                connection.execute(f"SET temp_directory = '{spill}'")
            yield connection
        except duckdb.OutOfMemoryException as error:
            raise DataError(
                f"DuckDB ran out of memory ({memory_limit or 'no limit set'}): give a larger "
                "--memory-limit, or free memory on this machine."
            ) from error
        finally:
            connection.close()


def _checked_limit(memory_limit: str) -> str:
    text = memory_limit.strip()
    if not text or not all(character.isalnum() or character in ". " for character in text):
        raise ConfigError(
            f"--memory-limit {memory_limit!r} is not a memory size (write it like 4GB or 512MB)."
        )
    return text


def duckdb_features(
    transactions: pd.DataFrame,
    cutoff: dt.date | str | pd.Timestamp,
    *,
    customers: CustomerAttributes | None = None,
    options: FeatureOptions | None = None,
    memory_limit: str | None = None,
) -> pd.DataFrame:
    """:func:`clv_core.features.build_features`, computed by DuckDB from the same orders."""
    with duckdb_connection(memory_limit) as connection:
        connection.register("orders", orders_table(transactions))
        first = pd.Timestamp(transactions["order_date"].min()) if len(transactions) else None
        return features_in(connection, cutoff, first, customers=customers, options=options)


def features_in(
    connection: Any,
    cutoff: dt.date | str | pd.Timestamp,
    first_date: pd.Timestamp | None,
    *,
    customers: CustomerAttributes | None = None,
    options: FeatureOptions | None = None,
) -> pd.DataFrame:
    """The features of the ``orders`` already in ``connection`` (``first_date``: its first)."""
    options = options or FeatureOptions()
    cutoff_day = _cutoff_day(cutoff)
    frame = connection.execute(feature_sql(cutoff_day, options)).df()
    if frame.empty:
        raise DataError(
            f"No customer has a purchase on or before the cutoff {pd.Timestamp(cutoff).date()}"
            + (f"; the data starts on {first_date.date()}." if first_date is not None else ".")
            + " Choose a later cutoff."
        )
    return features_frame(frame, options, cutoff_day, customers)


def duckdb_labels(
    transactions: pd.DataFrame,
    cutoff: dt.date | str | pd.Timestamp,
    horizon_days: int,
    customers: pd.Index,
    *,
    memory_limit: str | None = None,
) -> pd.Series:
    """:func:`clv_core.features.build_labels` for ``customers``, computed by DuckDB."""
    with duckdb_connection(memory_limit) as connection:
        connection.register("orders", orders_table(transactions))
        return labels_in(connection, cutoff, horizon_days, customers)


def labels_in(
    connection: Any,
    cutoff: dt.date | str | pd.Timestamp,
    horizon_days: int,
    customers: pd.Index,
) -> pd.Series:
    """The labels of ``customers`` from the ``orders`` already in ``connection``."""
    if horizon_days < 1:
        raise ConfigError(f"horizon_days must be a positive number of days, got {horizon_days}.")
    connection.register("labelled", labelled_table(customers))
    try:
        frame = connection.execute(label_sql(_cutoff_day(cutoff), horizon_days)).df()
    finally:
        connection.unregister("labelled")
    return labels_series(frame, customers)
