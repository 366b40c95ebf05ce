"""Per-customer tables (the seed format): train on known values, score new customers.

A per-customer table has one row per customer, their attributes and, for training, the value to
predict (``用户ID, 注册时间, 购买次数, 平均购买金额, 浏览时长, 终身价值``). These use cases are
the table's counterpart of the transaction-log ones:

* :func:`check_customer_table` / :func:`check_new_customers`: the data check of a training table
  and of a table of customers to score (same columns, the target not needed);
* :func:`train_table_bundle`: a network trained on every customer of the table, written as a
  bundle that records the table's columns, their types and units and the target's name;
* :func:`score_table_campaign`: the campaign list of a table, as for logs (tiers, churn bands
  where they can be had, actions, drivers, filters). When the table is the one the model was
  trained on, its customers are predicted **out of fold** (each by the ensemble members that
  did not train on them) and the list shows their known value next to it;
* :func:`explain_table`: SHAP values of a table's customers.

The training customers of a table are always taken in the order of their ids, so the model's
validation folds, and the out-of-fold predictions built from them, do not depend on the row
order of the file. A bundle records a digest of its training customers' ids (not the ids) to
recognise its training table.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from clv_core.bundle import BundleInfo, save_bundle
from clv_core.columns import detect_roles
from clv_core.config import MlpConfig
from clv_core.errors import ClvError, ConfigError, DataError
from clv_core.explain import ExplainSettings, Explanation, explain_customers
from clv_core.features import FeatureOptions
from clv_core.kinds import TABLE_HORIZON_DAYS
from clv_core.language import Language
from clv_core.loading import LoadedTable
from clv_core.mlp import ClvMlp, ProgressCallback, StopRequest
from clv_core.scoring import ScoredCustomers
from clv_core.splits import split_customers
from clv_core.usecases.campaign import (
    DRIVER_COUNT,
    DRIVER_SETTINGS,
    CampaignRequest,
    CampaignResult,
    campaign_from_scores,
)
from clv_core.validation import (
    CustomerTable,
    NewCustomers,
    ValidationReport,
    validate_customer_table,
    validate_new_customers,
)

__all__ = [
    "KNOWN_VALUE",
    "PREDICTION_BASIS",
    "TABLE_HORIZON_DAYS",
    "TableBundle",
    "TableScores",
    "check_customer_table",
    "check_new_customers",
    "explain_table",
    "score_table",
    "score_table_campaign",
    "table_drivers",
    "table_training_facts",
    "train_table_bundle",
    "training_order",
]

KNOWN_VALUE = "known_value"
PREDICTION_BASIS = "prediction_basis"
# How each customer of a training table was predicted.
OUT_OF_FOLD = "out_of_fold"
HELD_OUT = "held_out"
IN_SAMPLE = "in_sample"
# Why a table's list has no churn bands (the workbench shows these codes' labels).
NO_BANDS_NO_ZEROS = "no_zeros"
NO_BANDS_POINT_LOSS = "point_loss"


def check_customer_table(
    table: LoadedTable, roles: Mapping[str, str | None] | None = None
) -> CustomerTable:
    """Map (``roles`` override detection: ``customer_id``, ``target``, ``signup_date``) and
    validate a per-customer training table."""
    chosen = {role: column for role, column in (roles or {}).items() if column}
    mapping = detect_roles(table.frame, overrides=chosen)
    return validate_customer_table(
        table.frame, mapping, source_name=table.source_name, first_row=table.first_data_row
    )


def check_new_customers(
    table: LoadedTable,
    info: BundleInfo,
    *,
    id_column: str | None = None,
    reference_date: dt.date | None = None,
) -> NewCustomers:
    """Validate a table of customers to score against the bundle's training table."""
    if info.table is None:
        raise DataError(
            "This model bundle was trained on a transaction log: score it with the log "
            "(--transactions), not with a per-customer table."
        )
    return validate_new_customers(
        table.frame,
        info.table,
        id_column=id_column,
        reference_date=reference_date,
        source_name=table.source_name,
        first_row=table.first_data_row,
    )


def training_order(features: pd.DataFrame) -> pd.DataFrame:
    """``features`` in the order a table's network is trained on: by customer id."""
    order = np.sort(features.index.to_numpy().astype(str))
    return features.loc[order]


def _ids_digest(ids: pd.Index) -> str:
    text = "\n".join(np.sort(ids.to_numpy().astype(str)))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def table_training_facts(
    table: CustomerTable, training_ids: pd.Index, **extra: Any
) -> dict[str, Any]:
    """What a table bundle records of its training: counts, the target, the ids' digest."""
    target = table.target.loc[training_ids]
    return {
        "input": "customer_table",
        "n_train": len(training_ids),
        "target_column": str(table.mapping.target),
        "target_zero_share": round(float((target <= 0).mean()), 6),
        "target_mean": round(float(target.mean()), 6),
        "training_ids_sha256": _ids_digest(training_ids),
        **extra,
    }


@dataclass(frozen=True, slots=True)
class TableBundle:
    """A bundle trained on a per-customer table, and where it was written."""

    folder: Any
    model: ClvMlp
    training: dict[str, Any]


