"""Features (and labels) of a transaction log, on the engine the analyst chose.

:func:`write_log_features` is what ``python -m clv_core features`` runs (:func:`log_features`
returns the frame instead). With the default engine, DuckDB, the log is validated and its
features are computed as SQL (:mod:`clv_core.sql.validation`, :mod:`clv_core.sql`) without the
clean orders ever becoming a pandas frame; a Parquet log is read by DuckDB as it streams, a plain
CSV log (:class:`CsvLog`) is read by DuckDB into a table it may spill, and the feature table
streams into the output file, so a log larger than memory works under a memory limit (DuckDB
spills to disk). A log the SQL does not cover (see
:func:`clv_core.sql.validation.lane_problem`) is validated by the pandas reference and its
features are still computed by DuckDB; ``pandas`` and ``spark`` run the reference or Spark after
the reference's validation. Every route gives the same features, labels and row accounting.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pandas as pd

from clv_core.columns import ColumnMapping, detect_roles
from clv_core.errors import ConfigError, DataError
from clv_core.limits import LoadLimits
from clv_core.loading import LoadedTable, load_table
from clv_core.money import MoneyCheck
from clv_core.splits import HistoryFacts, SplitKind, check_history, time_windows
from clv_core.usecases.inputs import (
    check_attributes,
    check_inputs,
    report_lines,
    unmatched_report,
    validation_data,
)
from clv_core.validation import (
    CustomerAttributes,
    ValidationOptions,
    ValidationReport,
)

__all__ = [
    "ENGINES",
    "CsvLog",
    "FeatureFile",
    "FeatureRequest",
    "FeatureResult",
    "LogCheck",
    "ParquetLog",
    "SparkLog",
    "SqlChecked",
    "check_in_sql",
    "log_features",
    "write_log_features",
]

ENGINES = ("duckdb", "pandas", "spark")


@dataclass(frozen=True, slots=True)
class FeatureRequest:
    """What to compute: features at ``cutoff``, labels over ``horizon_days`` when given."""

    cutoff: pd.Timestamp
    horizon_days: int | None = None
    engine: str = "duckdb"
    memory_limit: str | None = None
    roles: Mapping[str, str | None] = field(default_factory=dict)
    options: ValidationOptions = field(default_factory=ValidationOptions)

    def __post_init__(self) -> None:
        if self.engine not in ENGINES:
            raise ConfigError(f"engine must be one of {', '.join(ENGINES)}, got {self.engine!r}.")
        if self.memory_limit is not None and self.engine != "duckdb":
            raise ConfigError("--memory-limit goes with --engine duckdb.")


@dataclass(frozen=True, slots=True, kw_only=True)
class LogCheck:
    """How a log was checked: the row accounting, the column roles, the spend rule, warnings.

    ``validated_by`` is the engine that validated the log (``"duckdb"``, ``"spark"`` or
    ``"pandas"``); ``why_pandas`` says why the SQL did not validate a log on a SQL engine;
    ``why_loader`` why DuckDB did not read a :class:`CsvLog` itself (the loader read it).
    """

    reports: dict[str, ValidationReport]
    mapping: ColumnMapping
    money: MoneyCheck | None
    warnings: list[str]
    validated_by: str
    why_pandas: str | None = None
    why_loader: str | None = None

    def validation(self) -> dict[str, Any]:
        """Row accounting of every input table, as JSON-ready data."""
        return validation_data(self.reports, self.mapping, self.money)

    def report_lines(self) -> list[str]:
        """The reports and the spend rule, as lines for a terminal."""
        return report_lines(self.reports, self.money)


@dataclass(frozen=True, slots=True, kw_only=True)
class FeatureResult(LogCheck):
    """The features (with ``future_spend`` when labelled) and how the log was checked."""

    features: pd.DataFrame


@dataclass(frozen=True, slots=True, kw_only=True)
class FeatureFile(LogCheck):
    """The feature table written by :func:`write_log_features`, and how the log was checked.

    ``columns`` are the table's columns after ``customer_id`` (``future_spend`` last when
    labelled)."""

    out: Path
    n_customers: int
    columns: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ParquetLog:
    """A Parquet log (a file or a glob of files) that DuckDB reads itself."""

    path: Path
    max_columns: int | None = None


@dataclass(frozen=True, slots=True)
class CsvLog:
    """A delimited text log that DuckDB reads itself when the file is plain (UTF-8, the column
    names in line 1, no blank line, no padded cell: :mod:`clv_core.loading.plain`), so the loaded
    table is never a pandas frame and a log larger than memory works under a memory limit; the
    loader reads any other file, and every engine but DuckDB reads it through the loader.
    ``limits`` are the loader's, checked either way."""

    path: Path
    limits: LoadLimits = field(default_factory=LoadLimits)


