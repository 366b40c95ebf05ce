"""Transaction validation as SQL (DuckDB or Spark), with the pandas reference's row accounting.

:func:`validate_in_sql` runs :func:`clv_core.validation.validate_transactions` for the
common shape of a log (one spend column, ISO dates or native timestamps, plain numbers or native
numbers; an order id, extra columns, guests, duplicates, missing and future cells allowed) as
queries over a relation ``raw`` and leaves the clean orders in a table ``orders`` that the
feature and label SQL of :mod:`clv_core.sql` read directly. The report (counts by reason, the
example rows, the warnings, the summary) and the money check equal the reference's; a test
compares them on logs with every reason in them.

Everything the SQL does not cover, :func:`lane_problem` names, and the caller falls back to the
pandas reference: quantity x unit price, discounts, order statuses, currencies, two-file exports,
order-level cells left empty on an order's other lines, dates in other forms than
``YYYY-MM-DD[ HH:MM[:SS[.ffffff]]]`` and amounts written with currency signs, separators or
exponents (the Python parsers clean those).

The SQL is written once in DuckDB's dialect, kept to what ``sqlglot`` translates to Spark SQL;
:mod:`clv_core.sql.runner` runs it on either engine.

``raw`` has the columns ``c0 .. c{k}`` (the table's columns in order, as text from a CSV or
native types from Parquet) and ``__row`` (the row's 0-based position in the file).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from clv_core.columns import ColumnMapping
from clv_core.errors import DataError
from clv_core.issues import RowIssue
from clv_core.limits import LoadLimits
from clv_core.loading.cells import _CELL_WHITESPACE, _MISSING_MARKERS, may_have_edge
from clv_core.loading.plain import PlainCsv
from clv_core.money import MoneyCheck, MoneyTotals, assess_money
from clv_core.sql.runner import DuckDBRunner, SqlRunner
from clv_core.validation.checks import (
    _CANCELLATION_FIRST_CHARACTERS,
    _CANCELLATION_MAX_SHARE,
    _EARLIEST_PLAUSIBLE_DATE,
    _PLACEHOLDER_MIN_ROWS,
    _PLACEHOLDER_TIMES_MEDIAN,
    GUEST_PLACEHOLDERS,
    NUMERIC_GUEST_PLACEHOLDERS,
    _duplicates_warning,
)
from clv_core.validation.options import ValidationOptions
from clv_core.validation.orders import _total_repeats_on_lines
from clv_core.validation.report import ValidationReport, _Accounting
from clv_core.validation.transactions import _check_rows_used, _refunds_warning

__all__ = [
    "SqlSource",
    "lane_problem",
    "mapped_columns",
    "register_csv",
    "register_frame",
    "register_parquet",
    "validate_in_sql",
    "with_facts",
]

# The characters Python's str.strip() removes (what the reference strips from ids and cells).
_WHITESPACE = "".join(chr(code) for code in range(0x3001) if chr(code).isspace())
# Forms validation accepts (groups do not capture: the engines only ask whether a cell matches).
_ISO_DATE = r"[0-9]{4}-[0-9]{2}-[0-9]{2}(?:[ T][0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]{1,6})?)?)?"
_PLAIN_NUMBER = r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)"
# pandas keeps nanosecond timestamps, which end in 2262.
_TIMESTAMP_RANGE = ("1678-01-02", "2262-04-10")
_TEXT_TYPES = {"VARCHAR"}
_INTEGER_TYPES = {"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "UTINYINT", "USMALLINT", "UINTEGER"}
_FLOAT_TYPES = {"FLOAT", "DOUBLE"}
_TIMESTAMP_TYPES = {"TIMESTAMP", "TIMESTAMP_S", "TIMESTAMP_MS", "TIMESTAMP_NS"}
_LARGEST_DOUBLE = "1.7976931348623157e308"
_SAMPLE_ROWS = 50_000
_EXAMPLES = 3


@dataclass(frozen=True, slots=True)
class SqlSource:
    """The loaded table as the relation ``raw`` of a SQL engine (:mod:`clv_core.sql.runner`).

    ``columns`` are the table's column names in order (``raw`` names them ``c0 ..``),
    ``types`` their DuckDB type names; ``frame`` is the loaded pandas table when there is one
    (its rows serve the examples and the money check), else those rows are read from ``raw``.
    ``padded`` names the text columns with cells that need stripping (:func:`with_padding`).
    """

    runner: SqlRunner
    columns: tuple[str, ...]
    types: tuple[str, ...]
    n_rows: int
    frame: pd.DataFrame | None = None
    padded: frozenset[str] = frozenset()
    facts: Mapping[str, Any] = field(default_factory=dict)
    # Per column, whether a cell starts or ends with whitespace, when the reader found out.
    edges: Mapping[str, bool] | None = None
    # The first rows read from ``raw``, read once (role detection, the money check and the
    # examples all start there).
    head: list[pd.DataFrame] = field(default_factory=list, compare=False, repr=False)

    def name(self, column: str) -> str:
        """The ``raw`` name of a table column."""
        return f"c{self.columns.index(column)}"

    def kind(self, column: str) -> str:
        """The DuckDB type of a table column, without its precision."""
        return self.types[self.columns.index(column)].split("(")[0]

    def rows(self, positions: Sequence[int], columns: Sequence[str] | None = None) -> pd.DataFrame:
        """The rows at ``positions`` (ascending), with the table's column names."""
        import pyarrow as pa

        names = list(self.columns if columns is None else columns)
        positions = list(positions)
        if self.frame is not None:
            if positions and positions == list(range(positions[0], positions[-1] + 1)):
                # Consecutive rows (the head of a table, the first used lines of a clean one):
                # a slice, not a gather of every column.
                return self.frame[names].iloc[positions[0] : positions[-1] + 1]
            return self.frame[names].iloc[positions]
        if not positions:
            return pd.DataFrame({name: pd.Series(dtype=object) for name in names})
        if positions == list(range(positions[0], positions[-1] + 1)):
            # Consecutive rows: a range the engine reads without joining every row.
            first, last = int(positions[0]), int(positions[-1])
            if self.head and last < len(self.head[0]):
                return self.head[0][names].iloc[first : last + 1].reset_index(drop=True)
            every = ", ".join(self.name(name) for name in self.columns)
            rows = self.runner.frame(
                f"SELECT {every} FROM raw WHERE __row BETWEEN {first} AND {last} ORDER BY __row"
            )
            rows.columns = list(self.columns)
            if first == 0:
                self.head[:] = [rows]
            return rows[names]
        selected = ", ".join(f"{self.name(name)} AS x{index}" for index, name in enumerate(names))
        wanted = pa.table({"__row": pa.array(np.asarray(positions, dtype=np.int64))})
        self.runner.register("wanted_rows", wanted)
        try:
            rows = self.runner.frame(
                f"SELECT {selected} FROM raw JOIN wanted_rows USING (__row) ORDER BY __row"
            )
        finally:
            self.runner.drop("wanted_rows")
        rows.columns = names
        return rows


