from __future__ import annotations

import libcst as cst

from remediation_lint.knowledge.data import CLOCK_CALLS, CLOCK_FORMATTERS
from remediation_lint.rule import FixSafety, Invalid, Provenance, Rule, Severity, Valid


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
