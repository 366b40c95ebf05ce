"""Model bundles: exactly three files, no pickle, faithful round trips, every bad bundle refused."""

from __future__ import annotations

import datetime as dt
import io
import json
import re
import shutil
import zipfile
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from clv_core.bundle import BUNDLE_FILES, load_bundle, save_bundle, zip_bundle
from clv_core.errors import DataError, NotFittedError
from clv_core.features import LABEL_COLUMN, FeatureOptions
from clv_core.mlp import ClvMlp, import_keras
from clv_core.scoring import score_customers
from clv_core.synthetic import SyntheticWorld
from tests.conftest import TINY_CONFIG

CUTOFF = dt.date(2024, 12, 31)
HORIZON_DAYS = 365
OPTIONS = FeatureOptions(window_days=(30, 90, 180, 365), trend_window_days=90)
# Columns that only exist when the customer-attributes table is joined.
ATTRIBUTE_FEATURES = (
    "days_since_signup",
    "days_from_signup_to_first_purchase",
    "channel",
    "region",
    "device",
    "age_group",
    "membership",
    "browsing_minutes",
)


def features_of(table: pd.DataFrame) -> pd.DataFrame:
    return table.drop(columns=LABEL_COLUMN)


def write_bundle(model: ClvMlp, folder: Path) -> Path:
    return save_bundle(
        model,
        folder,
        cutoff=CUTOFF,
        horizon_days=HORIZON_DAYS,
        feature_options=OPTIONS,
        training={"n_customers": 319, "note": "tiny"},
    )


