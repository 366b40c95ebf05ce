"""Reusable pieces of the pages that show data: the validation report, the mapping editor, the
live training panel, the campaign list and its downloads (the guards are in ``clv_ui.shell``)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import replace
from functools import partial
from typing import TYPE_CHECKING, Any

import pandas as pd
import streamlit as st

from clv_core import usecases
from clv_core.budget import NET_PROFIT_COLUMN, BudgetRequest
from clv_core.errors import ClvError
from clv_core.evaluation import EvaluationResult
from clv_core.export import to_csv_bytes, to_xlsx_bytes
from clv_core.kinds import InputShape
from clv_core.money import MoneyCheck, MoneyWarning
from clv_core.validation import ValidationOptions, ValidationReport
from clv_ui import charts, workflow
from clv_ui.forms import export_options_form
from clv_ui.i18n import (
    current_language,
    issue_label,
    metric_label,
    model_label,
    money_label,
    role_label,
    t,
)
from clv_ui.jobs import JobStatus, TrainingJob
from clv_ui.shell import collect_finished_job
from clv_ui.state import DataState, WorkbenchState
from clv_ui.workflow import CUSTOMER_TABLE_ROLES, TRANSACTION_ROLES, apply_mapping, bundle_zip

if TYPE_CHECKING:
    from streamlit.elements.lib.column_types import ColumnConfig

    from clv_core.value import ValuePlan

__all__ = [
    "companion_files",
    "download_buttons",
    "job_panel",
    "mapping_editor",
    "metrics_frame",
    "money_panel",
    "quick_look",
    "result_card",
    "segment_profile_table",
    "stage_status",
    "validation_options",
    "validation_report",
]


@contextmanager
def stage_status() -> Iterator[workflow.StageCallback]:
    """A status box that names the current step of reading data, removed when all went well.

    On an error it stays, marked as failed, above the error message: it shows which file and
    which step failed.
    """
    box = st.empty()
    with box.status(t("data.working"), expanded=False) as status:
        yield lambda key, name: status.update(label=t(key, name=name))
    box.empty()


def validation_report(report: ValidationReport) -> None:
    """Rows read / used / dropped, the reasons with examples, and warnings."""
    read, used, dropped = st.columns(3)
    read.metric(t("data.rows_read"), f"{report.rows_read:,}")
    used.metric(t("data.rows_used"), f"{report.rows_used:,}")
    dropped.metric(t("data.rows_dropped"), f"{report.rows_dropped:,}")
    for title_key, counts in (
        ("data.dropped_reason", report.dropped),
        ("data.altered_reason", report.altered),
    ):
        if counts:
            st.markdown(f"**{t(title_key)}**")
            st.dataframe(
                pd.DataFrame(
                    {
                        t("data.reason"): [issue_label(key) for key in counts],
                        t("data.count"): list(counts.values()),
                        t("data.examples"): [
                            "; ".join(report.examples.get(key, ())) for key in counts
                        ],
                    }
                ),
                hide_index=True,
            )
    for warning in report.warnings:
        st.warning(warning)


def metrics_frame(result: EvaluationResult) -> pd.DataFrame:
    """The metrics table with readable model and column names."""
    table = result.metrics_table()
    table["model"] = table["model"].map(model_label)
    if table["error"].isna().all():
        table = table.drop(columns="error")
    return table.rename(columns=metric_label)


def result_card(job: TrainingJob) -> None:
    """Epochs run, best validation loss and time of a finished training."""
    events = job.events()
    if not events:
        return
    epochs = sum(
        max(event.epoch for event in events if event.member == member)
        for member in {event.member for event in events}
    )
    best = min((event.best_val_loss for event in events), default=float("nan"))
    with st.container(border=True):
        st.markdown(f"**{t('train.result')}**")
        left, middle, right = st.columns(3)
        left.metric(t("train.epochs_run"), f"{epochs:,}")
        middle.metric(t("train.best_val_loss"), f"{best:.4f}")
        right.metric(t("train.seconds"), f"{job.elapsed_seconds:.1f}")
        if job.cancel_requested:
            st.warning(t("train.cancelled"))
    if events:
        st.plotly_chart(charts.loss_curve(events), key="final_loss_curve")


def _live_progress(job: TrainingJob) -> None:
    if job.status is JobStatus.QUEUED:
        position = job.position
        if position:
            st.info(t("train.waiting", position=position, running=job.runner.running()))
        else:
            st.caption(t("train.starting"))
    events = job.events()
    caption = t("train.stage", stage=job.stage or "…")
    if events:
        last = events[-1]
        caption += " · " + t(
            "train.progress",
            member=last.member,
            members=last.members,
            epoch=last.epoch,
            max_epochs=last.max_epochs,
        )
    st.progress(job.progress, text=caption)
    left, right = st.columns([1, 4])
    if left.button(t("train.cancel"), key="cancel_training", disabled=job.cancel_requested):
        job.cancel()
    # A cancel waits for the current epoch (and the baselines); this ends the job now.
    running = job.cancel_requested and job.status is JobStatus.RUNNING
    if running and right.button(
        t("train.stop_now"), key="stop_training", help=t("train.stop_now_help")
    ):
        job.kill()


# A watching session costs the server a fragment run per refresh and its browser a redraw: the
# progress line is cheap and refreshes every second (it also notices the end of the job); the
# loss curve, the costly part, every few seconds.
PROGRESS_REFRESH_SECONDS = 1.0
CURVE_REFRESH_SECONDS = 3.0


@st.fragment(run_every=PROGRESS_REFRESH_SECONDS)
def _poll_job(state: WorkbenchState) -> None:
    job = state.job
    if job is None:
        return
    if job.finished:
        # The whole page redraws once with the result card (and the sidebar status).
        st.rerun(scope="app")
    _live_progress(job)


@st.fragment(run_every=CURVE_REFRESH_SECONDS)
def _poll_curve(state: WorkbenchState) -> None:
    job = state.job
    events = job.events() if job is not None and not job.finished else []
    if events:
        st.plotly_chart(charts.loss_curve(events, markers=False), key="live_loss_curve")


def job_panel(state: WorkbenchState) -> None:
    """The live progress of this session's job, or its outcome once finished."""
    job = state.job
    if job is None:
        return
    if not job.finished:
        _poll_job(state)
        _poll_curve(state)
        return
    collect_finished_job(state)
    if job.error is not None:
        st.error(job.error)
        return
    result_card(job)


