"""The session's training job on the worker pool: progress, cancel, stop, results per session."""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator
from dataclasses import replace

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from clv_core.errors import ConfigError
from clv_core.evaluation import EvaluationResult, EvaluationSettings, ModelName
from clv_core.runner import JobRunner, JobState, RunnerSettings
from clv_core.usecases import EvaluationRequest
from clv_ui import jobs
from clv_ui.forms import TrainingRequest
from clv_ui.jobs import JobStatus, TrainingJob, runner_settings, start_training_job
from clv_ui.shell import collect_finished_job
from clv_ui.state import DataState, WorkbenchState
from clv_ui.workflow import start_training
from tests.app.conftest import TINY

# Two worker processes, as on the two-core machine the targets are set for.
WORKERS = 2


def _spec(
    state: WorkbenchState, seed: int = TINY.seed
) -> tuple[EvaluationRequest, EvaluationSettings]:
    data = state.data
    assert data.transactions is not None and data.cutoff is not None
    settings = EvaluationSettings(
        cutoff=data.cutoff,
        horizon_days=data.horizon_days,
        config=replace(TINY, seed=seed),
        models=(ModelName.MLP,),
    )
    return EvaluationRequest(settings, data.transactions.frame, data.customers), settings


def test_inline_job_records_every_epoch_and_returns_the_network_as_a_bundle(
    data_state: WorkbenchState,
) -> None:
    spec, settings = _spec(data_state)
    job = start_training_job(data_state, spec, settings)
    assert job.status is JobStatus.DONE, job.error
    assert job.result is not None and job.result.mlp is None, "no Keras object comes back"
    assert (job.model_dir / "model.keras").is_file()
    events = job.events()
    assert [event.epoch for event in events] == list(range(1, len(events) + 1))
    assert job.progress == 1.0


def test_running_job_shows_progress_and_can_be_cancelled(
    make_app: Callable[..., AppTest], data_state: WorkbenchState
) -> None:
    runner = JobRunner(RunnerSettings(workers=1))
    try:
        data_state.runner = runner
        blocker = runner.submit(
            "tests.core.runner_jobs:steps", {"steps": 600, "seconds": 0.1}, owner="other"
        )
        spec, settings = _spec(data_state)
        data_state.job = start_training_job(data_state, spec, settings)  # waits behind it
        app = make_app(data_state, "pages/train.py")
        assert not app.exception
        assert app.progress[0].value == 0
        assert "position 1 in the server's queue" in app.info[0].value
        app.button(key="cancel_training").click().run()
        assert data_state.job.cancel_requested
        assert data_state.job.finished, "a waiting job leaves the queue at once"
        runner.kill(blocker)
    finally:
        runner.shutdown()


def test_a_finished_training_replaces_the_kept_scores(
    trained_state: WorkbenchState, tiny_result: EvaluationResult
) -> None:
    spec, settings = _spec(trained_state)
    job = start_training_job(trained_state, spec, settings)
    trained_state.job = job
    old_model = trained_state.model_dir
    assert old_model is not None
    trained_state.drivers[("trained-customer", "2024-12-31", "en")] = pd.DataFrame()
    collect_finished_job(trained_state)
    assert trained_state.results[settings.split] is job.result
    assert trained_state.model_dir == job.model_dir
    assert not old_model.exists(), "the replaced network's files are removed"
    assert trained_state.drivers == {} and trained_state.scores == {}
    trained_state.explanation = object()  # type: ignore[assignment]
    collect_finished_job(trained_state)
    assert trained_state.explanation is not None, "a result is collected once"


def test_server_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLV_WORKERS", "3")
    monkeypatch.setenv("CLV_MAX_QUEUED_JOBS", "5")
    monkeypatch.setenv("CLV_WORKER_MEMORY_MB", "2048")
    settings = runner_settings()
    assert (settings.workers, settings.max_queued, settings.memory_mb) == (3, 5, 2048)
    monkeypatch.setenv("CLV_WORKER_MEMORY_MB", "0")
    assert runner_settings().memory_mb is None
    monkeypatch.setenv("CLV_WORKERS", "two")
    with pytest.raises(ConfigError, match="CLV_WORKERS must be a whole number, got 'two'"):
        runner_settings()
    monkeypatch.setenv("CLV_SESSION_UPLOAD_MB", "50")
    assert jobs.session_upload_mb(200) == 50
    assert jobs.session_upload_mb(20) == 20


