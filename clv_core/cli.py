"""Command line: ``python -m clv_core <command> ...`` for scheduled, headless runs.

Contract (scripts depend on it): a user-caused problem (bad file, bad option) prints
``error: <message>`` on stderr and exits with status 2, never a traceback. ``--json`` prints one
JSON object on stdout and nothing else there; human-readable progress goes to stderr.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from clv_core.budget import BudgetRequest
from clv_core.columns import ROLE_OPTIONS, Role
from clv_core.errors import ClvError, ConfigError, DataError
from clv_core.kinds import TABLE_HORIZON_DAYS
from clv_core.language import Language
from clv_core.limits import LoadLimits
from clv_core.value import (
    DEFAULT_ANNUAL_DISCOUNT_RATE,
    DEFAULT_MARGIN,
    PERIODS,
    ValueSettings,
)

if TYPE_CHECKING:
    from clv_core.usecases.inputs import CheckedInputs

__all__ = ["main"]


_ROLE_HELP = {
    Role.CUSTOMER_ID: "customer id column",
    Role.ORDER_DATE: "order date column",
    Role.AMOUNT: "spend per row (line or order total); 'none' to use quantity x unit price",
    Role.ORDER_ID: "order id column; order lines with the same id are combined",
    Role.QUANTITY: "quantity (number of items) column",
    Role.UNIT_PRICE: "price per unit column (spend = quantity x unit price without an amount)",
    Role.STATUS: "order status column (cancelled, refunded and unpaid orders are not spend)",
    Role.COST: "the shop's cost column (recognised so that it is never taken as spend)",
    Role.DISCOUNT: "line discount subtracted from quantity x unit price",
    Role.CURRENCY: "currency column (a mix of currencies is warned about)",
}


def _add_input_arguments(
    parser: argparse.ArgumentParser, *, tables: bool = False, target: bool = False
) -> None:
    group = parser.add_argument_group("input")
    group.add_argument(
        "--transactions",
        required=not tables,
        type=_location,
        metavar="PATH",
        help="transaction log: CSV/TSV/TXT, XLSX or Parquet, one row per order"
        + (" (or give --customer-table)" if tables else ""),
    )
    if tables:
        group.add_argument(
            "--customer-table",
            type=Path,
            metavar="PATH",
            help="instead of a log, a per-customer table: one row per customer with an id, "
            "attributes" + (" and the value to predict" if target else " (the model's columns)"),
        )
    if target:
        group.add_argument(
            "--target-col",
            metavar="COLUMN",
            help="the value to predict in --customer-table (default: detected from names such "
            "as lifetime_value, clv, 终身价值)",
        )
    group.add_argument(
        "--customers",
        type=Path,
        metavar="PATH",
        help="optional customer-attributes table keyed by customer id",
    )
    group.add_argument(
        "--order-lines",
        type=Path,
        metavar="PATH",
        help="order-lines or payments file of a two-file export; joined to --transactions (the "
        "orders file) on the order id, lines of unknown orders dropped and counted",
    )
    _add_role_arguments(parser)
    _add_reading_arguments(group)
    _add_limit_arguments(parser)


def _add_role_arguments(parser: argparse.ArgumentParser) -> None:
    roles = parser.add_argument_group(
        "column roles",
        "set a role's column (else detected from headers and content); 'none' clears a role",
    )
    for role, option in ROLE_OPTIONS.items():
        if role in (Role.SIGNUP_DATE, Role.TARGET):
            continue
        roles.add_argument(option, metavar="COLUMN", help=_ROLE_HELP[role])


def _add_reading_arguments(group: Any) -> None:
    """How the log's rows are read: sheet, date order, baskets, guests, duplicates."""
    group.add_argument("--sheet", help="XLSX sheet name (default: the first sheet)")
    group.add_argument(
        "--dayfirst", action="store_true", help="read dates like 1/2/2024 as day/month/year"
    )
    group.add_argument(
        "--no-baskets",
        action="store_true",
        help="without an order id, keep every row as its own order (default: lines of one "
        "customer at one timestamp, or one day for date-only logs, are one basket)",
    )
    group.add_argument(
        "--guest-id",
        action="append",
        default=[],
        metavar="ID",
        help="treat this customer id as a guest placeholder (dropped and counted); repeatable. "
        "Common placeholders (guest, anonymous, 游客, ...; 0 or -1 when they hold far more "
        "rows than a customer) are always dropped",
    )
    group.add_argument(
        "--keep-duplicate-rows",
        action="store_true",
        help="keep rows identical to an earlier row (default: drop them when "
        "the log has order ids or times of day)",
    )


# What each limit's option means, for --help (the defaults are LoadLimits' own).
_LIMIT_HELP = {
    "max_bytes": "refuse input files larger than this many MB (default: no limit)",
    "max_inflated_bytes": "refuse compressed files (.gz, .xlsx, .parquet) that expand past this "
    "many MB (default: 4096)",
    "max_compression_ratio": "refuse compressed files that expand more than this many times per "
    "compressed byte, judged past 64 MB (default: 100)",
    "max_rows": "refuse tables with more data rows (default: 50,000,000)",
    "max_columns": "refuse tables with more columns (default: 1,000)",
    "max_column_name_chars": "refuse column names longer than this (default: 1,000)",
    "max_cell_chars": "refuse cells longer than this many characters (default: 32,767)",
}


def _add_limit_arguments(parser: argparse.ArgumentParser) -> None:
    from clv_core.limits import LIMIT_SETTINGS

    group = parser.add_argument_group(
        "input limits", "protect the machine from oversized or hostile files; 0 = no limit"
    )
    for name, setting in LIMIT_SETTINGS.items():
        group.add_argument(
            setting.option,
            type=_non_negative_int,
            metavar="N",
            dest=f"limit_{name}",
            help=_LIMIT_HELP[name],
        )


def _non_negative_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected 0 or more, got {value}")
    return value


