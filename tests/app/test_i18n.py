"""The catalogue: every row-issue reason in both languages, English from the engine itself."""

from __future__ import annotations

import pytest

from clv_core.catalogue import ISSUE_LABELS
from clv_core.issues import ISSUE_DESCRIPTIONS, RowIssue
from clv_core.language import Language
from clv_ui import i18n


def test_every_row_issue_has_chinese_and_the_engines_english(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert set(ISSUE_LABELS) == {issue.value for issue in RowIssue}
    assert set(ISSUE_DESCRIPTIONS) == set(RowIssue)
    monkeypatch.setattr(i18n, "current_language", lambda: Language.EN)
    for issue in RowIssue:
        assert i18n.issue_label(issue.value) == ISSUE_DESCRIPTIONS[issue]
    monkeypatch.setattr(i18n, "current_language", lambda: Language.ZH)
    assert i18n.issue_label("missing_customer_id") == "客户 ID 为空"
    assert i18n.issue_label("not_a_reason") == "not_a_reason"
