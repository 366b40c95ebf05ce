"""The per-customer features and labels as SQL: one canonical text, run by a SQL engine.

:func:`feature_sql` and :func:`label_sql` write the same features and labels as
:func:`clv_core.features.build_features` / :func:`~clv_core.features.build_labels` (the pandas
reference) as one query each, over a table ``orders`` with the columns

* ``row_id`` (BIGINT): the order's position in the validated log (ties of one day are broken
  by it, as the reference's stable sort does);
* ``customer_id`` (VARCHAR);
* ``day`` (INTEGER): the order date as whole days since 1970-01-01 (time of day dropped);
* ``amount`` (DOUBLE): negative for returns.

The SQL keeps to a portable subset (common table expressions, ``GROUP BY``, ``ROW_NUMBER``
and ``LAG`` windows, ``ARG_MIN``/``ARG_MAX``, ``CASE``, ``COUNT(DISTINCT ...)``), so other
engines can run the same text through a dialect translator (Spark's ``MIN_BY``/``MAX_BY``).
:mod:`clv_core.sql.duckdb_engine` runs it on DuckDB, :mod:`clv_core.sql.spark_engine` on
Spark. The queries return
one row per customer sorted by ``customer_id``; the attribute columns are joined afterwards by
the same code as the reference.
"""

from __future__ import annotations

from clv_core.features import (
    LABEL_COLUMN,
    MONEY_EPSILON,
    FeatureOptions,
    feature_column_order,
)

__all__ = ["feature_columns", "feature_sql", "label_sql", "labelled_feature_sql"]

# First and last orders are the smallest and largest (day, row) keys: day * _ROW_SPAN + row_id,
# which stays exact in 64 bits for logs of fewer than 10^10 rows.
_ROW_SPAN = 10_000_000_000


def feature_columns(options: FeatureOptions) -> list[str]:
    """The feature columns the query returns after ``customer_id``, in the reference's order."""
    return feature_column_order(options)


def _window_sums(options: FeatureOptions) -> str:
    """Per-customer order counts and net spend in the recent windows and the trend windows."""
    parts = []
    for window in options.window_days:
        parts.append(
            f"SUM(CASE WHEN age < {window} AND amount >= 0 THEN 1 ELSE 0 END) AS orders_{window}"
        )
        parts.append(f"SUM(CASE WHEN age < {window} THEN amount ELSE 0 END) AS spend_{window}")
    length = options.trend_window_days
    recent = f"age < {length}"
    previous = f"age >= {length} AND age < {2 * length}"
    parts += [
        f"SUM(CASE WHEN {recent} AND amount >= 0 THEN 1 ELSE 0 END) AS recent_orders",
        f"SUM(CASE WHEN {recent} THEN amount ELSE 0 END) AS recent_spend",
        f"SUM(CASE WHEN {previous} AND amount >= 0 THEN 1 ELSE 0 END) AS previous_orders",
        f"SUM(CASE WHEN {previous} THEN amount ELSE 0 END) AS previous_spend",
    ]
    return ",\n        ".join(parts)


def _trend(recent: str, previous: str) -> str:
    """(recent - previous) / (recent + previous), 0 when both are 0."""
    return (
        f"CASE WHEN ({recent}) + ({previous}) > 0 "
        f"THEN (({recent}) - ({previous})) / (({recent}) + ({previous})) ELSE 0.0 END"
    )


def feature_sql(cutoff_day: int, options: FeatureOptions) -> str:
    """The query of every customer's features at ``cutoff_day`` (days since 1970-01-01)."""
    return _history_sql(cutoff_day, options) + _feature_select(cutoff_day, options)


def labelled_feature_sql(cutoff_day: int, horizon_days: int, options: FeatureOptions) -> str:
    """:func:`feature_sql` with each customer's label (:func:`label_sql`) as a last column,
    ``future_spend``: the features and labels of a log in one query, with no table of customers
    to hand in (what streams a feature table of any size to a file)."""
    return (
        _history_sql(cutoff_day, options)
        + ",\n"
        + _horizon_cte(cutoff_day, horizon_days)
        + _feature_select(cutoff_day, options, labelled=True)
    )


