from __future__ import annotations

import ast

import libcst as cst

from remediation_lint.analysis.handlers import (
    ast_handler_names,
    ast_inside_handler,
    ast_node_code,
    handler_names,
    line_starts,
    utf8_source,
)
from remediation_lint.analysis.names import ast_dotted, dotted_name
from remediation_lint.astcheck import AstChecker
from remediation_lint.analysis.names import ast_arg_values as _ast_args
from remediation_lint.rule import Invalid, Provenance, Rule, Severity, Valid

_TEXT_METHODS = frozenset({"lower", "upper", "casefold", "strip", "lstrip", "rstrip"})
_MATCH_METHODS = frozenset({"startswith", "endswith", "find", "index", "count"})
_RE_FUNCTIONS = frozenset({"re.search", "re.match", "re.fullmatch", "re.findall"})


class _Fast(AstChecker):
    """The ``ast`` twin of the rule below (check mode)."""

    def __init__(self, rule, context, options) -> None:
        super().__init__(rule, context, options)
        self._aliases: dict[str, ast.ExceptHandler] = {}
        self._skip = context.is_test_file()
        self._source: tuple[bytes, list[int]] | None = None
        #: ExceptHandler nodes open around the current node (0: nothing here can be reported)
        self._depth = 0

    def visit_ExceptHandler(self, node: ast.ExceptHandler) -> None:
        self._depth += 1

    def visit_Assign(self, node: ast.Assign) -> None:
        if self._skip or len(node.targets) != 1 or not isinstance(node.targets[0], ast.Name):
            return
        target = node.targets[0].id
        if not self._depth:
            self._aliases.pop(target, None)
            return
        stack = self.context.stack
        handler = ast_inside_handler(stack)
        if handler is not None and self._is_text(node.value, ast_handler_names(stack), aliases=False):
            self._aliases[target] = handler
        else:
            self._aliases.pop(target, None)

    def leave_ExceptHandler(self, node: ast.ExceptHandler) -> None:
        self._depth -= 1
        for name in [n for n, h in self._aliases.items() if h is node]:
            del self._aliases[name]

    def visit_Compare(self, node: ast.Compare) -> None:
        if not self._depth or self._skip or self._in_assert():
            return
        names = self._names()
        if not names:
            return
        left = node.left
        for op, right in zip(node.ops, node.comparators):
            if isinstance(op, (ast.In, ast.NotIn)):
                if self._is_text(right, names):
                    self._report(node)
                    return
            elif isinstance(op, (ast.Eq, ast.NotEq)):
                if (self._is_text(left, names) and _ast_is_str(right)) or (self._is_text(right, names) and _ast_is_str(left)):
                    self._report(node)
                    return
            left = right

    def visit_Call(self, node: ast.Call) -> None:
        if not self._depth or self._skip or self._in_assert():
            return
        func = node.func
        if isinstance(func, ast.Attribute) and func.attr in _MATCH_METHODS:
            names = self._names()
            if names and self._is_text(func.value, names):
                self._report(node)
            return
        name = self.context.qualified(func)
        if name in _RE_FUNCTIONS and len(node.args) + len(node.keywords) >= 2:
            names = self._names()
            if names and self._is_text(_ast_args(node)[1], names):
                self._report(node)

    def _names(self) -> set[str]:
        stack = self.context.stack
        if ast_inside_handler(stack) is None:
            return set()
        return ast_handler_names(stack)

    def _in_assert(self) -> bool:
        return self.context.inside(ast.Assert) is not None

    def _report(self, node: ast.expr) -> None:
        if self._source is None:
            source = utf8_source(self.context.source)
            self._source = (source, line_starts(source))
        text = ast_node_code(node, self.context.stack, *self._source)
        if text is None:
            self.defer()
            return
        text = text.strip().replace("\n", " ")
        if len(text) > 60:
            text = text[:57] + "..."
        self.report(node, test=text)

    def _is_text(self, expr: ast.expr, names: set[str], aliases: bool = True) -> bool:
        while isinstance(expr, ast.Call) and isinstance(expr.func, ast.Attribute) and expr.func.attr in _TEXT_METHODS:
            expr = expr.func.value
        if isinstance(expr, ast.Name):
            return aliases and expr.id in self._aliases
        if isinstance(expr, ast.Call):
            callee = ast_dotted(expr.func)
            if callee in {"str", "repr"} and len(expr.args) + len(expr.keywords) == 1:
                return ast_dotted(_ast_args(expr)[0]) in names
            return False
        if isinstance(expr, ast.Attribute):
            return expr.attr in {"message", "msg"} and ast_dotted(expr.value) in names
        if isinstance(expr, ast.Subscript):
            value = expr.value
            return isinstance(value, ast.Attribute) and value.attr == "args" and ast_dotted(value.value) in names
        return False


