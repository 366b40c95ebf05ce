"""A session's jobs on the server's worker processes.

Training, evaluation, explanation and scoring run in the worker processes of one
:class:`~clv_core.runner.JobRunner` per server (:func:`shared_runner`), never in the server
process: the server does not import TensorFlow at all, so Streamlit's clean-up after every script
run of every session (``keras.backend.clear_session()`` and a full garbage collection once Keras
is loaded) has nothing to clear, and four analysts training at once do not stall each other's
pages. Jobs wait in one first-in-first-out queue; each session sees its position.

Each session has its own folder under the runner's root, created on its first job; a job's
files (the trained network's bundle, the evaluation) live in a folder inside it until the result
is replaced or the session ends. When a session's state is garbage collected (Streamlit drops it
``server.disconnectedSessionTTL`` seconds after the browser closed), its waiting and running jobs
are cancelled and its folder is removed.

The server's settings come from the environment (README, "Running it for a team"):
``CLV_WORKERS``, ``CLV_MAX_QUEUED_JOBS``, ``CLV_WORKER_MEMORY_MB`` and ``CLV_SESSION_UPLOAD_MB``.
"""

from __future__ import annotations

import atexit
import os
import shutil
import uuid
import weakref
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

import streamlit as st

from clv_core.errors import ClvError, ConfigError, DataError
from clv_core.runner import DEFAULT_NICE, Job, JobRunner, JobState, RunnerSettings
from clv_ui.i18n import t

if TYPE_CHECKING:
    from clv_core.evaluation import EvaluationResult, EvaluationSettings
    from clv_core.limits import LoadLimits
    from clv_core.loading import LoadedTable
    from clv_core.mlp import EpochEvent
    from clv_ui.state import WorkbenchState

__all__ = [
    "JobStatus",
    "TrainingJob",
    "discard",
    "in_reader",
    "read_upload",
    "reader_settings",
    "run_and_wait",
    "runner_settings",
    "session_folder",
    "session_runner",
    "session_upload_mb",
    "shared_reader",
    "shared_runner",
    "start_training_job",
    "submit",
    "worker_environment",
]

WORKER_INITIALIZER = "clv_core.tasks:prepare_worker"
READER_INITIALIZER = "clv_core.reader:prepare_reader"
READ_TARGET = "clv_core.reader:read_table_job"
CALL_TARGET = "clv_core.reader:call_job"
# Workers' numerical libraries must not busy-wait for work: OpenBLAS's threads and OpenMP's
# (LightGBM) spin between calls, and with two or more workers on the cores the spinning of one
# starved the others (two trainings after two others took 170 s instead of 24 s). One BLAS
# thread per worker and passive OpenMP waits give the same numbers (checked on the sample).
WORKER_ENVIRONMENT = (("OPENBLAS_NUM_THREADS", "1"), ("OMP_WAIT_POLICY", "PASSIVE"))
# TensorFlow's own thread pool sizes itself to all cores in every worker; two workers training
# at once then took 32 s each instead of 24 s with one thread each (the network's numbers are the
# same). Each worker gets its share of the cores unless the operator set the variable.
_TF_THREADS = "TF_NUM_INTRAOP_THREADS"
# How often a page that waits for a job looks at it (the wait costs the server nothing).
_POLL_SECONDS = 0.25


def _env_int(name: str, default: int | None, minimum: int) -> int | None:
    """An integer server setting from the environment, refused with a clear message."""
    text = os.environ.get(name, "").strip()
    if not text:
        return default
    try:
        value = int(text)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, got {text!r}.") from None
    if value < minimum:
        raise ConfigError(f"{name} must be at least {minimum}, got {value}.")
    return value


