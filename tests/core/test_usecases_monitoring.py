"""Monitoring and retraining a bundle (clv_core.usecases.monitoring) on CDNOW and on generated
shops with and without a change of behaviour after the bundle's as-of date."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from clv_core.bundle import BundleInfo, load_bundle, save_bundle
from clv_core.config import MlpConfig
from clv_core.errors import DataError
from clv_core.features import build_features
from clv_core.loading import load_table
from clv_core.metrics import compute_metrics
from clv_core.mlp import ClvMlp
from clv_core.scoring import train_for_deployment
from clv_core.synthetic import SyntheticConfig, change_behaviour, generate_world
from clv_core.usecases.monitoring import (
    RetrainRequest,
    monitor_bundle,
    retrain_bundle,
    write_monitor_report,
)
from clv_core.validation import CustomerAttributes, validate_customers, validate_transactions
from clv_core.value import TIMING_INPUTS, elapsed_share
from tests.corpus.public import CDNOW_PATH as CDNOW

pytestmark = pytest.mark.slow

TINY = MlpConfig(hidden_layers=(16,), ensemble_size=2, max_epochs=20, seed=0)
AS_OF = dt.date(1997, 6, 30)


def _bundle(
    transactions: pd.DataFrame,
    folder: Path,
    as_of: dt.date,
    horizon: int,
    config: MlpConfig,
    customers: CustomerAttributes | None = None,
) -> tuple[ClvMlp, BundleInfo]:
    """A deployment bundle trained on what was known at ``as_of``, loaded back."""
    known = transactions[transactions["order_date"] < pd.Timestamp(as_of) + pd.Timedelta(days=1)]
    deployment = train_for_deployment(
        known, horizon, as_of=as_of, customers=customers, config=config
    )
    save_bundle(
        deployment.model,
        folder,
        cutoff=deployment.as_of,
        horizon_days=horizon,
        feature_options=deployment.feature_options,
        training=deployment.training,
    )
    return load_bundle(folder)


@pytest.fixture(scope="module")
def cdnow() -> pd.DataFrame:
    return validate_transactions(load_table(CDNOW).frame).frame


@pytest.fixture(scope="module")
def cdnow_bundle(
    cdnow: pd.DataFrame, tmp_path_factory: pytest.TempPathFactory
) -> tuple[ClvMlp, BundleInfo]:
    return _bundle(cdnow, tmp_path_factory.mktemp("cdnow") / "bundle", AS_OF, 90, TINY)


def test_realised_metrics_equal_the_definitions_by_hand_on_cdnow(
    cdnow: pd.DataFrame, cdnow_bundle: tuple[ClvMlp, BundleInfo], tmp_path: Path
) -> None:
    model, info = cdnow_bundle
    report = monitor_bundle(model, info, cdnow, None, source="cdnow")
    data = report.data
    # By hand: every customer with an order by 1997-06-30, their net spend in the 90 days after.
    raw = pd.read_csv(CDNOW, sep=r"\s+", dtype={"customer_id": str, "date": str})
    raw["day"] = pd.to_datetime(raw["date"], format="%Y%m%d")
    known = sorted(raw.loc[raw["day"] <= "1997-06-30", "customer_id"].unique())
    window = raw[(raw["day"] > "1997-06-30") & (raw["day"] <= "1997-09-28")]
    actual = window.groupby("customer_id")["dollar_value"].sum().reindex(known).fillna(0.0)
    features = build_features(cdnow, AS_OF, options=info.feature_options).loc[known]
    predicted = model.predict(features)["predicted_clv"].to_numpy()
    expected = compute_metrics(actual.clip(lower=0).to_numpy(), predicted)
    assert data["customers"] == len(known) == 23_570
    for name, value in expected.items():
        assert data["network"][name] == pytest.approx(value, abs=1e-6), name
    assert data["window"] == {
        "start": "1997-07-01",
        "end": "1997-09-28",
        "days": 90,
        "complete": True,
        "prorated_by": None,
    }
    assert data["network"]["realised_total"] == pytest.approx(actual.clip(lower=0).sum(), abs=0.01)
    # Baselines refitted at the as-of date, on the same customers.
    assert set(data["baselines"]) == {"bgnbd_gg", "lightgbm", "historical"}
    assert all("normalized_gini" in values for values in data["baselines"].values())
    # Tiers and bands: predicted against realised, every customer counted once.
    assert sum(row["customers"] for row in data["tiers"]) == 23_570
    assert sum(row["realised_revenue"] for row in data["tiers"]) == pytest.approx(
        actual.clip(lower=0).sum(), abs=1.0
    )
    assert 0 <= data["coverage"]["achieved"] <= 1 and data["coverage"]["promised"] == 0.8
    # The drift table covers every input of the network (the BG/NBD inputs it computes too),
    # with a finding per moved feature.
    features_seen = {row["feature"] for row in data["drift"]["features"]}
    assert features_seen == {*(model.feature_columns_ or []), *TIMING_INPUTS}
    assert data["drift"]["reference_date"] == "1997-04-01"
    assert data["drift"]["current_date"] == "1998-06-30"
    assert isinstance(data["retrain_recommended"], bool)
    assert data["retrain_recommended"] == bool(data["reasons"])
    # The report files: the JSON is the document itself.
    write_monitor_report(report, tmp_path / "report.json")
    assert json.loads((tmp_path / "report.json").read_text(encoding="utf-8")) == json.loads(
        json.dumps(data)
    )
    write_monitor_report(report, tmp_path / "report.html")
    assert "CLV monitoring report" in (tmp_path / "report.html").read_text(encoding="utf-8")
    write_monitor_report(report, tmp_path / "report.xlsx")
    sheets = pd.read_excel(tmp_path / "report.xlsx", sheet_name=None)
    assert list(sheets) == ["summary", "metrics", "tiers", "churn_bands", "drift", "customers"]
    assert len(sheets["customers"]) == 23_570


def test_champion_and_challenger_on_cdnow(
    cdnow: pd.DataFrame, cdnow_bundle: tuple[ClvMlp, BundleInfo], tmp_path: Path
) -> None:
    model, info = cdnow_bundle
    result = retrain_bundle(
        model, info, cdnow, None, RetrainRequest(promote="never"), tmp_path / "new", source="x"
    )
    comparison = result.comparison
    assert not result.promoted and result.folder is None
    assert comparison["evaluation_cutoff"] == "1998-04-01"
    assert comparison["outcome_window"] == ["1998-04-02", "1998-06-30"]
    assert comparison["challenger_training_cutoff"] == "1998-01-01"
    assert comparison["held_out_customers"] == pytest.approx(0.2 * 23_570, abs=1)
    assert comparison["champion_saw_outcome"] is False
    for role in ("champion", "challenger"):
        assert set(comparison[role]) >= {"normalized_gini", "spearman", "decile_mape"}
    assert len(comparison["verdicts"]) == 4


def test_a_log_that_ends_early_is_compared_on_the_elapsed_days(
    cdnow: pd.DataFrame, cdnow_bundle: tuple[ClvMlp, BundleInfo]
) -> None:
    model, info = cdnow_bundle
    short = cdnow[cdnow["order_date"] < "1997-08-01"]
    data = monitor_bundle(model, info, short, None, source="cdnow").data
    assert data["window"]["days"] == 31 and not data["window"]["complete"]
    assert data["window"]["prorated_by"] == "bgnbd"
    assert "pro-rated by the customer's BG/NBD timing" in data["notes"][0]
    features = build_features(short, AS_OF, options=info.feature_options)
    share = elapsed_share(model.timing_, features, 31, 90)
    full = model.predict(features)["predicted_clv"].to_numpy()
    assert data["network"]["predicted_total"] == pytest.approx((full * share).sum(), abs=0.05)
    assert 0.2 < share.mean() < 0.5


def test_bad_inputs_are_clear_errors(
    cdnow: pd.DataFrame, cdnow_bundle: tuple[ClvMlp, BundleInfo], tmp_path: Path
) -> None:
    model, info = cdnow_bundle
    with pytest.raises(DataError, match=r"ends on 1997-06-30, on or before the bundle's as-of"):
        monitor_bundle(model, info, cdnow[cdnow["order_date"] < "1997-07-01"], None, source="x")
    with pytest.raises(DataError, match="starts on 1997-07-01, after the bundle's as-of"):
        monitor_bundle(model, info, cdnow[cdnow["order_date"] >= "1997-07-01"], None, source="x")
    with pytest.raises(DataError, match="two horizons"):
        retrain_bundle(
            model,
            info,
            cdnow[cdnow["order_date"] < "1997-05-01"],
            None,
            RetrainRequest(),
            tmp_path / "new",
            source="x",
        )


# -- a generated shop, with and without a change of behaviour --------------------------------

SHOP_AS_OF = dt.date(2024, 12, 31)


@pytest.fixture(scope="module")
def shop(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[object, CustomerAttributes, ClvMlp, BundleInfo]:
    """5,000 customers without seasonality; a default network deployed on 2024-12-31 with a
    180-day horizon, trained on the customers' attributes too.

    The world must be calm for the default network: on seed 3 its decile MAPE over the next
    180 days is 0.40 (0.18 without the BG/NBD inputs), on seed 5 0.19 (0.21), which the
    "money per decile is off" rule (above 0.25) would rightly report."""
    world = generate_world(SyntheticConfig(n_customers=5000, seed=5, seasonality_strength=0.0))
    customers = validate_customers(world.customers)
    transactions = validate_transactions(world.transactions).frame
    model, info = _bundle(
        transactions,
        tmp_path_factory.mktemp("shop") / "bundle",
        SHOP_AS_OF,
        180,
        MlpConfig(seed=0),
        customers,
    )
    return world, customers, model, info


def test_a_change_of_behaviour_is_noticed_and_the_challenger_wins(
    shop: tuple[object, CustomerAttributes, ClvMlp, BundleInfo], tmp_path: Path
) -> None:
    world, customers, model, info = shop
    steady = validate_transactions(world.transactions).frame  # type: ignore[attr-defined]
    # After the as-of date the customers who came through organic search or social media (55%
    # of them) stop buying. (With the organic ones alone the challenger's Gini was only 0.0046
    # to 0.0060 above the champion's on this world, depending on the network's settings: level
    # under the rule's 0.005, or a win by a hair.)
    stopped = {"organic": 0.0, "social": 0.0}
    changed = validate_transactions(
        change_behaviour(world, SHOP_AS_OF, stopped)  # type: ignore[arg-type]
    ).frame

    calm = monitor_bundle(model, info, steady, customers, source="bundle").data
    assert calm["retrain_recommended"] is False, calm["reasons"]
    assert calm["network"]["decile_mape"] <= 0.25
    alarm = monitor_bundle(model, info, changed, customers, source="bundle").data
    assert alarm["retrain_recommended"] is True
    assert any("The total is off" in reason for reason in alarm["reasons"])
    assert alarm["network"]["total_ratio"] > 1.25

    result = retrain_bundle(
        model, info, changed, customers, RetrainRequest(), tmp_path / "new", source="bundle"
    )
    comparison = result.comparison
    assert comparison["challenger_better"] is True, comparison
    assert result.promoted and result.folder is not None
    assert comparison["challenger"]["normalized_gini"] > comparison["champion"]["normalized_gini"]
    assert comparison["evaluation_cutoff"] == "2025-07-04"
    assert comparison["champion_saw_outcome"] is False
    new_model, new_info = load_bundle(result.folder)
    lineage = new_info.meta["lineage"]
    assert lineage["parent"]["as_of"] == "2024-12-31" and lineage["generation"] == 2
    assert lineage["comparison"] == json.loads(json.dumps(comparison))
    assert lineage["data_range"] == {"first_day": "2023-01-01", "last_day": "2025-12-31"}
    assert new_info.cutoff == dt.date(2025, 12, 31)
    assert new_model.config == model.config

    kept = retrain_bundle(
        model,
        info,
        changed,
        customers,
        RetrainRequest(promote="never"),
        tmp_path / "never",
        source="bundle",
    )
    assert not kept.promoted and not (tmp_path / "never").exists()
    assert kept.comparison == comparison, "the same comparison, seeded"
    assert np.isfinite(kept.comparison["challenger"]["total_ratio"])
