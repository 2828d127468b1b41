from __future__ import annotations

import ast
import re

import libcst as cst

from remediation_lint.analysis.names import ast_dotted, dotted_name
from remediation_lint.analysis.sql_building import (
    AstBuilder,
    AstScope,
    AstStrings,
    Builder,
    CannotTell,
    Scope,
    ast_string_text,
    looks_like_sql,
    source_args,
    string_text,
)
from remediation_lint.astcheck import AstChecker
from remediation_lint.rule import Invalid, Provenance, Rule, Severity, Valid

#: methods of DB-API / async drivers / helpers that take the query text as their first argument
QUERY_METHODS = frozenset({
    "execute", "executemany", "executescript", "execute_write", "execute_many_write", "execute_read",
    "fetch", "fetchrow", "fetchval", "fetch_all", "fetch_one", "fetch_val", "fetch_many", "query", "raw",
    "exec_driver_sql", "read_sql", "read_sql_query", "mogrify",
})
TEXT_FUNCTIONS = frozenset({"sqlalchemy.text", "sqlalchemy.sql.text", "sqlalchemy.sql.expression.text"})
_LIKE_PARAM = re.compile(r"\blike\s*(\?|%s|%\(\w+\)s|:\w+|\$\d+)", re.I)
_PRAGMA = re.compile(r"\s*pragma\b", re.I)
_MATCH_PARAM = re.compile(r"\bmatch\s*(\?|%s|%\(\w+\)s|:\w+|\$\d+)", re.I)


