"""Benchmark of the data foundation: load, validate, build features and labels at scale.

What is measured
----------------
For each size, a synthetic shop (:func:`clv_core.synthetic.generate_world`) is generated once
and its transaction log is written to a CSV in a temporary folder, laid out like
``sample_data/transactions.csv`` (``order_id, customer_id, order_date, amount``; dates as
``YYYY-MM-DD HH:MM:SS``; amounts with 2 decimals):

- ``1M``: ``SyntheticConfig(n_customers=100_000)``, about 1 million rows (50 MB);
- ``10M``: ``SyntheticConfig(n_customers=1_000_000)``, about 10 million rows (500 MB).

Then a fresh Python process per size and repeat runs the pipeline the CLI runs, timing each
stage separately:

1. ``load_table(path)`` (format/encoding/delimiter detection and the Arrow CSV read);
2. ``detect_roles`` + ``validate_transactions`` (date and amount parsing, duplicates, the row
   account; dates after the synthetic window's end count as future dates);
3. ``build_features(transactions.frame, cutoff=2024-12-31)``;
4. ``build_labels(transactions.frame, cutoff, horizon_days=365, customers=features.index)``;
5. the same features and labels as SQL on DuckDB (``clv_core.sql.duckdb_engine``) from the same
   validated frame, with the largest difference to the pandas results.

The raw loaded table is released after validation, as the CLI does. For the 1M size a further
fresh process validates the same file (untimed), keeps the rows on or before the cutoff and times
``lifetimes.utils.summary_data_from_transaction_data`` (the reference implementation of the
``frequency``/``recency``/``T``/``monetary_value`` summary) against ``build_features`` on the
same rows.

Each size is then run as whole processes, as an analyst waits for them (``whole_process``): the
CLI on DuckDB (the Python reader, and DuckDB reading the CSV under a memory limit), on pandas,
``lifetimes``' RFM as its users run it, and the feature query alone (``sql_only``: DuckDB reads
the CSV with declared types and writes the feature table, no validation and no pandas; the
least a run of the same features can take).

How to read it
--------------
The script prints one JSON object on stdout (progress goes to stderr). Stage times are wall-clock
seconds, the median over ``--repeat`` processes. Memory figures are resident memory in MB
(10^6 bytes), the maximum over the repeats. ``peak_rss_mb`` is the whole process's peak,
interpreter and libraries included (``baseline_rss_mb`` is that part). ``<stage>_peak_rss_mb``
is the peak while that stage ran, everything already in memory included, and
``<stage>_start_rss_mb`` the resident memory when it started; the difference is what the stage
added. On Linux the stage peaks are exact (the kernel's high-water mark is reset before each
stage); elsewhere they fall back to the process peak so far, which can only grow
(``stage_peak_method`` says which). Every process starts from a small parent, so no memory is
inherited. Generating and writing the data is not part of any stage; ``generate_s`` and
``write_csv_s`` are for information. ``benchmarks/README.md`` describes every field.

Run from the repository root::

    python benchmarks/features_benchmark.py [--sizes 1M,10M] [--repeat 1] [--spark] \\
        [--out result.json]

With ``--spark`` a further process per size times the same features on local Spark
(``runs.<size>.spark``): session start, features, labels, and the largest difference to the
pandas features. One 2-core machine is not a cluster: the figure is an indication only.
"""

from __future__ import annotations

import argparse
import compileall
import contextlib
import datetime as dt
import gc
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from importlib import metadata
from pathlib import Path
from typing import Any, Final

# The script is run by path, so Python puts benchmarks/ on sys.path, not the repository root.
REPOSITORY_ROOT: Final = Path(__file__).resolve().parent.parent
if str(REPOSITORY_ROOT) not in sys.path:
    sys.path.insert(0, str(REPOSITORY_ROOT))

# Sizes are named by their approximate transaction row count.
CUSTOMERS_PER_SIZE: Final = {"1M": 100_000, "10M": 1_000_000}
LIFETIMES_SIZE: Final = "1M"
CUTOFF: Final = dt.date(2024, 12, 31)
HORIZON_DAYS: Final = 365
# The synthetic window ends on 2025-12-31 (SyntheticConfig's default). Passing that as the latest
# valid date keeps the result independent of the day the benchmark runs.
LATEST_VALID_DATE: Final = dt.date(2025, 12, 31)
CSV_HEADER: Final = b"order_id,customer_id,order_date,amount\n"
MEGABYTE: Final = 1_000_000
STAGES: Final = ("load", "validate", "features", "labels", "duckdb_features", "duckdb_labels")

