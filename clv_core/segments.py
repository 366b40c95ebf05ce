"""Segments: value tiers, churn-risk bands, the action grid and segment profiles.

Marketing acts on groups, not on single predictions. This module turns a scored customer list
(``customer_id``, ``predicted_clv`` and, for ZILN models, ``p_purchase``) into

- **value tiers** from predicted CLV (:func:`assign_tiers`): quantile shares of customers
  (default top 10% / next 20% / middle 40% / bottom 30%) or money thresholds;
- **churn-risk bands** (:func:`churn_bands`): from the model's probability of *no* purchase in
  the horizon when it has one, otherwise from recency relative to the customer's own rhythm;
- an **action** for every tier x band cell (:data:`ACTION_GRID`, :func:`assign_actions`,
  :func:`action_grid`), e.g. high value & high risk -> "Win back now";
- a **profile** per segment (:func:`segment_profile`): size, shares, predicted and actual
  revenue, mean of key features.

:func:`segment_customers` does all of it in one call. Labels come in English (``"en"``) and
Chinese (``"zh"``). Everything is deterministic: customers are ordered by predicted CLV
descending, then by customer id ascending, so ties never depend on input order.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType
from typing import Any, Final, cast

import numpy as np
import pandas as pd

from clv_core.errors import ConfigError, DataError
from clv_core.language import Language, parse_language

__all__ = [
    "ACTION_GRID",
    "BAND_LABELS",
    "DEFAULT_CHURN_THRESHOLDS",
    "DEFAULT_KEY_FEATURES",
    "DEFAULT_TIER_SHARES",
    "EXAMPLE_TIER_THRESHOLDS",
    "ActionLabel",
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
    "quantile_tier_sizes",
    "ranking_order",
    "segment_customers",
    "segment_profile",
]


# The default value tiers: the top 10% of predicted value, the next 20%, 40% and the last 30%.
DEFAULT_TIER_SHARES: tuple[float, ...] = (0.10, 0.20, 0.40, 0.30)
# Money thresholds offered as a starting point for threshold tiers (they depend on the shop).
EXAMPLE_TIER_THRESHOLDS: tuple[float, ...] = (1000.0, 300.0, 50.0)
# Churn bands on the risk of no purchase in the horizon: Low below 0.33, High above 0.66.
DEFAULT_CHURN_THRESHOLDS: tuple[float, float] = (0.33, 0.66)


class TierKind(StrEnum):
    """How value tiers are cut.

    ``quantile``: fixed shares of customers, top to bottom. ``threshold``: money thresholds on
    predicted CLV, highest first.
    """

    QUANTILE = "quantile"
    THRESHOLD = "threshold"


class ChurnBand(StrEnum):
    """Churn-risk band, in increasing order of risk."""

    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


BAND_LABELS: Final = MappingProxyType(
    {
        Language.EN: ("Low", "Medium", "High"),
        Language.ZH: ("低", "中", "高"),
    }
)
"""Band labels per language, Low -> High (the order of :class:`ChurnBand`)."""

# Default tier names by number of tiers; other counts get numbered names.
_DEFAULT_NAMES: Final = MappingProxyType(
    {
        (Language.EN, 2): ("High value", "Low value"),
        (Language.EN, 3): ("High value", "Regular", "Low value"),
        (Language.EN, 4): ("High value", "Potential", "Regular", "Low value"),
        (Language.ZH, 2): ("高价值", "低价值"),
        (Language.ZH, 3): ("高价值", "一般", "低价值"),
        (Language.ZH, 4): ("高价值", "潜力", "一般", "低价值"),
    }
)
_MIN_TIERS = 2
_MAX_TIERS = 10
_SHARE_TOLERANCE = 1e-6

DEFAULT_KEY_FEATURES = (
    "n_orders",
    "net_spend",
    "average_order_value",
    "days_since_last_purchase",
    "frequency",
    "T",
)
"""Features averaged by :func:`segment_profile` when present and no others are asked for."""


def _from_codes(codes: Any, labels: Sequence[str], *, ordered: bool) -> pd.Categorical[Any]:
    """A Categorical of ``labels`` from integer codes (-1 = missing)."""
    integer_codes: np.ndarray[Any, np.dtype[np.int64]] = np.asarray(codes, dtype=np.int64)
    return pd.Categorical.from_codes(
        integer_codes, dtype=pd.CategoricalDtype(list(labels), ordered=ordered)
    )


def _default_names(language: Language, n_tiers: int) -> tuple[str, ...]:
    named = _DEFAULT_NAMES.get((language, n_tiers))
    if named is not None:
        return named
    if language is Language.ZH:
        return tuple(f"第{position}层" for position in range(1, n_tiers + 1))
    return tuple(f"Tier {position}" for position in range(1, n_tiers + 1))


@dataclass(frozen=True, slots=True, kw_only=True)
class TierScheme:
    """How customers are cut into value tiers by predicted CLV (top tier first).

    Attributes
    ----------
    kind
        One of :class:`TierKind`.
    shares
        ``quantile`` only: share of customers in each tier, top to bottom; each positive,
        summing to 1 (within 1e-6). Default ``(0.10, 0.20, 0.40, 0.30)``. Must be left unset
        for ``threshold``.
    thresholds
        ``threshold`` only: the lowest predicted CLV of each tier except the last, strictly
        descending and positive, e.g. ``(1000, 300, 50)`` gives four tiers: >= 1000,
        [300, 1000), [50, 300), < 50. A customer exactly on a threshold belongs to the higher
        tier. Required for ``threshold``, must be left unset for ``quantile``.
    names_en, names_zh
        Tier names, top to bottom, one per tier, distinct and non-empty. Defaults for four
        tiers: ("High value", "Potential", "Regular", "Low value") and
        ("高价值", "潜力", "一般", "低价值"); two and three tiers have similar defaults, other
        counts are numbered ("Tier 1", "第1层", ...).

    All problems are reported together in one :class:`~clv_core.errors.ConfigError`. After
    construction ``shares`` / ``thresholds`` / names hold the values in use (tuples), so equal
    schemes compare and hash equal.
    """

    kind: TierKind = TierKind.QUANTILE
    shares: tuple[float, ...] | None = None
    thresholds: tuple[float, ...] | None = None
    names_en: tuple[str, ...] | None = None
    names_zh: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        problems: list[str] = []
        try:
            kind = TierKind(self.kind)
        except ValueError:
            raise ConfigError(
                "Invalid tier scheme:",
                problems=[
                    f"kind: {self.kind!r} is not one of {[member.value for member in TierKind]}"
                ],
            ) from None
        object.__setattr__(self, "kind", kind)
        shares = _number_tuple(self.shares, "shares", problems)
        thresholds = _number_tuple(self.thresholds, "thresholds", problems)
        n_tiers: int | None = None
        if kind is TierKind.QUANTILE:
            if thresholds is not None:
                problems.append(
                    "thresholds: only used by kind 'threshold'; leave it unset for quantile tiers"
                )
            if shares is None and self.shares is None:
                shares = DEFAULT_TIER_SHARES
            if shares is not None:
                n_tiers = len(shares)
                if not all(math.isfinite(share) and share > 0 for share in shares):
                    problems.append(f"shares: {list(shares)} must all be positive")
                elif not math.isclose(sum(shares), 1.0, abs_tol=_SHARE_TOLERANCE):
                    problems.append(f"shares: {list(shares)} must sum to 1, not {sum(shares):g}")
        else:
            if shares is not None:
                problems.append(
                    "shares: only used by kind 'quantile'; leave it unset for threshold tiers"
                )
            if thresholds is None and self.thresholds is None:
                problems.append(
                    "thresholds: threshold tiers need one or more money thresholds, highest "
                    "first, e.g. (1000, 300, 50)"
                )
            elif thresholds is not None:
                n_tiers = len(thresholds) + 1
                if not all(math.isfinite(value) and value > 0 for value in thresholds):
                    problems.append(f"thresholds: {list(thresholds)} must all be positive")
                elif any(high <= low for high, low in itertools.pairwise(thresholds)):
                    problems.append(
                        f"thresholds: {list(thresholds)} must be strictly descending "
                        "(highest tier first)"
                    )
        if n_tiers is not None and not _MIN_TIERS <= n_tiers <= _MAX_TIERS:
            problems.append(
                f"a scheme needs {_MIN_TIERS} to {_MAX_TIERS} tiers, this one has {n_tiers}"
            )
            n_tiers = None
        object.__setattr__(self, "shares", shares)
        object.__setattr__(self, "thresholds", thresholds)
        for language, field in ((Language.EN, "names_en"), (Language.ZH, "names_zh")):
            names = _name_tuple(getattr(self, field), field, n_tiers, problems)
            if names is None and n_tiers is not None:
                names = _default_names(language, n_tiers)
            object.__setattr__(self, field, names)
        if problems:
            raise ConfigError("Invalid tier scheme:", problems=problems)

    @property
    def n_tiers(self) -> int:
        """Number of tiers."""
        if self.kind is TierKind.QUANTILE:
            return len(self.shares or ())
        return len(self.thresholds or ()) + 1

    def names(self, language: Language | str = Language.EN) -> tuple[str, ...]:
        """Tier names in ``language``, top tier first."""
        chosen = parse_language(language)
        names = self.names_en if chosen is Language.EN else self.names_zh
        return names or ()


def _number_tuple(value: Any, field: str, problems: list[str]) -> tuple[float, ...] | None:
    """Lists (from JSON) become tuples of floats; anything else is reported."""
    if value is None:
        return None
    if isinstance(value, str) or not isinstance(value, Sequence):
        problems.append(f"{field}: {value!r} must be a list of numbers")
        return None
    if not all(
        isinstance(item, int | float | np.number) and not isinstance(item, bool) for item in value
    ):
        problems.append(f"{field}: {list(value)!r} must be a list of numbers")
        return None
    return tuple(float(item) for item in value)


def _name_tuple(
    value: Any, field: str, n_tiers: int | None, problems: list[str]
) -> tuple[str, ...] | None:
    if value is None:
        return None
    if isinstance(value, str) or not isinstance(value, Sequence):
        problems.append(f"{field}: {value!r} must be a list of tier names")
        return None
    names = tuple(value)
    if not all(isinstance(name, str) and name.strip() for name in names):
        problems.append(f"{field}: {list(names)!r} must all be non-empty text")
        return None
    if len(set(names)) != len(names):
        problems.append(f"{field}: {list(names)!r} must be distinct")
    if n_tiers is not None and len(names) != n_tiers:
        problems.append(
            f"{field}: {len(names)} names given for {n_tiers} tiers; give one name per tier"
        )
    return names


def quantile_tier_sizes(n_customers: int, shares: Sequence[float]) -> np.ndarray:
    """Customers per tier for quantile ``shares`` by largest-remainder rounding.

    Each tier gets ``floor(n * share)``; the customers left over go one each to the tiers with
    the largest remainders (ties to the higher tier). Every size is within 1 of
    ``n * share`` and the sizes sum to ``n_customers``.
    """
    weights = np.asarray(shares, dtype=np.float64)
    # Rounding to 9 decimals keeps 0.29 * 100 at 29, not 28.999...
    exact = np.round(n_customers * weights / weights.sum(), 9)
    sizes = np.floor(exact).astype(np.int64)
    left_over = n_customers - int(sizes.sum())
    order = np.argsort(-(exact - sizes), kind="stable")
    sizes[order[:left_over]] += 1
    return sizes


def ranking_order(predicted: pd.Series) -> np.ndarray:
    """Positions of ``predicted`` sorted by value descending, then by index (customer id).

    This single order defines ranks, quantile tiers and percentiles, so ties are always broken
    the same way: the smaller customer id comes first.
    """
    try:
        id_codes, _ = pd.factorize(predicted.index, sort=True)
    except TypeError:
        # Mixed id types cannot be compared; their text still orders deterministically.
        id_codes, _ = pd.factorize(predicted.index.astype(str), sort=True)
    values = predicted.to_numpy(dtype=np.float64)
    return np.lexsort((id_codes, -values))


def _check_predictions(predicted: pd.Series, name: str = "predicted_clv") -> None:
    if predicted.index.has_duplicates:
        duplicated = predicted.index[predicted.index.duplicated()].unique()
        raise DataError(
            f"{len(duplicated)} customer ids appear more than once in {name}, e.g. "
            f"{list(duplicated[:3])}; each customer must have one prediction."
        )
    values = pd.to_numeric(predicted, errors="coerce").to_numpy(dtype=np.float64)
    bad = ~np.isfinite(values)
    if bad.any():
        raise DataError(
            f"{int(bad.sum())} customers have a missing or non-numeric {name}, e.g. "
            f"{list(predicted.index[bad][:3])}; score every customer before segmenting."
        )


def assign_tiers(
    predicted: pd.Series,
    scheme: TierScheme | None = None,
    language: Language | str = Language.EN,
) -> pd.Series:
    """Put every customer in exactly one value tier.

    Parameters
    ----------
    predicted
        Predicted CLV indexed by customer id (unique, finite).
    scheme
        Quantile shares or money thresholds; default :class:`TierScheme` (10/20/40/30%).
    language
        Language of the tier names.

    Returns
    -------
    pandas.Series
        Named ``tier``, indexed like ``predicted`` (same order): an ordered Categorical whose
        categories are the tier names **top tier first**, so ``.cat.codes`` is the tier
        position (0 = top) and sorting by tier lists the best tier first.

    Notes
    -----
    Quantile tiers follow :func:`ranking_order` (predicted descending, then customer id
    ascending): the first ``size[0]`` customers are the top tier and so on, with sizes from
    :func:`quantile_tier_sizes`. Equal predictions on a tier boundary are split by customer id,
    so sizes stay within one customer of the shares; a customer in a higher tier never has a
    lower prediction than one in a lower tier. Threshold tiers put a customer exactly on a
    threshold in the higher tier.

    Raises
    ------
    DataError
        Duplicate customer ids or missing / non-finite predictions.
    """
    scheme = scheme or TierScheme()
    names = scheme.names(language)
    _check_predictions(predicted)
    if scheme.kind is TierKind.QUANTILE:
        sizes = quantile_tier_sizes(len(predicted), scheme.shares or ())
        codes = np.empty(len(predicted), dtype=np.int64)
        codes[ranking_order(predicted)] = np.repeat(np.arange(len(sizes)), sizes)
    else:
        ascending = np.asarray(scheme.thresholds, dtype=np.float64)[::-1]
        at_or_above = np.searchsorted(ascending, predicted.to_numpy(dtype=np.float64), side="right")
        codes = len(ascending) - at_or_above
    tiers = _from_codes(codes, names, ordered=True)
    return pd.Series(tiers, index=predicted.index, name="tier")


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
    labels = BAND_LABELS[parse_language(language)]
    (low, high), (low_ratio, high_ratio) = _check_churn_options(
        thresholds, recency_ratios, horizon_days
    )
    if p_purchase is not None:
        _check_predictions(p_purchase, "p_purchase")
        probability = p_purchase.to_numpy(dtype=np.float64)
        outside = (probability < 0) | (probability > 1)
        if outside.any():
            raise DataError(
                f"{int(outside.sum())} values of p_purchase are outside [0, 1], e.g. "
                f"{probability[outside][:3].tolist()}; it must be a probability."
            )
        codes = _bands_from_scores(np.round(1.0 - probability, 12), low, high)
        index = p_purchase.index
    elif days_since_last_purchase is not None:
        _check_predictions(days_since_last_purchase, "days_since_last_purchase")
        days = days_since_last_purchase.to_numpy(dtype=np.float64)
        if (days < 0).any():
            raise DataError("days_since_last_purchase must not be negative.")
        reference = np.full(len(days), float(horizon_days))
        if mean_days_between_purchases is not None:
            gaps = (
                pd.to_numeric(mean_days_between_purchases, errors="coerce")
                .reindex(days_since_last_purchase.index)
                .to_numpy(dtype=np.float64)
            )
            known = np.isfinite(gaps) & (gaps > 0)
            reference[known] = gaps[known]
        codes = _bands_from_scores(np.round(days / reference, 12), low_ratio, high_ratio)
        index = days_since_last_purchase.index
    else:
        raise DataError(
            "Churn-risk bands need the model's P(purchase) (a ZILN model) or each customer's "
            "days since last purchase; neither was given."
        )
    bands = _from_codes(codes, labels, ordered=True)
    return pd.Series(bands, index=index, name="churn_band")


@dataclass(frozen=True, slots=True)
class ActionLabel:
    """The recommended action of one grid cell, in both languages."""

    en: str
    zh: str

    def text(self, language: Language) -> str:
        """The label in ``language``."""
        return self.en if language is Language.EN else self.zh


ACTION_GRID: tuple[tuple[ActionLabel, ActionLabel, ActionLabel], ...] = (
    # High value: protect the revenue; risk decides how hard.
    (
        ActionLabel("Reward and retain", "奖励与维系"),
        ActionLabel("VIP care", "专属关怀"),
        ActionLabel("Win back now", "立即挽回"),
    ),
    # Potential: grow the customers who stay, rescue the ones drifting away with an offer.
    (
        ActionLabel("Upsell and cross-sell", "追加与交叉销售"),
        ActionLabel("Engage to grow", "促活培养"),
        ActionLabel("Targeted win-back offer", "定向挽回优惠"),
    ),
    # Regular: keep costs proportional to value.
    (
        ActionLabel("Keep engaged", "保持互动"),
        ActionLabel("Low-cost reminders", "低成本提醒"),
        ActionLabel("Low-cost reactivation", "低成本唤醒"),
    ),
    # Low value: automate, and stop spending on customers likely gone.
    (
        ActionLabel("Automated nurture", "自动化培育"),
        ActionLabel("Low-cost maintenance", "低成本维护"),
        ActionLabel("Do not spend", "不再投入"),
    ),
)
"""Action per grid row (High value, Potential, Regular, Low value) and band (Low, Medium, High).