@dataclass(frozen=True, slots=True)
class _DuckDBCsv:
    """A :class:`CsvLog` DuckDB has read as ``raw``."""

    log: CsvLog
    source: Any  # clv_core.sql.validation.SqlSource


@dataclass(frozen=True, slots=True)
class SparkLog:
    """A Parquet or CSV log at a path Spark reads itself (``s3a://``, ``hdfs://``, local)."""

    path: str


LogInput = LoadedTable | CsvLog | ParquetLog | SparkLog


def log_features(
    table: LogInput,
    request: FeatureRequest,
    *,
    order_lines: LoadedTable | None = None,
    attributes: LoadedTable | None = None,
) -> FeatureResult:
    """Validate a log and compute its features (and labels) on the requested engine."""
    result = _features(table, request, order_lines, attributes, out=None)
    assert isinstance(result, FeatureResult)
    return result


def write_log_features(
    table: LogInput,
    request: FeatureRequest,
    out: Path,
    *,
    order_lines: LoadedTable | None = None,
    attributes: LoadedTable | None = None,
) -> FeatureFile:
    """:func:`log_features`, written to ``out`` (``.csv`` or ``.parquet``).

    When the SQL validates the log and no attribute table is joined, the table streams from the
    engine into the file, so DuckDB never hands it over whole (a run holds ``--memory-limit``
    plus one frame of 100,000 customers; Spark collects it on the driver first); otherwise the
    computed frame is written. The file is the same either way
    (:mod:`clv_core.feature_files`).
    """
    from clv_core.feature_files import write_feature_frames

    result = _features(table, request, order_lines, attributes, out=out)
    if isinstance(result, FeatureFile):
        return result
    write_feature_frames([result.features], out)
    return FeatureFile(
        out=out,
        n_customers=len(result.features),
        columns=tuple(map(str, result.features.columns)),
        **_check_fields(result),
    )


def _check_fields(check: LogCheck) -> dict[str, Any]:
    return {name: getattr(check, name) for name in LogCheck.__dataclass_fields__}


def _features(
    table: LogInput,
    request: FeatureRequest,
    order_lines: LoadedTable | None,
    attributes: LoadedTable | None,
    *,
    out: Path | None,
) -> FeatureResult | FeatureFile:
    """The features on the requested engine; streamed to ``out`` when given and the SQL
    validates the log."""
    why = why_loader = None
    log: LogInput | _DuckDBCsv = table
    if isinstance(log, CsvLog) and (request.engine != "duckdb" or order_lines is not None):
        log = load_table(log.path, limits=log.limits)
    if request.engine != "pandas" and order_lines is None:
        with _sql_runner(request) as runner:
            if isinstance(log, CsvLog):
                log, why_loader = _read_csv(runner, log)
            outcome = _in_sql(runner, log, request, attributes, out)
        if not isinstance(outcome, str):
            return replace(outcome, why_loader=why_loader)
        why = outcome
    if isinstance(log, SparkLog):
        raise DataError(
            f"Spark cannot validate '{log.path}' by itself: {why}. Run the command on a copy "
            "of the file on this machine (the Python reader validates it, Spark computes the "
            "features), or write the log with one spend column and ISO dates."
        )
    if isinstance(log, _DuckDBCsv | CsvLog):
        csv = log.log if isinstance(log, _DuckDBCsv) else log
        loaded = load_table(csv.path, limits=csv.limits)
    elif isinstance(log, LoadedTable):
        loaded = log
    else:
        loaded = load_table(log.path)
    return replace(_reference(loaded, request, order_lines, attributes, why), why_loader=why_loader)


