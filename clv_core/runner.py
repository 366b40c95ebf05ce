"""Jobs in worker processes: a bounded pool, a FIFO queue, live progress, cancel and hard kill.

A :class:`JobRunner` owns up to ``workers`` long-lived worker processes (``spawn`` start method,
so a worker never inherits the server's threads or locks). Each worker runs one job at a time:
a plain function named ``"module:function"`` called as ``function(spec, folder, reporter)``. The
``spec`` is pickled to the worker and must hold plain data only (frames, dataclasses; never a
Keras object); large results are written by the job into its ``folder`` and the function returns
only a small summary. The :class:`Reporter` sends stage names and progress events back and
answers ``should_stop()`` for a cooperative cancel.

Every worker talks to the runner over its own pipe, so a worker that crashes or is killed breaks
only its own connection: its job fails with a clear message, a fresh worker replaces it and the
other jobs go on. Jobs wait in one first-in-first-out queue (``max_queued`` at most) and report
their position while they wait; short interactive jobs (a page waits for them) go ahead of the
long ones. ``workers=0`` runs each job inline in the submitting thread,
through the same function, folder and reporter (tests and scripts that want no processes).

An optional memory limit per worker is enforced on Linux by reading each busy worker's resident
memory once a second; a worker above it is killed and its job fails with a message that names
the limit. Workers run at a lower CPU priority (``nice``) than the server so that pages stay
quick while jobs compute.
"""

from __future__ import annotations

import contextlib
import importlib
import itertools
import multiprocessing
import os
import queue
import shutil
import signal
import sys
import tempfile
import threading
import time
import traceback
import weakref
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import Any

from clv_core.errors import ClvError, ConfigError

__all__ = [
    "DEFAULT_NICE",
    "Job",
    "JobRunner",
    "JobState",
    "Reporter",
    "RunnerSettings",
    "SpentWorker",
    "worker_memory_mb",
]

# How often the runner looks at dead workers and memory when no message arrives.
_TICK_SECONDS = 0.25
# How much lower than the server's the workers' CPU priority is by default.
DEFAULT_NICE = 5
_MEMORY_CHECK_SECONDS = 1.0


class JobState(StrEnum):
    """Life cycle of a job."""

    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"


@dataclass(frozen=True, slots=True)
class RunnerSettings:
    """How many workers, how long the queue may grow, and what a worker may use.

    Attributes
    ----------
    workers
        Worker processes (0 = run jobs inline in the submitting thread).
    max_queued
        Jobs that may wait at once, server-wide; one more is refused with a message.
    memory_mb
        Resident memory a worker may use (Linux); ``None`` = no limit.
    initializer
        ``"module:function"`` each worker calls once when it starts (imports, settings), so
        the first job does not pay for them.
    nice
        How much lower than the server's the workers' CPU priority is (0 = the same).
    environment
        Variables set in each worker before anything is imported there (thread settings of
        numerical libraries, which take effect only when they are first loaded).
    """

    workers: int = max(1, os.cpu_count() or 1)
    max_queued: int = 32
    memory_mb: int | None = None
    initializer: str | None = None
    nice: int = DEFAULT_NICE
    environment: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        if self.workers < 0:
            raise ConfigError(f"workers must be 0 or more, got {self.workers}.")
        if self.max_queued < 1:
            raise ConfigError(f"max_queued must be at least 1, got {self.max_queued}.")
        if self.memory_mb is not None and self.memory_mb < 64:
            raise ConfigError(f"memory_mb must be at least 64 MB, got {self.memory_mb}.")


