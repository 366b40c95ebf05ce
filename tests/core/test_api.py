"""The REST scoring service: every endpoint, every error class, and the batch scorer's numbers."""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient

from clv_core.api import ApiSettings, create_app
from clv_core.catalogue import feature_label
from clv_core.cli import main
from clv_core.features import build_features
from clv_core.loading import load_table
from clv_core.usecases.service import ScoringService, load_service, tier_cuts
from clv_core.validation import validate_customers, validate_transactions

ROOT = Path(__file__).resolve().parents[2]
TRANSACTIONS = ROOT / "sample_data" / "transactions.csv"
CUSTOMERS = ROOT / "sample_data" / "customers.csv"
CONFIG = {"hidden_layers": [8], "ensemble_size": 2, "max_epochs": 4, "seed": 2}
AS_OF = "2025-12-31"
OUTPUTS = ["predicted_clv", "p_purchase", "clv_lower", "clv_upper"]
# The value plan's outputs (clv_core.value), compared with the batch scorer's too.
VALUE_OUTPUTS = ["predicted_profit", "p_alive", "mean_days_between_orders"]


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A ZILN bundle trained by the command line on the sample with its attributes."""
    folder = tmp_path_factory.mktemp("api")
    config = folder / "config.json"
    config.write_text(json.dumps(CONFIG), encoding="utf-8")
    arguments = ["train", "--transactions", TRANSACTIONS, "--customers", CUSTOMERS]
    arguments += ["--horizon-days", 365, "--config", config, "--out", folder / "bundle"]
    with contextlib.redirect_stdout(io.StringIO()):
        assert main([str(argument) for argument in arguments]) == 0
    return folder / "bundle"


@pytest.fixture(scope="module")
def service(bundle: Path) -> ScoringService:
    return load_service(bundle)


@pytest.fixture(scope="module")
def client(service: ScoringService) -> Iterator[TestClient]:
    settings = ApiSettings(max_batch=50_000, max_body_mb=20)
    with TestClient(create_app(service, settings)) as test_client:
        yield test_client


@pytest.fixture(scope="module")
def log_json() -> dict[str, Any]:
    """The sample log and its attributes as a request body (scored at the CLI's as-of)."""
    orders = pd.read_csv(TRANSACTIONS, dtype={"customer_id": str, "order_id": str})
    customers = pd.read_csv(CUSTOMERS, dtype={"customer_id": str})
    return {
        "orders": json.loads(orders.to_json(orient="records")),
        "customers": json.loads(customers.to_json(orient="records")),
        "as_of": AS_OF,
    }


@pytest.fixture(scope="module")
def feature_rows(service: ScoringService) -> list[dict[str, Any]]:
    """Every sample customer's features at the as-of date, as /score rows."""
    log = validate_transactions(load_table(TRANSACTIONS).frame)
    customers = validate_customers(load_table(CUSTOMERS).frame)
    features = build_features(
        log.frame, AS_OF, customers=customers, options=service.info.feature_options
    )
    table = features[[entry.name for entry in service.fields]].reset_index().astype(object)
    # Python floats print exactly in JSON (pandas' to_json rounds to 10 digits).
    rows: list[dict[str, Any]] = json.loads(
        json.dumps(table.where(table.notna(), None).to_dict("records"))
    )
    return rows


@pytest.fixture(scope="module")
def batch_scores(bundle: Path, tmp_path_factory: pytest.TempPathFactory) -> pd.DataFrame:
    """``python -m clv_core score`` of the sample, with segment codes (Parquet)."""
    out = tmp_path_factory.mktemp("batch") / "scores.parquet"
    arguments = ["score", "--model", bundle, "--transactions", TRANSACTIONS]
    arguments += ["--customers", CUSTOMERS, "--segments", "--out", out]
    with contextlib.redirect_stdout(io.StringIO()):
        assert main([str(argument) for argument in arguments]) == 0
    return pd.read_parquet(out).set_index("customer_id")


def _frame(customers: list[dict[str, Any]]) -> pd.DataFrame:
    return pd.DataFrame(customers).set_index("customer_id")


# -- the numbers -------------------------------------------------------------------------------


def test_orders_score_as_the_batch_scorer(
    client: TestClient, log_json: dict[str, Any], batch_scores: pd.DataFrame
) -> None:
    response = client.post("/score/transactions", json=log_json)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["as_of"] == AS_OF and body["horizon_days"] == 365
    scored = _frame(body["customers"])
    assert sorted(scored.index) == sorted(batch_scores.index)
    expected = batch_scores.loc[scored.index, OUTPUTS + VALUE_OUTPUTS]
    np.testing.assert_allclose(
        scored[OUTPUTS + VALUE_OUTPUTS].to_numpy(float), expected.to_numpy(), rtol=1e-9
    )
    _same_next_orders(scored, batch_scores)
    assert body["value"]["margin"] == 1.0 and body["value"]["annual_discount_rate"] == 0.1
    bands = scored["churn_band"].map(lambda band: band["code"])
    assert (bands == batch_scores.loc[scored.index, "churn_band_code"]).all()
    account = body["rows"]["transactions"]
    assert account["rows_read"] == len(log_json["orders"])
    assert account["rows_read"] == account["rows_used"] + sum(account["dropped"].values())
    assert account["mapping"]["amount"] == "amount"
    assert account["money"]["spend"]["columns"] == ["amount"], "the same spend rule as a file"


def test_feature_rows_score_as_the_batch_scorer(
    client: TestClient, feature_rows: list[dict[str, Any]], batch_scores: pd.DataFrame
) -> None:
    response = client.post("/score", json={"customers": feature_rows, "as_of": AS_OF})
    assert response.status_code == 200, response.text
    scored = _frame(response.json()["customers"])
    expected = batch_scores.loc[scored.index, OUTPUTS + VALUE_OUTPUTS]
    np.testing.assert_allclose(
        scored[OUTPUTS + VALUE_OUTPUTS].to_numpy(float), expected.to_numpy(), rtol=1e-9
    )
    _same_next_orders(scored, batch_scores)
    # A margin scales the profit; without as-of the next order is a number of days only.
    half = client.post(
        "/score", json={"customers": feature_rows[:20], "margin": 0.5, "discount_rate": 0.1}
    )
    halved = _frame(half.json()["customers"])
    # The same 20 rows at full margin: the network's float32 sums can differ in the last
    # digits between batches of other sizes on some CPUs, so the batch is the same.
    whole = client.post("/score", json={"customers": feature_rows[:20], "discount_rate": 0.1})
    np.testing.assert_allclose(
        halved["predicted_profit"],
        0.5 * _frame(whole.json()["customers"]).loc[halved.index, "predicted_profit"],
        rtol=1e-9,
    )
    assert halved["expected_next_order_date"].isna().all()
    assert (halved["days_to_next_order"] == scored.loc[halved.index, "days_to_next_order"]).all()


def _same_next_orders(scored: pd.DataFrame, batch_scores: pd.DataFrame) -> None:
    """The next order dates equal the batch file's, and lie within the horizon."""
    expected = batch_scores.loc[scored.index, "expected_next_order_date"]
    assert (pd.to_datetime(scored["expected_next_order_date"]) == expected).all()
    assert scored["days_to_next_order"].between(1, 365).all()


def test_bad_value_settings_are_refused(
    client: TestClient, feature_rows: list[dict[str, Any]]
) -> None:
    for bad in ({"margin": 1.5}, {"margin": -0.1}, {"discount_rate": -0.01}, {"period": "year"}):
        response = client.post("/score", json={"customers": feature_rows[:1], **bad})
        assert response.status_code == 422, bad
        assert next(iter(bad)) in response.text


def test_tiers_place_customers_among_the_training_customers(
    client: TestClient, service: ScoringService, feature_rows: list[dict[str, Any]]
) -> None:
    scored = _frame(client.post("/score", json={"customers": feature_rows}).json()["customers"])
    percentiles = service.model.value_percentiles_
    assert percentiles is not None
    cuts = tier_cuts(percentiles)
    # Default shares 10/20/40/30%: the lower bounds are the 90th, 70th and 30th percentiles.
    assert cuts == pytest.approx(percentiles[[90, 70, 30]], rel=1e-9)
    expected = np.searchsorted(-cuts, -scored["predicted_clv"].to_numpy(), side="right") + 1
    codes = scored["tier"].map(lambda tier: tier["code"])
    assert (codes == [f"tier_{position}" for position in expected]).all()
    top = scored["predicted_clv"] >= cuts[0]
    assert (codes[top] == "tier_1").all() and (codes[~top] != "tier_1").all()
    assert set(scored["tier"].map(lambda tier: tier["label"])) <= {
        "High value",
        "Potential",
        "Regular",
        "Low value",
    }


def test_one_customer_alone_scores_as_in_a_batch_up_to_float32(
    client: TestClient, feature_rows: list[dict[str, Any]]
) -> None:
    batch = _frame(client.post("/score", json={"customers": feature_rows[:50]}).json()["customers"])
    for row in feature_rows[:5]:
        alone = client.post("/score", json={"customers": [row]}).json()["customers"][0]
        assert alone["predicted_clv"] == pytest.approx(
            batch.loc[row["customer_id"], "predicted_clv"], rel=1e-5, abs=1e-6
        )


def test_many_requests_at_once_get_their_own_numbers(
    client: TestClient, feature_rows: list[dict[str, Any]]
) -> None:
    """The compiled network is shared by the server's request threads."""
    rows = feature_rows[:24]
    alone = {
        row["customer_id"]: client.post("/score", json={"customers": [row]}).json()["customers"][0]
        for row in rows
    }

    def ask(row: dict[str, Any]) -> dict[str, Any]:
        answer: dict[str, Any] = client.post("/score", json={"customers": [row]}).json()
        return answer["customers"][0]

    with ThreadPoolExecutor(max_workers=8) as pool:
        together = list(pool.map(ask, rows * 3))
    for customer in together:
        assert customer == alone[customer["customer_id"]]


def test_drivers_in_chinese(client: TestClient, feature_rows: list[dict[str, Any]]) -> None:
    body = {"customers": feature_rows[:4], "explain": True, "language": "zh"}
    response = client.post("/score", json=body)
    assert response.status_code == 200, response.text
    for customer in response.json()["customers"]:
        drivers = customer["drivers"]
        assert len(drivers) == 3
        assert all(
            set(driver) == {"feature", "label", "value", "contribution"} for driver in drivers
        )
        contributions = [abs(driver["contribution"]) for driver in drivers]
        assert contributions == sorted(contributions, reverse=True)
        assert customer["churn_band"]["label"] in {"低", "中", "高"}
        assert all(driver["label"] == feature_label(driver["feature"], "zh") for driver in drivers)


# -- what the service says about itself ------------------------------------------------------------


def test_health_ready_and_model(client: TestClient, service: ScoringService) -> None:
    assert client.get("/health").json() == {"status": "ok"}
    assert client.get("/ready").json()["status"] == "ready"
    model = client.get("/model", params={"language": "zh"}).json()
    assert [entry["name"] for entry in model["features"]] == service.model.feature_columns_
    by_name = {entry["name"]: entry for entry in model["features"]}
    assert by_name["n_orders"] == {
        "name": "n_orders",
        "meaning": "订单数",
        "kind": "number",
        "required": True,
        "non_negative": True,
    }
    assert by_name["channel"]["kind"] == "category" and not by_name["channel"]["required"]
    assert model["horizon_days"] == 365 and model["as_of"] == AS_OF
    assert model["training"]["training_cutoff"] == "2024-12-31"
    assert model["segment_rules"]["tiers"]["codes"] == ["tier_1", "tier_2", "tier_3", "tier_4"]
    assert model["segment_rules"]["churn_bands"]["thresholds"] == [0.33, 0.66]
    assert "tensorflow-cpu" in model["versions"] or model["versions"]


def test_openapi_names_the_bundles_features(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    assert {"/health", "/ready", "/model", "/score", "/score/transactions"} <= set(schema["paths"])
    row = schema["components"]["schemas"]["CustomerFeatures"]
    assert "n_orders" in row["properties"] and "n_orders" in row["required"]
    assert row["additionalProperties"] is False
    assert client.get("/docs").status_code == 200


# -- bad requests --------------------------------------------------------------------------------


def _row(feature_rows: list[dict[str, Any]], **changes: Any) -> dict[str, Any]:
    return {**feature_rows[0], **changes}


@pytest.mark.parametrize(
    ("changes", "path", "kind"),
    [
        ({"n_orders": "many"}, "n_orders", "float_parsing"),
        ({"n_orders": -1}, "n_orders", "greater_than_equal"),
        ({"n_orders": None}, "n_orders", "float_type"),
        ({"shoe_size": 42}, "shoe_size", "extra_forbidden"),
        ({"channel": 5}, "channel", "string_type"),
    ],
)
def test_a_bad_feature_is_a_422_naming_its_path(
    client: TestClient,
    feature_rows: list[dict[str, Any]],
    changes: dict[str, Any],
    path: str,
    kind: str,
) -> None:
    response = client.post("/score", json={"customers": [_row(feature_rows, **changes)]})
    assert response.status_code == 422
    detail = response.json()["detail"]
    assert {"loc": ["body", "customers", 0, path], "type": kind} == {
        key: detail[0][key] for key in ("loc", "type")
    }
    assert "Traceback" not in response.text


def test_a_missing_required_feature_and_non_finite_numbers_are_422(
    client: TestClient, feature_rows: list[dict[str, Any]]
) -> None:
    row = dict(feature_rows[0])
    del row["recency"]
    response = client.post("/score", json={"customers": [row]})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "customers", 0, "recency"]
    for literal in ("NaN", "Infinity", "-Infinity"):
        text = json.dumps({"customers": [feature_rows[0]]}).replace(
            f'"frequency": {json.dumps(feature_rows[0]["frequency"])}', f'"frequency": {literal}'
        )
        response = client.post("/score", content=text, headers={"content-type": "application/json"})
        assert response.status_code == 422, literal
        assert response.json()["detail"][0]["loc"] == ["body", "customers", 0, "frequency"]


def test_optional_features_may_be_missing(
    client: TestClient, service: ScoringService, feature_rows: list[dict[str, Any]]
) -> None:
    optional = [entry.name for entry in service.fields if not entry.required]
    assert "channel" in optional
    row = {key: value for key, value in feature_rows[0].items() if key not in optional}
    response = client.post("/score", json={"customers": [row]})
    assert response.status_code == 200, response.text


def test_a_repeated_customer_and_an_empty_list_are_422(
    client: TestClient, feature_rows: list[dict[str, Any]]
) -> None:
    response = client.post("/score", json={"customers": [feature_rows[0], feature_rows[0]]})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "customers", 1, "customer_id"]
    assert client.post("/score", json={"customers": []}).status_code == 422


