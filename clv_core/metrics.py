"""Accuracy metrics for CLV forecasts, as the README ("Reading the metrics") defines them.

Every function takes the actual values ``y_true`` and the predictions ``y_pred`` of the same
test customers (1-D, same length) and is pure. Sorting by prediction is always descending and
stable (ties keep the input order), so results are reproducible.

The ranking metrics follow google/lifetime_value (Wang, Liu & Miao 2019, "A Deep Probabilistic
Model for Customer Lifetime Value Prediction"): the gain curve is the cumulative share of actual
value captured when customers are taken in order of predicted value, and the normalised Gini is
the model's Gini divided by the Gini of the perfect ordering.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from clv_core.errors import ConfigError

__all__ = [
    "METRIC_NAMES",
    "compute_metrics",
    "decile_mape",
    "decile_table",
    "gain_curve",
    "mean_absolute_error",
    "normalized_gini",
    "root_mean_squared_error",
    "spearman",
    "top_decile_share",
    "total_ratio",
]

N_DECILES = 10


def _arrays(y_true: ArrayLike, y_pred: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    actual = np.asarray(y_true, dtype=np.float64).ravel()
    predicted = np.asarray(y_pred, dtype=np.float64).ravel()
    if actual.shape != predicted.shape:
        raise ConfigError(
            f"y_true and y_pred must have the same length, got {actual.size} and {predicted.size}."
        )
    if actual.size == 0:
        raise ConfigError("Metrics need at least one customer; got empty arrays.")
    if not (np.isfinite(actual).all() and np.isfinite(predicted).all()):
        raise ConfigError("y_true and y_pred must be finite numbers (no NaN or infinity).")
    return actual, predicted


def _order_by_prediction(predicted: np.ndarray) -> np.ndarray:
    """Indices sorting predictions descending; ties keep their input order."""
    return np.argsort(-predicted, kind="stable")


def mean_absolute_error(y_true: ArrayLike, y_pred: ArrayLike) -> float:
    """Mean of ``|y - p|``."""
    actual, predicted = _arrays(y_true, y_pred)
    return float(np.mean(np.abs(actual - predicted)))


def root_mean_squared_error(y_true: ArrayLike, y_pred: ArrayLike) -> float:
    """Square root of the mean of ``(y - p)**2``."""
    actual, predicted = _arrays(y_true, y_pred)
    return float(np.sqrt(np.mean((actual - predicted) ** 2)))


def spearman(y_true: ArrayLike, y_pred: ArrayLike) -> float:
    """Spearman rank correlation, ``scipy.stats.spearmanr(y, p)``; NaN if either is constant."""
    from scipy.stats import spearmanr

    actual, predicted = _arrays(y_true, y_pred)
    if np.ptp(actual) == 0 or np.ptp(predicted) == 0:
        return float("nan")
    return float(spearmanr(actual, predicted).statistic)


def gain_curve(y_true: ArrayLike, y_pred: ArrayLike) -> pd.DataFrame:
    """Cumulative share of actual value captured, customers taken by descending prediction.

    Returns
    -------
    pandas.DataFrame
        ``share_of_customers`` (k/n for k = 1..n) and ``share_of_value`` (sum of the first k
        actual values / total). Empty-value data gives NaN shares.
    """
    actual, predicted = _arrays(y_true, y_pred)
    ordered = actual[_order_by_prediction(predicted)]
    total = ordered.sum()
    share = np.cumsum(ordered) / total if total != 0 else np.full(ordered.size, np.nan)
    return pd.DataFrame(
        {
            "share_of_customers": np.arange(1, ordered.size + 1) / ordered.size,
            "share_of_value": share,
        }
    )


def _raw_gini(ordered_actual: np.ndarray) -> float:
    total = ordered_actual.sum()
    if total == 0:
        return float("nan")
    gain = np.cumsum(ordered_actual) / total
    return float(2 * gain.mean() - 1)


def normalized_gini(y_true: ArrayLike, y_pred: ArrayLike) -> float:
    """Raw Gini of the prediction order divided by the raw Gini of the perfect order.

    1 for a perfect ranking, about 0 for a random one, negative for a reversed one; NaN when
    the actual values sum to 0 or are all equal.
    """
    actual, predicted = _arrays(y_true, y_pred)
    model = _raw_gini(actual[_order_by_prediction(predicted)])
    best = _raw_gini(actual[_order_by_prediction(actual)])
    if not np.isfinite(best) or best == 0:
        return float("nan")
    return model / best


def decile_table(y_true: ArrayLike, y_pred: ArrayLike) -> pd.DataFrame:
    """Ten equal-count groups by descending prediction, with mean predicted and actual value.

    Groups are made with ``numpy.array_split`` on the stable descending order, so sizes differ by
    at most one (earlier groups take the remainder).

    Returns
    -------
    pandas.DataFrame
        One row per decile (1 = highest predictions): ``decile``, ``customers``,
        ``mean_predicted``, ``mean_actual``, ``sum_predicted``, ``sum_actual``.
    """
    actual, predicted = _arrays(y_true, y_pred)
    order = _order_by_prediction(predicted)
    groups = np.array_split(order, N_DECILES)
    rows = [
        {
            "decile": number,
            "customers": group.size,
            "mean_predicted": float(predicted[group].mean()) if group.size else float("nan"),
            "mean_actual": float(actual[group].mean()) if group.size else float("nan"),
            "sum_predicted": float(predicted[group].sum()),
            "sum_actual": float(actual[group].sum()),
        }
        for number, group in enumerate(groups, start=1)
    ]
    return pd.DataFrame(rows)


def decile_mape(y_true: ArrayLike, y_pred: ArrayLike) -> float:
    """Mean over deciles with mean actual > 0 of ``|mean p - mean y| / mean y``."""
    table = decile_table(y_true, y_pred)
    usable = table[table["mean_actual"] > 0]
    if usable.empty:
        return float("nan")
    errors = (usable["mean_predicted"] - usable["mean_actual"]).abs() / usable["mean_actual"]
    return float(errors.mean())


def top_decile_share(y_true: ArrayLike, y_pred: ArrayLike) -> float:
    """Share of total actual value held by the first decile of :func:`decile_table`."""
    table = decile_table(y_true, y_pred)
    total = table["sum_actual"].sum()
    return float(table["sum_actual"].iloc[0] / total) if total != 0 else float("nan")


def total_ratio(y_true: ArrayLike, y_pred: ArrayLike) -> float:
    """``sum(p) / sum(y)``: 1.0 means the forecast of total future revenue is right."""
    actual, predicted = _arrays(y_true, y_pred)
    total = actual.sum()
    return float(predicted.sum() / total) if total != 0 else float("nan")


METRICS: dict[str, Callable[[ArrayLike, ArrayLike], float]] = {
    "spearman": spearman,
    "normalized_gini": normalized_gini,
    "top_decile_share": top_decile_share,
    "decile_mape": decile_mape,
    "total_ratio": total_ratio,
    "mae": mean_absolute_error,
    "rmse": root_mean_squared_error,
}
METRIC_NAMES = tuple(METRICS)


def compute_metrics(y_true: ArrayLike, y_pred: ArrayLike) -> dict[str, float]:
    """All metrics of this module, keyed by their names in ``METRIC_NAMES``."""
    return {name: metric(y_true, y_pred) for name, metric in METRICS.items()}
