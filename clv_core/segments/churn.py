"""Churn-risk bands: Low, Medium or High, from P(purchase) or from recency and rhythm."""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum

import numpy as np
import pandas as pd

from clv_core.catalogue import BAND_LABELS, pick
from clv_core.errors import ConfigError, DataError
from clv_core.language import Language, parse_language
from clv_core.segments.tiers import _check_predictions, _from_codes

# Churn bands on the risk of no purchase in the horizon: Low below 0.33, High above 0.66.
DEFAULT_CHURN_THRESHOLDS: tuple[float, float] = (0.33, 0.66)


_NEITHER = (
    "Churn-risk bands need the model's P(purchase) (a ZILN model) or each customer's days "
    "since last purchase; neither was given."
)


class ChurnBand(StrEnum):
    """Churn-risk band, in increasing order of risk."""

    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


def _band_labels(language: Language) -> tuple[str, ...]:
    """The churn-band labels in ``language``, Low to High (the order of :class:`ChurnBand`)."""
    return tuple(pick(BAND_LABELS[band.value], language) for band in ChurnBand)


def _check_pair(values: Sequence[float], name: str, upper: float | None) -> tuple[float, float]:
    pair = tuple(float(value) for value in values)
    valid = len(pair) == 2 and 0 < pair[0] < pair[1] and (upper is None or pair[1] < upper)
    if not valid:
        bound = f"0 < low < high < {upper:g}" if upper is not None else "0 < low < high"
        raise ConfigError(f"{name}: {list(values)} must be two numbers with {bound}.")
    return pair[0], pair[1]


def _check_churn_options(
    thresholds: Sequence[float], recency_ratios: Sequence[float], horizon_days: int
) -> tuple[tuple[float, float], tuple[float, float]]:
    pair = _check_pair(thresholds, "thresholds", 1.0)
    ratios = _check_pair(recency_ratios, "recency_ratios", None)
    if isinstance(horizon_days, bool) or not isinstance(horizon_days, int) or horizon_days < 1:
        raise ConfigError(f"horizon_days must be a positive number of days, got {horizon_days!r}.")
    return pair, ratios


def _bands_from_scores(scores: np.ndarray, low: float, high: float) -> np.ndarray:
    """0 = Low (score < low), 1 = Medium (low <= score <= high), 2 = High (score > high)."""
    return np.where(scores < low, 0, np.where(scores > high, 2, 1))