class _Fast(AstChecker):
    """The ``ast`` twin of the rule below (check mode); defers where a string's LibCST form is unclear."""

    def __init__(self, rule, context, options) -> None:
        super().__init__(rule, context, options)
        self._scopes: list[AstScope] = [AstScope()]
        self._constants: set[str] | None = None
        self._strings = AstStrings(context.source)

    def visit_FunctionDef(self, node: ast.AST) -> None:
        self._scopes.append(AstScope())

    visit_AsyncFunctionDef = visit_FunctionDef

    def leave_FunctionDef(self, node: ast.AST) -> None:
        self._scopes.pop()

    leave_AsyncFunctionDef = leave_FunctionDef

    def visit_Assign(self, node: ast.Assign) -> None:
        scope = self._scopes[-1]
        value = node.value
        for target in node.targets:
            if isinstance(target, ast.Name):
                scope.assigns.setdefault(target.id, []).append(value)
            elif isinstance(target, (ast.Tuple, ast.List)) and isinstance(value, (ast.Tuple, ast.List)):
                for t, v in zip(target.elts, value.elts):
                    if isinstance(t, ast.Starred):
                        t = t.value
                    if isinstance(t, ast.Name) and not isinstance(v, ast.Starred):
                        scope.assigns.setdefault(t.id, []).append(v)

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        if isinstance(node.target, ast.Name) and node.value is not None:
            self._scopes[-1].assigns.setdefault(node.target.id, []).append(node.value)

    def visit_AugAssign(self, node: ast.AugAssign) -> None:
        if isinstance(node.target, ast.Name) and isinstance(node.op, ast.Add):
            self._scopes[-1].assigns.setdefault(node.target.id, []).append(node.value)

    def visit_Compare(self, node: ast.Compare) -> None:
        if not isinstance(node.left, ast.Name):
            return
        for op, comparator in zip(node.ops, node.comparators):
            if isinstance(op, (ast.In, ast.NotIn)) and self._is_constant_container(comparator):
                self._scopes[-1].checked.add(node.left.id)

    def visit_For(self, node: ast.For) -> None:
        if isinstance(node.target, ast.Name) and self._is_constant_container(node.iter):
            self._scopes[-1].checked.add(node.target.id)

    visit_AsyncFor = visit_For

    def _is_constant_container(self, node: ast.AST) -> bool:
        name = ast_dotted(node)
        if name is not None:
            last = name.rsplit(".", 1)[-1]
            return last.strip("_").isupper() or last in self._module_constants()
        if isinstance(node, (ast.List, ast.Tuple, ast.Set)):
            return all(not isinstance(e, ast.Starred) and ast_string_text(e) is not None for e in node.elts)
        return False

    def _module_constants(self) -> set[str]:
        if self._constants is None:
            out: set[str] = set()
            for stmt in self.context.tree.body:
                if isinstance(stmt, ast.Assign) and self._is_literal(stmt.value):
                    for t in stmt.targets:
                        if isinstance(t, ast.Name):
                            out.add(t.id)
            self._constants = out
        return self._constants

    def _is_literal(self, node: ast.AST) -> bool:
        if isinstance(node, ast.Constant):
            return type(node.value) in (str, bytes, int, float)
        if isinstance(node, ast.JoinedStr):
            try:
                return self._strings.is_concat(node)
            except CannotTell:
                self.defer()
                return False
        if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
            return all(not isinstance(e, ast.Starred) and self._is_literal(e) for e in node.elts)
        if isinstance(node, ast.Dict):
            return all(k is not None and self._is_literal(k) and self._is_literal(v) for k, v in zip(node.keys, node.values))
        if isinstance(node, ast.Call) and ast_dotted(node.func) in ("frozenset", "set", "tuple"):
            args = source_args(node)
            return len(args) == 1 and self._is_literal(args[0][1])
        return False

    def visit_Call(self, node: ast.Call) -> None:
        try:
            self._call(node)
        except CannotTell:
            self.defer()

    def _call(self, node: ast.Call) -> None:
        func = node.func
        args = source_args(node)
        if isinstance(func, ast.Attribute) and func.attr == "append" and args:
            owner = func.value
            if isinstance(owner, ast.Name):
                self._scopes[-1].appends.setdefault(owner.id, []).append(args[0][1])
        if not args or args[0][0] is not None:
            return
        if isinstance(func, ast.Attribute) and func.attr in QUERY_METHODS:
            label = func.attr
        else:
            qualified = self.context.qualified(func)
            if qualified not in TEXT_FUNCTIONS:
                return
            label = "text"
        strings = self._strings
        builder = AstBuilder(self._scopes[-1], self._module_constants(), strings)
        query = args[0][1]
        text = builder.query_text(query)
        if not looks_like_sql(text) or _PRAGMA.match(text):
            return
        if builder.is_built(query):
            bad = builder.unsafe_part(query)
            if bad is not None:
                self.report(node, func=label, how=self._how(query, builder), value=_short(strings.code(bad)))
                return
        if label == "text" or len(args) < 2:
            return
        params = args[1][1]
        if _LIKE_PARAM.search(text):
            for value in self._param_values(params):
                bad = self._unescaped_like(value, builder)
                if bad is not None:
                    self.report(
                        value,
                        f"LIKE pattern built from `{_short(strings.code(bad))}` without escaping % and _: "
                        "escape the wildcards (with ESCAPE '\\') or match with INSTR(LOWER(col), LOWER(?)) > 0",
                    )
                    return
        if _MATCH_PARAM.search(text):
            for value in self._param_values(params):
                if self._quote_only(value, builder.scope):
                    self.report(
                        value,
                        f"FTS MATCH term `{_short(strings.code(value))}` is only quote-escaped: strip FTS5 "
                        "operators (* ( ) + - ^ AND OR NOT NEAR) and quote the whole term as one phrase",
                    )
                    return

    def _param_values(self, params: ast.AST, depth: int = 0) -> list[ast.AST]:
        if isinstance(params, (ast.Tuple, ast.List)):
            return [e for e in params.elts if not isinstance(e, ast.Starred)]
        if isinstance(params, ast.Dict):
            return [v for k, v in zip(params.keys, params.values) if k is not None]
        if isinstance(params, ast.Name) and depth < 3:
            out: list[ast.AST] = []
            for value in self._scopes[-1].assigns.get(params.id, []):
                out.extend(self._param_values(value, depth + 1))
            return out
        return []

    def _unescaped_like(self, value: ast.AST, builder: AstBuilder, depth: int = 0) -> ast.AST | None:
        if isinstance(value, ast.Name) and depth < 3:
            for assigned in builder.scope.assigns.get(value.id, []):
                found = self._unescaped_like(assigned, builder, depth + 1)
                if found is not None:
                    return found
            return None
        parts: list[ast.AST] = []
        wildcard = False
        if self._strings.is_fstring(value):
            for part in self._strings.text_parts(value):  # type: ignore[arg-type]
                if isinstance(part, str):
                    wildcard = wildcard or "%" in part
                else:
                    parts.append(part)
        elif isinstance(value, ast.BinOp) and isinstance(value.op, ast.Add):
            stack: list[ast.AST] = [value]
            while stack:
                node = stack.pop()
                if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
                    stack.extend((node.right, node.left))
                elif ast_string_text(node) is not None:
                    wildcard = wildcard or "%" in (ast_string_text(node) or "")
                else:
                    parts.append(node)
        if not wildcard:
            return None
        for part in parts:
            if not builder.safe(part) and not _ast_escapes_wildcards(part, builder.scope):
                return part
        return None

    def _quote_only(self, value: ast.AST, scope: AstScope, depth: int = 0) -> bool:
        if isinstance(value, ast.Name) and depth < 3:
            return any(self._quote_only(v, scope, depth + 1) for v in scope.assigns.get(value.id, []))
        if self._strings.is_fstring(value):
            return any(
                self._quote_only(p.value, scope, depth + 1)
                for p in value.values  # type: ignore[attr-defined]
                if isinstance(p, ast.FormattedValue)
            )
        if isinstance(value, ast.BinOp) and isinstance(value.op, ast.Add):
            return self._quote_only(value.left, scope, depth + 1) or self._quote_only(value.right, scope, depth + 1)
        if isinstance(value, ast.Call) and isinstance(value.func, ast.Attribute) and value.func.attr == "replace":
            args = source_args(value)
            if args and ast_string_text(args[0][1]) == '"':
                return not isinstance(value.func.value, ast.Call)
        return False

    def _how(self, query: ast.AST, builder: AstBuilder, depth: int = 0) -> str:
        if isinstance(query, ast.Name) and depth < 3:
            for value in builder.scope.assigns.get(query.id, []):
                if builder.is_built(value):
                    return self._how(value, builder, depth + 1)
        if self._strings.is_fstring(query):
            return "an f-string"
        if isinstance(query, ast.BinOp):
            return "%-formatting" if isinstance(query.op, ast.Mod) else "string concatenation"
        if isinstance(query, ast.Call):
            return ".format()"
        return "string building"