def _load_limits(arguments: argparse.Namespace) -> LoadLimits:
    """The default limits with the command line's options applied."""
    from clv_core.limits import LIMIT_SETTINGS

    return LoadLimits().with_options(
        {name: getattr(arguments, f"limit_{name}", None) for name in LIMIT_SETTINGS}
    )


def _add_json_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print one JSON object on stdout")


def _add_as_of_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--as-of", metavar="YYYY-MM-DD", help="default: last date in the data")


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m clv_core",
        description="Customer lifetime value engine: features, models, scoring.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    features = commands.add_parser(
        "features",
        help="write one row of features (and optionally the label) per customer",
        description="Validate a transaction log and write per-customer features at a cutoff; "
        "with --horizon-days also the label (net spend in the following days).",
    )
    _add_input_arguments(features)
    features.add_argument(
        "--cutoff",
        required=True,
        metavar="YYYY-MM-DD",
        help="last day of history used by the features",
    )
    features.add_argument(
        "--horizon-days",
        type=int,
        metavar="N",
        help="add the label: net spend in (cutoff, cutoff + N days]",
    )
    features.add_argument(
        "--out", required=True, type=Path, metavar="PATH", help="output file, .csv or .parquet"
    )
    features.add_argument(
        "--engine",
        default="duckdb",
        choices=["duckdb", "pandas", "spark"],
        help="what validates the log and computes the features and labels (identical results): "
        "DuckDB (default; SQL, a Parquet log is streamed, so it may be larger than memory), the "
        "pandas reference, or Apache Spark (master from CLV_SPARK_MASTER, default local[*], "
        "or from spark-submit)",
    )
    features.add_argument(
        "--memory-limit",
        metavar="SIZE",
        help="with --engine duckdb: the most memory DuckDB may use, e.g. 4GB; beyond it DuckDB "
        "spills to a temporary folder, and DuckDB reads a plain CSV log itself (UTF-8, the "
        "column names in line 1), so it may be larger than memory",
    )
    features.add_argument(
        "--json",
        action="store_true",
        help="print one JSON object with the row accounting on stdout",
    )
    features.set_defaults(handler=_run_features)

    evaluate = commands.add_parser(
        "evaluate",
        help="compare the MLP with BG/NBD+Gamma-Gamma, LightGBM and historical on held-out data",
        description="Fit every model on the same training customers and report the metrics "
        "of the README (Reading the metrics) on the same test customers.",
    )
    _add_input_arguments(evaluate, tables=True, target=True)
    evaluate.add_argument(
        "--cutoff", metavar="YYYY-MM-DD", help="required with --transactions: end of the features"
    )
    evaluate.add_argument(
        "--horizon-days",
        type=int,
        metavar="N",
        help="required with --transactions; with --customer-table the period the target covers "
        f"(a label, default {TABLE_HORIZON_DAYS})",
    )
    evaluate.add_argument(
        "--split",
        default="customer",
        choices=["customer", "time"],
        help="customer: random 80/20 customers; time: out-of-time",
    )
    evaluate.add_argument("--test-size", type=float, default=0.2, metavar="F")
    evaluate.add_argument("--seed", type=int, default=0)
    evaluate.add_argument(
        "--repeats",
        type=int,
        default=1,
        metavar="K",
        help="repeat with seeds seed..seed+K-1 and report mean and sd",
    )
    evaluate.add_argument(
        "--models",
        default="mlp,bgnbd_gg,lightgbm,historical",
        help="comma-separated subset of mlp,bgnbd_gg,lightgbm,historical",
    )
    evaluate.add_argument(
        "--config",
        type=Path,
        metavar="MODEL.json",
        help="MLP configuration (JSON object of MlpConfig fields)",
    )
    evaluate.add_argument(
        "--predictions-out",
        type=Path,
        metavar="PATH.csv",
        help="write test customers: customer_id, actual, one column per model",
    )
    _add_json_argument(evaluate)
    evaluate.set_defaults(handler=_run_evaluate)

    train = commands.add_parser(
        "train",
        help="train the MLP on the latest complete window and write a model bundle",
        description="Train on features at as-of minus the horizon with labels up to as-of "
        "(default: the last date in the data), then write a bundle folder; or train on every "
        "customer of --customer-table and its value column.",
    )
    _add_input_arguments(train, tables=True, target=True)
    train.add_argument(
        "--horizon-days",
        type=int,
        metavar="N",
        help="required with --transactions; with --customer-table the period the target covers "
        f"(a label, default {TABLE_HORIZON_DAYS})",
    )
    _add_as_of_argument(train)
    train.add_argument("--config", type=Path, metavar="MODEL.json")
    train.add_argument("--out", required=True, type=Path, metavar="BUNDLE_DIR")
    _add_json_argument(train)
    train.set_defaults(handler=_run_train)

    score = commands.add_parser(
        "score",
        help="score every customer at as-of with a model bundle",
        description="Predict CLV over the bundle's horizon for every customer seen on or "
        "before as-of (default: the last date in the data); with a bundle trained on a "
        "per-customer table, for every customer of --customer-table.",
    )
    score.add_argument("--model", required=True, type=Path, metavar="BUNDLE_DIR_OR_ZIP")
    _add_input_arguments(score, tables=True)
    _add_as_of_argument(score)
    score.add_argument(
        "--out",
        required=True,
        type=Path,
        metavar="SCORED.csv",
        help="output file: .csv, .xlsx or .parquet",
    )
    score.add_argument(
        "--engine",
        default="local",
        choices=["local", "spark"],
        help="where the log is validated, its features computed and the network run: this "
        "machine (default) or Apache Spark (the bundle is shipped to every executor and loaded "
        "once there; Parquet and s3a:// or hdfs:// paths are read by Spark itself)",
    )
    score.add_argument(
        "--segments",
        action="store_true",
        help="add rank, percentile, value tier, churn-risk band and action columns",
    )
    score.add_argument(
        "--explain",
        action="store_true",
        help="add each customer's top three drivers (SHAP); implies --segments",
    )
    score.add_argument(
        "--language",
        default="en",
        choices=["en", "zh"],
        help="language of tier, band, action and driver labels",
    )
    score.add_argument(
        "--passthrough",
        default="",
        metavar="COL,COL",
        help="customer-table columns to copy into the list (with --segments)",
    )
    score.add_argument(
        "--tiers",
        default="",
        metavar="NAME,NAME",
        help="keep only these value tiers (names in --language), for a campaign",
    )
    score.add_argument(
        "--churn-bands",
        default="",
        metavar="NAME,NAME",
        help="keep only these churn-risk bands, e.g. High",
    )
    score.add_argument(
        "--actions",
        default="",
        metavar="NAME,NAME",
        help="keep only these action cells, e.g. 'Win back now'",
    )
    score.add_argument(
        "--excel-bom",
        action="store_true",
        help="start the CSV with a UTF-8 byte-order mark so Excel shows Chinese",
    )
    value = score.add_argument_group(
        "profit and budget",
        "predicted_profit = margin x the predicted revenue, month by month as BG/NBD times it, "
        "discounted at the end of each 30-day month to as-of",
    )
    value.add_argument(
        "--margin",
        type=float,
        default=DEFAULT_MARGIN,
        metavar="SHARE",
        help=f"gross margin as a share of revenue, 0..1 (default {DEFAULT_MARGIN:g}: profit = "
        "discounted revenue)",
    )
    value.add_argument(
        "--margin-column",
        metavar="COL",
        help="a --customers column with each customer's margin (0..1), or with a category "
        "whose margins --category-margins gives; --margin where there is none",
    )
    value.add_argument(
        "--category-margins",
        default="",
        metavar="NAME=SHARE,...",
        help="the margin of each category of --margin-column, e.g. wholesale=0.12,retail=0.45",
    )
    value.add_argument(
        "--discount-rate",
        type=float,
        default=DEFAULT_ANNUAL_DISCOUNT_RATE,
        metavar="RATE",
        help="annual discount rate, applied monthly as (1 + RATE)^(1/12) - 1 (default "
        f"{DEFAULT_ANNUAL_DISCOUNT_RATE:g})",
    )
    value.add_argument(
        "--period",
        default="month",
        choices=sorted(PERIODS),
        help="the periods the value is spread over and discounted at the end of (the .xlsx's "
        "value sheets); default month",
    )
    value.add_argument(
        "--budget",
        type=float,
        metavar="AMOUNT",
        help="keep only the customers this budget should contact, highest expected profit "
        "net of --cost-per-contact first (after the tier, band and action filters)",
    )
    value.add_argument(
        "--cost-per-contact",
        type=float,
        metavar="AMOUNT",
        help="what one contact costs (required with --budget)",
    )
    _add_json_argument(score)
    score.set_defaults(handler=_run_score)

    monitor = commands.add_parser(
        "monitor",
        help="compare a bundle's predictions with what customers did next, measure drift",
        description="Score the customers the bundle scored at its as-of date again and compare "
        "with what they spent in the horizon that followed (the elapsed part, pro-rated, when "
        "the log ends sooner); refit the baselines at the as-of date; measure the drift of the "
        "network's inputs; say whether to retrain and why. Exits 0 either way: a scheduler "
        "reads retrain_recommended in the JSON.",
    )
    monitor.add_argument("--model", required=True, type=Path, metavar="BUNDLE_DIR_OR_ZIP")
    _add_input_arguments(monitor)
    monitor.add_argument(
        "--out",
        type=Path,
        metavar="REPORT.json",
        help="also write the report: .json (the documented document), .html or .xlsx",
    )
    monitor.add_argument(
        "--language", default="en", choices=["en", "zh"], help="language of segment labels"
    )
    _add_json_argument(monitor)
    monitor.set_defaults(handler=_run_monitor)

    retrain = commands.add_parser(
        "retrain",
        help="train a challenger on the newest window, compare it with the bundle, promote it",
        description="Train a challenger with the bundle's configuration on the newest window, "
        "measure champion and challenger on the same held-out customers of the same "
        "out-of-time split (the last horizon of the log), and write the challenger as a new "
        "bundle (trained on the window ending at the log's last day) when --promote says so, "
        "with its parent and the comparison in meta.json.",
    )
    retrain.add_argument("--model", required=True, type=Path, metavar="BUNDLE_DIR_OR_ZIP")
    _add_input_arguments(retrain)
    retrain.add_argument("--out", required=True, type=Path, metavar="NEW_BUNDLE_DIR")
    retrain.add_argument(
        "--promote",
        default="if-better",
        choices=["if-better", "always", "never"],
        help="write the new bundle when the challenger is better (default), always, or never",
    )
    retrain.add_argument(
        "--config",
        type=Path,
        metavar="MODEL.json",
        help="challenger settings (default: the bundle's)",
    )
    _add_json_argument(retrain)
    retrain.set_defaults(handler=_run_retrain)

    explain = commands.add_parser(
        "explain",
        help="write SHAP values of predicted CLV per customer and feature",
        description="Explain the bundle's predicted CLV (money) for customers at as-of: one row "
        "per customer and feature with the feature's value and its SHAP contribution; base "
        "value + sum of a customer's contributions = predicted CLV.",
    )
    explain.add_argument("--model", required=True, type=Path, metavar="BUNDLE_DIR_OR_ZIP")
    _add_input_arguments(explain, tables=True)
    _add_as_of_argument(explain)
    explain.add_argument(
        "--sample",
        type=int,
        default=1000,
        metavar="N",
        help="explain a seeded sample of N customers (0: all)",
    )
    explain.add_argument(
        "--background",
        type=int,
        default=None,
        metavar="N",
        help="background customers drawn from the training customers (default: the engine's "
        "default, 200, the same as the workbench)",
    )
    explain.add_argument("--seed", type=int, default=0)
    explain.add_argument("--out", required=True, type=Path, metavar="SHAP.csv")
    _add_json_argument(explain)
    explain.set_defaults(handler=_run_explain)

    serve = commands.add_parser(
        "serve",
        help="answer scoring requests over HTTP (REST API) with a model bundle",
        description="Load a bundle once and serve GET /health, /ready, /model and POST "
        "/score (feature rows), /score/transactions (orders); OpenAPI schema at /openapi.json, "
        "documentation at /docs.",
    )
    serve.add_argument("--model", required=True, type=Path, metavar="BUNDLE_DIR_OR_ZIP")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument(
        "--workers",
        type=int,
        default=1,
        metavar="N",
        help="server processes (each loads the bundle)",
    )
    serve.add_argument(
        "--max-batch",
        type=int,
        default=10_000,
        metavar="N",
        help="most customers or orders per request",
    )
    serve.add_argument(
        "--max-body-mb", type=float, default=10.0, metavar="MB", help="largest request body"
    )
    serve.add_argument(
        "--api-key-env",
        metavar="VAR",
        help="require the X-API-Key header to equal this environment variable's value",
    )
    serve.add_argument(
        "--log-level", default="info", choices=("critical", "error", "warning", "info", "debug")
    )
    serve.set_defaults(handler=_run_serve)

    generate = commands.add_parser(
        "generate-sample",
        help="write a synthetic e-commerce data set with known ground truth",
        description="Write transactions.csv, customers.csv and customers_seed_zh.csv "
        "(GB18030) from the seeded synthetic generator.",
    )
    generate.add_argument("--out", required=True, type=Path, metavar="DIR")
    generate.add_argument(
        "--customers",
        type=int,
        default=3000,
        metavar="N",
        help="number of customers (about 10 rows each)",
    )
    generate.add_argument("--seed", type=int, default=0)
    generate.set_defaults(handler=_run_generate)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the process exit status."""
    parser = _build_parser()
    arguments = parser.parse_args(argv)
    try:
        status: int = arguments.handler(arguments)
    except ClvError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except MemoryError:
        print(f"error: {_out_of_memory_message(arguments.command)}", file=sys.stderr)
        return 2
    return status


def _out_of_memory_message(command: str) -> str:
    """What to do when this machine ran out of memory running ``command``."""
    what = f"This machine ran out of memory running '{command}'."
    if command == "features":
        return (
            f"{what} Give --memory-limit (for example 4GB): DuckDB then reads a Parquet log or "
            "a plain CSV log (UTF-8, the column names in line 1) itself and spills to disk "
            "beyond the limit. Or write the log as Parquet, or use a filtered extract."
        )
    return f"{what} Use a filtered extract (fewer rows or columns) or a machine with more memory."


def _load_inputs(arguments: argparse.Namespace) -> CheckedInputs:
    """Read the files named on the command line and run the data check on them."""
    from clv_core.usecases import check_inputs

    read = _reader(arguments)
    return check_inputs(
        read(arguments.transactions, arguments.sheet),
        order_lines=read(arguments.order_lines),
        attributes=read(arguments.customers),
        roles=_roles(arguments),
        options=_validation_options(arguments),
    )


def _reader(arguments: argparse.Namespace) -> Any:
    """``read(path, sheet=None)``: the file loaded with the command line's limits (or None)."""
    from clv_core.loading import load_table

    limits = _load_limits(arguments)

    def read(path: Path | None, sheet: str | None = None) -> Any:
        return None if path is None else load_table(path, sheet=sheet, limits=limits)

    return read


