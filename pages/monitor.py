"""Monitor: a model's predictions against what its customers did next, drift, a challenger.

The session's log (loaded on the Data page) is the newer data; the model is an uploaded
deployed bundle or this session's network. Monitoring and the challenger run in the server's
workers (:mod:`clv_core.tasks`); their results are kept per model and data.
"""

import streamlit as st

from clv_core.catalogue import BAND_LABELS, pick, tier_code, tier_names
from clv_core.errors import ClvError
from clv_core.kinds import InputShape, SplitKind
from clv_core.usecases.monitoring import report_bytes
from clv_ui import charts, workflow
from clv_ui.i18n import current_language, metric_label, t
from clv_ui.shell import require
from clv_ui.state import get_state
from clv_ui.widgets import XLSX_MIME, bundle_upload, model_sources

state = get_state()
language = current_language()
st.title(t("monitor.title"))
st.caption(t("monitor.intro"))

bundle_upload(state, label=t("monitor.upload_bundle"), key="monitor_upload_bundle")
require(state)  # the newer log comes from the Data page
sources = model_sources(state, bundle_first=True)
if not sources:
    require(state, model=True)
source = st.radio(
    t("monitor.source"),
    sources,
    horizontal=True,
    format_func={name: t(f"segments.source_{name}") for name in sources}.__getitem__,
    key="monitor_source",
)
use_bundle = source == "bundle"
if use_bundle and state.bundle_info is not None:
    if state.bundle_info.input_shape is InputShape.CUSTOMER_TABLE:
        st.info(t("monitor.needs_log"))
        st.stop()
    st.caption(
        t(
            "segments.bundle_loaded",
            cutoff=state.bundle_info.cutoff,
            horizon=state.bundle_info.horizon_days,
        )
    )
elif state.result is not None and state.result.settings.split is SplitKind.CUSTOMER:
    st.warning(t("monitor.in_sample"))

report = workflow.kept_report(state, use_bundle=use_bundle)
if st.button(t("monitor.run"), type="primary", key="monitor_run") or report is not None:
    try:
        report = workflow.monitor_model(state, use_bundle=use_bundle, language=language)
    except ClvError as error:
        st.error(str(error))
        st.stop()
if report is None:
    st.stop()

data = report.data
window = data["window"]
st.caption(
    t(
        "monitor.window",
        customers=data["customers"],
        as_of=data["bundle"]["as_of"],
        start=window["start"],
        end=window["end"],
        days=window["days"],
    )
)
if data["retrain_recommended"]:
    st.warning(t("monitor.retrain") + "\n" + "\n".join(f"- {r}" for r in data["reasons"]))
else:
    st.success(t("monitor.keep"))
for note in data["notes"]:
    st.info(note)

st.subheader(t("monitor.metrics"))
models = {"mlp": data["network"], **data["baselines"]}
left, right = st.columns([2, 1])
left.plotly_chart(charts.monitor_metrics(models), key="monitor_metrics")
network = data["network"]
table = [
    {t("monitor.metric"): metric_label(name), t("monitor.value"): network[name]}
    for name in ("normalized_gini", "spearman", "top_decile_share", "decile_mape", "total_ratio")
]
right.dataframe(table, hide_index=True, key="monitor_table")
if data["network_still_best"] is not None:
    right.caption(t("monitor.still_best" if data["network_still_best"] else "monitor.not_best"))
coverage = data["coverage"]
if coverage["achieved"] is not None:
    right.metric(
        t("monitor.coverage"),
        f"{coverage['achieved']:.0%}",
        help=t("monitor.coverage_help", promised=coverage["promised"]),
    )

st.subheader(t("monitor.segments"))
tier_labels = {
    tier_code(position): name
    for position, name in enumerate(tier_names(len(data["tiers"]) or 4, language))
}
band_labels = {code: pick(label, language) for code, label in BAND_LABELS.items()}
tiers, bands = st.columns(2)
tiers.plotly_chart(charts.predicted_vs_realised(data["tiers"], tier_labels), key="monitor_tiers")
bands.plotly_chart(
    charts.predicted_vs_realised(data["churn_bands"], band_labels), key="monitor_bands"
)

drift = data["drift"]
st.subheader(t("monitor.drift"))
st.caption(
    t(
        "monitor.drift_caption",
        reference=drift["reference_date"],
        current=drift["current_date"],
        new=drift["new_customers_share"],
    )
)
st.plotly_chart(charts.drift_chart(drift["features"], language), key="monitor_drift")
with st.expander(t("monitor.findings")):
    for finding in drift["findings"]:
        st.markdown(f"- {finding}")

lineage = data["bundle"]["lineage"]
if lineage:
    with st.expander(t("monitor.lineage")):
        st.dataframe(
            [
                *lineage["chain"],
                {"source": data["bundle"]["source"], "as_of": data["bundle"]["as_of"]},
            ],
            hide_index=True,
            key="monitor_lineage",
        )

st.subheader(t("monitor.downloads"))
json_column, html_column, xlsx_column = st.columns(3)
json_column.download_button(
    t("monitor.download_json"),
    report_bytes(report, ".json"),
    "clv_monitoring.json",
    "application/json",
    key="monitor_download_json",
)
html_column.download_button(
    t("monitor.download_html"),
    report_bytes(report, ".html"),
    "clv_monitoring.html",
    "text/html",
    key="monitor_download_html",
)
xlsx_column.download_button(
    t("monitor.download_xlsx"),
    report_bytes(report, ".xlsx"),
    "clv_monitoring.xlsx",
    XLSX_MIME,
    key="monitor_download_xlsx",
)

st.subheader(t("monitor.challenger"))
challenger = workflow.kept_challenger(state, use_bundle=use_bundle)
if (
    st.button(t("monitor.challenge"), help=t("monitor.challenge_help"), key="monitor_challenge")
    or challenger is not None
):
    try:
        challenger = workflow.challenge_model(state, use_bundle=use_bundle)
    except ClvError as error:
        st.error(str(error))
        st.stop()
if challenger is not None:
    comparison = challenger.comparison
    st.plotly_chart(charts.champion_challenger(comparison), key="monitor_challenger")
    st.caption(" · ".join(comparison["verdicts"]))
    if "note" in comparison:
        st.info(comparison["note"])
    if challenger.bundle is not None:
        st.success(t("monitor.challenger_better"))
        st.download_button(
            t("monitor.download_challenger"),
            challenger.bundle,
            "clv_model_bundle_challenger.zip",
            "application/zip",
            key="monitor_download_challenger",
        )
    else:
        st.info(t("monitor.champion_stays"))
