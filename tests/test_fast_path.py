"""The fast path (rules' ``ast`` checkers) must find exactly what the LibCST implementations find.

Every rule with an ``ast_checker`` is run both ways on its own VALID/INVALID examples; then the whole
pack both ways over every fixture repo and over real code (top-level standard library modules, every
``RMD_FAST_PATH_STEP``-th file; ``1`` runs all of them). Compared: code, line, column, end, message, fix
safety and whether the fix is applicable.
"""

from __future__ import annotations

import os
import sysconfig
from pathlib import Path

import pytest

from remediation_lint.config import Config
from remediation_lint.engine import Linter
from remediation_lint.registry import all_rules
from tests.fixture_support import FIXTURES, PROJECTS, python_files

FAST = {code: rule for code, rule in all_rules().items() if rule.ast_checker is not None}
STEP = int(os.environ.get("RMD_FAST_PATH_STEP", "6"))


def _key(findings):
    return sorted(
        (f.code, f.line, f.column, f.end_line, f.end_column, f.message, f.fix_safety, f.fix_applicable) for f in findings
    )


def _both(config: Config, source, filename: str, linters=None):
    fast, slow = linters or (Linter(config), Linter(config))
    slow.fast_path = False
    a = fast.check(source, filename)
    b = slow.check(source, filename)
    return a, b


EXAMPLES = [
    pytest.param(rule, ex, id=f"{code}-{kind}-{i}")
    for code, rule in FAST.items()
    for kind, examples in (("valid", rule.VALID), ("invalid", rule.INVALID))
    for i, ex in enumerate(examples)
]


@pytest.mark.parametrize("rule, example", EXAMPLES)
def test_checker_agrees_with_the_libcst_rule_on_its_examples(rule, example):
    config = Config(select=[rule.code], preview=True, options={rule.code: dict(example.options or {})})
    fast, slow = _both(config, example.source, example.filename)
    assert not fast.notes, fast.notes
    assert _key(fast.findings) == _key(slow.findings)


def test_some_rules_have_a_fast_path():
    assert FAST, "no rule has an ast checker"


@pytest.mark.parametrize("project", PROJECTS)
def test_fast_path_agrees_on_the_fixture_repos(project):
    config = Config(preview=True)
    fast, slow = Linter(config), Linter(config)
    slow.fast_path = False
    diffs = []
    for path in python_files(project):
        data = path.read_bytes()
        a, b = _both(config, data, str(path), (fast, slow))
        if _key(a.findings) != _key(b.findings):
            diffs.append((str(path.relative_to(FIXTURES)), sorted(set(_key(a.findings)) ^ set(_key(b.findings)))))
    assert not diffs, diffs


def test_fast_path_agrees_on_real_code(tmp_path):
    # copied, so that the project pass sees these modules and not the whole standard library tree
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    files = []
    for source in sorted(p for p in stdlib.glob("*.py") if p.is_file())[:: max(1, STEP)]:
        files.append(tmp_path / source.name)
        files[-1].write_bytes(source.read_bytes())
    config = Config(preview=True)
    fast, slow = Linter(config), Linter(config)
    slow.fast_path = False
    diffs = []
    for path in files:
        data = path.read_bytes()
        a, b = _both(config, data, str(path), (fast, slow))
        if _key(a.findings) != _key(b.findings):
            diffs.append((path.name, sorted(set(_key(a.findings)) ^ set(_key(b.findings)))))
    assert not diffs, diffs


def test_a_crashing_checker_hands_its_rule_to_libcst():
    from remediation_lint.astcheck import AstChecker
    from remediation_lint.registry import get_rule

    base = get_rule("RMD401")

    class Boom(AstChecker):
        def visit_ExceptHandler(self, node):
            raise ValueError("checker bug")

    broken = type("BrokenRMD401", (base,), {"ast_checker": Boom})
    source = "try:\n    run()\nexcept:\n    pass\n"
    linter = Linter(Config(select=["RMD401"]))
    linter.rules = [broken]
    result = linter.check(source, "example.py")
    assert [(f.code, f.line) for f in result.findings] == [("RMD401", 3)]
    assert not result.notes

    class Silent(AstChecker):  # the same rule with a checker that finds nothing: the fast path decides
        pass

    linter.rules = [type("SilentRMD401", (base,), {"ast_checker": Silent})]
    assert linter.check(source, "example.py").findings == []


def test_names_that_cpython_normalises_are_left_to_libcst():
    # CPython reads the ligature in "ﬁle" as "file"; LibCST keeps it: the message must quote the source
    source = "import pickle\n\ndef load(ﬁle):\n    return pickle.loads(ﬁle.read())\n"
    config = Config(select=["RMD101"], preview=True)
    fast, slow = _both(config, source, "example.py")
    assert _key(fast.findings) == _key(slow.findings)


def test_rmd203_reads_any_spelling_of_zero_on_both_paths():
    # float("0x0") raised in the LibCST rule and lost it for the file; both paths now agree
    source = (
        "import asyncio\n\nlock = asyncio.Lock()\n\n\nasync def tick():\n    async with lock:\n"
        "        await asyncio.sleep(0x0)\n        await asyncio.sleep(0x10)\n"
    )
    config = Config(select=["RMD203"], preview=True)
    fast, slow = _both(config, source, "example.py")
    assert not slow.notes, slow.notes
    assert _key(fast.findings) == _key(slow.findings)
    assert [f.line for f in slow.findings] == [9]


def test_rmd507_a_second_store_into_a_reported_dict_is_no_error_on_either_path():
    # the LibCST rule raised KeyError here (dict already reported and removed): both paths now agree
    source = (
        "from dataclasses import dataclass\n\n@dataclass\nclass SOP:\n    id: str\n    title: str\n\n"
        "class SOPRegistry:\n    def __init__(self) -> None:\n        self._sops: dict[str, SOP] = {}\n"
        "        self._drafts: dict[str, SOP] = {}\n\n    def register(self, sop: SOP) -> None:\n"
        "        self._sops[sop.id] = sop\n        self._sops[sop.title] = sop\n"
    )
    config = Config(select=["RMD507"], preview=True)
    fast, slow = _both(config, source, "example.py")
    assert not slow.notes and not fast.notes, slow.notes
    assert _key(fast.findings) == _key(slow.findings)
    assert [f.line for f in slow.findings] == [10]


def test_rmd506_negative_numeric_string_default_is_reported_and_fixed():
    # cst.Integer("-3") failed validation and lost the rule for the file; the fix writes a unary minus
    from tests.helpers import lint

    source = (
        "from pydantic import BaseModel\n\n\nclass ModelMetrics(BaseModel):\n    model_name: str\n"
        "    request_count: int = \"-3\"\n    error_count = \"-1\"\n"
    )
    config = Config(select=["RMD506"], preview=True)
    fast, slow = _both(config, source, "example.py")
    assert not slow.notes and not fast.notes, slow.notes
    assert _key(fast.findings) == _key(slow.findings)
    assert [f.line for f in slow.findings] == [6, 7]
    fixed = lint(source, "RMD506", fix=True, unsafe=True).fixed.decode()
    assert "request_count: int = -3" in fixed and "error_count = -1" in fixed
