from __future__ import annotations

import ast
from remediation_lint.analysis.ast_walk import child_nodes

import libcst as cst

from remediation_lint.analysis.handlers import ast_inside_handler, ast_is_logging_call, is_logging_call
from remediation_lint.analysis.names import ast_dotted, dotted_name
from remediation_lint.astcheck import AstChecker
from remediation_lint.rule import Invalid, Provenance, Rule, Severity, Valid

_AST_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)
_HARMLESS = frozenset({"str", "repr", "time.time", "time.monotonic", "datetime.now", "datetime.utcnow", "type", "len", "getattr"})


class _Fast(AstChecker):
    """The ``ast`` twin of the rule below (check mode)."""

    def visit_Assign(self, node: ast.Assign) -> None:
        if not _ast_is_true(node.value):
            return
        for target in node.targets:
            self._check(node, target, node.value)

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        if node.value is not None and _ast_is_true(node.value):
            self._check(node, node.target, node.value)

    def _check(self, stmt: ast.stmt, target: ast.expr, value: ast.expr) -> None:
        names: list[str] = []
        if isinstance(target, ast.Tuple) and isinstance(value, ast.Tuple):
            for t, v in zip(target.elts, value.elts):
                if _ast_is_true(_unstar(v)):
                    name = ast_dotted(_unstar(t))
                    if name:
                        names.append(name)
        else:
            name = ast_dotted(target)
            if name:
                names.append(name)
        flags = set(self.opts["flag_names"])
        hits = [n for n in names if n.rsplit(".", 1)[-1] in flags]
        if not hits:
            return
        handler = ast_inside_handler(self.context.stack)
        if handler is None:
            return
        if _ast_fallback_before(handler.body, stmt):
            return
        self.report(stmt, target=hits[0])


def _unstar(expr: ast.expr) -> ast.expr:
    return expr.value if isinstance(expr, ast.Starred) else expr


def _ast_is_true(expr: ast.expr) -> bool:
    if isinstance(expr, ast.Tuple):
        return any(_ast_is_true(_unstar(el)) for el in expr.elts)
    return isinstance(expr, ast.Constant) and expr.value is True


def _ast_fallback_before(body: list[ast.stmt], stop: ast.stmt) -> bool:
    """``_CallFinder``: a non-logging call in the handler (pre-order, source order) before ``stop``."""
    todo: list[ast.AST] = list(reversed(body))
    while todo:
        node = todo.pop()
        if node is stop:
            return False
        if isinstance(node, _AST_SCOPES):
            continue
        if isinstance(node, ast.Expr) and ast_is_logging_call(node.value):
            continue
        if isinstance(node, ast.Call):
            name = ast_dotted(node.func) or ""
            if name not in _HARMLESS and not name.endswith((".time", ".monotonic", ".now", ".utcnow")):
                return True
        todo.extend(reversed(list(child_nodes(node))))
    return False


