"""A seeded synthetic e-commerce world whose ground truth is known.

Real transaction logs never reveal a customer's true purchase rate or whether they have silently
stopped buying, so a CLV model can only be judged against noisy realised spend. This module
simulates a shop whose latent mechanics are known exactly, so tests and benchmarks can also ask
how far a model is from the best possible forecast (:func:`expected_future_spend`).

Mechanics, per customer (a Pareto/NBD world, Schmittlein, Morrison & Colombo 1987, with
attributes, seasonality, big wholesale buyers and returns added):

1. **Acquisition.** A signup time is drawn over ``[start, end]`` with a density that grows by
   ``annual_growth`` a year and follows the seasonality below, so cohorts grow and Singles' Day
   brings new customers. Customer ids follow the signup order. The first order comes at signup
   for most customers and after an exponential delay for the rest, so ``signup_date`` may precede
   the first order; a few customers sign up and never order inside the window.
2. **Attributes.** ``channel``, ``membership``, ``region``, ``device`` and ``age_group`` are drawn
   independently. Membership and channel multiply the purchase and dropout rates; region, device
   and age group multiply the order value. ``browsing_minutes`` is a noisy proxy of the latent
   purchase rate. None of these is visible in the purchase history itself, which is what makes
   them worth a model's while.
3. **Purchasing.** After the first order the customer buys as a Poisson process with yearly rate
   ``purchase_rate_per_year`` (gamma distributed across customers, heavy right tail) modulated
   by the seasonality, until an exponential dropout time with yearly rate
   ``dropout_rate_per_year`` (gamma across customers); after dropout the customer never returns.
4. **Seasonality.** A daily intensity factor with a November-December season, spikes around
   Singles' Day (11 November), Double 12 and 618, a quiet February (Spring Festival) and a weekly
   pattern; it averages 1 over a year, so ``purchase_rate_per_year`` is a yearly mean. The
   non-homogeneous process is simulated by thinning (Lewis & Shedler 1979): candidates are drawn
   at the peak intensity and each is kept with probability ``seasonality / peak``. Times of day
   follow a fixed hourly profile with an evening peak.
5. **Spend.** Each customer has a mean order value (gamma across customers, times the attribute
   multipliers); single orders scatter around it lognormally with mean one. Wholesale buyers
   (``wholesale_share``) order 20-100 times the normal value with a much wider lognormal spread.
6. **Returns.** Each order is, with a customer-specific probability, refunded 1-30 days later by
   a separate row with its own id (``R`` plus the number of the order it refunds, so ``R0000042``
   refunds ``O0000042``) and a negative amount: half of returns are full refunds, the rest refund a
   uniform 30-100% share. Refunds that would fall after ``end`` are not in the data yet.

Everything is vectorised with numpy (``np.repeat`` over per-customer counts, no per-customer
Python loop) and seeded, so the same :class:`SyntheticConfig` always gives identical frames.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import numpy as np
import numpy.typing as npt
import pandas as pd

from clv_core.errors import ConfigError

__all__ = [
    "SyntheticConfig",
    "SyntheticWorld",
    "change_behaviour",
    "expected_future_spend",
    "generate_world",
    "make_new_customers_table",
    "make_seed_table",
    "write_sample_data",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

_DAYS_PER_YEAR: Final = 365.0
_SECONDS_PER_DAY: Final = 86_400
_NANOSECONDS_PER_SECOND: Final = 1_000_000_000

# Datetimes are nanosecond based, so the window is kept well inside pandas' representable range.
_EARLIEST_YEAR: Final = 1970
_LATEST_YEAR: Final = 2200
_MINIMUM_WINDOW_DAYS: Final = 30
_MAXIMUM_CUSTOMERS: Final = 20_000_000
_MAXIMUM_HORIZON_DAYS: Final = 3650

# Most first orders are placed in the signup session; the rest come after a browsing period.
_IMMEDIATE_FIRST_ORDER_SHARE: Final = 0.6
_MEAN_FIRST_ORDER_DELAY_DAYS: Final = 21.0

# Wholesale buyers: order values 20-100 times normal (log-uniform), a wide spread within the
# customer, and somewhat more frequent and loyal than retail customers.
_WHOLESALE_VALUE_MULTIPLIER_RANGE: Final = (20.0, 100.0)
_WHOLESALE_PURCHASE_RATE_MULTIPLIER: Final = 1.2
_WHOLESALE_DROPOUT_RATE_MULTIPLIER: Final = 0.8
_RETAIL_ORDER_VALUE_SIGMA: Final = 0.5
_WHOLESALE_ORDER_VALUE_SIGMA: Final = 1.0

# Returns: the refund lands a uniform 1-30 days after the order; half of refunds are full.
_RETURN_DELAY_RANGE_DAYS: Final = (1.0, 30.0)
_FULL_REFUND_SHARE: Final = 0.5
_PARTIAL_REFUND_RANGE: Final = (0.3, 1.0)
_MEAN_REFUND_FRACTION: Final = _FULL_REFUND_SHARE + (1.0 - _FULL_REFUND_SHARE) * (
    (_PARTIAL_REFUND_RANGE[0] + _PARTIAL_REFUND_RANGE[1]) / 2.0
)
# A beta distribution across customers with this concentration (alpha + beta) keeps most
# customers near the mean return probability and a few serial returners far above it.
_RETURN_PROBABILITY_CONCENTRATION: Final = 8.0
_MAXIMUM_RETURN_PROBABILITY: Final = 0.9

# browsing_minutes = scale * (rate / base rate) ** elasticity * lognormal noise: informative about
# the purchase rate, but far too noisy to read it off exactly.
_BROWSING_MINUTES_AT_BASE_RATE: Final = 30.0
_BROWSING_RATE_ELASTICITY: Final = 0.5
_BROWSING_NOISE_SIGMA: Final = 0.7

# Customers are simulated in blocks so that the thinning candidates (a few times the number of
# kept orders) never all sit in memory at once. The block size is fixed, not derived from the
# machine, because it decides how the random stream is consumed and so the output.
_CUSTOMERS_PER_BLOCK: Final = 100_000

# Orders per hour of day (Chinese e-commerce: quiet nights, a late-morning and a 20-23h peak).
_HOURLY_ORDER_WEIGHTS: Final = (
    1.2, 0.7, 0.4, 0.25, 0.2, 0.25, 0.5, 1.0, 1.8, 2.6, 3.2, 3.4,
    3.0, 2.7, 3.0, 3.1, 3.0, 2.9, 3.0, 3.6, 4.3, 4.8, 4.4, 2.6,
)  # fmt: skip
# Monday to Sunday; the mean is exactly 1 so the weekly pattern does not change yearly totals.
_WEEKDAY_FACTORS: Final = (0.96, 0.94, 0.95, 0.97, 1.02, 1.08, 1.08)
# Any non-leap year gives the same yearly mean of the month/day profile used to normalise it.
_REFERENCE_YEAR: Final = 2023


def _to_day(value: datetime.date) -> int:
    """Days since 1970-01-01."""
    return int(np.datetime64(_as_date(value), "D").astype(np.int64))


def _as_date(value: datetime.date) -> datetime.date:
    """The calendar date of a ``date``, ``datetime`` or ``pandas.Timestamp``."""
    if isinstance(value, datetime.datetime):
        return value.date()
    return value


@dataclass(frozen=True, slots=True, kw_only=True)
class _AttributeLevel:
    """One level of a customer attribute: how common it is and what it multiplies."""

    name: str
    share: float
    purchase_rate_multiplier: float = 1.0
    dropout_rate_multiplier: float = 1.0
    order_value_multiplier: float = 1.0
    return_probability_multiplier: float = 1.0


_CHANNEL_LEVELS: Final = (
    _AttributeLevel(name="organic", share=0.35),
    _AttributeLevel(
        name="paid_search", share=0.25, purchase_rate_multiplier=0.9, dropout_rate_multiplier=1.4
    ),
    # Social-media customers are impulse buyers: they churn fast and return more.
    _AttributeLevel(
        name="social",
        share=0.20,
        purchase_rate_multiplier=0.75,
        dropout_rate_multiplier=2.0,
        return_probability_multiplier=1.5,
    ),
    _AttributeLevel(
        name="referral", share=0.10, purchase_rate_multiplier=1.25, dropout_rate_multiplier=0.7
    ),
    _AttributeLevel(
        name="email", share=0.10, purchase_rate_multiplier=1.3, dropout_rate_multiplier=0.8
    ),
)
_REGION_LEVELS: Final = (
    _AttributeLevel(name="华东", share=0.30, order_value_multiplier=1.2),
    _AttributeLevel(name="华北", share=0.20, order_value_multiplier=1.05),
    _AttributeLevel(name="华南", share=0.22, order_value_multiplier=1.1),
    _AttributeLevel(name="华中", share=0.15, order_value_multiplier=0.9),
    _AttributeLevel(name="西部", share=0.13, order_value_multiplier=0.75),
)
_DEVICE_LEVELS: Final = (
    _AttributeLevel(name="app", share=0.50),
    _AttributeLevel(name="mobile_web", share=0.30, order_value_multiplier=0.8),
    _AttributeLevel(name="desktop", share=0.20, order_value_multiplier=1.35),
)
_AGE_GROUP_LEVELS: Final = (
    _AttributeLevel(name="18-24", share=0.18, order_value_multiplier=0.7),
    _AttributeLevel(name="25-34", share=0.34),
    _AttributeLevel(name="35-44", share=0.26, order_value_multiplier=1.2),
    _AttributeLevel(name="45-54", share=0.14, order_value_multiplier=1.1),
    _AttributeLevel(name="55+", share=0.08, order_value_multiplier=0.9),
)
# Membership is the strongest lever: members buy more often and rarely drop out.
_MEMBER_PURCHASE_RATE_MULTIPLIER: Final = 1.5
_MEMBER_DROPOUT_RATE_MULTIPLIER: Final = 0.25
_MEMBERSHIP_LABELS: Final = ("none", "member")


@dataclass(frozen=True, slots=True, kw_only=True)
class SyntheticConfig:
    """Settings of a synthetic shop; every value is checked when the config is built.

    The rate settings describe a *base* customer (organic channel, no membership, retail) and
    ``base_order_value`` is the mean order value before the region, device and age-group
    multipliers; the attributes multiply them (see the module's ``_..._LEVELS`` tables).

    Parameters
    ----------
    n_customers
        Customers who sign up inside the window, 1 to 20,000,000.
    start
        First possible signup and order date.
    end
        Last date of the observed data; at least 30 days after ``start``.
    seed
        Seed of ``np.random.default_rng``; the same config always gives the same world.
    wholesale_share
        Share of customers who are wholesale buyers with huge orders, 0 to 0.2.
    member_share
        Share of customers with a membership, 0 to 1.
    base_purchase_rate_per_year
        Mean yearly purchase rate (after the first order) of a base customer, 0.01 to 100.
    purchase_rate_shape
        Gamma shape of the purchase rate across customers, 0.05 to 50; small values give a heavy
        right tail of frequent buyers and many one-time buyers.
    base_dropout_rate_per_year
        Mean yearly dropout rate of a base customer, 0.001 to 50 (1 / mean lifetime in years).
    dropout_rate_shape
        Gamma shape of the dropout rate across customers, 0.05 to 50.
    base_order_value
        Mean order value of a base customer in yuan, 1 to 100,000.
    order_value_shape
        Gamma shape of customers' mean order values, 0.1 to 100.
    mean_return_probability
        Mean probability that an order is (partly) refunded, 0 to 0.5.
    annual_growth
        Yearly growth of new signups (0.3 = 30% more each year), -0.9 to 10.
    seasonality_strength
        0 removes all seasonality (a homogeneous process), 1 is the default calendar, up to 3.
    """

    n_customers: int = 3000
    start: datetime.date = datetime.date(2023, 1, 1)
    end: datetime.date = datetime.date(2025, 12, 31)
    seed: int = 0
    wholesale_share: float = 0.005
    member_share: float = 0.2
    base_purchase_rate_per_year: float = 8.5
    purchase_rate_shape: float = 0.5
    base_dropout_rate_per_year: float = 0.5
    dropout_rate_shape: float = 1.5
    base_order_value: float = 120.0
    order_value_shape: float = 2.5
    mean_return_probability: float = 0.08
    annual_growth: float = 0.3
    seasonality_strength: float = 1.0

    def __post_init__(self) -> None:
        # A datetime or pandas Timestamp is a date too, and a numpy integer is an integer; store
        # the plain values so the config compares and hashes like what it stands for.
        for name in ("start", "end"):
            value = getattr(self, name)
            if isinstance(value, datetime.datetime):
                object.__setattr__(self, name, value.date())
        for name in ("n_customers", "seed"):
            value = getattr(self, name)
            if isinstance(value, np.integer):
                object.__setattr__(self, name, int(value))
        problems: list[str] = []
        if isinstance(self.n_customers, bool) or not isinstance(self.n_customers, int):
            problems.append(f"n_customers must be an integer; got {self.n_customers!r}.")
        elif not 1 <= self.n_customers <= _MAXIMUM_CUSTOMERS:
            problems.append(
                f"n_customers must be between 1 and {_MAXIMUM_CUSTOMERS:,}; got {self.n_customers}."
            )
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0:
            problems.append(f"seed must be an integer of 0 or more; got {self.seed!r}.")
        problems.extend(self._date_problems())
        ranges = (
            ("wholesale_share", self.wholesale_share, 0.0, 0.2),
            ("member_share", self.member_share, 0.0, 1.0),
            ("base_purchase_rate_per_year", self.base_purchase_rate_per_year, 0.01, 100.0),
            ("purchase_rate_shape", self.purchase_rate_shape, 0.05, 50.0),
            ("base_dropout_rate_per_year", self.base_dropout_rate_per_year, 0.001, 50.0),
            ("dropout_rate_shape", self.dropout_rate_shape, 0.05, 50.0),
            ("base_order_value", self.base_order_value, 1.0, 100_000.0),
            ("order_value_shape", self.order_value_shape, 0.1, 100.0),
            ("mean_return_probability", self.mean_return_probability, 0.0, 0.5),
            ("annual_growth", self.annual_growth, -0.9, 10.0),
            ("seasonality_strength", self.seasonality_strength, 0.0, 3.0),
        )
        for name, value, lowest, highest in ranges:
            is_number = isinstance(value, int | float) and not isinstance(value, bool)
            # The negated comparison also rejects NaN, which fails every comparison.
            if not is_number or not lowest <= value <= highest:
                problems.append(
                    f"{name} must be a number between {lowest:g} and {highest:g}; got {value!r}."
                )
        if problems:
            raise ConfigError("The synthetic-data settings are invalid.", problems=problems)

    def _date_problems(self) -> list[str]:
        """Check ``start`` and ``end`` together; returns one sentence per problem."""
        problems: list[str] = []
        dates_are_valid = True
        for name, value in (("start", self.start), ("end", self.end)):
            if not isinstance(value, datetime.date):
                problems.append(f"{name} must be a datetime.date; got {value!r}.")
                dates_are_valid = False
            elif not _EARLIEST_YEAR <= value.year <= _LATEST_YEAR:
                problems.append(
                    f"{name} must lie in the years {_EARLIEST_YEAR} to {_LATEST_YEAR}; got {value}."
                )
                dates_are_valid = False
        if dates_are_valid and _to_day(self.end) - _to_day(self.start) < _MINIMUM_WINDOW_DAYS:
            problems.append(
                f"end must be at least {_MINIMUM_WINDOW_DAYS} days after start; "
                f"got start={self.start}, end={self.end}."
            )
        return problems


# The world holds DataFrames, which cannot be compared with == or hashed, so equality and hashing
# stay those of the object (eq=False) instead of the generated ones that would raise.
@dataclass(frozen=True, slots=True, eq=False)
class SyntheticWorld:
    """A generated shop: the observable data, the latent truth and the config that made it.

    Attributes
    ----------
    transactions
        One row per order or refund, sorted by ``order_date``: ``order_id`` (str, unique;
        ``O`` + number for an order, ``R`` + the refunded order's number for a refund),
        ``customer_id`` (str), ``order_date`` (datetime64[ns] with a time of day, to the second)
        and ``amount`` (float rounded to 2 decimals; positive for orders, negative for refunds).
    customers
        One row per customer, sorted by ``customer_id`` (which follows signup order):
        ``customer_id``, ``signup_date`` (datetime64[ns], midnight, on or before the first
        order), ``channel``, ``region``, ``device``, ``age_group``, ``membership``
        (``"member"``/``"none"``) and ``browsing_minutes`` (average minutes a week).
    truth
        One row per customer, same order: ``customer_id``, ``is_wholesale``,
        ``purchase_rate_per_year``, ``dropout_rate_per_year``, ``mean_order_value`` (expected
        value of one order), ``return_probability``, ``first_order_date`` (NaT when the first
        order falls after ``end``), ``death_date`` (the day of dropout; NaT when it is after
        ``end`` or the customer never ordered) and ``alive_at_end`` (ordered and not dropped out
        by the end of ``end``).
    config
        The settings the world was generated from.
    """

    transactions: pd.DataFrame
    customers: pd.DataFrame
    truth: pd.DataFrame
    config: SyntheticConfig


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class _Population:
    """Per-customer latent state as arrays indexed by customer number (0 = first signup)."""

    channel: IntArray
    region: IntArray
    device: IntArray
    age_group: IntArray
    is_member: BoolArray
    is_wholesale: BoolArray
    signup_time: FloatArray
    first_order_time: FloatArray
    death_time: FloatArray
    purchase_rate_per_year: FloatArray
    dropout_rate_per_year: FloatArray
    mean_order_value: FloatArray
    order_value_sigma: FloatArray
    return_probability: FloatArray
    browsing_minutes: FloatArray


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class _Orders:
    """Purchase and refund rows before they become a DataFrame, sorted by time."""

    customer: IntArray
    second: IntArray  # seconds since ``start`` 00:00
    amount: FloatArray
    number: IntArray  # the order's number; a refund carries the number of the order it refunds
    is_refund: BoolArray


def generate_world(config: SyntheticConfig) -> SyntheticWorld:
    """Simulate a shop and return its transactions, customers and latent truth.

    Parameters
    ----------
    config
        The settings; the same config always gives identical frames.

    Returns
    -------
    SyntheticWorld
        ``transactions``, ``customers`` and ``truth`` as described on :class:`SyntheticWorld`.

    Notes
    -----
    With the default settings a customer has about 10.4 transaction rows over the 3-year
    window (about 9.6 orders and 0.8 refunds; refunds are about 7.5% of rows and 7% of gross
    spend), a third of the customers who order do so only once, the top 1% of customers bring
    about a third of the revenue and wholesale buyers about a quarter.

    Measured on a 2-core machine (numpy 2.4, pandas 3.1):
    ``generate_world(SyntheticConfig(n_customers=1_000_000))`` builds 10.4 million rows in about
    8 s with a peak resident memory of 1.9 GB for the whole process (the transactions frame
    itself takes 0.5 GB). Time and memory grow linearly with ``n_customers``.
    """
    generator = np.random.default_rng(config.seed)
    # Independent streams per mechanism, so a change in how one part draws its numbers does not
    # reshuffle the others.
    (
        attribute_generator,
        acquisition_generator,
        purchase_generator,
        time_of_day_generator,
        spend_generator,
        refund_generator,
    ) = generator.spawn(6)
    day_count = _to_day(config.end) - _to_day(config.start) + 1
    seasonality = _seasonality(_day_range(config.start, day_count), config.seasonality_strength)
    population = _draw_population(config, seasonality, attribute_generator, acquisition_generator)
    customer, day = _simulate_purchase_times(population, seasonality, purchase_generator)
    second = _assign_seconds(day, time_of_day_generator)
    amount = _draw_order_amounts(population, customer, spend_generator)
    orders = _add_refunds(population, customer, second, amount, day_count, refund_generator)
    return SyntheticWorld(
        transactions=_transactions_frame(orders, config),
        customers=_customers_frame(population, config),
        truth=_truth_frame(population, config, day_count),
        config=config,
    )


def expected_future_spend(
    world: SyntheticWorld, as_of: datetime.date, horizon_days: int
) -> pd.Series:
    """The ground-truth expected net spend of each customer in ``(as_of, as_of + horizon]``.

    This is the best forecast any model could make: it knows each customer's latent purchase
    rate, dropout rate, mean order value and return probability, and whether the customer is
    still active at the end of ``as_of``. It is computed analytically, not by re-simulation:

    - An active customer with dropout rate ``mu`` is still active ``u`` days later with
      probability ``exp(-mu u / 365)`` (the exponential lifetime is memoryless), so the expected
      number of orders on window day ``k`` is
      ``rate * seasonality_k * integral_k^(k+1) exp(-mu u / 365) du / 365``. The sum over the
      window is a polynomial in ``exp(-mu / 365)``, evaluated with Horner's rule for all
      customers at once.
    - Each future order is worth ``mean_order_value`` minus its expected refund
      (``return_probability * mean refund fraction``) when the refund also falls inside the
      window, which depends on how close to the window's end the order is placed.
    - Orders placed in the 30 days before the window that have not been refunded by ``as_of`` may
      still be refunded inside the window; their expected refunds (given that none came yet) are
      subtracted, so a churned customer can have a small negative expectation.

    It is the expectation of the unclipped net spend; the realised label of the time protocol is
    clipped at 0, which matters only for the few customers whose refunds exceed their orders.
    The window may reach beyond ``end``: the expectation is of the simulated process, not of the
    (truncated) data.

    Parameters
    ----------
    world
        A world from :func:`generate_world`.
    as_of
        The cutoff date, within ``[start, end]`` of the world's config.
    horizon_days
        The window length in days, 1 to 3650.

    Returns
    -------
    pandas.Series
        Float expected net spend named ``expected_future_spend``, indexed by ``customer_id`` in
        customer order, for every customer whose first order is on or before ``as_of`` (the
        customers a model can score at that cutoff).

    Raises
    ------
    ConfigError
        If ``as_of`` is outside the world's window or ``horizon_days`` is out of range.
    """
    config = world.config
    _check_horizon(horizon_days)
    if not isinstance(as_of, datetime.date) or not config.start <= _as_date(as_of) <= config.end:
        raise ConfigError(
            f"as_of must be a date between {config.start} and {config.end}; got {as_of!r}."
        )
    as_of_timestamp = pd.Timestamp(_as_date(as_of))
    window_start = as_of_timestamp + pd.Timedelta(days=1)
    truth = world.truth
    first_order_date = truth["first_order_date"]
    acquired = (first_order_date.notna() & (first_order_date <= as_of_timestamp)).to_numpy()
    death_date = truth["death_date"]
    active = acquired & (death_date.isna() | (death_date >= window_start)).to_numpy()

    expected = np.zeros(len(truth), dtype=np.float64)
    expected[active] = _expected_spend_of_active_customers(
        truth.loc[active], config, _as_date(as_of), horizon_days
    )
    expected -= _expected_pending_refunds(world, window_start, horizon_days)
    return pd.Series(
        expected[acquired],
        index=pd.Index(truth["customer_id"].to_numpy()[acquired], name="customer_id"),
        name="expected_future_spend",
    )


def make_seed_table(
    world: SyntheticWorld, snapshot: datetime.date, horizon_days: int = 365
) -> pd.DataFrame:
    """The per-customer table of the "seed article", with its Chinese headers.

    Parameters
    ----------
    world
        A world from :func:`generate_world`.
    snapshot
        The cutoff date; history is taken on or before it. ``snapshot + horizon_days`` must not
        be after the world's ``end``, so that every label is complete.
    horizon_days
        Length of the label window in days, 1 to 3650.

    Returns
    -------
    pandas.DataFrame
        One row per customer with at least one order on or before ``snapshot``, sorted by id:
        ``用户ID`` (customer id), ``注册时间`` (signup date, datetime64), ``购买次数`` (orders on
        or before the snapshot, refunds not counted), ``平均购买金额`` (mean order value of those
        orders, 2 decimals), ``浏览时长`` (browsing minutes a week) and ``终身价值`` (the actual
        net spend in ``(snapshot, snapshot + horizon_days]``, clipped at 0, 2 decimals).

    Raises
    ------
    ConfigError
        If the snapshot or the horizon does not fit inside the world's window.
    """
    config = world.config
    _check_horizon(horizon_days)
    if not isinstance(snapshot, datetime.date):
        raise ConfigError(f"snapshot must be a date; got {snapshot!r}.")
    latest_snapshot = config.end - datetime.timedelta(days=horizon_days)
    if not config.start <= _as_date(snapshot) <= latest_snapshot:
        raise ConfigError(
            f"snapshot must be between {config.start} and {latest_snapshot} (the world's end "
            f"{config.end} minus the {horizon_days}-day horizon); got {snapshot}."
        )
    window_start = pd.Timestamp(_as_date(snapshot)) + pd.Timedelta(days=1)
    window_end = window_start + pd.Timedelta(days=horizon_days)
    transactions = world.transactions
    order_date = transactions["order_date"]
    history = transactions.loc[(order_date < window_start) & (transactions["amount"] > 0)]
    order_statistics = history.groupby("customer_id", sort=True)["amount"].agg(["size", "mean"])
    in_window = transactions.loc[(order_date >= window_start) & (order_date < window_end)]
    future_spend = in_window.groupby("customer_id")["amount"].sum()
    label = future_spend.reindex(order_statistics.index, fill_value=0.0).round(2).clip(lower=0.0)
    customers = world.customers.set_index("customer_id").loc[order_statistics.index]
    # Adding 0.0 turns a -0.0 that rounding can leave into 0.0, which would print as "-0.00".
    return pd.DataFrame(
        {
            "用户ID": order_statistics.index.to_numpy(),
            "注册时间": customers["signup_date"].to_numpy(),
            "购买次数": order_statistics["size"].to_numpy(dtype=np.int64),
            "平均购买金额": order_statistics["mean"].round(2).to_numpy() + 0.0,
            "浏览时长": customers["browsing_minutes"].to_numpy(),
            "终身价值": label.to_numpy() + 0.0,
        }
    )


_DEFAULT_CONFIG: Final = SyntheticConfig()


def make_new_customers_table(
    world: SyntheticWorld, training_snapshot: datetime.date, snapshot: datetime.date
) -> pd.DataFrame:
    """New customers for a model trained on :func:`make_seed_table` at ``training_snapshot``.

    The customers whose first order falls in ``(training_snapshot, snapshot]``, with the seed
    table's columns at ``snapshot`` and without the target (``终身价值``): what a shop would
    export to score the customers it gained since the model was trained.
    """
    table = make_seed_table(world, snapshot, 1)
    known = set(make_seed_table(world, training_snapshot, 1)["用户ID"])
    new = table[~table["用户ID"].isin(known)]
    return new.drop(columns="终身价值").reset_index(drop=True)


def write_sample_data(folder: Path, config: SyntheticConfig = _DEFAULT_CONFIG) -> list[Path]:
    """Generate a world and write the bundled sample files into ``folder``.

    Files written (existing files are replaced; the folder is created when missing):

    - ``transactions.csv``: UTF-8; ``order_id, customer_id, order_date, amount`` with dates as
      ``YYYY-MM-DD HH:MM:SS`` and amounts with 2 decimals.
    - ``customers.csv``: UTF-8; ``customer_id, signup_date`` (``YYYY-MM-DD``), ``channel,
      region, device, age_group, membership, browsing_minutes``.
    - ``customers_seed_zh.csv``: GB18030; :func:`make_seed_table` at ``end - 365`` days with a
      365-day horizon.
    - ``new_customers_seed_zh.csv``: GB18030; :func:`make_new_customers_table`: the customers
      whose first order falls in the next half year (``end - 365`` to ``end - 184`` days), the
      seed table's columns at that date, no target.

    The bytes depend only on ``config``, so the bundled files can be regenerated exactly.

    Parameters
    ----------
    folder
        Where to write.
    config
        The settings of the world; the defaults make the bundled sample.

    Returns
    -------
    list of pathlib.Path
        The paths written, in the order above.
    """
    world = generate_world(config)
    folder.mkdir(parents=True, exist_ok=True)
    transactions_path = folder / "transactions.csv"
    customers_path = folder / "customers.csv"
    seed_table_path = folder / "customers_seed_zh.csv"
    _write_csv(
        world.transactions,
        transactions_path,
        encoding="utf-8",
        date_format="%Y-%m-%d %H:%M:%S",
        float_format="%.2f",
    )
    _write_csv(
        world.customers,
        customers_path,
        encoding="utf-8",
        date_format="%Y-%m-%d",
        float_format="%.1f",
    )
    _write_csv(
        make_seed_table(world, config.end - datetime.timedelta(days=365), 365),
        seed_table_path,
        encoding="gb18030",
        date_format="%Y-%m-%d",
        float_format="%.2f",
    )
    new_customers_path = folder / "new_customers_seed_zh.csv"
    _write_csv(
        make_new_customers_table(
            world,
            config.end - datetime.timedelta(days=365),
            config.end - datetime.timedelta(days=184),
        ),
        new_customers_path,
        encoding="gb18030",
        date_format="%Y-%m-%d",
        float_format="%.2f",
    )
    return [transactions_path, customers_path, seed_table_path, new_customers_path]


def _write_csv(
    frame: pd.DataFrame, path: Path, *, encoding: str, date_format: str, float_format: str
) -> None:
    """Write without the index and with newline line ends on every platform, so bytes reproduce."""
    frame.to_csv(
        path,
        index=False,
        encoding=encoding,
        date_format=date_format,
        float_format=float_format,
        lineterminator="\n",
    )


# --- simulation -------------------------------------------------------------------------------


def _draw_population(
    config: SyntheticConfig,
    seasonality: FloatArray,
    attribute_generator: np.random.Generator,
    acquisition_generator: np.random.Generator,
) -> _Population:
    """Draw every customer's attributes, signup, lifetime and latent rates.

    The draws from each generator happen in a fixed order (attributes, rates, order values,
    return probabilities and browsing from ``attribute_generator``; signup, first order and
    lifetime from ``acquisition_generator``), so a seed always gives the same population.
    """
    count = config.n_customers
    channel = _draw_levels(attribute_generator, _CHANNEL_LEVELS, count)
    region = _draw_levels(attribute_generator, _REGION_LEVELS, count)
    device = _draw_levels(attribute_generator, _DEVICE_LEVELS, count)
    age_group = _draw_levels(attribute_generator, _AGE_GROUP_LEVELS, count)
    is_member = attribute_generator.random(count) < config.member_share
    is_wholesale = attribute_generator.random(count) < config.wholesale_share
    retail_purchase_rate, purchase_rate, dropout_rate = _draw_rates(
        config, attribute_generator, channel, is_member, is_wholesale
    )
    mean_order_value = _draw_mean_order_value(
        config, attribute_generator, region, device, age_group, is_wholesale
    )
    order_value_sigma = np.where(
        is_wholesale, _WHOLESALE_ORDER_VALUE_SIGMA, _RETAIL_ORDER_VALUE_SIGMA
    )
    return_probability = _draw_return_probability(
        attribute_generator, config.mean_return_probability, channel
    )
    browsing_minutes = _draw_browsing_minutes(config, attribute_generator, retail_purchase_rate)
    signup_time, first_order_time, lifetime_days = _draw_acquisition(
        config, seasonality, dropout_rate, acquisition_generator
    )
    return _Population(
        channel=channel,
        region=region,
        device=device,
        age_group=age_group,
        is_member=is_member,
        is_wholesale=is_wholesale,
        signup_time=signup_time,
        first_order_time=first_order_time,
        death_time=first_order_time + lifetime_days,
        purchase_rate_per_year=purchase_rate,
        dropout_rate_per_year=dropout_rate,
        mean_order_value=mean_order_value,
        order_value_sigma=order_value_sigma,
        return_probability=return_probability,
        browsing_minutes=browsing_minutes,
    )


def _draw_rates(
    config: SyntheticConfig,
    generator: np.random.Generator,
    channel: IntArray,
    is_member: BoolArray,
    is_wholesale: BoolArray,
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Yearly rates per customer: (retail purchase rate, purchase rate, dropout rate).

    Draws the purchase-rate gammas, then the dropout-rate gammas.
    """
    count = channel.size
    retail_purchase_rate = (
        config.base_purchase_rate_per_year
        * generator.gamma(config.purchase_rate_shape, 1.0 / config.purchase_rate_shape, count)
        * _multipliers(_CHANNEL_LEVELS, channel, "purchase_rate_multiplier")
        * np.where(is_member, _MEMBER_PURCHASE_RATE_MULTIPLIER, 1.0)
    )
    purchase_rate = retail_purchase_rate * np.where(
        is_wholesale, _WHOLESALE_PURCHASE_RATE_MULTIPLIER, 1.0
    )
    dropout_rate = (
        config.base_dropout_rate_per_year
        * generator.gamma(config.dropout_rate_shape, 1.0 / config.dropout_rate_shape, count)
        * _multipliers(_CHANNEL_LEVELS, channel, "dropout_rate_multiplier")
        * np.where(is_member, _MEMBER_DROPOUT_RATE_MULTIPLIER, 1.0)
        * np.where(is_wholesale, _WHOLESALE_DROPOUT_RATE_MULTIPLIER, 1.0)
    )
    return retail_purchase_rate, purchase_rate, dropout_rate


def _draw_mean_order_value(
    config: SyntheticConfig,
    generator: np.random.Generator,
    region: IntArray,
    device: IntArray,
    age_group: IntArray,
    is_wholesale: BoolArray,
) -> FloatArray:
    """Each customer's expected order value: the wholesale multipliers first, then the gammas."""
    count = region.size
    # A log-uniform multiplier gives wholesale order values between 20 and 100 times normal.
    lowest, highest = _WHOLESALE_VALUE_MULTIPLIER_RANGE
    wholesale_multiplier = np.exp(generator.uniform(np.log(lowest), np.log(highest), count))
    return (
        config.base_order_value
        * generator.gamma(config.order_value_shape, 1.0 / config.order_value_shape, count)
        * _multipliers(_REGION_LEVELS, region, "order_value_multiplier")
        * _multipliers(_DEVICE_LEVELS, device, "order_value_multiplier")
        * _multipliers(_AGE_GROUP_LEVELS, age_group, "order_value_multiplier")
        * np.where(is_wholesale, wholesale_multiplier, 1.0)
    )


def _draw_browsing_minutes(
    config: SyntheticConfig, generator: np.random.Generator, retail_purchase_rate: FloatArray
) -> FloatArray:
    """Average browsing minutes a week, rounded to 0.1.

    Browsing follows the retail rate: wholesale buyers order in bulk, they do not browse more.
    """
    return np.round(
        _BROWSING_MINUTES_AT_BASE_RATE
        * (retail_purchase_rate / config.base_purchase_rate_per_year) ** _BROWSING_RATE_ELASTICITY
        * generator.lognormal(0.0, _BROWSING_NOISE_SIGMA, retail_purchase_rate.size),
        1,
    )


def _draw_acquisition(
    config: SyntheticConfig,
    seasonality: FloatArray,
    dropout_rate: FloatArray,
    generator: np.random.Generator,
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """(signup time, first-order time, lifetime in days) per customer, in days since ``start``.

    Signup days follow growth times seasonality; sorting them numbers customers by signup.
    """
    count = config.n_customers
    day_count = seasonality.size
    day = np.arange(day_count, dtype=np.float64)
    signup_weight = np.exp(np.log1p(config.annual_growth) * day / _DAYS_PER_YEAR) * seasonality
    signup_day = generator.choice(day_count, size=count, p=signup_weight / signup_weight.sum())
    signup_time = np.sort(signup_day + generator.random(count))
    delayed = generator.random(count) >= _IMMEDIATE_FIRST_ORDER_SHARE
    delay = np.where(delayed, generator.exponential(_MEAN_FIRST_ORDER_DELAY_DAYS, count), 0.0)
    first_order_time = signup_time + delay
    lifetime_days = generator.exponential(1.0, count) * _DAYS_PER_YEAR / dropout_rate
    return signup_time, first_order_time, lifetime_days


def _draw_levels(
    generator: np.random.Generator, levels: tuple[_AttributeLevel, ...], count: int
) -> IntArray:
    """Draw ``count`` level codes with the levels' shares as probabilities."""
    shares = np.array([level.share for level in levels])
    return generator.choice(len(levels), size=count, p=shares / shares.sum()).astype(np.int64)


def _multipliers(levels: tuple[_AttributeLevel, ...], codes: IntArray, field: str) -> FloatArray:
    """The multiplier ``field`` of each customer's level."""
    table = np.array([getattr(level, field) for level in levels], dtype=np.float64)
    return table[codes]


def _draw_return_probability(
    generator: np.random.Generator, mean_return_probability: float, channel: IntArray
) -> FloatArray:
    """Per-customer return probabilities: beta around the mean, scaled by channel."""
    count = channel.size
    if mean_return_probability == 0.0:
        return np.zeros(count)
    alpha = mean_return_probability * _RETURN_PROBABILITY_CONCENTRATION
    beta = (1.0 - mean_return_probability) * _RETURN_PROBABILITY_CONCENTRATION
    probability = generator.beta(alpha, beta, count) * _multipliers(
        _CHANNEL_LEVELS, channel, "return_probability_multiplier"
    )
    return np.minimum(probability, _MAXIMUM_RETURN_PROBABILITY)


def _simulate_purchase_times(
    population: _Population, seasonality: FloatArray, generator: np.random.Generator
) -> tuple[IntArray, IntArray]:
    """All orders inside the window as (customer, day number since start), unsorted.

    The first order is placed at the first-order time; repeat orders follow a Poisson process
    with intensity ``rate * seasonality(day) / 365`` until dropout, simulated by thinning: a
    homogeneous process at the peak intensity, each candidate kept with probability
    ``seasonality(day) / peak``.
    """
    day_count = seasonality.size
    peak = float(seasonality.max())
    first_order_time = population.first_order_time
    has_ordered = first_order_time < day_count
    active_until = np.minimum(population.death_time, day_count)
    active_days = np.maximum(active_until - first_order_time, 0.0)
    candidate_rate_per_day = population.purchase_rate_per_year * peak / _DAYS_PER_YEAR

    customer_blocks = [np.flatnonzero(has_ordered).astype(np.int64)]
    day_blocks = [first_order_time[has_ordered].astype(np.int64)]
    customer_count = first_order_time.size
    for block_start in range(0, customer_count, _CUSTOMERS_PER_BLOCK):
        block = np.arange(block_start, min(block_start + _CUSTOMERS_PER_BLOCK, customer_count))
        candidate_counts = generator.poisson(candidate_rate_per_day[block] * active_days[block])
        customer = np.repeat(block, candidate_counts)
        time = first_order_time[customer] + active_days[customer] * generator.random(customer.size)
        # Rounding can put a candidate exactly on the window's end; it belongs to the last day.
        day = np.minimum(time.astype(np.int64), day_count - 1)
        kept = generator.random(customer.size) * peak < seasonality[day]
        customer_blocks.append(customer[kept])
        day_blocks.append(day[kept])
    return np.concatenate(customer_blocks), np.concatenate(day_blocks)


def _assign_seconds(day: IntArray, generator: np.random.Generator) -> IntArray:
    """Seconds since ``start`` for each order: its day, and a time of day from the hourly profile.

    The seasonality works on whole days, so drawing the time of day from the hourly profile
    (instead of keeping the simulated fraction of the day) keeps the daily counts exact while
    giving realistic times of day.
    """
    hourly = np.array(_HOURLY_ORDER_WEIGHTS)
    hour = generator.choice(24, size=day.size, p=hourly / hourly.sum())
    second_of_day = hour * 3600 + generator.integers(0, 3600, size=day.size)
    return day * _SECONDS_PER_DAY + second_of_day


def _draw_order_amounts(
    population: _Population, customer: IntArray, generator: np.random.Generator
) -> FloatArray:
    """Order values: the customer's mean times a mean-one lognormal, rounded to cents."""
    sigma = population.order_value_sigma[customer]
    noise = np.exp(sigma * generator.standard_normal(customer.size) - sigma**2 / 2.0)
    amount = np.round(population.mean_order_value[customer] * noise, 2)
    return np.maximum(amount, 0.01)


def _add_refunds(
    population: _Population,
    customer: IntArray,
    second: IntArray,
    amount: FloatArray,
    day_count: int,
    generator: np.random.Generator,
) -> _Orders:
    """Number the orders by time and add the refund rows that fall inside the window."""
    order = np.argsort(second, kind="stable")
    customer, second, amount = customer[order], second[order], amount[order]
    number = np.arange(1, customer.size + 1, dtype=np.int64)

    refunded = generator.random(customer.size) < population.return_probability[customer]
    refund_count = int(refunded.sum())
    full_refund = generator.random(refund_count) < _FULL_REFUND_SHARE
    fraction = np.where(full_refund, 1.0, generator.uniform(*_PARTIAL_REFUND_RANGE, refund_count))
    delay_seconds = np.round(
        generator.uniform(*_RETURN_DELAY_RANGE_DAYS, refund_count) * _SECONDS_PER_DAY
    ).astype(np.int64)
    refund_second = second[refunded] + delay_seconds
    # Refunds after the end of the window have not happened yet in the observed data.
    observed = refund_second < day_count * _SECONDS_PER_DAY
    refund_amount = -np.maximum(np.round(fraction * amount[refunded], 2), 0.01)

    all_second = np.concatenate([second, refund_second[observed]])
    # A stable sort keeps orders before refunds at equal times and makes ties deterministic.
    by_time = np.argsort(all_second, kind="stable")
    return _Orders(
        customer=np.concatenate([customer, customer[refunded][observed]])[by_time],
        second=all_second[by_time],
        amount=np.concatenate([amount, refund_amount[observed]])[by_time],
        number=np.concatenate([number, number[refunded][observed]])[by_time],
        is_refund=np.concatenate(
            [np.zeros(customer.size, dtype=np.bool_), np.ones(int(observed.sum()), dtype=np.bool_)]
        )[by_time],
    )


# --- frames -----------------------------------------------------------------------------------


def _transactions_frame(orders: _Orders, config: SyntheticConfig) -> pd.DataFrame:
    """The transaction log with string ids and real timestamps."""
    order_number_width = max(7, len(str(int(orders.number.max(initial=0)))))
    prefix = pd.Series(np.where(orders.is_refund, "R", "O"), dtype="str")
    order_id = prefix + _zero_padded(orders.number, order_number_width)
    start_nanoseconds = _to_day(config.start) * _SECONDS_PER_DAY * _NANOSECONDS_PER_SECOND
    order_date = (start_nanoseconds + orders.second * _NANOSECONDS_PER_SECOND).astype(
        "datetime64[ns]"
    )
    return pd.DataFrame(
        {
            "order_id": order_id,
            "customer_id": _customer_ids(orders.customer, config.n_customers),
            "order_date": order_date,
            "amount": orders.amount,
        }
    )


def _customers_frame(population: _Population, config: SyntheticConfig) -> pd.DataFrame:
    """The observable customer attributes, one row per customer."""
    count = config.n_customers
    signup_day = np.datetime64(config.start, "D") + population.signup_time.astype(np.int64)
    return pd.DataFrame(
        {
            "customer_id": _customer_ids(np.arange(count, dtype=np.int64), count),
            "signup_date": signup_day.astype("datetime64[ns]"),
            "channel": _labels(_CHANNEL_LEVELS, population.channel),
            "region": _labels(_REGION_LEVELS, population.region),
            "device": _labels(_DEVICE_LEVELS, population.device),
            "age_group": _labels(_AGE_GROUP_LEVELS, population.age_group),
            "membership": pd.Series(
                np.where(population.is_member, _MEMBERSHIP_LABELS[1], _MEMBERSHIP_LABELS[0]),
                dtype="str",
            ),
            "browsing_minutes": population.browsing_minutes,
        }
    )


def _truth_frame(population: _Population, config: SyntheticConfig, day_count: int) -> pd.DataFrame:
    """The latent parameters and life events, one row per customer."""
    count = config.n_customers
    start_day = np.datetime64(config.start, "D")
    has_ordered = population.first_order_time < day_count
    dropped_out = has_ordered & (population.death_time < day_count)
    first_order_date = np.where(
        has_ordered,
        start_day + np.minimum(population.first_order_time, day_count).astype(np.int64),
        np.datetime64("NaT", "D"),
    )
    death_date = np.where(
        dropped_out,
        start_day + np.minimum(population.death_time, day_count).astype(np.int64),
        np.datetime64("NaT", "D"),
    )
    return pd.DataFrame(
        {
            "customer_id": _customer_ids(np.arange(count, dtype=np.int64), count),
            "is_wholesale": population.is_wholesale,
            "purchase_rate_per_year": population.purchase_rate_per_year,
            "dropout_rate_per_year": population.dropout_rate_per_year,
            "mean_order_value": population.mean_order_value,
            "return_probability": population.return_probability,
            "first_order_date": first_order_date.astype("datetime64[ns]"),
            "death_date": death_date.astype("datetime64[ns]"),
            "alive_at_end": has_ordered & ~dropped_out,
        }
    )


def _customer_ids(customer: IntArray, customer_count: int) -> pd.Series:
    """``C`` + the zero-padded customer number (at least 6 digits)."""
    width = max(6, len(str(customer_count - 1)))
    return "C" + _zero_padded(customer, width)


def _zero_padded(number: IntArray, width: int) -> pd.Series:
    """Numbers as zero-padded strings (pyarrow-backed, fast for millions of rows)."""
    return pd.Series(number).astype("str").str.zfill(width)


def _labels(levels: tuple[_AttributeLevel, ...], codes: IntArray) -> pd.Series:
    """Level names for the codes, as a string column."""
    names = np.array([level.name for level in levels])
    return pd.Series(names[codes], dtype="str")


# --- ground truth -----------------------------------------------------------------------------


def _expected_spend_of_active_customers(
    active_truth: pd.DataFrame, config: SyntheticConfig, as_of: datetime.date, horizon_days: int
) -> FloatArray:
    """Expected net spend of orders placed in the window by customers active at its start."""
    first_window_day = as_of + datetime.timedelta(days=1)
    seasonality = _seasonality(
        _day_range(first_window_day, horizon_days), config.seasonality_strength
    )
    refund_inside = _refund_inside_window_probability(horizon_days)
    purchase_rate = active_truth["purchase_rate_per_year"].to_numpy(dtype=np.float64)
    dropout_rate = active_truth["dropout_rate_per_year"].to_numpy(dtype=np.float64)
    # survival[k] = exp(-mu k / 365) = daily_survival**k, so both sums below are polynomials
    # in daily_survival, evaluated with Horner's rule from the last window day backwards.
    daily_survival = np.exp(-dropout_rate / _DAYS_PER_YEAR)
    seasonal_sum = np.zeros_like(purchase_rate)
    refunded_sum = np.zeros_like(purchase_rate)
    for day in range(horizon_days - 1, -1, -1):
        seasonal_sum = seasonal_sum * daily_survival + seasonality[day]
        refunded_sum = refunded_sum * daily_survival + seasonality[day] * refund_inside[day]
    # rate/365 * integral_0^1 exp(-mu u / 365) du = rate * (1 - daily_survival) / mu.
    orders_per_unit = purchase_rate * -np.expm1(-dropout_rate / _DAYS_PER_YEAR) / dropout_rate
    refund_per_order = (
        active_truth["return_probability"].to_numpy(dtype=np.float64) * _MEAN_REFUND_FRACTION
    )
    mean_order_value = active_truth["mean_order_value"].to_numpy(dtype=np.float64)
    return orders_per_unit * mean_order_value * (seasonal_sum - refund_per_order * refunded_sum)


def _refund_inside_window_probability(horizon_days: int) -> FloatArray:
    """For an order on window day ``k``, P(refund delay lands before the window's end).

    The order's time of day follows the hourly profile, so the probability is averaged over
    the hours (at mid-hour).
    """
    hourly = np.array(_HOURLY_ORDER_WEIGHTS)
    hour_share = hourly / hourly.sum()
    time_of_day = (np.arange(24) + 0.5) / 24.0
    remaining = horizon_days - np.arange(horizon_days)[:, None] - time_of_day[None, :]
    return (_refund_delay_cdf(remaining) * hour_share[None, :]).sum(axis=1)


def _refund_delay_cdf(days: FloatArray) -> FloatArray:
    """P(refund delay <= days) for the uniform delay."""
    lowest, highest = _RETURN_DELAY_RANGE_DAYS
    return np.clip((days - lowest) / (highest - lowest), 0.0, 1.0)


def _expected_pending_refunds(
    world: SyntheticWorld, window_start: pd.Timestamp, horizon_days: int
) -> FloatArray:
    """Expected refunds inside the window of orders placed before it, per customer.

    An order placed ``e`` days before the window and not refunded yet is refunded inside the
    window with probability ``p (F(e + h) - F(e)) / (1 - p F(e))`` (Bayes' rule with the
    delay's CDF ``F``), and then by the mean refund fraction of its amount.
    """
    transactions = world.transactions
    truth = world.truth
    latest_delay = pd.Timedelta(days=_RETURN_DELAY_RANGE_DAYS[1] + 1)
    order_date = transactions["order_date"]
    recent = transactions.loc[
        (order_date >= window_start - latest_delay) & (order_date < window_start)
    ]
    is_refund = recent["order_id"].str.startswith("R").to_numpy()
    number = recent["order_id"].str.slice(1).astype("int64").to_numpy()
    recent_orders = recent.loc[~is_refund]
    # A refund of one of these orders is at most 31 days after it, so it is in `recent` too.
    already_refunded = np.isin(number[~is_refund], number[is_refund])
    pending = recent_orders.loc[~already_refunded]

    customer_position = pd.Index(truth["customer_id"]).get_indexer(pending["customer_id"])
    return_probability = truth["return_probability"].to_numpy(dtype=np.float64)[customer_position]
    elapsed = pd.Series(window_start - pending["order_date"])
    elapsed_days = elapsed.dt.total_seconds().to_numpy(dtype=np.float64) / _SECONDS_PER_DAY
    delay_done = _refund_delay_cdf(elapsed_days)
    refund_probability = (
        return_probability
        * (_refund_delay_cdf(elapsed_days + horizon_days) - delay_done)
        / (1.0 - return_probability * delay_done)
    )
    expected_refund = refund_probability * _MEAN_REFUND_FRACTION * pending["amount"].to_numpy()
    refunds = np.bincount(customer_position, weights=expected_refund, minlength=len(truth))
    return refunds.astype(np.float64)


# --- calendar ---------------------------------------------------------------------------------


def _seasonality(days: npt.NDArray[np.datetime64], strength: float) -> FloatArray:
    """Relative order intensity of each day; averages 1 over a year and a week.

    ``strength`` scales every deviation from 1 (0 gives a flat calendar).
    """
    annual = _annual_profile(days, strength)
    reference_year = _day_range(datetime.date(_REFERENCE_YEAR, 1, 1), 365)
    annual_mean = float(_annual_profile(reference_year, strength).mean())
    # 1970-01-01 was a Thursday, so (days since epoch + 3) % 7 numbers Monday as 0.
    weekday = (days.astype(np.int64) + 3) % 7
    weekly = 1.0 + strength * (np.array(_WEEKDAY_FACTORS)[weekday] - 1.0)
    return annual / annual_mean * weekly


def _annual_profile(days: npt.NDArray[np.datetime64], strength: float) -> FloatArray:
    """The month-and-day part of the seasonality, before normalising to a yearly mean of 1."""
    month_start = days.astype("datetime64[M]")
    month = month_start.astype(np.int64) % 12 + 1
    day_of_month = (days - month_start.astype("datetime64[D]")).astype(np.int64) + 1
    november = month == 11
    december = month == 12
    bump = np.zeros(days.shape, dtype=np.float64)
    # The shopping season runs through November and December.
    bump += np.where(november | december, 0.35, 0.0)
    # Singles' Day: presales from 1 November, a huge spike on the 11th, a smaller one on the
    # eve and the day after.
    bump += np.where(november & (day_of_month <= 10), 0.15, 0.0)
    bump += np.where(november & (day_of_month == 11), 2.6, 0.0)
    bump += np.where(november & ((day_of_month == 10) | (day_of_month == 12)), 0.6, 0.0)
    # Double 12 (12 December) and 618 (18 June) are smaller spikes with presales before.
    bump += np.where(december & (day_of_month == 12), 0.8, 0.0)
    bump += np.where((month == 6) & (day_of_month < 18), 0.1, 0.0)
    bump += np.where((month == 6) & (day_of_month == 18), 1.2, 0.0)
    # Spring Festival: couriers stop in February and March is slow to recover.
    bump += np.where(month == 2, -0.25, 0.0)
    bump += np.where(month == 3, -0.1, 0.0)
    return 1.0 + strength * bump


def _day_range(first: datetime.date, count: int) -> npt.NDArray[np.datetime64]:
    """``count`` consecutive days from ``first``."""
    return np.datetime64(first, "D") + np.arange(count)


def _check_horizon(horizon_days: int) -> None:
    """Raise ``ConfigError`` unless the horizon is a whole number of days in range."""
    if (
        isinstance(horizon_days, bool)
        or not isinstance(horizon_days, int | np.integer)
        or not 1 <= horizon_days <= _MAXIMUM_HORIZON_DAYS
    ):
        raise ConfigError(
            f"horizon_days must be an integer between 1 and {_MAXIMUM_HORIZON_DAYS}; "
            f"got {horizon_days!r}."
        )


def change_behaviour(
    world: SyntheticWorld,
    after: datetime.date,
    spend_factors: Mapping[str, float],
    *,
    column: str = "channel",
) -> pd.DataFrame:
    """The world's transactions with a deliberate change of behaviour after ``after``.

    From the day after ``after``, every order and refund of a customer whose attribute
    ``column`` is a key of ``spend_factors`` has its amount multiplied by that factor; a factor
    of 0 removes those rows (the customers stop buying). A model trained before the change no
    longer fits the customers after it: what monitoring must notice, and a retrained model must
    learn.
    """
    if any(not np.isfinite(factor) or factor < 0 for factor in spend_factors.values()):
        raise ConfigError("spend_factors must be 0 or more.")
    transactions = world.transactions
    attribute = world.customers.set_index("customer_id")[column].astype(str)
    factor = (
        transactions["customer_id"].map(attribute).map(dict(spend_factors)).fillna(1.0)
    ).to_numpy(np.float64)
    changed = (transactions["order_date"] >= pd.Timestamp(after) + pd.Timedelta(days=1)).to_numpy()
    factor = np.where(changed, factor, 1.0)
    result = transactions.assign(amount=np.round(transactions["amount"].to_numpy() * factor, 2))
    return result[factor > 0].reset_index(drop=True)
