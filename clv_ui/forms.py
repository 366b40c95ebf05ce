"""Forms that return typed ``clv_core`` configurations.

Every field of :class:`~clv_core.config.MlpConfig` has a control with help text; the common ones
are on top and the rest are folded into an "Advanced" expander. Invalid input is reported by the
config's own validation as one :class:`~clv_core.errors.ConfigError` listing every problem.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import streamlit as st

from clv_core.config import (
    Activation,
    Calibration,
    LossKind,
    MlpConfig,
    OptimizerKind,
    config_bounds,
)
from clv_core.errors import ConfigError
from clv_core.kinds import DEFAULT_ANNUAL_DISCOUNT_RATE, DEFAULT_MARGIN, PERIODS, SplitKind
from clv_core.segments import (
    DEFAULT_CHURN_THRESHOLDS,
    DEFAULT_TIER_SHARES,
    EXAMPLE_TIER_THRESHOLDS,
    TierKind,
    TierScheme,
)
from clv_ui.i18n import t

if TYPE_CHECKING:
    import pandas as pd

    from clv_core.value import ValueSettings

__all__ = [
    "TrainingRequest",
    "mlp_config_form",
    "parse_numbers",
    "segment_settings_form",
    "value_settings_form",
]


@dataclass(frozen=True, slots=True)
class TrainingRequest:
    """What the Train form returns when submitted."""

    config: MlpConfig
    split: SplitKind


def parse_numbers(text: str, field: str) -> tuple[float, ...]:
    """``"64, 32"`` -> ``(64.0, 32.0)``; anything else is a ConfigError naming the field."""
    parts = [part.strip() for part in text.replace("，", ",").split(",") if part.strip()]
    try:
        return tuple(float(part) for part in parts)
    except ValueError as error:
        raise ConfigError(
            f"{field}: {text!r} must be numbers separated by commas, e.g. 64, 32."
        ) from error


def _numbers_text(numbers: Iterable[float]) -> str:
    """``(10.0, 20.0)`` -> ``"10, 20"`` (whole numbers without decimals)."""
    return ", ".join(f"{round(number, 6):g}" for number in numbers)


def _layers(text: str) -> tuple[int, ...]:
    numbers = parse_numbers(text, "hidden_layers")
    if any(number != int(number) for number in numbers):
        raise ConfigError(f"hidden_layers: {text!r} must be whole numbers, e.g. 64, 32.")
    return tuple(int(number) for number in numbers)


def _choice(label: str, options: list[str], current: str, key: str) -> str:
    return st.selectbox(
        t(f"mlp.{label}"),
        options,
        index=options.index(current),
        help=t(f"mlp.{label}_help"),
        key=key,
    )


def _number(container: Any, current: MlpConfig, name: str, **options: Any) -> Any:
    """A number input for the :class:`MlpConfig` field ``name``, within the config's bounds."""
    bounds = config_bounds(name)
    kind = int if bounds.is_int else float
    return container.number_input(
        t(f"mlp.{name}"),
        kind(bounds.form_min),
        kind(bounds.form_max),
        getattr(current, name),
        step=kind(bounds.step),
        help=t(f"mlp.{name}_help"),
        key=f"mlp_{name}",
        **options,
    )


def _advanced_controls(current: MlpConfig) -> dict[str, Any]:
    """The "Advanced" expander of the Train form; returns each control's raw value by field."""
    with st.expander(t("train.advanced")):
        left, middle, right = st.columns(3)
        with left:
            activation = _choice(
                "activation",
                [k.value for k in Activation],
                current.activation.value,
                "mlp_activation",
            )
            optimizer = _choice(
                "optimizer",
                [k.value for k in OptimizerKind],
                current.optimizer.value,
                "mlp_optimizer",
            )
            calibration = _choice(
                "calibration",
                [k.value for k in Calibration],
                current.calibration.value,
                "mlp_calibration",
            )
        dropout = _number(middle, current, "dropout_rate")
        l2 = _number(middle, current, "l2", format="%.6f")
        batch_size = _number(middle, current, "batch_size")
        patience = _number(right, current, "patience")
        validation = _number(right, current, "validation_fraction")
        sigma_max = _number(right, current, "sigma_max")
        tweedie = _number(right, current, "tweedie_weight")
        rank = _number(right, current, "rank_weight")
        moment = _number(middle, current, "ranking_moment")
        coverage = _number(middle, current, "interval_coverage")
        batch_norm = left.checkbox(
            t("mlp.batch_norm"),
            current.batch_norm,
            help=t("mlp.batch_norm_help"),
            key="mlp_batch_norm",
        )
        btyd_inputs = left.checkbox(
            t("mlp.btyd_inputs"),
            current.btyd_inputs,
            help=t("mlp.btyd_inputs_help"),
            key="mlp_btyd_inputs",
        )
    return {
        "activation": activation,
        "optimizer": optimizer,
        "calibration": calibration,
        "dropout_rate": dropout,
        "l2": l2,
        "batch_size": batch_size,
        "patience": patience,
        "validation_fraction": validation,
        "sigma_max": sigma_max,
        "tweedie_weight": tweedie,
        "rank_weight": rank,
        "ranking_moment": moment,
        "interval_coverage": coverage,
        "batch_norm": batch_norm,
        "btyd_inputs": btyd_inputs,
    }


