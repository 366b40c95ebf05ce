"""The MLP configuration: validation messages, enums, JSON round trips and hashing."""

from __future__ import annotations

import dataclasses
import json
import math
import re
from pathlib import Path

import pytest

from clv_core.config import (
    Activation,
    Calibration,
    LossKind,
    MlpConfig,
    OptimizerKind,
    load_config,
)
from clv_core.errors import ClvError, ConfigError

FIELD_NAMES = [field.name for field in dataclasses.fields(MlpConfig)]

LAYERS_RULE = "must be 1 to 6 whole numbers of units, each from 1 to 2048"


def test_defaults_are_valid_and_documented_values() -> None:
    config = MlpConfig()
    assert config.hidden_layers == (64, 32)
    assert config.activation is Activation.RELU
    assert config.optimizer is OptimizerKind.ADAM
    assert config.loss is LossKind.ZILN
    assert config.calibration is Calibration.AUTO
    assert config.ensemble_size == 5
    assert config.seed == 0


def test_config_is_keyword_only_and_frozen() -> None:
    with pytest.raises(TypeError, match="positional argument"):
        MlpConfig((8,))  # type: ignore[misc]
    config = MlpConfig()
    with pytest.raises(dataclasses.FrozenInstanceError, match="cannot assign to field 'seed'"):
        config.seed = 1  # type: ignore[misc]


INVALID_VALUES = [
    ("hidden_layers", (), f"hidden_layers: [] {LAYERS_RULE}"),
    ("hidden_layers", (0,), f"hidden_layers: [0] {LAYERS_RULE}"),
    ("hidden_layers", (64, 2049), f"hidden_layers: [64, 2049] {LAYERS_RULE}"),
    ("hidden_layers", (8,) * 7, f"hidden_layers: {[8] * 7} {LAYERS_RULE}"),
    ("hidden_layers", (64.0,), f"hidden_layers: [64.0] {LAYERS_RULE}"),
    ("hidden_layers", (True,), f"hidden_layers: [True] {LAYERS_RULE}"),
    (
        "activation",
        "sigmoid",
        "activation: 'sigmoid' is not one of ['relu', 'gelu', 'selu', 'elu', 'tanh', 'swish']",
    ),
    ("activation", "RELU", "activation: 'RELU' is not one of ['relu',"),
    ("optimizer", "rmsprop", "optimizer: 'rmsprop' is not one of ['adam', 'adamw', 'sgd']"),
    ("loss", "mse", "loss: 'mse' is not one of ['ziln', 'log_mse', 'huber']"),
    (
        "calibration",
        "spline",
        "calibration: 'spline' is not one of ['auto', 'power', 'isotonic', 'none']",
    ),
    (
        "calibration",
        None,
        "calibration: None is not one of ['auto', 'power', 'isotonic', 'none']",
    ),
    ("dropout_rate", -0.1, "dropout_rate: -0.1 is outside [0.0, 0.9)"),
    ("dropout_rate", 0.9, "dropout_rate: 0.9 is outside [0.0, 0.9)"),
    ("dropout_rate", math.nan, "dropout_rate: nan is outside [0.0, 0.9)"),
    ("dropout_rate", "0.1", "dropout_rate: '0.1' must be a number in [0.0, 0.9)"),
    ("dropout_rate", True, "dropout_rate: True must be a number in [0.0, 0.9)"),
    ("l2", -1e-9, "l2: -1e-09 is outside [0.0, 1.0]"),
    ("l2", 1.5, "l2: 1.5 is outside [0.0, 1.0]"),
    ("l2", math.inf, "l2: inf is outside [0.0, 1.0]"),
    ("learning_rate", 0.0, "learning_rate: 0.0 is outside (0.0, 1.0]"),
    ("learning_rate", 1.01, "learning_rate: 1.01 is outside (0.0, 1.0]"),
    ("batch_size", 7, "batch_size: 7 must be a whole number from 8 to 65536"),
    ("batch_size", 65537, "batch_size: 65537 must be a whole number from 8 to 65536"),
    ("batch_size", 256.0, "batch_size: 256.0 must be a whole number from 8 to 65536"),
    ("batch_size", True, "batch_size: True must be a whole number from 8 to 65536"),
    ("max_epochs", 0, "max_epochs: 0 must be a whole number from 1 to 10000"),
    ("max_epochs", 10001, "max_epochs: 10001 must be a whole number from 1 to 10000"),
    ("patience", 0, "patience: 0 must be a whole number from 1 to 1000"),
    ("patience", 1001, "patience: 1001 must be a whole number from 1 to 1000"),
    ("validation_fraction", 0.04, "validation_fraction: 0.04 is outside [0.05, 0.5]"),
    ("validation_fraction", 0.51, "validation_fraction: 0.51 is outside [0.05, 0.5]"),
    ("sigma_max", 0.09, "sigma_max: 0.09 is outside [0.1, 5.0]"),
    ("sigma_max", 5.1, "sigma_max: 5.1 is outside [0.1, 5.0]"),
    ("tweedie_weight", -0.1, "tweedie_weight: -0.1 is outside [0.0, 100.0]"),
    ("rank_weight", 100.5, "rank_weight: 100.5 is outside [0.0, 100.0]"),
    ("ranking_moment", 0.0, "ranking_moment: 0.0 is outside (0.0, 1.0]"),
    ("ranking_moment", 1.01, "ranking_moment: 1.01 is outside (0.0, 1.0]"),
    ("ensemble_size", 0, "ensemble_size: 0 must be a whole number from 1 to 20"),
    ("ensemble_size", 21, "ensemble_size: 21 must be a whole number from 1 to 20"),
    ("interval_coverage", 0.0, "interval_coverage: 0.0 is outside (0.0, 1.0)"),
    ("interval_coverage", 1.0, "interval_coverage: 1.0 is outside (0.0, 1.0)"),
    ("seed", -1, "seed: -1 must be a whole number from 0 to 2147483647"),
    ("seed", 2**31, "seed: 2147483648 must be a whole number from 0 to 2147483647"),
    ("batch_norm", "yes", "batch_norm: 'yes' must be true or false"),
    ("batch_norm", 1, "batch_norm: 1 must be true or false"),
    ("btyd_inputs", "no", "btyd_inputs: 'no' must be true or false"),
    ("btyd_inputs", 0, "btyd_inputs: 0 must be true or false"),
]


