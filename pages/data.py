"""Data: upload or use the sample, check the column mapping and the validation report.

The upload form at the top needs neither pandas nor the engine, so a fresh session sees it at
once; the engine is imported below it, once there is a table to read or show.
"""

import contextlib

import streamlit as st

from clv_core.errors import ClvError
from clv_core.kinds import DAYS_PER_MONTH, InputShape
from clv_ui.i18n import t
from clv_ui.shell import forget_lone_order_lines, pending_uploads, upload_limit_mb
from clv_ui.state import get_state

# The horizons an analyst can choose in months (of 30 days, as the value plan counts them).
HORIZON_MONTHS = (3, 6, 12, 24)

state = get_state()
limit = upload_limit_mb()
st.title(t("data.title"))
st.caption(t("data.intro"))

use_sample = st.button(
    t("data.use_sample"),
    help=t("data.sample_help"),
    key="use_sample",
    on_click=st.session_state.update,
    kwargs={"data_shape": InputShape.TRANSACTIONS},
)
shapes = list(InputShape)
shape = st.radio(
    t("data.shape"),
    shapes,
    index=shapes.index(state.data.shape),
    horizontal=True,
    format_func={shape: t(f"data.shape_{shape}") for shape in shapes}.__getitem__,
    key="data_shape",
)
main_key = "upload_transactions" if shape is InputShape.TRANSACTIONS else "upload_table"
left, middle, right = st.columns(3)
inputs = {
    main_key: left.file_uploader(
        t("data.upload_" + shape.value), help=t("data.upload_help", limit=limit), key=main_key
    )
}
if shape is InputShape.TRANSACTIONS:
    inputs["upload_order_lines"] = middle.file_uploader(
        t("data.upload_order_lines"),
        help=t("data.upload_order_lines_help", limit=limit),
        key="upload_order_lines",
    )
    inputs["upload_customers"] = right.file_uploader(
        t("data.upload_customers"), help=t("data.upload_help", limit=limit), key="upload_customers"
    )
uploads = pending_uploads(state, inputs, sample_chosen=use_sample)
if not use_sample:
    forget_lone_order_lines(state, inputs)
if state.data.table is None and not use_sample and not uploads:
    st.stop()

from clv_core.usecases import attributes_report  # noqa: E402
from clv_ui import workflow  # noqa: E402  (see the module docstring)
from clv_ui.jobs import session_runner  # noqa: E402
from clv_ui.widgets import (  # noqa: E402
    companion_files,
    mapping_editor,
    money_panel,
    quick_look,
    stage_status,
    validation_options,
    validation_report,
)

problem: ClvError | None = None
try:
    if use_sample or uploads:
        with stage_status() as on_stage:
            if use_sample:
                workflow.use_sample(state, limit, on_stage)
            workflow.read_uploads(state, shape, uploads, limit, on_stage)
except ClvError as error:
    problem = error
try:
    # The selects are drawn even when the file just read does not validate: they fix it.
    mapping_editor(state)
    companion_files(state)
    if problem is None:
        validation_options(state)
        workflow.check_table(state)
except ClvError as error:
    problem = problem or error
if problem is not None:
    st.error(str(problem))
    st.stop()

data = state.data
if data.table is None:
    st.stop()
source_name = data.source.source_name if data.source is not None else data.table.source_name
st.success(t("data.loaded", name=source_name))
# The server's worker processes start loading TensorFlow now, while the analyst reads the report
# (a wrong server setting is reported where a job is started).
with contextlib.suppress(ClvError):
    session_runner(state)
if data.transactions is None:
    # A transaction log's loader and join notes are among its report's warnings.
    for note in data.table.notes:
        st.caption(f"{t('data.notes')}: {note}")
with st.expander(t("data.report"), expanded=True):
    report = data.transactions or data.customer_table
    if report is not None:
        validation_report(report.report)
    if data.customers is not None:
        st.caption(
            t(
                "data.attributes",
                rows=len(data.customers.frame),
                columns=data.customers.frame.shape[1],
            )
        )
        validation_report(
            attributes_report(data.transactions, data.customers)
            if data.transactions is not None
            else data.customers.report
        )
if data.transactions is not None and data.transactions.money is not None:
    money_panel(state, data.transactions.money, data.transactions.report.summary)
st.subheader(t("data.preview"))
preview = data.source.frame if data.source is not None else data.table.frame
st.dataframe(preview.head(200), key="preview")

if data.transactions is not None and data.cutoff is not None:
    orders = data.transactions.frame
    st.caption(
        t(
            "data.date_range",
            first=data.transactions.first_date.date(),
            last=data.transactions.last_date.date(),
            customers=orders["customer_id"].nunique(),
        )
    )
    quick_look(orders)
    st.subheader(t("data.windows"))
    left, right = st.columns(2)
    cutoff = left.date_input(
        t("data.cutoff"),
        data.cutoff,
        min_value=data.transactions.first_date.date(),
        max_value=data.transactions.last_date.date(),
        help=t("data.cutoff_help"),
        key=f"cutoff_{data.table_digest}_{data.lines_digest}",
    )
    units = {name: t(f"data.unit_{name}") for name in ("days", "months")}
    unit = right.radio(
        t("data.horizon_unit"),
        list(units),
        format_func=units.__getitem__,
        horizontal=True,
        key="horizon_unit",
    )
    if unit == "months":
        months = right.selectbox(
            t("data.horizon_months"),
            HORIZON_MONTHS,
            index=HORIZON_MONTHS.index(
                min(HORIZON_MONTHS, key=lambda m: abs(m * DAYS_PER_MONTH - data.horizon_days))
            ),
            help=t("data.horizon_help"),
            key=f"horizon_months_{data.table_digest}_{data.lines_digest}",
        )
        horizon = int(months) * DAYS_PER_MONTH
    else:
        horizon = right.number_input(
            t("data.horizon"),
            1,
            3650,
            data.horizon_days,
            help=t("data.horizon_help"),
            key=f"horizon_{data.table_digest}_{data.lines_digest}",
        )
    workflow.set_windows(state, cutoff, int(horizon))
    st.page_link("pages/train.py", label=t("app.step_train"), icon=":material/arrow_forward:")
elif data.customer_table is not None:
    st.info(
        t(
            "data.customer_table_loaded",
            rows=len(data.customer_table.features),
            target=data.customer_table.mapping.target,
        )
    )
