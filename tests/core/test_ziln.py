"""The ZILN distribution: the one implementation training, scoring, intervals and SHAP use."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import norm

from clv_core import ziln
from clv_core.mlp import import_keras


def test_ziln_quantiles_by_hand() -> None:
    member = (
        np.array([0.0]),
        np.array([0.5]),
        np.array([1.0]),
        np.array([0.5]),
    )
    # With P(buy) = 0.5 the 10th percentile is in the no-purchase mass.
    assert ziln.quantile(*member[1:], 0.1)[0] == 0.0
    # The 90th percentile is the lognormal's (0.9 - 0.5) / 0.5 = 0.8 quantile.
    assert ziln.quantile(*member[1:], 0.9)[0] == pytest.approx(math.exp(1.0 + 0.5 * norm.ppf(0.8)))


def test_ziln_loss_matches_the_likelihood_by_hand() -> None:
    keras = import_keras()
    loss = ziln.loss(keras, 2.0)
    y_true = np.array([[0.0], [3.0]], dtype="float32")
    y_pred = np.array([[0.2, 0.0, 0.0], [-0.3, 1.0, 0.5]], dtype="float32")
    value = float(loss(y_true, y_pred))

    def bce(label: float, logit: float) -> float:
        probability = 1 / (1 + math.exp(-logit))
        return -(label * math.log(probability) + (1 - label) * math.log(1 - probability))

    sigma = ziln.SIGMA_MIN + (2.0 - ziln.SIGMA_MIN) / (1 + math.exp(-0.5))
    log_density = (
        -math.log(3.0)
        - math.log(sigma)
        - 0.5 * math.log(2 * math.pi)
        - (math.log(3.0) - 1.0) ** 2 / (2 * sigma**2)
    )
    expected = (bce(0, 0.2) + bce(1, -0.3)) / 2 - log_density / 2
    assert value == pytest.approx(expected, rel=1e-5)


def test_the_tweedie_term_is_the_deviance_of_the_expected_value() -> None:
    """The loss with a Tweedie weight adds that weight times the mean Tweedie deviance
    (power 1.5) of each row's expected value, up to terms that depend on the label alone."""
    keras = import_keras()
    y_true = np.array([[0.0], [3.0], [0.5]], dtype="float32")
    y_pred = np.array([[0.2, 0.0, 0.0], [-0.3, 1.0, 0.5], [1.5, -1.0, -2.0]], dtype="float32")
    likelihood = float(ziln.loss(keras, 2.0)(y_true, y_pred))
    combined = float(ziln.loss(keras, 2.0, tweedie_weight=3.0)(y_true, y_pred))
    expected_value, *_ = ziln.distribution(y_pred.astype(np.float64), 2.0)
    labels = y_true[:, 0].astype(np.float64)
    power = ziln.TWEEDIE_POWER
    # The full unit deviance, and the label-only part the loss leaves out.
    deviance = 2 * (
        np.where(labels > 0, labels ** (2 - power), 0.0) / ((1 - power) * (2 - power))
        - labels * expected_value ** (1 - power) / (1 - power)
        + expected_value ** (2 - power) / (2 - power)
    )
    label_only = 2 * np.where(labels > 0, labels ** (2 - power), 0.0) / ((1 - power) * (2 - power))
    assert combined - likelihood == pytest.approx(
        3.0 * np.mean((deviance - label_only) / 2), rel=1e-5
    )
    # The deviance is smallest where the expected value equals the label.
    assert (deviance >= -1e-9).all()


@pytest.mark.parametrize(
    "weights", [{"tweedie_weight": 2.0}, {"tweedie_weight": 1.0, "rank_weight": 2.0}]
)
def test_the_extra_terms_have_finite_gradients_on_extreme_outputs(
    weights: dict[str, float],
) -> None:
    """Huge and tiny outputs, and two customers with the same spend and outputs (a tie)."""
    import tensorflow as tf

    keras = import_keras()
    loss = ziln.loss(keras, 2.0, **weights)
    y_true = tf.constant([[0.0], [1e6], [2.0], [2.0]], dtype=tf.float32)
    outputs = np.array(
        [
            [40.0, 200.0, 30.0, 50.0],
            [-40.0, -200.0, -30.0, -50.0],
            [0.0, 0.0, 0.0, 0.0],
            [0.0, 0.0, 0.0, 0.0],
        ],
        dtype="float32",
    )
    # The fourth output, the rank score, exists with a ranking term only.
    raw = tf.Variable(outputs if "rank_weight" in weights else outputs[:, :3])
    with tf.GradientTape() as tape:
        value = loss(y_true, raw)
    gradient = tape.gradient(value, raw)
    assert np.isfinite(float(value))
    assert np.isfinite(gradient.numpy()).all()


