"""Honest evaluation: the MLP and the baselines on the same features and the same test customers.

Two splits (README, "The time protocol"):

* ``customer``: features at the cutoff, labels over the following horizon; customers are split
  at random (seeded) into training and test; every model learns on the same training customers
  and is measured on the same test customers.
* ``time``: every model learns from features at ``cutoff - horizon`` with labels in
  ``(cutoff - horizon, cutoff]`` and is measured by scoring features at the cutoff against the
  real outcome in ``(cutoff, cutoff + horizon]``, for every customer known at the cutoff. This
  is what deployment does.

With ``repeats > 1`` the whole evaluation is repeated with seeds ``seed, seed + 1, ...`` (new
customer split and new model seeds) and each metric is summarised as mean and standard deviation.
"""

from __future__ import annotations

import datetime as dt
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

import numpy as np
import pandas as pd

from clv_core.baselines import BtydBaseline, HistoricalBaseline, LightGbmBaseline
from clv_core.config import MlpConfig
from clv_core.errors import ClvError, ConfigError, DataError
from clv_core.features import LABEL_COLUMN, FeatureOptions, build_training_table
from clv_core.metrics import compute_metrics, decile_table, gain_curve
from clv_core.mlp import ClvMlp, ProgressCallback, StopRequest
from clv_core.splits import (
    MINIMUM_CUSTOMERS,
    SplitKind,
    check_minimum_data,
    split_customers,
    time_windows,
)
from clv_core.validation import CustomerAttributes, CustomerTable

__all__ = [
    "EvaluationResult",
    "EvaluationSettings",
    "ModelName",
    "ModelResult",
    "evaluate",
    "evaluate_customer_table",
    "parse_model_names",
]


class ModelName(StrEnum):
    """Models an evaluation can compare."""

    MLP = "mlp"
    BGNBD_GG = "bgnbd_gg"
    LIGHTGBM = "lightgbm"
    HISTORICAL = "historical"


def parse_model_names(text: str) -> tuple[ModelName, ...]:
    """``"mlp,lightgbm"`` -> models; unknown names are an error listing the valid ones."""
    names = [part.strip() for part in text.split(",") if part.strip()]
    valid = [model.value for model in ModelName]
    unknown = [name for name in names if name not in valid]
    if unknown or not names:
        raise ConfigError(f"Unknown model(s) {unknown or [text]}; choose from {valid}.")
    return tuple(dict.fromkeys(ModelName(name) for name in names))


@dataclass(frozen=True, slots=True, kw_only=True)
class EvaluationSettings:
    """What to evaluate and how; hashable, so also a cache key."""

    cutoff: dt.date
    horizon_days: int
    split: SplitKind = SplitKind.CUSTOMER
    test_size: float = 0.2
    seed: int = 0
    repeats: int = 1
    models: tuple[ModelName, ...] = tuple(ModelName)
    config: MlpConfig = field(default_factory=MlpConfig)
    feature_options: FeatureOptions = field(default_factory=FeatureOptions)

    def __post_init__(self) -> None:
        object.__setattr__(self, "split", _enum(SplitKind, self.split, "split"))
        object.__setattr__(
            self, "models", tuple(_enum(ModelName, name, "models") for name in self.models)
        )
        if not self.models:
            raise ConfigError(f"Choose at least one model from {[m.value for m in ModelName]}.")
        if self.horizon_days < 1:
            raise ConfigError(
                f"horizon_days must be a positive number of days, got {self.horizon_days}."
            )
        if not 0 < self.test_size < 1:
            raise ConfigError(f"test_size must be between 0 and 1, got {self.test_size}.")
        if not 1 <= self.repeats <= 20:
            raise ConfigError(f"repeats must be from 1 to 20, got {self.repeats}.")


@dataclass(frozen=True, slots=True)
class ModelResult:
    """One model's outcome: metrics, or the analyst-readable reason it could not be fitted."""

    name: ModelName
    metrics: dict[str, float] | None
    error: str | None
    fit_seconds: float
    notes: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """The JSON form used by ``evaluate --json``."""
        if self.metrics is None:
            return {"error": self.error, "fit_seconds": round(self.fit_seconds, 3)}
        data: dict[str, Any] = {key: _finite(value) for key, value in self.metrics.items()}
        data["fit_seconds"] = round(self.fit_seconds, 3)
        if self.notes:
            data["notes"] = list(self.notes)
        return data


