"""Segments & export: tiers and churn risk, the segment profile, charts and downloads.

A model trained on a transaction log scores the session's log at a chosen date; a model trained
on a per-customer table scores an uploaded table of new customers, or else the training table
itself (out of fold, next to the known value). Such a bundle needs no data on the Data page:
upload it here with the table of customers to score.
"""

import datetime as dt

import streamlit as st

from clv_core.errors import ClvError
from clv_core.segments import action_grid, segment_profile
from clv_ui import charts, workflow
from clv_ui.forms import segment_settings_form, value_settings_form
from clv_ui.i18n import current_language, t
from clv_ui.shell import require, upload_limit_mb
from clv_ui.state import get_state
from clv_ui.widgets import (
    bundle_upload,
    campaign_list,
    model_sources,
    segment_profile_table,
    validation_report,
    value_sentence,
)

state = get_state()
st.title(t("segments.title"))
language = current_language()

bundle_upload(
    state,
    label=t("segments.upload_bundle"),
    key="upload_bundle",
    help=t("segments.upload_bundle_help"),
)
sources = model_sources(state, bundle_first=False)
if not sources:
    require(state, model=True, customer_table_ok=True)
source = st.radio(
    t("segments.model_source"),
    sources,
    horizontal=True,
    format_func={name: t(f"segments.source_{name}") for name in sources}.__getitem__,
    key="segment_source",
)
use_bundle = source == "bundle"
if use_bundle and state.bundle_info is not None:
    st.caption(
        t(
            "segments.bundle_loaded",
            cutoff=state.bundle_info.cutoff,
            horizon=state.bundle_info.horizon_days,
        )
    )

extra = None
if workflow.scores_tables(state, use_bundle=use_bundle):
    upload = st.file_uploader(
        t("segments.new_customers"),
        help=t("segments.new_customers_help"),
        key="upload_new_customers",
    )
    try:
        if upload is None:
            workflow.forget_new_customers(state)
        else:
            workflow.load_new_customers(state, upload.getvalue(), upload.name, upload_limit_mb())
    except ClvError as error:
        st.error(str(error))
        st.stop()
    if workflow.table_to_score(state) is None:
        info = state.bundle_info
        columns = list(info.table.required_columns) if info and info.table else []
        st.info(t("segments.need_new_customers", columns=", ".join(columns)))
        st.stop()
    try:
        settings = segment_settings_form()
        value = value_settings_form(None)  # one margin rate: a table's columns are its features
        with st.spinner(t("segments.scoring")):
            segmented, scores, plan = workflow.score_table_and_segment(
                state, use_bundle=use_bundle, settings=settings, value=value, language=language
            )
    except ClvError as error:
        st.error(str(error))
        st.stop()
    features, extra = scores.scored.features, scores.extra
    st.caption(
        t(
            "segments.table_scored",
            name=scores.report.source_name,
            n=len(features),
            date=scores.scored.as_of,
        )
    )
    with st.expander(t("data.report")):
        validation_report(scores.report)
    if "prediction_basis" in extra.columns:
        st.info(t("segments.training_table_note"))
    if scores.bands_note is not None:
        st.info(t(f"segments.no_bands_{scores.bands_note}"))
else:
    require(state)  # a log model needs the session's transaction log
    transactions = state.data.transactions
    assert transactions is not None
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
    try:
        settings = segment_settings_form()
        customers = state.data.customers
        value = value_settings_form(customers.frame if customers is not None else None)
        with st.spinner(t("segments.scoring")):
            segmented, features, plan = workflow.score_and_segment(
                state,
                use_bundle=use_bundle,
                as_of=as_of,
                settings=settings,
                value=value,
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

st.subheader(t("segments.value"))
st.caption(value_sentence(plan))
if plan.margins_defaulted and plan.settings.margin_column:
    st.info(
        t(
            "segments.margins_defaulted",
            n=plan.margins_defaulted,
            column=plan.settings.margin_column,
            margin=plan.settings.margin,
        )
    )

if extra is not None:
    campaign_list(
        state,
        segmented,
        attributes=features,
        drivers_of=lambda: workflow.table_top_drivers(
            state, features, use_bundle=use_bundle, language=language
        ),
        plan=plan,
        extra=extra,
    )
else:
    campaign_list(
        state,
        segmented,
        attributes=state.data.customers.frame if state.data.customers is not None else None,
        drivers_of=lambda: workflow.top_drivers(
            state, features, use_bundle=use_bundle, as_of=as_of, language=language
        ),
        plan=plan,
    )