def test_each_worker_gets_its_share_of_the_cores(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TF_NUM_INTRAOP_THREADS", raising=False)
    monkeypatch.setattr(jobs.os, "cpu_count", lambda: 8)
    monkeypatch.setenv("CLV_WORKERS", "3")
    environment = dict(runner_settings().environment)
    assert environment["TF_NUM_INTRAOP_THREADS"] == "2"
    assert environment["OMP_WAIT_POLICY"] == "PASSIVE"
    assert dict(jobs.worker_environment(16))["TF_NUM_INTRAOP_THREADS"] == "1"
    monkeypatch.setenv("TF_NUM_INTRAOP_THREADS", "4")  # the operator's choice is kept
    assert "TF_NUM_INTRAOP_THREADS" not in dict(runner_settings().environment)


@pytest.fixture
def worker_runner() -> Iterator[JobRunner]:
    """A real pool of worker processes (spawned, TensorFlow imported there only)."""
    runner = JobRunner(
        RunnerSettings(
            workers=WORKERS,
            initializer=jobs.WORKER_INITIALIZER,
            environment=jobs.worker_environment(WORKERS),
        )
    )
    yield runner
    runner.shutdown()


def _session(data: DataState, runner: JobRunner) -> WorkbenchState:
    return WorkbenchState(data=data, config=TINY, runner=runner)


@pytest.mark.slow
def test_three_sessions_train_at_once_in_workers_in_queue_order(
    worker_runner: JobRunner, sample_data_state: DataState, tiny_result: EvaluationResult
) -> None:
    """Three analysts press Train together on a two-worker server: the first two run at once,
    the third waits its turn (first in, first out), and each gets the numbers of its own data
    and settings."""
    base = sample_data_state.transactions
    assert base is not None
    # The third analyst's log is the sample without its first 100 customers.
    dropped = base.frame["customer_id"].drop_duplicates().iloc[:100]
    other = replace(
        base, frame=base.frame[~base.frame["customer_id"].isin(dropped)].reset_index(drop=True)
    )
    sessions = [
        _session(DataState(**vars_of(sample_data_state)), worker_runner),
        _session(DataState(**vars_of(sample_data_state)), worker_runner),
        _session(DataState(**{**vars_of(sample_data_state), "transactions": other}), worker_runner),
    ]
    sessions[1].config = replace(TINY, seed=TINY.seed + 1)
    started = [start_training(s, TrainingRequest(config=s.config, split=s.split)) for s in sessions]
    assert [job.position for job in started] == [0, 0, 1], "two run, one waits"
    for job in started:
        assert job.job.wait(600), "every training finishes"
        assert job.status is JobStatus.DONE, job.error
    first, second, third = started
    assert third.job.started_at is not None
    assert third.job.started_at >= min(job.job.finished_at or 0.0 for job in (first, second)), (
        "the third started only when a worker was free"
    )
    for state in sessions:
        collect_finished_job(state)
    results = [state.result for state in sessions]
    assert all(result is not None for result in results)
    one, two, three = (result for result in results if result is not None)
    # Same data and seed as the in-process fixture: the same numbers from a worker, for every
    # model (the workers' thread settings change no number).
    pd.testing.assert_frame_equal(one.predictions, tiny_result.predictions)
    assert not one.predictions["mlp"].equals(two.predictions["mlp"]), "its own seed"
    assert not set(dropped) & set(three.predictions.index), "its own customers"
    assert three.n_customers < one.n_customers


def vars_of(data: DataState) -> dict[str, object]:
    """The fields of a data state, for a copy with some replaced."""
    return {name: getattr(data, name) for name in DataState.__dataclass_fields__}


def _long_training(runner: JobRunner, data: DataState) -> tuple[WorkbenchState, TrainingJob]:
    """A session of its own training a network for up to 500 epochs."""
    state = _session(DataState(**vars_of(data)), runner)
    slow = replace(TINY, max_epochs=500, patience=500)
    return state, start_training(state, TrainingRequest(config=slow, split=state.split))


@pytest.mark.slow
def test_a_closed_session_stops_its_jobs_and_removes_its_files(
    worker_runner: JobRunner, sample_data_state: DataState
) -> None:
    state, job = _long_training(worker_runner, sample_data_state)
    folder = state.folder
    assert folder is not None and folder.is_dir()
    handle = job.job
    del state, job
    gc.collect()
    assert handle.wait(30), "the session's job was stopped"
    assert handle.state is JobState.CANCELLED
    assert not folder.exists(), "the session's files are gone"


@pytest.mark.slow
def test_stop_now_ends_a_running_training_and_the_next_one_runs(
    worker_runner: JobRunner, sample_data_state: DataState
) -> None:
    state, job = _long_training(worker_runner, sample_data_state)
    assert _wait_for(lambda: bool(job.events()), 300), "training started"
    job.kill()
    assert job.finished and job.status is JobStatus.FAILED
    assert job.error is not None and "nothing was kept" in job.error
    again = start_training(state, TrainingRequest(config=TINY, split=state.split))
    assert again.job.wait(300) and again.status is JobStatus.DONE, again.error


def _wait_for(condition: Callable[[], bool], seconds: float) -> bool:
    import time

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.2)
    return False


def test_a_wrong_server_setting_is_a_message_on_the_train_page(
    make_app: Callable[..., AppTest], data_state: WorkbenchState, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CLV_WORKERS", "two")
    jobs.shared_runner.clear()
    try:
        app = make_app(data_state, "pages/train.py")
        next(button for button in app.button if button.label == "Train").click().run()
        assert not app.exception
        assert [error.value for error in app.error] == [
            "CLV_WORKERS must be a whole number, got 'two'."
        ]
    finally:
        monkeypatch.setenv("CLV_WORKERS", "0")
        jobs.shared_runner.clear()


def test_upload_readers_follow_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLV_WORKERS", "0")
    monkeypatch.delenv("CLV_READERS", raising=False)
    assert jobs.reader_settings().workers == 0, "tests and CLV_WORKERS=0 read inside the server"
    monkeypatch.setenv("CLV_READERS", "1")
    monkeypatch.setenv("CLV_READER_MEMORY_MB", "1500")
    settings = jobs.reader_settings()
    assert settings.workers == 1 and settings.memory_mb == 1500
    assert ("CLV_READER_MEMORY_MB", "1500") in settings.environment
    assert settings.initializer == "clv_core.reader:prepare_reader"
    monkeypatch.setenv("CLV_READER_MEMORY_MB", "0")
    assert jobs.reader_settings().memory_mb is None
