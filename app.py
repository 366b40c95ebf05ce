"""CLV workbench: page config, the page router and the shared sidebar. Nothing else."""

import streamlit as st

from clv_core.language import Language
from clv_ui.i18n import LANGUAGE_NAMES, t
from clv_ui.shell import collect_finished_job, freeze_engine_objects, workflow_status
from clv_ui.state import get_state

st.set_page_config(page_title="CLV workbench", page_icon=":material/insights:", layout="wide")

freeze_engine_objects()
state = get_state()
collect_finished_job(state)
with st.sidebar:
    codes = [language.value for language in LANGUAGE_NAMES]
    st.radio(
        t("app.language"),
        codes,
        index=codes.index(state.language.value),
        format_func={code: LANGUAGE_NAMES[Language(code)] for code in codes}.__getitem__,
        horizontal=True,
        key="language",
        on_change=lambda: setattr(state, "language", Language(st.session_state["language"])),
    )

pages = [
    st.Page("pages/data.py", title=t("app.step_data"), icon=":material/upload_file:"),
    st.Page("pages/train.py", title=t("app.step_train"), icon=":material/model_training:"),
    st.Page("pages/evaluate.py", title=t("app.step_evaluate"), icon=":material/leaderboard:"),
    st.Page("pages/explain.py", title=t("app.step_explain"), icon=":material/lightbulb:"),
    st.Page("pages/segments.py", title=t("app.step_segments"), icon=":material/groups:"),
    st.Page("pages/monitor.py", title=t("app.step_monitor"), icon=":material/monitor_heart:"),
]
page = st.navigation(pages)
with st.sidebar:
    workflow_status(state)
page.run()
