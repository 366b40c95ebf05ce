"""Run the feature and label SQL on Apache Spark (local mode here, any cluster in production).

The query text is the canonical one of :mod:`clv_core.sql`, translated from DuckDB's dialect to
Spark SQL by ``sqlglot``: there is no second hand-written version. The validated orders go to
Spark as an Arrow table; the master comes from ``CLV_SPARK_MASTER`` (default ``local[*]``, all
cores of this machine), or from ``spark-submit`` when the command runs under it
(``spark-submit --master yarn clv_core/__main__.py features --engine spark ...``). Spark needs
``pyspark`` (``requirements-spark.txt``) and Java 17 or later; without them the engine says so
in one message instead of a JVM stack trace. In local mode the driver gets
``CLV_SPARK_DRIVER_MEMORY`` (default 4g): it holds the orders it hands out and the features it
collects.
"""

from __future__ import annotations

import datetime as dt
import os
import sys
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pandas as pd

from clv_core.errors import ConfigError, DataError
from clv_core.features import FeatureOptions
from clv_core.sql.frames import features_from, labels_from, orders_table
from clv_core.sql.runner import SparkRunner, _missing_package, to_spark_sql
from clv_core.sql.validation import SqlSource
from clv_core.validation import CustomerAttributes

__all__ = [
    "spark_features",
    "spark_labels",
    "spark_log",
    "spark_session",
    "to_spark_sql",
]

MASTER_VARIABLE = "CLV_SPARK_MASTER"
DRIVER_MEMORY_VARIABLE = "CLV_SPARK_DRIVER_MEMORY"


@contextmanager
def spark_session(master: str | None = None) -> Iterator[Any]:
    """A Spark session for one run (the active one when there is one, else a new one, stopped
    afterwards)."""
    try:
        from pyspark.errors import PySparkException
        from pyspark.sql import SparkSession
    except ImportError as error:
        raise ConfigError(_missing_package("pyspark")) from error
    active = SparkSession.getActiveSession()
    if active is not None:
        yield active
        return
    builder = (
        SparkSession.builder.appName("clv-features")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.session.timeZone", "UTC")
    )
    chosen = master or os.environ.get(MASTER_VARIABLE)
    if chosen is not None or "PYSPARK_GATEWAY_PORT" not in os.environ:
        # Under spark-submit (which starts the gateway) the master and the driver's memory are
        # spark-submit's own. Here the driver holds the orders it hands to the executors and
        # the features it collects: Spark's default of 1 GB loses results past a few million
        # rows.
        master = chosen or "local[*]"
        builder = builder.master(master).config(
            "spark.driver.memory", os.environ.get(DRIVER_MEMORY_VARIABLE, "4g")
        )
        if master.startswith("local"):
            # Local Python workers (scoring) run this interpreter, with its packages; pyspark
            # reads the choice from the environment when the context starts.
            os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
            # Spark's 200 shuffle partitions are meant for a cluster: on one machine each of
            # the validation's small aggregations would run 200 tasks.
            cores = os.cpu_count() or 2
            builder = builder.config("spark.sql.shuffle.partitions", str(4 * cores))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)  # pyspark and pandas 3, see _run
            session = builder.getOrCreate()
    except (PySparkException, OSError, RuntimeError) as error:
        raise DataError(
            "Spark could not start: it needs Java 17 or later (Debian: apt-get install "
            "default-jre-headless, or set JAVA_HOME) and a reachable master "
            f"({MASTER_VARIABLE}). Spark said: {str(error).splitlines()[0][:300]}"
        ) from error
    session.sparkContext.setLogLevel("ERROR")
    try:
        yield session
    finally:
        session.stop()