def _ast_is_str(expr: ast.expr) -> bool:
    return (isinstance(expr, ast.Constant) and isinstance(expr.value, (str, bytes))) or isinstance(expr, ast.JoinedStr)


class DispatchOnExceptionText(Rule):
    """Choosing behaviour from an exception's message text breaks as soon as a message is reworded.

    ## What it does
    Inside an `except ... as e:` handler, finds tests on the exception's text: `"not found" in str(e)`,
    `str(e).startswith(...)`, `str(e).lower() == "..."`, `e.args[0] == "..."`, `e.message == ...`,
    `re.search(..., str(e))`, also through a local name (`msg = str(e)` ... `if "forbidden" in msg:`).
    Assertions and test files are not reported (tests check messages on purpose).

    ## Why is this bad?
    In the Orchestration Engine (seed 001, 4.7) every service raised `ValueError`, and the routes
    pattern-matched on the message to pick 404, 403 or 409. Rewording a message, translating it, or
    a different error containing "not found" silently changes the HTTP status, and the mapping is
    duplicated in every route.

    ## Fix
    Raise typed exceptions (`NotFoundError`, `ForbiddenError`, `ConflictError`, subclasses of an
    `AppError` carrying `status_code`) and catch them by type, or register one exception handler
    that maps the type to the response.
    """

    code = "RMD404"
    ast_checker = _Fast
    name = "dispatch-on-exception-text"
    message = "`{test}` chooses behaviour from the exception's text: raise and catch typed exceptions instead"
    severity = Severity.MEDIUM
    provenance = (
        Provenance("001_0845f576a88221b4.txt", "Phase 4, item 4.7 (routes pattern-match on ValueError messages to choose 404/403/409)", "orchestration_engine"),
    )
    fix_safety = None
    triggers = (b"except",)

    VALID = [
        Valid(
            """
            from fastapi import HTTPException

            from backend.errors import ConflictError, ForbiddenError, NotFoundError

            async def delete_project(project_id, user, service):
                try:
                    await service.delete(project_id, user)
                except NotFoundError as e:
                    raise HTTPException(status_code=404, detail=str(e))
                except ForbiddenError as e:
                    raise HTTPException(status_code=403, detail=str(e))
                except ConflictError as e:
                    raise HTTPException(status_code=409, detail=str(e))
            """
        ),
        Valid(
            """
            import logging

            logger = logging.getLogger(__name__)

            def run(job):
                try:
                    job()
                except Exception as e:
                    logger.error("job failed: %s", str(e))
                    return {"error": str(e)}
            """
        ),
        Valid(
            """
            def parse(raw):
                try:
                    return int(raw)
                except ValueError as e:
                    if isinstance(e.__cause__, OverflowError):
                        return None
                    raise
            """
        ),
        Valid(
            """
            def test_rejects_bad_plan(service):
                try:
                    service.approve("missing")
                except ValueError as e:
                    assert "not found" in str(e)
            """
        ),
        Valid(
            """
            def lookup(table, key, name):
                if "not found" in name:
                    return None
                try:
                    return table[key]
                except KeyError as e:
                    return {"missing": e.args[0]}
            """
        ),
        Valid(
            """
            def test_not_found(client):
                try:
                    client.get_project("nope")
                except ValueError as e:
                    if "not found" in str(e):
                        return
            """,
            filename="tests/test_projects.py",
        ),
    ]

    INVALID = [
        Invalid(
            """
            from fastapi import HTTPException

            async def delete_project(project_id, user, service):
                try:
                    await service.delete(project_id, user)
                except ValueError as e:
                    if "not found" in str(e).lower():
                        raise HTTPException(status_code=404, detail=str(e))
                    raise HTTPException(status_code=409, detail=str(e))
            """,
            line=7,
        ),
        Invalid(
            """
            from fastapi import HTTPException

            def approve(plan_id, service):
                try:
                    return service.approve(plan_id)
                except ValueError as exc:
                    msg = str(exc)
                    if "not found" in msg:
                        raise HTTPException(404, msg)
                    elif msg.startswith("Not authorized"):
                        raise HTTPException(403, msg)
                    raise HTTPException(400, msg)
            """,
            line=8,
            count=2,
        ),
        Invalid(
            """
            class Client:
                def fetch(self, key):
                    try:
                        return self.store.get(key)
                    except KeyError as err:
                        if err.args[0] == "expired":
                            return self.refresh(key)
                        raise
            """,
            line=6,
        ),
        Invalid(
            """
            import re

            async def call(api):
                try:
                    return await api.post()
                except RuntimeError as e:
                    return None if re.search(r"rate limit", str(e)) else await api.retry()
            """,
            line=7,
        ),
        Invalid(
            """
            def save(repo, item):
                try:
                    repo.insert(item)
                except Exception as e:
                    if e.message == "duplicate key":
                        repo.update(item)
                    elif repr(e).endswith("locked')"):
                        raise
            """,
            line=5,
            count=2,
        ),
    ]

    def __init__(self, context, options) -> None:
        super().__init__(context, options)
        self._aliases: dict[str, cst.ExceptHandler] = {}
        self._skip = context.is_test_file()

    # -- aliases: msg = str(e) -----------------------------------------------------------------------
    def visit_Assign(self, node: cst.Assign) -> None:
        if self._skip or len(node.targets) != 1 or not isinstance(node.targets[0].target, cst.Name):
            return
        target = node.targets[0].target.value
        handler = self.context.inside(cst.ExceptHandler)
        if handler is not None and self._is_text(node.value, handler_names(self.context.ancestors()), aliases=False):
            self._aliases[target] = handler  # type: ignore[assignment]
        else:
            self._aliases.pop(target, None)

    def leave_ExceptHandler(self, original_node: cst.ExceptHandler) -> None:
        for name in [n for n, h in self._aliases.items() if h is original_node]:
            del self._aliases[name]

    # -- tests -----------------------------------------------------------------------------------------
    def visit_Comparison(self, node: cst.Comparison) -> None:
        if self._skip or self._in_assert():
            return
        names = self._names()
        if not names:
            return
        left = node.left
        for target in node.comparisons:
            op = target.operator
            right = target.comparator
            if isinstance(op, (cst.In, cst.NotIn)):
                if self._is_text(right, names):
                    self._report(node)
                    return
            elif isinstance(op, (cst.Equal, cst.NotEqual)):
                if (self._is_text(left, names) and _is_str(right)) or (self._is_text(right, names) and _is_str(left)):
                    self._report(node)
                    return
            left = right

    def visit_Call(self, node: cst.Call) -> None:
        if self._skip or self._in_assert():
            return
        func = node.func
        if isinstance(func, cst.Attribute) and func.attr.value in _MATCH_METHODS:
            names = self._names()
            if names and self._is_text(func.value, names):
                self._report(node)
            return
        name = self.context.qualified(func)
        if name in _RE_FUNCTIONS and len(node.args) >= 2:
            names = self._names()
            if names and self._is_text(node.args[1].value, names):
                self._report(node)

    # -- helpers ---------------------------------------------------------------------------------------
    def _names(self) -> set[str]:
        if self.context.inside(cst.ExceptHandler) is None:
            return set()
        return handler_names(self.context.ancestors())

    def _in_assert(self) -> bool:
        return self.context.inside(cst.Assert) is not None

    def _report(self, node: cst.CSTNode) -> None:
        text = self.context.module.code_for_node(node).strip().replace("\n", " ")
        if len(text) > 60:
            text = text[:57] + "..."
        self.report(node, test=text)

    def _is_text(self, expr: cst.BaseExpression, names: set[str], aliases: bool = True) -> bool:
        """``str(e)``, ``repr(e)``, ``e.args[0]``, ``e.message``, ``str(e).lower()``, or an alias of one."""
        while isinstance(expr, cst.Call) and isinstance(expr.func, cst.Attribute) and expr.func.attr.value in _TEXT_METHODS:
            expr = expr.func.value
        if isinstance(expr, cst.Name):
            return aliases and expr.value in self._aliases
        if isinstance(expr, cst.Call):
            callee = dotted_name(expr.func)
            if callee in {"str", "repr"} and len(expr.args) == 1:
                return dotted_name(expr.args[0].value) in names
            return False
        if isinstance(expr, cst.Attribute):
            return expr.attr.value in {"message", "msg"} and dotted_name(expr.value) in names
        if isinstance(expr, cst.Subscript):
            value = expr.value
            return isinstance(value, cst.Attribute) and value.attr.value == "args" and dotted_name(value.value) in names
        return False


def _is_str(expr: cst.BaseExpression) -> bool:
    return isinstance(expr, (cst.SimpleString, cst.ConcatenatedString, cst.FormattedString))