@pytest.mark.parametrize(("field", "value", "expected"), INVALID_VALUES)
def test_invalid_value_names_field_and_allowed_values(
    field: str, value: object, expected: str
) -> None:
    with pytest.raises(ConfigError, match=re.escape(expected)) as caught:
        MlpConfig(**{field: value})
    # One bad value is one problem, listed under the headline.
    assert len(caught.value.problems) == 1
    assert caught.value.problems[0].startswith(f"{field}: ")
    assert caught.value.headline == "Invalid model configuration:"


def test_every_field_is_covered_by_the_invalid_value_cases() -> None:
    assert {field for field, _, _ in INVALID_VALUES} == set(FIELD_NAMES)


@pytest.mark.parametrize(
    "values",
    [
        {"hidden_layers": (1,)},
        {"hidden_layers": (2048,) * 6},
        {"dropout_rate": 0.0, "l2": 0.0},
        {"dropout_rate": 0.89, "l2": 1.0},
        {"learning_rate": 1.0},
        {"learning_rate": 1},
        {"batch_size": 8, "max_epochs": 1, "patience": 1, "ensemble_size": 1, "seed": 0},
        {
            "batch_size": 65536,
            "max_epochs": 10000,
            "patience": 1000,
            "ensemble_size": 20,
            "seed": 2**31 - 1,
        },
        {"validation_fraction": 0.05, "sigma_max": 0.1},
        {"validation_fraction": 0.5, "sigma_max": 5.0},
        {"interval_coverage": 0.5, "batch_norm": True},
    ],
)
def test_boundary_values_are_accepted(values: dict[str, object]) -> None:
    config = MlpConfig(**values)  # type: ignore[arg-type]
    for name, value in values.items():
        assert getattr(config, name) == value


