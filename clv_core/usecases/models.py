"""Evaluate every model, save the network as a bundle, train a bundle for deployment.

* :func:`evaluate_models` runs the evaluation of a transaction log or a per-customer table
  (the command line's ``evaluate``, the workbench's Train page in a worker process);
* :func:`save_evaluated_bundle` writes the evaluated network as a model bundle with the facts a
  bundle's later users need, among them where its training customers' features end (the
  drivers of a bundle are explained against those customers, see
  :func:`clv_core.usecases.campaign.driver_background`);
* :func:`train_bundle` trains on the latest complete window and writes a bundle (``train``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pandas as pd

from clv_core.bundle import save_bundle
from clv_core.config import MlpConfig
from clv_core.evaluation import (
    EvaluationResult,
    EvaluationSettings,
    evaluate,
    evaluate_customer_table,
)
from clv_core.mlp import ProgressCallback, StopRequest
from clv_core.scoring import DeploymentModel, train_for_deployment
from clv_core.splits import split_customers, time_windows
from clv_core.usecases.inputs import CheckedInputs
from clv_core.usecases.tables import table_training_facts
from clv_core.validation import CustomerAttributes, CustomerTable

__all__ = [
    "EvaluationRequest",
    "TrainRequest",
    "TrainedBundle",
    "evaluate_models",
    "save_evaluated_bundle",
    "table_settings",
    "train_bundle",
]


@dataclass(frozen=True, slots=True)
class EvaluationRequest:
    """An evaluation to run: a transaction log (with optional attributes) or a customer table."""

    settings: EvaluationSettings
    transactions: pd.DataFrame | None = None
    customers: CustomerAttributes | None = None
    table: CustomerTable | None = None


def table_settings(table: CustomerTable, settings: EvaluationSettings) -> EvaluationSettings:
    """``settings`` for a per-customer table: it has no dates, the cutoff only labels results.

    The cutoff becomes the table's reference date (its latest signup date) when it has one.
    """
    reference = table.reference_date
    return settings if reference is None else replace(settings, cutoff=reference.date())


def evaluate_models(
    request: EvaluationRequest,
    *,
    on_epoch: ProgressCallback | None = None,
    should_stop: StopRequest | None = None,
    on_stage: Callable[[str], None] | None = None,
) -> EvaluationResult:
    """Every model of ``request.settings`` fitted and measured on the same held-out customers."""
    if request.table is not None:
        return evaluate_customer_table(
            request.table,
            request.settings,
            on_epoch=on_epoch,
            should_stop=should_stop,
            on_stage=on_stage,
        )
    if request.transactions is None:
        raise ValueError("an evaluation needs transactions or a customer table")
    return evaluate(
        request.transactions,
        request.settings,
        customers=request.customers,
        on_epoch=on_epoch,
        should_stop=should_stop,
        on_stage=on_stage,
    )


def save_evaluated_bundle(
    result: EvaluationResult, folder: Path, table: CustomerTable | None = None
) -> Path | None:
    """The evaluated network as a model bundle in ``folder``; ``None`` when none was trained.

    ``table`` is the per-customer table the evaluation ran on (``None`` for a log): the bundle
    then records its columns, and which customers trained the network (by the split's test
    share and seed, and a digest of their ids).
    """
    if result.mlp is None:
        return None
    settings = result.settings
    if table is not None:
        train = split_customers(
            table.features.index, test_size=settings.test_size, seed=settings.seed
        )
        training = table_training_facts(
            table,
            train.train,
            split=settings.split.value,
            test_size=settings.test_size,
            seed=settings.seed,
            n_test=result.n_test,
            horizon_days=settings.horizon_days,
        )
    else:
        windows = time_windows(settings.cutoff, settings.horizon_days, settings.split)
        training = {
            "split": settings.split.value,
            # Where the training customers' features end: drivers of this bundle are
            # explained against those customers (clv_core.usecases.driver_background).
            "training_cutoff": windows.train_cutoff.date().isoformat(),
            "n_train": result.n_train,
            "n_test": result.n_test,
        }
    return save_bundle(
        result.mlp,
        folder,
        cutoff=settings.cutoff,
        horizon_days=settings.horizon_days,
        feature_options=settings.feature_options,
        training=training,
        table=table.spec if table is not None else None,
    )


@dataclass(frozen=True, slots=True)
class TrainRequest:
    """A network to train for deployment: the horizon, the as-of date (default: the log's
    last order date) and the network's settings."""

    horizon_days: int
    as_of: dt.date | None = None
    config: MlpConfig | None = None


@dataclass(frozen=True, slots=True)
class TrainedBundle:
    """Where the bundle was written and what was trained."""

    folder: Path
    deployment: DeploymentModel

    def to_dict(self) -> dict[str, Any]:
        """What the command line's JSON reports of the training."""
        return {
            "bundle": str(self.folder),
            "as_of": self.deployment.as_of.isoformat(),
            "horizon_days": self.deployment.horizon_days,
            "training": self.deployment.training,
            "warnings": list(self.deployment.warnings),
        }


def train_bundle(
    inputs: CheckedInputs,
    request: TrainRequest,
    out: Path,
    *,
    on_epoch: ProgressCallback | None = None,
) -> TrainedBundle:
    """Train on every customer of the latest complete window and write the bundle to ``out``."""
    deployment = train_for_deployment(
        inputs.transactions.frame,
        request.horizon_days,
        as_of=request.as_of,
        customers=inputs.customers,
        config=request.config or MlpConfig(),
        on_epoch=on_epoch,
    )
    folder = save_bundle(
        deployment.model,
        out,
        cutoff=deployment.as_of,
        horizon_days=deployment.horizon_days,
        feature_options=deployment.feature_options,
        training=deployment.training | {"validation": inputs.validation()},
    )
    return TrainedBundle(folder, deployment)