def _read_csv(runner: Any, log: CsvLog) -> tuple[_DuckDBCsv | LoadedTable, str | None]:
    """The log read by DuckDB when the file is plain, else (and on Spark) by the loader, with
    why the loader read it."""
    from clv_core.loading.plain import PlainCsv, plain_csv
    from clv_core.sql.runner import DuckDBRunner
    from clv_core.sql.validation import register_csv

    if not isinstance(runner, DuckDBRunner):
        return load_table(log.path, limits=log.limits), "Spark reads a CSV through the loader"
    plain = plain_csv(log.path, log.limits)
    source = register_csv(runner, plain, log.limits) if isinstance(plain, PlainCsv) else plain
    if isinstance(source, str):
        return load_table(log.path, limits=log.limits), source
    return _DuckDBCsv(log, source), None


@contextmanager
def _sql_runner(request: FeatureRequest) -> Iterator[Any]:
    """The engine's runner for one request (a DuckDB connection, or a Spark session)."""
    if request.engine == "spark":
        from clv_core.sql.runner import SparkRunner
        from clv_core.sql.spark_engine import spark_session, spark_sql_errors

        with spark_session() as session:
            runner = SparkRunner(session)
            try:
                with spark_sql_errors():
                    yield runner
            finally:
                runner.release()
        return
    from clv_core.sql.duckdb_engine import duckdb_connection
    from clv_core.sql.runner import DuckDBRunner

    with duckdb_connection(request.memory_limit) as connection:
        yield DuckDBRunner(connection)


@dataclass(frozen=True, slots=True)
class SqlChecked:
    """A log validated in SQL: the engine holds its clean ``orders``."""

    validation: Any  # clv_core.sql.validation.SqlValidation
    mapping: ColumnMapping
    reports: dict[str, ValidationReport]
    customers: CustomerAttributes | None


def check_in_sql(
    runner: Any,
    table: LogInput | _DuckDBCsv,
    *,
    roles: Mapping[str, str | None],
    options: ValidationOptions,
    attributes: LoadedTable | None,
) -> SqlChecked | str:
    """Validate a log in SQL (the runner keeps ``orders``); the reason instead when the SQL does
    not cover it."""
    from clv_core.sql.validation import (
        lane_problem,
        register_frame,
        register_parquet,
        validate_in_sql,
        with_facts,
    )

    if isinstance(table, CsvLog):
        table, _ = _read_csv(runner, table)
    if isinstance(table, LoadedTable):
        import pyarrow as pa

        try:
            source = register_frame(runner, table.frame)
        except (pa.ArrowException, TypeError, ValueError):
            # A spreadsheet column mixing kinds of values (dates and text): pandas reads it.
            return "a column mixes kinds of values"
        source_name, first_row, notes = table.source_name, table.first_data_row, table.notes
    elif isinstance(table, SparkLog):
        from clv_core.sql.spark_engine import spark_log

        source = spark_log(runner, table.path)
        source_name, first_row, notes = table.path.rstrip("/").rsplit("/", 1)[-1], 2, ()
    elif isinstance(table, _DuckDBCsv):
        source, source_name, first_row, notes = table.source, table.log.path.name, 2, ()
    else:
        source = register_parquet(runner, str(table.path), _parquet_columns(table))
        source_name, first_row, notes = table.path.name, 2, ()
    if isinstance(table, LoadedTable):
        mapping = detect_roles(table.frame, overrides=dict(roles))
    else:
        head = source.rows(list(range(min(source.n_rows, _ROLE_SAMPLE_ROWS))))
        mapping = detect_roles(head, overrides=dict(roles))
    source = with_facts(source, mapping)
    problem = lane_problem(source, mapping)
    if problem is not None:
        return problem
    checked = validate_in_sql(
        source, mapping, options, source_name=source_name, first_row=first_row
    )
    reports = {"transactions": checked.report.with_warnings(*notes)}
    customers = None
    if attributes is not None:
        customers = check_attributes(attributes)
        reports["customers"] = unmatched_report(
            customers, _unmatched(runner, customers), attributes.notes
        )
    return SqlChecked(checked, mapping, reports, customers)