def _standardised_rank_scores(y_pred: np.ndarray) -> np.ndarray:
    scores = ziln.rank_scores(y_pred.astype(np.float64), 2.0)
    return (scores - scores.mean()) / np.sqrt(scores.var() + 1e-2)


def test_the_rank_term_is_the_pairwise_logistic_loss_of_the_rank_output() -> None:
    """The loss with a ranking weight adds that weight times the mean, over the pairs whose
    spend differs, of log(1 + exp(z_lower - z_higher)), z the standardised rank scores (log
    expected value plus RANK_REACH * tanh(fourth output)); ties in spend are no pair. Only the
    fourth output learns from it: the distribution's outputs get the likelihood's gradient
    alone."""
    import tensorflow as tf

    keras = import_keras()
    y_true = np.array([[0.0], [3.0], [0.5], [0.0], [40.0]], dtype="float32")
    y_pred = np.array(
        [
            [0.2, 0.0, 0.0, 0.3],
            [-0.3, 1.0, 0.5, -0.2],
            [1.5, -1.0, -2.0, 0.9],
            [-1.0, 0.3, 0.1, 0.0],
            [0.5, 2.0, 1.0, -1.1],
        ],
        dtype="float32",
    )
    likelihood = float(ziln.loss(keras, 2.0)(y_true, y_pred[:, :3]))
    combined = float(ziln.loss(keras, 2.0, rank_weight=0.7)(y_true, y_pred))
    z = _standardised_rank_scores(y_pred)
    labels = y_true[:, 0]
    pairs = [
        math.log1p(math.exp(z[j] - z[i]))
        for i in range(5)
        for j in range(5)
        if labels[i] > labels[j]
    ]
    assert len(pairs) == 9
    assert combined - likelihood == pytest.approx(0.7 * np.mean(pairs), rel=1e-4)
    gradients = []
    for loss, outputs in (
        (ziln.loss(keras, 2.0), y_pred[:, :3]),
        (ziln.loss(keras, 2.0, rank_weight=0.7), y_pred),
    ):
        raw = tf.Variable(outputs)
        with tf.GradientTape() as tape:
            value = loss(tf.constant(y_true), raw)
        gradients.append(tape.gradient(value, raw).numpy())
    np.testing.assert_allclose(gradients[1][:, :3], gradients[0], rtol=1e-6, atol=1e-9)
    assert np.abs(gradients[1][:, 3]).max() > 1e-3
    # No pair when every customer spent the same.
    same = np.zeros((5, 1), dtype="float32")
    assert float(ziln.loss(keras, 2.0, rank_weight=5.0)(same, y_pred)) == pytest.approx(
        float(ziln.loss(keras, 2.0)(same, y_pred[:, :3])), rel=1e-6
    )


def test_a_large_batch_ranks_each_row_against_its_next_255_rows() -> None:
    """The validation loss scores chunks of up to 65,536 rows: each row meets the next 255
    (cyclically) instead of every row, so memory grows with the rows, not their square."""
    keras = import_keras()
    rng = np.random.default_rng(0)
    rows = 700
    labels = np.where(rng.random(rows) < 0.6, 0.0, rng.gamma(2.0, 50.0, rows)).astype("float32")
    y_pred = rng.normal(0.0, 1.0, (rows, 4)).astype("float32")
    term = float(ziln.loss(keras, 2.0, rank_weight=1.0)(labels[:, None], y_pred)) - float(
        ziln.loss(keras, 2.0)(labels[:, None], y_pred[:, :3])
    )
    z = _standardised_rank_scores(y_pred)
    partner = (np.arange(rows)[:, None] + np.arange(1, 256)[None, :]) % rows
    above = labels[:, None] > labels[partner]
    losses = np.logaddexp(0.0, z[partner] - z[:, None])
    assert term == pytest.approx(losses[above].mean(), rel=1e-4)


