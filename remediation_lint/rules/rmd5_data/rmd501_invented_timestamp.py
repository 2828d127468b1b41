from __future__ import annotations

import ast

import libcst as cst

from remediation_lint.analysis.handlers import line_starts, utf8_source
from remediation_lint.astcheck import AstChecker
from remediation_lint.knowledge.data import CLOCK_CALLS, CLOCK_FORMATTERS
from remediation_lint.analysis.names import ast_dotted_as_cst as _cdotted, ast_arg_values as _ast_args
from remediation_lint.rule import FixSafety, Invalid, Provenance, Rule, Severity, Valid


class _Fast(AstChecker):
    """The ``ast`` twin of the rule below (check mode)."""

    def _is_clock(self, node: ast.AST | None) -> bool:
        if isinstance(node, ast.Await):
            node = node.value
        if not isinstance(node, ast.Call):
            return False
        func = node.func
        if isinstance(func, ast.Attribute) and func.attr in CLOCK_FORMATTERS and isinstance(func.value, ast.Call):
            return self._is_clock(func.value)
        name = self.context.qualified(func)
        extra = set(self.opts.get("clock_functions") or ())
        if name is not None and (name in CLOCK_CALLS or name in extra):
            return True
        local = _cdotted(func)
        return local is not None and local in extra

    def _what(self, node: ast.AST) -> str:
        inner = node.value if isinstance(node, ast.Await) else node
        while isinstance(inner, ast.Call) and isinstance(inner.func, ast.Attribute) and isinstance(inner.func.value, ast.Call):
            inner = inner.func.value
        text = _cdotted(inner.func) if isinstance(inner, ast.Call) else None
        return f"{text or 'now'}()"

    def visit_BoolOp(self, node: ast.BoolOp) -> None:
        # LibCST nests `a or b or c` as `(a or b) or c`: only the first pair can have a value read as left
        if isinstance(node.op, ast.Or) and self._is_clock(node.values[1]) and _ast_from_data(node.values[0]):
            self.report(node.values[1], what=f"`... or {self._what(node.values[1])}`")

    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        count = len(node.args) + len(node.keywords)
        if isinstance(func, ast.Attribute) and func.attr in {"get", "pop", "setdefault"} and count == 2:
            default, what = _ast_args(node)[1], f".{func.attr}()"
        elif isinstance(func, ast.Name) and func.id == "getattr" and count == 3:
            default, what = _ast_args(node)[2], "getattr()"
        else:
            return
        if self._is_clock(default):
            self.report(default, what=f"default {self._what(default)} of `{what}`")

    def visit_arguments(self, node: ast.arguments) -> None:
        for default in (*node.defaults, *node.kw_defaults):
            if default is not None and self._is_clock(default):
                self.report(default, what=f"parameter default {self._what(default)}")

    def visit_IfExp(self, node: ast.IfExp) -> None:
        missing = _ast_missing_test(node.test)
        if missing is None:
            return
        clock, other = (node.body, node.orelse) if missing else (node.orelse, node.body)
        if not self._is_clock(clock):
            return
        tested = _ast_tested_expr(node.test)
        if _ast_from_data(tested) or _ast_parses(other, tested):
            self.report(clock, what=f"fallback {self._what(clock)}")

    def visit_If(self, node: ast.If) -> None:
        if _ast_missing_test(node.test) is not True:
            return
        func = self.context.enclosing_function()
        if not isinstance(func, (ast.FunctionDef, ast.AsyncFunctionDef)):
            return
        tested = _ast_tested_name(node.test)
        if tested is None or tested.split(".")[0] not in _ast_param_names(func):
            return
        if len(node.body) != 1 or not isinstance(node.body[0], ast.Return):
            return
        ret = node.body[0]
        if not self._is_clock(ret.value):
            return
        if not self._indented(node):
            return  # `if not v: return now()` on one line: LibCST's rule looks at indented blocks only
        self.report(ret.value, what=f"`if not {tested}: return {self._what(ret.value)}`", fix=FixSafety.UNSAFE)  # type: ignore[arg-type]

    def _indented(self, node: ast.If) -> bool:
        """The body is an indented block (a newline after the header's colon), not a one-line suite."""
        source = utf8_source(self.context.source)
        starts = line_starts(source)
        test, body = node.test, node.body[0]
        k = starts[test.end_lineno - 1] + test.end_col_offset  # type: ignore[operator]
        end = starts[body.lineno - 1] + body.col_offset
        seen_colon = False
        while k < end:
            c = source[k]
            if c == 0x23:  # a comment
                while k < end and source[k] not in b"\r\n":
                    k += 1
                continue
            if c == 0x3A:
                seen_colon = True
            elif seen_colon and c in b"\r\n":
                return True
            k += 1
        return False