def test_several_problems_are_reported_together() -> None:
    with pytest.raises(ConfigError, match="Invalid model configuration") as caught:
        MlpConfig(
            hidden_layers=(),
            activation="sigmoid",  # type: ignore[arg-type]
            dropout_rate=2.0,
            batch_size=1,
            seed=-5,
        )
    error = caught.value
    assert isinstance(error, ClvError)
    named = [problem.split(":")[0] for problem in error.problems]
    assert sorted(named) == ["activation", "batch_size", "dropout_rate", "hidden_layers", "seed"]
    # The shown message lists each problem on its own line under the headline.
    lines = str(error).splitlines()
    assert lines[0] == "Invalid model configuration:"
    assert lines[1:] == [f"  - {problem}" for problem in error.problems]


@pytest.mark.parametrize(
    ("field", "text", "member"),
    [
        ("activation", "gelu", Activation.GELU),
        ("activation", "swish", Activation.SWISH),
        ("optimizer", "adamw", OptimizerKind.ADAMW),
        ("loss", "log_mse", LossKind.LOG_MSE),
        ("loss", "huber", LossKind.HUBER),
        ("calibration", "isotonic", Calibration.ISOTONIC),
        ("calibration", "none", Calibration.NONE),
    ],
)
def test_enum_fields_accept_strings(field: str, text: str, member: object) -> None:
    config = MlpConfig(**{field: text})  # type: ignore[arg-type]
    assert getattr(config, field) is member
    assert config == MlpConfig(**{field: member})  # type: ignore[arg-type]


def test_hidden_layers_given_as_a_list_become_a_tuple() -> None:
    config = MlpConfig(hidden_layers=[128, 64, 8])  # type: ignore[arg-type]
    assert config.hidden_layers == (128, 64, 8)
    assert isinstance(config.hidden_layers, tuple)
    assert config == MlpConfig(hidden_layers=(128, 64, 8))


@pytest.mark.parametrize("value", [64, None])
def test_hidden_layers_that_are_not_a_sequence_raise_config_error(value: object) -> None:
    with pytest.raises(ConfigError, match="hidden_layers"):
        MlpConfig(hidden_layers=value)  # type: ignore[arg-type]


def test_to_dict_is_plain_json_and_round_trips() -> None:
    config = MlpConfig(
        hidden_layers=(16, 8, 4),
        activation="tanh",  # type: ignore[arg-type]
        dropout_rate=0.25,
        batch_norm=True,
        optimizer=OptimizerKind.SGD,
        learning_rate=0.05,
        loss="huber",  # type: ignore[arg-type]
        calibration=Calibration.ISOTONIC,
        ensemble_size=3,
        seed=42,
    )
    data = config.to_dict()
    assert list(data) == FIELD_NAMES
    assert data["hidden_layers"] == [16, 8, 4]
    # Enums are written as plain strings, not StrEnum members.
    for name in ("activation", "optimizer", "loss", "calibration"):
        assert type(data[name]) is str
    assert (data["activation"], data["optimizer"], data["loss"]) == ("tanh", "sgd", "huber")
    text = json.dumps(data)
    restored = MlpConfig.from_dict(json.loads(text))
    assert restored == config
    assert restored.to_dict() == data


def test_from_dict_fills_missing_fields_with_defaults() -> None:
    config = MlpConfig.from_dict({"hidden_layers": [8], "seed": 7})
    assert config == MlpConfig(hidden_layers=(8,), seed=7)
    assert MlpConfig.from_dict({}) == MlpConfig()