def register_frame(runner: SqlRunner, frame: pd.DataFrame) -> SqlSource:
    """Register a loaded pandas table as ``raw`` (Arrow columns, no copy of the text)."""
    import pyarrow as pa

    arrays = [pa.array(frame[column], from_pandas=True) for column in frame.columns]
    arrays.append(pa.array(np.arange(len(frame), dtype=np.int64)))
    names = [f"c{index}" for index in range(frame.shape[1])] + ["__row"]
    table = pa.Table.from_arrays(arrays, names=names)
    runner.register("raw", table)
    types = tuple(arrow_type_name(field.type) for field in table.schema)[:-1]
    return SqlSource(runner, tuple(map(str, frame.columns)), types, len(frame), frame)


def register_parquet(runner: DuckDBRunner, path: str, columns: Sequence[str]) -> SqlSource:
    """Register a Parquet file (or glob) as ``raw``, read by DuckDB as it streams.

    The rows of a glob's files are numbered one file after another, the files in name order
    (as DuckDB reads them): each file's row numbers start again at 0, so a file's rows follow
    the rows of the files before it.
    """
    import pyarrow as pa

    escaped = path.replace("'", "''")
    selected = ", ".join(
        f'r."{column.replace(chr(34), chr(34) * 2)}" AS c{index}'
        for index, column in enumerate(columns)
    )
    files = _parquet_files(runner, path, columns)
    if len(files) > 1:
        counts = np.array([int(count) for _, count in files], dtype=np.int64)
        offsets = np.concatenate([[0], np.cumsum(counts)[:-1]])
        runner.register(
            "raw_files",
            pa.table({"file_name": [str(name) for name, _ in files], "file_offset": offsets}),
        )
        runner.connection.execute(
            f"CREATE VIEW raw AS SELECT {selected}, o.file_offset + r.file_row_number AS __row "
            f"FROM read_parquet('{escaped}', file_row_number = true, filename = '__file') AS r "
            "JOIN raw_files AS o ON o.file_name = r.__file"
        )
    else:
        runner.connection.execute(
            f"CREATE VIEW raw AS SELECT {selected}, r.file_row_number AS __row "
            f"FROM read_parquet('{escaped}', file_row_number = true) AS r"
        )
    n_rows = int(runner.rows("SELECT COUNT(*) FROM raw")[0][0])
    described = runner.rows("DESCRIBE raw")
    types = tuple(str(row[1]) for row in described if row[0] != "__row")
    return SqlSource(runner, tuple(columns), types, n_rows, None)


def _parquet_files(
    runner: DuckDBRunner, path: str, columns: Sequence[str]
) -> list[tuple[Any, ...]]:
    """The files ``path`` matches with their row counts, in name order (from their footers);
    a clear error when one is not Parquet or lacks one of ``columns`` (the first file's)."""
    import duckdb

    escaped = path.replace("'", "''")
    what = "every file that the pattern matches is read as part of the log"
    try:
        files = runner.rows(
            f"SELECT file_name, num_rows FROM parquet_file_metadata('{escaped}') ORDER BY file_name"
        )
        present = runner.rows(
            f"SELECT file_name, list(name) FROM parquet_schema('{escaped}') GROUP BY file_name"
        )
    except duckdb.Error as error:
        raise DataError(
            f"A file that '{path}' matches could not be read as Parquet "
            f"({str(error).splitlines()[0]}): {what}. Move other files out of the folder or "
            "narrow the pattern."
        ) from error
    for name, names in sorted(present):
        missing = [column for column in columns if column not in set(names)]
        if missing:
            raise DataError(
                f"'{name}' has no column '{missing[0]}', which the first file that '{path}' "
                f"matches has: {what}, so every part needs the log's columns. Write the parts "
                "with the same columns, or narrow the pattern."
            )
    return files


def register_csv(runner: DuckDBRunner, plain: PlainCsv, limits: LoadLimits) -> SqlSource | str:
    """Read a plain CSV file (:func:`clv_core.loading.plain.plain_csv`) into DuckDB as ``raw``,
    every cell as text, the loader's missing markers as NULL; the reason instead (and nothing
    kept) when its rows show that the loader would read it differently or refuse it: a record
    that does not split into the header's fields or that DuckDB cannot decode, more rows than
    ``max_rows``, a longer cell than ``max_cell_chars``, a cell with surrounding whitespace
    (the loader strips it), a last row without a value (the loader removes it), no row.

    The table is kept by DuckDB (spilled to disk beyond ``--memory-limit``); ``__row`` is its
    row number, which is the record's position in the file.
    """
    import duckdb

    escaped = str(plain.path).replace("'", "''")
    columns = ", ".join(f"'c{index}': 'VARCHAR'" for index in range(len(plain.columns)))
    markers = ", ".join(_quoted(marker) for marker in _MISSING_MARKERS)
    # The table's row ids are the records' positions: it is written in the file's order even
    # where the connection lets DuckDB write kept tables in any order.
    (in_order,) = runner.rows("SELECT current_setting('preserve_insertion_order')")[0]
    runner.connection.execute("SET preserve_insertion_order = true")
    try:
        runner.keep(
            "raw_csv",
            f"SELECT * FROM read_csv('{escaped}', columns = {{{columns}}}, header = true, "
            f"auto_detect = false, delim = {_quoted(plain.delimiter)}, quote = '\"', "
            f"escape = '\"', nullstr = [{markers}], allow_quoted_nulls = true, "
            "strict_mode = true, null_padding = false)",
        )
    except (duckdb.InvalidInputException, duckdb.ConversionException):
        # Fields that do not match the header, text that is not UTF-8: the loader says where.
        return "a record does not split into the header's fields, or is not UTF-8"
    finally:
        runner.connection.execute(f"SET preserve_insertion_order = {bool(in_order)}")
    names = [f"c{index}" for index in range(len(plain.columns))]
    widest = ", ".join(f"MAX(strlen({name}))" for name in names)
    n_rows, *widths = runner.rows(f"SELECT COUNT(*), {widest} FROM raw_csv")[0]
    stripped, padded = _edged(runner, "raw_csv", names, _CELL_WHITESPACE, _WHITESPACE)
    last_empty = (
        bool(n_rows)
        and runner.rows(
            f"SELECT {' AND '.join(f'{name} IS NULL' for name in names)} FROM raw_csv "
            f"WHERE rowid = {int(n_rows) - 1}"
        )[0][0]
    )
    too_wide = limits.max_cell_chars is not None and any(
        width is not None and width > limits.max_cell_chars for width in widths
    )
    problems = {
        "it has no row": not n_rows,
        "a cell has surrounding spaces": bool(stripped),
        "its last row is empty": last_empty,
        "a cell is over the length limit": too_wide,
        "it has more rows than the limit": limits.max_rows is not None and n_rows > limits.max_rows,
    }
    problem = next((why for why, found in problems.items() if found), None)
    if problem is not None:
        runner.connection.execute("DROP TABLE raw_csv")
        return problem
    runner.view("raw", f"SELECT {', '.join(names)}, rowid AS __row FROM raw_csv")
    return SqlSource(
        runner,
        plain.columns,
        ("VARCHAR",) * len(names),
        int(n_rows),
        None,
        edges={column: name in padded for column, name in zip(plain.columns, names, strict=True)},
    )


