"""Closing the loop: monitor a deployed bundle against what customers really did, retrain it.

:func:`monitor_bundle` (``python -m clv_core monitor``, the Monitor page) scores the customers
a bundle scored at its as-of date again, with the same features, and compares the predictions
with what they spent in ``(as_of, as_of + horizon]``. When the log ends before the horizon does,
the comparison covers the elapsed days and each prediction is pro-rated by the customer's BG/NBD
timing (the share of the horizon's purchases expected in the elapsed days,
:func:`clv_core.value.elapsed_share`; without a timing profile, the share of the days); the
report says so. The baselines are refitted at the as-of date on the same customers, so the
report says whether the network was still the best choice; the drift of its inputs is measured
between the customers it was trained on and the newest ones; the reasons to retrain follow
:class:`clv_core.monitoring.Thresholds`.

:func:`retrain_bundle` (``python -m clv_core retrain``) trains a challenger with the bundle's
configuration on the newest window and compares it with the bundle (the champion) on the same
held-out customers of the same out-of-time split: features at ``T0 = last day - horizon``, the
outcome over ``(T0, last day]``; the challenger learns from the window ending at ``T0``, without
the held-out customers. With ``promote`` it trains the new bundle on the window ending at the
last day and records its parent, the comparison and the data range in ``meta.json``
(``lineage``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import html
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from clv_core.baselines import BtydBaseline, HistoricalBaseline, LightGbmBaseline
from clv_core.bundle import BundleInfo, save_bundle
from clv_core.config import MlpConfig
from clv_core.errors import ConfigError, DataError
from clv_core.features import LABEL_COLUMN, build_features, build_labels, build_training_table
from clv_core.kinds import InputShape
from clv_core.language import Language
from clv_core.metrics import METRIC_NAMES, compute_metrics
from clv_core.mlp import ClvMlp, ProgressCallback
from clv_core.monitoring import (
    Thresholds,
    coverage,
    feature_drift,
    recommendation,
    segment_outcomes,
)
from clv_core.scoring import score_with_features, train_for_deployment
from clv_core.segments import segment_codes, segment_customers
from clv_core.splits import split_customers
from clv_core.usecases.service import feature_fields, json_value
from clv_core.validation import CustomerAttributes
from clv_core.value import elapsed_share

__all__ = [
    "REPORT_FORMAT",
    "MonitorReport",
    "RetrainRequest",
    "RetrainResult",
    "monitor_bundle",
    "report_bytes",
    "retrain_bundle",
    "write_monitor_report",
]

REPORT_FORMAT = "clv-monitor-1"
# Two models whose metric differs by less than this are level on it.
_TIE = 0.005
_BASELINE_NAMES = {
    "bgnbd_gg": "BG/NBD + Gamma-Gamma",
    "lightgbm": "LightGBM",
    "historical": "Historical",
}
Promotion = Literal["if-better", "always", "never"]
PROMOTIONS: tuple[str, ...] = ("if-better", "always", "never")


@dataclass(frozen=True, slots=True)
class MonitorReport:
    """The report (JSON-ready ``data``), every customer's predicted and realised value, and the
    drift table."""

    data: dict[str, Any]
    customers: pd.DataFrame
    drift: pd.DataFrame

    @property
    def retrain_recommended(self) -> bool:
        """Whether any reason to retrain was found."""
        return bool(self.data["retrain_recommended"])


def _days(transactions: pd.DataFrame) -> tuple[dt.date, dt.date]:
    dates = transactions["order_date"]
    return pd.Timestamp(dates.min()).date(), pd.Timestamp(dates.max()).date()


def _check_log_bundle(info: BundleInfo, what: str) -> None:
    if info.input_shape is not InputShape.TRANSACTIONS:
        raise DataError(
            f"{what} compares a bundle trained on a transaction log with the orders that "
            "followed; this bundle was trained on a per-customer table, which has no dates."
        )


def _optional_features(model: ClvMlp) -> list[str]:
    return [entry.name for entry in feature_fields(model) if not entry.required]


def _rounded(metrics: dict[str, float]) -> dict[str, float]:
    return {name: round(float(value), 6) for name, value in metrics.items()}


def monitor_bundle(
    model: ClvMlp,
    info: BundleInfo,
    transactions: pd.DataFrame,
    customers: CustomerAttributes | None,
    *,
    source: str,
    language: Language = Language.EN,
    thresholds: Thresholds | None = None,
) -> MonitorReport:
    """Backtest, baselines, drift and the recommendation for one bundle and a newer log.

    Raises
    ------
    DataError
        The bundle was trained on a per-customer table; the log ends on or before the bundle's
        as-of date or starts after it; the log cannot build the bundle's features (they are
        named).
    """
    _check_log_bundle(info, "Monitoring")
    thresholds = thresholds or Thresholds()
    as_of, horizon = info.cutoff, info.horizon_days
    first, last = _days(transactions)
    if last <= as_of:
        raise DataError(
            f"The log ends on {last}, on or before the bundle's as-of date {as_of}: nothing has "
            f"happened yet to compare its predictions with. Give a log that runs past {as_of}."
        )
    if first > as_of:
        raise DataError(
            f"The log starts on {first}, after the bundle's as-of date {as_of}: the customers' "
            "history before that date is needed to rebuild what the bundle scored. Give the "
            "whole log."
        )
    elapsed = min(horizon, (last - as_of).days)
    optional = _optional_features(model)
    scored = score_with_features(
        model,
        transactions,
        as_of=as_of,
        customers=customers,
        feature_options=info.feature_options,
        may_be_missing=optional,
    )
    features = scored.features
    ids = features.index
    predictions = scored.predictions.set_index("customer_id").loc[ids]
    actual = build_labels(transactions, as_of, elapsed, ids)
    fraction = elapsed_share(scored.timing, features, elapsed, horizon)
    predicted = predictions["predicted_clv"].to_numpy(np.float64) * fraction
    network = compute_metrics(actual.to_numpy(np.float64), predicted)

    baselines, baseline_errors = _baselines(
        transactions, customers, info, features, actual, fraction, elapsed, model.config.seed
    )
    still_best = (
        all(
            network[metric] >= max(values[metric] for values in baselines.values()) - _TIE
            for metric in ("normalized_gini", "spearman")
        )
        if baselines
        else None
    )

    segmented = segment_customers(
        scored.predictions, features, horizon_days=horizon, language=language
    )
    codes = segment_codes(segmented).set_axis(segmented["customer_id"]).reindex(ids)
    p_purchase = predictions.get("p_purchase")
    predicted_series = pd.Series(predicted, index=ids)
    tiers = segment_outcomes(codes["tier_code"], predicted_series, actual, p_purchase)
    bands = segment_outcomes(codes["churn_band_code"], predicted_series, actual, p_purchase)

    achieved = promised = None
    table = pd.DataFrame(
        {
            "customer_id": ids,
            "predicted": predicted,
            "realised": actual.to_numpy(np.float64),
            "tier_code": codes["tier_code"].to_numpy(),
            "churn_band_code": codes["churn_band_code"].to_numpy(),
        }
    )
    if {"clv_lower", "clv_upper"} <= set(predictions.columns):
        lower = predictions["clv_lower"].to_numpy(np.float64) * fraction
        upper = predictions["clv_upper"].to_numpy(np.float64) * fraction
        achieved = coverage(actual.to_numpy(np.float64), lower, upper)
        promised = float(model.config.interval_coverage)
        table["lower"], table["upper"] = lower, upper

    drift, drift_data = _drift(model, info, transactions, customers, optional, as_of, last)
    reasons = recommendation(
        network,
        baselines,
        achieved_coverage=achieved,
        promised_coverage=promised,
        drift=drift,
        thresholds=thresholds,
    )
    complete = elapsed >= horizon
    notes = []
    if not complete:
        notes.append(
            f"The log ends {elapsed} of the {horizon} days after the as-of date: the outcome "
            f"is what customers spent in those {elapsed} days, and each prediction is pro-rated "
            "by the customer's BG/NBD timing (the share of the horizon's purchases expected in "
            f"them; on average {fraction.mean():.0%})."
            if scored.timing is not None
            else f"The log ends {elapsed} of the {horizon} days after the as-of date: the "
            f"outcome is what customers spent in those days, and each prediction is pro-rated "
            f"by the share of the days ({elapsed}/{horizon})."
        )
    if info.training.get("training_cutoff") is None:
        notes.append(
            "The bundle records no training cutoff; the training customers are taken one "
            "horizon before the as-of date for the drift."
        )
    data: dict[str, Any] = {
        "report": REPORT_FORMAT,
        "bundle": {
            "source": source,
            "as_of": as_of.isoformat(),
            "horizon_days": horizon,
            "created_at": info.meta.get("created_at"),
            "training_cutoff": info.training.get("training_cutoff"),
            "lineage": info.meta.get("lineage"),
        },
        "log": {
            "first_day": first.isoformat(),
            "last_day": last.isoformat(),
            "rows": len(transactions),
        },
        "window": {
            "start": (as_of + dt.timedelta(days=1)).isoformat(),
            "end": (as_of + dt.timedelta(days=elapsed)).isoformat(),
            "days": elapsed,
            "complete": complete,
            "prorated_by": None if complete else ("bgnbd" if scored.timing is not None else "days"),
        },
        "customers": len(ids),
        "network": {
            **_rounded(network),
            "predicted_total": round(float(predicted.sum()), 2),
            "realised_total": round(float(actual.sum()), 2),
        },
        "baselines": {name: _rounded(values) for name, values in baselines.items()}
        | {name: {"error": error} for name, error in baseline_errors.items()},
        "network_still_best": still_best,
        "coverage": {
            "promised": promised,
            "achieved": None if achieved is None else round(achieved, 4),
        },
        "tiers": tiers,
        "churn_bands": bands,
        "drift": drift_data,
        "thresholds": thresholds.to_dict(),
        "retrain_recommended": bool(reasons),
        "reasons": reasons,
        "notes": notes,
    }
    return MonitorReport(data, table, drift)


def _baselines(
    transactions: pd.DataFrame,
    customers: CustomerAttributes | None,
    info: BundleInfo,
    features: pd.DataFrame,
    actual: pd.Series,
    fraction: np.ndarray,
    elapsed: int,
    seed: int,
) -> tuple[dict[str, dict[str, float]], dict[str, str]]:
    """The baselines refitted at the as-of date with what was known then, scored on the
    realised outcome: BG/NBD + Gamma-Gamma and the historical rate over the elapsed days;
    LightGBM trained like the network (the window ending at the as-of date) and pro-rated
    like it."""
    truth = actual.to_numpy(np.float64)
    results: dict[str, dict[str, float]] = {}
    errors: dict[str, str] = {}
    fits: dict[str, Callable[[], np.ndarray]] = {
        "bgnbd_gg": lambda: BtydBaseline(horizon_days=elapsed).fit(features).predict(features),
        "lightgbm": lambda: _lightgbm(transactions, customers, info, features, seed) * fraction,
        "historical": lambda: (
            HistoricalBaseline(horizon_days=elapsed).fit(features).predict(features)
        ),
    }
    for name, fit in fits.items():
        try:
            results[name] = compute_metrics(truth, np.asarray(fit(), dtype=np.float64))
        except (DataError, ConfigError, ValueError) as error:
            errors[name] = str(error)
    return results, errors


def _lightgbm(
    transactions: pd.DataFrame,
    customers: CustomerAttributes | None,
    info: BundleInfo,
    features: pd.DataFrame,
    seed: int,
) -> np.ndarray:
    cutoff = pd.Timestamp(info.cutoff) - pd.Timedelta(days=info.horizon_days)
    table = build_training_table(
        transactions, cutoff, info.horizon_days, customers=customers, options=info.feature_options
    )
    model = LightGbmBaseline(seed=seed).fit(table.drop(columns=LABEL_COLUMN), table[LABEL_COLUMN])
    return model.predict(features[table.drop(columns=LABEL_COLUMN).columns])


def _drift(
    model: ClvMlp,
    info: BundleInfo,
    transactions: pd.DataFrame,
    customers: CustomerAttributes | None,
    optional: list[str],
    as_of: dt.date,
    last: dt.date,
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Drift of the network's inputs from its training customers to the newest customers."""
    recorded = info.training.get("training_cutoff")
    reference_day = (
        pd.Timestamp(recorded).date() if recorded else as_of - dt.timedelta(days=info.horizon_days)
    )
    first_day = pd.Timestamp(transactions["order_date"].min()).date()
    reference_day = max(reference_day, first_day)

    def at(day: dt.date) -> pd.DataFrame:
        built = build_features(transactions, day, customers=customers, options=info.feature_options)
        for name in optional:
            if name not in built.columns:
                built[name] = np.nan
        return built

    preprocessor = model.preprocessor_
    assert preprocessor is not None
    # The inputs the network computes (BG/NBD's) drift as the customers' histories do.
    reference, current = (preprocessor.with_derived(at(day)) for day in (reference_day, last))
    numeric = [column.name for column in preprocessor.numeric_ or []]
    categorical = [column.name for column in preprocessor.categorical_ or []]
    known = {column.name: column.categories for column in preprocessor.categorical_ or []}
    drift = feature_drift(
        reference, current, numeric=numeric, categorical=categorical, known_levels=known
    )
    first_orders = transactions.groupby("customer_id", sort=False)["order_date"].min()
    new = first_orders.reindex(current.index) >= pd.Timestamp(as_of) + pd.Timedelta(days=1)
    share_new = float(new.mean()) if len(current) else 0.0
    rows = drift.to_dict("records")
    findings = [str(row["finding"]) for row in rows if row["status"] != "stable"]
    findings += [
        str(row["finding"])
        for row in rows
        if row["status"] == "stable" and float(row["unseen_share"]) > 0
    ]
    findings.append(
        f"{share_new:.1%} of the {len(current):,} customers known on {last} first ordered after "
        f"the as-of date {as_of}: the bundle never scored them."
    )
    data = {
        "reference_date": reference_day.isoformat(),
        "current_date": last.isoformat(),
        "reference_customers": len(reference),
        "current_customers": len(current),
        "new_customers_share": round(share_new, 4),
        "features": [{key: json_value(value) for key, value in row.items()} for row in rows],
        "findings": findings,
    }
    return drift, data


