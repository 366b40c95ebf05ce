"""The workbench's heavy steps as jobs for :mod:`clv_core.runner` worker processes.

Each job is ``function(spec, folder, reporter)``: ``spec`` holds plain data (validated frames,
settings, the path of a model bundle), never a Keras object. What a job makes that outlives it is
written into its ``folder``:

* :func:`train_job` (the evaluation of the network and the baselines, a
  :class:`~clv_core.usecases.EvaluationRequest`): the trained network as a
  model bundle in ``folder/model`` and the evaluation in ``evaluation.json`` plus Parquet files
  (:func:`read_evaluation` loads it back as an :class:`~clv_core.evaluation.EvaluationResult`
  without the network; scoring and explaining load the bundle in a worker again).
* :func:`explain_job`, :func:`drivers_job`, :func:`score_job`, :func:`score_table_job`,
  :func:`table_drivers_job`, :func:`check_bundle_job`, :func:`monitor_job`,
  :func:`retrain_job`: results small enough to return (SHAP values, scores, a bundle's facts,
  a monitoring report, a challenger as .zip bytes), as plain data.

Only worker processes import TensorFlow: the server that submits these jobs never does, so its
per-request clean-up (Streamlit's ``keras.backend.clear_session()`` and full garbage collection)
has nothing to clear. :func:`prepare_worker` is the workers' initializer: it imports the heavy
libraries once, before the first job, and every job clears Keras's state when it ends.
"""

from __future__ import annotations

import datetime as dt
import gc
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from clv_core.bundle import BundleInfo, load_bundle, zip_bundle
from clv_core.evaluation import EvaluationResult, EvaluationSettings, ModelName, ModelResult
from clv_core.explain import ExplainSettings, Explanation, explain_customers
from clv_core.features import FeatureOptions
from clv_core.language import Language
from clv_core.loading import LoadedTable
from clv_core.runner import Reporter
from clv_core.scoring import ScoredCustomers, score_with_features
from clv_core.usecases import (
    EvaluationRequest,
    TableScores,
    campaign_drivers,
    check_new_customers,
    evaluate_models,
    save_evaluated_bundle,
    score_table,
    table_drivers,
)
from clv_core.usecases.monitoring import (
    MonitorReport,
    RetrainRequest,
    monitor_bundle,
    retrain_bundle,
)
from clv_core.validation import CustomerAttributes

__all__ = [
    "EVALUATION_FILE",
    "MODEL_FOLDER",
    "Challenger",
    "CheckBundleSpec",
    "DriversSpec",
    "ExplainSpec",
    "MonitorSpec",
    "RetrainSpec",
    "ScoreSpec",
    "ScoreTableSpec",
    "TableDriversSpec",
    "check_bundle_job",
    "drivers_job",
    "explain_job",
    "monitor_job",
    "prepare_worker",
    "read_evaluation",
    "retrain_job",
    "score_job",
    "score_table_job",
    "table_drivers_job",
    "train_job",
    "write_evaluation",
]

MODEL_FOLDER = "model"
EVALUATION_FILE = "evaluation.json"
_FRAMES = ("predictions", "test_features", "train_features")


def prepare_worker() -> None:
    """A worker's initializer: load TensorFlow/Keras, SHAP, LightGBM and lifetimes once.

    Afterwards the objects alive (mostly modules) are frozen out of the garbage collector, so
    the collection each job ends with stays short.
    """
    import lifetimes  # noqa: F401
    import lightgbm  # noqa: F401
    import shap  # noqa: F401

    from clv_core.mlp import import_keras

    import_keras()
    gc.collect()
    gc.freeze()


@contextmanager
def _keras_cleared() -> Iterator[None]:
    """Free what the job's networks left in Keras and the heap, whatever happened."""
    try:
        yield
    finally:
        import sys

        if "keras" in sys.modules:
            sys.modules["keras"].backend.clear_session()
        gc.collect()


# -- training -----------------------------------------------------------------------------------