@pytest.fixture(scope="module")
def tiny_bundle(tiny_model: ClvMlp, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The session's tiny ZILN model saved once; tests copy it before changing anything."""
    return write_bundle(tiny_model, tmp_path_factory.mktemp("bundle") / "tiny")


@pytest.fixture(scope="module")
def log_mse_model(small_training_table: pd.DataFrame) -> ClvMlp:
    """A tiny one-member log-MSE network: a bundle with one output per member."""
    config = replace(TINY_CONFIG, loss="log_mse", ensemble_size=1)
    table = small_training_table
    return ClvMlp(config).fit(features_of(table), table[LABEL_COLUMN])


@pytest.fixture(scope="module")
def log_mse_bundle(log_mse_model: ClvMlp, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_bundle(log_mse_model, tmp_path_factory.mktemp("bundle") / "log_mse")


def copy_of(bundle: Path, tmp_path: Path) -> Path:
    target = tmp_path / "copy"
    shutil.copytree(bundle, target)
    return target


def read_meta(folder: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
    return data


def write_meta(folder: Path, meta: dict[str, Any]) -> None:
    (folder / "meta.json").write_text(json.dumps(meta), encoding="utf-8")


def rewrite_keras_archive(folder: Path, change: Callable[[str, bytes], bytes | None]) -> None:
    """Rewrite model.keras member by member (``change`` returns None to leave one out)."""
    original = (folder / "model.keras").read_bytes()
    with (
        zipfile.ZipFile(io.BytesIO(original)) as source,
        zipfile.ZipFile(folder / "model.keras", "w") as target,
    ):
        for name in source.namelist():
            data = change(name, source.read(name))
            if data is not None:
                target.writestr(name, data)


def zip_of(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def bundle_files(folder: Path) -> dict[str, bytes]:
    return {name: (folder / name).read_bytes() for name in BUNDLE_FILES}


# ------------------------------------------------------------------------------------------
# Saving
# ------------------------------------------------------------------------------------------


def test_save_writes_exactly_the_three_files(tiny_bundle: Path) -> None:
    assert sorted(path.name for path in tiny_bundle.iterdir()) == sorted(BUNDLE_FILES)
    assert set(BUNDLE_FILES) == {"model.keras", "preprocess.json", "meta.json"}
    # model.keras is a Keras 3 archive: a zip with the config and the weights, no pickle.
    with zipfile.ZipFile(tiny_bundle / "model.keras") as archive:
        assert set(archive.namelist()) == {"config.json", "metadata.json", "model.weights.h5"}


def test_meta_describes_the_model(tiny_bundle: Path, tiny_model: ClvMlp) -> None:
    meta = read_meta(tiny_bundle)
    assert meta["format"] == "clv-bundle-1"
    assert meta["feature_columns"] == tiny_model.feature_columns_
    assert meta["feature_columns"][:4] == ["frequency", "recency", "T", "monetary_value"]
    assert meta["feature_columns"][-len(ATTRIBUTE_FEATURES) :] == [
        "days_since_signup",
        "days_from_signup_to_first_purchase",
        "channel",
        "region",
        "device",
        "age_group",
        "membership",
        "browsing_minutes",
    ]
    assert meta["config"] == TINY_CONFIG.to_dict()
    assert meta["cutoff"] == "2024-12-31"
    assert meta["horizon_days"] == HORIZON_DAYS
    assert meta["feature_options"] == {"window_days": [30, 90, 180, 365], "trend_window_days": 90}
    assert meta["target_scale"] == pytest.approx(tiny_model.target_scale_)
    assert tiny_model.calibrator_ is not None
    assert meta["calibration"] == tiny_model.calibrator_.to_dict()
    assert meta["training"] == {"n_customers": 319, "note": "tiny"}
    assert {"clv_core", "keras", "numpy", "pandas"} <= set(meta["versions"])
    assert dt.datetime.fromisoformat(meta["created_at"]).tzinfo is not None
    preprocess = json.loads((tiny_bundle / "preprocess.json").read_text(encoding="utf-8"))
    assert preprocess["format"] == "clv-preprocess-1"
    assert tiny_model.preprocessor_ is not None
    assert preprocess == tiny_model.preprocessor_.to_dict()


def test_save_replaces_an_existing_bundle(
    tiny_bundle: Path, log_mse_model: ClvMlp, tmp_path: Path
) -> None:
    folder = copy_of(tiny_bundle, tmp_path)
    write_bundle(log_mse_model, folder)
    assert sorted(path.name for path in folder.iterdir()) == sorted(BUNDLE_FILES)
    assert read_meta(folder)["config"]["loss"] == "log_mse"


@pytest.mark.parametrize("term", ["tweedie_weight", "rank_weight"])
def test_a_bundle_from_before_a_loss_term_says_it_was_trained_without_it(
    tiny_bundle: Path, tmp_path: Path, term: str
) -> None:
    folder = copy_of(tiny_bundle, tmp_path)
    meta = read_meta(folder)
    if term == "tweedie_weight":
        meta["config"][term] = 2.0
        write_meta(folder, meta)
        assert getattr(load_bundle(folder)[0].config, term) == 2.0
    del meta["config"][term]
    write_meta(folder, meta)
    loaded, _ = load_bundle(folder)
    assert getattr(loaded.config, term) == 0.0
    assert loaded.config == replace(TINY_CONFIG, **{term: 0.0})


def test_a_bundle_from_before_the_bgnbd_inputs_was_trained_without_them(
    tiny_bundle: Path, tmp_path: Path, small_training_table: pd.DataFrame
) -> None:
    folder = copy_of(tiny_bundle, tmp_path)
    trained, _ = load_bundle(folder)
    assert trained.config.btyd_inputs
    assert trained.preprocessor_ is not None and trained.preprocessor_.derived_
    meta = read_meta(folder)
    del meta["config"]["btyd_inputs"]
    write_meta(folder, meta)
    loaded, _ = load_bundle(folder)
    assert loaded.config == replace(TINY_CONFIG, btyd_inputs=False)
    # What the network reads is the stored preprocessing's: the predictions do not change.
    features = features_of(small_training_table)
    pd.testing.assert_frame_equal(loaded.predict(features), trained.predict(features))


def test_a_bundle_from_before_the_moment_ordering_orders_by_the_expected_value(
    tiny_bundle: Path, tmp_path: Path, small_training_table: pd.DataFrame
) -> None:
    folder = copy_of(tiny_bundle, tmp_path)
    meta = read_meta(folder)
    assert meta["config"]["ranking_moment"] == TINY_CONFIG.ranking_moment
    meta["config"]["ranking_moment"] = 1.0
    write_meta(folder, meta)
    by_expected_value, _ = load_bundle(folder)
    del meta["config"]["ranking_moment"]
    write_meta(folder, meta)
    loaded, _ = load_bundle(folder)
    assert loaded.config == replace(TINY_CONFIG, ranking_moment=1.0)
    features = features_of(small_training_table)
    pd.testing.assert_frame_equal(loaded.predict(features), by_expected_value.predict(features))


@pytest.fixture(scope="module")
def rank_model(small_training_table: pd.DataFrame) -> ClvMlp:
    """A tiny ZILN ensemble with a ranking term: four outputs per member and rank maps."""
    config = replace(TINY_CONFIG, rank_weight=1.0)
    table = small_training_table
    return ClvMlp(config).fit(features_of(table), table[LABEL_COLUMN])


def test_a_bundle_with_rank_maps_round_trips(
    rank_model: ClvMlp, small_training_table: pd.DataFrame, tmp_path: Path
) -> None:
    folder = write_bundle(rank_model, tmp_path / "rank")
    assert len(read_meta(folder)["rank_maps"]) == TINY_CONFIG.ensemble_size
    loaded, _ = load_bundle(folder)
    features = features_of(small_training_table)
    np.testing.assert_allclose(
        loaded.predict(features).to_numpy(), rank_model.predict(features).to_numpy(), rtol=1e-9
    )
    assert loaded.rank_maps_ is not None and rank_model.rank_maps_ is not None
    for (x, y), (x0, y0) in zip(loaded.rank_maps_, rank_model.rank_maps_, strict=True):
        np.testing.assert_array_equal(x, x0)
        np.testing.assert_array_equal(y, y0)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda maps: None, r"earlier form of the ranking term .* Train the model again"),
        (lambda maps: maps[:1], r"1 rank maps for 2 members"),
        (lambda maps: [[m[0][::-1], m[1]] for m in maps], r"damaged.*rank_maps"),
        (lambda maps: [[m[0], m[1][:-1]] for m in maps], r"damaged.*rank_maps"),
        (lambda maps: "knots", r"damaged"),
    ],
    ids=["missing", "one-member-short", "falling-knots", "uneven", "not-a-list"],
)
def test_rank_maps_that_do_not_fit_the_network_are_refused(
    rank_model: ClvMlp, tmp_path: Path, change: Callable[[Any], Any], message: str
) -> None:
    folder = write_bundle(rank_model, tmp_path / "rank")
    meta = read_meta(folder)
    meta["rank_maps"] = change(meta["rank_maps"])
    write_meta(folder, meta)
    with pytest.raises(DataError, match=message):
        load_bundle(folder)


def test_an_untrained_model_cannot_be_saved(tmp_path: Path) -> None:
    with pytest.raises(NotFittedError, match=r"Only a trained model can be saved"):
        write_bundle(ClvMlp(TINY_CONFIG), tmp_path / "bundle")
    assert not (tmp_path / "bundle").exists()


def test_saving_onto_a_file_is_a_data_error(tiny_model: ClvMlp, tmp_path: Path) -> None:
    blocker = tmp_path / "taken"
    blocker.write_text("not a folder", encoding="utf-8")
    with pytest.raises(DataError, match=r"Could not write the bundle"):
        write_bundle(tiny_model, blocker)


def test_zip_bundle_holds_the_three_files_at_the_top(tiny_bundle: Path) -> None:
    with zipfile.ZipFile(io.BytesIO(zip_bundle(tiny_bundle))) as archive:
        assert sorted(archive.namelist()) == sorted(BUNDLE_FILES)
        for name in BUNDLE_FILES:
            assert archive.read(name) == (tiny_bundle / name).read_bytes()


# ------------------------------------------------------------------------------------------
# Loading: round trips
# ------------------------------------------------------------------------------------------


def load_from(kind: str, folder: Path, tmp_path: Path) -> tuple[ClvMlp, Any]:
    if kind == "folder":
        return load_bundle(folder)
    if kind == "zip file":
        path = tmp_path / "bundle.zip"
        path.write_bytes(zip_bundle(folder))
        return load_bundle(path)
    return load_bundle(zip_bundle(folder))


@pytest.mark.parametrize("kind", ["folder", "zip file", "zip bytes"])
def test_ziln_bundle_round_trip_gives_identical_predictions(
    kind: str,
    tiny_bundle: Path,
    tiny_model: ClvMlp,
    small_training_table: pd.DataFrame,
    tmp_path: Path,
) -> None:
    features = features_of(small_training_table)
    loaded, info = load_from(kind, tiny_bundle, tmp_path)
    expected = tiny_model.predict(features)
    actual = loaded.predict(features)
    assert list(actual.columns) == ["predicted_clv", "p_purchase", "clv_lower", "clv_upper"]
    np.testing.assert_allclose(actual.to_numpy(), expected.to_numpy(), rtol=1e-6)
    assert loaded.config == TINY_CONFIG
    assert loaded.feature_columns_ == tiny_model.feature_columns_
    assert (info.cutoff, info.horizon_days, info.feature_options) == (CUTOFF, 365, OPTIONS)


@pytest.mark.parametrize("kind", ["folder", "zip file", "zip bytes"])
def test_log_mse_bundle_round_trip_gives_identical_predictions(
    kind: str,
    log_mse_bundle: Path,
    log_mse_model: ClvMlp,
    small_training_table: pd.DataFrame,
    tmp_path: Path,
) -> None:
    features = features_of(small_training_table)
    loaded, info = load_from(kind, log_mse_bundle, tmp_path)
    expected = log_mse_model.predict(features)
    actual = loaded.predict(features)
    assert list(actual.columns) == ["predicted_clv"]
    np.testing.assert_allclose(actual.to_numpy(), expected.to_numpy(), rtol=1e-6)
    assert loaded.config == log_mse_model.config
    assert loaded.feature_columns_ == log_mse_model.feature_columns_
    assert loaded.target_scale_ == pytest.approx(log_mse_model.target_scale_)
    assert info.cutoff == CUTOFF
    assert info.horizon_days == HORIZON_DAYS
    assert info.feature_options == OPTIONS
    assert info.training == {"n_customers": 319, "note": "tiny"}
    assert info.meta["format"] == "clv-bundle-1"


def test_the_zip_file_may_have_any_name(log_mse_bundle: Path, tmp_path: Path) -> None:
    path = tmp_path / "model export (final).ZIP"
    path.write_bytes(zip_bundle(log_mse_bundle))
    loaded, _ = load_bundle(path)
    assert loaded.network_ is not None


# ------------------------------------------------------------------------------------------
# Loading: refused bundles
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("extra", ["model.pkl", "preprocess.joblib", "notes.txt"])
def test_an_extra_file_in_the_folder_is_refused(
    extra: str, tiny_bundle: Path, tmp_path: Path
) -> None:
    folder = copy_of(tiny_bundle, tmp_path)
    (folder / extra).write_bytes(b"\x80\x04K\x01.")
    with pytest.raises(DataError, match=rf"unexpected file\(s\) \['{re.escape(extra)}'\]"):
        load_bundle(folder)


def test_a_pickle_is_called_out_as_unsafe(tiny_bundle: Path, tmp_path: Path) -> None:
    folder = copy_of(tiny_bundle, tmp_path)
    (folder / "model.pkl").write_bytes(b"\x80\x04K\x01.")
    with pytest.raises(DataError, match=r"pickled data, which can run arbitrary code"):
        load_bundle(folder)


@pytest.mark.parametrize("extra", ["model.pkl", "readme.md"])
def test_an_extra_file_in_the_zip_is_refused(extra: str, tiny_bundle: Path) -> None:
    files = bundle_files(tiny_bundle) | {extra: b"\x80\x04K\x01."}
    with pytest.raises(DataError, match=rf"unexpected file\(s\) \['{re.escape(extra)}'\]"):
        load_bundle(zip_of(files))


def test_a_file_outside_the_top_level_of_the_zip_is_refused(tiny_bundle: Path) -> None:
    files = bundle_files(tiny_bundle) | {"../model.pkl": b"x"}
    with pytest.raises(DataError, match=r"unexpected file\(s\) \['model.pkl'\]"):
        load_bundle(zip_of(files))


@pytest.mark.parametrize("prefix", ["my_bundle/", "nested/deeper/"])
def test_a_zipped_bundle_folder_is_refused(prefix: str, tiny_bundle: Path) -> None:
    files = {prefix + name: data for name, data in bundle_files(tiny_bundle).items()}
    with pytest.raises(DataError, match=rf"'{re.escape(prefix)}model.keras' inside a folder"):
        load_bundle(zip_of(files))


def test_a_second_copy_in_a_sub_folder_of_the_zip_is_refused(tiny_bundle: Path) -> None:
    files = bundle_files(tiny_bundle) | {"hidden/meta.json": b"{}"}
    with pytest.raises(DataError, match=r"'hidden/meta.json' inside a folder"):
        load_bundle(zip_of(files))


@pytest.mark.parametrize("missing", BUNDLE_FILES)
def test_a_missing_file_is_named(missing: str, tiny_bundle: Path, tmp_path: Path) -> None:
    folder = copy_of(tiny_bundle, tmp_path)
    (folder / missing).unlink()
    with pytest.raises(DataError, match=rf"incomplete: \['{re.escape(missing)}'\] missing"):
        load_bundle(folder)
    files = bundle_files(tiny_bundle)
    del files[missing]
    with pytest.raises(DataError, match=rf"incomplete: \['{re.escape(missing)}'\] missing"):
        load_bundle(zip_of(files))


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"{not json", r"meta.json in .* is damaged"),
        (b"\xff\xfe{}", r"meta.json in .* is damaged"),
        (b"[1, 2]", r"meta.json in .* is not a JSON object"),
        (b'{"format": "clv-bundle-0"}', r"meta.json format is 'clv-bundle-0', expected"),
        (b"{}", r"meta.json format is None, expected 'clv-bundle-1'"),
    ],
)
def test_a_damaged_meta_json_is_refused(
    content: bytes, message: str, tiny_bundle: Path, tmp_path: Path
) -> None:
    folder = copy_of(tiny_bundle, tmp_path)
    (folder / "meta.json").write_bytes(content)
    with pytest.raises(DataError, match=message):
        load_bundle(folder)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda meta: meta.pop("cutoff"), r"meta.json in .* is damaged: KeyError\('cutoff'\)"),
        (lambda meta: meta.update(cutoff="31/12/2024"), r"is damaged: .*Invalid isoformat"),
        (lambda meta: meta.update(target_scale=None), r"meta.json in .* is damaged: TypeError"),
        (lambda meta: meta.update(feature_columns=5), r"meta.json in .* is damaged: TypeError"),
        (lambda meta: meta.update(feature_options="30,90"), r"is damaged: TypeError"),
        (lambda meta: meta.update(calibration={"kind": "power"}), "calibration .* is damaged"),
    ],
)
def test_meta_json_with_broken_fields_is_refused(
    change: Callable[[dict[str, Any]], object], message: str, log_mse_bundle: Path, tmp_path: Path
) -> None:
    folder = copy_of(log_mse_bundle, tmp_path)
    meta = read_meta(folder)
    change(meta)
    write_meta(folder, meta)
    with pytest.raises(DataError, match=message):
        load_bundle(folder)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"{not json", "preprocess.json in the bundle is damaged"),
        (b"[]", "preprocess.json in the bundle is not a JSON object"),
        (b'{"format": "sklearn"}', "not a CLV preprocessing file"),
    ],
)
def test_a_damaged_preprocess_json_is_refused(
    content: bytes, message: str, log_mse_bundle: Path, tmp_path: Path
) -> None:
    folder = copy_of(log_mse_bundle, tmp_path)
    (folder / "preprocess.json").write_bytes(content)
    with pytest.raises(DataError, match=message):
        load_bundle(folder)


