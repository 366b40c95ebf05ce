"""The zero-inflated lognormal (ZILN) distribution the network predicts, in one place.

For every customer a ZILN member outputs three raw numbers: the logit of P(purchase), ``mu`` and
a raw ``sigma``. The distribution of spend over the horizon is: 0 with probability
``1 - p``, else lognormal(``mu``, ``sigma``), with

* ``p = sigmoid(logit)``;
* ``sigma = SIGMA_MIN + (sigma_max - SIGMA_MIN) * sigmoid(raw_sigma)``, bounded so that
  ``exp(mu + sigma**2 / 2)`` cannot explode on heavy-tailed data;
* expected value ``p * exp(min(mu + sigma**2 / 2, EXP_CLAMP))`` (the clamp keeps float64
  finite);
* quantile ``q``: 0 while ``q <= 1 - p``, else the lognormal quantile at
  ``(q - (1 - p)) / p``.

Training minimises :func:`loss`: the ZILN negative log-likelihood (Wang, Liu & Miao 2019) plus,
weighted by ``tweedie_weight``, the Tweedie deviance (power :data:`TWEEDIE_POWER`) of the
expected value, the objective gradient boosting uses for money, and, weighted by
``rank_weight``, a pairwise ranking term: for each customer of a batch and each of the next 255
(every pair in a training batch of up to 256) whose spend differs, the logistic loss of their log
expected values being in the other order (RankNet, Burges et al. 2005), on the batch's
standardised log expected values so that it orders customers without stretching the money scale
the likelihood sets. Scoring, intervals and
calibration use :func:`distribution` and :func:`quantile` (NumPy); the explained model of SHAP uses
:func:`expected_value_ops` (Keras ops, the same formula in float64 tensors).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

__all__ = [
    "EXP_CLAMP",
    "SIGMA_MIN",
    "TWEEDIE_POWER",
    "distribution",
    "expected_value_ops",
    "initial_bias",
    "loss",
    "quantile",
]

# The smallest sigma a member can output.
SIGMA_MIN = 0.05
# Exponents are clamped here before exp(), in every implementation.
EXP_CLAMP = 50.0
# The power of the Tweedie deviance in the loss: between Poisson (1) and gamma (2), the usual
# choice for spend with many zeros (LightGBM's baseline uses it too).
TWEEDIE_POWER = 1.5
# The log expected value is clamped to +-this inside the deviance (float32 in training).
_DEVIANCE_CLAMP = 30.0


def distribution(
    raw: np.ndarray, sigma_max: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """One member's raw outputs ``(n, 3)`` -> (expected value, p_purchase, mu, sigma)."""
    p_purchase = 1.0 / (1.0 + np.exp(-raw[:, 0]))
    mu = raw[:, 1]
    sigma = SIGMA_MIN + (sigma_max - SIGMA_MIN) / (1.0 + np.exp(-raw[:, 2]))
    expected = p_purchase * np.exp(np.minimum(mu + sigma**2 / 2, EXP_CLAMP))
    return expected, p_purchase, mu, sigma


def quantile(p_purchase: np.ndarray, mu: np.ndarray, sigma: np.ndarray, level: float) -> np.ndarray:
    """The ``level`` quantile: 0 below the no-purchase mass, else the lognormal's."""
    # The standard normal's inverse CDF (what scipy.stats.norm.ppf computes, without its
    # argument checks, which cost more than the rest of a one-customer request).
    from scipy.special import ndtri

    conditional = (level - (1 - p_purchase)) / np.maximum(p_purchase, 1e-12)
    value = np.exp(
        np.minimum(mu + sigma * ndtri(np.clip(conditional, 1e-12, 1 - 1e-12)), EXP_CLAMP)
    )
    return np.where(conditional > 0, value, 0.0)


def initial_bias(y_scaled: np.ndarray, sigma_max: float) -> list[float]:
    """Output-layer biases that start a member at the training targets' distribution."""
    positive = y_scaled[y_scaled > 0]
    share = float(np.clip(positive.size / max(y_scaled.size, 1), 1e-3, 1 - 1e-3))
    log_values = np.log(positive) if positive.size else np.zeros(1)
    spread = float(np.clip(log_values.std(), SIGMA_MIN * 2, sigma_max * 0.95))
    sigma_share = (spread - SIGMA_MIN) / (sigma_max - SIGMA_MIN)
    return [
        math.log(share / (1 - share)),
        float(log_values.mean()),
        math.log(sigma_share / (1 - sigma_share)),
    ]


