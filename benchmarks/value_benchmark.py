"""Next order dates on held-out customers, and the discounted BG/NBD + Gamma-Gamma value against
``lifetimes``, printed as one JSON object.

What is measured (every figure comes from the code ``python -m clv_core score`` runs):

* ``next_order.<log>``: the log is validated and its features built at the cutoff as the
  engine does; customers are split 80/20 (seed 0). BG/NBD is fitted on the training customers
  (:func:`clv_core.value.fit_timing`, as a bundle records it) and
  :func:`clv_core.value.next_order_days` dates the next order of the held-out customers. The
  truth is the first day after the cutoff with a positive order, for the held-out customers
  who do order within the horizon (the date says *when*, given that they order; *whether* is
  ``p_purchase``). Reported: customers, median and mean absolute error in days, the mean of
  the predicted and the real wait, for the engine's rule and the naive rule "last order + mean
  gap between orders" (as it is, and moved to the day after the cutoff when it falls before),
  on everyone and on customers with at least one gap (where the naive rule is defined).
* ``lifetimes_parity``: the BG/NBD + Gamma-Gamma value over 12 months of 30 days discounted at
  1% a month (``BtydBaseline.discounted_value``) against ``lifetimes``'
  ``customer_lifetime_value`` on every CDNOW customer: the largest absolute difference.

Logs: CDNOW (the file shipped in the ``lifetimes`` wheel) at 1997-09-30 (273 days) and
1997-06-30 (180 days); a generated shop of 20,000 customers (seed 0) and the bundled sample at
2024-12-31 (365 days).

Run from the repository root: ``python benchmarks/value_benchmark.py [--out value.json]``.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from clv_core.baselines import BtydBaseline  # noqa: E402
from clv_core.features import build_features  # noqa: E402
from clv_core.loading import load_table  # noqa: E402
from clv_core.splits import split_customers  # noqa: E402
from clv_core.synthetic import SyntheticConfig, generate_world  # noqa: E402
from clv_core.validation import validate_transactions  # noqa: E402
from clv_core.value import ValueSettings, fit_timing, next_order_days  # noqa: E402
from tests.corpus.public import CDNOW_PATH as CDNOW  # noqa: E402


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _errors(predicted: np.ndarray, truth: np.ndarray) -> dict[str, float]:
    error = np.abs(predicted - truth)
    return {
        "median_abs_error_days": round(float(np.median(error)), 1),
        "mean_abs_error_days": round(float(np.mean(error)), 1),
        "mean_predicted_days": round(float(np.mean(predicted)), 1),
    }


def next_order(transactions: pd.DataFrame, cutoff: str, horizon: int) -> dict[str, Any]:
    """The engine's next-order rule against the naive one on held-out customers."""
    features = build_features(transactions, cutoff)
    split = split_customers(features.index, seed=0)
    timing = fit_timing(features.loc[split.train])
    if timing is None:
        raise RuntimeError("BG/NBD did not fit")
    test = features.loc[split.test]
    day = pd.Timestamp(cutoff)
    later = transactions[
        (transactions["order_date"] > day + pd.Timedelta(days=1) - pd.Timedelta(microseconds=1))
        & (transactions["order_date"] < day + pd.Timedelta(days=horizon + 1))
        & (transactions["amount"] > 0)
    ]
    first_later = later.groupby("customer_id")["order_date"].min().dt.normalize()
    truth = ((first_later.reindex(test.index) - day).dt.days).to_numpy(np.float64)
    buys = ~np.isnan(truth)
    engine = next_order_days(timing, test["frequency"].to_numpy(), test["T"].to_numpy(), horizon)
    naive = test["mean_days_between_purchases"].to_numpy(np.float64) - test[
        "days_since_last_purchase"
    ].to_numpy(np.float64)
    with_gap = buys & ~np.isnan(naive)
    result: dict[str, Any] = {
        "cutoff": cutoff,
        "horizon_days": horizon,
        "test_customers": len(test),
        "test_customers_who_order_again": int(buys.sum()),
        "with_a_gap": int(with_gap.sum()),
        "bgnbd": {
            key: round(value, 6) for key, value in timing.to_dict().items() if key != "model"
        },
        "mean_real_wait_days": round(float(truth[buys].mean()), 1),
        "engine_all": _errors(np.rint(engine[buys]), truth[buys]),
        "engine_with_a_gap": _errors(np.rint(engine[with_gap]), truth[with_gap]),
        "naive_with_a_gap": _errors(naive[with_gap], truth[with_gap]),
        "naive_clamped_with_a_gap": _errors(np.maximum(naive[with_gap], 1.0), truth[with_gap]),
        "naive_overdue_share": round(float((naive[with_gap] < 1).mean()), 3),
    }
    return result


def lifetimes_parity(transactions: pd.DataFrame) -> dict[str, Any]:
    """BG/NBD + Gamma-Gamma discounted over 12 months vs lifetimes, every CDNOW customer."""
    features = build_features(transactions, "1997-09-30")
    model = BtydBaseline(horizon_days=360).fit(features)
    repeat = features["monetary_value"] > 0
    frequency = features["frequency"].where(repeat, 0)
    expected = model.gamma_gamma_.customer_lifetime_value(
        model.bgnbd_,
        frequency,
        features["recency"],
        features["T"],
        features["monetary_value"].where(repeat, 1.0),
        time=12,
        discount_rate=0.01,
        freq="D",
    ).to_numpy()
    ours = model.discounted_value(
        features.assign(frequency=frequency), 360, ValueSettings(annual_discount_rate=1.01**12 - 1)
    )
    return {
        "customers": len(features),
        "total_lifetimes": round(float(expected.sum()), 2),
        "total_engine": round(float(ours.sum()), 2),
        "max_abs_difference": float(np.max(np.abs(ours - expected))),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, help="also write the JSON here")
    arguments = parser.parse_args()
    started = time.perf_counter()
    cdnow = validate_transactions(load_table(CDNOW).frame).frame
    world = generate_world(SyntheticConfig(n_customers=20_000, seed=0)).transactions
    synthetic = validate_transactions(world).frame
    sample = validate_transactions(load_table(ROOT / "sample_data" / "transactions.csv").frame)
    runs = {
        "cdnow_1997-09-30": (cdnow, "1997-09-30", 273),
        "cdnow_1997-06-30": (cdnow, "1997-06-30", 180),
        "synthetic_20k": (synthetic, "2024-12-31", 365),
        "sample": (sample.frame, "2024-12-31", 365),
    }
    output: dict[str, Any] = {
        "machine": {"python": platform.python_version(), "platform": platform.platform()},
        "next_order": {},
    }
    for name, (frame, cutoff, horizon) in runs.items():
        _log(f"next order: {name}")
        output["next_order"][name] = next_order(frame, cutoff, horizon)
    _log("lifetimes parity")
    output["lifetimes_parity"] = lifetimes_parity(cdnow)
    output["wall_s"] = round(time.perf_counter() - started, 1)
    text = json.dumps(output, indent=2)
    print(text)
    if arguments.out:
        arguments.out.write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
