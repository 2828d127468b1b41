"""The Semgrep rule pack in ``rules/`` and ``remediation-lint --semgrep``, with the real Semgrep.

- ``semgrep --test`` over ``rules/`` passes (every ``# ruleid:`` / ``# ok:`` annotation holds);
- every rule carries the metadata of ``rules/README.md``;
- agreement: on the five fixture repos each Python twin reports the same (path, line) set as its
  LibCST rule, except for the differences listed in ``KNOWN_DIFFERENCES`` (and those must still be
  exactly the differences, so that a closed gap fails until the list is updated);
- ``--semgrep`` end to end: merged output in every format, no duplicates, exit 2 with an install hint
  when Semgrep is missing.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from collections import defaultdict
from pathlib import Path

import pytest

from remediation_lint import semgrep_adapter
from remediation_lint.config import Config
from remediation_lint.engine import discover
from remediation_lint.registry import all_rules
from tests.conftest import run_cli
from tests.fixture_support import FIXTURES, PROJECTS, ROOT
from tests.helpers import markers

RULES = ROOT / "rules"
SEMGREP = semgrep_adapter.find_semgrep()
pytestmark = pytest.mark.skipif(SEMGREP is None, reason="semgrep is not installed (pip install -e '.[test]')")

#: code -> the fixture lines (relative to fixtures/) the LibCST rule reports and the twin cannot
#: ("missing"), the lines the twin reports and the LibCST rule does not ("extra"), and why. Each entry
#: is also written in the LibCST rule's ``limitations`` (its docs page).
KNOWN_DIFFERENCES: dict[str, dict] = {
    "RMD205": {
        "missing": {("orchestration_engine/backend/services/resource_monitor.py", 63)},
        "why": "the twin does not follow call sites: a sync helper that only coroutines call",
    },
    "RMD204": {
        "missing": {("orchestration_engine/backend/db/connection.py", 24)},
        "why": "the twin follows sync helpers of the same module only; run_migrations is imported from backend.db.migrate",
    },
}

REQUIRED_METADATA = ("rmd-code", "seed", "seed-item", "project", "category", "confidence", "references")
PROJECT_NAMES = {"khala", "orchestration_engine", "hyperion", "tasker", "ai_system"}
LANGUAGE_SUFFIXES = {"python": (".py",), "typescript": (".ts", ".tsx"), "ts": (".ts", ".tsx"), "rust": (".rs",)}


def _yaml_rules() -> list[tuple[Path, dict]]:
    import yaml  # semgrep depends on PyYAML (ruamel and PyYAML both come with it)

    out = []
    for path in sorted(RULES.rglob("*.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        for rule in data.get("rules", []):
            out.append((path, rule))
    return out


def _semgrep(*args: str, timeout: float = 900) -> subprocess.CompletedProcess:
    return subprocess.run(
        [SEMGREP, *args], capture_output=True, text=True, env=semgrep_adapter.semgrep_env(), timeout=timeout,
        cwd=ROOT,
    )


# -- the pack itself -----------------------------------------------------------------------------------
def test_semgrep_test_passes_over_rules():
    proc = _semgrep("--test", *semgrep_adapter.OFFLINE_FLAGS, "rules/")
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0 and "did not pass" not in out, out[-6000:]


def test_every_rule_has_a_test_file_and_the_metadata():
    rules = all_rules()
    ids = set()
    for path, rule in _yaml_rules():
        rid = rule["id"]
        assert rid == path.stem, f"{path}: one rule per file, named after its id ({rid})"
        assert rid not in ids, f"duplicate rule id {rid}"
        ids.add(rid)
        meta = rule.get("metadata", {})
        missing = [k for k in REQUIRED_METADATA if k not in meta]
        assert not missing, f"{rid}: metadata lacks {missing}"
        assert meta["confidence"] in ("HIGH", "MEDIUM", "LOW"), rid
        assert meta["project"] in PROJECT_NAMES, rid
        assert (ROOT / "fixtures").exists()
        assert re.fullmatch(r"\d{3}_[0-9a-f]{16}\.txt", str(meta["seed"])), f"{rid}: seed is a seed file name"
        suffixes = [s for lang in rule["languages"] for s in LANGUAGE_SUFFIXES.get(lang, ())]
        tests = [path.with_suffix(s) for s in suffixes if path.with_suffix(s).exists()]
        assert tests, f"{rid}: no test file beside {path.name}"
        text = "".join(t.read_text(encoding="utf-8") for t in tests)
        assert f"ruleid: {rid}" in text and f"ok: {rid}" in text, f"{rid}: needs positive and negative cases"
        code = str(meta["rmd-code"])
        if "python" in rule["languages"]:
            assert code in rules, f"{rid}: {code} is not a LibCST rule"
            assert rid == f"rmd{code[3:]}-{rules[code].name}", f"{rid}: a twin's id is rmd<code>-<name>"
            assert f"docs/rules/{code}.md" in meta["references"], rid
            if rules[code].cwe and meta["category"] == "security":
                assert meta.get("cwe"), f"{rid}: security twins carry the CWE"
        else:
            assert code == rid.upper(), f"{rid}: a Semgrep-only rule's code is its id upper-cased"


def test_the_pack_is_package_data():
    """Every file under rules/ is matched by the package-data globs that ship it in the wheel."""
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib

    globs = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"][
        "remediation_lint.semgrep_rules"
    ]
    suffixes = {g.rsplit("*", 1)[-1] for g in globs}
    for path in RULES.rglob("*"):
        if path.is_file() and "__pycache__" not in path.parts and path.name != "__init__.py":
            assert path.suffix in suffixes, f"{path} would not ship in the wheel"
    assert semgrep_adapter.rules_dir().samefile(RULES)


# -- agreement with the LibCST rules on the fixture repos ----------------------------------------------
def _twin_codes() -> list[str]:
    return sorted({
        str(rule["metadata"]["rmd-code"]) for _path, rule in _yaml_rules()
        if "python" in rule["languages"] and str(rule["metadata"].get("rmd-code", "")).startswith("RMD")
    })


@pytest.fixture(scope="module")
def agreement():
    """(semgrep, libcst): code -> {(path relative to fixtures/, line)}; one run of each over every repo."""
    codes = _twin_codes()
    roots = [str(FIXTURES / p) for p in PROJECTS]
    files = [d.path for d in discover(roots, Config())]
    data = semgrep_adapter.scan(files, RULES / "python")
    assert not [e for e in data["errors"] if e.get("level") == "error"], data["errors"][:3]
    sg: dict[str, set] = defaultdict(set)
    for f in semgrep_adapter.to_findings(data):  # ``# noqa`` applies to both engines
        sg[f.code].add((os.path.relpath(f.path, FIXTURES), f.line))
    proc = run_cli("--preview", "--no-cache", "--format", "json", "-q", "--select", ",".join(codes), *roots)
    assert proc.returncode in (0, 1), proc.stderr
    lc: dict[str, set] = defaultdict(set)
    for f in json.loads(proc.stdout):
        lc[f["code"]].add((os.path.relpath(f["path"], FIXTURES), f["line"]))
    return sg, lc


@pytest.mark.parametrize("code", _twin_codes())
def test_twin_agrees_with_its_libcst_rule(code, agreement):
    sg, lc = agreement
    missing = lc[code] - sg[code]
    extra = sg[code] - lc[code]
    known = KNOWN_DIFFERENCES.get(code, {})
    want_missing = {tuple(x) for x in known.get("missing", ())}
    want_extra = {tuple(x) for x in known.get("extra", ())}
    assert missing == want_missing and extra == want_extra, (
        f"{code}: LibCST-only {sorted(missing)} (known {sorted(want_missing)}); "
        f"Semgrep-only {sorted(extra)} (known {sorted(want_extra)})"
    )


def test_known_differences_are_documented():
    rules = all_rules()
    for code, known in KNOWN_DIFFERENCES.items():
        assert known.get("why"), code
        assert code in _twin_codes(), f"{code}: no twin"
        assert rules[code].limitations, f"{code}: the LibCST rule's limitations must describe the difference"


# -- remediation-lint --semgrep -------------------------------------------------------------------------
PICKLE_SOURCE = """\
import pickle