def _mapping_key(data: DataState, role: str) -> str:
    """The key of a role's select: one set of selects per source (a file, or orders + lines).

    Adding or replacing the lines file of a two-file export detects the roles again; selects
    keyed on the orders file alone would keep their old choices and override that detection.
    """
    two_files = data.lines_digest and data.shape is InputShape.TRANSACTIONS
    source = data.table_digest + (f"_{data.lines_digest}" if two_files else "")
    return f"map_{role}_{source}"


def mapping_editor(state: WorkbenchState) -> None:
    """Editable selects for the column roles; a change re-validates the table.

    Raises
    ------
    ClvError
        The new mapping does not fit the table (validation says why).
    """
    data = state.data
    if data.table is None or data.mapping is None:
        return
    roles = CUSTOMER_TABLE_ROLES if data.shape is InputShape.CUSTOMER_TABLE else TRANSACTION_ROLES
    # The columns validation reads: of a two-file export, the orders joined with their lines.
    frame = data.source.frame if data.source is not None else data.table.frame
    options: list[str | None] = [None, *(str(column) for column in frame.columns)]
    st.markdown(f"**{t('data.mapping')}**", help=t("data.mapping_help"))
    # Formatting must not read the session later (AppTest formats outside the script run).
    labels = {value: t("data.not_mapped") if value is None else value for value in options}
    changed: dict[str, str | None] = {}
    per_row = 5
    columns = [cell for start in range(0, len(roles), per_row) for cell in st.columns(per_row)]
    for column, role in zip(columns, roles, strict=False):
        current = getattr(data.mapping, role)
        chosen = column.selectbox(
            role_label(role),
            options,
            index=options.index(current) if current in options else 0,
            format_func=labels.__getitem__,
            key=_mapping_key(data, role),
        )
        if chosen != current:
            changed[role] = chosen
    if changed:
        with st.spinner(t("data.stage_validate", name=data.table.source_name)):
            apply_mapping(state, data.mapping.with_roles(**changed))


