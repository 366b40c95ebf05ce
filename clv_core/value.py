"""CLV in the money and time campaigns plan with: profit, discounting, months, next order.

The network predicts each customer's net revenue over the horizon (``predicted_clv``). A
campaign is planned in profit, in today's money, month by month, so this module adds:

* **a timing profile** (:class:`TimingModel`): BG/NBD (Fader, Hardie & Lee 2005) fitted on the
  training customers' ``frequency``, ``recency`` and ``T`` and kept in the bundle. Its
  conditional expected number of purchase days up to ``t`` (equation 10 of the paper, the
  formula of ``lifetimes``' ``conditional_expected_number_of_purchases_up_to_time``) says how a
  customer's purchases spread over the horizon: active customers buy early, lapsing ones thin
  out. The network's total is spread over the periods in proportion to the expected purchases
  in each; ``p_alive`` is the BG/NBD probability that the customer is still active.
* **periods**: a month is 30 days and a week 7 days (the convention of ``lifetimes`` and
  ``pymc-marketing`` for daily data); period ``k`` ends at ``t_k = min(k * length, horizon)``
  days after the as-of date, so a 365-day horizon has twelve 30-day months and a last period
  of 5 days.
* **discounting**, end of period: the value of period ``k`` is worth
  ``value_k / (1 + d) ** (t_k / 30)`` today, where ``d = (1 + annual_rate) ** (1 / 12) - 1`` is
  the monthly rate of the analyst's annual rate. With 30-day months this is exactly
  ``lifetimes``' ``customer_lifetime_value(..., discount_rate=d, freq="D")``.
* **profit**: ``predicted_profit = margin * sum_k value_k / (1 + d) ** (t_k / 30)``, with one
  margin rate for everyone or a per-customer rate from the attributes table.
* **next order**: ``expected_next_order_date`` and ``mean_days_between_orders`` (see
  :func:`next_order_days` for the rule and ``README.md`` for its measured error).

Everything is vectorised over customers and depends only on the features at the as-of date,
the bundle's fitted BG/NBD and the analyst's settings: the command line, the workbench and the
API give the same numbers.
"""

from __future__ import annotations

import datetime as dt
import math
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Final

import numpy as np
import pandas as pd

from clv_core.btyd import fit_bgnbd
from clv_core.errors import ConfigError, DataError
from clv_core.kinds import DAYS_PER_MONTH, DEFAULT_ANNUAL_DISCOUNT_RATE, DEFAULT_MARGIN, PERIODS

if TYPE_CHECKING:
    from clv_core.budget import BudgetPlan, BudgetRequest

__all__ = [
    "DAYS_PER_MONTH",
    "PERIODS",
    "TIMING_COLUMNS",
    "TIMING_INPUTS",
    "VALUE_COLUMNS",
    "TimingModel",
    "ValuePlan",
    "ValueSettings",
    "customer_margins",
    "discount_factors",
    "elapsed_share",
    "fit_timing",
    "margin_categories",
    "next_order_days",
    "period_ends",
    "plan_value",
    "purchases_per_period",
    "timing_of",
]

# The features BG/NBD reads (lifetimes' conventions, daily).
TIMING_COLUMNS: Final = ("frequency", "recency", "T")
# The inputs the network derives from them with the BG/NBD fitted on its training customers
# (:meth:`TimingModel.inputs`).
TIMING_INPUTS: Final = ("bgnbd_p_alive", "bgnbd_purchase_rate")
# What :func:`plan_value` adds to a scored list, in this order.
VALUE_COLUMNS: Final = (
    "predicted_profit",
    "p_alive",
    "expected_next_order_date",
    "mean_days_between_orders",
)
# BG/NBD is fitted on at most this many customers (a seeded sample of larger populations).
TIMING_SAMPLE: Final = 100_000


