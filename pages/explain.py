"""Explain: SHAP importance, beeswarm, dependence and one customer's waterfall."""

import streamlit as st

from clv_core.errors import ClvError
from clv_core.explain import ExplainSettings
from clv_ui import workflow
from clv_ui.charts import beeswarm, dependence_plot, importance_bar, waterfall
from clv_ui.i18n import t
from clv_ui.shell import require
from clv_ui.state import get_state

state = get_state()
st.title(t("explain.title"))
require(state, model=True, customer_table_ok=True)
result = state.result
assert result is not None
st.caption(t("explain.intro"))

left, right = st.columns(2)
sample = left.number_input(
    t("explain.sample_size"),
    10,
    5000,
    min(500, result.n_test),
    step=50,
    help=t("explain.sample_size_help"),
    key="explain_sample",
)
background = right.number_input(
    t("explain.background_size"),
    10,
    1000,
    ExplainSettings().background_size,
    step=10,
    help=t("explain.background_size_help"),
    key="explain_background",
)
if st.button(t("explain.run"), type="primary", key="explain_run"):
    try:
        with st.status(t("explain.running")):
            settings = ExplainSettings(background_size=int(background), sample_size=int(sample))
            workflow.explain_result(state, result, settings)
    except ClvError as error:
        st.error(str(error))
explanation = state.explanation
if explanation is None:
    st.stop()

st.caption(t("explain.base_value", base=explanation.base_value, error=explanation.additivity_error))
importance_tab, swarm_tab, dependence_tab, customer_tab = st.tabs(
    [
        t("explain.importance"),
        t("explain.beeswarm"),
        t("explain.dependence"),
        t("explain.waterfall"),
    ]
)
importance_tab.plotly_chart(importance_bar(explanation), key="importance")
swarm_tab.plotly_chart(beeswarm(explanation), key="beeswarm")
with dependence_tab:
    ranked = explanation.importance()["feature"].tolist()
    feature = st.selectbox(t("explain.feature"), ranked, key="explain_feature")
    st.plotly_chart(dependence_plot(explanation, feature), key="dependence")
with customer_tab:
    query = st.text_input(t("explain.search"), key="explain_search").strip()
    ids = [str(customer) for customer in explanation.customer_ids]
    matches = [customer for customer in ids if query.lower() in customer.lower()][:500]
    if not matches:
        st.info(t("explain.no_match", query=query))
        st.stop()
    customer = st.selectbox(t("explain.customer"), matches, key="explain_customer")
    st.plotly_chart(waterfall(explanation, customer), key="waterfall")
