from __future__ import annotations

import ast
from remediation_lint.analysis.ast_walk import child_nodes

import libcst as cst

from remediation_lint.analysis import sql
from remediation_lint.analysis.names import ast_dotted, dotted_name
from remediation_lint.astcheck import AstChecker
from remediation_lint.rule import Invalid, Provenance, Rule, Severity, Valid

_COMPS = (cst.ListComp, cst.SetComp, cst.DictComp, cst.GeneratorExp)
#: ORM calls that run a query
_ORM = frozenset({"query", "get", "scalar", "scalars", "execute", "filter_by"})


_AST_COMPS = (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)
_AST_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)


def _ast_query(call: ast.Call, ctx) -> str | None:
    """``QueryInLoop._query`` on ``ast`` (``sql.Undecidable``: only LibCST can tell)."""
    func = call.func
    if not isinstance(func, ast.Attribute) or not (call.args or call.keywords):
        return None
    method = func.attr
    if method not in sql.QUERY_METHODS and method not in _ORM:
        return None
    first = sql.ast_first_arg(call)

    def segment(node: ast.AST) -> str | None:
        return sql.ast_segment(ctx, node)

    text = sql.ast_literal_text(first, segment)
    if text is None and isinstance(first, ast.Call) and isinstance(first.func, ast.Attribute) and first.func.attr == "format":
        text = sql.ast_literal_text(first.func.value, segment)
    if text is None and isinstance(first, ast.BinOp):
        text = sql.ast_literal_text(first.left, segment)
    if method in sql.QUERY_METHODS and text is not None:
        if sql.is_read(text) and not sql.has_in_list(text):
            return f"{ast_dotted(func) or method}()"
        return None
    if method in _ORM and text is None and first is not None:
        name = (ast_dotted(func.value) or "").rsplit(".", 1)[-1].lstrip("_").lower()
        if not (name in {"session", "db", "db_session", "s"} or name.endswith("session")):
            return None
        if method in {"query", "get", "filter_by"}:
            dotted = ast_dotted(first) or ""
            ok = bool(dotted) and dotted.rsplit(".", 1)[-1][:1].isupper()
        elif isinstance(first, ast.Call):
            ok = (ast_dotted(first.func) or "").rsplit(".", 1)[-1] in {"select", "text", "update", "delete", "insert"}
        else:
            ok = False
        return f"{ast_dotted(func) or method}()" if ok else None
    return None


def _ast_pre_order_key(node: ast.AST) -> tuple[int, int, int, int]:
    """Pre-order (LibCST's visiting order) of nested expressions: by start, the enclosing node first."""
    return (node.lineno, node.col_offset, -(node.end_lineno or 0), -(node.end_col_offset or 0))  # type: ignore[attr-defined]


