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
score, segment, drivers, campaign list :mod:`~clv_core.usecases.campaign` (:func:`score_campaign`)
explain an evaluation or a bundle      :mod:`~clv_core.usecases.explaining`
per-customer tables: check, train,     :mod:`~clv_core.usecases.tables`
score new customers, explain
=====================================  ====================================================
"""

from __future__ import annotations

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
)
from clv_core.usecases.explaining import BundleExplanation, evaluation_background, explain_bundle
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
]
