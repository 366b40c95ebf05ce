"""End to end in a real browser: upload, train, evaluate, explain, download the scored list;
and a per-customer table from upload to the scored list of new customers.

Starts ``streamlit run app.py`` on a free localhost port and drives it with Playwright in
Debian's headless Chromium (``/usr/bin/chromium``; ``.ci/run`` installs it). Screenshots go to
``CLV_SCREENSHOTS`` when that variable names a folder (the README's pictures are made this way),
otherwise to pytest's temporary folder.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd
import pytest

from clv_core.export import read_scored_csv
from tests.corpus.exports import build_corpus
from tests.corpus.public import CDNOW_PATH
from tests.e2e.browser import CHROMIUM, CHROMIUM_FLAGS, StreamlitServer

if TYPE_CHECKING:
    from playwright.sync_api import Page

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT_MS = 180_000

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian chromium (.ci/run installs it)"),
]


@pytest.fixture(scope="module")
def server() -> Iterator[StreamlitServer]:
    """A real Streamlit server for this module, stopped afterwards."""
    running = StreamlitServer(ROOT)
    yield running
    running.stop()


@pytest.fixture
def app_url(server: StreamlitServer, request: pytest.FixtureRequest) -> Iterator[str]:
    """The server's address; a failing test's report ends with what the server printed."""
    yield server.url
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        print("--- streamlit server output (last lines) ---\n" + "".join(server.output))


def navigate(page: Page, title: str) -> None:
    """Open a page through the sidebar navigation."""
    page.get_by_test_id("stSidebarNavItems").get_by_role("link", name=title).click()


@pytest.fixture
def page(app_url: str) -> Iterator[Page]:
    """A fresh headless Chromium page on the app's first page."""
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=TIMEOUT_MS)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_FLAGS
        )
        page = browser.new_page(viewport={"width": 1400, "height": 2200})
        page.set_default_timeout(TIMEOUT_MS)
        page.goto(app_url)
        yield page
        browser.close()


def upload_a_transaction_log(
    page: Page, path: Path, labels: dict[str, str], expected_rows: str
) -> None:
    """Upload a transaction log through the Data page's first file input, wait for its report."""
    from playwright.sync_api import expect

    main = page.locator('[data-testid="stMain"]')
    # The Data page draws its three uploaders one after the other: wait for all of them, so
    # that the first is the transaction log's (not whichever happens to be drawn yet).
    uploaders = page.locator('[data-testid="stFileUploader"]')
    expect(uploaders).to_have_count(3)
    uploaders.first.locator('input[type="file"]').set_input_files(str(path))
    expect(main.get_by_text(labels["report"])).to_be_visible()
    expect(main.get_by_text(expected_rows).first).to_be_visible()


def upload_and_train_a_tiny_network(
    page: Page, path: Path, labels: dict[str, str], expected_rows: str
) -> None:
    """Upload a transaction log, check its report, train a tiny network until it finishes."""
    from playwright.sync_api import expect

    main = page.locator('[data-testid="stMain"]')
    upload_a_transaction_log(page, path, labels, expected_rows)
    navigate(page, labels["train_page"])
    for field, value in (("layers", "8"), ("ensemble", "1"), ("epochs", "5")):
        page.get_by_label(labels[field], exact=True).fill(value)
    page.get_by_label(labels["epochs"], exact=True).press("Tab")
    main.get_by_role("button", name=labels["train"], exact=True).click()
    expect(main.get_by_text(labels["finished"])).to_be_visible()


ENGLISH = {
    "report": "Validation report",
    "train_page": "Train",
    "layers": "Hidden layers",
    "ensemble": "Ensemble size",
    "epochs": "Max epochs",
    "train": "Train",
    "finished": "Training finished.",
}
CHINESE = {
    "report": "校验报告",
    "train_page": "训练",
    "layers": "隐藏层",
    "ensemble": "集成网络数",
    "epochs": "最大轮数",
    "train": "开始训练",
    "finished": "训练完成。",
}