def _roles(arguments: argparse.Namespace) -> dict[str, str | None]:
    """The column roles named on the command line (``none``: the log has no such column)."""
    roles: dict[str, str | None] = {}
    for role, option in ROLE_OPTIONS.items():
        value = getattr(arguments, option[2:].replace("-", "_"), None)
        if value is not None:
            roles[role.value] = None if value.strip().lower() == "none" else value
    return roles


def _validation_options(arguments: argparse.Namespace) -> Any:
    from clv_core.validation import ValidationOptions

    return ValidationOptions(
        dayfirst=True if arguments.dayfirst else None,
        drop_duplicate_rows=False if arguments.keep_duplicate_rows else None,
        combine_baskets=not arguments.no_baskets,
        guest_ids=tuple(arguments.guest_id),
    )


def _run_features(arguments: argparse.Namespace) -> int:
    from clv_core.usecases.features import (
        CsvLog,
        FeatureRequest,
        ParquetLog,
        SparkLog,
        write_log_features,
    )

    out: Path = arguments.out
    _check_suffix(out, "--out", (".csv", ".parquet"))
    request = FeatureRequest(
        cutoff=pd.Timestamp(_parse_date_option(arguments.cutoff, "--cutoff")),
        horizon_days=arguments.horizon_days,
        engine=arguments.engine,
        memory_limit=arguments.memory_limit,
        roles=_roles(arguments),
        options=_validation_options(arguments),
    )
    read = _reader(arguments)
    path: Path | str = arguments.transactions
    table: Any
    if arguments.engine == "duckdb" and arguments.order_lines is None and _is_parquet(path):
        # DuckDB streams a Parquet log itself: it may be larger than memory.
        table = ParquetLog(Path(path), max_columns=_load_limits(arguments).max_columns)
    elif (
        arguments.memory_limit is not None
        and arguments.order_lines is None
        and arguments.sheet is None
        and isinstance(path, Path)
    ):
        # Under a memory limit DuckDB reads a plain CSV log itself, spilling to disk (the
        # loader, faster but holding the whole table, reads any other file).
        table = CsvLog(path, limits=_load_limits(arguments))
    elif arguments.engine == "spark" and arguments.order_lines is None and _spark_reads(path):
        # Spark reads Parquet and remote paths itself (on a cluster, on its executors).
        table = SparkLog(str(path))
    else:
        table = read(path, arguments.sheet)
    run = write_log_features(
        table,
        request,
        out,
        order_lines=read(arguments.order_lines),
        attributes=read(arguments.customers),
    )
    warnings = run.warnings
    cutoff = request.cutoff
    labelled = arguments.horizon_days is not None
    result = {
        "command": "features",
        "engine": arguments.engine,
        "validated_by": run.validated_by,
        "why_pandas": run.why_pandas,
        "why_loader": run.why_loader,
        "cutoff": str(cutoff.date()),
        "horizon_days": arguments.horizon_days,
        "n_customers": run.n_customers,
        "n_features": len(run.columns) - labelled,
        "feature_names": [c for c in run.columns if c != "future_spend"],
        "out": str(out),
        "validation": run.validation(),
        "warnings": warnings,
    }
    if arguments.json:
        print(json.dumps(result, ensure_ascii=False, default=str))
    else:
        _print_lines(run.report_lines())
        for warning in warnings:
            print(f"warning: {warning}", file=sys.stderr)
        if run.why_loader is not None:
            print(
                f"note: DuckDB did not read '{Path(path).name}' itself ({run.why_loader}), so "
                "the Python reader read it whole into memory; a Parquet log is always read by "
                "DuckDB",
                file=sys.stderr,
            )
        print(
            f"wrote {run.n_customers:,} customers x {result['n_features']} features"
            f"{' + label' if arguments.horizon_days else ''} to {out}",
            file=sys.stderr,
        )
    return 0