def legacy_h5_bytes(tmp_path: Path) -> bytes:
    keras = import_keras()
    inputs = keras.Input(shape=(3,))
    network = keras.Model(inputs, keras.layers.Dense(2)(inputs))
    path = tmp_path / "legacy.h5"
    network.save(path)
    return path.read_bytes()


@pytest.mark.parametrize("kind", ["legacy h5", "random bytes", "empty"])
def test_a_model_keras_that_is_not_a_keras_archive_is_refused(
    kind: str, tiny_bundle: Path, tmp_path: Path
) -> None:
    content = {
        "legacy h5": legacy_h5_bytes,
        "random bytes": lambda _: np.random.default_rng(7).bytes(4096),
        "empty": lambda _: b"",
    }[kind](tmp_path)
    folder = copy_of(tiny_bundle, tmp_path)
    (folder / "model.keras").write_bytes(content)
    with pytest.raises(DataError, match=r"model.keras in the bundle is not a Keras 3 archive"):
        load_bundle(folder)


@pytest.mark.parametrize("extra", ["assets/model.pkl", "extra.npy", "payload.py"])
def test_a_model_keras_with_an_extra_member_is_refused(
    extra: str, tiny_bundle: Path, tmp_path: Path
) -> None:
    folder = copy_of(tiny_bundle, tmp_path)
    with zipfile.ZipFile(folder / "model.keras", "a") as archive:
        archive.writestr(extra, b"\x80\x04K\x01.")
    with pytest.raises(DataError, match=rf"model.keras contains unexpected file\(s\).*{extra}"):
        load_bundle(folder)


