from __future__ import annotations

import ast
from remediation_lint.analysis.ast_walk import ast_walk
import io
import re
import tokenize
import unicodedata

import libcst as cst

from remediation_lint.astcheck import AstChecker
from remediation_lint.knowledge.ascii_replacements import ASCII_REPLACEMENTS, UTF8_LEAD_BYTES
from remediation_lint.rule import FixSafety, Invalid, Provenance, Rule, Severity, Valid

_LINE_END = re.compile(r"\r\n|\r|\n")
_COMPOUND = (
    ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.If, ast.For, ast.AsyncFor, ast.While, ast.With,
    ast.AsyncWith, ast.Try, *((ast.TryStar,) if hasattr(ast, "TryStar") else ()), *((ast.Match,) if hasattr(ast, "Match") else ()),
)


class _Fast(AstChecker):
    """The ``ast`` twin of the rule below (check mode): comments, strings and names come from the tokens
    of the file (only files with non-ASCII bytes get here), docstrings from the ``ast`` tree."""

    def finish(self) -> None:
        source = self.context.source
        if source.isascii():
            return
        try:
            encoding, _ = tokenize.detect_encoding(io.BytesIO(source).readline)
            text = source.decode("utf-8-sig" if encoding == "utf-8-sig" else encoding)
        except (SyntaxError, UnicodeDecodeError, LookupError):
            self.defer()
            return
        if text.startswith("\ufeff"):
            text = text[1:]
        if text.isascii():
            return
        if "\r" in text and text.count("\r") != text.count("\r\n"):
            self.defer()  # lone carriage returns: tokenize and the engine would count lines differently
            return
        lines = _LINE_END.split(text)
        try:
            tokens = _window_tokens(self.context.tree, lines)
        except (tokenize.TokenError, SyntaxError):
            self.defer()
            return
        docstrings: set[tuple[int, int, int, int]] | None = None
        check_strings = self.opts["check_strings"]
        found: list[tuple[tuple[int, int], tuple[int, int], str, str, FixSafety | None]] = []
        for tok in tokens:
            value = tok.string
            if value.isascii():
                continue
            kind = tok.type
            if kind == tokenize.COMMENT:
                fixed = _replace(value)
                found.append((tok.start, tok.end, value, "a comment", FixSafety.SAFE if fixed != value else None))
            elif kind == tokenize.NAME:
                found.append((tok.start, tok.end, value, f"the name `{value}`", None))
            elif kind == tokenize.STRING:
                prefix = value[: len(value) - len(value.lstrip("rRbBuUfF"))]
                if "f" in prefix.lower():
                    if check_strings or not _fstring_text_only(value):
                        self.defer()
                        return
                    continue
                start = (tok.start[0], _byte_col(lines, *tok.start))
                end = (tok.end[0], _byte_col(lines, *tok.end))
                if docstrings is None:
                    docstrings = self._docstrings(lines)
                    if docstrings is None:
                        return
                if (*start, *end) in docstrings:
                    body = value[len(prefix):]
                    quote = body[:3] if body[:3] in ('"""', "'''") else body[0]
                    fixed = _replace(body[len(quote): len(body) - len(quote)], avoid=quote[0])
                    fixed = value[: len(prefix) + len(quote)] + fixed + quote
                    found.append((tok.start, tok.end, value, "a docstring", FixSafety.UNSAFE if fixed != value else None))
                elif check_strings:
                    found.append((tok.start, tok.end, value, "a string literal", None))
            elif kind == tokenize.OP or kind == tokenize.NL or kind == tokenize.NEWLINE:
                continue
            elif tokenize.tok_name.get(kind) == "FSTRING_MIDDLE":
                if check_strings:
                    self.defer()
                    return
            elif tokenize.tok_name.get(kind) in ("FSTRING_START", "FSTRING_END", "INDENT", "DEDENT"):
                continue
            else:
                self.defer()
                return
        for start, end, value, where, fix in found:
            node = ast.AST()
            node.lineno, node.col_offset = start[0], _byte_col(lines, *start)
            node.end_lineno, node.end_col_offset = end[0], _byte_col(lines, *end)
            self.report(node, fix=fix, **_describe(value, where))

    def _docstrings(self, lines: list[str]) -> set[tuple[int, int, int, int]] | None:
        """Spans of the string constants LibCST's rule sees as docstrings (None: deferred)."""
        ctx = self.context
        out: set[tuple[int, int, int, int]] = set()
        owners: list[ast.AST] = [ctx.tree]
        for kind in (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef):
            owners.extend(ctx.nodes(kind))
        for owner in owners:
            body = owner.body  # type: ignore[attr-defined]
            if not body or isinstance(body[0], _COMPOUND):
                continue
            if owner is not ctx.tree:
                first = body[0]
                line = lines[first.lineno - 1] if first.lineno <= len(lines) else ""
                head = line.encode("utf-8")[: first.col_offset]
                if head.strip():
                    continue  # `def f(): ...` on one line: a SimpleStatementSuite, no docstring for LibCST
                previous = lines[first.lineno - 2] if first.lineno >= 2 else ""
                if previous.rstrip().endswith("\\"):
                    self.defer()
                    return None
            previous_stmt = None
            for stmt in body:
                if isinstance(stmt, _COMPOUND):
                    break
                if previous_stmt is not None and stmt.lineno != previous_stmt.end_lineno:
                    break
                if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant) and isinstance(stmt.value.value, str):
                    v = stmt.value
                    out.add((v.lineno, v.col_offset, v.end_lineno, v.end_col_offset))  # type: ignore[arg-type]
                previous_stmt = stmt
        return out