def _is_name_like(expr: ast.AST) -> bool:
    return isinstance(expr, (ast.Name, ast.Attribute, ast.Subscript, ast.Call)) or (
        isinstance(expr, ast.Constant) and (expr.value is None or expr.value is True or expr.value is False)
    )


def _ast_from_data(expr: ast.AST | None) -> bool:
    if isinstance(expr, ast.Subscript):
        return True
    return isinstance(expr, ast.Call) and isinstance(expr.func, ast.Attribute) and expr.func.attr == "get"


def _ast_tested_expr(test: ast.expr) -> ast.expr:
    if isinstance(test, ast.UnaryOp):
        return test.operand
    if isinstance(test, ast.Compare):
        return test.left
    return test


def _ast_parses(other: ast.expr, tested: ast.expr) -> bool:
    name = _cdotted(tested)
    if not isinstance(other, ast.Call) or name is None:
        return False
    return any(_cdotted(a) == name for a in _ast_args(other))


def _ast_missing_test(test: ast.expr) -> bool | None:
    if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
        return True if _ast_tested_name(test) else None
    if isinstance(test, ast.Compare) and len(test.ops) == 1:
        comparator = test.comparators[0]
        if isinstance(comparator, ast.Constant) and comparator.value is None:
            if isinstance(test.ops[0], ast.Is):
                return True
            if isinstance(test.ops[0], ast.IsNot):
                return False
        return None
    if _is_name_like(test):
        return False if _ast_tested_name(test) else None
    return None


def _ast_tested_name(test: ast.expr) -> str | None:
    if isinstance(test, ast.UnaryOp):
        test = test.operand
    if isinstance(test, ast.Compare):
        test = test.left
    if isinstance(test, ast.Call) and isinstance(test.func, ast.Attribute) and test.func.attr == "get":
        test = test.func.value
    if isinstance(test, ast.Subscript):
        test = test.value
    return _cdotted(test)


def _ast_param_names(func: ast.FunctionDef | ast.AsyncFunctionDef) -> set[str]:
    args = func.args
    names = {a.arg for a in (*args.posonlyargs, *args.args, *args.kwonlyargs)}
    for star in (args.vararg, args.kwarg):
        if star is not None:
            names.add(star.arg)
    return names - {"self", "cls"}