def _run_evaluate(arguments: argparse.Namespace) -> int:
    from clv_core.config import MlpConfig, load_config
    from clv_core.evaluation import EvaluationSettings, parse_model_names
    from clv_core.usecases import EvaluationRequest, evaluate_models, table_settings

    if arguments.predictions_out is not None:
        _check_suffix(arguments.predictions_out, "--predictions-out", (".csv",))
    table_path = _table_path(arguments)
    if table_path is None:
        _require_options(arguments, "--cutoff", "--horizon-days")
    config = load_config(arguments.config) if arguments.config else MlpConfig()
    settings = EvaluationSettings(
        cutoff=(
            _parse_date_option(arguments.cutoff, "--cutoff").date()
            if arguments.cutoff is not None
            else dt.date.today()
        ),
        horizon_days=_table_horizon(arguments),
        split=arguments.split,
        test_size=arguments.test_size,
        seed=arguments.seed,
        repeats=arguments.repeats,
        models=parse_model_names(arguments.models),
        config=config,
    )
    if table_path is not None:
        table = _load_customer_table(arguments, table_path)
        request = EvaluationRequest(table_settings(table, settings), table=table)
        validation, report_lines = _table_validation("customer_table", table)
    else:
        inputs = _load_inputs(arguments)
        request = EvaluationRequest(settings, inputs.transactions.frame, inputs.customers)
        validation, report_lines = inputs.validation(), inputs.report_lines()
    result = evaluate_models(request, on_stage=None if arguments.json else _print_stage)
    if arguments.predictions_out is not None:
        _write_table(result.predictions.reset_index(), arguments.predictions_out, index=False)
    output = result.to_dict() | {"validation": validation}
    if arguments.json:
        print(json.dumps(output, ensure_ascii=False))
        return 0
    _print_lines(report_lines)
    print(result.metrics_table().to_string(index=False), file=sys.stderr)
    for warning in result.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    return 0