def _ast_escapes_wildcards(node: ast.AST, scope: AstScope, depth: int = 0) -> bool:
    if isinstance(node, ast.Name) and depth < 3:
        values = scope.assigns.get(node.id, [])
        return bool(values) and all(_ast_escapes_wildcards(v, scope, depth + 1) for v in values)
    while isinstance(node, ast.Call):
        func = node.func
        name = (ast_dotted(func) or "").rsplit(".", 1)[-1].lower()
        if "escape" in name:
            return True
        args = source_args(node)
        if isinstance(func, ast.Attribute) and func.attr == "replace" and args:
            if ast_string_text(args[0][1]) in ("%", "_"):
                return True
            node = func.value
            continue
        if isinstance(func, ast.Attribute) and func.attr in ("lower", "upper", "strip"):
            node = func.value
            continue
        return False
    return False


class SqlBuiltFromStrings(Rule):
    """SQL text built from values with f-strings, `%`, `.format` or `+`: pass values as parameters.

    ## What it does
    Finds `execute`/`executemany`/`fetch*`/`query` calls and SQLAlchemy `text()` whose query is an
    f-string, a `%` format, a `.format()` call or a `+` concatenation that interpolates a value which may
    come from the caller (a parameter, a request field, the result of an unknown call), directly or
    through a local variable. Two quieter injections in parameterised queries are found too:

    - a `LIKE ?` parameter built as `f"%{name}%"` (or `"%" + name + "%"`) without escaping `%` and `_`,
      so the caller's wildcards change what matches;
    - an FTS `MATCH ?` term whose only sanitisation is doubling quotes (`name.replace('"', '""')`), which
      leaves FTS5 operators (`*`, `OR`, `NEAR`, `-`, parentheses) active.

    Not reported: parameterised queries (`?`, `%s`, `:name` with a parameter tuple or dict), `text()`
    with bind parameters, identifiers that are constants or checked against / looked up in a constant
    allow-list, and placeholder lists built from counts (`",".join("?" for _ in ids)` formatted into
    `IN (...)`), which hold no values.

    ## Why is this bad?
    Values formatted into SQL text are SQL: a quote in a name ends the string and the rest runs as a
    statement (CWE-89). The Orchestration Engine's review (plan item 1.5) found the subtler forms in its
    RAG tools: a `LIKE` pattern that did not escape wildcards and an FTS `MATCH` query whose only
    sanitisation was doubling quotes.

    ## Fix
    Pass every value as a parameter; take identifiers (table, column, sort order) from a constant
    mapping. For `LIKE`, escape `%`/`_` and add `ESCAPE '\\'`, or use `INSTR(LOWER(col), LOWER(?)) > 0`.
    For FTS5, strip the operators and wrap the whole term in double quotes as one phrase.
    """

    code = "RMD109"
    ast_checker = _Fast
    name = "sql-built-from-strings"
    message = "{func}() runs SQL built with {how} from `{value}`: pass values as query parameters and take identifiers from a constant allow-list"
    severity = Severity.CRITICAL
    provenance = (Provenance("001_0845f576a88221b4.txt", "Phase 1, item 1.5 (SQL injection surface in RAG tools)", "orchestration_engine"),)
    triggers = tuple(m.encode() for m in ("execute", "fetch", "query", "text(", "raw(", "read_sql", "mogrify"))
    cwe = (89,)

    VALID = [
        Valid(
            """
            import re

            _FTS_OPERATORS = re.compile(r'[*()+\\-^"]|\\b(AND|OR|NOT|NEAR)\\b')

            def _fts_phrase(term: str) -> str:
                return '"' + _FTS_OPERATORS.sub(" ", term).strip() + '"'

            def find_symbol(conn, name: str):
                rows = conn.execute(
                    "SELECT path, line FROM symbols WHERE INSTR(LOWER(name), LOWER(?)) > 0", (name,)
                ).fetchall()
                if not rows:
                    rows = conn.execute(
                        "SELECT path, line FROM symbols_fts WHERE symbols_fts MATCH ?", (_fts_phrase(name),)
                    ).fetchall()
                return rows
            """
        ),
        Valid(
            """
            async def tasks_for(db, project_id: str, ids: list[str]):
                placeholders = ",".join("?" for _ in ids)
                return await db.fetch_all(
                    f"SELECT * FROM tasks WHERE project_id = ? AND id IN ({placeholders})",
                    (project_id, *ids),
                )
            """
        ),
        Valid(
            """
            from sqlalchemy import text

            SORTABLE = {"name": "name", "created": "created_at"}
            TABLE = "projects"

            def list_rows(session, owner_id: int, sort: str):
                column = SORTABLE.get(sort, "created_at")
                stmt = text(f"SELECT * FROM {TABLE} WHERE owner_id = :owner ORDER BY {column}")
                return session.execute(stmt, {"owner": owner_id}).all()
            """
        ),
        Valid(
            """
            ALLOWED_COLUMNS = ("status", "priority")

            def update_field(cursor, task_id, column, value):
                if column not in ALLOWED_COLUMNS:
                    raise ValueError(column)
                cursor.execute("UPDATE tasks SET %s = %%s WHERE id = %%s" % column, (value, task_id))
            """
        ),
        Valid(
            """
            def search(conn, term: str):
                escaped = term.replace("\\\\", "\\\\\\\\").replace("%", "\\\\%").replace("_", "\\\\_")
                return conn.execute(
                    "SELECT * FROM docs WHERE title LIKE ? ESCAPE '\\\\'", (f"%{escaped}%",)
                ).fetchall()
            """
        ),
        Valid(
            """
            def filtered(conn, status=None, owner=None):
                clauses, params = [], []
                if status is not None:
                    clauses.append("status = ?")
                    params.append(status)
                if owner is not None:
                    clauses.append("owner_id = ?")
                    params.append(owner)
                where = " AND ".join(clauses) or "1 = 1"
                return conn.execute(f"SELECT * FROM projects WHERE {where}", params).fetchall()
            """
        ),
    ]

    INVALID = [
        Invalid(
            """
            def get_user(cursor, email):
                cursor.execute(f"SELECT * FROM users WHERE email = '{email}'")
                return cursor.fetchone()
            """,
            line=2,
        ),
        Invalid(
            """
            class TaskRepo:
                def __init__(self, db):
                    self.db = db

                async def by_status(self, status, limit):
                    sql = "SELECT * FROM tasks WHERE status = '%s' LIMIT %d" % (status, limit)
                    return await self.db.fetch_all(sql)
            """,
            line=7,
        ),
        Invalid(
            """
            import sqlalchemy as sa

            def delete_rows(conn, table, ids):
                conn.execute(sa.text("DELETE FROM {} WHERE id IN ({})".format(table, ",".join(ids))))
            """,
        ),
        Invalid(
            """
            def search(conn, name):
                query = "SELECT * FROM symbols WHERE name = '" + name + "'"
                query += " ORDER BY line"
                return conn.execute(query).fetchall()
            """,
            line=4,
        ),
        Invalid(
            """
            def find_symbol(conn, name: str):
                rows = conn.execute(
                    "SELECT path FROM symbols WHERE name LIKE ?",
                    (f"%{name}%",),
                ).fetchall()
                return rows
            """,
            line=4,
        ),
        Invalid(
            """
            async def search_fts(db, name: str):
                safe = name.replace('"', '""')
                return await db.fetch_all(
                    "SELECT path FROM symbols_fts WHERE symbols_fts MATCH ?", (f'"{safe}"',)
                )
            """,
            line=4,
        ),
    ]

    def __init__(self, context, options) -> None:
        super().__init__(context, options)
        self._scopes: list[Scope] = [Scope()]
        self._constants: set[str] | None = None

    # -- facts, as the traversal goes --------------------------------------------------------------
    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self._scopes.append(Scope())

    def leave_FunctionDef(self, node: cst.FunctionDef) -> None:
        self._scopes.pop()

    def visit_Assign(self, node: cst.Assign) -> None:
        scope = self._scopes[-1]
        for target in node.targets:
            if isinstance(target.target, cst.Name):
                scope.assigns.setdefault(target.target.value, []).append(node.value)
            elif isinstance(target.target, (cst.Tuple, cst.List)) and isinstance(node.value, (cst.Tuple, cst.List)):
                for t, v in zip(target.target.elements, node.value.elements):
                    if isinstance(t.value, cst.Name) and isinstance(v, cst.Element):
                        scope.assigns.setdefault(t.value.value, []).append(v.value)

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        if isinstance(node.target, cst.Name) and node.value is not None:
            self._scopes[-1].assigns.setdefault(node.target.value, []).append(node.value)

    def visit_AugAssign(self, node: cst.AugAssign) -> None:
        if isinstance(node.target, cst.Name) and isinstance(node.operator, cst.AddAssign):
            self._scopes[-1].assigns.setdefault(node.target.value, []).append(node.value)

    def visit_Comparison(self, node: cst.Comparison) -> None:
        if not isinstance(node.left, cst.Name):
            return
        for target in node.comparisons:
            if isinstance(target.operator, (cst.In, cst.NotIn)) and self._is_constant_container(target.comparator):
                self._scopes[-1].checked.add(node.left.value)

    def visit_For(self, node: cst.For) -> None:
        # ``for table in TABLES:`` binds an identifier from a constant allow-list
        if isinstance(node.target, cst.Name) and self._is_constant_container(node.iter):
            self._scopes[-1].checked.add(node.target.value)

    def _is_constant_container(self, node: cst.BaseExpression) -> bool:
        name = dotted_name(node)
        if name is not None:
            last = name.rsplit(".", 1)[-1]
            return last.strip("_").isupper() or last in self._module_constants()
        if isinstance(node, (cst.List, cst.Tuple, cst.Set)):
            return all(isinstance(e, cst.Element) and string_text(e.value) is not None for e in node.elements)
        return False

    def _module_constants(self) -> set[str]:
        if self._constants is None:
            out: set[str] = set()
            for stmt in self.context.module.body:
                if isinstance(stmt, cst.SimpleStatementLine):
                    for small in stmt.body:
                        if isinstance(small, cst.Assign) and _is_literal(small.value):
                            for t in small.targets:
                                if isinstance(t.target, cst.Name):
                                    out.add(t.target.value)
            self._constants = out
        return self._constants

    # -- queries -------------------------------------------------------------------------------------
    def visit_Call(self, node: cst.Call) -> None:
        func = node.func
        if isinstance(func, cst.Attribute) and func.attr.value == "append" and node.args:
            owner = func.value
            if isinstance(owner, cst.Name):
                self._scopes[-1].appends.setdefault(owner.value, []).append(node.args[0].value)
        if not node.args or node.args[0].keyword is not None:
            return
        if isinstance(func, cst.Attribute) and func.attr.value in QUERY_METHODS:
            label = func.attr.value
        else:
            qualified = self.context.qualified(func)
            if qualified not in TEXT_FUNCTIONS:
                return
            label = "text"
        builder = Builder(self._scopes[-1], self._module_constants())
        query = node.args[0].value
        text = builder.query_text(query)
        if not looks_like_sql(text) or _PRAGMA.match(text):
            return  # PRAGMA values cannot be bound: internal configuration, not a query
        if builder.is_built(query):
            bad = builder.unsafe_part(query)
            if bad is not None:
                self.report(node, func=label, how=_how(query, builder), value=_short(self.context.module.code_for_node(bad)))
                return
        if label == "text" or len(node.args) < 2:
            return
        params = node.args[1].value
        if _LIKE_PARAM.search(text):
            for value in self._param_values(params):
                bad = self._unescaped_like(value, builder)
                if bad is not None:
                    self.report(
                        value,
                        f"LIKE pattern built from `{_short(self.context.module.code_for_node(bad))}` without escaping % and _: "
                        "escape the wildcards (with ESCAPE '\\') or match with INSTR(LOWER(col), LOWER(?)) > 0",
                    )
                    return
        if _MATCH_PARAM.search(text):
            for value in self._param_values(params):
                if self._quote_only(value, builder.scope):
                    self.report(
                        value,
                        f"FTS MATCH term `{_short(self.context.module.code_for_node(value))}` is only quote-escaped: strip FTS5 "
                        "operators (* ( ) + - ^ AND OR NOT NEAR) and quote the whole term as one phrase",
                    )
                    return

    def _param_values(self, params: cst.BaseExpression, depth: int = 0) -> list[cst.BaseExpression]:
        if isinstance(params, (cst.Tuple, cst.List)):
            return [e.value for e in params.elements if isinstance(e, cst.Element)]
        if isinstance(params, cst.Dict):
            return [e.value for e in params.elements if isinstance(e, cst.DictElement)]
        if isinstance(params, cst.Name) and depth < 3:
            out: list[cst.BaseExpression] = []
            for value in self._scopes[-1].assigns.get(params.value, []):
                out.extend(self._param_values(value, depth + 1))
            return out
        return []

    def _unescaped_like(self, value: cst.BaseExpression, builder: Builder, depth: int = 0) -> cst.BaseExpression | None:
        """The input part of a ``%...%`` pattern that is not escaped, or None."""
        if isinstance(value, cst.Name) and depth < 3:
            for assigned in builder.scope.assigns.get(value.value, []):
                found = self._unescaped_like(assigned, builder, depth + 1)
                if found is not None:
                    return found
            return None
        parts: list[cst.BaseExpression] = []
        wildcard = False
        if isinstance(value, cst.FormattedString):
            for part in value.parts:
                if isinstance(part, cst.FormattedStringText):
                    wildcard = wildcard or "%" in part.value
                elif isinstance(part, cst.FormattedStringExpression):
                    parts.append(part.expression)
        elif isinstance(value, cst.BinaryOperation) and isinstance(value.operator, cst.Add):
            stack: list[cst.BaseExpression] = [value]
            while stack:
                node = stack.pop()
                if isinstance(node, cst.BinaryOperation) and isinstance(node.operator, cst.Add):
                    stack.extend((node.right, node.left))
                elif string_text(node) is not None:
                    wildcard = wildcard or "%" in (string_text(node) or "")
                else:
                    parts.append(node)
        if not wildcard:
            return None
        for part in parts:
            if not builder.safe(part) and not _escapes_wildcards(part, builder.scope):
                return part
        return None

    def _quote_only(self, value: cst.BaseExpression, scope: Scope, depth: int = 0) -> bool:
        """The MATCH term is derived from ``x.replace('"', '""')`` and nothing else sanitises it."""
        if isinstance(value, cst.Name) and depth < 3:
            return any(self._quote_only(v, scope, depth + 1) for v in scope.assigns.get(value.value, []))
        if isinstance(value, cst.FormattedString):
            return any(
                self._quote_only(p.expression, scope, depth + 1)
                for p in value.parts
                if isinstance(p, cst.FormattedStringExpression)
            )
        if isinstance(value, cst.BinaryOperation) and isinstance(value.operator, cst.Add):
            return self._quote_only(value.left, scope, depth + 1) or self._quote_only(value.right, scope, depth + 1)
        if isinstance(value, cst.Call) and isinstance(value.func, cst.Attribute) and value.func.attr.value == "replace":
            if value.args and string_text(value.args[0].value) == '"':
                receiver = value.func.value
                return not (isinstance(receiver, cst.Call))
        return False


