"""The fast path: rules checked on the standard library's ``ast`` when no fix is wanted.

CPython's parser is about ten times faster than LibCST's and its tree is cheaper to walk, but it keeps no
formatting, so it cannot produce fixes. A rule may therefore carry an ``ast_checker``: a class that finds
the same mistakes on the ``ast`` tree and reports them with the fix safety the LibCST implementation would
attach. When the engine only checks (no ``--fix``, no SARIF fix edits), it runs these checkers in one
traversal of the ``ast`` tree and parses with LibCST only for rules without a checker, or whose checker
*deferred* on this file (``self.defer()``: "I cannot decide this one cheaply; run the full rule"). A
checker that defers on a rare shape and decides the common ones exactly is the intended pattern.

``tests/test_fast_path.py`` holds both implementations to the same findings (code, position, message,
fix safety) on every rule example, every fixture repo and a sample of real code.

Traversal order is source order, pre-order, with ``leave_`` after the children, like LibCST's; the one
difference is that a ``def``/``class``'s decorators are visited before its name, arguments and body (as
LibCST does), not after them (the ``ast`` field order).
"""

from __future__ import annotations

import ast
from remediation_lint.analysis.ast_walk import ast_walk, child_nodes
import re
from typing import TYPE_CHECKING, Any, Callable, ClassVar, Iterator, Mapping, Sequence

from remediation_lint.analysis.names import ast_dotted

if TYPE_CHECKING:  # pragma: no cover
    from remediation_lint.project import ModuleRef, ProjectIndex
    from remediation_lint.rule import FixSafety, Rule

FUNCTION_TYPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)
SCOPE_TYPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)
_DEF_HEAD = re.compile(r"(?:async\s+)?(?:def|class)\s+")


class AstImportMap:
    """Local name -> qualified dotted name, with the semantics of ``analysis.names.ImportMap``: filled
    from the module's top-level imports (looking into ``if``/``try``/``with`` blocks, not into defs) before
    the traversal, and updated with function-level imports as the traversal meets them."""

    __slots__ = ("_names", "relative")

    def __init__(self) -> None:
        self._names: dict[str, str] = {}
        self.relative: dict[str, tuple[int, str, str]] = {}

    def add(self, node: ast.Import | ast.ImportFrom) -> None:
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname:
                    self._names[alias.asname] = alias.name
                else:
                    head = alias.name.split(".", 1)[0]
                    self._names[head] = head
            return
        level = node.level or 0
        module = node.module or ""
        for alias in node.names:
            if alias.name == "*":
                return
            local = alias.asname or alias.name
            if level:
                self.relative[local] = (level, module, alias.name)
                self._names[local] = "." * level + (f"{module}." if module else "") + alias.name
            else:
                self._names[local] = f"{module}.{alias.name}" if module else alias.name

    def add_all(self, statements: Sequence[ast.stmt]) -> None:
        for stmt in statements:
            if isinstance(stmt, (ast.Import, ast.ImportFrom)):
                self.add(stmt)
            elif isinstance(stmt, (ast.If, ast.Try, ast.With, ast.AsyncWith)) or type(stmt).__name__ == "TryStar":
                self.add_all(getattr(stmt, "body", ()))
                self.add_all(getattr(stmt, "orelse", ()) or ())
                for handler in getattr(stmt, "handlers", ()) or ():
                    self.add_all(handler.body)
                self.add_all(getattr(stmt, "finalbody", ()) or ())

    def resolve(self, node: ast.AST | None) -> str | None:
        dotted = ast_dotted(node)
        return None if dotted is None else self.qualify(dotted)

    def qualify(self, dotted: str) -> str | None:
        head, _, rest = dotted.partition(".")
        target = self._names.get(head)
        if target is None:
            return None
        return f"{target}.{rest}" if rest else target

    def resolve_or_local(self, node: ast.AST | None) -> str | None:
        dotted = ast_dotted(node)
        if dotted is None:
            return None
        return self.qualify(dotted) or dotted

    def local_names_for(self, qualified: str) -> list[str]:
        return [local for local, full in self._names.items() if full == qualified]

    def __contains__(self, local: str) -> bool:
        return local in self._names


class AstReport:
    __slots__ = ("code", "message", "node", "fix_safety")

    def __init__(self, code: str, message: str, node: ast.AST, fix_safety: "FixSafety | None") -> None:
        self.code = code
        self.message = message
        self.node = node
        self.fix_safety = fix_safety