def _stmt_start(stmt: ast.stmt) -> int:
    decorators = getattr(stmt, "decorator_list", None)
    return decorators[0].lineno if decorators else stmt.lineno


def _child_statements(stmt: ast.stmt) -> list[ast.stmt]:
    out: list[ast.stmt] = list(getattr(stmt, "body", ()) or ())
    for handler in getattr(stmt, "handlers", ()) or ():
        out.extend(handler.body)
    out.extend(getattr(stmt, "orelse", ()) or ())
    out.extend(getattr(stmt, "finalbody", ()) or ())
    for case in getattr(stmt, "cases", ()) or ():
        out.extend(case.body)
    return out


def _window_start(tree: ast.Module, row: int, indent: int) -> ast.stmt | None:
    """The statement to tokenize from for ``row``: the innermost statement around it that starts on an
    earlier line or first on ``row`` itself (at its indentation ``indent``), so that the whole row is
    covered; None: tokenize from the start of the row."""
    chain: list[ast.stmt] = []
    statements: list[ast.stmt] = tree.body
    while True:
        hit = None
        for stmt in statements:
            start = _stmt_start(stmt)
            if start > row:
                break
            if row <= (stmt.end_lineno or stmt.lineno):
                hit = stmt
                break
        if hit is None:
            break
        chain.append(hit)
        statements = _child_statements(hit)
    for stmt in reversed(chain):
        start = _stmt_start(stmt)
        if start < row or (start == row and stmt.col_offset <= indent):
            return stmt
    return None


def _window_tokens(tree: ast.Module, lines: list[str]) -> list[tokenize.TokenInfo]:
    """The tokens of the lines that hold non-ASCII characters, each tokenized from the start of the
    innermost statement around it (a place where tokenizing may start), not the whole file."""
    windows: list[list[int]] = []  # [start row, start byte column, end row]
    for index, line in enumerate(lines):
        if line.isascii():
            continue
        row = index + 1
        stmt = _window_start(tree, row, len(line.encode('utf-8')) - len(line.lstrip().encode('utf-8')))
        start = (_stmt_start(stmt), stmt.col_offset) if stmt is not None else (row, 0)
        if windows and start[0] <= windows[-1][2]:
            last = windows[-1]
            if start[0] < last[0] or (start[0] == last[0] and start[1] < last[1]):
                last[0], last[1] = start
            last[2] = row
        else:
            windows.append([start[0], start[1], row])
    out: list[tokenize.TokenInfo] = []
    for start_row, start_byte, end_row in windows:
        first = lines[start_row - 1]
        start_col = start_byte if first.isascii() else len(first.encode("utf-8")[:start_byte].decode("utf-8", "replace"))
        feed = iter([first[start_col:] + "\n", *(line + "\n" for line in lines[start_row:])])
        for tok in tokenize.generate_tokens(lambda: next(feed, "")):
            row = tok.start[0] + start_row - 1
            if row > end_row:
                break
            (r1, c1), (r2, c2) = tok.start, tok.end
            start = (r1 + start_row - 1, c1 + start_col if r1 == 1 else c1)
            end = (r2 + start_row - 1, c2 + start_col if r2 == 1 else c2)
            out.append(tok._replace(start=start, end=end))
    return out