def mlp_config_form(current: MlpConfig, split: SplitKind) -> TrainingRequest | None:
    """The Train form; returns the request when the Train button is pressed.

    Raises
    ------
    ConfigError
        A field is invalid (all problems are listed).
    """
    with st.form("mlp_config"):
        left, middle, right = st.columns(3)
        layers = left.text_input(
            t("mlp.hidden_layers"),
            ", ".join(str(units) for units in current.hidden_layers),
            help=t("mlp.hidden_layers_help"),
            key="mlp_hidden_layers",
        )
        ensemble = _number(middle, current, "ensemble_size")
        epochs = _number(right, current, "max_epochs")
        with left:
            loss = _choice("loss", [k.value for k in LossKind], current.loss.value, "mlp_loss")
        learning_rate = _number(middle, current, "learning_rate", format="%.5f")
        seed = _number(right, current, "seed")
        split_value = st.radio(
            t("train.split"),
            [kind.value for kind in SplitKind],
            index=[kind.value for kind in SplitKind].index(split.value),
            format_func={kind.value: t(f"split.{kind}") for kind in SplitKind}.__getitem__,
            horizontal=True,
            help=t("train.split_help"),
            key="train_split",
        )
        advanced = _advanced_controls(current)
        submitted = st.form_submit_button(t("train.start"), type="primary")
    if not submitted:
        return None
    config = MlpConfig(
        hidden_layers=_layers(layers),
        activation=Activation(advanced["activation"]),
        dropout_rate=float(advanced["dropout_rate"]),
        l2=float(advanced["l2"]),
        batch_norm=bool(advanced["batch_norm"]),
        btyd_inputs=bool(advanced["btyd_inputs"]),
        optimizer=OptimizerKind(advanced["optimizer"]),
        learning_rate=float(learning_rate),
        batch_size=int(advanced["batch_size"]),
        max_epochs=int(epochs),
        patience=int(advanced["patience"]),
        validation_fraction=float(advanced["validation_fraction"]),
        loss=LossKind(loss),
        sigma_max=float(advanced["sigma_max"]),
        tweedie_weight=float(advanced["tweedie_weight"]),
        rank_weight=float(advanced["rank_weight"]),
        ranking_moment=float(advanced["ranking_moment"]),
        ensemble_size=int(ensemble),
        calibration=Calibration(advanced["calibration"]),
        interval_coverage=float(advanced["interval_coverage"]),
        seed=int(seed),
    )
    return TrainingRequest(config=config, split=SplitKind(split_value))


@dataclass(frozen=True, slots=True)
class SegmentSettings:
    """Tier scheme and churn-risk boundaries chosen on the Segments page."""

    scheme: TierScheme
    churn_thresholds: tuple[float, float]


def segment_settings_form() -> SegmentSettings:
    """Tier rule and churn bands; invalid values raise a ConfigError listing the problems."""
    left, right = st.columns(2)
    kind = left.radio(
        t("segments.tier_kind"),
        [kind.value for kind in TierKind],
        horizontal=True,
        help=t("segments.tier_kind_help"),
        key="segment_tier_kind",
    )
    if kind == TierKind.QUANTILE.value:
        text = left.text_input(
            t("segments.shares"),
            _numbers_text(share * 100 for share in DEFAULT_TIER_SHARES),
            help=t("segments.shares_help"),
            key="segment_shares",
        )
        shares = tuple(share / 100 for share in parse_numbers(text, "shares"))
        scheme = TierScheme(kind=TierKind.QUANTILE, shares=shares)
    else:
        text = left.text_input(
            t("segments.thresholds"),
            _numbers_text(EXAMPLE_TIER_THRESHOLDS),
            help=t("segments.thresholds_help"),
            key="segment_thresholds",
        )
        scheme = TierScheme(kind=TierKind.THRESHOLD, thresholds=parse_numbers(text, "thresholds"))
    low, high = right.slider(
        t("segments.churn"),
        0.0,
        1.0,
        DEFAULT_CHURN_THRESHOLDS,
        0.01,
        help=t("segments.churn_help"),
        key="segment_churn",
    )
    return SegmentSettings(scheme=scheme, churn_thresholds=(float(low), float(high)))


