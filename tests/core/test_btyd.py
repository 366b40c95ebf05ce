"""Fitting BG/NBD (clv_core.btyd): what it needs, and the penalties it retries with."""

from __future__ import annotations

from typing import Any

import lifetimes
import numpy as np
import pandas as pd
import pytest
from lifetimes.fitters import ConvergenceError

from clv_core.btyd import fit_bgnbd
from clv_core.errors import DataError


def _history(seed: int = 0, n: int = 400) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    tenure = rng.integers(30, 400, n).astype(float)
    frequency = rng.poisson(tenure / 60).astype(float)
    recency = np.where(frequency > 0, np.floor(tenure * rng.uniform(0.2, 1.0, n)), 0.0)
    return pd.DataFrame({"frequency": frequency, "recency": recency, "T": tenure})


def test_fit_returns_the_model_and_the_penalty_it_needed(monkeypatch: pytest.MonkeyPatch) -> None:
    model, penalizer, notes = fit_bgnbd(_history())
    assert penalizer == 0.001 and notes == []
    assert set(model.params_.index) == {"r", "alpha", "a", "b"}

    original = lifetimes.BetaGeoFitter.fit

    def fit(self: Any, *args: Any, **kwargs: Any) -> Any:
        if self.penalizer_coef < 0.1:
            raise ConvergenceError("The model did not converge.")
        return original(self, *args, **kwargs)

    monkeypatch.setattr(lifetimes.BetaGeoFitter, "fit", fit)
    _, penalizer, notes = fit_bgnbd(_history())
    assert penalizer == 0.1
    assert notes == [
        "BG/NBD did not converge with penalizer 0.001: ConvergenceError, 0.01: "
        "ConvergenceError; fitted with penalizer 0.1."
    ]


def test_without_repeat_buyers_there_is_nothing_to_fit() -> None:
    history = _history().assign(frequency=0.0, recency=0.0)
    with pytest.raises(DataError, match="no training customer bought on more than one day"):
        fit_bgnbd(history)