def churn_bands(
    p_purchase: pd.Series | None,
    *,
    days_since_last_purchase: pd.Series | None = None,
    mean_days_between_purchases: pd.Series | None = None,
    horizon_days: int,
    thresholds: Sequence[float] = DEFAULT_CHURN_THRESHOLDS,
    recency_ratios: Sequence[float] = (1.0, 2.0),
    language: Language | str = Language.EN,
) -> pd.Series:
    """Churn-risk band of every customer: Low, Medium or High.

    With a model probability (ZILN models): ``risk = 1 - p_purchase``, the probability of no
    purchase in the horizon, rounded to 12 decimals (so ``p_purchase = 0.67`` gives exactly
    0.33). With the default ``thresholds = (0.33, 0.66)``:

    - **Low** when ``risk < 0.33``;
    - **Medium** when ``0.33 <= risk <= 0.66`` (both boundaries are Medium);
    - **High** when ``risk > 0.66``.

    Without a probability, a recency rule (a heuristic ordering, not a probability): the
    customer's *overdue ratio* is ``days_since_last_purchase / reference``, where ``reference``
    is the customer's own mean days between purchase days when known (two or more purchase
    days) and otherwise the horizon. With ``recency_ratios = (1, 2)``: **Low** when the ratio
    is below 1 (not yet due for the next purchase), **Medium** from 1 to 2 inclusive, **High**
    above 2 (more than twice their usual gap without buying) - the common "lapsed after two
    usual intervals" rule of retail CRM.

    Parameters
    ----------
    p_purchase
        Model probability of at least one purchase in the horizon, indexed by customer id, in
        [0, 1]; ``None`` when the model has none.
    days_since_last_purchase
        Recency in days at the cutoff, indexed by customer id; needed without ``p_purchase``.
    mean_days_between_purchases
        Optional mean gap per customer (NaN for one purchase day), aligned by customer id.
    horizon_days
        The prediction horizon, used as the reference gap of one-time buyers.
    thresholds
        Risk boundaries ``(low, high)``, ``0 < low < high < 1``.
    recency_ratios
        Overdue-ratio boundaries ``(low, high)``, ``0 < low < high``.
    language
        ``"en"`` (Low/Medium/High) or ``"zh"`` (低/中/高).

    Returns
    -------
    pandas.Series
        Named ``churn_band``, indexed like the input (``p_purchase`` or recency): an ordered
        Categorical with the band labels Low < Medium < High.

    Raises
    ------
    DataError
        Neither input is given, or values are missing / out of range.
    ConfigError
        Invalid thresholds, ratios, horizon or language.
    """
    labels = _band_labels(parse_language(language))
    _check_churn_options(thresholds, recency_ratios, horizon_days)
    if p_purchase is not None:
        _check_predictions(p_purchase, "p_purchase")
        codes = band_positions(
            p_purchase.to_numpy(dtype=np.float64),
            horizon_days=horizon_days,
            thresholds=thresholds,
            recency_ratios=recency_ratios,
        )
        index = p_purchase.index
    elif days_since_last_purchase is not None:
        _check_predictions(days_since_last_purchase, "days_since_last_purchase")
        gaps = None
        if mean_days_between_purchases is not None:
            gaps = (
                pd.to_numeric(mean_days_between_purchases, errors="coerce")
                .reindex(days_since_last_purchase.index)
                .to_numpy(dtype=np.float64)
            )
        codes = band_positions(
            None,
            days_since_last_purchase=days_since_last_purchase.to_numpy(dtype=np.float64),
            mean_days_between_purchases=gaps,
            horizon_days=horizon_days,
            thresholds=thresholds,
            recency_ratios=recency_ratios,
        )
        index = days_since_last_purchase.index
    else:
        raise DataError(_NEITHER)
    bands = _from_codes(codes, labels, ordered=True)
    return pd.Series(bands, index=index, name="churn_band")


def band_positions(
    p_purchase: np.ndarray | None,
    *,
    days_since_last_purchase: np.ndarray | None = None,
    mean_days_between_purchases: np.ndarray | None = None,
    horizon_days: int,
    thresholds: Sequence[float] = DEFAULT_CHURN_THRESHOLDS,
    recency_ratios: Sequence[float] = (1.0, 2.0),
) -> np.ndarray:
    """:func:`churn_bands` on plain arrays: 0 = Low, 1 = Medium, 2 = High per customer.

    The rules and checks are :func:`churn_bands`'s (which calls this); the arrays must be
    aligned and free of missing values (``mean_days_between_purchases`` may hold NaN).
    """
    (low, high), (low_ratio, high_ratio) = _check_churn_options(
        thresholds, recency_ratios, horizon_days
    )
    if p_purchase is not None:
        outside = (p_purchase < 0) | (p_purchase > 1)
        if outside.any():
            raise DataError(
                f"{int(outside.sum())} values of p_purchase are outside [0, 1], e.g. "
                f"{p_purchase[outside][:3].tolist()}; it must be a probability."
            )
        return _bands_from_scores(np.round(1.0 - p_purchase, 12), low, high)
    if days_since_last_purchase is None:
        raise DataError(_NEITHER)
    days = days_since_last_purchase
    if (days < 0).any():
        raise DataError("days_since_last_purchase must not be negative.")
    reference = np.full(len(days), float(horizon_days))
    if mean_days_between_purchases is not None:
        gaps = mean_days_between_purchases
        known = np.isfinite(gaps) & (gaps > 0)
        reference[known] = gaps[known]
    return _bands_from_scores(np.round(days / reference, 12), low_ratio, high_ratio)
