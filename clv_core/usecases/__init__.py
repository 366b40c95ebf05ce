"""The jobs analysts run, one function each, under the command line, the workbench and the API.

Each adapter parses its input, calls one of these and renders the result; none assembles a job
itself, so the same inputs give the same numbers everywhere (tests compare the command line's
and the workbench's files byte for byte). The defaults (SHAP background, how many drivers, tier
and churn rules, windows) live with the use case or in the settings it names.

=====================================  ====================================================
Use case                               Module
=====================================  ====================================================
data check of uploaded files           :mod:`~clv_core.usecases.inputs` (:func:`check_inputs`)
evaluate every model                   :mod:`~clv_core.usecases.models` (:func:`evaluate_models`)
save the evaluated network, train one  :mod:`~clv_core.usecases.models` (:func:`train_bundle`)
score, value, segment, drivers,       :mod:`~clv_core.usecases.campaign` (:func:`score_campaign`)
campaign list, budget plan
explain an evaluation or a bundle      :mod:`~clv_core.usecases.explaining`
per-customer tables: check, train,     :mod:`~clv_core.usecases.tables`
score new customers, explain
features of a log (DuckDB, pandas,     :mod:`~clv_core.usecases.features` (:func:`log_features`)
Spark)
score a log on Spark                   :mod:`~clv_core.usecases.spark_scoring`
=====================================  ====================================================
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from clv_core.usecases.campaign import (
        CHURN_THRESHOLDS,
        DRIVER_COUNT,
        DRIVER_SETTINGS,
        CampaignRequest,
        CampaignResult,
        campaign_drivers,
        campaign_from_scores,
        campaign_list,
        driver_background,
        score_campaign,
        segment_scored,
        value_scored,
    )
    from clv_core.usecases.explaining import (
        BundleExplanation,
        evaluation_background,
        explain_bundle,
    )
    from clv_core.usecases.inputs import CheckedInputs, attributes_report, check_inputs
    from clv_core.usecases.models import (
        EvaluationRequest,
        TrainedBundle,
        TrainRequest,
        evaluate_models,
        save_evaluated_bundle,
        table_settings,
        train_bundle,
    )
    from clv_core.usecases.tables import (
        KNOWN_VALUE,
        PREDICTION_BASIS,
        TABLE_HORIZON_DAYS,
        TableBundle,
        TableScores,
        check_customer_table,
        check_new_customers,
        explain_table,
        score_table,
        score_table_campaign,
        table_drivers,
        train_table_bundle,
        training_order,
    )

# Each use case is imported when first asked for: the command line's light commands (features)
# do not load the modules of the network, SHAP and the exports.
_MODULES = {
    "BundleExplanation": "clv_core.usecases.explaining",
    "CHURN_THRESHOLDS": "clv_core.usecases.campaign",
    "CampaignRequest": "clv_core.usecases.campaign",
    "CampaignResult": "clv_core.usecases.campaign",
    "CheckedInputs": "clv_core.usecases.inputs",
    "DRIVER_COUNT": "clv_core.usecases.campaign",
    "DRIVER_SETTINGS": "clv_core.usecases.campaign",
    "EvaluationRequest": "clv_core.usecases.models",
    "KNOWN_VALUE": "clv_core.usecases.tables",
    "PREDICTION_BASIS": "clv_core.usecases.tables",
    "TABLE_HORIZON_DAYS": "clv_core.usecases.tables",
    "TableBundle": "clv_core.usecases.tables",
    "TableScores": "clv_core.usecases.tables",
    "TrainRequest": "clv_core.usecases.models",
    "TrainedBundle": "clv_core.usecases.models",
    "attributes_report": "clv_core.usecases.inputs",
    "campaign_drivers": "clv_core.usecases.campaign",
    "campaign_from_scores": "clv_core.usecases.campaign",
    "campaign_list": "clv_core.usecases.campaign",
    "check_customer_table": "clv_core.usecases.tables",
    "check_inputs": "clv_core.usecases.inputs",
    "check_new_customers": "clv_core.usecases.tables",
    "driver_background": "clv_core.usecases.campaign",
    "evaluate_models": "clv_core.usecases.models",
    "evaluation_background": "clv_core.usecases.explaining",
    "explain_bundle": "clv_core.usecases.explaining",
    "explain_table": "clv_core.usecases.tables",
    "save_evaluated_bundle": "clv_core.usecases.models",
    "score_campaign": "clv_core.usecases.campaign",
    "score_table": "clv_core.usecases.tables",
    "score_table_campaign": "clv_core.usecases.tables",
    "segment_scored": "clv_core.usecases.campaign",
    "value_scored": "clv_core.usecases.campaign",
    "table_drivers": "clv_core.usecases.tables",
    "table_settings": "clv_core.usecases.models",
    "train_bundle": "clv_core.usecases.models",
    "train_table_bundle": "clv_core.usecases.tables",
    "training_order": "clv_core.usecases.tables",
}


def __getattr__(name: str) -> Any:
    module = _MODULES.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(module), name)


__all__ = [
    "CHURN_THRESHOLDS",
    "DRIVER_COUNT",
    "DRIVER_SETTINGS",
    "KNOWN_VALUE",
    "PREDICTION_BASIS",
    "TABLE_HORIZON_DAYS",
    "BundleExplanation",
    "CampaignRequest",
    "CampaignResult",
    "CheckedInputs",
    "EvaluationRequest",
    "TableBundle",
    "TableScores",
    "TrainRequest",
    "TrainedBundle",
    "attributes_report",
    "campaign_drivers",
    "campaign_from_scores",
    "campaign_list",
    "check_customer_table",
    "check_inputs",
    "check_new_customers",
    "driver_background",
    "evaluate_models",
    "evaluation_background",
    "explain_bundle",
    "explain_table",
    "save_evaluated_bundle",
    "score_campaign",
    "score_table",
    "score_table_campaign",
    "segment_scored",
    "table_drivers",
    "table_settings",
    "train_bundle",
    "train_table_bundle",
    "training_order",
    "value_scored",
]
