"""Every rule's inline VALID/INVALID examples, parametrised from the registry (Fixit's model)."""

from __future__ import annotations

import ast

import libcst as cst
import pytest

from remediation_lint.registry import all_rules
from tests.helpers import lint

VALID = [pytest.param(rule, i, ex, id=f"{code}-valid-{i}") for code, rule in all_rules().items() for i, ex in enumerate(rule.VALID)]
INVALID = [pytest.param(rule, i, ex, id=f"{code}-invalid-{i}") for code, rule in all_rules().items() for i, ex in enumerate(rule.INVALID)]
FIXING = [p for p in INVALID if p.values[2].fixed is not None]


@pytest.mark.parametrize("rule, index, example", VALID)
def test_valid_example_is_clean(rule, index, example):
    result = lint(example.source, rule.code, options=example.options, filename=example.filename)
    assert not result.notes, result.notes
    assert [f for f in result.findings if f.code == rule.code] == []


@pytest.mark.parametrize("rule, index, example", INVALID)
def test_invalid_example_is_reported(rule, index, example):
    result = lint(example.source, rule.code, options=example.options, filename=example.filename)
    assert not result.notes, result.notes
    found = [f for f in result.findings if f.code == rule.code]
    assert len(found) == example.count, [f"{f.line}: {f.message}" for f in found]
    if example.line is not None:
        assert found[0].line == example.line
    for finding in found:
        assert finding.message and "\n" not in finding.message
    if example.fixed is not None:
        assert any(f.fix_safety == rule.fix_safety.value or f.fix_safety for f in found), "no finding carries a fix"


@pytest.mark.parametrize("rule, index, example", FIXING)
def test_fix_gives_expected_code_and_is_idempotent(rule, index, example):
    # an example shows the whole fix, unsafe parts included (a rule with safe and unsafe fixes shows both)
    unsafe = True
    result = lint(example.source, rule.code, options=example.options, filename=example.filename, fix=True, unsafe=unsafe)
    assert not result.notes, result.notes
    assert result.fixed is not None, "the rule offered no applicable fix"
    fixed = result.fixed.decode()
    assert fixed == example.fixed_source
    cst.parse_module(fixed)
    ast.parse(fixed)
    again = lint(fixed, rule.code, options=example.options, filename=example.filename, fix=True, unsafe=unsafe)
    assert again.fixed is None, "a second --fix changed the code again"


@pytest.mark.parametrize("rule, index, example", [p for p in INVALID if p.values[2].fixed is None])
def test_examples_without_expected_fix_offer_none(rule, index, example):
    result = lint(example.source, rule.code, options=example.options, filename=example.filename, fix=True, unsafe=True)
    assert result.fixed is None, "the rule fixed an example that declares no expected fix; add `fixed=`"