@dataclass(frozen=True, slots=True)
class EvaluationResult:
    """Everything an evaluation produced.

    ``predictions`` is indexed by test ``customer_id`` with ``actual`` and one column per
    fitted model; ``train_features`` / ``test_features`` are the two sides' feature tables.
    ``mlp`` is the trained network (for explanations and bundles). With repeats,
    ``predictions``, ``results`` and ``mlp`` are those of the first run and ``summary`` holds
    mean and sd over all runs.
    """

    settings: EvaluationSettings
    n_customers: int
    n_train: int
    n_test: int
    predictions: pd.DataFrame
    results: dict[ModelName, ModelResult]
    timings: dict[str, float]
    warnings: tuple[str, ...]
    mlp: ClvMlp | None
    test_features: pd.DataFrame
    summary: dict[str, dict[str, dict[str, float | None]]] | None = None
    train_features: pd.DataFrame | None = None

    def metrics_table(self) -> pd.DataFrame:
        """One row per model with its metrics (NaN for a model that failed) and fit time."""
        rows = []
        for name, result in self.results.items():
            row: dict[str, Any] = {"model": name.value}
            row.update(result.metrics or {})
            row["fit_seconds"] = result.fit_seconds
            row["error"] = result.error
            rows.append(row)
        return pd.DataFrame(rows)

    def decile_tables(self) -> pd.DataFrame:
        """Tidy decile tables of every fitted model (column ``model``)."""
        frames = [
            decile_table(self.predictions["actual"], self.predictions[name.value]).assign(
                model=name.value
            )
            for name in self._fitted()
        ]
        return pd.concat(frames, ignore_index=True)

    def gain_curves(self, points: int = 101) -> pd.DataFrame:
        """Tidy gain curves (``share_of_customers``, ``share_of_value``, ``model``), thinned."""
        frames = []
        actual = self.predictions["actual"]
        for name in [*self._fitted(), "perfect"]:
            predicted = actual if name == "perfect" else self.predictions[str(name)]
            curve = gain_curve(actual, predicted)
            index = np.unique(np.linspace(0, len(curve) - 1, points).round().astype(int))
            frames.append(curve.iloc[index].assign(model=str(name)))
        return pd.concat(frames, ignore_index=True)

    def _fitted(self) -> list[ModelName]:
        return [name for name, result in self.results.items() if result.metrics is not None]

    def to_dict(self) -> dict[str, Any]:
        """The ``evaluate --json`` object (without validation, which the caller adds)."""
        data: dict[str, Any] = {
            "n_customers": self.n_customers,
            "n_train": self.n_train,
            "n_test": self.n_test,
            "split": self.settings.split.value,
            "cutoff": self.settings.cutoff.isoformat(),
            "horizon_days": self.settings.horizon_days,
            "seed": self.settings.seed,
            "models": {name.value: result.to_dict() for name, result in self.results.items()},
            "timings": {key: round(value, 3) for key, value in self.timings.items()},
            "warnings": list(self.warnings),
        }
        if self.summary is not None:
            data["repeats"] = self.settings.repeats
            data["summary"] = self.summary
        return data


def evaluate(
    transactions: pd.DataFrame,
    settings: EvaluationSettings,
    *,
    customers: CustomerAttributes | None = None,
    on_epoch: ProgressCallback | None = None,
    should_stop: StopRequest | None = None,
    on_stage: Callable[[str], None] | None = None,
) -> EvaluationResult:
    """Fit every requested model on the training side and measure it on the test side.

    Parameters
    ----------
    transactions
        Validated orders (``customer_id``, ``order_date``, ``amount``).
    settings
        See :class:`EvaluationSettings`.
    customers
        Optional validated attributes (used by the MLP and LightGBM; BTYD and historical
        models cannot use them).
    on_epoch, should_stop
        Passed to :meth:`ClvMlp.fit` (live loss curve, cooperative cancel).
    on_stage
        Called with a short description before each step (features, each model).

    Raises
    ------
    ClvError
        The data cannot support the windows (too few customers, labels past the data end).
    """
    runs = []
    for repeat in range(settings.repeats):
        run_settings = settings if repeat == 0 else _reseeded(settings, settings.seed + repeat)
        runs.append(
            _evaluate_once(
                transactions,
                run_settings,
                customers=customers,
                on_epoch=on_epoch,
                should_stop=should_stop,
                on_stage=on_stage,
            )
        )
    first = runs[0]
    if settings.repeats == 1:
        return first
    return replace(first, settings=settings, summary=_summarise(runs))