def _member_outputs(rows: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    raw = rng.normal(0.0, 1.0, (rows, 4))
    raw[:, 1] += 1.0
    return raw


def test_the_rank_map_keeps_the_likelihoods_level_in_the_rank_scores_order() -> None:
    raw = _member_outputs(5000)
    expected, *_ = ziln.distribution(raw, 2.0)
    scores = ziln.rank_scores(raw, 2.0)
    knots = ziln.fit_rank_map(scores, expected)
    # 5,000 customers: 100 bins of 50, increasing knots.
    assert knots[0].size == 100
    assert (np.diff(knots[0]) > 0).all() and (np.diff(knots[1]) >= 0).all()
    mapped = ziln.apply_rank_map(scores, knots)
    # Ordered by the rank score, strictly where the knots rise, at the likelihood's level.
    order = np.argsort(scores)
    assert (np.diff(mapped[order]) >= 0).all()
    assert mapped.sum() / expected.sum() == pytest.approx(1.0, abs=0.05)
    tenths = np.array_split(order, 10)
    for rows in tenths:
        assert mapped[rows].mean() == pytest.approx(expected[rows].mean(), rel=0.1)
    # Constant below the first knot; above the last one it grows at most like exp(score).
    low = ziln.apply_rank_map(np.array([knots[0][0] - 10.0]), knots)[0]
    assert low == pytest.approx(knots[1][0])
    top, further = ziln.apply_rank_map(knots[0][-1] + np.array([1.0, 3.0]), knots)
    assert knots[1][-1] < top and further / top <= math.exp(2.0) * (1 + 1e-12)


def test_pooled_knots_never_fall() -> None:
    scores = np.arange(200, dtype=np.float64)
    expected = np.tile([5.0, 1.0, 3.0, 2.0], 50)
    expected[::2] += scores[::2] / 100
    _, y = ziln.fit_rank_map(scores, expected)
    assert (np.diff(y) >= 0).all()
    # Pooling keeps the weighted total of the bins.
    assert y.mean() == pytest.approx(expected.mean(), rel=1e-9)
    x_single, y_single = ziln.fit_rank_map(np.zeros(40), np.full(40, 2.0))
    assert x_single.tolist() == [0.0] and y_single.tolist() == [2.0]
    assert ziln.apply_rank_map(np.array([-1.0, 5.0]), (x_single, y_single)).tolist() == [2.0, 2.0]


def test_a_small_training_set_still_gets_twenty_knots() -> None:
    """60 training customers: 20 bins of 3, so the map still orders customers."""
    raw = _member_outputs(60, seed=3)
    scores = ziln.rank_scores(raw, 2.0)
    knots = ziln.fit_rank_map(scores, ziln.distribution(raw, 2.0)[0])
    assert knots[0].size == 20
    assert np.unique(ziln.apply_rank_map(scores, knots)).size > 20


def test_rank_mapped_moves_each_lognormal_to_the_mapped_mean() -> None:
    raw = _member_outputs(3000, seed=1)
    member = ziln.distribution(raw, 2.0)
    knots = ziln.fit_rank_map(ziln.rank_scores(raw, 2.0), member[0])
    mapped, p_purchase, mu, sigma = ziln.rank_mapped(member, raw, 2.0, knots)
    np.testing.assert_allclose(p_purchase * np.exp(mu + sigma**2 / 2), mapped, rtol=1e-9)
    np.testing.assert_array_equal(p_purchase, member[1])
    np.testing.assert_array_equal(sigma, member[3])
    ratio = mapped / member[0]
    for level in (0.1, 0.9):
        np.testing.assert_allclose(
            ziln.quantile(p_purchase, mu, sigma, level),
            ziln.quantile(*member[1:], level) * ratio,
            rtol=1e-9,
        )


def test_the_keras_rank_map_is_the_numpy_one() -> None:
    keras = import_keras()
    raw = _member_outputs(2000, seed=2)
    member = ziln.distribution(raw, 2.0)
    knots = ziln.fit_rank_map(ziln.rank_scores(raw, 2.0), member[0])
    # Beyond both ends too.
    raw[:3, 3] = [-40.0, 0.0, 12.0]
    expected = ziln.rank_mapped(ziln.distribution(raw, 2.0), raw, 2.0, knots)[0]
    tensor = ziln.rank_map_ops(keras.ops, keras.ops.convert_to_tensor(raw), 2.0, knots)
    np.testing.assert_allclose(np.asarray(tensor)[:, 0], expected, rtol=1e-10)


def test_the_keras_expected_value_is_the_numpy_one() -> None:
    keras = import_keras()
    raw = np.array([[0.3, 1.2, -0.4], [-2.0, 4.0, 3.0], [5.0, 60.0, 9.0]])
    expected, *_ = ziln.distribution(raw, 2.0)
    tensor = ziln.expected_value_ops(keras.ops, keras.ops.convert_to_tensor(raw), 2.0)
    np.testing.assert_allclose(np.asarray(tensor)[:, 0], expected, rtol=1e-12)
    assert np.isfinite(expected).all(), "the exponent is clamped"


def test_the_moment_score_is_the_root_of_the_moment_of_the_distribution() -> None:
    raw = _member_outputs(500, seed=3)
    expected, p_purchase, mu, sigma = ziln.distribution(raw, 2.0)
    assert ziln.moment_score(expected, p_purchase, sigma, 1.0) is expected
    for moment in (0.85, 0.5):
        score = ziln.moment_score(expected, p_purchase, sigma, moment)
        # E[Y^g] = p * exp(g * mu + g^2 * sigma^2 / 2) for the zero-inflated lognormal.
        by_hand = (p_purchase * np.exp(moment * mu + moment**2 * sigma**2 / 2)) ** (1 / moment)
        np.testing.assert_allclose(score, by_hand, rtol=1e-9)
        assert (score <= expected * (1 + 1e-12)).all(), "a lower moment never exceeds the mean"
    # A customer less likely to buy falls behind one with the same mean but a wider spread.
    likely = ziln.moment_score(np.array([1.0]), np.array([0.9]), np.array([1.5]), 0.85)
    unlikely = ziln.moment_score(np.array([1.0]), np.array([0.2]), np.array([0.3]), 0.85)
    assert likely > unlikely


def test_the_keras_moment_score_is_the_numpy_one() -> None:
    keras = import_keras()
    raw = _member_outputs(300, seed=4)
    raw[:2] = [[-40.0, 3.0, 9.0, 0.0], [30.0, 60.0, -9.0, 0.0]]
    for with_rank_map in (False, True):
        member = ziln.distribution(raw, 2.0)
        tensor_raw = keras.ops.convert_to_tensor(raw)
        if with_rank_map:
            knots = ziln.fit_rank_map(ziln.rank_scores(raw, 2.0), member[0])
            member = ziln.rank_mapped(member, raw, 2.0, knots)
            tensor = ziln.rank_map_ops(keras.ops, tensor_raw, 2.0, knots)
        else:
            tensor = ziln.expected_value_ops(keras.ops, tensor_raw[:, :3], 2.0)
        score = ziln.moment_score(member[0], member[1], member[3], 0.7)
        moment = ziln.moment_ops(keras.ops, tensor, tensor_raw, 2.0, 0.7)
        np.testing.assert_allclose(np.asarray(moment)[:, 0], score, rtol=1e-10)


def test_the_initial_bias_starts_at_the_targets_distribution() -> None:
    targets = np.array([0.0, 0.0, 0.0, 1.0, np.e, np.e**2])
    logit, mu, raw_sigma = ziln.initial_bias(targets, 2.0)
    assert 1 / (1 + math.exp(-logit)) == pytest.approx(0.5)
    assert mu == pytest.approx(1.0)
    _, _, _, sigma = ziln.distribution(np.array([[logit, mu, raw_sigma]]), 2.0)
    assert sigma[0] == pytest.approx(np.log(targets[3:]).std())