Schemes with another number of tiers map each tier to a row by relative position; see
:func:`grid_row`.
"""


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
    return [cell.text(chosen) for row in rows for cell in ACTION_GRID[row]]


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
            labels.index(ACTION_GRID[grid_row(position, n_tiers)][band].text(chosen))
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
                ACTION_GRID[grid_row(position, n_tiers)][band].text(chosen)
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
        empty = _from_codes(np.full(len(indexed), -1), BAND_LABELS[language], ordered=True)
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


def segment_profile(
    frame: pd.DataFrame,
    *,
    group_by: Sequence[str] = ("tier",),
    features: pd.DataFrame | None = None,
    key_features: Sequence[str] | None = None,
    actual: pd.Series | None = None,
) -> pd.DataFrame:
    """Size, revenue and key-feature means of every segment.

    Parameters
    ----------
    frame
        Segmented customers (output of :func:`segment_customers`): ``customer_id``,
        ``predicted_clv`` and the ``group_by`` columns.
    group_by
        Columns defining the segments, e.g. ``("tier",)`` or ``("tier", "churn_band")``.
        Categorical columns list every category, also empty ones.
    features
        Optional features indexed by ``customer_id`` (or with that column) to take key features
        from when ``frame`` does not have them.
    key_features
        Numeric columns to average per segment. Default: those of
        :data:`DEFAULT_KEY_FEATURES` that are available.
    actual
        Optional actual holdout value per customer (indexed by ``customer_id``); customers
        without one are left out of the actual columns.

    Returns
    -------
    pandas.DataFrame
        One row per segment: the ``group_by`` columns, ``n_customers``,
        ``share_of_customers``, ``predicted_revenue`` (sum), ``share_of_predicted_revenue``
        (NaN when the total is 0), ``mean_predicted_clv``, ``mean_<feature>`` per key feature
        and, with ``actual``, ``actual_revenue``, ``share_of_actual_revenue`` and
        ``mean_actual_clv``.

    Raises
    ------
    ConfigError
        Unknown ``group_by`` or ``key_features`` columns (the available ones are listed) or a
        non-numeric key feature.
    DataError
        Missing ``customer_id`` / ``predicted_clv``, or ``actual`` shares no customer with
        ``frame``.
    """
    missing = [column for column in ("customer_id", "predicted_clv") if column not in frame]
    if missing:
        raise DataError(
            f"The segmented list lacks the column(s) {missing}; it has {list(frame.columns)}."
        )
    group_columns = list(group_by)
    unknown_groups = [column for column in group_columns if column not in frame.columns]
    if unknown_groups or not group_columns:
        raise ConfigError(
            f"group_by: unknown column(s) {unknown_groups or list(group_by)}; choose from "
            f"{list(frame.columns)}."
        )
    indexed = indexed_by_customer(frame, "the segmented list")
    extra = indexed_by_customer(features, "the features") if features is not None else None
    available = list(indexed.columns) + [
        column for column in (extra.columns if extra is not None else []) if column not in indexed
    ]
    if key_features is None:
        chosen_features = [name for name in DEFAULT_KEY_FEATURES if name in available]
    else:
        chosen_features = list(key_features)
        unknown = [name for name in chosen_features if name not in available]
        if unknown:
            raise ConfigError(
                f"key_features: unknown column(s) {unknown}; choose from {available}."
            )
    work = pd.DataFrame(index=indexed.index)
    for column in group_columns:
        work[column] = indexed[column]
    work["predicted_clv"] = pd.to_numeric(indexed["predicted_clv"], errors="coerce")
    for name in chosen_features:
        if name in indexed.columns:
            values = indexed[name]
        else:
            # ``available`` only lists columns of ``extra`` that ``indexed`` lacks.
            values = cast(pd.DataFrame, extra)[name].reindex(indexed.index)
        if not pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values):
            raise ConfigError(f"key_features: {name!r} is not numeric and cannot be averaged.")
        work[f"mean_{name}"] = values.astype(np.float64)
    if actual is not None:
        aligned = pd.to_numeric(actual, errors="coerce").reindex(indexed.index)
        if aligned.notna().sum() == 0 and len(indexed):
            raise DataError(
                "The actual values share no customer id with the segmented list; check that "
                "both use the same customer ids."
            )
        work["actual"] = aligned
    grouped = work.groupby(group_columns, observed=False, dropna=False, sort=True)
    profile = grouped.size().rename("n_customers").to_frame()
    profile["share_of_customers"] = profile["n_customers"] / max(len(work), 1)
    profile["predicted_revenue"] = grouped["predicted_clv"].sum()
    total = work["predicted_clv"].sum()
    profile["share_of_predicted_revenue"] = (
        profile["predicted_revenue"] / total if total else np.nan
    )
    profile["mean_predicted_clv"] = grouped["predicted_clv"].mean()
    for name in chosen_features:
        profile[f"mean_{name}"] = grouped[f"mean_{name}"].mean()
    if actual is not None:
        profile["actual_revenue"] = grouped["actual"].sum()
        actual_total = work["actual"].sum()
        profile["share_of_actual_revenue"] = (
            profile["actual_revenue"] / actual_total if actual_total else np.nan
        )
        profile["mean_actual_clv"] = grouped["actual"].mean()
    return profile.reset_index()
