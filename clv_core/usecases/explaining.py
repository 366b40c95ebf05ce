"""Explain a network's predictions with SHAP: the evaluated test customers, or scored ones.

The background (the customers whose average prediction a SHAP value is measured from) is
always the customers the network was trained on:

* :func:`evaluation_background` for an evaluation (the workbench's Explain page): its training
  customers' features, as the evaluation kept them or rebuilt from the log at the training
  cutoff of :func:`clv_core.splits.time_windows`;
* :func:`clv_core.usecases.campaign.driver_background` for a bundle (``explain``, the campaign
  list's drivers): rebuilt at the training cutoff the bundle records.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pandas as pd

from clv_core.bundle import BundleInfo
from clv_core.evaluation import EvaluationResult
from clv_core.explain import ExplainSettings, Explanation, explain_customers
from clv_core.kinds import SplitKind
from clv_core.mlp import ClvMlp
from clv_core.scoring import ScoredCustomers, score_with_features, training_background
from clv_core.splits import time_windows
from clv_core.usecases.campaign import driver_background
from clv_core.validation import CustomerAttributes

__all__ = ["BundleExplanation", "evaluation_background", "explain_bundle"]


def evaluation_background(
    result: EvaluationResult,
    transactions: pd.DataFrame | None,
    customers: CustomerAttributes | None,
) -> pd.DataFrame:
    """The training customers' features of an evaluation, the background of its explanation.

    A customer split holds the test customers out of the background as well.
    """
    if result.train_features is not None:
        return result.train_features
    if transactions is None:
        raise ValueError("the evaluation kept no training features; pass its transactions")
    settings = result.settings
    windows = time_windows(settings.cutoff, settings.horizon_days, settings.split)
    background = training_background(
        transactions,
        windows.train_cutoff.date(),
        customers=customers,
        feature_options=settings.feature_options,
        fallback=result.test_features,
    )
    if settings.split is SplitKind.CUSTOMER:
        background = background.drop(index=result.test_features.index, errors="ignore")
    return background


@dataclass(frozen=True, slots=True)
class BundleExplanation:
    """The customers scored at the as-of date and their explanation."""

    scored: ScoredCustomers
    explanation: Explanation


def explain_bundle(
    model: ClvMlp,
    info: BundleInfo,
    transactions: pd.DataFrame,
    customers: CustomerAttributes | None,
    *,
    as_of: dt.date | None = None,
    settings: ExplainSettings | None = None,
) -> BundleExplanation:
    """Score every customer with a bundle at ``as_of`` and explain them (or a sample)."""
    scored = score_with_features(
        model,
        transactions,
        as_of=as_of,
        customers=customers,
        feature_options=info.feature_options,
    )
    background = driver_background(info, transactions, customers, scored.features)
    explanation = explain_customers(model, scored.features, background, settings)
    return BundleExplanation(scored, explanation)
