"""Fuzzing of the two readers that take bytes from anyone: the table loader and the bundle reader.

``load_table`` reads uploads (delimited text, gzip, Excel, Parquet) and ``load_bundle`` reads
uploaded model zips, so whatever bytes arrive, each must return or refuse them with a
:class:`~clv_core.errors.DataError` (a :class:`~clv_core.errors.ClvError`) whose message is
safe to show: not empty and naming no temporary folder. Any other exception (from pandas,
pyarrow, openpyxl, zipfile, zlib, a codec, json or the interpreter) is a bug. The inputs are
random bytes and small mutations (inserted and replaced bytes, bit flips, truncations) of valid
files, plus hostile archives: odd member names and deeply nested JSON. Every fuzz test is
derandomized with a fixed number of examples, so a run is reproducible and stays short. The
inputs the fuzzing found to break the contract are kept at the end as plain regression tests.
"""

from __future__ import annotations

import collections
import gzip
import io
import json
import os
import queue
import re
import struct
import subprocess
import sys
import tempfile
import threading
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import openpyxl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from clv_core.bundle import load_bundle
from clv_core.errors import ClvError, DataError
from clv_core.loading import LoadedTable, load_table

VALID_CSV = b"customer_id,order_date,amount\nC1,2024-01-02,10.5\nC2,2024-02-03,7\n"
FILE_NAMES = ["x.csv", "x.csv.gz", "x.xlsx", "x.parquet", "x.txt", "x"]
# Bytes that matter to the text reader: NUL, invalid UTF-8 leads and continuations, a UTF-8
# BOM's first byte, quotes, delimiters, line breaks.
SPECIAL_BYTES = [0x00, 0xFF, 0x80, 0xC3, 0xEF, ord('"'), ord("'"), ord(","), ord(";")]
SPECIAL_BYTES += [ord("\t"), ord("|"), ord("\n"), ord("\r"), ord(" ")]
BUNDLE_MEMBERS = ("meta.json", "preprocess.json", "model.keras")
# Member names of hostile bundle zips are concatenations of these.
NAME_TOKENS = ["../", "/", "./", "meta.json", "preprocess.json", "model.keras", "x.pkl", "a"]
# Strings that would reveal the server's temporary folder in a message. The bundle format's
# name ("clv-bundle-1": quoted by the reader, and inside the test bundles, whose bytes a zip
# error may echo) shares the folder's prefix, so it is taken out of a message first.
TEMPORARY_MARKERS = ("/tmp/", "clv-bundle-")
BUNDLE_FORMAT = "clv-bundle-1"
# Junk bundle files: the reader must refuse them before any network is built.
JUNK_MEMBERS = {
    "meta.json": b'{"format": "clv-bundle-1", "junk": [1, 2, 3]}',
    "preprocess.json": b'{"junk": true}',
    "model.keras": b"not a keras archive \x00\xff" * 4,
}
FIXED_ZIP_TIME = (2024, 1, 1, 0, 0, 0)


def fuzz_settings(max_examples: int) -> settings:
    """Reproducible settings: a fixed budget, no per-example deadline, derandomized."""
    return settings(
        max_examples=max_examples,
        deadline=None,
        derandomize=True,
        suppress_health_check=[HealthCheck.too_slow],
    )


def check_message(text: str, error_type: str = "DataError") -> None:
    """A refusal's message is shown to the user: it must say something and leak no path."""
    assert text.strip(), f"{error_type} with an empty message"
    without_format = text.replace(BUNDLE_FORMAT, "")
    for marker in TEMPORARY_MARKERS:
        assert marker not in without_format, f"the message names a temporary folder: {text!r}"


def load_or_refuse(data: bytes, file_name: str) -> None:
    """``load_table`` returns a table or raises DataError; anything else escapes and fails."""
    try:
        table = load_table(data, file_name=file_name)
    except DataError as error:
        check_message(str(error))
    else:
        assert isinstance(table, LoadedTable)


