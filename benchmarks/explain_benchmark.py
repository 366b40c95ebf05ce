"""Speed and exactness of the SHAP explanations, printed as one JSON object.

What is measured: a default-configuration ``ClvMlp`` (``MlpConfig()``: 5 ZILN members of 64-32
units, power calibration) is trained on a synthetic shop (``SyntheticConfig(n_customers=6000,
seed=3)``) with features at 2024-12-31 (customer attributes joined) and the 365-day label, on a
seeded 80% of the customers. Then ``explain_customers`` explains a seeded sample of 1,000 of all
customers against 200 background training customers, twice in the same process: ``cold`` (first
call: imports shap, traces the graph) and ``warm``.

Reported: seconds of each call (target: at most 10 s for 1,000 customers), original features
and network input columns, the largest additivity error ``|base + sum of SHAP - prediction|``
(money, and relative to the mean prediction; compare with ``max_prediction``), the largest
difference between the explained prediction and ``ClvMlp.predict``, and the seconds to build
the four plotly figures and the top-3 driver texts.

Run from the repository root: ``python benchmarks/explain_benchmark.py [--customers N]
[--background N] [--out PATH]``. Progress goes to stderr. Timings are single runs; read them
with +-20% in mind.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from clv_core.config import MlpConfig  # noqa: E402
from clv_core.explain import ExplainSettings, Explanation, explain_customers  # noqa: E402
from clv_core.features import LABEL_COLUMN, build_training_table  # noqa: E402
from clv_core.language import Language  # noqa: E402
from clv_core.mlp import ClvMlp  # noqa: E402
from clv_core.synthetic import SyntheticConfig, generate_world  # noqa: E402
from clv_core.validation import validate_customers  # noqa: E402
from clv_ui.charts import beeswarm, dependence_plot, importance_bar, waterfall  # noqa: E402


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    found = {}
    for package in ("numpy", "pandas", "tensorflow-cpu", "keras", "shap", "plotly"):
        try:
            found[package] = version(package)
        except PackageNotFoundError:
            found[package] = "not installed"
    return found


def _parse_arguments() -> argparse.Namespace:
    """The command line: customers to explain, background size, optional output file."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1000, help="customers to explain")
    parser.add_argument("--background", type=int, default=200, help="background customers")
    parser.add_argument("--out", type=Path, help="also write the JSON to this file")
    return parser.parse_args()


def _training_data() -> tuple[pd.DataFrame, pd.DataFrame, np.ndarray]:
    """The synthetic shop's training table, its features and the seeded 80% training rows."""
    _log("... synthetic world and features")
    world = generate_world(SyntheticConfig(n_customers=6000, seed=3))
    customers = validate_customers(world.customers.astype(str))
    transactions = world.transactions[["customer_id", "order_date", "amount"]]
    table = build_training_table(transactions, "2024-12-31", 365, customers=customers)
    features = table.drop(columns=LABEL_COLUMN)
    order = np.random.default_rng(0).permutation(len(table))
    training = np.sort(order[: int(0.8 * len(table))])
    return table, features, training


def _train(
    table: pd.DataFrame, features: pd.DataFrame, training: np.ndarray
) -> tuple[ClvMlp, float]:
    """The default network fitted on the training rows, and the seconds it took."""
    _log(f"... training the default network on {len(training)} customers")
    fit_started = time.perf_counter()
    model = ClvMlp(MlpConfig()).fit(features.iloc[training], table[LABEL_COLUMN].iloc[training])
    return model, time.perf_counter() - fit_started


