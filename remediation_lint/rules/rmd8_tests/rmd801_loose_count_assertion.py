from __future__ import annotations

import libcst as cst

from remediation_lint.analysis.names import dotted_name
from remediation_lint.rule import Default, FixSafety, Invalid, Provenance, Rule, Severity, Valid


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
