"""The full pack, every fix included, over real code nobody here wrote: the test environment's own
site-packages (copied first; the copy is what gets fixed).

CI runs a fixed, evenly spread sample (every k-th file in path order, ``RMD_REAL_CODE_FILES`` files,
default 250, about 80,000 lines) so the two passes stay within a couple of minutes on two cores;
``RMD_REAL_CODE_FILES=all`` runs the whole copy (about 3,700 files, 1.2 million lines).

Passes: a check (findings per rule) and ``--fix --unsafe-fixes`` (fixes applied). Then every file must
still parse and, when the original compiled, compile; no run may crash or report an internal error. The
counts are printed (``-s`` or the CI log) and written to ``real-code-report.txt`` in the test's directory.
"""

from __future__ import annotations

import collections
import json
import os
import re
import shutil
import sysconfig
import time
import warnings
from pathlib import Path

from tests.conftest import run_cli

SAMPLE = os.environ.get("RMD_REAL_CODE_FILES", "250")


def _compiles(data: bytes, name: str) -> bool:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            compile(data, name, "exec", dont_inherit=True)
        return True
    except (SyntaxError, ValueError, MemoryError, RecursionError):
        return False


def _sample(root: Path) -> list[Path]:
    files = sorted(p for p in root.rglob("*.py") if p.is_file() and not p.is_symlink())
    if SAMPLE == "all":
        return files
    step = max(1, len(files) // max(1, int(SAMPLE)))
    return files[::step][: int(SAMPLE)]


def test_full_pack_with_all_fixes_over_site_packages(tmp_path, capsys):
    site = Path(sysconfig.get_paths()["purelib"])
    tree = tmp_path / "site-packages"
    originals: dict[str, bytes] = {}
    for path in _sample(site):
        rel = path.relative_to(site)
        dst = tree / rel
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, dst)
        originals[rel.as_posix()] = dst.read_bytes()
    lines = sum(data.count(b"\n") for data in originals.values())
    common = ("--isolated", "--preview", "--no-cache", "--exit-zero", "-j", "2", "--file-timeout", "60", "--format", "json")

    start = time.monotonic()
    check = run_cli(*common, "-o", str(tmp_path / "check.json"), "site-packages", cwd=tmp_path)
    check_seconds = time.monotonic() - start
    assert check.returncode == 0, check.stderr[-3000:]
    assert "Traceback" not in check.stderr and "internal error" not in check.stderr, check.stderr[-3000:]
    found = json.loads((tmp_path / "check.json").read_text())
    per_rule = collections.Counter(f["code"] for f in found)

    start = time.monotonic()
    fix = run_cli(*common, "--fix", "--unsafe-fixes", "-o", str(tmp_path / "fix.json"), "site-packages", cwd=tmp_path)
    fix_seconds = time.monotonic() - start
    assert fix.returncode == 0, fix.stderr[-3000:]
    assert "Traceback" not in fix.stderr and "internal error" not in fix.stderr, fix.stderr[-3000:]
    applied = re.search(r"Fixed (\d+) finding", fix.stderr)
    assert applied, fix.stderr[-2000:]
    remaining = collections.Counter(f["code"] for f in json.loads((tmp_path / "fix.json").read_text()))
    discarded = [line for line in fix.stderr.splitlines() if "discarded" in line]

    changed, unparsable, uncompilable = [], [], []
    for rel, before in originals.items():
        after = (tree / rel).read_bytes()
        if after == before:
            continue
        changed.append(rel)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                compile(after, rel, "exec", flags=0x400, dont_inherit=True)  # ast.PyCF_ONLY_AST: parse
        except (SyntaxError, ValueError) as exc:
            unparsable.append(f"{rel}: {exc}")
            continue
        if _compiles(before, rel) and not _compiles(after, rel):
            uncompilable.append(rel)
    leftovers = [p for p in tree.rglob("*.rmd-tmp")]

    report = [
        f"real-code run over {tree} (sample: {SAMPLE})",
        f"files: {len(originals)}, lines: {lines}",
        f"check: {len(found)} finding(s) in {check_seconds:.1f} s; fix: {fix_seconds:.1f} s",
        f"fixes applied: {applied.group(1)} in {len(changed)} file(s); fixes discarded as unparsable: {len(discarded)}",
        f"crashes: 0; unparsable fixed files: {len(unparsable)}; fixed files that no longer compile: {len(uncompilable)}",
        "findings per rule (before fixing / remaining after):",
        *(f"  {code}: {n} / {remaining.get(code, 0)}" for code, n in sorted(per_rule.items())),
    ]
    (tmp_path / "real-code-report.txt").write_text("\n".join(report) + "\n")
    with capsys.disabled():
        print("\n" + "\n".join(report))
    assert not unparsable, unparsable
    assert not uncompilable, uncompilable
    assert not leftovers, leftovers
    # every file the check pass refused must be one CPython refuses too, or a documented limit
    refused = {f["path"] for f in found if f["code"] == "RMD000"}
    for shown in refused:
        rel = Path(shown).relative_to("site-packages").as_posix()
        message = next(f["message"] for f in found if f["path"] == shown and f["code"] == "RMD000")
        if _compiles(originals[rel], rel):
            assert re.search(r"deeply nested|size limit|time budget|too long to analyse", message), (shown, message)