# -- retraining ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RetrainRequest:
    """How to retrain: whether to write the challenger (``if-better``, ``always``, ``never``),
    its configuration (default: the bundle's own) and the held-out share of customers."""

    promote: str = "if-better"
    config: MlpConfig | None = None
    test_size: float = 0.2

    def __post_init__(self) -> None:
        if self.promote not in PROMOTIONS:
            raise ConfigError(
                f"--promote must be one of {', '.join(PROMOTIONS)}, got {self.promote!r}."
            )
        if not 0.05 <= self.test_size <= 0.5:
            raise ConfigError(f"The held-out share must be 0.05 to 0.5, got {self.test_size}.")


@dataclass(frozen=True, slots=True)
class RetrainResult:
    """The comparison, whether the challenger was written, and where."""

    comparison: dict[str, Any]
    promoted: bool
    folder: Path | None
    lineage: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """What the command line prints with ``--json``."""
        return {
            "comparison": self.comparison,
            "promoted": self.promoted,
            "bundle": str(self.folder) if self.folder is not None else None,
            "lineage": self.lineage or None,
        }


def _better(champion: dict[str, float], challenger: dict[str, float]) -> tuple[bool, list[str]]:
    """Whether the challenger is better: it wins on normalized Gini (how well the value is
    concentrated at the top, what campaigns act on) and on at least as many of the four
    accuracy metrics as it loses (a difference under 0.005 is level); the verdict per metric."""
    verdicts = []
    wins = losses = 0
    for metric, higher in (
        ("normalized_gini", True),
        ("spearman", True),
        ("decile_mape", False),
        ("total_ratio", False),
    ):
        old, new = champion[metric], challenger[metric]
        if metric == "total_ratio":
            old, new = abs(old - 1.0), abs(new - 1.0)
        gain = (new - old) if higher else (old - new)
        if gain > _TIE:
            wins += 1
            verdicts.append(f"{metric}: challenger")
        elif gain < -_TIE:
            losses += 1
            verdicts.append(f"{metric}: champion")
        else:
            verdicts.append(f"{metric}: level")
    return verdicts[0] == "normalized_gini: challenger" and wins >= losses, verdicts


