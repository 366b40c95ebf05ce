"""The background training job: a real thread, progress events, cooperative cancel."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import pandas as pd
from streamlit.testing.v1 import AppTest

from clv_core.evaluation import EvaluationResult, EvaluationSettings, ModelName
from clv_ui.jobs import JobStatus, TrainingJob
from clv_ui.shell import collect_finished_job
from clv_ui.state import WorkbenchState
from tests.app.conftest import TINY


def _job(state: WorkbenchState) -> TrainingJob:
    data = state.data
    assert data.transactions is not None and data.cutoff is not None
    settings = EvaluationSettings(
        cutoff=data.cutoff, horizon_days=data.horizon_days, config=TINY, models=(ModelName.MLP,)
    )
    return TrainingJob(settings, data.transactions.frame, data.customers)


def test_job_trains_in_a_thread_and_records_every_epoch(data_state: WorkbenchState) -> None:
    job = _job(data_state)
    job.start()
    job.join(timeout=120)
    assert job.status is JobStatus.DONE, job.error
    assert job.result is not None and job.result.mlp is not None
    events = job.events()
    assert [event.epoch for event in events] == list(range(1, len(events) + 1))
    assert job.progress == 1.0


def test_cancelled_job_keeps_the_best_weights_so_far(data_state: WorkbenchState) -> None:
    job = _job(data_state)
    job.cancel()
    job.run()
    assert job.status is JobStatus.DONE
    assert job.result is not None and job.result.mlp is not None
    assert job.result.mlp.cancelled_


def test_running_job_shows_progress_and_can_be_cancelled(
    make_app: Callable[..., AppTest], data_state: WorkbenchState
) -> None:
    data_state.job = _job(data_state)  # queued: never started, so nothing runs in the test
    app = make_app(data_state, "pages/train.py")
    assert not app.exception
    assert app.progress[0].value == 0
    assert "Waiting" in app.info[0].value
    app.button(key="cancel_training").click().run()
    assert data_state.job.cancel_requested


def test_two_sessions_training_at_once_both_finish_with_their_own_results(
    data_state: WorkbenchState,
) -> None:
    """Two users' trainings run in one server process: queued, never mixed up."""
    first = _job(data_state)
    other_config = EvaluationSettings(
        cutoff=first.settings.cutoff,
        horizon_days=first.settings.horizon_days,
        config=replace(TINY, seed=TINY.seed + 1),
        models=(ModelName.MLP,),
    )
    assert data_state.data.transactions is not None
    second = TrainingJob(
        other_config, data_state.data.transactions.frame, data_state.data.customers
    )
    first.start()
    second.start()
    first.join(timeout=300)
    second.join(timeout=300)
    assert first.status is JobStatus.DONE, first.error
    assert second.status is JobStatus.DONE, second.error
    assert first.result is not None and second.result is not None
    assert first.result.mlp is not None and second.result.mlp is not None
    assert first.result.mlp.config.seed != second.result.mlp.config.seed
    # Each job recorded only its own epochs, numbered from 1.
    for job in (first, second):
        epochs = [event.epoch for event in job.events()]
        assert epochs == list(range(1, len(epochs) + 1))
    # Same customers, different seeds: the two models' predictions differ.
    first_predictions = first.result.predictions["mlp"]
    second_predictions = second.result.predictions["mlp"]
    assert first_predictions.index.equals(second_predictions.index)
    assert not first_predictions.equals(second_predictions)


def test_a_finished_training_replaces_the_kept_scores(
    trained_state: WorkbenchState, tiny_result: EvaluationResult
) -> None:
    job = _job(trained_state)
    job.result, job.status = tiny_result, JobStatus.DONE
    trained_state.job = job
    trained_state.drivers[("trained-customer", "2024-12-31", "en")] = pd.DataFrame()
    collect_finished_job(trained_state)
    assert trained_state.results[job.settings.split] is tiny_result
    assert trained_state.drivers == {} and trained_state.scores == {}
