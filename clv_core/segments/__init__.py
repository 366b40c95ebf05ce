"""Segments: value tiers, churn-risk bands, the action grid and segment profiles.

Marketing acts on groups, not on single predictions. This package turns a scored customer list
(``customer_id``, ``predicted_clv`` and, for ZILN models, ``p_purchase``) into

- **value tiers** from predicted CLV (:func:`assign_tiers`, ``tiers.py``): quantile shares of
  customers (default top 10% / next 20% / middle 40% / bottom 30%) or money thresholds;
- **churn-risk bands** (:func:`churn_bands`, ``churn.py``): from the model's probability of *no*
  purchase in the horizon when it has one, otherwise from recency relative to the customer's
  own rhythm;
- an **action** for every tier x band cell (:data:`ACTION_GRID`, :func:`assign_actions`,
  :func:`action_grid`, ``actions.py``), e.g. high value & high risk -> "Win back now";
- a **profile** per segment (:func:`segment_profile`, ``profile.py``): size, shares, predicted
  and actual revenue, mean of key features.

:func:`segment_customers` (``customers.py``) does all of it in one call, with labels in English
(``"en"``) or Chinese (``"zh"``) from :mod:`clv_core.catalogue`; :func:`segment_codes` gives the
same segments as language-independent codes. Everything is deterministic: customers are
ordered by predicted CLV descending, then by customer id ascending, so ties never depend on
input order.
"""

from __future__ import annotations

from clv_core.language import Language
from clv_core.segments.actions import (
    ACTION_GRID,
    action_grid,
    action_labels,
    assign_actions,
    grid_row,
)
from clv_core.segments.churn import DEFAULT_CHURN_THRESHOLDS, ChurnBand, churn_bands
from clv_core.segments.customers import (
    indexed_by_customer,
    segment_codes,
    segment_customers,
)
from clv_core.segments.profile import DEFAULT_KEY_FEATURES, segment_profile
from clv_core.segments.tiers import (
    DEFAULT_TIER_SHARES,
    EXAMPLE_TIER_THRESHOLDS,
    TierKind,
    TierScheme,
    assign_tiers,
    quantile_tier_sizes,
    ranking_order,
)

__all__ = [
    "ACTION_GRID",
    "DEFAULT_CHURN_THRESHOLDS",
    "DEFAULT_KEY_FEATURES",
    "DEFAULT_TIER_SHARES",
    "EXAMPLE_TIER_THRESHOLDS",
    "ChurnBand",
    "Language",
    "TierKind",
    "TierScheme",
    "action_grid",
    "action_labels",
    "assign_actions",
    "assign_tiers",
    "churn_bands",
    "grid_row",
    "indexed_by_customer",
    "quantile_tier_sizes",
    "ranking_order",
    "segment_codes",
    "segment_customers",
    "segment_profile",
]
