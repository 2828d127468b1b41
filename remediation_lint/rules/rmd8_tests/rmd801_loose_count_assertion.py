from __future__ import annotations

import ast

import libcst as cst

from remediation_lint.analysis.names import ast_dotted, dotted_name
from remediation_lint.astcheck import AstChecker
from remediation_lint.rule import Default, FixSafety, Invalid, Provenance, Rule, Severity, Valid

_COMPOUND = (
    ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.If, ast.For, ast.AsyncFor, ast.While, ast.With,
    ast.AsyncWith, ast.Try, *((ast.TryStar,) if hasattr(ast, "TryStar") else ()), *((ast.Match,) if hasattr(ast, "Match") else ()),
)


class _Fast(AstChecker):
    """The ``ast`` twin of the rule below (check mode)."""

    def __init__(self, rule, context, options) -> None:
        super().__init__(rule, context, options)
        self._test_file = context.is_test_file()
        self._lines: list[bytes] | None = None

    def visit_Assert(self, node: ast.Assert) -> None:
        if not self._test_file:
            return
        test = node.test
        if not isinstance(test, ast.Compare) or len(test.ops) != 1:
            return
        op = test.ops[0]
        if isinstance(op, ast.GtE) and self._is_count(test.left):
            n = self._count(test.comparators[0])
        elif isinstance(op, ast.LtE) and self._is_count(test.comparators[0]):
            n = self._count(test.left)
        else:
            return
        if n is None:
            return
        explained = self._explained()
        if explained is None:
            return
        if explained:
            return
        between = self._text(node.lineno, node.col_offset + len("assert"), test.lineno, test.col_offset)
        if b"(" in between:
            self.defer()  # a parenthesised test: LibCST's text of it keeps the parentheses
            return
        text = self._text(test.lineno, test.col_offset, test.end_lineno, test.end_col_offset)  # type: ignore[arg-type]
        self.report(test, test=text.decode("utf-8").strip(), n=n, fix=FixSafety.UNSAFE)

    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        if not isinstance(func, ast.Attribute) or func.attr != "assertGreaterEqual":
            return
        args = _args(node)
        if len(args) < 2 or not self._test_file or not self._is_count(args[0]):
            return
        n = self._count(args[1])
        if n is None:
            return
        explained = self._explained()
        if explained is None or explained:
            return
        parent = self.context.parent()
        if isinstance(parent, ast.Expr):
            if (parent.lineno, parent.col_offset, parent.end_lineno, parent.end_col_offset) != (
                node.lineno, node.col_offset, node.end_lineno, node.end_col_offset
            ):
                self.defer()
                return
        else:
            before = self._text(max(1, node.lineno - 5), 0, node.lineno, node.col_offset).rstrip()
            if before.endswith(b"("):
                self.defer()
                return
        text = self._text(node.lineno, node.col_offset, node.end_lineno, node.end_col_offset).decode("utf-8").strip()  # type: ignore[arg-type]
        self.report(node, test=text if len(text) <= 60 else text[:57] + "...", n=n, fix=FixSafety.UNSAFE)

    # -- helpers -------------------------------------------------------------------------------------
    def _source_lines(self) -> list[bytes]:
        if self._lines is None:
            self._lines = self.context.source.splitlines(keepends=True)
        return self._lines

    def _text(self, line: int, col: int, end_line: int, end_col: int) -> bytes:
        lines = self._source_lines()
        if line == end_line:
            return lines[line - 1][col:end_col]
        return lines[line - 1][col:] + b"".join(lines[line: end_line - 1]) + lines[end_line - 1][:end_col]

    def _is_count(self, expr: ast.expr) -> bool:
        if not isinstance(expr, ast.Call) or ast_dotted(expr.func) != "len":
            return False
        args = _args(expr)
        if len(args) != 1:
            return False
        arg = args[0]
        last = ""
        if isinstance(arg, ast.Subscript):
            index = arg.slice
            if isinstance(index, ast.Constant) and isinstance(index.value, (str, bytes)):
                literal = self._text(index.lineno, index.col_offset, index.end_lineno, index.end_col_offset)  # type: ignore[arg-type]
                if _is_single_literal(literal):
                    last = str(index.value)
        else:
            last = (ast_dotted(arg) or "").rsplit(".", 1)[-1]
            if not last.isascii():
                self.defer()
                return False
        parts = [p for p in last.lower().split("_") if p]
        return not parts or parts[-1] not in self.opts["text_names"]

    def _count(self, expr: ast.expr) -> int | None:
        if not isinstance(expr, ast.Constant) or type(expr.value) is not int:
            return None
        value = expr.value
        return value if value >= int(self.opts["min_count"]) else None

    def _explained(self) -> bool | None:
        """Whether the statement line around the current node has a comment line just above it
        (None: deferred)."""
        stmt: ast.stmt | None = None
        owner: ast.AST | None = None
        stack = self.context.stack
        for i in range(len(stack) - 1, -1, -1):
            node = stack[i]
            if isinstance(node, ast.Lambda):
                return False
            if isinstance(node, ast.stmt):
                if isinstance(node, _COMPOUND):
                    return False
                stmt, owner = node, stack[i - 1] if i else None
                break
        if stmt is None or owner is None:
            return False
        body: list[ast.stmt] | None = None
        for field in ("body", "orelse", "finalbody"):
            candidate = getattr(owner, field, None)
            if isinstance(candidate, list) and any(s is stmt for s in candidate):
                body = candidate
                break
        if body is None:
            self.defer()
            return None
        index = next(i for i, s in enumerate(body) if s is stmt)
        while index > 0 and not isinstance(body[index - 1], _COMPOUND) and body[index - 1].end_lineno == body[index].lineno:
            index -= 1
        first = body[index]
        lines = self._source_lines()
        head = lines[first.lineno - 1][: first.col_offset]
        if head.strip():
            return False  # a one-line suite (`if x: assert ...`): no SimpleStatementLine
        above = first.lineno - 1
        if above < 1:
            return False
        if lines[above - 1].rstrip().endswith(b"\\"):
            self.defer()
            return None
        if not lines[above - 1].lstrip().startswith(b"#"):
            return False
        previous = body[index - 1] if index > 0 else None
        if previous is not None:
            if (previous.end_lineno or 0) >= above:
                return False
            if isinstance(previous, _COMPOUND):
                indent = len(lines[above - 1]) - len(lines[above - 1].lstrip())
                if indent != first.col_offset:
                    self.defer()  # a comment that may belong to the previous block's footer
                    return None
        return True