Result = dict[str, Any]


# --- measuring inside a worker process ---------------------------------------------------------


class PeakMemory:
    """The peak resident memory of this process, overall and per stage.

    On Linux, writing ``5`` to ``/proc/self/clear_refs`` resets the kernel's resident-memory
    high-water mark (``VmHWM``) to the current resident memory, so the peak of one stage can be
    read without the earlier stages' peaks hiding it. Elsewhere only ``ru_maxrss`` is available,
    which covers the whole process lifetime.
    """

    def __init__(self) -> None:
        self.process_peak_mb = 0.0
        self.can_reset = self._try_reset()
        self.method = "VmHWM reset per stage" if self.can_reset else "ru_maxrss since start"

    @staticmethod
    def _try_reset() -> bool:
        try:
            Path("/proc/self/clear_refs").write_text("5")
        except OSError:
            return False
        return Path("/proc/self/status").exists()

    def start_stage(self) -> None:
        """Start a new stage: remember the peak so far, then reset the high-water mark."""
        self.process_peak_mb = max(self.process_peak_mb, self.current_peak_mb())
        if self.can_reset:
            self._try_reset()

    def current_peak_mb(self) -> float:
        """The peak since the last reset (Linux) or since the process started."""
        if self.can_reset:
            for line in Path("/proc/self/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024 / MEGABYTE
        return maxrss_mb()

    def overall_peak_mb(self) -> float:
        """The peak of the whole process so far, as ru_maxrss would give it without resets."""
        return max(self.process_peak_mb, self.current_peak_mb(), maxrss_mb())


def maxrss_mb() -> float:
    """``ru_maxrss`` of this process in MB (kilobytes on Linux, bytes on macOS)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / MEGABYTE if sys.platform == "darwin" else peak * 1024 / MEGABYTE


def current_rss_mb() -> float:
    """The resident memory of this process right now, in MB."""
    import psutil

    return float(psutil.Process().memory_info().rss) / MEGABYTE


@contextlib.contextmanager
def stage(name: str, memory: PeakMemory, result: Result) -> Iterator[None]:
    """Time the ``with`` block as one stage, storing its seconds and memory in ``result``."""
    gc.collect()
    # Freed memory is often kept by the allocators (Python's, Arrow's memory pool) rather than
    # returned, so the resident memory at the start tells how much of the peak came earlier.
    result[f"{name}_start_rss_mb"] = current_rss_mb()
    memory.start_stage()
    started = time.perf_counter()
    yield
    result[f"{name}_s"] = time.perf_counter() - started
    result[f"{name}_peak_rss_mb"] = memory.current_peak_mb()
    progress(f"  {name}: {result[f'{name}_s']:.2f} s")


def frame_mb(frame: Any) -> float:
    """In-memory size of a DataFrame, strings included, in MB."""
    return float(frame.memory_usage(deep=True).sum()) / MEGABYTE


def progress(message: str) -> None:
    """Progress for the person running the benchmark; stdout is reserved for the JSON."""
    print(message, file=sys.stderr, flush=True)


# --- worker processes --------------------------------------------------------------------------


def generate_csv(size: str, csv_path: Path) -> Result:
    """Generate the synthetic world of ``size`` and write its transactions to ``csv_path``."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    from clv_core.synthetic import SyntheticConfig, generate_world

    started = time.perf_counter()
    world = generate_world(SyntheticConfig(n_customers=CUSTOMERS_PER_SIZE[size]))
    generate_seconds = time.perf_counter() - started

    started = time.perf_counter()
    table = pa.Table.from_pandas(world.transactions, preserve_index=False)
    # Seconds-resolution timestamps print as 'YYYY-MM-DD HH:MM:SS' and two-decimal decimals as
    # '12.30', which is how sample_data/transactions.csv looks. Ids never contain a comma, so
    # nothing needs quoting; pyarrow would quote the header, so it is written by hand.
    table = table.set_column(
        table.schema.get_field_index("order_date"),
        "order_date",
        table["order_date"].cast(pa.timestamp("s")),
    )
    table = table.set_column(
        table.schema.get_field_index("amount"),
        "amount",
        table["amount"].cast(pa.decimal128(18, 2)),
    )
    with pa.OSFile(str(csv_path), "wb") as sink:
        sink.write(CSV_HEADER)
        pacsv.write_csv(table, sink, pacsv.WriteOptions(include_header=False, quoting_style="none"))
    return {
        "rows": len(world.transactions),
        "customers_generated": CUSTOMERS_PER_SIZE[size],
        "csv_mb": csv_path.stat().st_size / MEGABYTE,
        "generate_s": generate_seconds,
        "write_csv_s": time.perf_counter() - started,
    }


def run_pipeline(csv_path: Path) -> Result:
    """Time load, validation, features and labels on one CSV, with their peak memory."""
    memory = PeakMemory()

    from clv_core.columns import detect_roles
    from clv_core.features import build_features, build_labels
    from clv_core.loading import load_table
    from clv_core.validation import ValidationOptions, validate_transactions

    gc.collect()
    result: Result = {"baseline_rss_mb": current_rss_mb()}
    options = ValidationOptions(latest_valid_date=LATEST_VALID_DATE)

    with stage("load", memory, result):
        loaded = load_table(csv_path)
    result["rows"] = loaded.n_rows
    result["loaded_frame_mb"] = frame_mb(loaded.frame)
    with stage("validate", memory, result):
        mapping = detect_roles(loaded.frame)
        transactions = validate_transactions(
            loaded.frame, mapping, options=options, source_name=csv_path.name
        )
    del loaded
    result["rows_validated"] = len(transactions.frame)
    result["validated_frame_mb"] = frame_mb(transactions.frame)
    with stage("features", memory, result):
        features = build_features(transactions.frame, CUTOFF)
    result["customers"] = len(features)
    result["features"] = features.shape[1]
    result["features_frame_mb"] = frame_mb(features)
    with stage("labels", memory, result):
        labels = build_labels(transactions.frame, CUTOFF, HORIZON_DAYS, features.index)
    result["labelled_customers"] = len(labels)
    _time_duckdb(transactions.frame, features, labels, memory, result)
    result["read_validate_features_s"] = (
        result["load_s"] + result["validate_s"] + result["features_s"]
    )
    result["peak_rss_mb"] = memory.overall_peak_mb()
    result["stage_peak_method"] = memory.method
    return result


def _time_duckdb(
    transactions: Any, features: Any, labels: Any, memory: PeakMemory, result: Result
) -> None:
    """The same features and labels as SQL on DuckDB, timed, and their largest difference."""
    import numpy as np

    from clv_core.sql.duckdb_engine import duckdb_features, duckdb_labels

    with stage("duckdb_features", memory, result):
        duck = duckdb_features(transactions, CUTOFF)
    with stage("duckdb_labels", memory, result):
        duck_labels = duckdb_labels(transactions, CUTOFF, HORIZON_DAYS, duck.index)
    reference = features.to_numpy(dtype=np.float64)
    difference = np.abs(duck.to_numpy(dtype=np.float64) - reference) / np.maximum(
        1.0, np.abs(reference)
    )
    result["duckdb_max_relative_difference"] = float(np.nanmax(difference))
    result["duckdb_labels_max_difference"] = float(
        np.max(np.abs(duck_labels.to_numpy() - labels.to_numpy()))
    )


def compare_with_lifetimes(csv_path: Path) -> Result:
    """Time lifetimes' summary and ``build_features`` on the same validated rows."""
    memory = PeakMemory()
    import pandas as pd

    # Importing lifetimes changes a pandas option for the whole process, which is why this
    # comparison runs in a process of its own.
    from lifetimes.utils import summary_data_from_transaction_data

    from clv_core.columns import detect_roles
    from clv_core.features import build_features
    from clv_core.loading import load_table
    from clv_core.validation import ValidationOptions, validate_transactions

    loaded = load_table(csv_path)
    transactions = validate_transactions(
        loaded.frame,
        detect_roles(loaded.frame),
        options=ValidationOptions(latest_valid_date=LATEST_VALID_DATE),
    )
    del loaded
    frame = transactions.frame
    # Day resolution, as in build_features: an order at 18:00 on the cutoff day is history.
    history = frame.loc[frame["order_date"] < pd.Timestamp(CUTOFF) + pd.Timedelta(days=1)]
    history = history.reset_index(drop=True)
    del transactions, frame
    gc.collect()
    result: Result = {"rows": len(history)}

    with stage("summary", memory, result):
        summary = summary_data_from_transaction_data(
            history,
            "customer_id",
            "order_date",
            monetary_value_col="amount",
            observation_period_end=CUTOFF.isoformat(),
            freq="D",
        )
    result["customers_summary"] = len(summary)
    with stage("build_features", memory, result):
        features = build_features(history, CUTOFF)
    result["customers_build_features"] = len(features)
    # Above 1, build_features is the faster of the two.
    result["build_features_speedup"] = result["summary_s"] / result["build_features_s"]
    from clv_core.sql.duckdb_engine import duckdb_features

    with stage("duckdb_features", memory, result):
        duckdb_features(history, CUTOFF)
    result["duckdb_features_speedup"] = result["summary_s"] / result["duckdb_features_s"]
    result["peak_rss_mb"] = memory.overall_peak_mb()
    result["stage_peak_method"] = memory.method
    return result


def run_spark(csv_path: Path) -> Result:
    """Features and labels on local Spark (all cores) from the validated rows, timed."""
    import numpy as np

    from clv_core.columns import detect_roles
    from clv_core.features import build_features
    from clv_core.loading import load_table
    from clv_core.sql.spark_engine import spark_features, spark_labels, spark_session
    from clv_core.validation import ValidationOptions, validate_transactions

    loaded = load_table(csv_path)
    frame = validate_transactions(
        loaded.frame,
        detect_roles(loaded.frame),
        options=ValidationOptions(latest_valid_date=LATEST_VALID_DATE),
    ).frame
    del loaded
    result: Result = {"rows": len(frame)}
    started = time.perf_counter()
    with spark_session() as session:
        result["spark_start_s"] = time.perf_counter() - started
        result["spark_cores"] = session.sparkContext.defaultParallelism
        began = time.perf_counter()
        features = spark_features(frame, CUTOFF)
        result["spark_features_s"] = time.perf_counter() - began
        began = time.perf_counter()
        spark_labels(frame, CUTOFF, HORIZON_DAYS, features.index)
        result["spark_labels_s"] = time.perf_counter() - began
        # The whole log on Spark: Spark reads the CSV, validates and computes (the SQL lane).
        from clv_core.usecases.features import FeatureRequest, SparkLog, log_features
        from clv_core.validation import ValidationOptions as Options

        request = FeatureRequest(
            cutoff=pd_timestamp(CUTOFF),
            horizon_days=HORIZON_DAYS,
            engine="spark",
            options=Options(latest_valid_date=LATEST_VALID_DATE),
        )
        began = time.perf_counter()
        whole = log_features(SparkLog(str(csv_path)), request)
        result["spark_read_validate_features_labels_s"] = time.perf_counter() - began
        result["spark_validated_by"] = whole.validated_by
    reference = build_features(frame, CUTOFF).to_numpy(dtype=np.float64)
    difference = np.abs(features.to_numpy(dtype=np.float64) - reference)
    result["spark_max_relative_difference"] = float(
        np.nanmax(difference / np.maximum(1.0, np.abs(reference)))
    )
    whole_features = whole.features.drop(columns="future_spend").to_numpy(dtype=np.float64)
    result["spark_log_max_relative_difference"] = float(
        np.nanmax(np.abs(whole_features - reference) / np.maximum(1.0, np.abs(reference)))
    )
    return result


def pd_timestamp(day: dt.date) -> Any:
    import pandas as pd

    return pd.Timestamp(day)


def lifetimes_rfm(csv_path: Path) -> Result:
    """What a lifetimes user runs: read the CSV with pandas, the RFM summary at the cutoff."""
    import pandas as pd
    from lifetimes.utils import summary_data_from_transaction_data

    log = pd.read_csv(csv_path, parse_dates=["order_date"])
    log = log[log["order_date"] < pd.Timestamp(CUTOFF) + pd.Timedelta(days=1)]
    summary = summary_data_from_transaction_data(
        log,
        "customer_id",
        "order_date",
        monetary_value_col="amount",
        observation_period_end=CUTOFF.isoformat(),
        freq="D",
    )
    return {"customers": len(summary)}


def feature_sql() -> Result:
    """The project's feature and label query at the benchmark's cutoff and horizon (the text
    :func:`sql_only` runs; written by a worker, as the parent imports no ``clv_core``)."""
    from clv_core.features import FeatureOptions
    from clv_core.sql import labelled_feature_sql

    cutoff_day = (CUTOFF - dt.date(1970, 1, 1)).days
    return {"sql": labelled_feature_sql(cutoff_day, HORIZON_DAYS, FeatureOptions())}


def cli_out_path(csv_path: Path) -> Path:
    """Where the whole-process CLI runs write their feature table."""
    return csv_path.with_suffix(".features.parquet")


def sql_only_paths(csv_path: Path) -> tuple[Path, Path]:
    """Where :func:`sql_only` finds its query and writes its feature table."""
    return csv_path.with_suffix(".features.sql"), csv_path.with_suffix(".sql_only.parquet")


def sql_only(csv_path: Path) -> Result:
    """The feature query alone: DuckDB reads the CSV with its four columns' types declared,
    numbers the rows, and writes the features and labels of every customer to Parquet. No
    validation, no pandas: the least a run of the same features can take, for comparison with
    the validated CLI."""
    import duckdb

    sql_path, out = sql_only_paths(csv_path)
    escaped = str(csv_path).replace("'", "''")
    columns = "{'order_id': 'VARCHAR', 'customer_id': 'VARCHAR', 'order_date': 'TIMESTAMP', "
    columns += "'amount': 'DOUBLE'}"
    connection = duckdb.connect()
    # Read in file order, so that row ids are the rows' positions (as in the CLI).
    connection.execute(
        f"CREATE TEMP TABLE raw AS SELECT * FROM read_csv('{escaped}', header = true, "
        f"columns = {columns})"
    )
    connection.execute("SET preserve_insertion_order = false")
    connection.execute(
        """
CREATE TEMP TABLE orders AS
SELECT rowid AS row_id, customer_id,
    CAST(datediff('day', DATE '1970-01-01', CAST(order_date AS DATE)) AS INTEGER) AS day, amount
FROM raw
"""
    )
    connection.execute(f"COPY ({sql_path.read_text()}) TO '{out}' (FORMAT parquet)")
    connection.close()
    return {}


def compare_sql_only(csv_path: Path) -> Result:
    """The feature tables of the last CLI run and of :func:`sql_only`: customers of each, the
    largest difference (relative to max(1, value))."""
    import numpy as np
    import pandas as pd

    cli = pd.read_parquet(cli_out_path(csv_path))
    alone = pd.read_parquet(sql_only_paths(csv_path)[1]).set_index("customer_id")
    result: Result = {"customers": len(cli), "sql_only_customers": len(alone)}
    if len(alone) == len(cli):
        expected = cli.to_numpy(dtype=np.float64)
        actual = alone.loc[cli.index, cli.columns].to_numpy(dtype=np.float64)
        difference = np.abs(actual - expected) / np.maximum(1.0, np.abs(expected))
        result["sql_only_max_relative_difference"] = float(np.nanmax(difference))
    return result


WORKERS: Final[dict[str, Callable[[str, Path], Result]]] = {
    "lifetimes_rfm": lambda _size, csv_path: lifetimes_rfm(csv_path),
    "generate": generate_csv,
    "pipeline": lambda _size, csv_path: run_pipeline(csv_path),
    "lifetimes": lambda _size, csv_path: compare_with_lifetimes(csv_path),
    "spark": lambda _size, csv_path: run_spark(csv_path),
    "feature_sql": lambda _size, _csv_path: feature_sql(),
    "sql_only": lambda _size, csv_path: sql_only(csv_path),
    "compare_sql_only": lambda _size, csv_path: compare_sql_only(csv_path),
}


# --- the parent process ------------------------------------------------------------------------
# The parent imports neither pandas nor clv_core and holds no data. On Linux a child started by
# fork or vfork and exec inherits its parent's resident-memory high-water mark in ru_maxrss, so
# a large parent would inflate every worker's peak.


def worker_command(worker: str, size: str, csv_path: Path) -> list[str]:
    """The command line of one worker process."""
    script = str(Path(__file__).resolve())
    return [sys.executable, script, "--worker", worker, "--sizes", size, "--csv", str(csv_path)]


def run_worker(worker: str, size: str, csv_path: Path) -> Result:
    """Run one worker in a fresh Python process and return the JSON it printed."""
    completed = subprocess.run(
        worker_command(worker, size, csv_path),
        cwd=REPOSITORY_ROOT,
        stdout=subprocess.PIPE,
        text=True,
        check=False,
    )
    if completed.returncode != 0:
        raise RuntimeError(f"The {worker} worker for {size} failed (exit {completed.returncode}).")
    result: Result = json.loads(completed.stdout)
    return result


def timed_process(command: Sequence[str], spill_glob: str | None = None) -> Result:
    """Run a command to its end: wall seconds, peak resident memory (MB) and, when
    ``spill_glob`` names DuckDB's spill folders, the most bytes they held at once (polled)."""
    started = time.perf_counter()
    process = subprocess.Popen(
        list(command), cwd=REPOSITORY_ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    spill = 0
    while True:
        # wait4 (not Popen.poll, which would reap the child first) gives this child's usage.
        pid, status, usage = os.wait4(process.pid, os.WNOHANG if spill_glob else 0)
        if pid != 0:
            break
        spill = max(spill, _folder_bytes(str(spill_glob)))
        time.sleep(0.5)
    seconds = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    stderr = process.stderr.read().decode(errors="replace") if process.stderr else ""
    if process.returncode != 0:
        raise RuntimeError(f"{' '.join(command[:4])} failed: {stderr[-2000:]}")
    result: Result = {"s": seconds, "peak_rss_mb": usage.ru_maxrss * 1024 / MEGABYTE}
    if spill_glob is not None:
        result["spill_mb"] = spill / MEGABYTE
    return result


def _folder_bytes(pattern: str) -> int:
    total = 0
    for folder in Path(tempfile.gettempdir()).glob(pattern):
        for file in folder.rglob("*"):
            with contextlib.suppress(OSError):
                total += file.stat().st_size
    return total


def features_command(path: Path, engine: str, out: Path, *extra: str) -> list[str]:
    """``python -m clv_core features`` as an analyst runs it, with the label."""
    return [
        sys.executable,
        "-m",
        "clv_core",
        "features",
        "--transactions",
        str(path),
        "--cutoff",
        CUTOFF.isoformat(),
        "--horizon-days",
        str(HORIZON_DAYS),
        "--engine",
        engine,
        "--out",
        str(out),
        *extra,
    ]


# The memory limit of the whole-process run in which DuckDB reads the CSV log itself.
CSV_MEMORY_LIMIT: Final = "1GB"


def whole_processes(size: str, csv_path: Path, repeat: int) -> Result:
    """The CLI on DuckDB and on pandas, and lifetimes' RFM, each a whole fresh process.

    ``clv_core`` is byte-compiled first, as an installed package (and any checkout after its
    first run) is: with ``PYTHONDONTWRITEBYTECODE`` set, every process would otherwise compile
    the project's modules again, while pandas and lifetimes come compiled by pip.
    """
    compileall.compile_dir(REPOSITORY_ROOT / "clv_core", quiet=1)
    out = cli_out_path(csv_path)
    commands = {
        "duckdb": features_command(csv_path, "duckdb", out),
        # Under a memory limit DuckDB reads the (plain) CSV itself and spills beyond the limit.
        "duckdb_limited": features_command(
            csv_path, "duckdb", out, "--memory-limit", CSV_MEMORY_LIMIT
        ),
        "pandas": features_command(csv_path, "pandas", out),
        "lifetimes_rfm": worker_command("lifetimes_rfm", size, csv_path),
        "sql_only": worker_command("sql_only", size, csv_path),
    }
    sql_path, sql_only_out = sql_only_paths(csv_path)
    sql_path.write_text(run_worker("feature_sql", size, csv_path)["sql"], encoding="utf-8")
    result: Result = {}
    for name, command in commands.items():
        runs = []
        for index in range(repeat):
            progress(f"{size}: whole process, {name}, run {index + 1} of {repeat}")
            runs.append(timed_process(command))
        result[f"{name}_s"] = statistics.median(run["s"] for run in runs)
        result[f"{name}_peak_rss_mb"] = max(run["peak_rss_mb"] for run in runs)
    result.update(run_worker("compare_sql_only", size, csv_path))
    for path in (out, sql_path, sql_only_out):
        path.unlink(missing_ok=True)
    result["duckdb_limited_memory_limit"] = CSV_MEMORY_LIMIT
    for name in ("duckdb", "pandas", "sql_only"):
        result[f"{name}_vs_lifetimes"] = result[f"{name}_s"] / result["lifetimes_rfm_s"]
    return rounded(result)


def parquet_out_of_core(rows: int, folder: Path, memory_limit: str) -> Result:
    """Generate a ``rows``-row Parquet log with DuckDB, then run the CLI on it under a limit."""
    import duckdb

    path = folder / f"transactions_{rows}.parquet"
    customers = max(rows // 10, 1)
    progress(f"parquet: writing {rows:,} rows ({customers:,} customers) with DuckDB")
    started = time.perf_counter()
    connection = duckdb.connect()
    connection.execute(f"SET memory_limit = '{memory_limit}'")
    connection.execute(
        f"""
COPY (
    SELECT
        'O' || lpad(CAST(i AS VARCHAR), 10, '0') AS order_id,
        'C' || lpad(CAST(hash(i) % {customers} AS VARCHAR), 9, '0') AS customer_id,
        TIMESTAMP '2023-01-01' + to_seconds(CAST(hash(i * 7 + 1) % (1096 * 86400) AS BIGINT))
            AS order_date,
        CASE WHEN hash(i * 11 + 3) % 20 = 0 THEN -1 ELSE 1 END
            * round(5 + (hash(i * 13 + 5) % 50000) / 100.0, 2) AS amount
    FROM range({rows}) AS t(i)
) TO '{path}' (FORMAT parquet, ROW_GROUP_SIZE 1000000)
"""
    )
    connection.close()
    write_seconds = time.perf_counter() - started
    parquet_mb = path.stat().st_size / MEGABYTE
    progress(f"parquet: {parquet_mb:,.0f} MB; running the CLI")
    out = folder / "features_parquet.parquet"
    run = timed_process(
        features_command(path, "duckdb", out, "--memory-limit", memory_limit),
        spill_glob="clv-duckdb-*",
    )
    import pyarrow.parquet as pq

    customers_out = pq.read_metadata(out).num_rows
    path.unlink()
    out.unlink()
    return rounded(
        {
            "rows": rows,
            "parquet_mb": parquet_mb,
            "write_s": write_seconds,
            "memory_limit": memory_limit,
            "features_s": run["s"],
            "peak_rss_mb": run["peak_rss_mb"],
            "spill_mb": run["spill_mb"],
            "customers": customers_out,
        }
    )


def combine_repeats(results: Sequence[Result]) -> Result:
    """One result from several: median of seconds, maximum of memory and of differences,
    anything else as is."""
    combined: Result = {}
    for key, first in results[0].items():
        values = [result[key] for result in results]
        if key.endswith(("_s", "_speedup")):
            combined[key] = round(statistics.median(values), 3)
        elif key.endswith("_mb"):
            combined[key] = round(max(values), 1)
        elif "difference" in key:
            combined[key] = max(values)
        else:
            combined[key] = first
    return combined


def rounded(result: Result) -> Result:
    """Seconds and ratios to 0.001, megabytes to 0.1 MB, for a readable report; differences
    between engines to 3 significant digits (they are far below 0.1)."""
    return {
        key: _rounded(key, value) if isinstance(value, float) else value
        for key, value in result.items()
    }


def _rounded(key: str, value: float) -> float:
    if "difference" in key:
        return float(f"{value:.3g}")
    return round(value, 3 if key.endswith(("_s", "_speedup", "_lifetimes")) else 1)


def benchmark_size(
    size: str, folder: Path, repeat: int, with_lifetimes: bool, with_spark: bool = False
) -> Result:
    """Generate one size, run the pipeline ``repeat`` times (and lifetimes), delete the CSV."""
    csv_path = folder / f"transactions_{size}.csv"
    progress(f"{size}: generating {CUSTOMERS_PER_SIZE[size]:,} customers and writing the CSV")
    generated = run_worker("generate", size, csv_path)
    progress(
        f"{size}: {generated['rows']:,} rows, {generated['csv_mb']:.0f} MB "
        f"(generated in {generated['generate_s']:.1f} s, written in "
        f"{generated['write_csv_s']:.1f} s)"
    )
    runs = []
    for index in range(repeat):
        progress(f"{size}: pipeline, run {index + 1} of {repeat}")
        runs.append(run_worker("pipeline", size, csv_path))
    pipeline = combine_repeats(runs)
    if pipeline["rows"] != generated["rows"]:
        raise RuntimeError(f"{size}: wrote {generated['rows']} rows but loaded {pipeline['rows']}.")
    report: Result = {
        "rows": pipeline.pop("rows"),
        "customers_generated": generated["customers_generated"],
        "csv_mb": round(generated["csv_mb"], 1),
        "generate_s": round(generated["generate_s"], 3),
        "write_csv_s": round(generated["write_csv_s"], 3),
        **pipeline,
    }
    if with_lifetimes:
        comparisons = []
        for index in range(repeat):
            progress(f"{size}: lifetimes comparison, run {index + 1} of {repeat}")
            comparisons.append(run_worker("lifetimes", size, csv_path))
        report["lifetimes"] = combine_repeats(comparisons)
    report["whole_process"] = whole_processes(size, csv_path, repeat)
    if with_spark:
        progress(f"{size}: local Spark")
        report["spark"] = run_worker("spark", size, csv_path)
    csv_path.unlink()
    return report


def machine_description() -> Result:
    """The hardware and library versions that the figures depend on."""
    affinity = getattr(os, "sched_getaffinity", None)
    return {
        "cpus": os.cpu_count(),
        "cpus_usable": len(affinity(0)) if affinity is not None else os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        **{name: metadata.version(name) for name in ("pandas", "numpy", "pyarrow", "lifetimes")},
    }


def parse_sizes(text: str) -> list[str]:
    """``"1M,10M"`` -> ``["1M", "10M"]``; an unknown size lists the valid ones."""
    sizes = [size.strip() for size in text.split(",") if size.strip()]
    unknown = [size for size in sizes if size not in CUSTOMERS_PER_SIZE]
    if unknown or not sizes:
        raise argparse.ArgumentTypeError(
            f"unknown size(s) {unknown}; choose from {list(CUSTOMERS_PER_SIZE)}, comma-separated"
        )
    return list(dict.fromkeys(sizes))


def positive_int(text: str) -> int:
    """A whole number of at least 1."""
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, got {value}")
    return value


def parse_arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    """The command line; ``--worker`` and ``--csv`` are internal."""
    parser = argparse.ArgumentParser(
        description="Time load, validation, features and labels on 1M and 10M generated rows; "
        "prints one JSON object."
    )
    parser.add_argument(
        "--sizes",
        type=parse_sizes,
        default=list(CUSTOMERS_PER_SIZE),
        help="comma-separated sizes to run, from 1M and 10M (default: both)",
    )
    parser.add_argument(
        "--repeat",
        type=positive_int,
        default=1,
        help="fresh processes per size; stage times are their median (default: 1)",
    )
    parser.add_argument("--out", type=Path, help="also write the JSON to this file")
    parser.add_argument(
        "--spark",
        action="store_true",
        help="also time the features on local Spark (needs Java 17+ and requirements-spark.txt)",
    )
    parser.add_argument(
        "--parquet-rows",
        type=positive_int,
        help="also write a Parquet log of this many rows with DuckDB and time the CLI on it "
        "under --memory-limit (e.g. 100000000)",
    )
    parser.add_argument(
        "--memory-limit",
        default="8GB",
        help="DuckDB's memory limit for the Parquet run (default: 8GB)",
    )
    parser.add_argument("--worker", choices=sorted(WORKERS), help=argparse.SUPPRESS)
    parser.add_argument("--csv", type=Path, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark (or, with ``--worker``, one measurement) and print the JSON."""
    arguments = parse_arguments(argv)
    if arguments.worker is not None:
        result = WORKERS[arguments.worker](arguments.sizes[0], arguments.csv)
        print(json.dumps(rounded(result)))
        return 0

    started = time.perf_counter()
    runs: Result = {}
    lifetimes_summary = None
    with tempfile.TemporaryDirectory(prefix="clv-features-benchmark-") as folder:
        for size in arguments.sizes:
            report = benchmark_size(
                size,
                Path(folder),
                arguments.repeat,
                with_lifetimes=size == LIFETIMES_SIZE,
                with_spark=arguments.spark,
            )
            lifetimes_summary = report.pop("lifetimes", lifetimes_summary)
            runs[size] = report
        if arguments.parquet_rows is not None:
            try:
                runs["parquet"] = parquet_out_of_core(
                    arguments.parquet_rows, Path(folder), arguments.memory_limit
                )
            except RuntimeError as error:
                # The sizes above are still reported.
                runs["parquet"] = {"error": str(error)[-2000:]}
    output = {
        "benchmark": "features",
        "machine": machine_description(),
        "settings": {
            "cutoff": CUTOFF.isoformat(),
            "horizon_days": HORIZON_DAYS,
            "latest_valid_date": LATEST_VALID_DATE.isoformat(),
            "repeat": arguments.repeat,
            "customers_per_size": {size: CUSTOMERS_PER_SIZE[size] for size in arguments.sizes},
        },
        "runs": runs,
        f"lifetimes_summary_{LIFETIMES_SIZE}": lifetimes_summary,
        "wall_s": round(time.perf_counter() - started, 1),
    }
    text = json.dumps(output, indent=2)
    print(text)
    if arguments.out is not None:
        arguments.out.write_text(text + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
