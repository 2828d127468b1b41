"""The flake8 plugin, run through the real flake8."""

from __future__ import annotations

import subprocess
import sys

import pytest

from remediation_lint.registry import all_rules
from remediation_lint.rule import Default


def flake8(*args: str, cwd) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "flake8", *args], cwd=cwd, capture_output=True, text=True, timeout=300)


def test_options_are_registered(tmp_path):
    proc = flake8("--help", cwd=tmp_path)
    assert "--rmd-preview" in proc.stdout and "--rmd-project-root" in proc.stdout


def test_plugin_is_listed(tmp_path):
    proc = flake8("--version", cwd=tmp_path)
    assert "remediation-lint" in proc.stdout


def test_reports_with_flake8_select_and_ignore(tmp_path):
    (tmp_path / "m.py").write_text("import pickle\n\n\ndef f(sock):\n    return pickle.loads(sock.recv())\n")
    proc = flake8("--select", "RMD", "m.py", cwd=tmp_path)
    assert proc.returncode == 1
    assert proc.stdout.startswith("m.py:5:12: RMD101 pickle.loads() on data from sock.recv()")
    assert flake8("--select", "RMD", "--extend-ignore", "RMD101", "m.py", cwd=tmp_path).stdout == ""
    assert flake8("--select", "RMD", "--per-file-ignores", "m.py:RMD1", "m.py", cwd=tmp_path).stdout == ""


def test_preview_rules_only_with_rmd_preview(tmp_path):
    preview = [r for r in all_rules().values() if r.default is Default.PREVIEW and r.INVALID]
    if not preview:
        pytest.skip("no preview rule registered yet")
    rule = preview[0]
    example = rule.INVALID[0]
    (tmp_path / example.filename).write_text(example.source)
    off = flake8("--select", rule.code, example.filename, cwd=tmp_path)
    on = flake8("--select", rule.code, "--rmd-preview", example.filename, cwd=tmp_path)
    assert rule.code not in off.stdout
    assert rule.code in on.stdout