def _args(call: ast.Call) -> list[ast.expr]:
    """The values of a call's arguments in source order (LibCST's ``Arg.value``)."""
    items: list[ast.AST] = [*call.args, *call.keywords]
    if call.keywords and call.args:
        items.sort(key=lambda n: (n.lineno, n.col_offset))
    return [item.value if isinstance(item, (ast.Starred, ast.keyword)) else item for item in items]  # type: ignore[misc]


def _is_single_literal(text: bytes) -> bool:
    i = 0
    while i < len(text) and text[i:i + 1] in b"rRbBuUfF":
        i += 1
    quote = text[i:i + 3] if text[i:i + 3] in (b'"""', b"'''") else text[i:i + 1]
    if quote not in (b'"', b"'", b'"""', b"'''"):
        return False
    j = i + len(quote)
    while j < len(text):
        if text[j:j + 1] == b"\\":
            j += 2
            continue
        if text[j:j + len(quote)] == quote:
            return j + len(quote) == len(text)
        j += 1
    return False


class LooseCountAssertion(Rule):
    """A test asserts `len(x) >= N` where the exact count is knowable, so extra or duplicate items pass.

    ## What it does
    In test files, finds `assert len(x) >= N` (and `assert N <= len(x)`) and
    `self.assertGreaterEqual(len(x), N)` with a literal `N` of at least `min_count` (2 by default;
    `>= 1` is a non-emptiness check). An assertion with a comment on the line above (saying why the
    size varies) is left alone.

    The rule is in preview: whether the exact count is knowable is a judgement the comment records.

    ## Why is this bad?
    The Orchestration Engine's `tests/unit/test_registry.py` (seed 001, 6.6) asserted
    `len(registry.tools) >= 6`: a tool registered twice, or a stray seventh tool, still passed, and the
    test never said which tools it expected.

    ## Fix
    Assert the exact count (`== 6`), better the exact set of names; if the size really varies, write
    the reason in a comment above the assertion.

    ## Fix safety
    The fix is unsafe: `>=` becomes `==` (`assertGreaterEqual` becomes `assertEqual`), which makes the
    test fail when the real count is larger. That is the point, but the count must be checked.
    """

    code = "RMD801"
    ast_checker = _Fast
    name = "loose-count-assertion"
    message = "`{test}` accepts any size from {n} up: assert the exact count (or comment on the line above why it varies)"
    severity = Severity.LOW
    default = Default.PREVIEW
    provenance = (
        Provenance("001_0845f576a88221b4.txt", "Phase 6, item 6.6 (test_registry.py asserts len(registry.tools) >= 6 instead of == 6)", "orchestration_engine"),
    )
    fix_safety = FixSafety.UNSAFE
    triggers = (b"len(",)
    options = {
        "min_count": 2,
        "text_names": ("description", "text", "name", "title", "message", "content", "body", "output", "summary", "prompt", "response", "password", "token", "secret", "key", "hash", "id", "url", "path", "stdout", "stderr", "html", "doc", "docstring", "detail"),
    }
    option_docs = {
        "min_count": "smallest N reported (`len(x) >= 1` is a non-emptiness check)",
        "text_names": "last name parts of strings whose length floor is not a count (`len(tool.description) >= 10`)",
    }

    limitations = (
        "The Semgrep twin `rmd801-loose-count-assertion` recognises tests by their `test*` function names "
        "rather than by the test file's path."
    )

    VALID = [
        Valid(
            """
            def test_registry_has_all_tools(registry):
                assert len(registry.tools) == 6
                assert set(registry.tools) == {"search_knowledge", "lookup_type", "read_file", "write_file", "generate_image", "run_ollama"}
            """,
            filename="tests/unit/test_registry.py",
        ),
        Valid(
            """
            def test_search_returns_hits(index):
                # the index is rebuilt from live docs, so the hit count grows with them
                assert len(index.search("auth")) >= 3
            """,
            filename="tests/test_search.py",
        ),
        Valid(
            """
            def test_not_empty(results, tool):
                assert len(results) >= 1
                assert len(tool.description) >= 10
                assert len(results[0]["summary"]) >= 20
            """,
            filename="tests/test_results.py",
        ),
        Valid(
            """
            def check(registry):
                assert len(registry.tools) >= 6
            """,
            filename="backend/tools/registry.py",
        ),
        Valid(
            """
            import unittest

            class TestBatch(unittest.TestCase):
                def test_sizes(self):
                    self.assertEqual(len(make_batch(8)), 8)
                    self.assertLessEqual(len(make_batch(100)), 64)
            """,
            filename="tests/test_batch.py",
        ),
    ]

    INVALID = [
        Invalid(
            """
            from backend.tools.registry import ToolRegistry

            def test_registry_loads_tools():
                registry = ToolRegistry()
                assert len(registry.tools) >= 6
            """,
            fixed="""
            from backend.tools.registry import ToolRegistry

            def test_registry_loads_tools():
                registry = ToolRegistry()
                assert len(registry.tools) == 6
            """,
            line=5,
            filename="tests/unit/test_registry.py",
        ),
        Invalid(
            """
            import unittest

            class TestPlanner(unittest.TestCase):
                def test_phases(self):
                    plan = make_plan()
                    self.assertGreaterEqual(len(plan["phases"]), 3)
            """,
            fixed="""
            import unittest

            class TestPlanner(unittest.TestCase):
                def test_phases(self):
                    plan = make_plan()
                    self.assertEqual(len(plan["phases"]), 3)
            """,
            line=6,
            filename="tests/test_planner.py",
        ),
        Invalid(
            """
            async def test_decompose(client):
                resp = await client.post("/api/projects/p1/plans/x/approve")
                assert 4 <= len(resp.json()["task_ids"]), resp.text
            """,
            fixed="""
            async def test_decompose(client):
                resp = await client.post("/api/projects/p1/plans/x/approve")
                assert 4 == len(resp.json()["task_ids"]), resp.text
            """,
            line=3,
            filename="test_api.py",
        ),
        Invalid(
            """
            def test_events(progress):

                assert len(progress.events) >= 2  # two phases
            """,
            fixed="""
            def test_events(progress):

                assert len(progress.events) == 2  # two phases
            """,
            line=3,
            filename="conftest.py",
        ),
    ]

    def visit_Assert(self, node: cst.Assert) -> None:
        if not self.context.is_test_file():
            return
        test = node.test
        if not isinstance(test, cst.Comparison) or len(test.comparisons) != 1:
            return
        target = test.comparisons[0]
        op = target.operator
        if isinstance(op, cst.GreaterThanEqual) and self._is_count(test.left):
            n = self._count(target.comparator)
        elif isinstance(op, cst.LessThanEqual) and self._is_count(target.comparator):
            n = self._count(test.left)
        else:
            return
        if n is None or self._explained():
            return
        equal = cst.Equal(whitespace_before=op.whitespace_before, whitespace_after=op.whitespace_after)
        new_test = test.with_changes(comparisons=[target.with_changes(operator=equal)])
        self.report(
            test,
            test=self.context.module.code_for_node(test).strip(),
            n=n,
            fix=self.make_fix((test, new_test)),
        )

    def visit_Call(self, node: cst.Call) -> None:
        func = node.func
        if not isinstance(func, cst.Attribute) or func.attr.value != "assertGreaterEqual" or len(node.args) < 2:
            return
        if not self.context.is_test_file() or not self._is_count(node.args[0].value):
            return
        n = self._count(node.args[1].value)
        if n is None or self._explained():
            return
        new = node.with_changes(func=func.with_changes(attr=cst.Name("assertEqual")))
        text = self.context.module.code_for_node(node).strip()
        self.report(node, test=text if len(text) <= 60 else text[:57] + "...", n=n, fix=self.make_fix((node, new)))

    def _is_count(self, expr: cst.BaseExpression) -> bool:
        """``len(x)`` where ``x`` is not named like a string (a length floor on text is not a count)."""
        if not _is_len(expr):
            return False
        arg = expr.args[0].value  # type: ignore[attr-defined]
        last = ""
        if isinstance(arg, cst.Subscript) and len(arg.slice) == 1:
            index = arg.slice[0].slice
            if isinstance(index, cst.Index) and isinstance(index.value, cst.SimpleString):
                last = str(index.value.evaluated_value)
        else:
            last = (dotted_name(arg) or "").rsplit(".", 1)[-1]
        parts = [p for p in last.lower().split("_") if p]
        return not parts or parts[-1] not in self.opts["text_names"]

    def _count(self, expr: cst.BaseExpression) -> int | None:
        if not isinstance(expr, cst.Integer):
            return None
        value = int(expr.value.replace("_", ""), 0)
        return value if value >= int(self.opts["min_count"]) else None

    def _explained(self) -> bool:
        line = self.context.inside(cst.SimpleStatementLine)
        if not isinstance(line, cst.SimpleStatementLine) or not line.leading_lines:
            return False
        return line.leading_lines[-1].comment is not None


def _is_len(expr: cst.BaseExpression) -> bool:
    return isinstance(expr, cst.Call) and dotted_name(expr.func) == "len" and len(expr.args) == 1