def _in_sql(
    runner: Any,
    table: LogInput | _DuckDBCsv,
    request: FeatureRequest,
    attributes: LoadedTable | None,
    out: Path | None,
) -> FeatureResult | FeatureFile | str:
    """Validation and features as SQL (streamed to ``out`` when given and no attribute columns
    are joined); the reason instead when the SQL does not cover the log."""
    from clv_core.sql.frames import feature_frames, feature_tables

    checked = check_in_sql(
        runner, table, roles=request.roles, options=request.options, attributes=attributes
    )
    if isinstance(checked, str):
        return checked
    cutoff, horizon = request.cutoff, request.horizon_days
    warnings: list[str] = []
    if horizon is not None:
        windows = time_windows(cutoff, horizon, SplitKind.CUSTOMER)
        facts = _history(runner, windows.train_cutoff)
        warnings = check_history(facts, windows, minimum_customers=1)
    check = LogCheck(
        reports=checked.reports,
        mapping=checked.mapping,
        money=checked.validation.money,
        warnings=warnings,
        validated_by=request.engine,
    )
    first_date = checked.validation.first_date
    if out is not None and checked.customers is None:
        from clv_core.feature_files import write_feature_frames
        from clv_core.features import LABEL_COLUMN, FeatureOptions, feature_column_order

        n_customers = write_feature_frames(feature_tables(runner, cutoff, horizon, first_date), out)
        labels = (LABEL_COLUMN,) if horizon is not None else ()
        columns = (*feature_column_order(FeatureOptions()), *labels)
        return FeatureFile(
            out=out, n_customers=n_customers, columns=columns, **_check_fields(check)
        )
    # The same query and frames as the file above (one way to features and labels).
    features = pd.concat(list(feature_frames(runner, cutoff, horizon, first_date)))
    if checked.customers is not None:
        from clv_core.features import LABEL_COLUMN, _cutoff_day, _join_attributes

        future = features.pop(LABEL_COLUMN) if horizon is not None else None
        features = _join_attributes(features, checked.customers, _cutoff_day(cutoff))
        if future is not None:
            features[LABEL_COLUMN] = future
    return FeatureResult(features=features, **_check_fields(check))


# Roles of a Parquet log DuckDB reads are detected on its first rows.
_ROLE_SAMPLE_ROWS = 50_000


def _parquet_columns(table: ParquetLog) -> list[str]:
    """The Parquet log's column names, checked against the column limit."""
    import duckdb

    escaped = str(table.path).replace("'", "''")
    try:
        described = duckdb.execute(f"DESCRIBE SELECT * FROM read_parquet('{escaped}')").fetchall()
    except duckdb.Error as error:
        raise DataError(
            f"'{table.path}' could not be read as Parquet ({str(error).splitlines()[0]}). "
            "Check the path, or write the log again as Parquet or CSV."
        ) from error
    columns = [str(row[0]) for row in described]
    if table.max_columns is not None and len(columns) > table.max_columns:
        raise DataError(
            f"'{table.path.name}' has {len(columns):,} columns, more than the "
            f"{table.max_columns:,} that can be loaded here. Write only the columns you need."
        )
    return columns


