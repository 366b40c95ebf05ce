"""Batch scoring of a log on Apache Spark: validation, features and the network on the cluster.

:func:`score_log_on_spark` is what ``python -m clv_core score --engine spark`` runs. The log is
validated and its features computed by the SQL of :mod:`clv_core.sql` on Spark, the network
predicts each partition on the executors (:mod:`clv_core.sql.spark_scoring`), and the driver
segments the collected predictions with the same code as the local scorer
(:func:`~clv_core.usecases.campaign.campaign_from_scores`), so the list equals the local one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from clv_core.bundle import BundleInfo
from clv_core.config import LossKind
from clv_core.errors import ConfigError, DataError
from clv_core.features import _cutoff_day
from clv_core.loading import LoadedTable
from clv_core.mlp import ClvMlp
from clv_core.scoring import ScoredCustomers
from clv_core.usecases.campaign import CampaignRequest, CampaignResult, campaign_from_scores
from clv_core.usecases.features import LogInput, SqlChecked, check_in_sql
from clv_core.usecases.inputs import report_lines, validation_data
from clv_core.validation import ValidationOptions

__all__ = ["SparkScores", "score_log_on_spark"]


@dataclass(frozen=True, slots=True)
class SparkScores:
    """The campaign list scored on Spark and the log's row accounting."""

    campaign: CampaignResult
    checked: SqlChecked

    def validation(self) -> dict[str, Any]:
        """Row accounting of every input table, as JSON-ready data."""
        money = self.checked.validation.money
        return validation_data(self.checked.reports, self.checked.mapping, money)

    def report_lines(self) -> list[str]:
        """The reports and the spend rule, as lines for a terminal."""
        return report_lines(self.checked.reports, self.checked.validation.money)


def score_log_on_spark(
    bundle: Path,
    model: ClvMlp,
    info: BundleInfo,
    table: LogInput,
    request: CampaignRequest,
    *,
    roles: Mapping[str, str | None],
    options: ValidationOptions,
    attributes: LoadedTable | None = None,
) -> SparkScores:
    """Score every customer of a log with a bundle on Spark and make the campaign list."""
    from clv_core.sql.runner import SparkRunner
    from clv_core.sql.spark_engine import spark_session, spark_sql_errors
    from clv_core.sql.spark_scoring import RETURNED_FEATURES, score_on_spark

    if request.drivers:
        raise ConfigError(
            "--explain is not available with --engine spark: the drivers need SHAP on one "
            "machine. Score on Spark, then explain a sample with the explain command."
        )
    columns = ["predicted_clv"]
    if model.config.loss is LossKind.ZILN:
        columns += ["p_purchase", "clv_lower", "clv_upper"]
    with spark_session() as session:
        runner = SparkRunner(session)
        try:
            with spark_sql_errors():
                checked = check_in_sql(
                    runner, table, roles=roles, options=options, attributes=attributes
                )
                if isinstance(checked, str):
                    raise DataError(
                        f"Spark cannot validate this log by itself: {checked}. Score it with "
                        "--engine local (the Python reader validates it), or write the log "
                        "with one spend column and ISO dates."
                    )
                as_of = request.as_of or checked.validation.last_date.date()
                result = score_on_spark(
                    runner,
                    bundle,
                    cutoff_day=_cutoff_day(as_of),
                    options=info.feature_options,
                    customers=checked.customers,
                    prediction_columns=columns,
                )
        finally:
            runner.release()
    predictions = result[["customer_id", *columns]]
    predictions = predictions.sort_values("predicted_clv", ascending=False, kind="stable")
    features = result.set_index("customer_id")[list(RETURNED_FEATURES)]
    scored = ScoredCustomers(
        predictions.reset_index(drop=True),
        features,
        as_of,
        model.timing_,
        model.config.interval_coverage,
    )
    customers = checked.customers
    campaign = campaign_from_scores(
        scored,
        request,
        horizon_days=info.horizon_days,
        drivers_of=lambda: pd.DataFrame(),
        attributes=customers.frame if customers is not None else None,
    )
    return SparkScores(campaign, checked)