def _run_train(arguments: argparse.Namespace) -> int:
    from clv_core.config import load_config
    from clv_core.usecases import TrainRequest, train_bundle, train_table_bundle

    config = load_config(arguments.config) if arguments.config else None
    on_epoch = None if arguments.json else _print_epoch
    table_path = _table_path(arguments)
    if table_path is not None:
        table = _load_customer_table(arguments, table_path)
        trained_table = train_table_bundle(
            table,
            arguments.out,
            horizon_days=_table_horizon(arguments),
            config=config,
            on_epoch=on_epoch,
        )
        validation, report_lines = _table_validation("customer_table", table)
        facts: dict[str, Any] = {
            "bundle": str(trained_table.folder),
            "input": "customer_table",
            "horizon_days": trained_table.training["horizon_days"],
            "training": trained_table.training,
            "warnings": [],
        }
        warnings: list[str] = []
    else:
        _require_options(arguments, "--horizon-days")
        request = TrainRequest(
            horizon_days=arguments.horizon_days,
            as_of=_optional_date(arguments.as_of, "--as-of"),
            config=config,
        )
        inputs = _load_inputs(arguments)
        trained = train_bundle(inputs, request, arguments.out, on_epoch=on_epoch)
        validation, report_lines = inputs.validation(), inputs.report_lines()
        facts = {**trained.to_dict(), "input": "transactions"}
        warnings = list(trained.deployment.warnings)
    output = {"command": "train", **facts, "validation": validation}
    if arguments.json:
        print(json.dumps(output, ensure_ascii=False))
    else:
        _print_lines(report_lines)
        for warning in warnings:
            print(f"warning: {warning}", file=sys.stderr)
        print(f"wrote model bundle to {output['bundle']}", file=sys.stderr)
    return 0


def _run_serve(arguments: argparse.Namespace) -> int:
    from clv_core.api import ApiSettings, serve

    settings = ApiSettings(
        max_batch=arguments.max_batch,
        max_body_mb=arguments.max_body_mb,
        api_key=_api_key(arguments.api_key_env),
    )
    serve(
        arguments.model,
        host=arguments.host,
        port=arguments.port,
        workers=arguments.workers,
        settings=settings,
        log_level=arguments.log_level,
    )
    return 0


def _api_key(variable: str | None) -> str | None:
    """The API key from the environment variable ``--api-key-env`` names (refused when empty)."""
    if variable is None:
        return None
    value = os.environ.get(variable, "")
    if not value.strip():
        raise ConfigError(
            f"--api-key-env {variable}: the environment variable {variable} is not set or "
            "empty. Set it to the key clients will send in the X-API-Key header."
        )
    return value


