"""Baselines: BG/NBD + Gamma-Gamma on CDNOW, LightGBM on the synthetic shop, historical by hand."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import lifetimes
import numpy as np
import pandas as pd
import pytest
from lifetimes.fitters import ConvergenceError
from scipy.stats import spearmanr

from clv_core.baselines import BtydBaseline, HistoricalBaseline, LightGbmBaseline
from clv_core.errors import DataError, NotFittedError
from clv_core.features import LABEL_COLUMN, build_training_table
from clv_core.loading import load_table
from clv_core.splits import split_customers
from clv_core.validation import validate_transactions
from tests.corpus.public import CDNOW_PATH

CDNOW_HORIZON = 273
CATEGORICAL = ["channel", "region", "device", "age_group", "membership"]


@pytest.fixture(scope="module")
def cdnow() -> tuple[pd.DataFrame, pd.DataFrame]:
    """CDNOW features at 1997-09-30 with the 273-day label, split 80/20 by customer."""
    transactions = validate_transactions(load_table(CDNOW_PATH).frame).frame
    table = build_training_table(transactions, "1997-09-30", CDNOW_HORIZON)
    split = split_customers(table.index, seed=0)
    return table.loc[split.train], table.loc[split.test]


@pytest.fixture(scope="module")
def cdnow_train(cdnow: tuple[pd.DataFrame, pd.DataFrame]) -> pd.DataFrame:
    return cdnow[0]


@pytest.fixture(scope="module")
def cdnow_btyd(cdnow_train: pd.DataFrame) -> BtydBaseline:
    return BtydBaseline(horizon_days=CDNOW_HORIZON).fit(cdnow_train)


def _expected_purchases(model: BtydBaseline, features: pd.DataFrame) -> np.ndarray:
    return np.asarray(
        model.bgnbd_.conditional_expected_number_of_purchases_up_to_time(
            model.horizon_days, features["frequency"], features["recency"], features["T"]
        ),
        dtype=np.float64,
    )


def _fail_for(
    monkeypatch: pytest.MonkeyPatch, fitter: type, failing: Callable[[float], bool]
) -> list[float]:
    """Make ``fitter.fit`` raise ConvergenceError for the penalizers ``failing`` selects."""
    original = fitter.fit
    tried: list[float] = []

    def fit(self: Any, *args: Any, **kwargs: Any) -> Any:
        tried.append(self.penalizer_coef)
        if failing(self.penalizer_coef):
            raise ConvergenceError("The model did not converge.")
        return original(self, *args, **kwargs)

    monkeypatch.setattr(fitter, "fit", fit)
    return tried


def test_btyd_on_cdnow_ranks_test_customers(
    cdnow: tuple[pd.DataFrame, pd.DataFrame], cdnow_btyd: BtydBaseline
) -> None:
    test = cdnow[1]
    prediction = cdnow_btyd.predict(test)
    assert prediction.shape == (len(test),)
    assert np.isfinite(prediction).all()
    assert (prediction >= 0).all()
    assert spearmanr(prediction, test[LABEL_COLUMN]).statistic > 0.2
    # The level is roughly right too (BG/NBD + Gamma-Gamma is a calibrated model).
    assert 0.5 < prediction.sum() / test[LABEL_COLUMN].sum() < 2.0


def test_btyd_records_the_penalizers_used(cdnow_btyd: BtydBaseline) -> None:
    assert cdnow_btyd.bgnbd_penalizer_ == 0.001
    assert cdnow_btyd.gamma_gamma_penalizer_ == 0.001
    assert cdnow_btyd.gamma_gamma_ is not None
    assert cdnow_btyd.notes_ == []
    assert cdnow_btyd.bgnbd_.penalizer_coef == 0.001


def test_btyd_on_the_synthetic_training_table(small_training_table: pd.DataFrame) -> None:
    model = BtydBaseline(horizon_days=365, penalizers=(0.01, 0.1)).fit(small_training_table)
    prediction = model.predict(small_training_table)
    assert prediction.shape == (len(small_training_table),)
    assert np.isfinite(prediction).all()
    assert (prediction >= 0).all()
    assert model.bgnbd_penalizer_ == 0.01
    assert spearmanr(prediction, small_training_table[LABEL_COLUMN]).statistic > 0.2


def test_btyd_falls_back_to_a_stronger_penalizer(
    monkeypatch: pytest.MonkeyPatch, cdnow_train: pd.DataFrame
) -> None:
    tried = _fail_for(monkeypatch, lifetimes.BetaGeoFitter, lambda penalizer: penalizer < 0.01)
    model = BtydBaseline(horizon_days=CDNOW_HORIZON).fit(cdnow_train)
    assert tried == [0.001, 0.01]
    assert model.bgnbd_penalizer_ == 0.01
    assert model.gamma_gamma_penalizer_ == 0.001
    assert model.notes_ == [
        "BG/NBD did not converge with penalizer 0.001: ConvergenceError; "
        "fitted with penalizer 0.01."
    ]
    assert np.isfinite(model.predict(cdnow_train.iloc[:100])).all()


def test_btyd_raises_when_no_penalizer_converges(
    monkeypatch: pytest.MonkeyPatch, cdnow_train: pd.DataFrame
) -> None:
    _fail_for(monkeypatch, lifetimes.BetaGeoFitter, lambda penalizer: True)
    model = BtydBaseline(horizon_days=CDNOW_HORIZON, penalizers=(0.001, 0.1))
    with pytest.raises(
        DataError,
        match=r"BG/NBD did not converge with any penalizer "
        r"\(0\.001: ConvergenceError, 0\.1: ConvergenceError\)",
    ):
        model.fit(cdnow_train)


def test_btyd_uses_mean_spend_when_gamma_gamma_never_converges(
    monkeypatch: pytest.MonkeyPatch, cdnow_train: pd.DataFrame
) -> None:
    _fail_for(monkeypatch, lifetimes.GammaGammaFitter, lambda penalizer: True)
    model = BtydBaseline(horizon_days=CDNOW_HORIZON, penalizers=(0.001, 0.1)).fit(cdnow_train)
    assert model.gamma_gamma_ is None
    assert len(model.notes_) == 1
    assert model.notes_[0].startswith("Gamma-Gamma did not converge with any penalizer")
    assert model.notes_[0].endswith("The mean spend of repeat buyers is used instead.")
    # The mean is over repeat buyers with positive spend (CDNOW has some with zero).
    repeat = cdnow_train[(cdnow_train["frequency"] > 0) & (cdnow_train["monetary_value"] > 0)]
    assert len(repeat) < (cdnow_train["frequency"] > 0).sum()
    assert model.mean_repeat_spend_ == pytest.approx(repeat["monetary_value"].mean())
    sample = cdnow_train.iloc[:200]
    np.testing.assert_allclose(
        model.predict(sample), _expected_purchases(model, sample) * model.mean_repeat_spend_
    )


def test_btyd_without_repeat_buyers_raises(cdnow_train: pd.DataFrame) -> None:
    one_time = cdnow_train[cdnow_train["frequency"] == 0]
    with pytest.raises(DataError, match="no training customer bought on more than one day"):
        BtydBaseline(horizon_days=CDNOW_HORIZON).fit(one_time)


def test_btyd_repeat_buyers_without_positive_spend_do_not_crash(
    cdnow_train: pd.DataFrame,
) -> None:
    features = cdnow_train.copy()
    repeat = features.index[features["frequency"] > 0][:50]
    features.loc[repeat[:25], "monetary_value"] = 0.0
    features.loc[repeat[25:], "monetary_value"] = -5.0
    model = BtydBaseline(horizon_days=CDNOW_HORIZON).fit(features)
    assert model.gamma_gamma_ is not None
    prediction = model.predict(features.loc[repeat])
    assert np.isfinite(prediction).all()
    assert (prediction > 0).all()
    # Their spend per purchase day is the Gamma-Gamma population mean (as for one-time buyers).
    population_mean = float(model.gamma_gamma_.conditional_expected_average_profit(0, 1.0))
    np.testing.assert_allclose(
        prediction, _expected_purchases(model, features.loc[repeat]) * population_mean
    )


def test_btyd_when_no_repeat_buyer_has_positive_spend(cdnow_train: pd.DataFrame) -> None:
    features = cdnow_train.copy()
    features.loc[features["frequency"] > 0, "monetary_value"] = -1.0
    model = BtydBaseline(horizon_days=CDNOW_HORIZON).fit(features)
    assert model.mean_repeat_spend_ == 0.0
    assert model.gamma_gamma_ is None
    np.testing.assert_array_equal(model.predict(features.iloc[:100]), np.zeros(100))


def test_btyd_with_fewer_than_ten_repeat_buyers_uses_mean_spend(
    cdnow_train: pd.DataFrame,
) -> None:
    repeat = cdnow_train[cdnow_train["frequency"] > 0].iloc[:8]
    features = pd.concat([repeat, cdnow_train[cdnow_train["frequency"] == 0].iloc[:300]])
    model = BtydBaseline(horizon_days=CDNOW_HORIZON).fit(features)
    assert model.gamma_gamma_ is None
    assert model.gamma_gamma_penalizer_ is None
    assert model.notes_ == [
        "Fewer than 10 repeat buyers with positive spend: Gamma-Gamma was not fitted; "
        "the mean spend of repeat buyers is used for everyone."
    ]
    assert model.mean_repeat_spend_ == pytest.approx(repeat["monetary_value"].mean())
    prediction = model.predict(features)
    assert np.isfinite(prediction).all()
    np.testing.assert_allclose(
        prediction, _expected_purchases(model, features) * repeat["monetary_value"].mean()
    )


def test_btyd_refit_forgets_the_previous_gamma_gamma_model(cdnow_train: pd.DataFrame) -> None:
    model = BtydBaseline(horizon_days=CDNOW_HORIZON).fit(cdnow_train)
    repeat = cdnow_train[cdnow_train["frequency"] > 0].iloc[:8]
    features = pd.concat([repeat, cdnow_train[cdnow_train["frequency"] == 0].iloc[:300]])
    model.fit(features)
    assert model.gamma_gamma_ is None
    assert model.gamma_gamma_penalizer_ is None
    np.testing.assert_allclose(
        model.predict(features), _expected_purchases(model, features) * model.mean_repeat_spend_
    )


def test_btyd_predict_before_fit_and_missing_columns(cdnow_train: pd.DataFrame) -> None:
    with pytest.raises(NotFittedError, match="BG/NBD baseline is not fitted yet"):
        BtydBaseline(horizon_days=30).predict(cdnow_train)
    without = cdnow_train.drop(columns=["recency", "monetary_value"])
    message = r"needs the feature column\(s\) \['recency', 'monetary_value'\]"
    with pytest.raises(DataError, match=message):
        BtydBaseline(horizon_days=30).fit(without)


def test_btyd_predict_with_missing_columns(
    cdnow_btyd: BtydBaseline, cdnow_train: pd.DataFrame
) -> None:
    with pytest.raises(DataError, match=r"needs the feature column\(s\) \['T'\]"):
        cdnow_btyd.predict(cdnow_train.drop(columns="T"))


@pytest.fixture(scope="module")
def synthetic_features(small_training_table: pd.DataFrame) -> pd.DataFrame:
    return small_training_table.drop(columns=LABEL_COLUMN)


@pytest.fixture(scope="module")
def lightgbm_model(
    small_training_table: pd.DataFrame, synthetic_features: pd.DataFrame
) -> LightGbmBaseline:
    return LightGbmBaseline(seed=0).fit(synthetic_features, small_training_table[LABEL_COLUMN])


def test_lightgbm_fits_with_categorical_columns(
    lightgbm_model: LightGbmBaseline,
    synthetic_features: pd.DataFrame,
    small_training_table: pd.DataFrame,
) -> None:
    assert lightgbm_model.columns_ == list(synthetic_features.columns)
    assert lightgbm_model.categories_ is not None
    assert sorted(lightgbm_model.categories_) == sorted(CATEGORICAL)
    for column in CATEGORICAL:
        assert lightgbm_model.categories_[column] == sorted(
            synthetic_features[column].dropna().astype(str).unique()
        )
    prediction = lightgbm_model.predict(synthetic_features)
    assert prediction.shape == (len(synthetic_features),)
    assert np.isfinite(prediction).all()
    assert (prediction >= 0).all()
    assert spearmanr(prediction, small_training_table[LABEL_COLUMN]).statistic > 0.3


def test_lightgbm_unknown_category_is_treated_as_missing(
    lightgbm_model: LightGbmBaseline, synthetic_features: pd.DataFrame
) -> None:
    unknown = synthetic_features.assign(channel="carrier pigeon", region="火星")
    missing = synthetic_features.assign(channel=None, region=None)
    prediction = lightgbm_model.predict(unknown)
    assert np.isfinite(prediction).all()
    assert (prediction >= 0).all()
    np.testing.assert_array_equal(prediction, lightgbm_model.predict(missing))


@pytest.mark.filterwarnings("error:Constructing a Categorical with a dtype:DeprecationWarning")
def test_lightgbm_unknown_category_uses_no_deprecated_pandas_behaviour(
    lightgbm_model: LightGbmBaseline, synthetic_features: pd.DataFrame
) -> None:
    unknown = synthetic_features.assign(channel="carrier pigeon")
    assert np.isfinite(lightgbm_model.predict(unknown)).all()


def test_lightgbm_is_deterministic_for_a_seed(
    lightgbm_model: LightGbmBaseline,
    synthetic_features: pd.DataFrame,
    small_training_table: pd.DataFrame,
) -> None:
    again = LightGbmBaseline(seed=0).fit(synthetic_features, small_training_table[LABEL_COLUMN])
    np.testing.assert_array_equal(
        again.predict(synthetic_features), lightgbm_model.predict(synthetic_features)
    )
    other = LightGbmBaseline(seed=1).fit(synthetic_features, small_training_table[LABEL_COLUMN])
    assert not np.array_equal(
        other.predict(synthetic_features), lightgbm_model.predict(synthetic_features)
    )


def test_lightgbm_predict_before_fit_raises(synthetic_features: pd.DataFrame) -> None:
    with pytest.raises(NotFittedError, match="LightGBM baseline is not fitted yet"):
        LightGbmBaseline().predict(synthetic_features)


def test_lightgbm_predict_with_missing_columns_raises_data_error(
    lightgbm_model: LightGbmBaseline, synthetic_features: pd.DataFrame
) -> None:
    with pytest.raises(DataError, match="channel"):
        lightgbm_model.predict(synthetic_features.drop(columns="channel"))


def test_historical_arithmetic_by_hand() -> None:
    features = pd.DataFrame(
        {
            "net_spend": [100.0, -50.0, 0.0, 30.0, 12.0],
            "T": [9.0, 4.0, 0.0, 29.0, 0.0],
            "frequency": [3.0, 0.0, 0.0, 1.0, 0.0],
        }
    )
    model = HistoricalBaseline(horizon_days=30).fit(features)
    # net_spend / (T + 1) * 30, negative spend counted as 0.
    np.testing.assert_allclose(model.predict(features), [300.0, 0.0, 0.0, 30.0, 360.0])


def test_historical_missing_columns_and_use_before_fit() -> None:
    features = pd.DataFrame({"net_spend": [1.0], "T": [1.0]})
    with pytest.raises(NotFittedError, match="historical baseline is not fitted yet"):
        HistoricalBaseline(horizon_days=30).predict(features)
    with pytest.raises(
        DataError, match=r"historical baseline needs the feature column\(s\) \['T'\]"
    ):
        HistoricalBaseline(horizon_days=30).fit(features.drop(columns="T"))
    model = HistoricalBaseline(horizon_days=30).fit(features)
    with pytest.raises(DataError, match=r"needs the feature column\(s\) \['net_spend', 'T'\]"):
        model.predict(pd.DataFrame({"spend": [1.0]}))
