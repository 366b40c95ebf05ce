"""The campaign list: score -> segment -> drivers -> filter -> file.

The command line (``python -m clv_core score``) and the workbench's Segments & export page build
the same campaign list from the same steps; both call these functions, so the same bundle and
the same log give the same file everywhere (a test compares them byte for byte):

1. :func:`clv_core.scoring.score_with_features` scores every customer at the as-of date
   (in the workbench inside a worker process);
2. :func:`segment_scored` ranks them into value tiers, churn bands and actions;
3. :func:`value_scored` adds profit, ``p_alive`` and the next order
   (:mod:`clv_core.value`) with the analyst's margin and discount rate;
4. :func:`campaign_drivers` names each customer's three largest SHAP contributions, against
   :func:`driver_background` (in the workbench inside a worker process);
5. :func:`campaign_list` puts the columns in the file's order and keeps the chosen segments;
6. with a budget, :func:`clv_core.budget.plan_budget` keeps the customers worth contacting.

:func:`score_campaign` runs them all for the command line. The defaults (how many drivers, the
SHAP background size, the tier and churn rules) live here and in the settings they name.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from clv_core.budget import BudgetPlan, BudgetRequest
from clv_core.bundle import BundleInfo
from clv_core.explain import ExplainSettings, explain_customers
from clv_core.export import build_scored_list, filter_segments
from clv_core.language import Language
from clv_core.mlp import ClvMlp
from clv_core.scoring import ScoredCustomers, score_with_features, training_background
from clv_core.segments import (
    ACTION_GRID,
    DEFAULT_CHURN_THRESHOLDS,
    ChurnBand,
    TierScheme,
    segment_codes,
    segment_customers,
)
from clv_core.validation import CustomerAttributes
from clv_core.value import (
    VALUE_COLUMNS,
    ValuePlan,
    ValueSettings,
    customer_margins,
    plan_value,
)

__all__ = [
    "CHURN_THRESHOLDS",
    "DRIVER_COUNT",
    "DRIVER_SETTINGS",
    "CampaignRequest",
    "CampaignResult",
    "campaign_drivers",
    "campaign_from_scores",
    "campaign_list",
    "driver_background",
    "score_campaign",
    "segment_scored",
    "value_scored",
]

# How many drivers the campaign list names per customer.
DRIVER_COUNT = 3
# Every scored customer is explained (no sample) against a seeded background of 200 customers.
DRIVER_SETTINGS = ExplainSettings(sample_size=None)
# Churn-band cut points on P(no purchase in the horizon): low below the first, high above the
# second.
CHURN_THRESHOLDS = DEFAULT_CHURN_THRESHOLDS


@dataclass(frozen=True, slots=True)
class CampaignRequest:
    """What goes into a scored campaign list.

    ``segments`` adds rank, tier, churn band and action; ``drivers`` adds the top drivers
    (implies segments); ``codes`` adds the segments' language-independent codes
    (``tier_code``, ``churn_band_code``, ``action_code``) for files a program reads;
    ``tiers``, ``bands`` and ``actions`` keep only those segments (by their label in
    ``language``); ``passthrough`` copies columns of the attributes table. ``value`` turns
    the predictions into profit in today's money; with ``budget`` the list keeps only the
    customers the budget should reach, highest expected net profit first.
    """

    as_of: dt.date | None = None
    language: Language = Language.EN
    segments: bool = False
    drivers: bool = False
    codes: bool = False
    scheme: TierScheme | None = None
    churn_thresholds: tuple[float, float] = CHURN_THRESHOLDS
    passthrough: Sequence[str] = ()
    tiers: Sequence[str] = ()
    bands: Sequence[str] = ()
    actions: Sequence[str] = ()
    value: ValueSettings = field(default_factory=ValueSettings)
    budget: BudgetRequest | None = None

    @property
    def segmented(self) -> bool:
        """Whether the list carries segments (asked for, implied by drivers or a filter)."""
        return self.segments or self.drivers or bool(self.tiers or self.bands or self.actions)


@dataclass(frozen=True, slots=True)
class CampaignResult:
    """The campaign list, the scores it was made from, their value over time and the budget
    plan (when a budget was given)."""

    listing: pd.DataFrame
    scored: ScoredCustomers
    segmented: pd.DataFrame | None = field(default=None)
    plan: ValuePlan | None = field(default=None)
    budget: BudgetPlan | None = field(default=None)

    def segment_summary(self) -> dict[str, list[dict[str, Any]]]:
        """Customers and predicted value of the list per tier, churn band and action, by code.

        ``{"tier": [{"code": "tier_1", "label": "High value", "customers": 12,
        "predicted_clv": 5310.2}, ...], "churn_band": [...], "action": [...]}``, in segment
        order, empty segments left out; ``{}`` when the list is not segmented. Programs read
        the codes, which do not depend on the language.
        """
        if self.segmented is None:
            return {}
        listed = self.segmented[self.segmented["customer_id"].isin(self.listing["customer_id"])]
        codes = segment_codes(listed)
        summary: dict[str, list[dict[str, Any]]] = {}
        for column in ("tier", "churn_band", "action"):
            frame = pd.DataFrame(
                {
                    "code": codes[f"{column}_code"],
                    "label": listed[column].astype(object),
                    "value": listed["predicted_clv"],
                }
            ).dropna(subset=["code"])
            groups = frame.groupby("code", sort=False)
            rows = [
                {
                    "code": str(code),
                    "label": str(group["label"].iloc[0]),
                    "customers": len(group),
                    "predicted_clv": round(float(group["value"].sum()), 2),
                }
                for code, group in groups
            ]
            summary[column] = sorted(rows, key=lambda row: _segment_order(column, row["code"]))
        return summary


def _segment_order(column: str, code: str) -> tuple[int, str]:
    """Tiers top first, bands low to high, actions in grid order."""
    if column == "tier":
        return int(code.removeprefix("tier_")), code
    if column == "churn_band":
        return [band.value for band in ChurnBand].index(code), code
    return [cell for row in ACTION_GRID for cell in row].index(code), code


def segment_scored(
    scored: ScoredCustomers,
    *,
    horizon_days: int,
    language: Language,
    scheme: TierScheme | None = None,
    churn_thresholds: Sequence[float] = CHURN_THRESHOLDS,
) -> pd.DataFrame:
    """Rank, value tier, churn band and action of every scored customer."""
    return segment_customers(
        scored.predictions,
        scored.features,
        scheme=scheme,
        horizon_days=horizon_days,
        language=language,
        churn_thresholds=churn_thresholds,
    )


def value_scored(
    scored: ScoredCustomers,
    *,
    horizon_days: int,
    settings: ValueSettings,
    attributes: pd.DataFrame | None,
) -> tuple[ScoredCustomers, ValuePlan]:
    """The scored customers with ``predicted_profit``, ``p_alive``,
    ``expected_next_order_date`` and ``mean_days_between_orders`` after the predictions, and
    the value plan behind them (per-period values, the profit factor)."""
    predictions = scored.predictions
    margins = customer_margins(attributes, settings, pd.Index(predictions["customer_id"]))
    plan = plan_value(
        predictions,
        scored.features,
        timing=scored.timing,
        horizon_days=horizon_days,
        as_of=scored.as_of,
        settings=settings,
        margins=margins,
        interval_coverage=scored.interval_coverage,
    )
    valued = predictions.drop(columns=[c for c in VALUE_COLUMNS if c in predictions.columns])
    for column in VALUE_COLUMNS:
        valued[column] = plan.columns[column].to_numpy()
    return (
        ScoredCustomers(
            valued, scored.features, scored.as_of, scored.timing, scored.interval_coverage
        ),
        plan,
    )


def driver_background(
    info: BundleInfo,
    transactions: pd.DataFrame,
    customers: CustomerAttributes | None,
    scored_features: pd.DataFrame,
) -> pd.DataFrame:
    """The SHAP background for a bundle's drivers: the customers it was trained on.

    A SHAP value says how much a feature moved a customer's prediction away from the model's
    average over the background. The average that means something to a campaign is the one
    over the customers the network learned from, so the background is those customers'
    features, rebuilt from the same log at the training cutoff the bundle records. Bundles
    that record none (or whose cutoff lies before the log starts) fall back to the scored
    customers themselves. The command line and the workbench both use this rule, for uploaded
    bundles and the session's own network alike.
    """
    recorded = info.training.get("training_cutoff")
    return training_background(
        transactions,
        pd.Timestamp(recorded).date() if recorded else None,
        customers=customers,
        feature_options=info.feature_options,
        fallback=scored_features,
    )


def campaign_drivers(
    model: ClvMlp,
    info: BundleInfo,
    transactions: pd.DataFrame,
    customers: CustomerAttributes | None,
    scored_features: pd.DataFrame,
    *,
    language: Language,
) -> pd.DataFrame:
    """``customer_id, driver_1 .. driver_3``: every scored customer's top drivers in words."""
    background = driver_background(info, transactions, customers, scored_features)
    explanation = explain_customers(model, scored_features, background, DRIVER_SETTINGS)
    return explanation.top_drivers(DRIVER_COUNT, language=language)


