"""Small job functions for the runner tests (imported by the worker processes by name)."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from clv_core.errors import DataError
from clv_core.runner import Reporter, SpentWorker


def echo(spec: Any, folder: Path, reporter: Reporter) -> dict[str, Any]:
    """Report two stages and return the spec with the worker's process id."""
    reporter.stage("echo")
    (folder / "out.txt").write_text(str(spec["value"]), encoding="utf-8")
    return {"value": spec["value"], "pid": os.getpid(), "started": time.time()}


def steps(spec: Any, folder: Path, reporter: Reporter) -> dict[str, Any]:
    """Run ``spec['steps']`` steps of ``spec['seconds']`` each, stopping early on a cancel."""
    done = 0
    started = time.time()
    for step in range(spec["steps"]):
        if reporter.should_stop():
            break
        time.sleep(spec["seconds"])
        done = step + 1
        reporter.progress({"step": done})
    return {"done": done, "started": started, "finished": time.time(), "tag": spec.get("tag")}


def refuse(spec: Any, folder: Path, reporter: Reporter) -> None:
    """Fail as the engine does for input an analyst can fix."""
    raise DataError("The column 'amount' holds no numbers.")


def spent(spec: Any, folder: Path, reporter: Reporter) -> None:
    """Fail in a way that leaves the worker unfit for the next job."""
    raise SpentWorker(f"Worker {os.getpid()} ran out of memory.")


def bug(spec: Any, folder: Path, reporter: Reporter) -> None:
    """Fail as a bug does."""
    raise KeyError("missing")


def crash(spec: Any, folder: Path, reporter: Reporter) -> None:
    """End the worker process without a word, as a kernel out-of-memory kill does."""
    os._exit(9)


def hog(spec: Any, folder: Path, reporter: Reporter) -> int:
    """Hold ``spec['mb']`` MB of memory for ``spec['seconds']`` seconds."""
    block = bytearray(spec["mb"] << 20)
    for index in range(0, len(block), 4096):
        block[index] = 1
    time.sleep(spec["seconds"])
    return len(block)
