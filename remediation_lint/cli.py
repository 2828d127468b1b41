"""``remediation-lint [OPTIONS] PATHS...``: check, fix, list and explain.

Exit codes: 0 clean, 1 findings remain (or ``--diff`` has changes), 2 usage or configuration error.
"""

from __future__ import annotations

import argparse
import difflib
import json
import os
import sys
from pathlib import Path
from typing import Sequence

from remediation_lint import __version__
from remediation_lint.config import Config, ConfigError, ConfigResolver, Overrides, load_config, validate_codes
from remediation_lint.fix import StaleFileError, write_atomic


def _codes(value: str) -> list[str]:
    return [v.strip() for v in value.split(",") if v.strip()]


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="remediation-lint",
        description="Find (and fix) the bug classes of real remediation plans in Python code.",
    )
    p.add_argument("paths", nargs="*", metavar="PATH", help="files or directories to check (default: .)")
    sel = p.add_argument_group("rule selection")
    sel.add_argument("--select", type=_codes, metavar="CODES", help="comma-separated codes or prefixes to enable (replaces the config's select)")
    sel.add_argument("--ignore", type=_codes, metavar="CODES", default=[], help="codes or prefixes to disable")
    sel.add_argument("--extend-select", type=_codes, metavar="CODES", default=[], help="codes or prefixes to enable on top of select")
    sel.add_argument("--preview", action="store_true", help="also run rules that are still in preview")
    fix = p.add_argument_group("fixing")
    fix.add_argument("--fix", action="store_true", help="apply safe fixes in place")
    fix.add_argument("--unsafe-fixes", action="store_true", help="with --fix or --diff: also apply fixes that change behaviour")
    fix.add_argument("--diff", action="store_true", help="print the fixes as a unified diff and write nothing")
    out = p.add_argument_group("output")
    out.add_argument(
        "--format", choices=["text", "json", "sarif", "github", "plan"], default="text",
        help="output format: text (default), json, sarif (2.1.0), github (Actions annotations), plan (Markdown remediation plan)",
    )
    out.add_argument("-o", "--output", metavar="FILE", help="write the report to FILE instead of stdout")
    out.add_argument("--statistics", action="store_true", help="print the number of findings per code")
    out.add_argument("--exit-zero", action="store_true", help="exit 0 even when findings remain")
    out.add_argument("-q", "--quiet", action="store_true", help="no summary line on stderr")
    out.add_argument("--no-progress", action="store_true", help="never show the progress line")
    legacy = p.add_argument_group("adopting on a legacy codebase")
    legacy.add_argument("--write-baseline", metavar="FILE", help="record the current findings in FILE and exit 0")
    legacy.add_argument("--baseline", metavar="FILE", help="report only findings that are not in the baseline FILE")
    legacy.add_argument("--add-noqa", action="store_true", help="add `# noqa: RMDxxx` to every line with a finding")
    other = p.add_argument_group("other")
    other.add_argument("--config", metavar="FILE", help="configuration file (default: nearest pyproject.toml with [tool.remediation-lint])")
    other.add_argument("--isolated", action="store_true", help="ignore every configuration file")
    other.add_argument("--no-cache", action="store_true", help="do not read or write the result cache")
    other.add_argument(
        "--cache-dir", metavar="DIR", default=os.environ.get("REMEDIATION_LINT_CACHE_DIR", ".remediation_lint_cache"),
        help="where cached results live (default: .remediation_lint_cache in the working directory)",
    )
    other.add_argument(
        "--file-timeout", type=float, default=120.0, metavar="SECONDS",
        help="skip (and report as RMD000) a file whose analysis takes longer (default: 120; 0: no limit)",
    )
    other.add_argument(
        "--max-file-size", type=float, default=2.0, metavar="MIB",
        help="skip (and report as RMD000) a file larger than this many MiB (default: 2; 0: no limit)",
    )
    other.add_argument(
        "--semgrep", action="store_true",
        help="also run the bundled Semgrep rules (Python twins, TypeScript, Rust; offline) and merge their findings",
    )
    other.add_argument("-j", "--jobs", type=int, default=None, help="worker processes (default: number of cores)")
    other.add_argument("--list-rules", action="store_true", help="list every rule with its metadata and exit")
    other.add_argument("--explain", metavar="CODE", help="print a rule's documentation and exit")
    other.add_argument("--version", action="version", version=f"remediation-lint {__version__}")
    return p


def _error(message: str) -> int:
    print(f"remediation-lint: error: {message}", file=sys.stderr)
    return 2


def _list_rules(fmt: str) -> int:
    from remediation_lint.registry import all_rules

    rules = all_rules()
    if fmt == "json":
        print(json.dumps([r.metadata() for r in rules.values()], indent=2))
        return 0
    for rule in rules.values():
        fix = rule.fix_safety.value if rule.fix_safety else "-"
        print(f"{rule.code}  {rule.name:<36} {rule.severity.value:<8} {rule.default.value:<8} fix:{fix}")
    return 0


