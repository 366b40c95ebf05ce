"""The command line end to end: outputs, row accounting, metrics, bundles and the error contract.

Most tests call ``clv_core.cli.main`` in-process (fast); one runs ``python -m clv_core`` for real
to pin the exit status and the stderr format a scheduler sees.
"""

from __future__ import annotations

import contextlib
import io
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from scipy.stats import spearmanr

from clv_core.bundle import BUNDLE_FILES, zip_bundle
from clv_core.cli import main
from clv_core.export import read_scored_csv, read_scored_xlsx
from clv_core.metrics import METRIC_NAMES
from clv_core.value import VALUE_COLUMNS
from tests.conftest import NEEDS_JAVA
from tests.corpus.public import CDNOW_PATH as CDNOW

REPOSITORY = Path(__file__).resolve().parents[2]
SAMPLE_DATA = REPOSITORY / "sample_data"
TRANSACTIONS = SAMPLE_DATA / "transactions.csv"
CUSTOMERS = SAMPLE_DATA / "customers.csv"
SEED_TABLE_ZH = SAMPLE_DATA / "customers_seed_zh.csv"
NEW_CUSTOMERS_ZH = SAMPLE_DATA / "new_customers_seed_zh.csv"

SMALL_CONFIG = {"hidden_layers": [8], "ensemble_size": 1, "max_epochs": 3}
MODELS = ("mlp", "bgnbd_gg", "lightgbm", "historical")
ATTRIBUTE_FEATURES = ("channel", "region", "device", "age_group", "membership")


# ------------------------------------------------------------------------------------------
# Helpers and shared inputs
# ------------------------------------------------------------------------------------------


def run_cli(capsys: pytest.CaptureFixture[str], *arguments: object) -> tuple[int, str, str]:
    """Run the CLI in-process; return (exit status, stdout, stderr)."""
    status = main([str(argument) for argument in arguments])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def assert_user_error(result: tuple[int, str, str], pattern: str) -> str:
    """The error contract: status 2, nothing on stdout, one ``error: ...`` and no traceback."""
    status, out, err = result
    assert status == 2, err
    assert out == ""
    assert err.startswith("error: "), err
    assert "Traceback" not in err
    assert re.search(pattern, err), err
    return err


def write_json(path: Path, data: object) -> Path:
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def sample_transactions() -> pd.DataFrame:
    frame = pd.read_csv(TRANSACTIONS, parse_dates=["order_date"], dtype={"customer_id": str})
    return frame


def buyers_up_to(transactions: pd.DataFrame, day: str) -> set[str]:
    """Customers with an order (amount >= 0) on or before ``day``, computed directly."""
    end = pd.Timestamp(day) + pd.Timedelta(days=1)
    past = transactions[(transactions["order_date"] < end) & (transactions["amount"] >= 0)]
    return set(past["customer_id"])


