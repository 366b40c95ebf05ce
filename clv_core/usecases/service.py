"""The scoring service's use cases: one loaded bundle, scored on feature rows or on orders.

The REST API (:mod:`clv_core.api`) is a thin adapter over :class:`ScoringService`: it checks
the request's shape and hands over plain columns or an order frame. The numbers come from the
same pieces as the batch scorer (``python -m clv_core score``): the bundle's preprocessing and
network, :func:`clv_core.validation.validate_transactions` and
:func:`clv_core.scoring.score_with_features` for orders, the churn bands of
:mod:`clv_core.segments`, and DeepSHAP for drivers.

Value tiers need a population: the batch scorer ranks the customers it scores, which means
nothing for one customer. The service places each customer among the customers the network was
trained on: the bundle records the percentiles of their predicted CLV, and with the default
shares (top 10%, next 20%, 40%, last 30%) a customer is in the top tier when the prediction is
at or above the training customers' 90th percentile, and so on. Bundles written before this
record was kept score without tiers (``tier`` is ``null``) and without drivers.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from clv_core.bundle import BundleInfo, load_bundle
from clv_core.catalogue import BAND_LABELS, feature_label, pick, tier_code, tier_names
from clv_core.errors import DataError
from clv_core.explain import ExplainSettings, explain_customers
from clv_core.features import NON_NEGATIVE_FEATURES
from clv_core.kinds import InputShape
from clv_core.language import Language
from clv_core.mlp import ClvMlp
from clv_core.scoring import score_with_features
from clv_core.segments import DEFAULT_CHURN_THRESHOLDS, DEFAULT_TIER_SHARES, ChurnBand
from clv_core.segments.churn import band_positions
from clv_core.usecases.inputs import validation_data
from clv_core.validation import validate_customers, validate_transactions
from clv_core.value import TIMING_COLUMNS, ValueSettings, plan_value

__all__ = [
    "DRIVERS",
    "FeatureField",
    "OrdersScored",
    "ScoringService",
    "load_service",
]

# Drivers named per customer when a request asks for them (as in the campaign list).
DRIVERS = 3
# Every customer of an explained request is explained, against the bundle's background sample.
_EXPLAIN = ExplainSettings(sample_size=None)
_OUTPUTS = (
    "predicted_clv",
    "p_purchase",
    "clv_lower",
    "clv_upper",
    "predicted_profit",
    "p_alive",
    "days_to_next_order",
    "expected_next_order_date",
    "mean_days_between_orders",
)
_WINDOW_COUNT = re.compile(r"orders_last_\d+d")
_RECENCY = ("days_since_last_purchase", "mean_days_between_purchases")
# The features the value plan reads (BG/NBD history, the usual gap).
_VALUE_FEATURES = (*TIMING_COLUMNS, "mean_days_between_purchases")


@dataclass(frozen=True, slots=True)
class FeatureField:
    """One input of the bundle's network as a request gives it.

    ``kind`` is ``number`` or ``category``. A field is ``required`` unless the training data
    had it missing (then the preprocessing learned a fill value and a missing indicator, and a
    missing value means what it meant in training). ``non_negative`` numbers are counts, days
    and amounts that cannot be below zero. ``categories`` are the values with their own input;
    any other value is scored as the training data's rare values were.
    """

    name: str
    kind: Literal["number", "category"]
    required: bool
    non_negative: bool = False
    categories: tuple[str, ...] = ()

    def describe(self, language: Language) -> dict[str, Any]:
        """The field for ``GET /model``."""
        entry: dict[str, Any] = {
            "name": self.name,
            "meaning": feature_label(self.name, language),
            "kind": self.kind,
            "required": self.required,
        }
        if self.kind == "number":
            entry["non_negative"] = self.non_negative
        else:
            entry["categories"] = list(self.categories)
        return entry


@dataclass(frozen=True, slots=True)
class OrdersScored:
    """Scores of the customers of a list of orders, with the validation's row account (as
    the command line's ``--json`` gives it: per table, rows read, used, dropped and altered
    by reason, examples, warnings; the log's column roles and money check)."""

    customers: list[dict[str, Any]]
    as_of: dt.date
    report: dict[str, Any]


