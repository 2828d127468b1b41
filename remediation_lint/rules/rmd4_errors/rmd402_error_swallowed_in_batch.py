from __future__ import annotations

import ast
from remediation_lint.analysis.ast_walk import ast_walk, child_nodes

import libcst as cst

from remediation_lint.analysis.handlers import (
    ast_caught_text,
    ast_code_for,
    ast_is_broad,
    ast_only_logs_and_moves_on,
    caught_text,
    is_broad,
    line_starts,
    only_logs_and_moves_on,
    utf8_source,
)
from remediation_lint.analysis.names import ast_dotted, dotted_name
from remediation_lint.astcheck import AstChecker
from remediation_lint.rule import Invalid, Provenance, Rule, Severity, Valid

_AST_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)
_AST_LOOPS = (ast.For, ast.AsyncFor, ast.While)


class _Fast(AstChecker):
    """The ``ast`` twin of the rule below (check mode)."""

    _source: tuple[bytes, list[int]] | None = None

    def _src(self) -> tuple[bytes, list[int]]:
        if self._source is None:
            source = utf8_source(self.context.source)
            self._source = (source, line_starts(source))
        return self._source

    def visit_ExceptHandler(self, node: ast.ExceptHandler) -> None:
        try_node = self.context.parent()
        if not isinstance(try_node, ast.Try) or not ast_is_broad(node.type):
            return  # (an ``except*`` handler is not an ExceptHandler for LibCST)
        only_logs, logs = ast_only_logs_and_moves_on(node.body, *self._src())
        if not only_logs or not logs:
            return
        loop = self.context.inside(*_AST_LOOPS)
        if loop is None:
            return
        stack = self.context.stack
        index = max(i for i, n in enumerate(stack) if n is loop)
        batch = self._batch_name(loop, stack[index - 1] if index else None)
        if batch is None:
            return
        if _ast_exits_on_success(try_node):
            return
        if loop.orelse and _ast_contains(loop.orelse, (ast.Raise,)):
            return
        if _ast_raises_after(loop, stack[index - 1] if index else None):
            return
        self.report(node, caught=ast_caught_text(node.type).rstrip(":"), batch=batch)

    def _batch_name(self, loop: ast.AST, parent: ast.AST | None) -> str | None:
        if isinstance(loop, ast.AsyncFor):
            return None
        if isinstance(loop, ast.For):
            it = loop.iter
            if isinstance(it, ast.Call):
                name = ast_dotted(it.func) or ""
                last = name.rsplit(".", 1)[-1]
                if last in self.opts["service_iterators"] or name in {"iter", "itertools.count", "itertools.cycle"}:
                    return None
            text = ast_code_for(it, loop, loop, *self._src())
            if text is None:
                self.defer()
                return None
            text = text.strip()
            return f"`{text}`" if len(text) <= 40 else "a batch"
        test = loop.test  # type: ignore[attr-defined]
        drained: str | None = None
        if isinstance(test, (ast.Name, ast.Attribute)):
            drained = ast_dotted(test)
        elif isinstance(test, ast.Compare) and isinstance(test.left, ast.Call):
            call = test.left
            if ast_dotted(call.func) == "len" and (call.args or call.keywords):
                first = min(
                    [(a.lineno, a.col_offset, a.value if isinstance(a, ast.Starred) else a) for a in call.args]
                    + [(k.lineno, k.col_offset, k.value) for k in call.keywords],
                    key=lambda item: item[:2],
                )
                drained = ast_dotted(first[2])
        if drained is None or not _ast_pops_from(loop.body, drained):  # type: ignore[attr-defined]
            return None
        return f"`{drained}`"


def _ast_contains(nodes: list, types: tuple[type, ...], stop_at_loops: bool = False) -> bool:
    todo = list(nodes)
    while todo:
        node = todo.pop()
        if isinstance(node, types):
            return True
        if isinstance(node, _AST_SCOPES):
            continue
        if stop_at_loops and isinstance(node, _AST_LOOPS):
            continue
        todo.extend(child_nodes(node))
    return False


