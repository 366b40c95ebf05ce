"""Plotly figures drawn from the data that ``clv_core`` returns (no matplotlib anywhere).

The engine returns tidy frames and SHAP values; every figure and its words are made here, in
the session's language (or the one passed), with labels from :mod:`clv_core.catalogue` and
page text from :mod:`clv_ui.i18n`.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import plotly.express as px
import plotly.graph_objects as go

from clv_core.catalogue import feature_label, format_contribution, format_value
from clv_core.errors import ConfigError
from clv_core.language import Language
from clv_core.mlp import EpochEvent
from clv_ui.i18n import current_language, metric_label, model_label, t, text_in

if TYPE_CHECKING:
    from clv_core.explain import Explanation

__all__ = [
    "action_grid_heatmap",
    "beeswarm",
    "budget_curve",
    "champion_challenger",
    "clv_by_tier",
    "customers_by_first_month",
    "decile_chart",
    "dependence_plot",
    "drift_chart",
    "gain_chart",
    "importance_bar",
    "loss_curve",
    "monitor_metrics",
    "orders_over_time",
    "predicted_vs_actual",
    "predicted_vs_realised",
    "revenue_per_period",
    "spend_distribution",
    "tier_sizes",
    "waterfall",
]

_LAYOUT = {"margin": {"l": 10, "r": 10, "t": 40, "b": 10}, "legend_title_text": ""}


def orders_over_time(orders: pd.DataFrame) -> go.Figure:
    """Orders per calendar month (``order_date`` column)."""
    months = orders["order_date"].dt.to_period("M").dt.to_timestamp()
    counts = months.value_counts().sort_index()
    figure = px.bar(
        x=counts.index,
        y=counts.to_numpy(),
        labels={"x": t("data.month"), "y": t("data.orders")},
        title=t("data.orders_over_time"),
    )
    return figure.update_layout(**_LAYOUT)


def spend_distribution(orders: pd.DataFrame) -> go.Figure:
    """Histogram of order values (returns included, as negative values)."""
    figure = px.histogram(
        x=orders["amount"],
        nbins=60,
        log_y=True,
        labels={"x": t("data.order_value")},
        title=t("data.spend_distribution"),
    )
    return figure.update_layout(yaxis_title=t("data.orders"), **_LAYOUT)


def customers_by_first_month(orders: pd.DataFrame) -> go.Figure:
    """New customers per month of their first purchase."""
    first = orders.groupby("customer_id")["order_date"].min().dt.to_period("M").dt.to_timestamp()
    counts = first.value_counts().sort_index()
    figure = px.bar(
        x=counts.index,
        y=counts.to_numpy(),
        labels={"x": t("data.month"), "y": t("data.customers")},
        title=t("data.first_purchase"),
    )
    return figure.update_layout(**_LAYOUT)


def loss_curve(events: Sequence[EpochEvent], *, markers: bool = True) -> go.Figure:
    """Train and validation loss per epoch, one pair of lines per ensemble member.

    ``markers=False`` draws lines only, which a browser redraws much faster (the live curve).
    """
    figure = go.Figure()
    members = sorted({event.member for event in events})
    for member in members:
        own = [event for event in events if event.member == member]
        epochs = [event.epoch for event in own]
        for attribute, dash in (("train_loss", "solid"), ("val_loss", "dot")):
            figure.add_trace(
                go.Scatter(
                    x=epochs,
                    y=[getattr(event, attribute) for event in own],
                    mode="lines+markers" if markers else "lines",
                    line={"dash": dash},
                    name=f"#{member} {t('train.' + attribute)}",
                )
            )
    figure.update_layout(
        title=t("train.loss_curve"),
        xaxis_title=t("train.epoch"),
        yaxis_title=t("train.loss"),
        **_LAYOUT,
    )
    return figure


def gain_chart(curves: pd.DataFrame) -> go.Figure:
    """Gain curves of every model and of the perfect ranking (``EvaluationResult.gain_curves``)."""
    frame = curves.assign(model=curves["model"].map(model_label))
    figure = px.line(
        frame,
        x="share_of_customers",
        y="share_of_value",
        color="model",
        labels={
            "share_of_customers": t("evaluate.share_customers"),
            "share_of_value": t("evaluate.share_value"),
            "model": t("evaluate.model"),
        },
        title=t("evaluate.gain"),
    )
    return figure.update_layout(**_LAYOUT)


def decile_chart(deciles: pd.DataFrame, model: str) -> go.Figure:
    """Mean predicted vs mean actual per decile of one model (``decile_tables`` rows)."""
    own = deciles[deciles["model"] == model]
    figure = go.Figure(
        [
            go.Bar(x=own["decile"], y=own["mean_predicted"], name=t("evaluate.predicted")),
            go.Bar(x=own["decile"], y=own["mean_actual"], name=t("evaluate.actual")),
        ]
    )
    figure.update_layout(
        barmode="group",
        title=f"{t('evaluate.deciles')} — {model_label(model)}",
        xaxis_title=t("evaluate.decile"),
        yaxis_title=t("evaluate.mean_value"),
        **_LAYOUT,
    )
    return figure


def predicted_vs_actual(predictions: pd.DataFrame, model: str) -> go.Figure:
    """Scatter of one model's prediction against the actual value, log axes (log1p shift)."""
    figure = px.scatter(
        x=np.log10(1.0 + predictions[model].clip(lower=0)),
        y=np.log10(1.0 + predictions["actual"].clip(lower=0)),
        hover_name=predictions.index.astype(str),
        opacity=0.5,
        labels={
            "x": f"log10(1 + {t('evaluate.predicted')})",
            "y": f"log10(1 + {t('evaluate.actual')})",
        },
        title=f"{t('evaluate.scatter')} — {model_label(model)}",
    )
    top = float(np.log10(1.0 + max(predictions[model].max(), predictions["actual"].max(), 1.0)))
    figure.add_shape(type="line", x0=0, y0=0, x1=top, y1=top, line={"dash": "dash"})
    return figure.update_layout(**_LAYOUT)


