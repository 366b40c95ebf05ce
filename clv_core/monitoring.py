"""Monitoring a deployed bundle: drift of its inputs, its predictions against what happened.

A bundle predicts the next ``horizon`` days of every customer it scores at its as-of date.
Once that time has passed (or part of it), the log says what the customers really spent, and
three questions can be answered (:mod:`clv_core.usecases.monitoring` asks them):

* **Was it right?** The metrics of :mod:`clv_core.metrics` on the realised outcome, per value
  tier and churn band, and the coverage of the intervals against the promise.
* **Has the world moved?** :func:`feature_drift`: per feature the population stability index
  (PSI) between the customers the network was trained on and the newest customers, a
  two-sample Kolmogorov-Smirnov test for numbers, the category levels the network never saw.
* **Should it be retrained?** :func:`recommendation` turns both into reasons, with the
  thresholds below (documented in ``README.md``, "Monitoring and retraining").

PSI: the reference distribution is cut into deciles (numbers; distinct edges only) or its
levels (categories, with one bin for levels the reference lacks and one for missing values);
``PSI = sum (current share - reference share) * ln(current share / reference share)``, each
share at least 0.0001. Under 0.10 is stable, 0.10 to 0.25 moving, 0.25 and more shifted (the
usual credit-scoring reading).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import pandas as pd

__all__ = [
    "DRIFT_MOVING",
    "DRIFT_SHIFTED",
    "Thresholds",
    "coverage",
    "feature_drift",
    "population_stability",
    "recommendation",
    "segment_outcomes",
]

DRIFT_MOVING: Final = 0.10
DRIFT_SHIFTED: Final = 0.25
_MIN_SHARE: Final = 1e-4
_BINS: Final = 10
# A KS test on many customers finds tiny differences; it is reported as a difference only when
# the distributions also differ by this much (the largest gap between the two CDFs).
_KS_EFFECT: Final = 0.10
_KS_P: Final = 0.001


@dataclass(frozen=True, slots=True)
class Thresholds:
    """When a monitoring report recommends retraining (every one is a reason on its own).

    * the realised ``normalized_gini`` of the network is below the best baseline's (refitted at
      the as-of date) by more than ``ranking_margin`` (Spearman, dominated by the many
      customers who spend little or nothing, is reported but is no reason on its own);
    * ``decile_mape`` above ``max_decile_mape``, or ``total_ratio`` outside
      ``total_ratio_range``: the money level is off;
    * the intervals cover fewer customers than promised minus ``coverage_shortfall``;
    * at least ``shifted_share`` of the features have shifted (PSI >= 0.25);
    * more than ``unseen_level_share`` of the newest customers have a category the network
      never saw.
    """

    ranking_margin: float = 0.02
    max_decile_mape: float = 0.25
    total_ratio_range: tuple[float, float] = (0.8, 1.25)
    coverage_shortfall: float = 0.15
    shifted_share: float = 0.25
    unseen_level_share: float = 0.05

    def to_dict(self) -> dict[str, Any]:
        """The thresholds as JSON."""
        return {
            "ranking_margin": self.ranking_margin,
            "max_decile_mape": self.max_decile_mape,
            "total_ratio_range": list(self.total_ratio_range),
            "coverage_shortfall": self.coverage_shortfall,
            "shifted_share": self.shifted_share,
            "unseen_level_share": self.unseen_level_share,
            "psi_moving": DRIFT_MOVING,
            "psi_shifted": DRIFT_SHIFTED,
        }


def _psi(reference: np.ndarray, current: np.ndarray) -> float:
    """PSI of two vectors of bin shares."""
    reference = np.clip(reference, _MIN_SHARE, None)
    current = np.clip(current, _MIN_SHARE, None)
    return float(np.sum((current - reference) * np.log(current / reference)))


def population_stability(reference: pd.Series, current: pd.Series, *, numeric: bool) -> float:
    """The PSI of ``current`` against ``reference`` (see the module's description)."""
    if numeric:
        ref = pd.to_numeric(reference, errors="coerce").to_numpy(np.float64)
        cur = pd.to_numeric(current, errors="coerce").to_numpy(np.float64)
        present = ref[~np.isnan(ref)]
        edges = (
            np.unique(np.quantile(present, np.linspace(0, 1, _BINS + 1)[1:-1]))
            if len(present)
            else np.array([])
        )

        def shares(values: np.ndarray) -> np.ndarray:
            missing = np.isnan(values)
            bins = np.searchsorted(edges, values[~missing], side="right")
            counts = np.bincount(bins, minlength=len(edges) + 1).astype(np.float64)
            counts = np.append(counts, missing.sum())
            return counts / max(len(values), 1)

        return _psi(shares(ref), shares(cur))
    ref_text = reference.astype("string").fillna("\0missing")
    cur_text = current.astype("string").fillna("\0missing")
    levels = list(pd.unique(ref_text))
    ref_share = ref_text.value_counts(normalize=True).reindex(levels).to_numpy(np.float64)
    cur_counts = cur_text.value_counts(normalize=True)
    cur_share = cur_counts.reindex(levels).fillna(0.0).to_numpy(np.float64)
    new = float(cur_counts.drop(labels=levels, errors="ignore").sum())
    return _psi(np.append(ref_share, 0.0), np.append(cur_share, new))


def feature_drift(
    reference: pd.DataFrame,
    current: pd.DataFrame,
    *,
    numeric: Sequence[str],
    categorical: Sequence[str],
    known_levels: Mapping[str, Sequence[str]],
) -> pd.DataFrame:
    """Drift of every feature from ``reference`` (the training customers) to ``current``.

    Returns one row per feature: ``feature``, ``kind``, ``psi``, ``ks_statistic``,
    ``ks_p_value`` (numbers), ``unseen_levels`` (categories the network has no input for, most
    frequent first, at most 5), ``unseen_share`` (share of current customers with one),
    ``status`` (``stable``, ``moving``, ``shifted``) and ``finding`` (one sentence).
    """
    from scipy.stats import ks_2samp

    rows = []
    for name in [*numeric, *categorical]:
        is_number = name in numeric
        psi = population_stability(reference[name], current[name], numeric=is_number)
        status = (
            "shifted" if psi >= DRIFT_SHIFTED else "moving" if psi >= DRIFT_MOVING else "stable"
        )
        row: dict[str, Any] = {
            "feature": name,
            "kind": "number" if is_number else "category",
            "psi": round(psi, 6),
            "ks_statistic": None,
            "ks_p_value": None,
            "unseen_levels": [],
            "unseen_share": 0.0,
            "status": status,
        }
        words = f"{name}: PSI {psi:.3f}, {status}"
        if is_number:
            ref = pd.to_numeric(reference[name], errors="coerce").dropna().to_numpy(np.float64)
            cur = pd.to_numeric(current[name], errors="coerce").dropna().to_numpy(np.float64)
            if len(ref) and len(cur):
                test = ks_2samp(ref, cur)
                row["ks_statistic"] = round(float(test.statistic), 6)
                row["ks_p_value"] = float(test.pvalue)
                if test.pvalue < _KS_P and test.statistic >= _KS_EFFECT:
                    words += (
                        f"; the distributions differ (KS {test.statistic:.2f}, p < {_KS_P:g}); "
                        f"median {np.median(ref):,.4g} -> {np.median(cur):,.4g}"
                    )
        else:
            known = {str(level) for level in known_levels.get(name, ())}
            values = current[name].dropna().astype(str)
            unseen = values[~values.isin(known)] if known else values.iloc[:0]
            if len(unseen):
                counts = unseen.value_counts()
                row["unseen_levels"] = [str(level) for level in counts.index[:5]]
                row["unseen_share"] = round(len(unseen) / max(len(current), 1), 6)
                words += (
                    f"; {row['unseen_share']:.1%} of the customers have a value the network has "
                    f"no input of its own for, unseen or too rare in training "
                    f"({', '.join(row['unseen_levels'])})"
                )
        row["finding"] = words + "."
        rows.append(row)
    return pd.DataFrame(rows)


def coverage(actual: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> float:
    """Share of customers whose outcome lies in their interval (bounds included)."""
    inside = (actual >= lower - 1e-9) & (actual <= upper + 1e-9)
    return float(inside.mean()) if len(actual) else float("nan")


def segment_outcomes(
    segments: pd.Series, predicted: pd.Series, actual: pd.Series, p_purchase: pd.Series | None
) -> list[dict[str, Any]]:
    """Predicted against realised per segment (a value tier or a churn band, by code):
    customers, predicted and realised revenue, the predicted and realised share who bought."""
    frame = pd.DataFrame(
        {
            "segment": segments.astype(object),
            "predicted": predicted.to_numpy(np.float64),
            "actual": actual.to_numpy(np.float64),
            "p": p_purchase.to_numpy(np.float64) if p_purchase is not None else np.nan,
        }
    ).dropna(subset=["segment"])
    rows = []
    for code, group in frame.groupby("segment", sort=False):
        rows.append(
            {
                "code": str(code),
                "customers": len(group),
                "predicted_revenue": round(float(group["predicted"].sum()), 2),
                "realised_revenue": round(float(group["actual"].sum()), 2),
                "predicted_share_buying": None
                if group["p"].isna().all()
                else round(float(group["p"].mean()), 4),
                "realised_share_buying": round(float((group["actual"] > 0).mean()), 4),
            }
        )
    return sorted(rows, key=lambda row: row["code"])


def recommendation(
    network: Mapping[str, float],
    baselines: Mapping[str, Mapping[str, float]],
    *,
    achieved_coverage: float | None,
    promised_coverage: float | None,
    drift: pd.DataFrame,
    thresholds: Thresholds,
) -> list[str]:
    """The reasons to retrain (empty: keep the bundle), each one sentence."""
    reasons = []
    gini = {name: values["normalized_gini"] for name, values in baselines.items()}
    if gini:
        best = max(gini, key=lambda name: gini[name])
        if gini[best] - network["normalized_gini"] > thresholds.ranking_margin:
            reasons.append(
                f"{best} concentrated the value better than the network (normalized Gini "
                f"{gini[best]:.3f} against {network['normalized_gini']:.3f})."
            )
    if network["decile_mape"] > thresholds.max_decile_mape:
        reasons.append(
            f"The money per decile is off: decile MAPE {network['decile_mape']:.3f} (above "
            f"{thresholds.max_decile_mape:g})."
        )
    low, high = thresholds.total_ratio_range
    if not low <= network["total_ratio"] <= high:
        reasons.append(
            f"The total is off: predicted / realised {network['total_ratio']:.3f} (outside "
            f"{low:g} to {high:g})."
        )
    if (
        achieved_coverage is not None
        and promised_coverage is not None
        and achieved_coverage < promised_coverage - thresholds.coverage_shortfall
    ):
        reasons.append(
            f"The intervals held {achieved_coverage:.0%} of the customers, not the promised "
            f"{promised_coverage:.0%}."
        )
    if len(drift):
        shifted = drift[drift["status"] == "shifted"]
        if len(shifted) >= thresholds.shifted_share * len(drift):
            reasons.append(
                f"{len(shifted)} of {len(drift)} features have shifted (PSI >= "
                f"{DRIFT_SHIFTED:g}): {', '.join(shifted['feature'].head(5))}."
            )
        unseen = drift[drift["unseen_share"] > thresholds.unseen_level_share]
        for row in unseen.itertuples(index=False):
            reasons.append(
                f"{row.unseen_share:.1%} of the newest customers have a {row.feature} the "
                "network never learned (unseen or too rare in training)."
            )
    return reasons