def campaign_list(
    segmented: pd.DataFrame,
    drivers: pd.DataFrame | None,
    *,
    attributes: pd.DataFrame | None = None,
    passthrough: Sequence[str] = (),
    tiers: Sequence[str] = (),
    bands: Sequence[str] = (),
    actions: Sequence[str] = (),
    codes: bool = False,
) -> pd.DataFrame:
    """The campaign file's rows and columns, only the chosen segments.

    With ``codes``, ``tier_code``, ``churn_band_code`` and ``action_code`` follow ``action``.
    """
    listing = build_scored_list(segmented, drivers, attributes=attributes, passthrough=passthrough)
    if codes:
        by_customer = segment_codes(segmented).set_axis(segmented["customer_id"])
        position = list(listing.columns).index("action") + 1
        for offset, column in enumerate(by_customer.columns):
            listing.insert(
                position + offset, column, by_customer[column].reindex(listing["customer_id"]).array
            )
    return filter_segments(listing, tiers=list(tiers), bands=list(bands), actions=list(actions))


def score_campaign(
    model: ClvMlp,
    info: BundleInfo,
    transactions: pd.DataFrame,
    customers: CustomerAttributes | None,
    request: CampaignRequest,
) -> CampaignResult:
    """Score every customer of ``transactions`` with a bundle and make the campaign list."""
    scored = score_with_features(
        model,
        transactions,
        as_of=request.as_of,
        customers=customers,
        feature_options=info.feature_options,
    )
    return campaign_from_scores(
        scored,
        request,
        horizon_days=info.horizon_days,
        drivers_of=lambda: campaign_drivers(
            model, info, transactions, customers, scored.features, language=request.language
        ),
        attributes=customers.frame if customers is not None else None,
    )


def campaign_from_scores(
    scored: ScoredCustomers,
    request: CampaignRequest,
    *,
    horizon_days: int,
    drivers_of: Callable[[], pd.DataFrame],
    attributes: pd.DataFrame | None,
) -> CampaignResult:
    """The campaign list of scored customers: value, segments, drivers (``drivers_of``, called
    only when asked for), the attributes to copy, the chosen segments and the budget plan."""
    valued, plan = value_scored(
        scored,
        horizon_days=horizon_days,
        settings=request.value,
        attributes=attributes,
    )
    segmented = None
    if not request.segmented:
        listing = valued.predictions
    else:
        segmented = segment_scored(
            valued,
            horizon_days=horizon_days,
            language=request.language,
            scheme=request.scheme,
            churn_thresholds=request.churn_thresholds,
        )
        listing = campaign_list(
            segmented,
            drivers_of() if request.drivers else None,
            attributes=attributes,
            passthrough=request.passthrough,
            tiers=request.tiers,
            bands=request.bands,
            actions=request.actions,
            codes=request.codes,
        )
    budget = None
    if request.budget is not None:
        budget = plan.budget(listing, request.budget)
        listing = budget.selected
    return CampaignResult(listing, valued, segmented, plan, budget)
