"""The explained graph: ``predicted_clv`` of a fitted network as one Keras model output.

The ZILN expected value (:mod:`clv_core.ziln`), the ensemble mean, the scaling back to money and
the calibration are written in Keras operations around ``model.network_``, so DeepSHAP explains
exactly what :meth:`ClvMlp.predict <clv_core.mlp.ClvMlp.predict>` returns. Nothing of it is
saved.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from clv_core import ziln
from clv_core.calibration import TIE_BREAK_SLOPE, MonotoneCalibrator, PowerCalibrator
from clv_core.config import LossKind
from clv_core.errors import NotFittedError
from clv_core.mlp import ClvMlp

# log(raw) is taken of max(raw, _LOG_FLOOR): only the log-target losses can give raw == 0, and
# there the explained value is at most exp(intercept) * 1e-300**exponent instead of 0.
_LOG_FLOOR = 1e-300


# Activations whose TensorFlow kernel carries a custom gradient (tf.nn.silu): DeepExplainer
# would see one opaque operation and use its plain gradient, so the network is explained
# through a copy that writes them out as x * sigmoid(x).
_OPAQUE_ACTIVATIONS = frozenset({"silu", "swish"})


@dataclass(frozen=True, slots=True)
class _CalibrationGraph:
    """Constants of the calibration as it is rebuilt in the explained graph."""

    kind: Literal["none", "power", "isotonic", "proportional"]
    intercept: float = 0.0
    exponent: float = 1.0
    # Isotonic map: value = first_y + sum(hinge_weights * relu(t(raw) - hinge_points))
    #                       - below_ratio * relu(first_x - raw) + above_ratio * relu(raw - last_x)
    #                       + slope * raw, where t is the identity (linear interpolation) or
    #                       log1p (bundles from before it).
    log_points: bool = False
    # Applied to each member's expected value, then averaged (False: to the ensemble mean).
    per_member: bool = False
    first_y: float = 0.0
    hinge_points: tuple[float, ...] = ()
    hinge_weights: tuple[float, ...] = ()
    first_x: float = 0.0
    below_ratio: float = 0.0
    last_x: float = 0.0
    above_ratio: float = 0.0
    slope: float = 0.0


def _calibration_graph(
    calibrator: PowerCalibrator | MonotoneCalibrator | None,
) -> _CalibrationGraph:
    """Translate a fitted calibration into constants of operations DeepExplainer handles.

    The isotonic map of :class:`~clv_core.calibration.MonotoneCalibrator` is ``np.interp`` in
    money (or in ``log1p(raw)``) between knots, flat beyond them, with the ends replaced by
    proportional maps and a tiny slope added; a piecewise-linear function is a constant plus ReLU
    hinges, one per knot, whose weights are the changes of slope.
    """
    if calibrator is None:
        return _CalibrationGraph(kind="none")
    per_member = calibrator.per_member
    if isinstance(calibrator, PowerCalibrator):
        if calibrator.intercept_ is None or calibrator.exponent_ is None:
            raise NotFittedError("The calibration is not fitted yet; call fit first.")
        return _CalibrationGraph(
            kind="power",
            intercept=calibrator.intercept_,
            exponent=calibrator.exponent_,
            per_member=per_member,
        )
    if calibrator.knots_x_ is None or calibrator.knots_y_ is None:
        raise NotFittedError("The calibration is not fitted yet; call fit first.")
    x = np.asarray(calibrator.knots_x_, dtype=np.float64)
    y = np.asarray(calibrator.knots_y_, dtype=np.float64)
    if x.size == 1:
        ratio = float(y[0] / x[0]) if x[0] > 0 else 0.0
        return _CalibrationGraph(
            kind="proportional", slope=ratio + TIE_BREAK_SLOPE, per_member=per_member
        )
    log_points = calibrator.interpolation == "log1p"
    points = np.log1p(x) if log_points else x
    widths = np.diff(points)
    slopes = np.divide(np.diff(y), widths, out=np.zeros_like(widths), where=widths > 0)
    # Slope after knot k is slopes[k]; it is 0 after the last knot.
    weights = np.diff(np.concatenate([[0.0], slopes, [0.0]]))
    return _CalibrationGraph(
        kind="isotonic",
        first_y=float(y[0]),
        hinge_points=tuple(float(p) for p in points),
        hinge_weights=tuple(float(w) for w in weights),
        first_x=float(x[0]),
        below_ratio=float(y[0] / x[0]) if x[0] > 0 else 0.0,
        last_x=float(x[-1]),
        above_ratio=float(y[-1] / x[-1]) if x[-1] > 0 else 0.0,
        slope=TIE_BREAK_SLOPE,
        log_points=log_points,
        per_member=per_member,
    )


def _build_explained_model(keras: Any, model: ClvMlp) -> Any:
    """A Keras model ``network input matrix -> predicted_clv`` (money), shape (n, 1).

    Built in memory for one explanation, never saved. The network runs in float32 as in
    ``predict``; everything after it in float64, as ``predict`` does in numpy, so the output
    equals ``predict(...)["predicted_clv"]`` to ~1e-12 relative. Only operations with a DeepLIFT
    rule in shap are used (Sigmoid, Exp, Square, Minimum, Maximum, Relu, Mul, MatMul, ClipByValue,
    plus the one-input rule registered for Log and Expm1).
    """
    config = model.config
    scale = model.target_scale_
    if model.network_ is None or scale is None:
        raise NotFittedError("The model is not trained yet; train it (or load a bundle) first.")
    network = _network_for_deep_shap(keras, model.network_)
    outputs = model.outputs_per_member
    members = int(np.prod(network.output_shape[1:])) // outputs
    is_ziln = config.loss is LossKind.ZILN
    rank_maps = model.rank_maps_ if model.rank_head else None
    calibration = _calibration_graph(model.calibrator_)
    # The ensemble mean in money: sum over members times scale / members.
    money_per_unit = scale / members
    ops = keras.ops

    class ExpectedClv(keras.layers.Layer):
        """Ensemble-mean expected value of the network's outputs, in money, calibrated."""

        def __init__(self, **kwargs: Any) -> None:
            super().__init__(dtype="float64", autocast=False, **kwargs)
            self.network = network

        def compute_output_shape(self, input_shape: tuple[int | None, ...]) -> tuple[Any, ...]:
            return (input_shape[0], 1)

        def compute_output_spec(self, inputs: Any) -> Any:
            # Declared rather than traced, so building this model adds no node to the network.
            return keras.KerasTensor((inputs.shape[0], 1), dtype="float64")

        def call(self, inputs: Any) -> Any:
            raw = ops.cast(self.network(inputs, training=False), "float64")
            expected = [member_expected(raw, member) for member in range(members)]
            if calibration.per_member:
                calibrated = [_apply_calibration(ops, calibration, e * scale) for e in expected]
                return sum(calibrated[1:], calibrated[0]) / members
            money = sum(expected[1:], expected[0]) * money_per_unit
            return _apply_calibration(ops, calibration, money)

    def member_expected(raw: Any, member: int) -> Any:
        """One member's expected value in scaled units, as in ``raw_to_distribution``; with a
        calibration its ordering score, which the calibration maps to money (as ``predict``)."""
        start = member * outputs
        if not is_ziln:
            return ops.relu(ops.expm1(ops.minimum(raw[:, start : start + 1], ziln.EXP_CLAMP)))
        own = raw[:, start : start + outputs]
        if rank_maps is not None:
            expected = ziln.rank_map_ops(ops, own, config.sigma_max, rank_maps[member])
        else:
            expected = ziln.expected_value_ops(ops, own, config.sigma_max)
        if calibration.kind == "none":
            return expected
        return ziln.moment_ops(ops, expected, own, config.sigma_max, config.ranking_moment)

    inputs = keras.Input(shape=(network.input_shape[-1],), name="explained_features")
    output = ExpectedClv(name="expected_clv")(inputs)
    # A list of inputs, because shap passes the data as a list: the structures then match.
    return keras.Model([inputs], output, name="explained_clv")


