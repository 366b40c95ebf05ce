"""Train: the network configuration form, live progress with cancel, and the result card."""

import streamlit as st

from clv_core.errors import ClvError
from clv_ui import workflow
from clv_ui.forms import mlp_config_form
from clv_ui.i18n import t
from clv_ui.shell import require
from clv_ui.state import get_state
from clv_ui.widgets import job_panel

state = get_state()
st.title(t("train.title"))
require(state, customer_table_ok=True)
st.caption(t("train.intro"))

try:
    request = mlp_config_form(state.config, state.split)
    if request is not None:
        workflow.start_training(state, request)
except ClvError as error:
    st.error(str(error))

job_panel(state)
if state.job is not None and state.job.finished and state.job.result is not None:
    st.success(t("train.finished"))
    if state.model_dir is not None:
        st.download_button(
            t("segments.download_bundle"),
            workflow.bundle_zip(state.model_dir),
            "clv_model_bundle.zip",
            "application/zip",
            key="train_download_bundle",
            help=t("segments.bundle_note"),
        )
    st.page_link("pages/evaluate.py", label=t("train.next"), icon=":material/arrow_forward:")
