"""What the SQL engines share: the orders and customers as Arrow tables in, the reference's
frames out.

Both engines hand the validated orders over as the ``orders`` relation of :mod:`clv_core.sql`
and the customers to label as ``labelled``, and turn the query results back into the
reference's frames: features indexed by ``customer_id`` in the reference's column order (the
attribute columns joined by the reference's own code), labels as a ``future_spend`` series. A
feature table streamed to a file stays in Arrow (:func:`feature_tables`).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd

from clv_core.errors import ConfigError, DataError
from clv_core.feature_files import table_frame
from clv_core.features import (
    LABEL_COLUMN,
    FeatureOptions,
    _cutoff_day,
    _day_numbers,
    _join_attributes,
)
from clv_core.sql import feature_columns, feature_sql, label_sql, labelled_feature_sql
from clv_core.sql.runner import SqlRunner
from clv_core.validation import CustomerAttributes

__all__ = [
    "feature_frames",
    "feature_tables",
    "features_frame",
    "features_from",
    "labelled_table",
    "labels_from",
    "labels_series",
    "orders_table",
]


def orders_table(transactions: pd.DataFrame) -> Any:
    """The ``orders`` relation: row position, customer id, day number and amount."""
    import pyarrow as pa

    return pa.table(
        {
            "row_id": pa.array(np.arange(len(transactions), dtype=np.int64)),
            "customer_id": pa.array(
                transactions["customer_id"].astype(str).to_numpy(), pa.string()
            ),
            "day": pa.array(_day_numbers(transactions["order_date"]).astype(np.int32)),
            "amount": pa.array(transactions["amount"].to_numpy(dtype=np.float64)),
        }
    )


def labelled_table(customers: pd.Index) -> Any:
    """The ``labelled`` relation: the customers to label, with their position."""
    import pyarrow as pa

    return pa.table(
        {
            "customer_id": pa.array(customers.astype(str).to_numpy(), pa.string()),
            "position": pa.array(np.arange(len(customers), dtype=np.int64)),
        }
    )


def features_frame(
    result: Any,
    options: FeatureOptions,
    cutoff_day: int,
    customers: CustomerAttributes | None,
) -> pd.DataFrame:
    """The feature query's result (an Arrow table or batch) as the reference's frame
    (attributes joined)."""
    features = table_frame(result.select(["customer_id", *feature_columns(options)]))
    if customers is not None:
        features = _join_attributes(features, customers, cutoff_day)
    return features


def labels_series(result: pd.DataFrame, customers: pd.Index) -> pd.Series:
    """The label query's result as the reference's ``future_spend`` series."""
    return pd.Series(
        result["future_spend"].to_numpy(dtype=np.float64), index=customers, name=LABEL_COLUMN
    )


def features_from(
    runner: SqlRunner,
    cutoff: Any,
    first_date: pd.Timestamp | None,
    *,
    customers: CustomerAttributes | None = None,
    options: FeatureOptions | None = None,
) -> pd.DataFrame:
    """The features of the ``orders`` table the runner holds (``first_date``: its first)."""
    options = options or FeatureOptions()
    cutoff_day = _cutoff_day(cutoff)
    table = runner.arrow(feature_sql(cutoff_day, options))
    if not table.num_rows:
        raise _no_customer(cutoff, first_date)
    return features_frame(table, options, cutoff_day, customers)


# Customers per frame of a streamed feature table (about 30 MB of features each).
_BATCH_ROWS = 100_000


def feature_tables(
    runner: SqlRunner,
    cutoff: Any,
    horizon_days: int | None,
    first_date: pd.Timestamp | None,
    *,
    options: FeatureOptions | None = None,
) -> Iterator[Any]:
    """:func:`features_from` (with :func:`labels_from` as a last column when ``horizon_days``
    is given) as consecutive Arrow tables of at most 100,000 customers, in the same order, in
    the form :func:`clv_core.feature_files.table_frame` turns into the reference's frame: one
    query streamed from the engine, so the whole table is never held in this process."""
    options = options or FeatureOptions()
    cutoff_day = _cutoff_day(cutoff)
    columns = ["customer_id", *feature_columns(options)]
    if horizon_days is None:
        query = feature_sql(cutoff_day, options)
    else:
        _check_horizon(horizon_days)
        query = labelled_feature_sql(cutoff_day, horizon_days, options)
        columns.append(LABEL_COLUMN)
    empty = True
    for batch in runner.batches(query, _BATCH_ROWS):
        if not batch.num_rows:
            continue
        empty = False
        yield batch.select(columns)
    if empty:
        raise _no_customer(cutoff, first_date)


def feature_frames(
    runner: SqlRunner,
    cutoff: Any,
    horizon_days: int | None,
    first_date: pd.Timestamp | None,
    *,
    options: FeatureOptions | None = None,
) -> Iterator[pd.DataFrame]:
    """:func:`feature_tables` as the reference's frames."""
    for table in feature_tables(runner, cutoff, horizon_days, first_date, options=options):
        yield table_frame(table)


def _no_customer(cutoff: Any, first_date: pd.Timestamp | None) -> DataError:
    return DataError(
        f"No customer has a purchase on or before the cutoff {pd.Timestamp(cutoff).date()}"
        + (f"; the data starts on {first_date.date()}." if first_date is not None else ".")
        + " Choose a later cutoff."
    )


def _check_horizon(horizon_days: int) -> None:
    if horizon_days < 1:
        raise ConfigError(f"horizon_days must be a positive number of days, got {horizon_days}.")


def labels_from(
    runner: SqlRunner, cutoff: Any, horizon_days: int, customers: pd.Index
) -> pd.Series:
    """The labels of ``customers`` from the ``orders`` table the runner holds."""
    _check_horizon(horizon_days)
    runner.register("labelled", labelled_table(customers))
    try:
        frame = runner.arrow(label_sql(_cutoff_day(cutoff), horizon_days)).to_pandas()
    finally:
        runner.drop("labelled")
    return labels_series(frame, customers)