def _history_sql(cutoff_day: int, options: FeatureOptions) -> str:
    """The common table expressions: history, purchase days, order values, returns, windows."""
    return _day_ctes(cutoff_day) + _order_ctes(options)


# A purchase day's calendar month as one number (year * 12 + month).
_DATE = "CAST(DATE '1970-01-01' + CAST(day AS INTEGER) AS DATE)"
_MONTH = f"(EXTRACT(YEAR FROM {_DATE}) * 12 + EXTRACT(MONTH FROM {_DATE}))"


def _day_ctes(cutoff_day: int) -> str:
    """History up to the cutoff, purchases, the BTYD summary, gaps and months.

    Purchases in day order give the summary without a table of purchase days: each one's gap
    to the previous purchase (0 for another purchase on the same day) and whether its month
    differs from the previous one's; the gaps between purchase days sum to last - first day.
    """
    return f"""
WITH past AS (
    SELECT row_id, customer_id, day, amount, {cutoff_day} - day AS age
    FROM orders
    WHERE day <= {cutoff_day}
),
purchases AS (
    SELECT * FROM past WHERE amount >= 0
),
ordered AS (
    SELECT
        customer_id,
        day,
        amount,
        day - LAG(day) OVER (PARTITION BY customer_id ORDER BY day) AS gap,
        FIRST_VALUE(day) OVER (PARTITION BY customer_id ORDER BY day) AS first_day,
        {_MONTH} AS month,
        LAG({_MONTH}) OVER (PARTITION BY customer_id ORDER BY day) AS previous_month
    FROM purchases
),
btyd AS (
    SELECT
        customer_id,
        COUNT(*) FILTER (WHERE gap IS NULL OR gap > 0) AS active_days,
        MIN(day) AS first_day,
        MAX(day) AS last_day,
        SUM(amount) FILTER (WHERE day > first_day) AS repeat_spend,
        COUNT(*) FILTER (WHERE gap > 0) AS gap_count,
        CAST(MAX(day) - MIN(day) AS DOUBLE) AS gap_sum,
        SUM(CAST(gap AS DOUBLE) * gap) AS gap_square_sum,
        COUNT(*) FILTER (WHERE previous_month IS NULL OR month <> previous_month)
            AS active_months
    FROM ordered
    GROUP BY customer_id
),
"""


def _order_ctes(options: FeatureOptions) -> str:
    """Order values, returns and the recent windows of every customer, in one pass."""
    key = f"CAST(day AS BIGINT) * {_ROW_SPAN} + row_id"
    return f"""
values_and_windows AS (
    SELECT
        customer_id,
        COUNT(*) FILTER (WHERE amount >= 0) AS n_orders,
        SUM(amount) FILTER (WHERE amount >= 0) AS gross_spend,
        MAX(amount) FILTER (WHERE amount >= 0) AS max_order_value,
        ARG_MIN(amount, {key}) FILTER (WHERE amount >= 0) AS first_order_value,
        ARG_MAX(amount, {key}) FILTER (WHERE amount >= 0) AS last_order_value,
        COUNT(*) FILTER (WHERE amount < 0) AS n_returns,
        0.0 - SUM(amount) FILTER (WHERE amount < 0) AS return_amount,
        {_window_sums(options)}
    FROM past
    GROUP BY customer_id
)
"""