def _explain(code: str) -> int:
    from remediation_lint.docs import rule_page
    from remediation_lint.registry import all_rules, get_rule

    rule = get_rule(code)
    if rule is None:
        by_name = {r.name: r for r in all_rules().values()}
        rule = by_name.get(code)
    if rule is None:
        return _error(f"unknown rule {code!r} (see `remediation-lint --list-rules`)")
    print(rule_page(rule))
    return 0


def _resolver(args: argparse.Namespace) -> ConfigResolver:
    overrides = Overrides(
        select=validate_codes(args.select, "--select") if args.select is not None else None,
        extend_select=validate_codes(args.extend_select, "--extend-select"),
        ignore=validate_codes(args.ignore, "--ignore"),
        preview=args.preview,
    )
    if args.isolated:
        return ConfigResolver(overrides, Config())
    if args.config:
        return ConfigResolver(overrides, load_config(Path(args.config)))
    return ConfigResolver(overrides)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.list_rules:
        return _list_rules(args.format)
    if args.explain:
        return _explain(args.explain)
    if args.unsafe_fixes and not (args.fix or args.diff):
        return _error("--unsafe-fixes needs --fix or --diff")
    if args.jobs is not None and args.jobs < 1:
        return _error("--jobs must be at least 1")
    if args.semgrep:
        from remediation_lint.semgrep_adapter import INSTALL_HINT, find_semgrep

        if find_semgrep() is None:
            return _error(INSTALL_HINT)
    paths = args.paths or ["."]
    missing = [p for p in paths if not os.path.lexists(p)]
    if missing:
        return _error(f"no such file or directory: {', '.join(missing)}")
    from remediation_lint.engine import discover, run

    try:
        resolver = _resolver(args)
        for p in paths:
            resolver.for_path(Path(p))
        files = list(discover(paths, resolver))
    except ConfigError as exc:
        return _error(str(exc))
    if sum(bool(x) for x in (args.fix or args.diff, args.write_baseline, args.add_noqa)) > 1:
        return _error("--fix/--diff, --write-baseline and --add-noqa cannot be combined")
    baseline = None
    if args.baseline:
        from remediation_lint.baseline import BaselineError, load_baseline

        try:
            baseline = load_baseline(Path(args.baseline))
        except BaselineError as exc:
            return _error(str(exc))
    fixing = args.fix or args.diff
    progress = _Progress(len(files)) if _show_progress(args, len(files)) else None
    results = run(
        files, resolver, fix=fixing, unsafe_fixes=args.unsafe_fixes, jobs=args.jobs,
        want_edits=args.format == "sarif", on_result=progress.update if progress else None,
        cache_dir=None if args.no_cache or fixing or args.add_noqa else args.cache_dir,
        file_timeout=max(args.file_timeout, 0.0), max_file_bytes=int(max(args.max_file_size, 0.0) * 1048576),
    )
    if progress:
        progress.done()
    if args.write_baseline:
        from remediation_lint.baseline import write_baseline

        all_findings = [f for r in results for f in r.findings]
        if args.semgrep:
            from remediation_lint.semgrep_adapter import SemgrepError, merge, semgrep_findings

            try:
                all_findings = merge(all_findings, semgrep_findings([d.path for d in files], paths, resolver)[0])
            except SemgrepError as exc:
                return _error(str(exc))
        count = write_baseline(Path(args.write_baseline), all_findings)
        for note in (n for r in results for n in r.notes):
            print(f"remediation-lint: {note}", file=sys.stderr)
        print(f"Wrote {count} finding(s) to the baseline {args.write_baseline}.", file=sys.stderr)
        return 0
    if args.add_noqa:
        return _add_noqa(results, files)

    notes: list[str] = []
    fixed_count = 0
    diff_chunks: list[str] = []
    findings = []
    for result in results:
        notes.extend(result.notes)
        if result.fixed is not None and result.original is not None:
            if args.diff:
                diff_chunks.append(_diff(result.path, result.original, result.fixed))
                fixed_count += result.fixes_applied
            else:
                try:
                    write_atomic(Path(result.path), result.fixed, expected_original=result.original)
                    fixed_count += result.fixes_applied
                except StaleFileError as exc:
                    notes.append(str(exc))
                    continue
                except OSError as exc:
                    notes.append(f"{result.path}: could not write the fix ({exc.strerror or exc})")
                    continue
        findings.extend(result.findings)
    findings.sort(key=lambda f: f.sort_key())
    if args.semgrep and not args.diff:
        # after --fix has written its changes: Semgrep sees the files as they are now
        from remediation_lint.semgrep_adapter import SemgrepError, merge, semgrep_findings

        try:
            extra, semgrep_notes = semgrep_findings([d.path for d in files], paths, resolver)
        except SemgrepError as exc:
            return _error(str(exc))
        findings = merge(findings, extra)
        notes.extend(semgrep_notes)
    if baseline is not None:
        from remediation_lint.baseline import filter_new

        before = len(findings)
        findings = filter_new(findings, baseline, Path(args.baseline))
        notes.append(f"{before - len(findings)} finding(s) suppressed by the baseline {args.baseline}")
    if args.diff:
        # the diff is the output; findings are not re-printed
        sys.stdout.write("".join(diff_chunks))
        for note in notes:
            print(f"remediation-lint: {note}", file=sys.stderr)
        if not args.quiet:
            print(f"Would fix {fixed_count} finding(s) in {len(diff_chunks)} file(s).", file=sys.stderr)
        return 1 if diff_chunks and not args.exit_zero else 0
    if not args.fix:
        # the findings were computed in the original text; their fix flags say what --fix would do
        pass
    from remediation_lint.report import FORMATS
    from remediation_lint.report.text import statistics

    if args.statistics and args.format == "text":
        report = statistics(findings)
    elif args.format == "plan":
        from remediation_lint.report.plan import render as render_plan

        report = render_plan(findings, title=", ".join(paths))
    else:
        report = FORMATS[args.format](findings)
    if args.output:
        try:
            Path(args.output).write_text(report, encoding="utf-8")
        except OSError as exc:
            return _error(f"cannot write {args.output}: {exc.strerror}")
    else:
        sys.stdout.write(report)
    sys.stdout.flush()
    for note in notes:
        print(f"remediation-lint: {note}", file=sys.stderr)
    if not args.quiet:
        fixable = sum(1 for f in findings if f.fix_applicable)
        parts = []
        if args.fix:
            parts.append(f"Fixed {fixed_count} finding(s)")
            parts.append(f"{len(findings)} remaining")
        else:
            parts.append(f"Found {len(findings)} finding(s) in {len(files)} file(s)")
            if fixable:
                parts.append(f"{fixable} fixable with --fix" + (" --unsafe-fixes" if args.unsafe_fixes else ""))
        unsafe_only = sum(1 for f in findings if f.fix_safety == "unsafe" and not f.fix_applicable)
        if unsafe_only and not args.unsafe_fixes:
            parts.append(f"{unsafe_only} more with --unsafe-fixes")
        print(", ".join(parts) + ".", file=sys.stderr)
    if findings and not args.exit_zero:
        return 1
    return 0


