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
``rank_weight``, a pairwise ranking term.

The ranking term trains a fourth output of each member, the **rank output** ``r``. A customer's
**rank score** is the log expected value of their distribution plus ``RANK_REACH * tanh(r)``:
the rank output may reorder customers whose expected values are within a factor
``exp(RANK_REACH)`` of each other, never the big spenders against the small ones. The term is
RankNet's (Burges et al. 2005): for each customer of a batch and each of the next 255 (every pair
in a training batch of up to 256) whose spend differs, the logistic loss of their standardised
rank scores being in the wrong order. Only the rank output (and through it the shared hidden
layers) learns from it; the three distribution outputs get the likelihood's gradient alone.

After training, each member's **rank map** (:func:`fit_rank_map`), fitted on the training
customers, turns a rank score into money: the mean expected value of the customers with about
that score. The member's prediction is the map's value of the customer's rank score (ordered
by the rank score, at the likelihood's money level), and the customer's lognormal is moved to
that mean (:func:`rank_mapped`) so that the interval stays consistent with it.

Customers are ordered by the **moment score** of each member's distribution
(:func:`moment_score`), which the calibration maps to money:
``E[Y^g]^(1/g) = p^(1/g) * exp(mu + g * sigma**2 / 2)`` for the configured ``g`` in (0, 1],
which is the expected value times
``p^(1/g - 1) * exp(-(1 - g) * sigma**2 / 2)``. At ``g = 1`` it is the expected value; below 1 the
chance of buying counts a little more and the lognormal's spread a little less, which orders who
buys again better (the spread of one customer's spend is the least certain output).

Scoring, intervals and calibration use :func:`distribution`, :func:`rank_mapped`,
:func:`moment_score` and :func:`quantile` (NumPy); the explained model of SHAP uses
:func:`expected_value_ops`, :func:`rank_map_ops` and :func:`moment_ops` (Keras ops, the same
formulas in float64 tensors).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from clv_core.calibration import binned_isotonic

__all__ = [
    "EXP_CLAMP",
    "RANK_REACH",
    "SIGMA_MIN",
    "TWEEDIE_POWER",
    "apply_rank_map",
    "distribution",
    "expected_value_ops",
    "fit_rank_map",
    "initial_bias",
    "loss",
    "moment_ops",
    "moment_score",
    "quantile",
    "rank_map_ops",
    "rank_mapped",
    "rank_scores",
]

# The smallest sigma a member can output.
SIGMA_MIN = 0.05
# Exponents are clamped here before exp(), in every implementation.
EXP_CLAMP = 50.0
# The power of the Tweedie deviance in the loss: between Poisson (1) and gamma (2), the usual
# choice for spend with many zeros (LightGBM's baseline uses it too).
TWEEDIE_POWER = 1.5
# How far the rank output moves a rank score from the log expected value: +-0.25 (a factor
# 1.28). Measured across the accuracy benchmark's worlds: 1.0 and 0.5 raised Spearman further
# (+0.015 and +0.010 over the best baseline) but lost Gini (-0.004 and 0.000 against +0.002).
RANK_REACH = 0.25
# The rank map's bins: at most this many, of at least _RANK_MAP_BIN_ROWS customers each (about
# 94 customers a bin at 24,000 training customers), but at least _RANK_MAP_MIN_BINS (fewer
# customers a bin on small training sets, so that the map still orders them).
RANK_MAP_BINS = 256
_RANK_MAP_BIN_ROWS = 50
_RANK_MAP_MIN_BINS = 20
# The smallest value of a knot (scaled money), so that its log is finite.
_RANK_MAP_FLOOR = 1e-12
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


def moment_score(
    expected: np.ndarray, p_purchase: np.ndarray, sigma: np.ndarray, moment: float
) -> np.ndarray:
    """The moment score ``E[Y^g]^(1/g)`` (``g = moment``) of distributions given by their
    expected value (plain or rank-mapped), P(purchase) and sigma: ``expected`` itself at 1."""
    if moment == 1.0:
        return expected
    log_factor = (1.0 / moment - 1.0) * np.log(np.maximum(p_purchase, 1e-300)) - (
        1.0 - moment
    ) * np.square(sigma) / 2
    return expected * np.exp(log_factor)


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


def rank_scores(raw: np.ndarray, sigma_max: float) -> np.ndarray:
    """One member's rank scores ``(n,)`` of its raw outputs ``(n, 4)``: the log expected value
    of its distribution plus ``RANK_REACH * tanh(rank output)``."""
    log_probability = -np.logaddexp(0.0, -raw[:, 0])
    sigma = SIGMA_MIN + (sigma_max - SIGMA_MIN) / (1.0 + np.exp(-raw[:, 2]))
    return (
        log_probability
        + np.minimum(raw[:, 1] + sigma**2 / 2, EXP_CLAMP)
        + RANK_REACH * np.tanh(raw[:, 3])
    )


def fit_rank_map(scores: np.ndarray, expected: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """One member's rank map, fitted on the training customers: knots ``(x, y)``.

    The customers sorted by rank score are cut into up to :data:`RANK_MAP_BINS` bins of equal
    size (50 customers or more each, but at least 20 bins); ``x`` is a bin's mean score and
    ``y`` its mean expected value, made non-decreasing (pooled adjacent violators, weighted by
    the bins' sizes). The map interpolates ``log y`` linearly between the knots, keeps the
    first knot's value below them and the last segment's slope above them
    (:func:`apply_rank_map`): the expected value the likelihood gives customers of that rank
    score, on average.
    """
    scores = np.asarray(scores, np.float64)
    n_bins = int(
        np.clip(
            scores.size // _RANK_MAP_BIN_ROWS, min(scores.size, _RANK_MAP_MIN_BINS), RANK_MAP_BINS
        )
    )
    # Bins with the same mean score (a saturated score) share one knot.
    x, y = binned_isotonic(scores, np.asarray(expected, np.float64), n_bins)
    return x, np.maximum(y, _RANK_MAP_FLOOR)


def _map_slopes(rank_map: tuple[np.ndarray, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """The knots and the slopes of ``log y`` from each knot on: one per segment, then the slope
    above the last knot (the last segment's, at most 1: a customer scored past every training
    customer is valued at most in proportion to ``exp(score)``, as the log expected value
    itself would be)."""
    x, y = (np.asarray(part, np.float64) for part in rank_map)
    slopes = np.diff(np.log(y)) / np.diff(x)
    beyond = min(float(slopes[-1]), 1.0) if slopes.size else 0.0
    return x, np.append(slopes, beyond)


def apply_rank_map(scores: np.ndarray, rank_map: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """The rank map's value of ``scores`` (see :func:`fit_rank_map`)."""
    x, slopes = _map_slopes(rank_map)
    logs = np.interp(scores, x, np.log(np.asarray(rank_map[1], np.float64)))
    logs = logs + slopes[-1] * np.maximum(scores - x[-1], 0.0)
    return np.exp(np.minimum(logs, EXP_CLAMP))


def rank_mapped(
    member: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
    raw: np.ndarray,
    sigma_max: float,
    rank_map: tuple[np.ndarray, np.ndarray],
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """A member's :func:`distribution` with the expected value its rank map gives its rank
    score: each lognormal is moved (``mu`` shifted) so that its mean is the mapped value."""
    expected, p_purchase, mu, sigma = member
    mapped = apply_rank_map(rank_scores(raw, sigma_max), rank_map)
    shift = np.log(mapped) - np.log(np.maximum(expected, 1e-300))
    return mapped, p_purchase, mu + shift, sigma


def rank_map_ops(
    ops: Any, raw: Any, sigma_max: float, rank_map: tuple[np.ndarray, np.ndarray]
) -> Any:
    """:func:`rank_mapped`'s expected value of one member's raw outputs ``(n, 4)`` (float64) in
    Keras ops, a column ``(n, 1)``: the piecewise-linear ``log y`` written as a sum of hinges
    ``relu(score - x_k)`` (operations DeepLIFT has rules for)."""
    probability = ops.maximum(ops.sigmoid(raw[:, 0:1]), 1e-300)
    sigma = SIGMA_MIN + (sigma_max - SIGMA_MIN) * ops.sigmoid(raw[:, 2:3])
    scores = (
        ops.log(probability)
        + ops.minimum(raw[:, 1:2] + 0.5 * ops.square(sigma), EXP_CLAMP)
        + RANK_REACH * ops.tanh(raw[:, 3:4])
    )
    x, slopes = _map_slopes(rank_map)
    # The slope of log y changes by these at the knots (0 below the first).
    changes = np.diff(np.concatenate([[0.0], slopes]))
    hinges = ops.relu(scores - ops.convert_to_tensor(x[None, :], "float64"))
    logs = float(np.log(rank_map[1][0])) + ops.matmul(
        hinges, ops.convert_to_tensor(changes[:, None], "float64")
    )
    return ops.exp(ops.minimum(logs, EXP_CLAMP))


def initial_bias(y_scaled: np.ndarray, sigma_max: float, rank_head: bool = False) -> list[float]:
    """Output-layer biases that start a member at the training targets' distribution (and
    the rank score, with a rank head, at 0)."""
    positive = y_scaled[y_scaled > 0]
    share = float(np.clip(positive.size / max(y_scaled.size, 1), 1e-3, 1 - 1e-3))
    log_values = np.log(positive) if positive.size else np.zeros(1)
    spread = float(np.clip(log_values.std(), SIGMA_MIN * 2, sigma_max * 0.95))
    sigma_share = (spread - SIGMA_MIN) / (sigma_max - SIGMA_MIN)
    biases = [
        math.log(share / (1 - share)),
        float(log_values.mean()),
        math.log(sigma_share / (1 - sigma_share)),
    ]
    return [*biases, 0.0] if rank_head else biases


def loss(
    keras: Any, sigma_max: float, tweedie_weight: float = 0.0, rank_weight: float = 0.0
) -> Any:
    """The ZILN negative log-likelihood as a Keras loss (targets: spend, outputs: raw), plus
    ``tweedie_weight`` times the mean Tweedie deviance of the expected value (its terms that
    depend on the prediction) and ``rank_weight`` times the pairwise ranking term
    (:func:`_rank_term`) of the rank score, the fourth output (present when ``rank_weight``
    is positive)."""
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
        if rank_weight:
            # The rank score: the distribution's log expected value (held fixed here) plus the
            # rank output, which alone learns from this term.
            scores = ops.stop_gradient(log_expected) + RANK_REACH * ops.tanh(y_pred[:, 3])
            total = total + rank_weight * _rank_term(ops, labels, scores)
        if tweedie_weight:
            rise, growth = 1 - TWEEDIE_POWER, 2 - TWEEDIE_POWER
            deviance = (
                -labels * ops.exp(rise * log_expected) / rise
                + ops.exp(growth * log_expected) / growth
            )
            total = total + tweedie_weight * ops.mean(deviance)
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


def moment_ops(ops: Any, expected: Any, raw: Any, sigma_max: float, moment: float) -> Any:
    """:func:`moment_score` in Keras ops: ``expected`` (a column ``(n, 1)``, plain or
    rank-mapped) of the member whose raw outputs are ``raw``."""
    if moment == 1.0:
        return expected
    probability = ops.maximum(ops.sigmoid(raw[:, 0:1]), 1e-300)
    sigma = SIGMA_MIN + (sigma_max - SIGMA_MIN) * ops.sigmoid(raw[:, 2:3])
    log_factor = (1.0 / moment - 1.0) * ops.log(probability) - (1.0 - moment) * 0.5 * ops.square(
        sigma
    )
    return expected * ops.exp(log_factor)


def expected_value_ops(ops: Any, raw: Any, sigma_max: float) -> Any:
    """:func:`distribution`'s expected value of one member's raw outputs ``(n, 3)``, in
    Keras ops (a column ``(n, 1)``), for models that must be differentiable (SHAP)."""
    probability = ops.sigmoid(raw[:, 0:1])
    mu = raw[:, 1:2]
    sigma = SIGMA_MIN + (sigma_max - SIGMA_MIN) * ops.sigmoid(raw[:, 2:3])
    return probability * ops.exp(ops.minimum(mu + 0.5 * ops.square(sigma), EXP_CLAMP))
