"""Deployment: train on the latest complete window, score every customer at ``as_of``.

``train_for_deployment`` builds features at ``as_of - horizon`` with labels over
``(as_of - horizon, as_of]`` (the most recent window whose outcome is known) and fits the MLP on
every customer of that window. ``score_customers`` rebuilds features at ``as_of`` the same way
(same windows, same attributes) and predicts the next ``horizon`` days for every customer.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from clv_core.config import MlpConfig
from clv_core.features import LABEL_COLUMN, FeatureOptions, build_features, build_training_table
from clv_core.metrics import compute_metrics
from clv_core.mlp import ClvMlp, ProgressCallback, StopRequest
from clv_core.splits import check_minimum_data, deployment_windows
from clv_core.validation import CustomerAttributes
from clv_core.value import TimingModel

__all__ = [
    "DeploymentModel",
    "ScoredCustomers",
    "score_customers",
    "score_with_features",
    "train_for_deployment",
    "training_background",
]


@dataclass(frozen=True, slots=True)
class DeploymentModel:
    """A model trained for deployment and what a bundle needs to know about it."""

    model: ClvMlp
    as_of: dt.date
    horizon_days: int
    feature_options: FeatureOptions
    training: dict[str, Any]
    warnings: tuple[str, ...]


def default_as_of(transactions: pd.DataFrame) -> dt.date:
    """The last order date in the data: the default ``as_of``."""
    return pd.Timestamp(transactions["order_date"].max()).date()


def train_for_deployment(
    transactions: pd.DataFrame,
    horizon_days: int,
    *,
    as_of: dt.date | None = None,
    customers: CustomerAttributes | None = None,
    config: MlpConfig | None = None,
    feature_options: FeatureOptions | None = None,
    on_epoch: ProgressCallback | None = None,
    should_stop: StopRequest | None = None,
) -> DeploymentModel:
    """Train the MLP on the window ending at ``as_of`` (default: the last date in the data).

    Returns
    -------
    DeploymentModel
        The model plus training facts: customers used, the training cutoff and metrics on the
        held-out validation customers (which early stopping and calibration also used, so they
        are optimistic; use ``evaluate`` for honest numbers).
    """
    as_of = as_of or default_as_of(transactions)
    options = feature_options or FeatureOptions()
    windows = deployment_windows(as_of, horizon_days)
    warnings = check_minimum_data(transactions, windows, labels_needed_at_evaluation=False)
    table = build_training_table(
        transactions, windows.train_cutoff, horizon_days, customers=customers, options=options
    )
    features, target = table.drop(columns=LABEL_COLUMN), table[LABEL_COLUMN]
    model = ClvMlp(config or MlpConfig()).fit(
        features, target, on_epoch=on_epoch, should_stop=should_stop
    )
    predicted = model.predict(features)["predicted_clv"]
    training = {
        "training_cutoff": windows.train_cutoff.date().isoformat(),
        "label_window_end": as_of.isoformat(),
        "n_customers": len(table),
        "customers_who_bought": int((target > 0).sum()),
        "in_sample_metrics": {
            key: round(value, 6) for key, value in compute_metrics(target, predicted).items()
        },
        "fit_seconds": round(model.fit_seconds_ or 0.0, 3),
        "epochs": model.history_.groupby("member")["epoch"].max().tolist()
        if model.history_ is not None
        else [],
    }
    return DeploymentModel(model, as_of, horizon_days, options, training, tuple(warnings))


@dataclass(frozen=True, slots=True)
class ScoredCustomers:
    """Predictions for every customer at ``as_of``, the features they were made from, the
    model's BG/NBD timing profile and the coverage of its intervals (for the value plan,
    :mod:`clv_core.value`, and the budget planner)."""

    predictions: pd.DataFrame
    features: pd.DataFrame
    as_of: dt.date
    timing: TimingModel | None = None
    interval_coverage: float = 0.8


def score_with_features(
    model: ClvMlp,
    transactions: pd.DataFrame,
    *,
    as_of: dt.date | None = None,
    customers: CustomerAttributes | None = None,
    feature_options: FeatureOptions | None = None,
    may_be_missing: Sequence[str] = (),
) -> ScoredCustomers:
    """Like :func:`score_customers`, also returning the features (for segments, SHAP).

    ``may_be_missing`` names features the model has seen missing in training: when the data
    does not have them at all (no attributes file, or one without that column), every
    customer's value is missing, as the model knows it.
    """
    as_of = as_of or default_as_of(transactions)
    features = build_features(
        transactions, as_of, customers=customers, options=feature_options or FeatureOptions()
    )
    for name in may_be_missing:
        if name not in features.columns:
            features[name] = np.nan
    predictions = model.predict(features)
    scored = predictions.reset_index().sort_values("predicted_clv", ascending=False, kind="stable")
    return ScoredCustomers(
        scored.reset_index(drop=True),
        features,
        as_of,
        model.timing_,
        model.config.interval_coverage,
    )


def score_customers(
    model: ClvMlp,
    transactions: pd.DataFrame,
    *,
    as_of: dt.date | None = None,
    customers: CustomerAttributes | None = None,
    feature_options: FeatureOptions | None = None,
) -> pd.DataFrame:
    """Predicted CLV over the model's horizon for every customer seen on or before ``as_of``.

    Returns
    -------
    pandas.DataFrame
        ``customer_id`` plus ``predicted_clv`` (and ``p_purchase``, ``clv_lower``,
        ``clv_upper`` for ZILN models), sorted by ``predicted_clv`` descending.

    Raises
    ------
    DataError
        The data lacks features the model was trained with (they are named).
    """
    return score_with_features(
        model,
        transactions,
        as_of=as_of,
        customers=customers,
        feature_options=feature_options,
    ).predictions


def training_background(
    transactions: pd.DataFrame,
    training_cutoff: dt.date | None,
    *,
    customers: CustomerAttributes | None = None,
    feature_options: FeatureOptions | None = None,
    fallback: pd.DataFrame,
) -> pd.DataFrame:
    """Features of the customers a bundle was trained on, for SHAP's background sample.

    The bundle records its training cutoff; with the same transactions the training customers'
    features are rebuilt exactly. When the cutoff is unknown or lies before these transactions
    start, ``fallback`` (usually the scored customers' features) is used instead.
    """
    if training_cutoff is None:
        return fallback
    first_day = pd.Timestamp(transactions["order_date"].min()).normalize()
    if pd.Timestamp(training_cutoff) < first_day:
        return fallback
    return build_features(
        transactions,
        training_cutoff,
        customers=customers,
        options=feature_options or FeatureOptions(),
    )
