"""SHAP explanations of the CLV network's predicted customer lifetime value.

What is explained
-----------------
The quantity explained is exactly what :meth:`ClvMlp.predict <clv_core.mlp.ClvMlp.predict>`
returns as ``predicted_clv``: the calibrated expected net spend over the horizon, in money.
It is a derived quantity (for ZILN, ``P(buy) * exp(mu + sigma**2 / 2)`` per member, averaged
over the ensemble, scaled back to money and calibrated), so an in-memory Keras model is built
around ``model.network_`` whose single output is that value. Nothing of it is ever saved.

The SHAP values are DeepSHAP values (Lundberg & Lee 2017, "A Unified Approach to Interpreting
Model Predictions"; DeepLIFT rescale rule of Shrikumar, Greenside & Kundaje 2017, with Shapley
values for multiplications of two varying terms), computed by ``shap.DeepExplainer`` against a
seeded background sample of training customers. They add up *exactly* in money:

    ``base_value + sum of a customer's SHAP values == predicted_clv``  (to float32 rounding)

where ``base_value`` is the mean ``predicted_clv`` of the background customers. The
calibration is part of the explained graph: the power calibration
``exp(intercept) * raw**exponent`` as ``exp(intercept + exponent * log(raw))`` and the
isotonic map as a sum of ReLU hinges in ``log1p(raw)``, so nothing is approximated after the
network. ``shap`` 0.51 has no DeepLIFT rule for ``Log`` and ``Expm1`` (used here) nor for
``Erf``/``Erfc``/``Neg`` (GELU); every element-wise function of one input takes the rescale
rule and negation is linear, so those rules are registered with shap before explaining (without
them DeepExplainer refuses the graph). SiLU ("swish") hides its maths behind a custom gradient,
so a network using it is explained through a same-weights copy that writes it as
``x * sigmoid(x)``. With every activation of :class:`~clv_core.config.Activation`, batch
normalisation, every loss and every calibration, the explanation is exact.

SHAP values are computed for the network's input columns and then summed back to the features
an analyst knows: a numeric feature gets its standardised column plus its ``__missing``
indicator, a categorical feature the sum over all its one-hot columns. The sum of SHAP values is
unchanged by this grouping, so additivity holds for the original features as well.

Speed: about 2 seconds, and up to 4.5 for the first call in a process (which imports shap),
for 1,000 customers against 200 background customers with the default 5-member network on two
CPU cores (``benchmarks/explain_benchmark.py``); many customers share each call of shap's
attribution graph (see :func:`_batched_shap_values`). TensorFlow and SHAP are imported only
when :func:`explain_customers` runs; plotly only when a figure is built. No matplotlib anywhere.

Threads: while it explains, shap swaps entries of TensorFlow's process-wide gradient registry.
Explanations are therefore serialised by a lock, and no network should be *trained* in another
thread at the same moment (a training step traced then would get shap's gradients).
"""

from __future__ import annotations

import contextlib
import math
import re
import warnings
from collections.abc import Hashable, Iterator, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

from clv_core import ziln
from clv_core.calibration import TIE_BREAK_SLOPE, MonotoneCalibrator, PowerCalibrator
from clv_core.config import LossKind
from clv_core.errors import ConfigError, DataError, NotFittedError
from clv_core.language import Language, parse_language
from clv_core.mlp import PREDICT_BATCH_SIZE, TENSORFLOW_LOCK, ClvMlp, import_keras

if TYPE_CHECKING:
    import plotly.graph_objects as go

__all__ = [
    "EXPLAINED_SPACE",
    "FEATURE_LABELS",
    "ExplainSettings",
    "Explanation",
    "beeswarm",
    "dependence_plot",
    "explain_customers",
    "feature_label",
    "importance_bar",
    "waterfall",
]

LANGUAGES: tuple[str, ...] = ("en", "zh")

EXPLAINED_SPACE = "predicted_clv"
"""The explained quantity: ``ClvMlp.predict(...)["predicted_clv"]``, calibrated money."""

# Upper bound of the background sample: DeepExplainer's cost grows linearly with it, and shap
# itself warns beyond 5,000 rows.
MAX_BACKGROUND_SIZE = 5000
MAX_SAMPLE_SIZE = 1_000_000
# log(raw) is taken of max(raw, _LOG_FLOOR): only the log-target losses can give raw == 0, and
# there the explained value is at most exp(intercept) * 1e-300**exponent instead of 0.
_LOG_FLOOR = 1e-300
# DeepLIFT's rescale rule holds for any element-wise function of one input; shap 0.51 lacks it
# for these operations used by the expected-value graph (Log, Expm1) and by GELU (Erf, Erfc).
_ONE_INPUT_OPERATIONS = ("Log", "Expm1", "Erf", "Erfc")
# ... and has no rule for negation, which is linear (GELU computes erfc(-x / sqrt(2))).
_LINEAR_OPERATIONS = ("Neg",)
# Activations whose TensorFlow kernel carries a custom gradient (tf.nn.silu): DeepExplainer
# would see one opaque operation and use its plain gradient, so the network is explained
# through a copy that writes them out as x * sigmoid(x).
_OPAQUE_ACTIVATIONS = frozenset({"silu", "swish"})