@dataclass(frozen=True, slots=True)
class ValueSettings:
    """How revenue becomes profit in today's money.

    Attributes
    ----------
    margin
        Gross margin as a share of revenue, in [0, 1] (0.35 = 35%). The default 1 makes
        ``predicted_profit`` the discounted revenue.
    margin_column
        A column of the attributes table with each customer's own margin in [0, 1], or with a
        category (``category_margins`` gives each its margin); customers without a value there,
        or whose category has none, get ``margin``.
    category_margins
        ``(category, margin)`` pairs for a margin column of categories, e.g.
        ``(("wholesale", 0.12), ("retail", 0.45))``.
    annual_discount_rate
        The yearly rate money is discounted at (0.10 = 10% a year), 0 or more.
    period
        ``"month"`` (30 days) or ``"week"`` (7 days): the periods of the per-period values.
    """

    margin: float = DEFAULT_MARGIN
    margin_column: str | None = None
    category_margins: tuple[tuple[str, float], ...] = ()
    annual_discount_rate: float = DEFAULT_ANNUAL_DISCOUNT_RATE
    period: str = "month"

    def __post_init__(self) -> None:
        problems = []
        if not _finite(self.margin) or not 0.0 <= self.margin <= 1.0:
            problems.append(
                f"margin must be a share of revenue between 0 and 1 (35% is 0.35), got "
                f"{self.margin!r}."
            )
        if not _finite(self.annual_discount_rate) or self.annual_discount_rate < 0:
            problems.append(
                "the discount rate must be 0 or more a year (10% is 0.10), got "
                f"{self.annual_discount_rate!r}."
            )
        elif self.annual_discount_rate > 10:
            problems.append(
                f"a discount rate of {self.annual_discount_rate!r} a year is "
                f"{self.annual_discount_rate:.0%}; write 10% as 0.10."
            )
        if self.period not in PERIODS:
            problems.append(f"period must be one of {', '.join(PERIODS)}, got {self.period!r}.")
        if self.margin_column is not None and not str(self.margin_column).strip():
            problems.append("the margin column's name is empty.")
        problems += self._category_problems()
        if problems:
            raise ConfigError("The value settings are not valid.", problems=problems)

    def _category_problems(self) -> list[str]:
        problems = []
        if self.category_margins and self.margin_column is None:
            problems.append("margins per category need the column that holds the categories.")
        names = [str(name).strip() for name, _ in self.category_margins]
        if any(not name for name in names):
            problems.append("a category of the margins is empty.")
        repeated = sorted({name for name in names if names.count(name) > 1})
        if repeated:
            problems.append(f"the categories {repeated} are given more than one margin.")
        wrong = [
            f"{name}={rate!r}"
            for name, rate in self.category_margins
            if not _finite(rate) or not 0.0 <= rate <= 1.0
        ]
        if wrong:
            problems.append(
                f"category margins must be shares between 0 and 1 (35% is 0.35): {wrong[:5]}."
            )
        return problems

    @property
    def monthly_discount_rate(self) -> float:
        """The monthly rate equivalent to the annual one: ``(1 + annual) ** (1 / 12) - 1``."""
        return float((1.0 + self.annual_discount_rate) ** (1.0 / 12.0) - 1.0)

    def to_dict(self) -> dict[str, Any]:
        """The settings as JSON-ready data (echoed by the command line and the API)."""
        return {
            "margin": self.margin,
            "margin_column": self.margin_column,
            "category_margins": dict(self.category_margins) or None,
            "annual_discount_rate": self.annual_discount_rate,
            "monthly_discount_rate": round(self.monthly_discount_rate, 10),
            "period": self.period,
            "period_days": PERIODS[self.period],
        }


