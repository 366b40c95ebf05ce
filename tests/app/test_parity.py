"""The command line and the workbench give the same campaign file for one bundle and one log.

Both call :mod:`clv_core.usecases`: scores, segments, the drivers (against the bundle's
training customers) and the file's columns must be identical byte for byte, for the session's
own network and for the same network uploaded as a bundle.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from clv_core.bundle import zip_bundle
from clv_core.cli import main
from clv_core.export import to_csv_bytes
from clv_core.language import Language
from clv_core.segments import TierScheme
from clv_core.usecases import CHURN_THRESHOLDS, campaign_list
from clv_ui import workflow
from clv_ui.forms import SegmentSettings
from clv_ui.state import WorkbenchState
from tests.app.conftest import SAMPLE

pytestmark = pytest.mark.slow


def _app_file(state: WorkbenchState, *, use_bundle: bool) -> bytes:
    """What the Segments page's CSV download holds with drivers on and no filter."""
    assert state.data.transactions is not None
    as_of = state.data.transactions.last_date.date()
    segmented, features = workflow.score_and_segment(
        state,
        use_bundle=use_bundle,
        as_of=as_of,
        settings=SegmentSettings(TierScheme(), CHURN_THRESHOLDS),
        language=Language.EN,
    )
    drivers = workflow.top_drivers(
        state, features, use_bundle=use_bundle, as_of=as_of, language=Language.EN
    )
    attributes = state.data.customers.frame if state.data.customers is not None else None
    return to_csv_bytes(campaign_list(segmented, drivers, attributes=attributes), excel_bom=False)


def _cli_file(bundle: Path, out: Path, as_of: str) -> bytes:
    code = main(
        [
            "score",
            "--model",
            str(bundle),
            "--transactions",
            str(SAMPLE / "transactions.csv"),
            "--customers",
            str(SAMPLE / "customers.csv"),
            "--as-of",
            as_of,
            "--explain",
            "--out",
            str(out),
        ]
    )
    assert code == 0
    return out.read_bytes()


def test_the_cli_and_the_app_write_the_same_campaign_file(
    trained_state: WorkbenchState, tmp_path: Path
) -> None:
    assert trained_state.model_dir is not None and trained_state.data.transactions is not None
    bundle = tmp_path / "bundle.zip"
    bundle.write_bytes(zip_bundle(trained_state.model_dir))
    as_of = trained_state.data.transactions.last_date.date().isoformat()
    cli = _cli_file(bundle, tmp_path / "cli.csv", as_of)
    own = _app_file(trained_state, use_bundle=False)
    assert own == cli, "the session's own network"
    workflow.load_bundle_upload(trained_state, bundle.read_bytes())
    uploaded = _app_file(trained_state, use_bundle=True)
    assert uploaded == cli, "the same network uploaded as a bundle"
    header = cli.splitlines()[0].decode()
    assert "driver_1" in header and "tier" in header
