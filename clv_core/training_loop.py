"""One ensemble member's training: mini-batch descent with early stopping, in few graph calls.

Keras' ``Model.fit`` builds a ``tf.data`` iterator for the training data and another for the
validation data in every epoch, and runs a batch or a few per graph call. For the small
networks and tables of CLV work that bookkeeping is most of the time (on the bundled sample,
about 10 of 23 seconds went to creating iterators), and its helper threads hand work back and
forth, which stalls badly when several trainings share a server's cores.

:func:`train_member` keeps the data as tensors and runs up to :data:`BATCHES_PER_CALL`
mini-batches in one compiled call (a ``tf.while_loop`` over the epoch's shuffled rows). It does
what ``fit`` did with ``shuffle=True`` and ``EarlyStopping(restore_best_weights=True)``:

- every epoch visits the training rows in a fresh order (a NumPy generator seeded per member)
  in batches of ``batch_size``; the reported training loss is the batch losses' mean weighted
  by batch size, regularisation included, as Keras reports it;
- the validation loss is the loss of the whole validation fold (weights as they are after the
  epoch, dropout off, batch statistics from the moving averages), in chunks;
- training stops ``patience`` epochs after the best validation loss, and the weights of the
  best epoch are restored at the end, also after a cancel.

A stop request is polled between graph calls (at least once an epoch): a cancel keeps the best
weights so far.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["BATCHES_PER_CALL", "MemberTraining", "train_member"]

# Mini-batches per compiled call: large enough that the Python round trip is negligible,
# small enough that a stop request is seen within a fraction of a second on big tables.
BATCHES_PER_CALL = 64
# Rows per validation call (bounded memory for the hidden activations of a large fold).
VALIDATION_CHUNK = 65536


@dataclass(slots=True)
class MemberTraining:
    """What one member's training did: per-epoch losses and whether a stop request ended it."""

    train_losses: list[float] = field(default_factory=list)
    val_losses: list[float] = field(default_factory=list)
    cancelled: bool = False
    best_epoch: int | None = None


EpochHook = Callable[[int, float, float], None]


def train_member(
    network: Any,
    optimizer: Any,
    loss: Callable[[Any, Any], Any],
    data: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
    *,
    batch_size: int,
    max_epochs: int,
    patience: int,
    seed: int,
    on_epoch: EpochHook | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> MemberTraining:
    """Train ``network`` in place on ``data`` = (x_train, y_train, x_validation, y_validation).

    ``on_epoch(epoch, train_loss, val_loss)`` is called after every epoch (epochs from 0).
    """
    import tensorflow as tf

    x_train, y_train, x_validation, y_validation = (
        tf.convert_to_tensor(part, dtype=tf.float32) for part in data
    )
    steps = _compiled_steps(tf, network, optimizer, loss, batch_size)
    rng = np.random.default_rng(seed)
    result = MemberTraining()
    best, best_weights, waited = math.inf, None, 0
    for epoch in range(max_epochs):
        train_loss = _run_epoch(tf, steps, x_train, y_train, rng, batch_size, should_stop)
        if train_loss is None:
            result.cancelled = True
            break
        val_loss = _validation_loss(steps, x_validation, y_validation)
        result.train_losses.append(train_loss)
        result.val_losses.append(val_loss)
        waited += 1
        if best_weights is None or val_loss < best:
            best, best_weights, waited = val_loss, network.get_weights(), 0
            result.best_epoch = epoch
        if on_epoch is not None:
            on_epoch(epoch, train_loss, val_loss)
        if should_stop is not None and should_stop():
            result.cancelled = True
            break
        if waited >= patience:
            break
    if best_weights is not None:
        network.set_weights(best_weights)
    return result


@dataclass(frozen=True, slots=True)
class _Steps:
    train: Any
    validate: Any


def _compiled_steps(
    tf: Any, network: Any, optimizer: Any, loss: Callable[[Any, Any], Any], batch_size: int
) -> _Steps:
    """The member's two graph functions: a run of mini-batch updates and a loss evaluation."""
    variables = network.trainable_variables
    optimizer.build(variables)

    def total_loss(x: Any, y: Any, training: bool) -> Any:
        value = loss(y, network(x, training=training))
        penalties = network.losses
        return value + tf.add_n(penalties) if penalties else value

    matrix = tf.TensorSpec(shape=(None, None), dtype=tf.float32)
    rows = tf.TensorSpec(shape=(None,), dtype=tf.int32)

    @tf.function(input_signature=[matrix, matrix, rows])
    def train(x: Any, y: Any, order: Any) -> Any:
        # Sum over the batches of (batch loss x batch rows), to be divided by the epoch's rows.
        weighted = tf.constant(0.0)
        size = tf.shape(order)[0]
        for start in tf.range(0, size, batch_size):
            batch = order[start : start + batch_size]
            with tf.GradientTape() as tape:
                value = total_loss(tf.gather(x, batch), tf.gather(y, batch), True)
            optimizer.apply(tape.gradient(value, variables), variables)
            weighted += value * tf.cast(tf.shape(batch)[0], tf.float32)
        return weighted

    @tf.function(input_signature=[matrix, matrix])
    def validate(x: Any, y: Any) -> Any:
        return total_loss(x, y, False)

    return _Steps(train=train, validate=validate)


def _run_epoch(
    tf: Any,
    steps: _Steps,
    x: Any,
    y: Any,
    rng: np.random.Generator,
    batch_size: int,
    should_stop: Callable[[], bool] | None,
) -> float | None:
    """One pass over the training rows in a fresh order; ``None`` when a stop request came."""
    size = int(x.shape[0])
    order = rng.permutation(size).astype(np.int32)
    per_call = batch_size * BATCHES_PER_CALL
    weighted = 0.0
    for start in range(0, size, per_call):
        if start > 0 and should_stop is not None and should_stop():
            return None
        weighted += float(steps.train(x, y, tf.constant(order[start : start + per_call])))
    return weighted / max(size, 1)


def _validation_loss(steps: _Steps, x: Any, y: Any) -> float:
    """The validation fold's loss, as the row-weighted mean of chunks' losses."""
    size = int(x.shape[0])
    if size <= VALIDATION_CHUNK:
        return float(steps.validate(x, y))
    total = 0.0
    for start in range(0, size, VALIDATION_CHUNK):
        stop = min(start + VALIDATION_CHUNK, size)
        total += float(steps.validate(x[start:stop], y[start:stop])) * (stop - start)
    return total / size