def tier_sizes(profile: pd.DataFrame) -> go.Figure:
    """Share of customers next to share of predicted value per tier (``segment_profile``)."""
    tiers = profile["tier"].astype(str)
    figure = go.Figure(
        [
            go.Bar(x=tiers, y=profile["share_of_customers"], name=t("segments.customer_share")),
            go.Bar(
                x=tiers, y=profile["share_of_predicted_revenue"], name=t("segments.value_share")
            ),
        ]
    )
    figure.update_layout(
        barmode="group",
        title=t("segments.sizes"),
        yaxis_tickformat=".0%",
        yaxis_title=t("segments.share"),
        **_LAYOUT,
    )
    return figure


def action_grid_heatmap(grid: pd.DataFrame) -> go.Figure:
    """Customers per tier x churn band, with each cell's action as text (``action_grid``)."""
    counts = grid.pivot_table(
        index="tier", columns="churn_band", values="n_customers", observed=False, aggfunc="sum"
    )
    actions = grid.pivot_table(
        index="tier", columns="churn_band", values="action", observed=False, aggfunc="first"
    ).reindex_like(counts)
    text = [
        [f"{action}<br>{int(count):,}" for action, count in zip(action_row, count_row, strict=True)]
        for action_row, count_row in zip(actions.to_numpy(), counts.to_numpy(), strict=True)
    ]
    figure = go.Figure(
        go.Heatmap(
            z=counts.to_numpy(),
            x=[str(column) for column in counts.columns],
            y=[str(index) for index in counts.index],
            text=text,
            texttemplate="%{text}",
            colorscale="Blues",
        )
    )
    figure.update_layout(
        title=t("segments.grid"),
        xaxis_title=t("segments.band"),
        yaxis_title=t("segments.tier"),
        yaxis_autorange="reversed",
        **_LAYOUT,
    )
    return figure


def clv_by_tier(segmented: pd.DataFrame) -> go.Figure:
    """Distribution of predicted CLV within each tier (box plot, log axis)."""
    frame = segmented.assign(tier=segmented["tier"].astype(str))
    figure = px.box(
        frame,
        x="tier",
        y="predicted_clv",
        log_y=True,
        labels={"tier": t("segments.tier"), "predicted_clv": t("segments.predicted_clv")},
        title=t("segments.distribution"),
    )
    return figure.update_layout(**_LAYOUT)


def revenue_per_period(total: pd.DataFrame, period: str) -> go.Figure:
    """The list's expected revenue per period (bars) and its discounted profit (line).

    ``total`` is :meth:`clv_core.value.ValuePlan.aggregate`: ``period``, ``end``, ``revenue``,
    ``profit``.
    """
    ends = [str(end) for end in total["end"]]
    revenue, profit = t("segments.revenue"), t("segments.profit")
    figure = go.Figure(
        [
            go.Bar(
                x=ends,
                y=total["revenue"],
                name=revenue,
                hovertemplate="%{x}: %{y:,.2f}<extra>" + revenue + "</extra>",
            ),
            go.Scatter(
                x=ends,
                y=total["profit"],
                name=profit,
                mode="lines+markers",
                hovertemplate="%{x}: %{y:,.2f}<extra>" + profit + "</extra>",
            ),
        ]
    )
    figure.update_layout(
        title=t("segments.per_period_title", period=t(f"segments.per_period_{period}")),
        xaxis_title=t("segments.period_end"),
        yaxis_title=t("segments.money"),
        xaxis_type="category",
        **_LAYOUT,
    )
    return figure