def test_a_lambda_layer_is_refused(tiny_bundle: Path, tmp_path: Path) -> None:
    keras = import_keras()
    inputs = keras.Input(shape=(60,))
    outputs = keras.layers.Lambda(lambda x: x * 2)(inputs)
    folder = copy_of(tiny_bundle, tmp_path)
    (folder / "model.keras").unlink()
    keras.Model(inputs, outputs).save(folder / "model.keras")
    with zipfile.ZipFile(folder / "model.keras") as archive:
        # The archive itself looks normal: only safe_mode can tell.
        assert set(archive.namelist()) <= {"config.json", "metadata.json", "model.weights.h5"}
    with pytest.raises(DataError, match=r"Refused: the model in this bundle contains a Lambda"):
        load_bundle(folder)
    with pytest.raises(DataError, match=r"contains a Lambda layer"):
        load_bundle(zip_bundle(folder))


def test_a_network_config_keras_cannot_read_is_refused(
    log_mse_bundle: Path, tmp_path: Path
) -> None:
    folder = copy_of(log_mse_bundle, tmp_path)
    rewrite_keras_archive(folder, lambda name, data: b"{}" if name == "config.json" else data)
    with pytest.raises(DataError, match=r"The model in .* cannot be loaded"):
        load_bundle(folder)


