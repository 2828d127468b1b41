from __future__ import annotations

import ast
from remediation_lint.analysis.ast_walk import ast_walk, child_nodes
import io
import re
import tokenize

import libcst as cst

from remediation_lint.analysis import sql
from remediation_lint.analysis.names import ast_dotted, dotted_name
from remediation_lint.astcheck import AstChecker
from remediation_lint.rule import Default, Invalid, Provenance, Rule, Severity, Valid

_COUNTER = re.compile(r"(retry|retries|attempt|attempts)(_count|_number|_no)?$|^(retry|attempt)", re.I)
#: every word (or part of an implicitly concatenated string) that ``_COUNTER`` matches contains this
_COUNTER_PART = re.compile(r"retr|attempt", re.I)
_SQL_BUMP = re.compile(r"\b(\w*(?:retry|retries|attempt)\w*)\s*=\s*\1\s*\+", re.I)


class _Fast(AstChecker):
    """The ``ast`` twin of the rule below (check mode). Defers when a string that decides the answer may
    be an implicit concatenation (LibCST sees its parts, ``ast`` one constant)."""

    def visit_AugAssign(self, node: ast.AugAssign) -> None:
        if not isinstance(node.op, ast.Add):
            return
        label = self._label(node.target)
        if label is None:
            return
        scope = self._scope(node.target)
        if scope is None or self._compares(scope, label):
            return
        self.report(node, what=f"retry counter `{ast_dotted(node.target) or label}` is incremented but never compared to a maximum")

    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        if not isinstance(func, ast.Attribute) or func.attr not in sql.QUERY_METHODS or not (node.args or node.keywords):
            return
        try:
            text = sql.ast_literal_text(sql.ast_first_arg(node), lambda n: sql.ast_segment(self.context, n))
        except sql.Undecidable:
            self.defer()
            return
        if text is None:
            return
        match = _SQL_BUMP.search(text)
        if match is None:
            return
        column = match.group(1)
        if re.search(rf"\bWHERE\b.*\b{re.escape(column)}\s*(<|<=|>|>=)", text, re.I | re.S):
            return
        func_node = self.context.enclosing_function()
        if func_node is None or self._compares(func_node, column):
            return
        self.report(node, what=f"`{column} = {column} + 1` with no check against a maximum")

    def visit_While(self, node: ast.While) -> None:
        if not (isinstance(node.test, ast.Constant) and node.test.value is True):
            return
        tries = [s for s in node.body if isinstance(s, ast.Try)]
        if not tries:
            return
        for attempt in tries:
            if not _ast_has(attempt.body, (ast.Return, ast.Break)):
                continue
            if any(_ast_has(h.body, (ast.Raise, ast.Break, ast.Return)) for h in attempt.handlers):
                continue
            if not any(_ast_backs_off(h.body) for h in attempt.handlers):
                continue
            if any(self._compares(stmt, None) for stmt in node.body):
                continue
            self.report(node, what="`while True:` retry loop never gives up")
            return

    # -- helpers -------------------------------------------------------------------------------------
    def _scope(self, target: ast.expr) -> ast.AST | None:
        if isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name) and target.value.id == "self":
            return self.context.enclosing_class() or self.context.enclosing_function()
        return self.context.enclosing_function()

    def _single(self, node: ast.Constant) -> bool:
        """Whether a string constant is one literal (not an implicit concatenation); defers when unknown."""
        text = sql.ast_segment(self.context, node)
        if text is not None:
            try:
                tokens = [t for t in tokenize.generate_tokens(io.StringIO(f"({text})").readline) if t.type == tokenize.STRING]
                return len(tokens) == 1
            except (tokenize.TokenError, SyntaxError, IndentationError):
                pass
        self.defer()
        return False

    def _label(self, target: ast.expr) -> str | None:
        if isinstance(target, ast.Name):
            name = target.id
        elif isinstance(target, ast.Attribute):
            name = target.attr
        elif isinstance(target, ast.Subscript):
            key = target.slice
            name = key.value if isinstance(key, ast.Constant) and isinstance(key.value, str) else ""
            if name and _COUNTER.search(name) and not self._single(key):  # type: ignore[arg-type]
                return None
            if isinstance(key, ast.Tuple) and len(key.elts) == 1 and isinstance(key.elts[0], ast.Constant):
                if isinstance(key.elts[0].value, str) and _COUNTER.search(key.elts[0].value):
                    self.defer()  # ``x["retries",]`` (one LibCST subscript element) or ``x[("retries",)]``
                    return None
        else:
            return None
        return name if name and _COUNTER.search(name) else None

    def _words(self, expr: ast.AST, relevant) -> set[str]:
        """``_words`` on ``ast``: names, attribute names, keyword and lambda parameter names, and plain
        string constants (not the parts of f-strings)."""
        out: set[str] = set()
        todo = [expr]
        while todo:
            node = todo.pop()
            if isinstance(node, ast.Name):
                out.add(node.id)
            elif isinstance(node, ast.Attribute):
                out.add(node.attr)
            elif isinstance(node, ast.keyword):
                if node.arg is not None:
                    out.add(node.arg)
            elif isinstance(node, ast.arg):
                out.add(node.arg)
            elif isinstance(node, ast.Constant):
                if isinstance(node.value, str):
                    if relevant(node.value) and not self._single(node):
                        continue
                    out.add(node.value)
                continue
            elif isinstance(node, ast.JoinedStr):
                todo.extend(v.value for v in node.values if isinstance(v, ast.FormattedValue))
                todo.extend(v.format_spec for v in node.values if isinstance(v, ast.FormattedValue) and v.format_spec is not None)
                continue
            todo.extend(child_nodes(node))
        return out

    def _compares(self, scope: ast.AST, label: str | None) -> bool:
        if label is None:
            relevant = lambda word: bool(_COUNTER_PART.search(word))  # noqa: E731
        else:
            relevant = lambda word: label in word  # noqa: E731
        for node in ast_walk(scope):
            if isinstance(node, ast.Compare):
                for expr in (node.left, *node.comparators):
                    for word in self._words(expr, relevant):
                        if (label is None and _COUNTER.search(word)) or (label is not None and word == label):
                            return True
            elif label is not None and isinstance(node, ast.Call) and ast_dotted(node.func) in ("min", "range"):
                if any(label in self._words(a, relevant) for a in (*node.args, *(k.value for k in node.keywords))):
                    return True
        return False


