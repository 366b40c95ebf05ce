"""Fixtures for the Streamlit app tests: seeded workbench states and a tiny trained result."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from clv_core.config import MlpConfig
from clv_core.evaluation import EvaluationResult, EvaluationSettings
from clv_core.loading import load_table
from clv_core.runner import JobRunner, JobState, RunnerSettings
from clv_core.tasks import MODEL_FOLDER, read_evaluation
from clv_core.usecases import EvaluationRequest
from clv_core.validation import validate_customers, validate_transactions
from clv_ui.state import STATE_KEY, DataState, WorkbenchState
from clv_ui.workflow import default_windows

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "sample_data"
TINY = MlpConfig(hidden_layers=(4,), ensemble_size=1, max_epochs=2, patience=1, batch_size=128)
TIMEOUT = 120


@pytest.fixture(scope="session")
def sample_data_state() -> DataState:
    """The bundled sample, loaded and validated as the Data page does."""
    table = load_table(SAMPLE / "transactions.csv")
    transactions = validate_transactions(table.frame, source_name=table.source_name)
    customers_table = load_table(SAMPLE / "customers.csv")
    customers = validate_customers(customers_table.frame, source_name="customers.csv")
    cutoff, horizon = default_windows(transactions.first_date, transactions.last_date)
    return DataState(
        table=table,
        table_digest="sample",
        mapping=transactions.mapping,
        transactions=transactions,
        customers=customers,
        customers_digest="sample-customers",
        cutoff=cutoff,
        horizon_days=horizon,
    )


@pytest.fixture(scope="session")
def tiny_job_folder(sample_data_state: DataState, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A micro network and the baselines evaluated on the sample (customer split), as the
    workbench's training job leaves them: a bundle and the evaluation files in one folder."""
    assert sample_data_state.transactions is not None
    assert sample_data_state.cutoff is not None
    settings = EvaluationSettings(
        cutoff=sample_data_state.cutoff,
        horizon_days=sample_data_state.horizon_days,
        config=TINY,
    )
    spec = EvaluationRequest(
        settings, sample_data_state.transactions.frame, sample_data_state.customers
    )
    job = JobRunner(RunnerSettings(workers=0)).submit(
        "clv_core.tasks:train_job", spec, owner="fixture", folder=tmp_path_factory.mktemp("job")
    )
    assert job.state is JobState.DONE, job.crash or job.error
    return job.folder


@pytest.fixture(scope="session")
def tiny_result(tiny_job_folder: Path, sample_data_state: DataState) -> EvaluationResult:
    """The evaluation of :func:`tiny_job_folder`, read back as the session reads it."""
    assert sample_data_state.cutoff is not None
    settings = EvaluationSettings(
        cutoff=sample_data_state.cutoff,
        horizon_days=sample_data_state.horizon_days,
        config=TINY,
    )
    return read_evaluation(tiny_job_folder, settings)


@pytest.fixture
def tiny_model_dir(tiny_job_folder: Path, tmp_path: Path) -> Path:
    """A copy of the tiny network's bundle folder for one test (sessions delete theirs)."""
    return Path(shutil.copytree(tiny_job_folder / MODEL_FOLDER, tmp_path / "job" / MODEL_FOLDER))


@pytest.fixture
def make_app() -> Callable[..., AppTest]:
    """An AppTest of app.py with an optional seeded state, run once and switched to a page."""

    def build(state: WorkbenchState | None = None, page: str | None = None) -> AppTest:
        app = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT)
        if state is not None:
            app.session_state[STATE_KEY] = state
        app.run()
        if page is not None:
            app.switch_page(page)
            app.run()
        return app

    return build


@pytest.fixture
def data_state(sample_data_state: DataState) -> WorkbenchState:
    """A workbench with the sample loaded (fresh per test, data shared)."""
    return WorkbenchState(data=_copy(sample_data_state), config=TINY)


@pytest.fixture
def trained_state(
    data_state: WorkbenchState, tiny_result: EvaluationResult, tiny_model_dir: Path
) -> WorkbenchState:
    """A workbench with the sample loaded and the tiny result (and its bundle) in place."""
    data_state.set_result(tiny_result, tiny_model_dir)
    return data_state


def _copy(data: DataState) -> DataState:
    return DataState(**{name: getattr(data, name) for name in DataState.__dataclass_fields__})