class AstContext:
    """Per-file state of the fast path, the ``ast`` twin of ``context.FileContext``."""

    def __init__(
        self,
        path: str,
        tree: ast.Module,
        source: bytes,
        project_getter: Callable[[], "ProjectIndex | None"] | None = None,
        encoding: str | None = None,
    ) -> None:
        self.path = path
        self.tree = tree
        self.source = source
        self._project_getter = project_getter
        self._project: "ProjectIndex | None | bool" = False
        self.imports = AstImportMap()
        self.imports.add_all(tree.body)
        #: ancestors of the node being visited, the node itself last
        self.stack: list[ast.AST] = []
        #: enclosing FunctionDef/AsyncFunctionDef/Lambda/ClassDef nodes, innermost last
        self.scopes: list[ast.AST] = []
        self.reports: list[AstReport] = []
        #: codes of the rules whose checker deferred this file to the LibCST implementation
        self.deferred: set[str] = set()
        self._module_ref: "ModuleRef | None | bool" = False
        #: every node of the tree by type, built on first use (``nodes()``)
        self.by_type: dict[type, list[ast.AST]] = {}
        self._parents: dict[int, ast.AST] | None = None
        self._lines: list[str] | None = None
        #: the source's encoding (None: from its cookie or BOM)
        self.encoding = encoding

    # -- project -------------------------------------------------------------------------------------
    @property
    def project(self) -> "ProjectIndex | None":
        if self._project is False:
            self._project = self._project_getter() if self._project_getter else None
        return self._project  # type: ignore[return-value]

    @property
    def module_ref(self) -> "ModuleRef | None":
        if self._module_ref is False:
            project = self.project
            self._module_ref = project.module_for_path(self.path) if project else None
        return self._module_ref  # type: ignore[return-value]

    # -- where are we? -------------------------------------------------------------------------------
    @property
    def filename(self) -> str:
        return self.path.replace("\\", "/").rsplit("/", 1)[-1]

    def is_test_file(self) -> bool:
        name = self.filename
        parts = self.path.replace("\\", "/").split("/")
        return name.startswith("test_") or name.endswith("_test.py") or name == "conftest.py" or "tests" in parts[:-1]

    def enclosing_function(self) -> ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda | None:
        for node in reversed(self.scopes):
            if isinstance(node, FUNCTION_TYPES):
                return node
            if isinstance(node, ast.ClassDef):
                return None
        return None

    def in_async_function(self) -> bool:
        return isinstance(self.enclosing_function(), ast.AsyncFunctionDef)

    def enclosing_class(self) -> ast.ClassDef | None:
        seen_function = False
        for node in reversed(self.scopes):
            if isinstance(node, ast.ClassDef):
                return node
            if isinstance(node, FUNCTION_TYPES):
                if seen_function:
                    return None
                seen_function = True
        return None

    def ancestors(self) -> Iterator[ast.AST]:
        """Ancestors of the current node, innermost first (the current node excluded)."""
        return reversed(self.stack[:-1])

    def parent(self) -> ast.AST | None:
        return self.stack[-2] if len(self.stack) >= 2 else None

    def inside(self, *types: type) -> ast.AST | None:
        """The innermost ancestor of one of ``types`` within the current function, or None."""
        for node in self.ancestors():
            if isinstance(node, types):
                return node
            if isinstance(node, SCOPE_TYPES):
                return None
        return None

    def parent_of(self, node: ast.AST) -> ast.AST | None:
        """The parent of any node of the tree (a map built on first use), for code outside the traversal."""
        if self._parents is None:
            parents: dict[int, ast.AST] = {}
            for parent in ast_walk(self.tree):
                for child in child_nodes(parent):
                    parents[id(child)] = parent
            self._parents = parents
        return self._parents.get(id(node))

    @property
    def lines(self) -> list[str]:
        """The decoded source lines (no line ends), as the engine numbers them."""
        if self._lines is None:
            from remediation_lint.engine import _decode_lines, _encoding_of

            self._lines = _decode_lines(self.source, self.encoding or _encoding_of(self.source))
        return self._lines

    def name_node(self, node: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) -> ast.AST | None:
        """A node spanning the name of a ``def``/``class`` (LibCST's ``node.name``), or None when the name
        is not on the keyword's line."""
        lines = self.lines
        if not 0 < node.lineno <= len(lines):
            return None
        text = lines[node.lineno - 1]
        start = char_column(text, node.col_offset)
        head = _DEF_HEAD.match(text, start)
        if head is None or not text.startswith(node.name, head.end()):
            return None
        col = len(text[: head.end()].encode("utf-8"))
        out = ast.AST()
        out.lineno = out.end_lineno = node.lineno  # type: ignore[attr-defined]
        out.col_offset = col  # type: ignore[attr-defined]
        out.end_col_offset = col + len(node.name.encode("utf-8"))  # type: ignore[attr-defined]
        return out

    def nodes(self, node_type: type) -> list[ast.AST]:
        """Every node of ``node_type`` in the file (one walk on first use, kept for the file)."""
        if not self.by_type:
            by_type: dict[type, list[ast.AST]] = {}
            for node in walk(self.tree):
                by_type.setdefault(type(node), []).append(node)
            self.by_type = by_type
        return self.by_type.get(node_type, [])

    # -- names ---------------------------------------------------------------------------------------
    def qualified(self, node: ast.AST | None) -> str | None:
        return self.imports.resolve(node)

    def call_name(self, call: ast.Call) -> str | None:
        return self.imports.resolve_or_local(call.func)

    @staticmethod
    def dotted(node: ast.AST | None) -> str | None:
        return ast_dotted(node)


