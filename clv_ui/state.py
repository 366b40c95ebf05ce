"""The session's workbench state: one typed object under one session-state key.

Everything a session loads, trains or computes lives in its own :class:`WorkbenchState`, created
on first access by :func:`get_state`. Nothing is kept at module level, so what one session
uploads is never visible to another.
"""

from __future__ import annotations

import datetime as dt
import shutil
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import streamlit as st

from clv_core.config import MlpConfig
from clv_core.kinds import InputShape, SplitKind
from clv_core.language import Language

if TYPE_CHECKING:
    # Types only: the state module is imported by every page run, including a fresh session's
    # first one, which must not wait for pandas (see clv_ui.shell).
    import pandas as pd

    from clv_core.bundle import BundleInfo
    from clv_core.columns import ColumnMapping
    from clv_core.evaluation import EvaluationResult
    from clv_core.explain import Explanation
    from clv_core.intake import TransactionSource
    from clv_core.loading import LoadedTable
    from clv_core.runner import JobRunner
    from clv_core.scoring import ScoredCustomers
    from clv_core.tasks import Challenger
    from clv_core.usecases import TableScores
    from clv_core.usecases.monitoring import MonitorReport
    from clv_core.validation import (
        CustomerAttributes,
        CustomerTable,
        Transactions,
        ValidationOptions,
    )
    from clv_ui.jobs import TrainingJob

__all__ = ["STATE_KEY", "DataState", "WorkbenchState", "get_state"]

STATE_KEY = "clv_workbench"

# The engine's defaults, the ones the README's accuracy figures were measured with (the sample
# data trains in about 20 s on two cores); every field stays editable in the Train form.
UI_DEFAULT_CONFIG = MlpConfig()


@dataclass(eq=False)
class DataState:
    """What the Data page loaded and validated."""

    shape: InputShape = InputShape.TRANSACTIONS
    table: LoadedTable | None = None
    table_digest: str = ""
    # The order-lines file of a two-file export, and the table validation reads (the log, or
    # the orders joined with their lines).
    lines_table: LoadedTable | None = None
    lines_digest: str = ""
    source: TransactionSource | None = None
    # Baskets and guest ids; None means the engine's defaults.
    options: ValidationOptions | None = None
    # Whether the data is the bundled sample (its attributes come with it, not from an input).
    from_sample: bool = False
    mapping: ColumnMapping | None = None
    transactions: Transactions | None = None
    customers: CustomerAttributes | None = None
    customers_digest: str = ""
    customer_table: CustomerTable | None = None
    cutoff: dt.date | None = None
    horizon_days: int = 365

    def table_key(self) -> tuple[str, ...]:
        """The main file's content key (digest and name) for caches."""
        return (self.table_digest, self.table.source_name if self.table is not None else "")

    def source_key(self) -> tuple[str, ...]:
        """The content key of what validation reads: the main file and the lines file."""
        lines_name = self.lines_table.source_name if self.lines_table is not None else ""
        return (*self.table_key(), self.lines_digest, lines_name)

    def forget_order_lines(self) -> None:
        """Drop the order-lines file (its input was cleared); the join is made again."""
        self.lines_table, self.lines_digest, self.source = None, "", None
        self.mapping = self.transactions = None

    def forget_customers(self) -> None:
        """Drop the customer attributes (their input was cleared)."""
        self.customers, self.customers_digest = None, ""


@dataclass(eq=False)
class WorkbenchState:
    """All of one session's workbench data, from the upload to the scored list."""

    language: Language = Language.EN
    data: DataState = field(default_factory=DataState)
    config: MlpConfig = UI_DEFAULT_CONFIG
    split: SplitKind = SplitKind.CUSTOMER
    job: TrainingJob | None = None
    results: dict[SplitKind, EvaluationResult] = field(default_factory=dict)
    # The bundle folder of each result's trained network (in this session's job folder).
    models: dict[SplitKind, Path] = field(default_factory=dict)
    explanation: Explanation | None = None
    # An uploaded model bundle (saved in this session's folder once it loaded in a worker).
    bundle_path: Path | None = None
    bundle_info: BundleInfo | None = None
    bundle_digest: str = ""
    # Streamlit's id of the last file read from each upload input (keyed by widget key).
    uploads_seen: dict[str, str] = field(default_factory=dict)
    # The Segments page's scores and top-3 SHAP drivers, keyed by (model, as-of date) and
    # (model, as-of date, language), kept until the data or a model changes.
    scores: dict[tuple[str, str], ScoredCustomers] = field(default_factory=dict)
    drivers: dict[tuple[str, str, str], pd.DataFrame] = field(default_factory=dict)
    # A table of new customers uploaded on the Segments page (for a model trained on a
    # per-customer table), and the table scores keyed by (model, table digest).
    new_customers: LoadedTable | None = None
    new_customers_digest: str = ""
    table_scores: dict[tuple[str, str], TableScores] = field(default_factory=dict)
    # The Monitor page's reports and challengers, keyed by (model, data digest).
    monitor_reports: dict[tuple[str, str], MonitorReport] = field(default_factory=dict)
    challengers: dict[tuple[str, str], Challenger] = field(default_factory=dict)
    # Who owns this session's jobs on the server's worker pool, and where their files go.
    session_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    folder: Path | None = None
    # The worker pool (None: the server's shared one; tests give a session its own).
    runner: JobRunner | None = None

    @property
    def has_transactions(self) -> bool:
        """Whether a validated transaction log is loaded."""
        return self.data.transactions is not None

    @property
    def result(self) -> EvaluationResult | None:
        """The latest evaluation with a trained network (the chosen split first)."""
        split = self.split if self.split in self.models else next(iter(self.models), None)
        return self.results.get(split) if split is not None else None

    @property
    def model_dir(self) -> Path | None:
        """The bundle folder of :attr:`result`'s network."""
        result = self.result
        return self.models.get(result.settings.split) if result is not None else None

    def set_result(self, result: EvaluationResult, model_dir: Path | None) -> None:
        """Keep a finished evaluation (and its network's bundle), replacing that split's."""
        split = result.settings.split
        old = self.models.pop(split, None)
        if old is not None and old != model_dir:
            shutil.rmtree(old.parent, ignore_errors=True)
        self.results[split] = result
        if model_dir is not None:
            self.models[split] = model_dir
        self.explanation = None
        self.forget_scores()

    def clear_models(self) -> None:
        """Forget trainings and explanations (the data or the windows changed)."""
        if self.job is not None:
            self.job.discard()
        self.job = None
        for model_dir in self.models.values():
            shutil.rmtree(model_dir.parent, ignore_errors=True)
        self.models = {}
        self.results = {}
        self.explanation = None
        self.forget_scores()

    def forget_scores(self) -> None:
        """Drop the kept scores and drivers (a model was trained or uploaded, or data changed)."""
        self.scores = {}
        self.drivers = {}
        self.table_scores = {}
        self.monitor_reports = {}
        self.challengers = {}


def get_state() -> WorkbenchState:
    """This session's workbench state, created on first use."""
    state = st.session_state.get(STATE_KEY)
    if not isinstance(state, WorkbenchState):
        state = WorkbenchState()
        st.session_state[STATE_KEY] = state
    return state
