"""The engine: discover, screen, parse once, run every active rule in one traversal, fix.

    paths -> discover -> screen (triggers) -> parse (LibCST, no copy) -> rules (one batched traversal)
          -> positions (only when something was reported) -> noqa/config -> findings / fixes

Files are spread over worker processes when there are enough of them to pay for the start-up.
"""

from __future__ import annotations

import ast
import os
import re
import sys
import warnings
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator, Sequence

import libcst as cst
from libcst.metadata import PositionProvider

from remediation_lint.astcheck import AstContext, AstReport, run_checkers, span
from remediation_lint.config import Config, ConfigResolver
from remediation_lint.context import FileContext
from remediation_lint import guard
from remediation_lint.fix import apply_fixes, parses, select_non_overlapping
from remediation_lint.noqa import is_suppressed
from remediation_lint.project import DEFAULT_EXCLUDED_DIRS, ProjectIndex, ProjectSet
from remediation_lint.rule import Fix, FixSafety, Report, Rule, Severity

if TYPE_CHECKING:  # pragma: no cover
    from remediation_lint.cache import Cache

PARSE_ERROR_CODE = "RMD000"
MAX_FIX_ROUNDS = 10
#: below this many files the start-up of worker processes costs more than it saves
PARALLEL_THRESHOLD = 16


@dataclass
class Finding:
    code: str
    message: str
    path: str
    line: int
    column: int
    end_line: int
    end_column: int
    severity: str
    fix_safety: str | None = None
    fix_applicable: bool = False
    #: stable identity for baselines: code + normalised text of the line and its neighbours
    fingerprint: str = ""
    #: line-based edits of this finding's own fix (only when the linter was asked for them, e.g. SARIF):
    #: dicts with start_line, end_line (exclusive, 1-based) and the replacement text
    edits: list[dict[str, Any]] | None = None

    def sort_key(self) -> tuple[Any, ...]:
        return (self.path, self.line, self.column, self.code, self.message)

    def as_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "message": self.message,
            "path": self.path,
            "line": self.line,
            "column": self.column,
            "end_line": self.end_line,
            "end_column": self.end_column,
            "severity": self.severity,
            "fix": None if self.fix_safety is None else {"safety": self.fix_safety, "applicable": self.fix_applicable},
        }


@dataclass
class FileResult:
    path: str
    findings: list[Finding] = field(default_factory=list)
    #: the fixed content when fixes were applied, else None
    fixed: bytes | None = None
    original: bytes | None = None
    fixes_applied: int = 0
    notes: list[str] = field(default_factory=list)
    parse_error: bool = False
    #: files whose summaries the project pass read for this file ("*": the whole project)
    deps: set[str] = field(default_factory=set)
    from_cache: bool = False


# -- the batched traversal ---------------------------------------------------------------------------
_METHOD_CACHE: dict[type, tuple[list[tuple[str, str]], list[tuple[str, str]]]] = {}


def _rule_methods(rule_cls: type[Rule]) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    cached = _METHOD_CACHE.get(rule_cls)
    if cached is None:
        visits = [(n[6:], n) for n in dir(rule_cls) if n.startswith("visit_") and callable(getattr(rule_cls, n))]
        leaves = [(n[6:], n) for n in dir(rule_cls) if n.startswith("leave_") and callable(getattr(rule_cls, n))]
        cached = _METHOD_CACHE[rule_cls] = (visits, leaves)
    return cached


class RuleCrash(Exception):
    pass


class _Dispatcher(cst.CSTVisitor):
    """One traversal for all rules: calls each rule's ``visit_<Type>``/``leave_<Type>`` in turn."""

    def __init__(self, ctx: FileContext, rules: Sequence[Rule]) -> None:
        self.ctx = ctx
        self.visits: dict[str, list[Callable[[cst.CSTNode], Any]]] = {}
        self.leaves: dict[str, list[Callable[[cst.CSTNode], Any]]] = {}
        self.failures: list[tuple[str, BaseException]] = []
        for rule in rules:
            visits, leaves = _rule_methods(type(rule))
            for node_type, name in visits:
                self.visits.setdefault(node_type, []).append(getattr(rule, name))
            for node_type, name in leaves:
                self.leaves.setdefault(node_type, []).append(getattr(rule, name))

    def _call(self, methods: list[Callable[[cst.CSTNode], Any]], node: cst.CSTNode) -> None:
        for method in list(methods):
            try:
                method(node)
            except RecursionError:
                raise
            except Exception as exc:  # a rule bug must not stop the others
                rule = getattr(method, "__self__", None)
                code = getattr(rule, "code", "?")
                self.failures.append((code, exc))
                self._disable(rule)

    def _disable(self, rule: Any) -> None:
        for table in (self.visits, self.leaves):
            for key, methods in table.items():
                table[key] = [m for m in methods if getattr(m, "__self__", None) is not rule]

    def on_visit(self, node: cst.CSTNode) -> bool:
        ctx = self.ctx
        ctx.stack.append(node)
        if len(ctx.stack) == 2 and isinstance(node, (cst.SimpleStatementLine, cst.BaseCompoundStatement)):
            ctx.top_index += 1
        if isinstance(node, (cst.FunctionDef, cst.Lambda, cst.ClassDef)):
            ctx.scopes.append(node)
        elif isinstance(node, (cst.Import, cst.ImportFrom)) and len(ctx.stack) > 3:
            ctx.imports.add(node)
        methods = self.visits.get(type(node).__name__)
        if methods:
            self._call(methods, node)
        return True

    def on_leave(self, original_node: cst.CSTNode) -> None:
        methods = self.leaves.get(type(original_node).__name__)
        if methods:
            self._call(methods, original_node)
        ctx = self.ctx
        if ctx.scopes and ctx.scopes[-1] is original_node:
            ctx.scopes.pop()
        ctx.stack.pop()

    # per-attribute hooks are not used by rules; skipping them saves a getattr per field
    def on_visit_attribute(self, node: cst.CSTNode, attribute: str) -> None:
        return None

    def on_leave_attribute(self, original_node: cst.CSTNode, attribute: str) -> None:
        return None


