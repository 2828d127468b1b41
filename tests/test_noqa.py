"""`# noqa` with flake8's meaning, in the CLI and the plugin."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from remediation_lint.noqa import is_suppressed, parse_noqa
from tests.conftest import run_cli


@pytest.mark.parametrize(
    "line, code, suppressed",
    [
        ("x = 1  # noqa", "RMD101", True),
        ("x = 1  # NOQA", "RMD101", True),
        ("x = 1  # noqa: RMD101", "RMD101", True),
        ("x = 1  # noqa:RMD101,RMD205", "RMD205", True),
        ("x = 1  # noqa: RMD1", "RMD101", True),
        ("x = 1  # noqa: RMD2", "RMD101", False),
        ("x = 1  # noqa: E501", "RMD101", False),
        ("x = 1  # noqa: E501, RMD101", "RMD101", True),
        ("x = 1", "RMD101", False),
        ("x = 1  # this is not a noqa comment", "RMD101", False),
    ],
)
def test_noqa_semantics(line, code, suppressed):
    assert is_suppressed(code, line) is suppressed


def test_parse_noqa():
    assert parse_noqa("x  # noqa") == frozenset()
    assert parse_noqa("x  # noqa: RMD101 RMD2") == {"RMD101", "RMD2"}
    assert parse_noqa("x") is None


SOURCE = """import pickle


def a(sock):
    return pickle.loads(sock.recv())  # noqa: RMD101


def b(sock):
    return pickle.loads(sock.recv())  # noqa: RMD4


def c(sock):
    return pickle.loads(sock.recv())  # noqa
"""


def test_cli_and_flake8_honour_noqa(tmp_path):
    (tmp_path / "m.py").write_text(SOURCE)
    proc = run_cli("--format", "json", "m.py", cwd=tmp_path)
    assert [d["line"] for d in json.loads(proc.stdout)] == [9]
    flake = subprocess.run(
        [sys.executable, "-m", "flake8", "--select", "RMD", "m.py"], cwd=tmp_path, capture_output=True, text=True
    )
    assert [line.split(":")[1] for line in flake.stdout.splitlines()] == ["9"]


def test_noqa_prevents_the_fix(tmp_path):
    (tmp_path / "m.py").write_text("def f():\n    try:\n        g()\n    except:  # noqa: RMD401\n        pass\n")
    run_cli("--fix", "m.py", cwd=tmp_path)
    assert "except:  # noqa" in (tmp_path / "m.py").read_text()