def _ast_exits_on_success(try_node: ast.Try) -> bool:
    if _ast_contains(try_node.body, (ast.Return, ast.Break), stop_at_loops=True):
        return True
    return bool(try_node.orelse) and _ast_contains(try_node.orelse, (ast.Return, ast.Break), stop_at_loops=True)


def _ast_raises_after(loop: ast.AST, parent: ast.AST | None) -> bool:
    if parent is None:
        return False
    for _, value in ast.iter_fields(parent):
        if isinstance(value, list) and any(item is loop for item in value):
            after = False
            for stmt in value:
                if stmt is loop:
                    after = True
                    continue
                if after and _ast_contains([stmt], (ast.Raise,)):
                    return True
            return False
    return False


def _ast_pops_from(body: list[ast.stmt], name: str) -> bool:
    for stmt in body:
        for node in ast_walk(stmt):
            if isinstance(node, ast.Call):
                func = node.func
                if isinstance(func, ast.Attribute) and func.attr in {"pop", "popleft", "popitem", "get_nowait"}:
                    if ast_dotted(func.value) == name:
                        return True
    return False


class ErrorSwallowedInBatch(Rule):
    """A broad handler inside a loop over a batch logs and moves on, so failed items vanish from the result.

    ## What it does
    Finds a broad `except` (`except Exception`, `except BaseException`, a bare `except:`) inside a loop
    over a batch of items (`for x in items:`, or a `while` that drains a list with `.pop()`), whose body
    only logs and then continues or falls through, when nothing collects the failure (`errors.append`,
    a counter), nothing is raised after the loop, and the loop is not a retry loop (one whose `try`
    breaks or returns on success).

    Handlers whose body is *only* `pass` / `...` / `continue` are left to RMD401 (swallowed-exception),
    which already reports them; RMD402 reports the handlers that log, because a log line per item is
    not an error report: the caller still receives a shorter result and believes the batch succeeded.

    ## Why is this bad?
    khala's `GeminiClient.generate_embeddings` (seed 000, HIGH "Fix Gemini Batch Errors") swallowed
    each failing item inside the loop, so callers got fewer embeddings than texts with no error; the
    Orchestration Engine's decomposer (seed 001, 4.6) silently dropped invalid dependency indices.
    The caller cannot tell a partial result from a complete one, and items go missing without trace.

    Long-running service loops (`while True:`, `while not stop:`, `for msg in pubsub.listen():`) that
    log and keep the worker alive are not batches and are not reported; neither are narrow handlers
    for an expected exception (`except ValueError:`).

    ## Fix
    Collect the failures (`errors.append((item, exc))`) and, after the loop, raise an aggregate error
    (`ExceptionGroup`, a domain `BatchError`) or return the failures next to the results so the caller
    decides.
    """

    code = "RMD402"
    ast_checker = _Fast
    name = "error-swallowed-in-batch"
    message = "`{caught}` in the loop over {batch} only logs and moves on: collect the failures and raise or return them after the loop"
    severity = Severity.HIGH
    provenance = (
        Provenance("000_18f8732ba4a86cc0.txt", "HIGH, Reliability: Fix Gemini Batch Errors (generate_embeddings swallows exceptions in loop)", "khala"),
        Provenance("001_0845f576a88221b4.txt", "Phase 4, item 4.6 (silent drop of invalid dependency indices in the decomposer)", "orchestration_engine"),
    )
    fix_safety = None
    triggers = (b"except",)
    options = {
        "service_iterators": ("listen", "subscribe", "consume", "stream", "watch", "poll", "messages", "iter_messages", "count", "cycle"),
    }
    option_docs = {
        "service_iterators": "last names of calls whose iteration is a long-running consumer, not a batch (`for msg in pubsub.listen():`)",
    }
    cwe = (755,)

    VALID = [
        Valid(
            """
            import logging

            logger = logging.getLogger(__name__)

            class BatchEmbeddingError(Exception):
                def __init__(self, failures):
                    super().__init__(f"{len(failures)} embeddings failed")
                    self.failures = failures

            class GeminiClient:
                async def generate_embeddings(self, texts):
                    embeddings, failures = [], []
                    for index, text in enumerate(texts):
                        try:
                            embeddings.append(await self._embed(text))
                        except Exception as exc:
                            logger.warning("embedding %d failed: %s", index, exc)
                            failures.append((index, exc))
                    if failures:
                        raise BatchEmbeddingError(failures)
                    return embeddings
            """
        ),
        Valid(
            """
            import logging

            logger = logging.getLogger(__name__)

            def parse_dependencies(raw_deps, count):
                deps = []
                for dep_raw in raw_deps:
                    try:
                        deps.append(int(dep_raw))
                    except (ValueError, TypeError):
                        logger.warning("dependency %r is not a number", dep_raw)
                        continue
                return deps
            """
        ),
        Valid(
            """
            import logging

            logger = logging.getLogger(__name__)

            def consume(queue, stop):
                while not stop.is_set():
                    job = queue.get()
                    try:
                        job.run()
                    except Exception:
                        logger.exception("job failed; worker keeps running")
            """
        ),
        Valid(
            """
            import logging

            log = logging.getLogger(__name__)

            def fetch(client, url):
                for attempt in range(3):
                    try:
                        return client.get(url)
                    except Exception as exc:
                        log.warning("attempt %d failed: %s", attempt, exc)
                raise RuntimeError(f"giving up on {url}")
            """
        ),
        Valid(
            """
            import logging

            logger = logging.getLogger(__name__)

            def import_rows(rows):
                for row in rows:
                    try:
                        save(row)
                    except Exception:
                        logger.exception("row %s failed", row["id"])
                        raise
            """
        ),
        Valid(
            """
            def sync_all(items, log):
                for item in items:
                    try:
                        item.sync()
                    except Exception:
                        continue
            """
        ),
        Valid(
            """
            import logging

            logger = logging.getLogger(__name__)

            async def listen(pubsub):
                for message in pubsub.listen():
                    try:
                        handle(message)
                    except Exception:
                        logger.exception("bad message")
            """
        ),
        Valid(
            """
            import logging

            logger = logging.getLogger(__name__)

            def load_all(paths):
                failed = 0
                for path in paths:
                    try:
                        load(path)
                    except Exception:
                        logger.exception("could not load %s", path)
                        failed += 1
                return failed
            """
        ),
    ]

    INVALID = [
        Invalid(
            """
            import logging

            logger = logging.getLogger(__name__)

            class GeminiClient:
                async def generate_embeddings(self, texts):
                    embeddings = []
                    for text in texts:
                        try:
                            embeddings.append(await self._embed(text))
                        except Exception as e:
                            logger.error(f"Failed to generate embedding: {e}")
                            continue
                    return embeddings
            """,
            line=11,
        ),
        Invalid(
            """
            import logging

            def decompose(tasks, log=logging.getLogger("decomposer")):
                edges = []
                for i, task in enumerate(tasks):
                    for dep_raw in task.get("depends_on", []):
                        try:
                            edges.append((i, int(dep_raw)))
                        except Exception:
                            log.debug("skipping dependency %r", dep_raw)
                return edges
            """,
            line=9,
        ),
        Invalid(
            """
            def drain(self):
                while self.pending:
                    item = self.pending.pop()
                    try:
                        self.publish(item)
                    except:
                        print("publish failed", item)
            """,
            line=6,
        ),
        Invalid(
            """
            import logging

            class Indexer:
                logger = logging.getLogger("indexer")

                def index_documents(self, documents):
                    for doc in documents:
                        try:
                            self.store.put(doc.id, self.embed(doc.text))
                        except (KeyError, Exception) as exc:
                            self.logger.warning("document %s skipped: %s", doc.id, exc)
            """,
            line=10,
        ),
        Invalid(
            """
            import logging

            logger = logging.getLogger(__name__)

            def notify_all(users, mailer):
                for user in users.values():
                    try:
                        mailer.send(user.email)
                    except BaseException:
                        logger.exception("mail to %s failed", user.email)
                        pass
                return True
            """,
            line=9,
        ),
    ]

    def visit_ExceptHandler(self, node: cst.ExceptHandler) -> None:
        if not is_broad(node.type):
            return
        only_logs, logs = only_logs_and_moves_on(node.body)
        if not only_logs or not logs:
            return  # silent bodies belong to RMD401; anything else collects, falls back or re-raises
        try_node = self.context.parent()
        if not isinstance(try_node, cst.Try):
            return
        loop = self.context.inside(cst.For, cst.While)
        if loop is None:
            return
        batch = self._batch_name(loop)
        if batch is None:
            return
        if _exits_on_success(try_node):
            return  # retry / first-success loop
        if loop.orelse is not None and _contains(loop.orelse, (cst.Raise,)):
            return
        if self._raises_after(loop):
            return
        self.report(node, caught=caught_text(node.type).rstrip(":"), batch=batch)

    # -- the loop ------------------------------------------------------------------------------------
    def _batch_name(self, loop: cst.For | cst.While) -> str | None:
        if isinstance(loop, cst.For):
            if loop.asynchronous is not None:
                return None
            it = loop.iter
            if isinstance(it, cst.Call):
                name = dotted_name(it.func) or ""
                last = name.rsplit(".", 1)[-1]
                if last in self.opts["service_iterators"] or name in {"iter", "itertools.count", "itertools.cycle"}:
                    return None
            text = self.context.module.code_for_node(it).strip()
            return f"`{text}`" if len(text) <= 40 else "a batch"
        test = loop.test
        drained: str | None = None
        if isinstance(test, (cst.Name, cst.Attribute)):
            drained = dotted_name(test)
        elif isinstance(test, cst.Comparison) and isinstance(test.left, cst.Call):
            call = test.left
            if dotted_name(call.func) == "len" and call.args:
                drained = dotted_name(call.args[0].value)
        if drained is None or not _pops_from(loop.body, drained):
            return None
        return f"`{drained}`"

    def _raises_after(self, loop: cst.CSTNode) -> bool:
        """A `raise` in the statements that follow the loop in its block."""
        stack = self.context.stack
        try:
            index = max(i for i, n in enumerate(stack) if n is loop)
        except ValueError:
            return False
        if index == 0:
            return False
        block = stack[index - 1]
        body = getattr(block, "body", None)
        if not isinstance(body, (list, tuple)):
            return False
        after = False
        for stmt in body:
            if stmt is loop:
                after = True
                continue
            if after and _contains(stmt, (cst.Raise,)):
                return True
        return False