def run_rules(
    module: cst.Module,
    path: str,
    rule_classes: Sequence[type[Rule]],
    config: Config,
    project: ProjectIndex | None,
    ast_tree: ast.Module | None = None,
    source: bytes = b"",
) -> tuple[FileContext, list[tuple[str, BaseException]]]:
    ctx = FileContext(path, module, project)
    ctx.ast_tree = ast_tree
    ctx.source = source
    rules = [cls(ctx, config.rule_options(cls.code)) for cls in rule_classes]
    dispatcher = _Dispatcher(ctx, rules)
    module.visit(dispatcher)
    for rule in rules:
        try:
            rule.finish()
        except Exception as exc:
            dispatcher.failures.append((rule.code, exc))
    return ctx, dispatcher.failures


# -- one file ----------------------------------------------------------------------------------------
#: how a trigger is looked for: ("word", None) in the file's word list; ("core", word) in the word list
#: first (a word of the trigger that must then occur too) and then in the bytes; ("ascii", None) only in
#: a file with a non-ASCII byte; ("family", prefix) among the bytes that follow ``prefix`` in the file
#: (one search for triggers that differ only in their last byte, such as ``= "0`` .. ``= "9``);
#: ("bytes", None) in the bytes
_TRIGGER_PLANS: dict[bytes, tuple[str, bytes | None]] = {}
_WORD_BYTES = re.compile(rb"[A-Za-z_]\w*")
_FAMILY_MIN = 3
_FAMILIES: dict[bytes, "re.Pattern[bytes]"] = {}


def _self_overlaps(prefix: bytes) -> bool:
    return any(prefix[i:] == prefix[: len(prefix) - i] for i in range(1, len(prefix)))


def _plan_triggers(triggers: Iterable[bytes]) -> None:
    """Decide, once per trigger, how it is looked for (``_TRIGGER_PLANS``)."""
    new = [t for t in set(triggers) if t not in _TRIGGER_PLANS]
    plain: dict[bytes, list[bytes]] = {}
    for trigger in new:
        if not trigger.isascii():
            _TRIGGER_PLANS[trigger] = ("ascii", None)
        elif _WORD_BYTES.fullmatch(trigger):
            _TRIGGER_PLANS[trigger] = ("word", None)
        else:
            words = _WORD_BYTES.findall(trigger)
            if words:
                _TRIGGER_PLANS[trigger] = ("core", max(words, key=len))
            else:
                plain.setdefault(trigger[:-1], []).append(trigger)
    for prefix, members in plain.items():
        family = len(members) >= _FAMILY_MIN and len(prefix) >= 2 and not _self_overlaps(prefix)
        if family:
            _FAMILIES[prefix] = re.compile(re.escape(prefix) + b"(.)", re.S)
        for trigger in members:
            _TRIGGER_PLANS[trigger] = ("family", prefix) if family else ("bytes", None)


class _Screen:
    """One file's bytes, for trigger tests. A word trigger (``[A-Za-z_]\\w*``) occurs in the bytes exactly
    when it occurs in the file's distinct words joined by spaces (it cannot span two words), and that
    list is several times shorter than the file: each of the pack's ~230 triggers is looked for there
    instead of in the whole file. Answers are kept, since rules share triggers."""

    __slots__ = ("data", "_words", "_seen", "_after")

    def __init__(self, data: bytes) -> None:
        self.data = data
        self._words: bytes | None = None
        self._seen: dict[bytes, bool] = {}
        self._after: dict[bytes, set[bytes] | None] = {}

    def words(self) -> bytes:
        if self._words is None:
            self._words = b" ".join(set(_WORD_BYTES.findall(self.data)))
        return self._words

    def _following(self, prefix: bytes) -> set[bytes] | None:
        """The bytes that follow ``prefix`` anywhere in the file, or None when a match could have hidden
        another (the byte after the prefix starts the prefix again): the caller then searches plainly."""
        if prefix not in self._after:
            found = set(_FAMILIES[prefix].findall(self.data))
            self._after[prefix] = None if prefix[:1] in found else found
        return self._after[prefix]

    def has(self, trigger: bytes) -> bool:
        found = self._seen.get(trigger)
        if found is None:
            plan = _TRIGGER_PLANS.get(trigger)
            if plan is None:
                _plan_triggers((trigger,))
                plan = _TRIGGER_PLANS[trigger]
            kind, core = plan
            if kind == "word":
                found = trigger in self.words()
            elif kind == "core":
                found = core in self.words() and trigger in self.data  # type: ignore[operator]
            elif kind == "family":
                after = self._following(core)  # type: ignore[arg-type]
                found = trigger in self.data if after is None else trigger[-1:] in after
            elif kind == "ascii":
                found = not self.data.isascii() and trigger in self.data
            else:
                found = trigger in self.data
            self._seen[trigger] = found
        return found


def screen(rule_classes: Iterable[type[Rule]], data: bytes) -> list[type[Rule]]:
    """Rules that could match: those without triggers, or with a trigger present in the bytes."""
    rule_classes = list(rule_classes)
    _plan_triggers(t for rule in rule_classes for t in rule.triggers)
    out = []
    screen_ = _Screen(data)
    has = screen_.has
    for rule in rule_classes:
        triggers = rule.triggers
        if not triggers:
            out.append(rule)
            continue
        for trigger in triggers:
            if has(trigger):
                out.append(rule)
                break
    return out


