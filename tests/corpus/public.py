"""Public data a package ships, for tests and benchmarks (no download)."""

from __future__ import annotations

import importlib.util
from pathlib import Path


def _lifetimes_dataset(name: str) -> Path:
    """A file of the datasets folder inside the ``lifetimes`` wheel, found without importing
    lifetimes: its import sets a global pandas option, which would leak into everything else
    run in the same process."""
    spec = importlib.util.find_spec("lifetimes")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(
            "The package lifetimes is not installed: pip install -r requirements.txt"
        )
    return Path(spec.submodule_search_locations[0]) / "datasets" / name


# CDNOW (23,570 customers, 1997-01 to 1998-06), as lifetimes ships it.
CDNOW_PATH = _lifetimes_dataset("CDNOW_master.txt")
