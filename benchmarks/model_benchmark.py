"""Accuracy and speed of the CLV models, printed as one JSON object.

What is measured (every figure comes from the same code paths as ``python -m clv_core``):

* ``cdnow_customer``: ``evaluate`` on the full CDNOW log shipped in the ``lifetimes`` wheel
  (23,570 customers), cutoff 1997-09-30, horizon 273 days, customer split 80/20, seed 0,
  default settings; metrics of every model and the end-to-end wall time (load + validate +
  features + all four models).
* ``cdnow_time``: the out-of-time split on CDNOW. With a 273-day horizon it is impossible (the
  training cutoff 1996-12-31 falls before the data starts on 1997-01-01), so it uses a 180-day
  horizon: training features at 1997-04-03 (after the whole cohort's first purchases) with
  labels up to 1997-09-30, scored at 1997-09-30 against the next 180 days.
* ``synthetic_sample_customer`` / ``_time``: the same on the bundled sample data
  (``sample_data/transactions.csv`` + ``customers.csv``), cutoff 2024-12-31, horizon 365.
* ``synthetic_30k_customer``: a larger synthetic world (30,000 customers, seed 1) with
  attributes, where the ground truth is known: also reports the metrics of the true expected
  spend (the best any model could do) on the same test customers.
* ``epoch_100k``: seconds per training epoch of the default network over 100,000 customers.
* ``score_1m``: writing a bundle, then loading it and scoring 1,000,000 customers' features.

Run from the repository root: ``python benchmarks/model_benchmark.py [--only NAME,...]``.
Timings are single runs on whatever machine runs it; read them with +-20% in mind.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from clv_core.config import MlpConfig  # noqa: E402
from clv_core.evaluation import EvaluationSettings, evaluate  # noqa: E402
from clv_core.intake import transaction_source, validate_source  # noqa: E402
from clv_core.loading import load_table  # noqa: E402
from clv_core.metrics import compute_metrics  # noqa: E402
from clv_core.validation import (  # noqa: E402
    CustomerAttributes,
    validate_customers,
)
from tests.corpus.public import CDNOW_PATH  # noqa: E402

METRICS = ("normalized_gini", "spearman", "decile_mape", "total_ratio", "top_decile_share")


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _summarise(result: Any, wall_seconds: float) -> dict[str, Any]:
    models = {}
    for name, outcome in result.results.items():
        if outcome.metrics is None:
            models[name.value] = {"error": outcome.error}
        else:
            models[name.value] = {key: round(outcome.metrics[key], 4) for key in METRICS}
            models[name.value]["fit_seconds"] = round(outcome.fit_seconds, 2)
    mlp = models.get("mlp", {})
    checks = {}
    if "normalized_gini" in mlp:
        for rival in ("bgnbd_gg", "lightgbm"):
            if "normalized_gini" in models.get(rival, {}):
                checks[f"mlp_beats_{rival}_gini"] = (
                    mlp["normalized_gini"] > models[rival]["normalized_gini"]
                )
                checks[f"mlp_beats_{rival}_spearman"] = mlp["spearman"] > models[rival]["spearman"]
        checks["decile_mape_le_0.10"] = mlp["decile_mape"] <= 0.10
        checks["total_ratio_in_0.9_1.1"] = 0.9 <= mlp["total_ratio"] <= 1.1
    return {
        "n_customers": result.n_customers,
        "n_train": result.n_train,
        "n_test": result.n_test,
        "wall_seconds": round(wall_seconds, 2),
        "models": models,
        "checks": checks,
    }


def _evaluate_file(
    transactions_path: Path,
    customers_path: Path | None,
    cutoff: dt.date,
    horizon_days: int,
    split: str,
) -> dict[str, Any]:
    started = time.perf_counter()
    transactions = validate_source(transaction_source(load_table(transactions_path))).frame
    customers = None
    if customers_path is not None:
        customers = validate_customers(load_table(customers_path).frame)
    settings = EvaluationSettings(cutoff=cutoff, horizon_days=horizon_days, split=split)  # type: ignore[arg-type]
    result = evaluate(transactions, settings, customers=customers)
    return _summarise(result, time.perf_counter() - started)


def bench_cdnow(split: str, horizon_days: int = 273) -> dict[str, Any]:
    """Default settings on CDNOW, the acceptance benchmark of the model."""
    result = _evaluate_file(CDNOW_PATH, None, dt.date(1997, 9, 30), horizon_days, split)
    return {"horizon_days": horizon_days} | result


def bench_sample(split: str) -> dict[str, Any]:
    """Default settings on the bundled synthetic sample (transactions + attributes)."""
    folder = ROOT / "sample_data"
    return _evaluate_file(
        folder / "transactions.csv", folder / "customers.csv", dt.date(2024, 12, 31), 365, split
    )


def bench_synthetic_30k() -> dict[str, Any]:
    """A 30k-customer world: models against the known expected spend."""
    from clv_core.synthetic import SyntheticConfig, expected_future_spend, generate_world

    world = generate_world(SyntheticConfig(n_customers=30_000, seed=1))
    transactions = world.transactions[["customer_id", "order_date", "amount"]]
    customers: CustomerAttributes = validate_customers(world.customers.astype(str))
    started = time.perf_counter()
    settings = EvaluationSettings(cutoff=dt.date(2024, 12, 31), horizon_days=365)
    result = evaluate(transactions, settings, customers=customers)
    summary = _summarise(result, time.perf_counter() - started)
    truth = expected_future_spend(world, dt.date(2024, 12, 31), 365).clip(lower=0)
    actual = result.predictions["actual"]
    oracle = truth.reindex(actual.index).fillna(0).to_numpy()
    summary["models"]["true_expected_spend"] = {
        key: round(value, 4)
        for key, value in compute_metrics(actual.to_numpy(), oracle).items()
        if key in METRICS
    }
    return summary


def bench_epoch_100k() -> dict[str, Any]:
    """Seconds per epoch of one default member over 100,000 customers x 40 features."""
    from clv_core.mlp import ClvMlp

    rng = np.random.default_rng(0)
    n_customers, n_features = 100_000, 40
    features = pd.DataFrame(
        rng.lognormal(0, 1, size=(n_customers, n_features)),
        columns=[f"feature_{i}" for i in range(n_features)],
    )
    target = pd.Series(rng.lognormal(3, 1, n_customers) * (rng.random(n_customers) < 0.4))
    config = MlpConfig(ensemble_size=1, max_epochs=5, patience=100)
    epochs: list[float] = []
    last = [time.perf_counter()]

    def record(event: Any) -> None:
        now = time.perf_counter()
        epochs.append(now - last[0])
        last[0] = now

    model = ClvMlp(config)
    last[0] = time.perf_counter()
    model.fit(features, target, on_epoch=record)
    # The first epoch includes graph tracing; the steady-state figure is the median of the rest.
    return {
        "customers": n_customers,
        "features": n_features,
        "batch_size": config.batch_size,
        "first_epoch_seconds": round(epochs[0], 3),
        "epoch_seconds_median": round(float(np.median(epochs[1:])), 3),
    }


def bench_score_1m() -> dict[str, Any]:
    """Load a bundle and score 1,000,000 customers' features (features given)."""
    from clv_core.bundle import load_bundle, save_bundle
    from clv_core.features import FeatureOptions, build_training_table
    from clv_core.mlp import ClvMlp
    from clv_core.synthetic import SyntheticConfig, generate_world

    world = generate_world(SyntheticConfig(n_customers=3_000, seed=2))
    transactions = world.transactions[["customer_id", "order_date", "amount"]]
    table = build_training_table(transactions, "2024-12-31", 365)
    features, target = table.drop(columns="future_spend"), table["future_spend"]
    model = ClvMlp(MlpConfig(max_epochs=5)).fit(features, target)
    rows = np.random.default_rng(0).integers(0, len(features), 1_000_000)
    many = features.iloc[rows].reset_index(drop=True)
    with tempfile.TemporaryDirectory() as directory:
        save_bundle(
            model,
            Path(directory),
            cutoff=dt.date(2024, 12, 31),
            horizon_days=365,
            feature_options=FeatureOptions(),
        )
        started = time.perf_counter()
        loaded, _ = load_bundle(Path(directory))
        load_seconds = time.perf_counter() - started
        scored = loaded.predict(many)
        total = time.perf_counter() - started
    return {
        "customers": len(scored),
        "ensemble_size": model.config.ensemble_size,
        "load_seconds": round(load_seconds, 3),
        "load_and_score_seconds": round(total, 3),
    }


BENCHMARKS = {
    "cdnow_customer": lambda: bench_cdnow("customer"),
    "cdnow_time": lambda: bench_cdnow("time", horizon_days=180),
    "synthetic_sample_customer": lambda: bench_sample("customer"),
    "synthetic_sample_time": lambda: bench_sample("time"),
    "synthetic_30k_customer": bench_synthetic_30k,
    "epoch_100k": bench_epoch_100k,
    "score_1m": bench_score_1m,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", help=f"comma-separated subset of {list(BENCHMARKS)}")
    parser.add_argument("--out", type=Path, help="also write the JSON to this file")
    arguments = parser.parse_args()
    names = list(BENCHMARKS)
    if arguments.only:
        names = [name.strip() for name in arguments.only.split(",")]
        unknown = sorted(set(names) - set(BENCHMARKS))
        if unknown:
            parser.error(f"unknown benchmark(s) {unknown}; choose from {list(BENCHMARKS)}")
    results: dict[str, Any] = {
        "benchmark": "model",
        "machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0]},
    }
    for name in names:
        _log(f"... {name}")
        results[name] = BENCHMARKS[name]()
    text = json.dumps(results, indent=2)
    print(text)
    if arguments.out:
        arguments.out.write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
