"""The models the network must beat, on the same features and the same customers.

* :class:`BtydBaseline`: BG/NBD (Fader, Hardie & Lee 2005, "Counting Your Customers the Easy
  Way") for the number of repeat purchase days in the horizon, times Gamma-Gamma (Fader, Hardie
  & Lee 2005, "RFM and CLV") for the expected spend per purchase day, through ``lifetimes``.
  lifetimes works on this stack and fits CDNOW in well under a second; pymc-marketing, its
  maintained successor, was ~7x slower warm here and would downgrade numba, which shap needs.
* :class:`LightGbmBaseline`: gradient boosting with a Tweedie objective (zero mass plus a
  heavy positive tail) on every feature, with early stopping on held-out training customers.
* :class:`HistoricalBaseline`: the customer's past net spend rate times the horizon.

Each has ``fit(features, target) -> self`` and ``predict(features) -> numpy array``.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd

from clv_core.btyd import DEFAULT_PENALIZERS, fit_bgnbd, fit_with_retries
from clv_core.errors import DataError, NotFittedError
from clv_core.value import (
    TimingModel,
    ValueSettings,
    discount_factors,
    period_ends,
    purchases_per_period,
    timing_of,
)

__all__ = ["BtydBaseline", "HistoricalBaseline", "LightGbmBaseline"]

_BTYD_COLUMNS = ("frequency", "recency", "T", "monetary_value")


def _require_columns(features: pd.DataFrame, columns: tuple[str, ...], model: str) -> None:
    missing = [column for column in columns if column not in features.columns]
    if missing:
        raise DataError(f"The {model} baseline needs the feature column(s) {missing}.")


class BtydBaseline:
    """BG/NBD + Gamma-Gamma expected spend over the horizon.

    Parameters
    ----------
    horizon_days
        Length of the forecast window in days (features use days as the time unit).
    penalizers
        L2 penalties tried in order until a fit converges. Real retail data often fails to
        converge at a small penalty (seen with 0.001 and 0.01); a stronger one is then used and
        recorded in ``notes_``.

    Attributes
    ----------
    bgnbd_, gamma_gamma_
        The fitted lifetimes models (``gamma_gamma_`` is None when too few repeat buyers with
        positive spend exist; the mean repeat spend is used instead).
    bgnbd_penalizer_, gamma_gamma_penalizer_, notes_
        What was used and what had to be done to get there, in words.
    """

    def __init__(
        self, *, horizon_days: int, penalizers: tuple[float, ...] = DEFAULT_PENALIZERS
    ) -> None:
        self.horizon_days = horizon_days
        self.penalizers = penalizers
        self.bgnbd_: Any = None
        self.gamma_gamma_: Any = None
        self.bgnbd_penalizer_: float | None = None
        self.gamma_gamma_penalizer_: float | None = None
        self.mean_repeat_spend_: float | None = None
        self.notes_: list[str] = []

    def fit(self, features: pd.DataFrame, target: Any = None) -> BtydBaseline:
        """Fit on the training customers' ``frequency``, ``recency``, ``T``, ``monetary_value``.

        ``target`` is ignored: BTYD models learn from the history alone.

        Raises
        ------
        DataError
            No repeat buyers, or no penalty made BG/NBD converge.
        """
        from lifetimes import GammaGammaFitter

        _require_columns(features, _BTYD_COLUMNS, "BG/NBD + Gamma-Gamma")
        frequency = features["frequency"].to_numpy(np.float64)
        self.gamma_gamma_ = None
        self.gamma_gamma_penalizer_ = None
        self.bgnbd_, self.bgnbd_penalizer_, self.notes_ = fit_bgnbd(features, self.penalizers)
        repeat = (frequency > 0) & (features["monetary_value"].to_numpy(np.float64) > 0)
        repeat_features = features.loc[repeat]
        self.mean_repeat_spend_ = (
            float(repeat_features["monetary_value"].mean()) if repeat.any() else 0.0
        )
        if repeat.sum() >= 10:
            try:
                self.gamma_gamma_, self.gamma_gamma_penalizer_ = self._fit_with_retries(
                    "Gamma-Gamma",
                    lambda penalizer: GammaGammaFitter(penalizer_coef=penalizer).fit(
                        repeat_features["frequency"], repeat_features["monetary_value"]
                    ),
                )
            except DataError as error:
                self.gamma_gamma_ = None
                self.gamma_gamma_penalizer_ = None
                self.notes_.append(f"{error} The mean spend of repeat buyers is used instead.")
        else:
            self.notes_.append(
                "Fewer than 10 repeat buyers with positive spend: Gamma-Gamma was not fitted; "
                "the mean spend of repeat buyers is used for everyone."
            )
        return self

    def _fit_with_retries(self, name: str, fit: Any) -> tuple[Any, float]:
        model, penalizer, notes = fit_with_retries(name, fit, self.penalizers)
        self.notes_.extend(notes)
        return model, penalizer

    def predict(self, features: pd.DataFrame) -> np.ndarray:
        """Expected net spend in the horizon: expected purchase days x expected spend per day."""
        if self.bgnbd_ is None:
            raise NotFittedError("The BG/NBD baseline is not fitted yet; call fit first.")
        _require_columns(features, _BTYD_COLUMNS, "BG/NBD + Gamma-Gamma")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            purchases = self.bgnbd_.conditional_expected_number_of_purchases_up_to_time(
                self.horizon_days, features["frequency"], features["recency"], features["T"]
            )
            purchases = np.asarray(purchases, dtype=np.float64)
        prediction = np.nan_to_num(
            purchases * self.spend_per_purchase(features), nan=0.0, posinf=0.0, neginf=0.0
        )
        return np.clip(prediction, 0.0, None)

    def spend_per_purchase(self, features: pd.DataFrame) -> np.ndarray:
        """Gamma-Gamma's expected spend per purchase day of every customer (the mean repeat
        spend when Gamma-Gamma was not fitted)."""
        if self.bgnbd_ is None:
            raise NotFittedError("The BG/NBD baseline is not fitted yet; call fit first.")
        spend = np.full(len(features), self.mean_repeat_spend_ or 0.0)
        if self.gamma_gamma_ is None:
            return spend
        monetary = features["monetary_value"].to_numpy(np.float64)
        # Gamma-Gamma is defined for positive spend; a repeat buyer whose returns cancel their
        # spend is treated like a one-time buyer (population mean).
        frequency = np.where(monetary > 0, features["frequency"].to_numpy(np.float64), 0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            return np.asarray(
                self.gamma_gamma_.conditional_expected_average_profit(
                    pd.Series(frequency), pd.Series(np.where(monetary > 0, monetary, 1.0))
                ),
                dtype=np.float64,
            )

    def timing(self) -> TimingModel:
        """The fitted BG/NBD as a :class:`~clv_core.value.TimingModel`."""
        if self.bgnbd_ is None:
            raise NotFittedError("The BG/NBD baseline is not fitted yet; call fit first.")
        return timing_of(self.bgnbd_, self.bgnbd_penalizer_ or 0.0)

    def discounted_value(
        self, features: pd.DataFrame, horizon_days: int, settings: ValueSettings
    ) -> np.ndarray:
        """BG/NBD + Gamma-Gamma value over ``horizon_days``, period by period, discounted:
        ``sum_k spend * (E[X(t_k)] - E[X(t_{k-1})]) / (1 + d) ** (t_k / 30)`` (times the
        margin). With 30-day months this is lifetimes' ``customer_lifetime_value``."""
        _require_columns(features, _BTYD_COLUMNS, "BG/NBD + Gamma-Gamma")
        ends = period_ends(horizon_days, settings.period)
        purchases = purchases_per_period(self.timing(), features, ends)
        discounted = purchases @ discount_factors(ends, settings.monthly_discount_rate)
        return settings.margin * self.spend_per_purchase(features) * discounted


