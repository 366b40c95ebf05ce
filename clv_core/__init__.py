"""clv_core: the engine of the CLV workbench.

A plain, typed library: load and validate customer data, build leak-free features and labels,
train and evaluate CLV models, explain and segment. It never imports streamlit and does no work
at import time; TensorFlow and SHAP are imported only by the functions that need them.
The command line lives in :mod:`clv_core.cli` (``python -m clv_core --help``).
"""

__version__ = "0.1.0"