class InventedTimestamp(Rule):
    """A clock read used as the fallback for a missing input time invents history.

    ## What it does
    Finds a read of the current time (`datetime.now()`, `datetime.utcnow()`, `time.time()`, also
    reformatted as `.isoformat()`) used where an input time is missing:

    - `row.get("accessed_at") or datetime.now()` (a value read from a record; `when or now()` on an
      optional parameter is an API default and is left alone);
    - `data.get("created_at", datetime.now())`;
    - `if not value: return datetime.now(...)` (or `if value is None:`) in a parser/converter,
      and the conditional-expression form `datetime.now() if value is None else parse(value)`
      (`start if start is not None else time_ns()` keeps the caller's value unparsed and is left alone);
    - a parameter default of `datetime.now()` (evaluated once, at import time).

    Stamping a new record (`created_at = datetime.now()`, `default_factory=datetime.now`) is left
    alone.

    ## Why is this bad?
    A record read back without its timestamp silently gets "now": old memories look fresh, decay and
    ordering go wrong, and the corruption is invisible. khala's SurrealDB client (critical 3) had
    `parse_dt` default to `now()` on missing input; the plan's fix is to raise `ValueError` and "not
    falsify history".

    ## Fix
    Raise when the time is missing (or keep `None` and let the caller decide); stamp only records you
    are creating.

    ## Fix safety
    Unsafe: the `if not v: return now()` fallback becomes `raise ValueError(...)`, so callers that relied
    on the invented value now get an exception. The other shapes have no automatic fix.
    """

    code = "RMD501"
    ast_checker = _Fast
    name = "invented-timestamp"
    message = "{what} invents a timestamp for missing input: raise ValueError (or keep None) instead of using the current time"
    severity = Severity.CRITICAL
    provenance = (Provenance("000_18f8732ba4a86cc0.txt", "CRITICAL, item 3 (Fix Timestamp Corruption: parse_dt defaults to now() on missing input)", "khala"),)
    fix_safety = FixSafety.UNSAFE
    triggers = (b"now", b"today", b"time(", b"time_ns")
    options = {"clock_functions": ()}
    option_docs = {"clock_functions": "extra qualified (or module-local) names of functions that return the current time"}

    VALID = [
        Valid(
            """
            from datetime import datetime

            def parse_dt(value: str | None) -> datetime:
                if not value:
                    raise ValueError("missing timestamp")
                return datetime.fromisoformat(value)
            """
        ),
        Valid(
            """
            from datetime import datetime, timezone
            from pydantic import BaseModel, Field

            class Memory(BaseModel):
                content: str
                created_at: datetime = Field(default_factory=datetime.now)
                updated_at: datetime = Field(default_factory=lambda: datetime.now(timezone.utc))
            """
        ),
        Valid(
            """
            import datetime

            class MemoryRepository:
                async def create(self, content):
                    record = {"content": content, "created_at": datetime.datetime.now().isoformat()}
                    return await self.db.create("memory", record)
            """
        ),
        Valid(
            """
            from datetime import datetime

            def age_seconds(created_at: datetime | None) -> float | None:
                if created_at is None:
                    return None
                return (datetime.now() - created_at).total_seconds()
            """
        ),
        Valid(
            """
            import time

            def deadline(timeout=None):
                start = time.time()
                return start + (timeout or 30)
            """
        ),
    ]

    VALID = [
        *VALID,
        Valid(
            """
            from datetime import datetime, timezone
            from time import time_ns

            def make_patch(triples, when: datetime | None = None):
                when = when or datetime.now(tz=timezone.utc)
                return {"triples": triples, "date": when.isoformat()}

            class Span:
                def start(self, start_time=None):
                    self._start_time = start_time if start_time is not None else time_ns()
            """
        ),
    ]

    INVALID = [
        Invalid(
            """
            from datetime import datetime, timezone

            def parse_dt(value):
                if not value:
                    return datetime.now(timezone.utc)
                return datetime.fromisoformat(value)
            """,
            fixed="""
            from datetime import datetime, timezone

            def parse_dt(value):
                if not value:
                    raise ValueError("missing timestamp: value")
                return datetime.fromisoformat(value)
            """,
            line=5,
        ),
        Invalid(
            """
            import datetime as dt

            class SurrealDBClient:
                def _to_memory(self, row):
                    created = row.get("created_at", dt.datetime.now().isoformat())
                    return Memory(content=row["content"], created_at=created)
            """,
            line=5,
        ),
        Invalid(
            """
            from datetime import datetime

            def to_entity(row):
                return Entity(name=row["name"], seen_at=row.get("seen_at") or datetime.utcnow())
            """,
            line=4,
        ),
        Invalid(
            """
            from datetime import datetime

            def record_event(name, when=datetime.now()):
                return {"name": name, "when": when}
            """,
            line=3,
        ),
        Invalid(
            """
            import time
            from datetime import datetime

            class Converter:
                @staticmethod
                def parse(ts):
                    if ts is None:
                        return time.time()
                    return float(ts)

                def parse_dt(self, raw):
                    return datetime.now() if raw is None else datetime.fromisoformat(raw)
            """,
            fixed="""
            import time
            from datetime import datetime

            class Converter:
                @staticmethod
                def parse(ts):
                    if ts is None:
                        raise ValueError("missing timestamp: ts")
                    return float(ts)

                def parse_dt(self, raw):
                    return datetime.now() if raw is None else datetime.fromisoformat(raw)
            """,
            line=8,
            count=2,
        ),
    ]

    # -- what is a clock read? -----------------------------------------------------------------------
    def _is_clock(self, node: cst.CSTNode | None) -> bool:
        if isinstance(node, cst.Await):
            node = node.expression
        if not isinstance(node, cst.Call):
            return False
        func = node.func
        if isinstance(func, cst.Attribute) and func.attr.value in CLOCK_FORMATTERS and isinstance(func.value, cst.Call):
            return self._is_clock(func.value)
        name = self.context.qualified(func)
        extra = set(self.opts.get("clock_functions") or ())
        if name is not None and (name in CLOCK_CALLS or name in extra):
            return True
        local = self.context.dotted(func)
        return local is not None and local in extra

    def _what(self, node: cst.CSTNode) -> str:
        inner = node.expression if isinstance(node, cst.Await) else node
        while isinstance(inner, cst.Call) and isinstance(inner.func, cst.Attribute) and isinstance(inner.func.value, cst.Call):
            inner = inner.func.value
        text = self.context.dotted(inner.func) if isinstance(inner, cst.Call) else None
        return f"{text or 'now'}()"

    # -- shapes --------------------------------------------------------------------------------------
    def visit_BooleanOperation(self, node: cst.BooleanOperation) -> None:
        # only a value read from data (`row.get("x")`, `row["x"]`): `when or now()` on an optional
        # parameter is an API default for a record being stamped now, not a missing stored time
        if isinstance(node.operator, cst.Or) and self._is_clock(node.right) and _from_data(node.left):
            self.report(node.right, what=f"`... or {self._what(node.right)}`")

    def visit_Call(self, node: cst.Call) -> None:
        func = node.func
        if isinstance(func, cst.Attribute) and func.attr.value in {"get", "pop", "setdefault"} and len(node.args) == 2:
            default, what = node.args[1].value, f".{func.attr.value}()"
        elif isinstance(func, cst.Name) and func.value == "getattr" and len(node.args) == 3:
            default, what = node.args[2].value, "getattr()"
        else:
            return
        if self._is_clock(default):
            self.report(default, what=f"default {self._what(default)} of `{what}`")

    def visit_Param(self, node: cst.Param) -> None:
        if node.default is not None and self._is_clock(node.default):
            self.report(node.default, what=f"parameter default {self._what(node.default)}")

    def visit_IfExp(self, node: cst.IfExp) -> None:
        missing = _missing_test(node.test)
        if missing is None:
            return
        clock, other = (node.body, node.orelse) if missing else (node.orelse, node.body)
        if not self._is_clock(clock):
            return
        tested = _tested_expr(node.test)
        # a parser (`now() if raw is None else fromisoformat(raw)`) or a value read from data
        if _from_data(tested) or _parses(other, tested):
            self.report(clock, what=f"fallback {self._what(clock)}")

    def visit_If(self, node: cst.If) -> None:
        if _missing_test(node.test) is not True:
            return
        func = self.context.enclosing_function()
        if not isinstance(func, cst.FunctionDef):
            return
        tested = _tested_name(node.test)
        if tested is None or tested.split(".")[0] not in _param_names(func):
            return
        body = node.body
        if not isinstance(body, cst.IndentedBlock) or len(body.body) != 1:
            return
        stmt = body.body[0]
        if not isinstance(stmt, cst.SimpleStatementLine) or len(stmt.body) != 1 or not isinstance(stmt.body[0], cst.Return):
            return
        ret = stmt.body[0]
        if not self._is_clock(ret.value):
            return
        raise_stmt = cst.Raise(
            exc=cst.Call(cst.Name("ValueError"), args=[cst.Arg(cst.SimpleString(f'"missing timestamp: {tested}"'))])
        )
        fix = self.make_fix((ret, raise_stmt))
        self.report(ret.value, what=f"`if not {tested}: return {self._what(ret.value)}`", fix=fix)  # type: ignore[arg-type]


