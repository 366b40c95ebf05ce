"""Raw exports benchmark: true vs computed net spend, rows by reason, for each realistic export.

Builds the seeded corpus of realistic exports (``tests/corpus/exports.py``: an ERP invoice-line
export, a grocery line-item log, a shop platform's two-file orders + lines export, a Chinese
marketplace export in GB18030, an XLSX with a title row), reads each one through the same
intake path as the CLI and the workbench with no manual mapping, and prints one JSON object:
per export the true and computed net spend (total and the largest per-customer difference),
the relative error (target: at most 0.5%), true and computed orders, the spend sentence, the
rows read / used / dropped by reason next to the generator's own counts, the plausibility
warnings and the time to read and validate.

Usage::

    python benchmarks/exports_benchmark.py [--seed 0] [--out results.json]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPOSITORY = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPOSITORY))

from clv_core.intake import transaction_source, validate_source  # noqa: E402
from clv_core.loading import load_table  # noqa: E402
from clv_core.validation import ValidationOptions  # noqa: E402
from tests.corpus.exports import DROP_REASONS, CorpusExport, build_corpus  # noqa: E402


def measure(export: CorpusExport) -> dict[str, Any]:
    """Read one export with no mapping and compare with its ground truth."""
    started = time.perf_counter()
    table = load_table(export.files["transactions"])
    lines_path = export.files.get("order_lines")
    lines = load_table(lines_path) if lines_path is not None else None
    transactions = validate_source(
        transaction_source(table, lines),
        options=ValidationOptions(latest_valid_date=dt.date(2030, 1, 1)),
    )
    seconds = time.perf_counter() - started
    spend = transactions.frame.groupby("customer_id")["amount"].sum()
    spend.index = spend.index.astype(str)
    true = export.true_spend.copy()
    true.index = true.index.astype(str)
    difference = (spend.reindex(true.index.union(spend.index), fill_value=0.0)).sub(
        true.reindex(true.index.union(spend.index), fill_value=0.0)
    )
    report = transactions.report
    money = transactions.money
    return {
        "files": sorted(path.name for path in export.files.values()),
        "spend_sentence": money.explanation.sentence if money is not None else None,
        "expected_spend_columns": list(export.spend_columns),
        "true_net_spend": round(float(true.sum()), 2),
        "computed_net_spend": round(float(spend.sum()), 2),
        "relative_error": round(abs(float(spend.sum()) / float(true.sum()) - 1), 6),
        "max_customer_difference": round(float(difference.abs().max()), 4),
        "customers": {"true": len(true), "computed": len(spend)},
        "orders": {"true": export.counts["orders"], "computed": len(transactions.frame)},
        "rows": {
            "read": report.rows_read,
            "used": report.rows_used,
            "true_counted_lines": export.counts["counted_lines"],
            "dropped": dict(report.dropped),
            "true_dropped": {
                reason: export.counts[key]
                for key, reason in DROP_REASONS.items()
                if export.counts[key]
            },
            "altered": dict(report.altered),
        },
        "warnings": [warning.key for warning in money.warnings] if money is not None else [],
        "seconds": round(seconds, 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0, help="corpus seed (default 0)")
    parser.add_argument("--out", type=Path, help="also write the JSON to this file")
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="clv-exports-") as directory:
        corpus = build_corpus(Path(directory), seed=arguments.seed)
        results: dict[str, Any] = {"benchmark": "exports", "seed": arguments.seed}
        results.update({name: measure(export) for name, export in corpus.items()})
    text = json.dumps(results, indent=2, ensure_ascii=False)
    print(text)
    if arguments.out:
        arguments.out.write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
