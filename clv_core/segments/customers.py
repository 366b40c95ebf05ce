"""Every scored customer's rank, tier, churn band and action, as labels and as codes."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from clv_core.catalogue import tier_code
from clv_core.errors import DataError
from clv_core.language import Language, parse_language
from clv_core.segments.actions import ACTION_GRID, _category_codes, assign_actions, grid_row
from clv_core.segments.churn import (
    DEFAULT_CHURN_THRESHOLDS,
    ChurnBand,
    _band_labels,
    _check_churn_options,
    churn_bands,
)
from clv_core.segments.tiers import TierScheme, _from_codes, assign_tiers, ranking_order


def indexed_by_customer(frame: pd.DataFrame, name: str) -> pd.DataFrame:
    """``frame`` indexed by customer id, whether the id is its index or a column.

    Raises
    ------
    DataError
        A customer id appears more than once (``name`` says which table).
    """
    if "customer_id" in frame.columns:
        frame = frame.set_index("customer_id")
    if frame.index.has_duplicates:
        duplicated = frame.index[frame.index.duplicated()].unique()
        raise DataError(
            f"{len(duplicated)} customer ids appear more than once in {name}, e.g. "
            f"{list(duplicated[:3])}; give one row per customer."
        )
    return frame


def segment_customers(
    scored: pd.DataFrame,
    features: pd.DataFrame | None = None,
    *,
    scheme: TierScheme | None = None,
    horizon_days: int,
    language: Language | str = Language.EN,
    churn_thresholds: Sequence[float] = DEFAULT_CHURN_THRESHOLDS,
) -> pd.DataFrame:
    """Rank, tier, churn band and action for every scored customer.

    Parameters
    ----------
    scored
        One row per customer: ``customer_id``, ``predicted_clv`` and optionally
        ``p_purchase``, ``clv_lower``, ``clv_upper`` (what ``score_customers`` returns).
    features
        Features at the scoring cutoff (indexed by ``customer_id`` or with that column). Used
        for churn bands when ``scored`` has no ``p_purchase``: ``days_since_last_purchase``
        and ``mean_days_between_purchases``.
    scheme
        Value tiers; default quantile 10/20/40/30%.
    horizon_days
        The model's horizon (reference gap of one-time buyers in the recency rule).
    language
        Language of tier, band and action labels.
    churn_thresholds
        Risk boundaries passed to :func:`churn_bands`.

    Returns
    -------
    pandas.DataFrame
        The columns of ``scored`` followed by

        - ``rank``: 1 = highest predicted CLV, unique (ties broken by customer id);
        - ``percentile``: ``100 * (n - rank + 1) / n``, so the top customer is 100 and the
          bottom one ``100 / n``; "percentile >= 90" is the top 10%;
        - ``tier``, ``churn_band``, ``action``: ordered Categoricals (see
          :func:`assign_tiers`, :func:`churn_bands`, :func:`assign_actions`).

        Sorted by rank, with a fresh 0..n-1 index. When there is neither ``p_purchase`` nor
        ``days_since_last_purchase`` (a per-customer table without dates, scored by a non-ZILN
        model), ``churn_band`` and ``action`` are missing for every customer.

    Raises
    ------
    DataError
        Missing columns, duplicate ids, missing predictions, or features that lack scored
        customers.
    """
    chosen = parse_language(language)
    missing = [column for column in ("customer_id", "predicted_clv") if column not in scored]
    if missing:
        raise DataError(
            f"The scored list lacks the column(s) {missing}; it has {list(scored.columns)}."
        )
    indexed = indexed_by_customer(scored, "the scored list")
    predicted = indexed["predicted_clv"]
    tiers = assign_tiers(predicted, scheme, chosen)
    bands = _bands_for(indexed, features, horizon_days, chosen, churn_thresholds)
    actions = assign_actions(tiers, bands, chosen)
    order = ranking_order(predicted)
    rank = np.empty(len(predicted), dtype=np.int64)
    rank[order] = np.arange(1, len(predicted) + 1)
    n_customers = len(predicted)
    result = scored.reset_index(drop=True).copy()
    result["rank"] = rank
    result["percentile"] = 100.0 * (n_customers - rank + 1) / max(n_customers, 1)
    # Positional assignment: ``indexed`` keeps the row order of ``scored``.
    result["tier"] = tiers.array
    result["churn_band"] = bands.array
    result["action"] = actions.array
    return result.iloc[order].reset_index(drop=True)


def segment_codes(segmented: pd.DataFrame) -> pd.DataFrame:
    """Language-independent codes of the segments of :func:`segment_customers`' output.

    Returns
    -------
    pandas.DataFrame
        Indexed like ``segmented``: ``tier_code`` (``tier_1`` is the top tier, whatever its
        name), ``churn_band_code`` (a :class:`ChurnBand` value) and ``action_code`` (a cell of
        :data:`ACTION_GRID`); missing where the segment is missing. Programs (JSON, Parquet,
        the API) read these; people read the labels in ``tier``, ``churn_band``, ``action``.
    """
    tier_codes, tier_dtype = _category_codes(segmented["tier"], "tier", "segment_customers")
    band_codes, _ = _category_codes(segmented["churn_band"], "churn_band", "segment_customers")
    n_tiers = len(tier_dtype.categories)
    bands = [band.value for band in ChurnBand]
    tier_column = [tier_code(code) if code >= 0 else None for code in tier_codes]
    band_column = [bands[code] if code >= 0 else None for code in band_codes]
    action_column = [
        ACTION_GRID[grid_row(tier, n_tiers)][band] if tier >= 0 and band >= 0 else None
        for tier, band in zip(tier_codes, band_codes, strict=True)
    ]
    return pd.DataFrame(
        {"tier_code": tier_column, "churn_band_code": band_column, "action_code": action_column},
        index=segmented.index,
        dtype=object,
    )


def _bands_for(
    indexed: pd.DataFrame,
    features: pd.DataFrame | None,
    horizon_days: int,
    language: Language,
    thresholds: Sequence[float],
) -> pd.Series:
    if "p_purchase" in indexed.columns:
        return churn_bands(
            indexed["p_purchase"],
            horizon_days=horizon_days,
            thresholds=thresholds,
            language=language,
        )
    if features is not None:
        features = indexed_by_customer(features, "the features")
    if features is None or "days_since_last_purchase" not in features.columns:
        # No band can be computed, but bad options must still be reported.
        _check_churn_options(thresholds, (1.0, 2.0), horizon_days)
        empty = _from_codes(np.full(len(indexed), -1), _band_labels(language), ordered=True)
        return pd.Series(empty, index=indexed.index, name="churn_band")
    absent = indexed.index.difference(features.index)
    if len(absent):
        raise DataError(
            f"{len(absent)} scored customers have no features, e.g. {list(absent[:3])}; "
            "build the features at the scoring cutoff for the same customers."
        )
    aligned = features.reindex(indexed.index)
    gaps = aligned.get("mean_days_between_purchases")
    return churn_bands(
        None,
        days_since_last_purchase=aligned["days_since_last_purchase"],
        mean_days_between_purchases=gaps,
        horizon_days=horizon_days,
        thresholds=thresholds,
        language=language,
    )
