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
    raw = tf.Variable(
        [[40.0, 200.0, 30.0], [-40.0, -200.0, -30.0], [0.0, 0.0, 0.0], [0.0, 0.0, 0.0]]
    )
    with tf.GradientTape() as tape:
        value = loss(y_true, raw)
    gradient = tape.gradient(value, raw)
    assert np.isfinite(float(value))
    assert np.isfinite(gradient.numpy()).all()


def test_the_rank_term_is_the_pairwise_logistic_loss_of_standardised_expected_values() -> None:
    """The loss with a ranking weight adds that weight times the mean, over the pairs whose
    spend differs, of log(1 + exp(z_lower - z_higher)), z the standardised log expected
    values; ties in spend (two customers who bought nothing) are no pair."""
    keras = import_keras()
    y_true = np.array([[0.0], [3.0], [0.5], [0.0], [40.0]], dtype="float32")
    y_pred = np.array(
        [[0.2, 0.0, 0.0], [-0.3, 1.0, 0.5], [1.5, -1.0, -2.0], [-1.0, 0.3, 0.1], [0.5, 2.0, 1.0]],
        dtype="float32",
    )
    likelihood = float(ziln.loss(keras, 2.0)(y_true, y_pred))
    combined = float(ziln.loss(keras, 2.0, rank_weight=0.7)(y_true, y_pred))
    expected_value, *_ = ziln.distribution(y_pred.astype(np.float64), 2.0)
    scores = np.log(expected_value)
    z = (scores - scores.mean()) / np.sqrt(scores.var() + 1e-2)
    labels = y_true[:, 0]
    pairs = [
        math.log1p(math.exp(z[j] - z[i]))
        for i in range(5)
        for j in range(5)
        if labels[i] > labels[j]
    ]
    assert len(pairs) == 9
    assert combined - likelihood == pytest.approx(0.7 * np.mean(pairs), rel=1e-4)
    # Standardised: the term does not reward stretching the scores apart.
    stretched = y_pred.copy()
    stretched[:, 1] *= 10.0
    wider = float(ziln.loss(keras, 2.0, rank_weight=1.0)(y_true, stretched))
    wider -= float(ziln.loss(keras, 2.0)(y_true, stretched))
    assert wider > 0.3
    # No pair when every customer spent the same.
    same = np.zeros((5, 1), dtype="float32")
    assert float(ziln.loss(keras, 2.0, rank_weight=5.0)(same, y_pred)) == pytest.approx(
        float(ziln.loss(keras, 2.0)(same, y_pred)), rel=1e-6
    )


def test_a_large_batch_ranks_each_row_against_its_next_255_rows() -> None:
    """The validation loss scores chunks of up to 65,536 rows: each row meets the next 255
    (cyclically) instead of every row, so memory grows with the rows, not their square."""
    keras = import_keras()
    rng = np.random.default_rng(0)
    rows = 700
    labels = np.where(rng.random(rows) < 0.6, 0.0, rng.gamma(2.0, 50.0, rows)).astype("float32")
    y_pred = rng.normal(0.0, 1.0, (rows, 3)).astype("float32")
    term = float(ziln.loss(keras, 2.0, rank_weight=1.0)(labels[:, None], y_pred)) - float(
        ziln.loss(keras, 2.0)(labels[:, None], y_pred)
    )
    expected_value, *_ = ziln.distribution(y_pred.astype(np.float64), 2.0)
    scores = np.log(expected_value)
    z = (scores - scores.mean()) / np.sqrt(scores.var() + 1e-2)
    partner = (np.arange(rows)[:, None] + np.arange(1, 256)[None, :]) % rows
    above = labels[:, None] > labels[partner]
    losses = np.logaddexp(0.0, z[partner] - z[:, None])
    assert term == pytest.approx(losses[above].mean(), rel=1e-4)


def test_the_keras_expected_value_is_the_numpy_one() -> None:
    keras = import_keras()
    raw = np.array([[0.3, 1.2, -0.4], [-2.0, 4.0, 3.0], [5.0, 60.0, 9.0]])
    expected, *_ = ziln.distribution(raw, 2.0)
    tensor = ziln.expected_value_ops(keras.ops, keras.ops.convert_to_tensor(raw), 2.0)
    np.testing.assert_allclose(np.asarray(tensor)[:, 0], expected, rtol=1e-12)
    assert np.isfinite(expected).all(), "the exponent is clamped"


def test_the_initial_bias_starts_at_the_targets_distribution() -> None:
    targets = np.array([0.0, 0.0, 0.0, 1.0, np.e, np.e**2])
    logit, mu, raw_sigma = ziln.initial_bias(targets, 2.0)
    assert 1 / (1 + math.exp(-logit)) == pytest.approx(0.5)
    assert mu == pytest.approx(1.0)
    _, _, _, sigma = ziln.distribution(np.array([[logit, mu, raw_sigma]]), 2.0)
    assert sigma[0] == pytest.approx(np.log(targets[3:]).std())