# Customer-by-background row pairs per call of the attribution graph (twice as many rows run).
_ROWS_PER_GRAPH_CALL = 4096


FEATURE_LABELS: Mapping[str, tuple[str, str]] = MappingProxyType(
    {
        "frequency": ("repeat purchase days", "复购天数"),
        "recency": ("days from first to last purchase", "首末次购买间隔天数"),
        "T": ("days since first purchase", "首次购买至今天数"),
        "monetary_value": ("mean repeat-purchase spend", "复购平均消费额"),
        "n_orders": ("orders", "订单数"),
        "active_days": ("days with orders", "有订单的天数"),
        "active_months": ("months with orders", "有订单的月数"),
        "orders_per_month": ("orders per month", "月均订单数"),
        "gross_spend": ("gross spend", "总消费额"),
        "net_spend": ("net spend", "净消费额"),
        "average_order_value": ("average order value", "平均订单金额"),
        "first_order_value": ("first order value", "首单金额"),
        "last_order_value": ("last order value", "末单金额"),
        "max_order_value": ("largest order value", "最大订单金额"),
        "n_returns": ("returns", "退货次数"),
        "return_amount": ("returned amount", "退货金额"),
        "return_share": ("share of spend returned", "退货金额占比"),
        "days_since_last_purchase": ("days since last purchase", "距上次购买天数"),
        "mean_days_between_purchases": ("mean days between purchases", "平均购买间隔天数"),
        "std_days_between_purchases": (
            "spread of days between purchases",
            "购买间隔天数标准差",
        ),
        "spend_trend": ("spend trend", "消费趋势"),
        "order_trend": ("order trend", "订单趋势"),
        "days_since_signup": ("days since signup", "注册至今天数"),
        "days_from_signup_to_first_purchase": (
            "days from signup to first purchase",
            "注册到首购天数",
        ),
        "channel": ("acquisition channel", "获客渠道"),
        "region": ("region", "地区"),
        "device": ("device", "设备"),
        "age_group": ("age group", "年龄段"),
        "membership": ("membership", "会员等级"),
        "browsing_minutes": ("browsing minutes", "浏览时长（分钟）"),
    }
)
"""English and Simplified Chinese labels of the built-in feature names.

Window features (``orders_last_<n>d``, ``spend_last_<n>d``) and other ``days_since_<x>``
attributes are labelled by pattern in :func:`feature_label`; other names are shown as they are.
"""

_WINDOW_PATTERNS: tuple[tuple[re.Pattern[str], str, str], ...] = (
    (re.compile(r"orders_last_(\d+)d"), "orders in last {} days", "近{}天订单数"),
    (re.compile(r"spend_last_(\d+)d"), "spend in last {} days", "近{}天消费额"),
    (re.compile(r"days_since_(\w+)"), "days since {}", "距{}天数"),
)

_TEXT: Mapping[str, Mapping[str, str]] = MappingProxyType(
    {
        "en": MappingProxyType(
            {
                "missing": "missing",
                "mean_abs": "mean |SHAP value| (effect on predicted CLV)",
                "shap": "SHAP value (effect on predicted CLV)",
                "importance_title": "Which features move predicted CLV most",
                "beeswarm_title": "Effect of each feature on every explained customer",
                "value_rank": "feature value<br>(low to high)",
                "no_rank": "category or missing",
                "dependence_title": "How {} moves predicted CLV",
                "missing_note": "{} customer(s) with a missing value not shown",
                "waterfall_title": "Why customer {} is predicted {}",
                "base": "average customer",
                "prediction": "predicted CLV",
                "other": "{} other features",
                "customer": "customer",
            }
        ),
        "zh": MappingProxyType(
            {
                "missing": "缺失",
                "mean_abs": "平均 |SHAP 值|（对预测 CLV 的影响）",
                "shap": "SHAP 值（对预测 CLV 的影响）",
                "importance_title": "对预测 CLV 影响最大的特征",
                "beeswarm_title": "各特征对每位客户的影响",
                "value_rank": "特征值<br>（低到高）",
                "no_rank": "类别或缺失",
                "dependence_title": "{} 如何影响预测 CLV",
                "missing_note": "未显示 {} 位取值缺失的客户",
                "waterfall_title": "客户 {} 的预测值为 {} 的原因",
                "base": "平均客户",
                "prediction": "预测 CLV",
                "other": "其余 {} 个特征",
                "customer": "客户",
            }
        ),
    }
)


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

    def top_drivers(self, n: int = 3, language: str = "en") -> pd.DataFrame:
        """Each customer's ``n`` largest contributions (by absolute value), in words.

        Parameters
        ----------
        n
            Drivers per customer, 1 to the number of features.
        language
            ``"en"`` or ``"zh"``: the labels of :data:`FEATURE_LABELS` in that language.

        Returns
        -------
        pandas.DataFrame
            ``customer_id``, ``driver_1`` ... ``driver_n``, each like
            ``"orders in last 90 days = 4 (+312.5)"``: label, the customer's value, and the
            SHAP value in money with its sign. Ties keep the feature order.
        """
        language = _check_language(language)
        if not _is_whole(n) or not 1 <= n <= len(self.features):
            raise ConfigError(
                f"n must be a whole number from 1 to {len(self.features)} (the number of "
                f"features), got {n!r}."
            )
        shap_values = self.wide().to_numpy()
        feature_values = self.feature_values().to_numpy()
        order = np.argsort(-np.abs(shap_values), axis=1, kind="stable")[:, :n]
        labels = [feature_label(name, language) for name in self.features]
        missing = _TEXT[language]["missing"]
        columns: dict[str, Any] = {"customer_id": list(self.customer_ids)}
        rows = np.arange(len(order))
        for rank in range(n):
            picked = order[:, rank]
            columns[f"driver_{rank + 1}"] = [
                f"{labels[column]} = {_format_value(value, missing)} "
                f"({_format_contribution(contribution)})"
                for column, value, contribution in zip(
                    picked,
                    feature_values[rows, picked],
                    shap_values[rows, picked],
                    strict=True,
                )
            ]
        return pd.DataFrame(columns)

    def _check_feature(self, feature: str) -> None:
        if feature not in self.features:
            raise DataError(
                f"'{feature}' is not one of the explained features; choose one of "
                f"{list(self.features)}."
            )

    def _customer_position(self, customer_id: Hashable) -> int:
        position = int(self.customer_ids.get_indexer(pd.Index([customer_id], dtype=object))[0])
        if position < 0:
            examples = [str(c) for c in self.customer_ids[:3]]
            raise DataError(
                f"Customer '{customer_id}' is not among the {len(self.customer_ids)} explained "
                f"customers (for example {examples}). Explain that customer first."
            )
        return position