def _edged(
    runner: SqlRunner, relation: str, names: Sequence[str], *character_sets: str
) -> list[frozenset[str]]:
    """For each set of characters, the text columns ``names`` of ``relation`` with a cell that
    starts or ends with one of them. Only columns with a cell whose first or last character is
    a control character, a space or beyond ASCII (every whitespace character is one of those)
    are compared with the sets, which is the slow part."""
    maybe = ", ".join(
        f"COALESCE(BOOL_OR(LEFT({name}, 1) <= ' ' OR LEFT({name}, 1) >= chr(133) "
        f"OR RIGHT({name}, 1) <= ' ' OR RIGHT({name}, 1) >= chr(133)), FALSE)"
        for name in names
    )
    flags = runner.rows(f"SELECT {maybe} FROM {relation}")[0] if names else ()
    candidates = [name for name, flag in zip(names, flags, strict=True) if flag]
    if not candidates:
        return [frozenset() for _ in character_sets]
    exact = []
    for characters in character_sets:
        listed = ", ".join(_quoted(character) for character in characters)
        exact += [
            f"COALESCE(BOOL_OR(LEFT({name}, 1) IN ({listed}) OR RIGHT({name}, 1) IN ({listed})), "
            "FALSE)"
            for name in candidates
        ]
    found = runner.rows(f"SELECT {', '.join(exact)} FROM {relation}")[0]
    size = len(candidates)
    return [
        frozenset(
            name for name, flag in zip(candidates, found[start : start + size], strict=True) if flag
        )
        for start in range(0, len(found), size)
    ]


def arrow_type_name(arrow_type: Any) -> str:
    """The DuckDB name of an Arrow column type (as far as validation tells types apart)."""
    import pyarrow as pa

    if pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type):
        return "VARCHAR"
    if pa.types.is_timestamp(arrow_type):
        return "TIMESTAMP WITH TIME ZONE" if arrow_type.tz is not None else "TIMESTAMP"
    if pa.types.is_floating(arrow_type):
        return "DOUBLE"
    if pa.types.is_integer(arrow_type):
        return "BIGINT"
    if pa.types.is_decimal(arrow_type):
        return "DECIMAL"
    return str(arrow_type).upper()


def lane_problem(source: SqlSource, mapping: ColumnMapping) -> str | None:
    """Why this table needs the pandas reference (``None`` when the SQL covers it).

    ``source`` must come from :func:`with_facts` (every validation option is covered).
    """
    problem = _shape_problem(source, mapping)
    if problem is not None:
        return problem
    facts = source.facts
    if facts["bad_dates"]:
        return "some dates are not written YYYY-MM-DD[ HH:MM[:SS]]"
    if facts["bad_amounts"]:
        return "some amounts are not plain numbers"
    if mapping.order_id is not None and not facts["unique_orders"]:
        if facts["empty_order_cells"]:
            return "order-level cells are left empty on some order lines"
        if _total_repeats_on_lines(source.rows(range(min(source.n_rows, 50_000))), mapping):
            return "the amount is an order total repeated on the order's lines"
    return None


def _shape_problem(source: SqlSource, mapping: ColumnMapping) -> str | None:
    """A role or a column type the SQL does not cover."""
    for role in ("quantity", "unit_price", "discount", "status", "currency"):
        if getattr(mapping, role) is not None:
            return f"the log has a {role.replace('_', ' ')} column"
    if None in (mapping.customer_id, mapping.order_date, mapping.amount):
        return "a required column is not mapped"
    ids = [mapping.customer_id] + ([mapping.order_id] if mapping.order_id is not None else [])
    for column in ids:
        if source.kind(str(column)) not in _TEXT_TYPES | _INTEGER_TYPES:
            return f"the id column '{column}' is {source.kind(str(column))}"
    date_kind = source.kind(str(mapping.order_date))
    if date_kind not in _TEXT_TYPES | _TIMESTAMP_TYPES:
        return f"the date column is {date_kind}"
    amount_kind = source.kind(str(mapping.amount))
    if amount_kind not in _TEXT_TYPES | _INTEGER_TYPES | _FLOAT_TYPES | {"DECIMAL"}:
        return f"the amount column is {amount_kind}"
    return None


def mapped_columns(mapping: ColumnMapping) -> list[str]:
    """The columns validation reads (ids, date, spend)."""
    roles = (mapping.customer_id, mapping.order_id, mapping.order_date, mapping.amount)
    return [str(column) for column in roles if column is not None]


def with_facts(source: SqlSource, mapping: ColumnMapping) -> SqlSource:
    """``source`` knowing which text columns need stripping and the facts of one pass over it
    (what decides whether the SQL covers it, and what validation needs to know first)."""
    if _shape_problem(source, mapping) is not None:
        return source
    source = replace(source, padded=_padded(source, mapped_columns(mapping)))
    return replace(source, facts=_facts(source, mapping))