def _feature_select(cutoff_day: int, options: FeatureOptions, *, labelled: bool = False) -> str:
    """The final ``SELECT``: one row of features per customer with a purchase, by id."""
    windows = []
    for window in options.window_days:
        windows.append(f"CAST(COALESCE(v.orders_{window}, 0) AS DOUBLE) AS orders_last_{window}d")
        windows.append(f"CAST(COALESCE(v.spend_{window}, 0) AS DOUBLE) AS spend_last_{window}d")
    # Net spend at or below MONEY_EPSILON is summation residue of returned orders, not spend.
    recent_spend = f"CASE WHEN v.recent_spend > {MONEY_EPSILON!r} THEN v.recent_spend ELSE 0.0 END"
    previous_spend = (
        f"CASE WHEN v.previous_spend > {MONEY_EPSILON!r} THEN v.previous_spend ELSE 0.0 END"
    )
    recent_orders = "CAST(COALESCE(v.recent_orders, 0) AS DOUBLE)"
    previous_orders = "CAST(COALESCE(v.previous_orders, 0) AS DOUBLE)"
    frequency = "CAST(b.active_days - 1 AS DOUBLE)"
    label = f",\n    {_LABEL} AS {LABEL_COLUMN}" if labelled else ""
    horizon = "\nLEFT JOIN horizon AS h ON h.customer_id = b.customer_id" if labelled else ""
    return f"""
SELECT
    b.customer_id AS customer_id,
    {frequency} AS frequency,
    CAST(b.last_day - b.first_day AS DOUBLE) AS recency,
    CAST({cutoff_day} - b.first_day AS DOUBLE) AS "T",
    CASE WHEN b.active_days > 1
        THEN b.repeat_spend / {frequency} ELSE 0.0 END AS monetary_value,
    CAST(v.n_orders AS DOUBLE) AS n_orders,
    CAST(b.active_days AS DOUBLE) AS active_days,
    CAST(b.active_months AS DOUBLE) AS active_months,
    v.n_orders * 30.0 / ({cutoff_day} - b.first_day + 1.0) AS orders_per_month,
    v.gross_spend AS gross_spend,
    v.gross_spend - COALESCE(v.return_amount, 0.0) AS net_spend,
    v.gross_spend / v.n_orders AS average_order_value,
    v.first_order_value AS first_order_value,
    v.last_order_value AS last_order_value,
    v.max_order_value AS max_order_value,
    CAST(COALESCE(v.n_returns, 0) AS DOUBLE) AS n_returns,
    COALESCE(v.return_amount, 0.0) AS return_amount,
    CASE WHEN v.gross_spend > 0
        THEN COALESCE(v.return_amount, 0.0) / v.gross_spend ELSE 0.0 END AS return_share,
    CAST({cutoff_day} - b.last_day AS DOUBLE) AS days_since_last_purchase,
    CASE WHEN b.gap_count > 0 THEN b.gap_sum / b.gap_count END AS mean_days_between_purchases,
    CASE WHEN b.gap_count > 1 THEN SQRT(GREATEST(
        b.gap_square_sum / b.gap_count - (b.gap_sum / b.gap_count) * (b.gap_sum / b.gap_count),
        0.0)) END AS std_days_between_purchases,
    {(", " + chr(10) + "    ").join(windows)},
    {_trend(recent_spend, previous_spend)} AS spend_trend,
    {_trend(recent_orders, previous_orders)} AS order_trend{label}
FROM btyd AS b
JOIN values_and_windows AS v ON v.customer_id = b.customer_id{horizon}
ORDER BY b.customer_id
"""


# A customer's label from the ``horizon`` table (:func:`_horizon_cte`) joined as ``h``.
_LABEL = "GREATEST(COALESCE(h.spend, 0.0), 0.0)"


def _horizon_cte(cutoff_day: int, horizon_days: int) -> str:
    """Each customer's net spend in ``(cutoff, cutoff + horizon]`` (returns reduce it)."""
    return f"""horizon AS (
    SELECT customer_id, SUM(amount) AS spend
    FROM orders
    WHERE day > {cutoff_day} AND day <= {cutoff_day + horizon_days}
    GROUP BY customer_id
)
"""


def label_sql(cutoff_day: int, horizon_days: int) -> str:
    """The query of every customer's net spend in ``(cutoff, cutoff + horizon]``, clipped at 0.

    Customers to label are in a table ``labelled(customer_id)``; those without orders in the
    horizon get 0. Returns in the horizon reduce the spend.
    """
    return f"""
WITH {_horizon_cte(cutoff_day, horizon_days)}SELECT
    l.customer_id AS customer_id, {_LABEL} AS {LABEL_COLUMN}
FROM labelled AS l
LEFT JOIN horizon AS h ON h.customer_id = l.customer_id
ORDER BY l.position
"""
