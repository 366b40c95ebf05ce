"""Segment profiles: size, predicted and actual revenue and key-feature means per segment."""

from __future__ import annotations

from collections.abc import Sequence
from typing import cast

import numpy as np
import pandas as pd

from clv_core.errors import ConfigError, DataError
from clv_core.segments.customers import indexed_by_customer

DEFAULT_KEY_FEATURES = (
    "n_orders",
    "net_spend",
    "average_order_value",
    "days_since_last_purchase",
    "frequency",
    "T",
)
"""Features averaged by :func:`segment_profile` when present and no others are asked for."""


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
    work = pd.DataFrame(index=indexed.index)
    for column in group_columns:
        work[column] = indexed[column]
    work["predicted_clv"] = pd.to_numeric(indexed["predicted_clv"], errors="coerce")
    chosen_features = _add_key_features(work, indexed, extra, key_features)
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


def _add_key_features(
    work: pd.DataFrame,
    indexed: pd.DataFrame,
    extra: pd.DataFrame | None,
    key_features: Sequence[str] | None,
) -> list[str]:
    """Add ``mean_<feature>`` columns to ``work`` (from ``indexed``, else ``extra``).

    Returns the chosen features: ``key_features``, or those of :data:`DEFAULT_KEY_FEATURES`
    that are available.
    """
    available = list(indexed.columns) + [
        column for column in (extra.columns if extra is not None else []) if column not in indexed
    ]
    if key_features is None:
        chosen = [name for name in DEFAULT_KEY_FEATURES if name in available]
    else:
        chosen = list(key_features)
        unknown = [name for name in chosen if name not in available]
        if unknown:
            raise ConfigError(
                f"key_features: unknown column(s) {unknown}; choose from {available}."
            )
    for name in chosen:
        if name in indexed.columns:
            values = indexed[name]
        else:
            # ``available`` only lists columns of ``extra`` that ``indexed`` lacks.
            values = cast(pd.DataFrame, extra)[name].reindex(indexed.index)
        if not pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values):
            raise ConfigError(f"key_features: {name!r} is not numeric and cannot be averaged.")
        work[f"mean_{name}"] = values.astype(np.float64)
    return chosen
