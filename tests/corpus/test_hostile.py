"""Every hostile corpus file is refused with a clear message, cheaply, in a fresh interpreter."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from tests.corpus.hostile import HostileCase, build_hostile_corpus, probe

# The bound the corpus is held to: peak resident memory of reading one file, the interpreter
# with pandas, pyarrow and openpyxl included (about 150-250 MB of it).
PEAK_RSS_BOUND_MB = 1024


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[HostileCase]]:
    folder = tmp_path_factory.mktemp("hostile")
    return folder, build_hostile_corpus(folder)


@pytest.fixture(scope="module")
def results(corpus: tuple[Path, list[HostileCase]]) -> dict[str, dict[str, Any]]:
    folder, cases = corpus
    found = probe(folder, cases)
    crashed = [result for result in found if result["case"] == "probe"]
    assert not crashed, crashed
    return {result["case"]: result for result in found}


def test_the_corpus_covers_every_container_and_the_bombs_are_real(
    corpus: tuple[Path, list[HostileCase]],
) -> None:
    folder, cases = corpus
    names = {case.name for case in cases}
    for expected in ("gzip_bomb", "xlsx_bomb", "bundle_bomb", "parquet_dictionary_bomb"):
        assert expected in names
    sizes = {case.name: (folder / case.file_name).stat().st_size for case in cases}
    # An 8 MB-class gzip file expanding to 3.5 GB, a 3 MB-class bundle to 3 GB.
    assert sizes["gzip_bomb"] < 16 << 20
    assert next(c for c in cases if c.name == "gzip_bomb").inflates_to >= 3500 << 20
    assert sizes["bundle_bomb"] < 8 << 20


def test_every_case_is_refused_or_read_as_expected(
    corpus: tuple[Path, list[HostileCase]], results: dict[str, dict[str, Any]]
) -> None:
    _, cases = corpus
    for case in cases:
        result = results[case.name]
        assert result["outcome"] == case.expect, (case.name, result)
        if case.expect == "refused":
            assert result["error"] in ("DataError", "ConfigError"), (case.name, result)
            assert re.search(case.match, result["message"]), (case.name, result["message"])


def test_messages_are_clear_and_show_no_server_paths(
    corpus: tuple[Path, list[HostileCase]], results: dict[str, dict[str, Any]]
) -> None:
    folder, _ = corpus
    for result in results.values():
        message = result.get("message", "")
        assert "Traceback" not in message
        assert str(folder) not in message and "/tmp/" not in message, message
        assert "clv-bundle-" not in message, message


def test_refusals_name_the_limit_and_how_to_raise_it(results: dict[str, dict[str, Any]]) -> None:
    for name, option in (
        ("gzip_bomb", "--max-compression-ratio"),
        ("xlsx_bomb", "--max-compression-ratio"),
        ("parquet_dictionary_bomb", "--max-compression-ratio"),
        ("wide_columns", "--max-columns"),
        ("xlsx_long_cell", "--max-cell-chars"),
    ):
        assert option in results[name]["message"], results[name]["message"]


def test_each_case_stays_under_the_memory_bound(results: dict[str, dict[str, Any]]) -> None:
    over = {
        name: result["peak_rss_mb"]
        for name, result in results.items()
        if result["peak_rss_mb"] > PEAK_RSS_BOUND_MB
    }
    assert not over, over


def test_formula_cells_are_read_as_text(corpus: tuple[Path, list[HostileCase]]) -> None:
    from clv_core.export import neutralise_formulas
    from clv_core.loading import load_table

    folder, _ = corpus
    table = load_table(folder / "formulas.csv")
    ids = list(table.frame["customer_id"])
    assert ids[0].startswith("=HYPERLINK(") and ids[1] == "+SUM(1;2)"
    safe = neutralise_formulas(table.frame)
    assert all(not str(value).startswith(("=", "+", "-", "@")) for value in safe["customer_id"])
