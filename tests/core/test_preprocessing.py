"""Feature preprocessing: train-only statistics, log/clip/fill rules, one-hot, JSON round trip."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clv_core.errors import ConfigError, DataError, NotFittedError
from clv_core.preprocessing import Preprocessor
from clv_core.value import TIMING_INPUTS, TimingModel

CITY_COUNTS = {"a": 90, "b": 60, "c": 35, "d": 9, "e": 6}


@pytest.fixture
def train() -> pd.DataFrame:
    """200 training customers: a symmetric, a right-tailed, a left-tailed and a gappy column."""
    rng = np.random.default_rng(20240101)
    n = sum(CITY_COUNTS.values())
    gappy = rng.normal(0.0, 1.0, n)
    gappy[rng.random(n) < 0.2] = np.nan
    city = np.repeat(list(CITY_COUNTS), list(CITY_COUNTS.values()))
    return pd.DataFrame(
        {
            "symmetric": rng.normal(10.0, 2.0, n),
            "heavy": rng.lognormal(3.0, 1.5, n),
            "refunds": -rng.lognormal(2.0, 1.2, n),
            "gappy": gappy,
            "city": rng.permutation(city),
        }
    )


def _standardised(value: float, values: np.ndarray) -> float:
    """The training-statistics standardisation, written out by hand (population std)."""
    mean = values.sum() / values.size
    std = math.sqrt(((values - mean) ** 2).sum() / values.size)
    return (value - mean) / std


def _signed_log(values: np.ndarray | float) -> np.ndarray:
    return np.sign(values) * np.log1p(np.abs(values))


def test_transform_of_new_data_uses_training_statistics(train: pd.DataFrame) -> None:
    preprocessor = Preprocessor().fit(train)
    new = pd.DataFrame(
        {"symmetric": [13.0], "heavy": [50.0], "refunds": [-4.0], "gappy": [0.5], "city": ["b"]}
    )
    row = dict(zip(preprocessor.feature_names_out_, preprocessor.transform(new)[0], strict=True))
    assert row["symmetric"] == pytest.approx(
        _standardised(13.0, train["symmetric"].to_numpy()), rel=1e-5
    )
    assert row["heavy"] == pytest.approx(
        _standardised(math.log1p(50.0), np.log1p(train["heavy"].to_numpy())), rel=1e-5
    )
    assert row["refunds"] == pytest.approx(
        _standardised(-math.log1p(4.0), _signed_log(train["refunds"].to_numpy())), rel=1e-5
    )
    present = train["gappy"].dropna().to_numpy()
    assert row["gappy"] == pytest.approx(_standardised(0.5, present), rel=1e-5)
    assert row["gappy__missing"] == 0.0
    assert (row["city=a"], row["city=b"], row["city=c"], row["city=__other__"]) == (0, 1, 0, 0)


def test_transform_never_learns_from_the_data_it_transforms(train: pd.DataFrame) -> None:
    preprocessor = Preprocessor().fit(train)
    state = preprocessor.to_dict()
    new = pd.DataFrame(
        {
            "symmetric": [1e3, 9.0, -4.0],
            "heavy": [0.0, 7.0, 1e5],
            "refunds": [-1.0, 0.0, 3.0],
            "gappy": [np.nan, 2.0, -2.0],
            "city": ["zz", "a", None],
        }
    )
    together = preprocessor.transform(new)
    one_by_one = np.vstack([preprocessor.transform(new.iloc[[i]]) for i in range(len(new))])
    np.testing.assert_array_equal(together, one_by_one)
    assert preprocessor.to_dict() == state


def test_heavy_tailed_columns_get_a_log_transform(train: pd.DataFrame) -> None:
    preprocessor = Preprocessor().fit(train)
    log_transform = {column.name: column.log_transform for column in preprocessor.numeric_ or []}
    # Skewness above 1 in either direction: both tails are compressed, keeping the sign.
    assert log_transform == {
        "symmetric": False,
        "heavy": True,
        "refunds": True,
        "gappy": False,
    }


@pytest.mark.parametrize(("clip", "extreme"), [(5.0, 1e6), (2.0, 1e6), (5.0, 1e300)])
def test_extreme_new_values_are_clipped(train: pd.DataFrame, clip: float, extreme: float) -> None:
    preprocessor = Preprocessor(clip=clip).fit(train)
    new = train.iloc[:2].copy()
    new["symmetric"] = [extreme, -extreme]
    new["heavy"] = [extreme, 0.0]
    matrix = preprocessor.transform(new)
    names = preprocessor.feature_names_out_
    assert matrix[:, names.index("symmetric")].tolist() == [clip, -clip]
    assert matrix[0, names.index("heavy")] == clip
    assert np.abs(matrix[:, : len(preprocessor.numeric_ or [])]).max() <= clip
    # The training data itself stays inside the clip range as well.
    assert np.abs(preprocessor.transform(train)).max() <= clip


def test_missing_values_take_the_training_median(train: pd.DataFrame) -> None:
    preprocessor = Preprocessor().fit(train)
    new = pd.DataFrame(
        {
            "symmetric": [np.nan, 10.0, np.inf],
            "heavy": [np.nan, 1.0, 1.0],
            "refunds": [-1.0, -1.0, -np.inf],
            "gappy": [np.nan, 1.0, -np.inf],
            "city": ["a", "a", "a"],
        }
    )
    names = preprocessor.feature_names_out_
    matrix = preprocessor.transform(new)
    column = {name: matrix[:, names.index(name)] for name in names}
    symmetric = train["symmetric"].to_numpy()
    median_symmetric = _standardised(float(np.median(symmetric)), symmetric)
    # Infinite values count as missing too.
    np.testing.assert_allclose(column["symmetric"][[0, 2]], median_symmetric, rtol=1e-5)
    heavy_logs = np.log1p(train["heavy"].to_numpy())
    expected_heavy = _standardised(float(np.median(heavy_logs)), heavy_logs)
    assert column["heavy"][0] == pytest.approx(expected_heavy, rel=1e-5)
    present = train["gappy"].dropna().to_numpy()
    np.testing.assert_allclose(
        column["gappy"][[0, 2]], _standardised(float(np.median(present)), present), rtol=1e-5
    )
    np.testing.assert_array_equal(column["gappy__missing"], [1.0, 0.0, 1.0])


def test_missing_indicator_only_for_columns_missing_in_training(train: pd.DataFrame) -> None:
    preprocessor = Preprocessor().fit(train)
    indicators = [name for name in preprocessor.feature_names_out_ if name.endswith("__missing")]
    assert indicators == ["gappy__missing"]
    matrix = preprocessor.transform(train)
    np.testing.assert_array_equal(
        matrix[:, preprocessor.feature_names_out_.index("gappy__missing")],
        train["gappy"].isna().to_numpy(np.float32),
    )


def test_a_column_missing_everywhere_in_training_becomes_zero_plus_indicator() -> None:
    train = pd.DataFrame({"empty": [np.nan] * 5, "full": [1.0, 2.0, 3.0, 4.0, 5.0]})
    preprocessor = Preprocessor().fit(train)
    assert preprocessor.feature_names_out_ == ["empty", "full", "empty__missing"]
    matrix = preprocessor.transform(pd.DataFrame({"empty": [np.nan, 7.0], "full": [3.0, 3.0]}))
    # No statistics were learnable: the column is used as it is (centre 0, scale 1).
    np.testing.assert_array_equal(matrix[:, 0], [0.0, 5.0])
    np.testing.assert_array_equal(matrix[:, 2], [1.0, 0.0])


@pytest.mark.parametrize(
    ("max_categories", "min_category_count", "kept"),
    [
        (30, 10, ["a", "b", "c"]),  # d (9) and e (6) are rare
        (2, 10, ["a", "b"]),  # most frequent first
        (30, 60, ["a", "b"]),  # exactly the minimum count is enough
        (30, 1, ["a", "b", "c", "d", "e"]),
        (1, 1, ["a"]),
    ],
)
def test_categories_kept_by_count_and_limit(
    train: pd.DataFrame, max_categories: int, min_category_count: int, kept: list[str]
) -> None:
    preprocessor = Preprocessor(
        max_categories=max_categories, min_category_count=min_category_count
    ).fit(train)
    city_names = [name for name in preprocessor.feature_names_out_ if name.startswith("city=")]
    assert city_names == [f"city={value}" for value in kept] + ["city=__other__"]


def test_unknown_rare_and_missing_categories_share_the_other_column(train: pd.DataFrame) -> None:
    preprocessor = Preprocessor(max_categories=2).fit(train)
    new = train.iloc[:6].copy()
    new["city"] = ["a", "b", "c", "e", "never seen", None]
    names = preprocessor.feature_names_out_
    start = names.index("city=a")
    block = preprocessor.transform(new)[:, start:]
    assert names[start:] == ["city=a", "city=b", "city=__other__"]
    np.testing.assert_array_equal(
        block,
        [[1, 0, 0], [0, 1, 0], [0, 0, 1], [0, 0, 1], [0, 0, 1], [0, 0, 1]],
    )


def test_boolean_columns_are_one_hot_encoded() -> None:
    train = pd.DataFrame({"member": [True, False, True, True], "spend": [1.0, 2.0, 3.0, 4.0]})
    preprocessor = Preprocessor(min_category_count=1).fit(train)
    assert preprocessor.feature_names_out_ == [
        "spend",
        "member=True",
        "member=False",
        "member=__other__",
    ]
    new = pd.DataFrame({"member": [False, None], "spend": [1.0, 1.0]})
    np.testing.assert_array_equal(preprocessor.transform(new)[:, 1:], [[0, 1, 0], [0, 0, 1]])


def test_feature_names_match_matrix_width_and_order(train: pd.DataFrame) -> None:
    preprocessor = Preprocessor().fit(train)
    names = preprocessor.feature_names_out_
    assert names == [
        "symmetric",
        "heavy",
        "refunds",
        "gappy",
        "gappy__missing",
        "city=a",
        "city=b",
        "city=c",
        "city=__other__",
    ]
    assert preprocessor.input_columns_ == ["symmetric", "heavy", "refunds", "gappy", "city"]
    matrix = preprocessor.transform(train)
    assert matrix.shape == (len(train), len(names))
    assert matrix.dtype == np.float32
    # Each named column holds what its name says.
    np.testing.assert_array_equal(
        matrix[:, names.index("city=c")], (train["city"] == "c").to_numpy(np.float32)
    )
    np.testing.assert_allclose(
        matrix[:, names.index("symmetric")],
        [_standardised(v, train["symmetric"].to_numpy()) for v in train["symmetric"]],
        rtol=1e-4,
        atol=1e-6,
    )


def test_column_order_of_new_data_does_not_matter(train: pd.DataFrame) -> None:
    preprocessor = Preprocessor().fit(train)
    shuffled = train[["city", "gappy", "heavy", "symmetric", "refunds"]].assign(extra=1.0)
    np.testing.assert_array_equal(preprocessor.transform(shuffled), preprocessor.transform(train))


def test_numbers_as_text_in_new_data_are_read_as_numbers(train: pd.DataFrame) -> None:
    preprocessor = Preprocessor().fit(train)
    new = train.iloc[:3].copy()
    as_text = new.assign(symmetric=new["symmetric"].astype(str).tolist())
    as_text.loc[as_text.index[2], "symmetric"] = "not a number"
    expected = preprocessor.transform(new)
    actual = preprocessor.transform(as_text)
    np.testing.assert_array_equal(actual[:2], expected[:2])
    median = _standardised(float(np.median(train["symmetric"])), train["symmetric"].to_numpy())
    assert actual[2, 0] == pytest.approx(median, rel=1e-5)


def test_round_trip_through_json_gives_identical_transforms(train: pd.DataFrame) -> None:
    preprocessor = Preprocessor(max_categories=2, min_category_count=5, clip=3.0).fit(train)
    data = preprocessor.to_dict()
    restored = Preprocessor.from_dict(json.loads(json.dumps(data)))
    assert restored.to_dict() == data
    assert (restored.max_categories, restored.min_category_count, restored.clip) == (2, 5, 3.0)
    assert restored.feature_names_out_ == preprocessor.feature_names_out_
    new = train.sample(50, random_state=1).assign(city="d")
    new.iloc[0, 0] = np.nan
    for frame in (train, new):
        np.testing.assert_array_equal(restored.transform(frame), preprocessor.transform(frame))


def test_use_before_fit_raises_not_fitted(train: pd.DataFrame) -> None:
    preprocessor = Preprocessor()
    with pytest.raises(NotFittedError, match="not fitted yet; call fit first"):
        preprocessor.transform(train)
    with pytest.raises(NotFittedError, match="not fitted yet"):
        _ = preprocessor.feature_names_out_
    with pytest.raises(NotFittedError, match="not fitted yet"):
        preprocessor.to_dict()


def test_data_missing_columns_raises_naming_them(train: pd.DataFrame) -> None:
    preprocessor = Preprocessor().fit(train)
    with pytest.raises(
        DataError, match=r"lacks 2 feature\(s\) the model was trained with: \['heavy', 'city'\]"
    ):
        preprocessor.transform(train.drop(columns=["city", "heavy"]))


def test_empty_training_table_is_refused() -> None:
    with pytest.raises(DataError, match="Cannot fit preprocessing on an empty feature table"):
        Preprocessor().fit(pd.DataFrame({"spend": pd.Series([], dtype=float)}))


@pytest.mark.parametrize(
    "settings_",
    [{"max_categories": 0}, {"min_category_count": 0}, {"clip": 0.0}, {"clip": -1.0}],
)
def test_invalid_settings_raise_config_error(settings_: dict[str, float]) -> None:
    with pytest.raises(ConfigError, match="must be at least 1 and clip positive"):
        Preprocessor(**settings_)  # type: ignore[arg-type]


def _drop_numeric(data: dict[str, Any]) -> None:
    del data["numeric"]


def _drop_scale(data: dict[str, Any]) -> None:
    del data["numeric"][0]["scale"]


def _text_center(data: dict[str, Any]) -> None:
    data["numeric"][1]["center"] = "middle"


def _null_numeric(data: dict[str, Any]) -> None:
    data["numeric"] = None


def _null_categories(data: dict[str, Any]) -> None:
    data["categorical"][0]["categories"] = None


def _text_max_categories(data: dict[str, Any]) -> None:
    data["max_categories"] = "many"


def _numeric_as_strings(data: dict[str, Any]) -> None:
    data["numeric"] = ["symmetric", "heavy"]


def test_damaged_dict_with_wrong_format_is_refused(train: pd.DataFrame) -> None:
    data = Preprocessor().fit(train).to_dict()
    data["format"] = "clv-preprocess-0"
    with pytest.raises(DataError, match="not a CLV preprocessing file"):
        Preprocessor.from_dict(data)
    with pytest.raises(DataError, match="not a CLV preprocessing file"):
        Preprocessor.from_dict({})


@pytest.mark.parametrize(
    "damage",
    [
        _drop_numeric,
        _drop_scale,
        _text_center,
        _null_numeric,
        _null_categories,
        _text_max_categories,
        _numeric_as_strings,
    ],
)
def test_damaged_dict_raises_data_error(
    train: pd.DataFrame, damage: Callable[[dict[str, Any]], None]
) -> None:
    data = Preprocessor().fit(train).to_dict()
    damage(data)
    with pytest.raises(DataError, match=r"preprocess\.json is damaged"):
        Preprocessor.from_dict(data)


def test_non_string_column_labels_fit_and_transform_the_same_frame() -> None:
    frame = pd.DataFrame({0: [1.0, 2.0, 3.0], 1: ["x", "y", "x"]})
    preprocessor = Preprocessor(min_category_count=1).fit(frame)
    assert preprocessor.transform(frame).shape == (3, 4)


_SPECIAL = st.sampled_from([math.nan, math.inf, -math.inf])
_NUMBER = st.floats(min_value=-1e9, max_value=1e9, allow_nan=False) | _SPECIAL
_CATEGORY = st.sampled_from(["x", "y", "z", None])


@st.composite
def _frames(draw: st.DrawFn, min_rows: int) -> pd.DataFrame:
    rows = draw(st.integers(min_value=min_rows, max_value=25))
    return pd.DataFrame(
        {
            "spend": draw(st.lists(_NUMBER, min_size=rows, max_size=rows)),
            "count": draw(st.lists(_NUMBER, min_size=rows, max_size=rows)),
            "channel": pd.Series(
                draw(st.lists(_CATEGORY, min_size=rows, max_size=rows)), dtype=object
            ),
        }
    )


@settings(max_examples=60, deadline=None)
@given(train=_frames(min_rows=1), new=_frames(min_rows=0))
def test_output_is_finite_float32_for_any_numbers(train: pd.DataFrame, new: pd.DataFrame) -> None:
    preprocessor = Preprocessor(min_category_count=1).fit(train)
    matrix = preprocessor.transform(new)
    assert matrix.dtype == np.float32
    assert matrix.shape == (len(new), len(preprocessor.feature_names_out_))
    assert np.isfinite(matrix).all()
    assert np.abs(matrix[:, :2]).max(initial=0.0) <= preprocessor.clip
    # Exactly one one-hot slot per row for the categorical column.
    channel = [i for i, name in enumerate(preprocessor.feature_names_out_) if "=" in name]
    np.testing.assert_array_equal(matrix[:, channel].sum(axis=1), np.ones(len(new)))


# --- BG/NBD inputs -------------------------------------------------------------------------

TIMING = TimingModel(r=0.6, alpha=40.0, a=0.8, b=2.5)


@pytest.fixture
def histories() -> pd.DataFrame:
    """Customers with BTYD columns (days), a money column and a category."""
    rng = np.random.default_rng(7)
    n = 300
    tenure = rng.integers(1, 700, n).astype(float)
    frequency = rng.poisson(2.0, n).astype(float)
    recency = np.where(frequency > 0, np.floor(rng.random(n) * tenure), 0.0)
    return pd.DataFrame(
        {
            "frequency": frequency,
            "recency": recency,
            "T": tenure,
            "net_spend": rng.lognormal(4.0, 1.0, n),
            "channel": rng.choice(["web", "store"], n),
        }
    )


def test_timing_inputs_are_p_alive_and_the_expected_rate_now() -> None:
    frequency = np.array([0.0, 3.0, 3.0])
    recency = np.array([0.0, 100.0, 300.0])
    tenure = np.array([50.0, 400.0, 400.0])
    inputs = TIMING.inputs(frequency, recency, tenure)
    assert list(inputs) == list(TIMING_INPUTS)
    alive = TIMING.p_alive(frequency, recency, tenure)
    np.testing.assert_array_equal(inputs["bgnbd_p_alive"], alive)
    assert alive[0] == 1.0
    # A customer seen more recently (same history otherwise) is likelier to be active.
    assert alive[1] < alive[2]
    expected = alive * (TIMING.r + frequency) / (TIMING.alpha + tenure) * 365.0
    np.testing.assert_allclose(inputs["bgnbd_purchase_rate"], expected, rtol=1e-12)


def test_bgnbd_inputs_are_computed_not_read(histories: pd.DataFrame) -> None:
    preprocessor = Preprocessor().fit(histories, timing=TIMING)
    assert preprocessor.derived_ == TIMING_INPUTS
    assert preprocessor.input_columns_ == ["frequency", "recency", "T", "net_spend", "channel"]
    names = preprocessor.feature_names_out_
    assert names[:6] == ["frequency", "recency", "T", "net_spend", *TIMING_INPUTS]
    matrix = preprocessor.transform(histories)
    assert matrix.shape == (len(histories), len(names))
    # The column is the p_alive of each customer, standardised with the training statistics.
    alive = TIMING.p_alive(histories["frequency"], histories["recency"], histories["T"])
    column = preprocessor.numeric_[4]  # type: ignore[index]
    values = _signed_log(alive) if column.log_transform else alive
    np.testing.assert_allclose(
        matrix[:, 4], np.clip((values - column.center) / column.scale, -5, 5), atol=1e-5
    )
    # A table whose columns do not have the inputs' names is enough (the data never has them).
    assert not any(name in histories.columns for name in TIMING_INPUTS)


def test_bgnbd_inputs_the_same_from_frames_arrays_and_json(histories: pd.DataFrame) -> None:
    preprocessor = Preprocessor().fit(histories, timing=TIMING)
    new = histories.sample(40, random_state=3)
    new.iloc[0, 0] = np.nan  # a missing frequency: the inputs are missing too, then filled
    expected = preprocessor.transform(new)
    columns = {name: new[name].to_numpy(np.float64) for name in ("frequency", "recency", "T")}
    columns["net_spend"] = new["net_spend"].to_numpy(np.float64)
    columns["channel"] = new["channel"].to_numpy(object)
    np.testing.assert_array_equal(preprocessor.transform_arrays(columns, len(new)), expected)
    data = json.loads(json.dumps(preprocessor.to_dict()))
    assert data["timing"]["a"] == TIMING.a
    restored = Preprocessor.from_dict(data)
    assert restored.derived_ == TIMING_INPUTS
    np.testing.assert_array_equal(restored.transform(new), expected)
    assert np.isfinite(expected).all()


def test_no_bgnbd_inputs_without_the_btyd_columns_or_when_a_column_has_their_name(
    histories: pd.DataFrame,
) -> None:
    without = Preprocessor().fit(histories.drop(columns="recency"), timing=TIMING)
    assert without.derived_ == ()
    assert "timing" not in without.to_dict()
    # An attribute that happens to be called like an input is the attribute, read as it is.
    named = histories.assign(bgnbd_p_alive=0.5)
    kept = Preprocessor().fit(named, timing=TIMING)
    assert kept.derived_ == ()
    assert "bgnbd_p_alive" in kept.input_columns_
    assert Preprocessor().fit(histories).derived_ == ()


def test_damaged_timing_in_the_dict_raises_data_error(histories: pd.DataFrame) -> None:
    data = Preprocessor().fit(histories, timing=TIMING).to_dict()
    data["timing"]["r"] = -1.0
    with pytest.raises(DataError, match=r"preprocess\.json is damaged"):
        Preprocessor.from_dict(data)
