"""A real Streamlit server and the Chromium settings, shared by the browser test and the
browser benchmarks (``benchmarks/app_benchmark.py``, ``benchmarks/load_benchmark.py``)."""

from __future__ import annotations

import collections
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
READY_MARKER = "You can now view your Streamlit app"


def free_port() -> int:
    """A localhost port that is free now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class StreamlitServer:
    """``streamlit run app.py`` in ``folder`` (with that folder's .streamlit/config.toml) on a
    free localhost port, timed from its launch; the constructor returns once it serves."""

    def __init__(self, folder: Path) -> None:
        self.port = free_port()
        self.started = time.perf_counter()
        self.process = subprocess.Popen(
            [
                sys.executable, "-m", "streamlit", "run", "app.py",
                "--server.port", str(self.port), "--server.address", "127.0.0.1",
            ],
            cwd=folder,
            # A real server has its worker processes (the test suite runs jobs inline).
            env={name: value for name, value in os.environ.items() if name != "CLV_WORKERS"},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )  # fmt: skip
        assert self.process.stdout is not None
        lines: list[str] = []
        for line in self.process.stdout:
            lines.append(line)
            if READY_MARKER in line:
                break
        else:
            self.process.wait()
            raise RuntimeError(f"streamlit did not start in {folder}:\n" + "".join(lines))
        self.ready_seconds = time.perf_counter() - self.started
        # Keep reading so the server never blocks on a full pipe; the last lines are kept for
        # a failing test's report.
        self.output: collections.deque[str] = collections.deque(lines, maxlen=300)
        threading.Thread(target=self._read_output, daemon=True).start()

    def _read_output(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.output.append(line)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)


def log(message: str) -> None:
    """A benchmark's progress line, on stderr (stdout carries its JSON)."""
    print(message, file=sys.stderr, flush=True)


def versions() -> dict[str, str]:
    """The versions of the packages a browser benchmark's figures depend on."""
    from importlib.metadata import PackageNotFoundError, version

    found = {}
    for package in ("streamlit", "tensorflow-cpu", "keras", "pandas", "playwright"):
        try:
            found[package] = version(package)
        except PackageNotFoundError:
            found[package] = "not installed"
    return found