def _from_data(expr: cst.BaseExpression | None) -> bool:
    """`row.get("x")` / `row["x"]`: a value read from a record."""
    if isinstance(expr, cst.Subscript):
        return True
    return isinstance(expr, cst.Call) and isinstance(expr.func, cst.Attribute) and expr.func.attr.value == "get"


def _tested_expr(test: cst.BaseExpression) -> cst.BaseExpression:
    if isinstance(test, cst.UnaryOperation):
        return test.expression
    if isinstance(test, cst.Comparison):
        return test.left
    return test


def _parses(other: cst.BaseExpression, tested: cst.BaseExpression) -> bool:
    """`other` is a call that takes the tested value (`datetime.fromisoformat(raw)`)."""
    from remediation_lint.analysis.names import dotted_name

    name = dotted_name(tested)
    if not isinstance(other, cst.Call) or name is None:
        return False
    return any(dotted_name(a.value) == name for a in other.args)


def _missing_test(test: cst.BaseExpression) -> bool | None:
    """True for `not x` / `x is None` / `x == ""`; False for `x` / `x is not None`; None otherwise."""
    if isinstance(test, cst.UnaryOperation) and isinstance(test.operator, cst.Not):
        return True if _tested_name(test) else None
    if isinstance(test, cst.Comparison) and len(test.comparisons) == 1:
        comp = test.comparisons[0]
        if isinstance(comp.comparator, cst.Name) and comp.comparator.value == "None":
            if isinstance(comp.operator, cst.Is):
                return True
            if isinstance(comp.operator, cst.IsNot):
                return False
        return None
    if isinstance(test, (cst.Name, cst.Attribute, cst.Subscript, cst.Call)):
        return False if _tested_name(test) else None
    return None


def _tested_name(test: cst.BaseExpression) -> str | None:
    if isinstance(test, cst.UnaryOperation):
        test = test.expression
    if isinstance(test, cst.Comparison):
        test = test.left
    if isinstance(test, cst.Call) and isinstance(test.func, cst.Attribute) and test.func.attr.value == "get":
        test = test.func.value
    if isinstance(test, cst.Subscript):
        test = test.value
    from remediation_lint.analysis.names import dotted_name

    return dotted_name(test)


def _param_names(func: cst.FunctionDef) -> set[str]:
    params = func.params
    names = {p.name.value for p in (*params.posonly_params, *params.params, *params.kwonly_params)}
    for star in (params.star_arg, params.star_kwarg):
        if isinstance(star, cst.Param):
            names.add(star.name.value)
    return names - {"self", "cls"}
