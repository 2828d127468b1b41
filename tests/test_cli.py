"""The CLI end to end, run as a subprocess: formats, exit codes, listing, explaining, config errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import ROOT, run_cli

PICKLE = "import pickle\n\n\ndef handle(sock):\n    return pickle.loads(sock.recv())\n"
BARE = "def f():\n    try:\n        g()\n    except:\n        pass\n"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "net.py").write_text(PICKLE)
    (tmp_path / "pkg" / "util.py").write_text(BARE)
    (tmp_path / "pkg" / "clean.py").write_text("import json\n\nVALUE = json.loads('{}')\n")
    return tmp_path


def test_text_output_sorted_flake8_style(project):
    proc = run_cli("pkg", cwd=project)
    assert proc.returncode == 1
    lines = proc.stdout.splitlines()
    assert lines == [
        "pkg/net.py:5:12: RMD101 pickle.loads() on data from sock.recv(): use json/msgpack with a schema instead of pickle",
        "pkg/util.py:4:5: RMD401 bare `except:` that does nothing: catch the exceptions you expect and log or re-raise them",
    ]
    assert "Found 2 finding(s)" in proc.stderr


def test_json_output(project):
    proc = run_cli("--format", "json", "pkg", cwd=project)
    data = json.loads(proc.stdout)
    assert [d["code"] for d in data] == ["RMD101", "RMD401"]
    first = data[0]
    assert set(first) == {"code", "message", "path", "line", "column", "end_line", "end_column", "severity", "fix"}
    assert first["fix"] == {"safety": "unsafe", "applicable": False}
    assert data[1]["fix"] == {"safety": "safe", "applicable": True}
    assert first["severity"] == "critical"
    assert (first["line"], first["column"], first["end_line"]) == (5, 12, 5)


def test_exit_codes(project):
    assert run_cli("pkg/clean.py", cwd=project).returncode == 0
    assert run_cli("pkg", cwd=project).returncode == 1
    assert run_cli("--exit-zero", "pkg", cwd=project).returncode == 0
    assert run_cli("does-not-exist", cwd=project).returncode == 2
    assert run_cli("--select", "RMD999", "pkg", cwd=project).returncode == 2


def test_default_path_is_cwd(project):
    proc = run_cli(cwd=project)
    assert "pkg/net.py:5:12: RMD101" in proc.stdout


def test_select_ignore_extend(project):
    assert "RMD401" not in run_cli("--select", "RMD1", "pkg", cwd=project).stdout
    assert "RMD101" not in run_cli("--ignore", "RMD101", "pkg", cwd=project).stdout
    both = run_cli("--select", "RMD1", "--extend-select", "RMD4", "pkg", cwd=project).stdout
    assert "RMD101" in both and "RMD401" in both


def test_statistics(project):
    proc = run_cli("--statistics", "pkg", cwd=project)
    rows = [r.split("\t") for r in proc.stdout.splitlines()]
    assert [(r[0].strip(), r[1]) for r in rows] == [("1", "RMD101"), ("1", "RMD401")]


def test_list_rules_json_has_full_metadata():
    proc = run_cli("--list-rules", "--format", "json")
    assert proc.returncode == 0
    rules = {r["code"]: r for r in json.loads(proc.stdout)}
    for code in ("RMD101", "RMD205", "RMD401"):
        assert code in rules
    r101 = rules["RMD101"]
    assert r101["name"] == "untrusted-pickle" and r101["default"] == "on" and r101["fix_safety"] == "unsafe"
    assert r101["severity"] == "critical"
    assert r101["provenance"][0]["seed"] == "004_96ea4b1ca927ab99.txt"
    assert rules["RMD401"]["fix_safety"] == "safe"
    assert rules["RMD205"]["name"] == "get-event-loop-in-coroutine"


def test_list_rules_text():
    proc = run_cli("--list-rules")
    assert proc.returncode == 0
    assert any(line.startswith("RMD101  untrusted-pickle") for line in proc.stdout.splitlines())


def test_explain():
    proc = run_cli("--explain", "RMD101")
    assert proc.returncode == 0
    assert proc.stdout.startswith("# RMD101 untrusted-pickle")
    assert "## Why is this bad?" in proc.stdout
    assert run_cli("--explain", "untrusted-pickle").stdout == proc.stdout
    assert run_cli("--explain", "RMD999").returncode == 2


def test_a_directory_named_rules_is_a_path_not_a_command(tmp_path):
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "x.py").write_text(PICKLE)
    proc = run_cli("rules", cwd=tmp_path)
    assert proc.returncode == 1 and "rules/x.py:5:12: RMD101" in proc.stdout


def test_version():
    from remediation_lint import __version__

    proc = run_cli("--version")
    assert proc.returncode == 0 and __version__ in proc.stdout


def test_unsafe_fixes_needs_fix():
    assert run_cli("--unsafe-fixes", ".").returncode == 2


def test_skips_vcs_venv_and_node_modules(tmp_path):
    for d in (".git", "node_modules", "build", ".venv", "env_custom"):
        (tmp_path / d).mkdir()
        (tmp_path / d / "x.py").write_text(PICKLE)
    (tmp_path / "env_custom" / "pyvenv.cfg").write_text("home = /usr\n")
    (tmp_path / "real.py").write_text(PICKLE)
    proc = run_cli("--format", "json", ".", cwd=tmp_path)
    assert [d["path"] for d in json.loads(proc.stdout)] == ["real.py"]
