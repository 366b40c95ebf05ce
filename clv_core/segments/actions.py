"""The action grid: one recommended action per value tier x churn band."""

from __future__ import annotations

import math
from typing import Final

import numpy as np
import pandas as pd

from clv_core.catalogue import ACTION_LABELS, pick
from clv_core.language import Language, parse_language
from clv_core.segments.churn import ChurnBand
from clv_core.segments.tiers import _from_codes

ACTION_GRID: Final[tuple[tuple[str, str, str], ...]] = (
    # High value: protect the revenue; risk decides how hard.
    ("reward_and_retain", "vip_care", "win_back_now"),
    # Potential: grow the customers who stay, rescue the ones drifting away with an offer.
    ("upsell_and_cross_sell", "engage_to_grow", "targeted_win_back_offer"),
    # Regular: keep costs proportional to value.
    ("keep_engaged", "low_cost_reminders", "low_cost_reactivation"),
    # Low value: automate, and stop spending on customers likely gone.
    ("automated_nurture", "low_cost_maintenance", "do_not_spend"),
)
"""Action codes per grid row (High value, Potential, Regular, Low value) and band (Low, Medium,
High); their labels are :data:`clv_core.catalogue.ACTION_LABELS`.

Schemes with another number of tiers map each tier to a row by relative position; see
:func:`grid_row`.
"""


def _action_label(code: str, language: Language) -> str:
    return pick(ACTION_LABELS[code], language)


def grid_row(tier_position: int, n_tiers: int) -> int:
    """Row of :data:`ACTION_GRID` for tier ``tier_position`` (0 = top) of ``n_tiers``.

    The relative position ``tier_position / (n_tiers - 1)`` is scaled to the four rows and
    rounded half up: the top tier is always "High value", the bottom always "Low value"; with
    three tiers the middle one is "Regular"; with five, the rows are 0, 1, 2, 2, 3.
    """
    last_row = len(ACTION_GRID) - 1
    if n_tiers <= 1:
        return 0
    return math.floor(tier_position * last_row / (n_tiers - 1) + 0.5)


def action_labels(n_tiers: int, language: Language | str = Language.EN) -> list[str]:
    """All action labels of an ``n_tiers`` x 3 grid in grid order, each once."""
    chosen = parse_language(language)
    rows = sorted({grid_row(position, n_tiers) for position in range(n_tiers)})
    return [_action_label(code, chosen) for row in rows for code in ACTION_GRID[row]]


def _category_codes(
    values: pd.Series, name: str, producer: str
) -> tuple[np.ndarray, pd.CategoricalDtype]:
    """Category codes (-1 = missing) and dtype of a categorical Series."""
    if not isinstance(values.dtype, pd.CategoricalDtype):
        raise TypeError(f"{name} must be the categorical Series returned by {producer}.")
    return np.asarray(values.cat.codes, dtype=np.int64), values.dtype


def assign_actions(
    tiers: pd.Series, bands: pd.Series, language: Language | str = Language.EN
) -> pd.Series:
    """The action of every customer from their tier and churn band.

    Parameters
    ----------
    tiers
        Output of :func:`assign_tiers` (categorical, top tier first).
    bands
        Output of :func:`churn_bands` (categorical Low, Medium, High), same customers. Missing
        bands give a missing action.
    language
        Language of the action labels.

    Returns
    -------
    pandas.Series
        Named ``action``, indexed like ``tiers``: a Categorical whose categories are
        :func:`action_labels` (grid order).
    """
    chosen = parse_language(language)
    tier_codes, tier_dtype = _category_codes(tiers, "tiers", "assign_tiers")
    band_codes, _ = _category_codes(bands.reindex(tiers.index), "bands", "churn_bands")
    n_tiers = len(tier_dtype.categories)
    labels = action_labels(n_tiers, chosen)
    lookup = np.array(
        [
            labels.index(_action_label(ACTION_GRID[grid_row(position, n_tiers)][band], chosen))
            for position in range(n_tiers)
            for band in range(len(ChurnBand))
        ]
    )
    missing = (tier_codes < 0) | (band_codes < 0)
    codes = np.where(missing, -1, lookup[np.maximum(tier_codes, 0) * 3 + np.maximum(band_codes, 0)])
    actions = _from_codes(codes, labels, ordered=False)
    return pd.Series(actions, index=tiers.index, name="action")


def action_grid(
    tiers: pd.Series,
    bands: pd.Series,
    *,
    predicted: pd.Series | None = None,
    language: Language | str = Language.EN,
) -> pd.DataFrame:
    """Customers (and predicted revenue) in every tier x churn-band cell, tidy for a heatmap.

    Parameters
    ----------
    tiers, bands
        Outputs of :func:`assign_tiers` and :func:`churn_bands` for the same customers.
    predicted
        Optional predicted CLV per customer (aligned by customer id) for revenue columns.
    language
        Language of the action labels.

    Returns
    -------
    pandas.DataFrame
        One row per cell, every cell present (tiers top first, bands Low to High):
        ``tier``, ``churn_band``, ``action``, ``n_customers``, ``share_of_customers`` and, with
        ``predicted``, ``predicted_revenue`` and ``share_of_predicted_revenue`` (NaN when the
        total is 0). Customers without a band are not counted.
    """
    chosen = parse_language(language)
    tier_codes, tier_dtype = _category_codes(tiers, "tiers", "assign_tiers")
    band_codes, band_dtype = _category_codes(bands.reindex(tiers.index), "bands", "churn_bands")
    n_tiers = len(tier_dtype.categories)
    n_bands = len(band_dtype.categories)
    known = (tier_codes >= 0) & (band_codes >= 0)
    cell = tier_codes[known] * n_bands + band_codes[known]
    counts = np.bincount(cell, minlength=n_tiers * n_bands)
    grid = pd.DataFrame(
        {
            "tier": pd.Categorical.from_codes(
                np.repeat(np.arange(n_tiers), n_bands), dtype=tier_dtype
            ),
            "churn_band": pd.Categorical.from_codes(
                np.tile(np.arange(n_bands), n_tiers), dtype=band_dtype
            ),
            "action": [
                _action_label(ACTION_GRID[grid_row(position, n_tiers)][band], chosen)
                for position in range(n_tiers)
                for band in range(n_bands)
            ],
            "n_customers": counts,
        }
    )
    grid["share_of_customers"] = counts / counts.sum() if counts.sum() else np.nan
    if predicted is not None:
        values = pd.to_numeric(predicted.reindex(tiers.index), errors="coerce")
        revenue = np.bincount(
            cell, weights=values.to_numpy(dtype=np.float64)[known], minlength=n_tiers * n_bands
        )
        total = revenue.sum()
        grid["predicted_revenue"] = revenue
        grid["share_of_predicted_revenue"] = revenue / total if total else np.nan
    return grid