def train_table_bundle(
    table: CustomerTable,
    out: Any,
    *,
    horizon_days: int = TABLE_HORIZON_DAYS,
    config: MlpConfig | None = None,
    on_epoch: ProgressCallback | None = None,
    should_stop: StopRequest | None = None,
) -> TableBundle:
    """Train the network on every customer of ``table`` and write the bundle to ``out``."""
    if isinstance(horizon_days, bool) or not isinstance(horizon_days, int) or horizon_days < 1:
        raise ConfigError(
            f"horizon_days must be a positive number of days (the period the value covers), "
            f"got {horizon_days!r}."
        )
    features = training_order(table.features)
    model = ClvMlp(config or MlpConfig()).fit(
        features, table.target.loc[features.index], on_epoch=on_epoch, should_stop=should_stop
    )
    training = table_training_facts(table, features.index, horizon_days=horizon_days)
    reference = table.reference_date
    folder = save_bundle(
        model,
        out,
        cutoff=reference.date() if reference is not None else dt.date.today(),
        horizon_days=horizon_days,
        feature_options=FeatureOptions(),
        training=training | {"validation": {"customer_table": table.report.to_dict()}},
        table=table.spec,
    )
    return TableBundle(folder, model, training)


def _training_customers(info: BundleInfo, ids: pd.Index) -> pd.Index:
    """Which of ``ids`` the bundle's network was trained on (none when it cannot tell).

    The bundle's digest of its training ids is compared with all of ``ids`` (a network trained
    on the whole table) and with the training side of the recorded customer split (the
    workbench's evaluated network).
    """
    recorded = info.training.get("training_ids_sha256")
    if not recorded or len(ids) == 0:
        return pd.Index([], dtype=object)
    candidates = [pd.Index(np.sort(ids.to_numpy().astype(str)))]
    if "test_size" in info.training and "seed" in info.training:
        with contextlib.suppress(ClvError, TypeError, ValueError):
            split = split_customers(
                ids, test_size=float(info.training["test_size"]), seed=int(info.training["seed"])
            )
            candidates.append(split.train)
    for candidate in candidates:
        if _ids_digest(candidate) == recorded:
            return candidate
    return pd.Index([], dtype=object)


@dataclass(frozen=True, slots=True)
class TableScores:
    """A table's customers scored, with how each was predicted and the table's row account.

    ``extra`` holds ``known_value`` and ``prediction_basis`` per customer when the table is the
    bundle's training table (``out_of_fold`` for the training customers, ``in_sample`` for any
    no ensemble member held out, ``held_out`` for the customers the evaluation kept out of
    training); it has no columns otherwise. ``bands_note`` says why churn bands are missing
    when they are.
    """

    scored: ScoredCustomers
    extra: pd.DataFrame
    report: ValidationReport
    bands_note: str | None = None


def score_table(model: ClvMlp, info: BundleInfo, customers: NewCustomers) -> TableScores:
    """Predictions for every customer of the table (sorted by predicted CLV)."""
    features = customers.features
    predictions = model.predict(features)
    trained = _training_customers(info, features.index)
    extra = pd.DataFrame(index=features.index)
    if len(trained):
        out_of_fold = model.predict_out_of_fold(features.loc[trained])
        # A network with fewer members than folds held some customers out of none of them:
        # those keep the whole network's prediction and are labelled in-sample.
        covered = out_of_fold["predicted_clv"].notna()
        predictions.loc[out_of_fold.index[covered], :] = out_of_fold[covered].to_numpy()
        basis = pd.Series(HELD_OUT, index=features.index, dtype=object)
        basis.loc[out_of_fold.index[covered]] = OUT_OF_FOLD
        basis.loc[out_of_fold.index[~covered]] = IN_SAMPLE
        if customers.known_value is not None:
            extra[KNOWN_VALUE] = customers.known_value
        extra[PREDICTION_BASIS] = basis
    note = None
    if "p_purchase" not in predictions:
        note = NO_BANDS_POINT_LOSS
    elif info.training.get("target_zero_share", 1.0) == 0:
        # Without zeros in the target, P(purchase) is ~1 for everyone: no churn signal.
        predictions = predictions.drop(columns="p_purchase")
        note = NO_BANDS_NO_ZEROS
    scored = predictions.reset_index().sort_values("predicted_clv", ascending=False, kind="stable")
    reference = customers.reference_date
    as_of = reference.date() if reference is not None else info.cutoff
    return TableScores(
        ScoredCustomers(
            scored.reset_index(drop=True),
            features,
            as_of,
            model.timing_,
            model.config.interval_coverage,
        ),
        extra,
        customers.report,
        note,
    )


def table_drivers(model: ClvMlp, features: pd.DataFrame, *, language: Language) -> pd.DataFrame:
    """``customer_id, driver_1 .. driver_3`` of a table's customers.

    A table bundle carries no customers of its own, so the drivers are measured against the
    scored customers' average prediction (every customer explained, a seeded background).
    """
    explanation = explain_customers(model, features, features, DRIVER_SETTINGS)
    return explanation.top_drivers(DRIVER_COUNT, language=language)


def score_table_campaign(
    model: ClvMlp, info: BundleInfo, customers: NewCustomers, request: CampaignRequest
) -> CampaignResult:
    """The campaign list of a per-customer table: scores, segments, drivers, filters.

    Churn bands come from the network's P(purchase) when the training target had zeros;
    otherwise (and without order dates for the recency rule) they are left empty, the actions
    with them, and :attr:`TableScores.bands_note` says why.
    """
    scores = score_table(model, info, customers)
    result = campaign_from_scores(
        scores.scored,
        request,
        horizon_days=info.horizon_days,
        drivers_of=lambda: table_drivers(model, scores.scored.features, language=request.language),
        attributes=customers.features,
    )
    if not len(scores.extra.columns):
        return result
    return replace(result, listing=result.listing.join(scores.extra, on="customer_id"))


def explain_table(
    model: ClvMlp, customers: NewCustomers, settings: ExplainSettings | None = None
) -> Explanation:
    """SHAP values of a table's customers, against the average of the same customers."""
    return explain_customers(model, customers.features, customers.features, settings)