def _byte_col(lines: list[str], row: int, col: int) -> int:
    line = lines[row - 1] if 0 < row <= len(lines) else ""
    return col if line.isascii() else len(line[:col].encode("utf-8"))


def _fstring_text_only(token: str) -> bool:
    """Whether every non-ASCII character of an f-string token is in its text or in a nested string
    (not in a name of one of its expressions)."""
    try:
        tree = ast.parse(token, mode="eval")
    except SyntaxError:
        return False
    in_strings = sum(
        sum(1 for c in node.value if ord(c) > 127)
        for node in ast_walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str)
    )
    return in_strings == sum(1 for c in token if ord(c) > 127)


def _describe(text: str, where: str) -> dict[str, str]:
    char = next(c for c in text if ord(c) > 127)
    try:
        uname = unicodedata.name(char)
    except ValueError:
        uname = f"U+{ord(char):04X}"
    if char in ASCII_REPLACEMENTS:
        advice = f"write {ASCII_REPLACEMENTS[char]!r}"
    elif where.startswith("the name"):
        advice = "use an ASCII identifier"
    else:
        advice = "write it in ASCII (English)"
    others = len({c for c in text if ord(c) > 127}) - 1
    if others > 0:
        advice += f" ({others} other non-ASCII character{'s' if others > 1 else ''} here)"
    return {"char": repr(char), "uname": uname, "where": where, "advice": advice}