def _ast_has(body: list[ast.stmt], kinds: tuple[type, ...]) -> bool:
    todo: list[ast.AST] = list(body)
    while todo:
        node = todo.pop()
        if isinstance(node, kinds):
            return True
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.While, ast.For, ast.AsyncFor)):
            continue
        todo.extend(child_nodes(node))
    return False


def _ast_backs_off(body: list[ast.stmt]) -> bool:
    for stmt in body:
        for node in ast_walk(stmt):
            if isinstance(node, ast.Call):
                name = (ast_dotted(node.func) or "").rsplit(".", 1)[-1].lower()
                if "sleep" in name or "backoff" in name or name in {"wait", "wait_for"}:
                    return True
    return False


class UnboundedRetry(Rule):
    """Retries with no maximum: a retry counter that is never compared, or a `while True:` retry loop.

    ## What it does
    Finds
    - a retry counter (`retry_count`, `retries`, `attempts`, ...) incremented (`+= 1`,
      `SET retry_count = retry_count + 1` in SQL) in a function (or, for `self.` attributes, a class)
      that never compares it to anything;
    - `while True:` retry loops (a `try` whose success path leaves the loop and whose handler sleeps
      before the next attempt) that never give up: no `raise`, `break` or `return` in the handler and
      no comparison of an attempt counter.

    ## Why is this bad?
    A permanently failing task is retried forever: it burns model budget, floods the queue, and hides
    the failure. The Orchestration Engine's retry endpoint allowed infinite retries (plan item 4.2: "check
    `row["retry_count"] >= MAX_TASK_RETRIES` and return 400"); hyperion's workers needed retry thresholds
    and dead-letter states.

    ## Fix
    Compare the counter to a configured maximum (`MAX_TASK_RETRIES`) and stop (400, dead letter, raise)
    when it is reached; in loops, use `for attempt in range(max_attempts):` with back-off.
    """

    code = "RMD509"
    ast_checker = _Fast
    name = "unbounded-retry"
    message = "{what}: cap the retries (compare to a maximum and give up, e.g. dead-letter or 400)"
    severity = Severity.MEDIUM
    default = Default.PREVIEW
    provenance = (
        Provenance("001_0845f576a88221b4.txt", "Phase 4, item 4.2 (retry endpoint allows infinite retries)", "orchestration_engine"),
        Provenance("002_cc3ae69c69bad11e.txt", "Worker Robustness / Testing (retry thresholds, dead letters)", "hyperion"),
    )
    triggers = (b"retr", b"attempt", b"while True")

    VALID = [
        Valid(
            """
            from fastapi import HTTPException

            MAX_TASK_RETRIES = 5

            async def retry_task(db, task_id):
                row = await db.fetch_one("SELECT retry_count FROM tasks WHERE id = ?", (task_id,))
                if row["retry_count"] >= MAX_TASK_RETRIES:
                    raise HTTPException(status_code=400, detail="Maximum retry limit reached")
                await db.execute_write(
                    "UPDATE tasks SET status = 'pending', retry_count = retry_count + 1 WHERE id = ?", (task_id,)
                )
            """
        ),
        Valid(
            """
            import time

            def call_with_retry(fn, max_attempts=5):
                for attempt in range(max_attempts):
                    try:
                        return fn()
                    except ConnectionError:
                        time.sleep(2 ** attempt)
                raise RuntimeError("gave up")
            """
        ),
        Valid(
            """
            import time

            def fetch(client):
                attempts = 0
                while True:
                    try:
                        return client.get()
                    except TimeoutError:
                        attempts += 1
                        if attempts > 3:
                            raise
                        time.sleep(1)
            """
        ),
        Valid(
            """
            def serve(sock, handle, log):
                while True:
                    try:
                        handle(sock.recv())
                    except Exception:
                        log.exception("bad message")
            """
        ),
        Valid(
            """
            class Worker:
                max_attempts = 3

                def fail(self, item):
                    item.attempts += 1
                    if item.attempts >= self.max_attempts:
                        self.dead_letter(item)
            """
        ),
    ]

    INVALID = [
        Invalid(
            """
            async def retry_task(db, task_id):
                await db.execute_write(
                    "UPDATE tasks SET status = 'pending', retry_count = retry_count + 1 WHERE id = ?", (task_id,)
                )
                return {"id": task_id, "status": "pending"}
            """,
            line=2,
        ),
        Invalid(
            """
            class Worker:
                def on_failure(self, item, error):
                    item.attempts += 1
                    item.last_error = str(error)
                    self.queue.requeue(item)
            """,
            line=3,
        ),
        Invalid(
            """
            import asyncio

            async def connect(url, open_connection):
                while True:
                    try:
                        return await open_connection(url)
                    except OSError:
                        await asyncio.sleep(5)
            """,
            line=4,
        ),
        Invalid(
            """
            import time

            class Harness:
                def run(self, cmd):
                    retries = 0
                    while True:
                        try:
                            out = self.invoke(cmd)
                            break
                        except RuntimeError:
                            retries += 1
                            time.sleep(retries)
                    return out
            """,
            line=6,
            count=2,
        ),
    ]

    # -- counters ------------------------------------------------------------------------------------
    def visit_AugAssign(self, node: cst.AugAssign) -> None:
        if not isinstance(node.operator, cst.AddAssign):
            return
        label = _counter_label(node.target)
        if label is None:
            return
        scope = self._scope(node.target)
        if scope is None or _compares(scope, label):
            return
        self.report(node, what=f"retry counter `{dotted_name(node.target) or label}` is incremented but never compared to a maximum")

    def visit_Call(self, node: cst.Call) -> None:
        func = node.func
        if not isinstance(func, cst.Attribute) or func.attr.value not in sql.QUERY_METHODS or not node.args:
            return
        text = sql.literal_text(node.args[0].value)
        if text is None:
            return
        match = _SQL_BUMP.search(text)
        if match is None:
            return
        column = match.group(1)
        if re.search(rf"\bWHERE\b.*\b{re.escape(column)}\s*(<|<=|>|>=)", text, re.I | re.S):
            return
        func_node = self.context.enclosing_function()
        if func_node is None or _compares(func_node, column):
            return
        self.report(node, what=f"`{column} = {column} + 1` with no check against a maximum")

    def _scope(self, target: cst.BaseExpression) -> cst.CSTNode | None:
        if isinstance(target, cst.Attribute) and isinstance(target.value, cst.Name) and target.value.value == "self":
            return self.context.enclosing_class() or self.context.enclosing_function()
        return self.context.enclosing_function()

    # -- while True ----------------------------------------------------------------------------------
    def visit_While(self, node: cst.While) -> None:
        if not (isinstance(node.test, cst.Name) and node.test.value == "True"):
            return
        if not isinstance(node.body, cst.IndentedBlock):
            return
        tries = [s for s in node.body.body if isinstance(s, cst.Try)]
        if not tries:
            return
        for attempt in tries:
            if not _leaves_on_success(attempt.body):
                continue
            if any(_gives_up(h.body) for h in attempt.handlers):
                continue
            if not any(_backs_off(h.body) for h in attempt.handlers):
                continue  # no sleep between attempts: a progress loop, not a retry loop
            if _compares_any_counter(node.body):
                continue
            self.report(node, what="`while True:` retry loop never gives up")
            return


