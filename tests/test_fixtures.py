"""The fixture repositories: the CLI's findings equal the inline markers exactly, remediated twins are
clean, golden --fix outputs hold, and flake8 with the plugin agrees with the CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import libcst as cst
import pytest

from tests.conftest import run_cli
from tests.fixture_support import FIXTURES, GOLDEN, PROJECTS, ROOT, fix_file, golden_path, linter, python_files
from tests.helpers import markers


def _only(found: set) -> set:
    """RMD_FIXTURE_CODES=RMD2,RMD101 narrows the comparison while a rule family is in progress (never in CI)."""
    prefixes = [p for p in os.environ.get("RMD_FIXTURE_CODES", "").split(",") if p]
    return {f for f in found if not prefixes or f[2].startswith(tuple(prefixes))}


@pytest.mark.parametrize("project", PROJECTS)
def test_findings_equal_markers(project):
    proc = run_cli("--preview", "--format", "json", "-q", str(FIXTURES / project))
    assert proc.returncode in (0, 1), proc.stderr
    assert "internal error" not in proc.stderr, proc.stderr
    found = {(os.path.relpath(f["path"], FIXTURES / project), f["line"], f["code"]) for f in json.loads(proc.stdout)}
    expected = set()
    for path in python_files(project):
        rel = os.path.relpath(path, FIXTURES / project)
        exp, _ = markers(path)
        expected |= {(rel, line, code) for line, code in exp}
    found, expected = _only(found), _only(expected)
    missing = sorted(expected - found)
    extra = sorted(found - expected)
    assert not missing and not extra, f"missing (marked, not reported): {missing}\nextra (reported, not marked): {extra}"


@pytest.mark.parametrize("project", PROJECTS)
def test_ok_markers_are_not_expect_markers(project):
    for path in python_files(project):
        exp, ok = markers(path)
        assert not (exp & ok), f"{path}: a line is both expected and ok: {exp & ok}"


@pytest.mark.parametrize("project", PROJECTS)
def test_remediated_twins_are_clean_and_unmarked(project):
    remediated = FIXTURES / project / "remediated"
    files = sorted(remediated.rglob("*.py")) if remediated.exists() else []
    for path in files:
        exp, _ = markers(path)
        assert not exp, f"{path} is a remediated twin but carries expect markers"
    if files:
        proc = run_cli("--preview", "--format", "json", "-q", str(remediated))
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert json.loads(proc.stdout) == []


@pytest.mark.parametrize("project", PROJECTS)
def test_every_marked_file_has_a_remediated_twin(project):
    for path in python_files(project):
        rel = path.relative_to(FIXTURES / project)
        if rel.parts[0] == "remediated":
            continue
        exp, _ = markers(path)
        if exp:
            assert (FIXTURES / project / "remediated" / rel).exists(), f"{rel} has findings but no remediated twin"


FIX_CASES = [
    pytest.param(path, unsafe, id=f"{path.relative_to(FIXTURES)}{'-unsafe' if unsafe else ''}")
    for project in PROJECTS
    for path in python_files(project)
    for unsafe in (False, True)
]


@pytest.mark.parametrize("path, unsafe", FIX_CASES)
def test_golden_fix_output(path, unsafe):
    fixed = fix_file(path, unsafe)
    golden = golden_path(path, unsafe)
    if fixed is None:
        assert not golden.exists(), f"{golden} exists but nothing is fixable any more (run tests/update_golden.py)"
        return
    assert golden.exists(), f"no golden output for {path} (run tests/update_golden.py and review it)"
    assert fixed == golden.read_bytes()
    cst.parse_module(fixed)
    compile(fixed, str(path), "exec", dont_inherit=True)
    # idempotent: fixing the fixed output changes nothing
    again = linter().check(fixed, str(path), fix=True, unsafe_fixes=unsafe)
    assert again.fixed is None


def test_golden_files_have_sources():
    for golden in GOLDEN.rglob("*.fixed"):
        rel = golden.relative_to(GOLDEN)
        name = rel.name.removesuffix(".unsafe.fixed").removesuffix(".fixed")
        assert (FIXTURES / rel.parent / name).exists(), f"orphan golden file {golden}"


def test_flake8_plugin_agrees_with_cli():
    cli = run_cli("--preview", "--format", "json", "-q", "fixtures", cwd=ROOT)
    assert cli.returncode in (0, 1), cli.stderr
    from_cli = {(os.path.normpath(f["path"]), f["line"], f["column"], f"{f['code']} {f['message']}") for f in json.loads(cli.stdout)}
    env = dict(os.environ)
    proc = subprocess.run(
        [sys.executable, "-m", "flake8", "--select", "RMD", "--rmd-preview", "--format", "%(path)s\t%(row)d\t%(col)d\t%(code)s %(text)s", "fixtures"],
        cwd=ROOT, capture_output=True, text=True, env=env, timeout=600,
    )
    assert proc.returncode in (0, 1), proc.stderr
    from_flake8 = set()
    for line in proc.stdout.splitlines():
        path, row, col, text = line.split("\t", 3)
        from_flake8.add((os.path.normpath(path), int(row), int(col), text))
    assert from_cli, "the fixtures produced no findings at all"
    assert from_flake8 == from_cli


def test_every_rule_has_a_case_in_its_source_projects_fixture_repo():
    """Each rule is shown on realistic code: an `# expect:` marker in the fixture repo of (one of) the
    project(s) its seed reviewed."""
    from remediation_lint.registry import all_rules

    marked: dict[str, set[str]] = {}
    for project in PROJECTS:
        for path in python_files(project):
            exp, _ = markers(path)
            for _, code in exp:
                marked.setdefault(code, set()).add(project)
    missing = []
    for code, rule in all_rules().items():
        projects = {p.project for p in rule.provenance}
        if not (marked.get(code, set()) & projects):
            missing.append((code, sorted(projects), sorted(marked.get(code, set()))))
    assert missing == [], missing
