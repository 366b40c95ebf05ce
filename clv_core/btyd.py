"""Fitting BG/NBD with ``lifetimes``, retrying stronger penalties until it converges.

Shared by the BG/NBD + Gamma-Gamma baseline (:mod:`clv_core.baselines`) and the value plan's
timing profile (:mod:`clv_core.value`).
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd

from clv_core.errors import DataError

__all__ = ["DEFAULT_PENALIZERS", "fit_bgnbd", "fit_with_retries"]

DEFAULT_PENALIZERS = (0.001, 0.01, 0.1, 1.0)


def fit_bgnbd(
    features: pd.DataFrame, penalizers: tuple[float, ...] = DEFAULT_PENALIZERS
) -> tuple[Any, float, list[str]]:
    """A lifetimes ``BetaGeoFitter`` on ``frequency``, ``recency``, ``T``: the model, the
    penalty that made it converge and what had to be done, in words.

    Raises
    ------
    DataError
        No repeat buyers, or no penalty made BG/NBD converge.
    """
    from lifetimes import BetaGeoFitter

    frequency = features["frequency"].to_numpy(np.float64)
    if (frequency > 0).sum() == 0:
        raise DataError(
            "BG/NBD cannot be fitted: no training customer bought on more than one day."
        )
    return fit_with_retries(
        "BG/NBD",
        lambda penalizer: BetaGeoFitter(penalizer_coef=penalizer).fit(
            features["frequency"], features["recency"], features["T"]
        ),
        penalizers,
    )


def fit_with_retries(
    name: str, fit: Any, penalizers: tuple[float, ...]
) -> tuple[Any, float, list[str]]:
    from lifetimes.fitters import ConvergenceError

    failures: list[str] = []
    for penalizer in penalizers:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                model = fit(penalizer)
        except (ConvergenceError, ValueError, np.linalg.LinAlgError) as error:
            failures.append(f"{penalizer}: {type(error).__name__}")
            continue
        notes = (
            [
                f"{name} did not converge with penalizer {', '.join(failures)}; "
                f"fitted with penalizer {penalizer}."
            ]
            if failures
            else []
        )
        return model, penalizer, notes
    raise DataError(
        f"{name} did not converge with any penalizer ({', '.join(failures)}). The data may "
        "have too few repeat buyers or extreme values."
    )
