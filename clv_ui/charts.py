"""Plotly figures drawn from the tidy frames that ``clv_core`` returns (no matplotlib anywhere)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import plotly.express as px
import plotly.graph_objects as go

from clv_core.mlp import EpochEvent
from clv_ui.i18n import model_label, t

__all__ = [
    "action_grid_heatmap",
    "clv_by_tier",
    "customers_by_first_month",
    "decile_chart",
    "gain_chart",
    "loss_curve",
    "orders_over_time",
    "predicted_vs_actual",
    "spend_distribution",
    "tier_sizes",
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