class _Fast(AstChecker):
    """The ``ast`` twin of the rule below (check mode)."""

    def __init__(self, rule, context, options) -> None:
        super().__init__(rule, context, options)
        self._rows: dict[int, dict[str, str]] = {}
        self._helpers: dict[str, bool] | None = None
        self._defs: dict[str, list[ast.AST]] = {}

    def _query(self, call: ast.Call) -> str | None:
        return _ast_query(call, self.context)

    def _first_query(self, roots: list[ast.AST]) -> str | None:
        """``_QueryFinder``: the first query call in pre-order, not looking into nested defs."""
        found: list[tuple[tuple[int, int, int, int], str]] = []
        todo = list(roots)
        while todo:
            node = todo.pop()
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            if isinstance(node, ast.Call):
                what = self._query(node)
                if what is not None:
                    found.append((_ast_pre_order_key(node), what))
                    continue
            todo.extend(child_nodes(node))
        if not found:
            return None
        return f"the query in {min(found)[1]}"

    def _is_rows(self, expr: ast.expr) -> str | None:
        if isinstance(expr, ast.Await):
            expr = expr.value
        if isinstance(expr, ast.Name):
            func = self.context.enclosing_function()
            return self._rows.get(id(func), {}).get(expr.id)
        return self._first_query([expr])

    def _helper_queries(self, name: str) -> bool:
        short = name[5:] if name.startswith("self.") else name
        if "." in short:
            return False
        if self._helpers is None:
            self._helpers = {}
            for stmt in self.context.tree.body:
                if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    self._defs.setdefault(stmt.name, []).append(stmt)
                elif isinstance(stmt, ast.ClassDef):
                    for inner in stmt.body:
                        if isinstance(inner, (ast.FunctionDef, ast.AsyncFunctionDef)):
                            self._defs.setdefault(inner.name, []).append(inner)
        if short not in self._helpers:
            self._helpers[short] = any(self._first_query(list(f.body)) is not None for f in self._defs.get(short, ()))  # type: ignore[attr-defined]
        return self._helpers[short]

    def visit_Assign(self, node: ast.Assign) -> None:
        func = self.context.enclosing_function()
        if func is None:
            return
        value = node.value
        rows = self._is_rows(value) if not isinstance(value, _AST_COMPS) else None
        if rows is None and isinstance(value, _AST_COMPS):
            rows = self._is_rows(value.generators[0].iter)
        if rows is None:
            return
        for target in node.targets:
            if isinstance(target, ast.Name):
                self._rows.setdefault(id(func), {})[target.id] = rows

    def visit_Call(self, node: ast.Call) -> None:
        what = self._query(node)
        callee = None
        if what is None:
            callee = ast_dotted(node.func)
            if callee is None or "." in (callee[5:] if callee.startswith("self.") else callee):
                return
        rows = self._loop_rows(node)
        if rows is None:
            return
        if what is None:
            if not self._helper_queries(callee):  # type: ignore[arg-type]
                return
            what = f"{callee}(), which runs a query,"
        self.report(node, what=what, rows=rows)

    def _loop_rows(self, call: ast.Call) -> str | None:
        child: ast.AST = call
        for anc in self.context.ancestors():
            if isinstance(anc, _AST_SCOPES):
                return None
            if isinstance(anc, (ast.For, ast.AsyncFor)) and any(child is stmt for stmt in anc.body):
                rows = self._is_rows(anc.iter)
                if rows is not None:
                    return rows
            if isinstance(anc, _AST_COMPS) and not any(child is gen for gen in anc.generators):
                rows = self._is_rows(anc.generators[0].iter)
                if rows is not None:
                    return rows
            child = anc
        return None


def _undecidable_guard(method):
    def run(self, node):
        if self.code in self.context.deferred:
            return
        try:
            method(self, node)
        except sql.Undecidable:
            self.defer()

    return run


_Fast.visit_Assign = _undecidable_guard(_Fast.visit_Assign)  # type: ignore[method-assign]
_Fast.visit_Call = _undecidable_guard(_Fast.visit_Call)  # type: ignore[method-assign]