def companion_files(state: WorkbenchState) -> None:
    """The order-lines and attributes files in use, each with a button that removes it.

    An empty upload input does not remove a file: inputs are empty again after a visit to
    another page, while the session keeps what it read.
    """
    data = state.data
    if data.table is None or data.shape is not InputShape.TRANSACTIONS:
        return
    left, right = st.columns(2)
    if data.lines_table is not None:
        left.caption(t("data.lines_in_use", name=data.lines_table.source_name))
        left.button(
            t("data.remove_lines"),
            key=f"remove_lines_{data.lines_digest}",
            on_click=_remove_order_lines,
            args=(state,),
        )
    if data.customers is not None and not data.from_sample:
        right.caption(t("data.customers_in_use", name=data.customers.report.source_name))
        right.button(
            t("data.remove_customers"),
            key=f"remove_customers_{data.customers_digest}",
            on_click=_remove_customers,
            args=(state,),
        )


def _remove_order_lines(state: WorkbenchState) -> None:
    """Button callback: the orders file stands alone again (joined and validated anew)."""
    state.data.forget_order_lines()
    state.clear_models()


def _remove_customers(state: WorkbenchState) -> None:
    """Button callback: train without the customer attributes."""
    state.data.forget_customers()
    state.clear_models()


def validation_options(state: WorkbenchState) -> None:
    """Baskets on/off and the guest ids in use; a change validates again.

    Raises
    ------
    ClvError
        The table no longer validates with the new options.
    """
    data = state.data
    if data.table is None or data.shape is not InputShape.TRANSACTIONS or data.mapping is None:
        return
    options = data.options or ValidationOptions()
    left, right = st.columns(2)
    baskets = options.combine_baskets
    if data.mapping.order_id is None:
        # With an order id the lines of an order are combined by it; baskets do not apply.
        baskets = left.checkbox(
            t("data.combine_baskets"),
            value=options.combine_baskets,
            help=t("data.combine_baskets_help"),
            key=f"baskets_{data.table_digest}",
        )
    if options.guest_ids:
        right.caption(t("data.guest_ids", ids=", ".join(options.guest_ids)))
        right.button(
            t("data.guest_ids_clear"),
            key=f"clear_guests_{data.table_digest}",
            on_click=_clear_guests,
            args=(state,),
        )
    if baskets != options.combine_baskets:
        with st.spinner(t("data.stage_validate", name=data.table.source_name)):
            workflow.set_options(state, replace(options, combine_baskets=baskets))


def _clear_guests(state: WorkbenchState) -> None:
    """Button callback: count the guest ids as customers again.

    It runs before the page script, so the caption and the button are gone in the same run (a
    check of the button's value in the script would draw them once more) and
    :func:`clv_ui.workflow.check_table` validates again.
    """
    data = state.data
    data.options = replace(data.options or ValidationOptions(), guest_ids=())
    data.transactions = None


def _apply_suggestion(state: WorkbenchState, warning: MoneyWarning) -> None:
    """Button callback: put the suggested columns into the mapping selects, add guest ids.

    It runs before the page script, so the selects show the suggestion and the mapping editor
    validates with it; new guest ids make :func:`clv_ui.workflow.check_table` validate again.
    """
    data = state.data
    for role, column in warning.roles.items():
        st.session_state[_mapping_key(data, role)] = column
    if warning.guest_ids:
        options = data.options or ValidationOptions()
        guests = tuple(dict.fromkeys((*options.guest_ids, *warning.guest_ids)))
        data.options = replace(options, guest_ids=guests)
        data.transactions = None


