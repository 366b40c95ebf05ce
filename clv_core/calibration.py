"""Monotone calibration of predicted CLV on held-out training customers.

A network trained on a log-scale or likelihood objective ranks customers well but gets the money
wrong: log-MSE predicts something like a geometric mean (too low), ZILN's
``exp(mu + sigma**2 / 2)`` over-forecasts heavy tails. A calibration keeps the ranking and fixes
the magnitudes. Two are offered:

* :class:`PowerCalibrator` (default): ``calibrated = exp(a) * raw**b``, fitted as a Poisson
  GLM with log link on ``log(raw)`` (quasi-likelihood, so it suits money amounts with many
  zeros). Two parameters: ``a`` fixes the level (the fitted totals equal the actual totals on
  the calibration customers), ``b`` fixes the spread (ZILN over-disperses heavy tails, b < 1;
  log-MSE under-disperses, b > 1). Few parameters make it stable on heavy-tailed data where
  a few huge customers dominate any bin.
* :class:`MonotoneCalibrator` (isotonic): customers are sorted by raw prediction and cut into
  equal-count bins; isotonic regression (pool adjacent violators) makes the bins' mean actual values
  non-decreasing; the map is then linear in money between the bins' mean raw predictions (so a
  bin's customers keep, on average, the bin's mean: interpolating in log space instead is concave
  in money and lifted every forecast between two knots), and proportional beyond the first and
  last bin. A tiny slope keeps the map strictly increasing, so no two customers that the network
  told apart become tied. Bundles written before linear interpolation keep their log-space map.

Both are fitted on out-of-fold predictions, which come from one ensemble member each; the network
applies them to each member's expected value and then averages (``per_member``), because a mean
of several members is less spread out than one member's prediction and a map fitted on the one
does not fit the other. Bundles written before that apply their map to the ensemble mean.

Fitted state is plain JSON (``to_dict``/``from_dict``) for the model bundle.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from clv_core.errors import ConfigError, DataError, NotFittedError

__all__ = [
    "INTERPOLATIONS",
    "TIE_BREAK_SLOPE",
    "MonotoneCalibrator",
    "PowerCalibrator",
    "binned_isotonic",
    "calibrator_from_dict",
    "pool_adjacent_violators",
]

TIE_BREAK_SLOPE = 1e-6
# How the isotonic map interpolates between its knots: in money (new fits), or in log1p of the
# raw prediction (bundles written before linear interpolation).
INTERPOLATIONS = ("linear", "log1p")


class MonotoneCalibrator:
    """Map raw predictions to calibrated money amounts, preserving their order.

    Parameters
    ----------
    customers_per_bin
        Target bin size; the number of bins is clamped to [5, 50].
    interpolation
        ``linear`` (in money) or ``log1p`` (in ``log1p`` of the raw prediction, as bundles written
        before linear interpolation were fitted).
    per_member
        Whether the network applies the map to each member's expected value before averaging
        (True) or to the ensemble mean (False, bundles written before that).
    """

    def __init__(
        self,
        *,
        customers_per_bin: int = 200,
        interpolation: str = "linear",
        per_member: bool = True,
    ) -> None:
        if customers_per_bin < 1:
            raise ConfigError(f"customers_per_bin must be at least 1, got {customers_per_bin}.")
        if interpolation not in INTERPOLATIONS:
            raise ConfigError(
                f"interpolation must be one of {list(INTERPOLATIONS)}, got {interpolation!r}."
            )
        self.customers_per_bin = customers_per_bin
        self.interpolation = interpolation
        self.per_member = per_member
        self.knots_x_: np.ndarray | None = None
        self.knots_y_: np.ndarray | None = None

    def fit(self, raw_prediction: np.ndarray, actual: np.ndarray) -> MonotoneCalibrator:
        """Fit the map on validation customers' raw predictions and actual values."""
        raw = np.asarray(raw_prediction, dtype=np.float64)
        target = np.asarray(actual, dtype=np.float64)
        if raw.shape != target.shape or raw.size < 10:
            raise DataError(
                "Calibration needs at least 10 validation customers with a prediction and an "
                f"actual value; got {raw.size}. Use more data or a larger validation fraction."
            )
        n_bins = int(np.clip(raw.size // self.customers_per_bin, 5, 50))
        knots_x, knots_y = binned_isotonic(raw, target, n_bins)
        self.knots_x_ = np.maximum(knots_x, 0.0)
        self.knots_y_ = np.maximum.accumulate(np.maximum(knots_y, 0.0))
        return self

    def transform(self, raw_prediction: np.ndarray) -> np.ndarray:
        """Calibrated predictions (non-negative, same order as the raw ones)."""
        if self.knots_x_ is None or self.knots_y_ is None:
            raise NotFittedError("The calibration is not fitted yet; call fit first.")
        raw = np.maximum(np.asarray(raw_prediction, dtype=np.float64), 0.0)
        x, y = self.knots_x_, self.knots_y_
        if x.size == 1:
            ratio = y[0] / x[0] if x[0] > 0 else 0.0
            return raw * ratio + TIE_BREAK_SLOPE * raw
        if self.interpolation == "linear":
            calibrated = np.interp(raw, x, y)
        else:
            calibrated = np.interp(np.log1p(raw), np.log1p(x), y)
        below = raw < x[0]
        above = raw > x[-1]
        # Outside the validation range the map is proportional to the nearest knot's ratio.
        if x[0] > 0:
            calibrated[below] = raw[below] * (y[0] / x[0])
        if x[-1] > 0:
            calibrated[above] = raw[above] * (y[-1] / x[-1])
        return calibrated + TIE_BREAK_SLOPE * raw

    def to_dict(self) -> dict[str, Any]:
        """Fitted state as JSON-ready data."""
        if self.knots_x_ is None or self.knots_y_ is None:
            raise NotFittedError("The calibration is not fitted yet; call fit first.")
        return {
            "kind": "isotonic",
            "customers_per_bin": self.customers_per_bin,
            "interpolation": self.interpolation,
            "per_member": self.per_member,
            "knots_x": self.knots_x_.tolist(),
            "knots_y": self.knots_y_.tolist(),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> MonotoneCalibrator:
        """Rebuild a fitted calibration from :meth:`to_dict` output."""
        try:
            calibrator = cls(
                customers_per_bin=int(data["customers_per_bin"]),
                # Bundles from before these fields interpolated in log1p, on the ensemble mean.
                interpolation=str(data.get("interpolation", "log1p")),
                per_member=_flag(data, "per_member"),
            )
            calibrator.knots_x_ = np.asarray(data["knots_x"], dtype=np.float64)
            calibrator.knots_y_ = np.asarray(data["knots_y"], dtype=np.float64)
        except (KeyError, TypeError, ValueError, ConfigError) as error:
            raise DataError(f"The calibration in meta.json is damaged: {error!r}.") from error
        x, y = calibrator.knots_x_, calibrator.knots_y_
        if (
            x.ndim != 1
            or x.shape != y.shape
            or x.size == 0
            or not (np.isfinite(x).all() and np.isfinite(y).all())
            or (np.diff(x) <= 0).any()
        ):
            raise DataError(
                "The calibration in meta.json is damaged: knots must be finite, increasing "
                "and of equal length."
            )
        return calibrator


def binned_isotonic(
    order_by: np.ndarray, values: np.ndarray, n_bins: int
) -> tuple[np.ndarray, np.ndarray]:
    """Knots ``(x, y)`` of a binned isotonic fit of ``values`` against ``order_by``.

    The rows sorted by ``order_by`` are cut into ``n_bins`` bins of equal size; ``x`` is a bin's
    mean of ``order_by`` and ``y`` its mean of ``values``, made non-decreasing (pooled adjacent
    violators, weighted by the bins' sizes). Bins with the same ``x`` share one knot (their
    size-weighted mean), so ``x`` is strictly increasing.
    """
    order = np.argsort(order_by, kind="stable")
    bins = np.array_split(order, n_bins)
    x = np.array([order_by[rows].mean() for rows in bins])
    weights = np.array([rows.size for rows in bins], dtype=np.float64)
    y = pool_adjacent_violators(np.array([values[rows].mean() for rows in bins]), weights)
    knots_x = np.unique(x)
    knots_y = np.array([np.average(y[x == knot], weights=weights[x == knot]) for knot in knots_x])
    return knots_x, knots_y


def pool_adjacent_violators(values: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Weighted isotonic (non-decreasing) regression of ``values`` in their given order."""
    block_values: list[float] = []
    block_weights: list[float] = []
    block_sizes: list[int] = []
    for value, weight in zip(values, weights, strict=True):
        block_values.append(float(value))
        block_weights.append(float(weight))
        block_sizes.append(1)
        while len(block_values) > 1 and block_values[-2] > block_values[-1]:
            total = block_weights[-2] + block_weights[-1]
            merged = (
                block_values[-2] * block_weights[-2] + block_values[-1] * block_weights[-1]
            ) / total
            size = block_sizes[-2] + block_sizes[-1]
            del block_values[-1], block_weights[-1], block_sizes[-1]
            block_values[-1], block_weights[-1], block_sizes[-1] = merged, total, size
    return np.repeat(block_values, block_sizes)


class PowerCalibrator:
    """``calibrated = exp(intercept) * raw**exponent``, a Poisson GLM on ``log(raw)``.

    ``per_member``: as for :class:`MonotoneCalibrator`.
    """

    def __init__(self, *, per_member: bool = True) -> None:
        self.per_member = per_member
        self.intercept_: float | None = None
        self.exponent_: float | None = None

    def fit(self, raw_prediction: np.ndarray, actual: np.ndarray) -> PowerCalibrator:
        """Fit on held-out customers by maximising the Poisson quasi-likelihood."""
        from scipy.optimize import minimize

        raw = np.asarray(raw_prediction, dtype=np.float64)
        target = np.asarray(actual, dtype=np.float64)
        usable = raw > 0
        if raw.shape != target.shape or usable.sum() < 10 or target[usable].sum() <= 0:
            raise DataError(
                "Calibration needs at least 10 held-out customers with a positive prediction "
                f"and some spend; got {int(usable.sum())}. Use more data or a larger validation "
                "fraction."
            )
        log_raw = np.log(raw[usable])
        y = target[usable]
        center = float(log_raw.mean())
        shifted = log_raw - center

        def objective(parameters: np.ndarray) -> tuple[float, np.ndarray]:
            linear = np.clip(parameters[0] + parameters[1] * shifted, -50, 50)
            mean = np.exp(linear)
            loss = float(np.mean(mean - y * linear))
            gradient = np.array([np.mean(mean - y), np.mean((mean - y) * shifted)])
            return loss, gradient

        start = np.array([np.log(y.mean()), 1.0])
        result = minimize(
            objective, start, jac=True, method="L-BFGS-B", bounds=[(None, None), (0.05, 5.0)]
        )
        exponent = float(result.x[1])
        # The Poisson score equation for the intercept makes the totals equal; solve it exactly
        # rather than to the optimiser's tolerance.
        self.exponent_ = exponent
        self.intercept_ = float(np.log(y.sum()) - np.log(np.exp(exponent * shifted).sum()))
        self.intercept_ -= exponent * center
        return self

    def transform(self, raw_prediction: np.ndarray) -> np.ndarray:
        """Calibrated predictions (0 where the raw prediction is 0)."""
        if self.intercept_ is None or self.exponent_ is None:
            raise NotFittedError("The calibration is not fitted yet; call fit first.")
        raw = np.maximum(np.asarray(raw_prediction, dtype=np.float64), 0.0)
        with np.errstate(divide="ignore"):
            log_raw = np.log(raw)
        calibrated = np.exp(np.clip(self.intercept_ + self.exponent_ * log_raw, -50, 50))
        return np.where(raw > 0, calibrated, 0.0)

    def to_dict(self) -> dict[str, Any]:
        """Fitted state as JSON-ready data."""
        if self.intercept_ is None or self.exponent_ is None:
            raise NotFittedError("The calibration is not fitted yet; call fit first.")
        return {
            "kind": "power",
            "intercept": self.intercept_,
            "exponent": self.exponent_,
            "per_member": self.per_member,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PowerCalibrator:
        """Rebuild a fitted calibration from :meth:`to_dict` output."""
        try:
            calibrator = cls(per_member=_flag(data, "per_member"))
            calibrator.intercept_ = float(data["intercept"])
            calibrator.exponent_ = float(data["exponent"])
        except (KeyError, TypeError, ValueError) as error:
            raise DataError(f"The calibration in meta.json is damaged: {error!r}.") from error
        return calibrator


def _flag(data: dict[str, Any], key: str) -> bool:
    """A stored true/false field, false when absent (bundles from before it)."""
    value = data.get(key, False)
    if not isinstance(value, bool):
        raise ValueError(f"{key} must be true or false, got {value!r}")
    return value


def calibrator_from_dict(data: Any) -> PowerCalibrator | MonotoneCalibrator:
    """Rebuild whichever calibration :meth:`to_dict` wrote."""
    kind = data.get("kind") if isinstance(data, dict) else None
    if kind == "power":
        return PowerCalibrator.from_dict(data)
    if kind == "isotonic":
        return MonotoneCalibrator.from_dict(data)
    raise DataError(
        "The calibration in meta.json is damaged: expected an object with kind 'power' or "
        "'isotonic'."
    )