def train_job(spec: EvaluationRequest, folder: Path, reporter: Reporter) -> dict[str, Any]:
    """Evaluate every model; write the network's bundle and the evaluation into ``folder``.

    Returns ``{"cancelled": bool, "model": bool}``: whether a cancel stopped training early (the
    best weights so far were kept) and whether a network was trained.
    """
    with _keras_cleared():
        result = evaluate_models(
            spec,
            on_epoch=reporter.progress,
            should_stop=reporter.should_stop,
            on_stage=reporter.stage,
        )
        save_evaluated_bundle(result, folder / MODEL_FOLDER, table=spec.table)
        write_evaluation(result, folder)
        cancelled = result.mlp is not None and bool(result.mlp.cancelled_)
        return {"cancelled": cancelled, "model": result.mlp is not None}


def write_evaluation(result: EvaluationResult, folder: Path) -> None:
    """An evaluation without its network as ``evaluation.json`` and Parquet frames."""
    data: dict[str, Any] = {
        "n_customers": result.n_customers,
        "n_train": result.n_train,
        "n_test": result.n_test,
        "results": {
            name.value: {
                "metrics": model.metrics,
                "error": model.error,
                "fit_seconds": model.fit_seconds,
                "notes": list(model.notes),
            }
            for name, model in result.results.items()
        },
        "timings": result.timings,
        "warnings": list(result.warnings),
        "summary": result.summary,
    }
    for name in _FRAMES:
        frame = getattr(result, name)
        if frame is not None:
            frame.to_parquet(folder / f"{name}.parquet")
    (folder / EVALUATION_FILE).write_text(json.dumps(data), encoding="utf-8")


def read_evaluation(folder: Path, settings: EvaluationSettings) -> EvaluationResult:
    """The evaluation :func:`train_job` wrote (``mlp`` is ``None``: the network is the bundle
    in ``folder/model``)."""
    data = json.loads((folder / EVALUATION_FILE).read_text(encoding="utf-8"))
    frames = {
        name: pd.read_parquet(folder / f"{name}.parquet")
        if (folder / f"{name}.parquet").exists()
        else None
        for name in _FRAMES
    }
    predictions, test_features = frames["predictions"], frames["test_features"]
    assert predictions is not None and test_features is not None
    return EvaluationResult(
        settings=settings,
        n_customers=data["n_customers"],
        n_train=data["n_train"],
        n_test=data["n_test"],
        predictions=predictions,
        results={
            ModelName(name): ModelResult(
                name=ModelName(name),
                metrics=model["metrics"],
                error=model["error"],
                fit_seconds=model["fit_seconds"],
                notes=tuple(model["notes"]),
            )
            for name, model in data["results"].items()
        },
        timings=data["timings"],
        warnings=tuple(data["warnings"]),
        mlp=None,
        test_features=test_features,
        summary=data["summary"],
        train_features=frames["train_features"],
    )


# -- explaining and scoring ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ExplainSpec:
    """SHAP values of ``features`` against ``background`` for the bundle at ``model``."""

    model: Path
    features: pd.DataFrame
    background: pd.DataFrame
    settings: ExplainSettings


def explain_job(spec: ExplainSpec, folder: Path, reporter: Reporter) -> Explanation:
    """The explanation of :func:`clv_core.explain.explain_customers` for a bundle."""
    with _keras_cleared():
        reporter.stage("loading the model")
        model, _ = load_bundle(spec.model)
        reporter.stage("computing SHAP values")
        return explain_customers(model, spec.features, spec.background, spec.settings)


@dataclass(frozen=True, slots=True)
class DriversSpec:
    """Every scored customer's top SHAP drivers in words, for the campaign list.

    ``features`` are the scored customers'; the background is rebuilt from ``transactions``
    by :func:`clv_core.usecases.driver_background`, as on the command line.
    """

    model: Path
    features: pd.DataFrame
    transactions: pd.DataFrame
    customers: CustomerAttributes | None
    language: Language = Language.EN


def drivers_job(spec: DriversSpec, folder: Path, reporter: Reporter) -> pd.DataFrame:
    """``customer_id, driver_1 .. driver_3`` of :func:`clv_core.usecases.campaign_drivers`."""

    with _keras_cleared():
        reporter.stage("loading the model")
        model, info = load_bundle(spec.model)
        reporter.stage("computing SHAP values")
        return campaign_drivers(
            model, info, spec.transactions, spec.customers, spec.features, language=spec.language
        )


@dataclass(frozen=True, slots=True)
class ScoreSpec:
    """Score every customer of ``transactions`` at ``as_of`` with the bundle at ``model``."""

    model: Path
    transactions: pd.DataFrame
    as_of: dt.date
    customers: CustomerAttributes | None = None
    feature_options: FeatureOptions | None = None