def _padded(source: SqlSource, columns: Sequence[str]) -> frozenset[str]:
    """The text columns with cells that have surrounding whitespace (stripping every cell is
    slow, and the loaders have usually stripped them already)."""
    text = [column for column in dict.fromkeys(columns) if source.kind(column) in _TEXT_TYPES]
    if not text:
        return frozenset()
    if source.edges is not None:
        return frozenset(column for column in text if source.edges[column])
    if source.frame is not None:
        import pyarrow as pa
        import pyarrow.compute as pc

        # What the reference strips with (pandas' Arrow strings), at Arrow's speed.
        padded = set()
        for column in text:
            cells = pa.array(source.frame[column], from_pandas=True)
            if not may_have_edge(cells, _WHITESPACE):
                continue
            stripped = pc.utf8_trim_whitespace(cells)
            if pc.any(pc.not_equal(pc.binary_length(stripped), pc.binary_length(cells))).as_py():
                padded.add(column)
        return frozenset(padded)
    (edged,) = _edged(source.runner, "raw", [source.name(column) for column in text], _WHITESPACE)
    return frozenset(column for column in text if source.name(column) in edged)


def _full_match(value: str, pattern: str) -> str:
    """Whether the whole text matches (a regular expression both engines read alike)."""
    return f"regexp_matches({value}, '^(?:{pattern})$')"


def _text_sql(source: SqlSource, column: str) -> str:
    """A text column's cells stripped as Python's ``str.strip()`` does."""
    name = source.name(column)
    return f"TRIM({name}, {_quoted(_WHITESPACE)})" if column in source.padded else name


def _id_sql(source: SqlSource, column: str) -> str:
    """The cleaned id as text: stripped, empty as NULL (the ``.0`` rule is applied later)."""
    if source.kind(column) in _INTEGER_TYPES:
        return f"CAST({source.name(column)} AS VARCHAR)"
    return f"NULLIF({_text_sql(source, column)}, '')"


def _blank_sql(source: SqlSource, column: str) -> str:
    """Whether a cell is missing (NULL, NaN, or whitespace-only text)."""
    name = source.name(column)
    kind = source.kind(column)
    if kind in _TEXT_TYPES:
        return f"({name} IS NULL OR {_text_sql(source, column)} = '')"
    if kind in _FLOAT_TYPES:
        return f"({name} IS NULL OR isnan({name}))"
    return f"({name} IS NULL)"


def _value_sql(source: SqlSource, column: str, target: str) -> str:
    if source.kind(column) in _TEXT_TYPES:
        return f"TRY_CAST({_text_sql(source, column)} AS {target})"
    return f"CAST({source.name(column)} AS {target})"


def _facts(source: SqlSource, mapping: ColumnMapping) -> dict[str, Any]:
    """One pass over ``raw``: what decides whether the SQL covers the table."""
    date, amount = str(mapping.order_date), str(mapping.amount)
    date_blank, amount_blank = _blank_sql(source, date), _blank_sql(source, amount)
    lowest, highest = (f"CAST('{day}' AS TIMESTAMP)" for day in _TIMESTAMP_RANGE)
    checks = {
        "bad_dates": "FALSE",
        "bad_amounts": "FALSE",
        "empty_order_cells": "0",
        "customer_ids_end_in_0": _ends_in_zero(source, str(mapping.customer_id)),
        "order_ids_end_in_0": "FALSE",
        "has_time": "FALSE",
    }
    order = (
        _id_sql(source, str(mapping.order_id))
        if mapping.order_id is not None
        else "CAST(NULL AS VARCHAR)"
    )
    if source.kind(date) in _TEXT_TYPES:
        # The parsed date is computed once per row and read three times.
        date_value = _value_sql(source, date, "TIMESTAMP")
        text = _text_sql(source, date)
        checks["bad_dates"] = (
            f"BOOL_OR(NOT {date_blank} AND (NOT {_full_match(text, _ISO_DATE)} OR date_value "
            f"IS NULL OR date_value < {lowest} OR date_value > {highest}))"
        )
    else:
        date_value = f"CAST({source.name(date)} AS TIMESTAMP)"
        checks["bad_dates"] = f"BOOL_OR(date_value < {lowest} OR date_value > {highest})"
    # Whether some date has a time of day (parsed as validation parses it).
    checks["has_time"] = (
        "BOOL_OR(date_value IS NOT NULL "
        "AND CAST(CAST(date_value AS DATE) AS TIMESTAMP) <> date_value)"
    )
    if source.kind(amount) in _TEXT_TYPES:
        text = _text_sql(source, amount)
        checks["bad_amounts"] = (
            f"BOOL_OR(NOT {amount_blank} AND NOT {_full_match(text, _PLAIN_NUMBER)})"
        )
    elif source.kind(amount) in _FLOAT_TYPES:
        name = source.name(amount)
        checks["bad_amounts"] = f"BOOL_OR(ABS({name}) > {_LARGEST_DOUBLE})"
    runner = source.runner
    ids = f"(SELECT {order} AS id, __row FROM raw) AS ids"
    # Whether order ids repeat: settled on the first rows when they do (order lines), else
    # by counting their hashes in this same pass.
    hashing = mapping.order_id is not None and not _head_repeats(runner, ids)
    if mapping.order_id is not None:
        checks["empty_order_cells"] = _empty_cells_sql(source, mapping)
        checks["order_ids_end_in_0"] = _ends_in_zero(source, str(mapping.order_id))
    if hashing:
        checks["hashes"], checks["missing"] = _HASH_COUNTS
    selected = ", ".join(f"{sql} AS {key}" for key, sql in checks.items())
    relation = f"(SELECT *, {date_value} AS date_value, {order} AS id FROM raw) AS cells"
    row = runner.rows(f"SELECT {selected} FROM {relation}")[0]
    facts = dict(zip(checks, row, strict=True))
    facts["unique_orders"] = mapping.order_id is None or (
        hashing
        and _unique_by_hashes(runner, ids, source.n_rows, facts.pop("hashes"), facts.pop("missing"))
    )
    return facts


# Repeated ids (order lines) nearly always show within the first rows.
_HEAD_ROWS = 50_000


# The distinct 64-bit hashes of the present ids of a relation's column ``id``, and its missing
# ids.
_HASH_COUNTS = (
    "COUNT(DISTINCT hash(id)) FILTER (WHERE id IS NOT NULL)",
    "COUNT(*) FILTER (WHERE id IS NULL)",
)


def _ids_unique(runner: SqlRunner, ids: str, n_rows: int) -> bool:
    """pandas' ``is_unique`` of the column ``id`` of the relation ``ids`` (which has
    ``__row``): every present id different, and at most one missing (missing ids are one value).

    A repeat among the first rows settles it cheaply; otherwise distinct 64-bit hashes are
    counted (as many as the ids when those are unique: half the work of comparing the text),
    and the ids themselves only when the hashes meet."""
    if _head_repeats(runner, ids):
        return False
    hashes, missing = runner.rows(f"SELECT {', '.join(_HASH_COUNTS)} FROM {ids}")[0]
    return _unique_by_hashes(runner, ids, n_rows, hashes, missing)