class LightGbmBaseline:
    """LightGBM with a Tweedie objective on all features.

    Parameters
    ----------
    seed
        Seeds the boosting and the early-stopping split.
    validation_fraction
        Training customers held out for early stopping.
    """

    def __init__(self, *, seed: int = 0, validation_fraction: float = 0.2) -> None:
        self.seed = seed
        self.validation_fraction = validation_fraction
        self.booster_: Any = None
        self.categories_: dict[str, list[str]] | None = None
        self.columns_: list[str] | None = None

    def _frame(self, features: pd.DataFrame) -> pd.DataFrame:
        if self.columns_ is None or self.categories_ is None:
            raise NotFittedError("The LightGBM baseline is not fitted yet; call fit first.")
        _require_columns(features, tuple(self.columns_), "LightGBM")
        frame = features[self.columns_].copy()
        for column, categories in self.categories_.items():
            text = frame[column].astype("string")
            # Categories not seen in training become missing, which LightGBM handles.
            known = text.where(text.isin(categories))
            frame[column] = pd.Categorical(known, categories=categories)
        return frame

    def fit(self, features: pd.DataFrame, target: Any) -> LightGbmBaseline:
        """Fit on the training customers; early stopping on a seeded held-out part."""
        import lightgbm

        y = np.asarray(target, dtype=np.float64)
        self.columns_ = [str(column) for column in features.columns]
        self.categories_ = {
            str(column): sorted(features[column].dropna().astype(str).unique().tolist())
            for column in features.columns
            if not pd.api.types.is_numeric_dtype(features[column])
        }
        frame = self._frame(features)
        rng = np.random.default_rng(self.seed)
        permutation = rng.permutation(len(frame))
        n_validation = max(1, round(len(frame) * self.validation_fraction))
        validation, training = permutation[:n_validation], permutation[n_validation:]
        parameters = {
            "objective": "tweedie",
            "tweedie_variance_power": 1.5,
            "learning_rate": 0.03,
            "num_leaves": 31,
            "min_child_samples": 20,
            "feature_fraction": 0.9,
            "bagging_fraction": 0.9,
            "bagging_freq": 1,
            "seed": self.seed,
            "deterministic": True,
            "force_col_wise": True,
            "num_threads": 2,
            "verbose": -1,
        }
        training_set = lightgbm.Dataset(frame.iloc[training], y[training])
        validation_set = lightgbm.Dataset(frame.iloc[validation], y[validation])
        self.booster_ = lightgbm.train(
            parameters,
            training_set,
            num_boost_round=3000,
            valid_sets=[validation_set],
            callbacks=[lightgbm.early_stopping(100, verbose=False)],
        )
        return self

    def predict(self, features: pd.DataFrame) -> np.ndarray:
        """Predicted net spend in the horizon."""
        frame = self._frame(features)
        prediction = self.booster_.predict(frame, num_iteration=self.booster_.best_iteration)
        return np.clip(np.asarray(prediction, dtype=np.float64), 0.0, None)


class HistoricalBaseline:
    """Past net spend per day since the first purchase, times the horizon."""

    def __init__(self, *, horizon_days: int) -> None:
        self.horizon_days = horizon_days
        self.fitted_ = False

    def fit(self, features: pd.DataFrame, target: Any = None) -> HistoricalBaseline:
        """Nothing to learn; checks that the needed columns exist."""
        _require_columns(features, ("net_spend", "T"), "historical")
        self.fitted_ = True
        return self

    def predict(self, features: pd.DataFrame) -> np.ndarray:
        """``max(net_spend, 0) / (T + 1) * horizon_days``."""
        if not self.fitted_:
            raise NotFittedError("The historical baseline is not fitted yet; call fit first.")
        _require_columns(features, ("net_spend", "T"), "historical")
        spend = np.clip(features["net_spend"].to_numpy(np.float64), 0.0, None)
        days = features["T"].to_numpy(np.float64) + 1.0
        return spend / days * self.horizon_days