def on_message(sock):
    data = sock.recv()
    return pickle.loads(data)


def cached(raw):
    return pickle.loads(raw)  # noqa: RMD101
"""


def test_semgrep_flag_merges_without_duplicates(tmp_path):
    (tmp_path / "agent.py").write_text(PICKLE_SOURCE)
    proc = run_cli("--semgrep", "--isolated", "--no-cache", "--format", "json", str(tmp_path))
    assert proc.returncode == 1, proc.stderr
    found = [(f["code"], f["line"]) for f in json.loads(proc.stdout)]
    assert found == [("RMD101", 6)], found  # one finding, not one per engine; the noqa holds for both


def test_semgrep_only_findings_use_the_same_text_format(tmp_path, monkeypatch, capsys):
    """A finding only the twin reports reads like any other: path:line:col: CODE message."""
    from remediation_lint import cli

    (tmp_path / "agent.py").write_text(PICKLE_SOURCE)
    monkeypatch.chdir(tmp_path)
    extra = semgrep_adapter.to_findings({"results": [{
        "check_id": "rules.python.x.rmd101-untrusted-pickle", "path": "agent.py",
        "start": {"line": 9, "col": 5}, "end": {"line": 9, "col": 20},
        "extra": {"message": "pickle.loads() on data that is not a literal", "severity": "ERROR",
                  "metadata": {"rmd-code": "RMD101"}},
    }]}, Config())
    monkeypatch.setattr(semgrep_adapter, "semgrep_findings", lambda files, paths, resolver: (extra, []))
    assert cli.main(["--semgrep", "--isolated", "--no-cache", "agent.py"]) == 1
    out = capsys.readouterr().out
    lines = [line for line in out.splitlines() if "RMD101" in line]
    assert len(lines) == 2, out
    assert re.match(r"agent\.py:9:5: RMD101 pickle\.loads\(\) on data that is not a literal", lines[1]), out


@pytest.mark.parametrize("fmt", ["text", "json", "sarif", "github", "plan"])
def test_semgrep_flag_works_with_every_format(tmp_path, fmt):
    (tmp_path / "agent.py").write_text(PICKLE_SOURCE)
    proc = run_cli("--semgrep", "--isolated", "--no-cache", "--format", fmt, str(tmp_path))
    assert proc.returncode == 1, proc.stderr
    assert "RMD101" in proc.stdout


def test_semgrep_selection_applies_to_twins(tmp_path):
    (tmp_path / "agent.py").write_text(PICKLE_SOURCE)
    proc = run_cli("--semgrep", "--isolated", "--no-cache", "--format", "json", "--ignore", "RMD101", str(tmp_path))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert json.loads(proc.stdout) == []


def test_semgrep_missing_exits_2_with_an_install_hint(tmp_path, monkeypatch, capsys):
    from remediation_lint import cli

    (tmp_path / "agent.py").write_text(PICKLE_SOURCE)
    monkeypatch.setenv("PATH", str(tmp_path))  # no semgrep on PATH
    monkeypatch.setattr(semgrep_adapter, "_fallback_dirs", lambda: [])  # nor beside the interpreter
    assert cli.main(["--semgrep", "--isolated", "--no-cache", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "pip install 'remediation-lint[semgrep]'" in err


def test_without_the_flag_semgrep_is_not_needed(tmp_path, monkeypatch, capsys):
    from remediation_lint import cli

    (tmp_path / "agent.py").write_text(PICKLE_SOURCE)
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr(semgrep_adapter, "_fallback_dirs", lambda: [])
    assert cli.main(["--isolated", "--no-cache", str(tmp_path)]) == 1


#: ``// expect: rmd-ts-token-in-url`` or ``{/* expect: RMD-TS-... */}``: the code or the rule id
OTHER_MARKER_RE = re.compile(r"(?://|/\*)\s*expect:\s*(rmd-[a-z0-9-]+(?:\s*,\s*rmd-[a-z0-9-]+)*)", re.IGNORECASE)


def _marked_other_language_files(project: str) -> list[Path]:
    return sorted(
        p for p in (FIXTURES / project).rglob("*")
        if p.suffix in semgrep_adapter.OTHER_SUFFIXES and "node_modules" not in p.parts
    )


@pytest.mark.parametrize("project", [p for p in PROJECTS if _marked_other_language_files(p)])
def test_semgrep_flag_reports_the_marked_front_end_and_rust_lines(project):
    """``// expect: rmd-ts-...`` markers in TypeScript/Rust fixture files are exactly what --semgrep adds."""
    files = _marked_other_language_files(project)
    assert files
    expected = set()
    for path in files:
        for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            m = OTHER_MARKER_RE.search(line)
            if m:
                rel = os.path.relpath(path, FIXTURES)
                expected |= {(rel, lineno, c.strip().upper()) for c in m.group(1).split(",")}
    proc = run_cli("--semgrep", "--preview", "--no-cache", "--format", "json", "-q", str(FIXTURES / project))
    assert proc.returncode in (0, 1), proc.stderr
    found = {
        (os.path.relpath(f["path"], FIXTURES), f["line"], f["code"]) for f in json.loads(proc.stdout)
        if not f["path"].endswith(".py")
    }
    assert found == expected, f"missing {sorted(expected - found)}; extra {sorted(found - expected)}"
