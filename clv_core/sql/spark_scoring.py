"""Scoring on Spark's executors: the bundle is loaded once per executor process.

:func:`score_on_spark` runs the feature SQL on Spark and predicts every partition of the feature
rows with ``mapInArrow``: each executor fetches the bundle Spark distributed with
``SparkContext.addFile`` and loads it once (:func:`_executor_model` keeps it for the process's
later tasks). Only the predictions and the features the churn bands and the value plan read come
back to the driver, one row per customer.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd

from clv_core.features import FeatureOptions
from clv_core.sql import feature_sql
from clv_core.sql.frames import features_frame
from clv_core.sql.runner import SparkRunner
from clv_core.validation import CustomerAttributes

__all__ = ["CHURN_FEATURES", "RETURNED_FEATURES", "score_on_spark"]

# The features the churn bands read when a bundle predicts no purchase probability.
CHURN_FEATURES = ("days_since_last_purchase", "mean_days_between_purchases")
# What comes back with the predictions: the churn bands' features and the BG/NBD history the
# value plan reads (``p_alive``, the timing of the value, the next order).
RETURNED_FEATURES = (*CHURN_FEATURES, "frequency", "recency", "T")


@functools.lru_cache(maxsize=2)
def _executor_model(path: str) -> Any:
    """The bundle's network, loaded once per executor process (and path)."""
    from clv_core.bundle import load_bundle

    model, _ = load_bundle(Path(path))
    return model


def score_on_spark(
    runner: SparkRunner,
    bundle: Path,
    *,
    cutoff_day: int,
    options: FeatureOptions,
    customers: CustomerAttributes | None,
    prediction_columns: list[str],
) -> pd.DataFrame:
    """Predictions of every customer of the ``orders`` the runner holds, with the churn
    features, by ``customer_id`` (ascending)."""
    import pyarrow as pa
    from pyspark import SparkFiles

    from clv_core.sql.spark_engine import to_spark_sql

    session = runner.session
    session.sparkContext.addFile(str(bundle), recursive=bundle.is_dir())
    name = bundle.name
    features = session.sql(to_spark_sql(feature_sql(cutoff_day, options)))
    fields = [pa.field("customer_id", pa.string())]
    fields += [
        pa.field(column, pa.float64()) for column in (*prediction_columns, *RETURNED_FEATURES)
    ]
    schema = pa.schema(fields)

    def predict(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        model = _executor_model(SparkFiles.get(name))
        for batch in batches:
            frame = features_frame(batch, options, cutoff_day, customers)
            predictions = model.predict(frame)
            columns = {"customer_id": pa.array(frame.index.astype(str), pa.string())}
            for column in prediction_columns:
                columns[column] = pa.array(predictions[column].to_numpy(dtype="float64"))
            for column in RETURNED_FEATURES:
                columns[column] = pa.array(frame[column].to_numpy(dtype="float64"))
            yield pa.RecordBatch.from_pydict(columns, schema=schema)

    spark_schema = _spark_schema(schema)
    scored = features.mapInArrow(predict, spark_schema)
    result: pd.DataFrame = scored.toArrow().to_pandas()
    return result.sort_values("customer_id", kind="stable").reset_index(drop=True)


def _spark_schema(schema: Any) -> str:
    """A DDL schema string for the Arrow schema of string and double columns."""
    kinds = {"string": "string", "double": "double"}
    return ", ".join(f"`{field.name}` {kinds[str(field.type)]}" for field in schema)
