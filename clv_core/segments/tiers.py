"""Value tiers: customers cut by predicted CLV into quantile shares or money thresholds."""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import numpy as np
import pandas as pd

from clv_core.catalogue import tier_names
from clv_core.errors import ConfigError, DataError
from clv_core.language import Language, parse_language

# The default value tiers: the top 10% of predicted value, the next 20%, 40% and the last 30%.
DEFAULT_TIER_SHARES: tuple[float, ...] = (0.10, 0.20, 0.40, 0.30)


# Money thresholds offered as a starting point for threshold tiers (they depend on the shop).
EXAMPLE_TIER_THRESHOLDS: tuple[float, ...] = (1000.0, 300.0, 50.0)


class TierKind(StrEnum):
    """How value tiers are cut.

    ``quantile``: fixed shares of customers, top to bottom. ``threshold``: money thresholds on
    predicted CLV, highest first.
    """

    QUANTILE = "quantile"
    THRESHOLD = "threshold"


_MIN_TIERS = 2


_MAX_TIERS = 10


_SHARE_TOLERANCE = 1e-6


def _from_codes(codes: Any, labels: Sequence[str], *, ordered: bool) -> pd.Categorical[Any]:
    """A Categorical of ``labels`` from integer codes (-1 = missing)."""
    integer_codes: np.ndarray[Any, np.dtype[np.int64]] = np.asarray(codes, dtype=np.int64)
    return pd.Categorical.from_codes(
        integer_codes, dtype=pd.CategoricalDtype(list(labels), ordered=ordered)
    )


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
                names = tier_names(n_tiers, language)
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