_LINE_END = re.compile(r"\r\n|\r|\n")


_WORD = re.compile(r"[^\W\d]\w*")


def _changed_by_nfkc(raw: bytes, encoding: str) -> bool:
    """Whether the source holds a word that NFKC normalisation changes (a name CPython would rewrite)."""
    import unicodedata

    try:
        text = raw.decode(encoding, "replace")
    except LookupError:
        return True
    return any(
        not word.isascii() and unicodedata.normalize("NFKC", word) != word for word in _WORD.findall(text)
    )


def _decode_lines(data: bytes, encoding: str) -> list[str]:
    try:
        text = data.decode(encoding)
    except (UnicodeDecodeError, LookupError):
        text = data.decode("utf-8", "replace")
    if text.startswith("\ufeff"):
        text = text[1:]
    # Python's own line ends only: str.splitlines() also breaks at form feeds and other separators,
    # which would shift every later line number
    lines = _LINE_END.split(text)
    if lines and lines[-1] == "":
        lines.pop()
    return lines


def _encoding_of(data: bytes) -> str:
    """The source encoding of ``data`` (PEP 263 cookie or BOM; UTF-8 by default)."""
    import io
    import tokenize

    try:
        return tokenize.detect_encoding(io.BytesIO(data).readline)[0]
    except (SyntaxError, LookupError):
        return "utf-8"


def _ast_reason(data: bytes | str) -> str | None:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ast.parse(data)
    except SyntaxError as exc:
        where = f" (line {exc.lineno})" if exc.lineno else ""
        return f"{exc.msg}{where}"
    except ValueError as exc:  # NUL bytes, bad encodings
        return str(exc)
    except (MemoryError, RecursionError):
        return "too deeply nested to parse"
    return None


def fingerprint(code: str, lines: Sequence[str], line: int) -> str:
    """Code plus the whitespace-normalised text of the line and its two neighbours (not the number)."""
    import hashlib

    window = [" ".join(text.split()) for text in lines[max(0, line - 2) : line + 1]]
    window = [text for text in window if text]  # blank neighbours come and go with unrelated edits
    return hashlib.sha1("\n".join([code, *window]).encode("utf-8", "replace")).hexdigest()[:20]


def fix_edits(module: cst.Module, fix: Fix) -> list[dict[str, Any]] | None:
    """The line-based edits that one fix makes, or None if it cannot be applied alone."""
    import difflib

    try:
        new = apply_fixes(module, [fix]).code
    except Exception:
        return None
    before = module.code.splitlines(keepends=True)
    after = new.splitlines(keepends=True)
    edits = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(a=before, b=after, autojunk=False).get_opcodes():
        if tag != "equal":
            edits.append({"start_line": i1 + 1, "end_line": i2 + 1, "text": "".join(after[j1:j2])})
    return edits


def parse_error_finding(path: str, reason: str, line: int = 1, column: int = 1) -> Finding:
    reason = " ".join(reason.split())
    return Finding(
        PARSE_ERROR_CODE,
        f"file could not be parsed and was skipped: {reason}",
        path,
        line,
        column,
        line,
        column,
        Severity.HIGH.value,
        fingerprint=fingerprint(PARSE_ERROR_CODE, [reason], 1),
    )


def _standard_parse(data: bytes | str, path: str) -> tuple[ast.Module | None, Finding | None]:
    """RMD000 when CPython's own parser refuses the source, else None.

    It runs before LibCST on every file: it is ten times faster, it is the definition of valid Python,
    and it refuses pathological nesting (thousands of brackets or unary operators) with an error where
    LibCST's native parser would overflow its stack and crash the process.
    """
    if isinstance(data, bytes) and b"\x00" in data:
        return None, parse_error_finding(path, "source contains NUL bytes (binary file?)")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return ast.parse(data), None
    except SyntaxError as exc:
        where = f" (line {exc.lineno})" if exc.lineno else ""
        return None, parse_error_finding(path, f"{exc.msg}{where}", max(exc.lineno or 1, 1), max(exc.offset or 1, 1))
    except ValueError as exc:  # NUL bytes in str sources, bad encodings
        return None, parse_error_finding(path, str(exc))
    except (MemoryError, RecursionError):
        return None, parse_error_finding(path, "too deeply nested or too complex to parse")


def _parse(data: bytes | str, path: str) -> tuple[cst.Module | None, Finding | None]:
    if isinstance(data, bytes) and b"\x00" in data:
        return None, parse_error_finding(path, "source contains NUL bytes (binary file?)")
    chain = guard.flat_chain_error(data, None)  # would overflow LibCST's native parser (segfault)
    if chain is not None:
        return None, parse_error_finding(path, chain)
    try:
        return guard.parse_module(data), None
    except cst.ParserSyntaxError as exc:
        reason = _ast_reason(data) or str(exc).splitlines()[0]
        return None, parse_error_finding(path, reason, max(exc.raw_line, 1), exc.raw_column + 1)
    except RecursionError:
        return None, parse_error_finding(path, "too deeply nested to parse (recursion limit)")
    except (UnicodeDecodeError, LookupError, SyntaxError) as exc:
        return None, parse_error_finding(path, f"cannot decode source: {exc}")
    except Exception as exc:  # LibCST's tokenizer raises assorted errors on hostile input
        return None, parse_error_finding(path, f"{type(exc).__name__}: {exc}")


