"""The command line and the workbench give the same campaign file for one bundle and one log.

Both call :mod:`clv_core.usecases`: scores, profit with the same margin and discount rate,
segments, the drivers (against the bundle's training customers), a budget plan and the file's
columns must be identical byte for byte, for the session's own network and for the same network
uploaded as a bundle.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from clv_core.budget import BudgetRequest
from clv_core.bundle import zip_bundle
from clv_core.cli import main
from clv_core.export import to_csv_bytes
from clv_core.language import Language
from clv_core.segments import TierScheme
from clv_core.usecases import CHURN_THRESHOLDS, campaign_list
from clv_core.value import ValueSettings
from clv_ui import workflow
from clv_ui.forms import SegmentSettings
from clv_ui.state import WorkbenchState
from tests.app.conftest import SAMPLE

pytestmark = pytest.mark.slow


# A margin, a discount rate and a budget as an analyst gives them on both sides.
VALUE = ValueSettings(margin=0.35, annual_discount_rate=0.08)
VALUE_ARGUMENTS = ["--margin", "0.35", "--discount-rate", "0.08"]
BUDGET = BudgetRequest(budget=60.0, cost_per_contact=1.5)
BUDGET_ARGUMENTS = ["--budget", "60", "--cost-per-contact", "1.5"]


def _app_file(
    state: WorkbenchState, *, use_bundle: bool, budget: BudgetRequest | None = None
) -> bytes:
    """What the Segments page's CSV download holds with drivers on and no filter (with a
    budget: the planned list)."""
    assert state.data.transactions is not None
    as_of = state.data.transactions.last_date.date()
    segmented, features, plan = workflow.score_and_segment(
        state,
        use_bundle=use_bundle,
        as_of=as_of,
        settings=SegmentSettings(TierScheme(), CHURN_THRESHOLDS),
        value=VALUE,
        language=Language.EN,
    )
    drivers = workflow.top_drivers(
        state, features, use_bundle=use_bundle, as_of=as_of, language=Language.EN
    )
    attributes = state.data.customers.frame if state.data.customers is not None else None
    listing = campaign_list(segmented, drivers, attributes=attributes)
    if budget is not None:
        listing = plan.budget(listing, budget).selected
    return to_csv_bytes(listing, excel_bom=False)


def _cli_file(bundle: Path, out: Path, as_of: str, *extra: str) -> bytes:
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
            *VALUE_ARGUMENTS,
            *extra,
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
    assert "driver_1" in header and "tier" in header and "predicted_profit" in header
    planned = _cli_file(bundle, tmp_path / "planned.csv", as_of, *BUDGET_ARGUMENTS)
    assert _app_file(trained_state, use_bundle=True, budget=BUDGET) == planned, "a budget plan"
    assert len(planned.splitlines()) == 1 + 40


def _app_table_file(state: WorkbenchState) -> bytes:
    """The Segments page's CSV for a per-customer table: drivers on, no filter."""
    segmented, scores, _ = workflow.score_table_and_segment(
        state,
        use_bundle=True,
        settings=SegmentSettings(TierScheme(), CHURN_THRESHOLDS),
        value=VALUE,
        language=Language.EN,
    )
    features = scores.scored.features
    drivers = workflow.table_top_drivers(state, features, use_bundle=True, language=Language.EN)
    listing = campaign_list(segmented, drivers, attributes=features)
    if len(scores.extra.columns):
        listing = listing.join(scores.extra, on="customer_id")
    return to_csv_bytes(listing, excel_bom=False)


@pytest.mark.parametrize("table", ["new_customers_seed_zh.csv", "customers_seed_zh.csv"])
def test_the_cli_and_the_app_score_a_customer_table_alike(table: str, tmp_path: Path) -> None:
    from clv_core.loading import load_table
    from clv_core.usecases import check_customer_table, train_table_bundle
    from tests.app.conftest import TINY

    training = check_customer_table(load_table(SAMPLE / "customers_seed_zh.csv"))
    folder = train_table_bundle(training, tmp_path / "bundle", config=TINY).folder
    bundle = tmp_path / "bundle.zip"
    bundle.write_bytes(zip_bundle(folder))
    state = WorkbenchState(config=TINY)
    workflow.load_bundle_upload(state, bundle.read_bytes())
    data = (SAMPLE / table).read_bytes()
    workflow.load_new_customers(state, data, table, 200)
    own = _app_table_file(state)
    out = tmp_path / "cli.csv"
    arguments = ["score", "--model", str(bundle), "--customer-table", str(SAMPLE / table)]
    assert main([*arguments, "--explain", *VALUE_ARGUMENTS, "--out", str(out)]) == 0
    assert own == out.read_bytes()
    header = own.splitlines()[0].decode()
    assert ("known_value" in header) == (table == "customers_seed_zh.csv")


def test_the_cli_and_the_app_monitor_a_bundle_alike(
    trained_state: WorkbenchState, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The monitoring report of one bundle and one log: the same document everywhere (only
    the name of the monitored bundle differs)."""
    assert trained_state.model_dir is not None
    bundle = tmp_path / "bundle.zip"
    bundle.write_bytes(zip_bundle(trained_state.model_dir))
    arguments = ["monitor", "--model", str(bundle), "--transactions"]
    arguments += [str(SAMPLE / "transactions.csv"), "--customers", str(SAMPLE / "customers.csv")]
    capsys.readouterr()
    assert main([*arguments, "--json"]) == 0
    cli = json.loads(capsys.readouterr().out)
    cli.pop("validation")
    workflow.load_bundle_upload(trained_state, bundle.read_bytes())
    app = workflow.monitor_model(trained_state, use_bundle=True, language=Language.EN).data
    for report in (cli, app):
        report["bundle"].pop("source")
    assert json.loads(json.dumps(app)) == cli
    assert cli["customers"] > 1000 and cli["window"]["complete"]