@dataclass(eq=False)
class Job:
    """One submitted job, as the submitting session sees it (fields are updated by the runner).

    ``events`` holds the progress payloads in order; ``result`` is the job function's return
    value; ``error`` is a message for the analyst (an input the engine refused, a crash of the
    worker, a memory limit), ``crash`` the traceback of an unexpected exception (a bug).
    """

    id: int
    owner: str
    target: str
    folder: Path
    interactive: bool = False
    state: JobState = JobState.QUEUED
    stage: str = ""
    result: Any = None
    error: str | None = None
    crash: str | None = None
    cancel_requested: bool = False
    killed: bool = False
    submitted_at: float = field(default_factory=time.monotonic)
    started_at: float | None = None
    finished_at: float | None = None
    _events: list[Any] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _done: threading.Event = field(default_factory=threading.Event)

    @property
    def finished(self) -> bool:
        """Whether the job is done, failed or cancelled."""
        return self.state in (JobState.DONE, JobState.FAILED, JobState.CANCELLED)

    def events(self) -> list[Any]:
        """A copy of the progress payloads so far."""
        with self._lock:
            return list(self._events)

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the job is finished (or ``timeout`` passed); whether it finished."""
        return self._done.wait(timeout)

    @property
    def elapsed_seconds(self) -> float:
        """Seconds since the job started running (until it finished); 0 while queued."""
        if self.started_at is None:
            return 0.0
        return (self.finished_at or time.monotonic()) - self.started_at

    def _add_event(self, payload: Any) -> None:
        with self._lock:
            self._events.append(payload)

    def _finish(self, state: JobState) -> None:
        self.state = state
        self.finished_at = time.monotonic()
        self._done.set()


class Reporter:
    """The job function's line back to the runner: stages, progress, and whether to stop."""

    def __init__(
        self,
        send: Callable[[tuple[str, Any]], None],
        stop_requested: Callable[[], bool],
    ) -> None:
        self._send = send
        self._stop_requested = stop_requested

    def stage(self, name: str) -> None:
        """Name the step the job is in now (shown next to the progress bar)."""
        self._send(("stage", name))

    def progress(self, payload: Any) -> None:
        """One progress event (picklable plain data, e.g. an epoch's losses)."""
        self._send(("event", payload))

    def should_stop(self) -> bool:
        """Whether a cancel was asked for: stop at the next safe point and keep what is done."""
        return self._stop_requested()


def worker_memory_mb(pid: int) -> float | None:
    """Resident memory of a process in MB (Linux ``/proc``); ``None`` where unknown."""
    try:
        with Path(f"/proc/{pid}/status").open(encoding="ascii") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except (OSError, ValueError):
        return None
    return None


def _resolve(target: str) -> Callable[..., Any]:
    """``"module:function"`` -> the function."""
    module_name, _, name = target.partition(":")
    function: Callable[..., Any] = getattr(importlib.import_module(module_name), name)
    return function


class SpentWorker(ClvError):
    """A job failure after which its worker process is not used again.

    A job that ran out of memory under the worker's address-space bound may leave the process
    with a fragmented heap or threads that could not start; the worker reports the failure,
    exits, and the runner starts a fresh one for the next job.
    """


def _failure(error: BaseException) -> tuple[str, str | None]:
    """(message for the analyst, traceback for a bug) of an exception raised by a job."""
    if isinstance(error, ClvError):
        return str(error), None
    text = "".join(traceback.format_exception(error))
    return f"{type(error).__name__}: {error}", text


def _worker_main(
    connection: Connection,
    initializer: str | None,
    nice: int,
    environment: tuple[tuple[str, str], ...] = (),
) -> None:
    """A worker process: run the jobs sent over ``connection`` one at a time until it closes."""
    os.environ.update(dict(environment))
    if sys.platform.startswith("linux"):
        # Die with the server even if it is killed without cleaning up.
        with contextlib.suppress(OSError, AttributeError):
            import ctypes

            ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    if nice:
        with contextlib.suppress(OSError):
            os.nice(nice)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl+C in the server's terminal is its own
    if initializer:
        _resolve(initializer)()
    connection.send(("ready", None, None))
    while True:
        try:
            message = connection.recv()
        except (EOFError, OSError):
            return
        kind, job_id, payload = message
        if kind == "exit":
            return
        if kind != "run":
            continue  # a cancel for a job that already ended
        target, spec, folder = payload
        cancelled = False

        def stop_requested(job_id: int = job_id) -> bool:
            nonlocal cancelled
            while not cancelled and connection.poll():
                kind, cancel_id, _ = connection.recv()
                cancelled = kind == "cancel" and cancel_id == job_id
            return cancelled

        def send(item: tuple[str, Any], job_id: int = job_id) -> None:
            connection.send((item[0], job_id, item[1]))

        reporter = Reporter(send, stop_requested)
        connection.send(("started", job_id, None))
        try:
            value = _resolve(target)(spec, Path(folder), reporter)
        except Exception as error:
            spent = isinstance(error, SpentWorker)
            connection.send(("spent" if spent else "failed", job_id, _failure(error)))
            if spent:
                return
        else:
            connection.send(("done", job_id, value))
        del spec, reporter


