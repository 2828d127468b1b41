from __future__ import annotations

import ast

import libcst as cst

from remediation_lint.astcheck import AstChecker
from remediation_lint.rule import Invalid, Provenance, Rule, Severity, Valid


class _Fast(AstChecker):
    """The ``ast`` twin of the rule below: lines from the tree's line numbers, plus the comment lines
    after the last statement that LibCST keeps in the class's block (indented at least as deep)."""

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        max_lines = int(self.opts["max_lines"])
        max_methods = int(self.opts["max_methods"])
        lines = self.context.lines
        one_line = node.body[0].lineno == node.lineno  # `class A: pass` (LibCST: no indented block)
        methods = 0 if one_line else sum(isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef)) for s in node.body)
        start = node.decorator_list[0].lineno if node.decorator_list else node.lineno
        end = node.end_lineno or node.lineno
        if not one_line:
            indent = _indent(lines[node.body[0].lineno - 1]) if node.body[0].lineno <= len(lines) else 0
            for number in range(end + 1, len(lines) + 1):
                text = lines[number - 1]
                stripped = text.strip()
                if not stripped:
                    continue
                if stripped.startswith("#") and _indent(text) >= indent:
                    end = number
                    continue
                break
        count = end - start + 1
        if count > max_lines or methods > max_methods:
            name = self.context.name_node(node)
            if name is None:
                self.defer()
                return
            self.report(name, name=node.name, lines=count, methods=methods, max_lines=max_lines, max_methods=max_methods)


def _indent(text: str) -> int:
    return len(text) - len(text.lstrip())


class OversizedClass(Rule):
    """A class longer than the line limit or with more methods than the method limit: split it.

    ## What it does
    Reports a class whose definition (decorators and `class` line included, blank lines and comments
    before it excluded) is longer than `max_lines` (default 500) or that has more than `max_methods`
    methods (default 40). Every `def` directly in the class body counts, properties and static/class
    methods included; methods of nested classes count for the nested class only. The finding sits on the
    `class` line and states the class's size.

    ## Why is this bad?
    A god class mixes responsibilities (execution, state, flow control, result collection) behind one
    set of attributes, so every change risks the others and nothing can be tested alone. TASKER 2.0's
    review (medium priority item 8) found `TaskExecutorMain` at over 1000 lines and planned to split it
    into `TaskRunner`, `StateManager`, `WorkflowController` and `ResultCollector`.

    ## Fix
    Split the class along its responsibilities and compose the parts; keep the old class as a thin
    facade while callers move.
    """

    code = "RMD704"
    ast_checker = _Fast
    name = "oversized-class"
    message = "class {name} is {lines} lines long with {methods} methods (limits: {max_lines} lines, {max_methods} methods): split it by responsibility"
    severity = Severity.MEDIUM
    provenance = (
        Provenance("003_a4879ce62f499f62.txt", "Medium priority, item 8 (TaskExecutorMain god class, 1000+ lines)", "tasker"),
    )
    triggers = (b"class",)
    options = {"max_lines": 500, "max_methods": 40}
    option_docs = {
        "max_lines": "longest allowed class, in lines from its first decorator or `class` line to its last line",
        "max_methods": "most methods allowed directly in a class body (properties, static and class methods count)",
    }

    VALID = [
        Valid(
            """
            class TaskRunner:
                def __init__(self, executor):
                    self.executor = executor

                def run(self, task):
                    return self.executor.execute(task)


            class ResultCollector:
                def __init__(self):
                    self.results = []

                def add(self, result):
                    self.results.append(result)
            """,
            options={"max_lines": 10, "max_methods": 3},
        ),
        Valid(
            """
            class Config:
                host = "localhost"
                port = 8080

                def url(self) -> str:
                    return f"http://{self.host}:{self.port}"
            """,
        ),
        Valid(
            """
            class Outer:
                def a(self): ...
                def b(self): ...

                class Inner:
                    def c(self): ...
                    def d(self): ...
            """,
            options={"max_methods": 3},
        ),
        Valid(
            """
            class Limits:
                def one(self): ...
                def two(self): ...
                def three(self): ...
            """,
            options={"max_methods": 3},
        ),
    ]

    INVALID = [
        Invalid(
            """
            class TaskExecutorMain:
                def __init__(self, tasks):
                    self.tasks = tasks
                    self.state = {}

                def run(self):
                    for task in self.tasks:
                        self.execute(task)

                def execute(self, task):
                    self.state[task] = "done"
            """,
            options={"max_lines": 8},
            line=1,
        ),
        Invalid(
            """
            import functools


            @functools.total_ordering
            class Workflow:
                @property
                def name(self): ...
                @staticmethod
                def parse(text): ...
                @classmethod
                def load(cls, path): ...
                def run(self): ...
            """,
            options={"max_methods": 3},
            line=5,
        ),
        Invalid(
            """
            class Outer:
                class Inner:
                    def a(self): ...
                    def b(self): ...
                    def c(self): ...
            """,
            options={"max_methods": 2},
            line=2,
        ),
        Invalid(
            """
            def build():
                class StateManager:
                    async def load(self): ...
                    async def save(self): ...
                    def reset(self): ...
                return StateManager
            """,
            options={"max_methods": 2},
            line=2,
        ),
    ]

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        max_lines = int(self.opts["max_lines"])
        max_methods = int(self.opts["max_methods"])
        body = node.body
        statements = body.body if isinstance(body, cst.IndentedBlock) else ()
        methods = sum(1 for stmt in statements if isinstance(stmt, cst.FunctionDef))
        text = self.context.module.code_for_node(node)
        lines = text.count("\n") - len(node.leading_lines) + (0 if text.endswith("\n") else 1)
        if lines > max_lines or methods > max_methods:
            self.report(
                node.name, name=node.name.value, lines=lines, methods=methods, max_lines=max_lines, max_methods=max_methods
            )
