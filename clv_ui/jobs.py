"""Training as a background job owned by one session.

A :class:`TrainingJob` runs :func:`clv_core.evaluation.evaluate` (the network and the baselines on
the same customers) in a thread so that the session's page stays responsive and other sessions
are not blocked. The thread never calls Streamlit: it only appends epoch events and sets fields
that the page polls. The job object is kept in that session's state only.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from enum import StrEnum

import pandas as pd

from clv_core.errors import ClvError
from clv_core.evaluation import (
    EvaluationResult,
    EvaluationSettings,
    evaluate,
    evaluate_customer_table,
)
from clv_core.mlp import EpochEvent, import_keras
from clv_core.validation import CustomerAttributes, CustomerTable
from clv_ui.shell import freeze_engine_objects

__all__ = ["JobStatus", "TrainingJob"]

# Whole trainings are serialised across sessions (two cores): a second one waits here, visibly
# queued, instead of halving the speed of both. The lock holds no data.
_TRAINING_SLOT = threading.Lock()


class JobStatus(StrEnum):
    """Life cycle of a training job."""

    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


@dataclass(eq=False)
class TrainingJob:
    """One evaluation run (network + baselines) with live progress and cooperative cancel.

    Attributes
    ----------
    settings
        What to train and how it is split.
    transactions, customers
        The validated data (``customers`` may be ``None``).
    table
        A validated per-customer table instead of transactions (customer split only).
    """

    settings: EvaluationSettings
    transactions: pd.DataFrame | None
    customers: CustomerAttributes | None = None
    table: CustomerTable | None = None
    status: JobStatus = JobStatus.QUEUED
    stage: str = ""
    result: EvaluationResult | None = None
    error: str | None = None
    crash: BaseException | None = None
    started_seconds: float = 0.0
    elapsed_seconds: float = 0.0
    _cancel: threading.Event = field(default_factory=threading.Event)
    _events: list[EpochEvent] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _thread: threading.Thread | None = None

    def start(self) -> None:
        """Run in a daemon thread; the page polls :attr:`status` and :meth:`events`."""
        self._thread = threading.Thread(target=self.run, name="clv-training", daemon=True)
        self._thread.start()

    def run(self) -> None:
        """Run to the end in the calling thread (the thread's target; tests call it inline)."""
        with _TRAINING_SLOT:
            self.status = JobStatus.RUNNING
            self.started_seconds = time.perf_counter()
            try:
                # TensorFlow is loaded before the first epoch so that the page's live polls
                # stop costing full garbage collections during training.
                import_keras()
                freeze_engine_objects()
                if self.table is not None:
                    self.result = evaluate_customer_table(
                        self.table,
                        self.settings,
                        on_epoch=self._record,
                        should_stop=self._cancel.is_set,
                        on_stage=self._set_stage,
                    )
                elif self.transactions is not None:
                    self.result = evaluate(
                        self.transactions,
                        self.settings,
                        customers=self.customers,
                        on_epoch=self._record,
                        should_stop=self._cancel.is_set,
                        on_stage=self._set_stage,
                    )
                else:
                    raise ValueError("a training job needs transactions or a customer table")
                self.status = JobStatus.DONE
            except ClvError as error:
                self.error = str(error)
                self.status = JobStatus.FAILED
            except Exception as error:  # a bug: kept so that the page re-raises it visibly
                self.crash = error
                self.status = JobStatus.FAILED
            finally:
                self.elapsed_seconds = time.perf_counter() - self.started_seconds

    def join(self, timeout: float | None = None) -> None:
        """Wait for the thread (if one was started)."""
        if self._thread is not None:
            self._thread.join(timeout)

    def cancel(self) -> None:
        """Ask training to stop after the current batch; the best weights so far are kept."""
        self._cancel.set()

    @property
    def cancel_requested(self) -> bool:
        """Whether :meth:`cancel` was called."""
        return self._cancel.is_set()

    @property
    def finished(self) -> bool:
        """Whether the job is done or failed."""
        return self.status in (JobStatus.DONE, JobStatus.FAILED)

    def events(self) -> list[EpochEvent]:
        """A copy of the epoch events so far (safe to read while the thread appends)."""
        with self._lock:
            return list(self._events)

    @property
    def progress(self) -> float:
        """Share of the network's training done, in [0, 1]."""
        if self.status is JobStatus.DONE:
            return 1.0
        events = self.events()
        return events[-1].progress if events else 0.0

    def raise_crash(self) -> None:
        """Re-raise an unexpected exception from the thread so that it surfaces as a bug."""
        if self.crash is not None:
            raise self.crash

    def _record(self, event: EpochEvent) -> None:
        with self._lock:
            self._events.append(event)

    def _set_stage(self, stage: str) -> None:
        self.stage = stage
