"""Per-customer tables end to end in the engine: train, bundle, score new customers, out of fold."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from clv_core.bundle import load_bundle
from clv_core.config import MlpConfig
from clv_core.errors import DataError
from clv_core.evaluation import EvaluationSettings, ModelName
from clv_core.kinds import InputShape
from clv_core.loading import LoadedTable, load_table
from clv_core.synthetic import SyntheticWorld, make_seed_table
from clv_core.usecases import (
    KNOWN_VALUE,
    PREDICTION_BASIS,
    CampaignRequest,
    EvaluationRequest,
    check_customer_table,
    check_new_customers,
    evaluate_models,
    save_evaluated_bundle,
    score_table_campaign,
    train_table_bundle,
)

# Five members for the five validation folds: every training customer is held out once.
CONFIG = MlpConfig(hidden_layers=(8,), ensemble_size=5, max_epochs=3, patience=2, seed=3)


@pytest.fixture(scope="module")
def seed_file(small_world: SyntheticWorld, tmp_path_factory: pytest.TempPathFactory) -> Path:
    table = make_seed_table(small_world, dt.date(2024, 12, 31), 365)
    path = tmp_path_factory.mktemp("seed") / "seed_table.csv"
    table.to_csv(path, index=False, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def loaded(seed_file: Path) -> LoadedTable:
    return load_table(seed_file)


@pytest.fixture(scope="module")
def bundle(loaded: LoadedTable, tmp_path_factory: pytest.TempPathFactory) -> Path:
    table = check_customer_table(loaded)
    trained = train_table_bundle(table, tmp_path_factory.mktemp("bundle") / "b", config=CONFIG)
    return Path(trained.folder)


def _new_customers(loaded: LoadedTable, rows: slice) -> LoadedTable:
    frame = loaded.frame.iloc[rows].drop(columns="终身价值").assign(备注="ignored")
    shuffled = frame.sample(frac=1.0, random_state=1)
    return LoadedTable(frame=shuffled, source_name="new.csv", **_same_facts(loaded))


def _same_facts(loaded: LoadedTable) -> dict[str, object]:
    return {
        name: getattr(loaded, name)
        for name in loaded.__dataclass_fields__
        if name not in ("frame", "source_name")
    }


def test_the_bundle_records_the_table_it_was_trained_on(bundle: Path) -> None:
    model, info = load_bundle(bundle)
    assert info.input_shape is InputShape.CUSTOMER_TABLE
    assert info.table is not None
    assert info.table.id_column == "用户ID" and info.table.target_column == "终身价值"
    assert info.table.required_columns == ("购买次数", "平均购买金额", "浏览时长", "注册时间")
    meta_input = info.meta["input"]
    assert meta_input["shape"] == "customer_table"
    assert {column["type"] for column in meta_input["columns"]} == {"number", "date"}
    assert info.training["n_train"] > 300 and 0 < info.training["target_zero_share"] < 1
    assert model.feature_columns_ is not None and "days_since_注册时间" in model.feature_columns_


def test_new_customers_are_scored_and_segmented_without_known_values(
    bundle: Path, loaded: LoadedTable
) -> None:
    model, info = load_bundle(bundle)
    new = check_new_customers(_new_customers(loaded, slice(0, 120)), info)
    assert new.ignored_columns == ("备注",)
    campaign = score_table_campaign(model, info, new, CampaignRequest(segments=True))
    listing = campaign.listing
    assert len(listing) == 120 and listing["customer_id"].is_unique
    assert KNOWN_VALUE not in listing and PREDICTION_BASIS not in listing
    assert listing["predicted_clv"].is_monotonic_decreasing
    assert listing["tier"].notna().all() and listing["churn_band"].notna().all()
    # The row order of the file does not change a customer's score.
    again = check_new_customers(_new_customers(loaded, slice(0, 120)), info)
    pd.testing.assert_frame_equal(
        score_table_campaign(model, info, again, CampaignRequest()).listing,
        campaign.scored.predictions,
    )


def test_the_training_table_is_predicted_out_of_fold_next_to_the_known_value(
    bundle: Path, loaded: LoadedTable
) -> None:
    model, info = load_bundle(bundle)
    table = check_new_customers(loaded, info)
    listing = score_table_campaign(model, info, table, CampaignRequest()).listing
    assert set(listing[PREDICTION_BASIS]) == {"out_of_fold"}
    known = listing.set_index("customer_id")[KNOWN_VALUE]
    truth = loaded.frame.set_index("用户ID")["终身价值"].astype(float)
    np.testing.assert_allclose(known.loc[truth.index].to_numpy(), truth.clip(lower=0).to_numpy())
    in_sample = model.predict(table.features)["predicted_clv"]
    out_of_fold = listing.set_index("customer_id")["predicted_clv"].loc[in_sample.index]
    assert not np.allclose(out_of_fold.to_numpy(), in_sample.to_numpy())
    assert np.isfinite(out_of_fold.to_numpy()).all()


def test_an_evaluated_network_predicts_its_training_side_out_of_fold(
    loaded: LoadedTable, tmp_path: Path
) -> None:
    table = check_customer_table(loaded)
    settings = EvaluationSettings(
        cutoff=dt.date(2024, 12, 31),
        horizon_days=365,
        models=(ModelName.MLP,),
        config=CONFIG,
    )
    result = evaluate_models(EvaluationRequest(settings, table=table))
    folder = save_evaluated_bundle(result, tmp_path / "evaluated", table=table)
    assert folder is not None
    model, info = load_bundle(folder)
    assert info.training["test_size"] == 0.2 and info.training["n_train"] == result.n_train
    listing = score_table_campaign(
        model, info, check_new_customers(loaded, info), CampaignRequest()
    ).listing
    counts = listing[PREDICTION_BASIS].value_counts()
    assert counts["out_of_fold"] == result.n_train and counts["held_out"] == result.n_test
    held_out = listing.set_index("customer_id").loc[result.test_features.index, "predicted_clv"]
    np.testing.assert_allclose(
        held_out.to_numpy(), model.predict(result.test_features)["predicted_clv"].to_numpy()
    )


def test_bands_need_zeros_in_the_target(bundle: Path, loaded: LoadedTable) -> None:
    model, info = load_bundle(bundle)
    never_zero = type(info)(
        cutoff=info.cutoff,
        horizon_days=info.horizon_days,
        feature_options=info.feature_options,
        training=info.training | {"target_zero_share": 0.0},
        meta=info.meta,
        table=info.table,
    )
    new = check_new_customers(_new_customers(loaded, slice(0, 60)), never_zero)
    campaign = score_table_campaign(model, never_zero, new, CampaignRequest(segments=True))
    assert "p_purchase" not in campaign.listing
    assert campaign.listing["churn_band"].isna().all() and campaign.listing["tier"].notna().all()


def test_a_log_bundle_refuses_a_table(tmp_path: Path, loaded: LoadedTable) -> None:
    from clv_core.bundle import BundleInfo
    from clv_core.features import FeatureOptions

    log_info = BundleInfo(dt.date(2024, 12, 31), 365, FeatureOptions(), {}, {})
    with pytest.raises(DataError, match="trained on a transaction log"):
        check_new_customers(loaded, log_info)


def test_unseen_categories_share_the_other_slot(loaded: LoadedTable, tmp_path: Path) -> None:
    channels = np.array(["app", "web", "小程序"])[np.arange(len(loaded.frame)) % 3]
    with_channel = loaded.frame.assign(渠道=channels)
    training = LoadedTable(frame=with_channel, source_name="t.csv", **_same_facts(loaded))
    trained = train_table_bundle(check_customer_table(training), tmp_path / "b", config=CONFIG)
    model, info = load_bundle(Path(trained.folder))
    assert info.table is not None and info.table.categorical_columns == ("渠道",)
    unseen = with_channel.head(30).drop(columns="终身价值").assign(渠道="抖音")
    new = check_new_customers(
        LoadedTable(frame=unseen, source_name="new.csv", **_same_facts(loaded)), info
    )
    listing = score_table_campaign(model, info, new, CampaignRequest(segments=True)).listing
    assert len(listing) == 30 and np.isfinite(listing["predicted_clv"]).all()


def test_rows_are_named_as_the_file_shows_them_under_a_title(
    loaded: LoadedTable, tmp_path: Path
) -> None:
    frame = loaded.frame.astype(str).copy()
    frame.loc[5, "用户ID"] = ""
    path = tmp_path / "table.xlsx"
    with pd.ExcelWriter(path) as writer:
        pd.DataFrame([["客户价值导出 2025-01-02"]]).to_excel(writer, index=False, header=False)
        frame.to_excel(writer, index=False, startrow=2)
    titled = load_table(path)
    assert titled.first_data_row == 4
    table = check_customer_table(titled)
    assert table.report.examples["missing_customer_id"] == ("row 9",)