def retrain_bundle(
    model: ClvMlp,
    info: BundleInfo,
    transactions: pd.DataFrame,
    customers: CustomerAttributes | None,
    request: RetrainRequest,
    out: Path,
    *,
    source: str,
    on_epoch: ProgressCallback | None = None,
) -> RetrainResult:
    """Champion against challenger on the newest out-of-time window; write the challenger when
    ``request.promote`` says so.

    Raises
    ------
    DataError
        A per-customer table bundle, or a log too short for two horizons before its end.
    """
    _check_log_bundle(info, "Retraining")
    horizon = info.horizon_days
    first, last = _days(transactions)
    evaluation_cutoff = last - dt.timedelta(days=horizon)
    training_cutoff = evaluation_cutoff - dt.timedelta(days=horizon)
    if training_cutoff <= first:
        raise DataError(
            f"The log runs from {first} to {last}: a challenger needs two horizons of "
            f"{horizon} days before its end (one to learn from, one to be measured on), so it "
            f"must start before {training_cutoff}."
        )
    config = request.config or model.config
    optional = _optional_features(model)
    evaluation = build_training_table(
        transactions, evaluation_cutoff, horizon, customers=customers, options=info.feature_options
    )
    for name in optional:
        if name not in evaluation.columns:
            evaluation[name] = np.nan
    split = split_customers(evaluation.index, test_size=request.test_size, seed=config.seed)
    test = evaluation.loc[split.test]
    truth = test[LABEL_COLUMN].to_numpy(np.float64)
    learning = build_training_table(
        transactions, training_cutoff, horizon, customers=customers, options=info.feature_options
    )
    learning = learning.drop(index=split.test, errors="ignore")
    challenger = ClvMlp(config).fit(
        learning.drop(columns=LABEL_COLUMN), learning[LABEL_COLUMN], on_epoch=on_epoch
    )
    columns = model.feature_columns_ or []
    champion_metrics = compute_metrics(truth, model.predict(test[columns])["predicted_clv"])
    challenger_metrics = compute_metrics(
        truth, challenger.predict(test[challenger.feature_columns_ or []])["predicted_clv"]
    )
    better, verdicts = _better(champion_metrics, challenger_metrics)
    comparison = {
        "evaluation_cutoff": evaluation_cutoff.isoformat(),
        "outcome_window": [
            (evaluation_cutoff + dt.timedelta(days=1)).isoformat(),
            last.isoformat(),
        ],
        "challenger_training_cutoff": training_cutoff.isoformat(),
        "held_out_customers": len(test),
        "champion": _rounded(champion_metrics),
        "challenger": _rounded(challenger_metrics),
        "verdicts": verdicts,
        "challenger_better": better,
        "champion_saw_outcome": info.cutoff > evaluation_cutoff,
        "rule": "the challenger is better when it wins on normalized Gini and on at least as "
        "many of normalized Gini, Spearman, decile MAPE and |total ratio - 1| as it loses "
        "(differences under 0.005 are level)",
    }
    if info.cutoff > evaluation_cutoff:
        comparison["note"] = (
            f"The champion was trained with outcomes up to {info.cutoff}, inside the window it "
            "is measured on here: its figures are optimistic."
        )
    promote = request.promote == "always" or (request.promote == "if-better" and better)
    if not promote:
        return RetrainResult(comparison, False, None)
    deployment = train_for_deployment(
        transactions,
        horizon,
        as_of=last,
        customers=customers,
        config=config,
        feature_options=info.feature_options,
        on_epoch=on_epoch,
    )
    lineage = _lineage(info, source, comparison, first, last, request.promote)
    folder = save_bundle(
        deployment.model,
        out,
        cutoff=deployment.as_of,
        horizon_days=horizon,
        feature_options=deployment.feature_options,
        training=deployment.training,
        lineage=lineage,
    )
    return RetrainResult(comparison, True, folder, lineage)


