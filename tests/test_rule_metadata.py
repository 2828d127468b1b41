"""Every rule is a complete product: metadata, docs, examples, one module named after it."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

from remediation_lint.registry import all_rules
from remediation_lint.rule import Default, FixSafety, Severity

RULES = [pytest.param(rule, id=code) for code, rule in all_rules().items()]
SEEDS = {
    "000_18f8732ba4a86cc0.txt": "khala",
    "001_0845f576a88221b4.txt": "orchestration_engine",
    "002_cc3ae69c69bad11e.txt": "hyperion",
    "003_a4879ce62f499f62.txt": "tasker",
    "004_96ea4b1ca927ab99.txt": "ai_system",
}


@pytest.mark.parametrize("rule", RULES)
def test_metadata_complete(rule):
    assert re.fullmatch(r"RMD[1-8]\d\d", rule.code)
    assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", rule.name)
    assert isinstance(rule.severity, Severity)
    assert isinstance(rule.default, Default)
    assert rule.fix_safety is None or isinstance(rule.fix_safety, FixSafety)
    assert rule.message and "\n" not in rule.message
    assert rule.provenance, "a rule names the seed it comes from"
    for p in rule.provenance:
        assert p.seed in SEEDS, p.seed
        assert p.project == SEEDS[p.seed]
        assert p.item
    assert all(isinstance(t, bytes) and t for t in rule.triggers)
    assert set(rule.option_docs) <= set(rule.options)


@pytest.mark.parametrize("rule", RULES)
def test_docstring_has_ruff_sections(rule):
    doc = rule.__doc__ or ""
    assert "## What it does" in doc
    assert "## Why is this bad?" in doc


@pytest.mark.parametrize("rule", RULES)
def test_enough_examples(rule):
    assert len(rule.VALID) >= 4, "at least 4 VALID examples"
    assert len(rule.INVALID) >= 4, "at least 4 INVALID examples"
    if rule.fix_safety is not None:
        assert any(ex.fixed is not None for ex in rule.INVALID), "a fixing rule shows its fix"


@pytest.mark.parametrize("rule", RULES)
def test_one_module_per_rule_named_after_it(rule):
    module = sys.modules[rule.__module__]
    path = Path(module.__file__)
    assert path.stem == f"{rule.code.lower()}_{rule.name.replace('-', '_')}"
    family = path.parent.name
    assert family.startswith(rule.code[:4].lower()), family
