"""The job runner with real worker processes: queue order, cancel, stop, crashes, limits."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from clv_core.errors import ClvError, ConfigError
from clv_core.runner import Job, JobRunner, JobState, RunnerSettings, worker_memory_mb

JOBS = "tests.core.runner_jobs"


@pytest.fixture(scope="module")
def runner() -> Iterator[JobRunner]:
    """Two workers without the engine's initializer (the test jobs are plain Python)."""
    pool = JobRunner(RunnerSettings(workers=2, nice=0, max_queued=4, memory_mb=300))
    yield pool
    pool.shutdown()


def _steps(pool: JobRunner, owner: str = "a", steps: int = 3, seconds: float = 0.1) -> Job:
    return pool.submit(f"{JOBS}:steps", {"steps": steps, "seconds": seconds}, owner=owner)


def _started(job: Job) -> None:
    """Wait until the job has reported progress from its worker."""
    deadline = time.monotonic() + 60
    while not job.events() and time.monotonic() < deadline:
        job.wait(0.05)
    assert job.events(), f"job {job.id} never reported progress"


def _finished(job: Job) -> Job:
    assert job.wait(60), f"job {job.id} did not finish"
    return job


def test_jobs_run_in_worker_processes_first_in_first_out(runner: JobRunner) -> None:
    jobs = [_steps(runner, seconds=0.3) for _ in range(4)]
    assert [runner.position(job) for job in jobs] == [0, 0, 1, 2], "two run, two wait in order"
    results = [_finished(job).result for job in jobs]
    assert all(job.state is JobState.DONE for job in jobs)
    # The waiting ones started only when the first ones had finished, in submission order.
    assert results[2]["started"] >= min(results[0]["finished"], results[1]["finished"])
    assert results[3]["started"] >= results[2]["started"]
    assert [len(job.events()) for job in jobs] == [3, 3, 3, 3]
    assert all(job.elapsed_seconds > 0 for job in jobs)


def test_interactive_jobs_go_ahead_of_waiting_long_jobs(runner: JobRunner) -> None:
    # One worker frees up well before the other, so the waiting jobs all start on it, one after
    # the other: their start times come from one process and cannot tie.
    running = [_steps(runner, seconds=0.3), _steps(runner, seconds=0.6)]
    long_job = _steps(runner, seconds=0.1)
    first = runner.submit(
        f"{JOBS}:steps", {"steps": 1, "seconds": 0.1}, owner="b", interactive=True
    )
    second = runner.submit(
        f"{JOBS}:steps", {"steps": 1, "seconds": 0.1}, owner="b", interactive=True
    )
    assert [runner.position(job) for job in (first, second, long_job)] == [1, 2, 3]
    for job in (*running, long_job, first, second):
        _finished(job)
    assert first.result["started"] <= second.result["started"] <= long_job.result["started"]


def test_a_job_writes_into_its_own_folder_in_another_process(
    runner: JobRunner, tmp_path: Path
) -> None:
    job = _finished(runner.submit(f"{JOBS}:echo", {"value": 42}, owner="a", folder=tmp_path / "j"))
    assert job.state is JobState.DONE and job.stage == "echo"
    assert job.result["value"] == 42 and job.result["pid"] != os.getpid()
    assert (tmp_path / "j" / "out.txt").read_text(encoding="utf-8") == "42"


def test_engine_errors_are_messages_and_bugs_keep_their_traceback(runner: JobRunner) -> None:
    refused = _finished(runner.submit(f"{JOBS}:refuse", {}, owner="a"))
    assert refused.state is JobState.FAILED
    assert refused.error == "The column 'amount' holds no numbers."
    assert refused.crash is None
    bug = _finished(runner.submit(f"{JOBS}:bug", {}, owner="a"))
    assert bug.error == "KeyError: 'missing'"
    assert bug.crash is not None and "runner_jobs.py" in bug.crash


def test_cancel_stops_a_running_job_at_its_next_step_and_drops_a_waiting_one(
    runner: JobRunner,
) -> None:
    running = [_steps(runner, steps=200, seconds=0.05) for _ in range(2)]
    waiting = _steps(runner)
    assert runner.position(waiting) == 1
    runner.cancel(waiting)
    assert waiting.state is JobState.CANCELLED and runner.position(waiting) == 0
    for job in running:
        _started(job)
    for job in running:
        runner.cancel(job)
    for job in running:
        _finished(job)
        assert job.state is JobState.DONE, "a cooperative cancel keeps what was done"
        assert 0 < job.result["done"] < 200


