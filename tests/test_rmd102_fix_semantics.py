"""RMD102's unsafe fix keeps the meaning of the comparison shapes it rewrites.

The fixed module is executed next to the original (this is test code: the linter never runs code) and
both must give the same answer for every condition and value.
"""

from __future__ import annotations

import textwrap

import pytest

from tests.helpers import lint

TWO_PART = textwrap.dedent(
    """
    class Rule:
        def __init__(self, condition):
            self.condition = condition

    class AlertManager:
        def __init__(self, rules):
            self.rules = rules

        def check(self, name, value):
            rule = self.rules[name]
            if eval(f"{value} {rule.condition}"):
                return True
            return False

    def check(condition, value):
        return AlertManager({"cpu": Rule(condition)}).check("cpu", value)
    """
).lstrip()

TWO_PART_TIGHT = textwrap.dedent(
    """
    def check(condition, value):
        return eval(f"{value}{condition}")
    """
).lstrip()

THREE_PART = textwrap.dedent(
    """
    def check(op, threshold, value):
        return eval(f"{value} {op} {threshold}")
    """
).lstrip()

CONDITIONS = ["> 0.9", ">0.9", "<= 10", "== 3", "!= 3", ">= 0", "< -1.5", "  >  100  ", "== 1e3"]
VALUES = [0.95, 0.9, 0.1, 3, 10, 11, -2, 1000.0, 0]


def _fixed(source: str) -> str:
    result = lint(source, "RMD102", fix=True, unsafe=True)
    assert result.fixed is not None, "the comparison shape must be fixed"
    fixed = result.fixed.decode() if isinstance(result.fixed, bytes) else result.fixed
    assert not lint(fixed, "RMD102").findings, "no eval() of a built string is left"
    again = lint(fixed, "RMD102", fix=True, unsafe=True)
    assert again.fixed is None, "the fix is idempotent"
    return fixed


def _load(code: str) -> dict:
    namespace: dict = {"__name__": "rmd102_semantics"}
    exec(compile(code, "<rmd102>", "exec"), namespace)  # noqa: S102 - test code comparing the two forms
    return namespace


@pytest.mark.parametrize("source", [TWO_PART, TWO_PART_TIGHT], ids=["spaced", "tight"])
def test_condition_shape_gives_the_same_result(source):
    original = _load(source)["check"]
    fixed = _load(_fixed(source))["check"]
    for condition in CONDITIONS:
        for value in VALUES:
            assert fixed(condition, value) == original(condition, value), (condition, value)


def test_three_part_shape_gives_the_same_result():
    original = _load(THREE_PART)["check"]
    fixed = _load(_fixed(THREE_PART))["check"]
    for op in ("<", "<=", ">", ">=", "==", "!="):
        for threshold in (0.9, 10, 3, -1.5):
            for value in VALUES:
                assert fixed(op, threshold, value) == original(op, threshold, value), (op, threshold, value)


def test_fixed_code_refuses_what_eval_would_execute():
    fixed = _load(_fixed(TWO_PART))["check"]
    with pytest.raises(ValueError):
        fixed("> 0 or __import__('os').system('true')", 1)
