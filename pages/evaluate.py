"""Evaluate: the network next to the baselines on the same test customers, for either split."""

import streamlit as st

from clv_core.errors import ClvError
from clv_core.kinds import SplitKind
from clv_ui import charts, workflow
from clv_ui.forms import TrainingRequest
from clv_ui.i18n import model_label, t
from clv_ui.shell import require
from clv_ui.state import get_state
from clv_ui.widgets import job_panel, metrics_frame

state = get_state()
st.title(t("evaluate.title"))
require(state, model=True, customer_table_ok=True)

splits = list(SplitKind)
split = st.radio(
    t("evaluate.split"),
    splits,
    index=splits.index(state.split),
    horizontal=True,
    format_func={kind: t(f"split.{kind}") for kind in splits}.__getitem__,
    key="evaluate_split",
)
result = state.results.get(split)
if result is None:
    st.info(t("evaluate.not_run"))
    if st.button(t("evaluate.run"), key="evaluate_run"):
        try:
            workflow.start_training(state, TrainingRequest(config=state.config, split=split))
        except ClvError as error:
            st.error(str(error))
    job_panel(state)
    st.stop()

settings = result.settings
st.caption(
    t(
        "evaluate.summary",
        n_train=result.n_train,
        n_test=result.n_test,
        cutoff=settings.cutoff,
        horizon=settings.horizon_days,
    )
)
for warning in result.warnings:
    st.warning(warning)
st.subheader(t("evaluate.metrics"))
st.dataframe(metrics_frame(result), hide_index=True, key="metrics_table")

fitted = [name for name in result.predictions.columns if name != "actual"]
st.plotly_chart(charts.gain_chart(result.gain_curves()), key="gain_chart")
model = st.selectbox(
    t("evaluate.model"),
    fitted,
    format_func={name: model_label(name) for name in fitted}.__getitem__,
    key="evaluate_model",
)
left, right = st.columns(2)
left.plotly_chart(charts.decile_chart(result.decile_tables(), model), key="decile_chart")
right.plotly_chart(charts.predicted_vs_actual(result.predictions, model), key="scatter_chart")
