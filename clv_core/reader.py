"""Reading uploaded tables in a worker process whose memory the kernel bounds.

The limits in :mod:`clv_core.limits` refuse oversized and hostile files while they are read.
The workbench reads every upload in a separate reader process besides: it starts with an
address-space limit (``resource.setrlimit(RLIMIT_AS)``), so even an input that slipped past
every check, or a reader library's own bug, ends that one read with an error while the server
and every other session go on.
"""

from __future__ import annotations

import os
import resource
from dataclasses import dataclass
from pathlib import Path

from clv_core.errors import DataError
from clv_core.limits import LoadLimits
from clv_core.loading import LoadedTable, load_table
from clv_core.runner import Reporter

__all__ = ["MEMORY_VARIABLE", "ReadSpec", "prepare_reader", "read_table_job"]

# The reader's address-space limit in MB, set by the server in the reader's environment.
MEMORY_VARIABLE = "CLV_READER_MEMORY_MB"


def prepare_reader() -> None:
    """A reader process's initializer: bound its address space, load the readers' libraries."""
    megabytes = int(os.environ.get(MEMORY_VARIABLE, "0") or 0)
    if megabytes > 0:
        limit = megabytes << 20
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    import openpyxl  # noqa: F401
    import pyarrow.csv
    import pyarrow.parquet  # noqa: F401


@dataclass(frozen=True, slots=True)
class ReadSpec:
    """An uploaded file to read: its bytes, its name and the limits to read it within."""

    data: bytes
    file_name: str
    limits: LoadLimits


def read_table_job(spec: ReadSpec, folder: Path | None, reporter: Reporter) -> LoadedTable:
    """The uploaded table, or a message that says why it cannot be read."""
    try:
        return load_table(spec.data, file_name=spec.file_name, limits=spec.limits)
    except MemoryError:
        megabytes = os.environ.get(MEMORY_VARIABLE, "")
        bound = f" ({megabytes} MB)" if megabytes else ""
        raise DataError(
            f"Reading '{spec.file_name}' needed more memory than a reader may use{bound}, so it "
            "was stopped. Load a smaller extract (fewer rows or columns). If the file is "
            f"genuine, raise the reader's memory with {MEMORY_VARIABLE} in the workbench "
            "server's environment, or read it with the command-line tool (python -m clv_core)."
        ) from None