def _run_score(arguments: argparse.Namespace) -> int:
    from clv_core.bundle import load_bundle
    from clv_core.usecases import (
        CampaignRequest,
        check_new_customers,
        score_campaign,
        score_table_campaign,
    )

    _check_suffix(arguments.out, "--out", (".csv", ".xlsx", ".parquet"))
    table_path = _table_path(arguments)
    if arguments.passthrough and arguments.customers is None and table_path is None:
        raise ConfigError("--passthrough needs --customers: the columns come from that table.")
    model, info = load_bundle(arguments.model)
    _check_bundle_input(info, table_path)
    request = CampaignRequest(
        as_of=_optional_date(arguments.as_of, "--as-of"),
        language=Language(arguments.language),
        segments=arguments.segments,
        drivers=arguments.explain,
        passthrough=_names(arguments.passthrough),
        tiers=_names(arguments.tiers),
        bands=_names(arguments.churn_bands),
        actions=_names(arguments.actions),
        # Parquet is read by programs: it carries the segments' language-independent codes.
        codes=arguments.out.suffix.lower() == ".parquet",
        value=ValueSettings(
            margin=arguments.margin,
            margin_column=arguments.margin_column,
            category_margins=_category_margins(arguments.category_margins),
            annual_discount_rate=arguments.discount_rate,
            period=arguments.period,
        ),
        budget=_budget_request(arguments),
    )
    if arguments.margin_column and table_path is not None:
        raise ConfigError(
            "--margin-column reads the --customers attributes of a transaction log; with a "
            "per-customer table give one --margin for everyone."
        )
    if arguments.margin_column and arguments.customers is None:
        raise ConfigError("--margin-column needs --customers: the margins come from that table.")
    if arguments.engine == "spark":
        if table_path is not None:
            raise ConfigError("--engine spark scores transaction logs, not per-customer tables.")
        if arguments.order_lines is not None:
            raise ConfigError("--engine spark reads one log file; join the order lines first.")
        scores = _score_on_spark(arguments, model, info, request)
        campaign = scores.campaign
        validation, report_lines = scores.validation(), scores.report_lines()
    elif table_path is not None:
        customers = check_new_customers(
            _load_table(arguments, table_path),
            info,
            id_column=arguments.customer_col,
            reference_date=request.as_of,
        )
        campaign = score_table_campaign(model, info, customers, request)
        validation, report_lines = _table_validation("new_customers", customers)
    else:
        inputs = _load_inputs(arguments)
        campaign = score_campaign(model, info, inputs.transactions.frame, inputs.customers, request)
        validation, report_lines = inputs.validation(), inputs.report_lines()
    listing = campaign.listing
    plan = campaign.plan
    assert plan is not None
    _write_output(
        listing,
        arguments.out,
        excel_bom=arguments.excel_bom,
        extra_sheets=plan.sheets(listing["customer_id"]),
    )
    output = {
        "command": "score",
        "model": str(arguments.model),
        "input": info.input_shape.value,
        "as_of": campaign.scored.as_of.isoformat(),
        "horizon_days": info.horizon_days,
        "n_customers": len(listing),
        "predicted_total": round(float(listing["predicted_clv"].sum()), 2),
        "predicted_profit_total": round(float(listing["predicted_profit"].sum()), 2),
        "value": plan.summary(listing["customer_id"]),
        "budget": campaign.budget.summary() if campaign.budget is not None else None,
        "columns": [str(column) for column in listing.columns],
        "segments": campaign.segment_summary(),
        "out": str(arguments.out),
        "validation": validation,
    }
    if arguments.json:
        print(json.dumps(output, ensure_ascii=False))
    else:
        _print_lines(report_lines)
        print(plan.sentence(), file=sys.stderr)
        if campaign.budget is not None:
            print(_budget_line(campaign.budget.summary()), file=sys.stderr)
        print(
            f"scored {len(listing):,} customers over the next {info.horizon_days} days "
            f"(total {output['predicted_total']:,.2f}, profit "
            f"{output['predicted_profit_total']:,.2f}) into {arguments.out}",
            file=sys.stderr,
        )
    return 0


def _category_margins(text: str) -> tuple[tuple[str, float], ...]:
    """``NAME=SHARE,NAME=SHARE`` as pairs (a name may hold spaces, not commas or '=')."""
    pairs = []
    for item in filter(None, (part.strip() for part in text.split(","))):
        name, equals, rate = item.rpartition("=")
        try:
            if not equals:
                raise ValueError
            pairs.append((name.strip(), float(rate)))
        except ValueError as error:
            raise ConfigError(
                f"--category-margins: {item!r} is not NAME=SHARE (e.g. retail=0.45)."
            ) from error
    return tuple(pairs)


def _budget_request(arguments: argparse.Namespace) -> BudgetRequest | None:
    """``--budget`` with ``--cost-per-contact`` as a plan request; neither gives none."""
    if arguments.budget is None and arguments.cost_per_contact is None:
        return None
    if arguments.budget is None or arguments.cost_per_contact is None:
        raise ConfigError("--budget and --cost-per-contact go together; give both.")
    return BudgetRequest(budget=arguments.budget, cost_per_contact=arguments.cost_per_contact)


def _budget_line(summary: dict[str, Any]) -> str:
    """The budget plan in one line for a terminal."""
    band = summary["expected_profit_80"]
    uncertainty = f" (80%: {band[0]:,.2f} to {band[1]:,.2f})" if band else ""
    return (
        f"budget {summary['budget']:,.2f} at {summary['cost_per_contact']:,.2f} a contact: "
        f"{summary['contacts']:,} of {summary['candidates']:,} customers "
        f"({summary['worth_contacting']:,} worth contacting), cost {summary['cost']:,.2f}, "
        f"expected profit {summary['expected_profit']:,.2f}{uncertainty}, net "
        f"{summary['expected_net_profit']:,.2f}"
    )


