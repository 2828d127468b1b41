from __future__ import annotations

import ast
from remediation_lint.analysis.ast_walk import ast_walk, child_nodes

import libcst as cst

from remediation_lint.analysis.names import ast_dotted, dotted_name
from remediation_lint.astcheck import AstChecker
from remediation_lint.rule import FixSafety, ImportSpec, Invalid, Provenance, Rule, Severity, Valid

SLEEPS = {"time.sleep", "asyncio.sleep", "trio.sleep", "anyio.sleep", "gevent.sleep", "eventlet.sleep"}
RANDOM_HINTS = ("random", "jitter", "uniform", "randint", "randrange", "secrets.")


class _Fast(AstChecker):
    """The ``ast`` twin of the rule below (check mode)."""

    def __init__(self, rule, context, options) -> None:
        super().__init__(rule, context, options)
        self._assigned: list[set[str]] = [set()]
        self._jittered: list[set[str]] = [set()]
        self._lines: list[bytes] | None = None

    def visit_FunctionDef(self, node: ast.AST) -> None:
        self._assigned.append(set())
        self._jittered.append(set())

    def leave_FunctionDef(self, node: ast.AST) -> None:
        self._assigned.pop()
        self._jittered.pop()

    visit_AsyncFunctionDef = visit_FunctionDef
    leave_AsyncFunctionDef = leave_FunctionDef

    def visit_Assign(self, node: ast.Assign) -> None:
        for target in node.targets:
            if isinstance(target, ast.Name):
                self._record(target.id, node.value)

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        if isinstance(node.target, ast.Name) and node.value is not None:
            self._record(node.target.id, node.value)

    def visit_AugAssign(self, node: ast.AugAssign) -> None:
        if isinstance(node.target, ast.Name) and self._has_random(node.value):
            self._jittered[-1].add(node.target.id)

    def _record(self, name: str, value: ast.expr) -> None:
        if self._has_random(value):
            self._jittered[-1].add(name)
        elif _ast_is_exponential(value):
            self._assigned[-1].add(name)

    def visit_Call(self, node: ast.Call) -> None:
        if not (node.args or node.keywords) or self.context.qualified(node.func) not in SLEEPS:
            return
        items: list[ast.AST] = [*node.args, *node.keywords]
        if node.args and node.keywords:
            items.sort(key=lambda n: (n.lineno, n.col_offset))  # type: ignore[attr-defined]
        arg = items[0]
        if isinstance(arg, ast.keyword) and arg.arg not in ("seconds", "delay", "secs"):
            return
        delay = arg.value if isinstance(arg, (ast.keyword, ast.Starred)) else arg
        if self._has_random(delay):
            return
        exponential = _ast_is_exponential(delay)
        if not exponential and isinstance(delay, ast.Name):
            name = delay.id
            if name in self._jittered[-1]:
                return
            exponential = name in self._assigned[-1]
        if not exponential:
            return
        func = node.func
        before = self._text(func.end_lineno, func.end_col_offset, delay.lineno, delay.col_offset)  # type: ignore[arg-type]
        sleep = ast_dotted(func)
        if before.count(b"(") != 1 or (sleep is not None and not sleep.isascii()):
            self.defer()  # a parenthesised delay (LibCST's text keeps the parentheses), or a non-ASCII name
            return
        text = self._text(delay.lineno, delay.col_offset, delay.end_lineno, delay.end_col_offset).decode("utf-8")  # type: ignore[arg-type]
        self.report(node, sleep=sleep, delay=" ".join(text.split()), fix=FixSafety.UNSAFE)

    def _text(self, line: int, col: int, end_line: int, end_col: int) -> bytes:
        if self._lines is None:
            self._lines = self.context.source.splitlines(keepends=True)
        lines = self._lines
        if line == end_line:
            return lines[line - 1][col:end_col]
        return lines[line - 1][col:] + b"".join(lines[line: end_line - 1]) + lines[end_line - 1][:end_col]

    def _has_random(self, expr: ast.expr) -> bool:
        for sub in ast_walk(expr):
            if isinstance(sub, ast.Call):
                name = self.context.call_name(sub) or ""
                if any(hint in name.lower() for hint in RANDOM_HINTS):
                    return True
        return False


def _ast_is_exponential(expr: ast.expr) -> bool:
    todo: list[ast.AST] = [expr]
    while todo:
        node = todo.pop()
        if isinstance(node, ast.Lambda):
            continue
        if isinstance(node, ast.BinOp):
            if isinstance(node.op, ast.Pow) and not (isinstance(node.right, ast.Constant) and type(node.right.value) in (int, float)):
                return True
            if isinstance(node.op, ast.LShift) and isinstance(node.left, ast.Constant) and type(node.left.value) is int:
                return True
        todo.extend(child_nodes(node))
    return False


