"""One interface over the SQL engines: run a query, keep a result as a table, hand data in.

The validation and feature SQL of :mod:`clv_core.sql` is written once, in DuckDB's dialect kept
to a portable subset; :class:`DuckDBRunner` runs it as it is and :class:`SparkRunner` translates
it to Spark SQL (:func:`to_spark_sql`) first. Intermediate results are
kept as temporary tables (DuckDB) or cached temporary views (Spark) under the names the next
queries use.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Protocol

import pandas as pd

from clv_core.errors import ConfigError

__all__ = ["DuckDBRunner", "SparkRunner", "SqlRunner", "to_spark_sql"]


def to_spark_sql(query: str) -> str:
    """The canonical (DuckDB-dialect) query in Spark SQL."""
    try:
        import sqlglot
    except ImportError as error:
        raise ConfigError(_missing_package("sqlglot")) from error
    tree = sqlglot.parse_one(query, read="duckdb").transform(_spark_function)
    translated: str = tree.sql(dialect="spark")
    return translated


def _spark_function(node: Any) -> Any:
    """The two functions whose Spark twin sqlglot does not pick (changed in the parsed tree, so
    text inside string literals is never touched)."""
    from sqlglot import exp

    # DuckDB's hash is 64 bits, Spark's HASH 32 (too many collisions for counting distinct ids
    # by their hashes): XXHASH64 is Spark's 64-bit hash.
    if isinstance(node, exp.Anonymous) and str(node.this).lower() == "hash":
        return exp.Anonymous(this="XXHASH64", expressions=list(node.expressions))
    # DuckDB's quantile_cont(x, q) is Spark's exact percentile(x, q) (sqlglot would write the
    # WITHIN GROUP function's name).
    if isinstance(node, exp.PercentileCont):
        return exp.Anonymous(this="PERCENTILE", expressions=[node.this, node.expression])
    return node


def _missing_package(name: str) -> str:
    return (
        f"The Spark engine needs the package '{name}': pip install -r requirements-spark.txt "
        "(or use --engine duckdb)."
    )


class SqlRunner(Protocol):
    """What the SQL validation and features need of an engine."""

    def keep(self, name: str, query: str) -> None:
        """Run ``query`` and keep its result as the table ``name`` (replacing one)."""

    def view(self, name: str, query: str) -> None:
        """Name ``query`` as ``name``; each later query that reads it runs it again."""

    def rows(self, query: str) -> list[tuple[Any, ...]]:
        """The result rows of ``query`` (small results only)."""

    def frame(self, query: str) -> pd.DataFrame:
        """The result of ``query`` as a pandas frame (small results only)."""

    def arrow(self, query: str) -> Any:
        """The result of ``query`` as an Arrow table."""

    def batches(self, query: str, rows: int) -> Iterator[Any]:
        """The result of ``query`` as Arrow record batches of at most ``rows`` rows, in order
        (streamed where the engine can, so a large result is never held whole)."""

    def register(self, name: str, table: Any) -> None:
        """Make an Arrow table (small, from this process) the table ``name``."""

    def drop(self, name: str) -> None:
        """Forget a table made by :meth:`register`."""


class DuckDBRunner:
    """Queries on a DuckDB connection."""

    def __init__(self, connection: Any) -> None:
        self.connection = connection

    def keep(self, name: str, query: str) -> None:
        self.connection.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS {query}")

    def view(self, name: str, query: str) -> None:
        self.connection.execute(f"CREATE OR REPLACE TEMP VIEW {name} AS {query}")

    def rows(self, query: str) -> list[tuple[Any, ...]]:
        return [tuple(row) for row in self.connection.execute(query).fetchall()]

    def frame(self, query: str) -> pd.DataFrame:
        frame: pd.DataFrame = self.connection.execute(query).df()
        return frame

    def arrow(self, query: str) -> Any:
        return self.connection.sql(query).to_arrow_table()

    def batches(self, query: str, rows: int) -> Iterator[Any]:
        yield from self.connection.sql(query).to_arrow_reader(rows)

    def register(self, name: str, table: Any) -> None:
        self.connection.register(name, table)

    def drop(self, name: str) -> None:
        self.connection.unregister(name)


class SparkRunner:
    """Queries on a Spark session, translated to Spark SQL; kept tables are cached views."""

    def __init__(self, session: Any) -> None:
        self.session = session
        self._kept: dict[str, Any] = {}

    def _sql(self, query: str) -> Any:
        return self.session.sql(to_spark_sql(query))

    def keep(self, name: str, query: str) -> None:
        result = self._sql(query).persist()
        # Materialise before the view it was computed from is replaced.
        result.count()
        result.createOrReplaceTempView(name)
        previous = self._kept.pop(name, None)
        if previous is not None:
            previous.unpersist()
        self._kept[name] = result

    def view(self, name: str, query: str) -> None:
        # Each Spark query is a job of its own: computing the view once is cheaper.
        self.keep(name, query)

    def rows(self, query: str) -> list[tuple[Any, ...]]:
        return [tuple(row) for row in self._sql(query).collect()]

    def frame(self, query: str) -> pd.DataFrame:
        frame: pd.DataFrame = self._sql(query).toArrow().to_pandas()
        return frame

    def arrow(self, query: str) -> Any:
        return self._sql(query).toArrow()

    def batches(self, query: str, rows: int) -> Iterator[Any]:
        # The driver collects the result (as arrow() does): Spark writes large results itself.
        yield from self.arrow(query).to_batches(max_chunksize=rows)

    def register(self, name: str, table: Any) -> None:
        self.session.createDataFrame(table).createOrReplaceTempView(name)

    def drop(self, name: str) -> None:
        self.session.catalog.dropTempView(name)

    def release(self) -> None:
        """Unpersist every kept table."""
        for result in self._kept.values():
            result.unpersist()
        self._kept.clear()