def _first_cause(error: Exception) -> str:
    """The line of a Spark error that says what happened (not the JVM stack)."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    causes = [line for line in lines if line.startswith(("Caused by", "org.apache.spark"))]
    chosen = causes[-1] if causes else (lines[0] if lines else type(error).__name__)
    return chosen[:300]


def spark_features(
    transactions: pd.DataFrame,
    cutoff: dt.date | str | pd.Timestamp,
    *,
    customers: CustomerAttributes | None = None,
    options: FeatureOptions | None = None,
    master: str | None = None,
) -> pd.DataFrame:
    """:func:`clv_core.features.build_features`, computed by Spark from the same orders."""
    first = pd.Timestamp(transactions["order_date"].min()) if len(transactions) else None
    with _orders_on_spark(transactions, master) as runner:
        return features_from(runner, cutoff, first, customers=customers, options=options)


def spark_labels(
    transactions: pd.DataFrame,
    cutoff: dt.date | str | pd.Timestamp,
    horizon_days: int,
    customers: pd.Index,
    *,
    master: str | None = None,
) -> pd.Series:
    """:func:`clv_core.features.build_labels` for ``customers``, computed by Spark."""
    if horizon_days < 1:
        raise ConfigError(f"horizon_days must be a positive number of days, got {horizon_days}.")
    with _orders_on_spark(transactions, master) as runner:
        return labels_from(runner, cutoff, horizon_days, customers)


@contextmanager
def _orders_on_spark(transactions: pd.DataFrame, master: str | None) -> Iterator[SparkRunner]:
    """A runner whose ``orders`` are the validated orders, shipped to Spark as Arrow."""
    with spark_session(master) as session, spark_sql_errors():
        runner = SparkRunner(session)
        runner.register("orders", orders_table(transactions))
        yield runner


# Spark's type names -> the DuckDB names the SQL validation tells apart.
_SPARK_TYPES = {
    "string": "VARCHAR",
    "timestamp": "TIMESTAMP",
    "timestamp_ntz": "TIMESTAMP",
    "double": "DOUBLE",
    "float": "DOUBLE",
    "bigint": "BIGINT",
    "int": "BIGINT",
    "smallint": "BIGINT",
    "tinyint": "BIGINT",
    "date": "DATE",
}


def spark_log(runner: SparkRunner, path: str) -> SqlSource:
    """A Parquet or CSV log at a path Spark reaches (``s3a://``, ``hdfs://``, local) as ``raw``.

    Every row keeps its position in the file (``__row``, for the examples of the report). CSV
    cells are read as text and cleaned as the Python reader cleans them (surrounding whitespace
    stripped, the usual missing markers as missing). A CSV (named .csv, .tsv or .txt, gzip too)
    needs its column names in row 1; any other path (a file or a folder of parts) is Parquet.
    """
    from pyspark.sql import functions as spark_functions

    session = runner.session
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            if _is_parquet_path(path):
                data = session.read.parquet(path)
            else:
                data = _read_csv(session, path)
            columns = tuple(str(name) for name in data.columns)
            data = data.toDF(*[f"c{index}" for index in range(len(columns))])
            data = _with_positions(data, spark_functions)
            data.createOrReplaceTempView("raw_read")
            types = tuple(
                _SPARK_TYPES.get(kind.split("(")[0], kind.upper()) for _, kind in data.dtypes[:-1]
            )
            if not _is_parquet_path(path):
                cleaned = ", ".join(_clean_cell_sql(f"c{index}") for index in range(len(columns)))
                runner.keep("raw", f"SELECT {cleaned}, __row FROM raw_read")
            else:
                runner.keep("raw", "SELECT * FROM raw_read")
            n_rows = int(runner.rows("SELECT COUNT(*) FROM raw")[0][0])
    except _spark_errors() as error:
        cause = _first_cause(error)
        hint = (
            "Spark reads Parquet timestamps in micro- or milliseconds: write the file with "
            "pandas' to_parquet(..., coerce_timestamps='us'), or use --engine duckdb"
            if "TIMESTAMP(NANOS" in cause
            else "Check the path and that Spark can reach it (s3a:// and hdfs:// need the "
            "cluster's Hadoop settings)"
        )
        raise DataError(f"Spark could not read '{path}': {cause}. {hint}.") from error
    return SqlSource(runner, columns, types, n_rows, None)


def _spark_errors() -> tuple[type[Exception], ...]:
    from py4j.protocol import Py4JError
    from pyspark.errors import PySparkException

    return (PySparkException, Py4JError)


def _is_parquet_path(path: str) -> bool:
    """Text files by their suffix; anything else (a file, a folder of parts) is Parquet."""
    return not path.rstrip("/").lower().endswith(_TEXT_SUFFIXES)


_TEXT_SUFFIXES = (".csv", ".tsv", ".txt", ".csv.gz", ".tsv.gz", ".txt.gz")


def _read_csv(session: Any, path: str) -> Any:
    """A CSV with its column names in row 1, every cell as text (delimiter sniffed)."""
    from clv_core.loading.layout import _sniff_layout

    lines = [row.value for row in session.read.text(path).limit(50).collect()]
    layout = _sniff_layout("\n".join(lines), path.rsplit("/", 1)[-1])
    if layout.header_row != 1 or len(layout.delimiter) != 1:
        raise DataError(
            f"'{path}' does not have its column names in row 1 with one delimiter character; "
            "Spark reads such logs as Parquet or plain CSV. Save it as one of those, or use "
            "--engine duckdb on this machine."
        )
    return (
        session.read.option("header", "true")
        .option("inferSchema", "false")
        .option("sep", layout.delimiter)
        .option("quote", '"')
        .option("escape", '"')
        .option("mode", "FAILFAST")
        .csv(path)
    )


def _with_positions(data: Any, functions: Any) -> Any:
    """``data`` with ``__row``: each row's position in the file(s), in Spark's read order.

    ``monotonically_increasing_id`` numbers rows within each input split (the split in its high
    bits); the rows of the splits before it give each split's offset.
    """
    split_bits = 33
    data = data.withColumn("__id", functions.monotonically_increasing_id())
    data = data.withColumn("__split", functions.shiftright("__id", split_bits))
    counts = sorted(
        (int(row["__split"]), int(row["count"]))
        for row in data.groupBy("__split").count().collect()
    )
    offsets, total = [], 0
    for split, count in counts:
        offsets.append((split, total))
        total += count
    session = data.sparkSession
    table = session.createDataFrame(offsets, "__split long, __offset long")
    positioned = data.join(functions.broadcast(table), "__split")
    mask = (1 << split_bits) - 1
    return positioned.withColumn(
        "__row", functions.col("__offset") + functions.expr(f"__id & {mask}")
    ).drop("__id", "__split", "__offset")


def _clean_cell_sql(name: str) -> str:
    """A CSV cell as the Python reader leaves it: stripped; a missing marker is missing."""
    from clv_core.loading.cells import _CELL_WHITESPACE, _MISSING_MARKERS

    markers = ", ".join("'" + marker.replace("'", "''") + "'" for marker in _MISSING_MARKERS)
    spaces = "'" + _CELL_WHITESPACE + "'"
    return (
        f"CASE WHEN {name} IS NULL OR {name} IN ({markers}) THEN NULL "
        f"WHEN TRIM({name}, {spaces}) IN ({markers}) THEN NULL "
        f"ELSE TRIM({name}, {spaces}) END AS {name}"
    )


@contextmanager
def spark_sql_errors() -> Iterator[None]:
    """Spark's and the JVM's errors as one :class:`~clv_core.errors.DataError` line."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            yield
    except _spark_errors() as error:
        raise DataError(
            "Spark could not validate the log or compute the features (for a large log on one "
            f"machine, give the driver more memory with {DRIVER_MEMORY_VARIABLE}, e.g. 8g): "
            f"{_first_cause(error)}"
        ) from error
