"""Smoke and interaction tests of the app and its pages (AppTest, no browser)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from clv_core.cli import main as cli_main
from clv_core.columns import InputShape
from clv_core.evaluation import ModelName
from clv_core.language import Language
from clv_core.loading import load_table
from clv_ui.state import STATE_KEY, WorkbenchState
from clv_ui.workflow import bundle_zip
from tests.app.conftest import SAMPLE, TINY
from tests.corpus.exports import CorpusExport, build_corpus

PAGES = [
    "pages/data.py",
    "pages/train.py",
    "pages/evaluate.py",
    "pages/explain.py",
    "pages/segments.py",
]


def _state(app: AppTest) -> WorkbenchState:
    state = app.session_state[STATE_KEY]
    assert isinstance(state, WorkbenchState)
    return state


def test_app_starts_on_the_data_page(make_app: Callable[..., AppTest]) -> None:
    app = make_app()
    assert not app.exception
    assert app.title[0].value == "Data"
    assert any(button.label == "Use sample data" for button in app.button)


@pytest.mark.parametrize("page", PAGES[1:])
def test_pages_without_data_show_their_guard(make_app: Callable[..., AppTest], page: str) -> None:
    app = make_app(page=page)
    assert not app.exception
    assert app.info, "the guard explains what is missing"
    assert app.get("page_link"), "the guard links to the page that fixes it"


def test_use_sample_data_loads_and_validates(make_app: Callable[..., AppTest]) -> None:
    app = make_app()
    app.button(key="use_sample").click().run()
    assert not app.exception
    state = _state(app)
    assert state.data.transactions is not None
    assert state.data.customers is not None
    report = state.data.transactions.report
    assert report.rows_read == report.rows_used + report.rows_dropped
    assert len(app.get("plotly_chart")) == 3
    assert app.date_input, "cutoff is offered"


def test_switching_language_translates_labels(make_app: Callable[..., AppTest]) -> None:
    app = make_app()
    assert app.radio(key="language").options == ["English", "简体中文"]
    # AppTest (streamlit 1.67) does not redraw the st.navigation frame script's sidebar widgets on a
    # rerun, so the switch is made the way the radio's callback makes it: in the state.
    _state(app).language = Language.ZH
    app.run()
    assert not app.exception
    assert app.title[0].value == "数据"
    assert any(button.label == "使用示例数据" for button in app.button)


@pytest.mark.parametrize("page", PAGES)
def test_every_page_renders_its_content_with_a_trained_state(
    make_app: Callable[..., AppTest], trained_state: WorkbenchState, page: str
) -> None:
    app = make_app(trained_state, page)
    assert not app.exception
    assert not app.info or page == "pages/explain.py", [info.value for info in app.info]
    assert not app.get("page_link") or page in ("pages/data.py", "pages/train.py")


def test_evaluate_page_compares_every_model_on_the_same_customers(
    make_app: Callable[..., AppTest], trained_state: WorkbenchState
) -> None:
    app = make_app(trained_state, "pages/evaluate.py")
    table = app.dataframe[0].value
    assert list(table.iloc[:, 0]) == [
        "MLP (network)",
        "BG/NBD + Gamma-Gamma",
        "LightGBM",
        "Historical rate",
    ]
    specs = [chart.proto.spec for chart in app.get("plotly_chart")]
    assert len(specs) == 3
    assert "Perfect ranking" in specs[0]


def test_evaluate_page_offers_the_split_not_yet_run(
    make_app: Callable[..., AppTest], trained_state: WorkbenchState
) -> None:
    app = make_app(trained_state, "pages/evaluate.py")
    app.radio(key="evaluate_split").set_value("time").run()
    assert not app.exception
    assert app.button(key="evaluate_run")


def test_train_page_trains_a_tiny_model_and_shows_the_result(
    make_app: Callable[..., AppTest], data_state: WorkbenchState
) -> None:
    app = make_app(data_state, "pages/train.py")
    assert app.text_input(key="mlp_hidden_layers").value == "4"
    assert app.number_input(key="mlp_interval_coverage"), "advanced fields are in the form"
    next(button for button in app.button if button.label == "Train").click().run()
    assert not app.exception
    assert [success.value for success in app.success] == ["Training finished."]
    state = _state(app)
    assert state.result is not None and state.model_dir is not None
    assert (state.model_dir / "model.keras").is_file(), "the network came back as a bundle"
    assert app.get("plotly_chart"), "the loss curve of the finished run"


def test_invalid_configuration_is_an_analyst_error(
    make_app: Callable[..., AppTest], data_state: WorkbenchState
) -> None:
    app = make_app(data_state, "pages/train.py")
    app.text_input(key="mlp_hidden_layers").set_value("4, lots")
    next(button for button in app.button if button.label == "Train").click().run()
    assert not app.exception
    assert "hidden_layers" in app.error[0].value
    assert _state(app).job is None


def test_changing_a_mapping_select_revalidates(
    make_app: Callable[..., AppTest], data_state: WorkbenchState
) -> None:
    app = make_app(data_state)
    app.button(key="use_sample").click().run()
    digest = _state(app).data.table_digest
    app.selectbox(key=f"map_order_id_{digest}").select_index(0).run()
    assert not app.exception
    state = _state(app)
    assert state.data.mapping is not None and state.data.mapping.order_id is None
    assert state.data.transactions is not None
    assert "order_id" not in state.data.transactions.frame.columns


def test_upload_a_transaction_file(make_app: Callable[..., AppTest]) -> None:
    app = make_app()
    data = (SAMPLE / "transactions.csv").read_bytes()
    app.file_uploader(key="upload_transactions").upload("orders.csv", data, "text/csv").run()
    assert not app.exception
    state = _state(app)
    assert state.data.transactions is not None
    assert state.data.table is not None and state.data.table.source_name == "orders.csv"


def test_the_latest_action_wins_between_an_upload_and_the_sample(
    make_app: Callable[..., AppTest],
) -> None:
    app = make_app()
    data = (SAMPLE / "transactions.csv").read_bytes()
    app.file_uploader(key="upload_transactions").upload("orders.csv", data, "text/csv").run()
    app.button(key="use_sample").click().run()
    app.run()
    assert not app.exception
    table = _state(app).data.table
    assert table is not None and table.source_name == "transactions.csv", "the file stays unread"
    assert not app.status, "the status box of a successful read is removed"
    other = data.replace(b"\n", b"\r\n")
    app.file_uploader(key="upload_transactions").upload("newer.csv", other, "text/csv").run()
    table = _state(app).data.table
    assert table is not None and table.source_name == "newer.csv"


def test_an_unreadable_upload_keeps_its_error_and_the_loaded_data(
    make_app: Callable[..., AppTest], data_state: WorkbenchState
) -> None:
    app = make_app(data_state)
    binary = bytes(range(256)) * 40
    app.file_uploader(key="upload_transactions").upload("orders.csv", binary, "text/csv").run()
    assert [(box.label, box.state) for box in app.status] == [("Reading orders.csv ...", "error")]
    for _ in range(2):
        assert not app.exception
        assert len(app.error) == 1 and "binary" in app.error[0].value
        app.run()
    assert _state(app).data.transactions is not None, "the sample is still loaded"


def test_an_upload_with_unmapped_roles_keeps_its_error_until_mapped(
    make_app: Callable[..., AppTest],
) -> None:
    app = make_app()
    orders = b"buyer,day,paid\n1,2024-01-05,10\n1,2024-02-05,12\n2,2024-01-09,7\n"
    app.file_uploader(key="upload_transactions").upload("orders.csv", orders, "text/csv").run()
    for _ in range(2):
        assert not app.exception
        assert (
            len(app.error) == 1 and "orders.csv is missing required columns" in app.error[0].value
        )
        app.run()
    assert "no amount column" in app.error[0].value, "buyer and day were recognised"
    digest = _state(app).data.table_digest
    app.selectbox(key=f"map_amount_{digest}").set_value("paid").run()
    assert not app.exception and not app.error
    transactions = _state(app).data.transactions
    assert transactions is not None and len(transactions.frame) == 3


def test_upload_of_a_chinese_customer_table(make_app: Callable[..., AppTest]) -> None:
    app = make_app()
    app.radio(key="data_shape").set_value(InputShape.CUSTOMER_TABLE).run()
    data = (SAMPLE / "customers_seed_zh.csv").read_bytes()
    app.file_uploader(key="upload_table").upload("seed.csv", data, "text/csv").run()
    assert not app.exception
    state = _state(app)
    assert state.data.customer_table is not None
    # The table trains and evaluates with a customer split ...
    state.config = TINY
    app.switch_page("pages/train.py").run()
    next(button for button in app.button if button.label == "Train").click().run()
    assert not app.exception
    assert [success.value for success in app.success] == ["Training finished."]
    result = _state(app).result
    assert result is not None and _state(app).model_dir is not None
    assert result.n_customers == 1704
    assert "needs a transaction log" in str(result.results[ModelName.BGNBD_GG].error)
    assert [button.label for button in app.get("download_button")] == ["Model bundle (.zip)"]
    app.switch_page("pages/evaluate.py").run()
    assert not app.exception
    # The training table itself is scored out of fold, next to the known value ...
    app.switch_page("pages/segments.py").run()
    assert not app.exception and not app.error
    assert any("out_of_fold" in info.value for info in app.info)
    preview = next(frame.value for frame in app.dataframe if "rank" in frame.value.columns)
    assert {"known_value", "prediction_basis"} <= set(preview.columns)
    basis = set(preview["prediction_basis"])
    assert "held_out" in basis and "out_of_fold" in basis
    assert len(app.get("plotly_chart")) == 4  # with the revenue per month
    # ... and a table of new customers gets its tiered list.
    new = (SAMPLE / "new_customers_seed_zh.csv").read_bytes()
    app.file_uploader(key="upload_new_customers").upload("new.csv", new, "text/csv").run()
    assert not app.exception and not app.error
    preview = next(frame.value for frame in app.dataframe if "rank" in frame.value.columns)
    assert len(preview) == 500 and "known_value" not in preview.columns  # the first 500 shown
    assert set(preview["tier"]) <= {"High value", "Potential", "Regular", "Low value"}
    assert any("523 customers" in caption.value for caption in app.caption)
    labels = [button.label for button in app.get("download_button")]
    assert labels == ["Scored list (CSV)", "Scored list (XLSX)", "Model bundle (.zip)"]


def test_a_table_bundle_scores_new_customers_without_any_data(
    make_app: Callable[..., AppTest], tmp_path: Path
) -> None:
    from clv_core.usecases import check_customer_table, train_table_bundle

    table = check_customer_table(load_table(SAMPLE / "customers_seed_zh.csv"))
    folder = train_table_bundle(table, tmp_path / "bundle", config=TINY).folder
    app = make_app(WorkbenchState(config=TINY), "pages/segments.py")
    assert app.info, "without data or a model the page guards"
    app.file_uploader(key="upload_bundle").upload(
        "model.zip", bundle_zip(folder), "application/zip"
    ).run()
    assert not app.exception
    assert "upload a table of customers" in app.info[-1].value
    new = (SAMPLE / "new_customers_seed_zh.csv").read_bytes()
    app.file_uploader(key="upload_new_customers").upload("new.csv", new, "text/csv").run()
    assert not app.exception and not app.error
    assert len(_state(app).table_scores) == 1
    labels = [button.label for button in app.get("download_button")]
    assert labels == ["Scored list (CSV)", "Scored list (XLSX)"]
    missing = b"\xd3\xc3\xbb\xa7ID,x\nC1,1\n"  # GB18030 "用户ID" and an unrelated column
    app.file_uploader(key="upload_new_customers").upload("bad.csv", missing, "text/csv").run()
    assert not app.exception
    assert "the model was trained on" in app.error[0].value


def test_segments_page_offers_downloads(
    make_app: Callable[..., AppTest], trained_state: WorkbenchState
) -> None:
    app = make_app(trained_state, "pages/segments.py")
    labels = [button.label for button in app.get("download_button")]
    assert labels == ["Scored list (CSV)", "Scored list (XLSX)", "Model bundle (.zip)"]
    assert len(app.get("plotly_chart")) == 4  # with the revenue per month


@pytest.mark.slow
def test_export_options_add_attribute_columns_and_drivers(
    make_app: Callable[..., AppTest], trained_state: WorkbenchState
) -> None:
    app = make_app(trained_state, "pages/segments.py")
    app.multiselect(key="export_passthrough").set_value(["channel"]).run()
    app.checkbox(key="export_drivers").check().run()
    assert not app.exception
    preview = next(frame.value for frame in app.dataframe if "rank" in frame.value.columns)
    assert {"channel", "driver_1", "driver_2", "driver_3"} <= set(preview.columns)
    assert preview["driver_1"].str.contains(" = ").all()
    assert len(_state(app).drivers) == 1  # computed once, kept for the next reruns


@pytest.mark.slow
def test_explain_page_computes_shap_and_finds_a_customer(
    make_app: Callable[..., AppTest], trained_state: WorkbenchState
) -> None:
    app = make_app(trained_state, "pages/explain.py")
    app.number_input(key="explain_sample").set_value(40)
    app.number_input(key="explain_background").set_value(20)
    app.button(key="explain_run").click().run()
    assert not app.exception
    explanation = _state(app).explanation
    assert explanation is not None
    assert len(app.get("plotly_chart")) == 4
    wanted = str(explanation.customer_ids[0])
    app.text_input(key="explain_search").set_value(wanted).run()
    assert app.selectbox(key="explain_customer").value == wanted
    app.text_input(key="explain_search").set_value("no such customer").run()
    assert not app.exception
    assert "no such customer" in app.info[-1].value


def test_uploaded_bundle_scores_without_retraining(
    make_app: Callable[..., AppTest], data_state: WorkbenchState, tiny_model_dir: Path
) -> None:
    bundle = bundle_zip(tiny_model_dir)
    app = make_app(data_state, "pages/segments.py")
    assert app.info, "without a model the page guards"
    app.file_uploader(key="upload_bundle").upload("model.zip", bundle, "application/zip").run()
    assert not app.exception
    assert _state(app).bundle_path is not None
    labels = [button.label for button in app.get("download_button")]
    assert labels == ["Scored list (CSV)", "Scored list (XLSX)"]


def test_a_broken_bundle_upload_is_an_analyst_error(
    make_app: Callable[..., AppTest], trained_state: WorkbenchState
) -> None:
    app = make_app(trained_state, "pages/segments.py")
    junk = b"PK\x03\x04 this is not a model bundle"
    app.file_uploader(key="upload_bundle").upload("model.zip", junk, "application/zip").run()
    assert not app.exception
    assert [error.value for error in app.error] == [
        "The model bundle is not a valid .zip archive, or it is damaged (File is not a zip file)."
    ]
    assert _state(app).bundle_path is None
    assert app.get("download_button"), "the session's own model still scores and exports"


def test_segment_filters_select_customers(
    make_app: Callable[..., AppTest], trained_state: WorkbenchState
) -> None:
    app = make_app(trained_state, "pages/segments.py")
    app.multiselect(key="filter_tiers").set_value(["High value"]).run()
    assert not app.exception
    caption = next(c.value for c in app.caption if "customers selected" in c.value)
    selected, total = (int(part.replace(",", "")) for part in caption.split()[0:3:2])
    assert 0 < selected < total


def test_scores_are_kept_across_reruns_and_dropped_for_a_new_model(
    make_app: Callable[..., AppTest], trained_state: WorkbenchState, tiny_job_folder: Path
) -> None:
    app = make_app(trained_state, "pages/segments.py")
    [(key, scored)] = _state(app).scores.items()
    app.multiselect(key="filter_tiers").set_value(["High value"]).run()
    assert _state(app).scores[key] is scored, "a filter does not score again"
    bundle = bundle_zip(tiny_job_folder / "model")
    app.file_uploader(key="upload_bundle").upload("model.zip", bundle, "application/zip").run()
    assert not app.exception
    assert _state(app).scores[key] is not scored, "a new model's scores are computed afresh"
    app.radio(key="segment_source").set_value("bundle").run()
    assert {model for model, _ in _state(app).scores} == {key[0], "bundle"}


def test_segment_profile_headers_follow_the_language(
    make_app: Callable[..., AppTest], trained_state: WorkbenchState
) -> None:
    trained_state.language = Language.ZH
    app = make_app(trained_state, "pages/segments.py")
    assert not app.exception
    [profile] = [frame for frame in app.dataframe if "n_customers" in frame.value.columns]
    columns = json.loads(profile.proto.columns)
    assert columns["n_customers"]["label"] == "客户数"
    assert columns["share_of_customers"]["type_config"]["format"] == "percent"
    assert columns["mean_n_orders"]["label"] == "平均：订单数"


def test_invalid_tier_shares_are_reported(
    make_app: Callable[..., AppTest], trained_state: WorkbenchState
) -> None:
    app = make_app(trained_state, "pages/segments.py")
    app.text_input(key="segment_shares").set_value("50, 20").run()
    assert not app.exception
    assert app.error and "shares" in app.error[0].value


# Raw exports as analysts download them (tests/corpus), through the Data page's inputs.
MONEY_METRICS = [
    "Median order value",
    "99th percentile order",
    "Negative lines",
    "Zero lines",
    "Orders per customer",
]
SPEND_SENTENCE = ":material/calculate: **{}**"


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> dict[str, CorpusExport]:
    """The five seeded exports, written once for this module."""
    return build_corpus(tmp_path_factory.mktemp("corpus"))


def _upload(app: AppTest, key: str, path: Path) -> AppTest:
    """Put ``path`` into the upload input ``key`` (the caller runs the app)."""
    return app.file_uploader(key=key).upload(path.name, path.read_bytes(), "text/csv")


def _spend_sentences(app: AppTest) -> list[str]:
    return [text.value for text in app.markdown if text.value.startswith(":material/calculate:")]


def _apply_buttons(app: AppTest) -> dict[str, str]:
    return {
        button.key: button.label
        for button in app.button
        if button.key and button.key.startswith("apply_suggestion_")
    }


def test_a_raw_erp_export_is_spend_quantity_times_price(
    make_app: Callable[..., AppTest], corpus: dict[str, CorpusExport]
) -> None:
    export = corpus["erp_invoice_lines"]
    app = make_app()
    _upload(app, "upload_transactions", export.files["transactions"]).run()
    assert not app.exception and not app.error
    assert _spend_sentences(app) == [SPEND_SENTENCE.format("Spend per line = Quantity × Price")]
    assert [metric.label for metric in app.metric][-5:] == MONEY_METRICS
    assert not _apply_buttons(app), "nothing to suggest for a correctly read export"
    transactions = _state(app).data.transactions
    assert transactions is not None
    net_spend = transactions.frame["amount"].sum()
    assert net_spend == pytest.approx(export.true_spend.sum(), rel=0.005)
    assert transactions.report.dropped["missing_customer_id"] == export.counts["no_customer_id"]


def test_a_suggestion_puts_the_money_columns_back(
    make_app: Callable[..., AppTest], corpus: dict[str, CorpusExport]
) -> None:
    """The grocery AMOUNT column counts items; choosing it as spend is caught and undone."""
    export = corpus["grocery_line_items"]
    app = make_app()
    _upload(app, "upload_transactions", export.files["transactions"]).run()
    digest = _state(app).data.table_digest
    assert _spend_sentences(app) == [SPEND_SENTENCE.format("Spend per line = SALES_VALUE")]
    app.selectbox(key=f"map_amount_{digest}").set_value("AMOUNT").run()
    app.selectbox(key=f"map_quantity_{digest}").select_index(0).run()
    assert not app.exception
    mapping = _state(app).data.mapping
    assert mapping is not None and (mapping.amount, mapping.quantity) == ("AMOUNT", None)
    assert any("'AMOUNT' is a small whole number" in warning.value for warning in app.warning)
    key = "apply_suggestion_0_spend_small_integers"
    assert _apply_buttons(app)[key] == (
        "Apply: Amount (line or order total) = SALES_VALUE; Quantity = AMOUNT"
    )

    app.button(key=key).click().run()
    assert not app.exception
    mapping = _state(app).data.mapping
    assert mapping is not None and (mapping.amount, mapping.quantity) == ("SALES_VALUE", "AMOUNT")
    assert app.selectbox(key=f"map_amount_{digest}").value == "SALES_VALUE"
    assert app.selectbox(key=f"map_quantity_{digest}").value == "AMOUNT"
    assert not app.warning and not _apply_buttons(app)
    transactions = _state(app).data.transactions
    assert transactions is not None
    assert transactions.frame["amount"].sum() == pytest.approx(export.true_spend.sum(), rel=0.005)


@pytest.mark.parametrize("in_one_go", [True, False], ids=["in_one_go", "orders_first"])
def test_a_two_file_shop_export_is_joined_on_the_order_id(
    make_app: Callable[..., AppTest], corpus: dict[str, CorpusExport], in_one_go: bool
) -> None:
    export = corpus["shop_orders"]
    app = make_app()
    _upload(app, "upload_transactions", export.files["transactions"])
    if not in_one_go:
        # The orders alone have no money: the error is shown with the mapping selects in the
        # same run (they fix it); adding the lines must not keep their choices.
        app.run()
        assert "no amount column" in app.error[0].value
        assert app.selectbox, "the mapping selects are drawn"
    _upload(app, "upload_order_lines", export.files["order_lines"]).run()
    assert not app.exception and not app.error
    transactions = _state(app).data.transactions
    assert transactions is not None
    report, counts = transactions.report, export.counts
    assert report.source_name == "shop_orders.csv + shop_order_lines.csv"
    assert {
        reason: report.dropped.get(reason, 0)
        for reason in ("unknown_order", "order_refunded", "order_cancelled", "order_unpaid")
    } == {
        "unknown_order": counts["unknown_order"],
        "order_refunded": counts["status_refunded"],
        "order_cancelled": counts["status_cancelled"],
        "order_unpaid": counts["status_unpaid"],
    }
    assert _spend_sentences(app) == [
        SPEND_SENTENCE.format(
            "Spend per line = Lineitem quantity × Lineitem price − Lineitem discount"
        )
    ]
    quantity = next(select for select in app.selectbox if select.label == "Quantity")
    assert quantity.value == "Lineitem quantity", "the selects offer the lines' columns"
    assert transactions.frame["amount"].sum() == pytest.approx(export.true_spend.sum(), rel=0.005)


def test_without_baskets_every_line_is_an_order(
    make_app: Callable[..., AppTest], corpus: dict[str, CorpusExport]
) -> None:
    export = corpus["grocery_line_items"]
    app = make_app()
    _upload(app, "upload_transactions", export.files["transactions"]).run()
    transactions = _state(app).data.transactions
    assert transactions is not None and len(transactions.frame) == export.counts["orders"]
    app.checkbox(key=f"baskets_{_state(app).data.table_digest}").uncheck().run()
    assert not app.exception
    transactions = _state(app).data.transactions
    assert transactions is not None and len(transactions.frame) == export.counts["lines"]


def test_the_chinese_interface_names_the_paid_amount(
    make_app: Callable[..., AppTest], corpus: dict[str, CorpusExport]
) -> None:
    export = corpus["cn_marketplace"]
    app = make_app()
    _state(app).language = Language.ZH
    app.run()
    _upload(app, "upload_transactions", export.files["transactions"]).run()
    assert not app.exception and not app.error
    assert "消费金额与合理性检查" in [header.value for header in app.subheader]
    assert _spend_sentences(app) == [SPEND_SENTENCE.format("每行消费 = 实付金额")]
    transactions = _state(app).data.transactions
    assert transactions is not None
    assert transactions.report.dropped["guest_customer_id"] == export.counts["guest_placeholder"]


def test_a_dominant_placeholder_id_can_be_treated_as_guests(
    make_app: Callable[..., AppTest],
) -> None:
    """Twelve customers with two orders each, and a till id with 30 orders and 73% of spend."""
    rows = ["customer,order_date,order_number,amount"]
    rows += [
        f"C{customer:02d},2024-0{month}-{10 + customer},O{customer}-{month},{20.5 + customer:.2f}"
        for customer in range(12)
        for month in (1, 2)
    ]
    rows += [f"99999,2024-03-{day:02d},G{day},{40.0 + day:.2f}" for day in range(1, 31)]
    app = make_app()
    data = ("\n".join(rows) + "\n").encode()
    app.file_uploader(key="upload_transactions").upload("till.csv", data, "text/csv").run()
    assert not app.exception and not app.error
    assert any(
        "Customer id '99999' holds 73% of all spend" in warning.value for warning in app.warning
    )
    key = "apply_suggestion_0_dominant_customer_spend"
    assert _apply_buttons(app) == {key: "Apply: treat '99999' as guests"}

    app.button(key=key).click().run()
    assert not app.exception and not _apply_buttons(app)
    transactions = _state(app).data.transactions
    assert transactions is not None
    assert transactions.report.dropped["guest_customer_id"] == 30
    guests = "Treated as guests (dropped and counted): 99999"
    assert guests in [caption.value for caption in app.caption]

    app.button(key=f"clear_guests_{_state(app).data.table_digest}").click().run()
    assert not app.exception
    assert guests not in [caption.value for caption in app.caption], "gone in the same run"
    transactions = _state(app).data.transactions
    assert transactions is not None and "guest_customer_id" not in transactions.report.dropped
    assert key in _apply_buttons(app), "the warning is back"


def test_ambiguous_money_names_both_columns_until_one_is_chosen(
    make_app: Callable[..., AppTest],
) -> None:
    rows = ["customer_id,order_date,total,revenue"]
    rows += [f"c{i % 6},2024-01-{1 + i % 28:02d},{10 + i}.25,{3 + 2 * i}.75" for i in range(30)]
    app = make_app()
    data = ("\n".join(rows) + "\n").encode()
    app.file_uploader(key="upload_transactions").upload("two_totals.csv", data, "text/csv").run()
    for _ in range(2):
        assert not app.exception
        assert len(app.error) == 1
        assert "'total' and 'revenue' are both totals with different" in app.error[0].value
        assert not _spend_sentences(app), "no spend is guessed"
        app.run()
    digest = _state(app).data.table_digest
    app.selectbox(key=f"map_amount_{digest}").set_value("revenue").run()
    assert not app.exception and not app.error
    assert _spend_sentences(app) == [":material/calculate: **Spend per line = revenue**"]


def test_two_sessions_with_the_same_bytes_see_their_own_file_names(
    make_app: Callable[..., AppTest], corpus: dict[str, CorpusExport]
) -> None:
    export = corpus["shop_orders"]
    names = {}
    for orders_name, lines_name in (("a.csv", "a_lines.csv"), ("b.csv", "b_lines.csv")):
        app = make_app()
        orders = export.files["transactions"].read_bytes()
        lines = export.files["order_lines"].read_bytes()
        app.file_uploader(key="upload_transactions").upload(orders_name, orders, "text/csv")
        app.file_uploader(key="upload_order_lines").upload(lines_name, lines, "text/csv").run()
        transactions = _state(app).data.transactions
        assert transactions is not None
        names[orders_name] = transactions.report.source_name
    assert names == {"a.csv": "a.csv + a_lines.csv", "b.csv": "b.csv + b_lines.csv"}


def test_the_sample_attributes_do_not_follow_a_new_file(
    make_app: Callable[..., AppTest], corpus: dict[str, CorpusExport]
) -> None:
    app = make_app()
    app.button(key="use_sample").click().run()
    assert _state(app).data.customers is not None
    _upload(app, "upload_transactions", corpus["erp_invoice_lines"].files["transactions"]).run()
    assert not app.exception
    assert _state(app).data.customers is None


def test_files_left_in_their_inputs_go_with_a_new_main_file_after_the_sample(
    make_app: Callable[..., AppTest], corpus: dict[str, CorpusExport]
) -> None:
    export = corpus["shop_orders"]
    app = make_app()
    _upload(app, "upload_transactions", export.files["transactions"])
    _upload(app, "upload_order_lines", export.files["order_lines"]).run()
    app.button(key="use_sample").click().run()
    assert _state(app).data.lines_table is None, "the sample replaced the two files"
    orders = export.files["transactions"].read_bytes()
    uploader = app.file_uploader(key="upload_transactions")
    uploader.upload("shop_orders_v2.csv", orders, "text/csv").run()
    assert not app.exception and not app.error
    transactions = _state(app).data.transactions
    assert transactions is not None
    assert transactions.report.source_name == "shop_orders_v2.csv + shop_order_lines.csv"


def test_the_order_lines_can_be_removed(
    make_app: Callable[..., AppTest], corpus: dict[str, CorpusExport]
) -> None:
    export = corpus["shop_orders"]
    app = make_app()
    _upload(app, "upload_transactions", export.files["transactions"])
    _upload(app, "upload_order_lines", export.files["order_lines"]).run()
    assert _state(app).data.lines_table is not None
    app.button(key=f"remove_lines_{_state(app).data.lines_digest}").click().run()
    assert not app.exception
    assert _state(app).data.lines_table is None
    assert "no amount column" in app.error[0].value, "the orders alone have no money"


def test_a_join_that_fails_keeps_its_error(
    make_app: Callable[..., AppTest], corpus: dict[str, CorpusExport]
) -> None:
    app = make_app()
    _upload(app, "upload_transactions", corpus["shop_orders"].files["transactions"])
    _upload(app, "upload_order_lines", corpus["erp_invoice_lines"].files["transactions"]).run()
    for _ in range(2):
        assert not app.exception
        assert app.error and "order id" in app.error[0].value
        assert not app.success, "nothing of an earlier join is shown as loaded"
        app.run()


def test_the_workbench_and_the_cli_read_a_raw_export_alike(
    make_app: Callable[..., AppTest],
    corpus: dict[str, CorpusExport],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    export = corpus["shop_orders"]
    app = make_app()
    _upload(app, "upload_transactions", export.files["transactions"])
    _upload(app, "upload_order_lines", export.files["order_lines"]).run()
    transactions = _state(app).data.transactions
    assert transactions is not None and transactions.money is not None
    status = cli_main(
        [
            "features",
            "--transactions",
            str(export.files["transactions"]),
            "--order-lines",
            str(export.files["order_lines"]),
            "--cutoff",
            "2023-12-31",
            "--out",
            str(tmp_path / "features.csv"),
            "--json",
        ]
    )
    assert status == 0
    cli = json.loads(capsys.readouterr().out)["validation"]["transactions"]
    workbench = json.loads(json.dumps(transactions.report.to_dict(), default=str))
    for key in ("source", "rows_read", "rows_used", "dropped", "altered", "summary", "warnings"):
        assert cli[key] == workbench[key], key
    assert cli["mapping"] == transactions.mapping.to_dict()
    assert cli["money"] == json.loads(json.dumps(transactions.money.to_dict(), default=str))


def test_a_decompression_bomb_upload_is_refused_with_the_limit_named(
    make_app: Callable[..., AppTest], data_state: WorkbenchState
) -> None:
    from tests.corpus.hostile import HEADER, gzip_bomb

    app = make_app(data_state)
    bomb = gzip_bomb(HEADER + b"C1,2024-01-01,1.00\n" * 200_000, 1 << 30)
    app.file_uploader(key="upload_transactions").upload("orders.csv.gz", bomb, "application/gzip")
    app.run()
    assert not app.exception
    assert len(app.error) == 1
    message = app.error[0].value
    assert "decompression bomb" in message and "CLV_MAX_COMPRESSION_RATIO" in message
    assert "/tmp" not in message
    assert _state(app).data.transactions is not None, "the sample is still loaded"


def test_segments_page_values_the_list_over_time(
    make_app: Callable[..., AppTest], trained_state: WorkbenchState
) -> None:
    app = make_app(trained_state, "pages/segments.py")
    assert not app.exception
    sentence = next(c.value for c in app.caption if "Predicted CLV is each customer's" in c.value)
    assert "discounted at 10.0% a year" in sentence and "a 100% margin" in sentence
    charts = app.get("plotly_chart")
    assert len(charts) == 4  # tiers, grid, spread and the revenue per month
    preview = next(frame.value for frame in app.dataframe if "rank" in frame.value.columns)
    assert {"predicted_profit", "p_alive", "expected_next_order_date"} <= set(preview.columns)
    full_profit = preview["predicted_profit"].sum()
    app.number_input(key="value_margin").set_value(40.0).run()
    app.number_input(key="value_discount").set_value(0.0).run()
    assert not app.exception
    preview = next(frame.value for frame in app.dataframe if "rank" in frame.value.columns)
    assert preview["predicted_profit"].sum() == pytest.approx(
        0.4 * preview["predicted_clv"].sum(), rel=1e-9
    )
    assert preview["predicted_profit"].sum() < full_profit
    app.radio(key="value_period").set_value("week").run()
    assert not app.exception
    assert any("weeks" in c.value for c in app.caption)


def test_budget_planner_contacts_the_most_profitable_customers(
    make_app: Callable[..., AppTest], trained_state: WorkbenchState
) -> None:
    app = make_app(trained_state, "pages/segments.py")
    app.toggle(key="budget_on").set_value(True).run()
    app.number_input(key="budget_amount").set_value(50.0)
    app.number_input(key="budget_cost").set_value(2.0).run()
    assert not app.exception and not app.error
    preview = next(frame.value for frame in app.dataframe if "rank" in frame.value.columns)
    assert len(preview) == 25
    net = preview["expected_net_profit"]
    assert (net > 0).all() and net.is_monotonic_decreasing
    assert (net == preview["predicted_profit"] - 2.0).all()
    metrics = {metric.label: metric.value for metric in app.metric}
    assert metrics["Customers to contact"] == "25"
    assert metrics["Cost"] == "50.00"
    assert float(metrics["Expected profit"].replace(",", "")) == pytest.approx(
        preview["predicted_profit"].sum(), abs=0.01
    )
    assert len(app.get("plotly_chart")) == 5  # the budget curve
    # Restricted to one value tier, the plan picks within it.
    app.multiselect(key="filter_tiers").set_value(["Potential"]).run()
    preview = next(frame.value for frame in app.dataframe if "rank" in frame.value.columns)
    assert set(preview["tier"]) == {"Potential"} and len(preview) <= 25
    # A budget below one contact is an analyst's error, not a traceback.
    app.number_input(key="budget_amount").set_value(1.0).run()
    assert not app.exception
    assert "does not pay for one contact" in app.error[0].value


def test_margins_per_category_of_an_attribute(
    make_app: Callable[..., AppTest], trained_state: WorkbenchState
) -> None:
    app = make_app(trained_state, "pages/segments.py")
    app.number_input(key="value_discount").set_value(0.0).run()
    app.selectbox(key="value_margin_column").set_value("channel").run()
    assert not app.exception and not app.error
    inputs = {box.label: box for box in app.number_input if box.key.startswith("value_category")}
    assert set(inputs) == {"email", "organic", "paid_search", "social", "referral"}
    inputs["email"].set_value(50.0)
    for label, box in inputs.items():
        if label != "email":
            box.set_value(20.0)
    app.run()
    assert not app.exception and not app.error
    preview = next(frame.value for frame in app.dataframe if "rank" in frame.value.columns)
    assert trained_state.data.customers is not None
    channel = trained_state.data.customers.frame["channel"]  # indexed by customer id
    rate = channel.reindex(preview["customer_id"]).map(lambda c: 0.5 if c == "email" else 0.2)
    np.testing.assert_allclose(
        preview["predicted_profit"], rate.to_numpy() * preview["predicted_clv"], rtol=1e-9
    )
    assert any("the margin of each customer's 'channel'" in c.value for c in app.caption)


@pytest.mark.slow
def test_monitor_page_checks_the_model_and_trains_a_challenger(
    make_app: Callable[..., AppTest], trained_state: WorkbenchState
) -> None:
    app = make_app(trained_state, "pages/monitor.py")
    assert not app.exception
    assert any("customer split" in warning.value for warning in app.warning)
    app.button(key="monitor_run").click().run()
    assert not app.exception and not app.error
    [(key, report)] = _state(app).monitor_reports.items()
    data = report.data
    assert data["window"]["complete"] and data["customers"] > 1000
    verdict = app.warning if data["retrain_recommended"] else app.success
    assert verdict, "the verdict is shown"
    assert len(app.get("plotly_chart")) == 4  # metrics, tiers, bands, drift
    labels = [button.label for button in app.get("download_button")]
    assert labels == ["Report (JSON)", "Report (HTML)", "Report (XLSX)"]
    app.button(key="monitor_challenge").click().run()
    assert not app.exception and not app.error
    challenger = _state(app).challengers[key]
    assert challenger.comparison["evaluation_cutoff"] == "2024-12-31"
    assert len(app.get("plotly_chart")) == 5
    offered = "Challenger bundle (.zip)" in [b.label for b in app.get("download_button")]
    assert offered == (challenger.bundle is not None)
    # Kept across reruns: another click elsewhere does not monitor again.
    app.run()
    assert _state(app).monitor_reports[key] is report


def test_monitor_page_guards_without_a_model(
    make_app: Callable[..., AppTest], data_state: WorkbenchState
) -> None:
    app = make_app(data_state, "pages/monitor.py")
    assert not app.exception
    assert app.info, "without a model the page says what to do"
    assert not app.get("plotly_chart")
