"""Hostile input files and a probe that reads each one and measures what it cost.

The corpus is what an attacker (or a badly broken export) hands the workbench, the command line
or the scoring service: decompression bombs in every container the engine reads (gzip text,
Excel workbooks, Parquet, model bundles), archives that lie about their sizes, a header of a
million columns, a 100 MB line, JSON nested a hundred thousand levels deep, a network config
that declares a billion units, truncated and corrupted files, wrong magic bytes, NUL bytes and
formula cells. Every file is generated here, deterministically and in seconds: the bombs repeat
one compressed block (gzip members, or deflate blocks ended by a full flush, which decode
independently) instead of compressing gigabytes, so an 8 MB file really does expand to 3.5 GB.

:func:`probe` reads every case in a fresh interpreter (``python -m tests.corpus.hostile``) and
reports per case the outcome (``refused`` with the message, ``read`` with the row count, or
``crashed`` with the exception type), the seconds and the peak resident memory of that case
alone (Linux's peak counter is reset before each case). The tests and
``benchmarks/hostile_benchmark.py`` share it. Nothing here imports ``clv_core`` except the probe's
reader, so the files do not depend on the code they test.
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import io
import json
import re
import struct
import subprocess
import sys
import time
import zipfile
import zlib
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

REPOSITORY = Path(__file__).resolve().parents[2]
HEADER = b"customer_id,order_date,amount\n"
_MIB = 1 << 20

Kind = Literal["table", "bundle"]
Expect = Literal["refused", "read"]


@dataclass(frozen=True, slots=True)
class HostileCase:
    """One corpus file: what it is, how it is read, and what a correct reader does with it."""

    name: str
    file_name: str
    kind: Kind
    expect: Expect
    # For refusals: a pattern the message must contain (what the limit or the damage is).
    match: str
    description: str
    inflates_to: int = 0


# What a corpus case writes (bytes, or a writer of its path) and how a group adds its cases.
_CaseData = bytes | Callable[[Path], object]
_AddCase = Callable[[HostileCase, _CaseData], None]


# --- building blocks ------------------------------------------------------------------------


def _rows(count: int, start: int = 0) -> bytes:
    """Plausible log rows (customer, date, amount)."""
    return b"".join(
        b"C%06d,2024-%02d-%02d,%d.%02d\n" % (i % 5000, 1 + i % 12, 1 + i % 28, i % 500, i % 100)
        for i in range(start, start + count)
    )


def gzip_bomb(chunk: bytes, inflated: int) -> bytes:
    """A multi-member gzip file of ``chunk`` repeated until it expands to ``inflated`` bytes."""
    member = gzip.compress(chunk, compresslevel=9, mtime=0)
    return member * max(1, inflated // len(chunk))


def deflate_repeated(chunk: bytes, repeats: int) -> bytes:
    """A raw deflate stream of ``chunk`` ``repeats`` times, made from one compressed block."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = compressor.compress(chunk) + compressor.flush(zlib.Z_FULL_FLUSH)
    return block * repeats + b"\x03\x00"  # a final, empty fixed-Huffman block


@dataclass(frozen=True, slots=True)
class ZipMember:
    """A member written as given: its compressed bytes and the sizes the directory declares."""

    name: str
    data: bytes
    declared_size: int
    crc: int = 0
    deflated: bool = True