def budget_curve(curve: pd.DataFrame, budget: float) -> go.Figure:
    """Expected profit captured (with its 80% band) and profit after cost against the budget
    spent, contacting customers in the plan's order; a vertical line marks ``budget``.

    ``curve`` is :attr:`clv_core.budget.BudgetPlan.curve`.
    """
    profit, net = t("segments.budget_profit_axis"), t("segments.budget_net_axis")
    traces = []
    if curve["high"].notna().any():
        traces.append(
            go.Scatter(
                x=np.concatenate([curve["budget"], curve["budget"][::-1]]),
                y=np.concatenate([curve["high"], curve["low"][::-1]]),
                fill="toself",
                line={"width": 0},
                opacity=0.25,
                name="80%",
                hoverinfo="skip",
            )
        )
    traces += [
        go.Scatter(
            x=curve["budget"],
            y=curve["profit"],
            name=profit,
            customdata=curve["contacts"],
            hovertemplate="%{x:,.2f}: %{y:,.2f} (%{customdata:,})<extra>" + profit + "</extra>",
        ),
        go.Scatter(
            x=curve["budget"],
            y=curve["net_profit"],
            name=net,
            line={"dash": "dot"},
            hovertemplate="%{x:,.2f}: %{y:,.2f}<extra>" + net + "</extra>",
        ),
    ]
    figure = go.Figure(traces)
    figure.add_vline(
        x=budget, line_dash="dash", annotation_text=t("segments.budget_chosen"), opacity=0.6
    )
    figure.update_layout(
        title=t("segments.budget_curve_title"),
        xaxis_title=t("segments.budget_axis"),
        yaxis_title=t("segments.money"),
        **_LAYOUT,
    )
    return figure


# -- Monitoring (clv_core.usecases.monitoring) --------------------------------------------------


def monitor_metrics(models: dict[str, dict[str, float]]) -> go.Figure:
    """Normalized Gini and Spearman of the network and each baseline on the realised outcome
    (grouped bars); ``models`` maps a model code to its metrics (``mlp`` is the network)."""
    names = [name for name, values in models.items() if "normalized_gini" in values]
    figure = go.Figure(
        [
            go.Bar(
                x=[model_label(name) for name in names],
                y=[models[name][metric] for name in names],
                name=metric_label(metric),
                hovertemplate="%{x}: %{y:.3f}<extra></extra>",
            )
            for metric in ("normalized_gini", "spearman")
        ]
    )
    figure.update_layout(barmode="group", title=t("monitor.metrics"), **_LAYOUT)
    return figure


def predicted_vs_realised(rows: list[dict[str, object]], labels: dict[str, str]) -> go.Figure:
    """Predicted and realised revenue per segment (grouped bars); ``labels`` names the codes."""
    names = [labels.get(str(row["code"]), str(row["code"])) for row in rows]
    predicted, realised = t("monitor.predicted"), t("monitor.realised")
    figure = go.Figure(
        [
            go.Bar(
                x=names,
                y=[row["predicted_revenue"] for row in rows],
                name=predicted,
                hovertemplate="%{x}: %{y:,.2f}<extra>" + predicted + "</extra>",
            ),
            go.Bar(
                x=names,
                y=[row["realised_revenue"] for row in rows],
                name=realised,
                hovertemplate="%{x}: %{y:,.2f}<extra>" + realised + "</extra>",
            ),
        ]
    )
    figure.update_layout(barmode="group", yaxis_title=t("monitor.revenue"), **_LAYOUT)
    return figure


def drift_chart(features: list[dict[str, object]], language: Language | None = None) -> go.Figure:
    """PSI of each input, largest first, with the moving (0.10) and shifted (0.25) lines."""
    language = language or current_language()
    rows = sorted(features, key=lambda row: -float(row["psi"]))  # type: ignore[arg-type]
    colours = {"stable": "#9bbcd9", "moving": "#f2b134", "shifted": "#d9534f"}
    figure = go.Figure(
        go.Bar(
            x=[feature_label(str(row["feature"]), language) for row in rows],
            y=[row["psi"] for row in rows],
            marker_color=[colours[str(row["status"])] for row in rows],
            customdata=[str(row["feature"]) for row in rows],
            hovertemplate="%{customdata}: PSI %{y:.3f}<extra></extra>",
        )
    )
    for level in (0.10, 0.25):
        figure.add_hline(y=level, line_dash="dash", opacity=0.5)
    figure.update_layout(title=t("monitor.drift"), yaxis_title="PSI", **_LAYOUT)
    return figure