def _reseeded(settings: EvaluationSettings, seed: int) -> EvaluationSettings:
    return replace(settings, seed=seed, config=replace(settings.config, seed=seed))


def _evaluate_once(
    transactions: pd.DataFrame,
    settings: EvaluationSettings,
    *,
    customers: CustomerAttributes | None,
    on_epoch: ProgressCallback | None,
    should_stop: StopRequest | None,
    on_stage: Callable[[str], None] | None,
) -> EvaluationResult:
    stage = on_stage or (lambda text: None)
    timings: dict[str, float] = {}
    windows = time_windows(settings.cutoff, settings.horizon_days, settings.split)
    warnings = check_minimum_data(transactions, windows)

    stage("features")
    started = time.perf_counter()

    def table_at(cutoff: pd.Timestamp) -> pd.DataFrame:
        return build_training_table(
            transactions,
            cutoff,
            settings.horizon_days,
            customers=customers,
            options=settings.feature_options,
        )

    if settings.split is SplitKind.CUSTOMER:
        table = table_at(windows.evaluation_cutoff)
        split = split_customers(table.index, test_size=settings.test_size, seed=settings.seed)
        train, test = table.loc[split.train], table.loc[split.test]
        n_customers = len(table)
    else:
        train = table_at(windows.train_cutoff)
        test = table_at(windows.evaluation_cutoff)
        n_customers = len(test)
    timings["features_seconds"] = time.perf_counter() - started
    train_features, train_target = train.drop(columns=LABEL_COLUMN), train[LABEL_COLUMN]
    test_features, test_target = test.drop(columns=LABEL_COLUMN), test[LABEL_COLUMN]
    if train_target.sum() <= 0 or test_target.sum() <= 0:
        warnings.append(
            "Nobody bought in one of the label windows, so ranking metrics are undefined."
        )

    return _fit_and_measure(
        settings,
        train_features,
        train_target,
        test_features,
        test_target,
        n_customers=n_customers,
        timings=timings,
        warnings=warnings,
        on_epoch=on_epoch,
        should_stop=should_stop,
        stage=stage,
    )


def _fit_and_measure(
    settings: EvaluationSettings,
    train_features: pd.DataFrame,
    train_target: pd.Series,
    test_features: pd.DataFrame,
    test_target: pd.Series,
    *,
    n_customers: int,
    timings: dict[str, float],
    warnings: list[str],
    on_epoch: ProgressCallback | None,
    should_stop: StopRequest | None,
    stage: Callable[[str], None],
    unavailable: dict[ModelName, str] | None = None,
) -> EvaluationResult:
    """Fit every requested model on the training side and measure it on the test side.

    ``unavailable`` maps models that cannot run on this kind of input to the reason, which is
    reported as that model's error.
    """
    predictions = pd.DataFrame({"actual": test_target})
    results: dict[ModelName, ModelResult] = {}
    mlp: ClvMlp | None = None
    for name in settings.models:
        stage(name.value)
        if unavailable and name in unavailable:
            results[name] = ModelResult(name, None, unavailable[name], 0.0)
            continue
        started = time.perf_counter()
        notes: tuple[str, ...] = ()
        try:
            if name is ModelName.MLP:
                mlp = ClvMlp(settings.config).fit(
                    train_features, train_target, on_epoch=on_epoch, should_stop=should_stop
                )
                predicted = mlp.predict(test_features)["predicted_clv"].to_numpy()
                if mlp.cancelled_:
                    notes = ("Training was cancelled; the best weights so far were used.",)
            else:
                model = _baseline(name, settings)
                model.fit(train_features, train_target)
                predicted = model.predict(test_features)
                notes = tuple(getattr(model, "notes_", ()))
        except ClvError as error:
            results[name] = ModelResult(name, None, str(error), time.perf_counter() - started)
            continue
        except (ValueError, np.linalg.LinAlgError, FloatingPointError) as error:
            if name is ModelName.MLP:
                raise
            message = f"{name.value} could not be fitted on this data: {error}"
            results[name] = ModelResult(name, None, message, time.perf_counter() - started)
            continue
        elapsed = time.perf_counter() - started
        predictions[name.value] = predicted
        metrics = compute_metrics(test_target.to_numpy(), predicted)
        results[name] = ModelResult(name, metrics, None, elapsed, notes)
        timings[f"{name.value}_seconds"] = elapsed
    timings["total_seconds"] = sum(timings.values())
    return EvaluationResult(
        settings=settings,
        n_customers=n_customers,
        n_train=len(train_features),
        n_test=len(test_features),
        predictions=predictions,
        results=results,
        timings=timings,
        warnings=tuple(warnings),
        mlp=mlp,
        test_features=test_features,
        train_features=train_features,
    )


