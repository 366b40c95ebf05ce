"""One member's training loop: losses as Keras computes them, early stopping, cancel, seeds."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from clv_core import training_loop
from clv_core.mlp import import_keras
from clv_core.training_loop import MemberTraining, train_member

Data = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]


@pytest.fixture(scope="module")
def data() -> Data:
    """A learnable regression: 700 training and 300 validation rows of 5 features."""
    rng = np.random.default_rng(3)
    x = rng.normal(size=(1000, 5)).astype(np.float32)
    y = (x @ np.array([1.0, -2.0, 0.5, 0.0, 3.0]) + rng.normal(0, 0.5, 1000)).astype(np.float32)
    return x[:700], y[:700, None], x[700:], y[700:, None]


def _network(keras: Any, seed: int = 0, dropout: float = 0.0) -> Any:
    keras.utils.set_random_seed(seed)
    inputs = keras.Input(shape=(5,))
    hidden = keras.layers.Dense(
        8, activation="relu", kernel_regularizer=keras.regularizers.L2(0.01)
    )(inputs)
    if dropout:
        hidden = keras.layers.Dropout(dropout)(hidden)
    return keras.Model(inputs, keras.layers.Dense(1)(hidden))


def _train(data: Data, seed: int = 0, **options: Any) -> tuple[Any, MemberTraining]:
    keras = import_keras()
    network = _network(keras, seed, options.pop("dropout", 0.0))
    settings = {"batch_size": 64, "max_epochs": 30, "patience": 3, "seed": seed} | options
    result = train_member(
        network,
        keras.optimizers.Adam(learning_rate=0.01),
        keras.losses.MeanSquaredError(),
        data,
        **settings,
    )
    return network, result


def _keras_loss(network: Any, x: np.ndarray, y: np.ndarray) -> float:
    """The loss as Keras' own ``evaluate`` reports it (regularisation included)."""
    keras = import_keras()
    network.compile(loss=keras.losses.MeanSquaredError())
    return float(network.evaluate(x, y, batch_size=64, verbose=0))


def test_training_learns_and_stops_early_with_the_best_weights(data: Data) -> None:
    network, result = _train(data, max_epochs=200, patience=3)
    assert not result.cancelled
    assert result.train_losses[-1] < result.train_losses[0] / 3, "the loss goes down"
    epochs = len(result.val_losses)
    assert epochs < 200, "early stopping ended it"
    assert result.best_epoch == int(np.argmin(result.val_losses))
    assert epochs == result.best_epoch + 1 + 3, "stopped `patience` epochs after the best"
    restored = _keras_loss(network, data[2], data[3])
    assert restored == pytest.approx(min(result.val_losses), rel=1e-5)


def test_validation_loss_is_what_keras_reports_also_in_chunks(
    data: Data, monkeypatch: pytest.MonkeyPatch
) -> None:
    network, result = _train(data, max_epochs=1)
    assert result.val_losses[0] == pytest.approx(_keras_loss(network, data[2], data[3]), rel=1e-5)
    monkeypatch.setattr(training_loop, "VALIDATION_CHUNK", 7)
    _, chunked_result = _train(data, max_epochs=1)
    assert chunked_result.val_losses[0] == pytest.approx(result.val_losses[0], rel=1e-5)


def test_every_epoch_is_reported_in_order(data: Data) -> None:
    seen: list[tuple[int, float, float]] = []
    _, result = _train(
        data,
        seed=1,
        batch_size=100,
        max_epochs=4,
        patience=10,
        on_epoch=lambda epoch, train, val: seen.append((epoch, train, val)),
    )
    assert [epoch for epoch, _, _ in seen] == [0, 1, 2, 3]
    assert [train for _, train, _ in seen] == result.train_losses
    assert [val for _, _, val in seen] == result.val_losses


def test_same_seed_same_weights_other_seed_other_weights(data: Data) -> None:
    first, _ = _train(data, seed=4, max_epochs=3, dropout=0.2)
    again, _ = _train(data, seed=4, max_epochs=3, dropout=0.2)
    other, _ = _train(data, seed=5, max_epochs=3, dropout=0.2)
    for mine, same in zip(first.get_weights(), again.get_weights(), strict=True):
        np.testing.assert_array_equal(mine, same)
    assert any(
        not np.array_equal(mine, theirs)
        for mine, theirs in zip(first.get_weights(), other.get_weights(), strict=True)
    )


def test_a_cancel_after_some_epochs_keeps_the_best_weights(data: Data) -> None:
    calls = {"n": 0}

    def stop_after_three_epochs() -> bool:
        calls["n"] += 1
        return calls["n"] >= 3

    network, result = _train(data, max_epochs=50, should_stop=stop_after_three_epochs)
    assert result.cancelled
    assert len(result.val_losses) == 3
    restored = _keras_loss(network, data[2], data[3])
    assert restored == pytest.approx(min(result.val_losses), rel=1e-5)


def test_a_cancel_inside_the_first_epoch_stops_between_graph_calls(
    data: Data, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(training_loop, "BATCHES_PER_CALL", 2)
    polls = {"n": 0}

    def stop_at_once() -> bool:
        polls["n"] += 1
        return True

    keras = import_keras()
    network = _network(keras)
    before = [weights.copy() for weights in network.get_weights()]
    result = train_member(
        network,
        keras.optimizers.Adam(learning_rate=0.01),
        keras.losses.MeanSquaredError(),
        data,
        batch_size=64,
        max_epochs=50,
        patience=3,
        seed=0,
        should_stop=stop_at_once,
    )
    assert result.cancelled and result.val_losses == [] and polls["n"] == 1
    # 2 of the 11 batches ran: the network moved, and is kept as it is (no epoch to restore).
    assert any(
        not np.array_equal(old, new) for old, new in zip(before, network.get_weights(), strict=True)
    )
