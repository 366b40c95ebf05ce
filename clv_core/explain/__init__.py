"""SHAP explanations of the CLV network's predicted customer lifetime value.

What is explained
-----------------
The quantity explained is exactly what :meth:`ClvMlp.predict <clv_core.mlp.ClvMlp.predict>`
returns as ``predicted_clv``: the calibrated expected net spend over the horizon, in money.
It is a derived quantity (for ZILN, ``P(buy) * exp(mu + sigma**2 / 2)`` per member, averaged
over the ensemble, scaled back to money and calibrated), so an in-memory Keras model is built
around ``model.network_`` whose single output is that value. Nothing of it is ever saved.

The SHAP values are DeepSHAP values (Lundberg & Lee 2017, "A Unified Approach to Interpreting
Model Predictions"; DeepLIFT rescale rule of Shrikumar, Greenside & Kundaje 2017, with Shapley
values for multiplications of two varying terms), computed by ``shap.DeepExplainer`` against a
seeded background sample of training customers. They add up *exactly* in money:

    ``base_value + sum of a customer's SHAP values == predicted_clv``  (to float32 rounding)

where ``base_value`` is the mean ``predicted_clv`` of the background customers. The
calibration is part of the explained graph: the power calibration
``exp(intercept) * raw**exponent`` as ``exp(intercept + exponent * log(raw))`` and the
isotonic map as a sum of ReLU hinges in money (in ``log1p(raw)`` for bundles from before linear
interpolation), each applied to every member's expected value before the average as ``predict``
does, so nothing is approximated after the network. ``shap`` 0.51 has no DeepLIFT rule for
``Log`` and ``Expm1`` (used here) nor for ``Erf``/``Erfc``/``Neg`` (GELU); every element-wise
function of one input takes the rescale rule and negation is linear, so those rules are
registered with shap before explaining (without them DeepExplainer refuses the graph). SiLU
("swish") hides its maths behind a custom gradient, so a network using it is explained through
a same-weights copy that writes it as ``x * sigmoid(x)``. With every activation of
:class:`~clv_core.config.Activation`, batch normalisation, every loss and every calibration, the
explanation is exact.

SHAP values are computed for the network's input columns and then summed back to the features
an analyst knows: a numeric feature gets its standardised column plus its ``__missing``
indicator, a categorical feature the sum over all its one-hot columns. The sum of SHAP values is
unchanged by this grouping, so additivity holds for the original features as well.

Speed: about 2 seconds, and up to 4.5 for the first call in a process (which imports shap),
for 1,000 customers against 200 background customers with the default 5-member network on two
CPU cores (``benchmarks/explain_benchmark.py``); many customers share each call of shap's
attribution graph (see ``_batched_shap_values`` in ``deep.py``). TensorFlow and SHAP are
imported only when :func:`explain_customers` runs. The figures of an explanation are drawn by
the workbench (``clv_ui.charts``) and its words come from :mod:`clv_core.catalogue`; no
matplotlib anywhere.

Where things are: ``explanation.py`` holds :class:`ExplainSettings` and :class:`Explanation`
(the result, and its tables: importance, dependence, drivers); ``graph.py`` builds the explained
Keras graph around the network; ``deep.py`` runs DeepSHAP on it (:func:`explain_customers`).

Threads: while it explains, shap swaps entries of TensorFlow's process-wide gradient registry.
Explanations are therefore serialised by a lock, and no network should be *trained* in another
thread at the same moment (a training step traced then would get shap's gradients).
"""

from __future__ import annotations

from clv_core.explain.deep import explain_customers
from clv_core.explain.explanation import EXPLAINED_SPACE, ExplainSettings, Explanation

__all__ = [
    "EXPLAINED_SPACE",
    "ExplainSettings",
    "Explanation",
    "explain_customers",
]
