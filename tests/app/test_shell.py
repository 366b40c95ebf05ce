"""The shell's promises that only a fresh interpreter can check: the first page a new session
sees is drawn without pandas or the engine's data modules (the cold-start budget), and the
engine's long-lived objects leave the garbage collector once Keras is loaded."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]

FIRST_RUN = """
import json, sys
from streamlit.testing.v1 import AppTest

app = AppTest.from_file(sys.argv[1], default_timeout=60)
app.run()
heavy = ("pandas", "numpy", "pyarrow", "openpyxl", "tensorflow", "keras", "shap", "lightgbm",
         "lifetimes", "sklearn", "clv_core.loading", "clv_core.validation", "clv_core.features",
         "clv_ui.cache", "clv_ui.widgets", "clv_ui.workflow", "clv_ui.charts")
print(json.dumps({
    "exceptions": [str(error.value) for error in app.exception],
    "buttons": [button.label for button in app.button],
    "uploaders": len(app.get("file_uploader")),
    "imported": sorted(name for name in heavy if name in sys.modules),
}))
"""


def _in_fresh_interpreter(code: str, *arguments: str) -> dict[str, Any]:
    """Run ``code`` in a new Python process from the repository root; its last line is JSON."""
    run = subprocess.run(
        [sys.executable, "-c", code, *arguments],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
        check=True,
    )
    outcome: dict[str, Any] = json.loads(run.stdout.strip().splitlines()[-1])
    return outcome


def test_first_page_renders_without_the_engine() -> None:
    outcome = _in_fresh_interpreter(FIRST_RUN, str(ROOT / "app.py"))
    assert outcome["exceptions"] == []
    assert outcome["buttons"] == ["Use sample data"]
    assert outcome["uploaders"] == 3
    assert outcome["imported"] == []


FREEZE = """
import gc, json, sys
from clv_ui.shell import freeze_engine_objects

freeze_engine_objects()
before_keras = gc.get_freeze_count()
from clv_core.mlp import import_keras

import_keras()
freeze_engine_objects()
frozen = gc.get_freeze_count()
freeze_engine_objects()
print(json.dumps({"before_keras": before_keras, "frozen": frozen, "again": gc.get_freeze_count()}))
"""


def test_engine_objects_are_frozen_once_keras_is_loaded() -> None:
    counts = _in_fresh_interpreter(FREEZE)
    assert counts["before_keras"] == 0, "nothing is frozen before TensorFlow is loaded"
    assert counts["frozen"] > 100_000, "Keras and TensorFlow's module objects"
    assert counts["again"] == counts["frozen"], "frozen once per process"


SERVER_WITH_WORKERS = """
import json, os, sys, time
os.environ["CLV_WORKERS"] = "1"
from streamlit.testing.v1 import AppTest
from clv_core.config import MlpConfig
from clv_ui.state import STATE_KEY

app = AppTest.from_file(sys.argv[1], default_timeout=300)
app.run()
app.button(key="use_sample").click().run()
state = app.session_state[STATE_KEY]
state.config = MlpConfig(hidden_layers=(4,), ensemble_size=1, max_epochs=2, patience=1)
app.switch_page("pages/train.py").run()
next(button for button in app.button if button.label == "Train").click().run()
deadline = time.monotonic() + 300
while not state.job.finished and time.monotonic() < deadline:
    time.sleep(0.5)
app.run()
finished = [success.value for success in app.success]
app.switch_page("pages/explain.py").run()
app.number_input(key="explain_sample").set_value(30)
app.number_input(key="explain_background").set_value(20)
app.button(key="explain_run").click().run()
app.switch_page("pages/segments.py").run()
print(json.dumps({
    "exceptions": [str(error.value) for error in app.exception],
    "errors": [error.value for error in app.error],
    "finished": finished,
    "explained": state.explanation is not None,
    "downloads": [button.label for button in app.get("download_button")],
    "imported": sorted(name for name in ("tensorflow", "keras", "shap") if name in sys.modules),
}))
"""


def test_the_server_trains_explains_and_scores_without_tensorflow() -> None:
    """Training, SHAP and scoring run in a worker process; the server never loads TensorFlow,
    so Streamlit's per-run Keras clean-up has nothing to clear."""
    outcome = _in_fresh_interpreter(SERVER_WITH_WORKERS, str(ROOT / "app.py"))
    assert outcome["exceptions"] == [] and outcome["errors"] == []
    assert outcome["finished"] == ["Training finished."]
    assert outcome["explained"]
    assert outcome["downloads"] == [
        "Scored list (CSV)",
        "Scored list (XLSX)",
        "Model bundle (.zip)",
    ]
    assert outcome["imported"] == []
