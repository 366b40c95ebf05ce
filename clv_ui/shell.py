"""What every page run draws before the engine is needed: guards, the sidebar status, uploads.

This module and the ones it imports (``state``, ``i18n``) stay free of pandas, plotly and the
engine's data modules, so a fresh session's first page (the Data page's upload form) renders
without waiting for them; ``tests/app/test_shell.py`` keeps it that way.
"""

from __future__ import annotations

import gc
import hashlib
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, NoReturn

import streamlit as st

from clv_ui.i18n import t
from clv_ui.state import WorkbenchState

if TYPE_CHECKING:
    from streamlit.runtime.uploaded_file_manager import UploadedFile

__all__ = [
    "CUSTOMERS_INPUT",
    "ORDER_LINES_INPUT",
    "PAGE_DATA",
    "PAGE_TRAIN",
    "Upload",
    "collect_finished_job",
    "content_digest",
    "forget_lone_order_lines",
    "freeze_engine_objects",
    "pending_uploads",
    "require",
    "stop_with",
    "upload_limit_mb",
    "workflow_status",
]

PAGE_DATA = "pages/data.py"
PAGE_TRAIN = "pages/train.py"
# The Data page's inputs beside the main table, for transaction logs.
ORDER_LINES_INPUT = "upload_order_lines"
CUSTOMERS_INPUT = "upload_customers"
_COMPANIONS = (ORDER_LINES_INPUT, CUSTOMERS_INPUT)


def upload_limit_mb() -> int:
    """The largest file a session may upload, in MB: the server's ``server.maxUploadSize``
    (.streamlit/config.toml), or ``CLV_SESSION_UPLOAD_MB`` when that is smaller."""
    from clv_ui.jobs import session_upload_mb

    return session_upload_mb(int(st.get_option("server.maxUploadSize")))


def content_digest(data: bytes) -> str:
    """A short content hash that identifies an upload."""
    return hashlib.sha256(data).hexdigest()[:16]


@dataclass(frozen=True, slots=True)
class Upload:
    """A new file in one of the Data page's inputs: the input's key, the file and its digest."""

    key: str
    name: str
    data: bytes
    file_id: str
    digest: str


def pending_uploads(
    state: WorkbenchState, inputs: Mapping[str, UploadedFile | None], *, sample_chosen: bool
) -> list[Upload]:
    """The files to read in this run: those not read from their input before.

    Files are told apart by Streamlit's id of each upload, so a page run does not hash them
    again. The latest action wins: a file dropped after the sample replaces it, and choosing the
    sample replaces a file still sitting in an input (it counts as seen, so it is not read later).
    """
    present = {key: file for key, file in inputs.items() if file is not None}
    if sample_chosen:
        state.uploads_seen.update({key: file.file_id for key, file in present.items()})
        return []
    uploads = []
    for key, file in present.items():
        if state.uploads_seen.get(key) != file.file_id:
            data = file.getvalue()
            uploads.append(Upload(key, file.name, data, file.file_id, content_digest(data)))
    if any(upload.key not in _COMPANIONS for upload in uploads):
        # A new main file goes with the files in the other inputs, including those the sample
        # replaced earlier (they are still shown there).
        pending = {upload.key for upload in uploads}
        for key, file in present.items():
            if key in _COMPANIONS and key not in pending and not _holds(state, key):
                data = file.getvalue()
                uploads.append(Upload(key, file.name, data, file.file_id, content_digest(data)))
    return uploads


def _holds(state: WorkbenchState, key: str) -> bool:
    """Whether the session holds the file of a companion input."""
    data = state.data
    if key == ORDER_LINES_INPUT:
        return data.lines_table is not None
    return data.customers is not None and not data.from_sample


def forget_lone_order_lines(
    state: WorkbenchState, inputs: Mapping[str, UploadedFile | None]
) -> None:
    """Drop an order-lines file whose input was emptied before any orders file was read.

    Once a table is loaded an empty input says nothing (inputs are empty again after a visit to
    another page), so loaded files are removed with the Data page's remove buttons instead.
    """
    data = state.data
    emptied = ORDER_LINES_INPUT in inputs and inputs[ORDER_LINES_INPUT] is None
    if data.table is None and data.lines_table is not None and emptied:
        data.forget_order_lines()
        state.uploads_seen.pop(ORDER_LINES_INPUT, None)


def freeze_engine_objects() -> None:
    """Take the long-lived objects out of the garbage collector once TensorFlow is loaded.

    After every script run Streamlit collects garbage in full, and, once Keras is imported, calls
    ``keras.backend.clear_session()``, which collects again. With TensorFlow's ~300,000 module
    objects alive each collection holds the interpreter lock for 0.1-0.3 s, so the once-a-second
    live training poll halved the speed of the training thread and every click got slower.
    ``gc.freeze`` (once per process) moves the objects alive now, mostly modules, out of future
    collections; objects made later are collected as usual, and frozen ones are still freed
    when nothing refers to them.
    """
    if "keras" in sys.modules and gc.get_freeze_count() == 0:
        gc.collect()
        gc.freeze()


def stop_with(message: str, page: str, label: str) -> NoReturn:
    """The missing-prerequisite guard: an info box, a link to the page that fixes it, stop."""
    st.info(message)
    st.page_link(page, label=label)
    st.stop()


def require(state: WorkbenchState, *, model: bool = False, customer_table_ok: bool = False) -> None:
    """Stop the page unless its data (and, with ``model``, a trained network) exist.

    Pages that work on a per-customer table too (train, evaluate, explain) pass
    ``customer_table_ok``; the others need a transaction log.
    """
    has_table = state.data.customer_table is not None and not state.has_transactions
    if has_table and not customer_table_ok:
        stop_with(t("guard.customer_table"), PAGE_DATA, t("app.step_data"))
    if not state.has_transactions and not has_table:
        stop_with(t("guard.need_data"), PAGE_DATA, t("app.step_data"))
    if model and state.result is None:
        stop_with(t("guard.need_model"), PAGE_TRAIN, t("app.step_train"))


def collect_finished_job(state: WorkbenchState) -> None:
    """Move a finished job's result into the state, once (re-raising a bug from its worker)."""
    job = state.job
    if job is None or not job.finished or job.collected:
        return
    job.collected = True
    job.raise_crash()
    result = job.result
    if result is not None:
        state.set_result(result, job.model_dir if job.has_model else None)


def workflow_status(state: WorkbenchState) -> None:
    """The sidebar's 'where am I' list: one line per step with done / to do / running."""
    running = state.job is not None and not state.job.finished
    steps = [
        ("app.step_data", state.has_transactions or state.data.customer_table is not None),
        ("app.step_train", state.result is not None),
        ("app.step_evaluate", bool(state.results)),
        ("app.step_explain", state.explanation is not None),
        ("app.step_segments", state.result is not None or state.bundle_path is not None),
        ("app.step_monitor", bool(state.monitor_reports)),
    ]
    lines = []
    for key, done in steps:
        if key == "app.step_train" and running:
            mark, word = "⏳", t("app.running")
        else:
            mark, word = ("✅", t("app.done")) if done else ("⬜", t("app.todo"))
        lines.append(f"{mark} {t(key)} — {word}")
    st.markdown(f"**{t('app.workflow')}**  \n" + "  \n".join(lines))
