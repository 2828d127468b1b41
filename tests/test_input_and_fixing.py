"""Bad input never stops a run; fixes keep encoding, BOM, newlines and mode; writes are atomic and verified."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import libcst as cst
import pytest

from remediation_lint.config import Config
from remediation_lint.engine import Linter
from remediation_lint.fix import StaleFileError, write_atomic
from remediation_lint.rule import FixSafety, Invalid, Provenance, Rule, Severity
from tests.conftest import run_cli

SOURCE = "import asyncio\n\n\nasync def f():\n    loop = asyncio.get_event_loop()\n    try:\n        await loop.sock_recv(None, 1)\n    except:\n        pass\n"


def findings(proc):
    return [(d["path"], d["line"], d["code"]) for d in json.loads(proc.stdout)]


@pytest.fixture
def mixed(tmp_path: Path) -> Path:
    (tmp_path / "syntax.py").write_text("def broken(:\n    pass\n")
    (tmp_path / "py2.py").write_text("print 'hello'\n")
    (tmp_path / "nul.py").write_bytes(b"x = 1\x00\n")
    (tmp_path / "undecodable.py").write_bytes(b"x = '\xff\xfe\xfa'\n")
    (tmp_path / "binary.py").write_bytes(bytes(range(256)) * 4)
    latin = "# -*- coding: latin-1 -*-\n" + SOURCE.replace("def f", "def caf\u00e9_f").replace("pass", "pass  # d\u00e9j\u00e0 vu")
    (tmp_path / "latin1.py").write_bytes(latin.encode("latin-1"))
    (tmp_path / "bom.py").write_bytes(b"\xef\xbb\xbf" + SOURCE.encode())
    (tmp_path / "crlf.py").write_bytes(SOURCE.replace("\n", "\r\n").encode())
    os.chmod(tmp_path / "crlf.py", 0o750)
    (tmp_path / "dir.py").mkdir()
    (tmp_path / "dangling.py").symlink_to(tmp_path / "nowhere.py")
    (tmp_path / "loop").mkdir()
    (tmp_path / "loop" / "self").symlink_to(tmp_path / "loop")
    return tmp_path


def test_run_completes_and_reports_bad_files_as_rmd000(mixed):
    proc = run_cli("--format", "json", ".", cwd=mixed)
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    found = findings(proc)
    bad = {p for p, _, c in found if c == "RMD000"}
    assert bad == {"syntax.py", "py2.py", "nul.py", "undecodable.py", "binary.py"}
    good = {(p, line, c) for p, line, c in found if c != "RMD000"}
    for name, shift in (("latin1.py", 1), ("bom.py", 0), ("crlf.py", 0)):
        assert (name, 5 + shift, "RMD205") in good
        assert (name, 8 + shift, "RMD401") in good
    messages = {d["path"]: d["message"] for d in json.loads(proc.stdout) if d["code"] == "RMD000"}
    assert "could not be parsed" in messages["syntax.py"]
    assert "NUL" in messages["nul.py"]


def test_fix_keeps_encoding_bom_newlines_and_mode(mixed):
    before = {n: (mixed / n).read_bytes() for n in ("latin1.py", "bom.py", "crlf.py", "syntax.py")}
    proc = run_cli("--fix", ".", cwd=mixed)
    assert proc.returncode == 1  # RMD000 files and unsafe-only findings remain
    latin = (mixed / "latin1.py").read_bytes()
    assert latin.decode("latin-1").count("get_running_loop") == 1
    assert "d\u00e9j\u00e0 vu".encode("latin-1") in latin and "caf\u00e9_f".encode("latin-1") in latin
    assert b"except Exception:" in latin
    bom = (mixed / "bom.py").read_bytes()
    assert bom.startswith(b"\xef\xbb\xbf") and b"get_running_loop" in bom
    crlf = (mixed / "crlf.py").read_bytes()
    assert b"get_running_loop" in crlf
    assert crlf.count(b"\r\n") == before["crlf.py"].count(b"\r\n") and b"\n" not in crlf.replace(b"\r\n", b"")
    assert stat.S_IMODE(os.stat(mixed / "crlf.py").st_mode) == 0o750
    assert (mixed / "syntax.py").read_bytes() == before["syntax.py"]
    assert not list(mixed.glob(".*.rmd-tmp"))


def test_second_fix_changes_nothing(mixed):
    run_cli("--fix", "--unsafe-fixes", ".", cwd=mixed)
    snapshot = {p: p.read_bytes() for p in mixed.glob("*.py") if p.is_file()}
    proc = run_cli("--fix", "--unsafe-fixes", ".", cwd=mixed)
    assert "Fixed 0 finding(s)" in proc.stderr
    assert {p: p.read_bytes() for p in mixed.glob("*.py") if p.is_file()} == snapshot


def test_diff_writes_nothing(tmp_path):
    target = tmp_path / "a.py"
    target.write_text(SOURCE)
    proc = run_cli("--diff", "a.py", cwd=tmp_path)
    assert proc.returncode == 1
    assert "-    loop = asyncio.get_event_loop()" in proc.stdout
    assert "+    loop = asyncio.get_running_loop()" in proc.stdout
    assert target.read_text() == SOURCE
    clean = run_cli("--diff", "a.py", "--select", "RMD101", cwd=tmp_path)
    assert clean.returncode == 0 and clean.stdout == ""


def test_fix_reports_fixed_and_remaining(tmp_path):
    (tmp_path / "a.py").write_text(SOURCE)
    proc = run_cli("--fix", "a.py", cwd=tmp_path)
    assert "Fixed 2 finding(s), 1 remaining" in proc.stderr
    assert "RMD401" in proc.stdout  # the silent handler needs --unsafe-fixes


def test_symlink_outside_the_given_paths_is_not_written(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    target = outside / "real.py"
    target.write_text(SOURCE)
    inside = tmp_path / "inside"
    inside.mkdir()
    (inside / "link.py").symlink_to(target)
    run_cli("--fix", "inside", cwd=tmp_path)
    assert target.read_text() == SOURCE
    assert (inside / "link.py").is_symlink()


class _BrokenFix(Rule):
    """Test rule whose fix produces code that does not parse.

    ## What it does
    Nothing real.
    ## Why is this bad?
    It is a test double.
    """

    code = "RMD899"
    name = "broken-fix"
    message = "broken"
    severity = Severity.LOW
    provenance = (Provenance("004_96ea4b1ca927ab99.txt", "test", "ai_system"),)
    fix_safety = FixSafety.SAFE

    def visit_Return(self, node: cst.Return) -> None:
        replacement = node.with_changes(value=cst.Name("return"))  # `return return` is not Python
        self.report(node, fix=self.make_fix((node, replacement)))


def test_fix_producing_invalid_code_is_discarded():
    linter = Linter(Config(select=["RMD101"]))
    linter.rules = [_BrokenFix]
    result = linter.check("def f():\n    return 1\n", "x.py", fix=True)
    assert result.fixed is None
    assert any("would not parse" in note for note in result.notes)
    assert [f.code for f in result.findings] == ["RMD899"]


def test_write_atomic_keeps_mode_and_refuses_stale(tmp_path):
    target = tmp_path / "x.py"
    target.write_bytes(b"old\n")
    os.chmod(target, 0o640)
    write_atomic(target, b"new\n", expected_original=b"old\n")
    assert target.read_bytes() == b"new\n" and stat.S_IMODE(os.stat(target).st_mode) == 0o640
    with pytest.raises(StaleFileError):
        write_atomic(target, b"newer\n", expected_original=b"old\n")
    assert target.read_bytes() == b"new\n"


def test_failed_write_leaves_original_intact(tmp_path, monkeypatch):
    target = tmp_path / "x.py"
    target.write_bytes(b"original\n")

    def boom(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError):
        write_atomic(target, b"fixed\n", expected_original=b"original\n")
    assert target.read_bytes() == b"original\n"
    assert [p.name for p in tmp_path.iterdir()] == ["x.py"]


def test_linter_never_imports_the_code_it_reads(tmp_path):
    marker = tmp_path / "imported"
    for name in ("__init__.py", "setup.py", "conftest.py", "mod.py"):
        (tmp_path / name).write_text(f"open({str(marker)!r}, 'w').write('x')\nimport pickle\npickle.loads(data)\n")
    proc = run_cli("--fix", "--unsafe-fixes", ".", cwd=tmp_path)
    assert proc.returncode in (0, 1)
    assert not marker.exists()