# -- helpers -----------------------------------------------------------------------------------------
def _counter_label(target: cst.BaseExpression) -> str | None:
    if isinstance(target, cst.Name):
        name = target.value
    elif isinstance(target, cst.Attribute):
        name = target.attr.value
    elif isinstance(target, cst.Subscript) and len(target.slice) == 1 and isinstance(target.slice[0].slice, cst.Index):
        key = target.slice[0].slice.value
        name = key.evaluated_value if isinstance(key, cst.SimpleString) and isinstance(key.evaluated_value, str) else ""
    else:
        return None
    return name if name and _COUNTER.search(name) else None


class _CompareFinder(cst.CSTVisitor):
    def __init__(self, label: str | None) -> None:
        self.label = label
        self.found = False

    def visit_Comparison(self, node: cst.Comparison) -> None:
        if self.found:
            return
        texts = [node.left, *(c.comparator for c in node.comparisons)]
        for expr in texts:
            for word in _words(expr):
                if (self.label is None and _COUNTER.search(word)) or (self.label is not None and word == self.label):
                    self.found = True
                    return

    def visit_Call(self, node: cst.Call) -> None:
        # min(attempts, MAX) / range(max_attempts) bound a counter too
        name = dotted_name(node.func) or ""
        if name in {"min", "range"} and any(self.label and self.label in _words(a.value) for a in node.args):
            self.found = True


