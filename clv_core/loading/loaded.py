"""What every reader returns: :class:`LoadedTable`.

The data rows of a table file, with what was detected (format, encoding, delimiter, sheet, the
row of the column names) and a note for each thing the reader changed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import pandas as pd

FileFormat = Literal["csv", "xlsx", "parquet"]


# eq=False: the generated __eq__ would compare DataFrames element-wise and fail; a loaded table
# is compared by identity (tests compare the frames themselves).
@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class LoadedTable:
    """A table read from a user's file, with what was detected and what was changed.

    Attributes
    ----------
    frame
        The data rows with a ``RangeIndex``: data row ``i`` is spreadsheet row
        ``first_data_row + i`` (the row below the column names; row 2 unless title rows were
        skipped). Text formats hold strings (missing cells are NaN); workbooks and Parquet
        files keep their native types.
    source_name
        The file name shown in messages.
    file_format
        ``"csv"`` for any delimited text (csv/tsv/txt, gzip-compressed too), ``"xlsx"`` or
        ``"parquet"``.
    encoding
        The detected text encoding (for example ``"utf-8"``, ``"utf-8-sig"``, ``"gb18030"``,
        ``"utf-16"``, ``"cp1252"``); ``None`` for workbooks and Parquet files.
    delimiter
        ``","``, ``";"``, ``"\\t"``, ``"|"`` or ``"whitespace"``; ``None`` for workbooks and
        Parquet files.
    sheet_name
        The sheet that was read (workbooks only).
    notes
        What the loader changed, one sentence each, to show to the analyst.
    header_row
        The 1-based spreadsheet row (for text: line) that holds the column names; above 1 when
        title rows were skipped. Always 1 for Parquet files.
    """

    frame: pd.DataFrame
    source_name: str
    file_format: FileFormat
    encoding: str | None
    delimiter: str | None
    sheet_name: str | None
    notes: tuple[str, ...]
    header_row: int = 1

    @property
    def n_rows(self) -> int:
        """The number of data rows (the header row is not counted)."""
        return len(self.frame)

    @property
    def first_data_row(self) -> int:
        """The spreadsheet row of data row 0, the row below the column names."""
        return self.header_row + 1
