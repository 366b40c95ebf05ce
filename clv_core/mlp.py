"""The CLV network: a Keras MLP ensemble with preprocessing and calibration, sklearn-style.

``ClvMlp(config).fit(features, y)`` learns, on the training customers only:

1. the :class:`~clv_core.preprocessing.Preprocessor` (scaling, encoding, missing values);
2. ``config.ensemble_size`` networks (seeds ``seed, seed + 1, ...``), member *m* holding out
   fold *m* of the training customers (folds of ``validation_fraction``) for early stopping;
3. with a ranking term (``rank_weight > 0``), each member's rank map
   (:func:`clv_core.ziln.fit_rank_map`): its fourth output, the rank score, orders the
   customers, and the map gives them the money level of its expected values;
4. a calibration (:mod:`clv_core.calibration`) on the held-out customers' out-of-fold
   predictions (each from the member that did not train on them); ``predict`` applies it to
   each member's expected value and averages, as the out-of-fold values were one member's.

``predict`` returns the expected CLV per customer; with the ZILN loss (Wang, Liu & Miao 2019,
"A Deep Probabilistic Model for Customer Lifetime Value Prediction") also P(purchase in the
horizon) and a central interval from the predicted zero-inflated lognormal distribution.

TensorFlow is imported only when a network is built, trained or loaded.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from clv_core import ziln
from clv_core.calibration import MonotoneCalibrator, PowerCalibrator
from clv_core.config import ISOTONIC_FROM_CUSTOMERS, Calibration, LossKind, MlpConfig, OptimizerKind
from clv_core.errors import DataError, NotFittedError
from clv_core.preprocessing import Preprocessor
from clv_core.training_loop import train_member
from clv_core.value import TimingModel, fit_timing

__all__ = ["ClvMlp", "EpochEvent", "import_keras", "raw_to_distribution"]

PREDICT_BATCH_SIZE = 8192
# Training customers kept (feature rows, no ids) as the background of a service's explanations:
# 200, fewer for very wide tables so that the bundle's meta.json stays small.
BACKGROUND_ROWS = 200
BACKGROUND_VALUES = 20_000
# TensorFlow state shared by every thread of the process: trainings compete for the same two
# cores (serialising them costs nothing and keeps each one's progress readable), and SHAP swaps
# entries of TensorFlow's process-wide gradient registry while it explains, which a training
# traced at that moment would pick up. Training members and explanations take this lock; it
# holds no data.
TENSORFLOW_LOCK = threading.Lock()


@dataclass(frozen=True, slots=True)
class EpochEvent:
    """Progress of training after one epoch, for live loss curves and progress bars."""

    member: int
    members: int
    epoch: int
    max_epochs: int
    train_loss: float
    val_loss: float
    best_val_loss: float
    elapsed_seconds: float

    @property
    def progress(self) -> float:
        """Rough share of the whole ensemble's training done, in [0, 1]."""
        return min(1.0, ((self.member - 1) + self.epoch / self.max_epochs) / self.members)


ProgressCallback = Callable[[EpochEvent], None]
StopRequest = Callable[[], bool]


def import_keras() -> Any:
    """Import Keras on the TensorFlow backend, quietly and with reproducible CPU numerics.

    oneDNN's fused CPU kernels change the order of floating-point sums between runs and
    machines ("slightly different numerical results"); turning them off makes a seed give the
    same model everywhere, at no measurable cost for networks of this size. These variables
    only take effect before TensorFlow is first imported in the process.
    """
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    import keras
    import tensorflow

    tensorflow.get_logger().setLevel("ERROR")
    return keras


# A member's (expected value, P(purchase), mu, sigma); the last three only with ZILN.
_Distribution = tuple[np.ndarray, np.ndarray | None, np.ndarray | None, np.ndarray | None]