def money_panel(state: WorkbenchState, money: MoneyCheck, summary: Mapping[str, Any]) -> None:
    """How spend is computed, what is not spend, the plausibility figures and warnings.

    ``summary`` is the validation report's summary (returns and cancellations are counted
    there). Each warning with a suggestion has a button that applies it.
    """
    explanation = money.explanation
    st.subheader(t("money.title"))
    sentence = t(
        f"money.formula_{explanation.formula.value}",
        **dict(zip(("a", "b", "c"), explanation.columns, strict=False)),
    )
    # Not st.info: an info box on a page means a missing prerequisite (see clv_ui.shell).
    st.markdown(f":material/calculate: **{sentence}**")
    for item in explanation.rejected:
        st.caption(t("money.not_spend", reason=money_label(f"rejected_{item.key}", item.values)))
    figures = money.figures
    cells = st.columns(5)
    cells[0].metric(t("money.median_order_value"), f"{figures['median_order_value']:,.2f}")
    cells[1].metric(t("money.p99_order_value"), f"{figures['p99_order_value']:,.2f}")
    cells[2].metric(t("money.negative_line_share"), f"{figures['negative_line_share']:.1%}")
    cells[3].metric(t("money.zero_line_share"), f"{figures['zero_line_share']:.1%}")
    cells[4].metric(
        t("money.orders_per_customer"),
        f"{figures['orders_per_customer_mean']:,.2f}",
        help=t("money.orders_per_customer_help", median=figures["orders_per_customer_median"]),
    )
    if summary.get("n_returns"):
        st.caption(
            t(
                "money.returns",
                orders=summary["n_returns"],
                amount=summary.get("returns_amount", 0.0),
                cancellation_lines=summary.get("n_cancellation_lines", 0),
            )
        )
    if money.currencies:
        listed = ", ".join(f"{name} ({count:,})" for name, count in money.currencies.items())
        st.caption(t("money.currencies", currencies=listed))
    for index, warning in enumerate(money.warnings):
        st.warning(money_label(f"warn_{warning.key}", warning.values))
        if warning.has_suggestion:
            suggestion = [
                f"{role_label(r)} = {c or t('data.not_mapped')}" for r, c in warning.roles.items()
            ]
            suggestion += [t("money.as_guest", customer=guest) for guest in warning.guest_ids]
            st.button(
                t("money.apply", suggestion="; ".join(suggestion)),
                key=f"apply_suggestion_{index}_{warning.key}",
                on_click=_apply_suggestion,
                args=(state, warning),
            )


_PROFILE_FORMATS = {
    "n_customers": "%,d",
    "share_of_customers": "percent",
    "predicted_revenue": "%,.2f",
    "share_of_predicted_revenue": "percent",
    "mean_predicted_clv": "%,.2f",
}


def segment_profile_table(profile: pd.DataFrame) -> None:
    """The segment profile with headers in the session's language and formatted numbers."""
    from clv_core.catalogue import feature_label

    language = current_language().value
    config: dict[str, str | ColumnConfig] = {}
    for column in map(str, profile.columns):
        if column in ("tier", "churn_band"):
            config[column] = t(f"segments.col_{column}")
        elif column in _PROFILE_FORMATS:
            label = t(f"segments.col_{column}")
            config[column] = st.column_config.NumberColumn(label, format=_PROFILE_FORMATS[column])
        elif column.startswith("mean_"):
            label = t("segments.col_mean", feature=feature_label(column[5:], language))
            config[column] = st.column_config.NumberColumn(label, format="%,.2f")
    st.dataframe(profile, hide_index=True, column_config=config, key="segment_profile")


XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def download_buttons(
    state: WorkbenchState,
    selected: pd.DataFrame,
    *,
    excel_bom: bool = True,
    extra_sheets: dict[str, pd.DataFrame] | None = None,
) -> None:
    """Scored list as CSV and XLSX (the selected segments) and the trained model bundle.

    The CSV and the bundle are made with the page, so their files belong to this session's page
    until it changes. The XLSX is made when its button is clicked (one of 100,000 customers
    takes about 6 s to write); Streamlit keeps such a file for two script runs of any session
    on the server, which on a busy server can be too short for a slow connection (then click
    again).
    """
    st.subheader(t("segments.downloads"))
    csv_column, xlsx_column, bundle_column = st.columns(3)
    csv_column.download_button(
        t("segments.download_csv"),
        to_csv_bytes(selected, excel_bom=excel_bom),
        "scored_customers.csv",
        "text/csv",
        key="download_csv",
    )
    xlsx_column.download_button(
        t("segments.download_xlsx"),
        partial(to_xlsx_bytes, selected, extra_sheets=extra_sheets),
        "scored_customers.xlsx",
        XLSX_MIME,
        key="download_xlsx",
    )
    if state.model_dir is not None:
        bundle_column.download_button(
            t("segments.download_bundle"),
            bundle_zip(state.model_dir),
            "clv_model_bundle.zip",
            "application/zip",
            key="download_bundle",
            help=t("segments.bundle_note"),
        )


