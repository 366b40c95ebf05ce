"""What an explanation is: its settings and its SHAP values in money, by original feature."""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from clv_core.catalogue import feature_label, format_contribution, format_value
from clv_core.errors import ConfigError, DataError
from clv_core.language import Language, parse_language

EXPLAINED_SPACE = "predicted_clv"
"""The explained quantity: ``ClvMlp.predict(...)["predicted_clv"]``, calibrated money."""


# Upper bound of the background sample: DeepExplainer's cost grows linearly with it, and shap
# itself warns beyond 5,000 rows.
MAX_BACKGROUND_SIZE = 5000


MAX_SAMPLE_SIZE = 1_000_000


@dataclass(frozen=True, slots=True, kw_only=True)
class ExplainSettings:
    """How customers are explained.

    Attributes
    ----------
    background_size
        Training customers drawn (seeded, without replacement) as the SHAP background, 1 to
        5,000; all of them when there are fewer. Cost grows linearly with it; 100 to 200 give
        a stable base value.
    sample_size
        Customers explained, 1 to 1,000,000: a seeded random sample when more are given, kept
        in their original order. ``None`` explains every customer given.
    seed
        Seeds both samples, 0 to 2**31 - 1.
    """

    background_size: int = 200
    sample_size: int | None = 1000
    seed: int = 0

    def __post_init__(self) -> None:
        problems: list[str] = []
        if not _is_whole(self.background_size) or not (
            1 <= self.background_size <= MAX_BACKGROUND_SIZE
        ):
            problems.append(
                f"background_size: {self.background_size!r} must be a whole number from 1 to "
                f"{MAX_BACKGROUND_SIZE}"
            )
        if self.sample_size is not None and (
            not _is_whole(self.sample_size) or not 1 <= self.sample_size <= MAX_SAMPLE_SIZE
        ):
            problems.append(
                f"sample_size: {self.sample_size!r} must be a whole number from 1 to "
                f"{MAX_SAMPLE_SIZE}, or None to explain every customer"
            )
        if not _is_whole(self.seed) or not 0 <= self.seed <= 2**31 - 1:
            problems.append(f"seed: {self.seed!r} must be a whole number from 0 to 2147483647")
        if problems:
            raise ConfigError("Invalid explanation settings:", problems=problems)


def _is_whole(value: object) -> bool:
    return isinstance(value, int | np.integer) and not isinstance(value, bool)