@dataclass(eq=False)
class _Worker:
    """The runner's side of one worker process.

    Messages to the worker go through ``outbox`` and a sender thread, in order: handing a large
    input to a worker that is still starting blocks until it reads, and must not hold the
    runner's lock meanwhile.
    """

    process: Any
    connection: Connection
    job: Job | None = None
    # The job's input until the worker says it started (a worker that dies before that hands
    # the job back to the queue).
    spec: Any = None
    ready: bool = False
    outbox: queue.SimpleQueue[tuple[str, int, Any] | None] = field(
        default_factory=queue.SimpleQueue
    )

    def start_sender(self, on_error: Callable[[int, str], None]) -> None:
        """Start the thread that sends the outbox's messages until ``None`` (or a closed pipe)."""

        def send_all() -> None:
            while (message := self.outbox.get()) is not None:
                try:
                    self.connection.send(message)
                except (OSError, ValueError, TypeError) as error:  # closed meanwhile
                    if message[0] == "run":
                        on_error(message[1], f"The job could not be handed to a worker: {error}")
                    return

        threading.Thread(target=send_all, name="clv-worker-sender", daemon=True).start()

    def stop_sender(self) -> None:
        """Let the sender thread end after what it holds."""
        self.outbox.put(None)


class JobRunner:
    """A pool of worker processes with a FIFO queue; thread-safe (one per server process)."""

    def __init__(self, settings: RunnerSettings | None = None, root: Path | None = None) -> None:
        self.settings = settings or RunnerSettings()
        self._own_root = root is None
        self.root = Path(tempfile.mkdtemp(prefix="clv-jobs-")) if root is None else root
        self.root.mkdir(parents=True, exist_ok=True)
        # The runner's own folder goes when the runner is collected or the interpreter exits,
        # even where nobody called shutdown() (a runner dropped by a test, a server stopped by a
        # signal Python handles).
        self._remove_root = (
            weakref.finalize(self, shutil.rmtree, self.root, ignore_errors=True)
            if self._own_root
            else None
        )
        self._context = multiprocessing.get_context("spawn")
        self._lock = threading.RLock()
        self._queue: deque[Job] = deque()
        # The inputs of waiting jobs, until a worker takes them.
        self._specs: dict[int, Any] = {}
        self._workers: list[_Worker] = []
        self._ids = itertools.count(1)
        self._closed = False
        self._failed_starts = 0
        self._last_memory_check = 0.0
        self._collector: threading.Thread | None = None
        if self.settings.workers:
            with self._lock:
                for _ in range(self.settings.workers):
                    self._workers.append(self._spawn())
            self._collector = threading.Thread(
                target=self._collect, name="clv-job-runner", daemon=True
            )
            self._collector.start()

    # -- public ------------------------------------------------------------------------------

    def submit(
        self,
        target: str,
        spec: Any,
        *,
        owner: str,
        folder: Path | None = None,
        interactive: bool = False,
    ) -> Job:
        """Queue ``target(spec, folder, reporter)``; returns at once (inline: when it ended).

        ``interactive`` marks a short job someone waits for on a page (scoring, SHAP): it goes
        ahead of the waiting long jobs (first in, first out among the interactive ones), so an
        analyst does not wait for other people's trainings to see a segment table.

        Raises
        ------
        ClvError
            The server-wide queue is full (the message says how to raise the limit).
        """
        with self._lock:
            self._check_room()
            job_id = next(self._ids)
        folder = self.root / f"job-{job_id}" if folder is None else folder
        folder.mkdir(parents=True, exist_ok=True)
        job = Job(id=job_id, owner=owner, target=target, folder=folder, interactive=interactive)
        if not self.settings.workers:
            self._run_inline(job, spec)
            return job
        with self._lock:
            self._check_room()
            if interactive:
                ahead = sum(waiting.interactive for waiting in self._queue)
                self._queue.insert(ahead, job)
            else:
                self._queue.append(job)
            self._specs[job.id] = spec
            self._dispatch()
        return job

    def _check_room(self) -> None:
        if self._closed:
            raise ClvError("The job runner has been shut down; restart the server.")
        waiting = len(self._queue)
        if waiting >= self.settings.max_queued:
            raise ClvError(
                f"The server already has {waiting} jobs waiting (the limit is "
                f"{self.settings.max_queued}). Try again when some have finished; an "
                "administrator can raise the limit with CLV_MAX_QUEUED_JOBS."
            )

    def position(self, job: Job) -> int:
        """1 for the next job to start, 2 for the one after it...; 0 once it is not waiting."""
        with self._lock:
            for index, waiting in enumerate(self._queue, start=1):
                if waiting is job:
                    return index
        return 0

    def queued(self) -> int:
        """Jobs waiting for a worker, server-wide."""
        with self._lock:
            return len(self._queue)

    def running(self) -> int:
        """Jobs running now, server-wide."""
        with self._lock:
            return sum(worker.job is not None for worker in self._workers)

    def cancel(self, job: Job) -> None:
        """A waiting job is dropped; a running one is asked to stop at its next safe point."""
        with self._lock:
            job.cancel_requested = True
            for index, waiting in enumerate(self._queue):
                if waiting is job:
                    del self._queue[index]
                    self._specs.pop(job.id, None)
                    job._finish(JobState.CANCELLED)
                    return
            worker = self._worker_of(job)
            if worker is not None:
                worker.outbox.put(("cancel", job.id, None))

    def kill(self, job: Job) -> None:
        """Stop a job now: its worker process is killed (and replaced); nothing is kept."""
        with self._lock:
            worker = self._worker_of(job)
            if worker is None:
                self.cancel(job)
                return
            job.killed = job.cancel_requested = True
            self._replace(worker, JobState.CANCELLED, "The job was stopped.")

    def cancel_owner(self, owner: str) -> None:
        """Cancel every waiting job of ``owner`` and stop its running ones at once."""
        with self._lock:
            for job in list(self._queue):
                if job.owner == owner:
                    self.cancel(job)
            for worker in list(self._workers):
                if worker.job is not None and worker.job.owner == owner:
                    self.kill(worker.job)

    def worker_pids(self) -> list[int]:
        """Process ids of the live workers."""
        with self._lock:
            return [worker.process.pid for worker in self._workers if worker.process.is_alive()]

    def shutdown(self) -> None:
        """Cancel waiting jobs, stop the workers and remove the runner's own folder."""
        with self._lock:
            self._closed = True
            while self._queue:
                job = self._queue.popleft()
                job._finish(JobState.CANCELLED)
            self._specs.clear()
            workers, self._workers = self._workers, []
        for worker in workers:
            worker.outbox.put(("exit", 0, None))
            worker.stop_sender()
        for worker in workers:
            worker.process.join(timeout=2)
            if worker.process.is_alive():
                worker.process.kill()
                worker.process.join(timeout=2)
            if worker.job is not None:
                worker.job.error = "The server stopped before the job finished."
                worker.job._finish(JobState.FAILED)
            worker.connection.close()
        if self._collector is not None and self._collector is not threading.current_thread():
            self._collector.join(timeout=2)
        if self._remove_root is not None:
            self._remove_root()

    # -- inside ------------------------------------------------------------------------------

    def _run_inline(self, job: Job, spec: Any) -> None:
        def send(item: tuple[str, Any]) -> None:
            kind, payload = item
            if kind == "stage":
                job.stage = payload
            else:
                job._add_event(payload)

        job.state, job.started_at = JobState.RUNNING, time.monotonic()
        reporter = Reporter(send, lambda: job.cancel_requested)
        try:
            job.result = _resolve(job.target)(spec, job.folder, reporter)
        except Exception as error:
            job.error, job.crash = _failure(error)
            job._finish(JobState.FAILED)
        else:
            job._finish(JobState.DONE)

    def _spawn(self) -> _Worker:
        parent, child = self._context.Pipe(duplex=True)
        process = self._context.Process(
            target=_worker_main,
            args=(child, self.settings.initializer, self.settings.nice, self.settings.environment),
            name="clv-worker",
            daemon=True,
        )
        process.start()
        child.close()
        worker = _Worker(process, parent)
        worker.start_sender(self._handoff_failed)
        return worker

    def _handoff_failed(self, job_id: int, message: str) -> None:
        """The sender thread could not hand a job to its worker (the worker died meanwhile)."""
        with self._lock:
            for worker in self._workers:
                if worker.job is not None and worker.job.id == job_id:
                    worker.job.error = message
                    worker.job._finish(JobState.FAILED)
                    worker.job = worker.spec = None

    def _worker_of(self, job: Job) -> _Worker | None:
        return next((worker for worker in self._workers if worker.job is job), None)

    def _dispatch(self) -> None:
        """Give waiting jobs to idle workers, oldest job first (called with the lock held)."""
        for worker in self._workers:
            if not self._queue:
                return
            if worker.job is not None or not worker.process.is_alive():
                continue
            job = self._queue.popleft()
            spec = self._specs.pop(job.id)
            worker.outbox.put(("run", job.id, (job.target, spec, str(job.folder))))
            worker.job, worker.spec = job, spec

    def _replace(self, worker: _Worker, state: JobState, message: str) -> None:
        """Kill ``worker``, end its job with ``message`` and start a fresh worker (lock held)."""
        with contextlib.suppress(OSError):
            worker.process.kill()
        worker.process.join(timeout=5)
        worker.stop_sender()
        worker.connection.close()
        if worker.job is not None:
            worker.job.error = message
            worker.job._finish(state)
            worker.job = worker.spec = None
        index = self._workers.index(worker)
        if not self._closed:
            self._workers[index] = self._spawn()
            self._dispatch()

    def _collect(self) -> None:
        """The runner's thread: read every worker's messages, notice crashes, check memory."""
        while True:
            with self._lock:
                if self._closed:
                    return
                connections = {worker.connection: worker for worker in self._workers}
                sentinels = {worker.process.sentinel: worker for worker in self._workers}
            try:
                ready = wait([*connections, *sentinels], timeout=_TICK_SECONDS)
            except OSError:
                ready = []
            with self._lock:
                if self._closed:
                    return
                for item in ready:
                    worker = connections.get(item)  # type: ignore[call-overload]
                    if worker is not None and worker in self._workers:
                        self._drain(worker)
                for worker in list(self._workers):
                    if not worker.process.is_alive() and worker in self._workers:
                        self._drain(worker)
                        if worker not in self._workers:
                            continue  # a spent worker, replaced while its messages were read
                        code = worker.process.exitcode
                        job = worker.job
                        if job is not None and job.state is JobState.QUEUED:
                            # It never started: back to the head of the queue.
                            self._queue.appendleft(job)
                            self._specs[job.id] = worker.spec
                            worker.job = worker.spec = None
                        if not worker.ready and self._cannot_start(code):
                            return
                        self._replace(
                            worker,
                            JobState.FAILED,
                            "The worker process running this job stopped unexpectedly "
                            f"(exit code {code}; -9 usually means the machine ran out of "
                            "memory). Other jobs are not affected; try again, with less data "
                            "or a smaller network.",
                        )
                self._check_memory()

    def _cannot_start(self, code: int | None) -> bool:
        """Count a worker that died before it was ready; after three in a row, give up (lock
        held): every job fails with the reason instead of workers being started forever."""
        self._failed_starts += 1
        if self._failed_starts < 3:
            return False
        message = (
            f"Worker processes cannot start on this server (exit code {code}); jobs cannot run. "
            "The server's log shows why; restart the server once it is fixed."
        )
        self._closed = True
        for job in [*self._queue, *(w.job for w in self._workers if w.job is not None)]:
            job.error = message
            job._finish(JobState.FAILED)
        self._queue.clear()
        self._specs.clear()
        for each in self._workers:
            each.stop_sender()
            with contextlib.suppress(OSError):
                each.process.kill()
        self._workers = []
        return True

    def _drain(self, worker: _Worker) -> None:
        """Apply the messages a worker has sent (lock held)."""
        while True:
            try:
                if not worker.connection.poll():
                    return
                kind, job_id, payload = worker.connection.recv()
            except (EOFError, OSError):
                return
            if kind == "ready":
                worker.ready = True
                self._failed_starts = 0
                continue
            job = worker.job
            if job is None or job.id != job_id:
                continue
            if kind == "started":
                job.state, job.started_at = JobState.RUNNING, time.monotonic()
                worker.spec = None
            elif kind == "stage":
                job.stage = payload
            elif kind == "event":
                job._add_event(payload)
            elif kind == "done":
                job.result = payload
                worker.job = worker.spec = None
                job._finish(JobState.DONE)
                self._dispatch()
            elif kind in ("failed", "spent"):
                job.error, job.crash = payload
                worker.job = worker.spec = None
                job._finish(JobState.FAILED)
                if kind == "spent":
                    # The worker is exiting: replace it before it is given another job.
                    self._replace(worker, JobState.FAILED, "")
                    return
                self._dispatch()

    def _check_memory(self) -> None:
        """Kill a busy worker above the memory limit (lock held; at most once a second)."""
        limit = self.settings.memory_mb
        now = time.monotonic()
        if limit is None or now - self._last_memory_check < _MEMORY_CHECK_SECONDS:
            return
        self._last_memory_check = now
        for worker in list(self._workers):
            if worker.job is None:
                continue
            used = worker_memory_mb(worker.process.pid)
            if used is not None and used > limit:
                self._replace(
                    worker,
                    JobState.FAILED,
                    f"The job needed more than {limit:,} MB of memory, the limit of one worker "
                    f"(it used {used:,.0f} MB) and was stopped. Use less data or a smaller "
                    "network, or ask the administrator to raise CLV_WORKER_MEMORY_MB.",
                )