class _WordCollector(cst.CSTVisitor):
    def __init__(self) -> None:
        self.words: set[str] = set()

    def visit_Name(self, node: cst.Name) -> None:
        self.words.add(node.value)

    def visit_SimpleString(self, node: cst.SimpleString) -> None:
        value = node.evaluated_value
        if isinstance(value, str):
            self.words.add(value)


def _words(expr: cst.CSTNode) -> set[str]:
    collector = _WordCollector()
    expr.visit(collector)
    return collector.words


def _compares(scope: cst.CSTNode, label: str) -> bool:
    finder = _CompareFinder(label)
    scope.visit(finder)
    return finder.found


def _compares_any_counter(body: cst.CSTNode) -> bool:
    finder = _CompareFinder(None)
    body.visit(finder)
    return finder.found


class _ExitFinder(cst.CSTVisitor):
    def __init__(self, kinds: tuple[type, ...]) -> None:
        self.kinds = kinds
        self.found = False

    def on_visit(self, node: cst.CSTNode) -> bool:
        if isinstance(node, self.kinds):
            self.found = True
        return not self.found and not isinstance(node, (cst.FunctionDef, cst.Lambda, cst.While, cst.For))


def _has(body: cst.CSTNode, kinds: tuple[type, ...]) -> bool:
    finder = _ExitFinder(kinds)
    body.visit(finder)
    return finder.found


def _leaves_on_success(body: cst.BaseSuite) -> bool:
    return _has(body, (cst.Return, cst.Break))


def _gives_up(body: cst.BaseSuite) -> bool:
    return _has(body, (cst.Raise, cst.Break, cst.Return))


class _SleepFinder(cst.CSTVisitor):
    def __init__(self) -> None:
        self.found = False

    def visit_Call(self, node: cst.Call) -> None:
        name = (dotted_name(node.func) or "").rsplit(".", 1)[-1].lower()
        if "sleep" in name or "backoff" in name or name in {"wait", "wait_for"}:
            self.found = True


def _backs_off(body: cst.BaseSuite) -> bool:
    finder = _SleepFinder()
    body.visit(finder)
    return finder.found
