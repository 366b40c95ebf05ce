"""Cached wrappers around the ``clv_core`` steps that pages call.

``st.cache_data`` keys on content (the uploaded bytes, the loaded frame, the mapping), returns a
copy to every caller and is therefore safe across sessions. Trained models are never cached here:
they stay in the session that trained them.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import streamlit as st

from clv_core.columns import ColumnMapping, detect_roles
from clv_core.intake import (
    TransactionSource,
    detect_source_roles,
)
from clv_core.limits import LoadLimits
from clv_core.loading import LoadedTable
from clv_core.validation import (
    CustomerAttributes,
    CustomerTable,
    Transactions,
    ValidationOptions,
)
from clv_ui.jobs import in_reader, read_upload

__all__ = [
    "SAMPLE_DATA",
    "ContentKey",
    "detect_mapping",
    "detect_source_mapping",
    "join_cached",
    "load_upload",
    "sample_bytes",
    "validate_customer_table_cached",
    "validate_customers_cached",
    "validate_transactions_cached",
]

SAMPLE_DATA = Path(__file__).resolve().parents[1] / "sample_data"


def sample_bytes(name: str) -> bytes:
    """The bytes of a bundled sample file (see sample_data/README.md)."""
    return (SAMPLE_DATA / name).read_bytes()


@st.cache_data(max_entries=8, show_spinner=False)
def load_upload(data: bytes, file_name: str, max_megabytes: int) -> LoadedTable:
    """Read an uploaded file in a reader process, within the server's limits.

    The file-size limit is the session's upload cap; the others are the defaults of
    :class:`~clv_core.limits.LoadLimits` or the server's environment (``CLV_MAX_ROWS``, ...).
    """
    limits = LoadLimits.from_environment(base=LoadLimits(max_bytes=max_megabytes << 20))
    return read_upload(data, file_name, limits)


def mapping_overrides(mapping: ColumnMapping) -> tuple[tuple[str, str | None], ...]:
    """A hashable form of a mapping (role -> column), for cache keys."""
    return tuple(sorted(mapping.to_dict().items()))


# The functions below take the loaded frames with a leading underscore, which Streamlit does not
# hash: a frame of 50,000 rows or more is hashed from a sample of its rows, so two files that
# differ elsewhere would share an entry. ``key`` names the content instead: the SHA-256 digest of
# each file's bytes and its name (results carry the name, in reports and messages).
ContentKey = tuple[str, ...]


@st.cache_data(max_entries=8, show_spinner=False)
def detect_mapping(
    _frame: pd.DataFrame, key: ContentKey, roles: tuple[tuple[str, str | None], ...] = ()
) -> ColumnMapping:
    """Detected column roles of a loaded table (``roles`` are set before detection)."""
    return detect_roles(_frame, overrides=dict(roles))


@st.cache_data(max_entries=8, show_spinner=False)
def detect_source_mapping(_source: TransactionSource, key: ContentKey) -> ColumnMapping:
    """Detected column roles of what validation reads (two-file exports: money from the lines)."""
    return detect_source_roles(_source)


@st.cache_data(max_entries=8, show_spinner=False)
def join_cached(
    _table: LoadedTable, _lines: LoadedTable | None, key: ContentKey
) -> TransactionSource:
    """The table to validate: the log, or the orders joined with their lines (in a reader)."""
    result: TransactionSource = in_reader("clv_core.intake:transaction_source", _table, _lines)
    return result


@st.cache_data(max_entries=8, show_spinner=False)
def validate_transactions_cached(
    _source: TransactionSource,
    key: ContentKey,
    roles: tuple[tuple[str, str | None], ...],
    options: tuple[bool, tuple[str, ...]],
) -> Transactions:
    """Validated transactions for a source and a mapping (in a reader)."""
    combine_baskets, guest_ids = options
    result: Transactions = in_reader(
        "clv_core.intake:validate_source",
        _source,
        dict(roles),
        ValidationOptions(combine_baskets=combine_baskets, guest_ids=guest_ids),
    )
    return result


@st.cache_data(max_entries=8, show_spinner=False)
def validate_customers_cached(
    _frame: pd.DataFrame, key: ContentKey, source_name: str, first_row: int = 2
) -> CustomerAttributes:
    """Validated customer attributes (in a reader)."""
    result: CustomerAttributes = in_reader(
        "clv_core.validation:validate_customers",
        _frame,
        source_name=source_name,
        first_row=first_row,
    )
    return result


@st.cache_data(max_entries=8, show_spinner=False)
def validate_customer_table_cached(
    _frame: pd.DataFrame,
    key: ContentKey,
    roles: tuple[tuple[str, str | None], ...],
    source_name: str,
    first_row: int = 2,
) -> CustomerTable:
    """A validated per-customer table with a target (in a reader)."""
    result: CustomerTable = in_reader(
        "clv_core.reader:validate_customer_table_with_roles",
        _frame,
        dict(roles),
        source_name,
        first_row,
    )
    return result