def test_missing_weights_are_refused(log_mse_bundle: Path, tmp_path: Path) -> None:
    folder = copy_of(log_mse_bundle, tmp_path)
    rewrite_keras_archive(folder, lambda name, data: None if name == "model.weights.h5" else data)
    with pytest.raises(DataError, match=r"model.keras in the bundle is incomplete.*weights"):
        load_bundle(folder)


def test_damaged_weights_are_a_data_error(log_mse_bundle: Path, tmp_path: Path) -> None:
    folder = copy_of(log_mse_bundle, tmp_path)
    rewrite_keras_archive(
        folder, lambda name, data: b"garbage" if name == "model.weights.h5" else data
    )
    with pytest.raises(DataError, match=r"model"):
        load_bundle(folder)


def test_a_network_with_the_wrong_number_of_outputs_is_refused(
    tiny_bundle: Path, tiny_model: ClvMlp, tmp_path: Path
) -> None:
    # meta.json says 2 ZILN members (6 outputs); this network has 4.
    keras = import_keras()
    n_inputs = tiny_model.network_.input_shape[1]
    inputs = keras.Input(shape=(n_inputs,), name="features")
    network = keras.Model(inputs, keras.layers.Dense(4, name="wrong")(inputs))
    folder = copy_of(tiny_bundle, tmp_path)
    (folder / "model.keras").unlink()
    network.save(folder / "model.keras")
    with pytest.raises(DataError, match=r"does not match .*\(\(4,\) outputs, expected 6\)"):
        load_bundle(folder)


