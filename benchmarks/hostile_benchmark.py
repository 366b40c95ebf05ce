"""Hostile inputs benchmark: every corpus file's outcome, time and peak memory.

Builds the hostile corpus (``tests/corpus/hostile.py``: decompression bombs in gzip text, Excel
workbooks, Parquet and model bundles, archives that lie about their sizes, a million-column
header, a 100 MB line, JSON nested 100,000 deep, a network config of a billion units, truncated
and corrupted files, NUL bytes, formula cells) plus honest big logs (by default 10,000,000
order lines as CSV, gzip-compressed CSV and Parquet), reads every file with the default limits
in a fresh interpreter, and prints one JSON object: per file its size, what it expands to, the
outcome (``refused`` with the message, or ``read`` with the rows), the seconds and the peak
resident memory of reading that file alone (the interpreter with pandas, pyarrow and openpyxl
included), next to the targets: every hostile file refused in under 5 s with peak RSS under
1 GB, and the honest logs read.

Usage::

    python benchmarks/hostile_benchmark.py [--honest-rows 10000000] [--out results.json]
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPOSITORY = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPOSITORY))

from tests.corpus.hostile import HostileCase, build_hostile_corpus, probe  # noqa: E402

TARGET_SECONDS = 5.0
TARGET_PEAK_MB = 1024.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--honest-rows",
        type=int,
        default=10_000_000,
        help="order lines of the honest logs (0 = none; default 10,000,000)",
    )
    parser.add_argument("--out", type=Path, help="also write the JSON to this file")
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="clv-hostile-") as directory:
        folder = Path(directory)
        started = time.perf_counter()
        print("building the corpus ...", file=sys.stderr, flush=True)
        cases = build_hostile_corpus(folder, honest_rows=arguments.honest_rows)
        build_seconds = time.perf_counter() - started
        print(f"built in {build_seconds:.1f} s; reading ...", file=sys.stderr, flush=True)
        results = probe(folder, cases, timeout=3600)
        by_name = {result["case"]: result for result in results}
        rows = [
            _case_row(folder, case, by_name.get(case.name, {"outcome": "missing"}))
            for case in cases
        ]
    text = json.dumps(_report(rows, results, build_seconds), indent=2, ensure_ascii=False)
    print(text)
    if arguments.out is not None:
        arguments.out.write_text(text + "\n", encoding="utf-8")


def _case_row(folder: Path, case: HostileCase, result: dict[str, Any]) -> dict[str, Any]:
    """One corpus file's row: what it is, what reading it did, and whether that was expected."""
    hostile = case.expect == "refused"
    row: dict[str, Any] = {
        "case": case.name,
        "file": case.file_name,
        "description": case.description,
        "file_mb": round((folder / case.file_name).stat().st_size / (1 << 20), 2),
        "expands_to_mb": round(case.inflates_to / (1 << 20)) if case.inflates_to else None,
        "expected": case.expect,
        "outcome": result.get("outcome"),
        "seconds": result.get("seconds"),
        "peak_rss_mb": result.get("peak_rss_mb"),
        "rows": result.get("rows"),
        "message": result.get("message"),
    }
    row["as_expected"] = row["outcome"] == case.expect
    if hostile:
        row["within_targets"] = bool(
            row["as_expected"]
            and (row["seconds"] or 0) < TARGET_SECONDS
            and (row["peak_rss_mb"] or 0) < TARGET_PEAK_MB
        )
    return row


def _report(
    rows: list[dict[str, Any]], results: list[dict[str, Any]], build_seconds: float
) -> dict[str, Any]:
    """The printed JSON object: machine, build time, targets, per-case rows and probe errors."""
    hostile_rows = [row for row in rows if row["expected"] == "refused"]
    honest_rows = [row for row in rows if row["case"].startswith("honest")]
    return {
        "benchmark": "hostile",
        "machine": {"platform": platform.platform(), "python": platform.python_version()},
        "build_s": round(build_seconds, 1),
        "targets": {
            "hostile_refused_under_5s_and_1gb": {
                "value": sum(bool(row.get("within_targets")) for row in hostile_rows),
                "of": len(hostile_rows),
                "met": all(row.get("within_targets") for row in hostile_rows),
            },
            "honest_logs_read": {
                "value": sum(row["outcome"] == "read" for row in honest_rows),
                "of": len(honest_rows),
                "met": all(row["outcome"] == "read" for row in honest_rows),
            },
        },
        "max_hostile_seconds": max((row["seconds"] or 0) for row in hostile_rows),
        "max_hostile_peak_rss_mb": max((row["peak_rss_mb"] or 0) for row in hostile_rows),
        "cases": rows,
        "probe_errors": [result for result in results if result["case"] == "probe"],
    }


if __name__ == "__main__":
    main()