def refuse_bundle(data: bytes) -> None:
    """``load_bundle`` refuses a junk bundle with a ClvError; anything else escapes and fails."""
    try:
        load_bundle(data)
    except ClvError as error:
        check_message(str(error), type(error).__name__)
    else:
        pytest.fail("a bundle of junk files was loaded")


def zip_of(members: dict[str, bytes], compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    """A zip archive of ``members`` (name -> contents) with fixed timestamps."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, contents in members.items():
            info = zipfile.ZipInfo(name, date_time=FIXED_ZIP_TIME)
            archive.writestr(info, contents, compress_type=compression)
    return buffer.getvalue()


# --- load_table in a child process ------------------------------------------------------
# A damaged file can crash the native readers below load_table (pyarrow aborted the process on
# one Parquet footer, see the last test), which would end the whole test run. The fuzz tests
# therefore hand their examples to one long-lived child process: a crash or a hang fails that
# example (and starts a fresh child), the run goes on and Hypothesis reports the input.

_WORKER = """
import json, os, struct, sys, traceback
replies = os.fdopen(os.dup(1), "wb")
os.dup2(2, 1)  # what a library prints goes to stderr, not into the replies
from clv_core.errors import DataError
from clv_core.loading import LoadedTable, load_table
requests = sys.stdin.buffer
while len(header := requests.read(8)) == 8:
    name_size, data_size = struct.unpack("<II", header)
    name = requests.read(name_size).decode()
    data = requests.read(data_size)
    try:
        result = load_table(data, file_name=name)
        kind = "loaded" if isinstance(result, LoadedTable) else "returned " + repr(result)
        reply = {"outcome": kind, "detail": ""}
    except DataError as error:
        reply = {"outcome": "refused", "detail": str(error)}
    except BaseException as error:
        detail = "".join(traceback.format_exception(error))
        reply = {"outcome": "escaped " + type(error).__name__, "detail": detail}
    body = json.dumps(reply).encode()
    replies.write(struct.pack("<I", len(body)) + body)
    replies.flush()
"""
# Generous: the child's first answer includes importing pandas, pyarrow and openpyxl.
EXAMPLE_TIMEOUT_SECONDS = 60


def _read_replies(stream: IO[bytes], replies: queue.Queue[bytes | None]) -> None:
    """Pass the child's length-prefixed replies on; ``None`` once it has gone."""
    while len(header := stream.read(4)) == 4:
        replies.put(stream.read(struct.unpack("<I", header)[0]))
    replies.put(None)


def _keep_tail(stream: IO[bytes], tail: collections.deque[bytes]) -> None:
    """Drain the child's stderr (so it never blocks on a full pipe), keeping its end."""
    while chunk := os.read(stream.fileno(), 4096):
        tail.append(chunk)


class IsolatedLoader:
    """``load_table`` run in a child process that is started again after a crash or a hang."""

    def __init__(self) -> None:
        self._process: subprocess.Popen[bytes] | None = None
        self._threads: list[threading.Thread] = []
        self._replies: queue.Queue[bytes | None] = queue.Queue()
        self._stderr_tail: collections.deque[bytes] = collections.deque(maxlen=8)

    def __repr__(self) -> str:
        return "IsolatedLoader()"

    def _start(self) -> subprocess.Popen[bytes]:
        process = subprocess.Popen(
            [sys.executable, "-c", _WORKER],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=Path(__file__).resolve().parents[2],
        )
        assert process.stdout is not None and process.stderr is not None
        self._replies = queue.Queue()
        self._stderr_tail = collections.deque(maxlen=8)
        self._threads = [
            threading.Thread(target=_read_replies, args=(process.stdout, self._replies)),
            threading.Thread(target=_keep_tail, args=(process.stderr, self._stderr_tail)),
        ]
        for thread in self._threads:
            thread.start()
        self._process = process
        return process

    def stop(self) -> str:
        """End the child (if it still runs) and describe how it ended."""
        process, self._process = self._process, None
        if process is None:
            return ""
        if process.poll() is None:
            process.kill()
        process.wait()
        for thread in self._threads:  # they end at the end of the child's output
            thread.join()
        for stream in (process.stdin, process.stdout, process.stderr):
            if stream is not None:
                stream.close()
        tail = b"".join(self._stderr_tail).decode(errors="replace")[-1000:]
        return f"exit status {process.returncode}; its stderr ends:\n{tail}"

    def load(self, data: bytes, file_name: str) -> tuple[str, str]:
        """``(outcome, detail)``: loaded, refused (detail: the message), or what went wrong."""
        process = self._process if self._process is not None else self._start()
        assert process.stdin is not None
        name = file_name.encode()
        try:
            process.stdin.write(struct.pack("<II", len(name), len(data)) + name + data)
            process.stdin.flush()
            reply = self._replies.get(timeout=EXAMPLE_TIMEOUT_SECONDS)
        except BrokenPipeError:
            reply = None
        except queue.Empty:
            return "hung", f"no answer in {EXAMPLE_TIMEOUT_SECONDS} s; {self.stop()}"
        if reply is None:
            return "crashed", self.stop()
        answer = json.loads(reply)
        return answer["outcome"], answer["detail"]


@pytest.fixture(scope="module")
def loader() -> Iterator[IsolatedLoader]:
    isolated = IsolatedLoader()
    yield isolated
    isolated.stop()


def load_or_refuse_isolated(loader: IsolatedLoader, data: bytes, file_name: str) -> None:
    """As :func:`load_or_refuse`, with ``load_table`` run in the child process."""
    outcome, detail = loader.load(data, file_name)
    assert outcome in {"loaded", "refused"}, f"{outcome}:\n{detail}"
    if outcome == "refused":
        check_message(detail)


# --- mutation strategies -----------------------------------------------------------------

A_BYTE = st.one_of(st.sampled_from(SPECIAL_BYTES), st.integers(min_value=0, max_value=255))


@st.composite
def byte_edits(draw: st.DrawFn, data: bytes) -> bytes:
    """``data`` with one to four bytes inserted or replaced, then maybe cut short."""
    result = bytearray(data)
    for _ in range(draw(st.integers(min_value=1, max_value=4))):
        value = draw(A_BYTE)
        if draw(st.booleans()) or not result:
            result.insert(draw(st.integers(min_value=0, max_value=len(result))), value)
        else:
            result[draw(st.integers(min_value=0, max_value=len(result) - 1))] = value
    if draw(st.booleans()):
        del result[draw(st.integers(min_value=0, max_value=len(result))) :]
    return bytes(result)


@st.composite
def bit_flips(draw: st.DrawFn, data: bytes) -> bytes:
    """``data`` with one to four single bits flipped."""
    result = bytearray(data)
    for _ in range(draw(st.integers(min_value=1, max_value=4))):
        position = draw(st.integers(min_value=0, max_value=len(result) - 1))
        result[position] ^= 1 << draw(st.integers(min_value=0, max_value=7))
    return bytes(result)


@st.composite
def truncations(draw: st.DrawFn, data: bytes) -> bytes:
    """``data`` cut short at any position (down to nothing)."""
    return data[: draw(st.integers(min_value=0, max_value=len(data) - 1))]


def damaged(data: bytes) -> st.SearchStrategy[bytes]:
    """Bit flips or a truncation of ``data``, or both."""
    return st.one_of(bit_flips(data), truncations(data), bit_flips(data).flatmap(truncations))


# --- valid files to start from -----------------------------------------------------------


@dataclass(frozen=True)
class ValidFile:
    """A valid file to mutate; its bytes are left out of the repr in Hypothesis's reports."""

    name: str
    data: bytes = field(repr=False)


def workbook_parts() -> dict[str, bytes]:
    """The parts of a small workbook (a header row, three data rows), the same in every run."""
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["customer_id", "order_date", "amount"])
    sheet.append(["C1", "2024-01-02", 10.5])
    sheet.append(["C2", "2024-02-03", 7])
    sheet.append(["C1", "2024-03-04", 12.25])
    buffer = io.BytesIO()
    workbook.save(buffer)
    with zipfile.ZipFile(buffer) as archive:
        parts = {name: archive.read(name) for name in archive.namelist()}
    # openpyxl stamps the document properties (and every zip entry) with the current time.
    parts["docProps/core.xml"] = re.sub(
        rb"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", b"2024-01-01T00:00:00Z", parts["docProps/core.xml"]
    )
    return parts