@dataclass(slots=True)
class ScoringService:
    """A loaded bundle, compiled for many small requests at once."""

    model: ClvMlp
    info: BundleInfo
    source: str
    fields: tuple[FeatureField, ...] = field(init=False)
    _tier_cuts: np.ndarray | None = field(init=False)

    def __post_init__(self) -> None:
        self.model.compile_for_serving()
        self.fields = feature_fields(self.model)
        percentiles = self.model.value_percentiles_
        self._tier_cuts = None if percentiles is None else tier_cuts(percentiles)

    @property
    def explainable(self) -> bool:
        """Whether the bundle carries the background sample drivers are measured against."""
        return self.model.background_ is not None

    def describe(self, language: Language) -> dict[str, Any]:
        """What the bundle is, for ``GET /model``."""
        meta = self.info.meta
        shares = list(DEFAULT_TIER_SHARES)
        return {
            "source": self.source,
            "input_shape": self.info.input_shape.value,
            "features": [entry.describe(language) for entry in self.fields],
            "horizon_days": self.info.horizon_days,
            "as_of": self.info.cutoff.isoformat(),
            "created_at": meta.get("created_at"),
            "training": self.info.training,
            "config": meta.get("config", {}),
            "versions": meta.get("versions", {}),
            "segment_rules": {
                "tiers": None
                if self._tier_cuts is None
                else {
                    "basis": "predicted CLV of the training customers",
                    "shares": shares,
                    "codes": [tier_code(position) for position in range(len(shares))],
                    "labels": list(tier_names(len(shares), language)),
                    "lower_bounds": [round(float(cut), 6) for cut in self._tier_cuts],
                },
                "churn_bands": {
                    "basis": "1 - p_purchase"
                    if self.model.config.loss.value == "ziln"
                    else "days since last purchase / usual gap",
                    "thresholds": list(DEFAULT_CHURN_THRESHOLDS),
                    "codes": [band.value for band in ChurnBand],
                },
            },
            "drivers": self.explainable,
        }

    def score_columns(
        self,
        ids: Sequence[str],
        columns: Mapping[str, np.ndarray],
        *,
        language: Language,
        explain: bool = False,
        value: ValueSettings | None = None,
        as_of: dt.date | None = None,
    ) -> list[dict[str, Any]]:
        """Scores of customers given as feature columns (numbers as float64 with NaN for
        missing, categories as objects of ``str`` or ``None``); ``as_of`` is the day the
        features describe (it dates the next order)."""
        matrix = self.model.preprocessor_.transform_arrays(columns, len(ids))  # type: ignore[union-attr]
        predictions = self.model.predict_matrix(matrix)
        predictions = {
            **predictions,
            **self._value(list(ids), predictions["predicted_clv"], columns, as_of, value),
        }
        drivers = None
        if explain:
            frame = pd.DataFrame(
                {name: columns[name] for name in self.model.feature_columns_ or []},
                index=pd.Index(ids, name="customer_id"),
            )
            drivers = self._drivers(frame, language)
        return self._records(list(ids), predictions, columns, drivers, language)

    def score_orders(
        self,
        orders: pd.DataFrame,
        *,
        as_of: dt.date,
        attributes: pd.DataFrame | None,
        language: Language,
        explain: bool = False,
        value: ValueSettings | None = None,
    ) -> OrdersScored:
        """Scores of the customers of ``orders`` at ``as_of``, validated as a log file is."""
        if self.info.input_shape is not InputShape.TRANSACTIONS:
            raise DataError(
                "This bundle was trained on a per-customer table: it scores feature rows "
                "(POST /score), not orders."
            )
        transactions = validate_transactions(orders, source_name="request", first_row=0)
        customers = None
        reports = {"transactions": transactions.report}
        if attributes is not None:
            customers = validate_customers(attributes, source_name="request", first_row=0)
            reports["customers"] = customers.report
        scored = score_with_features(
            self.model,
            transactions.frame,
            as_of=as_of,
            customers=customers,
            feature_options=self.info.feature_options,
            may_be_missing=[entry.name for entry in self.fields if not entry.required],
        )
        self._check_required(scored.features)
        predictions = scored.predictions.set_index("customer_id").loc[scored.features.index]
        drivers = self._drivers(scored.features, language) if explain else None
        outputs = {name: predictions[name].to_numpy(np.float64) for name in predictions.columns}
        recency = {
            name: scored.features[name].to_numpy(np.float64)
            for name in _RECENCY
            if name in scored.features
        }
        ids = [str(customer) for customer in predictions.index]
        features = {
            name: scored.features[name].to_numpy(np.float64)
            for name in _VALUE_FEATURES
            if name in scored.features
        }
        outputs |= self._value(ids, outputs["predicted_clv"], features, as_of, value)
        records = self._records(ids, outputs, recency, drivers, language)
        account = validation_data(reports, transactions.mapping, transactions.money)
        return OrdersScored(records, as_of, account)

    def _value(
        self,
        ids: list[str],
        predicted: np.ndarray,
        features: Mapping[str, np.ndarray],
        as_of: dt.date | None,
        settings: ValueSettings | None,
    ) -> dict[str, Any]:
        """Profit, ``p_alive``, the next order and the usual gap of every customer, as the
        batch scorer's value plan computes them (one margin rate for everyone)."""
        index = pd.Index(ids, name="customer_id")
        frame = pd.DataFrame(
            {
                name: np.asarray(features[name], dtype=np.float64)
                for name in _VALUE_FEATURES
                if name in features
            },
            index=index,
        )
        day = as_of or self.info.cutoff
        plan = plan_value(
            pd.DataFrame({"customer_id": index, "predicted_clv": predicted}),
            frame,
            timing=self.model.timing_,
            horizon_days=self.info.horizon_days,
            as_of=day,
            settings=settings or ValueSettings(),
        )
        columns = plan.columns
        dates = columns["expected_next_order_date"]
        days = (dates - pd.Timestamp(day)).dt.days
        return {
            "predicted_profit": columns["predicted_profit"].to_numpy(np.float64),
            "p_alive": columns["p_alive"].to_numpy(np.float64),
            "days_to_next_order": [None if pd.isna(day) else int(day) for day in days],
            "expected_next_order_date": [
                None if as_of is None or pd.isna(date) else date.date().isoformat()
                for date in dates
            ],
            "mean_days_between_orders": columns["mean_days_between_orders"].to_numpy(np.float64),
        }

    def _check_required(self, features: pd.DataFrame) -> None:
        """Refuse what ``POST /score`` refuses: a required number missing or not a number
        (an attribute sent as text, or a date the feature is computed from left out)."""
        for entry in self.fields:
            if not entry.required or entry.kind != "number":
                continue
            values = pd.to_numeric(features[entry.name], errors="coerce")
            missing = features.index[values.isna().to_numpy()]
            if len(missing):
                examples = ", ".join(str(customer) for customer in missing[:3])
                raise DataError(
                    f"{entry.name} is missing or not a number for {len(missing)} customer(s) "
                    f"(e.g. {examples}); the model was trained with it always known. Send the "
                    "customers' attributes it comes from in 'customers', as numbers and dates."
                )

    def _drivers(self, features: pd.DataFrame, language: Language) -> list[list[dict[str, Any]]]:
        background = self.model.background_
        if background is None:
            raise DataError(
                "This bundle records no background customers, so it cannot name drivers. "
                "Train it again with this version to score with explain=true."
            )
        # explain_customers serialises itself with the trainings and other explanations.
        explanation = explain_customers(self.model, features, background, _EXPLAIN)
        count = min(DRIVERS, len(explanation.features))
        records = explanation.driver_records(count)
        drivers: list[list[dict[str, Any]]] = [[] for _ in range(len(features))]
        for position, (name, value, contribution) in enumerate(
            zip(records["feature"], records["feature_value"], records["shap_value"], strict=True)
        ):
            drivers[position // count].append(
                {
                    "feature": str(name),
                    "label": feature_label(str(name), language),
                    "value": json_value(value),
                    "contribution": round(float(contribution), 6),
                }
            )
        return drivers

    def _records(
        self,
        ids: list[str],
        predictions: Mapping[str, np.ndarray],
        recency: Mapping[str, np.ndarray],
        drivers: list[list[dict[str, Any]]] | None,
        language: Language,
    ) -> list[dict[str, Any]]:
        """One JSON-ready dict per customer: outputs, tier, churn band, drivers."""
        tiers = self._tiers(predictions["predicted_clv"], language)
        bands = self._bands(predictions, recency, language)
        outputs = [
            (name, _json_values(predictions[name])) for name in _OUTPUTS if name in predictions
        ]
        records = []
        for position, customer in enumerate(ids):
            record: dict[str, Any] = {"customer_id": customer}
            for name, values in outputs:
                record[name] = values[position]
            record["tier"] = tiers[position]
            record["churn_band"] = bands[position]
            if drivers is not None:
                record["drivers"] = drivers[position]
            records.append(record)
        return records

    def _tiers(self, values: np.ndarray, language: Language) -> list[dict[str, str] | None]:
        if self._tier_cuts is None:
            return [None] * len(values)
        names = tier_names(len(self._tier_cuts) + 1, language)
        # Below every lower bound is the last tier; at or above bound k is tier k.
        positions = np.searchsorted(-self._tier_cuts, -values, side="right")
        return [
            {"code": tier_code(int(position)), "label": names[int(position)]}
            for position in positions
        ]

    def _bands(
        self,
        predictions: Mapping[str, np.ndarray],
        recency: Mapping[str, np.ndarray],
        language: Language,
    ) -> list[dict[str, str] | None]:
        """Churn bands by :func:`clv_core.segments.churn.band_positions` (the batch rules);
        ``None`` for a point-loss model of a table without days since the last purchase."""
        if "p_purchase" not in predictions and recency.get("days_since_last_purchase") is None:
            return [None] * len(predictions["predicted_clv"])
        positions = band_positions(
            predictions.get("p_purchase"),
            days_since_last_purchase=recency.get("days_since_last_purchase"),
            mean_days_between_purchases=recency.get("mean_days_between_purchases"),
            horizon_days=self.info.horizon_days,
        )
        bands = [
            {"code": band.value, "label": pick(BAND_LABELS[band.value], language)}
            for band in ChurnBand
        ]
        return [bands[position] for position in positions.tolist()]