def _finite(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


@dataclass(frozen=True, slots=True)
class TimingModel:
    """A fitted BG/NBD: ``r``, ``alpha`` (daily), ``a``, ``b`` and the penalty it needed."""

    r: float
    alpha: float
    a: float
    b: float
    penalizer: float = 0.0

    def __post_init__(self) -> None:
        for name in ("r", "alpha", "a", "b"):
            value = getattr(self, name)
            if not _finite(value) or value <= 0:
                raise ValueError(f"BG/NBD parameter {name} must be a positive number, got {value}")

    def expected_purchases(
        self, t: float, frequency: np.ndarray, recency: np.ndarray, tenure: np.ndarray
    ) -> np.ndarray:
        """Expected repeat purchase days in ``(T, T + t]`` given the history (eq. 10)."""
        x = np.asarray(frequency, dtype=np.float64)
        recency = np.asarray(recency, dtype=np.float64)
        tenure = np.asarray(tenure, dtype=np.float64)
        if t <= 0:
            return np.zeros_like(x)
        from scipy.special import hyp2f1

        r, alpha, a, b = self.r, self.alpha, self.a, self.b
        first_a, first_b, third = r + x, b + x, a + b + x - 1
        z = t / (alpha + tenure + t)
        with np.errstate(all="ignore"):
            log_hyp = np.log(hyp2f1(first_a, first_b, third, z))
            # The equivalent Euler transform where the series overflows (as lifetimes does).
            overflow = np.isinf(log_hyp)
            if overflow.any():
                a_, b_, c_, z_ = (
                    np.broadcast_to(value, log_hyp.shape)[overflow]
                    for value in (first_a, first_b, third, z)
                )
                log_hyp[overflow] = np.log(hyp2f1(c_ - a_, c_ - b_, c_, z_)) + (
                    c_ - a_ - b_
                ) * np.log(1 - z_)
            numerator = ((a + b + x - 1) / (a - 1)) * (
                1 - np.exp(log_hyp + (r + x) * np.log((alpha + tenure) / (alpha + t + tenure)))
            )
            denominator = 1 + (x > 0) * (a / (b + x - 1)) * (
                (alpha + tenure) / (alpha + recency)
            ) ** (r + x)
            return np.asarray(numerator / denominator, dtype=np.float64)

    def p_alive(self, frequency: np.ndarray, recency: np.ndarray, tenure: np.ndarray) -> np.ndarray:
        """P(still active at the as-of date); 1 for customers without a repeat purchase."""
        x = np.asarray(frequency, dtype=np.float64)
        with np.errstate(all="ignore"):
            log_ratio = (self.r + x) * np.log(
                (self.alpha + np.asarray(tenure, dtype=np.float64))
                / (self.alpha + np.asarray(recency, dtype=np.float64))
            ) + np.log(self.a / (self.b + np.maximum(x, 1) - 1))
            alive = 1.0 / (1.0 + np.exp(log_ratio))
        return np.where(x == 0, 1.0, alive)

    def inputs(
        self, frequency: np.ndarray, recency: np.ndarray, tenure: np.ndarray
    ) -> dict[str, np.ndarray]:
        """The network's BG/NBD inputs (:data:`TIMING_INPUTS`): the chance that the customer
        is still active, and the purchase days per year expected now (that chance times an
        active customer's expected rate, ``(r + x) / (alpha + T)`` per day)."""
        x = np.asarray(frequency, dtype=np.float64)
        tenure = np.asarray(tenure, dtype=np.float64)
        alive = self.p_alive(x, np.asarray(recency, dtype=np.float64), tenure)
        with np.errstate(all="ignore"):
            rate = alive * (self.r + x) / (self.alpha + tenure) * 365.0
        return dict(zip(TIMING_INPUTS, (alive, rate), strict=True))

    def to_dict(self) -> dict[str, Any]:
        """The parameters as JSON (``meta.json``'s ``timing``)."""
        return {
            "model": "bgnbd",
            "r": self.r,
            "alpha": self.alpha,
            "a": self.a,
            "b": self.b,
            "penalizer": self.penalizer,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TimingModel:
        """The model of :meth:`to_dict` (``ValueError`` when it is not one)."""
        if data.get("model") != "bgnbd":
            raise ValueError(f"timing model must be 'bgnbd', got {data.get('model')!r}")
        return cls(
            r=float(data["r"]),
            alpha=float(data["alpha"]),
            a=float(data["a"]),
            b=float(data["b"]),
            penalizer=float(data.get("penalizer", 0.0)),
        )


def fit_timing(features: pd.DataFrame) -> TimingModel | None:
    """BG/NBD fitted on the customers' ``frequency``, ``recency``, ``T``.

    ``None`` when the features have no such columns (a per-customer table), nobody bought on
    two days, or no penalty made the fit converge: the values are then spread evenly over the
    horizon and ``p_alive`` is missing. Above :data:`TIMING_SAMPLE` customers, a seeded sample
    of that many is fitted.
    """
    if any(column not in features.columns for column in TIMING_COLUMNS):
        return None
    if len(features) > TIMING_SAMPLE:
        # Four population parameters: a seeded sample estimates them as well, far faster.
        rows = np.sort(np.random.default_rng(0).choice(len(features), TIMING_SAMPLE, replace=False))
        features = features.iloc[rows]
    try:
        fitted, penalizer, _ = fit_bgnbd(features)
        return timing_of(fitted, penalizer)
    except (DataError, ValueError):
        return None


def timing_of(fitter: Any, penalizer: float) -> TimingModel:
    """The parameters of a fitted lifetimes ``BetaGeoFitter``."""
    params = fitter.params_
    return TimingModel(
        r=float(params["r"]),
        alpha=float(params["alpha"]),
        a=float(params["a"]),
        b=float(params["b"]),
        penalizer=float(penalizer),
    )


def period_ends(horizon_days: int, period: str = "month") -> np.ndarray:
    """Days after the as-of date at which each period ends; the last one is the horizon."""
    if horizon_days < 1:
        raise ConfigError(f"The horizon must be at least 1 day, got {horizon_days}.")
    length = PERIODS[period]
    count = -(-horizon_days // length)
    return np.minimum(np.arange(1, count + 1) * length, horizon_days).astype(np.float64)


def discount_factors(ends: np.ndarray, monthly_rate: float) -> np.ndarray:
    """``1 / (1 + d) ** (t_k / 30)``: what money at the end of each period is worth today."""
    return 1.0 / (1.0 + monthly_rate) ** (np.asarray(ends, dtype=np.float64) / DAYS_PER_MONTH)


def purchases_per_period(
    timing: TimingModel, features: pd.DataFrame, ends: np.ndarray
) -> np.ndarray:
    """Expected repeat purchase days of every customer in each period (customers x periods):
    ``E[X(t_k)] - E[X(t_{k-1})]`` of BG/NBD."""
    frequency, recency, tenure = (
        features[column].to_numpy(np.float64) for column in TIMING_COLUMNS
    )
    cumulative = np.column_stack(
        [timing.expected_purchases(float(t), frequency, recency, tenure) for t in ends]
    )
    return np.diff(np.column_stack([np.zeros(len(features)), cumulative]), axis=1)


def _timing_shares(
    timing: TimingModel | None, features: pd.DataFrame, ends: np.ndarray
) -> np.ndarray:
    """Each customer's share of the horizon's purchases per period (rows sum to 1). Customers
    without a usable profile (no BG/NBD, no BTYD features) get equal shares per day."""
    lengths = np.diff(np.concatenate([[0.0], ends]))
    even = np.tile(lengths / ends[-1], (len(features), 1))
    if timing is None or any(column not in features.columns for column in TIMING_COLUMNS):
        return even
    purchases = purchases_per_period(timing, features, ends)
    total = purchases.sum(axis=1)
    usable = np.isfinite(purchases).all(axis=1) & (total > 0) & (purchases >= 0).all(axis=1)
    with np.errstate(all="ignore"):
        return np.where(usable[:, None], purchases / total[:, None], even)


def elapsed_share(
    timing: TimingModel | None, features: pd.DataFrame, elapsed_days: int, horizon_days: int
) -> np.ndarray:
    """Each customer's share of the horizon's value expected in its first ``elapsed_days``
    (BG/NBD's timing; the share of the days without it). 1 for the whole horizon."""
    if elapsed_days >= horizon_days:
        return np.ones(len(features))
    ends = np.array([float(elapsed_days), float(horizon_days)])
    return _timing_shares(timing, features, ends)[:, 0]


def next_order_days(
    timing: TimingModel, frequency: np.ndarray, tenure: np.ndarray, horizon_days: int
) -> np.ndarray:
    """Days from the as-of date to the expected next order, if the customer orders in the horizon.

    BG/NBD: a customer who is still active buys at a rate ``lambda`` whose posterior after ``x``
    repeat purchase days in ``T`` days is Gamma(``r + x``, ``alpha + T``), so the wait ``w`` to
    the next purchase has ``P(w <= t) = 1 - (c / (c + t)) ** s`` with ``c = alpha + T``,
    ``s = r + x``. The date given is the median of that wait among the customers who do buy
    within the horizon ``H``: ``t = c * ((1 - F(H) / 2) ** (-1 / s) - 1)``. Whether they buy at
    all is what ``p_purchase`` (the network) and ``p_alive`` say.
    """
    c = timing.alpha + np.asarray(tenure, dtype=np.float64)
    s = timing.r + np.asarray(frequency, dtype=np.float64)
    with np.errstate(all="ignore"):
        within = 1.0 - (c / (c + horizon_days)) ** s
        days = c * ((1.0 - within / 2.0) ** (-1.0 / s) - 1.0)
    return np.clip(days, 1.0, float(horizon_days))


@dataclass(frozen=True, slots=True)
class ValuePlan:
    """Every customer's value over time, in money and profit.

    ``columns``: indexed by customer id, :data:`VALUE_COLUMNS`. ``per_period``: the predicted
    revenue (undiscounted, like ``predicted_clv``) of every customer in each period, columns
    ``period_1 ..``; ``period_ends`` the day each period ends; ``discount`` the factor of each
    period; ``profit_factor`` per customer, ``predicted_profit / predicted_clv`` (margin x the
    discount averaged over the customer's timing), which turns the CLV interval into a profit
    interval; ``margin`` each customer's margin rate; ``margins_defaulted`` how many
    customers had no value in the margin column and got the default rate.
    """

    columns: pd.DataFrame
    per_period: pd.DataFrame
    period_ends: np.ndarray
    discount: np.ndarray
    profit_factor: pd.Series
    settings: ValueSettings
    horizon_days: int
    as_of: dt.date
    timing: TimingModel | None
    margin: pd.Series
    margins_defaulted: int = 0
    interval_coverage: float = 0.8

    def subset(self, customers: pd.Series | pd.Index) -> ValuePlan:
        """The plan of some of its customers (e.g. a filtered or budgeted list)."""
        index = pd.Index(customers)
        return replace(
            self,
            columns=self.columns.loc[index],
            per_period=self.per_period.loc[index],
            profit_factor=self.profit_factor.loc[index],
            margin=self.margin.loc[index],
        )

    def budget(self, listing: pd.DataFrame, request: BudgetRequest) -> BudgetPlan:
        """:func:`clv_core.budget.plan_budget` over ``listing`` (customers of this plan), with
        this plan's profit factor and interval coverage."""
        from clv_core.budget import plan_budget

        return plan_budget(
            listing,
            request,
            profit_factor=self.profit_factor,
            interval_coverage=self.interval_coverage,
        )

    def aggregate(self) -> pd.DataFrame:
        """The list's total per period: ``period``, ``start_day``, ``end_day``, ``start``,
        ``end`` (dates), ``revenue`` and ``profit`` (margin x revenue, discounted)."""
        revenue = np.nansum(self.per_period.to_numpy(np.float64), axis=0)
        margins = self.margin.to_numpy(np.float64)
        margin_revenue = np.nansum(self.per_period.to_numpy(np.float64) * margins[:, None], axis=0)
        starts = np.concatenate([[0.0], self.period_ends[:-1]])
        as_of = pd.Timestamp(self.as_of)
        return pd.DataFrame(
            {
                "period": np.arange(1, len(self.period_ends) + 1),
                "start_day": starts.astype(np.int64) + 1,
                "end_day": self.period_ends.astype(np.int64),
                "start": [(as_of + pd.Timedelta(days=int(d) + 1)).date() for d in starts],
                "end": [(as_of + pd.Timedelta(days=int(d))).date() for d in self.period_ends],
                "revenue": revenue,
                "profit": margin_revenue * self.discount,
            }
        )

    def per_customer(self, customers: pd.Series | pd.Index) -> pd.DataFrame:
        """``customer_id`` and the predicted revenue of each period (``month_1`` ..), for
        ``customers`` in their order."""
        names = [f"{self.settings.period}_{k}" for k in range(1, len(self.period_ends) + 1)]
        table = self.per_period.loc[pd.Index(customers)].set_axis(names, axis=1)
        return table.rename_axis("customer_id").reset_index()

    def sheets(self, customers: pd.Series | pd.Index) -> dict[str, pd.DataFrame]:
        """The workbook's value sheets: the list's total per period (dates, revenue, profit)
        and every listed customer's revenue per period."""
        period = self.settings.period
        total = self.subset(customers).aggregate()
        for column in ("start", "end"):
            total[column] = pd.to_datetime(total[column])
        return {f"{period}s_total": total, f"per_{period}": self.per_customer(customers)}

    def summary(self, customers: pd.Series | pd.Index | None = None) -> dict[str, Any]:
        """The settings, the sentence and the totals per period (of ``customers``, default
        everyone), JSON-ready."""
        plan = self if customers is None else self.subset(customers)
        total = plan.aggregate()
        return {
            **self.settings.to_dict(),
            "horizon_days": self.horizon_days,
            "timing": "bgnbd" if self.timing is not None else "even",
            "margins_defaulted": self.margins_defaulted,
            "sentence": self.sentence(),
            "periods": [
                {
                    "period": int(period),
                    "start": str(start),
                    "end": str(end),
                    "revenue": round(float(revenue), 2),
                    "profit": round(float(profit), 2),
                }
                for period, start, end, revenue, profit in zip(
                    total["period"],
                    total["start"],
                    total["end"],
                    total["revenue"],
                    total["profit"],
                    strict=True,
                )
            ],
        }

    def facts(self) -> dict[str, Any]:
        """What the numbers are, as values a sentence in any language can be made of."""
        length = PERIODS[self.settings.period]
        whole = self.horizon_days // length
        return {
            "horizon": self.horizon_days,
            "as_of": self.as_of.isoformat(),
            "periods": whole,
            "period_days": length,
            "rest_days": self.horizon_days - whole * length,
            "margin": self.settings.margin,
            "margin_column": self.settings.margin_column,
            "by_category": bool(self.settings.category_margins),
            "rate": self.settings.annual_discount_rate,
        }

    def sentence(self) -> str:
        """One sentence saying what the numbers are."""
        facts = self.facts()
        margin = f"a {facts['margin']:.0%} margin"
        if facts["by_category"]:
            margin = (
                f"the margin of each customer's '{facts['margin_column']}' "
                f"({facts['margin']:.0%} where it has none)"
            )
        elif facts["margin_column"]:
            margin = (
                f"the margin in '{facts['margin_column']}' ({facts['margin']:.0%} where missing)"
            )
        periods = f"{facts['periods']} {self.settings.period}s of {facts['period_days']} days"
        if not facts["periods"]:
            periods = f"one period of {facts['rest_days']} days"
        elif facts["rest_days"]:
            periods += f" and {facts['rest_days']} more days"
        return (
            f"predicted_clv is each customer's net revenue over the {facts['horizon']} days "
            f"after {facts['as_of']} ({periods}); predicted_profit is that revenue times "
            f"{margin}, discounted at {facts['rate']:.1%} a year to {facts['as_of']}."
        )


def customer_margins(
    attributes: pd.DataFrame | None, settings: ValueSettings, customers: pd.Index
) -> pd.Series | None:
    """Each scored customer's margin from the settings' margin column (missing where the
    customer has no row, an empty cell or a category without a margin: :func:`plan_value`
    gives them the default rate and counts them).

    Raises
    ------
    DataError
        The column does not exist; it holds numbers outside [0, 1]; it holds categories and no
        category has a margin; it holds numbers and margins per category were given (the rows
        or categories are named).
    """
    column = settings.margin_column
    if column is None:
        return None
    if attributes is None:
        raise DataError(
            f"The margin column '{column}' needs a customer attributes table; upload one or "
            "give one margin rate for everyone."
        )
    frame = attributes.set_index("customer_id") if "customer_id" in attributes else attributes
    if column not in frame.columns:
        raise DataError(
            f"The attributes table has no column '{column}' for the margin; it has "
            f"{', '.join(map(str, frame.columns[:20]))}."
        )
    raw = frame[column]
    values = pd.to_numeric(raw, errors="coerce")
    text = raw.notna() & values.isna()
    if text.any():
        values = _category_rates(raw, settings)
    elif settings.category_margins:
        raise DataError(
            f"The margin column '{column}' holds numbers, not categories; give margins per "
            "category for a column of categories, or use the numbers as they are."
        )
    outside = values.notna() & ((values < 0) | (values > 1))
    if outside.any():
        examples = ", ".join(f"{index}: {values[index]:g}" for index in values.index[outside][:3])
        raise DataError(
            f"The margin column '{column}' has {int(outside.sum())} values outside 0..1 (e.g. "
            f"{examples}); a margin is a share of revenue: write 35% as 0.35."
        )
    return values.reindex(customers)


def margin_categories(attributes: pd.DataFrame | None, column: str) -> list[str] | None:
    """The categories of a margin column, most customers first; ``None`` when it holds numbers
    (or there is no such column)."""
    if attributes is None or column not in attributes.columns:
        return None
    raw = attributes[column]
    if not (raw.notna() & pd.to_numeric(raw, errors="coerce").isna()).any():
        return None
    counts = raw.dropna().astype(str).str.strip().value_counts(sort=False)
    order = sorted(counts.index, key=lambda name: (-int(counts[name]), name))
    return [str(name) for name in order]


def _category_rates(raw: pd.Series, settings: ValueSettings) -> pd.Series:
    """A margin column of categories as rates (missing where a category has none)."""
    categories = raw.astype("string").str.strip()
    if not settings.category_margins:
        seen = ", ".join(repr(str(name)) for name in categories.dropna().unique()[:5])
        raise DataError(
            f"The margin column '{settings.margin_column}' holds categories ({seen}, ...), not "
            "margins; give each category its margin (category=share, e.g. "
            f"{categories.dropna().iloc[0]!s}=0.35), or choose a column of numbers."
        )
    rates = {str(name).strip(): float(rate) for name, rate in settings.category_margins}
    return categories.map(rates).astype("float64")


def plan_value(
    predictions: pd.DataFrame,
    features: pd.DataFrame,
    *,
    timing: TimingModel | None,
    horizon_days: int,
    as_of: dt.date,
    settings: ValueSettings | None = None,
    margins: pd.Series | None = None,
    interval_coverage: float = 0.8,
) -> ValuePlan:
    """Profit, per-period value, ``p_alive`` and the next order of every scored customer.

    ``predictions`` has ``customer_id`` and ``predicted_clv``; ``features`` are the features at
    ``as_of`` indexed by customer id (every scored customer among them). ``margins`` (from
    :func:`customer_margins`) overrides ``settings.margin`` where it has a value.
    ``interval_coverage`` is the coverage of the predictions' intervals (the budget's band).

    Raises
    ------
    DataError
        A customer id repeats, or a scored customer has no features.
    """
    settings = settings or ValueSettings()
    customers = pd.Index(predictions["customer_id"], name="customer_id")
    if customers.has_duplicates:
        repeated = list(customers[customers.duplicated()].unique()[:3])
        raise DataError(f"Customer ids repeat in the scored list, e.g. {repeated}.")
    try:
        rows = features.loc[customers]
    except KeyError as error:
        raise DataError("Some scored customers have no features at the as-of date.") from error
    ends = period_ends(horizon_days, settings.period)
    discount = discount_factors(ends, settings.monthly_discount_rate)
    shares = _timing_shares(timing, rows, ends)
    value = predictions["predicted_clv"].to_numpy(np.float64)
    per_period = shares * value[:, None]
    margin = np.full(len(customers), settings.margin)
    defaulted = 0
    if margins is not None:
        given = margins.reindex(customers).to_numpy(np.float64)
        defaulted = int(np.isnan(given).sum())
        margin = np.where(np.isnan(given), settings.margin, given)
    discounted_share = shares @ discount
    profit = margin * value * discounted_share
    columns = pd.DataFrame(index=customers)
    columns["predicted_profit"] = profit
    columns["p_alive"] = np.nan
    columns["expected_next_order_date"] = pd.Series(pd.NaT, index=customers, dtype="datetime64[ns]")
    columns["mean_days_between_orders"] = np.nan
    if "mean_days_between_purchases" in rows.columns:
        columns["mean_days_between_orders"] = rows["mean_days_between_purchases"].to_numpy(
            np.float64
        )
    if timing is not None and all(column in rows.columns for column in TIMING_COLUMNS):
        frequency, recency, tenure = (
            rows[column].to_numpy(np.float64) for column in TIMING_COLUMNS
        )
        columns["p_alive"] = timing.p_alive(frequency, recency, tenure)
        days = np.rint(next_order_days(timing, frequency, tenure, horizon_days))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            columns["expected_next_order_date"] = pd.Timestamp(as_of) + pd.to_timedelta(
                days, unit="D"
            )
    names = [f"period_{k}" for k in range(1, len(ends) + 1)]
    return ValuePlan(
        columns=columns,
        per_period=pd.DataFrame(per_period, index=customers, columns=names),
        period_ends=ends,
        discount=discount,
        profit_factor=pd.Series(margin * discounted_share, index=customers),
        settings=settings,
        horizon_days=horizon_days,
        as_of=as_of,
        timing=timing,
        margin=pd.Series(margin, index=customers),
        margins_defaulted=defaulted,
        interval_coverage=interval_coverage,
    )