def raw_to_distribution(raw: np.ndarray, loss: LossKind, sigma_max: float) -> _Distribution:
    """Network outputs of one member -> (expected, p_purchase, mu, sigma) in scaled units.

    ZILN outputs follow :mod:`clv_core.ziln`; the log-target losses output ``log1p(y)``.
    """
    if loss is LossKind.ZILN:
        return ziln.distribution(raw, sigma_max)
    return np.maximum(np.expm1(np.minimum(raw[:, 0], ziln.EXP_CLAMP)), 0.0), None, None, None


class ClvMlp:
    """Customer-lifetime-value regressor: preprocessing, Keras MLP ensemble, calibration.

    Parameters
    ----------
    config
        The frozen :class:`~clv_core.config.MlpConfig`.

    Attributes
    ----------
    preprocessor_, network_, calibrator_, target_scale_, feature_columns_, history_,
    cancelled_, fit_seconds_, rank_maps_
        Learned state, set by :meth:`fit` (or by loading a bundle). ``network_`` is one Keras
        model whose output concatenates the members' raw outputs; ``rank_maps_`` holds each
        member's rank map (knots ``(x, y)`` in scaled units) when the members have a rank head.
    """

    def __init__(self, config: MlpConfig | None = None) -> None:
        self.config = config or MlpConfig()
        self.preprocessor_: Preprocessor | None = None
        self.network_: Any = None
        self.calibrator_: PowerCalibrator | MonotoneCalibrator | None = None
        self.target_scale_: float | None = None
        self.feature_columns_: list[str] | None = None
        self.history_: pd.DataFrame | None = None
        self.cancelled_: bool = False
        self.fit_seconds_: float | None = None
        self.value_percentiles_: np.ndarray | None = None
        self.background_: pd.DataFrame | None = None
        self.timing_: TimingModel | None = None
        self.rank_maps_: list[tuple[np.ndarray, np.ndarray]] | None = None
        self._forward: Any = None

    @property
    def rank_head(self) -> bool:
        """Whether each member has a rank score output (ZILN with a ranking term)."""
        return _rank_head(self.config)

    @property
    def outputs_per_member(self) -> int:
        """Raw outputs of one member network (3 for ZILN, 4 with a rank head, 1 otherwise)."""
        if self.config.loss is not LossKind.ZILN:
            return 1
        return 4 if self.rank_head else 3

    def fit(
        self,
        features: pd.DataFrame,
        target: pd.Series | np.ndarray,
        *,
        on_epoch: ProgressCallback | None = None,
        should_stop: StopRequest | None = None,
    ) -> ClvMlp:
        """Train on the training customers' features and future spend.

        Parameters
        ----------
        features
            One row per training customer (numeric and text columns).
        target
            Future spend per customer, aligned with ``features`` (non-negative).
        on_epoch
            Called after every epoch of every member with an :class:`EpochEvent`.
        should_stop
            Polled between graph calls (every 64 batches, at least once an epoch; see
            :mod:`clv_core.training_loop`); when it returns True training stops cooperatively, the
            best weights so far are kept, and ``cancelled_`` is set. Members not started are
            skipped; at least the first member is always kept.

        Returns
        -------
        ClvMlp
            ``self``.
        """
        started = time.perf_counter()
        config = self.config
        y = _checked_target(features, target)
        # Each member holds out its own fold of the training customers for early stopping, so
        # the members see different data (more diverse ensemble) and together give
        # out-of-fold predictions for several folds: the calibration is fitted on all of them.
        folds = _validation_folds(config, y.size)

        # BG/NBD on the training customers: the network's two BG/NBD inputs (with
        # ``btyd_inputs``) and, in the bundle, the timing of the value over the horizon.
        self.timing_ = fit_timing(features)
        preprocessor = Preprocessor().fit(
            features, timing=self.timing_ if config.btyd_inputs else None
        )
        matrix = preprocessor.transform(features)
        positive = y[y > 0]
        scale = float(positive.mean())
        scaled = y / scale

        keras = import_keras()
        trained = self._train_members(
            keras,
            matrix,
            scaled,
            folds,
            scale,
            on_epoch=on_epoch,
            should_stop=should_stop,
            started=started,
        )
        members, rank_maps, history_frames, out_of_fold_sum, out_of_fold_count = trained

        self.network_ = _combine_members(keras, config, members, matrix.shape[1])
        self.rank_maps_ = rank_maps if self.rank_head else None
        self.preprocessor_ = preprocessor
        self.target_scale_ = scale
        self.feature_columns_ = [str(c) for c in features.columns]
        self.history_ = pd.concat(history_frames, ignore_index=True)
        self.calibrator_ = None
        if config.calibration is not Calibration.NONE:
            held_out = out_of_fold_count > 0
            calibrator = (
                MonotoneCalibrator()
                if config.calibration is Calibration.ISOTONIC
                or (
                    config.calibration is Calibration.AUTO
                    and held_out.sum() >= ISOTONIC_FROM_CUSTOMERS
                )
                else PowerCalibrator()
            )
            self.calibrator_ = calibrator.fit(
                out_of_fold_sum[held_out] / out_of_fold_count[held_out], y[held_out]
            )
        self._remember_population(features)
        self.fit_seconds_ = time.perf_counter() - started
        return self

    def _remember_population(self, features: pd.DataFrame) -> None:
        """What a scoring service needs to know of the training customers, without their ids:
        the percentiles 0..100 of their predicted CLV (value tiers of single customers) and a
        seeded sample of their feature rows (the background of explanations)."""
        predicted = self.predict(features)["predicted_clv"].to_numpy(np.float64)
        self.value_percentiles_ = np.percentile(predicted, np.arange(101))
        rows = min(BACKGROUND_ROWS, max(10, BACKGROUND_VALUES // max(features.shape[1], 1)))
        sample = features.sample(n=min(rows, len(features)), random_state=self.config.seed)
        self.background_ = sample.reset_index(drop=True)

    def _train_members(
        self,
        keras: Any,
        matrix: np.ndarray,
        scaled: np.ndarray,
        folds: list[np.ndarray],
        scale: float,
        *,
        on_epoch: ProgressCallback | None,
        should_stop: StopRequest | None,
        started: float,
    ) -> tuple[
        list[Any], list[tuple[np.ndarray, np.ndarray]], list[pd.DataFrame], np.ndarray, np.ndarray
    ]:
        """Train the ensemble's members in turn, each holding out its fold; sets ``cancelled_``.

        Returns the member networks, their rank maps (fitted on all the training customers;
        empty without a rank head), their history frames, and per customer the sum and the
        count of out-of-fold expected values (in money units) for the calibration. After a
        cancel, members not started yet are skipped.
        """
        config = self.config
        size = scaled.size
        members = []
        rank_maps: list[tuple[np.ndarray, np.ndarray]] = []
        history_frames = []
        out_of_fold_sum = np.zeros(size)
        out_of_fold_count = np.zeros(size)
        self.cancelled_ = False
        for member in range(config.ensemble_size):
            if member > 0 and self.cancelled_:
                break
            validation_rows = folds[member % len(folds)]
            training_rows = np.setdiff1d(np.arange(size), validation_rows, assume_unique=True)
            with TENSORFLOW_LOCK:
                network, history, cancelled = self._train_member(
                    keras,
                    member,
                    matrix[training_rows],
                    scaled[training_rows],
                    matrix[validation_rows],
                    scaled[validation_rows],
                    on_epoch=on_epoch,
                    should_stop=should_stop,
                    started=started,
                )
            members.append(network)
            history_frames.append(history)
            self.cancelled_ = self.cancelled_ or cancelled
            if self.rank_head:
                raw = _predict_raw(network, matrix)
                scores = ziln.rank_scores(raw, config.sigma_max)
                rank_map = ziln.fit_rank_map(scores, ziln.distribution(raw, config.sigma_max)[0])
                rank_maps.append(rank_map)
                held = raw[validation_rows]
                distribution: _Distribution = ziln.rank_mapped(
                    ziln.distribution(held, config.sigma_max), held, config.sigma_max, rank_map
                )
            else:
                held = _predict_raw(network, matrix[validation_rows])
                distribution = raw_to_distribution(held, config.loss, config.sigma_max)
            # The calibration maps the score customers are ordered by to money.
            expected = self._ordering_score(distribution) * scale
            out_of_fold_sum[validation_rows] += expected
            out_of_fold_count[validation_rows] += 1
        return members, rank_maps, history_frames, out_of_fold_sum, out_of_fold_count

    def _train_member(
        self,
        keras: Any,
        member: int,
        x_train: np.ndarray,
        y_train: np.ndarray,
        x_validation: np.ndarray,
        y_validation: np.ndarray,
        *,
        on_epoch: ProgressCallback | None,
        should_stop: StopRequest | None,
        started: float,
    ) -> tuple[Any, pd.DataFrame, bool]:
        config = self.config
        keras.utils.set_random_seed(config.seed + member)
        network = _build_member(keras, config, member, x_train.shape[1], y_train)
        rows: list[dict[str, float]] = []

        def epoch_done(epoch: int, train_loss: float, val_loss: float) -> None:
            rows.append(
                {
                    "member": member + 1,
                    "epoch": epoch + 1,
                    "train_loss": train_loss,
                    "val_loss": val_loss,
                }
            )
            if on_epoch is not None:
                on_epoch(
                    EpochEvent(
                        member=member + 1,
                        members=config.ensemble_size,
                        epoch=epoch + 1,
                        max_epochs=config.max_epochs,
                        train_loss=train_loss,
                        val_loss=val_loss,
                        best_val_loss=min(row["val_loss"] for row in rows),
                        elapsed_seconds=time.perf_counter() - started,
                    )
                )

        training = train_member(
            network,
            _optimizer(keras, config),
            _loss_function(keras, config),
            (
                x_train,
                _network_target(y_train, config.loss),
                x_validation,
                _network_target(y_validation, config.loss),
            ),
            batch_size=config.batch_size,
            max_epochs=config.max_epochs,
            patience=config.patience,
            seed=config.seed + member,
            on_epoch=epoch_done,
            should_stop=should_stop,
        )
        history = pd.DataFrame(rows, columns=["member", "epoch", "train_loss", "val_loss"])
        return network, history, training.cancelled

    def _check_fitted(self) -> tuple[Preprocessor, Any, float]:
        if self.network_ is None or self.preprocessor_ is None or self.target_scale_ is None:
            raise NotFittedError("The model is not trained yet; call fit (or load a bundle).")
        return self.preprocessor_, self.network_, self.target_scale_

    def _member_outputs(self, matrix: np.ndarray) -> np.ndarray:
        """Raw outputs, shape (customers, members, outputs_per_member)."""
        _, network, _ = self._check_fitted()
        raw = _predict_raw(network, matrix, self._forward)
        return raw.reshape(len(matrix), -1, self.outputs_per_member)

    def compile_for_serving(self) -> None:
        """Predict through one compiled graph function from now on.

        Calling the Keras model eagerly costs about 13 ms per call whatever its size; the
        compiled function (traced once, for any number of rows) about 0.5 ms for one customer,
        and it is safe to call from several threads at once.
        """
        _, network, _ = self._check_fitted()
        import tensorflow as tf

        width = int(network.input_shape[-1])

        @tf.function(input_signature=[tf.TensorSpec(shape=(None, width), dtype=tf.float32)])
        def forward(matrix: Any) -> Any:
            return network(matrix, training=False)

        forward(np.zeros((1, width), dtype=np.float32))
        self._forward = forward

    def predict_matrix(self, matrix: np.ndarray) -> dict[str, np.ndarray]:
        """:meth:`predict`'s columns for a ready design matrix, as arrays (no pandas)."""
        self._check_fitted()
        return self._combined_columns(self._member_outputs(matrix), None)

    def _member_distribution(self, outputs: np.ndarray, member: int) -> _Distribution:
        """Member ``member``'s (expected, p_purchase, mu, sigma) in scaled units, through its
        rank map when it has one."""
        raw = outputs[:, member]
        if not self.rank_head:
            return raw_to_distribution(raw, self.config.loss, self.config.sigma_max)
        if self.rank_maps_ is None:
            raise NotFittedError("The model has a rank head but no rank maps; train it again.")
        sigma_max = self.config.sigma_max
        return ziln.rank_mapped(
            ziln.distribution(raw, sigma_max), raw, sigma_max, self.rank_maps_[member]
        )

    def _ordering_score(self, member: _Distribution) -> np.ndarray:
        """What customers are ordered by (scaled units): the member's moment score
        (:func:`clv_core.ziln.moment_score`, ``ranking_moment``), its expected value without a
        ZILN distribution."""
        expected, p_purchase, _, sigma = member
        if p_purchase is None or sigma is None:
            return expected
        return ziln.moment_score(expected, p_purchase, sigma, self.config.ranking_moment)

    def transform_features(self, features: pd.DataFrame) -> np.ndarray:
        """The network's input matrix for ``features`` (fitted preprocessing)."""
        preprocessor, _, _ = self._check_fitted()
        return preprocessor.transform(features)

    def predict(self, features: pd.DataFrame) -> pd.DataFrame:
        """Predict CLV for every row of ``features``.

        Returns
        -------
        pandas.DataFrame
            Indexed like ``features``: ``predicted_clv`` (calibrated expected net spend over
            the horizon); with ZILN also ``p_purchase`` and ``clv_lower`` / ``clv_upper``, the
            central ``interval_coverage`` interval (10th/90th percentiles by default), scaled by
            the same factor as the calibration applied to the customer's expected value.
        """
        self._check_fitted()
        outputs = self._member_outputs(self.transform_features(features))
        return self._combine(outputs, None, features.index)

    def predict_out_of_fold(self, features: pd.DataFrame) -> pd.DataFrame:
        """Predictions of the training customers by the members that did not train on them.

        ``features`` must be the training features exactly as given to :meth:`fit` (same rows,
        same order): member *m* held out fold *m* of them (the folds are seeded by the
        configuration), so each customer is predicted by the members that held them out,
        averaged, and calibrated as :meth:`predict` does. Those members watched that fold for
        early stopping, so the figures lean slightly optimistic; they are still predictions
        of customers the network did not learn from. Customers no member held out (an
        ensemble smaller than the number of folds) get NaN.

        Returns
        -------
        pandas.DataFrame
            The columns of :meth:`predict`, indexed like ``features``.
        """
        self._check_fitted()
        outputs = self._member_outputs(self.transform_features(features))
        folds = _validation_folds(self.config, len(features))
        held_out = np.zeros(outputs.shape[:2])
        for member in range(outputs.shape[1]):
            held_out[folds[member % len(folds)], member] = 1.0
        counts = held_out.sum(axis=1, keepdims=True)
        weights = np.divide(held_out, counts, out=np.zeros_like(held_out), where=counts > 0)
        result = self._combine(outputs, weights, features.index)
        result.loc[counts[:, 0] == 0, :] = np.nan
        return result

    def _combine(
        self, outputs: np.ndarray, weights: np.ndarray | None, index: pd.Index
    ) -> pd.DataFrame:
        """Each row's members combined: their mean, or ``weights`` (rows x members, each row
        summing to 1)."""
        return pd.DataFrame(self._combined_columns(outputs, weights), index=index)

    def _combined_columns(
        self, outputs: np.ndarray, weights: np.ndarray | None
    ) -> dict[str, np.ndarray]:
        _, _, scale = self._check_fitted()
        config = self.config
        per_member = [self._member_distribution(outputs, m) for m in range(outputs.shape[1])]

        def mixed(values: list[np.ndarray]) -> np.ndarray:
            if weights is None:
                return np.mean(values, axis=0)
            return np.sum(np.column_stack(values) * weights, axis=1)

        raw_expected = mixed([member[0] for member in per_member]) * scale
        calibrator = self.calibrator_
        if calibrator is None:
            expected = raw_expected
        elif calibrator.per_member:
            # Fitted on out-of-fold predictions, one member's each: applied to each member's
            # ordering score.
            scores = [self._ordering_score(member) * scale for member in per_member]
            expected = mixed([calibrator.transform(score) for score in scores])
        else:
            expected = calibrator.transform(
                mixed([self._ordering_score(member) for member in per_member]) * scale
            )
        columns = {"predicted_clv": expected}
        if config.loss is LossKind.ZILN:
            lower_q = (1 - config.interval_coverage) / 2
            upper_q = 1 - lower_q
            p_purchase = mixed([member[1] for member in per_member if member[1] is not None])
            lower = mixed([_member_quantile(m, lower_q) for m in per_member]) * scale
            upper = mixed([_member_quantile(m, upper_q) for m in per_member]) * scale
            ratio = np.divide(
                expected, raw_expected, out=np.ones_like(expected), where=raw_expected > 0
            )
            columns |= {"p_purchase": p_purchase, "clv_lower": lower * ratio}
            columns["clv_upper"] = upper * ratio
        return columns


def _checked_target(features: pd.DataFrame, target: pd.Series | np.ndarray) -> np.ndarray:
    """The target as a float array, refused (DataError) when training on it cannot work."""
    y = np.asarray(target, dtype=np.float64)
    if len(features) != y.size:
        raise DataError(f"features has {len(features)} rows but the target has {y.size} values.")
    if y.size < 20:
        raise DataError(
            f"Training needs at least 20 customers; got {y.size}. Use more data or an "
            "earlier cutoff."
        )
    if not np.isfinite(y).all() or (y < 0).any():
        raise DataError("The target must be finite and non-negative (net spend clipped at 0).")
    if (y > 0).sum() < 2:
        raise DataError(
            "Fewer than two training customers bought anything in the horizon, so there is "
            "nothing to learn. Choose a longer horizon or an earlier cutoff."
        )
    return y


def _validation_folds(config: MlpConfig, size: int) -> list[np.ndarray]:
    """``round(1 / validation_fraction)`` (at least 2) sorted folds of a seeded permutation."""
    rng = np.random.default_rng(config.seed)
    n_folds = max(2, round(1 / config.validation_fraction))
    return [np.sort(fold) for fold in np.array_split(rng.permutation(size), n_folds)]


def _predict_raw(network: Any, matrix: np.ndarray, forward: Any = None) -> np.ndarray:
    """Raw network outputs for a matrix, in large batches.

    Calling the model directly (eagerly, in chunks) avoids ``predict``'s per-call tracing, which
    warns and wastes time when called for inputs of varying size; ``forward`` is the compiled
    function of :meth:`ClvMlp.compile_for_serving` when there is one.
    """
    if len(matrix) == 0:
        return np.zeros((0, int(np.prod(network.output_shape[1:]))))
    chunks = [
        (
            forward(matrix[start : start + PREDICT_BATCH_SIZE])
            if forward is not None
            else network(matrix[start : start + PREDICT_BATCH_SIZE], training=False)
        ).numpy()
        for start in range(0, len(matrix), PREDICT_BATCH_SIZE)
    ]
    return np.concatenate(chunks).astype(np.float64)


def _network_target(y_scaled: np.ndarray, loss: LossKind) -> np.ndarray:
    if loss is LossKind.ZILN:
        return y_scaled.astype(np.float32).reshape(-1, 1)
    return np.log1p(y_scaled).astype(np.float32).reshape(-1, 1)


def _build_member(
    keras: Any, config: MlpConfig, member: int, n_inputs: int, y_train: np.ndarray
) -> Any:
    """One member network with explicitly named layers (no Lambda layers: safe_mode loads it)."""
    regularizer = keras.regularizers.L2(config.l2) if config.l2 > 0 else None
    inputs = keras.Input(shape=(n_inputs,), name=f"member{member}_features")
    hidden = inputs
    for index, units in enumerate(config.hidden_layers, start=1):
        hidden = keras.layers.Dense(
            units,
            activation=None if config.batch_norm else str(config.activation),
            kernel_regularizer=regularizer,
            name=f"member{member}_dense{index}",
        )(hidden)
        if config.batch_norm:
            hidden = keras.layers.BatchNormalization(name=f"member{member}_batchnorm{index}")(
                hidden
            )
            hidden = keras.layers.Activation(
                str(config.activation), name=f"member{member}_activation{index}"
            )(hidden)
        if config.dropout_rate > 0:
            hidden = keras.layers.Dropout(
                config.dropout_rate, name=f"member{member}_dropout{index}"
            )(hidden)
    bias = _initial_output_bias(y_train, config)
    outputs = keras.layers.Dense(
        len(bias),
        kernel_regularizer=regularizer,
        bias_initializer=keras.initializers.Constant(bias),
        name=f"member{member}_output",
    )(hidden)
    return keras.Model(inputs, outputs, name=f"member_{member}")


def _initial_output_bias(y_scaled: np.ndarray, config: MlpConfig) -> list[float]:
    """Start the output at the training distribution so early epochs are not wasted."""
    if config.loss is not LossKind.ZILN:
        return [float(np.log1p(y_scaled).mean())]
    return ziln.initial_bias(y_scaled, config.sigma_max, _rank_head(config))


def _rank_head(config: MlpConfig) -> bool:
    return config.loss is LossKind.ZILN and config.rank_weight > 0


def _optimizer(keras: Any, config: MlpConfig) -> Any:
    if config.optimizer is OptimizerKind.ADAMW:
        return keras.optimizers.AdamW(learning_rate=config.learning_rate)
    if config.optimizer is OptimizerKind.SGD:
        return keras.optimizers.SGD(learning_rate=config.learning_rate, momentum=0.9)
    return keras.optimizers.Adam(learning_rate=config.learning_rate)


def _loss_function(keras: Any, config: MlpConfig) -> Any:
    if config.loss is LossKind.LOG_MSE:
        return keras.losses.MeanSquaredError()
    if config.loss is LossKind.HUBER:
        return keras.losses.Huber(delta=1.0)
    return ziln.loss(keras, config.sigma_max, config.tweedie_weight, config.rank_weight)


def _combine_members(keras: Any, config: MlpConfig, members: list[Any], n_inputs: int) -> Any:
    """One model whose output concatenates every member's raw output.

    The members are rebuilt uncompiled and given the trained weights: a compiled member would
    store its training loss (a closure, not serialisable) in model.keras, and Keras compiles
    nested models when loading them.
    """
    inputs = keras.Input(shape=(n_inputs,), name="features")
    outputs = []
    for index, member in enumerate(members):
        copy = _build_member(keras, config, index, n_inputs, np.ones(2))
        copy.set_weights(member.get_weights())
        outputs.append(copy(inputs))
    combined = (
        outputs[0]
        if len(outputs) == 1
        else keras.layers.Concatenate(axis=-1, name="members")(outputs)
    )
    return keras.Model(inputs, combined, name="clv_ensemble")


def _member_quantile(
    member: tuple[np.ndarray, np.ndarray | None, np.ndarray | None, np.ndarray | None],
    level: float,
) -> np.ndarray:
    """:func:`clv_core.ziln.quantile` of one member's (expected, p, mu, sigma)."""
    _, p_purchase, mu, sigma = member
    if p_purchase is None or mu is None or sigma is None:
        raise ValueError("quantiles need ZILN outputs")
    return ziln.quantile(p_purchase, mu, sigma, level)