def quick_look(orders: pd.DataFrame) -> None:
    """Three descriptive charts of the validated orders, side by side."""
    st.subheader(t("data.charts"))
    figures = (
        charts.orders_over_time(orders),
        charts.spend_distribution(orders),
        charts.customers_by_first_month(orders),
    )
    for column, figure in zip(st.columns(3), figures, strict=True):
        column.plotly_chart(figure)


def campaign_list(
    state: WorkbenchState,
    segmented: pd.DataFrame,
    *,
    attributes: pd.DataFrame | None,
    drivers_of: Callable[[], pd.DataFrame],
    plan: ValuePlan,
    extra: pd.DataFrame | None = None,
) -> None:
    """Export options, segment filters, the budget planner, a preview and the downloads.

    ``attributes`` offers its columns to copy into the list; ``drivers_of`` computes the top
    drivers when asked for; ``plan`` is the value plan (profit factor for the budget's band,
    the workbook's per-period sheets); ``extra`` (indexed by customer id) is joined to the list
    as it is (a training table's known value and prediction basis).
    """
    st.subheader(t("segments.filters"))
    options = export_options_form([] if attributes is None else list(attributes.columns))

    def listing(
        tiers: Sequence[str] = (), bands: Sequence[str] = (), actions: Sequence[str] = ()
    ) -> pd.DataFrame:
        made = usecases.campaign_list(
            segmented,
            drivers,
            attributes=attributes,
            passthrough=options.passthrough,
            tiers=tiers,
            bands=bands,
            actions=actions,
        )
        if extra is not None and len(extra.columns):
            made = made.join(extra, on="customer_id")
        return made

    try:
        drivers = None
        if options.drivers:
            with st.spinner(t("segments.computing_drivers")):
                drivers = drivers_of()
        scored = listing()
    except ClvError as error:
        st.error(str(error))
        st.stop()
    left, middle, right = st.columns(3)
    tiers = left.multiselect(
        t("segments.filter_tiers"), list(segmented["tier"].cat.categories), key="filter_tiers"
    )
    bands = middle.multiselect(
        t("segments.filter_bands"), list(segmented["churn_band"].cat.categories), key="filter_bands"
    )
    actions = right.multiselect(
        t("segments.filter_actions"), list(segmented["action"].cat.categories), key="filter_actions"
    )
    selected = listing(tiers=tiers, bands=bands, actions=actions)
    st.caption(t("segments.selected", n=len(selected), total=len(scored)))
    selected = budget_planner(selected, plan)
    st.plotly_chart(
        charts.revenue_per_period(
            plan.subset(selected["customer_id"]).aggregate(), plan.settings.period
        ),
        key="revenue_per_period",
    )
    # The preview keeps the file's column names (what the download will contain).
    money = st.column_config.NumberColumn(format="%,.2f")
    formats = dict.fromkeys(
        ("predicted_clv", "clv_lower", "clv_upper", "predicted_profit", NET_PROFIT_COLUMN), money
    )
    formats |= {
        "p_purchase": st.column_config.NumberColumn(format="%.3f"),
        "p_alive": st.column_config.NumberColumn(format="%.3f"),
        "mean_days_between_orders": st.column_config.NumberColumn(format="%.1f"),
        "expected_next_order_date": st.column_config.DateColumn(format="YYYY-MM-DD"),
        "percentile": st.column_config.NumberColumn(format="%.2f"),
    }
    st.dataframe(selected.head(500), hide_index=True, column_config=formats, key="selected_preview")

    download_buttons(
        state,
        selected,
        excel_bom=options.excel_bom,
        extra_sheets=plan.sheets(selected["customer_id"]),
    )