def test_kill_ends_a_job_at_once_and_a_fresh_worker_takes_the_next(runner: JobRunner) -> None:
    job = _steps(runner, steps=1000, seconds=0.05)
    _started(job)
    before = set(runner.worker_pids())
    runner.kill(job)
    assert job.state is JobState.CANCELLED and job.killed
    assert job.error == "The job was stopped."
    assert set(runner.worker_pids()) != before, "the killed worker was replaced"
    assert _finished(_steps(runner)).state is JobState.DONE


def test_a_crashing_worker_fails_only_its_own_job(runner: JobRunner) -> None:
    other = _steps(runner, steps=10, seconds=0.1)
    crashed = _finished(runner.submit(f"{JOBS}:crash", {}, owner="b"))
    assert crashed.state is JobState.FAILED
    assert crashed.error is not None and "stopped unexpectedly (exit code 9" in crashed.error
    assert _finished(other).state is JobState.DONE, "the other job went on"
    assert _finished(_steps(runner)).state is JobState.DONE, "and the pool still works"


def test_a_spent_worker_gives_its_message_and_is_replaced(tmp_path: Path) -> None:
    single = JobRunner(RunnerSettings(workers=1, nice=0))
    try:
        first = _finished(single.submit(f"{JOBS}:echo", {"value": 1}, owner="a"))
        spent = _finished(single.submit(f"{JOBS}:spent", {}, owner="a"))
        assert spent.state is JobState.FAILED
        assert spent.error == f"Worker {first.result['pid']} ran out of memory."
        after = _finished(single.submit(f"{JOBS}:echo", {"value": 2}, owner="a"))
        assert after.state is JobState.DONE
        assert after.result["pid"] != first.result["pid"], "a fresh worker ran the next job"
    finally:
        single.shutdown()


def test_a_worker_over_its_memory_limit_is_stopped_with_a_message(runner: JobRunner) -> None:
    job = _finished(runner.submit(f"{JOBS}:hog", {"mb": 600, "seconds": 5}, owner="a"))
    assert job.state is JobState.FAILED
    assert job.error is not None
    assert "more than 300 MB of memory" in job.error and "CLV_WORKER_MEMORY_MB" in job.error
    assert _finished(_steps(runner)).state is JobState.DONE


def test_a_full_queue_refuses_with_the_limit_and_how_to_raise_it(runner: JobRunner) -> None:
    busy = [_steps(runner, steps=400, seconds=0.05) for _ in range(2 + 4)]
    with pytest.raises(ClvError, match=r"4 jobs waiting \(the limit is 4\).*CLV_MAX_QUEUED_JOBS"):
        _steps(runner)
    runner.cancel_owner("a")
    assert all(job.wait(30) and job.state is JobState.CANCELLED for job in busy)
    assert runner.queued() == 0 and runner.running() == 0


def test_cancel_owner_touches_only_that_owners_jobs(runner: JobRunner) -> None:
    mine = _steps(runner, owner="me", steps=400, seconds=0.05)
    theirs = _steps(runner, owner="them", steps=5, seconds=0.1)
    runner.cancel_owner("me")
    assert mine.wait(30) and mine.state is JobState.CANCELLED
    assert _finished(theirs).state is JobState.DONE


def test_inline_runner_runs_the_same_function_in_the_calling_thread(tmp_path: Path) -> None:
    pool = JobRunner(RunnerSettings(workers=0), root=tmp_path)
    job = pool.submit(f"{JOBS}:echo", {"value": 7}, owner="a")
    assert job.state is JobState.DONE and job.result["pid"] == os.getpid()
    assert job.folder.parent == tmp_path
    refused = pool.submit(f"{JOBS}:refuse", {}, owner="a")
    assert refused.state is JobState.FAILED and refused.crash is None


def test_workers_that_cannot_start_fail_jobs_instead_of_restarting_forever() -> None:
    pool = JobRunner(RunnerSettings(workers=1, initializer=f"{JOBS}:no_such_function"))
    try:
        job = pool.submit(f"{JOBS}:echo", {"value": 1}, owner="a")
        assert job.wait(120)
        assert job.state is JobState.FAILED
        assert job.error is not None and "cannot start" in job.error
        with pytest.raises(ClvError, match="shut down"):
            pool.submit(f"{JOBS}:echo", {"value": 1}, owner="a")
    finally:
        pool.shutdown()


def test_settings_are_checked() -> None:
    with pytest.raises(ConfigError, match="max_queued must be at least 1"):
        RunnerSettings(max_queued=0)
    with pytest.raises(ConfigError, match="memory_mb must be at least 64"):
        RunnerSettings(memory_mb=10)


def test_memory_of_a_process_is_read_from_proc() -> None:
    used = worker_memory_mb(os.getpid())
    assert used is None or used > 10
    assert worker_memory_mb(2**31 - 1) is None