def champion_challenger(comparison: dict[str, object]) -> go.Figure:
    """The four accuracy metrics of the champion and the challenger (grouped bars)."""
    metrics = ("normalized_gini", "spearman", "decile_mape", "total_ratio")
    figure = go.Figure(
        [
            go.Bar(
                x=[metric_label(metric) for metric in metrics],
                y=[comparison[role][metric] for metric in metrics],  # type: ignore[index]
                name=t(label),
                hovertemplate="%{x}: %{y:.3f}<extra></extra>",
            )
            for role, label in (
                ("champion", "monitor.champion"),
                ("challenger", "monitor.challenger_name"),
            )
        ]
    )
    figure.update_layout(barmode="group", title=t("monitor.challenger"), **_LAYOUT)
    return figure


# -- SHAP explanations (clv_core.explain.Explanation) -------------------------------------------


def _check_top(top: int) -> int:
    if isinstance(top, bool) or not isinstance(top, int | np.integer) or top < 1:
        raise ConfigError(f"top must be a whole number of at least 1, got {top!r}.")
    return int(top)


def importance_bar(
    explanation: Explanation, top: int = 15, language: Language | None = None
) -> go.Figure:
    """Horizontal bar chart of mean |SHAP value| for the ``top`` features, largest on top."""
    language = language or current_language()
    importance = explanation.importance().head(_check_top(top)).iloc[::-1]
    mean_abs = text_in(language, "shap.mean_abs")
    figure = go.Figure(
        go.Bar(
            x=importance["mean_abs_shap"],
            y=[feature_label(name, language) for name in importance["feature"]],
            orientation="h",
            customdata=importance["feature"],
            hovertemplate="%{customdata}: %{x:.2f}<extra></extra>",
            name=mean_abs,
        )
    )
    figure.update_layout(
        title=text_in(language, "shap.importance_title"),
        xaxis_title=mean_abs,
        height=max(300, 28 * len(importance) + 120),
        margin={"l": 10},
    )
    return figure


@dataclass(slots=True)
class _Unranked:
    """The beeswarm's grey points: categories and missing values, which have no rank."""

    x: list[float] = field(default_factory=list)
    y: list[float] = field(default_factory=list)
    text: list[str] = field(default_factory=list)


def beeswarm(
    explanation: Explanation, top: int = 15, language: Language | None = None
) -> go.Figure:
    """One row of points per feature (``top`` by importance): every customer's SHAP value.

    Points are spread vertically in proportion to how crowded their SHAP value is (seeded),
    and coloured by the rank of the customer's feature value within that feature (low to high).
    Categories and missing values have no rank and are grey, in one extra trace.
    """
    language = language or current_language()
    names = list(explanation.importance()["feature"].head(_check_top(top)))[::-1]
    jitter_rng = np.random.default_rng(0)
    figure = go.Figure()
    unranked = _Unranked()
    for position, name in enumerate(names):
        _swarm_row(figure, explanation, name, position, jitter_rng, unranked, language)
    if unranked.x:
        figure.add_trace(
            go.Scatter(
                x=unranked.x,
                y=unranked.y,
                mode="markers",
                name=text_in(language, "shap.no_rank"),
                text=unranked.text,
                hovertemplate="%{text}<br>SHAP %{x:+.2f}<extra></extra>",
                marker={"color": "rgba(128,128,128,0.6)", "size": 5},
            )
        )
    figure.add_vline(x=0, line_width=1, line_color="grey")
    figure.update_layout(
        title=text_in(language, "shap.beeswarm_title"),
        xaxis_title=text_in(language, "shap.value"),
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
            "colorbar": {"title": {"text": text_in(language, "shap.value_rank")}, "tickvals": []},
        },
        legend={"orientation": "h", "y": -0.15},
        height=max(320, 36 * len(names) + 140),
        margin={"l": 10},
    )
    return figure