class BackoffWithoutJitter(Rule):
    """An exponential retry sleep without a random term: add jitter.

    ## What it does
    Finds `time.sleep(...)` / `asyncio.sleep(...)` (also trio, anyio) whose delay grows only with the
    attempt number: `2 ** attempt`, `base * 2 ** n`, `1 << retries`, `min(cap, base * 2 ** n)`, directly
    or through a local variable assigned from such an expression in the same function. Delays that
    involve a random term (`random.uniform`, `random.random()`, a `jitter` helper) are left alone, as
    are fixed poll intervals.

    ## Why is this bad?
    Workers that fail together (a database restart, a rate limit, a flaky CLI) retry together: with a
    deterministic schedule they wake at the same instants on every attempt and hit the recovering
    service in synchronized bursts (the thundering herd). hyperion's worker-robustness plan asks for
    "jittered backoff between failed retries".

    ## Fix
    Randomise every delay, e.g. `base * 2 ** attempt * random.uniform(0.5, 1.5)` or "full jitter"
    `random.uniform(0, base * 2 ** attempt)`, and cap it.

    ## Fix safety
    Unsafe: the fix multiplies the delay by `random.uniform(0.5, 1.5)` (and imports `random`), which
    changes the timing on purpose.
    """

    code = "RMD710"
    ast_checker = _Fast
    name = "backoff-without-jitter"
    message = "retry sleep {sleep}({delay}) grows only with the attempt number: add jitter (e.g. multiply by random.uniform(0.5, 1.5))"
    severity = Severity.MEDIUM
    provenance = (
        Provenance("002_cc3ae69c69bad11e.txt", "Worker Robustness (add jittered backoff between failed retries)", "hyperion"),
    )
    fix_safety = FixSafety.UNSAFE
    triggers = (b"sleep",)

    VALID = [
        Valid(
            """
            import random
            import time

            def apply_with_retries(apply, retries=5, base=0.5):
                for attempt in range(retries):
                    if apply():
                        return True
                    time.sleep(base * 2 ** attempt * random.uniform(0.5, 1.5))
                return False
            """
        ),
        Valid(
            """
            import time

            POLL_INTERVAL = 2.0

            def poll(queue):
                while not queue.ready():
                    time.sleep(POLL_INTERVAL)
            """
        ),
        Valid(
            """
            import asyncio
            import random

            async def call_with_backoff(fn, attempts=4):
                for attempt in range(attempts):
                    try:
                        return await fn()
                    except ConnectionError:
                        delay = min(30, 2 ** attempt)
                        delay += random.random()
                        await asyncio.sleep(delay)
            """
        ),
        Valid(
            """
            import time

            def backoff_with_full_jitter(attempt, rng):
                time.sleep(rng.uniform(0, 2 ** attempt))
            """
        ),
        Valid(
            """
            def area(side):
                return side ** 2

            def wait(clock, n):
                clock.sleep(2 ** n)
            """
        ),
    ]

    INVALID = [
        Invalid(
            """
            import time

            def run_with_retries(apply, attempts=3):
                for attempt in range(attempts):
                    if apply():
                        return True
                    time.sleep(2 ** attempt)
                return False
            """,
            fixed="""
            import time
            import random

            def run_with_retries(apply, attempts=3):
                for attempt in range(attempts):
                    if apply():
                        return True
                    time.sleep(2 ** attempt * random.uniform(0.5, 1.5))
                return False
            """,
            line=7,
        ),
        Invalid(
            """
            import asyncio

            class Client:
                async def request(self, send, base=0.5):
                    for n in range(5):
                        try:
                            return await send()
                        except TimeoutError:
                            await asyncio.sleep(base * 2 ** n)
            """,
            fixed="""
            import asyncio
            import random

            class Client:
                async def request(self, send, base=0.5):
                    for n in range(5):
                        try:
                            return await send()
                        except TimeoutError:
                            await asyncio.sleep(base * 2 ** n * random.uniform(0.5, 1.5))
            """,
        ),
        Invalid(
            """
            from time import sleep

            def reconnect(connect, retries=4):
                for retry in range(retries):
                    delay = min(60, 1 << retry)
                    if connect():
                        return
                    sleep(delay)
            """,
            fixed="""
            from time import sleep
            import random

            def reconnect(connect, retries=4):
                for retry in range(retries):
                    delay = min(60, 1 << retry)
                    if connect():
                        return
                    sleep(delay * random.uniform(0.5, 1.5))
            """,
            line=8,
        ),
        Invalid(
            """
            import time as t

            def wait_for_lease(queue, item, attempts):
                while not queue.lease(item):
                    attempts += 1
                    t.sleep(0.1 + 2 ** attempts)
            """,
            fixed="""
            import time as t
            import random

            def wait_for_lease(queue, item, attempts):
                while not queue.lease(item):
                    attempts += 1
                    t.sleep((0.1 + 2 ** attempts) * random.uniform(0.5, 1.5))
            """,
        ),
    ]

    def __init__(self, context, options) -> None:
        super().__init__(context, options)
        #: per function: name -> exponential assignments; names that ever get a random term
        self._assigned: list[dict[str, cst.BaseExpression]] = [{}]
        self._jittered: list[set[str]] = [set()]

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self._assigned.append({})
        self._jittered.append(set())

    def leave_FunctionDef(self, node: cst.FunctionDef) -> None:
        self._assigned.pop()
        self._jittered.pop()

    def visit_Assign(self, node: cst.Assign) -> None:
        for target in node.targets:
            if isinstance(target.target, cst.Name):
                self._record(target.target.value, node.value)

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        if isinstance(node.target, cst.Name) and node.value is not None:
            self._record(node.target.value, node.value)

    def visit_AugAssign(self, node: cst.AugAssign) -> None:
        if isinstance(node.target, cst.Name) and self._has_random(node.value):
            self._jittered[-1].add(node.target.value)

    def _record(self, name: str, value: cst.BaseExpression) -> None:
        if self._has_random(value):
            self._jittered[-1].add(name)
        elif _is_exponential(value):
            self._assigned[-1][name] = value

    def visit_Call(self, node: cst.Call) -> None:
        qualified = self.context.qualified(node.func)
        if qualified not in SLEEPS or not node.args:
            return
        arg = node.args[0]
        if arg.keyword is not None and arg.keyword.value not in ("seconds", "delay", "secs"):
            return
        delay = arg.value
        if self._has_random(delay):
            return
        exponential = _is_exponential(delay)
        if not exponential and isinstance(delay, cst.Name):
            name = delay.value
            if name in self._jittered[-1]:
                return
            exponential = name in self._assigned[-1]
        if not exponential:
            return
        text = self.context.module.code_for_node(delay)
        self.report(node, sleep=self.context.dotted(node.func), delay=" ".join(text.split()), fix=self._fix(arg))

    def _fix(self, arg: cst.Arg):
        value = arg.value
        if isinstance(value, cst.BinaryOperation) and not isinstance(value.operator, (cst.Multiply, cst.Power)):
            value = value.with_changes(lpar=[cst.LeftParen()], rpar=[cst.RightParen()])
        elif isinstance(value, (cst.BooleanOperation, cst.IfExp, cst.Lambda, cst.NamedExpr)):
            value = value.with_changes(lpar=[cst.LeftParen()], rpar=[cst.RightParen()])
        jitter = cst.parse_expression("random.uniform(0.5, 1.5)")
        new_value = cst.BinaryOperation(
            left=value,
            operator=cst.Multiply(whitespace_before=cst.SimpleWhitespace(" "), whitespace_after=cst.SimpleWhitespace(" ")),
            right=jitter,
        )
        return self.make_fix((arg, arg.with_changes(value=new_value)), imports=[ImportSpec("random")])

    def _has_random(self, expr: cst.BaseExpression) -> bool:
        finder = _CallFinder()
        expr.visit(finder)
        for call in finder.calls:
            name = self.context.call_name(call) or dotted_name(call.func) or ""
            if any(hint in name.lower() for hint in RANDOM_HINTS):
                return True
        return False


class _CallFinder(cst.CSTVisitor):
    def __init__(self) -> None:
        self.calls: list[cst.Call] = []

    def visit_Call(self, node: cst.Call) -> None:
        self.calls.append(node)


class _ExponentFinder(cst.CSTVisitor):
    def __init__(self) -> None:
        self.found = False

    def visit_BinaryOperation(self, node: cst.BinaryOperation) -> None:
        if isinstance(node.operator, cst.Power) and not isinstance(node.right, (cst.Integer, cst.Float)):
            self.found = True
        elif isinstance(node.operator, cst.LeftShift) and isinstance(node.left, cst.Integer):
            self.found = True

    def visit_Lambda(self, node: cst.Lambda) -> bool:
        return False


def _is_exponential(expr: cst.BaseExpression) -> bool:
    finder = _ExponentFinder()
    expr.visit(finder)
    return finder.found
