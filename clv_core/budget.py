"""The budget planner: whom to contact with a given budget, and what that is expected to bring.

Every contact costs the same (``cost_per_contact``: a mailing, a voucher's cost, a call), so
the most profitable way to spend a budget ``B`` is to contact the customers with the highest
expected profit net of that cost, ``predicted_profit - cost``, in that order, as long as the
net is positive and the money lasts: at most ``floor(B / cost)`` customers. Customers can be
restricted beforehand to some value tiers or churn bands (the campaign list's filters).

The expected profit captured is the sum of the selected customers' ``predicted_profit``. Its
uncertainty comes from the network's intervals (``clv_lower``, ``clv_upper``, of coverage
``c``, 80% by default) and its ``p_purchase``: each customer's variance is taken as
``((upper - lower) / (2 z))^2 + m^2 (1 - p) / p``, with ``z`` the normal quantile of
``(1 + c) / 2`` and ``m`` the prediction, all scaled to profit like the prediction. The first
term reads the interval as a normal spread, the second is the spread of buying at all (a
customer who buys with probability ``p`` and then spends ``m / p`` on average). The sum of many
independent customers is close to normal, so the 80% band of the total is the sum plus or minus
``1.2816 * sqrt(sum of the variances)``. Spend is skewed (lognormal), so this band is, if
anything, too narrow; read it as the least uncertainty to expect. Models without intervals, or
a selection with a customer whose interval is missing, give no band.

The curve of profit captured against budget (:attr:`BudgetPlan.curve`) shows where the next
contact stops paying for itself.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import pandas as pd

from clv_core.errors import ConfigError, DataError

__all__ = ["NET_PROFIT_COLUMN", "BudgetPlan", "BudgetRequest", "plan_budget"]

# The normal quantile of the 10% and 90% points: an 80% interval is mean +- Z80 * sd.
Z80: Final = 1.2815515655446004
# Probabilities of purchase are read as at least this (a customer at p = 0 adds no spread).
_MIN_P: Final = 0.01
# The column the selected list gains: expected profit minus the cost of the contact.
NET_PROFIT_COLUMN: Final = "expected_net_profit"
# The curve is drawn with at most this many points.
CURVE_POINTS: Final = 400


@dataclass(frozen=True, slots=True)
class BudgetRequest:
    """A marketing budget and what one contact costs, in the list's currency."""

    budget: float
    cost_per_contact: float

    def __post_init__(self) -> None:
        problems = []
        cost_ok = _number(self.cost_per_contact) and self.cost_per_contact > 0
        if not cost_ok:
            problems.append(
                f"the cost per contact must be a positive amount, got {self.cost_per_contact!r}."
            )
        if not _number(self.budget) or self.budget <= 0:
            problems.append(f"the budget must be a positive amount, got {self.budget!r}.")
        elif cost_ok and self.budget < self.cost_per_contact:
            problems.append(
                f"a budget of {self.budget:,.2f} does not pay for one contact at "
                f"{self.cost_per_contact:,.2f}; give a budget of at least one contact."
            )
        if problems:
            raise ConfigError("The budget plan is not valid.", problems=problems)

    @property
    def max_contacts(self) -> int:
        """How many contacts the budget pays for."""
        return math.floor(self.budget / self.cost_per_contact + 1e-9)


def _number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


@dataclass(frozen=True, slots=True)
class BudgetPlan:
    """Who to contact and what it is expected to bring.

    ``selected``: the chosen rows of the list, highest expected net profit first, with
    :data:`NET_PROFIT_COLUMN`. ``candidates``: customers the plan chose from (after the tier and
    band filters); ``worth_contacting``: those whose expected profit exceeds the cost.
    ``expected_profit`` is the selected customers' profit before the contact cost and
    ``profit_low`` / ``profit_high`` its 80% band (``None`` without intervals). ``curve``: one
    row per number of contacts (thinned to at most 400 rows): ``contacts``, ``budget``,
    ``profit`` (captured), ``net_profit`` (after cost), ``low``, ``high``.
    """

    request: BudgetRequest
    selected: pd.DataFrame
    candidates: int
    worth_contacting: int
    expected_profit: float
    profit_low: float | None
    profit_high: float | None
    curve: pd.DataFrame

    @property
    def contacts(self) -> int:
        """Customers selected."""
        return len(self.selected)

    @property
    def cost(self) -> float:
        """What the selected contacts cost."""
        return self.contacts * self.request.cost_per_contact

    @property
    def expected_net_profit(self) -> float:
        """Expected profit captured minus the cost of the contacts."""
        return self.expected_profit - self.cost

    def limited_by(self) -> str:
        """``"budget"`` when more customers were worth contacting, else ``"customers"``."""
        return "budget" if self.worth_contacting > self.contacts else "customers"

    def summary(self) -> dict[str, Any]:
        """The plan as JSON-ready data."""
        return {
            "budget": self.request.budget,
            "cost_per_contact": self.request.cost_per_contact,
            "candidates": self.candidates,
            "worth_contacting": self.worth_contacting,
            "contacts": self.contacts,
            "cost": round(self.cost, 2),
            "expected_profit": round(self.expected_profit, 2),
            "expected_profit_80": (
                [round(self.profit_low, 2), round(self.profit_high, 2)]
                if self.profit_low is not None and self.profit_high is not None
                else None
            ),
            "expected_net_profit": round(self.expected_net_profit, 2),
            "limited_by": self.limited_by(),
        }


