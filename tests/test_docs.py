"""Generated docs must match the rule metadata: regenerate with `python -m remediation_lint.docs`."""

from __future__ import annotations

from remediation_lint.docs import stale_files
from tests.conftest import ROOT


def test_generated_docs_are_current():
    stale = stale_files(ROOT)
    assert not stale, f"stale generated docs (run `python -m remediation_lint.docs`): {[str(p.relative_to(ROOT)) for p in stale]}"


def test_readme_has_rule_table_markers():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "<!-- rules-table-start -->" in text and "<!-- rules-table-end -->" in text