def parquet_bytes() -> bytes:
    """A small Parquet file: three rows of id, date and amount."""
    table = pa.table(
        {
            "customer_id": ["C1", "C2", "C1"],
            "order_date": ["2024-01-02", "2024-02-03", "2024-03-04"],
            "amount": [10.5, 7.0, 12.25],
        }
    )
    buffer = io.BytesIO()
    pq.write_table(table, buffer)
    return buffer.getvalue()


@pytest.fixture(scope="module")
def valid_xlsx() -> ValidFile:
    return ValidFile("x.xlsx", zip_of(workbook_parts()))


@pytest.fixture(scope="module")
def valid_parquet() -> ValidFile:
    return ValidFile("x.parquet", parquet_bytes())


def test_the_starting_files_load(valid_xlsx: ValidFile, valid_parquet: ValidFile) -> None:
    """The mutations start from files that load, so they probe the readers, not the checks."""
    assert load_table(VALID_CSV, file_name="x.csv").n_rows == 2
    assert load_table(gzip.compress(VALID_CSV, mtime=0), file_name="x.csv.gz").n_rows == 2
    assert load_table(valid_xlsx.data, file_name=valid_xlsx.name).n_rows == 3
    assert load_table(valid_parquet.data, file_name=valid_parquet.name).n_rows == 3


