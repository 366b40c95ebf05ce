"""Forms that return typed ``clv_core`` configurations.

Every field of :class:`~clv_core.config.MlpConfig` has a control with help text; the common ones
are on top and the rest are folded into an "Advanced" expander. Invalid input is reported by the
config's own validation as one :class:`~clv_core.errors.ConfigError` listing every problem.
"""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

from clv_core.config import Activation, Calibration, LossKind, MlpConfig, OptimizerKind
from clv_core.errors import ConfigError
from clv_core.kinds import SplitKind
from clv_core.segments import TierKind, TierScheme
from clv_ui.i18n import t

__all__ = ["TrainingRequest", "mlp_config_form", "parse_numbers", "segment_settings_form"]


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
        ensemble = middle.number_input(
            t("mlp.ensemble_size"),
            1,
            20,
            current.ensemble_size,
            help=t("mlp.ensemble_size_help"),
            key="mlp_ensemble_size",
        )
        epochs = right.number_input(
            t("mlp.max_epochs"),
            1,
            10000,
            current.max_epochs,
            help=t("mlp.max_epochs_help"),
            key="mlp_max_epochs",
        )
        with left:
            loss = _choice("loss", [k.value for k in LossKind], current.loss.value, "mlp_loss")
        learning_rate = middle.number_input(
            t("mlp.learning_rate"),
            1e-6,
            1.0,
            current.learning_rate,
            format="%.5f",
            help=t("mlp.learning_rate_help"),
            key="mlp_learning_rate",
        )
        seed = right.number_input(
            t("mlp.seed"), 0, 2**31 - 1, current.seed, help=t("mlp.seed_help"), key="mlp_seed"
        )
        split_value = st.radio(
            t("train.split"),
            [kind.value for kind in SplitKind],
            index=[kind.value for kind in SplitKind].index(split.value),
            format_func={kind.value: t(f"split.{kind}") for kind in SplitKind}.__getitem__,
            horizontal=True,
            help=t("train.split_help"),
            key="train_split",
        )
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
            dropout = middle.number_input(
                t("mlp.dropout_rate"),
                0.0,
                0.89,
                current.dropout_rate,
                help=t("mlp.dropout_rate_help"),
                key="mlp_dropout_rate",
            )
            l2 = middle.number_input(
                t("mlp.l2"),
                0.0,
                1.0,
                current.l2,
                format="%.6f",
                help=t("mlp.l2_help"),
                key="mlp_l2",
            )
            batch_size = middle.number_input(
                t("mlp.batch_size"),
                8,
                65536,
                current.batch_size,
                help=t("mlp.batch_size_help"),
                key="mlp_batch_size",
            )
            patience = right.number_input(
                t("mlp.patience"),
                1,
                1000,
                current.patience,
                help=t("mlp.patience_help"),
                key="mlp_patience",
            )
            validation = right.number_input(
                t("mlp.validation_fraction"),
                0.05,
                0.5,
                current.validation_fraction,
                help=t("mlp.validation_fraction_help"),
                key="mlp_validation_fraction",
            )
            sigma_max = right.number_input(
                t("mlp.sigma_max"),
                0.1,
                5.0,
                current.sigma_max,
                help=t("mlp.sigma_max_help"),
                key="mlp_sigma_max",
            )
            coverage = middle.number_input(
                t("mlp.interval_coverage"),
                0.01,
                0.99,
                current.interval_coverage,
                help=t("mlp.interval_coverage_help"),
                key="mlp_interval_coverage",
            )
            batch_norm = left.checkbox(
                t("mlp.batch_norm"),
                current.batch_norm,
                help=t("mlp.batch_norm_help"),
                key="mlp_batch_norm",
            )
        submitted = st.form_submit_button(t("train.start"), type="primary")
    if not submitted:
        return None
    config = MlpConfig(
        hidden_layers=_layers(layers),
        activation=Activation(activation),
        dropout_rate=float(dropout),
        l2=float(l2),
        batch_norm=bool(batch_norm),
        optimizer=OptimizerKind(optimizer),
        learning_rate=float(learning_rate),
        batch_size=int(batch_size),
        max_epochs=int(epochs),
        patience=int(patience),
        validation_fraction=float(validation),
        loss=LossKind(loss),
        sigma_max=float(sigma_max),
        ensemble_size=int(ensemble),
        calibration=Calibration(calibration),
        interval_coverage=float(coverage),
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
            "10, 20, 40, 30",
            help=t("segments.shares_help"),
            key="segment_shares",
        )
        shares = tuple(share / 100 for share in parse_numbers(text, "shares"))
        scheme = TierScheme(kind=TierKind.QUANTILE, shares=shares)
    else:
        text = left.text_input(
            t("segments.thresholds"),
            "1000, 300, 50",
            help=t("segments.thresholds_help"),
            key="segment_thresholds",
        )
        scheme = TierScheme(kind=TierKind.THRESHOLD, thresholds=parse_numbers(text, "thresholds"))
    low, high = right.slider(
        t("segments.churn"),
        0.0,
        1.0,
        (0.33, 0.66),
        0.01,
        help=t("segments.churn_help"),
        key="segment_churn",
    )
    return SegmentSettings(scheme=scheme, churn_thresholds=(float(low), float(high)))


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
