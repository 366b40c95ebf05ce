"""The Keras CLV network: predictions, distribution maths, progress, cancel, reproducibility."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from clv_core import mlp, ziln
from clv_core.calibration import MonotoneCalibrator, PowerCalibrator
from clv_core.config import ISOTONIC_FROM_CUSTOMERS, LossKind, MlpConfig
from clv_core.errors import DataError, NotFittedError
from clv_core.features import LABEL_COLUMN
from clv_core.mlp import ClvMlp, EpochEvent, raw_to_distribution
from clv_core.value import TIMING_INPUTS, fit_timing
from clv_core.ziln import SIGMA_MIN

MICRO_CONFIG = MlpConfig(
    hidden_layers=(4,), ensemble_size=1, max_epochs=2, patience=1, batch_size=64, seed=5
)


def split_table(table: pd.DataFrame) -> tuple[pd.DataFrame, pd.Series]:
    return table.drop(columns=LABEL_COLUMN), table[LABEL_COLUMN]


def test_predictions_are_complete_and_sane(
    tiny_model: ClvMlp, small_training_table: pd.DataFrame
) -> None:
    features, _ = split_table(small_training_table)
    predictions = tiny_model.predict(features)
    assert list(predictions.columns) == ["predicted_clv", "p_purchase", "clv_lower", "clv_upper"]
    assert predictions.index.equals(features.index)
    assert np.isfinite(predictions.to_numpy()).all()
    assert (predictions["predicted_clv"] >= 0).all()
    assert predictions["p_purchase"].between(0, 1).all()
    assert (predictions["clv_lower"] <= predictions["clv_upper"]).all()
    assert predictions["predicted_clv"].nunique() > len(predictions) // 2


def test_learned_state_and_history(tiny_model: ClvMlp) -> None:
    assert tiny_model.preprocessor_ is not None and tiny_model.calibrator_ is not None
    assert tiny_model.network_.output_shape == (None, 6)  # 2 members x (logit, mu, sigma)
    history = tiny_model.history_
    assert history is not None
    assert set(history["member"]) == {1, 2}
    assert history["epoch"].max() <= 3
    assert np.isfinite(history[["train_loss", "val_loss"]].to_numpy()).all()
    assert tiny_model.fit_seconds_ is not None and tiny_model.fit_seconds_ > 0
    assert not tiny_model.cancelled_


def test_predict_before_fit_is_refused(small_training_table: pd.DataFrame) -> None:
    features, _ = split_table(small_training_table)
    with pytest.raises(NotFittedError, match="not trained yet"):
        ClvMlp().predict(features)


def test_same_seed_same_model_other_seed_other_model(small_training_table: pd.DataFrame) -> None:
    features, target = split_table(small_training_table)
    first = ClvMlp(MICRO_CONFIG).fit(features, target).predict(features)
    again = ClvMlp(MICRO_CONFIG).fit(features, target).predict(features)
    pd.testing.assert_frame_equal(first, again)
    other_seed = MlpConfig(**(MICRO_CONFIG.to_dict() | {"seed": 6}))
    other = ClvMlp(other_seed).fit(features, target).predict(features)
    assert not np.allclose(first["predicted_clv"], other["predicted_clv"])


@pytest.mark.parametrize("term", ["tweedie_weight", "rank_weight"])
def test_the_extra_loss_terms_train_another_sane_model(
    small_training_table: pd.DataFrame, term: str
) -> None:
    features, target = split_table(small_training_table)
    plain = ClvMlp(MICRO_CONFIG).fit(features, target)
    other = ClvMlp(MlpConfig(**(MICRO_CONFIG.to_dict() | {term: 2.0})))
    other.fit(features, target)
    predicted = other.predict(features)
    assert np.isfinite(predicted.to_numpy()).all()
    assert (predicted["predicted_clv"] >= 0).all()
    assert np.isfinite(other.history_["train_loss"]).all()
    # Same seed and data, another objective: other weights, other predictions.
    assert not np.allclose(predicted["predicted_clv"], plain.predict(features)["predicted_clv"])


def test_bgnbd_inputs_come_from_the_training_customers_bgnbd(
    tiny_model: ClvMlp, small_training_table: pd.DataFrame
) -> None:
    features, target = split_table(small_training_table)
    preprocessor = tiny_model.preprocessor_
    assert preprocessor is not None and tiny_model.timing_ is not None
    assert preprocessor.derived_ == TIMING_INPUTS
    assert preprocessor.timing_ == tiny_model.timing_ == fit_timing(features)
    assert not set(TIMING_INPUTS) & set(preprocessor.input_columns_)
    assert tiny_model.feature_columns_ == list(features.columns)
    without = ClvMlp(MlpConfig(**(MICRO_CONFIG.to_dict() | {"btyd_inputs": False})))
    without.fit(features, target)
    assert without.preprocessor_ is not None and without.preprocessor_.derived_ == ()
    # The BG/NBD is still fitted: the bundle's timing of the value over the horizon.
    assert without.timing_ == tiny_model.timing_
    width = len(without.preprocessor_.feature_names_out_)
    assert len(preprocessor.feature_names_out_) == width + len(TIMING_INPUTS)


def test_a_ranking_term_gives_each_member_a_rank_score_and_its_map(
    small_training_table: pd.DataFrame,
) -> None:
    features, target = split_table(small_training_table)
    members = 2
    options = {"rank_weight": 1.0, "ensemble_size": members}
    model = ClvMlp(MlpConfig(**(MICRO_CONFIG.to_dict() | options))).fit(features, target)
    assert model.outputs_per_member == 4
    assert model.network_.output_shape == (None, 4 * members)
    assert model.rank_maps_ is not None and len(model.rank_maps_) == members
    predicted = model.predict(features)
    # Customers are ordered by the members' mapped rank scores, at the likelihood's level.
    outputs = model._member_outputs(model.transform_features(features))
    per_member = [
        ziln.apply_rank_map(ziln.rank_scores(outputs[:, m], 2.0), model.rank_maps_[m])
        for m in range(members)
    ]
    mapped = np.mean(per_member, axis=0)
    scale = model.target_scale_
    calibrator = model.calibrator_
    assert calibrator is not None and calibrator.per_member
    # Each member's mapped distribution gives the score the calibration turns into money.
    scores = []
    for m in range(members):
        member = ziln.distribution(outputs[:, m], 2.0)
        member = ziln.rank_mapped(member, outputs[:, m], 2.0, model.rank_maps_[m])
        np.testing.assert_allclose(member[0], per_member[m], rtol=1e-12)
        scores.append(
            ziln.moment_score(member[0], member[1], member[3], model.config.ranking_moment)
        )
    np.testing.assert_allclose(
        predicted["predicted_clv"],
        np.mean([calibrator.transform(score * scale) for score in scores], axis=0),
        rtol=1e-9,
    )
    plain_level = np.mean(
        [ziln.distribution(outputs[:, m], 2.0)[0] for m in range(members)], axis=0
    )
    assert mapped.sum() / plain_level.sum() == pytest.approx(1.0, abs=0.05)
    assert (predicted["clv_lower"] <= predicted["predicted_clv"] + 1e-9).all()


def test_customers_are_ordered_by_the_moment_score_the_calibration_turns_into_money(
    small_training_table: pd.DataFrame,
) -> None:
    features, target = split_table(small_training_table)
    members = 2
    options = {"ranking_moment": 0.7, "ensemble_size": members, "calibration": "power"}
    model = ClvMlp(MlpConfig(**(MICRO_CONFIG.to_dict() | options))).fit(features, target)
    predicted = model.predict(features)["predicted_clv"].to_numpy()
    outputs = model._member_outputs(model.transform_features(features))
    per_member = [ziln.distribution(outputs[:, m], 2.0) for m in range(members)]
    scores = [ziln.moment_score(e, p, sigma, 0.7) for e, p, _, sigma in per_member]
    calibrator = model.calibrator_
    assert isinstance(calibrator, PowerCalibrator) and calibrator.per_member
    scale = model.target_scale_
    np.testing.assert_allclose(
        predicted,
        np.mean([calibrator.transform(score * scale) for score in scores], axis=0),
        rtol=1e-9,
    )
    # The map was fitted on the held-out customers' scores and spend: their total comes back.
    out_of_fold = model.predict_out_of_fold(features)["predicted_clv"]
    held_out = out_of_fold.notna().to_numpy()
    assert out_of_fold[held_out].sum() == pytest.approx(target[held_out].sum(), rel=1e-6)
    # Ordered by the score, not by the expected value.
    expected = np.mean([member[0] for member in per_member], axis=0)
    assert not np.array_equal(np.argsort(predicted), np.argsort(expected))


def test_auto_calibration_is_isotonic_only_with_enough_held_out_customers(
    small_training_table: pd.DataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    features, target = split_table(small_training_table)
    assert len(features) < ISOTONIC_FROM_CUSTOMERS
    small = ClvMlp(MICRO_CONFIG).fit(features, target)
    assert isinstance(small.calibrator_, PowerCalibrator)
    # The one member holds out its fold: the calibration's customers.
    held_out = mlp._validation_folds(MICRO_CONFIG, len(features))[0].size
    monkeypatch.setattr(mlp, "ISOTONIC_FROM_CUSTOMERS", held_out)
    large = ClvMlp(MICRO_CONFIG).fit(features, target)
    assert isinstance(large.calibrator_, MonotoneCalibrator)
    assert large.calibrator_.per_member and large.calibrator_.interpolation == "linear"
    monkeypatch.setattr(mlp, "ISOTONIC_FROM_CUSTOMERS", held_out + 1)
    assert isinstance(ClvMlp(MICRO_CONFIG).fit(features, target).calibrator_, PowerCalibrator)


def test_progress_events_and_cooperative_cancel(small_training_table: pd.DataFrame) -> None:
    features, target = split_table(small_training_table)
    events: list[EpochEvent] = []
    config = MlpConfig(hidden_layers=(4,), ensemble_size=3, max_epochs=50, patience=50, seed=1)

    def stop_after_two_epochs() -> bool:
        return len(events) >= 2

    model = ClvMlp(config).fit(
        features, target, on_epoch=events.append, should_stop=stop_after_two_epochs
    )
    assert model.cancelled_
    # Cancelled in the first member: later members are skipped, the first is kept.
    assert model.network_.output_shape == (None, 3)
    assert [event.epoch for event in events] == [1, 2]
    assert all(event.member == 1 and event.members == 3 for event in events)
    assert events[1].best_val_loss == min(e.val_loss for e in events)
    assert 0 < events[0].progress < events[1].progress < 1
    assert np.isfinite(model.predict(features)["predicted_clv"]).all()


@pytest.mark.parametrize("loss", [LossKind.LOG_MSE, LossKind.HUBER])
def test_point_losses_predict_only_the_expected_value(
    loss: LossKind, small_training_table: pd.DataFrame
) -> None:
    features, target = split_table(small_training_table)
    config = MlpConfig(**(MICRO_CONFIG.to_dict() | {"loss": loss.value}))
    model = ClvMlp(config).fit(features, target)
    predictions = model.predict(features)
    assert list(predictions.columns) == ["predicted_clv"]
    assert (predictions["predicted_clv"] >= 0).all()
    assert model.network_.output_shape == (None, 1)


def test_bad_training_data_is_refused(small_training_table: pd.DataFrame) -> None:
    features, target = split_table(small_training_table)
    with pytest.raises(DataError, match="non-negative"):
        ClvMlp(MICRO_CONFIG).fit(features, -target - 1)
    with pytest.raises(DataError, match="rows but the target has"):
        ClvMlp(MICRO_CONFIG).fit(features, target.iloc[:-1])
    with pytest.raises(DataError, match="at least 20 customers"):
        ClvMlp(MICRO_CONFIG).fit(features.iloc[:10], target.iloc[:10])
    with pytest.raises(DataError, match="nothing to learn"):
        ClvMlp(MICRO_CONFIG).fit(features, target * 0)


def test_ziln_distribution_by_hand() -> None:
    raw = np.array([[0.0, 1.0, 0.0], [2.0, -1.0, 10.0]])
    expected, p_purchase, mu, sigma = raw_to_distribution(raw, LossKind.ZILN, sigma_max=2.0)
    assert p_purchase is not None and mu is not None and sigma is not None
    assert p_purchase[0] == pytest.approx(0.5)
    assert sigma[0] == pytest.approx(SIGMA_MIN + (2.0 - SIGMA_MIN) / 2)
    assert sigma[1] <= 2.0
    assert expected[0] == pytest.approx(0.5 * math.exp(1.0 + sigma[0] ** 2 / 2))
    log_target, *_ = raw_to_distribution(np.array([[math.log1p(9.0)]]), LossKind.LOG_MSE, 2.0)
    assert log_target[0] == pytest.approx(9.0)


def test_out_of_fold_predictions_come_from_the_member_that_held_each_customer_out(
    tiny_model: ClvMlp, small_training_table: pd.DataFrame
) -> None:
    from clv_core.mlp import _validation_folds

    features, _ = split_table(small_training_table)
    out_of_fold = tiny_model.predict_out_of_fold(features)
    assert list(out_of_fold.columns) == list(tiny_model.predict(features).columns)
    folds = _validation_folds(tiny_model.config, len(features))
    outputs = tiny_model._member_outputs(tiny_model.transform_features(features))
    held_out = np.zeros(len(features), dtype=bool)
    for member in range(tiny_model.config.ensemble_size):
        rows = folds[member]
        held_out[rows] = True
        raw = raw_to_distribution(outputs[rows, member], LossKind.ZILN, tiny_model.config.sigma_max)
        score = ziln.moment_score(raw[0], raw[1], raw[3], tiny_model.config.ranking_moment)
        expected = score * tiny_model.target_scale_
        assert tiny_model.calibrator_ is not None
        np.testing.assert_allclose(
            out_of_fold["predicted_clv"].to_numpy()[rows],
            tiny_model.calibrator_.transform(expected),
            rtol=1e-12,
        )
        np.testing.assert_allclose(out_of_fold["p_purchase"].to_numpy()[rows], raw[1], rtol=1e-12)
    # Two members, five folds: the customers of the other three folds were held out by none.
    assert out_of_fold.loc[~held_out].isna().all().all()
    assert out_of_fold.loc[held_out].notna().all().all()
    in_sample = tiny_model.predict(features)["predicted_clv"].to_numpy()[held_out]
    assert not np.allclose(out_of_fold["predicted_clv"].to_numpy()[held_out], in_sample)