class AstChecker:
    """The fast-path twin of a rule: ``visit_<ast type>``/``leave_<ast type>`` methods and ``finish``.

    One instance per file. ``self.rule`` is the rule class (its metadata, message, options' defaults),
    ``self.opts`` the effective options, ``self.context`` the ``AstContext``.
    """

    rule: ClassVar[type["Rule"]]

    def __init__(self, rule: type["Rule"], context: AstContext, options: Mapping[str, Any]) -> None:
        self.rule = rule  # type: ignore[misc]
        self.code = rule.code
        self.context = context
        self.opts: dict[str, Any] = {**rule.options, **options}

    def report(self, node: ast.AST, message: str | None = None, *, fix: "FixSafety | None" = None, **fmt: Any) -> None:
        """Report ``node``; ``fix`` is the safety of the fix the LibCST implementation attaches (None: no fix)."""
        text = message if message is not None else self.rule.message
        if fmt:
            text = text.format(**fmt)
        self.context.reports.append(AstReport(self.code, text, node, fix))

    def defer(self) -> None:
        """Hand this file to the rule's LibCST implementation (this checker's reports are dropped)."""
        self.context.deferred.add(self.code)

    def finish(self) -> None:
        """Called once after the traversal."""


# -- the traversal -----------------------------------------------------------------------------------
_METHODS: dict[type, tuple[list[tuple[str, str]], list[tuple[str, str]]]] = {}


def _methods(checker_cls: type) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    cached = _METHODS.get(checker_cls)
    if cached is None:
        names = dir(checker_cls)
        visits = [(n[6:], n) for n in names if n.startswith("visit_") and callable(getattr(checker_cls, n))]
        leaves = [(n[6:], n) for n in names if n.startswith("leave_") and callable(getattr(checker_cls, n))]
        cached = _METHODS[checker_cls] = (visits, leaves)
    return cached


#: fields that never hold child nodes worth visiting: names and values, and the expression context
#: (``Load``/``Store``/``Del`` singletons, which LibCST has no node for)
_SKIPPED_FIELDS = frozenset({"ctx", "id", "attr", "arg", "name", "asname", "module", "level", "kind",
                             "type_comment", "is_async", "conversion", "n", "s"})
_CHILD_FIELDS: dict[type, tuple[str, ...]] = {}
_DEFS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)


def _child_fields(kind: type) -> tuple[str, ...]:
    fields = _CHILD_FIELDS.get(kind)
    if fields is None:
        fields = tuple(f for f in kind._fields if f not in _SKIPPED_FIELDS)  # type: ignore[attr-defined]
        if kind in _DEFS:  # decorators first, as LibCST visits them
            fields = ("decorator_list", *(f for f in fields if f != "decorator_list"))
        if kind is ast.Constant:
            fields = ()
        _CHILD_FIELDS[kind] = fields
    return fields


def walk(node: ast.AST) -> list[ast.AST]:
    """Every node under ``node`` (itself first), breadth first like ``ast.walk`` but about twice as fast
    and without the ``Load``/``Store``/``Del`` context singletons. Returns a list."""
    out = [node]
    AST = ast.AST
    fields_of = _CHILD_FIELDS
    i = 0
    while i < len(out):
        current = out[i]
        i += 1
        kind = type(current)
        fields = fields_of.get(kind)
        if fields is None:
            fields = _child_fields(kind)
        for name in fields:
            value = getattr(current, name, None)
            if value.__class__ is list:
                for item in value:
                    if isinstance(item, AST):
                        out.append(item)
            elif isinstance(value, AST):
                out.append(value)
    return out


