"""New customers checked against the table a model was trained on: one clear message per fault."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from clv_core.errors import DataError
from clv_core.validation import TableSpec, validate_customer_table, validate_new_customers

SPEC = TableSpec(
    id_column="用户ID",
    target_column="终身价值",
    numeric_columns=("购买次数", "平均购买金额"),
    categorical_columns=("渠道",),
    date_columns=("注册时间",),
    reference_date="2024-12-31",
)


def _table(rows: int = 6) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "用户ID": [f"U{number}" for number in range(rows)],
            "注册时间": pd.date_range("2024-01-01", periods=rows, freq="7D").strftime("%Y-%m-%d"),
            "购买次数": [str(number % 4 + 1) for number in range(rows)],
            "平均购买金额": ["¥1,200.50", "80", "45.5", "300", "12", "99"][:rows],
            "渠道": ["app", "web", "小程序", "app", "web", "app"][:rows],
        }
    )


def test_a_table_like_the_training_one_is_typed_as_in_training() -> None:
    checked = validate_new_customers(_table(), SPEC, source_name="new.csv")
    assert list(checked.features.columns) == [
        "购买次数",
        "平均购买金额",
        "渠道",
        "days_since_注册时间",
    ]
    assert checked.features.index.tolist() == [f"U{number}" for number in range(6)]
    assert checked.features["平均购买金额"].iloc[0] == 1200.5
    # Dates count back from the newest date of this table unless one is given.
    assert checked.reference_date == pd.Timestamp("2024-02-05")
    assert checked.features["days_since_注册时间"].tolist() == [35, 28, 21, 14, 7, 0]
    given = validate_new_customers(_table(), SPEC, reference_date=dt.date(2024, 3, 1))
    assert given.features["days_since_注册时间"].iloc[-1] == 25
    assert checked.known_value is None and checked.ignored_columns == ()
    assert checked.report.rows_read == checked.report.rows_used == 6


def test_extra_columns_are_ignored_and_named_and_the_target_is_kept() -> None:
    table = _table().assign(备注="x", 终身价值=["10", "0", "", "5", "-3", "8"])
    checked = validate_new_customers(table, SPEC)
    assert checked.ignored_columns == ("备注",)
    assert any("备注" in warning for warning in checked.report.warnings)
    assert checked.known_value is not None
    np.testing.assert_array_equal(checked.known_value.to_numpy(), [10, 0, np.nan, 5, 0, 8])


def test_rows_without_ids_repeated_ids_and_unreadable_values_are_counted() -> None:
    table = _table()
    table.loc[1, "用户ID"] = ""
    table.loc[3, "用户ID"] = "U0"
    table.loc[4, "购买次数"] = "many"
    checked = validate_new_customers(table, SPEC)
    assert checked.report.rows_used == 4
    assert checked.report.dropped == {"missing_customer_id": 1, "duplicate_customer_id": 1}
    assert checked.report.altered == {"unparsable_value_set_missing": 1}
    assert checked.report.examples["unparsable_value_set_missing"] == ("row 6: 购买次数='many'",)
    assert np.isnan(checked.features.loc["U4", "购买次数"])


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda t: t.drop(columns=["平均购买金额", "渠道"]),
            r"lacks 2 column\(s\) the model was "
            r"trained on: \['平均购买金额', '渠道'\]",
        ),
        (
            lambda t: t.assign(购买次数="lots"),
            r"Column '购买次数' .* holds no number \(row 2: 'lots'",
        ),
        (lambda t: t.assign(注册时间="soon"), r"Column '注册时间' .* holds no date"),
        (lambda t: t.iloc[:0], "has no rows of customers"),
        (
            lambda t: t.rename(columns={"用户ID": "x"}).assign(x=""),
            "no customer id column|No row of the table new.csv has a customer id",
        ),
    ],
)
def test_unusable_tables_get_one_clear_message(change: object, message: str) -> None:
    with pytest.raises(DataError, match=message):
        validate_new_customers(change(_table()), SPEC, source_name="new.csv")  # type: ignore[operator]


def test_the_spec_of_a_training_table_round_trips_through_json() -> None:
    training = _table().assign(终身价值=["10", "0", "3", "5", "0", "8"])
    table = validate_customer_table(training)
    spec = table.spec
    assert spec.id_column == "用户ID" and spec.target_column == "终身价值"
    assert spec.numeric_columns == ("购买次数", "平均购买金额")
    assert spec.categorical_columns == ("渠道",) and spec.date_columns == ("注册时间",)
    assert TableSpec.from_dict(spec.to_dict()) == spec
    units = {column["name"]: column["unit"] for column in spec.to_dict()["columns"]}
    assert units["注册时间"] == "days before the table's reference date"


def test_row_numbers_start_where_the_file_data_starts() -> None:
    table = _table()
    table.loc[0, "用户ID"] = ""
    checked = validate_new_customers(table, SPEC, first_row=5)
    assert checked.report.examples["missing_customer_id"] == ("row 5",)