def feature_label(name: str, language: str = "en") -> str:
    """A short human label of a feature name in English (``"en"``) or Chinese (``"zh"``).

    Built-in names come from :data:`FEATURE_LABELS`; ``orders_last_<n>d``, ``spend_last_<n>d``
    and ``days_since_<x>`` are labelled by pattern; any other name is returned as it is.
    """
    position = LANGUAGES.index(_check_language(language))
    if name in FEATURE_LABELS:
        return FEATURE_LABELS[name][position]
    for pattern, english, chinese in _WINDOW_PATTERNS:
        match = pattern.fullmatch(name)
        if match:
            part = match.group(1)
            if part in FEATURE_LABELS:
                part = FEATURE_LABELS[part][position]
            return (english, chinese)[position].format(part.replace("_", " "))
    return name


def _check_language(language: Language | str) -> Language:
    return parse_language(language)


def _format_value(value: object, missing: str) -> str:
    """A feature value for text: category as is, whole numbers without decimals."""
    if value is None or (isinstance(value, float | np.floating) and math.isnan(value)):
        return missing
    if isinstance(value, int | float | np.integer | np.floating) and not isinstance(value, bool):
        number = float(value)
        if math.isinf(number):
            return str(number)
        if number.is_integer() and abs(number) < 1e15:
            return str(int(number))
        if abs(number) >= 1000:
            return f"{number:.0f}"
        if abs(number) >= 1:
            return f"{number:.2f}".rstrip("0").rstrip(".")
        return f"{number:.3g}"
    return str(value)


def _format_contribution(value: float) -> str:
    """A SHAP value with its sign: one decimal, or two significant digits when tiny."""
    if abs(value) >= 0.05:
        return f"{value:+.1f}"
    if value == 0:
        return "+0"
    return f"{value:+.2g}"