def _run_monitor(arguments: argparse.Namespace) -> int:
    from clv_core.bundle import load_bundle
    from clv_core.usecases.monitoring import monitor_bundle, write_monitor_report

    if arguments.out is not None:
        _check_suffix(arguments.out, "--out", (".json", ".html", ".xlsx"))
    model, info = load_bundle(arguments.model)
    inputs = _load_inputs(arguments)
    report = monitor_bundle(
        model,
        info,
        inputs.transactions.frame,
        inputs.customers,
        source=str(arguments.model),
        language=Language(arguments.language),
    )
    if arguments.out is not None:
        write_monitor_report(report, arguments.out)
    data = report.data | {"validation": inputs.validation()}
    if arguments.json:
        print(json.dumps(data, ensure_ascii=False))
        return 0
    _print_lines(inputs.report_lines())
    network = data["network"]
    window = data["window"]
    print(
        f"{data['customers']:,} customers scored on {data['bundle']['as_of']}, outcome "
        f"{window['start']} to {window['end']}"
        + ("" if window["complete"] else f" ({window['days']} days, pro-rated)")
        + f": Gini {network['normalized_gini']:.3f}, Spearman {network['spearman']:.3f}, "
        f"decile MAPE {network['decile_mape']:.3f}, total ratio {network['total_ratio']:.3f}",
        file=sys.stderr,
    )
    _print_lines(data["notes"])
    verdict = "retraining recommended" if data["retrain_recommended"] else "no retraining needed"
    _print_lines(
        [verdict + (":" if data["reasons"] else "."), *(f"  - {r}" for r in data["reasons"])]
    )
    return 0


def _run_retrain(arguments: argparse.Namespace) -> int:
    from clv_core.bundle import load_bundle
    from clv_core.config import load_config
    from clv_core.usecases.monitoring import RetrainRequest, retrain_bundle

    request = RetrainRequest(
        promote=arguments.promote,
        config=load_config(arguments.config) if arguments.config else None,
    )
    model, info = load_bundle(arguments.model)
    inputs = _load_inputs(arguments)
    result = retrain_bundle(
        model,
        info,
        inputs.transactions.frame,
        inputs.customers,
        request,
        arguments.out,
        source=str(arguments.model),
    )
    output = result.to_dict() | {"validation": inputs.validation()}
    if arguments.json:
        print(json.dumps(output, ensure_ascii=False))
        return 0
    _print_lines(inputs.report_lines())
    comparison = result.comparison
    for name in ("champion", "challenger"):
        metrics = comparison[name]
        print(
            f"{name}: Gini {metrics['normalized_gini']:.3f}, Spearman {metrics['spearman']:.3f}, "
            f"decile MAPE {metrics['decile_mape']:.3f}, total ratio {metrics['total_ratio']:.3f}",
            file=sys.stderr,
        )
    print(
        ("promoted: " + str(result.folder))
        if result.promoted
        else "not promoted: "
        + ("the challenger is not better" if request.promote == "if-better" else "--promote never"),
        file=sys.stderr,
    )
    return 0


def _run_explain(arguments: argparse.Namespace) -> int:
    from clv_core.bundle import load_bundle
    from clv_core.explain import ExplainSettings
    from clv_core.usecases import check_new_customers, explain_bundle, explain_table

    _check_suffix(arguments.out, "--out", (".csv", ".parquet"))
    if arguments.sample < 0:
        raise ConfigError(f"--sample must be 0 (all customers) or more, got {arguments.sample}.")
    settings = ExplainSettings(
        background_size=arguments.background or ExplainSettings().background_size,
        sample_size=arguments.sample or None,
        seed=arguments.seed,
    )
    table_path = _table_path(arguments)
    model, info = load_bundle(arguments.model)
    _check_bundle_input(info, table_path)
    as_of = _optional_date(arguments.as_of, "--as-of")
    if table_path is not None:
        customers = check_new_customers(
            _load_table(arguments, table_path),
            info,
            id_column=arguments.customer_col,
            reference_date=as_of,
        )
        explanation = explain_table(model, customers, settings)
        reference = customers.reference_date
        explained_as_of = reference.date() if reference is not None else info.cutoff
        validation, report_lines = _table_validation("new_customers", customers)
    else:
        inputs = _load_inputs(arguments)
        explained = explain_bundle(
            model, info, inputs.transactions.frame, inputs.customers, as_of=as_of, settings=settings
        )
        explanation, explained_as_of = explained.explanation, explained.scored.as_of
        validation, report_lines = inputs.validation(), inputs.report_lines()
    values = explanation.values.assign(
        feature_value=explanation.values["feature_value"].astype(str)
    )
    _write_table(values, arguments.out, index=False)
    output = {
        "command": "explain",
        "model": str(arguments.model),
        "input": info.input_shape.value,
        "as_of": explained_as_of.isoformat(),
        "explained_space": explanation.space,
        "base_value": round(float(explanation.base_value), 6),
        "n_customers": len(explanation.customer_ids),
        "n_features": len(explanation.features),
        "max_additivity_error": float(explanation.additivity_error),
        "importance": explanation.importance().head(10).to_dict(orient="records"),
        "out": str(arguments.out),
        "validation": validation,
    }
    if arguments.json:
        print(json.dumps(output, ensure_ascii=False, default=float))
    else:
        _print_lines(report_lines)
        print(
            f"explained {output['n_customers']:,} customers x {output['n_features']} features "
            f"(base value {output['base_value']:,.2f}) into {arguments.out}",
            file=sys.stderr,
        )
    return 0


def _table_path(arguments: argparse.Namespace) -> Path | None:
    """``--customer-table``, checked against the log options it replaces."""
    table: Path | None = getattr(arguments, "customer_table", None)
    if table is not None and arguments.transactions is not None:
        raise ConfigError(
            "Give either --transactions (a log of orders) or --customer-table (one row per "
            "customer), not both."
        )
    if table is None and arguments.transactions is None:
        raise ConfigError(
            "Give the data: --transactions PATH (a log of orders) or --customer-table PATH "
            "(one row per customer)."
        )
    if table is not None and (arguments.customers is not None or arguments.order_lines):
        raise ConfigError(
            "--customers and --order-lines go with --transactions; a per-customer table holds "
            "the customers' attributes itself."
        )
    return table