def plan_budget(
    listing: pd.DataFrame,
    request: BudgetRequest,
    *,
    profit_factor: pd.Series | None = None,
    interval_coverage: float = 0.8,
) -> BudgetPlan:
    """Choose whom to contact from ``listing`` (``customer_id``, ``predicted_profit`` and
    optionally ``predicted_clv``, ``clv_lower``, ``clv_upper``, ``p_purchase``);
    ``profit_factor`` (by customer id) turns CLV into profit
    (:attr:`clv_core.value.ValuePlan.profit_factor`); ``interval_coverage`` is the coverage of
    the intervals.

    Ties in net profit go to the customer id that sorts first as text, so the plan never depends
    on row order. A missing profit is never worth a contact.
    """
    missing = [c for c in ("customer_id", "predicted_profit") if c not in listing.columns]
    if missing:
        raise DataError(
            f"The budget plan needs the column(s) {missing}; score the customers first."
        )
    if listing["customer_id"].duplicated().any():
        raise DataError("Customer ids repeat in the list; the budget plan needs one row each.")
    profit = np.nan_to_num(listing["predicted_profit"].to_numpy(np.float64), nan=-np.inf)
    net = profit - request.cost_per_contact
    ids = listing["customer_id"].astype(str).to_numpy()
    order = np.lexsort((ids, -net))
    net_sorted = net[order]
    worth = int((net_sorted > 0).sum())
    chosen = order[: min(worth, request.max_contacts)]
    spread = _spread(listing, profit_factor, interval_coverage)
    selected = listing.iloc[chosen].copy()
    selected[NET_PROFIT_COLUMN] = net[chosen]
    selected = selected.reset_index(drop=True)
    expected = float(profit[chosen].sum())
    low = high = None
    if spread is not None and np.isfinite(spread[chosen]).all():
        half = Z80 * math.sqrt(float(np.square(spread[chosen]).sum()))
        low, high = expected - half, expected + half
    return BudgetPlan(
        request=request,
        selected=selected,
        candidates=len(listing),
        worth_contacting=worth,
        expected_profit=expected,
        profit_low=low,
        profit_high=high,
        curve=_curve(
            np.where(np.isfinite(profit), profit, 0.0)[order],
            spread[order] if spread is not None else None,
            request,
        ),
    )


def _spread(
    listing: pd.DataFrame, profit_factor: pd.Series | None, coverage: float
) -> np.ndarray | None:
    """Each customer's profit standard deviation (NaN where the interval is missing), or
    ``None`` without intervals."""
    if not {"clv_lower", "clv_upper"} <= set(listing.columns):
        return None
    from scipy.special import ndtri

    width = np.clip((listing["clv_upper"] - listing["clv_lower"]).to_numpy(np.float64), 0, None)
    variance = np.square(width / (2.0 * float(ndtri((1.0 + coverage) / 2.0))))
    if {"p_purchase", "predicted_clv"} <= set(listing.columns):
        p = np.clip(listing["p_purchase"].to_numpy(np.float64), _MIN_P, 1.0)
        mean = listing["predicted_clv"].to_numpy(np.float64)
        variance = variance + np.square(mean) * (1.0 - p) / p
    factor = (
        profit_factor.reindex(listing["customer_id"]).to_numpy(np.float64)
        if profit_factor is not None
        else np.ones(len(listing))
    )
    return np.sqrt(variance) * np.abs(factor)


def _curve(profit: np.ndarray, spread: np.ndarray | None, request: BudgetRequest) -> pd.DataFrame:
    """Profit captured by the first n customers in plan order, for n = 0 .. all (thinned)."""
    count = len(profit)
    contacts = np.unique(
        np.concatenate(
            [
                np.rint(np.linspace(0, count, min(count + 1, CURVE_POINTS))).astype(np.int64),
                [min(request.max_contacts, count)],
            ]
        )
    )
    captured = np.concatenate([[0.0], np.cumsum(profit)])[contacts]
    budget = contacts * request.cost_per_contact
    curve = pd.DataFrame(
        {
            "contacts": contacts,
            "budget": budget,
            "profit": captured,
            "net_profit": captured - budget,
        }
    )
    if spread is not None:
        cumulative = np.concatenate([[0.0], np.cumsum(np.square(spread))])[contacts]
        half = Z80 * np.sqrt(cumulative)  # NaN from a customer without an interval on
        curve["low"] = captured - half
        curve["high"] = captured + half
    else:
        curve["low"] = np.nan
        curve["high"] = np.nan
    return curve
