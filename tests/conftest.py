"""Shared fixtures: small hand-made logs and seeded random data."""

from __future__ import annotations

import os
import shutil

import pandas as pd
import pytest

from clv_core.config import MlpConfig
from clv_core.features import LABEL_COLUMN, build_training_table
from clv_core.mlp import ClvMlp
from clv_core.synthetic import SyntheticConfig, SyntheticWorld, generate_world
from clv_core.validation import validate_customers

# The workbench's jobs run inside the test process (one worker pool per server otherwise); the
# tests of the worker processes give their sessions a runner of their own, and the browser
# tests start a real server with real workers.
os.environ["CLV_WORKERS"] = "0"


@pytest.fixture
def six_customer_log() -> pd.DataFrame:
    """A hand-computed transaction log around the cutoff 2024-03-31 (horizon 30 days).

    A: four orders on three days (two on 2024-01-01), one on the cutoff day, one in the horizon.
    B: one order, a return before the cutoff, and a return and an order in the horizon.
    C: two orders in 2023, nothing after.
    D: first order after the cutoff (not a customer at the cutoff).
    E: only a return before the cutoff (not a customer at the cutoff).
    F: an order at midnight on the cutoff day, then orders on the first and last horizon day
       and one just after the horizon.
    """
    rows = [
        ("A", "2024-01-01 09:00", 100.0),
        ("A", "2024-01-01 17:00", 50.0),
        ("A", "2024-02-15 12:00", 80.0),
        ("A", "2024-03-31 18:00", 20.0),
        ("A", "2024-04-10 10:00", 60.0),
        ("B", "2024-03-01 10:00", 200.0),
        ("B", "2024-03-10 10:00", -50.0),
        ("B", "2024-04-05 10:00", -150.0),
        ("B", "2024-04-20 10:00", 100.0),
        ("C", "2023-06-01 10:00", 30.0),
        ("C", "2023-12-01 10:00", 40.0),
        ("D", "2024-04-02 10:00", 500.0),
        ("E", "2024-02-01 10:00", -20.0),
        ("F", "2024-03-31 00:00", 10.0),
        ("F", "2024-04-01 00:00", 25.0),
        ("F", "2024-04-30 23:59", 5.0),
        ("F", "2024-05-01 00:00", 7.0),
    ]
    frame = pd.DataFrame(rows, columns=["customer_id", "order_date", "amount"])
    frame["order_date"] = pd.to_datetime(frame["order_date"])
    return frame


@pytest.fixture(scope="session")
def small_world() -> SyntheticWorld:
    """A seeded synthetic shop of 600 customers (2023-2025), shared by model tests."""
    return generate_world(SyntheticConfig(n_customers=600, seed=11))


@pytest.fixture(scope="session")
def small_training_table(small_world: SyntheticWorld) -> pd.DataFrame:
    """Features at 2024-12-31 (with attributes) and the 365-day label."""
    customers = validate_customers(small_world.customers.astype(str))
    transactions = small_world.transactions[["customer_id", "order_date", "amount"]]
    return build_training_table(transactions, "2024-12-31", 365, customers=customers)


TINY_CONFIG = MlpConfig(
    hidden_layers=(8,), ensemble_size=2, max_epochs=3, patience=2, batch_size=64, seed=3
)


@pytest.fixture(scope="session")
def tiny_model(small_training_table: pd.DataFrame) -> ClvMlp:
    """A tiny pre-fitted ZILN ensemble (2 members, 3 epochs): most tests never train."""
    features = small_training_table.drop(columns=LABEL_COLUMN)
    return ClvMlp(TINY_CONFIG).fit(features, small_training_table[LABEL_COLUMN])


# Local Spark needs Java; .ci/run installs it, so in CI these tests always run.
NEEDS_JAVA = pytest.mark.skipif(
    shutil.which("java") is None and not os.environ.get("JAVA_HOME"),
    reason="needs Java 17+ for local Spark (.ci/run installs default-jre-headless)",
)