def _lineage(
    info: BundleInfo,
    source: str,
    comparison: dict[str, Any],
    first: dt.date,
    last: dt.date,
    promote: str,
) -> dict[str, Any]:
    """The new bundle's parent, the comparison that promoted it, its data, and the chain."""
    parent_meta = json.dumps(info.meta, sort_keys=True, ensure_ascii=False).encode("utf-8")
    parent = {
        "source": source,
        "created_at": info.meta.get("created_at"),
        "as_of": info.cutoff.isoformat(),
        "meta_sha256": hashlib.sha256(parent_meta).hexdigest(),
    }
    earlier = (info.meta.get("lineage") or {}).get("chain", [])
    return {
        "parent": parent,
        "promoted_by": promote,
        "comparison": comparison,
        "data_range": {"first_day": first.isoformat(), "last_day": last.isoformat()},
        "chain": [*earlier, parent],
        "generation": len(earlier) + 2,
    }


# -- report files -------------------------------------------------------------------------------


REPORT_SUFFIXES = (".json", ".html", ".xlsx")


def report_bytes(report: MonitorReport, suffix: str) -> bytes:
    """The report as a file's bytes: ``.json`` (the stable document), ``.html`` (tables for
    people) or ``.xlsx`` (one sheet per table, with every customer)."""
    suffix = suffix.lower()
    if suffix == ".json":
        return (json.dumps(report.data, ensure_ascii=False, indent=2) + "\n").encode("utf-8")
    if suffix == ".html":
        return _html(report).encode("utf-8")
    if suffix == ".xlsx":
        from clv_core.export import to_xlsx_bytes

        sheets = _tables(report)
        summary = sheets.pop("summary")
        return to_xlsx_bytes(summary, sheet_name="summary", extra_sheets=sheets)
    raise ConfigError(f"A report file must end in {', '.join(REPORT_SUFFIXES)}, not {suffix!r}.")


