"""The MLP configuration: one frozen, validated value that fully describes a training run.

A config is hashable (so it is a valid cache key), JSON round-trippable (it is stored in the
model bundle's ``meta.json`` and read from ``--config MODEL.json``), and every invalid value
raises a :class:`~clv_core.errors.ConfigError` naming the field and what is allowed; all problems
are reported together.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from enum import StrEnum
from pathlib import Path
from typing import Any

from clv_core.errors import ConfigError

__all__ = [
    "ISOTONIC_FROM_CUSTOMERS",
    "Activation",
    "Bounds",
    "Calibration",
    "LossKind",
    "MlpConfig",
    "OptimizerKind",
    "config_bounds",
    "load_config",
]


class LossKind(StrEnum):
    """Training objective of the network.

    ``ziln``: zero-inflated lognormal likelihood (Wang, Liu & Miao 2019) with outputs
    P(purchase), mu, sigma; gives a distribution, hence P(purchase) and intervals.
    ``log_mse``: mean squared error on ``log1p(y)``. ``huber``: Huber loss on ``log1p(y)``.
    """

    ZILN = "ziln"
    LOG_MSE = "log_mse"
    HUBER = "huber"


class OptimizerKind(StrEnum):
    """Gradient-descent optimiser."""

    ADAM = "adam"
    ADAMW = "adamw"
    SGD = "sgd"


class Activation(StrEnum):
    """Activation of the hidden layers."""

    RELU = "relu"
    GELU = "gelu"
    SELU = "selu"
    ELU = "elu"
    TANH = "tanh"
    SWISH = "swish"


# From this many held-out customers on, ``Calibration.AUTO`` fits the isotonic map: across the
# accuracy benchmark's generated shops (four seeds) it was closer to the truth than the power map
# in 24 of 32 runs with 13,000 to 18,000 held-out customers, and in 15 of 32 with about 2,800.
ISOTONIC_FROM_CUSTOMERS = 10_000


class Calibration(StrEnum):
    """How network outputs are mapped to money after training (see ``clv_core.calibration``).

    ``auto`` (default): ``isotonic`` when at least
    :data:`ISOTONIC_FROM_CUSTOMERS` training customers have an out-of-fold prediction to fit it
    on, ``power`` below that.
    ``power``: ``exp(a) * raw**b`` fitted on held-out training customers (level and spread).
    ``isotonic``: a binned monotone map fitted on the same customers (more flexible, noisier).
    ``none``: use the network's own expected value.
    """

    AUTO = "auto"
    POWER = "power"
    ISOTONIC = "isotonic"
    NONE = "none"


@dataclass(frozen=True, slots=True)
class Bounds:
    """The values a numeric setting accepts; forms take their limits from here.

    Integers when ``lower``, ``upper`` and the default are ints. An open end excludes the bound
    itself; a form then starts (or stops) one ``step`` inside it.
    """

    lower: float
    upper: float
    lower_open: bool = False
    upper_open: bool = False
    step: float = 1

    @property
    def is_int(self) -> bool:
        return isinstance(self.lower, int) and isinstance(self.upper, int)

    @property
    def form_min(self) -> float:
        """The smallest value a form offers."""
        return self.lower + self.step if self.lower_open else self.lower

    @property
    def form_max(self) -> float:
        """The largest value a form offers."""
        return self.upper - self.step if self.upper_open else self.upper

    def check(self, problems: list[str], name: str, value: object) -> None:
        """Append a sentence to ``problems`` when ``value`` is not accepted."""
        if self.is_int:
            _check_int(problems, name, value, int(self.lower), int(self.upper))
        else:
            _check_range(
                problems,
                name,
                value,
                self.lower,
                self.upper,
                lower_open=self.lower_open,
                upper_open=self.upper_open,
            )


def _bounded(
    default: Any,
    lower: float,
    upper: float,
    *,
    lower_open: bool = False,
    upper_open: bool = False,
    step: float = 1,
) -> Any:
    """A dataclass field with its default and its :class:`Bounds` in the metadata."""
    bounds = Bounds(lower, upper, lower_open, upper_open, step)
    return field(default=default, metadata={"bounds": bounds})


def config_bounds(name: str) -> Bounds:
    """The bounds of the numeric :class:`MlpConfig` field ``name``."""
    for item in fields(MlpConfig):
        if item.name == name and isinstance(item.metadata.get("bounds"), Bounds):
            bounds: Bounds = item.metadata["bounds"]
            return bounds
    raise KeyError(f"{name!r} is not a bounded field of MlpConfig")


@dataclass(frozen=True, slots=True, kw_only=True)
class MlpConfig:
    """Everything that defines how the CLV network is built and trained.

    The defaults were chosen on CDNOW and on synthetic heavy-tailed data (see the README's
    "Model defaults" section) and are meant to work unchanged on data not seen before.

    Attributes
    ----------
    hidden_layers
        Units of each hidden layer, input side first, 1 to 6 layers of 1 to 2048 units.
    activation
        One of :class:`Activation`.
    dropout_rate
        Dropout after each hidden layer, in [0, 0.9).
    l2
        L2 weight penalty on hidden and output kernels, in [0, 1].
    batch_norm
        Batch normalisation after each hidden layer.
    optimizer
        One of :class:`OptimizerKind`.
    learning_rate
        In (0, 1].
    batch_size
        Rows per gradient step, 8 to 65536.
    max_epochs
        Upper bound on passes over the training data, 1 to 10000.
    patience
        Epochs without validation improvement before stopping, 1 to 1000.
    validation_fraction
        Share of the training customers held out for early stopping and calibration, in
        [0.05, 0.5].
    loss
        One of :class:`LossKind`.
    sigma_max
        ZILN only: upper bound of the lognormal sigma. ``exp(mu + sigma**2 / 2)`` explodes for
        large sigma on heavy-tailed data; bounding it keeps expected values sane. In [0.1, 5].
    tweedie_weight
        ZILN only: weight of a Tweedie deviance (power 1.5) of each member's expected value
        ``p * exp(mu + sigma**2 / 2)`` added to the ZILN likelihood, in [0, 100]; 0 (the
        default) trains on the likelihood alone. The deviance makes the expected value itself
        fit the money, which ranks who buys again better (2 raised the Spearman ties in the
        accuracy benchmark from 6 to 15 of 18 runs) but made the money level less steady on
        some logs (CDNOW out of time, the bundled sample), so it is off by default.
    rank_weight
        ZILN only: weight of a pairwise ranking term in the loss, in [0, 100]; 0 (the default)
        trains on the likelihood alone. The term trains a fourth output of each member that
        may reorder customers whose expected values are within a factor ``exp(0.25)`` of each
        other (for every two customers of a batch whose spend differs, the logistic loss of
        their rank scores being in the wrong order); the money level comes from the
        likelihood's expected values (:mod:`clv_core.ziln`). At 0.5 the network was at least
        level with the best baseline on Spearman in all 18 runs of the accuracy benchmark (6
        without the term) with Gini still at least level in all 18, but training took about
        twice as long and the money per decile moved on some logs (the 30,000-customer
        world of the model benchmark: decile MAPE 0.17 to 0.45), so it is off by default.
    btyd_inputs
        Give the network two inputs computed by the BG/NBD model fitted on its training
        customers (``bgnbd_p_alive``, the chance that the customer is still active, and
        ``bgnbd_purchase_rate``, the purchase days per year expected now), when the features
        have ``frequency``, ``recency`` and ``T``. On by default: across the accuracy
        benchmark's 36 runs the network was at least level with the best baseline on Spearman in
        25 (17 without) and on Gini in all 36 (35), with the money level about the same
        (ordered by the expected value, before ``ranking_moment``).
    ranking_moment
        ZILN only: the ``g`` in (0, 1] of the score customers are ordered by, each member's
        ``E[Y^g]^(1/g) = p^(1/g) * exp(mu + g * sigma**2 / 2)``; the calibration, fitted on the
        held-out customers' scores and spend, turns the score into money. 1 orders by the
        expected value; below 1 the chance of buying counts more and the lognormal's spread
        (the least certain output) less. Without a calibration (``none``) customers are ordered
        by the expected value. At 0.85 (the default) the network was at least level with the
        best baseline on Spearman in 35 of the accuracy benchmark's 36 runs (25 at 1).
    ensemble_size
        Networks trained with seeds ``seed, seed + 1, ...`` whose predictions are averaged,
        1 to 20; averaging steadies the ranking of rare high-value customers.
    calibration
        One of :class:`Calibration`.
    interval_coverage
        Central coverage of the prediction interval (ZILN), in (0, 1); 0.8 gives the 10th and
        90th percentiles.
    seed
        Seeds weight initialisation, shuffling, dropout and the validation split.
    """

    hidden_layers: tuple[int, ...] = (64, 32)
    activation: Activation = Activation.RELU
    dropout_rate: float = _bounded(0.1, 0.0, 0.9, upper_open=True, step=0.01)
    l2: float = _bounded(1e-5, 0.0, 1.0, step=1e-6)
    batch_norm: bool = False
    optimizer: OptimizerKind = OptimizerKind.ADAM
    learning_rate: float = _bounded(1e-3, 0.0, 1.0, lower_open=True, step=1e-6)
    batch_size: int = _bounded(256, 8, 65536)
    max_epochs: int = _bounded(200, 1, 10000)
    patience: int = _bounded(10, 1, 1000)
    validation_fraction: float = _bounded(0.2, 0.05, 0.5, step=0.01)
    loss: LossKind = LossKind.ZILN
    sigma_max: float = _bounded(2.0, 0.1, 5.0, step=0.1)
    tweedie_weight: float = _bounded(0.0, 0.0, 100.0, step=0.1)
    rank_weight: float = _bounded(0.0, 0.0, 100.0, step=0.1)
    btyd_inputs: bool = True
    ranking_moment: float = _bounded(0.85, 0.0, 1.0, lower_open=True, step=0.05)
    ensemble_size: int = _bounded(5, 1, 20)
    calibration: Calibration = Calibration.AUTO
    interval_coverage: float = _bounded(0.8, 0.0, 1.0, lower_open=True, upper_open=True, step=0.01)
    seed: int = _bounded(0, 0, 2**31 - 1)

    def __post_init__(self) -> None:
        problems: list[str] = []
        if not isinstance(self.hidden_layers, list | tuple):
            raise ConfigError(
                "Invalid model configuration:",
                problems=[
                    f"hidden_layers: {self.hidden_layers!r} must be a list of layer sizes "
                    "such as [64, 32]"
                ],
            )
        object.__setattr__(self, "hidden_layers", tuple(self.hidden_layers))
        for name, kind in (
            ("activation", Activation),
            ("optimizer", OptimizerKind),
            ("loss", LossKind),
            ("calibration", Calibration),
        ):
            value = getattr(self, name)
            try:
                object.__setattr__(self, name, kind(value))
            except ValueError:
                problems.append(
                    f"{name}: {value!r} is not one of {[member.value for member in kind]}"
                )
        layers = self.hidden_layers
        if not 1 <= len(layers) <= 6 or any(
            not isinstance(units, int) or isinstance(units, bool) or not 1 <= units <= 2048
            for units in layers
        ):
            problems.append(
                f"hidden_layers: {list(layers)} must be 1 to 6 whole numbers of units, "
                "each from 1 to 2048"
            )
        for item in fields(self):
            bounds = item.metadata.get("bounds")
            if isinstance(bounds, Bounds):
                bounds.check(problems, item.name, getattr(self, item.name))
        for name in ("batch_norm", "btyd_inputs"):
            if not isinstance(getattr(self, name), bool):
                problems.append(f"{name}: {getattr(self, name)!r} must be true or false")
        if problems:
            raise ConfigError("Invalid model configuration:", problems=problems)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready values (enums as strings, layers as a list)."""
        data = asdict(self)
        data["hidden_layers"] = list(self.hidden_layers)
        return {
            key: (str(value) if isinstance(value, StrEnum) else value)
            for key, value in data.items()
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> MlpConfig:
        """Build a config from JSON data; unknown keys are an error listing the valid ones."""
        if not isinstance(data, dict):
            raise ConfigError("A model configuration must be a JSON object of field: value.")
        valid = [field.name for field in fields(cls)]
        unknown = sorted(set(data) - set(valid))
        if unknown:
            raise ConfigError(
                f"Unknown model configuration field(s) {unknown}; valid fields are {valid}."
            )
        values = dict(data)
        if "hidden_layers" in values:
            layers = values["hidden_layers"]
            if not isinstance(layers, list | tuple):
                raise ConfigError(
                    f"hidden_layers: {layers!r} must be a list of layer sizes such as [64, 32]"
                )
            values["hidden_layers"] = tuple(layers)
        return cls(**values)


def load_config(path: Path) -> MlpConfig:
    """Read an :class:`MlpConfig` from a JSON file (missing fields take their defaults)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as error:
        raise ConfigError(f"The model configuration file '{path}' does not exist.") from error
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ConfigError(
            f"The model configuration file '{path}' is not valid UTF-8 JSON: {error}."
        ) from error
    return MlpConfig.from_dict(data)


def _check_range(
    problems: list[str],
    name: str,
    value: object,
    lower: float,
    upper: float,
    *,
    lower_open: bool = False,
    upper_open: bool = False,
) -> None:
    left = "(" if lower_open else "["
    right = ")" if upper_open else "]"
    if isinstance(value, bool) or not isinstance(value, int | float):
        problems.append(f"{name}: {value!r} must be a number in {left}{lower}, {upper}{right}")
        return
    too_low = value <= lower if lower_open else value < lower
    too_high = value >= upper if upper_open else value > upper
    if too_low or too_high or value != value:
        problems.append(f"{name}: {value} is outside {left}{lower}, {upper}{right}")


def _check_int(problems: list[str], name: str, value: object, lower: int, upper: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not lower <= value <= upper:
        problems.append(f"{name}: {value!r} must be a whole number from {lower} to {upper}")
