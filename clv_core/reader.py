"""Reading uploaded tables in a worker process whose memory the kernel bounds.

The limits in :mod:`clv_core.limits` refuse oversized and hostile files while they are read.
The workbench reads every upload in a separate reader process besides, and joins and validates
it there too: the process starts with an address-space limit
(``resource.setrlimit(RLIMIT_AS)``), so even an input that slipped past every check, or a
reader library's own bug, ends that one step with an error while the server and every other
session go on.
"""

from __future__ import annotations

import importlib
import os
import resource
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from clv_core.columns import detect_roles
from clv_core.errors import ConfigError, DataError
from clv_core.limits import LoadLimits
from clv_core.loading import LoadedTable, load_table
from clv_core.loading.encoding import out_of_memory
from clv_core.runner import Reporter, SpentWorker
from clv_core.validation import CustomerTable, validate_customer_table

__all__ = [
    "MEMORY_VARIABLE",
    "READER_CALLS",
    "CallSpec",
    "ReadSpec",
    "call_job",
    "prepare_reader",
    "read_table_job",
]

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
        raise _out_of_memory(f"Reading '{spec.file_name}'") from None
    except Exception as error:
        # Under the address-space bound an allocation can fail anywhere, worded by whichever
        # library made it (a thread that cannot start, a malloc in Arrow): still memory.
        if out_of_memory(error):
            raise _out_of_memory(f"Reading '{spec.file_name}'") from None
        raise


# The steps after reading that the workbench runs in a reader too: joining a two-file export
# (a join on repeated order ids can multiply rows) and validating (its working memory is
# several times the table's).
READER_CALLS = frozenset(
    {
        "clv_core.intake:transaction_source",
        "clv_core.intake:validate_source",
        "clv_core.validation:validate_customers",
        "clv_core.reader:validate_customer_table_with_roles",
    }
)


@dataclass(frozen=True, slots=True)
class CallSpec:
    """One of :data:`READER_CALLS` with its arguments (loaded tables, mappings, options)."""

    target: str
    args: tuple[Any, ...]
    kwargs: dict[str, Any]


def call_job(spec: CallSpec, folder: Path | None, reporter: Reporter) -> Any:
    """Run one of :data:`READER_CALLS` in this reader; a message when it runs out of memory."""
    if spec.target not in READER_CALLS:
        raise ConfigError(f"{spec.target!r} is not a step the readers run.")
    module_name, _, function_name = spec.target.partition(":")
    function = getattr(importlib.import_module(module_name), function_name)
    try:
        return function(*spec.args, **spec.kwargs)
    except MemoryError:
        raise _out_of_memory("Checking the table") from None


def validate_customer_table_with_roles(
    frame: pd.DataFrame, roles: dict[str, str | None], source_name: str, first_row: int = 2
) -> CustomerTable:
    """Detect a per-customer table's roles (``roles`` set first) and validate it."""
    mapping = detect_roles(frame, overrides=roles)
    return validate_customer_table(frame, mapping, source_name=source_name, first_row=first_row)


class ReaderOutOfMemory(DataError, SpentWorker):
    """A read or check that ran out of the reader's memory (the reader is then replaced)."""


def _out_of_memory(what: str) -> DataError:
    megabytes = os.environ.get(MEMORY_VARIABLE, "")
    bound = f" ({megabytes} MB)" if megabytes else ""
    return ReaderOutOfMemory(
        f"{what} needed more memory than a reader may use{bound}, so it was stopped. Load a "
        "smaller extract (fewer rows or columns). If the file is genuine, raise the reader's "
        f"memory with {MEMORY_VARIABLE} in the workbench server's environment, or use the "
        "command-line tool (python -m clv_core)."
    )