# A margin column of categories gets one input per category, up to this many.
MAX_MARGIN_CATEGORIES = 30


def _percent_input(
    container: Any,
    label: str,
    value: float,
    *,
    step: float,
    key: str,
    help_text: str | None = None,
) -> float:
    """A percentage from 0 to 100."""
    chosen: float = container.number_input(
        label, min_value=0.0, max_value=100.0, value=value, step=step, help=help_text, key=key
    )
    return chosen


def value_settings_form(attributes: pd.DataFrame | None) -> ValueSettings:
    """Margin (one rate, or a column of the attributes: a margin per customer, or a category
    with one input per category), discount rate and the periods."""
    from clv_core.value import ValueSettings, margin_categories  # they bring pandas

    left, middle, right = st.columns(3)
    margin = _percent_input(
        left,
        t("segments.margin"),
        DEFAULT_MARGIN * 100,
        step=1.0,
        key="value_margin",
        help_text=t("segments.margin_help"),
    )
    column = None
    by_category: list[tuple[str, float]] = []
    names = (
        [str(name) for name in attributes.columns if name != "customer_id"]
        if (attributes is not None)
        else []
    )
    if names:
        none = t("segments.margin_none")
        chosen = left.selectbox(
            t("segments.margin_column"),
            ["", *names],
            format_func=lambda name: name or none,
            help=t("segments.margin_column_help"),
            key="value_margin_column",
        )
        column = chosen or None
    categories = margin_categories(attributes, column) if column else None
    if column and categories is not None:
        if len(categories) > MAX_MARGIN_CATEGORIES:
            raise ConfigError(
                t(
                    "segments.too_many_categories",
                    column=column,
                    n=len(categories),
                    limit=MAX_MARGIN_CATEGORIES,
                )
            )
        with st.expander(t("segments.category_margins", column=column), expanded=True):
            cells = st.columns(min(len(categories), 4) or 1)
            for position, category in enumerate(categories):
                rate = _percent_input(
                    cells[position % len(cells)],
                    category,
                    float(margin),
                    step=1.0,
                    key=f"value_category_margin_{column}_{category}",
                )
                by_category.append((category, float(rate) / 100))
    rate = _percent_input(
        middle,
        t("segments.discount"),
        DEFAULT_ANNUAL_DISCOUNT_RATE * 100,
        step=0.5,
        key="value_discount",
        help_text=t("segments.discount_help"),
    )
    periods = {name: t(f"segments.period_{name}") for name in PERIODS}
    period = right.radio(
        t("segments.period"),
        list(periods),
        format_func=periods.__getitem__,
        horizontal=True,
        key="value_period",
    )
    return ValueSettings(
        margin=float(margin) / 100,
        margin_column=column,
        category_margins=tuple(by_category),
        annual_discount_rate=float(rate) / 100,
        period=str(period),
    )


@dataclass(frozen=True, slots=True)
class ExportOptions:
    """What the downloaded list contains besides the scores and segments."""

    passthrough: tuple[str, ...]
    drivers: bool
    excel_bom: bool


def export_options_form(attribute_columns: list[str]) -> ExportOptions:
    """Passthrough attribute columns, top-3 drivers and the Excel byte-order mark."""
    with st.expander(t("segments.export_options")):
        passthrough = st.multiselect(
            t("segments.passthrough"),
            attribute_columns,
            help=t("segments.passthrough_help"),
            key="export_passthrough",
        )
        drivers = st.checkbox(
            t("segments.drivers"), help=t("segments.drivers_help"), key="export_drivers"
        )
        excel_bom = st.checkbox(
            t("segments.excel_bom"),
            value=True,
            help=t("segments.excel_bom_help"),
            key="export_bom",
        )
    return ExportOptions(tuple(passthrough), drivers, excel_bom)
