"""Monitoring and retraining on CDNOW and on a generated shop with and without a change of
behaviour, printed as one JSON object.

What is measured (every figure comes from the code ``python -m clv_core monitor`` and
``retrain`` run):

* ``cdnow``: a default network deployed on CDNOW (the file shipped in the ``lifetimes`` wheel)
  as of 1997-06-30 with a 90-day horizon, trained only on the orders up to that day, monitored
  with the full log (to 1998-06-30): the realised metrics of the network and of the baselines
  refitted at the as-of date, coverage, the drift summary (features per status, the five largest
  PSI), the verdict and its reasons; then ``retrain --promote never``: champion against
  challenger on the held-out customers of the last 90 days.
* ``shop_steady`` / ``shop_changed``: a generated shop of 5,000 customers without seasonality
  (seed 3); a default network deployed on 2024-12-31 with a 180-day horizon; monitored with the
  log as generated, and with the log in which the customers who came through organic search
  stop buying after the as-of date (:func:`clv_core.synthetic.change_behaviour`); each with the
  champion/challenger comparison.
* ``seconds``: wall time of each step (training the bundle, monitoring, retraining).

Run from the repository root: ``python benchmarks/monitor_benchmark.py [--out monitor.json]``
(about 40 seconds on 2 cores).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import platform
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import pandas as pd  # noqa: E402

from clv_core.bundle import load_bundle, save_bundle  # noqa: E402
from clv_core.config import MlpConfig  # noqa: E402
from clv_core.loading import load_table  # noqa: E402
from clv_core.scoring import train_for_deployment  # noqa: E402
from clv_core.synthetic import SyntheticConfig, change_behaviour, generate_world  # noqa: E402
from clv_core.usecases.monitoring import (  # noqa: E402
    RetrainRequest,
    monitor_bundle,
    retrain_bundle,
)
from clv_core.validation import (  # noqa: E402
    CustomerAttributes,
    validate_customers,
    validate_transactions,
)
from tests.corpus.public import CDNOW_PATH as CDNOW  # noqa: E402

METRICS = ("normalized_gini", "spearman", "decile_mape", "total_ratio", "top_decile_share")


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _metrics(values: dict[str, Any]) -> dict[str, Any]:
    if "error" in values:
        return {"error": values["error"]}
    return {name: round(float(values[name]), 3) for name in METRICS}


def _case(
    transactions: pd.DataFrame,
    customers: CustomerAttributes | None,
    bundle: Path,
    folder: Path,
) -> dict[str, Any]:
    """Monitor the bundle with ``transactions``, then compare it with a challenger."""
    model, info = load_bundle(bundle)
    started = time.perf_counter()
    data = monitor_bundle(model, info, transactions, customers, source=str(bundle)).data
    monitor_s = time.perf_counter() - started
    started = time.perf_counter()
    retrained = retrain_bundle(
        model,
        info,
        transactions,
        customers,
        RetrainRequest(promote="never"),
        folder / "challenger",
        source=str(bundle),
    )
    retrain_s = time.perf_counter() - started
    features = data["drift"]["features"]
    comparison = retrained.comparison
    return {
        "window": data["window"],
        "customers": data["customers"],
        "network": _metrics(data["network"]),
        "baselines": {name: _metrics(values) for name, values in data["baselines"].items()},
        "network_still_best": data["network_still_best"],
        "coverage": data["coverage"],
        "drift": {
            "features": len(features),
            "by_status": {
                status: sum(row["status"] == status for row in features)
                for status in ("stable", "moving", "shifted")
            },
            "largest_psi": [
                [row["feature"], row["psi"]]
                for row in sorted(features, key=lambda row: -row["psi"])[:5]
            ],
            "new_customers_share": data["drift"]["new_customers_share"],
        },
        "retrain_recommended": data["retrain_recommended"],
        "reasons": data["reasons"],
        "challenger": {
            "evaluation_cutoff": comparison["evaluation_cutoff"],
            "held_out_customers": comparison["held_out_customers"],
            "champion": _metrics(comparison["champion"]),
            "challenger": _metrics(comparison["challenger"]),
            "verdicts": comparison["verdicts"],
            "challenger_better": comparison["challenger_better"],
            "champion_saw_outcome": comparison["champion_saw_outcome"],
        },
        "seconds": {"monitor": round(monitor_s, 1), "retrain": round(retrain_s, 1)},
    }


def _deploy(
    transactions: pd.DataFrame,
    customers: CustomerAttributes | None,
    as_of: dt.date,
    horizon: int,
    folder: Path,
) -> tuple[Path, float]:
    """A default network trained only on what was known at ``as_of``, saved as a bundle."""
    started = time.perf_counter()
    known = transactions[transactions["order_date"] < pd.Timestamp(as_of) + pd.Timedelta(days=1)]
    deployment = train_for_deployment(
        known, horizon, as_of=as_of, customers=customers, config=MlpConfig(seed=0)
    )
    save_bundle(
        deployment.model,
        folder,
        cutoff=deployment.as_of,
        horizon_days=horizon,
        feature_options=deployment.feature_options,
        training=deployment.training,
    )
    return folder, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, help="also write the JSON here")
    arguments = parser.parse_args()
    started = time.perf_counter()
    output: dict[str, Any] = {
        "machine": {"python": platform.python_version(), "platform": platform.platform()}
    }
    with tempfile.TemporaryDirectory(prefix="clv-monitor-") as scratch:
        folder = Path(scratch)
        _log("CDNOW")
        cdnow = validate_transactions(load_table(CDNOW).frame).frame
        bundle, train_s = _deploy(cdnow, None, dt.date(1997, 6, 30), 90, folder / "cdnow")
        output["cdnow"] = _case(cdnow, None, bundle, folder / "cdnow_case")
        output["cdnow"]["seconds"]["train"] = round(train_s, 1)

        _log("generated shop")
        world = generate_world(SyntheticConfig(n_customers=5000, seed=3, seasonality_strength=0.0))
        customers = validate_customers(world.customers)
        steady = validate_transactions(world.transactions).frame
        as_of = dt.date(2024, 12, 31)
        bundle, train_s = _deploy(steady, customers, as_of, 180, folder / "shop")
        output["shop_steady"] = _case(steady, customers, bundle, folder / "steady")
        changed = validate_transactions(change_behaviour(world, as_of, {"organic": 0.0})).frame
        output["shop_changed"] = _case(changed, customers, bundle, folder / "changed")
        output["shop_steady"]["seconds"]["train"] = round(train_s, 1)
    output["wall_s"] = round(time.perf_counter() - started, 1)
    text = json.dumps(output, indent=2)
    print(text)
    if arguments.out:
        arguments.out.write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
