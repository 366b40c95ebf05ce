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
from clv_core.features import FeatureOptions
from clv_core.sql.frames import features_from, labels_from, orders_table
from clv_core.sql.runner import DuckDBRunner
from clv_core.validation import CustomerAttributes

__all__ = ["duckdb_connection", "duckdb_features", "duckdb_labels"]


@contextmanager
def duckdb_connection(memory_limit: str | None) -> Iterator[Any]:
    """A fresh in-memory DuckDB connection; with a memory limit it spills to a temp folder."""
    import duckdb

    with tempfile.TemporaryDirectory(prefix="clv-duckdb-") as spill:
        connection = duckdb.connect(":memory:")
        try:
            # Every query that needs an order says it (ORDER BY, row positions): DuckDB may then
            # write the tables it keeps in any order, which is much cheaper (and needs less
            # memory) than preserving the order rows arrive in.
            connection.execute("SET preserve_insertion_order = false")
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
        except duckdb.IOException as error:
            raise DataError(
                f"DuckDB could not read or write a file ({_first_line(error)}). When the disk is "
                f"full: DuckDB spills to {tempfile.gettempdir()} beyond --memory-limit; free "
                "space there, point TMPDIR at a larger disk, or give a larger --memory-limit."
            ) from error
        except duckdb.Error as error:
            raise DataError(
                f"DuckDB could not compute the features: {_first_line(error)}"
            ) from error
        finally:
            connection.close()


def _first_line(error: Exception) -> str:
    """An engine error's first line."""
    lines = str(error).strip().splitlines()
    return (lines[0] if lines else type(error).__name__)[:300]


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
        return features_from(
            DuckDBRunner(connection), cutoff, first, customers=customers, options=options
        )


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
        return labels_from(DuckDBRunner(connection), cutoff, horizon_days, customers)