def score_job(spec: ScoreSpec, folder: Path, reporter: Reporter) -> ScoredCustomers:
    """Predictions and features of every customer (:func:`clv_core.scoring.score_with_features`)."""
    with _keras_cleared():
        reporter.stage("loading the model")
        model, _ = load_bundle(spec.model)
        reporter.stage("scoring")
        return score_with_features(
            model,
            spec.transactions,
            as_of=spec.as_of,
            customers=spec.customers,
            feature_options=spec.feature_options,
        )


@dataclass(frozen=True, slots=True)
class ScoreTableSpec:
    """Score the customers of a per-customer table with the table bundle at ``model``."""

    model: Path
    table: LoadedTable


def score_table_job(spec: ScoreTableSpec, folder: Path, reporter: Reporter) -> TableScores:
    """The table checked against the bundle and scored (:func:`clv_core.usecases.score_table`)."""
    with _keras_cleared():
        reporter.stage("loading the model")
        model, info = load_bundle(spec.model)
        reporter.stage("scoring")
        return score_table(model, info, check_new_customers(spec.table, info))


@dataclass(frozen=True, slots=True)
class TableDriversSpec:
    """Top drivers of a table's scored customers (:func:`clv_core.usecases.table_drivers`)."""

    model: Path
    features: pd.DataFrame
    language: Language = Language.EN


def table_drivers_job(spec: TableDriversSpec, folder: Path, reporter: Reporter) -> pd.DataFrame:
    """``customer_id, driver_1 .. driver_3`` of a table's customers."""
    with _keras_cleared():
        reporter.stage("loading the model")
        model, _ = load_bundle(spec.model)
        reporter.stage("computing SHAP values")
        return table_drivers(model, spec.features, language=spec.language)


@dataclass(frozen=True, slots=True)
class CheckBundleSpec:
    """An uploaded bundle (.zip bytes) to load once, refusing damaged or unsafe ones."""

    data: bytes


def check_bundle_job(spec: CheckBundleSpec, folder: Path, reporter: Reporter) -> BundleInfo:
    """The bundle's facts, once the whole bundle (network included) loaded."""
    with _keras_cleared():
        _, info = load_bundle(spec.data)
        return info


@dataclass(frozen=True, slots=True)
class MonitorSpec:
    """Monitor the bundle at ``model`` with a newer log (:func:`monitor_bundle`)."""

    model: Path
    source: str
    transactions: pd.DataFrame
    customers: CustomerAttributes | None
    language: Language


def monitor_job(spec: MonitorSpec, folder: Path, reporter: Reporter) -> MonitorReport:
    """The monitoring report of a bundle against what its customers did next."""
    with _keras_cleared():
        reporter.stage("loading the model")
        model, info = load_bundle(spec.model)
        reporter.stage("monitoring")
        return monitor_bundle(
            model,
            info,
            spec.transactions,
            spec.customers,
            source=spec.source,
            language=spec.language,
        )


@dataclass(frozen=True, slots=True)
class RetrainSpec:
    """Train a challenger to the bundle at ``model`` on the newest window of a log."""

    model: Path
    source: str
    transactions: pd.DataFrame
    customers: CustomerAttributes | None


@dataclass(frozen=True, slots=True)
class Challenger:
    """The champion/challenger comparison and, when the challenger is better, its bundle as
    .zip bytes with its lineage."""

    comparison: dict[str, Any]
    bundle: bytes | None
    lineage: dict[str, Any]


def retrain_job(spec: RetrainSpec, folder: Path, reporter: Reporter) -> Challenger:
    """:func:`retrain_bundle` with ``promote="if-better"``; the new bundle comes back zipped."""
    with _keras_cleared():
        reporter.stage("loading the model")
        model, info = load_bundle(spec.model)
        reporter.stage("training the challenger")
        result = retrain_bundle(
            model,
            info,
            spec.transactions,
            spec.customers,
            RetrainRequest(),
            folder / "challenger",
            source=spec.source,
            on_epoch=reporter.progress,
        )
        bundle = zip_bundle(result.folder) if result.folder is not None else None
        return Challenger(result.comparison, bundle, result.lineage)
