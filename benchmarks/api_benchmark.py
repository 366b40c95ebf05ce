"""Benchmark of the REST scoring service (``python -m clv_core serve``), loopback only.

Starts the real server (uvicorn, one worker) on a free loopback port with a bundle (by default a
5-member network trained with the default settings on the bundled sample) and measures:

- ``cold_start_s``: from launching the server process to ``GET /ready`` answering 200;
- ``single``: ``POST /score`` of one customer from 1, 4 and 16 concurrent clients (separate
  processes, one keep-alive connection each): latency p50/p90/p99 and requests per second;
- ``batch``: ``POST /score`` of 1,000 and 10,000 customers (median and slowest of repeats);
- ``transactions``: ``POST /score/transactions`` of one customer with 50 orders.

Every response is checked (status 200, the customers asked for). The request counts are fixed,
so the run is bounded (about a minute on two cores). Prints one JSON object; ``--out`` also
writes it to a file.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import multiprocessing
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

REPOSITORY_ROOT = Path(__file__).resolve().parents[1]
SAMPLE = REPOSITORY_ROOT / "sample_data"
CONCURRENCY = (1, 4, 16)
SINGLE_REQUESTS = 1200  # per concurrency level, shared by its clients
WARM_UP_REQUESTS = 50
BATCH_REPEATS = {1000: 10, 10_000: 4}
TRANSACTION_REPEATS = 50
TARGETS = {
    "single_p99_ms_4_clients": 25.0,
    "single_requests_per_s_4_clients": 300.0,
    "batch_1000_ms": 150.0,
    "batch_10000_ms": 1000.0,
    "cold_start_s": 5.0,
}


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def train_default_bundle(folder: Path) -> Path:
    """A bundle trained with the default settings on the sample and its attributes."""
    bundle = folder / "bundle"
    command = [sys.executable, "-m", "clv_core", "train"]
    command += ["--transactions", str(SAMPLE / "transactions.csv")]
    command += ["--customers", str(SAMPLE / "customers.csv"), "--horizon-days", "365"]
    command += ["--out", str(bundle)]
    subprocess.run(command, cwd=REPOSITORY_ROOT, check=True, stdout=subprocess.DEVNULL)
    return bundle


def feature_rows(bundle: Path) -> list[dict[str, Any]]:
    """Every sample customer's features at the bundle's as-of date, as ``/score`` rows."""
    from clv_core.features import FeatureOptions, build_features
    from clv_core.loading import load_table
    from clv_core.validation import validate_customers, validate_transactions

    meta = json.loads((bundle / "meta.json").read_text(encoding="utf-8"))
    options = meta["feature_options"]
    log = validate_transactions(load_table(SAMPLE / "transactions.csv").frame)
    customers = validate_customers(load_table(SAMPLE / "customers.csv").frame)
    features = build_features(
        log.frame,
        meta["cutoff"],
        customers=customers,
        options=FeatureOptions(
            window_days=tuple(options["window_days"]),
            trend_window_days=options["trend_window_days"],
        ),
    )
    table = features[meta["feature_columns"]].reset_index().astype(object)
    rows: list[dict[str, Any]] = json.loads(
        json.dumps(table.where(table.notna(), None).to_dict("records"))
    )
    return rows


def many_rows(rows: list[dict[str, Any]], count: int) -> list[dict[str, Any]]:
    """``count`` customers: the sample's rows repeated under new ids."""
    return [rows[index % len(rows)] | {"customer_id": f"B{index:07d}"} for index in range(count)]


def one_customer_orders(count: int = 50) -> dict[str, Any]:
    """One customer with ``count`` orders over two years, and their attributes."""
    orders = [
        {
            "customer_id": "C-API",
            "order_date": f"{2024 + index // 26}-{1 + (index % 26) // 3:02d}-{1 + index % 27:02d}",
            "amount": round(20 + 7.5 * (index % 9), 2),
            "order_id": f"O{index}",
        }
        for index in range(count)
    ]
    attributes = {"customer_id": "C-API", "signup_date": "2023-11-20", "channel": "email"}
    attributes |= {"region": "西部", "device": "desktop", "age_group": "25-34"}
    attributes |= {"membership": "none", "browsing_minutes": 23.1}
    return {"orders": orders, "customers": [attributes], "as_of": "2025-12-31"}