class Linter:
    """Lints (and fixes) single sources with one configuration."""

    def __init__(self, config: Config, projects: ProjectSet | None = None) -> None:
        self.config = config
        self.rules = config.enabled_rules()
        self.projects = projects if projects is not None else ProjectSet()
        for rule in self.rules:  # what the enabled rules read from other modules' trees
            self.projects.extras.update(rule.summary_extras)
        #: compute each fixable finding's own edits (SARIF ``fixes``); costs one fix application each
        self.want_edits = False
        #: check with the rules' ``ast`` checkers where they have one (tests turn it off to compare)
        self.fast_path = True
        #: whether unsafe fixes count as applicable in reports (set per check)
        self.unsafe_fixes = False

    def rules_for(self, path: str, data: bytes) -> list[type[Rule]]:
        ignored = self.config.ignored_for(path)
        rules = [r for r in self.rules if not any(r.code.startswith(i) for i in ignored)]
        return screen(rules, data)

    def check(
        self,
        data: bytes | str,
        path: str,
        *,
        fix: bool = False,
        unsafe_fixes: bool = False,
        tree: ast.Module | None = None,
    ) -> FileResult:
        """Lint one source. ``tree``: the standard parser's tree of exactly this source, when the caller
        has it (flake8 hands one to plugins), so it is not parsed twice."""
        if isinstance(data, str) and data.startswith("\ufeff"):
            data = data[1:]  # a decoded source keeps no BOM (flake8 strips it too)
        raw = data.encode("utf-8") if isinstance(data, str) else data
        result = FileResult(path, original=raw)
        self.unsafe_fixes = unsafe_fixes
        rule_classes = self.rules_for(path, raw)
        ignored = self.config.ignored_for(path)
        report_parse_errors = not any(PARSE_ERROR_CODE.startswith(i) for i in [*ignored, *self.config.ignore])
        error = None
        if tree is None:
            tree, error = _standard_parse(data, path)
        if error is not None:
            if report_parse_errors:
                result.findings.append(error)
            result.parse_error = True
            return result
        if not rule_classes:
            return result
        project = self.projects.index_for(path) if any(r.needs_project for r in rule_classes) else None
        fast: list[Finding] = []
        if self.fast_path and not fix and not self.want_edits:
            try:
                encoding = "utf-8" if isinstance(data, str) else _encoding_of(raw)
                rule_classes, fast = self._fast(tree, raw, encoding, path, rule_classes, project, result)
            except RecursionError:
                pass  # the LibCST path decides (and reports) instead
            if not rule_classes:
                if project is not None:
                    project.recording = None
                result.findings.extend(fast)
                return result
        module, error = _parse(data, path)
        if module is None:
            if project is not None:
                project.recording = None
            if report_parse_errors and error is not None:
                result.findings.append(error)
            result.parse_error = True
            return result
        if project is not None and project.recording is None:
            project.recording = set()
        try:
            ctx, failures = run_rules(module, path, rule_classes, self.config, project, tree, raw)
            for code, exc in failures:
                result.notes.append(f"{path}: internal error in {code}: {type(exc).__name__}: {exc}")
            if fix:
                ctx = self._fix_loop(module, ctx, path, rule_classes, project, unsafe_fixes, result, raw)
        except RecursionError:
            result.findings.append(parse_error_finding(path, "too deeply nested to analyse (recursion limit)"))
            result.parse_error = True
            return result
        finally:
            if project is not None:
                result.deps = project.recording or set()
                project.recording = None
        result.findings.extend(fast)
        result.findings.extend(self._findings(ctx, path, unsafe_fixes))
        return result

    # -- the fast path -------------------------------------------------------------------------------
    def _fast(
        self,
        tree: ast.Module,
        raw: bytes,
        encoding: str,
        path: str,
        rule_classes: list[type[Rule]],
        project: ProjectIndex | None,
        result: FileResult,
    ) -> tuple[list[type[Rule]], list[Finding]]:
        """Run the rules that have an ``ast`` checker on the standard parser's tree. Returns the rules
        left for LibCST (no checker, or the checker deferred) and the fast findings."""
        checked = [r for r in rule_classes if r.ast_checker is not None]
        if not checked:
            return rule_classes, []
        if not raw.isascii() and _changed_by_nfkc(raw, encoding):
            # CPython normalises identifiers (NFKC) and LibCST keeps them as written: names in messages
            # and matches could differ, so LibCST decides this (rare) file
            return rule_classes, []
        if project is not None:
            project.recording = set()
        actx = AstContext(path, tree, raw, (lambda: project) if project is not None else None, encoding)
        checkers = [r.ast_checker(r, actx, self.config.rule_options(r.code)) for r in checked]
        try:
            run_checkers(actx, checkers)
        finally:
            if project is not None:
                result.deps = set(project.recording or ())
        rest = [r for r in rule_classes if r.ast_checker is None or r.code in actx.deferred]
        reports = [r for r in actx.reports if r.code not in actx.deferred]
        return rest, self._ast_findings(reports, actx, path)

    def _ast_findings(self, reports: Sequence[AstReport], actx: AstContext, path: str) -> list[Finding]:
        if not reports:
            return []
        lines = actx.lines
        severity = {r.code: r.severity.value for r in self.rules}
        out: list[Finding] = []
        seen: set[tuple[str, int, int, str]] = set()
        for report in reports:
            line, col, end_line, end_col = span(report.node, lines)
            text = lines[line - 1] if 0 < line <= len(lines) else ""
            if is_suppressed(report.code, text):
                continue
            key = (report.code, line, col, report.message)
            if key in seen:
                continue
            seen.add(key)
            safety = report.fix_safety
            out.append(
                Finding(
                    report.code, report.message, path, line, col + 1, end_line, end_col + 1,
                    severity.get(report.code, Severity.MEDIUM.value),
                    None if safety is None else safety.value,
                    safety is not None and (safety is FixSafety.SAFE or self.unsafe_fixes),
                    fingerprint=fingerprint(report.code, lines, line),
                )
            )
        return out

    # -- positions and suppression -------------------------------------------------------------------
    def _findings(self, ctx: FileContext, path: str, unsafe_fixes: bool) -> list[Finding]:
        if not ctx.reports:
            return []
        positions = ctx.positions()
        lines = _decode_lines(ctx.module.bytes, ctx.module.encoding) if ctx.reports else []
        severity = {r.code: r.severity.value for r in self.rules}
        out: list[Finding] = []
        seen: set[tuple[str, int, int, str]] = set()
        for report in ctx.reports:
            pos = positions.get(report.node)
            if pos is None:
                line, col, end_line, end_col = 1, 0, 1, 0
            else:
                line, col = pos.start.line, pos.start.column
                end_line, end_col = pos.end.line, pos.end.column
            text = lines[line - 1] if 0 < line <= len(lines) else ""
            if is_suppressed(report.code, text):
                continue
            key = (report.code, line, col, report.message)
            if key in seen:
                continue
            seen.add(key)
            fix_safety = report.fix.safety.value if report.fix else None
            applicable = bool(report.fix) and (report.fix.safety is FixSafety.SAFE or unsafe_fixes)  # type: ignore[union-attr]
            finding = Finding(
                report.code, report.message, path, line, col + 1, end_line, end_col + 1,
                severity.get(report.code, Severity.MEDIUM.value), fix_safety, applicable,
                fingerprint=fingerprint(report.code, lines, line),
            )
            if self.want_edits and report.fix is not None:
                finding.edits = fix_edits(ctx.module, report.fix)
            out.append(finding)
        return out

    def _applicable(self, ctx: FileContext, unsafe_fixes: bool) -> list[Fix]:
        fixes = [r for r in ctx.reports if r.fix is not None and (r.fix.safety is FixSafety.SAFE or unsafe_fixes)]
        if not fixes:
            return []
        positions = ctx.positions()
        lines = _decode_lines(ctx.module.bytes, ctx.module.encoding)
        out = []
        for report in fixes:
            pos = positions.get(report.node)
            line = pos.start.line if pos else 0
            text = lines[line - 1] if 0 < line <= len(lines) else ""
            if not is_suppressed(report.code, text):
                out.append(report.fix)
        return out  # type: ignore[return-value]

    def _fix_loop(
        self,
        module: cst.Module,
        ctx: FileContext,
        path: str,
        rule_classes: Sequence[type[Rule]],
        project: ProjectIndex | None,
        unsafe_fixes: bool,
        result: FileResult,
        raw: bytes,
    ) -> FileContext:
        ast_ok = True  # check() only gets here when the standard parser accepted the source
        current = module
        for _ in range(MAX_FIX_ROUNDS):
            fixes = self._applicable(ctx, unsafe_fixes)
            if not fixes:
                break
            if current is module and module.bytes != raw:
                # LibCST does not print every source back byte for byte (a blank line before whitespace-only
                # last lines is lost): writing its output would change lines no fix touched
                result.notes.append(f"{path}: fixes not applied: LibCST does not reproduce this file byte for byte")
                break
            chosen = select_non_overlapping(current, fixes)
            new_module, reason = self._try_apply(current, chosen, ast_ok)
            if new_module is None:
                # find the fixes that work alone and retry with those
                good = [f for f in chosen if self._try_apply(current, [f], ast_ok)[0] is not None]
                new_module, reason2 = self._try_apply(current, good, ast_ok) if good else (None, reason)
                result.notes.append(
                    f"{path}: {len(chosen) - len(good)} fix(es) discarded because the result would not parse ({reason})"
                )
                if new_module is None:
                    break
                chosen = good
            if new_module.bytes == current.bytes:
                break
            result.fixes_applied += len(chosen)
            current = new_module
            ctx, failures = run_rules(current, path, rule_classes, self.config, project)
            for code, exc in failures:
                result.notes.append(f"{path}: internal error in {code}: {type(exc).__name__}: {exc}")
        if current is not module:
            result.fixed = current.bytes
        return ctx

    @staticmethod
    def _try_apply(module: cst.Module, fixes: Sequence[Fix], ast_ok: bool) -> tuple[cst.Module | None, str]:
        try:
            new = apply_fixes(module, fixes)
            code = new.bytes
        except (UnicodeEncodeError, Exception) as exc:  # a fix that cannot be rendered is discarded
            return None, f"{type(exc).__name__}: {exc}"
        reason = parses(code, ast_ok)
        if reason is not None:
            return None, reason
        try:
            return cst.parse_module(code), ""
        except Exception as exc:
            return None, str(exc)


