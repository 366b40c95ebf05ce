"""DeepSHAP values of the explained graph: sampling, shap's scoped patches, batched attribution."""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd

from clv_core.errors import DataError, NotFittedError
from clv_core.explain.explanation import EXPLAINED_SPACE, ExplainSettings, Explanation
from clv_core.explain.graph import _build_explained_model
from clv_core.mlp import PREDICT_BATCH_SIZE, TENSORFLOW_LOCK, ClvMlp, import_keras

# DeepLIFT's rescale rule holds for any element-wise function of one input; shap 0.51 lacks it
# for these operations used by the expected-value graph (Log, Expm1) and by GELU (Erf, Erfc).
_ONE_INPUT_OPERATIONS = ("Log", "Expm1", "Erf", "Erfc")


# ... and has no rule for negation, which is linear (GELU computes erfc(-x / sqrt(2))).
_LINEAR_OPERATIONS = ("Neg",)


# Customer-by-background row pairs per call of the attribution graph (twice as many rows run).
_ROWS_PER_GRAPH_CALL = 4096


def explain_customers(
    model: ClvMlp,
    features: pd.DataFrame,
    background: pd.DataFrame,
    settings: ExplainSettings | None = None,
) -> Explanation:
    """Explain the predicted CLV of customers with DeepSHAP, in money, by original feature.

    Parameters
    ----------
    model
        A fitted :class:`~clv_core.mlp.ClvMlp` (trained or loaded from a bundle).
    features
        Customers to explain, one row each, indexed by unique customer id, with the model's
        feature columns (as for ``model.predict``). At most ``settings.sample_size`` of them
        are explained (a seeded sample, in input order).
    background
        Training customers' features (same columns): ``settings.background_size`` of them are
        drawn, seeded, as the reference the SHAP values are measured against.
    settings
        :class:`ExplainSettings`; defaults when omitted.

    Returns
    -------
    Explanation
        Per customer and feature SHAP values of ``predicted_clv`` (money), with
        ``base_value + sum of SHAP values == predicted_clv`` up to float32 rounding
        (``additivity_error`` says how close).

    Raises
    ------
    DataError
        No customers or no background customers, duplicate customer ids, or missing feature
        columns.
    NotFittedError
        The model is not trained.
    """
    settings = settings or ExplainSettings()
    if model.network_ is None or model.preprocessor_ is None:
        raise NotFittedError("The model is not trained yet; train it (or load a bundle) first.")
    if len(features) == 0:
        raise DataError("There are no customers to explain: the feature table is empty.")
    if len(background) == 0:
        raise DataError(
            "The background table is empty; pass the training customers' features so the "
            "explanation has a reference to compare against."
        )
    if not features.index.is_unique:
        duplicated = features.index[features.index.duplicated()].unique()
        raise DataError(
            f"Customer ids must be unique to explain them; {len(duplicated)} id(s) repeat, "
            f"for example {[str(c) for c in duplicated[:3]]}."
        )
    rng = np.random.default_rng(settings.seed)
    background_rows = _sample_rows(rng, len(background), settings.background_size)
    explained_rows = _sample_rows(rng, len(features), settings.sample_size)
    explained = features.iloc[explained_rows]
    background_matrix = model.transform_features(background.iloc[background_rows])
    matrix = model.transform_features(explained)

    owners, feature_names, categorical = _feature_groups(model)
    grouping = np.zeros((len(owners), len(feature_names)))
    grouping[np.arange(len(owners)), [feature_names.index(owner) for owner in owners]] = 1.0

    keras = import_keras()
    explained_model = _build_explained_model(keras, model)
    predictions = _predict(explained_model, matrix)
    network_values, base_value = _deep_shap(explained_model, background_matrix, matrix)
    shap_values = network_values @ grouping
    additivity_error = float(np.max(np.abs(base_value + shap_values.sum(axis=1) - predictions)))

    customer_ids = explained.index
    # The derived inputs (BG/NBD's) are features of their own, with their computed values.
    original = model.preprocessor_.with_derived(explained.rename(columns=str))
    value_columns = []
    for name in feature_names:
        column = original[name]
        if name in categorical:
            value_columns.append(column.astype(object).where(column.notna(), np.nan).to_numpy())
        else:
            value_columns.append(pd.to_numeric(column, errors="coerce").astype(object).to_numpy())
    n_customers, n_features = shap_values.shape
    values = pd.DataFrame(
        {
            "customer_id": np.repeat(customer_ids.to_numpy(dtype=object), n_features),
            "feature": np.tile(np.array(feature_names, dtype=object), n_customers),
            "feature_value": np.column_stack(value_columns).reshape(-1),
            "shap_value": shap_values.reshape(-1),
        }
    )
    return Explanation(
        values=values,
        base_value=base_value,
        predictions=pd.Series(
            predictions, index=customer_ids.rename("customer_id"), name=EXPLAINED_SPACE
        ),
        space=EXPLAINED_SPACE,
        features=tuple(feature_names),
        categorical_features=tuple(name for name in feature_names if name in categorical),
        additivity_error=additivity_error,
        background_size=len(background_rows),
        network_inputs=len(owners),
    )


def _sample_rows(rng: np.random.Generator, total: int, size: int | None) -> np.ndarray:
    """Positions of a seeded sample without replacement, in increasing order (all if fewer)."""
    if size is None or total <= size:
        return np.arange(total)
    return np.sort(rng.choice(total, size=size, replace=False))