@contextlib.contextmanager
def running_server(bundle: Path, port: int, stderr: Path) -> Iterator[tuple[float, Any]]:
    """The server process; yields (seconds until /ready answered, process)."""
    command = [sys.executable, "-m", "clv_core", "serve", "--model", str(bundle)]
    command += ["--port", str(port), "--max-batch", "20000", "--max-body-mb", "50"]
    started = time.perf_counter()
    with stderr.open("w") as log:
        server = subprocess.Popen(
            command,
            cwd=REPOSITORY_ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            ready = _wait_ready(port, server, started)
            yield ready, server
        finally:
            server.terminate()
            server.wait(timeout=30)


def _wait_ready(port: int, server: Any, started: float) -> float:
    deadline = started + 120
    while time.perf_counter() < deadline:
        if server.poll() is not None:
            raise SystemExit("the server stopped before it was ready")
        with contextlib.suppress(OSError, http.client.HTTPException):
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            connection.request("GET", "/ready")
            if connection.getresponse().status == 200:
                return time.perf_counter() - started
        time.sleep(0.02)
    raise SystemExit("the server was not ready within 120 s")


def _post(connection: http.client.HTTPConnection, path: str, body: bytes) -> dict[str, Any]:
    connection.request("POST", path, body, {"content-type": "application/json"})
    response = connection.getresponse()
    data = response.read()
    if response.status != 200:
        raise SystemExit(f"{path} answered {response.status}: {data[:300]!r}")
    answer: dict[str, Any] = json.loads(data)
    return answer


def _client(port: int, bodies: list[bytes], start: Any, results: Any) -> None:
    """One client process: its requests in turn on one keep-alive connection."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    latencies = []
    start.wait()
    for body in bodies:
        begun = time.perf_counter()
        _post(connection, "/score", body)
        latencies.append(time.perf_counter() - begun)
    results.put((latencies, time.perf_counter()))


def single_customer_load(port: int, rows: list[dict[str, Any]], clients: int) -> dict[str, Any]:
    """``SINGLE_REQUESTS`` one-customer requests from ``clients`` concurrent processes."""
    context = multiprocessing.get_context("spawn")
    start = context.Event()
    results = context.Queue()
    per_client = SINGLE_REQUESTS // clients
    processes = []
    for client in range(clients):
        bodies = [
            json.dumps({"customers": [rows[(client * per_client + index) % len(rows)]]}).encode()
            for index in range(per_client)
        ]
        process = context.Process(target=_client, args=(port, bodies, start, results))
        process.start()
        processes.append(process)
    time.sleep(1.0)  # every client connected and waiting
    begun = time.perf_counter()
    start.set()
    latencies: list[float] = []
    finished = begun
    for _ in processes:
        measured, ended = results.get(timeout=300)
        latencies += measured
        finished = max(finished, ended)
    for process in processes:
        process.join(timeout=30)
    milliseconds = sorted(1000 * value for value in latencies)
    return {
        "clients": clients,
        "requests": len(milliseconds),
        "p50_ms": round(_quantile(milliseconds, 0.50), 2),
        "p90_ms": round(_quantile(milliseconds, 0.90), 2),
        "p99_ms": round(_quantile(milliseconds, 0.99), 2),
        "max_ms": round(milliseconds[-1], 2),
        "requests_per_s": round(len(milliseconds) / (finished - begun), 1),
    }


def _quantile(sorted_values: list[float], level: float) -> float:
    position = min(len(sorted_values) - 1, max(0, round(level * (len(sorted_values) - 1))))
    return sorted_values[position]


def timed_posts(port: int, path: str, body: bytes, repeats: int, expected: int) -> dict[str, Any]:
    """``repeats`` requests in turn: median, slowest, and the customers answered."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    _post(connection, path, body)  # warm-up
    seconds = []
    for _ in range(repeats):
        begun = time.perf_counter()
        answer = _post(connection, path, body)
        seconds.append(time.perf_counter() - begun)
        if len(answer["customers"]) != expected:
            raise SystemExit(f"{path}: {len(answer['customers'])} customers, {expected} asked")
    return {
        "repeats": repeats,
        "median_ms": round(1000 * statistics.median(seconds), 1),
        "max_ms": round(1000 * max(seconds), 1),
        "body_mb": round(len(body) / 1e6, 2),
    }


def run(bundle: Path | None) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="clv-api-bench-") as folder:
        if bundle is None:
            _log("training a default bundle on the sample")
            bundle = train_default_bundle(Path(folder))
        rows = feature_rows(bundle)
        port = _free_port()
        _log(f"starting the server on 127.0.0.1:{port}")
        with running_server(bundle, port, Path(folder) / "server.log") as (cold_start, _):
            result: dict[str, Any] = {"cold_start_s": round(cold_start, 2)}
            warm = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            for index in range(WARM_UP_REQUESTS):
                _post(warm, "/score", json.dumps({"customers": [rows[index]]}).encode())
            result["single"] = {}
            for clients in CONCURRENCY:
                _log(f"single-customer requests, {clients} client(s)")
                result["single"][str(clients)] = single_customer_load(port, rows, clients)
            result["batch"] = {}
            for size, repeats in BATCH_REPEATS.items():
                _log(f"batches of {size:,} customers")
                body = json.dumps({"customers": many_rows(rows, size)}).encode()
                result["batch"][str(size)] = timed_posts(port, "/score", body, repeats, size)
            _log("one customer with 50 orders")
            body = json.dumps(one_customer_orders()).encode()
            result["transactions"] = timed_posts(
                port, "/score/transactions", body, TRANSACTION_REPEATS, 1
            )
    return result


def with_targets(result: dict[str, Any]) -> dict[str, Any]:
    four = result["single"]["4"]
    measured = {
        "single_p99_ms_4_clients": four["p99_ms"],
        "single_requests_per_s_4_clients": four["requests_per_s"],
        "batch_1000_ms": result["batch"]["1000"]["median_ms"],
        "batch_10000_ms": result["batch"]["10000"]["median_ms"],
        "cold_start_s": result["cold_start_s"],
    }
    targets = {}
    for name, value in measured.items():
        target = TARGETS[name]
        met = value >= target if name.endswith("per_s_4_clients") else value <= target
        targets[name] = {"value": value, "target": target, "met": met}
    return {
        "benchmark": "api",
        "machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0]},
        **result,
        "targets": targets,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, help="a bundle (default: train one on the sample)")
    parser.add_argument("--out", type=Path, help="also write the JSON to this file")
    arguments = parser.parse_args(argv)
    sys.path.insert(0, str(REPOSITORY_ROOT))
    result = with_targets(run(arguments.model))
    text = json.dumps(result, indent=2, ensure_ascii=False)
    print(text)
    if arguments.out is not None:
        arguments.out.write_text(text + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