def test_bad_orders_are_422_and_dropped_rows_are_counted(client: TestClient) -> None:
    response = client.post(
        "/score/transactions",
        json={"orders": [{"customer_id": "A", "order_date": "yesterday", "amount": 3}]},
    )
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "orders", 0, "order_date"]
    orders = [
        {"customer_id": "A", "order_date": "2025-03-01", "amount": 120.0, "order_id": "1"},
        {"customer_id": "A", "order_date": "2025-03-01", "amount": 120.0, "order_id": "1"},
        {"customer_id": "A", "order_date": "2025-06-01", "amount": 80.0, "order_id": "2"},
    ]
    # Attributes as an attributes file has them; the bundle saw region and device missing.
    customers = [
        {"customer_id": "A", "signup_date": "2024-12-01", "channel": "social"}
        | {"age_group": "25-34", "browsing_minutes": 12.5}
    ]
    body = {"orders": orders, "customers": customers, "as_of": "2025-07-01"}
    response = client.post("/score/transactions", json=body)
    assert response.status_code == 200, response.text
    account = response.json()["rows"]["transactions"]
    assert account["rows_read"] == 3
    assert account["rows_read"] == account["rows_used"] + sum(account["dropped"].values())
    (customer,) = response.json()["customers"]
    assert customer["customer_id"] == "A" and customer["predicted_clv"] >= 0


