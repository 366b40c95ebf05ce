"""Cell values as every reader cleans them.

Surrounding whitespace (the non-breaking and ideographic spaces of Excel and Chinese input
methods too) is stripped and the usual missing markers (``""``, ``NA``, ``N/A``, ``NULL``, ...)
become missing values; other cell types stay as they were read.
"""

from __future__ import annotations

from typing import Final

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

_MISSING_MARKERS: Final = ("", "NA", "N/A", "NULL", "null", "None", "nan", "NaN", "#N/A")

# Excel and Chinese input methods leave non-breaking and ideographic spaces around values.
_CELL_WHITESPACE: Final = " \t\r\n\v\f\u00a0\u2007\u202f\u3000\ufeff"


def may_have_edge(column: pa.ChunkedArray | pa.Array, characters: str) -> bool:
    """Whether some cell of a text column might start or end with one of ``characters``.

    ``False`` is certain: no cell's first byte is the first byte of one of the characters'
    UTF-8 encodings, and no cell's last byte the last byte of one. It reads two bytes per cell
    from the Arrow buffers, so a column that needs no trimming (nearly every column) is known
    as such without building a trimmed copy. Anything but plain Arrow strings gives ``True``.
    """
    encoded = [character.encode("utf-8") for character in characters]
    starts = np.zeros(256, dtype=bool)
    ends = np.zeros(256, dtype=bool)
    starts[[code[0] for code in encoded]] = True
    ends[[code[-1] for code in encoded]] = True
    chunks = column.chunks if isinstance(column, pa.ChunkedArray) else [column]
    for chunk in chunks:
        if pa.types.is_string(chunk.type):
            offset_type: type[np.signedinteger] = np.int32
        elif pa.types.is_large_string(chunk.type):
            offset_type = np.int64
        else:
            return True
        if not len(chunk):
            continue
        _, offsets_buffer, data_buffer = chunk.buffers()
        if data_buffer is None or data_buffer.size == 0:
            continue
        offsets = np.frombuffer(offsets_buffer, dtype=offset_type)
        offsets = offsets[chunk.offset : chunk.offset + len(chunk) + 1]
        data = np.frombuffer(data_buffer, dtype=np.uint8)
        first, after = offsets[:-1], offsets[1:]
        filled = after > first
        if chunk.null_count:
            filled &= chunk.is_valid().to_numpy(zero_copy_only=False)
        if starts[data[first[filled]]].any() or ends[data[after[filled] - 1]].any():
            return True
    return False


def _clean_text_array(column: pa.ChunkedArray) -> pa.ChunkedArray:
    """Strip surrounding whitespace and turn padded missing markers (" NA ") into nulls."""
    if not may_have_edge(column, _CELL_WHITESPACE):
        return column
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