# -- discovery ---------------------------------------------------------------------------------------
@dataclass
class Discovered:
    path: str  # as the user would want to see it (relative to how it was given)
    real: Path
    writable: bool = True  # False for a symlink that points outside the given paths


def discover(
    paths: Sequence[str],
    config: "Config | ConfigResolver",
    excluded_dirs: frozenset[str] = DEFAULT_EXCLUDED_DIRS,
    suffixes: tuple[str, ...] = (".py",),
) -> Iterator[Discovered]:
    """Python files under ``paths``: explicit files always, directories walked without following
    directory symlinks (no loops), skipping excluded names, virtualenvs, dangling links and directories
    named *.py. ``config`` is one configuration or a resolver giving each directory its own."""
    resolve = config.for_path if isinstance(config, ConfigResolver) else (lambda _p: config)
    roots = []
    for p in paths:
        try:
            roots.append(Path(os.path.realpath(p)))
        except OSError:
            pass
    seen: set[Path] = set()

    def inside_roots(real: Path) -> bool:
        return any(real == r or r in real.parents for r in roots)

    def emit(shown: str, p: Path) -> Iterator[Discovered]:
        try:
            real = Path(os.path.realpath(p))
        except OSError:
            return
        if real in seen or not real.is_file():
            return
        seen.add(real)
        yield Discovered(shown, real, writable=(not p.is_symlink()) or inside_roots(real))

    for given in paths:
        p = Path(given)
        if p.is_file() or (p.is_symlink() and p.exists() and not p.is_dir()):
            yield from emit(given, p)
            continue
        if not p.is_dir():
            continue
        for dirpath, dirnames, filenames in os.walk(p, followlinks=False):
            base = Path(dirpath)
            cfg = resolve(base)
            dirnames[:] = sorted(
                d for d in dirnames
                if d not in excluded_dirs and not d.endswith(".egg-info") and not cfg.is_excluded(base / d)
                and not _is_venv(base / d)
            )
            for name in sorted(filenames):
                if not name.endswith(suffixes):
                    continue
                full = base / name
                if full.is_symlink() and not full.exists():
                    continue  # dangling link or link loop (``a.py -> a.py``): nothing to read
                try:
                    if cfg.is_excluded(full):
                        continue
                except (OSError, RuntimeError):  # a path that cannot be resolved (pathlib: "Symlink loop")
                    continue
                shown = os.path.join(dirpath, name) if given not in (".", "./") else os.path.relpath(full)
                yield from emit(shown, full)


