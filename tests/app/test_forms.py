"""The forms take their bounds and defaults from the engine's configuration, not copies."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import fields

from streamlit.testing.v1 import AppTest

from clv_core.config import Bounds, MlpConfig, config_bounds
from clv_core.segments import DEFAULT_CHURN_THRESHOLDS, DEFAULT_TIER_SHARES
from clv_ui.state import WorkbenchState


def test_the_train_form_follows_mlp_config(
    make_app: Callable[..., AppTest], data_state: WorkbenchState
) -> None:
    data_state.config = MlpConfig()
    app = make_app(data_state, "pages/train.py")
    assert not app.exception
    bounded = [f.name for f in fields(MlpConfig) if isinstance(f.metadata.get("bounds"), Bounds)]
    assert len(bounded) >= 10
    defaults = MlpConfig()
    for name in bounded:
        widget = app.number_input(key=f"mlp_{name}")
        bounds = config_bounds(name)
        assert widget.min == bounds.form_min and widget.max == bounds.form_max, name
        assert widget.value == getattr(defaults, name), name
    # What the form offers is accepted by the config, and one step beyond is refused.
    assert MlpConfig(dropout_rate=config_bounds("dropout_rate").form_max)
    assert MlpConfig(learning_rate=config_bounds("learning_rate").form_min)


def test_the_segment_form_starts_from_the_segment_defaults(
    make_app: Callable[..., AppTest], trained_state: WorkbenchState
) -> None:
    app = make_app(trained_state, "pages/segments.py")
    assert not app.exception
    shares = [float(part) / 100 for part in app.text_input(key="segment_shares").value.split(",")]
    assert tuple(shares) == DEFAULT_TIER_SHARES
    assert tuple(app.slider(key="segment_churn").value) == DEFAULT_CHURN_THRESHOLDS
