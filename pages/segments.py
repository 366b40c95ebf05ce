"""Segments & export: tiers and churn risk, the segment profile, charts and downloads."""

import datetime as dt

import streamlit as st

from clv_core.errors import ClvError
from clv_core.segments import action_grid, segment_profile
from clv_ui import charts, workflow
from clv_ui.forms import segment_settings_form
from clv_ui.i18n import current_language, t
from clv_ui.shell import require
from clv_ui.state import get_state
from clv_ui.widgets import campaign_list, segment_profile_table

state = get_state()
st.title(t("segments.title"))
require(state)
transactions = state.data.transactions
assert transactions is not None

try:
    bundle = st.file_uploader(
        t("segments.upload_bundle"),
        type=["zip"],
        help=t("segments.upload_bundle_help"),
        key="upload_bundle",
    )
    if bundle is not None:
        with st.spinner(t("segments.loading_bundle")):
            workflow.load_bundle_upload(state, bundle.getvalue())
except ClvError as error:
    st.error(str(error))
sources = [
    name
    for name, ready in (
        ("trained", state.result is not None),
        ("bundle", state.bundle_path is not None),
    )
    if ready
]
if not sources:
    require(state, model=True)
source = st.radio(
    t("segments.model_source"),
    sources,
    horizontal=True,
    format_func={name: t(f"segments.source_{name}") for name in sources}.__getitem__,
    key="segment_source",
)
if source == "bundle" and state.bundle_info is not None:
    st.caption(
        t(
            "segments.bundle_loaded",
            cutoff=state.bundle_info.cutoff,
            horizon=state.bundle_info.horizon_days,
        )
    )
as_of = st.date_input(
    t("segments.as_of"),
    transactions.last_date.date(),
    min_value=transactions.first_date.date(),
    max_value=transactions.last_date.date(),
    help=t("segments.as_of_help"),
    key="segment_as_of",
)
if not isinstance(as_of, dt.date):  # an emptied date input scores at the last order date
    as_of = transactions.last_date.date()
language = current_language()
try:
    settings = segment_settings_form()
    with st.spinner(t("segments.scoring")):
        segmented, features = workflow.score_and_segment(
            state,
            use_bundle=source == "bundle",
            as_of=as_of,
            settings=settings,
            language=language,
        )
except ClvError as error:
    st.error(str(error))
    st.stop()

profile = segment_profile(segmented, features=features)
st.subheader(t("segments.profile"))
segment_profile_table(profile)
grid = action_grid(
    segmented.set_index("customer_id")["tier"],
    segmented.set_index("customer_id")["churn_band"],
    predicted=segmented.set_index("customer_id")["predicted_clv"],
    language=language,
)
sizes, heatmap, spread = st.tabs(
    [t("segments.sizes"), t("segments.grid"), t("segments.distribution")]
)
sizes.plotly_chart(charts.tier_sizes(profile), key="tier_sizes")
heatmap.plotly_chart(charts.action_grid_heatmap(grid), key="action_grid")
spread.plotly_chart(charts.clv_by_tier(segmented), key="clv_by_tier")

campaign_list(state, segmented, features, use_bundle=source == "bundle", as_of=as_of)