class NonAsciiSource(Rule):
    """Non-ASCII characters in code, comments or docstrings: write them in ASCII.

    ## What it does
    Reports comments, docstrings and identifiers that contain non-ASCII characters (arrows, smart
    quotes, dashes, ellipses, comments in other languages), naming the first such character and its
    Unicode name. String literals that are not docstrings are text meant for users and are only
    checked with the `check_strings` option.

    ## Why is this bad?
    Non-ASCII source breaks tools and environments that assume ASCII or a legacy encoding (consoles,
    diff tools, log scrapers, Windows code pages), makes look-alike characters (`→` vs `->`, `“` vs
    `"`) impossible to grep for, and comments in a language the team does not share are unreadable.
    TASKER 2.0's review (high priority item 6) found `→` arrows in `parallel_executor.py` and German
    comments in `tasker_orig.py`, in violation of the project's ASCII rule.

    ## Fix
    Write comments and docstrings in ASCII English. The fix replaces `→` with `->`, `←` with `<-`,
    `≥` with `>=`, `≤` with `<=`, `≠` with `!=`, smart quotes with `"` and `'`, `…` with `...` and
    `—` with `--`; other characters (translations, identifiers) are left to you.

    ## Fix safety
    Safe in comments, which do not affect behaviour. Unsafe in docstrings, which are visible at runtime
    (`__doc__`, help output, docs generators).
    """

    code = "RMD709"
    ast_checker = _Fast
    name = "non-ascii-source"
    message = "non-ASCII {char} ({uname}) in {where}: {advice}"
    severity = Severity.HIGH
    provenance = (
        Provenance("003_a4879ce62f499f62.txt", "High priority, item 6 (ASCII compliance: arrows and German comments)", "tasker"),
    )
    fix_safety = FixSafety.SAFE
    triggers = UTF8_LEAD_BYTES
    options = {"check_strings": False}
    option_docs = {"check_strings": "also report string literals that are not docstrings (text meant for users)"}

    limitations = (
        "The Semgrep twin `rmd709-non-ascii-source` finds docstrings by their position (the module "
        "docstring, the line after a `def`/`class`) and has no `check_strings` setting; a `#` inside a "
        "string before a non-ASCII character is read as a comment by it."
    )

    VALID = [
        Valid(
            """
            def next_task(task_id: int) -> int:
                # success -> next task, failure -> on_failure task
                return task_id + 1
            """
        ),
        Valid(
            """
            GREETING = "Grüß Gott, {name}!"

            def greet(name: str) -> str:
                return GREETING.format(name=name)
            """
        ),
        Valid(
            """
            def label(progress: float) -> str:
                return f"{progress:.0%} … done"
            """
        ),
        Valid(
            """
            ARROW = "\\u2192"

            def describe(a, b):
                \"\"\"Render an edge as 'a -> b'.\"\"\"
                return f"{a} {ARROW} {b}"
            """
        ),
    ]

    INVALID = [
        Invalid(
            """
            def route(success: bool) -> str:
                # success → next task, failure → on_failure
                return "next" if success else "on_failure"
            """,
            fixed="""
            def route(success: bool) -> str:
                # success -> next task, failure -> on_failure
                return "next" if success else "on_failure"
            """,
            line=2,
        ),
        Invalid(
            """
            class ParallelExecutor:
                def run(self, tasks):
                    results = {}  # Ergebnisse pro Task sammeln
                    for task in tasks:
                        results[task] = task()  # “result” ≥ 0 … hopefully
                    return results
            """,
            fixed="""
            class ParallelExecutor:
                def run(self, tasks):
                    results = {}  # Ergebnisse pro Task sammeln
                    for task in tasks:
                        results[task] = task()  # "result" >= 0 ... hopefully
                    return results
            """,
            count=1,
            line=5,
        ),
        Invalid(
            """
            # Führt alle Tasks nacheinander aus
            def run_all(tasks):
                return [t() for t in tasks]
            """,
            line=1,
        ),
        Invalid(
            """
            def retry(count: int) -> None:
                \"\"\"Retry the task — at most `count` times.\"\"\"
                for _ in range(count):
                    pass
            """,
            fixed="""
            def retry(count: int) -> None:
                \"\"\"Retry the task -- at most `count` times.\"\"\"
                for _ in range(count):
                    pass
            """,
        ),
        Invalid(
            """
            def größe(items):
                return len(items)
            """,
        ),
        Invalid(
            """
            def status(ok: bool) -> str:
                return "fertig ✓" if ok else "fehlgeschlagen"
            """,
            options={"check_strings": True},
        ),
    ]

    def visit_Comment(self, node: cst.Comment) -> None:
        text = node.value
        if text.isascii():
            return
        fixed = _replace(text)
        fix = self.make_fix((node, node.with_changes(value=fixed))) if fixed != text else None
        self._report(node, text, "a comment", fix)

    def visit_SimpleString(self, node: cst.SimpleString) -> None:
        text = node.value
        if text.isascii():
            return
        if self._is_docstring(node):
            quote = node.quote[0]
            fixed = _replace(text[len(node.prefix) + len(node.quote): len(text) - len(node.quote)], avoid=quote)
            fixed = text[: len(node.prefix) + len(node.quote)] + fixed + node.quote
            fix = None
            if fixed != text:
                fix = self.make_fix((node, node.with_changes(value=fixed)), safety=FixSafety.UNSAFE)
            self._report(node, text, "a docstring", fix)
        elif self.opts["check_strings"]:
            self._report(node, text, "a string literal", None)

    def visit_FormattedStringText(self, node: cst.FormattedStringText) -> None:
        if self.opts["check_strings"] and not node.value.isascii():
            self._report(node, node.value, "an f-string", None)

    def visit_Name(self, node: cst.Name) -> None:
        if not node.value.isascii():
            self._report(node, node.value, f"the name `{node.value}`", None)

    # -- helpers -------------------------------------------------------------------------------------
    def _report(self, node: cst.CSTNode, text: str, where: str, fix) -> None:
        char = next(c for c in text if ord(c) > 127)
        try:
            uname = unicodedata.name(char)
        except ValueError:
            uname = f"U+{ord(char):04X}"
        if char in ASCII_REPLACEMENTS:
            advice = f"write {ASCII_REPLACEMENTS[char]!r}"
        elif where.startswith("the name"):
            advice = "use an ASCII identifier"
        else:
            advice = "write it in ASCII (English)"
        others = len({c for c in text if ord(c) > 127}) - 1
        if others > 0:
            advice += f" ({others} other non-ASCII character{'s' if others > 1 else ''} here)"
        self.report(node, char=repr(char), uname=uname, where=where, advice=advice, fix=fix)

    def _is_docstring(self, node: cst.SimpleString) -> bool:
        stack = self.context.stack
        if len(stack) < 4 or not isinstance(stack[-2], cst.Expr) or not isinstance(stack[-3], cst.SimpleStatementLine):
            return False
        line, container = stack[-3], stack[-4]
        if isinstance(container, cst.Module):
            return bool(container.body) and container.body[0] is line
        if isinstance(container, cst.IndentedBlock) and len(stack) >= 5 and isinstance(stack[-5], (cst.FunctionDef, cst.ClassDef)):
            return bool(container.body) and container.body[0] is line
        return False


def _replace(text: str, avoid: str | None = None) -> str:
    out = []
    for char in text:
        replacement = ASCII_REPLACEMENTS.get(char)
        if replacement is None or (avoid is not None and avoid in replacement):
            out.append(char)
        else:
            out.append(replacement)
    return "".join(out)
