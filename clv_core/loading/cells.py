"""Cell values as every reader cleans them.

Surrounding whitespace (the non-breaking and ideographic spaces of Excel and Chinese input
methods too) is stripped and the usual missing markers (``""``, ``NA``, ``N/A``, ``NULL``, ...)
become missing values; other cell types stay as they were read.
"""

from __future__ import annotations

from typing import Final

import pyarrow as pa
import pyarrow.compute as pc

_MISSING_MARKERS: Final = ("", "NA", "N/A", "NULL", "null", "None", "nan", "NaN", "#N/A")

# Excel and Chinese input methods leave non-breaking and ideographic spaces around values.
_CELL_WHITESPACE: Final = " \t\r\n\v\f\u00a0\u2007\u202f\u3000\ufeff"


def _clean_text_array(column: pa.ChunkedArray) -> pa.ChunkedArray:
    """Strip surrounding whitespace and turn padded missing markers (" NA ") into nulls."""
    trimmed = pc.utf8_trim(column, characters=_CELL_WHITESPACE)
    # Trimming is cheap, but matching against the markers is not, so the markers are only
    # matched again when trimming changed something (exact markers are already nulls).
    changed = pc.any(pc.not_equal(pc.binary_length(trimmed), pc.binary_length(column))).as_py()
    if not changed:
        return column
    is_marker = pc.is_in(trimmed, value_set=pa.array(_MISSING_MARKERS, type=column.type))
    return pc.if_else(is_marker, pa.scalar(None, type=column.type), trimmed)


def _clean_cell(value: object) -> object:
    """Strip text cells and turn missing markers into ``None``; other types stay native."""
    if isinstance(value, str):
        stripped = value.strip(_CELL_WHITESPACE)
        return None if stripped in _MISSING_MARKERS else stripped
    return value