def loss(
    keras: Any, sigma_max: float, tweedie_weight: float = 0.0, rank_weight: float = 0.0
) -> Any:
    """The ZILN negative log-likelihood as a Keras loss (targets: spend, outputs: raw), plus
    ``tweedie_weight`` times the mean Tweedie deviance of the expected value (its terms that
    depend on the prediction) and ``rank_weight`` times the pairwise ranking term
    (:func:`_rank_term`)."""
    ops = keras.ops
    sigma_range = sigma_max - SIGMA_MIN
    half_log_two_pi = 0.5 * math.log(2 * math.pi)

    def ziln_loss(y_true: Any, y_pred: Any) -> Any:
        """Zero-inflated lognormal negative log-likelihood (Wang, Liu & Miao 2019)."""
        labels = ops.reshape(ops.cast(y_true, "float32"), (-1,))
        positive = ops.cast(labels > 0, "float32")
        logits = y_pred[:, 0]
        mu = y_pred[:, 1]
        sigma = SIGMA_MIN + sigma_range * ops.sigmoid(y_pred[:, 2])
        classification = ops.mean(
            keras.losses.binary_crossentropy(
                ops.expand_dims(positive, -1), ops.expand_dims(logits, -1), from_logits=True
            )
        )
        safe_labels = positive * labels + (1 - positive)
        log_labels = ops.log(safe_labels)
        log_likelihood = (
            -log_labels
            - ops.log(sigma)
            - half_log_two_pi
            - ops.square(log_labels - mu) / (2 * ops.square(sigma))
        )
        total = classification - ops.mean(positive * log_likelihood)
        if not (tweedie_weight or rank_weight):
            return total
        # log of p * exp(mu + sigma^2 / 2), with log p = -softplus(-logit).
        log_expected = ops.clip(
            -ops.softplus(-logits) + mu + 0.5 * ops.square(sigma),
            -_DEVIANCE_CLAMP,
            _DEVIANCE_CLAMP,
        )
        if tweedie_weight:
            rise, growth = 1 - TWEEDIE_POWER, 2 - TWEEDIE_POWER
            deviance = (
                -labels * ops.exp(rise * log_expected) / rise
                + ops.exp(growth * log_expected) / growth
            )
            total = total + tweedie_weight * ops.mean(deviance)
        if rank_weight:
            total = total + rank_weight * _rank_term(ops, labels, log_expected)
        return total

    return ziln_loss


# Each row of a batch is paired with the next rows (cyclically): a training batch of up to
# _RANK_PARTNERS + 1 rows has every pair, a larger one (the validation loss scores chunks of up to
# 65,536 rows) a fixed sample of _RANK_PARTNERS pairs per row, so memory grows linearly.
_RANK_PARTNERS = 255
# The standardisation's floor (in log money): a batch whose expected values barely differ yet
# (the first steps from the initial bias) does not get a huge ranking gradient.
_RANK_VARIANCE_FLOOR = 1e-2


def _rank_term(ops: Any, labels: Any, scores: Any) -> Any:
    """Mean over the ordered pairs ``labels[i] > labels[j]`` among a row's partners of
    ``softplus(z[j] - z[i])``, ``z`` the standardised ``scores``; 0 when no spend differs."""
    centred = scores - ops.mean(scores)
    standard = centred / ops.sqrt(ops.mean(ops.square(centred)) + _RANK_VARIANCE_FLOOR)
    rows = ops.shape(scores)[0]
    partners = ops.minimum(rows - 1, _RANK_PARTNERS)
    index = (
        ops.expand_dims(ops.arange(rows), 1) + ops.expand_dims(ops.arange(partners), 0) + 1
    ) % rows
    above = ops.cast(ops.expand_dims(labels, 1) > ops.take(labels, index), "float32")
    losses = ops.softplus(ops.take(standard, index) - ops.expand_dims(standard, 1))
    return ops.sum(above * losses) / ops.maximum(ops.sum(above), 1.0)


def expected_value_ops(ops: Any, raw: Any, sigma_max: float) -> Any:
    """:func:`distribution`'s expected value of one member's raw outputs ``(n, 3)``, in
    Keras ops (a column ``(n, 1)``), for models that must be differentiable (SHAP)."""
    probability = ops.sigmoid(raw[:, 0:1])
    mu = raw[:, 1:2]
    sigma = SIGMA_MIN + (sigma_max - SIGMA_MIN) * ops.sigmoid(raw[:, 2:3])
    return probability * ops.exp(ops.minimum(mu + 0.5 * ops.square(sigma), EXP_CLAMP))