def run_checkers(
    ctx: AstContext,
    checkers: Sequence[AstChecker],
) -> list[tuple[str, BaseException]]:
    """One traversal for all checkers. A checker that raises is disabled and its failure returned."""
    visits: dict[type, list[Callable[[ast.AST], Any]]] = {}
    leaves: dict[type, list[Callable[[ast.AST], Any]]] = {}
    wanted: dict[str, list[tuple[Callable[[ast.AST], Any], bool]]] = {}
    for checker in checkers:
        v, lv = _methods(type(checker))
        for node_type, name in v:
            wanted.setdefault(node_type, []).append((getattr(checker, name), False))
        for node_type, name in lv:
            wanted.setdefault(node_type, []).append((getattr(checker, name), True))
    for node_type, methods in wanted.items():
        kind = getattr(ast, node_type, None)
        if isinstance(kind, type):
            visits[kind] = [m for m, leave in methods if not leave]
            leaves[kind] = [m for m, leave in methods if leave]
    failures: list[tuple[str, BaseException]] = []

    dead: set[str] = set()

    def fail(method: Callable[[ast.AST], Any], exc: BaseException) -> None:
        owner = method.__self__  # type: ignore[attr-defined]
        failures.append((owner.code, exc))
        dead.add(owner.code)
        for table in (visits, leaves):  # disable the checker for the rest of the file
            for key, listed in table.items():
                table[key] = [m for m in listed if m.__self__ is not owner]  # type: ignore[attr-defined]

    stack = ctx.stack
    scopes = ctx.scopes
    imports = ctx.imports
    scope_kinds = frozenset((ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef))
    import_kinds = frozenset((ast.Import, ast.ImportFrom))
    AST = ast.AST
    fields_of = _CHILD_FIELDS
    LEAVE = None
    # iterative pre-order walk; a None marker after a node's children means "leave it"
    work: list[ast.AST | None] = [ctx.tree]
    pop = work.pop
    push = work.append
    while work:
        node = pop()
        if node is LEAVE:
            node = stack.pop()
            kind = type(node)
            methods = leaves.get(kind)
            if methods:
                for method in methods:
                    if dead and method.__self__.code in dead:  # type: ignore[attr-defined]
                        continue
                    try:
                        method(node)
                    except RecursionError:
                        raise
                    except Exception as exc:  # a checker bug must not stop the others
                        fail(method, exc)
            if kind in scope_kinds and scopes and scopes[-1] is node:
                scopes.pop()
            continue
        kind = type(node)
        stack.append(node)
        if kind in scope_kinds:
            scopes.append(node)
        elif kind in import_kinds and len(stack) > 2:
            imports.add(node)  # type: ignore[arg-type]
        methods = visits.get(kind)
        if methods:
            for method in methods:
                if dead and method.__self__.code in dead:  # type: ignore[attr-defined]
                    continue
                try:
                    method(node)
                except RecursionError:
                    raise
                except Exception as exc:  # a checker bug must not stop the others
                    fail(method, exc)
        push(LEAVE)
        fields = fields_of.get(kind)
        if fields is None:
            fields = _child_fields(kind)
        children: list[ast.AST] = []
        for name in fields:
            value = getattr(node, name, None)
            if value.__class__ is list:
                for item in value:
                    if isinstance(item, AST):
                        children.append(item)
            elif isinstance(value, AST):
                children.append(value)
        if children:
            children.reverse()
            work.extend(children)
    for checker in checkers:
        if checker.code in dead:
            continue
        try:
            checker.finish()
        except Exception as exc:
            failures.append((checker.code, exc))
    failed_codes = {code for code, _ in failures}
    if failed_codes:
        # a crashed checker's partial reports are dropped; the LibCST implementation decides instead
        ctx.reports = [r for r in ctx.reports if r.code not in failed_codes]
        ctx.deferred.update(failed_codes)
    return failures


# -- positions ---------------------------------------------------------------------------------------
def char_column(line: str, byte_offset: int) -> int:
    """The character column of a UTF-8 byte offset into ``line`` (``ast`` counts bytes, LibCST characters)."""
    if line.isascii():
        return byte_offset
    return len(line.encode("utf-8")[:byte_offset].decode("utf-8", "replace"))


def span(node: ast.AST, lines: Sequence[str]) -> tuple[int, int, int, int]:
    """1-based line, 0-based character column, end line and end column of a node."""
    line = getattr(node, "lineno", 1) or 1
    col = getattr(node, "col_offset", 0) or 0
    end_line = getattr(node, "end_lineno", None) or line
    end_col = getattr(node, "end_col_offset", None)
    if end_col is None:
        end_col = col
    text = lines[line - 1] if 0 < line <= len(lines) else ""
    end_text = lines[end_line - 1] if 0 < end_line <= len(lines) else ""
    return line, char_column(text, col), end_line, char_column(end_text, end_col)