def _head_repeats(runner: SqlRunner, ids: str) -> bool:
    """Whether the first rows of ``ids`` repeat an id (or miss more than one)."""
    head_distinct, head_present, head_missing = runner.rows(
        f"SELECT COUNT(DISTINCT id), COUNT(id), COUNT(*) - COUNT(id) FROM {ids} "
        f"WHERE __row < {_HEAD_ROWS}"
    )[0]
    return int(head_distinct) < int(head_present) or int(head_missing) > 1


def _unique_by_hashes(runner: SqlRunner, ids: str, n_rows: int, hashes: Any, missing: Any) -> bool:
    """Whether the ids are unique, from the counts of :data:`_HASH_COUNTS` (the ids themselves
    are counted only when two hashes meet)."""
    if int(missing) > 1:
        return False
    if int(hashes) + min(int(missing), 1) == n_rows:
        return True
    distinct = int(runner.rows(f"SELECT COUNT(DISTINCT id) FROM {ids}")[0][0])
    return distinct + min(int(missing), 1) == n_rows


def _ends_in_zero(source: SqlSource, column: str) -> str:
    """Whether every present id ends in ``.0`` (the cheap first test of the ``1001.0`` rule)."""
    if source.kind(column) not in _TEXT_TYPES:
        return "FALSE"
    cleaned = _id_sql(source, column)
    return f"COALESCE(BOOL_AND({cleaned} LIKE '%.0'), FALSE)"


def _empty_cells_sql(source: SqlSource, mapping: ColumnMapping) -> str:
    """Empty cells as the reference's order-level step sees them (NULL or exactly '')."""
    parts = []
    for column in (str(mapping.customer_id), str(mapping.order_date), str(mapping.amount)):
        name = source.name(column)
        kind = source.kind(column)
        if kind in _TEXT_TYPES:
            parts.append(f"{name} IS NULL OR {name} = ''")
        elif kind in _FLOAT_TYPES:
            parts.append(f"{name} IS NULL OR isnan({name})")
        else:
            parts.append(f"{name} IS NULL")
    return "COUNT(*) FILTER (WHERE " + " OR ".join(f"({part})" for part in parts) + ")"


@dataclass(frozen=True, slots=True)
class SqlValidation:
    """What :func:`validate_in_sql` found; the clean orders are the table ``orders``."""

    report: ValidationReport
    money: MoneyCheck
    first_date: pd.Timestamp
    last_date: pd.Timestamp


def validate_in_sql(
    source: SqlSource,
    mapping: ColumnMapping,
    options: ValidationOptions,
    *,
    source_name: str = "",
    first_row: int = 2,
) -> SqlValidation:
    """Validate ``raw`` as the reference does and keep the table ``orders``.

    ``orders`` has the columns of :mod:`clv_core.sql` (``row_id``, ``customer_id``, ``day``,
    ``amount``) plus ``order_ts``. Call :func:`lane_problem` first: the SQL assumes the table is
    one it covers. Raises :class:`~clv_core.errors.DataError` as the reference does when no row
    is left.
    """
    runner = source.runner
    latest = pd.Timestamp(options.latest_valid_date or dt.date.today()) + pd.Timedelta(days=1)
    customer_rule = _whole_number_rule(source, str(mapping.customer_id), "customer")
    order_rule = (
        _whole_number_rule(source, str(mapping.order_id), "order")
        if mapping.order_id is not None
        else None
    )
    unique = _orders_unique(source, mapping, order_rule)
    # A view: the queries below read only the columns they need; "lines" is kept once.
    runner.view("parsed", _parsed_sql(source, mapping, customer_rule, order_rule, unique=unique))
    has_time = bool(source.facts["has_time"])
    drop_duplicates = options.drop_duplicate_rows
    if drop_duplicates is None:
        drop_duplicates = (mapping.order_id is not None or has_time) and unique
    guests = _guest_sql(runner, options)
    cancellation = _cancellation_sql(runner) if mapping.order_id is not None else "FALSE"
    # Repeated order ids are order lines, combined into orders: only then are the ids kept.
    order_lines = mapping.order_id is not None and not unique
    runner.keep(
        "lines", _lines_sql(guests, cancellation, drop_duplicates, latest, order_ids=order_lines)
    )
    counts = _line_counts(runner)
    accounting = _Accounting(np.arange(0))
    warnings: list[str] = []
    _count_reasons(source, mapping, accounting, first_row, counts)
    if not drop_duplicates:
        _warn_duplicates(source, mapping, first_row, warnings, counts, unique=unique)
    _count_flipped_returns(source, mapping, accounting, first_row, counts)
    rows_used = counts.kept
    _check_rows_used(accounting, rows_read=source.n_rows, rows_used=rows_used, warnings=warnings)
    combined = _keep_orders(runner, mapping, options, order_lines=order_lines, counts=counts)
    if combined:
        key = (
            RowIssue.ORDER_LINES_COMBINED
            if mapping.order_id is not None
            else RowIssue.LINES_COMBINED_INTO_BASKETS
        )
        accounting.altered[key.value] = combined
    runner.keep(
        "per_customer",
        """
SELECT customer_id, COUNT(*) AS n, GREATEST(SUM(amount), 0.0) AS positive,
    MIN(row_id) AS first_row, MIN(CASE WHEN amount > 0 THEN order_ts END) AS first_purchase
FROM orders GROUP BY customer_id
""",
    )
    aggregates = _aggregates(runner)
    summary, refunds = _summary(aggregates)
    summary["amount_source"] = f"column '{mapping.amount}'"
    if cancellation != "FALSE":
        summary["n_cancellation_lines"] = counts.kept_cancellations
    summary["n_refunds_without_sale"] = refunds
    if refunds:
        warnings.append(_refunds_warning(refunds))
    money = _money(source, mapping, aggregates, counts)
    summary["spend_rule"] = money.explanation.sentence
    report = accounting.report(
        table="transactions",
        source_name=source_name,
        rows_read=source.n_rows,
        rows_used=int(rows_used),
        warnings=warnings,
        summary=summary,
    )
    return SqlValidation(report, money, summary["first_date"], summary["last_date"])


def _whole_number_rule(source: SqlSource, column: str, role: str) -> bool:
    """The reference's ``1001.0`` rule: every text id a whole number written with ``.0``."""
    if source.kind(column) not in _TEXT_TYPES or not source.facts[f"{role}_ids_end_in_0"]:
        return False
    cleaned = _id_sql(source, column)
    row = source.runner.rows(
        f"SELECT COUNT(*), BOOL_AND({_full_match('id', '[0-9]+[.]0+')}) "
        f"FROM (SELECT {cleaned} AS id FROM raw) AS ids WHERE id IS NOT NULL"
    )[0]
    return bool(row[0]) and bool(row[1])


