"""Evaluation: same customers for every model, both splits, repeats, failures, no leakage."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from clv_core.baselines import BtydBaseline
from clv_core.config import MlpConfig
from clv_core.errors import ConfigError, DataError
from clv_core.evaluation import (
    EvaluationSettings,
    ModelName,
    evaluate,
    evaluate_customer_table,
    parse_model_names,
)
from clv_core.loading import load_table
from clv_core.metrics import METRIC_NAMES
from clv_core.synthetic import SyntheticWorld
from clv_core.validation import CustomerTable, validate_customer_table
from tests.conftest import TINY_CONFIG

CUTOFF = dt.date(2024, 12, 31)


def transactions_of(world: SyntheticWorld) -> pd.DataFrame:
    return world.transactions[["customer_id", "order_date", "amount"]]


def settings(**changes: object) -> EvaluationSettings:
    values: dict[str, object] = {"cutoff": CUTOFF, "horizon_days": 365, "config": TINY_CONFIG}
    values.update(changes)
    return EvaluationSettings(**values)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def customer_split_result(small_world: SyntheticWorld):  # type: ignore[no-untyped-def]
    return evaluate(transactions_of(small_world), settings())


def test_every_model_is_measured_on_the_same_test_customers(customer_split_result) -> None:  # type: ignore[no-untyped-def]
    result = customer_split_result
    assert set(result.results) == set(ModelName)
    assert result.n_train + result.n_test == result.n_customers
    assert result.n_test == round(result.n_customers * 0.2)
    assert list(result.predictions.columns) == [
        "actual",
        "mlp",
        "bgnbd_gg",
        "lightgbm",
        "historical",
    ]
    assert len(result.predictions) == result.n_test
    for model_result in result.results.values():
        assert model_result.metrics is not None, model_result.error
        assert tuple(model_result.metrics) == METRIC_NAMES
    assert result.mlp is not None
    assert result.test_features.index.equals(result.predictions.index)


def test_tidy_tables_and_json(customer_split_result) -> None:  # type: ignore[no-untyped-def]
    result = customer_split_result
    table = result.metrics_table()
    assert list(table["model"]) == ["mlp", "bgnbd_gg", "lightgbm", "historical"]
    deciles = result.decile_tables()
    assert deciles.groupby("model").size().tolist() == [10, 10, 10, 10]
    curves = result.gain_curves(points=11)
    assert set(curves["model"]) == {"mlp", "bgnbd_gg", "lightgbm", "historical", "perfect"}
    assert curves.groupby("model")["share_of_value"].max().round(9).eq(1).all()
    data = result.to_dict()
    text = json.dumps(data, allow_nan=False)
    assert json.loads(text)["models"]["mlp"]["fit_seconds"] > 0
    assert data["split"] == "customer" and data["n_test"] == result.n_test


def test_out_of_time_split_trains_on_the_earlier_window(small_world: SyntheticWorld) -> None:
    result = evaluate(
        transactions_of(small_world),
        settings(split="time", models=(ModelName.HISTORICAL, ModelName.LIGHTGBM)),
    )
    transactions = transactions_of(small_world)
    bought_by = transactions[transactions["amount"] >= 0].groupby("customer_id")["order_date"].min()
    # 365 days before 2024-12-31 is 2024-01-01 (a leap year); cutoff days are included.
    assert result.n_train == int((bought_by < pd.Timestamp("2024-01-02")).sum())
    assert result.n_test == int((bought_by < pd.Timestamp("2025-01-01")).sum())
    assert result.results[ModelName.LIGHTGBM].metrics is not None


def test_repeats_summarise_mean_and_sd(small_world: SyntheticWorld) -> None:
    result = evaluate(
        transactions_of(small_world),
        settings(repeats=3, models=(ModelName.HISTORICAL, ModelName.BGNBD_GG)),
    )
    assert result.summary is not None
    gini = result.summary["bgnbd_gg"]["normalized_gini"]
    assert gini["runs"] == 3 and gini["sd"] is not None and gini["sd"] > 0
    assert result.to_dict()["repeats"] == 3


def test_a_failing_baseline_is_reported_and_the_others_still_run(
    small_world: SyntheticWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(self: BtydBaseline, features: pd.DataFrame, target: object = None) -> None:
        raise DataError("BG/NBD did not converge with any penalizer.")

    monkeypatch.setattr(BtydBaseline, "fit", refuse)
    result = evaluate(
        transactions_of(small_world),
        settings(models=(ModelName.BGNBD_GG, ModelName.HISTORICAL)),
    )
    failed = result.results[ModelName.BGNBD_GG]
    assert failed.metrics is None and "did not converge" in str(failed.error)
    assert result.to_dict()["models"]["bgnbd_gg"]["error"].startswith("BG/NBD")
    assert result.results[ModelName.HISTORICAL].metrics is not None
    assert "bgnbd_gg" not in result.predictions


def test_test_customers_future_cannot_leak_into_training(small_world: SyntheticWorld) -> None:
    """Inflating the test customers' future spend must not change any model's predictions."""
    transactions = transactions_of(small_world)
    chosen = settings(models=(ModelName.MLP, ModelName.LIGHTGBM, ModelName.BGNBD_GG))
    first = evaluate(transactions, chosen)
    test_ids = set(first.predictions.index)
    changed = transactions.copy()
    future_of_test = changed["customer_id"].isin(test_ids) & (
        changed["order_date"] > pd.Timestamp(CUTOFF) + pd.Timedelta(days=1)
    )
    changed.loc[future_of_test, "amount"] *= 1000
    second = evaluate(changed, chosen)
    for name in ("mlp", "lightgbm", "bgnbd_gg"):
        np.testing.assert_allclose(first.predictions[name], second.predictions[name])
    assert (second.predictions["actual"] >= first.predictions["actual"]).all()


def test_model_names_and_settings_are_validated() -> None:
    assert parse_model_names("mlp, lightgbm,mlp") == (ModelName.MLP, ModelName.LIGHTGBM)
    with pytest.raises(ConfigError, match=r"Unknown model\(s\) \['xgboost'\]"):
        parse_model_names("mlp,xgboost")
    with pytest.raises(ConfigError, match="split"):
        settings(split="random")
    with pytest.raises(ConfigError, match="repeats"):
        settings(repeats=0)
    with pytest.raises(ConfigError, match="horizon_days"):
        settings(horizon_days=0)
    with pytest.raises(ConfigError, match="at least one model"):
        settings(models=())


def test_impossible_windows_are_reported(small_world: SyntheticWorld) -> None:
    with pytest.raises(DataError, match="Evaluation labels need data up to"):
        evaluate(transactions_of(small_world), settings(cutoff=dt.date(2025, 6, 30)))


def seed_format_table() -> CustomerTable:
    """The bundled GB18030 per-customer table (用户ID, 注册时间, ..., 终身价值)."""
    sample_data = Path(__file__).resolve().parents[2] / "sample_data"
    loaded = load_table(sample_data / "customers_seed_zh.csv")
    return validate_customer_table(loaded.frame)


def test_per_customer_table_is_evaluated_with_a_customer_split() -> None:
    table = seed_format_table()
    # Four columns only: the network needs a few more epochs than the tiny test config gives.
    config = MlpConfig(hidden_layers=(16,), ensemble_size=1, max_epochs=40, patience=5)
    result = evaluate_customer_table(
        table, settings(models=tuple(ModelName), config=config, cutoff=dt.date(2024, 12, 31))
    )
    assert result.n_customers == len(table.features) == 1704
    assert result.n_train + result.n_test == result.n_customers
    for name in (ModelName.MLP, ModelName.LIGHTGBM):
        metrics = result.results[name].metrics
        assert metrics is not None and metrics["normalized_gini"] > 0.3
    for name in (ModelName.BGNBD_GG, ModelName.HISTORICAL):
        assert "needs a transaction log" in str(result.results[name].error)
    assert list(result.predictions.columns) == ["actual", "mlp", "lightgbm"]
    assert result.train_features is not None
    assert result.train_features.index.intersection(result.predictions.index).empty
    assert json.loads(json.dumps(result.to_dict()))["models"]["historical"]["error"]


def test_per_customer_table_has_no_time_split_and_needs_customers() -> None:
    table = seed_format_table()
    with pytest.raises(ConfigError, match="only the customer split"):
        evaluate_customer_table(table, settings(split="time"))
    small = CustomerTable(
        features=table.features.iloc[:20],
        target=table.target.iloc[:20],
        numeric_columns=table.numeric_columns,
        categorical_columns=table.categorical_columns,
        reference_date=table.reference_date,
        report=table.report,
        mapping=table.mapping,
    )
    with pytest.raises(DataError, match="at least 50 are needed"):
        evaluate_customer_table(small, settings())