def _unmatched(runner: Any, customers: CustomerAttributes) -> int:
    """How many of the log's customers have no row in the attributes table."""
    import pyarrow as pa

    ids = pa.table({"customer_id": pa.array(customers.frame.index.astype(str), pa.string())})
    runner.register("attribute_ids", ids)
    try:
        row = runner.rows(
            "SELECT COUNT(DISTINCT customer_id) FROM orders "
            "WHERE customer_id NOT IN (SELECT customer_id FROM attribute_ids)"
        )[0]
    finally:
        runner.drop("attribute_ids")
    return int(row[0])


def _history(runner: Any, train_cutoff: pd.Timestamp) -> HistoryFacts:
    """The log's :class:`~clv_core.splits.HistoryFacts`, from the ``orders`` table."""
    end = train_cutoff + pd.Timedelta(days=1)
    # A customer bought on more than one day when the first and last purchase days differ (no
    # distinct count of days needed).
    row = runner.rows(
        f"""
SELECT o.first_ts, o.last_ts, b.customers, b.repeat_customers
FROM (SELECT MIN(order_ts) AS first_ts, MAX(order_ts) AS last_ts FROM orders) AS o
CROSS JOIN (
    SELECT COUNT(*) AS customers, COUNT(*) FILTER (WHERE first_day < last_day) AS repeat_customers
    FROM (
        SELECT MIN(day) AS first_day, MAX(day) AS last_day FROM orders
        WHERE order_ts < CAST('{end}' AS TIMESTAMP) AND amount >= 0
        GROUP BY customer_id
    ) AS bought
) AS b
"""
    )[0]
    return HistoryFacts(
        first=pd.Timestamp(row[0]).normalize(),
        last=pd.Timestamp(row[1]).normalize(),
        n_customers=int(row[2]),
        n_repeat=int(row[3]),
    )


def _reference(
    table: LoadedTable,
    request: FeatureRequest,
    order_lines: LoadedTable | None,
    attributes: LoadedTable | None,
    why_pandas: str | None,
) -> FeatureResult:
    """Validation by the pandas reference; features by the requested engine."""
    from clv_core.features import build_features, build_labels
    from clv_core.splits import check_minimum_data

    inputs = check_inputs(
        table,
        order_lines=order_lines,
        attributes=attributes,
        roles=request.roles,
        options=request.options,
    )
    transactions = inputs.transactions.frame
    cutoff, horizon = request.cutoff, request.horizon_days
    warnings: list[str] = []
    if horizon is not None:
        windows = time_windows(cutoff, horizon, SplitKind.CUSTOMER)
        warnings = check_minimum_data(transactions, windows, minimum_customers=1)
    if request.engine == "duckdb":
        from clv_core.sql.duckdb_engine import duckdb_features, duckdb_labels

        limit = request.memory_limit
        features = duckdb_features(
            transactions, cutoff, customers=inputs.customers, memory_limit=limit
        )
        if horizon is not None:
            features["future_spend"] = duckdb_labels(
                transactions, cutoff, horizon, features.index, memory_limit=limit
            )
    elif request.engine == "spark":
        features = _spark_features(transactions, cutoff, horizon, inputs.customers)
    else:
        features = build_features(transactions, cutoff, customers=inputs.customers)
        if horizon is not None:
            features["future_spend"] = build_labels(transactions, cutoff, horizon, features.index)
    return FeatureResult(
        features=features,
        reports=inputs.reports,
        mapping=inputs.mapping,
        money=inputs.transactions.money,
        warnings=warnings,
        validated_by="pandas",
        why_pandas=why_pandas,
    )


def _spark_features(
    transactions: pd.DataFrame,
    cutoff: pd.Timestamp,
    horizon: int | None,
    customers: CustomerAttributes | None,
) -> pd.DataFrame:
    """Features (and labels) by the Spark engine, in one Spark session."""
    from clv_core.sql.spark_engine import spark_features, spark_labels, spark_session

    with spark_session():
        features = spark_features(transactions, cutoff, customers=customers)
        if horizon is not None:
            features["future_spend"] = spark_labels(transactions, cutoff, horizon, features.index)
    return features