def _is_parquet(path: Path | str) -> bool:
    """Whether a path names a Parquet file (by its first bytes; a glob or URL by its suffix)."""
    if isinstance(path, str) or any(character in str(path) for character in "*?["):
        return str(path).lower().rstrip("/").endswith(".parquet")
    try:
        with path.open("rb") as handle:
            return handle.read(4) == b"PAR1"
    except OSError:
        return False


def _location(text: str) -> Path | str:
    """A local path, or a URL kept as written (``s3a://bucket/log.parquet``) for Spark."""
    return text if "://" in text else Path(text)


def _score_on_spark(arguments: argparse.Namespace, model: Any, info: Any, request: Any) -> Any:
    """The score command's log scored on Spark."""
    from clv_core.usecases.features import SparkLog
    from clv_core.usecases.spark_scoring import score_log_on_spark

    read = _reader(arguments)
    path: Path | str = arguments.transactions
    table = SparkLog(str(path)) if _spark_reads(path) else read(path, arguments.sheet)
    return score_log_on_spark(
        Path(arguments.model),
        model,
        info,
        table,
        request,
        roles=_roles(arguments),
        options=_validation_options(arguments),
        attributes=read(arguments.customers),
    )


def _spark_reads(path: Path | str) -> bool:
    """Whether Spark reads the log itself: a path with a scheme (``s3a://``, ``hdfs://``) or a
    Parquet file; a local CSV or workbook is read by the Python reader and handed to Spark."""
    return "://" in str(path) or _is_parquet(path)


def _table_horizon(arguments: argparse.Namespace) -> int:
    """``--horizon-days`` as given (checked where it is used), else a table's default label."""
    given: int | None = arguments.horizon_days
    return TABLE_HORIZON_DAYS if given is None else given


def _require_options(arguments: argparse.Namespace, *options: str) -> None:
    missing = [
        option for option in options if getattr(arguments, option[2:].replace("-", "_")) is None
    ]
    if missing:
        raise ConfigError(f"{' and '.join(missing)} required with --transactions.")


def _load_table(arguments: argparse.Namespace, path: Path) -> Any:
    from clv_core.loading import load_table

    return load_table(path, sheet=arguments.sheet, limits=_load_limits(arguments))


def _load_customer_table(arguments: argparse.Namespace, path: Path) -> Any:
    """The per-customer training table: id and target as given or detected."""
    from clv_core.usecases import check_customer_table

    roles = {"customer_id": arguments.customer_col, "target": arguments.target_col}
    return check_customer_table(_load_table(arguments, path), roles)


def _check_bundle_input(info: Any, table_path: Path | None) -> None:
    """A table bundle scores tables and a log bundle scores logs; say so otherwise."""
    from clv_core.kinds import InputShape

    if table_path is None and info.input_shape is InputShape.CUSTOMER_TABLE:
        raise ConfigError(
            "This model bundle was trained on a per-customer table "
            f"(columns {list(info.table.required_columns)}); score it with --customer-table."
        )


def _table_validation(name: str, table: Any) -> tuple[dict[str, Any], list[str]]:
    """A per-customer table's row accounting as JSON data and as report lines."""
    data = table.report.to_dict()
    mapping = getattr(table, "mapping", None)
    if mapping is not None:
        data["mapping"] = mapping.to_dict()
    return {name: data}, list(table.report.describe())


def _names(text: str) -> list[str]:
    """A comma-separated option as a list of names (empty when not given)."""
    return [name.strip() for name in text.split(",") if name.strip()]


def _optional_date(value: str | None, option: str) -> Any:
    return None if value is None else _parse_date_option(value, option).date()


def _write_output(
    frame: pd.DataFrame,
    out: Path,
    *,
    excel_bom: bool,
    extra_sheets: dict[str, pd.DataFrame] | None = None,
) -> None:
    """Scored lists: CSV/XLSX through the export module (formulas neutralised), or Parquet;
    ``extra_sheets`` go into an .xlsx only."""
    if out.suffix.lower() == ".parquet":
        _write_table(frame, out, index=False)
        return
    from clv_core.export import write_export

    try:
        out.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise DataError(f"Could not create the folder for '{out}': {error}.") from error
    write_export(frame, out, excel_bom=excel_bom, extra_sheets=extra_sheets)


def _print_lines(lines: list[str]) -> None:
    for line in lines:
        print(line, file=sys.stderr)


def _print_stage(stage: str) -> None:
    print(f"... {stage}", file=sys.stderr)


def _print_epoch(event: Any) -> None:
    print(
        f"member {event.member}/{event.members} epoch {event.epoch}: "
        f"loss {event.train_loss:.4f}, val_loss {event.val_loss:.4f}",
        file=sys.stderr,
    )


def _check_suffix(path: Path, option: str, suffixes: tuple[str, ...]) -> None:
    if path.suffix.lower() not in suffixes:
        raise ConfigError(f"{option} must end in {' or '.join(suffixes)}, got '{path.name}'.")


def _run_generate(arguments: argparse.Namespace) -> int:
    from clv_core.synthetic import SyntheticConfig, write_sample_data

    config = SyntheticConfig(n_customers=arguments.customers, seed=arguments.seed)
    paths = write_sample_data(arguments.out, config)
    for path in paths:
        print(f"wrote {path}", file=sys.stderr)
    return 0


def _parse_date_option(value: str, option: str) -> pd.Timestamp:
    from clv_core.splits import as_day

    return as_day(value, option)


def _write_table(frame: pd.DataFrame, out: Path, *, index: bool = True) -> None:
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        if out.suffix.lower() == ".parquet":
            frame.to_parquet(out, index=index)
        else:
            frame.to_csv(out, encoding="utf-8", index=index)
    except OSError as error:
        raise DataError(f"Could not write '{out}': {error.strerror or error}.") from error
