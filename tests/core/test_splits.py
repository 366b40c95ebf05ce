"""Customer split, out-of-time windows and minimum-data checks."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from clv_core.errors import ConfigError, DataError
from clv_core.splits import (
    SplitKind,
    check_minimum_data,
    deployment_windows,
    split_customers,
    time_windows,
)


def test_customer_split_is_seeded_disjoint_and_order_independent() -> None:
    ids = pd.Index([f"c{i}" for i in range(1000)])
    split = split_customers(ids, test_size=0.2, seed=7)
    assert len(split.test) == 200 and len(split.train) == 800
    assert split.train.intersection(split.test).empty
    assert split.train.union(split.test).equals(pd.Index(sorted(ids)))
    shuffled = ids[np.random.default_rng(1).permutation(len(ids))]
    again = split_customers(shuffled, test_size=0.2, seed=7)
    assert again.test.equals(split.test)
    other = split_customers(ids, test_size=0.2, seed=8)
    assert not other.test.equals(split.test)


@pytest.mark.parametrize("test_size", [0.0, 1.0, -0.1, 0.0001])
def test_customer_split_rejects_bad_sizes(test_size: float) -> None:
    with pytest.raises(ConfigError, match="test"):
        split_customers(pd.Index(["a", "b", "c"]), test_size=test_size)


def test_time_windows() -> None:
    customer = time_windows("2024-06-30", 90, "customer")
    assert customer.train_cutoff == customer.evaluation_cutoff == pd.Timestamp("2024-06-30")
    out_of_time = time_windows("2024-06-30", 90, SplitKind.TIME)
    assert out_of_time.train_cutoff == pd.Timestamp("2024-04-01")
    assert out_of_time.train_label_end == pd.Timestamp("2024-06-30")
    assert out_of_time.evaluation_label_end == pd.Timestamp("2024-09-28")
    deployment = deployment_windows("2024-12-31", 365)
    assert deployment.train_cutoff == pd.Timestamp("2024-01-01")  # 2024 is a leap year
    with pytest.raises(ConfigError, match=r"choose one of \['customer', 'time'\]"):
        time_windows("2024-06-30", 90, "random")
    with pytest.raises(ConfigError, match="horizon_days"):
        time_windows("2024-06-30", 0, "customer")


def make_log(n_customers: int, start: str = "2023-01-01", days: int = 500) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    n_rows = n_customers * 4
    return pd.DataFrame(
        {
            "customer_id": [f"c{i % n_customers}" for i in range(n_rows)],
            "order_date": pd.Timestamp(start) + pd.to_timedelta(rng.integers(0, days, n_rows), "D"),
            "amount": rng.gamma(2, 20, n_rows),
        }
    )


def test_minimum_data_passes_with_warnings_for_small_data() -> None:
    log = make_log(200)
    warnings = check_minimum_data(log, time_windows("2023-12-31", 90, "customer"))
    assert any("Only" in warning and "customers" in warning for warning in warnings)


def test_minimum_data_lists_every_impossible_condition() -> None:
    log = make_log(30, days=200)
    with pytest.raises(DataError, match="cannot support") as caught:
        check_minimum_data(log, time_windows("2023-04-01", 120, "time"))
    problems = " | ".join(caught.value.problems)
    assert "before the data starts" in problems
    assert "Evaluation labels need data up to 2023-07-30" in problems
    with pytest.raises(DataError, match="at least 50 are needed"):
        check_minimum_data(log, time_windows("2023-05-01", 30, "customer"))


def test_minimum_data_warns_without_repeat_buyers() -> None:
    log = pd.DataFrame(
        {
            "customer_id": [f"c{i}" for i in range(60)] + ["c0"],
            "order_date": [pd.Timestamp("2024-01-01")] * 60 + [pd.Timestamp("2024-12-01")],
            "amount": [10.0] * 61,
        }
    )
    warnings = check_minimum_data(log, time_windows("2024-06-30", 90, "customer"))
    assert any("more than one day" in warning for warning in warnings)
