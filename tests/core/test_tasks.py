"""The workbench's jobs: what a worker writes and returns equals what the engine computes."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from clv_core.bundle import BundleInfo, load_bundle, save_bundle, zip_bundle
from clv_core.evaluation import EvaluationSettings, evaluate
from clv_core.explain import ExplainSettings, Explanation, explain_customers
from clv_core.features import LABEL_COLUMN, FeatureOptions
from clv_core.language import Language
from clv_core.mlp import ClvMlp
from clv_core.runner import JobRunner, JobState, RunnerSettings
from clv_core.scoring import ScoredCustomers, score_with_features
from clv_core.synthetic import SyntheticWorld
from clv_core.tasks import (
    MODEL_FOLDER,
    CheckBundleSpec,
    DriversSpec,
    ExplainSpec,
    ScoreSpec,
    read_evaluation,
)
from clv_core.usecases import EvaluationRequest, campaign_drivers
from clv_core.validation import validate_customers
from tests.conftest import TINY_CONFIG

pytestmark = pytest.mark.slow


def _run(target: str, spec: object, folder: Path) -> Any:
    job = JobRunner(RunnerSettings(workers=0)).submit(
        f"clv_core.tasks:{target}", spec, owner="test", folder=folder
    )
    assert job.state is JobState.DONE, job.crash or job.error
    return job.result


def _log(world: SyntheticWorld) -> pd.DataFrame:
    return world.transactions[["customer_id", "order_date", "amount"]]


def test_train_job_gives_the_evaluation_and_network_of_evaluate(
    small_world: SyntheticWorld, tmp_path: Path
) -> None:
    settings = EvaluationSettings(
        cutoff=dt.date(2024, 12, 31), horizon_days=365, config=TINY_CONFIG
    )
    summary = _run("train_job", EvaluationRequest(settings, _log(small_world)), tmp_path)
    assert summary == {"cancelled": False, "model": True}
    direct = evaluate(_log(small_world), settings)
    read = read_evaluation(tmp_path, settings)
    assert read.mlp is None
    pd.testing.assert_frame_equal(read.predictions, direct.predictions)
    pd.testing.assert_frame_equal(read.test_features, direct.test_features)
    assert read.train_features is not None and direct.train_features is not None
    pd.testing.assert_frame_equal(read.train_features, direct.train_features)
    assert (
        read.metrics_table()
        .drop(columns="fit_seconds")
        .equals(direct.metrics_table().drop(columns="fit_seconds"))
    )
    assert (read.n_customers, read.n_train, read.n_test) == (
        direct.n_customers,
        direct.n_train,
        direct.n_test,
    )
    assert read.warnings == direct.warnings
    # The bundle scores like the network trained in this process.
    assert direct.mlp is not None
    scored: ScoredCustomers = _run(
        "score_job",
        ScoreSpec(tmp_path / MODEL_FOLDER, _log(small_world), dt.date(2024, 12, 31)),
        tmp_path / "score",
    )
    expected = score_with_features(direct.mlp, _log(small_world), as_of=dt.date(2024, 12, 31))
    pd.testing.assert_frame_equal(scored.predictions, expected.predictions)


def test_explain_and_drivers_jobs_match_the_engine(
    tiny_model: ClvMlp,
    small_training_table: pd.DataFrame,
    small_world: SyntheticWorld,
    tmp_path: Path,
) -> None:
    save_bundle(
        tiny_model,
        tmp_path / "bundle",
        cutoff=dt.date(2024, 12, 31),
        horizon_days=365,
        feature_options=FeatureOptions(),
        training={"training_cutoff": "2024-06-30"},
    )
    features = small_training_table.drop(columns=LABEL_COLUMN).head(40)
    background = small_training_table.drop(columns=LABEL_COLUMN).tail(30)
    settings = ExplainSettings(background_size=30, sample_size=None)
    spec = ExplainSpec(tmp_path / "bundle", features, background, settings)
    explanation: Explanation = _run("explain_job", spec, tmp_path / "e")
    direct = explain_customers(tiny_model, features, background, settings)
    pd.testing.assert_frame_equal(explanation.values, direct.values)
    log = _log(small_world)
    customers = validate_customers(small_world.customers.astype(str))
    drivers: pd.DataFrame = _run(
        "drivers_job", DriversSpec(tmp_path / "bundle", features, log, customers), tmp_path / "d"
    )
    _, info = load_bundle(tmp_path / "bundle")
    expected = campaign_drivers(tiny_model, info, log, customers, features, language=Language.EN)
    pd.testing.assert_frame_equal(drivers, expected)
    assert list(drivers.columns) == ["customer_id", "driver_1", "driver_2", "driver_3"]


def test_check_bundle_job_refuses_a_damaged_upload_and_reads_a_good_one(
    tiny_model: ClvMlp, tmp_path: Path
) -> None:
    job = JobRunner(RunnerSettings(workers=0)).submit(
        "clv_core.tasks:check_bundle_job", CheckBundleSpec(b"PK junk"), owner="t"
    )
    assert job.state is JobState.FAILED and job.crash is None
    assert job.error == (
        "The model bundle is not a valid .zip archive, or it is damaged (File is not a zip file)."
    )
    folder = save_bundle(
        tiny_model,
        tmp_path / "b",
        cutoff=dt.date(2024, 12, 31),
        horizon_days=90,
        feature_options=FeatureOptions(),
    )
    info: BundleInfo = _run("check_bundle_job", CheckBundleSpec(zip_bundle(folder)), tmp_path / "c")
    assert info.horizon_days == 90