def test_from_dict_unknown_keys_list_the_valid_fields() -> None:
    with pytest.raises(ConfigError, match=r"Unknown model configuration field\(s\)") as caught:
        MlpConfig.from_dict({"hidden_units": [8], "dropout": 0.1, "seed": 1})
    message = str(caught.value)
    assert "['dropout', 'hidden_units']" in message
    assert f"valid fields are {FIELD_NAMES}" in message


@pytest.mark.parametrize("layers", ["64,32", 64, None, {"a": 1}])
def test_from_dict_hidden_layers_must_be_a_list(layers: object) -> None:
    with pytest.raises(ConfigError, match=r"hidden_layers: .* must be a list of layer sizes"):
        MlpConfig.from_dict({"hidden_layers": layers})


def test_from_dict_validates_values_like_the_constructor() -> None:
    with pytest.raises(ConfigError, match=re.escape("hidden_layers: [64.5] " + LAYERS_RULE)):
        MlpConfig.from_dict({"hidden_layers": [64.5]})
    with pytest.raises(ConfigError, match=r"loss: 'poisson' is not one of") as caught:
        MlpConfig.from_dict({"loss": "poisson", "patience": 0})
    assert len(caught.value.problems) == 2


@pytest.mark.parametrize("data", [[1, 2], "ziln", None, 3])
def test_from_dict_rejects_non_objects(data: object) -> None:
    with pytest.raises(ConfigError, match="must be a JSON object of field: value"):
        MlpConfig.from_dict(data)  # type: ignore[arg-type]


def test_config_is_hashable_and_a_valid_dict_key() -> None:
    first = MlpConfig(hidden_layers=[32, 16], activation="gelu")  # type: ignore[arg-type]
    second = MlpConfig.from_dict({"hidden_layers": [32, 16], "activation": "gelu"})
    assert first == second
    assert hash(first) == hash(second)
    cache = {first: "trained"}
    assert cache[second] == "trained"
    different = dataclasses.replace(first, seed=1)
    assert different != first
    assert different not in cache
    assert len({first, second, different, MlpConfig()}) == 3


def test_load_config_reads_a_good_file(tmp_path: Path) -> None:
    path = tmp_path / "model.json"
    path.write_text(
        json.dumps({"hidden_layers": [8, 4], "loss": "log_mse", "max_epochs": 3}),
        encoding="utf-8",
    )
    assert load_config(path) == MlpConfig(hidden_layers=(8, 4), loss=LossKind.LOG_MSE, max_epochs=3)


def test_load_config_round_trips_a_saved_config(tmp_path: Path) -> None:
    config = MlpConfig(hidden_layers=(4,), calibration=Calibration.NONE, seed=9)
    path = tmp_path / "saved.json"
    path.write_text(json.dumps(config.to_dict()), encoding="utf-8")
    assert load_config(path) == config


def test_load_config_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "absent.json"
    with pytest.raises(
        ConfigError, match=r"The model configuration file '.*absent\.json' does not"
    ):
        load_config(path)


@pytest.mark.parametrize(
    "content",
    [b'{"hidden_layers": [8,', b"not json at all", b"", b'{"seed": 1}\xff\xfe'],
)
def test_load_config_invalid_json(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "broken.json"
    path.write_bytes(content)
    with pytest.raises(ConfigError, match=r"'.*broken\.json' is not valid UTF-8 JSON"):
        load_config(path)


@pytest.mark.parametrize("content", ["[8, 4]", '"ziln"', "42", "null"])
def test_load_config_non_object_json(tmp_path: Path, content: str) -> None:
    path = tmp_path / "list.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ConfigError, match="must be a JSON object of field: value"):
        load_config(path)


def test_load_config_reports_invalid_values_in_the_file(tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text(json.dumps({"learning_rate": 2, "optimizer": "lbfgs"}), encoding="utf-8")
    with pytest.raises(ConfigError, match=r"learning_rate: 2 is outside \(0\.0, 1\.0\]") as caught:
        load_config(path)
    assert any(problem.startswith("optimizer: 'lbfgs'") for problem in caught.value.problems)