@pytest.mark.parametrize(
    ("config_change", "expected_outputs"),
    [({"ensemble_size": 3}, 3), ({"loss": "ziln"}, 3)],
)
def test_meta_json_ensemble_that_does_not_match_the_network_is_refused(
    config_change: dict[str, Any], expected_outputs: int, log_mse_bundle: Path, tmp_path: Path
) -> None:
    folder = copy_of(log_mse_bundle, tmp_path)
    meta = read_meta(folder)
    meta["config"].update(config_change)
    write_meta(folder, meta)
    with pytest.raises(DataError, match=rf"\(1,\) outputs, expected {expected_outputs}\)"):
        load_bundle(folder)


@pytest.mark.parametrize("calibration", [["power", 1.0], "power", 3.5])
def test_a_calibration_that_is_not_an_object_is_a_data_error(
    calibration: object, log_mse_bundle: Path, tmp_path: Path
) -> None:
    # Found as a bug (an AttributeError from calibrator_from_dict); fixed since.
    folder = copy_of(log_mse_bundle, tmp_path)
    meta = read_meta(folder)
    meta["calibration"] = calibration
    write_meta(folder, meta)
    with pytest.raises(DataError, match=r"calibration in meta\.json is damaged"):
        load_bundle(folder)


def test_an_invalid_config_in_meta_json_names_meta_json(
    log_mse_bundle: Path, tmp_path: Path
) -> None:
    folder = copy_of(log_mse_bundle, tmp_path)
    meta = read_meta(folder)
    meta["config"]["dropout_rate"] = 5
    write_meta(folder, meta)
    with pytest.raises(DataError, match=r"meta.json"):
        load_bundle(folder)