def write_zip(members: Sequence[ZipMember]) -> bytes:
    """A zip archive written by hand, so that declared sizes can be anything (no zip64)."""
    out = io.BytesIO()
    central = []
    for member in members:
        offset = out.tell()
        name = member.name.encode()
        method = 8 if member.deflated else 0
        size = min(member.declared_size, 0xFFFFFFFE)
        out.write(
            struct.pack(
                "<IHHHHHIIIHH",
                0x04034B50,
                20,
                0,
                method,
                0,
                0x21,
                member.crc,
                len(member.data),
                size,
                len(name),
                0,
            )
        )
        out.write(name)
        out.write(member.data)
        central.append(
            struct.pack(
                "<IHHHHHHIIIHHHHHII",
                0x02014B50,
                20,
                20,
                0,
                method,
                0,
                0x21,
                member.crc,
                len(member.data),
                size,
                len(name),
                0,
                0,
                0,
                0,
                0,
                offset,
            )
            + name
        )
    directory_offset = out.tell()
    directory = b"".join(central)
    out.write(directory)
    out.write(
        struct.pack(
            "<IHHHHIIH",
            0x06054B50,
            0,
            0,
            len(central),
            len(central),
            len(directory),
            directory_offset,
            0,
        )
    )
    return out.getvalue()


def stored(name: str, data: bytes) -> ZipMember:
    """A member stored honestly (deflated, true size and checksum)."""
    compressor = zlib.compressobj(6, zlib.DEFLATED, -15)
    packed = compressor.compress(data) + compressor.flush()
    return ZipMember(name, packed, len(data), zlib.crc32(data))