def _is_venv(path: Path) -> bool:
    return (path / "pyvenv.cfg").is_file()


# -- running many files ------------------------------------------------------------------------------
_WORKER: dict[str, Any] = {}
#: the project summaries built before the checking workers were forked (they inherit them)
_PREBUILT: dict[str, Any] = {}


def _summarize_chunk(job: tuple[list[str], list[str], int, str | None]) -> list[tuple[str, Any]]:
    from remediation_lint.project import summarize_cached

    paths, extras, max_file_bytes, cache_dir = job
    MAX_FILE_BYTES["bytes"] = max_file_bytes
    cache = _summary_cache(cache_dir)
    out = []
    for path in paths:
        try:
            source = Path(path).read_bytes()
        except OSError:
            continue
        out.append((path, summarize_cached(path, source, extras, cache)))
    return out


def _prebuild_projects(
    items: Sequence[tuple[str, str, bool, bool, int]], configs: list[Config], jobs: int, mp_context: Any,
    cache_dir: str | None, want_edits: bool, max_file_bytes: int, projects: ProjectSet | None = None,
    summary_cache_dir: str | None = None,
) -> ProjectSet | None:
    """Summarise every module of the projects the files belong to, spread over ``jobs`` processes, once.

    Without it each checking worker would summarise the whole project for itself the first time a
    project-wide rule asks (every worker the same modules). Done only when a project-wide rule is on
    and the run is a cold one (no cache, or an empty one): a warm run reads its results from the cache
    and never needs the summaries.
    """
    rules = [r for c in configs for r in c.enabled_rules()]
    if not any(r.needs_project for r in rules):
        return None
    if cache_dir is not None and _results_cached(items, configs, want_edits, cache_dir):
        return None
    projects = projects if projects is not None else ProjectSet()
    summary_dir = cache_dir if cache_dir is not None else summary_cache_dir
    projects.summary_cache = _summary_cache(summary_dir)  # every index of the set, existing or not, uses it
    for rule in rules:
        projects.extras.update(rule.summary_extras)
    indexes: dict[int, ProjectIndex] = {}
    for item in items:
        index = projects.index_for(item[0])
        indexes[id(index)] = index
    owner: dict[str, ProjectIndex] = {}
    for index in indexes.values():
        for f in index.files():
            owner.setdefault(str(f), index)
    paths = list(owner)
    if len(paths) < PARALLEL_THRESHOLD:
        return None
    size = max(1, len(paths) // (jobs * 4))
    chunks = [(paths[i : i + size], sorted(projects.extras), max_file_bytes, summary_dir) for i in range(0, len(paths), size)]
    if projects.summary_cache is not None and all(
        projects.summary_cache.get(projects.summary_cache.key(p, _read(p), projects.extras)) is not None for p in sample_of(paths)
    ):
        return projects  # summaries are in the cache: each worker loads what it needs (no parse)
    with ProcessPoolExecutor(max_workers=jobs, mp_context=mp_context) as pool:
        for done in pool.map(_summarize_chunk, chunks):
            for path, summary in done:
                owner[path].adopt(Path(path), summary)
    return projects


def sample_of(items: Sequence[Any], size: int = 8) -> list[Any]:
    """Up to ``size`` items spread evenly over ``items``: what warm-cache probes look at."""
    return list(items[:: max(1, len(items) // size)])[:size]


def _results_cached(
    items: Sequence[tuple[str, str, bool, bool, int]], configs: list[Config], want_edits: bool, cache_dir: str
) -> bool:
    """Whether a sample of the files (up to 8, spread over the run) all have valid cached results: then
    the run is a warm one and the workers will hardly need the project's summaries."""
    sample = sample_of(items)
    caches: dict[int, Any] = {}
    projects = ProjectSet()
    for shown, real, _fix, _unsafe, ci in sample:
        cache = caches.get(ci)
        if cache is None:
            cache = caches[ci] = _cache_for(configs[ci], want_edits, cache_dir)
        data = _read(real)
        if cache.get(cache.key(shown, data), lambda s=shown: projects.index_for(s).files()) is None:
            return False
    return True


def _read(path: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError:
        return b""


def _summary_cache(cache_dir: str | None) -> Any:
    if not cache_dir:
        return None
    from remediation_lint.cache import SummaryCache, _digest

    return SummaryCache(cache_dir, _digest(_pack_signature()))


def _make_linters(configs: list[Config], want_edits: bool, cache_dir: str | None = None) -> list[Linter]:
    shared = _PREBUILT.get("projects")
    if shared is None:
        shared = ProjectSet()
        shared.summary_cache = _summary_cache(cache_dir)
    linters = [Linter(c, shared) for c in configs]
    for linter in linters:
        linter.want_edits = want_edits
    return linters


def freeze_inherited() -> None:
    """In a worker process: move every object that exists now (what the fork inherited: the pack, the
    prebuilt project summaries) out of the cyclic garbage collector's reach. They live as long as the
    worker, and each full collection would otherwise walk them all again, and write to their pages,
    which the fork shares with the parent until written (``gc.freeze``'s documented use)."""
    import gc

    gc.freeze()


def _worker_init(
    configs: list[Config], want_edits: bool = False, cache_dir: str | None = None, file_timeout: float = 0.0,
    max_file_bytes: int = guard.DEFAULT_MAX_FILE_BYTES,
) -> None:
    freeze_inherited()
    FILE_TIMEOUT["seconds"] = file_timeout
    MAX_FILE_BYTES["bytes"] = max_file_bytes
    _WORKER["linters"] = _make_linters(configs, want_edits, cache_dir)
    _WORKER["caches"] = [_cache_for(c, want_edits, cache_dir) for c in configs] if cache_dir else None


def _worker_check(item: tuple[str, str, bool, bool, int]) -> FileResult:
    shown, real, fix, unsafe, config_index = item
    caches = _WORKER.get("caches")
    return check_path(
        _WORKER["linters"][config_index], shown, Path(real), fix=fix, unsafe_fixes=unsafe,
        cache=caches[config_index] if caches else None,
    )


def _pack_signature() -> str:
    """Changes whenever the rule pack's code changes (version, or any module's size/mtime)."""
    from remediation_lint import __version__

    root = Path(__file__).resolve().parent
    parts = [__version__]
    for p in sorted(root.rglob("*.py")):
        try:
            st = p.stat()
        except OSError:
            continue
        parts.append(f"{p.relative_to(root)}:{st.st_size}:{st.st_mtime_ns}")
    return "|".join(parts)


def _cache_for(config: Config, want_edits: bool, cache_dir: str) -> "Cache":
    from remediation_lint.cache import Cache

    salt = "\n".join([_pack_signature(), config.fingerprint(), f"edits={want_edits}"])
    return Cache(Path(cache_dir), salt)


class FileTimeout(BaseException):
    """Raised by the alarm when one file exceeds its time budget (a BaseException, so that the
    dispatcher's per-rule error handling does not swallow it)."""


#: seconds one file may take (0: no limit); set per process by ``run``
FILE_TIMEOUT: dict[str, float] = {"seconds": 0.0}
#: bytes one file may have (0: no limit); set per process by ``run``
MAX_FILE_BYTES: dict[str, int] = guard.MAX_FILE_BYTES


def _with_budget(seconds: float, work: Callable[[], FileResult]) -> FileResult:
    import signal
    import threading

    if not seconds or not hasattr(signal, "setitimer") or threading.current_thread() is not threading.main_thread():
        return work()

    def alarm(signum: int, frame: Any) -> None:
        raise FileTimeout()

    previous = signal.signal(signal.SIGALRM, alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        return work()
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def check_path(
    linter: Linter, shown: str, real: Path, *, fix: bool, unsafe_fixes: bool, cache: "Cache | None" = None
) -> FileResult:
    seconds = FILE_TIMEOUT["seconds"]
    try:
        return _with_budget(seconds, lambda: _check_path(linter, shown, real, fix=fix, unsafe_fixes=unsafe_fixes, cache=cache))
    except FileTimeout:
        result = FileResult(shown, parse_error=True)
        result.findings.append(
            parse_error_finding(shown, f"analysis exceeded the per-file time budget of {seconds:g} s (--file-timeout)")
        )
        result.findings[-1].message = result.findings[-1].message.replace("could not be parsed and was skipped: ", "was skipped: ")
        return result


def cached_findings(cache: "Cache", linter: Linter, shown: str, data: bytes) -> list[Finding] | None:
    """The findings cached for these bytes at this path, if the entry and what it read are unchanged."""
    entry = cache.get(cache.key(shown, data), lambda: linter.projects.index_for(shown).files())
    if entry is None:
        return None
    findings = [Finding(**f) for f in entry["findings"]]
    for f in findings:
        f.path = shown
    return findings


def store_findings(cache: "Cache", linter: Linter, shown: str, real: Path, data: bytes, result: FileResult) -> None:
    """Cache a check's findings with the hashes of the other files it read (none if it had a problem)."""
    if result.notes:
        return
    from dataclasses import asdict

    own = str(real.resolve())
    deps: dict[str, str] = {}
    for dep in result.deps:
        if dep == "*":
            deps[dep] = cache.project_hash(linter.projects.index_for(shown).files())
        elif dep != own:
            deps[dep] = cache.file_hash(dep) or "-"
    cache.put(cache.key(shown, data), [asdict(f) for f in result.findings], deps)


def _check_path(
    linter: Linter, shown: str, real: Path, *, fix: bool, unsafe_fixes: bool, cache: "Cache | None" = None
) -> FileResult:
    try:
        data = real.read_bytes()
    except FileNotFoundError:
        result = FileResult(shown)
        result.notes.append(f"{shown}: vanished before it could be read; skipped")
        return result
    except OSError as exc:
        result = FileResult(shown)
        result.notes.append(f"{shown}: cannot read ({exc.strerror}); skipped")
        return result
    too_large = guard.too_large(len(data), MAX_FILE_BYTES["bytes"])
    if too_large is not None:
        result = FileResult(shown, original=data, parse_error=True)
        result.findings.append(parse_error_finding(shown, too_large))
        result.findings[-1].message = result.findings[-1].message.replace("could not be parsed and was skipped: ", "was skipped: ")
        return result
    use_cache = cache is not None and not fix
    if use_cache:
        findings = cached_findings(cache, linter, shown, data)  # type: ignore[arg-type]
        if findings is not None:
            return FileResult(shown, findings=findings, original=data, from_cache=True)
    try:
        result = linter.check(data, shown, fix=fix, unsafe_fixes=unsafe_fixes)
        if use_cache:
            store_findings(cache, linter, shown, real, data, result)  # type: ignore[arg-type]
        return result
    except RecursionError:
        result = FileResult(shown, original=data, parse_error=True)
        result.findings.append(parse_error_finding(shown, "too deeply nested to analyse (recursion limit)"))
        return result
    except Exception as exc:  # never let one file stop the run
        result = FileResult(shown, original=data)
        result.notes.append(f"{shown}: internal error: {type(exc).__name__}: {exc}")
        return result


def _isolated_check(item: tuple[str, str, bool, bool, int], mp_context: Any, initargs: tuple[Any, ...]) -> FileResult:
    try:
        with ProcessPoolExecutor(max_workers=1, mp_context=mp_context, initializer=_worker_init, initargs=initargs) as pool:
            return pool.submit(_worker_check, item).result()
    except BrokenProcessPool:
        result = FileResult(item[0], parse_error=True)
        result.findings.append(parse_error_finding(item[0], "the analysis crashed its worker process (native crash)"))
        result.findings[-1].message = result.findings[-1].message.replace("could not be parsed and was skipped: ", "was skipped: ")
        return result


def run(
    files: Sequence[Discovered],
    config: "Config | ConfigResolver",
    *,
    fix: bool = False,
    unsafe_fixes: bool = False,
    jobs: int | None = None,
    on_result: Callable[[FileResult], None] | None = None,
    want_edits: bool = False,
    cache_dir: str | None = None,
    file_timeout: float = 0.0,
    max_file_bytes: int = guard.DEFAULT_MAX_FILE_BYTES,
) -> list[FileResult]:
    """Check (and fix, in memory) every file; results in the order of ``files``."""
    configs: list[Config] = []
    index_of: dict[int, int] = {}
    items = []
    for d in files:
        cfg = config.for_path(Path(d.path)) if isinstance(config, ConfigResolver) else config
        key = id(cfg)
        if key not in index_of:
            index_of[key] = len(configs)
            configs.append(cfg)
        items.append((d.path, str(d.real), fix and d.writable, unsafe_fixes, index_of[key]))
    jobs = jobs or os.cpu_count() or 1
    results: list[FileResult] = []
    if jobs > 1 and len(items) >= PARALLEL_THRESHOLD:
        import multiprocessing

        method = "fork" if "fork" in multiprocessing.get_all_start_methods() else None
        mp_context = multiprocessing.get_context(method)
        chunk = max(1, min(16, len(items) // (jobs * 4) or 1))
        initargs = (configs, want_edits, cache_dir, file_timeout, max_file_bytes)
        try:
            _PREBUILT["projects"] = _prebuild_projects(items, configs, jobs, mp_context, cache_dir, want_edits, max_file_bytes)
        except Exception:  # only an optimisation: the workers summarise for themselves
            _PREBUILT["projects"] = None

        def emit(result: FileResult) -> None:
            results.append(result)
            if on_result:
                on_result(result)

        try:
            pending = list(items)
            while pending:
                done = 0
                try:
                    with ProcessPoolExecutor(
                        max_workers=jobs, mp_context=mp_context, initializer=_worker_init, initargs=initargs
                    ) as pool:
                        for result in pool.map(_worker_check, pending, chunksize=chunk):
                            done += 1
                            emit(result)
                    break
                except BrokenProcessPool:
                    # a worker died (a native crash no guard knows): the files in flight are suspects; each
                    # runs alone in its own worker, the one that kills it is reported, the rest go on
                    chunk = 1
                    suspects = pending[done : done + jobs + 2]
                    for item in suspects:
                        emit(_isolated_check(item, mp_context, initargs))
                    pending = pending[done + len(suspects) :]
        finally:
            _PREBUILT.clear()  # a later run in this process (serial, or another tree) must not see it
    else:
        FILE_TIMEOUT["seconds"] = file_timeout
        MAX_FILE_BYTES["bytes"] = max_file_bytes
        linters = _make_linters(configs, want_edits, cache_dir)
        caches = [_cache_for(c, want_edits, cache_dir) for c in configs] if cache_dir else None
        for shown, real, fx, unsafe, ci in items:
            result = check_path(
                linters[ci], shown, Path(real), fix=fx, unsafe_fixes=unsafe, cache=caches[ci] if caches else None
            )
            results.append(result)
            if on_result:
                on_result(result)
    return results