class _Finder(cst.CSTVisitor):
    def __init__(self, types: tuple[type, ...], stop_at_loops: bool = False) -> None:
        self.types = types
        self.stop_at_loops = stop_at_loops
        self.found = False

    def on_visit(self, node: cst.CSTNode) -> bool:
        if self.found:
            return False
        if isinstance(node, self.types):
            self.found = True
            return False
        if isinstance(node, (cst.FunctionDef, cst.Lambda, cst.ClassDef)):
            return False
        if self.stop_at_loops and isinstance(node, (cst.For, cst.While)):
            return False
        return True


def _contains(node: cst.CSTNode, types: tuple[type, ...], stop_at_loops: bool = False) -> bool:
    finder = _Finder(types, stop_at_loops)
    node.visit(finder)
    return finder.found


def _exits_on_success(try_node: cst.Try) -> bool:
    if _contains(try_node.body, (cst.Return, cst.Break), stop_at_loops=True):
        return True
    return try_node.orelse is not None and _contains(try_node.orelse, (cst.Return, cst.Break), stop_at_loops=True)


class _PopFinder(cst.CSTVisitor):
    def __init__(self, name: str) -> None:
        self.name = name
        self.found = False

    def visit_Call(self, node: cst.Call) -> None:
        func = node.func
        if isinstance(func, cst.Attribute) and func.attr.value in {"pop", "popleft", "popitem", "get_nowait"}:
            if dotted_name(func.value) == self.name:
                self.found = True


def _pops_from(body: cst.BaseSuite, name: str) -> bool:
    finder = _PopFinder(name)
    body.visit(finder)
    return finder.found