def _orders_unique(source: SqlSource, mapping: ColumnMapping, order_rule: bool | None) -> bool:
    """Whether the cleaned order ids are unique as pandas' ``is_unique`` says (True without)."""
    if mapping.order_id is None:
        return True
    if not order_rule:
        return bool(source.facts["unique_orders"])
    order = _cleaned(_id_sql(source, str(mapping.order_id)), bool(order_rule))
    return _ids_unique(
        source.runner, f"(SELECT {order} AS id, __row FROM raw) AS ids", source.n_rows
    )


def _cleaned(sql: str, whole_numbers: bool) -> str:
    return f"regexp_replace({sql}, '[.]0+$', '')" if whole_numbers else sql


def _parsed_sql(
    source: SqlSource,
    mapping: ColumnMapping,
    customer_rule: bool,
    order_rule: bool | None,
    *,
    unique: bool,
) -> str:
    """Each row's cleaned ids, parsed date and amount, and whether it copies an earlier row."""
    date, amount = str(mapping.order_date), str(mapping.amount)
    customer = _cleaned(_id_sql(source, str(mapping.customer_id)), customer_rule)
    order = (
        _cleaned(_id_sql(source, str(mapping.order_id)), bool(order_rule))
        if mapping.order_id is not None
        else "CAST(NULL AS VARCHAR)"
    )
    every_column = ", ".join(f"c{index}" for index in range(len(source.columns)))
    # Unique order ids make every row different: no window over every column is needed.
    duplicate = (
        "FALSE"
        if mapping.order_id is not None and unique
        else f"ROW_NUMBER() OVER (PARTITION BY {every_column} ORDER BY __row) > 1"
    )
    return f"""
SELECT
    __row,
    {customer} AS customer_id,
    {order} AS order_id,
    {_blank_sql(source, date)} AS date_missing,
    {_value_sql(source, date, "TIMESTAMP")} AS ts,
    {_blank_sql(source, amount)} AS amount_missing,
    {_value_sql(source, amount, "DOUBLE")} AS amount,
    {duplicate} AS duplicate
FROM raw
"""


def _guest_sql(runner: SqlRunner, options: ValidationOptions) -> str:
    """The condition that a cleaned id is a guest placeholder (numbers only when busy).

    The placeholders are looked up among the distinct ids, and the condition names the ids
    found as they are written: comparing text is much cheaper than lower-casing every row.
    """
    words = GUEST_PLACEHOLDERS | {str(value).strip().lower() for value in options.guest_ids}
    listed = ", ".join(_quoted(word) for word in sorted(words))
    numbers = ", ".join(_quoted(number) for number in sorted(NUMERIC_GUEST_PLACEHOLDERS))
    found = runner.rows(
        f"""
WITH counts AS (
    SELECT customer_id, COUNT(*) AS n FROM parsed
    WHERE customer_id IS NOT NULL GROUP BY customer_id
)
SELECT customer_id, n, (SELECT MEDIAN(n) FROM counts) AS typical,
    lower(customer_id) IN ({listed}) AS placeholder
FROM counts WHERE lower(customer_id) IN ({listed}) OR lower(customer_id) IN ({numbers})
"""
    )
    chosen = [
        customer
        for customer, count, typical, placeholder in found
        if placeholder
        or count >= max(_PLACEHOLDER_MIN_ROWS, _PLACEHOLDER_TIMES_MEDIAN * float(typical))
    ]
    if not chosen:
        return "FALSE"
    return f"customer_id IN ({', '.join(_quoted(str(c)) for c in sorted(chosen))})"


_CANCELLATION_SQL = "(?i)(?:C|CN|CR|R|RMA|RET|退|退货|退款)[-_ ]?[0-9]+"
_ORDINARY_SQL = "#?[A-Za-z]{0,4}[-_ ]?[0-9]+"
# The reference judges the ids of the first 50,000 ordinary lines.
_ORDINARY_SAMPLE = 50_000


def _cancellation_sql(runner: SqlRunner) -> str:
    """The condition that a line belongs to a cancellation document told by the order id (the
    reference's rule: a letter prefix on a minority of ids next to ordinary numeric ids), or
    ``FALSE`` when the ids do not follow it."""
    # A cheap first-character filter (prefix matches, the fastest text test) keeps the pattern
    # to the few candidates.
    firsts = " OR ".join(
        f"order_id LIKE {_quoted(character + '%')}"
        for character in _CANCELLATION_FIRST_CHARACTERS
        if character not in "%_"
    )
    condition = f"(({firsts}) AND {_full_match('order_id', _CANCELLATION_SQL)})"
    matches, n_rows = runner.rows(
        f"SELECT COUNT(*) FILTER (WHERE {condition}), COUNT(*) FROM parsed"
    )[0]
    if not matches or matches / n_rows > _CANCELLATION_MAX_SHARE:
        return "FALSE"
    ordinary, share = _ordinary_share(runner, condition, f"__row < {4 * _ORDINARY_SAMPLE}")
    if ordinary < _ORDINARY_SAMPLE and ordinary < n_rows - matches:
        # The first rows held too few ordinary ids (many empty ones): look at the whole table.
        ordinary, share = _ordinary_share(runner, condition, "TRUE")
    if not ordinary or share < 0.95:
        return "FALSE"
    return f"COALESCE({condition}, FALSE)"


def _ordinary_share(runner: SqlRunner, condition: str, window: str) -> tuple[int, float]:
    """How many of the first ordinary ids (by position, at most 50,000, among the rows in
    ``window``) there are and the share that look like ordinary document numbers. Positions
    only grow, so a ``__row`` bound lets the engine skip the rest of the table."""
    count, share = runner.rows(
        f"""
SELECT COUNT(*), AVG(CASE WHEN {_full_match("order_id", _ORDINARY_SQL)} THEN 1.0 ELSE 0.0 END)
FROM (
    SELECT order_id FROM parsed
    WHERE {window} AND order_id IS NOT NULL AND NOT {condition}
    ORDER BY __row LIMIT {_ORDINARY_SAMPLE}
) AS ordinary
"""
    )[0]
    return int(count), float(share) if share is not None else 0.0


