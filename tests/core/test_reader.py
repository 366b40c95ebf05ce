"""Uploads are read in a reader process whose address space the kernel bounds."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from clv_core.limits import LoadLimits
from clv_core.loading import LoadedTable
from clv_core.reader import MEMORY_VARIABLE, ReadSpec
from clv_core.runner import JobRunner, JobState, RunnerSettings
from clv_ui.jobs import reader_settings
from tests.corpus.hostile import HEADER, gzip_bomb

SAMPLE = Path(__file__).resolve().parents[2] / "sample_data" / "transactions.csv"
READ = "clv_core.reader:read_table_job"

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def reader() -> Iterator[JobRunner]:
    runner = JobRunner(
        RunnerSettings(
            workers=1,
            initializer="clv_core.reader:prepare_reader",
            nice=0,
            environment=(
                *(item for item in reader_settings().environment if item[0] != MEMORY_VARIABLE),
                (MEMORY_VARIABLE, "1200"),
            ),
        )
    )
    yield runner
    runner.shutdown()


def _read(runner: JobRunner, data: bytes, name: str, limits: LoadLimits) -> tuple[JobState, object]:
    job = runner.submit(READ, ReadSpec(data, name, limits), owner="test", interactive=True)
    assert job.wait(300)
    return job.state, job.result if job.state is JobState.DONE else job.error


def test_a_file_past_every_check_ends_its_own_read_only(reader: JobRunner) -> None:
    state, table = _read(reader, SAMPLE.read_bytes(), "transactions.csv", LoadLimits())
    assert state is JobState.DONE and isinstance(table, LoadedTable) and table.n_rows > 30_000
    # With every limit off, a 4 GB bomb reaches the reader's 1.2 GB address space.
    bomb = gzip_bomb(HEADER + b"C1,2024-01-01,1.00\n" * 200_000, 4 << 30)
    state, message = _read(reader, bomb, "bomb.csv.gz", LoadLimits.unlimited())
    assert state is JobState.FAILED
    assert isinstance(message, str) and "memory" in message, message
    assert "/tmp" not in message and "Traceback" not in message
    # The reader (or its replacement) goes on with the next upload.
    state, table = _read(reader, SAMPLE.read_bytes(), "again.csv", LoadLimits())
    assert state is JobState.DONE and isinstance(table, LoadedTable)


def test_joining_and_validating_run_in_the_reader_with_the_same_numbers(
    reader: JobRunner,
) -> None:
    from clv_core.intake import transaction_source, validate_source
    from clv_core.loading import load_table
    from clv_core.reader import CallSpec

    table = load_table(SAMPLE)
    source = transaction_source(table, None)
    job = reader.submit(
        "clv_core.reader:call_job",
        CallSpec("clv_core.intake:validate_source", (source, {}), {}),
        owner="test",
        interactive=True,
    )
    assert job.wait(300) and job.state is JobState.DONE, job.error
    direct = validate_source(source, {})
    assert job.result.frame.equals(direct.frame)
    assert job.result.report.rows_read == direct.report.rows_read
    refused = reader.submit(
        "clv_core.reader:call_job",
        CallSpec("os:system", ("true",), {}),
        owner="test",
        interactive=True,
    )
    assert refused.wait(60) and refused.state is JobState.FAILED
    assert refused.error == "'os:system' is not a step the readers run."