class SuccessFlagInExcept(Rule):
    """A readiness flag set to `True` in an `except` handler marks a failed load as done forever.

    ## What it does
    Finds `self._loaded = True` (or `_initialized`, `_ready`, `_started`, `_done`, `loaded`, ...; the
    names are configurable) assigned inside an `except` handler. A handler that first runs a fallback
    (any call other than logging) before setting the flag is left alone: the fallback may have
    succeeded.

    ## Why is this bad?
    The Orchestration Engine's `_RAGIndex.load()` (seed 001, 3.3) set `self._loaded = True` in its
    except branch "so it does not retry": one transient failure (file locked, OOM) disabled the RAG
    index for the life of the process, and every later query silently returned nothing.

    ## Fix
    Record the failure instead (`self._state = "failed"`, `self._failed_at = time.time()`,
    `self._error = exc`) and let `load()` retry after a cooldown; keep the success flag for success.
    """

    code = "RMD403"
    ast_checker = _Fast
    name = "success-flag-in-except"
    message = "`{target} = True` in an `except` handler marks a failed load as done: record a failed state and retry later"
    severity = Severity.HIGH
    provenance = (
        Provenance("001_0845f576a88221b4.txt", "Phase 3, item 3.3 (_RAGIndex.load() sets _loaded = True in the except branch)", "orchestration_engine"),
    )
    fix_safety = None
    triggers = (b"except",)
    options = {
        "flag_names": ("_loaded", "_initialized", "_initialised", "_ready", "_started", "_done", "loaded", "initialized", "is_loaded", "_is_loaded", "_is_ready", "_warmed_up"),
    }
    option_docs = {"flag_names": "attribute / variable names that mean \"the resource is ready\""}
    cwe = (755,)

    limitations = (
        "The Semgrep twin `rmd403-success-flag-in-except` recognises a fallback only as an assignment "
        "from a call (`x = build()`) before the flag, in a handler written without `as name`."
    )

    VALID = [
        Valid(
            """
            import logging
            import time

            logger = logging.getLogger(__name__)

            class _RAGIndex:
                def __init__(self, path):
                    self._path = path
                    self._state = "unloaded"
                    self._failed_at = 0.0

                def load(self):
                    if self._state == "loaded":
                        return
                    if self._state == "failed" and time.time() - self._failed_at < 60:
                        return
                    try:
                        self._index = open_index(self._path)
                        self._state = "loaded"
                    except Exception as exc:
                        logger.warning("RAG index failed to load: %s", exc)
                        self._state = "failed"
                        self._failed_at = time.time()
            """
        ),
        Valid(
            """
            class Loader:
                def load(self):
                    try:
                        self.data = read()
                        self._loaded = True
                    except OSError:
                        self._failed = True
                        self._loaded = False
            """
        ),
        Valid(
            """
            import logging

            logger = logging.getLogger(__name__)

            class Index:
                def load(self):
                    try:
                        self._index = load_primary()
                    except FileNotFoundError:
                        logger.info("primary index missing, building an empty one")
                        self._index = build_empty_index()
                        self._loaded = True
            """
        ),
        Valid(
            """
            def warm(cache):
                try:
                    cache.fill()
                except Exception:
                    cache.error = True
                    raise
                finally:
                    cache.attempts += 1
            """
        ),
        Valid(
            """
            class Worker:
                def start(self):
                    try:
                        self.thread.start()
                    except RuntimeError:
                        def retry():
                            self._started = True
                        self.later(retry)
            """
        ),
    ]

    INVALID = [
        Invalid(
            """
            import logging

            logger = logging.getLogger(__name__)

            class _RAGIndex:
                def load(self):
                    if self._loaded:
                        return
                    try:
                        self._conn = open_index(self.path)
                        self._loaded = True
                    except Exception as e:
                        logger.warning("RAG index unavailable: %s", e)
                        self._loaded = True  # don't retry
            """,
            line=14,
        ),
        Invalid(
            """
            _ready = False

            def init_model():
                global _ready
                try:
                    load_weights()
                except OSError:
                    print("weights missing")
                    _ready = True
            """,
            line=9,
        ),
        Invalid(
            """
            class Service:
                async def start(self):
                    try:
                        await self.client.connect()
                    except Exception as exc:
                        self._error = str(exc)
                        self._started = True
            """,
            line=7,
        ),
        Invalid(
            """
            class Cache:
                def ensure(self):
                    try:
                        self.fill()
                    except:
                        self.state.initialized = True
                        return
            """,
            line=6,
        ),
        Invalid(
            """
            class Models:
                def warm(self):
                    for name in self.names:
                        try:
                            self.pull(name)
                        except (TimeoutError, ConnectionError):
                            self._done, self.count = True, 0
            """,
            line=7,
        ),
    ]

    def visit_Assign(self, node: cst.Assign) -> None:
        if not _is_true(node.value):
            return
        for target in node.targets:
            self._check(node, target.target, node.value)

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        if node.value is not None and _is_true(node.value):
            self._check(node, node.target, node.value)

    def _check(self, stmt: cst.CSTNode, target: cst.BaseExpression, value: cst.BaseExpression) -> None:
        names: list[str] = []
        if isinstance(target, cst.Tuple) and isinstance(value, cst.Tuple):
            for t, v in zip(target.elements, value.elements):
                if _is_true(v.value):
                    name = dotted_name(t.value)
                    if name:
                        names.append(name)
        else:
            name = dotted_name(target)
            if name:
                names.append(name)
        flags = set(self.opts["flag_names"])
        hits = [n for n in names if n.rsplit(".", 1)[-1] in flags]
        if not hits:
            return
        handler = self.context.inside(cst.ExceptHandler)
        if handler is None:
            return
        if self._fallback_before(handler, stmt):
            return
        self.report(stmt, target=hits[0])

    def _fallback_before(self, handler: cst.ExceptHandler, stmt: cst.CSTNode) -> bool:
        """A non-logging call in the handler before the flag: a fallback that may have worked."""
        finder = _CallFinder(stmt)
        handler.body.visit(finder)
        return finder.fallback


def _is_true(expr: cst.BaseExpression) -> bool:
    if isinstance(expr, cst.Tuple):
        return any(_is_true(el.value) for el in expr.elements)
    return isinstance(expr, cst.Name) and expr.value == "True"


class _CallFinder(cst.CSTVisitor):
    _HARMLESS = frozenset({"str", "repr", "time.time", "time.monotonic", "datetime.now", "datetime.utcnow", "type", "len", "getattr"})

    def __init__(self, stop: cst.CSTNode) -> None:
        self.stop = stop
        self.done = False
        self.fallback = False

    def on_visit(self, node: cst.CSTNode) -> bool:
        if self.done or node is self.stop:
            self.done = True
            return False
        if isinstance(node, (cst.FunctionDef, cst.Lambda, cst.ClassDef)):
            return False
        if isinstance(node, cst.Expr) and is_logging_call(node.value):
            return False
        if isinstance(node, cst.Call):
            name = dotted_name(node.func) or ""
            if name not in self._HARMLESS and not name.endswith((".time", ".monotonic", ".now", ".utcnow")):
                self.fallback = True
        return True