def value_sentence(plan: ValuePlan) -> str:
    """What predicted CLV and profit are, in one sentence of the session's language."""
    facts = plan.facts()
    period = plan.settings.period
    periods = t(f"segments.periods_{period}", n=facts["periods"])
    if not facts["periods"]:
        periods = t("segments.periods_one", rest=facts["rest_days"])
    elif facts["rest_days"]:
        periods = t("segments.periods_rest", whole=periods, rest=facts["rest_days"])
    margin = t("segments.margin_rate", margin=facts["margin"])
    if facts["by_category"]:
        margin = t(
            "segments.margin_by_category", column=facts["margin_column"], margin=facts["margin"]
        )
    elif facts["margin_column"]:
        margin = t(
            "segments.margin_from_column", column=facts["margin_column"], margin=facts["margin"]
        )
    return t(
        "segments.value_sentence",
        horizon=facts["horizon"],
        as_of=facts["as_of"],
        periods=periods,
        margin=margin,
        rate=facts["rate"],
    )


def budget_planner(selected: pd.DataFrame, plan: ValuePlan) -> pd.DataFrame:
    """Whom to contact among the selected customers for a budget: the plan's figures, the
    curve of profit against budget, and the chosen customers (the list to download). Without a
    budget the selection is returned as it is."""
    st.subheader(t("segments.budget"))
    if not st.toggle(t("segments.budget_on"), key="budget_on"):
        return selected
    left, right = st.columns(2)
    budget = left.number_input(
        t("segments.budget_amount"),
        min_value=0.01,
        value=1000.0,
        step=100.0,
        help=t("segments.budget_amount_help"),
        key="budget_amount",
    )
    cost = right.number_input(
        t("segments.budget_cost"),
        min_value=0.01,
        value=1.0,
        step=0.5,
        help=t("segments.budget_cost_help"),
        key="budget_cost",
    )
    try:
        request = BudgetRequest(budget=float(budget), cost_per_contact=float(cost))
        budget_plan = plan.budget(selected, request)
    except ClvError as error:
        st.error(str(error))
        return selected
    st.caption(t("segments.budget_explain"))
    summary = budget_plan.summary()
    contacts, spent, profit, net = st.columns(4)
    contacts.metric(t("segments.budget_contacts"), f"{summary['contacts']:,}")
    spent.metric(t("segments.budget_spent"), f"{summary['cost']:,.2f}")
    band = summary["expected_profit_80"]
    profit.metric(
        t("segments.budget_profit"),
        f"{summary['expected_profit']:,.2f}",
        help=t("segments.budget_band", low=band[0], high=band[1]) if band else None,
    )
    net.metric(t("segments.budget_net"), f"{summary['expected_net_profit']:,.2f}")
    if band:
        st.caption(t("segments.budget_band", low=band[0], high=band[1]))
    st.info(
        t(
            f"segments.budget_limited_{budget_plan.limited_by()}",
            worth=summary["worth_contacting"],
            candidates=summary["candidates"],
        )
    )
    st.plotly_chart(charts.budget_curve(budget_plan.curve, request.budget), key="budget_curve")
    return budget_plan.selected


def bundle_upload(state: WorkbenchState, *, label: str, key: str, help: str | None = None) -> None:
    """A model bundle (.zip) uploader: the bundle is checked in a worker and kept for the
    session; a damaged or unsafe one is an error message."""
    try:
        bundle = st.file_uploader(label, type=["zip"], help=help, key=key)
        if bundle is not None:
            with st.spinner(t("segments.loading_bundle")):
                workflow.load_bundle_upload(state, bundle.getvalue())
    except ClvError as error:
        st.error(str(error))


def model_sources(state: WorkbenchState, *, bundle_first: bool) -> list[str]:
    """The models a page can use: ``trained`` (this session's network) and ``bundle`` (an
    uploaded one), those that exist."""
    ready = {"trained": state.result is not None, "bundle": state.bundle_path is not None}
    order = ("bundle", "trained") if bundle_first else ("trained", "bundle")
    return [name for name in order if ready[name]]