# --- the table loader --------------------------------------------------------------------


@fuzz_settings(max_examples=300)
@given(data=st.binary(max_size=4096), file_name=st.sampled_from(FILE_NAMES))
def test_arbitrary_bytes_load_or_are_refused(
    loader: IsolatedLoader, data: bytes, file_name: str
) -> None:
    load_or_refuse_isolated(loader, data, file_name)


@fuzz_settings(max_examples=300)
@given(data=byte_edits(VALID_CSV), file_name=st.sampled_from(["x.csv", "x.txt", "x"]))
def test_edited_csv_loads_or_is_refused(
    loader: IsolatedLoader, data: bytes, file_name: str
) -> None:
    load_or_refuse_isolated(loader, data, file_name)


@st.composite
def gzipped_edits(draw: st.DrawFn) -> bytes:
    """An edited CSV, gzip-compressed, with its compressed stream sometimes damaged too."""
    compressed = gzip.compress(draw(byte_edits(VALID_CSV)), mtime=0)
    return draw(st.one_of(st.just(compressed), damaged(compressed)))


@fuzz_settings(max_examples=300)
@given(data=gzipped_edits())
def test_edited_and_damaged_gzip_csv_loads_or_is_refused(
    loader: IsolatedLoader, data: bytes
) -> None:
    load_or_refuse_isolated(loader, data, "x.csv.gz")


@fuzz_settings(max_examples=300)
@given(data=st.data())
def test_damaged_xlsx_loads_or_is_refused(
    loader: IsolatedLoader, valid_xlsx: ValidFile, data: st.DataObject
) -> None:
    load_or_refuse_isolated(loader, data.draw(damaged(valid_xlsx.data)), valid_xlsx.name)


@fuzz_settings(max_examples=300)
@given(data=st.data())
def test_xlsx_with_an_edited_part_loads_or_is_refused(
    loader: IsolatedLoader, valid_xlsx: ValidFile, data: st.DataObject
) -> None:
    """A workbook whose zip is intact but one XML part inside it is edited (openpyxl's input)."""
    with zipfile.ZipFile(io.BytesIO(valid_xlsx.data)) as archive:
        parts = {name: archive.read(name) for name in archive.namelist()}
    name = data.draw(st.sampled_from(sorted(parts)))
    parts[name] = data.draw(byte_edits(parts[name]))
    load_or_refuse_isolated(loader, zip_of(parts), valid_xlsx.name)