def _explain_runs(
    model: ClvMlp, features: pd.DataFrame, background: pd.DataFrame, arguments: argparse.Namespace
) -> tuple[dict[str, Any], Explanation]:
    """Time and check the ``cold`` and ``warm`` explanations; the runs and the last one."""
    settings = ExplainSettings(
        background_size=arguments.background, sample_size=arguments.customers, seed=0
    )
    runs: dict[str, Any] = {}
    explanation = None
    for run in ("cold", "warm"):
        _log(f"... explaining {arguments.customers} customers ({run})")
        run_started = time.perf_counter()
        explanation = explain_customers(model, features, background, settings)
        seconds = time.perf_counter() - run_started
        explained = features.loc[explanation.customer_ids]
        predicted = model.predict(explained)["predicted_clv"]
        runs[run] = {
            "seconds": round(seconds, 3),
            "customers": len(explanation.customer_ids),
            "max_additivity_error": float(explanation.additivity_error),
            "max_additivity_error_relative_to_mean_prediction": float(
                explanation.additivity_error / float(explanation.predictions.mean())
            ),
            "max_difference_from_predict": float(
                np.max(np.abs(explanation.predictions.to_numpy() - predicted.to_numpy()))
            ),
        }
    assert explanation is not None
    return runs, explanation


def _time_figures(explanation: Explanation) -> tuple[str, float]:
    """Build the four figures and the driver texts; the top feature and the seconds taken."""
    _log("... figures")
    figures_started = time.perf_counter()
    top_feature = str(explanation.importance()["feature"].iloc[0])
    importance_bar(explanation, language=Language.EN)
    beeswarm(explanation, language=Language.EN)
    dependence_plot(explanation, top_feature, language=Language.EN)
    waterfall(explanation, explanation.customer_ids[0], language=Language.EN)
    explanation.top_drivers()
    return top_feature, time.perf_counter() - figures_started


def _machine() -> dict[str, Any]:
    """CPUs, platform, Python and library versions of this machine."""
    affinity = getattr(os, "sched_getaffinity", None)
    return {
        "cpus": os.cpu_count(),
        "cpus_usable": len(affinity(0)) if affinity is not None else os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        **_versions(),
    }


def _settings(
    model: ClvMlp, table: pd.DataFrame, training: np.ndarray, explanation: Explanation
) -> dict[str, Any]:
    """What was measured: data, model configuration and explanation set-up."""
    return {
        "world": "SyntheticConfig(n_customers=6000, seed=3)",
        "cutoff": "2024-12-31",
        "horizon_days": 365,
        "model": "MlpConfig() defaults",
        "ensemble_size": model.config.ensemble_size,
        "hidden_layers": list(model.config.hidden_layers),
        "loss": str(model.config.loss),
        "calibration": str(model.config.calibration),
        "customers_in_table": len(table),
        "training_customers": len(training),
        "background_size": explanation.background_size,
        "explained_space": explanation.space,
    }


def main() -> None:
    """Train, explain twice, build the figures and print (optionally write) the JSON result."""
    arguments = _parse_arguments()
    started = time.perf_counter()
    table, features, training = _training_data()
    model, fit_seconds = _train(table, features, training)
    runs, explanation = _explain_runs(model, features, features.iloc[training], arguments)
    top_feature, figures_seconds = _time_figures(explanation)
    result = {
        "benchmark": "explain",
        "machine": _machine(),
        "settings": _settings(model, table, training, explanation),
        "fit_seconds": round(fit_seconds, 2),
        "n_features_original": len(explanation.features),
        "n_features_network_inputs": explanation.network_inputs,
        "base_value": round(explanation.base_value, 4),
        "mean_prediction": round(float(explanation.predictions.mean()), 4),
        "max_prediction": round(float(explanation.predictions.max()), 4),
        "explain_cold": runs["cold"],
        "explain_warm": runs["warm"],
        "target_seconds": 10.0,
        "meets_target": bool(max(runs["cold"]["seconds"], runs["warm"]["seconds"]) <= 10.0),
        "figures_and_drivers_seconds": round(figures_seconds, 3),
        "top_feature": top_feature,
        "wall_s": round(time.perf_counter() - started, 1),
    }
    text = json.dumps(result, indent=2, ensure_ascii=False)
    print(text)
    if arguments.out:
        arguments.out.write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