class QueryInLoop(Rule):
    """A query per row of another query (N+1): fetch everything in one batched query instead.

    ## What it does
    Finds a database read (`execute`/`fetch*`/`query` with a `SELECT`, `session.query(...)`,
    `session.get(...)`) inside a `for` loop or a comprehension that iterates over the rows of another
    query, including the N+1 that hides behind a helper: the loop calls a function or method of the same
    module that itself runs a query. Batched queries (`WHERE id IN (...)`) are left alone.

    ## Why is this bad?
    Fifty projects cost fifty-one round trips. The Orchestration Engine's `list_projects` called
    `_row_to_project(include_task_summary=True)` per project, which ran a `GROUP BY` query each time
    (plan item 6.7: "for 50 projects, that's 50 extra DB queries").

    ## Fix
    Collect the keys, run one `... WHERE project_id IN (?, ?, ...) GROUP BY project_id, status`, and join
    the results in Python (or use a JOIN).
    """

    code = "RMD504"
    ast_checker = _Fast
    name = "query-in-loop"
    message = "{what} runs once per row of {rows}: fetch them in one batched query (WHERE ... IN (...)) or a JOIN"
    severity = Severity.MEDIUM
    provenance = (Provenance("001_0845f576a88221b4.txt", "Phase 6, item 6.7 (N+1 query in list_projects via _row_to_project)", "orchestration_engine"),)
    triggers = (b"SELECT", b"select", b"query", b"fetch")

    VALID = [
        Valid(
            """
            async def list_projects(db, owner_id):
                rows = await db.fetchall("SELECT * FROM projects WHERE owner_id = ?", (owner_id,))
                project_ids = [row["id"] for row in rows]
                summary_rows = await db.fetchall(
                    "SELECT project_id, status, COUNT(*) AS cnt FROM tasks WHERE project_id IN ({}) GROUP BY project_id, status".format(
                        ",".join("?" for _ in project_ids)
                    ),
                    tuple(project_ids),
                )
                summaries = {}
                for s in summary_rows:
                    summaries.setdefault(s["project_id"], {})[s["status"]] = s["cnt"]
                return [dict(row, task_summary=summaries.get(row["id"], {})) for row in rows]
            """
        ),
        Valid(
            """
            def load_children(conn, parent_ids):
                for parent_id in parent_ids:
                    conn.execute("SELECT * FROM children WHERE parent_id = ?", (parent_id,))
            """
        ),
        Valid(
            """
            async def migrate(db, rows):
                existing = await db.fetchall("SELECT id FROM tasks")
                for row in existing:
                    print(row["id"])
            """
        ),
        Valid(
            """
            async def tag_counts(db):
                rows = await db.fetchall("SELECT id FROM tags")
                ids = [r["id"] for r in rows]
                for chunk in (ids[:500], ids[500:]):
                    await db.fetchall("SELECT tag_id, COUNT(*) FROM item_tags WHERE tag_id IN (%s) GROUP BY tag_id" % ",".join("?" * len(chunk)), chunk)
            """
        ),
        Valid(
            """
            def export(cursor):
                cursor.execute("SELECT id, name FROM users")
                for row in cursor.fetchall():
                    yield {"id": row[0], "name": row[1]}
            """
        ),
    ]

    INVALID = [
        Invalid(
            """
            async def _row_to_project(db, row, include_task_summary=False):
                project = dict(row)
                if include_task_summary:
                    counts = await db.fetchall(
                        "SELECT status, COUNT(*) AS cnt FROM tasks WHERE project_id = ? GROUP BY status", (row["id"],)
                    )
                    project["task_summary"] = {c["status"]: c["cnt"] for c in counts}
                return project

            async def list_projects(db, owner_id):
                rows = await db.fetchall("SELECT * FROM projects WHERE owner_id = ?", (owner_id,))
                return [await _row_to_project(db, row, include_task_summary=True) for row in rows]
            """,
            line=12,
        ),
        Invalid(
            """
            def orders_with_items(conn):
                orders = conn.execute("SELECT id, customer FROM orders").fetchall()
                result = []
                for order in orders:
                    items = conn.execute("SELECT sku, qty FROM order_items WHERE order_id = ?", (order[0],)).fetchall()
                    result.append((order, items))
                return result
            """,
            line=5,
        ),
        Invalid(
            """
            from sqlalchemy.orm import Session

            def owners(session: Session):
                names = []
                for project in session.query(Project).all():
                    names.append(session.get(User, project.owner_id).name)
                return names
            """,
            line=6,
        ),
        Invalid(
            """
            class TaskRepository:
                async def _deps(self, task_id):
                    return await self.db.fetchall("SELECT depends_on FROM task_deps WHERE task_id = ?", (task_id,))

                async def with_deps(self, plan_id):
                    tasks = await self.db.fetchall("SELECT * FROM tasks WHERE plan_id = ?", (plan_id,))
                    out = []
                    for task in tasks:
                        out.append((task, await self._deps(task["id"])))
                    return out
            """,
            line=9,
        ),
        Invalid(
            """
            def summaries(cur):
                return {
                    row[0]: cur.execute("SELECT COUNT(*) FROM tasks WHERE project_id = %s", (row[0],)).fetchone()
                    for row in cur.execute("SELECT id FROM projects").fetchall()
                }
            """,
            line=3,
        ),
    ]

    def __init__(self, context, options) -> None:
        super().__init__(context, options)
        #: function node id -> names bound to rows of a query
        self._rows: dict[int, dict[str, str]] = {}
        self._helpers: dict[str, bool] | None = None
        self._defs: dict[str, list[cst.FunctionDef]] = {}

    # -- what runs a query ---------------------------------------------------------------------------
    def _query(self, call: cst.Call) -> str | None:
        """A description when the call runs a (non-batched) read query, else None."""
        func = call.func
        if not isinstance(func, cst.Attribute) or not call.args:
            return None
        method = func.attr.value
        first = call.args[0].value
        text = sql.literal_text(first)
        if text is None and isinstance(first, cst.Call) and isinstance(first.func, cst.Attribute) and first.func.attr.value == "format":
            text = sql.literal_text(first.func.value)
        if text is None and isinstance(first, cst.BinaryOperation):
            text = sql.literal_text(first.left)
        if method in sql.QUERY_METHODS and text is not None:
            if sql.is_read(text) and not sql.has_in_list(text):
                return f"{dotted_name(func) or method}()"
            return None
        if method in _ORM and text is None and _session_like(func.value) and _orm_statement(method, first):
            return f"{dotted_name(func) or method}()"
        return None

    def _is_rows(self, expr: cst.BaseExpression) -> str | None:
        if isinstance(expr, cst.Await):
            expr = expr.expression
        if isinstance(expr, cst.Name):
            func = self.context.enclosing_function()
            return self._rows.get(id(func), {}).get(expr.value)
        finder = _QueryFinder(self)
        expr.visit(finder)
        return finder.found

    def _helper_queries(self, name: str) -> bool:
        """A function or method of this module with that name runs a query (walked once, on demand)."""
        short = name[5:] if name.startswith("self.") else name
        if "." in short:
            return False
        if self._helpers is None:
            self._helpers = {}
            for stmt in self.context.module.body:
                if isinstance(stmt, cst.FunctionDef):
                    self._defs.setdefault(stmt.name.value, []).append(stmt)
                elif isinstance(stmt, cst.ClassDef) and isinstance(stmt.body, cst.IndentedBlock):
                    for inner in stmt.body.body:
                        if isinstance(inner, cst.FunctionDef):
                            self._defs.setdefault(inner.name.value, []).append(inner)
        if short not in self._helpers:
            found = False
            for f in self._defs.get(short, ()):
                finder = _QueryFinder(self)
                f.body.visit(finder)
                found = found or finder.found is not None
            self._helpers[short] = found
        return self._helpers[short]

    # -- visiting ------------------------------------------------------------------------------------
    def visit_Assign(self, node: cst.Assign) -> None:
        func = self.context.enclosing_function()
        if func is None:
            return
        rows = self._is_rows(node.value) if not isinstance(node.value, _COMPS) else None
        if rows is None and isinstance(node.value, _COMPS):
            rows = self._is_rows(node.value.for_in.iter)
        if rows is None:
            return
        for target in node.targets:
            if isinstance(target.target, cst.Name):
                self._rows.setdefault(id(func), {})[target.target.value] = rows

    def visit_Call(self, node: cst.Call) -> None:
        what = self._query(node)
        callee = None
        if what is None:
            callee = dotted_name(node.func)
            if callee is None or "." in (callee[5:] if callee.startswith("self.") else callee):
                return
        rows = self._loop_rows(node)
        if rows is None:
            return
        if what is None:
            if not self._helper_queries(callee):  # type: ignore[arg-type]
                return
            what = f"{callee}(), which runs a query,"
        self.report(node, what=what, rows=rows)

    def _loop_rows(self, call: cst.Call) -> str | None:
        child: cst.CSTNode = call
        for anc in self.context.ancestors():
            if isinstance(anc, (cst.FunctionDef, cst.Lambda, cst.ClassDef)):
                return None
            if isinstance(anc, cst.For) and child is anc.body:
                rows = self._is_rows(anc.iter)
                if rows is not None:
                    return rows
            if isinstance(anc, _COMPS) and child is not anc.for_in:
                rows = self._is_rows(anc.for_in.iter)
                if rows is not None:
                    return rows
            child = anc
        return None


def _orm_statement(method: str, first: cst.BaseExpression) -> bool:
    """``session.get(User, id)`` / ``session.query(Model)`` / ``session.execute(select(...))``."""
    if method in {"query", "get", "filter_by"}:
        name = dotted_name(first) or ""
        return bool(name) and name.rsplit(".", 1)[-1][:1].isupper()
    if isinstance(first, cst.Call):
        return (dotted_name(first.func) or "").rsplit(".", 1)[-1] in {"select", "text", "update", "delete", "insert"}
    return False


def _session_like(expr: cst.BaseExpression) -> bool:
    name = (dotted_name(expr) or "").rsplit(".", 1)[-1].lstrip("_").lower()
    return name in {"session", "db", "db_session", "s"} or name.endswith("session")


class _QueryFinder(cst.CSTVisitor):
    def __init__(self, rule: QueryInLoop) -> None:
        self.rule = rule
        self.found: str | None = None

    def visit_Call(self, node: cst.Call) -> bool:
        if self.found is None:
            what = self.rule._query(node)
            if what is not None:
                self.found = f"the query in {what}"
        return self.found is None

    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        return False
