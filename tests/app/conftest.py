"""Fixtures for the Streamlit app tests: seeded workbench states and a tiny trained result."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from clv_core.config import MlpConfig
from clv_core.evaluation import EvaluationResult, EvaluationSettings, evaluate
from clv_core.loading import load_table
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
def tiny_result(sample_data_state: DataState) -> EvaluationResult:
    """A micro network and the baselines evaluated on the sample (customer split)."""
    assert sample_data_state.transactions is not None
    assert sample_data_state.cutoff is not None
    settings = EvaluationSettings(
        cutoff=sample_data_state.cutoff,
        horizon_days=sample_data_state.horizon_days,
        config=TINY,
    )
    return evaluate(
        sample_data_state.transactions.frame, settings, customers=sample_data_state.customers
    )


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
    return WorkbenchState(data=_copy(sample_data_state), config=TINY, run_jobs_inline=True)


@pytest.fixture
def trained_state(data_state: WorkbenchState, tiny_result: EvaluationResult) -> WorkbenchState:
    """A workbench with the sample loaded and the tiny result in place."""
    data_state.results[tiny_result.settings.split] = tiny_result
    return data_state


def _copy(data: DataState) -> DataState:
    return DataState(**{name: getattr(data, name) for name in DataState.__dataclass_fields__})