def write_monitor_report(report: MonitorReport, path: Path) -> None:
    """:func:`report_bytes` written to ``path`` (its suffix chooses the form)."""
    data = report_bytes(report, path.suffix)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    except OSError as error:
        raise DataError(
            f"Could not write the report to {path}: {error.strerror or error}."
        ) from error


def _tables(report: MonitorReport) -> dict[str, pd.DataFrame]:
    data = report.data
    summary = pd.DataFrame(
        [
            ("bundle as-of", data["bundle"]["as_of"]),
            ("horizon (days)", data["bundle"]["horizon_days"]),
            ("outcome window", f"{data['window']['start']} to {data['window']['end']}"),
            ("complete horizon", data["window"]["complete"]),
            ("customers", data["customers"]),
            ("network still the best", data["network_still_best"]),
            (
                "interval coverage (achieved / promised)",
                f"{data['coverage']['achieved']} / {data['coverage']['promised']}",
            ),
            ("retrain recommended", data["retrain_recommended"]),
            *[("reason", reason) for reason in data["reasons"]],
            *[("note", note) for note in data["notes"]],
        ],
        columns=["item", "value"],
    ).astype({"value": str})
    metrics = pd.DataFrame(
        [
            {"model": "network", **{m: data["network"].get(m) for m in METRIC_NAMES}},
            *[
                {
                    "model": _BASELINE_NAMES.get(name, name),
                    **{m: values.get(m) for m in METRIC_NAMES},
                }
                for name, values in data["baselines"].items()
            ],
        ]
    )
    drift = (
        report.drift.assign(unseen_levels=report.drift["unseen_levels"].map(", ".join))
        if len(report.drift)
        else report.drift
    )
    return {
        "summary": summary,
        "metrics": metrics,
        "tiers": pd.DataFrame(data["tiers"]),
        "churn_bands": pd.DataFrame(data["churn_bands"]),
        "drift": drift,
        "customers": report.customers,
    }


def _html(report: MonitorReport) -> str:
    tables = _tables(report)
    data = report.data
    verdict = (
        "Retraining is recommended." if data["retrain_recommended"] else "No retraining needed."
    )
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'><title>CLV monitoring report</title>",
        "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse;margin:1em 0}"
        "td,th{border:1px solid #ccc;padding:4px 8px;text-align:right}"
        "td:first-child,th:first-child{text-align:left}</style></head><body>",
        f"<h1>CLV monitoring report</h1><p><b>{html.escape(verdict)}</b></p>",
    ]
    if data["reasons"]:
        parts.append(
            "<ul>" + "".join(f"<li>{html.escape(r)}</li>" for r in data["reasons"]) + "</ul>"
        )
    for name in ("summary", "metrics", "tiers", "churn_bands", "drift"):
        parts.append(f"<h2>{html.escape(name.replace('_', ' '))}</h2>")
        parts.append(tables[name].to_html(index=False, escape=True, na_rep=""))
    parts.append(
        "<h2>findings</h2><ul>"
        + "".join(f"<li>{html.escape(f)}</li>" for f in data["drift"]["findings"])
        + "</ul></body></html>"
    )
    return "\n".join(parts)
