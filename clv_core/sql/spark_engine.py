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
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pandas as pd

from clv_core.errors import ConfigError, DataError
from clv_core.features import FeatureOptions, _cutoff_day
from clv_core.sql import feature_sql, label_sql
from clv_core.sql.frames import features_frame, labelled_table, labels_series, orders_table
from clv_core.validation import CustomerAttributes

__all__ = ["spark_features", "spark_labels", "spark_session", "to_spark_sql"]

MASTER_VARIABLE = "CLV_SPARK_MASTER"
DRIVER_MEMORY_VARIABLE = "CLV_SPARK_DRIVER_MEMORY"


def to_spark_sql(query: str) -> str:
    """The canonical (DuckDB-dialect) query in Spark SQL."""
    try:
        import sqlglot
    except ImportError as error:
        raise ConfigError(_missing_package("sqlglot")) from error
    translated: str = sqlglot.transpile(query, read="duckdb", write="spark")[0]
    return translated


def _missing_package(name: str) -> str:
    return (
        f"The Spark engine needs the package '{name}': pip install -r requirements-spark.txt "
        "(or use --engine duckdb)."
    )


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
        builder = builder.master(chosen or "local[*]").config(
            "spark.driver.memory", os.environ.get(DRIVER_MEMORY_VARIABLE, "4g")
        )
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


def _run(session: Any, query: str, tables: dict[str, Any]) -> pd.DataFrame:
    """Register the Arrow ``tables`` as views, run the Spark SQL and return pandas."""
    from py4j.protocol import Py4JError
    from pyspark.errors import PySparkException

    try:
        with warnings.catch_warnings():
            # pyspark warns that it does not yet know pandas 3; nothing here goes through pandas
            # on the Spark side (Arrow in, Arrow out).
            warnings.simplefilter("ignore", FutureWarning)
            for name, table in tables.items():
                session.createDataFrame(table).createOrReplaceTempView(name)
            result = session.sql(to_spark_sql(query)).toArrow()
    except (PySparkException, Py4JError) as error:
        raise DataError(
            "Spark could not compute the features (for a large log on one machine, give the "
            f"driver more memory with {DRIVER_MEMORY_VARIABLE}, e.g. 8g): "
            f"{_first_cause(error)}"
        ) from error
    frame: pd.DataFrame = result.to_pandas()
    return frame


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
    options = options or FeatureOptions()
    cutoff_day = _cutoff_day(cutoff)
    with spark_session(master) as session:
        frame = _run(
            session, feature_sql(cutoff_day, options), {"orders": orders_table(transactions)}
        )
    if frame.empty:
        raise DataError(
            f"No customer has a purchase on or before the cutoff {pd.Timestamp(cutoff).date()}."
            " Choose a later cutoff."
        )
    return features_frame(frame, options, cutoff_day, customers)


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
    with spark_session(master) as session:
        frame = _run(
            session,
            label_sql(_cutoff_day(cutoff), horizon_days),
            {"orders": orders_table(transactions), "labelled": labelled_table(customers)},
        )
    return labels_series(frame, customers)
