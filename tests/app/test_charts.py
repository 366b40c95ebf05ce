"""The workbench's figures: plotly only, words from the catalogue, the SHAP figures' data exact."""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest

from clv_core.catalogue import feature_label
from clv_core.errors import ConfigError, DataError
from clv_core.explain import EXPLAINED_SPACE, Explanation
from clv_core.language import Language
from clv_ui.charts import beeswarm, dependence_plot, importance_bar, waterfall

FEATURES = ("n_orders", "net_spend", "days_since_last_purchase", "spend_trend", "channel")


@pytest.fixture(scope="module")
def explanation() -> Explanation:
    """Thirty customers, five features (one categorical, a few values missing), seeded."""
    rng = np.random.default_rng(3)
    customers = [f"C{number:03d}" for number in range(30)]
    shap = rng.normal(0, 1, (30, len(FEATURES))) * np.array([40.0, 25.0, 10.0, 3.0, 6.0])
    values: dict[str, list[object]] = {
        "n_orders": list(rng.integers(1, 12, 30).astype(float)),
        "net_spend": list(rng.gamma(2.0, 80.0, 30)),
        "days_since_last_purchase": list(rng.integers(0, 400, 30).astype(float)),
        "spend_trend": list(rng.normal(0, 1, 30)),
        "channel": list(rng.choice(["organic", "social", "email"], 30)),
    }
    values["spend_trend"][4] = np.nan
    values["spend_trend"][9] = np.nan
    rows = [
        {
            "customer_id": customer,
            "feature": feature,
            "feature_value": values[feature][position],
            "shap_value": shap[position, column],
        }
        for position, customer in enumerate(customers)
        for column, feature in enumerate(FEATURES)
    ]
    base = 120.0
    predictions = pd.Series(base + shap.sum(axis=1), index=pd.Index(customers, name="customer_id"))
    return Explanation(
        values=pd.DataFrame(rows),
        base_value=base,
        predictions=predictions,
        space=EXPLAINED_SPACE,
        features=FEATURES,
        categorical_features=("channel",),
        additivity_error=0.0,
        background_size=30,
        network_inputs=9,
    )


def test_shap_figures_are_plotly_and_draw_nothing_with_matplotlib(
    explanation: Explanation,
) -> None:
    english = Language.EN
    bar = importance_bar(explanation, top=3, language=english)
    swarm = beeswarm(explanation, top=5, language=english)
    numeric = dependence_plot(explanation, "spend_trend", language=english)
    categorical = dependence_plot(explanation, "channel", language=Language.ZH)
    steps = waterfall(explanation, "C000", top=2, language=english)
    for figure in (bar, swarm, numeric, categorical, steps):
        assert isinstance(figure, go.Figure)
    pyplot = sys.modules.get("matplotlib.pyplot")
    assert pyplot is None or pyplot.get_fignums() == []

    top3 = list(explanation.importance()["feature"].head(3))
    assert [trace.type for trace in bar.data] == ["bar"]
    assert list(bar.data[0].customdata) == top3[::-1]
    assert list(bar.data[0].y) == [feature_label(name) for name in top3[::-1]]

    ranked = list(explanation.importance()["feature"])[::-1]
    assert list(swarm.layout.yaxis.ticktext) == [feature_label(name) for name in ranked]
    assert sum(len(trace.x) for trace in swarm.data) == 5 * 30
    (grey,) = [trace for trace in swarm.data if not trace.marker.coloraxis]
    assert len(grey.x) == 30 + 2  # the channel row and the two missing spend trends

    assert [trace.type for trace in numeric.data] == ["scatter"]
    assert len(numeric.data[0].x) == 28
    assert numeric.layout.annotations[0].text == "2 customer(s) with a missing value not shown"
    assert [trace.type for trace in categorical.data] == ["box"]
    assert "获客渠道" in categorical.layout.title.text

    (trace,) = steps.data
    assert trace.type == "waterfall"
    assert list(trace.measure) == ["absolute", "relative", "relative", "relative", "total"]
    assert trace.y[-2] == "3 other features"
    assert sum(trace.x[:-1]) == pytest.approx(trace.x[-1])
    assert trace.x[-1] == pytest.approx(explanation.predictions.iloc[0])


def test_shap_figures_explain_wrong_choices(explanation: Explanation) -> None:
    with pytest.raises(DataError, match=r"'nobody' is not among the 30 explained customers"):
        waterfall(explanation, "nobody", language=Language.EN)
    with pytest.raises(DataError, match="'colour' is not one of the explained features"):
        dependence_plot(explanation, "colour", language=Language.EN)
    with pytest.raises(ConfigError, match="top must be a whole number"):
        importance_bar(explanation, top=0, language=Language.EN)