@pytest.fixture(scope="module")
def small_config(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_json(tmp_path_factory.mktemp("config") / "small.json", SMALL_CONFIG)


def assert_row_accounting(report: dict[str, Any]) -> None:
    assert report["rows_read"] == report["rows_used"] + report["rows_dropped"]
    assert report["rows_dropped"] == sum(report["dropped"].values())


# ------------------------------------------------------------------------------------------
# features
# ------------------------------------------------------------------------------------------


def features_arguments(out: Path) -> list[object]:
    return [
        "features",
        "--transactions",
        TRANSACTIONS,
        "--customers",
        CUSTOMERS,
        "--cutoff",
        "2024-12-31",
        "--horizon-days",
        365,
        "--out",
        out,
    ]


def test_features_json_and_csv(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, sample_transactions: pd.DataFrame
) -> None:
    out = tmp_path / "features.csv"
    status, stdout, _ = run_cli(capsys, *features_arguments(out), "--json")
    assert status == 0
    result = json.loads(stdout)  # exactly one JSON object on stdout, nothing else
    assert result["command"] == "features"
    assert (result["cutoff"], result["horizon_days"]) == ("2024-12-31", 365)

    transactions_report = result["validation"]["transactions"]
    customers_report = result["validation"]["customers"]
    assert_row_accounting(transactions_report)
    assert_row_accounting(customers_report)
    assert transactions_report["rows_read"] == len(sample_transactions)
    assert customers_report["rows_read"] == len(pd.read_csv(CUSTOMERS))
    assert transactions_report["mapping"]["amount"] == "amount"

    written = pd.read_csv(out, dtype={"customer_id": str})
    customers = buyers_up_to(sample_transactions, "2024-12-31")
    assert written["customer_id"].is_unique
    assert set(written["customer_id"]) == customers
    assert result["n_customers"] == len(written) == len(customers)
    assert list(written.columns) == ["customer_id", *result["feature_names"], "future_spend"]
    assert result["n_features"] == len(result["feature_names"])
    assert set(ATTRIBUTE_FEATURES) <= set(result["feature_names"])

    # The label, recomputed by hand: net spend in (cutoff, cutoff + 365 days], clipped at 0.
    start, end = pd.Timestamp("2025-01-01"), pd.Timestamp("2026-01-01")
    window = sample_transactions[
        (sample_transactions["order_date"] >= start) & (sample_transactions["order_date"] < end)
    ]
    expected = (
        window.groupby("customer_id")["amount"]
        .sum()
        .clip(lower=0)
        .reindex(written["customer_id"], fill_value=0.0)
    )
    np.testing.assert_allclose(written["future_spend"], expected.to_numpy(), atol=1e-6)
    assert (written["future_spend"] > 0).any()


def test_features_on_duckdb_equal_the_reference(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """DuckDB (the default) validates in SQL and writes the reference's features and report,
    on the loader's table and, under a memory limit, on the CSV file DuckDB reads itself."""
    reference = tmp_path / "pandas.csv"
    status, stdout, _ = run_cli(
        capsys, *features_arguments(reference), "--engine", "pandas", "--json"
    )
    assert status == 0
    expected_json = json.loads(stdout)
    expected = pd.read_csv(reference, index_col="customer_id")
    for name, limit in (("loaded", ()), ("limited", ("--memory-limit", "1GB"))):
        duck = tmp_path / f"duckdb-{name}.csv"
        status, stdout, _ = run_cli(capsys, *features_arguments(duck), *limit, "--json")
        actual_json = json.loads(stdout)
        assert status == 0 and actual_json["engine"] == "duckdb"
        assert actual_json["validated_by"] == "duckdb", actual_json["why_pandas"]
        assert actual_json["validation"] == expected_json["validation"]
        assert actual_json["warnings"] == expected_json["warnings"]
        actual = pd.read_csv(duck, index_col="customer_id")
        pd.testing.assert_frame_equal(actual, expected, rtol=1e-9)
    assert_user_error(
        run_cli(capsys, *features_arguments(duck), "--engine", "pandas", "--memory-limit", "1GB"),
        "--memory-limit goes with --engine duckdb",
    )


@NEEDS_JAVA
@pytest.mark.slow
def test_features_on_spark_equal_the_reference(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    reference, spark = tmp_path / "pandas.csv", tmp_path / "spark.csv"
    assert run_cli(capsys, *features_arguments(reference), "--engine", "pandas")[0] == 0
    status, stdout, _ = run_cli(capsys, *features_arguments(spark), "--engine", "spark", "--json")
    assert status == 0 and json.loads(stdout)["engine"] == "spark"
    expected = pd.read_csv(reference, index_col="customer_id")
    pd.testing.assert_frame_equal(pd.read_csv(spark, index_col="customer_id"), expected, rtol=1e-9)


def test_features_parquet_matches_csv(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    csv_out, parquet_out = tmp_path / "features.csv", tmp_path / "features.parquet"
    assert run_cli(capsys, *features_arguments(csv_out))[0] == 0
    status, stdout, stderr = run_cli(capsys, *features_arguments(parquet_out))
    assert status == 0
    assert stdout == ""
    assert "wrote 1,704 customers x 38 features + label to" in stderr
    assert "transactions (transactions.csv): 30,426 rows read" in stderr
    from_parquet = pd.read_parquet(parquet_out)
    from_csv = pd.read_csv(csv_out, dtype={"customer_id": str}).set_index("customer_id")
    assert from_parquet.index.name == "customer_id"
    assert from_parquet.index.is_unique
    assert list(from_parquet.columns) == list(from_csv.columns)
    assert "future_spend" in from_parquet.columns
    numeric = from_csv.select_dtypes("number").columns
    np.testing.assert_allclose(
        from_parquet[numeric].to_numpy(dtype=float),
        from_csv.loc[from_parquet.index, numeric].to_numpy(dtype=float),
        rtol=1e-12,
        equal_nan=True,
    )


def test_features_without_horizon_has_no_label(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    out = tmp_path / "features.csv"
    status, stdout, _ = run_cli(
        capsys,
        "features",
        "--transactions",
        TRANSACTIONS,
        "--cutoff",
        "2023-12-31",
        "--out",
        out,
        "--json",
    )
    assert status == 0
    result = json.loads(stdout)
    written = pd.read_csv(out)
    assert "future_spend" not in written.columns
    assert "channel" not in written.columns
    assert result["n_customers"] == len(written)
    assert result["horizon_days"] is None


def test_the_gb18030_seed_table_is_not_a_transaction_log(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    result = run_cli(
        capsys,
        "features",
        "--transactions",
        SEED_TABLE_ZH,
        "--cutoff",
        "2024-12-31",
        "--out",
        tmp_path / "features.csv",
    )
    error = assert_user_error(result, r"missing required columns.*\n.*no order date column")
    # The GB18030 headers were decoded, so the analyst sees their own column names.
    assert "'用户ID'" in error and "'终身价值'" in error
    assert not (tmp_path / "features.csv").exists()


# ------------------------------------------------------------------------------------------
# The error contract
# ------------------------------------------------------------------------------------------


EVALUATE = "evaluate --transactions {data} --cutoff 2024-12-31 --horizon-days 365"
FEATURES = "features --transactions {data} --cutoff 2024-12-31 --out {tmp}/f.csv"
SCORE = "score --model {tmp}/bundle --transactions {data}"
# Command-line templates ({data}: the sample transactions, {tmp}: a folder with bad inputs) and
# the message each must produce.
ERROR_CASES: dict[str, tuple[str, str]] = {
    "missing file": (
        "features --transactions {tmp}/missing.csv --cutoff 2024-12-31 --out {tmp}/f.csv",
        r"File not found: '.*missing\.csv'",
    ),
    "empty file": (
        "features --transactions {tmp}/empty.csv --cutoff 2024-12-31 --out {tmp}/f.csv",
        r"'empty\.csv' is empty \(0 bytes\)",
    ),
    "binary file": (
        "features --transactions {tmp}/binary.csv --cutoff 2024-12-31 --out {tmp}/f.csv",
        r"'binary\.csv' contains binary data, not a table",
    ),
    "missing customers file": (
        FEATURES + " --customers {tmp}/nobody.csv",
        r"File not found: '.*nobody\.csv'",
    ),
    "cutoff before the data": (
        "features --transactions {data} --cutoff 2020-01-01 --out {tmp}/f.csv",
        r"No customer has a purchase on or before the cutoff 2020-01-01; "
        r"the data starts on 2023-01-01",
    ),
    "cutoff before the data with a horizon": (
        "evaluate --transactions {data} --cutoff 2020-01-01 --horizon-days 30 --models historical",
        r"cannot support these time windows:\n.*cutoff 2020-01-01 is before the data starts",
    ),
    "labels past the data end": (
        "features --transactions {data} --cutoff 2025-06-30 --horizon-days 365 --out {tmp}/f.csv",
        r"labels need data up to 2026-06-30, but the data ends on 2025-12-31",
    ),
    "evaluation labels past the data end": (
        "evaluate --transactions {data} --cutoff 2024-12-31 --horizon-days 400",
        r"Evaluation labels need data up to 2026-02-04, but the data ends on 2025-12-31",
    ),
    "training window before the data": (
        "train --transactions {data} --horizon-days 2000 --out {tmp}/bundle",
        r"training cutoff 2020-07-10 is before the data starts \(2023-01-01\)",
    ),
    "horizon of zero days": (
        FEATURES + " --horizon-days 0",
        r"horizon_days must be a positive number of days, got 0",
    ),
    "features out with a wrong suffix": (
        "features --transactions {data} --cutoff 2024-12-31 --out {tmp}/features.xlsx",
        r"--out must end in \.csv or \.parquet, got 'features\.xlsx'",
    ),
    "predictions out with a wrong suffix": (
        EVALUATE + " --predictions-out {tmp}/predictions.parquet",
        r"--predictions-out must end in \.csv, got 'predictions\.parquet'",
    ),
    "scored out with a wrong suffix": (
        SCORE + " --out {tmp}/scored.json",
        r"--out must end in \.csv or \.xlsx or \.parquet, got 'scored\.json'",
    ),
    "unknown model": (
        EVALUATE + " --models mlp,xgboost",
        r"Unknown model\(s\) \['xgboost'\]; choose from "
        r"\['mlp', 'bgnbd_gg', 'lightgbm', 'historical'\]",
    ),
    "config file missing": (
        EVALUATE + " --config {tmp}/absent.json",
        r"model configuration file '.*absent\.json' does not exist",
    ),
    "config not JSON": (
        EVALUATE + " --config {tmp}/broken.json",
        r"model configuration file '.*broken\.json' is not valid UTF-8 JSON",
    ),
    "config value out of range": (
        EVALUATE + " --config {tmp}/out_of_range.json",
        r"Invalid model configuration:\n  - dropout_rate: 2 is outside \[0\.0, 0\.9\)",
    ),
    "config with an unknown field": (
        EVALUATE + " --config {tmp}/unknown_field.json",
        r"Unknown model configuration field\(s\) \['hidden_units'\]; valid fields are "
        r"\['hidden_layers'",
    ),
    "train config value out of range": (
        "train --transactions {data} --horizon-days 365 --config {tmp}/bad_loss.json "
        "--out {tmp}/bundle",
        r"loss: 'poisson' is not one of \['ziln', 'log_mse', 'huber'\]",
    ),
    "column override that does not exist": (
        FEATURES + " --amount-col revenue",
        r"Column\(s\) given for a role are not in the table: amount='revenue'",
    ),
    "cutoff that is not a date": (
        "features --transactions {data} --cutoff 2024-31-12 --out {tmp}/f.csv",
        r"--cutoff must be a date such as 2024-06-30, got '2024-31-12'",
    ),
    "test size out of range": (
        EVALUATE + " --models historical --test-size 1.5",
        r"test_size must be between 0 and 1, got 1\.5",
    ),
    "bundle that does not exist": (
        "score --model {tmp}/no_bundle --transactions {data} --out {tmp}/scored.csv",
        r"The model bundle '.*no_bundle' does not exist",
    ),
    "a data file as the bundle": (
        "score --model {data} --transactions {data} --out {tmp}/scored.csv",
        r"is not a model bundle: expected a folder or a \.zip",
    ),
}


def command(template: str, tmp: Path) -> list[str]:
    """Fill in a template; split first, so paths with spaces stay one argument."""
    return [part.format(data=TRANSACTIONS, tmp=tmp) for part in template.split()]


@pytest.fixture
def bad_inputs(tmp_path: Path) -> Path:
    (tmp_path / "empty.csv").write_bytes(b"")
    (tmp_path / "binary.csv").write_bytes(
        b"\x00\x01\x02\x03PK" + np.random.default_rng(3).bytes(2048)
    )
    (tmp_path / "broken.json").write_text('{"hidden_layers": [8],', encoding="utf-8")
    write_json(tmp_path / "out_of_range.json", {"dropout_rate": 2, "ensemble_size": 1})
    write_json(tmp_path / "unknown_field.json", {"hidden_units": [8]})
    write_json(tmp_path / "bad_loss.json", {"loss": "poisson"})
    return tmp_path


@pytest.mark.parametrize("case", list(ERROR_CASES))
def test_user_errors_print_one_line_and_exit_2(
    case: str, bad_inputs: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    template, pattern = ERROR_CASES[case]
    assert_user_error(run_cli(capsys, *command(template, bad_inputs)), pattern)


def test_a_csv_duckdb_does_not_read_under_a_memory_limit_is_named(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """Under --memory-limit a CSV with a title row is read by the Python reader: the JSON and
    the terminal say so and why."""
    titled = tmp_path / "titled.csv"
    titled.write_text("Orders export\n" + TRANSACTIONS.read_text(encoding="utf-8"), "utf-8")
    arguments = [
        "features",
        "--transactions",
        titled,
        "--cutoff",
        "2024-12-31",
        "--out",
        tmp_path / "features.csv",
        "--memory-limit",
        "1GB",
    ]
    status, stdout, _ = run_cli(capsys, *arguments, "--json")
    assert status == 0
    assert json.loads(stdout)["why_loader"] == "its column names are not in line 1"
    status, _, err = run_cli(capsys, *arguments)
    assert status == 0
    assert "note: DuckDB did not read 'titled.csv' itself (its column names are not" in err
    status, stdout, _ = run_cli(capsys, *arguments[:-2], "--json")
    assert json.loads(stdout)["why_loader"] is None


def test_running_out_of_memory_says_what_to_do(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A log too large for this machine's memory is one error line, not a traceback; for
    ``features`` it names --memory-limit."""
    import clv_core.loading as loading

    def exhausted(*_args: object, **_kwargs: object) -> None:
        raise MemoryError

    monkeypatch.setattr(loading, "load_table", exhausted)
    window = ("--cutoff", "2024-12-31", "--horizon-days", 365)
    err = assert_user_error(
        run_cli(capsys, *features_arguments(tmp_path / "features.csv")),
        "ran out of memory running 'features'",
    )
    assert "--memory-limit" in err
    assert_user_error(
        run_cli(capsys, "evaluate", "--transactions", TRANSACTIONS, *window),
        "ran out of memory running 'evaluate'.*filtered extract",
    )


def test_all_config_problems_are_reported_together(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    config = write_json(
        tmp_path / "config.json", {"dropout_rate": 2, "hidden_layers": [0], "optimizer": "lbfgs"}
    )
    arguments = [*command(EVALUATE, tmp_path), "--models", "historical", "--config", config]
    error = assert_user_error(run_cli(capsys, *arguments), "Invalid model configuration")
    for field in ("dropout_rate", "hidden_layers", "optimizer"):
        assert f"  - {field}: " in error


@pytest.mark.parametrize(
    ("command", "cutoff"), [("features", ""), ("features", "NaT"), ("evaluate", "")]
)
def test_an_empty_cutoff_is_a_user_error(
    command: str, cutoff: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    arguments: list[object] = [command, "--transactions", TRANSACTIONS, "--cutoff", cutoff]
    if command == "features":
        arguments += ["--out", tmp_path / "f.csv"]
    else:
        arguments += ["--horizon-days", 30, "--models", "historical"]
    assert_user_error(run_cli(capsys, *arguments), r"--cutoff must be a date such as 2024-06-30")


def test_python_dash_m_reports_errors_on_stderr_with_status_2(tmp_path: Path) -> None:
    missing = tmp_path / "no_such_log.csv"
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "clv_core",
            "features",
            "--transactions",
            str(missing),
            "--cutoff",
            "2024-12-31",
            "--out",
            str(tmp_path / "features.csv"),
            "--json",
        ],
        cwd=REPOSITORY,
        capture_output=True,
        text=True,
        check=False,
    )
    assert completed.returncode == 2
    assert completed.stdout == ""
    assert completed.stderr == (
        f"error: File not found: '{missing}'. Check the path and the file name.\n"
    )


# ------------------------------------------------------------------------------------------
# evaluate
# ------------------------------------------------------------------------------------------


def evaluate_arguments(config: Path, *extra: object) -> list[object]:
    return [
        "evaluate",
        "--transactions",
        TRANSACTIONS,
        "--customers",
        CUSTOMERS,
        "--cutoff",
        "2024-12-31",
        "--horizon-days",
        365,
        "--config",
        config,
        "--json",
        *extra,
    ]


def assert_metrics(entry: dict[str, Any]) -> None:
    assert "error" not in entry, entry
    assert set(METRIC_NAMES) == {
        "spearman",
        "normalized_gini",
        "top_decile_share",
        "decile_mape",
        "total_ratio",
        "mae",
        "rmse",
    }
    for metric in METRIC_NAMES:
        assert isinstance(entry[metric], float), (metric, entry)
    assert entry["fit_seconds"] >= 0
    assert -1 <= entry["spearman"] <= 1
    assert 0 <= entry["top_decile_share"] <= 1
    assert entry["mae"] <= entry["rmse"]


@pytest.mark.slow
def test_evaluate_customer_split_with_every_model(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    small_config: Path,
    sample_transactions: pd.DataFrame,
) -> None:
    predictions_out = tmp_path / "predictions.csv"
    status, stdout, _ = run_cli(
        capsys,
        *evaluate_arguments(small_config, "--models", ",".join(MODELS)),
        "--predictions-out",
        predictions_out,
    )
    assert status == 0
    result = json.loads(stdout)
    customers = buyers_up_to(sample_transactions, "2024-12-31")
    assert result["split"] == "customer"
    assert result["n_customers"] == len(customers)
    assert result["n_train"] + result["n_test"] == result["n_customers"]
    assert result["n_test"] == round(0.2 * len(customers))
    assert_row_accounting(result["validation"]["transactions"])
    assert_row_accounting(result["validation"]["customers"])
    assert list(result["models"]) == list(MODELS)
    for name in MODELS:
        assert_metrics(result["models"][name])
    assert {f"{name}_seconds" for name in MODELS} | {"features_seconds", "total_seconds"} <= set(
        result["timings"]
    )

    predictions = pd.read_csv(predictions_out, dtype={"customer_id": str})
    assert list(predictions.columns) == ["customer_id", "actual", *MODELS]
    assert len(predictions) == result["n_test"]
    assert predictions["customer_id"].is_unique
    assert set(predictions["customer_id"]) <= customers
    assert (predictions["actual"] >= 0).all()
    # The JSON metrics are those of the written predictions (the definitions in clv_core.metrics).
    for name in MODELS:
        rho = spearmanr(predictions["actual"], predictions[name]).statistic
        assert result["models"][name]["spearman"] == pytest.approx(rho, abs=1e-5)
        total_ratio = predictions[name].sum() / predictions["actual"].sum()
        assert result["models"][name]["total_ratio"] == pytest.approx(total_ratio, rel=1e-5)


@pytest.mark.slow
def test_evaluate_out_of_time_split(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    small_config: Path,
    sample_transactions: pd.DataFrame,
) -> None:
    predictions_out = tmp_path / "predictions.csv"
    status, stdout, _ = run_cli(
        capsys,
        *evaluate_arguments(small_config, "--models", "mlp,lightgbm,historical"),
        "--split",
        "time",
        "--predictions-out",
        predictions_out,
    )
    assert status == 0
    result = json.loads(stdout)
    assert result["split"] == "time"
    # Learn on customers at cutoff - horizon (2024 is a leap year: 2024-01-01), measure on
    # every customer known at the cutoff.
    assert result["n_train"] == len(buyers_up_to(sample_transactions, "2024-01-01"))
    assert result["n_test"] == result["n_customers"]
    assert result["n_customers"] == len(buyers_up_to(sample_transactions, "2024-12-31"))
    for name in ("mlp", "lightgbm", "historical"):
        assert_metrics(result["models"][name])
    predictions = pd.read_csv(predictions_out)
    assert list(predictions.columns) == ["customer_id", "actual", "mlp", "lightgbm", "historical"]
    assert len(predictions) == result["n_test"]


@pytest.fixture
def one_time_buyers(tmp_path: Path) -> Path:
    """80 customers who each bought once in 2024; every third buys again in early 2025."""
    cutoff = pd.Timestamp("2024-12-31")
    rows = []
    for number in range(80):
        customer = f"U{number:03d}"
        first = pd.Timestamp("2024-01-01") + pd.Timedelta(days=(number * 7) % 360)
        rows.append((customer, first.date().isoformat(), 20.0 + (number * 13) % 90))
        if number % 3 == 0:
            # Customer U000 buys on the last horizon day, so the labels are fully observed.
            later = cutoff + pd.Timedelta(days=90 - number % 90)
            rows.append((customer, later.date().isoformat(), 30.0 + (number * 7) % 60))
    path = tmp_path / "one_time_buyers.csv"
    pd.DataFrame(rows, columns=["customer_id", "order_date", "amount"]).to_csv(path, index=False)
    return path


def test_a_model_that_cannot_be_fitted_is_reported_and_the_others_still_run(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, one_time_buyers: Path
) -> None:
    predictions_out = tmp_path / "predictions.csv"
    status, stdout, _ = run_cli(
        capsys,
        "evaluate",
        "--transactions",
        one_time_buyers,
        "--cutoff",
        "2024-12-31",
        "--horizon-days",
        90,
        "--models",
        "bgnbd_gg,lightgbm,historical",
        "--json",
        "--predictions-out",
        predictions_out,
    )
    assert status == 0
    result = json.loads(stdout)
    assert result["n_customers"] == 80
    failed = result["models"]["bgnbd_gg"]
    assert set(failed) == {"error", "fit_seconds"}
    assert re.search(
        r"BG/NBD cannot be fitted: no training customer bought on more than one day",
        failed["error"],
    )
    assert_metrics(result["models"]["historical"])
    assert_metrics(result["models"]["lightgbm"])
    assert "bgnbd_gg_seconds" not in result["timings"]
    assert any("No customer bought on more than one day" in w for w in result["warnings"])
    predictions = pd.read_csv(predictions_out)
    assert list(predictions.columns) == ["customer_id", "actual", "lightgbm", "historical"]


def test_a_failed_model_is_shown_in_the_table_without_json(
    capsys: pytest.CaptureFixture[str], one_time_buyers: Path
) -> None:
    status, stdout, stderr = run_cli(
        capsys,
        "evaluate",
        "--transactions",
        one_time_buyers,
        "--cutoff",
        "2024-12-31",
        "--horizon-days",
        90,
        "--models",
        "bgnbd_gg,historical",
    )
    assert status == 0
    assert stdout == ""
    assert "BG/NBD cannot be fitted" in stderr
    assert re.search(r"(?m)^\s*historical\s+-?\d", stderr)
    assert "warning: No customer bought on more than one day" in stderr


@pytest.mark.slow
def test_evaluate_on_cdnow_matches_the_reference(
    capsys: pytest.CaptureFixture[str], small_config: Path
) -> None:
    status, stdout, _ = run_cli(
        capsys,
        "evaluate",
        "--transactions",
        CDNOW,
        "--cutoff",
        "1997-09-30",
        "--horizon-days",
        273,
        "--models",
        "mlp,bgnbd_gg,lightgbm,historical",
        "--config",
        small_config,
        "--json",
    )
    assert status == 0
    result = json.loads(stdout)
    # Every CDNOW customer made the first purchase in the first quarter of 1997.
    assert result["n_customers"] == 23570
    mapping = result["validation"]["transactions"]["mapping"]
    assert (mapping["customer_id"], mapping["order_date"], mapping["amount"]) == (
        "customer_id",
        "date",
        "dollar_value",
    )
    assert_row_accounting(result["validation"]["transactions"])
    for name in ("mlp", "bgnbd_gg", "lightgbm", "historical"):
        assert_metrics(result["models"][name])
    # Reference measured for BG/NBD + Gamma-Gamma at this cutoff and horizon: 0.666.
    assert 0.6 < result["models"]["bgnbd_gg"]["normalized_gini"] < 0.75
    # Even the tiny test network ranks CDNOW customers far better than chance.
    assert result["models"]["mlp"]["normalized_gini"] > 0.6


# ------------------------------------------------------------------------------------------
# train and score
# ------------------------------------------------------------------------------------------


def train_arguments(config: Path, out: Path) -> list[str]:
    return [
        "train",
        "--transactions",
        str(TRANSACTIONS),
        "--customers",
        str(CUSTOMERS),
        "--horizon-days",
        "365",
        "--config",
        str(config),
        "--out",
        str(out),
        "--json",
    ]


@pytest.fixture(scope="module")
def log_mse_training(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    """A bundle trained by the CLI with a point-loss (log-MSE) network and the customer table."""
    folder = tmp_path_factory.mktemp("train")
    config = write_json(folder / "log_mse.json", SMALL_CONFIG | {"loss": "log_mse"})
    stdout = io.StringIO()
    with contextlib.redirect_stdout(stdout):
        status = main(train_arguments(config, folder / "bundle"))
    assert status == 0
    return folder / "bundle", json.loads(stdout.getvalue())


@pytest.mark.slow
def test_train_writes_a_bundle_for_the_latest_window(
    log_mse_training: tuple[Path, dict[str, Any]],
) -> None:
    bundle, output = log_mse_training
    assert sorted(path.name for path in bundle.iterdir()) == sorted(BUNDLE_FILES)
    assert output["command"] == "train"
    assert output["bundle"] == str(bundle)
    assert (output["as_of"], output["horizon_days"]) == ("2025-12-31", 365)
    assert output["training"]["training_cutoff"] == "2024-12-31"
    assert output["training"]["n_customers"] == 1704
    assert_row_accounting(output["validation"]["transactions"])
    meta = json.loads((bundle / "meta.json").read_text(encoding="utf-8"))
    assert meta["cutoff"] == "2025-12-31"
    assert meta["config"]["loss"] == "log_mse"
    assert set(ATTRIBUTE_FEATURES) <= set(meta["feature_columns"])
    assert meta["training"]["training_cutoff"] == "2024-12-31"


def score_arguments(model: Path, out: Path, *, with_customers: bool = True) -> list[object]:
    arguments: list[object] = ["score", "--model", model, "--transactions", TRANSACTIONS]
    if with_customers:
        arguments += ["--customers", CUSTOMERS]
    return [*arguments, "--out", out, "--json"]


@pytest.mark.slow
def test_score_with_a_folder_and_a_zip(
    log_mse_training: tuple[Path, dict[str, Any]],
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    sample_transactions: pd.DataFrame,
) -> None:
    bundle, _ = log_mse_training
    from_folder = tmp_path / "scored.csv"
    status, stdout, _ = run_cli(capsys, *score_arguments(bundle, from_folder))
    assert status == 0
    output = json.loads(stdout)
    scored = pd.read_csv(from_folder, dtype={"customer_id": str})
    assert list(scored.columns) == ["customer_id", "predicted_clv", *VALUE_COLUMNS]
    assert set(scored["customer_id"]) == buyers_up_to(sample_transactions, "2025-12-31")
    assert scored["customer_id"].is_unique
    assert scored["predicted_clv"].is_monotonic_decreasing
    assert (scored["predicted_clv"] >= 0).all()
    assert output["n_customers"] == len(scored)
    assert output["horizon_days"] == 365
    assert output["predicted_total"] == pytest.approx(scored["predicted_clv"].sum(), abs=0.01)

    archive = tmp_path / "bundle.zip"
    archive.write_bytes(zip_bundle(bundle))
    from_zip = tmp_path / "scored_from_zip.csv"
    assert run_cli(capsys, *score_arguments(archive, from_zip))[0] == 0
    pd.testing.assert_frame_equal(pd.read_csv(from_zip, dtype={"customer_id": str}), scored)


@pytest.mark.slow
def test_score_with_a_budget_keeps_the_customers_worth_contacting(
    log_mse_training: tuple[Path, dict[str, Any]],
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    bundle, _ = log_mse_training
    everyone = tmp_path / "everyone.xlsx"
    arguments = [*score_arguments(bundle, everyone), "--segments", "--margin", "0.4"]
    status, stdout, _ = run_cli(capsys, *arguments, "--discount-rate", "0")
    assert status == 0
    full = read_scored_xlsx(everyone.read_bytes())
    np.testing.assert_allclose(full["predicted_profit"], 0.4 * full["predicted_clv"], rtol=1e-9)
    summary = json.loads(stdout)["value"]
    assert summary["margin"] == 0.4 and len(summary["periods"]) == 13
    assert sum(p["revenue"] for p in summary["periods"]) == pytest.approx(
        full["predicted_clv"].sum(), abs=0.1
    )
    sheets = pd.read_excel(everyone, sheet_name=None)
    assert list(sheets) == ["scored", "months_total", "per_month"]
    per_month = sheets["per_month"].set_index("customer_id")
    assert list(per_month.columns) == [f"month_{k}" for k in range(1, 14)]
    np.testing.assert_allclose(
        per_month.sum(axis=1), full.set_index("customer_id")["predicted_clv"], rtol=1e-6
    )

    chosen = tmp_path / "chosen.csv"
    arguments = [*score_arguments(bundle, chosen), "--segments", "--tiers", "Potential"]
    arguments += ["--margin", "0.4", "--discount-rate", "0"]
    status, stdout, err = run_cli(capsys, *arguments, "--budget", "30", "--cost-per-contact", "3")
    assert status == 0, err
    listing = read_scored_csv(chosen.read_bytes())
    plan = json.loads(stdout)["budget"]
    potential = full[full["tier"] == "Potential"]
    worth = potential[potential["predicted_profit"] > 3]
    assert plan["contacts"] == len(listing) == min(10, len(worth))
    assert plan["candidates"] == len(potential) and plan["worth_contacting"] == len(worth)
    assert set(listing["tier"]) == {"Potential"}
    assert listing["expected_net_profit"].is_monotonic_decreasing
    expected = worth.sort_values("predicted_profit", ascending=False).head(len(listing))
    assert sorted(listing["customer_id"]) == sorted(expected["customer_id"])
    assert plan["expected_profit"] == pytest.approx(listing["predicted_profit"].sum(), abs=0.01)
    assert plan["expected_profit_80"] is None  # a point-loss network has no intervals


@pytest.mark.slow
def test_score_with_margins_per_category(
    log_mse_training: tuple[Path, dict[str, Any]],
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    bundle, _ = log_mse_training
    out = tmp_path / "scored.csv"
    arguments = [*score_arguments(bundle, out), "--margin-column", "channel", "--margin", "0.3"]
    arguments += ["--category-margins", "email=0.5, organic=0.2", "--discount-rate", "0"]
    status, stdout, err = run_cli(capsys, *arguments)
    assert status == 0, err
    scored = read_scored_csv(out.read_bytes()).set_index("customer_id")
    channel = pd.read_csv(CUSTOMERS, dtype=str).set_index("customer_id")["channel"]
    rate = channel.map({"email": 0.5, "organic": 0.2}).fillna(0.3).reindex(scored.index)
    np.testing.assert_allclose(scored["predicted_profit"], rate * scored["predicted_clv"])
    value = json.loads(stdout)["value"]
    assert value["category_margins"] == {"email": 0.5, "organic": 0.2}
    listed = channel.reindex(scored.index)
    assert value["margins_defaulted"] == int((~listed.isin(["email", "organic"])).sum())
    assert "the margin of each customer's 'channel'" in value["sentence"]


@pytest.mark.slow
@pytest.mark.parametrize(
    ("extra", "pattern"),
    [
        (["--margin", "1.5"], "between 0 and 1"),
        (["--discount-rate", "-0.1"], "0 or more a year"),
        (["--budget", "100"], "--budget and --cost-per-contact go together"),
        (["--budget", "1", "--cost-per-contact", "5"], "does not pay for one contact"),
        (["--margin-column", "margin"], "no column 'margin'"),
        (["--margin-column", "channel"], "holds categories"),
        (["--margin-column", "channel", "--category-margins", "email"], "is not NAME=SHARE"),
    ],
)
def test_bad_value_settings_are_clear_errors(
    log_mse_training: tuple[Path, dict[str, Any]],
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    extra: list[str],
    pattern: str,
) -> None:
    bundle, _ = log_mse_training
    out = tmp_path / "scored.csv"
    arguments = [*score_arguments(bundle, out), *extra]
    assert_user_error(run_cli(capsys, *arguments), pattern)
    assert not out.exists()


@pytest.mark.slow
def test_score_without_the_customer_table_names_the_missing_columns(
    log_mse_training: tuple[Path, dict[str, Any]],
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    bundle, _ = log_mse_training
    out = tmp_path / "scored.csv"
    error = assert_user_error(
        run_cli(capsys, *score_arguments(bundle, out, with_customers=False)),
        r"lacks \d+ feature\(s\) the model was trained with",
    )
    for column in ATTRIBUTE_FEATURES:
        assert f"'{column}'" in error
    assert not out.exists()


@pytest.mark.slow
def test_train_then_score_with_the_default_ziln_loss(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    small_config: Path,
    sample_transactions: pd.DataFrame,
) -> None:
    bundle = tmp_path / "bundle"
    status, stdout, _ = run_cli(capsys, *train_arguments(small_config, bundle))
    assert status == 0
    assert json.loads(stdout)["training"]["training_cutoff"] == "2024-12-31"
    assert sorted(path.name for path in bundle.iterdir()) == sorted(BUNDLE_FILES)

    scored_out = tmp_path / "scored.csv"
    status, _, _ = run_cli(capsys, *score_arguments(bundle, scored_out))
    assert status == 0
    scored = pd.read_csv(scored_out, dtype={"customer_id": str})
    assert list(scored.columns) == [
        "customer_id",
        "predicted_clv",
        "p_purchase",
        "clv_lower",
        "clv_upper",
        *VALUE_COLUMNS,
    ]
    # With the default margin 1 and 10% a year, profit is the revenue a little discounted.
    assert (scored["predicted_profit"] <= scored["predicted_clv"] + 1e-9).all()
    assert (scored["predicted_profit"] > scored["predicted_clv"] / 1.11).all()
    assert scored["p_alive"].between(0, 1).all()
    days = pd.to_datetime(scored["expected_next_order_date"]) - pd.Timestamp("2025-12-31")
    assert days.dt.days.between(1, 365).all()
    assert set(scored["customer_id"]) == buyers_up_to(sample_transactions, "2025-12-31")
    assert scored["predicted_clv"].is_monotonic_decreasing
    assert scored["p_purchase"].between(0, 1).all()
    assert (scored["clv_lower"] <= scored["clv_upper"]).all()

    archive = tmp_path / "bundle.zip"
    archive.write_bytes(zip_bundle(bundle))
    from_zip = tmp_path / "scored_from_zip.csv"
    assert run_cli(capsys, *score_arguments(archive, from_zip))[0] == 0
    pd.testing.assert_frame_equal(pd.read_csv(from_zip, dtype={"customer_id": str}), scored)

    error = assert_user_error(
        run_cli(capsys, *score_arguments(bundle, tmp_path / "x.csv", with_customers=False)),
        r"lacks \d+ feature\(s\)",
    )
    assert "'channel'" in error


# ------------------------------------------------------------------------------------------
# segments, explanations and exports
# ------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def ziln_bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A bundle trained by the CLI with the default (ZILN) loss, a tiny network and attributes."""
    folder = tmp_path_factory.mktemp("ziln")
    config = write_json(folder / "small.json", SMALL_CONFIG)
    with contextlib.redirect_stdout(io.StringIO()):
        assert main(train_arguments(config, folder / "bundle")) == 0
    return folder / "bundle"


@pytest.mark.slow
def test_score_with_segments_and_drivers_to_xlsx_in_chinese(
    ziln_bundle: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    out = tmp_path / "scored.xlsx"
    arguments = score_arguments(ziln_bundle, out)
    arguments[-1:-1] = ["--explain", "--language", "zh", "--passthrough", "channel,region"]
    status, stdout, _ = run_cli(capsys, *arguments)
    assert status == 0
    listing = read_scored_xlsx(out.read_bytes())
    assert list(listing.columns) == json.loads(stdout)["columns"]
    assert list(listing.columns) == [
        "customer_id", "predicted_clv", "clv_lower", "clv_upper", "p_purchase",
        "predicted_profit", "p_alive", "expected_next_order_date", "mean_days_between_orders",
        "rank", "percentile", "tier", "churn_band", "action", "driver_1", "driver_2",
        "driver_3", "channel", "region",
    ]  # fmt: skip
    assert listing["rank"].tolist() == list(range(1, len(listing) + 1))
    assert set(listing["tier"]) == {"高价值", "潜力", "一般", "低价值"}
    assert set(listing["churn_band"]) <= {"低", "中", "高"}
    assert listing["driver_1"].str.contains(r" = .* \([+-]").all()
    assert set(listing["region"]) <= {"华东", "华北", "华南", "华中", "西部"}
    # The top 10% by predicted CLV form the top tier.
    assert (listing["tier"] == "高价值").sum() == round(0.1 * len(listing))


@pytest.mark.slow
def test_score_with_segments_to_csv_for_excel(
    ziln_bundle: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    out = tmp_path / "scored.csv"
    arguments = score_arguments(ziln_bundle, out)
    arguments[-1:-1] = ["--segments", "--excel-bom"]
    assert run_cli(capsys, *arguments)[0] == 0
    data = out.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")
    listing = read_scored_csv(data)
    assert {"High value", "Potential", "Regular", "Low value"} == set(listing["tier"])
    assert "driver_1" not in listing.columns
    assert listing["predicted_clv"].is_monotonic_decreasing


@pytest.mark.slow
def test_explain_writes_additive_shap_values(
    ziln_bundle: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    scored_out = tmp_path / "scored.csv"
    assert run_cli(capsys, *score_arguments(ziln_bundle, scored_out))[0] == 0
    scored = pd.read_csv(scored_out, dtype={"customer_id": str}).set_index("customer_id")
    out = tmp_path / "shap.csv"
    status, stdout, _ = run_cli(
        capsys, "explain", "--model", ziln_bundle, "--transactions", TRANSACTIONS,
        "--customers", CUSTOMERS, "--sample", 40, "--out", out, "--json",
    )  # fmt: skip
    assert status == 0
    output = json.loads(stdout)
    values = pd.read_csv(out, dtype={"customer_id": str, "feature_value": str})
    assert list(values.columns) == ["customer_id", "feature", "feature_value", "shap_value"]
    assert values["customer_id"].nunique() == output["n_customers"] == 40
    assert len(values) == 40 * output["n_features"]
    assert "channel" in set(values["feature"])
    totals = values.groupby("customer_id")["shap_value"].sum() + output["base_value"]
    np.testing.assert_allclose(
        totals, scored.loc[totals.index, "predicted_clv"], rtol=1e-5, atol=1e-3
    )


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--segments", "--passthrough", "shoe_size"], r"shoe_size"),
        (["--segments", "--language", "fr"], r"invalid choice: 'fr'"),
    ],
)
def test_score_option_errors(
    ziln_bundle: Path,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    extra: list[str],
    message: str,
) -> None:
    arguments = score_arguments(ziln_bundle, tmp_path / "scored.csv")
    arguments[-1:-1] = extra
    if "fr" in extra:
        with pytest.raises(SystemExit) as exit_info:
            main([str(argument) for argument in arguments])
        assert exit_info.value.code == 2
        assert re.search(message, capsys.readouterr().err)
        return
    assert_user_error(run_cli(capsys, *arguments), message)


def test_passthrough_needs_the_customer_table(
    ziln_bundle: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    arguments = score_arguments(ziln_bundle, tmp_path / "scored.csv", with_customers=False)
    arguments[-1:-1] = ["--segments", "--passthrough", "channel"]
    assert_user_error(run_cli(capsys, *arguments), "--passthrough needs --customers")


@pytest.mark.slow
def test_score_filters_one_campaign(
    ziln_bundle: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    everyone = tmp_path / "everyone.csv"
    arguments = score_arguments(ziln_bundle, everyone)
    arguments[-1:-1] = ["--segments"]
    assert run_cli(capsys, *arguments)[0] == 0
    full = read_scored_csv(everyone.read_bytes())
    campaign = tmp_path / "campaign.csv"
    arguments = score_arguments(ziln_bundle, campaign)
    arguments[-1:-1] = ["--tiers", "High value,Potential", "--churn-bands", "High,Medium"]
    status, stdout, _ = run_cli(capsys, *arguments)
    assert status == 0
    chosen = read_scored_csv(campaign.read_bytes())
    expected = full[
        full["tier"].isin(["High value", "Potential"]) & full["churn_band"].isin(["High", "Medium"])
    ]
    assert chosen["customer_id"].tolist() == expected["customer_id"].tolist()
    assert json.loads(stdout)["n_customers"] == len(expected)
    arguments = score_arguments(ziln_bundle, campaign)
    arguments[-1:-1] = ["--tiers", "Gold"]
    assert_user_error(run_cli(capsys, *arguments), "Gold")


@pytest.mark.slow
def test_score_to_parquet_carries_language_independent_codes(
    ziln_bundle: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    outputs = {}
    for language in ("en", "zh"):
        out = tmp_path / f"scored-{language}.parquet"
        arguments = score_arguments(ziln_bundle, out)
        arguments[-1:-1] = ["--segments", "--language", language]
        status, stdout, _ = run_cli(capsys, *arguments)
        assert status == 0
        outputs[language] = (pd.read_parquet(out), json.loads(stdout))
    (english, summary), (chinese, chinese_summary) = outputs["en"], outputs["zh"]
    codes = ["tier_code", "churn_band_code", "action_code"]
    columns = list(english.columns)
    assert columns[columns.index("action") + 1 : columns.index("action") + 4] == codes
    pd.testing.assert_frame_equal(english[codes], chinese[codes])
    assert set(english.loc[english["tier"] == "High value", "tier_code"]) == {"tier_1"}
    assert set(chinese.loc[chinese["tier"] == "高价值", "tier_code"]) == {"tier_1"}
    assert set(english["churn_band_code"]) <= {"low", "medium", "high"}
    tiers = summary["segments"]["tier"]
    assert [row["code"] for row in tiers] == ["tier_1", "tier_2", "tier_3", "tier_4"]
    assert [row["label"] for row in tiers] == ["High value", "Potential", "Regular", "Low value"]
    assert sum(row["customers"] for row in tiers) == len(english)
    assert tiers[0]["predicted_clv"] == pytest.approx(
        english.loc[english["tier_code"] == "tier_1", "predicted_clv"].sum(), abs=0.01
    )
    for column in ("tier", "churn_band", "action"):
        drop_labels = [
            {k: v for k, v in row.items() if k != "label"} for row in summary["segments"][column]
        ]
        assert drop_labels == [
            {k: v for k, v in row.items() if k != "label"}
            for row in chinese_summary["segments"][column]
        ]
    csv_out = tmp_path / "scored.csv"
    arguments = score_arguments(ziln_bundle, csv_out)
    arguments[-1:-1] = ["--segments"]
    assert run_cli(capsys, *arguments)[0] == 0
    assert "tier_code" not in read_scored_csv(csv_out.read_bytes()).columns


# ------------------------------------------------------------------------------------------
# Per-customer tables: evaluate, train, score new customers, explain
# ------------------------------------------------------------------------------------------

TABLE_CONFIG = {"hidden_layers": [8], "ensemble_size": 5, "max_epochs": 3, "seed": 1}


@pytest.fixture(scope="module")
def table_bundle(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    folder = tmp_path_factory.mktemp("table")
    config = write_json(folder / "config.json", TABLE_CONFIG)
    status = main(
        [
            "train",
            "--customer-table",
            str(SEED_TABLE_ZH),
            "--target-col",
            "终身价值",
            "--config",
            str(config),
            "--out",
            str(folder / "bundle"),
            "--json",
        ]
    )
    assert status == 0
    return folder / "bundle", json.loads((folder / "bundle" / "meta.json").read_text("utf-8"))


def test_evaluate_a_customer_table(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    config = write_json(tmp_path / "config.json", SMALL_CONFIG)
    status, stdout, _ = run_cli(
        capsys,
        "evaluate",
        "--customer-table",
        SEED_TABLE_ZH,
        "--models",
        "mlp,lightgbm",
        "--config",
        config,
        "--json",
    )
    assert status == 0
    output = json.loads(stdout)
    assert (output["n_customers"], output["n_train"], output["n_test"]) == (1704, 1363, 341)
    assert set(output["models"]) == {"mlp", "lightgbm"}
    assert output["cutoff"] == "2024-12-31"  # the table's latest signup date
    report = output["validation"]["customer_table"]
    assert report["rows_read"] == report["rows_used"] == 1704
    assert report["mapping"]["target"] == "终身价值"


def test_train_on_a_table_then_score_new_customers_and_the_table_itself(
    table_bundle: tuple[Path, dict[str, Any]], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    bundle, meta = table_bundle
    assert meta["input"]["shape"] == "customer_table"
    assert meta["input"]["target_column"] == "终身价值"
    assert [column["name"] for column in meta["input"]["columns"]] == [
        "购买次数",
        "平均购买金额",
        "浏览时长",
        "注册时间",
    ]
    new_out = tmp_path / "new.xlsx"
    status, stdout, _ = run_cli(
        capsys,
        *score_table_arguments(bundle, NEW_CUSTOMERS_ZH, new_out),
        "--explain",
        "--language",
        "zh",
    )
    assert status == 0
    output = json.loads(stdout)
    scored = read_scored_xlsx(new_out.read_bytes())
    assert output["input"] == "customer_table" and output["n_customers"] == len(scored) == 523
    assert "known_value" not in scored and scored["driver_1"].notna().all()
    assert set(scored["tier"]) == {"高价值", "潜力", "一般", "低价值"}
    assert output["as_of"] == "2025-06-30"  # the new table's own latest date

    own_out = tmp_path / "own.csv"
    status, stdout, _ = run_cli(capsys, *score_table_arguments(bundle, SEED_TABLE_ZH, own_out))
    assert status == 0
    own = read_scored_csv(own_out.read_bytes())
    assert set(own["prediction_basis"]) == {"out_of_fold"}
    truth = pd.read_csv(SEED_TABLE_ZH, encoding="gb18030", dtype={"用户ID": str})
    known = own.set_index("customer_id")["known_value"].loc[truth["用户ID"]]
    np.testing.assert_allclose(known.to_numpy(), truth["终身价值"].clip(lower=0).to_numpy())


def score_table_arguments(bundle: Path, table: Path, out: Path) -> list[object]:
    return [
        "score",
        "--model",
        bundle,
        "--customer-table",
        table,
        "--segments",
        "--out",
        out,
        "--json",
    ]


def test_explain_a_table_and_the_scores_match_the_engine(
    table_bundle: tuple[Path, dict[str, Any]], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    bundle, _ = table_bundle
    out = tmp_path / "shap.csv"
    status, stdout, _ = run_cli(
        capsys,
        "explain",
        "--model",
        bundle,
        "--customer-table",
        NEW_CUSTOMERS_ZH,
        "--sample",
        "40",
        "--out",
        out,
        "--json",
    )
    assert status == 0
    output = json.loads(stdout)
    assert output["input"] == "customer_table"
    assert (output["n_customers"], output["n_features"]) == (40, 4)
    values = pd.read_csv(out)
    assert set(values["feature"]) == {"购买次数", "平均购买金额", "浏览时长", "days_since_注册时间"}


def test_table_errors_are_one_clear_message(
    table_bundle: tuple[Path, dict[str, Any]], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    bundle, _ = table_bundle
    out = tmp_path / "out.csv"
    assert_user_error(
        run_cli(capsys, "score", "--model", bundle, "--transactions", TRANSACTIONS, "--out", out),
        r"trained on a per-customer table .*score it with --customer-table",
    )
    assert_user_error(
        run_cli(capsys, "score", "--model", bundle, "--out", out),
        r"Give the data: --transactions PATH .* or --customer-table PATH",
    )
    assert_user_error(
        run_cli(
            capsys,
            "score",
            "--model",
            bundle,
            "--customer-table",
            NEW_CUSTOMERS_ZH,
            "--transactions",
            TRANSACTIONS,
            "--out",
            out,
        ),
        "not both",
    )
    missing = tmp_path / "missing.csv"
    pd.read_csv(NEW_CUSTOMERS_ZH, encoding="gb18030").drop(columns="浏览时长").to_csv(
        missing, index=False
    )
    assert_user_error(
        run_cli(capsys, "score", "--model", bundle, "--customer-table", missing, "--out", out),
        r"lacks 1 column\(s\) the model was trained on: \['浏览时长'\]",
    )
    texts = tmp_path / "texts.csv"
    pd.read_csv(NEW_CUSTOMERS_ZH, encoding="gb18030").assign(购买次数="n/a").to_csv(
        texts, index=False
    )
    assert_user_error(
        run_cli(capsys, "score", "--model", bundle, "--customer-table", texts, "--out", out),
        r"Column '购买次数' .* holds no number",
    )
    empty = tmp_path / "empty.csv"
    empty.write_text("用户ID,注册时间,购买次数,平均购买金额,浏览时长\n", encoding="utf-8")
    assert_user_error(
        run_cli(capsys, "score", "--model", bundle, "--customer-table", empty, "--out", out),
        r"empty\.csv|no rows",
    )
    assert_user_error(
        run_cli(capsys, "evaluate", "--transactions", TRANSACTIONS, "--json"),
        r"--cutoff and --horizon-days required with --transactions",
    )
    assert_user_error(
        run_cli(
            capsys,
            "train",
            "--customer-table",
            SEED_TABLE_ZH,
            "--horizon-days",
            "0",
            "--out",
            tmp_path / "never",
        ),
        "horizon_days must be a positive number of days",
    )


# ------------------------------------------------------------------------------------------
# Raw exports: money semantics, two-file exports, suggestions as flags
# ------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    from tests.corpus.exports import build_corpus

    return build_corpus(tmp_path_factory.mktemp("corpus"))


def test_features_of_a_two_file_export_with_json_accounting(
    capsys: pytest.CaptureFixture[str], corpus: dict[str, Any], tmp_path: Path
) -> None:
    export = corpus["shop_orders"]
    status, out, _ = run_cli(
        capsys,
        "features",
        "--transactions",
        export.files["transactions"],
        "--order-lines",
        export.files["order_lines"],
        "--cutoff",
        "2023-12-31",
        "--out",
        tmp_path / "features.csv",
        "--json",
    )
    assert status == 0
    report = json.loads(out)["validation"]["transactions"]
    assert report["source"] == "shop_orders.csv + shop_order_lines.csv"
    assert report["rows_read"] == export.counts["lines"]
    assert report["dropped"]["unknown_order"] == export.counts["unknown_order"]
    assert report["dropped"]["order_refunded"] == export.counts["status_refunded"]
    money = report["money"]
    assert money["spend"]["sentence"] == (
        "spend per line = Lineitem quantity x Lineitem price - Lineitem discount"
    )
    assert report["summary"]["net_amount"] == pytest.approx(export.true_spend.sum(), abs=0.01)
    assert set(money["figures"]) >= {"median_order_value", "p99_order_value", "zero_line_share"}
    features = pd.read_csv(tmp_path / "features.csv", dtype={"customer_id": str})
    assert len(features) > 0


def test_a_wrong_mapping_prints_the_suggestion_as_flags_that_fix_it(
    capsys: pytest.CaptureFixture[str], corpus: dict[str, Any], tmp_path: Path
) -> None:
    export = corpus["grocery_line_items"]
    common = ("--cutoff", "2023-06-30", "--out", tmp_path / "f.csv")
    status, _, err = run_cli(
        capsys,
        "features",
        "--transactions",
        export.files["transactions"],
        "--amount-col",
        "AMOUNT",
        "--quantity-col",
        "none",
        *common,
    )
    assert status == 0
    assert "spend: spend per line = AMOUNT" in err
    line = next(line for line in err.splitlines() if "money warning: Every spend value" in line)
    flags = line.split("To apply the suggestion: ")[1].split()
    assert flags == ["--amount-col", "SALES_VALUE", "--quantity-col", "AMOUNT"]
    status, out, _ = run_cli(
        capsys,
        "features",
        "--transactions",
        export.files["transactions"],
        *flags,
        *common,
        "--json",
    )
    money = json.loads(out)["validation"]["transactions"]["money"]
    assert money["warnings"] == []
    assert money["spend"]["sentence"] == "spend per line = SALES_VALUE"


def test_guest_ids_and_baskets_options(
    capsys: pytest.CaptureFixture[str], corpus: dict[str, Any], tmp_path: Path
) -> None:
    export = corpus["grocery_line_items"]
    guest = export.true_spend.index[0]
    status, out, _ = run_cli(
        capsys,
        "features",
        "--transactions",
        export.files["transactions"],
        "--guest-id",
        guest,
        "--no-baskets",
        "--cutoff",
        "2023-06-30",
        "--out",
        tmp_path / "f.csv",
        "--json",
    )
    assert status == 0
    report = json.loads(out)["validation"]["transactions"]
    assert report["dropped"]["guest_customer_id"] > 0
    assert "lines_combined_into_baskets" not in report["altered"]
    assert report["summary"]["n_orders"] == report["rows_used"]


def test_an_order_lines_file_without_a_shared_order_id_is_a_user_error(
    capsys: pytest.CaptureFixture[str], corpus: dict[str, Any], tmp_path: Path
) -> None:
    export = corpus["shop_orders"]
    err = assert_user_error(
        run_cli(
            capsys,
            "features",
            "--transactions",
            export.files["transactions"],
            "--order-lines",
            TRANSACTIONS,
            "--cutoff",
            "2023-12-31",
            "--out",
            tmp_path / "f.csv",
        ),
        r"Could not find the order id that links transactions\.csv to shop_orders\.csv",
    )
    assert "--order-id-col" in err


@NEEDS_JAVA
@pytest.mark.slow
def test_score_on_spark_equals_the_local_scorer(
    ziln_bundle: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """The bundle scored on Spark's executors gives the local scorer's list."""
    local, spark = tmp_path / "local.parquet", tmp_path / "spark.parquet"
    arguments = score_arguments(ziln_bundle, local)
    arguments[-1:-1] = ["--segments"]
    status, stdout, _ = run_cli(capsys, *arguments)
    assert status == 0
    expected_json = json.loads(stdout)
    arguments = score_arguments(ziln_bundle, spark)
    arguments[-1:-1] = ["--segments", "--engine", "spark"]
    status, stdout, stderr = run_cli(capsys, *arguments)
    assert status == 0, stderr
    actual_json = json.loads(stdout)
    assert actual_json["validation"] == expected_json["validation"]
    assert actual_json["columns"] == expected_json["columns"]
    expected, actual = pd.read_parquet(local), pd.read_parquet(spark)
    assert list(actual.columns) == list(expected.columns)
    assert actual["customer_id"].tolist() == expected["customer_id"].tolist()
    numbers = expected.select_dtypes("number").columns
    pd.testing.assert_frame_equal(actual[numbers], expected[numbers], rtol=1e-6)
    others = [column for column in expected.columns if column not in numbers]
    pd.testing.assert_frame_equal(actual[others], expected[others])
    assert_user_error(
        run_cli(
            capsys,
            *score_arguments(ziln_bundle, tmp_path / "x.parquet")[:-1],
            "--engine",
            "spark",
            "--explain",
        ),
        "--explain is not available with --engine spark",
    )


# ------------------------------------------------------------------------------------------
# monitor and retrain
# ------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def bundle_of_2024(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A bundle deployed on 2024-12-31 with a 180-day horizon, from the sample with attributes."""
    folder = tmp_path_factory.mktemp("monitor")
    config = write_json(folder / "small.json", SMALL_CONFIG | {"max_epochs": 5})
    arguments = train_arguments(config, folder / "bundle")
    arguments[arguments.index("--horizon-days") + 1] = "180"
    with contextlib.redirect_stdout(io.StringIO()):
        assert main([*arguments, "--as-of", "2024-12-31"]) == 0
    return folder / "bundle"


@pytest.mark.slow
def test_monitor_reports_for_a_scheduler(
    bundle_of_2024: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    report = tmp_path / "report.xlsx"
    arguments = ["monitor", "--model", bundle_of_2024, "--transactions", TRANSACTIONS]
    arguments += ["--customers", CUSTOMERS, "--out", report, "--json"]
    status, stdout, _ = run_cli(capsys, *arguments)
    assert status == 0
    data = json.loads(stdout)
    assert data["report"] == "clv-monitor-1"
    assert data["bundle"]["as_of"] == "2024-12-31"
    assert data["window"] == {
        "start": "2025-01-01",
        "end": "2025-06-29",
        "days": 180,
        "complete": True,
        "prorated_by": None,
    }
    assert isinstance(data["retrain_recommended"], bool) and isinstance(data["reasons"], list)
    assert set(data["baselines"]) == {"bgnbd_gg", "lightgbm", "historical"}
    assert data["validation"]["transactions"]["rows_read"] == 30_426
    assert pd.read_excel(report, sheet_name="metrics")["model"].iloc[0] == "network"
    # Without --json: the verdict in words, exit 0 either way.
    status, _, err = run_cli(capsys, *arguments[:-3])
    assert status == 0 and ("retraining recommended" in err or "no retraining needed" in err)


@pytest.mark.slow
def test_retrain_promotes_or_keeps_the_bundle(
    bundle_of_2024: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    arguments = ["retrain", "--model", bundle_of_2024, "--transactions", TRANSACTIONS]
    arguments += ["--customers", CUSTOMERS, "--json"]
    status, stdout, err = run_cli(
        capsys, *arguments, "--out", tmp_path / "kept", "--promote", "never"
    )
    assert status == 0, err
    kept = json.loads(stdout)
    assert kept["promoted"] is False and kept["bundle"] is None
    assert not (tmp_path / "kept").exists()
    assert kept["comparison"]["evaluation_cutoff"] == "2025-07-04"
    status, stdout, _ = run_cli(
        capsys, *arguments, "--out", tmp_path / "new", "--promote", "always"
    )
    assert status == 0
    promoted = json.loads(stdout)
    assert promoted["promoted"] is True
    meta = json.loads((tmp_path / "new" / "meta.json").read_text(encoding="utf-8"))
    assert meta["cutoff"] == "2025-12-31"
    assert meta["lineage"]["parent"]["as_of"] == "2024-12-31"
    assert meta["lineage"]["comparison"] == kept["comparison"]


@pytest.mark.slow
def test_monitor_refuses_what_it_cannot_compare(
    bundle_of_2024: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    early = tmp_path / "early.csv"
    log = pd.read_csv(TRANSACTIONS, dtype=str)
    log[log["order_date"] < "2024-06-01"].to_csv(early, index=False)
    arguments = ["monitor", "--model", bundle_of_2024, "--transactions", early]
    assert_user_error(
        run_cli(capsys, *arguments, "--customers", CUSTOMERS), "on or before the bundle's as-of"
    )
    # The bundle learned from the attributes: a log without them cannot build its features.
    arguments = ["monitor", "--model", bundle_of_2024, "--transactions", TRANSACTIONS]
    assert_user_error(run_cli(capsys, *arguments), r"lacks \d+ feature\(s\)")
    assert_user_error(
        run_cli(capsys, *arguments, "--customers", CUSTOMERS, "--out", tmp_path / "r.pdf"),
        r"\.json",
    )