def explain_customers(
    model: ClvMlp,
    features: pd.DataFrame,
    background: pd.DataFrame,
    settings: ExplainSettings | None = None,
) -> Explanation:
    """Explain the predicted CLV of customers with DeepSHAP, in money, by original feature.

    Parameters
    ----------
    model
        A fitted :class:`~clv_core.mlp.ClvMlp` (trained or loaded from a bundle).
    features
        Customers to explain, one row each, indexed by unique customer id, with the model's
        feature columns (as for ``model.predict``). At most ``settings.sample_size`` of them
        are explained (a seeded sample, in input order).
    background
        Training customers' features (same columns): ``settings.background_size`` of them are
        drawn, seeded, as the reference the SHAP values are measured against.
    settings
        :class:`ExplainSettings`; defaults when omitted.

    Returns
    -------
    Explanation
        Per customer and feature SHAP values of ``predicted_clv`` (money), with
        ``base_value + sum of SHAP values == predicted_clv`` up to float32 rounding
        (``additivity_error`` says how close).

    Raises
    ------
    DataError
        No customers or no background customers, duplicate customer ids, or missing feature
        columns.
    NotFittedError
        The model is not trained.
    """
    settings = settings or ExplainSettings()
    if model.network_ is None or model.preprocessor_ is None:
        raise NotFittedError("The model is not trained yet; train it (or load a bundle) first.")
    if len(features) == 0:
        raise DataError("There are no customers to explain: the feature table is empty.")
    if len(background) == 0:
        raise DataError(
            "The background table is empty; pass the training customers' features so the "
            "explanation has a reference to compare against."
        )
    if not features.index.is_unique:
        duplicated = features.index[features.index.duplicated()].unique()
        raise DataError(
            f"Customer ids must be unique to explain them; {len(duplicated)} id(s) repeat, "
            f"for example {[str(c) for c in duplicated[:3]]}."
        )
    rng = np.random.default_rng(settings.seed)
    background_rows = _sample_rows(rng, len(background), settings.background_size)
    explained_rows = _sample_rows(rng, len(features), settings.sample_size)
    explained = features.iloc[explained_rows]
    background_matrix = model.transform_features(background.iloc[background_rows])
    matrix = model.transform_features(explained)

    owners, feature_names, categorical = _feature_groups(model)
    grouping = np.zeros((len(owners), len(feature_names)))
    grouping[np.arange(len(owners)), [feature_names.index(owner) for owner in owners]] = 1.0

    keras = import_keras()
    explained_model = _build_explained_model(keras, model)
    predictions = _predict(explained_model, matrix)
    network_values, base_value = _deep_shap(explained_model, background_matrix, matrix)
    shap_values = network_values @ grouping
    additivity_error = float(np.max(np.abs(base_value + shap_values.sum(axis=1) - predictions)))

    customer_ids = explained.index
    original = explained.rename(columns=str)
    value_columns = []
    for name in feature_names:
        column = original[name]
        if name in categorical:
            value_columns.append(column.astype(object).where(column.notna(), np.nan).to_numpy())
        else:
            value_columns.append(pd.to_numeric(column, errors="coerce").astype(object).to_numpy())
    n_customers, n_features = shap_values.shape
    values = pd.DataFrame(
        {
            "customer_id": np.repeat(customer_ids.to_numpy(dtype=object), n_features),
            "feature": np.tile(np.array(feature_names, dtype=object), n_customers),
            "feature_value": np.column_stack(value_columns).reshape(-1),
            "shap_value": shap_values.reshape(-1),
        }
    )
    return Explanation(
        values=values,
        base_value=base_value,
        predictions=pd.Series(
            predictions, index=customer_ids.rename("customer_id"), name=EXPLAINED_SPACE
        ),
        space=EXPLAINED_SPACE,
        features=tuple(feature_names),
        categorical_features=tuple(name for name in feature_names if name in categorical),
        additivity_error=additivity_error,
        background_size=len(background_rows),
        network_inputs=len(owners),
    )


def _sample_rows(rng: np.random.Generator, total: int, size: int | None) -> np.ndarray:
    """Positions of a seeded sample without replacement, in increasing order (all if fewer)."""
    if size is None or total <= size:
        return np.arange(total)
    return np.sort(rng.choice(total, size=size, replace=False))


def _feature_groups(model: ClvMlp) -> tuple[list[str], list[str], set[str]]:
    """(original feature of each network input column, feature order, categorical features)."""
    preprocessor = model.preprocessor_
    if preprocessor is None or preprocessor.numeric_ is None or preprocessor.categorical_ is None:
        raise NotFittedError("The model is not trained yet; train it (or load a bundle) first.")
    owners = preprocessor.feature_owners_
    categorical = preprocessor.categorical_
    inputs = preprocessor.input_columns_
    # Show features in the order of the training table when it is known.
    order = [name for name in (model.feature_columns_ or []) if name in inputs]
    order += [name for name in inputs if name not in order]
    return owners, order, {column.name for column in categorical}


def _predict(explained_model: Any, matrix: np.ndarray) -> np.ndarray:
    chunks = [
        explained_model([matrix[start : start + PREDICT_BATCH_SIZE]], training=False).numpy()
        for start in range(0, len(matrix), PREDICT_BATCH_SIZE)
    ]
    return np.concatenate(chunks).reshape(-1).astype(np.float64)


@contextlib.contextmanager
def _shap_patched(deep_tf: Any, tf_execute: Any) -> Iterator[None]:
    """shap's DeepLIFT rules for the operations the explained model uses, only while it runs.

    The rules shap lacks are added to its process-wide ``op_handlers`` and removed afterwards.
    shap also replaces TensorFlow's eager gradient recorder while it runs and puts it back only
    when nothing fails; after an error every later gradient (training included) would fail, so
    it is put back here whatever happens.
    """
    added = []
    for operation in (*_ONE_INPUT_OPERATIONS, *_LINEAR_OPERATIONS):
        if operation not in deep_tf.op_handlers:
            added.append(operation)
            deep_tf.op_handlers[operation] = (
                deep_tf.nonlinearity_1d(0)
                if operation in _ONE_INPUT_OPERATIONS
                else deep_tf.passthrough
            )
    record_gradient = tf_execute.record_gradient
    try:
        yield
    finally:
        tf_execute.record_gradient = record_gradient
        for operation in added:
            deep_tf.op_handlers.pop(operation, None)