def tier_cuts(percentiles: np.ndarray, shares: Sequence[float] = DEFAULT_TIER_SHARES) -> np.ndarray:
    """Lower bounds of the tiers but the last, top first, from the training customers'
    predicted-CLV percentiles 0..100: the top ``shares[0]`` lie at or above the first."""
    above = np.cumsum(shares)[:-1]
    return np.interp(100.0 * (1.0 - above), np.arange(101.0), percentiles)


def feature_fields(model: ClvMlp) -> tuple[FeatureField, ...]:
    """The request fields of a model's inputs, in the model's order."""
    preprocessor = model.preprocessor_
    if preprocessor is None or model.feature_columns_ is None:
        raise DataError("The bundle's model is not trained.")
    numeric = {column.name: column for column in preprocessor.numeric_ or []}
    categorical = {column.name: column for column in preprocessor.categorical_ or []}
    fields = []
    for name in model.feature_columns_:
        if name in numeric:
            fields.append(
                FeatureField(
                    name,
                    "number",
                    required=not numeric[name].missing_indicator,
                    non_negative=_non_negative(name),
                )
            )
        elif name in categorical:
            fields.append(
                FeatureField(
                    name, "category", required=False, categories=categorical[name].categories
                )
            )
    return tuple(fields)


def _non_negative(name: str) -> bool:
    """Counts and day spans of the log features (window counts by their pattern)."""
    return name in NON_NEGATIVE_FEATURES or bool(_WINDOW_COUNT.fullmatch(name))


def json_value(value: Any) -> Any:
    """A value as JSON: NaN and None as ``None``, NumPy scalars as Python ones."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    if isinstance(value, np.generic):
        return value.item()
    return value


def load_service(source: Path) -> ScoringService:
    """A bundle folder or ``.zip`` loaded (refused as the command line refuses it) and compiled."""
    model, info = load_bundle(source)
    return ScoringService(model, info, source.name)


def _json_values(values: Any) -> list[Any]:
    """Values as JSON: floats with NaN as ``None``; a list (dates, day counts) as it is."""
    if isinstance(values, list):
        return values
    array = np.asarray(values)
    if array.dtype.kind == "f":
        return [None if value != value else value for value in array.tolist()]
    return array.tolist()
