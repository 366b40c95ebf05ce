"""SHAP explanations: exact additivity in money, original features, tidy tables, errors."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from clv_core.calibration import MonotoneCalibrator, PowerCalibrator
from clv_core.catalogue import feature_label, format_value
from clv_core.config import MlpConfig
from clv_core.errors import ConfigError, DataError, NotFittedError
from clv_core.explain import EXPLAINED_SPACE, ExplainSettings, Explanation, explain_customers
from clv_core.explain.deep import _batched_shap_values, _shap_patched
from clv_core.explain.graph import _apply_calibration, _build_explained_model, _calibration_graph
from clv_core.features import LABEL_COLUMN
from clv_core.mlp import ClvMlp, import_keras
from clv_core.value import TIMING_INPUTS

CATEGORICAL = ("channel", "region", "device", "age_group", "membership")
DRIVER_PATTERN = re.compile(r"^(?P<label>.+) = (?P<value>.+) \((?P<shap>[+-][0-9.e+-]+)\)$")


def assert_additive(base_value: float, sums: np.ndarray, predictions: np.ndarray) -> None:
    """base + sum of SHAP == prediction, to float32 rounding of the money amounts involved.

    The network runs in float32 (relative precision 6e-8); everything after it in float64.
    """
    scale = max(abs(base_value), float(np.abs(predictions).max()))
    np.testing.assert_allclose(base_value + sums, predictions, rtol=0, atol=1e-6 * scale)


@pytest.fixture(scope="module")
def features(small_training_table: pd.DataFrame) -> pd.DataFrame:
    return small_training_table.drop(columns=LABEL_COLUMN)


@pytest.fixture(scope="module")
def explanation(tiny_model: ClvMlp, features: pd.DataFrame) -> Explanation:
    """Every customer of the small table explained against 60 background customers."""
    settings = ExplainSettings(background_size=60, sample_size=None, seed=0)
    return explain_customers(tiny_model, features, features, settings)


def test_shap_values_add_up_to_the_prediction_in_money(explanation: Explanation) -> None:
    sums = explanation.wide().sum(axis=1).to_numpy()
    predictions = explanation.predictions.to_numpy()
    assert_additive(explanation.base_value, sums, predictions)
    error = np.abs(explanation.base_value + sums - predictions).max()
    assert explanation.additivity_error == pytest.approx(error, abs=1e-9)


def test_the_explained_prediction_is_model_predict(
    explanation: Explanation, tiny_model: ClvMlp, features: pd.DataFrame
) -> None:
    expected = tiny_model.predict(features)["predicted_clv"]
    assert explanation.space == EXPLAINED_SPACE == "predicted_clv"
    assert explanation.predictions.name == "predicted_clv"
    assert explanation.predictions.index.equals(features.index)
    np.testing.assert_allclose(explanation.predictions.to_numpy(), expected.to_numpy(), rtol=1e-9)


def test_base_value_is_the_mean_prediction_of_the_background(
    tiny_model: ClvMlp, features: pd.DataFrame
) -> None:
    settings = ExplainSettings(background_size=1000, sample_size=5)
    result = explain_customers(tiny_model, features, features, settings)
    # A background larger than the table uses every training customer.
    assert result.background_size == len(features)
    mean_prediction = tiny_model.predict(features)["predicted_clv"].mean()
    assert result.base_value == pytest.approx(mean_prediction, rel=1e-6)


def test_only_original_feature_names_are_reported(
    explanation: Explanation, tiny_model: ClvMlp, features: pd.DataFrame
) -> None:
    # The two BG/NBD inputs the network computes are features of their own, shown last.
    assert list(explanation.features) == [*features.columns, *TIMING_INPUTS]
    assert not [name for name in explanation.features if "=" in name or "__missing" in name]
    assert set(explanation.values["feature"]) == {*features.columns, *TIMING_INPUTS}
    assert explanation.categorical_features == CATEGORICAL
    assert tiny_model.preprocessor_ is not None
    assert explanation.network_inputs == len(tiny_model.preprocessor_.feature_names_out_)
    assert explanation.network_inputs > len(explanation.features)


def test_long_table_has_one_row_per_customer_and_feature(
    explanation: Explanation, features: pd.DataFrame, tiny_model: ClvMlp
) -> None:
    values = explanation.values
    assert list(values.columns) == ["customer_id", "feature", "feature_value", "shap_value"]
    assert len(values) == len(features) * (features.shape[1] + len(TIMING_INPUTS))
    assert not values.duplicated(["customer_id", "feature"]).any()
    assert np.isfinite(values["shap_value"]).all()
    first = features.index[0]
    row = values[values["customer_id"] == first].set_index("feature")["feature_value"]
    for name in CATEGORICAL:
        assert row[name] == features.loc[first, name]
    assert row["T"] == features.loc[first, "T"]
    # The computed inputs' values are those the network read.
    assert tiny_model.timing_ is not None
    btyd = features.loc[[first], ["frequency", "recency", "T"]].to_numpy().T
    expected = tiny_model.timing_.inputs(*btyd)
    for name in TIMING_INPUTS:
        assert row[name] == pytest.approx(float(expected[name][0]), rel=1e-12)
    assert 0 < row["bgnbd_p_alive"] <= 1
    missing = features["mean_days_between_purchases"].isna()
    assert missing.any()
    customer = features.index[missing.to_numpy()][0]
    value = values[
        (values["customer_id"] == customer) & (values["feature"] == "mean_days_between_purchases")
    ]["feature_value"].iloc[0]
    assert pd.isna(value)


def test_wide_and_feature_values_match_the_long_table(explanation: Explanation) -> None:
    wide = explanation.wide()
    assert wide.index.equals(explanation.customer_ids)
    assert list(wide.columns) == list(explanation.features)
    long_values = explanation.values["shap_value"].to_numpy()
    np.testing.assert_array_equal(wide.to_numpy().reshape(-1), long_values)
    values = explanation.feature_values()
    assert values.shape == wide.shape
    assert (
        values.iloc[0]["channel"]
        == explanation.values["feature_value"].iloc[list(explanation.features).index("channel")]
    )


def test_importance_is_mean_absolute_shap_sorted(explanation: Explanation) -> None:
    importance = explanation.importance()
    assert list(importance.columns) == ["feature", "mean_abs_shap"]
    assert len(importance) == len(explanation.features)
    assert importance["mean_abs_shap"].is_monotonic_decreasing
    expected = explanation.wide().abs().mean()
    np.testing.assert_allclose(
        importance["mean_abs_shap"].to_numpy(), expected[importance["feature"]].to_numpy()
    )
    assert (importance["mean_abs_shap"] > 0).any()


def test_dependence_data_is_one_feature_for_every_customer(explanation: Explanation) -> None:
    data = explanation.dependence("orders_last_365d")
    assert list(data.columns) == ["customer_id", "feature_value", "shap_value"]
    assert len(data) == len(explanation.customer_ids)
    np.testing.assert_array_equal(
        data["shap_value"].to_numpy(), explanation.wide()["orders_last_365d"].to_numpy()
    )
    categories = explanation.dependence("channel")["feature_value"]
    assert set(categories) <= {"organic", "paid_search", "social", "referral", "email"}


def test_top_drivers_are_the_largest_contributions_in_words(explanation: Explanation) -> None:
    drivers = explanation.top_drivers()
    assert list(drivers.columns) == ["customer_id", "driver_1", "driver_2", "driver_3"]
    assert len(drivers) == len(explanation.customer_ids)
    wide = explanation.wide()
    values = explanation.feature_values()
    for position in (0, 1, len(drivers) - 1):
        customer = drivers["customer_id"].iloc[position]
        ranked = wide.loc[customer].abs().sort_values(ascending=False, kind="stable").index
        for rank, feature in enumerate(ranked[:3], start=1):
            text = drivers[f"driver_{rank}"].iloc[position]
            match = DRIVER_PATTERN.match(text)
            assert match, text
            assert match["label"] == feature_label(feature)
            assert match["value"] == format_value(values.loc[customer, feature])
            assert float(match["shap"]) == pytest.approx(wide.loc[customer, feature], abs=0.051)
    magnitudes = [
        abs(float(DRIVER_PATTERN.match(drivers[f"driver_{rank}"].iloc[0])["shap"]))  # type: ignore[index]
        for rank in (1, 2, 3)
    ]
    assert magnitudes == sorted(magnitudes, reverse=True)


def test_top_drivers_in_chinese_and_other_counts(explanation: Explanation) -> None:
    chinese = explanation.top_drivers(n=1, language="zh")
    assert list(chinese.columns) == ["customer_id", "driver_1"]
    english = explanation.top_drivers(n=1)
    for zh, en in zip(chinese["driver_1"], english["driver_1"], strict=True):
        assert zh.split(" = ")[1] == en.split(" = ")[1] or "missing" in en
    all_drivers = explanation.top_drivers(n=len(explanation.features))
    assert all_drivers.shape[1] == len(explanation.features) + 1


def test_driver_records_are_the_drivers_as_codes(explanation: Explanation) -> None:
    records = explanation.driver_records(3)
    assert list(records.columns) == [
        "customer_id",
        "rank",
        "feature",
        "feature_value",
        "shap_value",
    ]
    assert len(records) == 3 * len(explanation.customer_ids)
    assert set(records["feature"]) <= set(explanation.features)
    first = records[records["customer_id"] == explanation.customer_ids[0]]
    assert list(first["rank"]) == [1, 2, 3]
    wide = explanation.wide().iloc[0]
    expected = wide.abs().sort_values(ascending=False, kind="stable").index[:3]
    assert list(first["feature"]) == list(expected)
    np.testing.assert_array_equal(first["shap_value"].to_numpy(), wide[expected].to_numpy())
    words = explanation.top_drivers(3)
    assert words["driver_1"].iloc[0].startswith(feature_label(first["feature"].iloc[0]) + " = ")


def test_a_seed_gives_the_same_explanation(tiny_model: ClvMlp, features: pd.DataFrame) -> None:
    settings = ExplainSettings(background_size=30, sample_size=12, seed=7)
    first = explain_customers(tiny_model, features, features, settings)
    again = explain_customers(tiny_model, features, features, settings)
    pd.testing.assert_frame_equal(first.values, again.values)
    assert first.base_value == again.base_value
    other = explain_customers(
        tiny_model, features, features, ExplainSettings(background_size=30, sample_size=12)
    )
    assert other.base_value != first.base_value
    assert not other.customer_ids.equals(first.customer_ids)


def test_sample_is_seeded_and_keeps_input_order(tiny_model: ClvMlp, features: pd.DataFrame) -> None:
    settings = ExplainSettings(background_size=20, sample_size=15, seed=3)
    result = explain_customers(tiny_model, features, features, settings)
    assert len(result.customer_ids) == 15
    positions = features.index.get_indexer(result.customer_ids)
    assert (positions >= 0).all()
    assert (np.diff(positions) > 0).all()
    assert len(result.values) == 15 * len(result.features)


@pytest.mark.parametrize(
    "options",
    [
        {"loss": "log_mse", "calibration": "power"},
        {"loss": "huber", "calibration": "isotonic", "activation": "swish"},
        {"loss": "ziln", "calibration": "none", "activation": "gelu", "batch_norm": True},
        {"loss": "ziln", "rank_weight": 1.0},
        {"loss": "ziln", "ranking_moment": 0.6, "calibration": "isotonic"},
        {"loss": "ziln", "ranking_moment": 0.6, "rank_weight": 1.0, "calibration": "power"},
    ],
    ids=[
        "log_mse-power",
        "huber-isotonic-swish",
        "ziln-none-gelu-batchnorm",
        "ziln-rank",
        "ziln-moment-isotonic",
        "ziln-moment-rank-power",
    ],
)
def test_additivity_and_prediction_for_other_losses_and_networks(
    options: dict[str, object], small_training_table: pd.DataFrame, features: pd.DataFrame
) -> None:
    model = _two_member_model(small_training_table, features, options)
    settings = ExplainSettings(background_size=40, sample_size=80, seed=1)
    _assert_explains_predicted_clv(model, features, settings)


def test_a_bundle_from_before_calibrates_the_ensemble_mean_in_the_graph_too(
    small_training_table: pd.DataFrame, features: pd.DataFrame
) -> None:
    model = _two_member_model(small_training_table, features, {"calibration": "isotonic"})
    new_form = model.predict(features)["predicted_clv"].to_numpy()
    # What a bundle written before per-member calibration and linear interpolation restores.
    stored = model.calibrator_.to_dict()  # type: ignore[union-attr]
    del stored["per_member"], stored["interpolation"]
    model.calibrator_ = MonotoneCalibrator.from_dict(stored)
    assert not np.allclose(model.predict(features)["predicted_clv"].to_numpy(), new_form)
    settings = ExplainSettings(background_size=30, sample_size=40, seed=2)
    _assert_explains_predicted_clv(model, features, settings)


def _two_member_model(
    table: pd.DataFrame, features: pd.DataFrame, options: dict[str, object]
) -> ClvMlp:
    config = MlpConfig(
        hidden_layers=(6,),
        ensemble_size=2,
        max_epochs=2,
        patience=1,
        batch_size=64,
        seed=4,
        **options,  # type: ignore[arg-type]
    )
    return ClvMlp(config).fit(features, table[LABEL_COLUMN])


def _assert_explains_predicted_clv(
    model: ClvMlp, features: pd.DataFrame, settings: ExplainSettings
) -> None:
    """SHAP values add up to the explained value, which is what ``predict`` returns."""
    result = explain_customers(model, features, features, settings)
    predictions = result.predictions.to_numpy()
    assert_additive(result.base_value, result.wide().sum(axis=1).to_numpy(), predictions)
    expected = model.predict(features.loc[result.customer_ids])["predicted_clv"].to_numpy()
    np.testing.assert_allclose(predictions, expected, rtol=1e-9, atol=1e-9)


def test_calibration_is_rebuilt_exactly_in_the_graph() -> None:
    keras = import_keras()
    rng = np.random.default_rng(0)
    raw = rng.lognormal(3, 1.5, 400)
    actual = raw * rng.gamma(1.0, 1.0, 400) * (rng.random(400) < 0.4)
    points = np.concatenate([[0.0, 1e-9, 0.5], raw, [raw.max() * 10]])
    for calibrator in (
        PowerCalibrator().fit(raw, actual),
        MonotoneCalibrator(customers_per_bin=40).fit(raw, actual),
        MonotoneCalibrator(customers_per_bin=40, interpolation="log1p").fit(raw, actual),
        MonotoneCalibrator.from_dict(
            {"kind": "isotonic", "customers_per_bin": 1, "knots_x": [20.0], "knots_y": [30.0]}
        ),
    ):
        graph = _calibration_graph(calibrator)
        column = keras.ops.convert_to_tensor(points.reshape(-1, 1))
        rebuilt = np.asarray(_apply_calibration(keras.ops, graph, column)).reshape(-1)
        expected = calibrator.transform(points)
        # At raw == 0 the power map's log is floored: at most exp(a) * 1e-300**b, not 0.
        np.testing.assert_allclose(rebuilt[1:], expected[1:], rtol=1e-10, atol=1e-10)
        assert rebuilt[0] == pytest.approx(expected[0], abs=1e-6)


@pytest.mark.filterwarnings("ignore:Your TensorFlow version is newer")
def test_batched_attribution_equals_shaps_own_loop(
    tiny_model: ClvMlp, features: pd.DataFrame
) -> None:
    import shap
    from shap.explainers._deep import deep_tf
    from tensorflow.python.eager import execute as tf_execute

    keras = import_keras()
    explained_model = _build_explained_model(keras, tiny_model)
    matrix = tiny_model.transform_features(features.iloc[:7])
    background = tiny_model.transform_features(features.iloc[-25:])
    with _shap_patched(deep_tf, tf_execute):  # the rules shap lacks, as explain_customers adds
        explainer = shap.DeepExplainer(explained_model, background)
        ours = _batched_shap_values(explainer.explainer, background, matrix)
        theirs = np.asarray(explainer.shap_values(matrix, check_additivity=False))[..., 0]
    assert ours is not None
    np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-6)


def test_tensorflow_gradients_are_restored_when_explaining_fails(
    tiny_model: ClvMlp, features: pd.DataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tensorflow.python.eager import execute as tf_execute

    import clv_core.explain.deep as explain_module

    original = tf_execute.record_gradient

    def failing(*args: object) -> None:
        tf_execute.record_gradient = lambda *a: None  # what shap leaves behind after an error
        raise RuntimeError("attribution failed")

    monkeypatch.setattr(explain_module, "_batched_shap_values", failing)
    with pytest.raises(RuntimeError, match="attribution failed"):
        explain_customers(tiny_model, features, features, ExplainSettings(sample_size=3))
    assert tf_execute.record_gradient is original


def test_user_errors_are_explained(
    explanation: Explanation, tiny_model: ClvMlp, features: pd.DataFrame
) -> None:
    with pytest.raises(DataError, match=r"'nobody' is not among the \d+ explained customers"):
        explanation.customer_position("nobody")
    with pytest.raises(DataError, match="'colour' is not one of the explained features"):
        explanation.dependence("colour")
    with pytest.raises(ConfigError, match=r"language: 'fr' is not one of \['en', 'zh'\]"):
        explanation.top_drivers(language="fr")
    with pytest.raises(ConfigError, match="n must be a whole number from 1 to 40"):
        explanation.top_drivers(n=0)
    with pytest.raises(DataError, match="no customers to explain"):
        explain_customers(tiny_model, features.iloc[:0], features)
    with pytest.raises(DataError, match="background table is empty"):
        explain_customers(tiny_model, features, features.iloc[:0])
    with pytest.raises(DataError, match="must be unique"):
        explain_customers(tiny_model, pd.concat([features.iloc[:3], features.iloc[:2]]), features)
    with pytest.raises(DataError, match="lacks 1 feature"):
        explain_customers(tiny_model, features.drop(columns="channel"), features)
    with pytest.raises(NotFittedError, match="not trained"):
        explain_customers(ClvMlp(), features, features)


def test_invalid_settings_are_reported_together() -> None:
    with pytest.raises(ConfigError, match="Invalid explanation settings") as caught:
        ExplainSettings(background_size=0, sample_size=-1, seed=-5)
    assert len(caught.value.problems) == 3
    assert "from 1 to 5000" in caught.value.problems[0]
    with pytest.raises(ConfigError, match="background_size"):
        ExplainSettings(background_size=2.5)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="sample_size"):
        ExplainSettings(sample_size=True)
    assert ExplainSettings(sample_size=None).sample_size is None


def test_importing_the_module_loads_no_heavy_library() -> None:
    import subprocess

    code = (
        "import sys, clv_core.explain; "
        "print(sorted(m for m in ('tensorflow', 'keras', 'shap', 'plotly', 'matplotlib') "
        "if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert result.stdout.strip() == "[]"


def test_shap_and_tensorflow_are_left_as_they_were(
    tiny_model: ClvMlp, features: pd.DataFrame
) -> None:
    from shap.explainers._deep import deep_tf
    from tensorflow.python.eager import execute as tf_execute

    handlers = dict(deep_tf.op_handlers)
    record_gradient = tf_execute.record_gradient
    explain_customers(
        tiny_model, features.head(5), features.tail(10), ExplainSettings(background_size=10)
    )
    assert deep_tf.op_handlers == handlers
    assert tf_execute.record_gradient is record_gradient
    assert "Expm1" not in handlers or handlers["Expm1"] is deep_tf.op_handlers["Expm1"]
