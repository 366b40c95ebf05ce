"""The catalogue of labels: every code the engine emits has an English and a Chinese label."""

from __future__ import annotations

import pandas as pd
import pytest

from clv_core.catalogue import (
    ACTION_LABELS,
    BAND_LABELS,
    FEATURE_LABELS,
    ISSUE_LABELS,
    feature_label,
    format_contribution,
    format_value,
    pick,
    tier_code,
    tier_names,
)
from clv_core.errors import ConfigError
from clv_core.features import LABEL_COLUMN
from clv_core.issues import ISSUE_DESCRIPTIONS, RowIssue
from clv_core.segments import ACTION_GRID, ChurnBand


def test_every_code_has_two_distinct_non_empty_labels() -> None:
    assert set(ISSUE_LABELS) == {issue.value for issue in RowIssue}
    assert set(BAND_LABELS) == {band.value for band in ChurnBand}
    assert set(ACTION_LABELS) == {code for row in ACTION_GRID for code in row}
    for table in (ISSUE_LABELS, BAND_LABELS, ACTION_LABELS, FEATURE_LABELS):
        for english, chinese in table.values():
            assert english.strip() and chinese.strip()
    for issue in RowIssue:
        assert ISSUE_DESCRIPTIONS[issue] == ISSUE_LABELS[issue.value][0]


def test_every_built_in_feature_is_labelled(small_training_table: pd.DataFrame) -> None:
    names = [name for name in small_training_table.columns if name != LABEL_COLUMN]
    # Chinese labels differ from every code name, so an unlabelled feature shows up here.
    assert [name for name in names if feature_label(name, "zh") == name] == []


def test_feature_labels_by_name_and_pattern() -> None:
    assert feature_label("orders_last_90d") == "orders in last 90 days"
    assert feature_label("orders_last_90d", "zh") == "近90天订单数"
    assert feature_label("spend_last_45d") == "spend in last 45 days"
    assert feature_label("days_since_signup", "zh") == "注册至今天数"
    assert feature_label("days_since_last_visit") == "days since last visit"
    assert feature_label("channel", "zh") == "获客渠道"
    assert feature_label("用户等级") == "用户等级"
    assert feature_label("my_custom_score", "zh") == "my_custom_score"
    with pytest.raises(ConfigError, match=r"language: 'fr' is not one of \['en', 'zh'\]"):
        feature_label("n_orders", "fr")


def test_tiers_have_codes_by_position_and_default_names() -> None:
    assert [tier_code(position) for position in range(3)] == ["tier_1", "tier_2", "tier_3"]
    assert tier_names(4) == ("High value", "Potential", "Regular", "Low value")
    assert tier_names(3, "zh") == ("高价值", "一般", "低价值")
    assert tier_names(5) == ("Tier 1", "Tier 2", "Tier 3", "Tier 4", "Tier 5")
    assert tier_names(6, "zh")[-1] == "第6层"
    assert pick(BAND_LABELS["high"], "zh") == "高"


def test_values_and_contributions_in_words() -> None:
    assert format_value(4.0) == "4"
    assert format_value(175.666667) == "175.67"
    assert format_value(12345.678) == "12346"
    assert format_value(0.04104) == "0.041"
    assert format_value(float("nan"), "zh") == "缺失"
    assert format_value(None) == "missing"
    assert format_value("social") == "social"
    assert format_contribution(312.54) == "+312.5"
    assert format_contribution(-0.004) == "-0.004"
    assert format_contribution(0.0) == "+0"
