"""Cold start of the workbench and time to train on the sample data, printed as one JSON object.

What is measured, in a real headless Chromium (Debian ``/usr/bin/chromium``) driven by
Playwright, with the project's ``.streamlit/config.toml`` as it is:

- ``cold_start``: ``streamlit run app.py`` is launched in a fresh process (the browser is already
  open, as an analyst's would be); ``server_ready_s`` is when Streamlit prints its URL,
  ``first_page_usable_s`` when the Data page's "Use sample data" button is visible. Repeated
  ``--repeat`` times, each with a new server and a new browser page. Target: 3 s.
- ``bare_streamlit``: the same measurement for a one-button Streamlit app written to a temporary
  folder with the same config: the floor that Streamlit and the browser set on this machine.
- ``sample``: on the last server of the cold-start runs, the seconds from clicking "Use sample
  data" to the validation report (``load_sample_s``; this is where pandas and the engine are first
  imported), and from clicking "Train" with the default settings to "Training finished."
  (``train_defaults_s``: TensorFlow's import, five ensemble members, calibration and the three
  baselines on the held-out customers).

Run from the repository root: ``python benchmarks/app_benchmark.py [--repeat N] [--out PATH]``.
Progress goes to stderr. The first repeat may read Python's files from disk; later ones find
them in the OS file cache, which is why the median is reported next to every run.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.e2e.browser import (  # noqa: E402
    CHROMIUM,
    CHROMIUM_FLAGS,
    StreamlitServer,
    log,
    versions,
)

TARGET_SECONDS = 3.0
BARE_APP = """import streamlit as st

st.set_page_config(page_title="bare", layout="wide")
st.title("Data")
st.button("Use sample data")
"""


def _cold_start(browser: Browser, folder: Path) -> tuple[dict[str, float], StreamlitServer, Page]:
    """Launch a server for ``folder`` and time it until the first page can be used."""
    page = browser.new_page(viewport={"width": 1400, "height": 1400})
    page.set_default_timeout(600_000)
    server = StreamlitServer(folder)
    page.goto(server.url)
    page.get_by_role("button", name="Use sample data").wait_for()
    usable = time.perf_counter() - server.started
    run = {
        "server_ready_s": round(server.ready_seconds, 3),
        "first_page_usable_s": round(usable, 3),
    }
    return run, server, page


def _summary(runs: list[dict[str, float]]) -> dict[str, Any]:
    usable = [run["first_page_usable_s"] for run in runs]
    return {
        "runs": runs,
        "first_page_usable_median_s": round(statistics.median(usable), 3),
        "first_page_usable_max_s": round(max(usable), 3),
    }


def _sample_and_train(page: Page) -> dict[str, float]:
    """Load the sample with one click, then train with the default settings."""
    main = page.locator('[data-testid="stMain"]')
    started = time.perf_counter()
    main.get_by_role("button", name="Use sample data").click()
    main.get_by_text("Validation report").wait_for()
    loaded = time.perf_counter() - started
    page.get_by_test_id("stSidebarNavItems").get_by_role("link", name="Train").click()
    button = main.get_by_role("button", name="Train", exact=True)
    button.wait_for()
    started = time.perf_counter()
    button.click()
    main.get_by_text("Training finished.").wait_for()
    trained = time.perf_counter() - started
    return {"load_sample_s": round(loaded, 3), "train_defaults_s": round(trained, 3)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="cold starts per app (default 5)")
    parser.add_argument("--out", type=Path, help="also write the JSON to this file")
    arguments = parser.parse_args()
    from playwright.sync_api import sync_playwright

    workbench: list[dict[str, float]] = []
    bare: list[dict[str, float]] = []
    with tempfile.TemporaryDirectory() as scratch, sync_playwright() as playwright:
        bare_folder = Path(scratch)
        (bare_folder / "app.py").write_text(BARE_APP, encoding="utf-8")
        (bare_folder / ".streamlit").mkdir()
        config = (ROOT / ".streamlit" / "config.toml").read_text(encoding="utf-8")
        (bare_folder / ".streamlit" / "config.toml").write_text(config, encoding="utf-8")
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_FLAGS
        )
        sample: dict[str, float] = {}
        for repeat in range(arguments.repeat):
            for folder, runs in ((bare_folder, bare), (ROOT, workbench)):
                run, server, page = _cold_start(browser, folder)
                runs.append(run)
                log(f"... {'workbench' if folder == ROOT else 'bare app'}: {run}")
                if folder == ROOT and repeat == arguments.repeat - 1:
                    log("... sample data and training with the default settings")
                    sample = _sample_and_train(page)
                page.close()
                server.stop()
        chromium_version = browser.version
        browser.close()

    cold = _summary(workbench)
    cold["target_s"] = TARGET_SECONDS
    cold["meets_target"] = cold["first_page_usable_median_s"] <= TARGET_SECONDS
    output = {
        "benchmark": "app",
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
            "chromium": chromium_version,
        },
        "versions": versions(),
        "cold_start": cold,
        "bare_streamlit": _summary(bare),
        "sample": sample,
    }
    text = json.dumps(output, indent=2)
    print(text)
    if arguments.out is not None:
        arguments.out.write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
