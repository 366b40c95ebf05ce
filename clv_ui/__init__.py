"""Streamlit layer of the CLV workbench: state, cached wrappers, widgets, forms and UI strings.

Besides ``app.py`` and ``pages/``, this is the only package that imports streamlit. Heavy
libraries (TensorFlow, shap) are imported lazily by ``clv_core`` when a model is trained or
explained, never when a page is first drawn.
"""
