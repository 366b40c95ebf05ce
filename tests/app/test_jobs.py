"""The background training job: a real thread, progress events, cooperative cancel."""

from __future__ import annotations

from collections.abc import Callable

from streamlit.testing.v1 import AppTest

from clv_core.evaluation import EvaluationSettings, ModelName
from clv_ui.jobs import JobStatus, TrainingJob
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