@dataclass(frozen=True, slots=True, eq=False)
class Explanation:
    """SHAP values of explained customers, in money, by original feature.

    Attributes
    ----------
    values
        Long table, one row per customer and feature (customers in input order, features in
        :attr:`features` order): ``customer_id``, ``feature`` (an original feature name),
        ``feature_value`` (the customer's value: a number, a category text, or NaN when
        missing) and ``shap_value`` (its contribution to ``predicted_clv``, in money).
    base_value
        Mean ``predicted_clv`` of the background customers: the prediction before any feature
        is known.
    predictions
        ``predicted_clv`` of each explained customer (index ``customer_id``): the explained
        quantity, equal to ``ClvMlp.predict(features)["predicted_clv"]``.
    space
        Name of the explained quantity, :data:`EXPLAINED_SPACE` (``"predicted_clv"``, money).
    features
        Original feature names, in the model's feature order.
    categorical_features
        Those of :attr:`features` that are categorical (text).
    additivity_error
        Largest ``|base_value + sum of SHAP values - prediction|`` over the customers, in money.
    background_size
        Background customers actually used.
    network_inputs
        Columns of the network's input matrix (one-hot and missing indicators included).
    """

    values: pd.DataFrame
    base_value: float
    predictions: pd.Series
    space: str
    features: tuple[str, ...]
    categorical_features: tuple[str, ...]
    additivity_error: float
    background_size: int
    network_inputs: int

    @property
    def customer_ids(self) -> pd.Index:
        """Explained customers, in order."""
        return self.predictions.index

    def wide(self) -> pd.DataFrame:
        """SHAP values as customers x features (index ``customer_id``, columns in order)."""
        table = self.values.pivot(index="customer_id", columns="feature", values="shap_value")
        table = table.reindex(index=self.customer_ids, columns=list(self.features))
        table.columns.name = None
        return table

    def feature_values(self) -> pd.DataFrame:
        """Customers' original feature values as customers x features (object columns)."""
        table = self.values.pivot(index="customer_id", columns="feature", values="feature_value")
        table = table.reindex(index=self.customer_ids, columns=list(self.features))
        table.columns.name = None
        return table

    def importance(self) -> pd.DataFrame:
        """Global importance: ``feature``, ``mean_abs_shap`` (money), largest first.

        Ties keep the model's feature order.
        """
        mean_abs = self.wide().abs().mean(axis=0)
        table = pd.DataFrame({"feature": mean_abs.index, "mean_abs_shap": mean_abs.to_numpy()})
        return table.sort_values("mean_abs_shap", ascending=False, kind="stable", ignore_index=True)

    def dependence(self, feature: str) -> pd.DataFrame:
        """Data for a dependence plot: ``customer_id``, ``feature_value``, ``shap_value``.

        Raises
        ------
        DataError
            ``feature`` is not one of :attr:`features`.
        """
        self._check_feature(feature)
        rows = self.values[self.values["feature"] == feature]
        return rows[["customer_id", "feature_value", "shap_value"]].reset_index(drop=True)

    def driver_records(self, n: int = 3) -> pd.DataFrame:
        """Each customer's ``n`` largest contributions (by absolute value), as data.

        Returns
        -------
        pandas.DataFrame
            One row per customer and driver, customers in order, drivers largest first (ties
            keep the feature order): ``customer_id``, ``rank`` (1 to ``n``), ``feature`` (the
            feature's code name), ``feature_value`` and ``shap_value`` (money). This is what a
            program reads; :meth:`top_drivers` puts the same drivers in words.
        """
        if not _is_whole(n) or not 1 <= n <= len(self.features):
            raise ConfigError(
                f"n must be a whole number from 1 to {len(self.features)} (the number of "
                f"features), got {n!r}."
            )
        shap_values = self.wide().to_numpy()
        feature_values = self.feature_values().to_numpy()
        order = np.argsort(-np.abs(shap_values), axis=1, kind="stable")[:, :n]
        rows = np.repeat(np.arange(len(order)), n)
        picked = order.reshape(-1)
        return pd.DataFrame(
            {
                "customer_id": np.asarray(self.customer_ids, dtype=object)[rows],
                "rank": np.tile(np.arange(1, n + 1), len(order)),
                "feature": np.asarray(self.features, dtype=object)[picked],
                "feature_value": feature_values[rows, picked],
                "shap_value": shap_values[rows, picked],
            }
        )

    def top_drivers(self, n: int = 3, language: Language | str = Language.EN) -> pd.DataFrame:
        """Each customer's ``n`` largest contributions (by absolute value), in words.

        Parameters
        ----------
        n
            Drivers per customer, 1 to the number of features.
        language
            ``"en"`` or ``"zh"``: the feature labels of :mod:`clv_core.catalogue`.

        Returns
        -------
        pandas.DataFrame
            ``customer_id``, ``driver_1`` ... ``driver_n``, each like
            ``"orders in last 90 days = 4 (+312.5)"``: label, the customer's value, and the
            SHAP value in money with its sign (the rows of :meth:`driver_records`).
        """
        chosen = parse_language(language)
        records = self.driver_records(n)
        labels = {name: feature_label(name, chosen) for name in self.features}
        text = [
            f"{labels[name]} = {format_value(value, chosen)} ({format_contribution(contribution)})"
            for name, value, contribution in zip(
                records["feature"], records["feature_value"], records["shap_value"], strict=True
            )
        ]
        wide = np.asarray(text, dtype=object).reshape(len(self.customer_ids), n)
        columns: dict[str, Any] = {"customer_id": list(self.customer_ids)}
        for rank in range(n):
            columns[f"driver_{rank + 1}"] = list(wide[:, rank])
        return pd.DataFrame(columns)

    def _check_feature(self, feature: str) -> None:
        if feature not in self.features:
            raise DataError(
                f"'{feature}' is not one of the explained features; choose one of "
                f"{list(self.features)}."
            )

    def customer_position(self, customer_id: Hashable) -> int:
        """Where ``customer_id`` is among the explained customers (a DataError if absent)."""
        position = int(self.customer_ids.get_indexer(pd.Index([customer_id], dtype=object))[0])
        if position < 0:
            examples = [str(c) for c in self.customer_ids[:3]]
            raise DataError(
                f"Customer '{customer_id}' is not among the {len(self.customer_ids)} explained "
                f"customers (for example {examples}). Explain that customer first."
            )
        return position