def bomb_member(
    name: str, chunk: bytes, inflated: int, *, declared: int | None = None
) -> ZipMember:
    """A member that inflates to ``inflated`` bytes; its directory says ``declared`` (default:
    the truth). The checksum is not computed: a reader must stop long before the end."""
    repeats = max(1, inflated // len(chunk))
    data = deflate_repeated(chunk, repeats)
    return ZipMember(name, data, repeats * len(chunk) if declared is None else declared)


def small_workbook(rows: Sequence[Sequence[object]]) -> bytes:
    """An honest .xlsx written by openpyxl."""
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    for row in rows:
        sheet.append(list(row))
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _workbook_members(workbook: bytes) -> list[tuple[str, bytes]]:
    with zipfile.ZipFile(io.BytesIO(workbook)) as archive:
        return [(info.filename, archive.read(info.filename)) for info in archive.infolist()]


def _replace_in_workbook(workbook: bytes, old: bytes, new: bytes) -> bytes:
    return write_zip(
        [stored(name, data.replace(old, new)) for name, data in _workbook_members(workbook)]
    )


def workbook_bomb(inflated: int, *, declared: int | None = None) -> bytes:
    """A workbook whose first sheet's XML expands to ``inflated`` bytes."""
    row = b'<row><c t="inlineStr"><is><t>C1</t></is></c><c><v>1</v></c></row>'
    members = []
    for name, data in _workbook_members(small_workbook([["customer_id", "amount"], ["C1", 1]])):
        if name == "xl/worksheets/sheet1.xml":
            members.append(bomb_member(name, row * 250_000, inflated, declared=declared))
        else:
            members.append(stored(name, data))
    return write_zip(members)


def parquet_bytes(table: Any, **options: Any) -> bytes:
    import pyarrow.parquet as pq

    buffer = io.BytesIO()
    pq.write_table(table, buffer, **options)
    return buffer.getvalue()


def parquet_dictionary_bomb(rows: int, value_chars: int) -> bytes:
    """A Parquet file of one long value repeated: a few kilobytes that decode to gigabytes."""
    import numpy as np
    import pyarrow as pa

    value = "x" * value_chars
    column = pa.DictionaryArray.from_arrays(
        pa.array(np.zeros(rows, dtype=np.int32)), pa.array([value])
    )
    ids = pa.DictionaryArray.from_arrays(pa.array(np.zeros(rows, dtype=np.int32)), pa.array(["C1"]))
    table = pa.table({"customer_id": ids, "note": column})
    # Without the stored Arrow schema the columns read back as plain strings, decoded in full.
    return parquet_bytes(table, store_schema=False, compression="zstd")


def _bundle_meta(**extra: Any) -> bytes:
    meta = {"format": "clv-bundle-1", "feature_columns": ["a"], "config": {}} | extra
    return json.dumps(meta).encode()


def keras_archive(config: dict[str, Any], weights: bytes = b"\x89HDF\r\n\x1a\n") -> bytes:
    return write_zip(
        [
            stored("config.json", json.dumps(config).encode()),
            stored("metadata.json", b'{"keras_version": "3"}'),
            stored("model.weights.h5", weights),
        ]
    )


def bundle_zip(members: dict[str, bytes | ZipMember]) -> bytes:
    return write_zip(
        [
            member if isinstance(member, ZipMember) else stored(name, member)
            for name, member in members.items()
        ]
    )


# --- the corpus -------------------------------------------------------------------------------


def build_hostile_corpus(folder: Path, *, honest_rows: int = 0) -> list[HostileCase]:
    """Write every hostile file into ``folder``; with ``honest_rows``, honest big logs too."""
    folder.mkdir(parents=True, exist_ok=True)
    cases: list[HostileCase] = []

    def add(case: HostileCase, data: _CaseData) -> None:
        path = folder / case.file_name
        if callable(data):
            data(path)
        else:
            path.write_bytes(data)
        cases.append(case)

    # Each group adds its cases through ``add``; this order is the corpus's case order.
    chunk = HEADER + _rows(20_000)
    _add_gzip_cases(add, chunk)
    _add_workbook_container_cases(add)
    _add_workbook_content_cases(add, chunk)
    _add_oversized_text_cases(add, chunk)
    _add_disguised_text_cases(add)
    _add_parquet_cases(add)
    _add_formula_case(add)
    _add_bundle_bomb_cases(add)
    _add_bundle_malicious_member_cases(add)
    _add_bundle_extra_entry_cases(add)
    if honest_rows:
        cases.extend(write_honest_logs(folder, honest_rows))
    return cases


def _add_gzip_cases(add: _AddCase, chunk: bytes) -> None:
    """Gzip text: bombs of many members (one with its only bad byte after 2 GB), damage."""
    body = b"C000001,2024-01-01,1.00\n" * 200_000  # 4.6 MB of one row, compressed once
    add(
        HostileCase(
            "gzip_bomb",
            "bomb.csv.gz",
            "table",
            "refused",
            r"decompression bomb|expands",
            "gzip CSV (multi-member) that expands to 3.5 GB",
            3500 * _MIB,
        ),
        gzip.compress(chunk, mtime=0) + gzip_bomb(body, 3500 * _MIB - len(chunk)),
    )
    add(
        HostileCase(
            "gzip_bomb_whitespace",
            "bomb.dat.gz",
            "table",
            "refused",
            r"decompression bomb|expands",
            "whitespace-separated text in gzip that expands to 2 GB",
            2048 * _MIB,
        ),
        gzip.compress(b"id date amount\n" + b"1 2024-01-01 1.00\n" * 1000, mtime=0)
        + gzip_bomb(b"1 2024-01-01 1.00\n" * 200_000, 2048 * _MIB),
    )
    add(
        HostileCase(
            "gzip_bomb_bad_utf8_late",
            "bomb_late_bad_byte.csv.gz",
            "table",
            "refused",
            r"decompression bomb|expands",
            "gzip CSV whose only invalid byte is after 2 GB of rows",
            2048 * _MIB,
        ),
        gzip.compress(chunk, mtime=0)
        + gzip_bomb(body, 2048 * _MIB)
        + gzip.compress(b"C1,2024-01-01,caf\xe9\n", mtime=0),
    )
    add(
        HostileCase(
            "gzip_truncated",
            "truncated.csv.gz",
            "table",
            "refused",
            r"damaged or incomplete",
            "gzip CSV cut in the middle",
        ),
        gzip.compress(chunk * 5, mtime=0)[:-4000],
    )
    add(
        HostileCase(
            "gzip_garbage",
            "garbage.csv.gz",
            "table",
            "refused",
            r"gzip",
            "gzip magic bytes followed by garbage",
        ),
        b"\x1f\x8b" + bytes(range(256)) * 40,
    )


def _add_workbook_container_cases(add: _AddCase) -> None:
    """Workbooks whose zip container is a bomb (honest or lying sizes), cut or corrupted."""
    add(
        HostileCase(
            "xlsx_bomb",
            "bomb.xlsx",
            "table",
            "refused",
            r"decompression bomb|expands",
            "workbook whose sheet XML declares and expands to 3 GB",
            3072 * _MIB,
        ),
        workbook_bomb(3072 * _MIB),
    )
    add(
        HostileCase(
            "xlsx_bomb_lying",
            "bomb_lying.xlsx",
            "table",
            "refused",
            r"damaged|incomplete",
            "workbook whose sheet declares 1 MB but expands to 3 GB",
            3072 * _MIB,
        ),
        workbook_bomb(3072 * _MIB, declared=_MIB),
    )
    honest_book = small_workbook(
        [["customer_id", "order_date", "amount"], ["C1", "2024-01-02", 10], ["C2", "2024-02-03", 7]]
    )
    add(
        HostileCase(
            "xlsx_truncated",
            "truncated.xlsx",
            "table",
            "refused",
            r"damaged|incomplete",
            "workbook cut in half",
        ),
        honest_book[: len(honest_book) // 2],
    )
    flipped = bytearray(honest_book)
    for position in range(200, len(flipped), 97):
        flipped[position] ^= 0x5A
    add(
        HostileCase(
            "xlsx_bit_flipped",
            "flipped.xlsx",
            "table",
            "refused",
            r"damaged|not a table|zip",
            "workbook with every 97th byte flipped",
        ),
        bytes(flipped),
    )


def _add_workbook_content_cases(add: _AddCase, chunk: bytes) -> None:
    """Workbooks with out-of-limit cells, and zip archives named .xlsx that are no workbook."""
    add(
        HostileCase(
            "xlsx_long_cell",
            "long_cell.xlsx",
            "table",
            "refused",
            r"characters.*more than the 32,767",
            "workbook with a 100,000-character cell",
        ),
        _replace_in_workbook(
            small_workbook([["customer_id", "amount"], ["C1", 1], ["LONGCELL", 2]]),
            b"LONGCELL",
            b"x" * 100_000,  # openpyxl itself cuts cells at Excel's 32,767 characters
        ),
    )
    add(
        HostileCase(
            "xlsx_far_right_value",
            "far_right.xlsx",
            "table",
            "refused",
            r"beyond the 1,000 columns",
            "workbook with a value in column 5,000",
        ),
        small_workbook([["customer_id", "amount"], ["C1", 1], [None] * 4999 + ["x"]]),
    )
    add(
        HostileCase(
            "zip_not_workbook",
            "archive.xlsx",
            "table",
            "refused",
            r"zip archive",
            "zip of CSV files named .xlsx",
        ),
        bundle_zip({"orders.csv": chunk}),
    )
    add(
        HostileCase(
            "zip_magic_garbage",
            "garbage.xlsx",
            "table",
            "refused",
            r"damaged or incomplete",
            "zip magic bytes followed by garbage",
        ),
        b"PK\x03\x04" + bytes(range(256)) * 20,
    )


def _add_oversized_text_cases(add: _AddCase, chunk: bytes) -> None:
    """Delimited text too wide or too long: a million columns, a 100 MB line, huge names."""
    add(
        HostileCase(
            "million_columns",
            "million_columns.csv",
            "table",
            "refused",
            r"longer than|columns",
            "CSV whose header has 1,000,000 columns",
        ),
        b",".join(b"c%d" % i for i in range(1_000_000)) + b"\n" + b"1," * 999_999 + b"1\n",
    )
    add(
        HostileCase(
            "wide_columns",
            "wide.csv",
            "table",
            "refused",
            r"100,000 columns, more than the 1,000",
            "CSV with 100,000 columns (header under 1 MB)",
        ),
        b",".join(b"c%d" % i for i in range(100_000)) + b"\n" + b"1," * 99_999 + b"1\n",
    )
    add(
        HostileCase(
            "long_line",
            "long_line.csv",
            "table",
            "refused",
            r"longer than 4.0 MB",
            "CSV with a 100 MB line (one 100 MB cell)",
        ),
        lambda path: path.write_bytes(chunk + b"C1,2024-01-01," + b"1" * (100 * _MIB) + b"\n"),
    )
    add(
        HostileCase(
            "long_column_name",
            "long_name.csv",
            "table",
            "refused",
            r"longer than any column name",
            "CSV whose column name is 500 KB",
        ),
        b"customer_id," + b"n" * 500_000 + b"\nC1,1\n",
    )
    add(
        HostileCase(
            "long_column_name_5000",
            "long_name_5000.csv",
            "table",
            "refused",
            r"characters long, more than the 1,000",
            "CSV whose column name is 5,000 characters",
        ),
        b"customer_id," + b"n" * 5_000 + b"\nC1,1\n",
    )


def _add_disguised_text_cases(add: _AddCase) -> None:
    """Files named as tables that are not text tables: NUL bytes, an HTML page."""
    add(
        HostileCase(
            "nul_bytes",
            "nul.csv",
            "table",
            "refused",
            r"binary data",
            "CSV with NUL bytes",
        ),
        HEADER + b"C1\x00,2024-01-01,1\x00\x00\n" * 100,
    )
    add(
        HostileCase(
            "html_named_xls",
            "report.xls",
            "table",
            "refused",
            r"HTML",
            "an HTML page named .xls",
        ),
        b"<html><body><table><tr><td>customer_id</td></tr></table></body></html>",
    )


def _add_parquet_cases(add: _AddCase) -> None:
    """Parquet files: garbage between magic bytes, cut before the footer, a dictionary bomb."""
    import pyarrow as pa

    add(
        HostileCase(
            "parquet_garbage",
            "garbage.parquet",
            "table",
            "refused",
            r"Parquet",
            "PAR1 magic followed by garbage",
        ),
        b"PAR1" + bytes(range(256)) * 20 + b"PAR1",
    )
    honest_parquet = parquet_bytes(
        pa.table(
            {
                "customer_id": ["C1", "C2"],
                "order_date": ["2024-01-02", "2024-02-03"],
                "amount": [10.0, 7.0],
            }
        )
    )
    add(
        HostileCase(
            "parquet_truncated",
            "truncated.parquet",
            "table",
            "refused",
            r"Parquet",
            "Parquet file cut before its footer",
        ),
        honest_parquet[: len(honest_parquet) // 2],
    )
    add(
        HostileCase(
            "parquet_dictionary_bomb",
            "dictionary_bomb.parquet",
            "table",
            "refused",
            r"decompression bomb|expands|decodes",
            "Parquet of 2,000,000 rows of one 2,000-character value (4 GB decoded)",
            4000 * _MIB,
        ),
        parquet_dictionary_bomb(2_000_000, 2000),
    )


def _add_formula_case(add: _AddCase) -> None:
    """An honest CSV whose ids are spreadsheet formulas: it must be read, as text."""
    add(
        HostileCase(
            "formula_cells",
            "formulas.csv",
            "table",
            "read",
            "",
            "CSV whose ids are spreadsheet formulas (read as text, neutralised on export)",
        ),
        HEADER
        + b'"=HYPERLINK(""http://example.invalid"",""x"")",2024-01-02,10\n'
        + b"+SUM(1;2),2024-01-03,5\n@cmd,2024-01-04,3\n-1+1,2024-01-05,2\n",
    )


def _add_bundle_bomb_cases(add: _AddCase) -> None:
    """Model bundles whose meta.json is a 3 GB bomb, with honest or lying declared size."""
    bomb_chunk = b" " * (4 * _MIB)
    add(
        HostileCase(
            "bundle_bomb",
            "bundle_bomb.zip",
            "bundle",
            "refused",
            r"meta.json in the model bundle is 3.0 GB",
            "bundle whose meta.json declares and expands to 3 GB",
            3072 * _MIB,
        ),
        bundle_zip(
            {
                "meta.json": bomb_member("meta.json", bomb_chunk, 3072 * _MIB),
                "preprocess.json": b"{}",
                "model.keras": keras_archive({}),
            }
        ),
    )
    add(
        HostileCase(
            "bundle_bomb_lying",
            "bundle_bomb_lying.zip",
            "bundle",
            "refused",
            r"damaged|not a valid",
            "bundle whose meta.json declares 1 KB but expands to 3 GB",
            3072 * _MIB,
        ),
        bundle_zip(
            {
                "meta.json": bomb_member("meta.json", bomb_chunk, 3072 * _MIB, declared=1024),
                "preprocess.json": b"{}",
                "model.keras": keras_archive({}),
            }
        ),
    )


def _add_bundle_malicious_member_cases(add: _AddCase) -> None:
    """Model bundles with a hostile member: a ../ name, deeply nested JSON, a billion units."""
    add(
        HostileCase(
            "bundle_path_traversal",
            "bundle_traversal.zip",
            "bundle",
            "refused",
            r"inside a folder|unexpected",
            "bundle with a ../../ member name",
        ),
        bundle_zip(
            {
                "../../meta.json": _bundle_meta(),
                "preprocess.json": b"{}",
                "model.keras": keras_archive({}),
            }
        ),
    )
    add(
        HostileCase(
            "bundle_deep_json",
            "bundle_deep_json.zip",
            "bundle",
            "refused",
            r"nested more than",
            "bundle whose meta.json nests 100,000 levels",
        ),
        bundle_zip(
            {
                "meta.json": b"[" * 100_000 + b"]" * 100_000,
                "preprocess.json": b"{}",
                "model.keras": keras_archive({}),
            }
        ),
    )
    add(
        HostileCase(
            "bundle_huge_units",
            "bundle_units.zip",
            "bundle",
            "refused",
            r"declares layers of 1,000,000,000 units",
            "bundle whose network config declares a layer of a billion units",
        ),
        bundle_zip(
            {
                "meta.json": _bundle_meta(),
                "preprocess.json": b"{}",
                "model.keras": keras_archive(
                    {
                        "class_name": "Functional",
                        "config": {
                            "layers": [
                                {"class_name": "InputLayer", "config": {"batch_shape": [None, 10]}},
                                {"class_name": "Dense", "config": {"units": 1_000_000_000}},
                            ]
                        },
                    }
                ),
            }
        ),
    )


def _add_bundle_extra_entry_cases(add: _AddCase) -> None:
    """Model bundles with entries a bundle never has: a pickle, 60,000 empty members."""
    add(
        HostileCase(
            "bundle_pickle",
            "bundle_pickle.zip",
            "bundle",
            "refused",
            r"pickled data",
            "bundle carrying a pickle",
        ),
        bundle_zip(
            {
                "meta.json": _bundle_meta(),
                "preprocess.json": b"{}",
                "model.keras": keras_archive({}),
                "model.pkl": b"\x80\x04K\x01.",
            }
        ),
    )
    add(
        HostileCase(
            "bundle_many_members",
            "bundle_many.zip",
            "bundle",
            "refused",
            r"entries|unexpected",
            "bundle archive of 60,000 empty members",
        ),
        write_zip([ZipMember(f"f{i}", b"", 0, 0, deflated=False) for i in range(60_000)]),
    )


def write_honest_logs(folder: Path, rows: int) -> list[HostileCase]:
    """An honest log of ``rows`` order lines as CSV (about 45 bytes a row), gzip and Parquet."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    generator = np.random.default_rng(7)
    customers = generator.integers(0, max(rows // 13, 1), rows)
    days = np.sort(generator.integers(0, 3 * 365, rows))
    table = pa.table(
        {
            "order_id": pa.array(np.arange(rows) + 100_000),
            "customer_id": pa.array([f"C{c:07d}" for c in customers]),
            "order_date": pa.array(
                (np.datetime64("2022-01-01") + days.astype("timedelta64[D]")).astype(
                    "datetime64[s]"
                )
            ),
            "amount": pa.array(np.round(generator.lognormal(3.5, 1.0, rows), 2)),
        }
    )
    csv_path = folder / f"honest_{rows}.csv"
    pacsv.write_csv(table, csv_path, pacsv.WriteOptions(quoting_style="none"))
    with (
        csv_path.open("rb") as source,
        gzip.open(folder / f"honest_{rows}.csv.gz", "wb", 6) as sink,
    ):
        while block := source.read(16 * _MIB):
            sink.write(block)
    pq.write_table(table, folder / f"honest_{rows}.parquet")
    what = f"honest log of {rows:,} order lines"
    return [
        HostileCase("honest_csv", csv_path.name, "table", "read", "", f"{what} as CSV"),
        HostileCase("honest_csv_gz", f"{csv_path.name}.gz", "table", "read", "", f"{what}, gzip"),
        HostileCase(
            "honest_parquet", f"honest_{rows}.parquet", "table", "read", "", f"{what}, Parquet"
        ),
    ]


# --- the probe --------------------------------------------------------------------------------


def _peak_rss_mb() -> float:
    status = Path("/proc/self/status").read_text()
    match = re.search(r"VmHWM:\s+(\d+) kB", status)
    return int(match.group(1)) / 1024 if match else float("nan")


def _reset_peak() -> None:
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")


def read_case(case: HostileCase, folder: Path) -> dict[str, Any]:
    """Read one case in this process: outcome, message, seconds and this case's peak RSS."""
    from clv_core.bundle import load_bundle
    from clv_core.errors import ClvError
    from clv_core.loading import load_table

    path = folder / case.file_name
    data = path.read_bytes()
    _reset_peak()
    started = time.perf_counter()
    result: dict[str, Any] = {"case": case.name, "file": case.file_name, "kind": case.kind}
    try:
        if case.kind == "table":
            table = load_table(data, file_name=case.file_name)
            result |= {"outcome": "read", "rows": table.n_rows, "columns": table.frame.shape[1]}
            del table
        else:
            load_bundle(data)
            result |= {"outcome": "read"}
    except ClvError as error:
        result |= {"outcome": "refused", "error": type(error).__name__, "message": str(error)}
    except BaseException as error:
        result |= {"outcome": "crashed", "error": type(error).__name__, "message": str(error)[:500]}
    result["seconds"] = round(time.perf_counter() - started, 3)
    result["peak_rss_mb"] = round(_peak_rss_mb(), 1)
    del data
    return result


def probe(
    folder: Path, cases: Sequence[HostileCase], *, timeout: float = 900
) -> list[dict[str, Any]]:
    """Read ``cases`` in a fresh interpreter; one result per case (peak RSS per case)."""
    command = [
        sys.executable,
        "-m",
        "tests.corpus.hostile",
        str(folder),
        json.dumps([asdict(case) for case in cases]),
    ]
    finished = subprocess.run(
        command, cwd=REPOSITORY, capture_output=True, text=True, timeout=timeout, check=False
    )
    results = [json.loads(line) for line in finished.stdout.splitlines() if line.startswith("{")]
    if finished.returncode != 0:
        results.append(
            {
                "case": "probe",
                "outcome": "crashed",
                "error": f"exit status {finished.returncode}",
                "message": finished.stderr[-2000:],
            }
        )
    return results


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Read hostile corpus files; one JSON per line.")
    parser.add_argument("folder", type=Path)
    parser.add_argument("cases", help="the cases as a JSON list")
    arguments = parser.parse_args(argv)
    for item in json.loads(arguments.cases):
        print(json.dumps(read_case(HostileCase(**item), arguments.folder)), flush=True)


if __name__ == "__main__":
    main()