def _deep_shap(
    explained_model: Any, background_matrix: np.ndarray, matrix: np.ndarray
) -> tuple[np.ndarray, float]:
    """DeepSHAP values per network input column, shape (customers, inputs), and base value."""
    import shap
    from shap.explainers._deep import deep_tf
    from tensorflow.python.eager import execute as tf_execute

    # shap.DeepExplainer swaps entries of TensorFlow's process-wide gradient registry while it
    # runs; explanations and trainings are serialised by TENSORFLOW_LOCK (see mlp.py).
    with TENSORFLOW_LOCK, warnings.catch_warnings(), _shap_patched(deep_tf, tf_execute):
        # shap warns that TensorFlow 2.4+ dropped graph support; the eager path used here works.
        warnings.filterwarnings("ignore", message="Your TensorFlow version is newer")
        explainer = shap.DeepExplainer(explained_model, background_matrix)
        values = _batched_shap_values(explainer.explainer, background_matrix, matrix)
        if values is None:
            values = _as_customer_by_input(explainer.shap_values(matrix, check_additivity=False))
    base_value = float(np.asarray(explainer.expected_value, dtype=np.float64).reshape(-1)[0])
    return values, base_value


def _batched_shap_values(
    deep: Any, background_matrix: np.ndarray, matrix: np.ndarray
) -> np.ndarray | None:
    """DeepSHAP values for many customers per graph call; None if shap lacks the means.

    ``DeepExplainer.shap_values`` runs its attribution graph once per customer, on that
    customer's row repeated against every background row (first half of the batch) and the
    background rows (second half). Every DeepLIFT rule in the graph pairs row *i* of the first
    half with row *i* of the second half, so the rows of several customers can share one call:
    the result is the same, several times faster (most of the cost is per call, not per row).
    The multipliers come from shap's own graph (``phi_symbolic``/``run`` of its TensorFlow
    explainer); with a shap version without them the caller falls back to ``shap_values``.
    """
    if not all(hasattr(deep, name) for name in ("phi_symbolic", "run", "model_inputs")):
        return None
    graph = deep.phi_symbolic(0)
    n_background = len(background_matrix)
    per_call = max(1, _ROWS_PER_GRAPH_CALL // n_background)
    references = np.tile(background_matrix, (per_call, 1))
    differences_shape = (per_call, n_background, matrix.shape[1])
    values = np.empty(matrix.shape, dtype=np.float64)
    for start in range(0, len(matrix), per_call):
        # The last call is padded with its last customer: one input shape, one graph trace.
        rows = np.minimum(np.arange(start, start + per_call), len(matrix) - 1)
        customers = np.repeat(matrix[rows], n_background, axis=0)
        outputs = deep.run(graph, deep.model_inputs, [np.concatenate([customers, references])])
        multipliers = np.asarray(outputs[0], dtype=np.float64)[len(customers) :]
        differences = customers.astype(np.float64) - references
        phi = (multipliers * differences).reshape(differences_shape).mean(axis=1)
        kept = min(per_call, len(matrix) - start)
        values[start : start + kept] = phi[:kept]
    return values


def _as_customer_by_input(raw: Any) -> np.ndarray:
    values = np.asarray(raw, dtype=np.float64)
    # shap 0.51 returns (customers, inputs, outputs); older versions a list per output.
    if values.ndim == 3 and values.shape[-1] == 1:
        return values[..., 0]
    if values.ndim == 3 and values.shape[0] == 1:
        return values[0]
    return values


@dataclass(frozen=True, slots=True)
class _CalibrationGraph:
    """Constants of the calibration as it is rebuilt in the explained graph."""

    kind: Literal["none", "power", "isotonic", "proportional"]
    intercept: float = 0.0
    exponent: float = 1.0
    # Isotonic map: value = first_y + sum(hinge_weights * relu(log1p(raw) - hinge_points))
    #                       - below_ratio * relu(first_x - raw) + above_ratio * relu(raw - last_x)
    #                       + slope * raw.
    first_y: float = 0.0
    hinge_points: tuple[float, ...] = ()
    hinge_weights: tuple[float, ...] = ()
    first_x: float = 0.0
    below_ratio: float = 0.0
    last_x: float = 0.0
    above_ratio: float = 0.0
    slope: float = 0.0


def _calibration_graph(
    calibrator: PowerCalibrator | MonotoneCalibrator | None,
) -> _CalibrationGraph:
    """Translate a fitted calibration into constants of operations DeepExplainer handles.

    The isotonic map of :class:`~clv_core.calibration.MonotoneCalibrator` is ``np.interp`` in
    ``log1p(raw)`` between knots, flat beyond them, with the ends replaced by proportional maps
    and a tiny slope added; a piecewise-linear function is a constant plus ReLU hinges, one per
    knot, whose weights are the changes of slope.
    """
    if calibrator is None:
        return _CalibrationGraph(kind="none")
    if isinstance(calibrator, PowerCalibrator):
        if calibrator.intercept_ is None or calibrator.exponent_ is None:
            raise NotFittedError("The calibration is not fitted yet; call fit first.")
        return _CalibrationGraph(
            kind="power", intercept=calibrator.intercept_, exponent=calibrator.exponent_
        )
    if calibrator.knots_x_ is None or calibrator.knots_y_ is None:
        raise NotFittedError("The calibration is not fitted yet; call fit first.")
    x = np.asarray(calibrator.knots_x_, dtype=np.float64)
    y = np.asarray(calibrator.knots_y_, dtype=np.float64)
    if x.size == 1:
        ratio = float(y[0] / x[0]) if x[0] > 0 else 0.0
        return _CalibrationGraph(kind="proportional", slope=ratio + TIE_BREAK_SLOPE)
    points = np.log1p(x)
    widths = np.diff(points)
    slopes = np.divide(np.diff(y), widths, out=np.zeros_like(widths), where=widths > 0)
    # Slope after knot k is slopes[k]; it is 0 after the last knot.
    weights = np.diff(np.concatenate([[0.0], slopes, [0.0]]))
    return _CalibrationGraph(
        kind="isotonic",
        first_y=float(y[0]),
        hinge_points=tuple(float(p) for p in points),
        hinge_weights=tuple(float(w) for w in weights),
        first_x=float(x[0]),
        below_ratio=float(y[0] / x[0]) if x[0] > 0 else 0.0,
        last_x=float(x[-1]),
        above_ratio=float(y[-1] / x[-1]) if x[-1] > 0 else 0.0,
        slope=TIE_BREAK_SLOPE,
    )


def _build_explained_model(keras: Any, model: ClvMlp) -> Any:
    """A Keras model ``network input matrix -> predicted_clv`` (money), shape (n, 1).

    Built in memory for one explanation, never saved. The network runs in float32 as in
    ``predict``; everything after it in float64, as ``predict`` does in numpy, so the output
    equals ``predict(...)["predicted_clv"]`` to ~1e-12 relative. Only operations with a DeepLIFT
    rule in shap are used (Sigmoid, Exp, Square, Minimum, Maximum, Relu, Mul, MatMul, ClipByValue,
    plus the one-input rule registered for Log and Expm1).
    """
    config = model.config
    scale = model.target_scale_
    if model.network_ is None or scale is None:
        raise NotFittedError("The model is not trained yet; train it (or load a bundle) first.")
    network = _network_for_deep_shap(keras, model.network_)
    outputs = model.outputs_per_member
    members = int(np.prod(network.output_shape[1:])) // outputs
    is_ziln = config.loss is LossKind.ZILN
    calibration = _calibration_graph(model.calibrator_)
    # The ensemble mean in money: sum over members times scale / members.
    money_per_unit = scale / members
    ops = keras.ops

    class ExpectedClv(keras.layers.Layer):
        """Ensemble-mean expected value of the network's outputs, in money, calibrated."""

        def __init__(self, **kwargs: Any) -> None:
            super().__init__(dtype="float64", autocast=False, **kwargs)
            self.network = network

        def compute_output_shape(self, input_shape: tuple[int | None, ...]) -> tuple[Any, ...]:
            return (input_shape[0], 1)

        def compute_output_spec(self, inputs: Any) -> Any:
            # Declared rather than traced, so building this model adds no node to the network.
            return keras.KerasTensor((inputs.shape[0], 1), dtype="float64")

        def call(self, inputs: Any) -> Any:
            raw = ops.cast(self.network(inputs, training=False), "float64")
            total = member_expected(raw, 0)
            for member in range(1, members):
                total = total + member_expected(raw, member)
            money = total * money_per_unit
            return _apply_calibration(ops, calibration, money)

    def member_expected(raw: Any, member: int) -> Any:
        """One member's expected value in scaled units, as in ``raw_to_distribution``."""
        start = member * outputs
        if is_ziln:
            return ziln.expected_value_ops(ops, raw[:, start : start + 3], config.sigma_max)
        return ops.relu(ops.expm1(ops.minimum(raw[:, start : start + 1], ziln.EXP_CLAMP)))

    inputs = keras.Input(shape=(network.input_shape[-1],), name="explained_features")
    output = ExpectedClv(name="expected_clv")(inputs)
    # A list of inputs, because shap passes the data as a list: the structures then match.
    return keras.Model([inputs], output, name="explained_clv")


def _network_for_deep_shap(keras: Any, network: Any) -> Any:
    """The network itself, or a copy with SiLU written out as ``x * sigmoid(x)`` (same weights).

    Only a network with SiLU ("swish") activations is copied; the copy lives as long as the
    explanation.
    """

    def activation_name(layer: Any) -> object:
        return layer.get_config().get("activation") if hasattr(layer, "activation") else None

    if not any(activation_name(layer) in _OPAQUE_ACTIVATIONS for layer in _layers(network)):
        return network

    def silu(x: Any) -> Any:
        return x * keras.ops.sigmoid(x)

    def clone(layer: Any) -> Any:
        config = layer.get_config()
        if config.get("activation") in _OPAQUE_ACTIVATIONS:
            config["activation"] = silu
        return layer.__class__.from_config(config)

    copy = keras.models.clone_model(network, clone_function=clone, recursive=True)
    copy.set_weights(network.get_weights())
    return copy


def _layers(network: Any) -> list[Any]:
    """Every layer of a model, nested models' layers included."""
    found = []
    for layer in network.layers:
        found.append(layer)
        if hasattr(layer, "layers"):
            found += _layers(layer)
    return found


def _apply_calibration(ops: Any, calibration: _CalibrationGraph, money: Any) -> Any:
    if calibration.kind == "none":
        return money
    if calibration.kind == "proportional":
        return money * calibration.slope
    if calibration.kind == "power":
        log_money = ops.log(ops.maximum(money, _LOG_FLOOR))
        linear = calibration.intercept + calibration.exponent * log_money
        return ops.exp(ops.clip(linear, -50.0, 50.0))
    points = np.asarray(calibration.hinge_points, dtype=np.float64).reshape(1, -1)
    weights = np.asarray(calibration.hinge_weights, dtype=np.float64).reshape(-1, 1)
    hinges = ops.relu(ops.log(money + 1.0) - points)
    value = calibration.first_y + ops.matmul(hinges, weights)
    if calibration.first_x > 0:
        value = value - calibration.below_ratio * ops.relu(calibration.first_x - money)
    if calibration.last_x > 0:
        value = value + calibration.above_ratio * ops.relu(money - calibration.last_x)
    return value + calibration.slope * money


# ---------------------------------------------------------------------------------------------
# Figures (plotly only; the UI layer renders them with st.plotly_chart).


def importance_bar(explanation: Explanation, top: int = 15, language: str = "en") -> go.Figure:
    """Horizontal bar chart of mean |SHAP value| for the ``top`` features, largest on top."""
    import plotly.graph_objects as go

    text = _TEXT[_check_language(language)]
    top = _check_top(top)
    importance = explanation.importance().head(top).iloc[::-1]
    figure = go.Figure(
        go.Bar(
            x=importance["mean_abs_shap"],
            y=[feature_label(name, language) for name in importance["feature"]],
            orientation="h",
            customdata=importance["feature"],
            hovertemplate="%{customdata}: %{x:.2f}<extra></extra>",
            name=text["mean_abs"],
        )
    )
    figure.update_layout(
        title=text["importance_title"],
        xaxis_title=text["mean_abs"],
        height=max(300, 28 * len(importance) + 120),
        margin={"l": 10},
    )
    return figure


def beeswarm(explanation: Explanation, top: int = 15, language: str = "en") -> go.Figure:
    """One row of points per feature (``top`` by importance): every customer's SHAP value.

    Points are spread vertically in proportion to how crowded their SHAP value is (seeded),
    and coloured by the rank of the customer's feature value within that feature (low to high).
    Categories and missing values have no rank and are grey, in one extra trace.
    """
    import plotly.graph_objects as go

    language = _check_language(language)
    text = _TEXT[language]
    top = _check_top(top)
    names = list(explanation.importance()["feature"].head(top))[::-1]
    shap_wide = explanation.wide()
    values_wide = explanation.feature_values()
    jitter_rng = np.random.default_rng(0)
    figure = go.Figure()
    grey_x: list[float] = []
    grey_y: list[float] = []
    grey_text: list[str] = []
    for position, name in enumerate(names):
        shap_values = shap_wide[name].to_numpy(dtype=np.float64)
        offsets = _swarm_offsets(shap_values, jitter_rng)
        label = feature_label(name, language)
        raw = values_wide[name]
        numeric = (
            pd.Series(np.nan, index=raw.index)
            if name in explanation.categorical_features
            else pd.to_numeric(raw, errors="coerce")
        )
        ranked = numeric.notna().to_numpy()
        hover = [
            f"{text['customer']} {customer}<br>{label} = {_format_value(value, text['missing'])}"
            for customer, value in zip(raw.index, raw.to_numpy(), strict=True)
        ]
        if ranked.any():
            figure.add_trace(
                go.Scatter(
                    x=shap_values[ranked],
                    y=position + offsets[ranked],
                    mode="markers",
                    name=label,
                    text=[h for h, keep in zip(hover, ranked, strict=True) if keep],
                    hovertemplate="%{text}<br>SHAP %{x:+.2f}<extra></extra>",
                    marker={
                        "color": numeric[ranked].rank(pct=True).to_numpy(),
                        "coloraxis": "coloraxis",
                        "size": 5,
                    },
                    showlegend=False,
                )
            )
        grey_x += list(shap_values[~ranked])
        grey_y += list(position + offsets[~ranked])
        grey_text += [h for h, keep in zip(hover, ranked, strict=True) if not keep]
    if grey_x:
        figure.add_trace(
            go.Scatter(
                x=grey_x,
                y=grey_y,
                mode="markers",
                name=text["no_rank"],
                text=grey_text,
                hovertemplate="%{text}<br>SHAP %{x:+.2f}<extra></extra>",
                marker={"color": "rgba(128,128,128,0.6)", "size": 5},
            )
        )
    figure.add_vline(x=0, line_width=1, line_color="grey")
    figure.update_layout(
        title=text["beeswarm_title"],
        xaxis_title=text["shap"],
        yaxis={
            "tickmode": "array",
            "tickvals": list(range(len(names))),
            "ticktext": [feature_label(name, language) for name in names],
            "range": [-0.6, len(names) - 0.4],
        },
        coloraxis={
            "colorscale": "Bluered",
            "cmin": 0,
            "cmax": 1,
            "colorbar": {"title": {"text": text["value_rank"]}, "tickvals": []},
        },
        legend={"orientation": "h", "y": -0.15},
        height=max(320, 36 * len(names) + 140),
        margin={"l": 10},
    )
    return figure


def _swarm_offsets(values: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Vertical offsets in (-0.4, 0.4), wider where many customers share similar values."""
    if values.size == 0:
        return np.zeros(0)
    bins = np.histogram_bin_edges(values, bins=min(50, max(1, values.size // 5)))
    counts, _ = np.histogram(values, bins=bins)
    which = np.clip(np.searchsorted(bins, values, side="right") - 1, 0, counts.size - 1)
    crowding = counts[which] / max(int(counts.max()), 1)
    return rng.uniform(-0.4, 0.4, values.size) * crowding


def dependence_plot(explanation: Explanation, feature: str, language: str = "en") -> go.Figure:
    """SHAP value of one feature against its value, one point per customer.

    A numeric feature is a scatter plot (customers with a missing value are left out and
    counted in a note); a categorical one a box per category with all points shown.
    """
    import plotly.graph_objects as go

    language = _check_language(language)
    text = _TEXT[language]
    data = explanation.dependence(feature)
    label = feature_label(feature, language)
    figure = go.Figure()
    if feature in explanation.categorical_features:
        categories = data["feature_value"].map(lambda v: _format_value(v, text["missing"]))
        figure.add_trace(
            go.Box(
                x=categories,
                y=data["shap_value"],
                boxpoints="all",
                jitter=0.4,
                pointpos=0,
                name=label,
                customdata=data["customer_id"],
                hovertemplate=f"{text['customer']} %{{customdata}}<br>%{{x}}<br>"
                "SHAP %{y:+.2f}<extra></extra>",
            )
        )
    else:
        numbers = pd.to_numeric(data["feature_value"], errors="coerce")
        present = numbers.notna()
        figure.add_trace(
            go.Scatter(
                x=numbers[present],
                y=data["shap_value"][present],
                mode="markers",
                name=label,
                customdata=data["customer_id"][present],
                hovertemplate=f"{text['customer']} %{{customdata}}<br>{label} = %{{x}}<br>"
                "SHAP %{y:+.2f}<extra></extra>",
                marker={"size": 6, "opacity": 0.7},
            )
        )
        absent = int((~present).sum())
        if absent:
            figure.add_annotation(
                text=text["missing_note"].format(absent),
                xref="paper",
                yref="paper",
                x=1,
                y=1.06,
                showarrow=False,
            )
    figure.add_hline(y=0, line_width=1, line_color="grey")
    figure.update_layout(
        title=text["dependence_title"].format(label),
        xaxis_title=label,
        yaxis_title=text["shap"],
        showlegend=False,
    )
    return figure


def waterfall(
    explanation: Explanation, customer_id: Hashable, top: int = 10, language: str = "en"
) -> go.Figure:
    """From the average customer to this customer's predicted CLV, one step per feature.

    The ``top`` features with the largest absolute SHAP values get a step each (largest first);
    the rest are summed into one step, so the last bar ends exactly at the prediction (up to
    the explanation's ``additivity_error``).

    Raises
    ------
    DataError
        ``customer_id`` was not explained.
    """
    import plotly.graph_objects as go

    language = _check_language(language)
    text = _TEXT[language]
    top = _check_top(top)
    position = explanation._customer_position(customer_id)
    shap_row = explanation.wide().iloc[position]
    value_row = explanation.feature_values().iloc[position]
    order = np.argsort(-np.abs(shap_row.to_numpy()), kind="stable")
    shown = [explanation.features[i] for i in order[:top]]
    rest = [explanation.features[i] for i in order[top:]]
    labels = [text["base"]]
    steps = [explanation.base_value]
    for name in shown:
        value = _format_value(value_row[name], text["missing"])
        labels.append(f"{feature_label(name, language)} = {value}")
        steps.append(float(shap_row[name]))
    if rest:
        labels.append(text["other"].format(len(rest)))
        steps.append(float(shap_row[rest].sum()))
    prediction = float(explanation.predictions.iloc[position])
    labels.append(text["prediction"])
    steps.append(prediction)
    figure = go.Figure(
        go.Waterfall(
            orientation="h",
            measure=["absolute"] + ["relative"] * (len(steps) - 2) + ["total"],
            y=labels,
            x=steps,
            text=[f"{explanation.base_value:.1f}"]
            + [_format_contribution(step) for step in steps[1:-1]]
            + [f"{prediction:.1f}"],
            textposition="outside",
            connector={"line": {"color": "grey", "width": 1}},
        )
    )
    figure.update_layout(
        title=text["waterfall_title"].format(customer_id, f"{prediction:.1f}"),
        xaxis_title=text["prediction"],
        yaxis={"autorange": "reversed"},
        height=max(320, 30 * len(labels) + 140),
        margin={"l": 10},
        showlegend=False,
    )
    return figure


def _check_top(top: int) -> int:
    if not _is_whole(top) or top < 1:
        raise ConfigError(f"top must be a whole number of at least 1, got {top!r}.")
    return int(top)