def _default_memory_mb(workers: int) -> int | None:
    """80% of the machine's memory shared by the workers (None where it cannot be read)."""
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return None
    return max(64, int(total * 0.8) // max(1, workers) >> 20)


def runner_settings() -> RunnerSettings:
    """The worker pool's settings: the environment's, else the machine's cores and memory.

    ``CLV_WORKERS`` worker processes (default: the number of cores; 0 runs jobs inside the
    server, for tests), ``CLV_MAX_QUEUED_JOBS`` waiting jobs server-wide (default 32),
    ``CLV_WORKER_MEMORY_MB`` resident memory per worker (default: 80% of the machine's memory
    divided by the workers; 0 = no limit), ``CLV_WORKER_NICE`` how much lower the workers' CPU
    priority is than the server's (default 5).
    """
    workers = _env_int("CLV_WORKERS", max(1, os.cpu_count() or 1), 0)
    assert workers is not None
    queued = _env_int("CLV_MAX_QUEUED_JOBS", 32, 1)
    assert queued is not None
    memory = _env_int("CLV_WORKER_MEMORY_MB", _default_memory_mb(workers), 0)
    nice = _env_int("CLV_WORKER_NICE", DEFAULT_NICE, 0)
    assert nice is not None
    return RunnerSettings(
        workers=workers,
        max_queued=queued,
        memory_mb=memory or None,
        initializer=WORKER_INITIALIZER,
        nice=nice,
        environment=worker_environment(workers),
    )


def worker_environment(workers: int) -> tuple[tuple[str, str], ...]:
    """The workers' environment: :data:`WORKER_ENVIRONMENT` and each one's share of the cores."""
    if os.environ.get(_TF_THREADS, "").strip():
        return WORKER_ENVIRONMENT
    share = max(1, (os.cpu_count() or 1) // max(1, workers))
    return (*WORKER_ENVIRONMENT, (_TF_THREADS, str(share)))


def session_upload_mb(server_cap_mb: int) -> int:
    """The largest file one session may upload: ``CLV_SESSION_UPLOAD_MB``, at most the server's
    ``server.maxUploadSize``."""
    limit = _env_int("CLV_SESSION_UPLOAD_MB", server_cap_mb, 1)
    assert limit is not None
    return min(limit, server_cap_mb)


def reader_settings() -> RunnerSettings:
    """The upload readers' settings: ``CLV_READERS`` processes (default: 2, at most the cores;
    0 reads inside the server, the default where ``CLV_WORKERS`` is 0) whose address space is
    bounded to ``CLV_READER_MEMORY_MB`` (default: half the machine's memory, at least 2 GB)."""
    from clv_core.reader import MEMORY_VARIABLE

    cores = max(1, os.cpu_count() or 1)
    inline = os.environ.get("CLV_WORKERS", "").strip() == "0"
    readers = _env_int("CLV_READERS", 0 if inline else min(2, cores), 0)
    assert readers is not None
    memory = _env_int(MEMORY_VARIABLE, _default_reader_memory_mb(), 0)
    # Arrow's own allocator keeps freed address space mapped, which counts against the
    # readers' address-space limit: after one read ran out of it the next would too. The
    # system allocator hands large blocks back.
    environment: tuple[tuple[str, str], ...] = (
        ("OMP_WAIT_POLICY", "PASSIVE"),
        ("ARROW_DEFAULT_MEMORY_POOL", "system"),
    )
    if memory:
        environment += ((MEMORY_VARIABLE, str(memory)),)
    return RunnerSettings(
        workers=readers,
        max_queued=_env_int("CLV_MAX_QUEUED_JOBS", 32, 1) or 32,
        memory_mb=memory or None,
        initializer=READER_INITIALIZER,
        nice=0,
        environment=environment,
    )


def _default_reader_memory_mb() -> int:
    total = _default_memory_mb(1)
    return 2048 if total is None else max(2048, int(total / 0.8) // 2)


@st.cache_resource(show_spinner=False)
def shared_reader() -> JobRunner:
    """The server's upload readers, started on first use and stopped when the server exits."""
    runner = JobRunner(reader_settings())
    atexit.register(runner.shutdown)
    return runner


def read_upload(data: bytes, file_name: str, limits: LoadLimits) -> LoadedTable:
    """Read an uploaded table in a reader process (see :mod:`clv_core.reader`).

    Raises
    ------
    DataError
        The file cannot be read, is over a limit, or its reading ran out of the reader's
        memory or crashed the reader (the server and other sessions go on).
    """
    from clv_core.reader import ReadSpec

    result: LoadedTable = _wait_for_reader(
        READ_TARGET, ReadSpec(data, file_name, limits), f"'{file_name}' could not be read"
    )
    return result


def in_reader(target: str, *args: Any, **kwargs: Any) -> Any:
    """Run one of the engine's steps after reading (join, validation) in a reader process.

    ``target`` is one of :data:`clv_core.reader.READER_CALLS`.

    Raises
    ------
    ClvError
        The step refused the data (the engine's own message) or ran out of the reader's memory.
    """
    from clv_core.reader import CallSpec

    return _wait_for_reader(
        CALL_TARGET, CallSpec(target, args, kwargs), "the table could not be checked"
    )


def _wait_for_reader(target: str, spec: Any, what: str) -> Any:
    runner = shared_reader()
    job = runner.submit(target, spec, owner=f"read-{uuid.uuid4().hex}", interactive=True)
    try:
        job.wait()
    finally:
        if not job.finished:
            runner.kill(job)
    if job.error is not None:
        # A crash's traceback stays in the server log; the analyst reads what happened.
        raise DataError(
            job.error
            if job.crash is None
            else f"{what[0].upper()}{what[1:]}: the reader stopped on it (the file is damaged "
            "or not what its name says). Export or download it again, or save it as CSV UTF-8."
        )
    return job.result


@st.cache_resource(show_spinner=False)
def shared_runner() -> JobRunner:
    """The server's one worker pool, started on first use and stopped when the server exits."""
    runner = JobRunner(runner_settings())
    atexit.register(runner.shutdown)
    return runner


def session_runner(state: WorkbenchState) -> JobRunner:
    """The runner this session's jobs go to (a test may give a session its own)."""
    return state.runner if state.runner is not None else shared_runner()


def session_folder(state: WorkbenchState) -> Path:
    """This session's folder under the runner's root, made (and its clean-up arranged) once."""
    runner = session_runner(state)
    if state.folder is None:
        folder = runner.root / f"session-{state.session_id}"
        folder.mkdir(parents=True, exist_ok=True)
        state.folder = folder
        # Not a method of the state: the finalizer must not keep the state alive.
        weakref.finalize(state, _session_ended, runner, state.session_id, folder)
    return state.folder


def _session_ended(runner: JobRunner, owner: str, folder: Path) -> None:
    """A session's state was collected: stop its jobs and remove its files."""
    runner.cancel_owner(owner)
    shutil.rmtree(folder, ignore_errors=True)


def submit(state: WorkbenchState, target: str, spec: Any, *, interactive: bool = False) -> Job:
    """Queue a job of this session in a new folder of its own (``interactive``: a page waits for
    it, so it goes ahead of waiting trainings)."""
    folder = session_folder(state) / f"job-{uuid.uuid4().hex[:12]}"
    return session_runner(state).submit(
        target, spec, owner=state.session_id, folder=folder, interactive=interactive
    )


def discard(job: Job) -> None:
    """Remove a finished job's folder (its result was replaced or read)."""
    shutil.rmtree(job.folder, ignore_errors=True)


def run_and_wait(state: WorkbenchState, target: str, spec: Any, label: str) -> Any:
    """Run a job and wait for it on the page: its queue position and step are shown.

    The job goes ahead of waiting trainings; the wait only sleeps, so other sessions are not
    slowed; an interrupted page run (a click, a page switch) cancels the job. Returns the job's
    result.

    Raises
    ------
    ClvError
        The job failed; the message says why (a crash of the worker included).
    """
    runner = session_runner(state)
    job = submit(state, target, spec, interactive=True)
    box = st.empty()
    try:
        while not job.wait(_POLL_SECONDS):
            position = runner.position(job)
            text = t("jobs.queued", position=position) if position else label
            box.caption(f":material/hourglass_top: {text}")
    finally:
        if not job.finished:
            runner.kill(job)
        discard(job)
    box.empty()
    if job.crash is not None:
        raise RuntimeError(f"{job.error}\n{job.crash}")
    if job.error is not None:
        raise ClvError(job.error)
    return job.result


class JobStatus(StrEnum):
    """Life cycle of a training job, as the pages show it."""

    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


@dataclass(eq=False)
class TrainingJob:
    """One evaluation run (network + baselines) in a worker, with live progress and cancel."""

    settings: EvaluationSettings
    job: Job
    runner: JobRunner
    # Whether the session has taken the result into its state (done once).
    collected: bool = False
    _result: EvaluationResult | None = field(default=None, repr=False)

    @property
    def status(self) -> JobStatus:
        """Queued, running, done, or failed (a stopped job counts as failed)."""
        state = self.job.state
        if state is JobState.CANCELLED:
            return JobStatus.FAILED
        return JobStatus(state.value)

    @property
    def position(self) -> int:
        """Place in the server's queue (1 = next); 0 once running or finished."""
        return self.runner.position(self.job)

    @property
    def stage(self) -> str:
        """The step the job is in."""
        return self.job.stage

    @property
    def finished(self) -> bool:
        """Whether the job is done, failed or stopped."""
        return self.job.finished

    @property
    def error(self) -> str | None:
        """Why the job failed, for the analyst (``None`` when it did not)."""
        if self.job.state is JobState.CANCELLED and self.job.killed:
            return t("train.stopped")
        return self.job.error

    @property
    def cancel_requested(self) -> bool:
        """Whether a stop was asked for."""
        return self.job.cancel_requested

    @property
    def killed(self) -> bool:
        """Whether the job was stopped at once (nothing kept)."""
        return self.job.killed

    @property
    def elapsed_seconds(self) -> float:
        """Seconds from the start of training to its end (or now)."""
        return self.job.elapsed_seconds

    @property
    def model_dir(self) -> Path:
        """The bundle folder of the trained network (exists once the job is done)."""
        from clv_core.tasks import MODEL_FOLDER

        return self.job.folder / MODEL_FOLDER

    @property
    def has_model(self) -> bool:
        """Whether the job trained a network (an evaluation of baselines only has none)."""
        return bool(self.job.result and self.job.result.get("model"))

    @property
    def result(self) -> EvaluationResult | None:
        """The evaluation, read once from the job's folder when the job is done."""
        if self._result is None and self.job.state is JobState.DONE:
            from clv_core.tasks import read_evaluation

            self._result = read_evaluation(self.job.folder, self.settings)
        return self._result

    def cancel(self) -> None:
        """Stop training at the next epoch, keeping the best weights so far."""
        self.runner.cancel(self.job)

    def kill(self) -> None:
        """Stop the job at once; nothing is kept."""
        self.runner.kill(self.job)

    def discard(self) -> None:
        """Stop the job if it still runs and remove its files (its result is not wanted)."""
        if not self.job.finished:
            self.runner.kill(self.job)
        self.job.wait(10)
        discard(self.job)

    def events(self) -> list[EpochEvent]:
        """The epoch events so far."""
        return self.job.events()

    @property
    def progress(self) -> float:
        """Share of the network's training done, in [0, 1]."""
        if self.status is JobStatus.DONE:
            return 1.0
        events = self.events()
        return events[-1].progress if events else 0.0

    def raise_crash(self) -> None:
        """Re-raise an unexpected exception of the worker so that it surfaces as a bug."""
        if self.job.crash is not None:
            raise RuntimeError(f"{self.job.error}\n{self.job.crash}")


def start_training_job(
    state: WorkbenchState, spec: Any, settings: EvaluationSettings
) -> TrainingJob:
    """Queue an evaluation of this session (a :class:`~clv_core.usecases.EvaluationRequest`)."""
    job = submit(state, "clv_core.tasks:train_job", spec)
    return TrainingJob(settings, job, session_runner(state))
