"""Hostile input, pathological nesting, time and size budgets, races, interrupted writes, symlinks and
side-effect freedom: the matrix of docs/reliability.md that tests/test_input_and_fixing.py does not cover."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from remediation_lint import engine, guard
from remediation_lint.config import Config
from remediation_lint.engine import Discovered, Linter, discover, run
from remediation_lint.fix import write_atomic
from tests.conftest import ROOT, run_cli

#: a file with two safe fixes (RMD205 twice) and an unsafe one (RMD401)
FIXABLE = (
    "import asyncio\n\n\nasync def f():\n    loop = asyncio.get_event_loop()\n    try:\n"
    "        await loop.sock_recv(None, 1)\n    except:\n        pass\n\n\n"
    "async def g():\n    return asyncio.get_event_loop()\n"
)


def as_json(proc: subprocess.CompletedProcess) -> list[dict]:
    assert "Traceback" not in proc.stderr, proc.stderr
    return json.loads(proc.stdout) if proc.stdout.strip() else []


def codes_by_path(proc: subprocess.CompletedProcess) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for f in as_json(proc):
        out.setdefault(f["path"], set()).add(f["code"])
    return out


# -- hostile input ------------------------------------------------------------------------------------
HOSTILE: dict[str, bytes] = {
    "tabs.py": FIXABLE.replace("    ", "\t").encode(),
    "mixed_newlines.py": FIXABLE.replace("\n", "\r\n", 3).encode(),
    "cr_only.py": b"x = 1\ry = 2\r",
    "cp1252.py": ("# -*- coding: cp1252 -*-\n" + FIXABLE + "s = '\u20ac \u201cquoted\u201d'\n").encode("cp1252"),
    "bogus_coding.py": b"# -*- coding: no-such-codec -*-\nx = 1\n",
    "utf16.py": "x = 1\n".encode("utf-16"),
    "lying_coding.py": b"# coding: ascii\nx = '\xc3\xa9'\n",
    "py2_exec.py": b"exec 'x = 1'\nprint >>sys.stderr, 'x'\n",
    "only_bom.py": b"\xef\xbb\xbf",
    "empty.py": b"",
    "no_final_newline.py": FIXABLE.rstrip("\n").encode(),
    "form_feed.py": b"\x0cimport os\n\x0c\ndef f():\n    return os.getcwd()\n",
    "continuation.py": b"x = 1 + \\\n    2\nif x: \\\n  pass\n",
    "long_string_line.py": b"x = '" + b"a" * 1_500_000 + b"'\n",
    "deep_brackets.py": b"x = " + b"(" * 5000 + b")" * 5000 + b"\n",
    "deep_unary.py": b"x = " + b"-" * 10000 + b"1\n",
    "deep_ifs.py": "".join("    " * i + "if x:\n" for i in range(1000)).encode() + b"    " * 1000 + b"pass\n",
    "and_chain.py": b"x = a" + b" and a" * 50000 + b"\n",
    "or_chain_if.py": b"if a" + b" or a" * 20000 + b":\n    pass\n",
    "dotted_import.py": b"import a" + b".a" * 50000 + b"\n",
    "dotted_from.py": b"from a" + b".a" * 50000 + b" import b\n",
    "attr_chain.py": b"x = a" + b".b" * 5000 + b"\n",
    "binop_chain.py": b"x = 1" + b" + 1" * 1000 + b"\n",
    "call_chain.py": b"x = a" + b"()" * 5000 + b"\n",
    "subscript_chain.py": b"x = a" + b"[0]" * 5000 + b"\n",
    "nested_lambda.py": b"f = " + b"lambda: " * 3000 + b"0\n",
    "string_concat.py": b"x = " + b" ".join([b"'a'"] * 20000) + b"\n",
    "many_elifs.py": b"if a:\n    pass\n" + b"elif a:\n    pass\n" * 3000,
    "decorators.py": b"@d\n" * 5000 + b"def f(): pass\n",
    "compare_chain.py": b"x = a" + b" < a" * 5000 + b"\n",
    "ternary_chain.py": b"x = " + b"a if b else " * 2000 + b"c\n",
}
#: files that must be analysed normally (no RMD000); all others may be refused, never crash the run
VALID_AND_ANALYSED = {"tabs.py", "mixed_newlines.py", "cr_only.py", "cp1252.py", "only_bom.py", "empty.py",
                      "no_final_newline.py", "form_feed.py", "continuation.py", "long_string_line.py"}
MUST_BE_RMD000 = {"bogus_coding.py", "utf16.py", "lying_coding.py", "py2_exec.py", "deep_brackets.py", "deep_unary.py",
                  "deep_ifs.py", "and_chain.py", "or_chain_if.py", "dotted_import.py", "dotted_from.py"}
#: valid Python that LibCST cannot take (its parser would nest too deeply): a check analyses them on the
#: standard library's tree (every rule has an ast checker that decides them), a fix refuses them (RMD000)
LIBCST_LIMIT = {"and_chain.py", "or_chain_if.py", "dotted_import.py", "dotted_from.py"}


@pytest.fixture(scope="module")
def hostile_tree(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("hostile")
    for name, data in HOSTILE.items():
        (root / name).write_bytes(data)
    return root


def test_hostile_matrix_never_crashes_and_reports_rmd000(hostile_tree, tmp_path):
    tree = tmp_path / "t"
    shutil.copytree(hostile_tree, tree)
    start = time.monotonic()
    proc = run_cli("--format", "json", "--preview", "--isolated", "--no-cache", "-j", "1", ".", cwd=tree)
    assert proc.returncode == 1, proc.stderr
    found = codes_by_path(proc)
    for name in MUST_BE_RMD000 - LIBCST_LIMIT:
        assert found.get(name) == {"RMD000"}, name
    for name in LIBCST_LIMIT:
        assert "RMD000" not in found.get(name, set()), name
    fixing = run_cli("--format", "json", "--preview", "--isolated", "--no-cache", "-j", "1", "--fix", *sorted(LIBCST_LIMIT), cwd=tree)
    refused = codes_by_path(fixing)
    for name in LIBCST_LIMIT:
        assert refused.get(name) == {"RMD000"}, name
    for name in VALID_AND_ANALYSED:
        assert "RMD000" not in found.get(name, set()), name
    for name in ("tabs.py", "mixed_newlines.py", "cp1252.py", "no_final_newline.py"):
        assert {"RMD205", "RMD401"} <= found[name], name
    assert "internal error" not in proc.stderr, proc.stderr
    assert time.monotonic() - start < 240


def test_hostile_matrix_fix_keeps_bytes_or_fixes_cleanly(hostile_tree, tmp_path):
    tree = tmp_path / "t"
    shutil.copytree(hostile_tree, tree)
    proc = run_cli("--fix", "--unsafe-fixes", "--preview", "--isolated", "-j", "2", ".", cwd=tree)
    assert proc.returncode in (0, 1) and "Traceback" not in proc.stderr, proc.stderr
    for name, data in HOSTILE.items():
        after = (tree / name).read_bytes()
        if name in MUST_BE_RMD000 or name not in VALID_AND_ANALYSED:
            assert after == data, f"{name} was refused and must be untouched"
    cp = (tree / "cp1252.py").read_bytes().decode("cp1252")
    assert "get_running_loop" in cp and "\u20ac \u201cquoted\u201d" in cp
    tabs = (tree / "tabs.py").read_bytes()
    assert b"\tloop = asyncio.get_running_loop()" in tabs and b"    " not in tabs.split(b"\n", 4)[-1][:4]
    mixed = (tree / "mixed_newlines.py").read_bytes()
    # untouched lines keep their own newline; LibCST gives inserted lines the file's first newline
    assert b"get_running_loop" in mixed and b"import asyncio\r\n" in mixed
    assert b"        await loop.sock_recv(None, 1)\n" in mixed and b"    return asyncio.get_running_loop()\n" in mixed
    assert not (tree / "no_final_newline.py").read_bytes().endswith(b"\n")
    assert not list(tree.glob(".*.rmd-tmp"))


def test_ten_megabyte_single_line_is_skipped_in_bounded_time(tmp_path):
    (tmp_path / "huge.py").write_bytes(b"x = [" + b"1," * 5_000_000 + b"]\n")
    (tmp_path / "ok.py").write_text(FIXABLE)
    start = time.monotonic()
    proc = run_cli("--format", "json", "--isolated", "--no-cache", ".", cwd=tmp_path)
    assert time.monotonic() - start < 60
    found = {f["path"]: f for f in as_json(proc) if f["code"] == "RMD000"}
    assert "size limit" in found["huge.py"]["message"] and "--max-file-size" in found["huge.py"]["message"]
    assert "ok.py" not in found
    assert any(f["path"] == "ok.py" and f["code"] == "RMD205" for f in as_json(proc))


def test_max_file_size_is_configurable(tmp_path):
    (tmp_path / "a.py").write_text(FIXABLE)
    proc = run_cli("--format", "json", "--isolated", "--no-cache", "--max-file-size", "0.0001", "a.py", cwd=tmp_path)
    assert [f["code"] for f in as_json(proc)] == ["RMD000"]
    proc = run_cli("--format", "json", "--isolated", "--no-cache", "--max-file-size", "0", "a.py", cwd=tmp_path)
    assert "RMD000" not in {f["code"] for f in as_json(proc)}


def test_parse_thread_has_room_for_shapes_the_precheck_does_not_know(tmp_path):
    """Without the flat-chain check, 50,000 `and` operands still do not crash the process: LibCST's
    native parser runs on a thread with a large stack and the traversal's RecursionError becomes RMD000."""
    code = (
        "from remediation_lint import guard\n"
        "guard.MAX_FLAT_CHAIN = 10 ** 9\n"
        "from remediation_lint.engine import Linter\n"
        "from remediation_lint.config import Config\n"
        "r = Linter(Config(preview=True)).check('x = a' + ' and a' * 50000 + '\\n', 'x.py', fix=True)\n"
        "print([f.code for f in r.findings])\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip() == "['RMD000']"


def test_flat_chain_precheck_is_free_for_ordinary_files():
    assert guard.flat_chain_error(FIXABLE, None) is None
    assert guard.flat_chain_error("x = a" + " and a" * 3001 + "\n", None) is not None
    assert guard.flat_chain_error("x = a" + " and a" * 2000 + "\n", None) is None


# -- time budget --------------------------------------------------------------------------------------
def test_file_over_the_time_budget_is_reported_and_skipped(tmp_path, monkeypatch):
    for name in ("a.py", "slow.py", "z.py"):
        (tmp_path / name).write_text(FIXABLE)
    real_check = Linter.check

    def slow_check(self, data, path, **kwargs):
        if path.endswith("slow.py"):
            while True:  # a pathological rule or file: never finishes on its own
                time.sleep(0.01)
        return real_check(self, data, path, **kwargs)

    monkeypatch.setattr(Linter, "check", slow_check)
    files = list(discover([str(tmp_path)], Config()))
    start = time.monotonic()
    results = run(files, Config(), jobs=1, file_timeout=0.5)
    assert time.monotonic() - start < 10
    by_name = {Path(r.path).name: r for r in results}
    slow = by_name["slow.py"].findings
    assert [f.code for f in slow] == ["RMD000"] and "per-file time budget of 0.5 s" in slow[0].message
    for name in ("a.py", "z.py"):
        assert {f.code for f in by_name[name].findings} >= {"RMD205", "RMD401"}
    assert engine.FILE_TIMEOUT["seconds"] == 0.5


def test_file_timeout_flag_reaches_the_engine(tmp_path):
    (tmp_path / "a.py").write_text("x = a" + " < a" * 30000 + "\n")
    proc = run_cli("--format", "json", "--isolated", "--no-cache", "--file-timeout", "0.05", "a.py", cwd=tmp_path)
    found = as_json(proc)
    assert [f["code"] for f in found] == ["RMD000"] and "time budget" in found[0]["message"]


# -- files that change under our feet -----------------------------------------------------------------
def test_file_deleted_between_discovery_and_reading(tmp_path):
    (tmp_path / "gone.py").write_text(FIXABLE)
    (tmp_path / "kept.py").write_text(FIXABLE)
    files = list(discover([str(tmp_path)], Config()))
    (tmp_path / "gone.py").unlink()
    results = {Path(r.path).name: r for r in run(files, Config(), jobs=1, fix=True)}
    assert results["gone.py"].findings == [] and "vanished" in results["gone.py"].notes[0]
    assert results["kept.py"].fixed is not None


def test_unreadable_file_is_a_note_not_a_crash(tmp_path, monkeypatch):
    (tmp_path / "secret.py").write_text(FIXABLE)
    (tmp_path / "open.py").write_text(FIXABLE)
    real = Path.read_bytes

    def read_bytes(self):
        if self.name == "secret.py":
            raise PermissionError(13, "Permission denied")
        return real(self)

    monkeypatch.setattr(Path, "read_bytes", read_bytes)
    results = {Path(r.path).name: r for r in run(list(discover([str(tmp_path)], Config())), Config(), jobs=1)}
    assert "cannot read (Permission denied)" in results["secret.py"].notes[0]
    assert results["open.py"].findings


@pytest.mark.skipif(shutil.which("setpriv") is None, reason="setpriv is not installed: cannot drop to an unprivileged user")
def test_unreadable_file_as_an_unprivileged_user():
    """chmod 000 does not stop root; run the real CLI as `nobody` on a tree with an unreadable file."""
    root = Path(tempfile.mkdtemp(prefix="rmd-unreadable-"))
    try:
        os.chmod(root, 0o777)
        (root / "secret.py").write_text(FIXABLE)
        (root / "open.py").write_text(FIXABLE)
        os.chmod(root / "secret.py", 0o000)
        os.chmod(root / "open.py", 0o666)
        env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
        env["HOME"] = str(root)
        proc = subprocess.run(
            ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", sys.executable, "-m", "remediation_lint",
             "--fix", "--isolated", "--no-cache", "--format", "json", "."],
            cwd=root, capture_output=True, text=True, timeout=300, env=env,
        )
        if proc.returncode not in (0, 1) and ("Permission denied" in proc.stderr and "remediation_lint" not in proc.stderr):
            pytest.skip(f"the unprivileged user cannot run the interpreter: {proc.stderr[-300:]}")
        assert "Traceback" not in proc.stderr, proc.stderr
        assert "secret.py: cannot read (Permission denied); skipped" in proc.stderr
        assert b"get_running_loop" in (root / "open.py").read_bytes()
        os.chmod(root / "secret.py", 0o600)
        assert (root / "secret.py").read_text() == FIXABLE
    finally:
        shutil.rmtree(root, ignore_errors=True)