def evaluate_customer_table(
    table: CustomerTable,
    settings: EvaluationSettings,
    *,
    on_epoch: ProgressCallback | None = None,
    should_stop: StopRequest | None = None,
    on_stage: Callable[[str], None] | None = None,
) -> EvaluationResult:
    """Evaluate on a per-customer table with a target column (the seed format).

    Without order dates there is no time protocol: the customers are split at random (seeded,
    ``settings.test_size``), the MLP and LightGBM learn the target from the table's columns on
    the training customers and are measured on the test customers. BG/NBD + Gamma-Gamma and
    the historical rate need a transaction log and are reported as unavailable.
    ``settings.cutoff`` and ``settings.horizon_days`` only label the result (use the table's
    reference date and the horizon the target covers).

    Raises
    ------
    ConfigError
        The out-of-time split was requested.
    DataError
        Fewer customers than training needs.
    """
    if settings.split is not SplitKind.CUSTOMER:
        raise ConfigError(
            "A per-customer table has no order dates, so only the customer split is possible; "
            "choose split 'customer' or upload a transaction log."
        )
    if len(table.features) < MINIMUM_CUSTOMERS:
        raise DataError(
            f"The table has {len(table.features)} usable customers; at least "
            f"{MINIMUM_CUSTOMERS} are needed to train and evaluate."
        )
    runs = []
    for repeat in range(settings.repeats):
        run_settings = settings if repeat == 0 else _reseeded(settings, settings.seed + repeat)
        split = split_customers(
            table.features.index, test_size=run_settings.test_size, seed=run_settings.seed
        )
        reason = "needs a transaction log (order dates and amounts); a per-customer table has none."
        runs.append(
            _fit_and_measure(
                run_settings,
                table.features.loc[split.train],
                table.target.loc[split.train],
                table.features.loc[split.test],
                table.target.loc[split.test],
                n_customers=len(table.features),
                timings={},
                warnings=list(table.report.warnings),
                on_epoch=on_epoch,
                should_stop=should_stop,
                stage=on_stage or (lambda text: None),
                unavailable={
                    ModelName.BGNBD_GG: f"BG/NBD + Gamma-Gamma {reason}",
                    ModelName.HISTORICAL: f"The historical rate {reason}",
                },
            )
        )
    if settings.repeats == 1:
        return runs[0]
    return replace(runs[0], settings=settings, summary=_summarise(runs))


def _baseline(
    name: ModelName, settings: EvaluationSettings
) -> BtydBaseline | LightGbmBaseline | HistoricalBaseline:
    if name is ModelName.BGNBD_GG:
        return BtydBaseline(horizon_days=settings.horizon_days)
    if name is ModelName.LIGHTGBM:
        return LightGbmBaseline(seed=settings.seed)
    return HistoricalBaseline(horizon_days=settings.horizon_days)


def _summarise(runs: list[EvaluationResult]) -> dict[str, dict[str, dict[str, float | None]]]:
    summary: dict[str, dict[str, dict[str, float | None]]] = {}
    for name in runs[0].results:
        fitted = [run.results[name].metrics for run in runs if run.results[name].metrics]
        if not fitted:
            continue
        summary[name.value] = {
            metric: {
                "mean": _finite(float(np.mean([m[metric] for m in fitted if m]))),
                "sd": _finite(float(np.std([m[metric] for m in fitted if m], ddof=1)))
                if len(fitted) > 1
                else 0.0,
                "runs": len(fitted),
            }
            for metric in fitted[0] or {}
        }
    return summary


def _finite(value: float) -> float | None:
    """JSON has no NaN: undefined metrics become null."""
    return None if value is None or not math.isfinite(value) else round(float(value), 6)


def _enum(kind: Any, value: Any, name: str) -> Any:
    try:
        return kind(value)
    except ValueError as error:
        raise ConfigError(
            f"{name}: {value!r} is not one of {[member.value for member in kind]}."
        ) from error