def _feature_groups(model: ClvMlp) -> tuple[list[str], list[str], set[str]]:
    """(original feature of each network input column, feature order, categorical features)."""
    preprocessor = model.preprocessor_
    if preprocessor is None or preprocessor.numeric_ is None or preprocessor.categorical_ is None:
        raise NotFittedError("The model is not trained yet; train it (or load a bundle) first.")
    owners = preprocessor.feature_owners_
    categorical = preprocessor.categorical_
    inputs = preprocessor.input_columns_
    # Show features in the order of the training table when it is known.
    order = [name for name in (model.feature_columns_ or []) if name in inputs]
    order += [name for name in [*inputs, *preprocessor.derived_] if name not in order]
    return owners, order, {column.name for column in categorical}


def _predict(explained_model: Any, matrix: np.ndarray) -> np.ndarray:
    chunks = [
        explained_model([matrix[start : start + PREDICT_BATCH_SIZE]], training=False).numpy()
        for start in range(0, len(matrix), PREDICT_BATCH_SIZE)
    ]
    return np.concatenate(chunks).reshape(-1).astype(np.float64)


@contextlib.contextmanager
def _shap_patched(deep_tf: Any, tf_execute: Any) -> Iterator[None]:
    """shap's DeepLIFT rules for the operations the explained model uses, only while it runs.

    The rules shap lacks are added to its process-wide ``op_handlers`` and removed afterwards.
    shap also replaces TensorFlow's eager gradient recorder while it runs and puts it back only
    when nothing fails; after an error every later gradient (training included) would fail, so
    it is put back here whatever happens.
    """
    added = []
    for operation in (*_ONE_INPUT_OPERATIONS, *_LINEAR_OPERATIONS):
        if operation not in deep_tf.op_handlers:
            added.append(operation)
            deep_tf.op_handlers[operation] = (
                deep_tf.nonlinearity_1d(0)
                if operation in _ONE_INPUT_OPERATIONS
                else deep_tf.passthrough
            )
    record_gradient = tf_execute.record_gradient
    try:
        yield
    finally:
        tf_execute.record_gradient = record_gradient
        for operation in added:
            deep_tf.op_handlers.pop(operation, None)


def _deep_shap(
    explained_model: Any, background_matrix: np.ndarray, matrix: np.ndarray
) -> tuple[np.ndarray, float]:
    """DeepSHAP values per network input column, shape (customers, inputs), and base value."""
    import shap
    from shap.explainers._deep import deep_tf
    from tensorflow.python.eager import execute as tf_execute

    # shap.DeepExplainer swaps entries of TensorFlow's process-wide gradient registry while it
    # runs; explanations and trainings are serialised by TENSORFLOW_LOCK (see mlp.py).
    with TENSORFLOW_LOCK, warnings.catch_warnings(), _shap_patched(deep_tf, tf_execute):
        # shap warns that TensorFlow 2.4+ dropped graph support; the eager path used here works.
        warnings.filterwarnings("ignore", message="Your TensorFlow version is newer")
        explainer = shap.DeepExplainer(explained_model, background_matrix)
        values = _batched_shap_values(explainer.explainer, background_matrix, matrix)
        if values is None:
            values = _as_customer_by_input(explainer.shap_values(matrix, check_additivity=False))
    base_value = float(np.asarray(explainer.expected_value, dtype=np.float64).reshape(-1)[0])
    return values, base_value


def _batched_shap_values(
    deep: Any, background_matrix: np.ndarray, matrix: np.ndarray
) -> np.ndarray | None:
    """DeepSHAP values for many customers per graph call; None if shap lacks the means.

    ``DeepExplainer.shap_values`` runs its attribution graph once per customer, on that
    customer's row repeated against every background row (first half of the batch) and the
    background rows (second half). Every DeepLIFT rule in the graph pairs row *i* of the first
    half with row *i* of the second half, so the rows of several customers can share one call:
    the result is the same, several times faster (most of the cost is per call, not per row).
    The multipliers come from shap's own graph (``phi_symbolic``/``run`` of its TensorFlow
    explainer); with a shap version without them the caller falls back to ``shap_values``.
    """
    if not all(hasattr(deep, name) for name in ("phi_symbolic", "run", "model_inputs")):
        return None
    graph = deep.phi_symbolic(0)
    n_background = len(background_matrix)
    per_call = max(1, _ROWS_PER_GRAPH_CALL // n_background)
    references = np.tile(background_matrix, (per_call, 1))
    differences_shape = (per_call, n_background, matrix.shape[1])
    values = np.empty(matrix.shape, dtype=np.float64)
    for start in range(0, len(matrix), per_call):
        # The last call is padded with its last customer: one input shape, one graph trace.
        rows = np.minimum(np.arange(start, start + per_call), len(matrix) - 1)
        customers = np.repeat(matrix[rows], n_background, axis=0)
        outputs = deep.run(graph, deep.model_inputs, [np.concatenate([customers, references])])
        multipliers = np.asarray(outputs[0], dtype=np.float64)[len(customers) :]
        differences = customers.astype(np.float64) - references
        phi = (multipliers * differences).reshape(differences_shape).mean(axis=1)
        kept = min(per_call, len(matrix) - start)
        values[start : start + kept] = phi[:kept]
    return values


def _as_customer_by_input(raw: Any) -> np.ndarray:
    values = np.asarray(raw, dtype=np.float64)
    # shap 0.51 returns (customers, inputs, outputs); older versions a list per output.
    if values.ndim == 3 and values.shape[-1] == 1:
        return values[..., 0]
    if values.ndim == 3 and values.shape[0] == 1:
        return values[0]
    return values
