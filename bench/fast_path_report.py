"""Where the fast path stands, per rule, on a corpus (default: the interpreter's top-level stdlib modules).

    python bench/fast_path_report.py [--rules RMD101,RMD102] [PATHS...]

For every rule (all rules, preview on): files where it reports, files where its ``ast`` checker deferred
to LibCST, and files where it still needs LibCST because it has no checker (after the byte screen). Then
how many files need LibCST at all, and the time of the ``ast`` checkers per rule. A rule with a checker that
never defers keeps LibCST away from every file it is the only reason for.
"""

from __future__ import annotations

import argparse
import ast
import collections
import shutil
import sys
import sysconfig
import tempfile
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from remediation_lint.astcheck import AstContext, run_checkers  # noqa: E402
from remediation_lint.config import Config  # noqa: E402
from remediation_lint.engine import Linter  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="*")
    parser.add_argument("--rules", default="", help="comma-separated codes to show (default: all)")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="rmd-fast-"))
    try:
        if args.paths:
            files = [p for arg in args.paths for p in (sorted(Path(arg).rglob("*.py")) if Path(arg).is_dir() else [Path(arg)])]
        else:
            corpus = tmp / "corpus"
            corpus.mkdir()
            for f in sorted(Path(sysconfig.get_paths()["stdlib"]).glob("*.py")):
                shutil.copyfile(f, corpus / f.name)
            files = sorted(corpus.glob("*.py"))
        linter = Linter(Config(preview=True))
        found: dict[str, set[str]] = collections.defaultdict(set)
        deferred: dict[str, set[str]] = collections.defaultdict(set)
        no_checker: dict[str, set[str]] = collections.defaultdict(set)
        seconds: dict[str, float] = collections.defaultdict(float)
        need_cst: set[str] = set()
        lines = 0
        for path in files:
            data = path.read_bytes()
            lines += data.count(b"\n")
            name = str(path)
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    tree = ast.parse(data)
            except (SyntaxError, ValueError):
                continue
            rules = linter.rules_for(name, data)
            for rule in rules:
                if rule.ast_checker is None:
                    no_checker[rule.code].add(name)
                    need_cst.add(name)
                    continue
                project = linter.projects.index_for(name) if rule.needs_project else None
                actx = AstContext(name, tree, data, (lambda p=project: p) if project else None)
                checker = rule.ast_checker(rule, actx, linter.config.rule_options(rule.code))
                start = time.perf_counter()
                failures = run_checkers(actx, [checker])
                seconds[rule.code] += time.perf_counter() - start
                for code, exc in failures:
                    print(f"{name}: {code} checker crashed: {type(exc).__name__}: {exc}")
                if actx.deferred:
                    deferred[rule.code].add(name)
                    need_cst.add(name)
            for finding in linter.check(data, name).findings:
                found[finding.code].add(name)
        wanted = {c.strip() for c in args.rules.split(",") if c.strip()}
        codes = sorted(set(found) | set(deferred) | set(no_checker) | set(seconds))
        print(f"{len(files)} files, {lines} lines")
        print(f"{'rule':8} {'findings':>8} {'deferred':>8} {'no-checker':>10} {'ast s':>7}")
        for code in codes:
            if wanted and code not in wanted:
                continue
            print(f"{code:8} {len(found[code]):8} {len(deferred[code]):8} {len(no_checker[code]):10} {seconds[code]:7.2f}")
        print(f"files that still need LibCST: {len(need_cst)} of {len(files)}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