@fuzz_settings(max_examples=300)
@given(data=st.data())
def test_damaged_parquet_loads_or_is_refused(
    loader: IsolatedLoader, valid_parquet: ValidFile, data: st.DataObject
) -> None:
    load_or_refuse_isolated(loader, data.draw(damaged(valid_parquet.data)), valid_parquet.name)


# --- the bundle reader -------------------------------------------------------------------


@fuzz_settings(max_examples=300)
@given(
    data=st.one_of(
        damaged(zip_of(JUNK_MEMBERS, zipfile.ZIP_STORED)),
        damaged(zip_of(JUNK_MEMBERS, zipfile.ZIP_DEFLATED)),
        damaged(zip_of({}, zipfile.ZIP_STORED)),
    )
)
def test_damaged_bundle_zip_is_refused(data: bytes) -> None:
    refuse_bundle(data)


def escape_targets() -> set[Path]:
    """Where a member named with '../' or '/' would land if extracted as it is named."""
    temporary = Path(tempfile.gettempdir())
    names = (*BUNDLE_MEMBERS, "x.pkl", "a")
    return {base / name for base in (temporary, temporary.parent) for name in names}


@fuzz_settings(max_examples=200)
@given(
    names=st.lists(
        st.lists(st.sampled_from(NAME_TOKENS), min_size=1, max_size=4).map("".join),
        max_size=7,
        unique=True,
    ),
    contents=st.binary(max_size=64),
)
def test_bundle_zip_with_odd_member_names_is_refused(names: list[str], contents: bytes) -> None:
    existing_before = {path for path in escape_targets() if path.exists()}
    refuse_bundle(zip_of(dict.fromkeys(names, contents)))
    assert {path for path in escape_targets() if path.exists()} <= existing_before


@fuzz_settings(max_examples=100)
@given(
    depth=st.integers(min_value=0, max_value=200_000),
    shape=st.sampled_from(["list", "object", "inside a plausible meta.json"]),
)
def test_bundle_with_deeply_nested_meta_json_is_refused(depth: int, shape: str) -> None:
    if shape == "list":
        meta = "[" * depth + "]" * depth
    elif shape == "object":
        meta = '{"a":' * depth + "1" + "}" * depth
    else:
        nested = '[{"a":' * depth + "1" + "}]" * depth
        meta = f'{{"format": "{BUNDLE_FORMAT}", "feature_columns": ["x"], "config": {nested}}}'
    members = {**JUNK_MEMBERS, "meta.json": meta.encode()}
    refuse_bundle(zip_of(members))


# --- inputs the fuzzing found ------------------------------------------------------------
# Each broke the contract when it was found (an exception other than DataError escaped, or the
# process aborted); kept minimal, so that a fix can be checked directly.


def with_header_fields(
    archive: bytes, *, method: int | None = None, flags: int | None = None, version: int = 20
) -> bytes:
    """``archive`` with every entry's compression method, flags or needed version rewritten.

    The fields are set in the local headers and in the central directory alike, so the zip
    directory stays consistent and only the member's declared encoding is wrong.
    """
    result = bytearray(archive)
    for signature, offset in ((b"PK\x03\x04", 4), (b"PK\x01\x02", 6)):
        position = result.find(signature)
        while position >= 0:
            struct.pack_into("<H", result, position + offset, version)
            if flags is not None:
                struct.pack_into("<H", result, position + offset + 2, flags)
            if method is not None:
                struct.pack_into("<H", result, position + offset + 4, method)
            position = result.find(signature, position + 4)
    return bytes(result)