@pytest.fixture
def screenshots(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("CLV_SCREENSHOTS", tmp_path))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def test_upload_train_evaluate_explain_download(
    page: Page, screenshots: Path, tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    main = page.locator('[data-testid="stMain"]')
    # Data and Train: the sample transactions through the real file input, a tiny network.
    upload_and_train_a_tiny_network(
        page, ROOT / "sample_data" / "transactions.csv", ENGLISH, "30,426"
    )
    main.screenshot(path=str(screenshots / "train.png"))
    navigate(page, "Data")
    expect(main.get_by_text("Validation report")).to_be_visible()
    main.screenshot(path=str(screenshots / "data.png"))

    # Evaluate: the MLP next to the baselines on the same customers.
    navigate(page, "Evaluate")
    expect(main.get_by_text("Metrics on the same test customers")).to_be_visible()
    # The metrics table is a canvas grid; its cells exist for screen readers only.
    for label in ("BG/NBD + Gamma-Gamma", "LightGBM"):
        expect(main.get_by_text(label).first).to_be_attached()
    main.screenshot(path=str(screenshots / "evaluate.png"))

    # Explain: SHAP for a sample of customers.
    navigate(page, "Explain")
    main.get_by_role("button", name="Explain", exact=True).click()
    expect(main.get_by_text("Global importance")).to_be_visible()
    main.screenshot(path=str(screenshots / "explain.png"))

    # Segments & export: download the scored list and check it.
    navigate(page, "Segments & export")
    expect(main.get_by_role("button", name="Scored list (CSV)", exact=True)).to_be_visible()
    main.screenshot(path=str(screenshots / "segments.png"))
    scored = download_scored_list(page, "Scored list (CSV)", tmp_path / "scored.csv")
    assert {"customer_id", "predicted_clv", "rank", "tier", "churn_band", "action"} <= set(
        scored.columns
    )
    assert len(scored) > 1000
    assert scored["customer_id"].is_unique
    assert scored["predicted_clv"].is_monotonic_decreasing
    assert (scored["predicted_clv"] >= 0).all()
    assert {"High value", "Potential", "Regular", "Low value"} == set(scored["tier"])
    assert {"predicted_profit", "p_alive", "expected_next_order_date"} <= set(scored.columns)

    # Budget planner: 200 at 2 a contact reaches the 100 customers of highest net profit.
    main.get_by_text("Plan a budget for the selected customers").click()
    page.get_by_label("Budget", exact=True).fill("200")
    page.get_by_label("Cost per contact", exact=True).fill("2")
    page.get_by_label("Cost per contact", exact=True).press("Tab")
    expect(main.get_by_text("200.00", exact=True)).to_be_visible()
    expect(main.get_by_text("Customers to contact")).to_be_visible()
    main.screenshot(path=str(screenshots / "budget.png"))
    planned = download_scored_list(page, "Scored list (CSV)", tmp_path / "planned.csv")
    assert len(planned) == 100
    assert planned["expected_net_profit"].is_monotonic_decreasing
    assert set(planned["customer_id"]) <= set(scored["customer_id"])
    best = scored.sort_values("predicted_profit", ascending=False, kind="stable").head(100)
    assert set(planned["customer_id"]) == set(best["customer_id"])


def test_cdnow_in_chinese_from_upload_to_segmented_download(
    page: Page, screenshots: Path, tmp_path: Path
) -> None:
    """The real CDNOW log through the 中文 interface, down to the tiered campaign list."""
    from playwright.sync_api import expect

    cdnow = CDNOW_PATH
    main = page.locator('[data-testid="stMain"]')
    page.get_by_test_id("stSidebar").get_by_text("简体中文").click()
    expect(main.get_by_role("button", name="使用示例数据")).to_be_visible()
    upload_and_train_a_tiny_network(page, cdnow, CHINESE, "69,659")

    navigate(page, "评估")
    expect(main.get_by_text("同一批测试客户上的指标")).to_be_visible()
    main.screenshot(path=str(screenshots / "evaluate_cdnow_zh.png"))

    navigate(page, "分层与导出")
    scored = download_scored_list(page, "打分名单（CSV）", tmp_path / "scored_zh.csv")
    # CDNOW ids keep their leading zeros; every customer known at the cutoff is scored.
    assert scored["customer_id"].str.fullmatch(r"\d{5}").all()
    assert len(scored) == 23570
    assert set(scored["tier"]) == {"高价值", "潜力", "一般", "低价值"}
    assert set(scored["churn_band"]) <= {"低", "中", "高"}


def test_a_raw_erp_export_shows_how_spend_is_computed(
    page: Page, screenshots: Path, tmp_path: Path
) -> None:
    """An invoice-line export as downloaded: spend is Quantity × Price, guest lines are dropped."""
    from playwright.sync_api import expect

    export = build_corpus(tmp_path)["erp_invoice_lines"]
    main = page.locator('[data-testid="stMain"]')
    upload_a_transaction_log(
        page, export.files["transactions"], ENGLISH, f"{export.counts['lines']:,}"
    )
    expect(main.get_by_text("Spend and plausibility", exact=True)).to_be_visible()
    expect(main.get_by_text("Spend per line = Quantity × Price", exact=True)).to_be_visible()
    dropped = main.get_by_test_id("stMetric").filter(has_text="Rows dropped")
    expect(dropped.get_by_test_id("stMetricValue")).to_have_text(
        f"{export.counts['no_customer_id']:,}"
    )
    # The reasons table is a canvas grid; its cells exist for screen readers only.
    expect(main.get_by_text("customer id is empty", exact=True)).to_be_attached()
    main.screenshot(path=str(screenshots / "data_erp_export.png"))


def test_a_customer_table_from_upload_to_new_customers_scored(
    page: Page, screenshots: Path, tmp_path: Path
) -> None:
    """The article's own flow: a per-customer table trains the network; the bundle downloaded
    from the Train page and a table of new customers give the tiered list, and the command
    line scores the same bundle and table identically."""
    import zipfile

    from playwright.sync_api import expect

    from clv_core.cli import main as cli_main

    main = page.locator('[data-testid="stMain"]')
    expect(main.get_by_role("button", name="Use sample data")).to_be_visible()
    main.get_by_test_id("stRadio").get_by_text("Per-customer table with a target").click()
    expect(main.get_by_text("Per-customer table", exact=True)).to_be_visible()
    # The table's own uploader (the log's uploaders may still be on the page for a moment).
    table_input = page.get_by_role("region", name="Per-customer table", exact=True)
    table_input.locator('input[type="file"]').set_input_files(
        str(ROOT / "sample_data" / "customers_seed_zh.csv")
    )
    expect(main.get_by_text("Validation report")).to_be_visible()
    expect(main.get_by_text("1,704").first).to_be_visible()
    navigate(page, "Train")
    for field, value in (("layers", "8"), ("ensemble", "1"), ("epochs", "5")):
        page.get_by_label(ENGLISH[field], exact=True).fill(value)
    page.get_by_label(ENGLISH["epochs"], exact=True).press("Tab")
    main.get_by_role("button", name="Train", exact=True).click()
    expect(main.get_by_text("Training finished.")).to_be_visible()
    bundle = download(page, "Model bundle (.zip)", tmp_path / "bundle.zip")
    with zipfile.ZipFile(bundle) as archive:
        assert "meta.json" in archive.namelist()
        assert '"customer_table"' in archive.read("meta.json").decode("utf-8")

    navigate(page, "Segments & export")
    new_customers = ROOT / "sample_data" / "new_customers_seed_zh.csv"
    uploader = main.get_by_test_id("stFileUploader").filter(has_text="New customers to score")
    uploader.locator('input[type="file"]').set_input_files(str(new_customers))
    expect(main.get_by_text("523 of 523 customers selected.")).to_be_visible()
    main.screenshot(path=str(screenshots / "segments_table.png"))
    scored = download_scored_list(page, "Scored list (CSV)", tmp_path / "new_scored.csv")
    assert len(scored) == 523 and scored["customer_id"].is_unique
    assert set(scored["tier"]) == {"High value", "Potential", "Regular", "Low value"}

    cli_out = tmp_path / "cli_scored.csv"
    status = cli_main(
        [
            "score",
            "--model",
            str(bundle),
            "--customer-table",
            str(new_customers),
            "--segments",
            "--out",
            str(cli_out),
        ]
    )
    assert status == 0
    pd.testing.assert_frame_equal(read_scored_csv(cli_out.read_bytes()), scored, check_exact=True)


def download(page: Page, button: str, target: Path) -> Path:
    """Click a download button of the page and save the file."""
    from playwright.sync_api import expect

    download_button = page.locator('[data-testid="stMain"]').get_by_role(
        "button", name=button, exact=True
    )
    expect(download_button).to_be_visible()
    with page.expect_download() as download_info:
        download_button.click()
    download_info.value.save_as(target)
    return target


def download_scored_list(page: Page, button: str, target: Path) -> pd.DataFrame:
    """Click a download button, save the file and read it back as the export module does."""
    return read_scored_csv(download(page, button, target).read_bytes())