def test_an_attribute_sent_as_text_is_422_not_imputed(client: TestClient) -> None:
    orders = [{"customer_id": "A", "order_date": "2025-03-01", "amount": 10.0}]
    customers = [{"customer_id": "A", "signup_date": "2024-12-01", "browsing_minutes": "lots"}]
    body = {"orders": orders, "customers": customers, "as_of": AS_OF}
    response = client.post("/score/transactions", json=body)
    assert response.status_code == 422
    assert response.json()["detail"].startswith("browsing_minutes is missing or not a number")


def test_a_log_without_the_bundles_attributes_is_422_naming_them(client: TestClient) -> None:
    orders = [{"customer_id": "A", "order_date": "2025-03-01", "amount": 10.0}]
    response = client.post("/score/transactions", json={"orders": orders, "as_of": AS_OF})
    assert response.status_code == 422
    assert "browsing_minutes" in response.json()["detail"]


def test_limits_are_413(service: ScoringService, feature_rows: list[dict[str, Any]]) -> None:
    client = TestClient(create_app(service, ApiSettings(max_batch=2, max_body_mb=0.05)))
    response = client.post("/score", json={"customers": feature_rows[:3]})
    assert response.status_code == 413 and "at most 2" in response.json()["detail"]
    large = json.dumps({"customers": feature_rows[:60]}).encode()
    assert len(large) > 0.05 * 1024 * 1024
    response = client.post("/score", content=large, headers={"content-type": "application/json"})
    assert response.status_code == 413 and "larger than" in response.json()["detail"]

    def chunks() -> Iterator[bytes]:  # no Content-Length: the body is counted as it comes
        for start in range(0, len(large), 4096):
            yield large[start : start + 4096]

    response = client.post("/score", content=chunks(), headers={"content-type": "application/json"})
    assert response.status_code == 413