def _swarm_row(
    figure: go.Figure,
    explanation: Explanation,
    name: str,
    position: int,
    rng: np.random.Generator,
    unranked: _Unranked,
    language: Language,
) -> None:
    """One feature's row of the beeswarm: ranked points as a trace, the others kept aside."""
    shap_values = explanation.wide()[name].to_numpy(dtype=np.float64)
    offsets = _swarm_offsets(shap_values, rng)
    label = feature_label(name, language)
    raw = explanation.feature_values()[name]
    numeric = (
        pd.Series(np.nan, index=raw.index)
        if name in explanation.categorical_features
        else pd.to_numeric(raw, errors="coerce")
    )
    ranked = numeric.notna().to_numpy()
    customer = text_in(language, "shap.customer")
    hover = [
        f"{customer} {customer_id}<br>{label} = {format_value(value, language)}"
        for customer_id, value in zip(raw.index, raw.to_numpy(), strict=True)
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
    unranked.x += list(shap_values[~ranked])
    unranked.y += list(position + offsets[~ranked])
    unranked.text += [h for h, keep in zip(hover, ranked, strict=True) if not keep]


def _swarm_offsets(values: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Vertical offsets in (-0.4, 0.4), wider where many customers share similar values."""
    if values.size == 0:
        return np.zeros(0)
    bins = np.histogram_bin_edges(values, bins=min(50, max(1, values.size // 5)))
    counts, _ = np.histogram(values, bins=bins)
    which = np.clip(np.searchsorted(bins, values, side="right") - 1, 0, counts.size - 1)
    crowding = counts[which] / max(int(counts.max()), 1)
    return rng.uniform(-0.4, 0.4, values.size) * crowding


def dependence_plot(
    explanation: Explanation, feature: str, language: Language | None = None
) -> go.Figure:
    """SHAP value of one feature against its value, one point per customer.

    A numeric feature is a scatter plot (customers with a missing value are left out and
    counted in a note); a categorical one a box per category with all points shown.
    """
    language = language or current_language()
    data = explanation.dependence(feature)
    label = feature_label(feature, language)
    customer = text_in(language, "shap.customer")
    figure = go.Figure()
    if feature in explanation.categorical_features:
        figure.add_trace(
            go.Box(
                x=data["feature_value"].map(lambda value: format_value(value, language)),
                y=data["shap_value"],
                boxpoints="all",
                jitter=0.4,
                pointpos=0,
                name=label,
                customdata=data["customer_id"],
                hovertemplate=f"{customer} %{{customdata}}<br>%{{x}}<br>"
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
                hovertemplate=f"{customer} %{{customdata}}<br>{label} = %{{x}}<br>"
                "SHAP %{y:+.2f}<extra></extra>",
                marker={"size": 6, "opacity": 0.7},
            )
        )
        absent = int((~present).sum())
        if absent:
            figure.add_annotation(
                text=text_in(language, "shap.missing_note", count=absent),
                xref="paper",
                yref="paper",
                x=1,
                y=1.06,
                showarrow=False,
            )
    figure.add_hline(y=0, line_width=1, line_color="grey")
    figure.update_layout(
        title=text_in(language, "shap.dependence_title", feature=label),
        xaxis_title=label,
        yaxis_title=text_in(language, "shap.value"),
        showlegend=False,
    )
    return figure


def waterfall(
    explanation: Explanation,
    customer_id: Hashable,
    top: int = 10,
    language: Language | None = None,
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
    language = language or current_language()
    top = _check_top(top)
    position = explanation.customer_position(customer_id)
    shap_row = explanation.wide().iloc[position]
    value_row = explanation.feature_values().iloc[position]
    order = np.argsort(-np.abs(shap_row.to_numpy()), kind="stable")
    shown = [explanation.features[i] for i in order[:top]]
    rest = [explanation.features[i] for i in order[top:]]
    labels = [text_in(language, "shap.base")]
    steps = [explanation.base_value]
    for name in shown:
        value = format_value(value_row[name], language)
        labels.append(f"{feature_label(name, language)} = {value}")
        steps.append(float(shap_row[name]))
    if rest:
        labels.append(text_in(language, "shap.other", count=len(rest)))
        steps.append(float(shap_row[rest].sum()))
    prediction = float(explanation.predictions.iloc[position])
    labels.append(text_in(language, "shap.prediction"))
    steps.append(prediction)
    figure = go.Figure(
        go.Waterfall(
            orientation="h",
            measure=["absolute"] + ["relative"] * (len(steps) - 2) + ["total"],
            y=labels,
            x=steps,
            text=[f"{explanation.base_value:.1f}"]
            + [format_contribution(step) for step in steps[1:-1]]
            + [f"{prediction:.1f}"],
            textposition="outside",
            connector={"line": {"color": "grey", "width": 1}},
        )
    )
    figure.update_layout(
        title=text_in(
            language, "shap.waterfall_title", customer=customer_id, prediction=f"{prediction:.1f}"
        ),
        xaxis_title=text_in(language, "shap.prediction"),
        yaxis={"autorange": "reversed"},
        height=max(320, 30 * len(labels) + 140),
        margin={"l": 10},
        showlegend=False,
    )
    return figure
