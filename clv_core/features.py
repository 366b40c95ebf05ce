"""Per-customer features at a cutoff and the CLV label over a horizon.

The time protocol (README, "The time protocol"): features use only transactions **on or
before** the cutoff date; the label is the customer's **net** spend in
``(cutoff, cutoff + horizon]``, clipped at 0, and 0 for customers who did not buy. Dates are
compared at day resolution: an order at 18:00 on the cutoff day is history, an order at 00:01
the day after is future.

Purchases are orders with an amount >= 0 (free orders count as purchases, as in ``lifetimes``);
negative amounts are returns. Customers are those with at least one purchase on or before the
cutoff.

Everything is vectorised over integer customer codes (``np.bincount``, sorted-array tricks and
pandas group-bys); there is no per-customer Python loop.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

from clv_core.errors import ConfigError, DataError
from clv_core.splits import as_day
from clv_core.validation import CustomerAttributes

__all__ = [
    "BTYD_COLUMNS",
    "LABEL_COLUMN",
    "MONEY_EPSILON",
    "FeatureOptions",
    "build_features",
    "build_labels",
    "build_training_table",
    "categorical_feature_columns",
    "feature_column_order",
    "numeric_feature_columns",
]

LABEL_COLUMN = "future_spend"
# Net money below this is floating-point residue of orders and their returns, not spend.
MONEY_EPSILON = 1e-9
BTYD_COLUMNS = ("frequency", "recency", "T", "monetary_value")
# Features that are counts or spans of days: never below zero (``orders_last_<w>d`` too).
NON_NEGATIVE_FEATURES = frozenset(
    {
        "frequency",
        "recency",
        "T",
        "n_orders",
        "active_days",
        "active_months",
        "orders_per_month",
        "n_returns",
        "days_since_last_purchase",
        "mean_days_between_purchases",
        "std_days_between_purchases",
    }
)
_DAY = np.timedelta64(1, "D")


@dataclass(frozen=True, slots=True, kw_only=True)
class FeatureOptions:
    """Settings of :func:`build_features`.

    Attributes
    ----------
    window_days
        Recent windows, in days before the cutoff, for order counts and spend
        (``orders_last_90d``, ``spend_last_90d``, ...).
    trend_window_days
        Length of the two consecutive windows compared by ``spend_trend`` / ``order_trend``.
    """

    window_days: tuple[int, ...] = (30, 90, 180, 365)
    trend_window_days: int = 90

    def __post_init__(self) -> None:
        if not self.window_days or any(days < 1 for days in self.window_days):
            raise ConfigError(
                f"window_days must be one or more positive day counts, got {self.window_days}."
            )
        if len(set(self.window_days)) != len(self.window_days):
            raise ConfigError(f"window_days must not repeat a value, got {self.window_days}.")
        if self.trend_window_days < 1:
            raise ConfigError(
                f"trend_window_days must be a positive number of days, got "
                f"{self.trend_window_days}."
            )


def _day_numbers(dates: pd.Series) -> np.ndarray:
    """Whole days since 1970-01-01 for datetime64 values (time of day dropped)."""
    values = dates.to_numpy(dtype="datetime64[ns]")
    return values.astype("datetime64[D]").astype(np.int64)


def _cutoff_day(cutoff: dt.date | str | pd.Timestamp) -> int:
    timestamp = as_day(cutoff, "cutoff")
    return int(np.datetime64(timestamp.date(), "D").astype(np.int64))


def build_features(
    transactions: pd.DataFrame,
    cutoff: dt.date | str | pd.Timestamp,
    *,
    customers: CustomerAttributes | None = None,
    options: FeatureOptions | None = None,
) -> pd.DataFrame:
    """Build one row of features per customer from the transactions on or before ``cutoff``.

    Parameters
    ----------
    transactions
        Validated orders with columns ``customer_id`` (str), ``order_date`` (datetime64) and
        ``amount`` (float, negative = return); see :class:`~clv_core.validation.Transactions`.
    cutoff
        The last day of history. Orders on that day are included.
    customers
        Optional validated attributes, joined by customer id. Numeric attributes stay numeric,
        categorical ones stay text (encoded later by the model's preprocessing), date attributes
        become ``days_since_<column>`` at the cutoff (missing if the date is after the cutoff).
    options
        Windows; see :class:`FeatureOptions`.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``customer_id`` (sorted), one row per customer with a purchase on or before
        the cutoff. Columns, in this order:

        - ``frequency``, ``recency``, ``T``, ``monetary_value``: the BTYD summary in
          ``lifetimes`` conventions at daily resolution (repeat purchase days; days from first to
          last purchase day; days from first purchase day to cutoff; mean spend of the repeat
          purchase days, 0 without repeats).
        - ``n_orders``, ``active_days``, ``active_months``, ``orders_per_month``.
        - ``gross_spend``, ``net_spend`` (after returns), ``average_order_value``,
          ``first_order_value``, ``last_order_value``, ``max_order_value``.
        - ``n_returns``, ``return_amount``, ``return_share`` (returned / gross).
        - ``days_since_last_purchase``, ``mean_days_between_purchases``,
          ``std_days_between_purchases`` (NaN with fewer than one/two gaps).
        - ``orders_last_<w>d``, ``spend_last_<w>d`` (net) for each window.
        - ``spend_trend``, ``order_trend``: (recent - previous) / (recent + previous) over two
          consecutive trend windows, in [-1, 1], 0 when both are empty.
        - attribute columns, and ``days_since_signup`` / ``days_from_signup_to_first_purchase``
          when the attributes have a signup date.

    Raises
    ------
    DataError
        No customer has a purchase on or before the cutoff.
    """
    options = options or FeatureOptions()
    cutoff_day = _cutoff_day(cutoff)
    day = _day_numbers(transactions["order_date"])
    past = day <= cutoff_day
    amount = transactions["amount"].to_numpy(dtype=np.float64)
    is_purchase = past & (amount >= 0)
    if not is_purchase.any():
        first = pd.Timestamp(transactions["order_date"].min()).date() if len(day) else None
        raise DataError(
            f"No customer has a purchase on or before the cutoff {pd.Timestamp(cutoff).date()}"
            + (f"; the data starts on {first}." if first else ".")
            + " Choose a later cutoff."
        )
    # Integer codes once (sorted ids -> sorted output); customers are the ids with a purchase
    # on or before the cutoff, renumbered 0..n-1 in id order.
    all_codes, unique_ids = _customer_codes(transactions)
    is_customer = np.bincount(all_codes[is_purchase], minlength=len(unique_ids)) > 0
    renumber = np.full(len(unique_ids), -1, dtype=np.int64)
    renumber[is_customer] = np.arange(int(is_customer.sum()))
    customer_index = pd.Index(unique_ids[is_customer], name="customer_id")
    codes_all = renumber[all_codes[past]]
    # Returns of customers without any purchase before the cutoff have no row; drop them here.
    known = codes_all >= 0
    codes = codes_all[known]
    past_day = day[past][known]
    past_amount = amount[past][known]
    n_customers = len(customer_index)

    purchases = past_amount >= 0
    columns: dict[str, np.ndarray] = {}
    columns.update(
        _btyd_summary(
            codes[purchases], past_day[purchases], past_amount[purchases], cutoff_day, n_customers
        )
    )
    columns.update(
        _order_values(codes[purchases], past_day[purchases], past_amount[purchases], n_customers)
    )
    returns = ~purchases
    n_returns = np.bincount(codes[returns], minlength=n_customers).astype(np.float64)
    return_amount = 0.0 - np.bincount(
        codes[returns], weights=past_amount[returns], minlength=n_customers
    )
    gross = columns["gross_spend"]
    columns["net_spend"] = gross - return_amount
    columns["n_returns"] = n_returns
    columns["return_amount"] = return_amount
    columns["return_share"] = np.divide(
        return_amount, gross, out=np.zeros(n_customers), where=gross > 0
    )
    columns["orders_per_month"] = columns["n_orders"] * 30.0 / (columns["T"] + 1.0)
    columns.update(_window_features(codes, past_day, past_amount, cutoff_day, n_customers, options))

    frame = pd.DataFrame(columns, index=customer_index)
    frame = frame[feature_column_order(options)]
    if customers is not None:
        frame = _join_attributes(frame, customers, cutoff_day)
    return frame


def _customer_codes(transactions: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Integer code per row and the sorted unique customer ids (as str) they index."""
    codes, uniques = pd.factorize(transactions["customer_id"], sort=True)
    if (codes < 0).any():
        raise DataError(
            "Some transactions have no customer id; validate the transactions first "
            "(validate_transactions drops and counts them)."
        )
    return codes.astype(np.int64), np.asarray(uniques, dtype=object).astype(str)


def _btyd_summary(
    codes: np.ndarray, day: np.ndarray, amount: np.ndarray, cutoff_day: int, n_customers: int
) -> dict[str, np.ndarray]:
    """frequency / recency / T / monetary_value plus purchase-day statistics."""
    # One row per (customer, purchase day) with that day's spend, sorted by customer then day.
    first_possible_day = int(day.min())
    span = cutoff_day - first_possible_day + 1
    key = codes.astype(np.int64) * span + (day - first_possible_day)
    unique_keys, inverse = np.unique(key, return_inverse=True)
    daily_spend = np.bincount(inverse, weights=amount)
    daily_code = unique_keys // span
    daily_day = unique_keys % span + first_possible_day

    active_days = np.bincount(daily_code, minlength=n_customers).astype(np.float64)
    starts = np.flatnonzero(np.r_[True, daily_code[1:] != daily_code[:-1]])
    ends = np.r_[starts[1:], len(daily_code)] - 1
    first_day = np.zeros(n_customers, dtype=np.int64)
    last_day = np.zeros(n_customers, dtype=np.int64)
    first_day[daily_code[starts]] = daily_day[starts]
    last_day[daily_code[ends]] = daily_day[ends]
    # The spend of the purchase days after the first, summed directly (as lifetimes does):
    # subtracting the first day from the total loses the small repeat spend of a customer
    # whose first day was huge.
    repeat = np.ones(len(daily_code), dtype=bool)
    repeat[starts] = False
    repeat_spend = np.bincount(
        daily_code[repeat], weights=daily_spend[repeat], minlength=n_customers
    )

    frequency = active_days - 1
    recency = (last_day - first_day).astype(np.float64)
    tenure = (cutoff_day - first_day).astype(np.float64)
    monetary = np.divide(repeat_spend, frequency, out=np.zeros(n_customers), where=frequency > 0)

    same_customer = daily_code[1:] == daily_code[:-1]
    gaps = np.diff(daily_day)[same_customer].astype(np.float64)
    gap_codes = daily_code[1:][same_customer]
    gap_count = np.bincount(gap_codes, minlength=n_customers)
    gap_sum = np.bincount(gap_codes, weights=gaps, minlength=n_customers)
    gap_square_sum = np.bincount(gap_codes, weights=gaps**2, minlength=n_customers)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_gap = np.where(gap_count > 0, gap_sum / gap_count, np.nan)
        variance = np.where(gap_count > 1, gap_square_sum / gap_count - mean_gap**2, np.nan)
    std_gap = np.sqrt(np.clip(variance, 0, None))

    month = day.astype("datetime64[D]").astype("datetime64[M]").astype(np.int64)
    month_keys = np.unique(codes.astype(np.int64) * 100_000 + month)
    active_months = np.bincount(month_keys // 100_000, minlength=n_customers).astype(np.float64)
    return {
        "frequency": frequency,
        "recency": recency,
        "T": tenure,
        "monetary_value": monetary,
        "active_days": active_days,
        "active_months": active_months,
        "days_since_last_purchase": (cutoff_day - last_day).astype(np.float64),
        "mean_days_between_purchases": mean_gap,
        "std_days_between_purchases": std_gap,
    }


def _order_values(
    codes: np.ndarray, day: np.ndarray, amount: np.ndarray, n_customers: int
) -> dict[str, np.ndarray]:
    """Order counts and first/last/max/mean purchase order values."""
    n_orders = np.bincount(codes, minlength=n_customers).astype(np.float64)
    gross = np.bincount(codes, weights=amount, minlength=n_customers)
    # Stable sort by (customer, day): the first order of a customer's first day is the first
    # order in file order, which is the best we know without a time of day.
    order = np.lexsort((day, codes))
    sorted_codes = codes[order]
    starts = np.flatnonzero(np.r_[True, sorted_codes[1:] != sorted_codes[:-1]])
    ends = np.r_[starts[1:], len(sorted_codes)] - 1
    first_value = np.zeros(n_customers)
    last_value = np.zeros(n_customers)
    first_value[sorted_codes[starts]] = amount[order][starts]
    last_value[sorted_codes[ends]] = amount[order][ends]
    max_value = np.zeros(n_customers)
    max_value[sorted_codes[starts]] = np.maximum.reduceat(amount[order], starts)
    return {
        "n_orders": n_orders,
        "gross_spend": gross,
        "average_order_value": np.divide(
            gross, n_orders, out=np.zeros(n_customers), where=n_orders > 0
        ),
        "first_order_value": first_value,
        "last_order_value": last_value,
        "max_order_value": max_value,
    }


def _window_features(
    codes: np.ndarray,
    day: np.ndarray,
    amount: np.ndarray,
    cutoff_day: int,
    n_customers: int,
    options: FeatureOptions,
) -> dict[str, np.ndarray]:
    """Orders and net spend in recent windows, and recent-vs-previous trends."""
    age = cutoff_day - day  # 0 on the cutoff day
    purchase = amount >= 0
    result: dict[str, np.ndarray] = {}

    def count_and_spend(in_window: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        orders = np.bincount(codes[in_window & purchase], minlength=n_customers)
        spend = np.bincount(codes[in_window], weights=amount[in_window], minlength=n_customers)
        # An empty window gives integer zeros from bincount: spend is money, always float.
        return orders.astype(np.float64), spend.astype(np.float64)

    for window in options.window_days:
        orders, spend = count_and_spend(age < window)
        result[f"orders_last_{window}d"] = orders
        result[f"spend_last_{window}d"] = spend
    length = options.trend_window_days
    recent_orders, recent_spend = count_and_spend(age < length)
    previous_orders, previous_spend = count_and_spend((age >= length) & (age < 2 * length))
    result["spend_trend"] = _trend(_spent(recent_spend), _spent(previous_spend))
    result["order_trend"] = _trend(recent_orders, previous_orders)
    return result


def _spent(net: np.ndarray) -> np.ndarray:
    """Net spend of a window for the trend: 0 unless above :data:`MONEY_EPSILON`.

    A window whose orders were all returned nets to 0 only up to floating-point residue
    (1e-14, of either sign, depending on the order of summation); that residue is not spend.
    """
    return np.where(net > MONEY_EPSILON, net, 0.0)


def _trend(recent: np.ndarray, previous: np.ndarray) -> np.ndarray:
    total = (recent + previous).astype(np.float64)
    return np.divide(recent - previous, total, out=np.zeros_like(total), where=total > 0)


def feature_column_order(options: FeatureOptions) -> list[str]:
    """The history feature columns :func:`build_features` returns, in order (before the
    attributes)."""
    windows = [
        name
        for window in options.window_days
        for name in (f"orders_last_{window}d", f"spend_last_{window}d")
    ]
    return [
        *BTYD_COLUMNS,
        "n_orders",
        "active_days",
        "active_months",
        "orders_per_month",
        "gross_spend",
        "net_spend",
        "average_order_value",
        "first_order_value",
        "last_order_value",
        "max_order_value",
        "n_returns",
        "return_amount",
        "return_share",
        "days_since_last_purchase",
        "mean_days_between_purchases",
        "std_days_between_purchases",
        *windows,
        "spend_trend",
        "order_trend",
    ]


def _join_attributes(
    frame: pd.DataFrame, customers: CustomerAttributes, cutoff_day: int
) -> pd.DataFrame:
    """Left-join attributes; dates become days before the cutoff; names never collide."""
    attributes = customers.frame.reindex(frame.index)
    joined: dict[str, pd.Series] = {}
    cutoff = pd.Timestamp(np.datetime64(cutoff_day, "D"))
    for column in attributes.columns:
        values = attributes[column]
        if column in customers.date_columns:
            days = (cutoff - values).dt.days.astype("float64")
            # A date after the cutoff is not known at the cutoff: treat it as missing.
            days = days.where(days >= 0)
            if column == customers.signup_column:
                joined["days_since_signup"] = days
                joined["days_from_signup_to_first_purchase"] = (days - frame["T"]).clip(lower=0)
            else:
                joined[f"days_since_{column}"] = days
        elif column in customers.numeric_columns:
            joined[column] = values.astype("float64")
        else:
            joined[column] = values.astype("str")
    renamed = {name: (f"attribute_{name}" if name in frame.columns else name) for name in joined}
    extra = pd.DataFrame(
        {renamed[name]: series for name, series in joined.items()}, index=frame.index
    )
    return pd.concat([frame, extra], axis=1)


def numeric_feature_columns(features: pd.DataFrame) -> list[str]:
    """Names of the numeric feature columns, in table order."""
    return [c for c in features.columns if pd.api.types.is_numeric_dtype(features[c])]


def categorical_feature_columns(features: pd.DataFrame) -> list[str]:
    """Names of the categorical (text) feature columns, in table order."""
    return [c for c in features.columns if not pd.api.types.is_numeric_dtype(features[c])]


def build_labels(
    transactions: pd.DataFrame,
    cutoff: dt.date | str | pd.Timestamp,
    horizon_days: int,
    customers: pd.Index | None = None,
) -> pd.Series:
    """Net spend per customer in ``(cutoff, cutoff + horizon_days]``, clipped at 0.

    Parameters
    ----------
    transactions
        Validated orders (``customer_id``, ``order_date``, ``amount``).
    cutoff
        Last day of history; the horizon starts the day after.
    horizon_days
        Length of the label window in days.
    customers
        Customers to label (e.g. ``build_features(...).index``); those who did not buy get 0.
        ``None`` labels every customer with a purchase on or before the cutoff.

    Returns
    -------
    pandas.Series
        ``future_spend`` indexed like ``customers``. Returns in the horizon reduce it (they may
        refund purchases made before the cutoff); a negative net is clipped to 0.
    """
    if horizon_days < 1:
        raise ConfigError(f"horizon_days must be a positive number of days, got {horizon_days}.")
    cutoff_day = _cutoff_day(cutoff)
    day = _day_numbers(transactions["order_date"])
    if customers is None:
        past_purchase = (day <= cutoff_day) & (transactions["amount"].to_numpy() >= 0)
        codes_past, ids = _customer_codes(transactions)
        bought = np.bincount(codes_past[past_purchase], minlength=len(ids)) > 0
        customers = pd.Index(ids[bought], name="customer_id")
    in_horizon = (day > cutoff_day) & (day <= cutoff_day + horizon_days)
    all_codes, unique_ids = _customer_codes(transactions)
    position_of_id = customers.get_indexer(pd.Index(unique_ids))
    codes = position_of_id[all_codes[in_horizon]]
    known = codes >= 0
    amounts = transactions["amount"].to_numpy(dtype=np.float64)[in_horizon][known]
    # An empty horizon gives integer zeros from bincount: spend is money, always float.
    spend = np.bincount(codes[known], weights=amounts, minlength=len(customers)).astype(np.float64)
    return pd.Series(np.clip(spend, 0, None), index=customers, name=LABEL_COLUMN)


def build_training_table(
    transactions: pd.DataFrame,
    cutoff: dt.date | str | pd.Timestamp,
    horizon_days: int,
    *,
    customers: CustomerAttributes | None = None,
    options: FeatureOptions | None = None,
) -> pd.DataFrame:
    """Features at ``cutoff`` with the ``future_spend`` label over the following horizon."""
    features = build_features(transactions, cutoff, customers=customers, options=options)
    labels = build_labels(transactions, cutoff, horizon_days, features.index)
    return features.assign(**{LABEL_COLUMN: labels})