def _lines_sql(
    guests: str,
    cancellation: str,
    drop_duplicates: bool,
    latest: pd.Timestamp,
    *,
    order_ids: bool,
) -> str:
    """Each row's reason to be dropped, in the reference's order of checks (NULL: kept), and
    its spend with the positive amounts of cancellation lines made negative; with
    ``order_ids``, its order id too (the text column costs the most to keep)."""
    duplicate = f"WHEN duplicate THEN '{RowIssue.DUPLICATE_ROW.value}'" if drop_duplicates else ""
    order = "order_id, " if order_ids else ""
    return f"""
SELECT
    __row, customer_id, {order}ts, duplicate, cancellation, reason, reason IS NULL AS kept,
    CASE WHEN reason IS NULL AND cancellation AND raw_amount > 0 THEN -raw_amount
        ELSE raw_amount END AS amount,
    reason IS NULL AND cancellation AND raw_amount > 0 AS flipped
FROM (
    SELECT
        __row, customer_id, order_id, ts, duplicate, amount AS raw_amount,
        {cancellation} AS cancellation,
        CASE
            WHEN customer_id IS NULL THEN '{RowIssue.MISSING_CUSTOMER_ID.value}'
            WHEN {guests} THEN '{RowIssue.GUEST_CUSTOMER_ID.value}'
            {duplicate}
            WHEN date_missing THEN '{RowIssue.MISSING_DATE.value}'
            WHEN ts < CAST('{_EARLIEST_PLAUSIBLE_DATE}' AS TIMESTAMP)
                THEN '{RowIssue.DATE_TOO_EARLY.value}'
            WHEN ts >= CAST('{latest}' AS TIMESTAMP) THEN '{RowIssue.FUTURE_DATE.value}'
            WHEN amount_missing THEN '{RowIssue.MISSING_AMOUNT.value}'
        END AS reason
    FROM parsed
) AS checked
"""


@dataclass(frozen=True, slots=True)
class _LineCounts:
    """The counts of the table ``lines`` that validation reports, from one pass over it."""

    dropped: dict[str, int]
    kept: int
    kept_cancellations: int
    kept_negative: int
    kept_zero: int
    flipped: int
    # Exact copies by the reason their row was dropped (None: kept).
    duplicates: dict[str | None, int]

    @property
    def lines(self) -> int:
        return self.kept + sum(self.dropped.values())


def _line_counts(runner: SqlRunner) -> _LineCounts:
    """:class:`_LineCounts` of ``lines`` (one query grouped by the reason to drop a row)."""
    groups = runner.rows(
        """
SELECT reason, COUNT(*), COUNT(*) FILTER (WHERE cancellation),
    COUNT(*) FILTER (WHERE amount < 0), COUNT(*) FILTER (WHERE amount = 0),
    COUNT(*) FILTER (WHERE flipped), COUNT(*) FILTER (WHERE duplicate)
FROM lines GROUP BY reason
"""
    )
    kept = next((row for row in groups if row[0] is None), (None, 0, 0, 0, 0, 0, 0))
    return _LineCounts(
        dropped={str(row[0]): int(row[1]) for row in groups if row[0] is not None},
        kept=int(kept[1]),
        kept_cancellations=int(kept[2]),
        kept_negative=int(kept[3]),
        kept_zero=int(kept[4]),
        flipped=int(kept[5]),
        duplicates={row[0]: int(row[6]) for row in groups},
    )


def _first_rows(runner: SqlRunner, condition: str, group: str | None = None) -> pd.DataFrame:
    """The first rows (by position) meeting ``condition``, per ``group`` when given."""
    partition = f"PARTITION BY {group} " if group is not None else ""
    chosen = f"{group} AS grp, " if group is not None else ""
    return runner.frame(
        f"""
SELECT {chosen}__row, customer_id FROM (
    SELECT *, ROW_NUMBER() OVER ({partition}ORDER BY __row) AS k FROM lines WHERE {condition}
) AS numbered WHERE k <= {_EXAMPLES} ORDER BY __row
"""
    )


# Which value each reason's examples quote (None: the row number only), as the reference does.
_EXAMPLE_VALUES: dict[RowIssue, str | None] = {
    RowIssue.MISSING_CUSTOMER_ID: None,
    RowIssue.GUEST_CUSTOMER_ID: "customer",
    RowIssue.DUPLICATE_ROW: None,
    RowIssue.MISSING_DATE: None,
    RowIssue.DATE_TOO_EARLY: "date",
    RowIssue.FUTURE_DATE: "date",
    RowIssue.MISSING_AMOUNT: None,
}


def _count_reasons(
    source: SqlSource,
    mapping: ColumnMapping,
    accounting: _Accounting,
    first_row: int,
    line_counts: _LineCounts,
) -> None:
    """Counts and example rows of every reason, in the reference's order."""
    runner = source.runner
    counts = line_counts.dropped
    if not counts:
        return
    firsts = _first_rows(runner, "reason IS NOT NULL", group="reason")
    for issue, quoted in _EXAMPLE_VALUES.items():
        if issue.value not in counts:
            continue
        accounting.dropped[issue.value] = int(counts[issue.value])
        chosen = firsts[firsts["grp"] == issue.value]
        positions = [int(position) for position in chosen["__row"]]
        if quoted is None:
            values = [f"row {position + first_row}" for position in positions]
        elif quoted == "customer":
            values = [
                f"row {position + first_row}: {customer!r}"
                for position, customer in zip(positions, chosen["customer_id"], strict=True)
            ]
        else:
            values = _quoted_cells(source, str(mapping.order_date), positions, first_row)
        accounting.examples[issue.value] = tuple(values)


def _quoted_cells(
    source: SqlSource, column: str, positions: list[int], first_row: int
) -> list[str]:
    """``row N: 'cell'`` for the rows at ``positions``, quoting the cell as loaded."""
    cells = source.rows(positions, [column]).iloc[:, 0]
    return [
        f"row {position + first_row}: {cells.iloc[index]!r}"
        for index, position in enumerate(positions)
    ]


def _warn_duplicates(
    source: SqlSource,
    mapping: ColumnMapping,
    first_row: int,
    warnings: list[str],
    counts: _LineCounts,
    *,
    unique: bool,
) -> None:
    """The reference's warning about exact copies that are kept."""
    dropped_before = (RowIssue.MISSING_CUSTOMER_ID.value, RowIssue.GUEST_CUSTOMER_ID.value)
    condition = f"duplicate AND (reason IS NULL OR reason NOT IN {dropped_before})"
    count = sum(n for reason, n in counts.duplicates.items() if reason not in dropped_before)
    if not count:
        return
    positions = [int(position) for position in _first_rows(source.runner, condition)["__row"]]
    examples = ", ".join(_quoted_cells(source, str(mapping.order_date), positions, first_row))
    warnings.append(_duplicates_warning(count, examples, line_level=not unique))