def test_an_api_key_guards_everything_but_health(
    service: ScoringService, feature_rows: list[dict[str, Any]]
) -> None:
    client = TestClient(create_app(service, ApiSettings(api_key="s3cret")))
    body = {"customers": feature_rows[:1]}
    assert client.post("/score", json=body).status_code == 401
    assert client.post("/score", json=body, headers={"X-API-Key": "wrong"}).status_code == 401
    assert client.get("/model").status_code == 401
    assert client.post("/score", json=body, headers={"X-API-Key": "s3cret"}).status_code == 200
    assert client.get("/health").status_code == 200
    assert client.get("/ready").status_code == 200


def test_an_internal_failure_is_a_500_without_a_traceback(
    service: ScoringService, feature_rows: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("secret internal detail")

    client = TestClient(create_app(service), raise_server_exceptions=False)
    monkeypatch.setattr(ScoringService, "score_columns", broken)
    response = client.post("/score", json={"customers": feature_rows[:1]})
    assert response.status_code == 500
    assert "secret" not in response.text and "Traceback" not in response.text


def test_every_request_is_one_json_log_line(
    client: TestClient, feature_rows: list[dict[str, Any]], caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="clv_core.api"):
        response = client.post(
            "/score", json={"customers": feature_rows[:2]}, headers={"X-Request-ID": "abc-1"}
        )
    assert response.headers["x-request-id"] == "abc-1"
    (line,) = [
        json.loads(record.getMessage())
        for record in caplog.records
        if record.name == "clv_core.api"
    ]
    assert line["request_id"] == "abc-1" and line["status"] == 200 and line["rows"] == 2
    assert line["path"] == "/score" and line["bytes"] > 0 and line["latency_ms"] > 0


# -- bundles -----------------------------------------------------------------------------------


def test_a_bundle_from_before_the_population_record_scores_without_tiers(
    bundle: Path, tmp_path: Path, feature_rows: list[dict[str, Any]]
) -> None:
    old = tmp_path / "old"
    shutil.copytree(bundle, old)
    meta = json.loads((old / "meta.json").read_text(encoding="utf-8"))
    del meta["population"]
    (old / "meta.json").write_text(json.dumps(meta), encoding="utf-8")
    client = TestClient(create_app(load_service(old)))
    customer = client.post("/score", json={"customers": feature_rows[:1]}).json()["customers"][0]
    assert customer["tier"] is None and customer["churn_band"]["code"] in {"low", "medium", "high"}
    response = client.post("/score", json={"customers": feature_rows[:1], "explain": True})
    assert response.status_code == 422 and "Train it again" in response.json()["detail"]


def test_serve_refuses_a_broken_bundle_and_a_missing_key(
    bundle: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = tmp_path / "broken"
    shutil.copytree(bundle, broken)
    (broken / "model.keras").write_bytes(b"not a model")
    assert main(["serve", "--model", str(broken), "--port", "1"]) == 2
    error = capsys.readouterr().err
    assert error.startswith("error: ") and "Traceback" not in error
    arguments = ["serve", "--model", str(bundle), "--api-key-env", "CLV_TEST_NO_SUCH_KEY"]
    assert main(arguments) == 2
    assert "CLV_TEST_NO_SUCH_KEY" in capsys.readouterr().err


# -- the real server ---------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


@pytest.mark.slow
def test_the_real_server_scores_over_http(
    bundle: Path, feature_rows: list[dict[str, Any]], tmp_path: Path
) -> None:
    port = _free_port()
    log = (tmp_path / "server.log").open("w")
    environment = os.environ | {"CLV_TEST_KEY": "k-123"}
    # Two server processes: each loads the bundle (serve --workers).
    arguments = ["serve", "--model", str(bundle), "--port", str(port), "--workers", "2"]
    arguments += ["--api-key-env", "CLV_TEST_KEY"]
    server = subprocess.Popen(
        [sys.executable, "-m", "clv_core", *arguments],
        cwd=ROOT,
        env=environment,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError):
                if _get(f"{base}/ready")[0] == 200:
                    break
            assert server.poll() is None, (tmp_path / "server.log").read_text()
            time.sleep(0.2)
        assert _get(f"{base}/health") == (200, b'{"status":"ok"}')
        assert _get(f"{base}/model")[0] == 401
        request = urllib.request.Request(
            f"{base}/score",
            data=json.dumps({"customers": feature_rows[:3]}).encode(),
            headers={"content-type": "application/json", "X-API-Key": "k-123"},
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            assert response.status == 200
            request_id = response.headers["x-request-id"]
            customers = json.loads(response.read())["customers"]
        assert [customer["customer_id"] for customer in customers] == [
            row["customer_id"] for row in feature_rows[:3]
        ]
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(timeout=30)
        log.close()
    lines = [
        json.loads(line)
        for line in (tmp_path / "server.log").read_text().splitlines()
        if line.startswith("{")
    ]
    scored = [line for line in lines if line.get("request_id") == request_id]
    assert scored and scored[0]["path"] == "/score" and scored[0]["status"] == 200
    assert scored[0]["rows"] == 3