def test_preprocessing_that_does_not_fit_the_network_is_refused(
    log_mse_bundle: Path, small_training_table: pd.DataFrame, tmp_path: Path
) -> None:
    folder = copy_of(log_mse_bundle, tmp_path)
    preprocess = json.loads((folder / "preprocess.json").read_text(encoding="utf-8"))
    preprocess["numeric"] = preprocess["numeric"][:-3]
    (folder / "preprocess.json").write_text(json.dumps(preprocess), encoding="utf-8")
    with pytest.raises(DataError, match=r"(?i)preprocess|does not match"):
        model, _ = load_bundle(folder)
        model.predict(features_of(small_training_table))


def test_a_path_that_does_not_exist_is_refused(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"The model bundle '.*nowhere' does not exist"):
        load_bundle(tmp_path / "nowhere")


@pytest.mark.parametrize("name", ["model.keras", "bundle.zip", "transactions.csv"])
def test_a_plain_file_is_not_a_bundle(name: str, tmp_path: Path) -> None:
    path = tmp_path / name
    path.write_text("customer_id,order_date,amount\nC1,2024-01-01,10\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"is not a model bundle: expected a folder or a .zip"):
        load_bundle(path)


@pytest.mark.parametrize("content", [b"", b"PK\x03\x04 truncated", b"hello"])
def test_bytes_that_are_not_a_zip_are_refused(content: bytes) -> None:
    with pytest.raises(DataError, match=r"not a valid .zip archive"):
        load_bundle(content)


def test_an_empty_folder_is_incomplete(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"incomplete: .*'meta.json'.*missing \(found \[\]\)"):
        load_bundle(tmp_path)


# ------------------------------------------------------------------------------------------
# Scoring data against the model's features
# ------------------------------------------------------------------------------------------


def test_features_without_the_attribute_columns_are_named(
    tiny_model: ClvMlp, small_training_table: pd.DataFrame
) -> None:
    features = features_of(small_training_table).drop(columns=list(ATTRIBUTE_FEATURES))
    with pytest.raises(DataError, match=r"lacks 8 feature\(s\) the model was trained with") as info:
        tiny_model.predict(features)
    for column in ATTRIBUTE_FEATURES:
        assert f"'{column}'" in str(info.value)


def test_scoring_without_the_customer_table_names_the_missing_columns(
    tiny_model: ClvMlp, small_world: SyntheticWorld
) -> None:
    transactions = small_world.transactions[["customer_id", "order_date", "amount"]]
    with pytest.raises(DataError, match=r"lacks 8 feature\(s\).*'channel'"):
        score_customers(tiny_model, transactions, as_of=CUTOFF)


def test_a_loaded_bundle_names_missing_columns_too(
    log_mse_bundle: Path, small_training_table: pd.DataFrame
) -> None:
    loaded, _ = load_bundle(log_mse_bundle)
    features = features_of(small_training_table).drop(columns=["region", "browsing_minutes"])
    with pytest.raises(DataError, match=r"lacks 2 feature\(s\).*\['browsing_minutes', 'region'\]"):
        loaded.predict(features)