def _show_progress(args: argparse.Namespace, n_files: int) -> bool:
    if args.no_progress or args.quiet or n_files < 20:
        return False
    if os.environ.get("CI") or os.environ.get("GITHUB_ACTIONS"):
        return False
    return sys.stderr.isatty()


class _Progress:
    """A single updating line on a terminal's stderr: files done of total, findings so far."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.done_count = 0
        self.findings = 0

    def update(self, result) -> None:
        self.done_count += 1
        self.findings += len(result.findings)
        if self.done_count % 10 == 0 or self.done_count == self.total:
            sys.stderr.write(f"\r\x1b[Kremediation-lint: {self.done_count}/{self.total} files, {self.findings} finding(s)")
            sys.stderr.flush()

    def done(self) -> None:
        sys.stderr.write("\r\x1b[K")
        sys.stderr.flush()


def _add_noqa(results, files) -> int:
    from remediation_lint.noqa import add_noqa

    writable = {d.path: d.writable for d in files}
    lines_changed = files_changed = 0
    for result in results:
        if not result.findings or result.original is None or not writable.get(result.path, False):
            continue
        by_line: dict[int, set[str]] = {}
        for f in result.findings:
            if f.code != "RMD000":
                by_line.setdefault(f.line, set()).add(f.code)
        if not by_line:
            continue
        new, changed, skipped = add_noqa(result.original, by_line)
        for line in skipped:
            print(f"remediation-lint: {result.path}:{line}: cannot take a noqa comment (multi-line string or continuation)", file=sys.stderr)
        if changed:
            try:
                write_atomic(Path(result.path), new, expected_original=result.original)
            except (StaleFileError, OSError) as exc:
                print(f"remediation-lint: {exc}", file=sys.stderr)
                continue
            lines_changed += changed
            files_changed += 1
        for note in result.notes:
            print(f"remediation-lint: {note}", file=sys.stderr)
    print(f"Added noqa comments to {lines_changed} line(s) in {files_changed} file(s).", file=sys.stderr)
    return 0


def _diff(path: str, before: bytes, after: bytes) -> str:
    def lines(data: bytes) -> list[str]:
        return data.decode("utf-8", "replace").splitlines(keepends=True)

    chunks = difflib.unified_diff(lines(before), lines(after), fromfile=f"a/{path}", tofile=f"b/{path}")
    text = "".join(chunks)
    return text if text.endswith("\n") or not text else text + "\n"


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