def _escapes_wildcards(node: cst.BaseExpression, scope: Scope, depth: int = 0) -> bool:
    if isinstance(node, cst.Name) and depth < 3:
        values = scope.assigns.get(node.value, [])
        return bool(values) and all(_escapes_wildcards(v, scope, depth + 1) for v in values)
    while isinstance(node, cst.Call):
        func = node.func
        name = (dotted_name(func) or "").rsplit(".", 1)[-1].lower()
        if "escape" in name:
            return True
        if isinstance(func, cst.Attribute) and func.attr.value == "replace" and node.args:
            if string_text(node.args[0].value) in ("%", "_"):
                return True
            node = func.value
            continue
        if isinstance(func, cst.Attribute) and func.attr.value in ("lower", "upper", "strip"):
            node = func.value
            continue
        return False
    return False


def _is_literal(node: cst.BaseExpression) -> bool:
    if isinstance(node, (cst.SimpleString, cst.ConcatenatedString, cst.Integer, cst.Float)):
        return True
    if isinstance(node, (cst.Tuple, cst.List, cst.Set)):
        return all(isinstance(e, cst.Element) and _is_literal(e.value) for e in node.elements)
    if isinstance(node, cst.Dict):
        return all(isinstance(e, cst.DictElement) and _is_literal(e.key) and _is_literal(e.value) for e in node.elements)
    if isinstance(node, cst.Call) and dotted_name(node.func) in ("frozenset", "set", "tuple") and len(node.args) == 1:
        return _is_literal(node.args[0].value)
    return False


def _how(query: cst.BaseExpression, builder: Builder, depth: int = 0) -> str:
    if isinstance(query, cst.Name) and depth < 3:
        for value in builder.scope.assigns.get(query.value, []):
            if builder.is_built(value):
                return _how(value, builder, depth + 1)
    if isinstance(query, cst.FormattedString):
        return "an f-string"
    if isinstance(query, cst.BinaryOperation):
        return "%-formatting" if isinstance(query.operator, cst.Modulo) else "string concatenation"
    if isinstance(query, cst.Call):
        return ".format()"
    return "string building"


def _short(code: str, limit: int = 40) -> str:
    code = " ".join(code.split())
    return code if len(code) <= limit else code[: limit - 3] + "..."
