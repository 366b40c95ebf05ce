"""Value tiers, churn bands, the action grid, segment profiles and segment_customers."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clv_core.catalogue import ACTION_LABELS
from clv_core.errors import ConfigError, DataError
from clv_core.segments import (
    ACTION_GRID,
    Language,
    TierKind,
    TierScheme,
    action_grid,
    action_labels,
    assign_actions,
    assign_tiers,
    churn_bands,
    grid_row,
    quantile_tier_sizes,
    segment_codes,
    segment_customers,
    segment_profile,
)

ENGLISH_TIERS = ["High value", "Potential", "Regular", "Low value"]
CHINESE_TIERS = ["高价值", "潜力", "一般", "低价值"]


@pytest.fixture
def scored() -> pd.DataFrame:
    """Forty customers with seeded predictions (several ties) and probabilities."""
    rng = np.random.default_rng(7)
    n_customers = 40
    return pd.DataFrame(
        {
            "customer_id": [f"C{number:03d}" for number in rng.permutation(n_customers)],
            "predicted_clv": rng.integers(0, 8, n_customers) * 12.5,
            "p_purchase": rng.random(n_customers),
        }
    )


@pytest.fixture
def features(scored: pd.DataFrame) -> pd.DataFrame:
    rng = np.random.default_rng(8)
    n_customers = len(scored)
    gaps = rng.uniform(5, 60, n_customers)
    gaps[::4] = np.nan  # one-time buyers
    return pd.DataFrame(
        {
            "days_since_last_purchase": rng.integers(0, 400, n_customers).astype(float),
            "mean_days_between_purchases": gaps,
            "n_orders": rng.integers(1, 20, n_customers).astype(float),
            "net_spend": rng.uniform(0, 900, n_customers),
            "channel": rng.choice(["app", "web"], n_customers),
        },
        index=pd.Index(scored["customer_id"], name="customer_id"),
    )


# --- TierScheme -------------------------------------------------------------------------------


def test_default_scheme_is_ten_twenty_forty_thirty_with_both_languages() -> None:
    scheme = TierScheme()
    assert scheme.kind is TierKind.QUANTILE
    assert scheme.shares == (0.10, 0.20, 0.40, 0.30)
    assert scheme.thresholds is None
    assert scheme.n_tiers == 4
    assert list(scheme.names("en")) == ENGLISH_TIERS
    assert list(scheme.names(Language.ZH)) == CHINESE_TIERS


def test_scheme_is_frozen_keyword_only_and_hashable() -> None:
    scheme = TierScheme(shares=[0.5, 0.5])  # a JSON list is accepted and stored as a tuple
    assert scheme.shares == (0.5, 0.5)
    assert hash(scheme) == hash(TierScheme(shares=(0.5, 0.5)))
    assert TierScheme() == TierScheme(shares=(0.1, 0.2, 0.4, 0.3))
    with pytest.raises(dataclasses.FrozenInstanceError, match="cannot assign to field 'kind'"):
        scheme.kind = TierKind.THRESHOLD  # type: ignore[misc]
    with pytest.raises(TypeError, match="positional argument"):
        TierScheme("quantile")  # type: ignore[misc]


def test_scheme_reports_all_problems_together() -> None:
    with pytest.raises(ConfigError, match="Invalid tier scheme") as caught:
        TierScheme(shares=(0.5, 0.6), names_en=("a", "a", "b"), names_zh=("甲",))
    problems = caught.value.problems
    assert len(problems) == 4
    assert "shares: [0.5, 0.6] must sum to 1, not 1.1" in problems
    assert "names_en: ['a', 'a', 'b'] must be distinct" in problems
    assert "names_en: 3 names given for 2 tiers; give one name per tier" in problems
    assert "names_zh: 1 names given for 2 tiers; give one name per tier" in problems


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"kind": "deciles"}, r"kind: 'deciles' is not one of \['quantile', 'threshold'\]"),
        ({"shares": (0.5, 0.0, 0.5)}, r"shares: \[0.5, 0.0, 0.5\] must all be positive"),
        ({"shares": (1.0,)}, "a scheme needs 2 to 10 tiers, this one has 1"),
        ({"shares": "0.5,0.5"}, "shares: '0.5,0.5' must be a list of numbers"),
        ({"thresholds": (100.0,)}, "thresholds: only used by kind 'threshold'"),
        ({"kind": "threshold"}, "threshold tiers need one or more money thresholds"),
        ({"kind": "threshold", "thresholds": (10, 100)}, "must be strictly descending"),
        ({"kind": "threshold", "thresholds": (100, 100)}, "must be strictly descending"),
        ({"kind": "threshold", "thresholds": (100, -5)}, "must all be positive"),
        (
            {"kind": "threshold", "thresholds": (100,), "shares": (0.5, 0.5)},
            "shares: only used by kind 'quantile'",
        ),
        ({"names_en": ("A", "B", "", "D")}, "names_en: .* must all be non-empty text"),
        ({"names_en": "ABCD"}, "names_en: 'ABCD' must be a list of tier names"),
    ],
)
def test_invalid_schemes_name_the_problem(options: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        TierScheme(**options)  # type: ignore[arg-type]


def test_default_names_follow_the_number_of_tiers() -> None:
    three = TierScheme(kind="threshold", thresholds=(500, 50))  # type: ignore[arg-type]
    assert three.names("en") == ("High value", "Regular", "Low value")
    assert three.names("zh") == ("高价值", "一般", "低价值")
    six = TierScheme(shares=(0.1, 0.1, 0.2, 0.2, 0.2, 0.2))
    assert six.names("en")[0] == "Tier 1" and six.names("zh")[-1] == "第6层"


def test_unknown_language_lists_the_valid_ones() -> None:
    with pytest.raises(ConfigError, match=r"language: 'fr' is not one of \['en', 'zh'\]"):
        TierScheme().names("fr")


# --- Tiers ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("n_customers", "expected"),
    [
        (10, [1, 2, 4, 3]),
        (7, [1, 1, 3, 2]),
        (100, [10, 20, 40, 30]),
        (1, [0, 0, 1, 0]),
        (0, [0] * 4),
    ],
)
def test_quantile_sizes_use_largest_remainders(n_customers: int, expected: list[int]) -> None:
    sizes = quantile_tier_sizes(n_customers, (0.10, 0.20, 0.40, 0.30))
    assert sizes.tolist() == expected


def test_shares_like_point_29_do_not_lose_a_customer_to_rounding() -> None:
    assert quantile_tier_sizes(100, (0.29, 0.71)).tolist() == [29, 71]


@settings(max_examples=150, deadline=None)
@given(
    values=st.lists(st.integers(min_value=0, max_value=4), min_size=0, max_size=80),
    shares=st.sampled_from(
        [(0.10, 0.20, 0.40, 0.30), (0.5, 0.5), (0.2, 0.3, 0.5), (0.01, 0.09, 0.9)]
    ),
    seed=st.integers(min_value=0, max_value=1000),
)
def test_tiers_partition_customers_with_sizes_and_order_respected(
    values: list[int], shares: tuple[float, ...], seed: int
) -> None:
    n_customers = len(values)
    ids = [f"id{number}" for number in np.random.default_rng(seed).permutation(n_customers)]
    predicted = pd.Series(np.asarray(values, dtype=float) * 10.0, index=ids)
    scheme = TierScheme(shares=shares)
    tiers = assign_tiers(predicted, scheme)

    # Every customer is in exactly one tier.
    assert tiers.index.equals(predicted.index)
    assert tiers.notna().all()
    codes = tiers.cat.codes.to_numpy()
    # Sizes follow the shares within one customer.
    sizes = np.bincount(codes, minlength=len(shares))
    assert sizes.sum() == n_customers
    assert np.all(np.abs(sizes - n_customers * np.asarray(shares)) < 1)
    # Monotone: a higher tier never holds a lower prediction than a lower tier.
    for upper in range(len(shares) - 1):
        higher = predicted[codes <= upper]
        lower = predicted[codes > upper]
        if len(higher) and len(lower):
            assert higher.min() >= lower.max()
    # Deterministic: the input order does not matter.
    shuffled = predicted.sample(frac=1.0, random_state=seed)
    assert assign_tiers(shuffled, scheme).reindex(predicted.index).equals(tiers)


def test_ties_on_a_boundary_are_split_by_customer_id() -> None:
    predicted = pd.Series([5.0, 5.0, 5.0, 1.0], index=["c", "a", "b", "d"])
    tiers = assign_tiers(predicted, TierScheme(shares=(0.5, 0.5)), "en")
    assert tiers.to_dict() == {
        "c": "Low value",
        "a": "High value",
        "b": "High value",
        "d": "Low value",
    }


def test_tiers_are_ordered_categoricals_with_the_top_tier_first() -> None:
    predicted = pd.Series(np.arange(10.0), index=[f"{n:05d}" for n in range(10)])
    tiers = assign_tiers(predicted, language="zh")
    assert tiers.name == "tier"
    assert tiers.cat.ordered
    assert list(tiers.cat.categories) == CHINESE_TIERS
    assert tiers["00009"] == "高价值"
    assert tiers[["00007", "00008"]].tolist() == ["潜力", "潜力"]
    assert (tiers.cat.codes == 3).sum() == 3


def test_threshold_tiers_put_a_customer_on_a_threshold_in_the_higher_tier() -> None:
    scheme = TierScheme(
        kind=TierKind.THRESHOLD,
        thresholds=(1000, 300, 50),
        names_en=("Gold", "Silver", "Bronze", "Basic"),
    )
    predicted = pd.Series(
        [1500.0, 1000.0, 999.99, 300.0, 50.0, 49.9, 0.0],
        index=["a", "b", "c", "d", "e", "f", "g"],
    )
    tiers = assign_tiers(predicted, scheme)
    assert tiers.tolist() == ["Gold", "Gold", "Silver", "Silver", "Bronze", "Basic", "Basic"]


def test_tiers_reject_missing_predictions_and_repeated_ids() -> None:
    with pytest.raises(DataError, match=r"1 customers have a missing or non-numeric predicted_clv"):
        assign_tiers(pd.Series([1.0, np.nan], index=["a", "b"]))
    with pytest.raises(DataError, match=r"1 customer ids appear more than once.*\['a'\]"):
        assign_tiers(pd.Series([1.0, 2.0], index=["a", "a"]))


# --- Churn bands ------------------------------------------------------------------------------


def test_churn_band_boundaries_are_medium_on_both_sides() -> None:
    p_purchase = pd.Series(
        [0.67, 0.34, 0.6701, 0.3399, 1.0, 0.0, 0.5],
        index=["risk .33", "risk .66", "risk .3299", "risk .6601", "sure", "never", "half"],
    )
    bands = churn_bands(p_purchase, horizon_days=90)
    assert bands.to_dict() == {
        "risk .33": "Medium",
        "risk .66": "Medium",
        "risk .3299": "Low",
        "risk .6601": "High",
        "sure": "Low",
        "never": "High",
        "half": "Medium",
    }
    assert bands.name == "churn_band"
    assert list(bands.cat.categories) == ["Low", "Medium", "High"] and bands.cat.ordered


def test_churn_bands_in_chinese_and_with_custom_thresholds() -> None:
    p_purchase = pd.Series([0.9, 0.5, 0.1], index=["a", "b", "c"])
    assert churn_bands(p_purchase, horizon_days=30, language="zh").tolist() == ["低", "中", "高"]
    wide = churn_bands(p_purchase, horizon_days=30, thresholds=(0.05, 0.95))
    assert wide.tolist() == ["Medium", "Medium", "Medium"]


def test_recency_rule_compares_with_own_gap_or_the_horizon() -> None:
    ids = ["due", "on gap", "twice gap", "overdue", "new", "at horizon", "lapsed"]
    days = pd.Series([5.0, 10.0, 20.0, 21.0, 89.0, 90.0, 181.0], index=ids)
    gaps = pd.Series([10.0, 10.0, 10.0, 10.0, np.nan, np.nan, np.nan], index=ids)
    bands = churn_bands(
        None, days_since_last_purchase=days, mean_days_between_purchases=gaps, horizon_days=90
    )
    assert bands.tolist() == ["Low", "Medium", "Medium", "High", "Low", "Medium", "High"]
    # Without gaps every customer is compared with the horizon.
    assert churn_bands(None, days_since_last_purchase=days, horizon_days=10).tolist() == [
        "Low",
        "Medium",
        "Medium",
        "High",
        "High",
        "High",
        "High",
    ]


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (
            lambda: churn_bands(None, horizon_days=30),
            DataError,
            r"need the model's P\(purchase\) \(a ZILN model\) or each customer's days since",
        ),
        (
            lambda: churn_bands(pd.Series([1.2], index=["a"]), horizon_days=30),
            DataError,
            r"1 values of p_purchase are outside \[0, 1\]",
        ),
        (
            lambda: churn_bands(pd.Series([np.nan], index=["a"]), horizon_days=30),
            DataError,
            "missing or non-numeric p_purchase",
        ),
        (
            lambda: churn_bands(
                None, days_since_last_purchase=pd.Series([-1.0], index=["a"]), horizon_days=30
            ),
            DataError,
            "must not be negative",
        ),
        (
            lambda: churn_bands(pd.Series([0.5]), horizon_days=0),
            ConfigError,
            "horizon_days must be a positive number of days, got 0",
        ),
        (
            lambda: churn_bands(pd.Series([0.5]), horizon_days=30, thresholds=(0.7, 0.3)),
            ConfigError,
            r"thresholds: \[0.7, 0.3\] must be two numbers with 0 < low < high < 1",
        ),
        (
            lambda: churn_bands(pd.Series([0.5]), horizon_days=30, recency_ratios=(2, 2)),
            ConfigError,
            r"recency_ratios: \[2, 2\] must be two numbers with 0 < low < high",
        ),
    ],
)
def test_churn_band_errors(call: object, error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        call()  # type: ignore[operator]


# --- Actions ----------------------------------------------------------------------------------


def test_action_grid_constant_has_twelve_distinct_bilingual_cells() -> None:
    cells = [ACTION_LABELS[code] for row in ACTION_GRID for code in row]
    assert len(ACTION_GRID) == 4 and all(len(row) == 3 for row in ACTION_GRID)
    assert len({en for en, _ in cells}) == 12 and len({zh for _, zh in cells}) == 12
    assert ACTION_LABELS[ACTION_GRID[0][2]] == ("Win back now", "立即挽回")
    assert ACTION_LABELS[ACTION_GRID[0][0]][0] == "Reward and retain"
    assert ACTION_LABELS[ACTION_GRID[3][2]][0] == "Do not spend"


@pytest.mark.parametrize(
    ("n_tiers", "rows"),
    [(2, [0, 3]), (3, [0, 2, 3]), (4, [0, 1, 2, 3]), (5, [0, 1, 2, 2, 3]), (10, None)],
)
def test_grid_rows_map_tiers_by_relative_position(n_tiers: int, rows: list[int] | None) -> None:
    mapped = [grid_row(position, n_tiers) for position in range(n_tiers)]
    if rows is not None:
        assert mapped == rows
    assert mapped[0] == 0 and mapped[-1] == 3
    assert mapped == sorted(mapped)


def test_action_grid_covers_every_cell_and_counts_everyone(scored: pd.DataFrame) -> None:
    indexed = scored.set_index("customer_id")
    tiers = assign_tiers(indexed["predicted_clv"])
    bands = churn_bands(indexed["p_purchase"], horizon_days=90)
    grid = action_grid(tiers, bands, predicted=indexed["predicted_clv"])
    assert len(grid) == 12
    assert grid[["tier", "churn_band"]].drop_duplicates().shape[0] == 12
    assert set(grid["action"]) == set(action_labels(4))
    assert grid["n_customers"].sum() == len(scored)
    assert grid["share_of_customers"].sum() == pytest.approx(1.0)
    assert grid["predicted_revenue"].sum() == pytest.approx(indexed["predicted_clv"].sum())
    assert grid["share_of_predicted_revenue"].sum() == pytest.approx(1.0)
    top_high = grid[(grid["tier"] == "High value") & (grid["churn_band"] == "High")]
    assert top_high["action"].item() == "Win back now"
    expected = ((tiers == "High value") & (bands == "High")).sum()
    assert top_high["n_customers"].item() == expected


def test_actions_follow_the_grid_in_chinese_and_for_three_tiers() -> None:
    predicted = pd.Series([900.0, 100.0, 10.0], index=["a", "b", "c"])
    scheme = TierScheme(kind="threshold", thresholds=(500, 50))  # type: ignore[arg-type]
    tiers = assign_tiers(predicted, scheme, "zh")
    bands = churn_bands(pd.Series([0.1, 0.5, 0.1], index=["a", "b", "c"]), horizon_days=30)
    actions = assign_actions(tiers, bands, "zh")
    # Three tiers use the rows High value, Regular and Low value.
    assert actions.tolist() == ["立即挽回", "低成本提醒", "不再投入"]
    grid = action_grid(tiers, bands, language="zh")
    assert len(grid) == 9 and "predicted_revenue" not in grid.columns


def test_actions_need_the_categorical_outputs() -> None:
    tiers = pd.Series(["High value"], index=["a"])
    bands = churn_bands(pd.Series([0.5], index=["a"]), horizon_days=30)
    with pytest.raises(TypeError, match="tiers must be the categorical Series returned by"):
        assign_actions(tiers, bands)


# --- segment_customers ------------------------------------------------------------------------


def test_segment_customers_ranks_and_labels_everyone(scored: pd.DataFrame) -> None:
    segmented = segment_customers(scored, horizon_days=90)
    assert list(segmented.columns) == [
        *scored.columns,
        "rank",
        "percentile",
        "tier",
        "churn_band",
        "action",
    ]
    assert segmented["rank"].tolist() == list(range(1, len(scored) + 1))
    assert segmented["percentile"].iloc[0] == 100.0
    assert segmented["percentile"].iloc[-1] == pytest.approx(100.0 / len(scored))
    assert segmented["predicted_clv"].is_monotonic_decreasing
    # Ties are ranked by customer id.
    for _, group in segmented.groupby("predicted_clv"):
        assert group["customer_id"].is_monotonic_increasing
    assert segmented[["tier", "churn_band", "action"]].notna().all().all()
    assert set(segmented["customer_id"]) == set(scored["customer_id"])
    merged = segmented.merge(scored, on="customer_id", suffixes=("", "_input"))
    assert (merged["p_purchase"] == merged["p_purchase_input"]).all()


def test_segment_customers_uses_recency_without_p_purchase(
    scored: pd.DataFrame, features: pd.DataFrame
) -> None:
    without_probability = scored.drop(columns="p_purchase")
    segmented = segment_customers(
        without_probability, features, horizon_days=90, language=Language.ZH
    )
    indexed = segmented.set_index("customer_id")
    expected = churn_bands(
        None,
        days_since_last_purchase=features["days_since_last_purchase"],
        mean_days_between_purchases=features["mean_days_between_purchases"],
        horizon_days=90,
        language="zh",
    )
    assert indexed["churn_band"].reindex(expected.index).tolist() == expected.tolist()
    assert set(indexed["tier"]) <= set(CHINESE_TIERS)


def test_segment_customers_leaves_bands_missing_without_any_churn_signal(
    scored: pd.DataFrame,
) -> None:
    segmented = segment_customers(scored.drop(columns="p_purchase"), horizon_days=90)
    assert segmented["churn_band"].isna().all() and segmented["action"].isna().all()
    assert list(segmented["churn_band"].cat.categories) == ["Low", "Medium", "High"]
    assert segmented["tier"].notna().all()
    with pytest.raises(ConfigError, match="horizon_days must be a positive"):
        segment_customers(scored.drop(columns="p_purchase"), horizon_days=-1)


def test_segment_customers_errors(scored: pd.DataFrame, features: pd.DataFrame) -> None:
    with pytest.raises(DataError, match=r"lacks the column\(s\) \['predicted_clv'\]"):
        segment_customers(scored.drop(columns="predicted_clv"), horizon_days=30)
    with pytest.raises(DataError, match="2 scored customers have no features"):
        segment_customers(scored.drop(columns="p_purchase"), features.iloc[2:], horizon_days=30)
    twice = pd.concat([scored, scored.head(1)])
    with pytest.raises(DataError, match="1 customer ids appear more than once in the scored"):
        segment_customers(twice, horizon_days=30)


# --- Profiles ---------------------------------------------------------------------------------


def test_profile_sizes_and_shares_add_up(scored: pd.DataFrame, features: pd.DataFrame) -> None:
    segmented = segment_customers(scored, horizon_days=90)
    actual = pd.Series(
        np.random.default_rng(9).uniform(0, 100, len(scored)),
        index=scored["customer_id"],
    )
    profile = segment_profile(
        segmented, group_by=("tier", "churn_band"), features=features, actual=actual
    )
    assert len(profile) == 12
    assert profile["n_customers"].sum() == len(scored)
    assert profile["share_of_customers"].sum() == pytest.approx(1.0)
    assert profile["predicted_revenue"].sum() == pytest.approx(scored["predicted_clv"].sum())
    assert profile["share_of_predicted_revenue"].sum() == pytest.approx(1.0)
    assert profile["actual_revenue"].sum() == pytest.approx(actual.sum())
    assert profile["share_of_actual_revenue"].sum() == pytest.approx(1.0)
    assert {"mean_n_orders", "mean_net_spend", "mean_days_since_last_purchase"} <= set(
        profile.columns
    )


def test_profile_means_by_hand() -> None:
    segmented = pd.DataFrame(
        {
            "customer_id": ["a", "b", "c", "d"],
            "predicted_clv": [100.0, 60.0, 30.0, 10.0],
            "tier": pd.Categorical(["Top", "Top", "Rest", "Rest"], categories=["Top", "Rest"]),
            "n_orders": [4.0, 2.0, 1.0, 1.0],
        }
    )
    actual = pd.Series([80.0, 0.0, 20.0], index=["a", "b", "c"])  # d unknown
    profile = segment_profile(segmented, actual=actual).set_index("tier")
    assert profile.loc["Top", "n_customers"] == 2
    assert profile.loc["Top", "share_of_predicted_revenue"] == pytest.approx(0.8)
    assert profile.loc["Top", "mean_predicted_clv"] == 80.0
    assert profile.loc["Top", "mean_n_orders"] == 3.0
    assert profile.loc["Rest", "actual_revenue"] == 20.0
    assert profile.loc["Rest", "mean_actual_clv"] == 20.0
    assert profile.loc["Top", "share_of_actual_revenue"] == pytest.approx(0.8)
    assert list(profile.index) == ["Top", "Rest"]


def test_profile_option_errors_list_the_choices(
    scored: pd.DataFrame, features: pd.DataFrame
) -> None:
    segmented = segment_customers(scored, horizon_days=90)
    with pytest.raises(ConfigError, match=r"group_by: unknown column\(s\) \['segment'\]; choose"):
        segment_profile(segmented, group_by=("segment",))
    with pytest.raises(ConfigError, match=r"key_features: unknown column\(s\) \['aov'\]"):
        segment_profile(segmented, key_features=("aov",))
    with pytest.raises(ConfigError, match="'channel' is not numeric"):
        segment_profile(segmented, features=features, key_features=("channel",))
    unrelated = pd.Series([1.0], index=["nobody"])
    with pytest.raises(DataError, match="share no customer id"):
        segment_profile(segmented, actual=unrelated)


def test_segment_codes_do_not_depend_on_the_language(scored: pd.DataFrame) -> None:
    english = segment_customers(scored, horizon_days=90)
    chinese = segment_customers(scored, horizon_days=90, language="zh")
    codes = segment_codes(english)
    pd.testing.assert_frame_equal(codes, segment_codes(chinese))
    assert list(codes.columns) == ["tier_code", "churn_band_code", "action_code"]
    top = english["tier"] == "High value"
    assert set(codes.loc[top, "tier_code"]) == {"tier_1"}
    assert set(codes.loc[english["tier"] == "Low value", "tier_code"]) == {"tier_4"}
    for band, code in (("Low", "low"), ("Medium", "medium"), ("High", "high")):
        assert set(codes.loc[english["churn_band"] == band, "churn_band_code"]) <= {code}
    for label, code in zip(english["action"], codes["action_code"], strict=True):
        assert ACTION_LABELS[code][0] == label
    without_bands = segment_customers(scored.drop(columns="p_purchase"), horizon_days=90)
    bare = segment_codes(without_bands)
    assert bare["churn_band_code"].isna().all() and bare["action_code"].isna().all()
    assert bare["tier_code"].notna().all()
