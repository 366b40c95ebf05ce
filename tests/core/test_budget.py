"""The budget planner (clv_core.budget): who is contacted, what it brings, its band and curve."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from clv_core.budget import NET_PROFIT_COLUMN, BudgetRequest, plan_budget
from clv_core.errors import ConfigError, DataError


def _listing() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "customer_id": ["a", "b", "c", "d", "e"],
            "predicted_profit": [50.0, 5.0, 30.0, 30.0, 1.0],
            "clv_lower": [0.0, 0.0, 10.0, 10.0, 0.0],
            "clv_upper": [100.0, 20.0, 50.0, 50.0, 5.0],
        }
    )


def test_the_budget_goes_to_the_highest_net_profit_first() -> None:
    plan = plan_budget(_listing(), BudgetRequest(budget=25.0, cost_per_contact=10.0))
    # Two contacts are paid for; c and d tie at 30 and the smaller id wins.
    assert plan.selected["customer_id"].tolist() == ["a", "c"]
    assert plan.selected[NET_PROFIT_COLUMN].tolist() == [40.0, 20.0]
    assert plan.contacts == 2 and plan.cost == 20.0
    assert plan.expected_profit == 80.0 and plan.expected_net_profit == 60.0
    assert plan.worth_contacting == 3 and plan.limited_by() == "budget"
    # 80% band: sd = width / (2 * 1.2816) per customer, summed in quadrature.
    sd = np.array([100.0, 40.0]) / (2 * 1.2815515655446004)
    half = 1.2815515655446004 * np.sqrt((sd**2).sum())
    assert plan.profit_low == pytest.approx(80.0 - half)
    assert plan.profit_high == pytest.approx(80.0 + half)
    summary = plan.summary()
    assert summary["contacts"] == 2 and summary["expected_profit_80"][0] < 80


def test_nobody_is_contacted_at_a_loss() -> None:
    plan = plan_budget(_listing(), BudgetRequest(budget=1000.0, cost_per_contact=10.0))
    assert plan.selected["customer_id"].tolist() == ["a", "c", "d"]
    assert plan.limited_by() == "customers"
    curve = plan.curve
    assert curve["contacts"].tolist() == [0, 1, 2, 3, 4, 5]
    assert curve["profit"].tolist() == [0.0, 50.0, 80.0, 110.0, 115.0, 116.0]
    assert curve["net_profit"].idxmax() == 3
    assert (curve["low"] <= curve["profit"]).all() and (curve["high"] >= curve["profit"]).all()


def test_the_row_order_does_not_change_the_plan() -> None:
    request = BudgetRequest(budget=30.0, cost_per_contact=10.0)
    first = plan_budget(_listing(), request)
    second = plan_budget(_listing().iloc[::-1], request)
    pd.testing.assert_frame_equal(first.selected, second.selected)


def test_profit_factor_scales_the_band_and_no_interval_gives_none() -> None:
    listing = _listing()
    factor = pd.Series(0.5, index=listing["customer_id"])
    request = BudgetRequest(budget=10.0, cost_per_contact=10.0)
    full = plan_budget(listing, request)
    half = plan_budget(listing, request, profit_factor=factor)
    assert half.profit_high - half.expected_profit == pytest.approx(
        (full.profit_high - full.expected_profit) / 2
    )
    bare = plan_budget(listing[["customer_id", "predicted_profit"]], request)
    assert bare.profit_low is None and bare.summary()["expected_profit_80"] is None


def test_bad_budgets_are_clear_errors() -> None:
    with pytest.raises(ConfigError, match="does not pay for one contact"):
        BudgetRequest(budget=5.0, cost_per_contact=10.0)
    with pytest.raises(ConfigError, match="positive amount"):
        BudgetRequest(budget=100.0, cost_per_contact=0.0)
    with pytest.raises(ConfigError, match="budget must be a positive"):
        BudgetRequest(budget=float("nan"), cost_per_contact=1.0)
    with pytest.raises(DataError, match="predicted_profit"):
        plan_budget(_listing().drop(columns="predicted_profit"), BudgetRequest(10.0, 1.0))


def test_the_band_reads_the_interval_coverage_and_the_chance_of_buying() -> None:
    request = BudgetRequest(budget=10.0, cost_per_contact=10.0)
    listing = _listing()
    eighty = plan_budget(listing, request)
    ninety = plan_budget(listing, request, interval_coverage=0.9)
    # A 90% interval of the same width is a narrower spread.
    assert ninety.profit_high - 50.0 == pytest.approx(
        (eighty.profit_high - 50.0) * 1.2815515655446004 / 1.6448536269514722
    )
    buying = listing.assign(predicted_clv=listing["predicted_profit"], p_purchase=0.5)
    unsure = plan_budget(buying, request)
    sd = np.sqrt((100.0 / (2 * 1.2815515655446004)) ** 2 + 50.0**2 * 0.5 / 0.5)
    assert unsure.profit_high == pytest.approx(50.0 + 1.2815515655446004 * sd)


def test_missing_values_never_make_a_wrong_plan() -> None:
    request = BudgetRequest(budget=100.0, cost_per_contact=1.0)
    gaps = _listing().assign(
        predicted_profit=[50.0, np.nan, 30.0, 30.0, 1.0], clv_upper=[100.0, 20.0, np.nan, 50, 5]
    )
    plan = plan_budget(gaps, request)
    assert "b" not in set(plan.selected["customer_id"])
    assert plan.profit_low is None, "a chosen customer has no interval"
    with pytest.raises(DataError, match="customer_id"):
        plan_budget(_listing().drop(columns="customer_id"), request)
    with pytest.raises(DataError, match="repeat"):
        plan_budget(pd.concat([_listing(), _listing()]), request)