# Members stored uncompressed whose header then claims something else: b"\x07" read as deflate
# data is a block of the reserved type 3, and as bzip2 data has no bzip2 signature.
UNREADABLE_MEMBER_ZIPS = {
    "unknown compression method 99": {"method": 99},
    "encrypted flag set": {"flags": 1},
    "needs zip version 25.5": {"version": 255},
    "deflate stream that is not deflate": {"method": zipfile.ZIP_DEFLATED},
    "bzip2 stream that is not bzip2": {"method": zipfile.ZIP_BZIP2},
}


@pytest.mark.parametrize("trick", list(UNREADABLE_MEMBER_ZIPS))
def test_workbook_zip_with_unreadable_members_is_refused(trick: str) -> None:
    workbook = zip_of({"[Content_Types].xml": b"\x07", "xl/workbook.xml": b""}, zipfile.ZIP_STORED)
    load_or_refuse(with_header_fields(workbook, **UNREADABLE_MEMBER_ZIPS[trick]), "x.xlsx")


@pytest.mark.parametrize("trick", list(UNREADABLE_MEMBER_ZIPS))
def test_bundle_zip_with_unreadable_members_is_refused(trick: str) -> None:
    bundle = zip_of(
        {"meta.json": b"\x07", "preprocess.json": b"{}", "model.keras": b"x"}, zipfile.ZIP_STORED
    )
    refuse_bundle(with_header_fields(bundle, **UNREADABLE_MEMBER_ZIPS[trick]))


# One attribute or element name of a valid workbook misspelt: (part, text, replacement).
MISSPELT_WORKBOOK_XML = [
    pytest.param("xl/styles.xml", b'<color theme="1"', b'<color _heme="1"', id="styles-color"),
    pytest.param(
        "xl/styles.xml",
        b'<cellStyleXfs count="1"><xf ',
        b'<cellStyleXfs count="1"><x ',
        id="styles-cellStyleXfs",
    ),
    pytest.param("xl/workbook.xml", b'calcId="124519"', b'calcId="124 19"', id="workbook-calcId"),
    pytest.param(
        "xl/workbook.xml", b"showVerticalScroll=", b"showVertipalScroll=", id="workbook-view"
    ),
    pytest.param(
        "xl/worksheets/sheet1.xml", b"summaryRight=", b"summaryRighX=", id="sheet-outline"
    ),
    pytest.param(
        "xl/worksheets/sheet1.xml", b"workbookViewId=", b"workbookViewIX=", id="sheet-view"
    ),
]


@pytest.mark.parametrize(("part", "text", "replacement"), MISSPELT_WORKBOOK_XML)
def test_workbook_with_misspelt_xml_is_refused(part: str, text: bytes, replacement: bytes) -> None:
    parts = workbook_parts()
    assert parts[part].count(text) == 1
    parts[part] = parts[part].replace(text, replacement)
    load_or_refuse(zip_of(parts), "x.xlsx")


def test_parquet_with_invalid_utf8_in_a_text_value_is_refused() -> None:
    data = bytearray(parquet_bytes())
    data[data.index(b"2024-01-02")] ^= 0x80  # '2' becomes 0xB2, a lone continuation byte
    load_or_refuse(bytes(data), "x.parquet")


def test_parquet_with_invalid_utf8_in_a_column_name_is_refused() -> None:
    data = bytearray(parquet_bytes())
    data[data.index(b"order_date") + 6] ^= 0x80  # 'd' becomes 0xE4, a cut-off lead byte
    load_or_refuse(bytes(data), "x.parquet")


def test_parquet_with_an_invalid_repetition_type_does_not_abort_the_process(
    loader: IsolatedLoader,
) -> None:
    """The footer's schema declares customer_id with repetition type 5 (OPTIONAL is 1).

    Reading the column metadata of this file aborts the Python process from inside pyarrow
    ("terminate called after throwing an instance of 'parquet::ParquetException'"), so it is
    loaded in the child process, which must survive and answer like for any damaged file.
    """
    data = bytearray(parquet_bytes())
    data[data.index(b"%\x02\x18\x0bcustomer_id") + 1] = 0x0A  # zigzag 1 (OPTIONAL) -> 5
    load_or_refuse_isolated(loader, bytes(data), "x.parquet")