def _count_flipped_returns(
    source: SqlSource,
    mapping: ColumnMapping,
    accounting: _Accounting,
    first_row: int,
    counts: _LineCounts,
) -> None:
    """Positive amounts on cancellation lines were made negative: counted, with examples."""
    count = counts.flipped
    if not count:
        return
    positions = [int(position) for position in _first_rows(source.runner, "flipped")["__row"]]
    accounting.altered[RowIssue.RETURN_MADE_NEGATIVE.value] = count
    accounting.examples[RowIssue.RETURN_MADE_NEGATIVE.value] = tuple(
        _quoted_cells(source, str(mapping.amount), positions, first_row)
    )


def _keep_orders(
    runner: SqlRunner,
    mapping: ColumnMapping,
    options: ValidationOptions,
    *,
    order_lines: bool,
    counts: _LineCounts,
) -> int:
    """The table ``orders`` from the kept lines (``order_lines``: combined by order id); returns
    the lines combined away."""
    n_rows = counts.lines
    if order_lines:
        # Lines without an order id are orders of their own, after the combined orders.
        select = f"""
SELECT MIN(__row) AS row_id, customer_id, MIN(ts) AS order_ts, SUM(amount) AS amount
FROM lines WHERE kept AND order_id IS NOT NULL GROUP BY customer_id, order_id
UNION ALL
SELECT {n_rows} + __row AS row_id, customer_id, ts AS order_ts, amount
FROM lines WHERE kept AND order_id IS NULL
"""
    elif mapping.order_id is None and options.combine_baskets:
        select = """
SELECT MIN(__row) AS row_id, customer_id, ts AS order_ts, SUM(amount) AS amount
FROM lines WHERE kept GROUP BY customer_id, ts
"""
    else:
        select = "SELECT __row AS row_id, customer_id, ts AS order_ts, amount FROM lines WHERE kept"
    runner.keep(
        "orders",
        f"""
SELECT
    row_id,
    customer_id,
    CAST(datediff('day', DATE '1970-01-01', CAST(order_ts AS DATE)) AS INTEGER) AS day,
    amount,
    order_ts
FROM ({select}) AS combined
""",
    )
    orders = int(runner.rows("SELECT COUNT(*) FROM orders")[0][0])
    return counts.kept - orders


def _aggregates(runner: SqlRunner) -> tuple[Any, ...]:
    """The aggregates of ``orders`` and ``per_customer`` that the summary and the money check
    read, in one query: one aggregate over each table, the returns without an earlier sale and
    the two top customers (see :func:`_summary` and :func:`_money` for their order)."""
    positive = "CASE WHEN amount > 0 THEN amount END"
    return runner.rows(
        f"""
SELECT o.*, p.*,
    (SELECT COUNT(*) FROM orders AS r JOIN per_customer AS c ON r.customer_id = c.customer_id
        WHERE r.amount < 0 AND (c.first_purchase IS NULL OR c.first_purchase > r.order_ts)),
    (SELECT customer_id FROM per_customer ORDER BY n DESC, first_row LIMIT 1),
    (SELECT customer_id FROM per_customer ORDER BY positive DESC, first_row LIMIT 1)
FROM (
    SELECT COUNT(*) AS o0, MIN(order_ts) AS o1, MAX(order_ts) AS o2,
        COUNT(*) FILTER (WHERE amount < 0) AS o3, SUM(amount) FILTER (WHERE amount < 0) AS o4,
        COUNT(*) FILTER (WHERE amount = 0) AS o5, SUM(amount) AS o6,
        quantile_cont({positive}, 0.5) AS o7, quantile_cont({positive}, 0.99) AS o8
    FROM orders
) AS o
CROSS JOIN (
    SELECT COUNT(*) AS p0, AVG(CASE WHEN n > 1 THEN 1.0 ELSE 0.0 END) AS p1, AVG(n) AS p2,
        MEDIAN(n) AS p3, MAX(n) AS p4, SUM(positive) AS p5, MAX(positive) AS p6
    FROM per_customer
) AS p
"""
    )[0]


def _summary(row: tuple[Any, ...]) -> tuple[dict[str, Any], int]:
    """The reference's summary of the clean orders, and the returns without an earlier sale,
    from :func:`_aggregates`."""
    summary = {
        "n_customers": int(row[9]),
        "n_orders": int(row[0]),
        "first_date": pd.Timestamp(row[1]),
        "last_date": pd.Timestamp(row[2]),
        "n_returns": int(row[3]),
        "returns_amount": round(abs(float(row[4] or 0.0)), 2),
        "n_zero_amount": int(row[5]),
        "net_amount": round(float(row[6] or 0.0), 2),
        "repeat_customer_share": round(float(row[10] or 0.0), 4),
    }
    return summary, int(row[16])


def _money(
    source: SqlSource, mapping: ColumnMapping, row: tuple[Any, ...], counts: _LineCounts
) -> MoneyCheck:
    """The reference's money check from :func:`_aggregates`, the line counts and the first
    used rows."""
    runner = source.runner
    totals = MoneyTotals(
        median_purchase=_float(row[7]),
        p99_purchase=_float(row[8]),
        n_lines=counts.kept,
        negative_lines=counts.kept_negative,
        zero_lines=counts.kept_zero,
        n_orders=int(row[0]),
        n_customers=int(row[9]),
        mean_orders=_float(row[11]),
        median_orders=_float(row[12]),
        max_orders=int(row[13] or 0),
        top_orders_customer=str(row[17] or ""),
        positive_spend=float(row[14] or 0.0),
        top_spend=float(row[15] or 0.0),
        top_spend_customer=str(row[18] or "") if (row[14] or 0.0) > 0 else "",
    )
    first = runner.frame(
        f"SELECT __row, amount FROM lines WHERE kept ORDER BY __row LIMIT {_SAMPLE_ROWS}"
    )
    positions = [int(position) for position in first["__row"]]
    amounts = pd.Series(first["amount"].to_numpy(dtype=np.float64))
    sample = source.rows(positions)
    head = source.rows(list(range(min(source.n_rows, _SAMPLE_ROWS))))
    return assess_money(
        head,
        mapping,
        totals,
        sample=sample,
        sample_amounts=pd.Series(amounts.to_numpy(), index=sample.index),
        first_lines=amounts,
        currencies={},
    )


def _float(value: Any) -> float:
    return float("nan") if value is None else float(value)


def _quoted(text: str) -> str:
    """A SQL string literal."""
    return "'" + text.replace("'", "''") + "'"