def _network_for_deep_shap(keras: Any, network: Any) -> Any:
    """The network itself, or a copy with SiLU written out as ``x * sigmoid(x)`` (same weights).

    Only a network with SiLU ("swish") activations is copied; the copy lives as long as the
    explanation.
    """

    def activation_name(layer: Any) -> object:
        return layer.get_config().get("activation") if hasattr(layer, "activation") else None

    if not any(activation_name(layer) in _OPAQUE_ACTIVATIONS for layer in _layers(network)):
        return network

    def silu(x: Any) -> Any:
        return x * keras.ops.sigmoid(x)

    def clone(layer: Any) -> Any:
        config = layer.get_config()
        if config.get("activation") in _OPAQUE_ACTIVATIONS:
            config["activation"] = silu
        return layer.__class__.from_config(config)

    copy = keras.models.clone_model(network, clone_function=clone, recursive=True)
    copy.set_weights(network.get_weights())
    return copy


def _layers(network: Any) -> list[Any]:
    """Every layer of a model, nested models' layers included."""
    found = []
    for layer in network.layers:
        found.append(layer)
        if hasattr(layer, "layers"):
            found += _layers(layer)
    return found


def _apply_calibration(ops: Any, calibration: _CalibrationGraph, money: Any) -> Any:
    if calibration.kind == "none":
        return money
    if calibration.kind == "proportional":
        return money * calibration.slope
    if calibration.kind == "power":
        log_money = ops.log(ops.maximum(money, _LOG_FLOOR))
        linear = calibration.intercept + calibration.exponent * log_money
        return ops.exp(ops.clip(linear, -50.0, 50.0))
    points = np.asarray(calibration.hinge_points, dtype=np.float64).reshape(1, -1)
    weights = np.asarray(calibration.hinge_weights, dtype=np.float64).reshape(-1, 1)
    hinges = ops.relu((ops.log(money + 1.0) if calibration.log_points else money) - points)
    value = calibration.first_y + ops.matmul(hinges, weights)
    if calibration.first_x > 0:
        value = value - calibration.below_ratio * ops.relu(calibration.first_x - money)
    if calibration.last_x > 0:
        value = value + calibration.above_ratio * ops.relu(money - calibration.last_x)
    return value + calibration.slope * money