def test_file_changed_between_reading_and_writing_is_not_clobbered(tmp_path, monkeypatch):
    target = tmp_path / "a.py"
    target.write_text(FIXABLE)
    other = tmp_path / "b.py"
    other.write_text(FIXABLE)
    newer = "# edited by the user while the linter ran\n" + FIXABLE
    real_run = engine.run

    def run_then_edit(*args, **kwargs):
        results = real_run(*args, **kwargs)
        target.write_text(newer)  # the editor saves after we read, before we write
        return results

    monkeypatch.setattr(engine, "run", run_then_edit)
    monkeypatch.chdir(tmp_path)
    from remediation_lint.cli import main

    main(["--fix", "--isolated", "-q", "a.py", "b.py"])
    assert target.read_text() == newer
    assert "get_running_loop" in other.read_text()


# -- concurrency and interruption ---------------------------------------------------------------------
def test_two_fix_runs_at_once_leave_every_file_fixed_or_untouched(tmp_path):
    reference = tmp_path / "reference"
    reference.mkdir()
    for i in range(24):
        (reference / f"m{i:02}.py").write_text(FIXABLE.replace("def f", f"def f{i}") * (1 + i % 3))
    expected = tmp_path / "expected"
    shutil.copytree(reference, expected)
    proc = run_cli("--fix", "--isolated", "-q", "-j", "1", ".", cwd=expected)
    assert "Traceback" not in proc.stderr
    tree = tmp_path / "tree"
    shutil.copytree(reference, tree)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    cmd = [sys.executable, "-m", "remediation_lint", "--fix", "--isolated", "-q", "-j", "2", "."]
    procs = [subprocess.Popen(cmd, cwd=tree, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    for p in procs:
        _, err = p.communicate(timeout=300)
        assert "Traceback" not in err, err
    for path in sorted(reference.iterdir()):
        now = (tree / path.name).read_bytes()
        assert now in (path.read_bytes(), (expected / path.name).read_bytes()), path.name
    assert sorted(p.name for p in tree.iterdir()) == sorted(p.name for p in reference.iterdir())


class _Interrupted(BaseException):
    pass


@pytest.mark.parametrize("where", ["write", "fsync", "chmod", "replace"])
def test_interrupted_write_leaves_the_original_intact(tmp_path, monkeypatch, where):
    target = tmp_path / "x.py"
    target.write_bytes(b"original = 1\n" * 1000)
    if where == "write":
        real_fdopen = os.fdopen

        class HalfWriter:
            def __init__(self, handle):
                self.handle = handle

            def __enter__(self):
                return self

            def __exit__(self, *exc):
                self.handle.close()

            def write(self, data):
                self.handle.write(data[: len(data) // 2])
                self.handle.flush()
                raise _Interrupted("power cut in the middle of the write")

            def __getattr__(self, name):
                return getattr(self.handle, name)

        monkeypatch.setattr(os, "fdopen", lambda fd, mode="r", *a, **k: HalfWriter(real_fdopen(fd, mode, *a, **k)))
    else:
        def boom(*args, **kwargs):
            raise _Interrupted(where)

        monkeypatch.setattr(os, where, boom)
    with pytest.raises(_Interrupted):
        write_atomic(target, b"fixed = 1\n" * 1000, expected_original=b"original = 1\n" * 1000)
    assert target.read_bytes() == b"original = 1\n" * 1000
    assert [p.name for p in tmp_path.iterdir()] == ["x.py"]


def test_failed_write_through_the_cli_is_a_note_and_the_run_goes_on(tmp_path, monkeypatch, capsys):
    (tmp_path / "a.py").write_text(FIXABLE)
    (tmp_path / "b.py").write_text(FIXABLE)
    real_replace = os.replace

    def replace(src, dst, *args, **kwargs):
        if str(dst).endswith("a.py"):
            raise OSError(28, "No space left on device")
        return real_replace(src, dst, *args, **kwargs)

    monkeypatch.setattr(os, "replace", replace)
    monkeypatch.chdir(tmp_path)
    from remediation_lint.cli import main

    main(["--fix", "--isolated", "a.py", "b.py"])
    assert (tmp_path / "a.py").read_text() == FIXABLE
    assert "get_running_loop" in (tmp_path / "b.py").read_text()
    assert "could not write the fix (No space left on device)" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.py", "b.py"]


# -- never outside the given paths, never running the code --------------------------------------------
def test_fix_writes_only_inside_the_given_paths(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "target.py").write_text(FIXABLE)
    (outside / "pkg").mkdir()
    (outside / "pkg" / "mod.py").write_text(FIXABLE)
    given = tmp_path / "given"
    (given / "sub").mkdir(parents=True)
    (given / "own.py").write_text(FIXABLE)
    (given / "inner.py").write_text(FIXABLE)
    (given / "sub" / "rel_link.py").symlink_to(Path("..") / ".." / "outside" / "target.py")
    (given / "abs_link.py").symlink_to(outside / "target.py")
    (given / "linked_dir").symlink_to(outside / "pkg", target_is_directory=True)
    (given / "sub" / "inside_link.py").symlink_to(given / "inner.py")
    sibling = tmp_path / "sibling.py"
    sibling.write_text(FIXABLE)
    proc = run_cli("--fix", "--unsafe-fixes", "--isolated", "given", cwd=tmp_path)
    assert "Traceback" not in proc.stderr
    assert (outside / "target.py").read_text() == FIXABLE
    assert (outside / "pkg" / "mod.py").read_text() == FIXABLE
    assert sibling.read_text() == FIXABLE
    assert "get_running_loop" in (given / "own.py").read_text()
    assert "get_running_loop" in (given / "inner.py").read_text()
    for link in ("sub/rel_link.py", "abs_link.py", "sub/inside_link.py", "linked_dir"):
        assert (given / link).is_symlink(), link
    assert sorted(p.name for p in outside.rglob("*")) == ["mod.py", "pkg", "target.py"]
    # one file given: its neighbours are not touched
    (given / "one").mkdir()
    (given / "one" / "a.py").write_text(FIXABLE)
    (given / "one" / "b.py").write_text(FIXABLE)
    run_cli("--fix", "--isolated", "given/one/a.py", cwd=tmp_path)
    assert "get_running_loop" in (given / "one" / "a.py").read_text()
    assert (given / "one" / "b.py").read_text() == FIXABLE


def test_linter_never_imports_or_runs_what_it_reads(tmp_path):
    marker = tmp_path / "ran"
    payload = f"import pathlib\npathlib.Path({str(marker)!r}).mkdir(exist_ok=True)\nimport pickle\npickle.loads(data)\n"
    pkg = tmp_path / "pkg"
    (pkg / "sub").mkdir(parents=True)
    for rel in ("setup.py", "conftest.py", "__main__.py", "sitecustomize.py", "usercustomize.py", "noxfile.py",
                "pkg/__init__.py", "pkg/__main__.py", "pkg/conftest.py", "pkg/sub/__init__.py", "pkg/sub/mod.py"):
        (tmp_path / rel).write_text(payload)
    (tmp_path / "evil.pth").write_text(f"import pathlib; pathlib.Path({str(marker)!r}).mkdir()\n")
    (pkg / "sub" / "uses.py").write_text("from pkg.sub.mod import handler\nfrom .. import thing\nhandler()\n")
    (tmp_path / "pyproject.toml").write_text("[tool.remediation-lint]\npreview = true\n")
    for args in (["--preview", "."], ["--fix", "--unsafe-fixes", "--preview", "."], ["--preview", "--format", "sarif", "pkg"]):
        proc = run_cli(*args, cwd=tmp_path)
        assert proc.returncode in (0, 1) and "Traceback" not in proc.stderr, proc.stderr
        assert not marker.exists(), args
    # in-process, too (the flake8 plugin and the library API run inside the caller's interpreter)
    before = set(sys.modules)
    Linter(Config(preview=True)).check((pkg / "sub" / "uses.py").read_bytes(), str(pkg / "sub" / "uses.py"))
    assert not marker.exists()
    assert not {m for m in set(sys.modules) - before if m.split(".")[0] in ("pkg", "setup", "conftest", "noxfile")}


def test_dangling_links_loops_and_directories_named_like_files_on_the_command_line(tmp_path):
    (tmp_path / "dangling.py").symlink_to(tmp_path / "nowhere.py")
    (tmp_path / "dir.py").mkdir()
    (tmp_path / "dir.py" / "inner.py").write_text(FIXABLE)
    (tmp_path / "loop").mkdir()
    (tmp_path / "loop" / "again").symlink_to(tmp_path / "loop", target_is_directory=True)
    (tmp_path / "self.py").symlink_to(tmp_path / "self.py")
    proc = run_cli("--format", "json", "--isolated", "dangling.py", "dir.py", "loop", "self.py", cwd=tmp_path)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert {f["path"] for f in as_json(proc)} == {os.path.join("dir.py", "inner.py")}
    proc = run_cli("--fix", "--isolated", ".", cwd=tmp_path)
    assert "Traceback" not in proc.stderr and (tmp_path / "self.py").is_symlink()


def test_linter_api_survives_any_read_error(tmp_path, monkeypatch):
    """Every OSError reading a discovered file (EIO, EISDIR after a swap, ENAMETOOLONG...) is a note."""
    (tmp_path / "a.py").write_text(FIXABLE)
    import errno

    for code in (errno.EIO, errno.EISDIR, errno.ENAMETOOLONG, errno.ELOOP):
        def read_bytes(self, code=code):
            raise OSError(code, os.strerror(code))

        monkeypatch.setattr(Path, "read_bytes", read_bytes)
        results = run([Discovered("a.py", tmp_path / "a.py")], Config(), jobs=1)
        assert results[0].findings == [] and "cannot read" in results[0].notes[0]


def test_write_atomic_on_a_read_only_directory_keeps_the_original(tmp_path, monkeypatch):
    target = tmp_path / "x.py"
    target.write_bytes(b"a = 1\n")
    os.chmod(target, 0o444)

    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(tempfile, "mkstemp", refuse)
    with pytest.raises(PermissionError):
        write_atomic(target, b"b = 2\n", expected_original=b"a = 1\n")
    assert target.read_bytes() == b"a = 1\n" and stat.S_IMODE(os.stat(target).st_mode) == 0o444


def test_a_worker_that_dies_costs_one_file_not_the_run(tmp_path, monkeypatch):
    """A native crash (simulated: the worker kills itself with SIGSEGV on one file) is isolated: that
    file is reported as RMD000, every other file gets its normal result, in order."""
    import signal

    for i in range(40):
        (tmp_path / f"m{i:02}.py").write_text(FIXABLE)
    (tmp_path / "m17.py").write_text("# crash\n" + FIXABLE)
    real_check = Linter.check

    def crashing_check(self, data, path, **kwargs):
        if path.endswith("m17.py"):
            import faulthandler

            faulthandler.disable()  # pytest's handler would print the worker's stack into the test log
            os.kill(os.getpid(), signal.SIGSEGV)
        return real_check(self, data, path, **kwargs)

    monkeypatch.setattr(Linter, "check", crashing_check)
    files = list(discover([str(tmp_path)], Config()))
    results = run(files, Config(), jobs=2)
    assert [r.path for r in results] == [d.path for d in files]
    by_name = {Path(r.path).name: r for r in results}
    crashed = by_name["m17.py"].findings
    assert [f.code for f in crashed] == ["RMD000"] and "crashed its worker process" in crashed[0].message
    for name, result in by_name.items():
        if name != "m17.py":
            assert {f.code for f in result.findings} >= {"RMD205", "RMD401"}, name


def test_no_fix_is_written_when_libcst_cannot_reproduce_the_file(tmp_path):
    """LibCST prints ``A\\n\\n \\n`` back without its blank line; a fix anywhere in such a file would
    silently delete it, so the file is left alone (found by test_fuzz.py)."""
    source = "x = 1  # \u2192 arrow\n\n \n".encode()
    (tmp_path / "a.py").write_bytes(source)
    proc = run_cli("--fix", "--unsafe-fixes", "--preview", "--isolated", "a.py", cwd=tmp_path)
    assert "LibCST does not reproduce this file byte for byte" in proc.stderr
    assert (tmp_path / "a.py").read_bytes() == source
