"""FastAPI routes and their authentication dependencies, in one module and across the project.

Used by RMD107 (route-without-auth) and RMD110 (token-in-query-string). The one-module part reads the
LibCST tree (route decorators, ``Depends``/``Security`` parameters, ``Annotated`` aliases, routers built
with ``dependencies=[...]``); the project part reads the ``ast`` trees of the project pass: a dependency
imported from another module is followed to its definition (a dependency that itself depends on an auth
dependency authenticates too), and ``include_router(router, dependencies=[...])`` in the app module is
found wherever it is. Anything that cannot be resolved is ``UNKNOWN``, and callers do not report on it.
"""

from __future__ import annotations

import ast
from remediation_lint.analysis.ast_walk import ast_walk
import re
import weakref
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

import libcst as cst

from remediation_lint.analysis.names import ast_dotted as _ast_dotted, dotted_name
from remediation_lint.knowledge.web_auth import DEPENDENCY_MARKERS, ROUTE_METHODS, ROUTER_CLASSES

#: ``{project_id}`` / ``{path:path}`` parameters of a route path
PATH_PARAM_RE = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)(?::[^}]*)?\}")

AUTH = "auth"
NOT_AUTH = "not-auth"
UNKNOWN = "unknown"


def last_part(dotted: str | None) -> str:
    return (dotted or "").rsplit(".", 1)[-1]


# -- LibCST side: one module -----------------------------------------------------------------------
@dataclass
class Route:
    func: cst.FunctionDef
    owner: str  # the router/app variable name
    method: str
    path: str | None
    decorator_call: cst.Call


def route_of(func: cst.FunctionDef, routers: Iterable[str] | None = None) -> Route | None:
    """The route a function registers through ``@router.<method>(path)``, or None."""
    for dec in func.decorators:
        call = dec.decorator
        if not isinstance(call, cst.Call) or not isinstance(call.func, cst.Attribute):
            continue
        method = call.func.attr.value
        if method not in ROUTE_METHODS:
            continue
        owner = dotted_name(call.func.value)
        if owner is None or (routers is not None and owner not in routers):
            continue
        path = None
        for arg in call.args:
            if arg.keyword is None or arg.keyword.value == "path":
                if isinstance(arg.value, cst.SimpleString):
                    value = arg.value.evaluated_value
                    path = value if isinstance(value, str) else None
                break
        return Route(func, owner, method, path, call)
    return None


def dependency_call_target(call: cst.BaseExpression) -> tuple[str, cst.BaseExpression | None] | None:
    """For ``Depends(x)``/``Security(x)``: (marker, x); x is None for a bare ``Depends()``."""
    if not isinstance(call, cst.Call):
        return None
    marker = last_part(dotted_name(call.func))
    if marker not in DEPENDENCY_MARKERS:
        return None
    for arg in call.args:
        if arg.keyword is None or arg.keyword.value == "dependency":
            return marker, arg.value
    return marker, None


def annotated_dependency(annotation: cst.BaseExpression | None) -> cst.Call | None:
    """The ``Depends(...)`` inside ``Annotated[T, Depends(...)]``."""
    if not isinstance(annotation, cst.Subscript) or last_part(dotted_name(annotation.value)) != "Annotated":
        return None
    for element in annotation.slice[1:]:
        sub = element.slice
        if isinstance(sub, cst.Index) and dependency_call_target(sub.value) is not None:
            return sub.value  # type: ignore[return-value]
    return None


def all_params(func: cst.FunctionDef) -> list[cst.Param]:
    p = func.params
    out = [*p.posonly_params, *p.params, *p.kwonly_params]
    return out


def list_dependencies(value: cst.BaseExpression | None) -> list[cst.Call] | None:
    """The ``Depends(...)`` calls of a ``dependencies=[...]`` list; None when it is not a literal list."""
    if not isinstance(value, (cst.List, cst.Tuple)):
        return None
    out = []
    for element in value.elements:
        if not isinstance(element, cst.Element):
            return None
        if dependency_call_target(element.value) is None:
            return None
        out.append(element.value)
    return out


def keyword(call: cst.Call, name: str) -> cst.BaseExpression | None:
    for arg in call.args:
        if arg.keyword is not None and arg.keyword.value == name:
            return arg.value
    return None


def module_routers(module: cst.Module) -> dict[str, cst.Call]:
    """Module-level ``name = APIRouter(...)`` / ``FastAPI(...)``: name -> constructor call."""
    out: dict[str, cst.Call] = {}
    for stmt in module.body:
        if not isinstance(stmt, cst.SimpleStatementLine):
            continue
        for small in stmt.body:
            if isinstance(small, (cst.Assign, cst.AnnAssign)) and isinstance(small.value, cst.Call):
                if last_part(dotted_name(small.value.func)) not in ROUTER_CLASSES:
                    continue
                targets = [t.target for t in small.targets] if isinstance(small, cst.Assign) else [small.target]
                for target in targets:
                    if isinstance(target, cst.Name):
                        out[target.value] = small.value
    return out


def module_functions(module: cst.Module) -> dict[str, cst.FunctionDef]:
    return {stmt.name.value: stmt for stmt in module.body if isinstance(stmt, cst.FunctionDef)}


def module_annotated_aliases(module: cst.Module) -> dict[str, cst.Call]:
    """``CurrentUser = Annotated[dict, Depends(get_current_user)]`` -> {"CurrentUser": Depends(...)}."""
    out: dict[str, cst.Call] = {}
    for stmt in module.body:
        if not isinstance(stmt, cst.SimpleStatementLine):
            continue
        for small in stmt.body:
            if isinstance(small, cst.Assign) and len(small.targets) == 1 and isinstance(small.targets[0].target, cst.Name):
                dep = annotated_dependency(small.value)
                if dep is not None:
                    out[small.targets[0].target.value] = dep
    return out


# -- ast side: the project ------------------------------------------------------------------------


def _ast_dependency(node: ast.AST | None) -> tuple[str, ast.AST | None] | None:
    if not isinstance(node, ast.Call):
        return None
    marker = last_part(_ast_dotted(node.func))
    if marker not in DEPENDENCY_MARKERS:
        return None
    if node.args:
        return marker, node.args[0]
    for kw in node.keywords:
        if kw.arg == "dependency":
            return marker, kw.value
    return marker, None


def _ast_param_dependencies(func: ast.FunctionDef | ast.AsyncFunctionDef) -> list[tuple[str, ast.AST | None]]:
    args = func.args
    out = []
    for default in [*args.defaults, *(d for d in args.kw_defaults if d is not None)]:
        dep = _ast_dependency(default)
        if dep is not None:
            out.append(dep)
    for arg in [*args.posonlyargs, *args.args, *args.kwonlyargs]:
        ann = arg.annotation
        if isinstance(ann, ast.Subscript) and last_part(_ast_dotted(ann.value)) == "Annotated":
            elts = ann.slice.elts if isinstance(ann.slice, ast.Tuple) else []
            for element in elts[1:]:
                dep = _ast_dependency(element)
                if dep is not None:
                    out.append(dep)
    return out


@dataclass
class Include:
    """An ``include_router`` call: who includes what, and with which auth."""

    includer: Path
    receiver: str
    target: tuple[Path, str] | None  # (module path, router attribute) of the included router
    auth: str  # AUTH / NOT_AUTH / UNKNOWN for the dependencies given (and the receiver's own)


@dataclass
class _ProjectAuth:
    includes: list[Include] | None = None
    classified: dict[tuple[Path, str], str] = field(default_factory=dict)
    module_has_auth_route: dict[Path, bool] = field(default_factory=dict)


_CACHE: "weakref.WeakKeyDictionary[object, dict[tuple, _ProjectAuth]]" = weakref.WeakKeyDictionary()


class AuthResolver:
    """Answers "does this dependency authenticate?" for one file, through the project when there is one."""

    def __init__(self, ctx, auth_names: Iterable[str], depth: int = 6) -> None:
        self.ctx = ctx
        self.auth_names = frozenset(auth_names)
        self.depth = depth
        self.project = ctx.project
        self.ref = ctx.module_ref if ctx.project is not None else None
        self.local_functions = module_functions(ctx.module)
        self.aliases = module_annotated_aliases(ctx.module)
        if self.project is not None:
            per_project = _CACHE.setdefault(self.project, {})
            self.shared = per_project.setdefault((self.auth_names,), _ProjectAuth())
        else:
            self.shared = _ProjectAuth()

    # one module (LibCST) ---------------------------------------------------------------------------
    def classify_expr(self, target: cst.BaseExpression | None, marker: str = "Depends", seen: frozenset = frozenset()) -> str:
        if marker == "Security":
            return AUTH
        if target is None:
            return UNKNOWN
        if isinstance(target, cst.Call):
            # ``Depends(RoleChecker("admin"))``: a callable instance; its class name decides
            name = last_part(dotted_name(target.func))
            return AUTH if name in self.auth_names else UNKNOWN
        dotted = dotted_name(target)
        if dotted is None:
            return UNKNOWN
        if last_part(dotted) in self.auth_names:
            return AUTH
        local = self.local_functions.get(dotted)
        if local is not None and dotted not in seen and len(seen) < self.depth:
            return self.classify_local(local, seen | {dotted})
        if self.ref is not None and "." not in dotted and dotted in self.local_functions:
            return UNKNOWN
        if self.ref is not None:
            return self.classify_project(self.ref, dotted, 0)
        return UNKNOWN

    def classify_local(self, func: cst.FunctionDef, seen: frozenset = frozenset()) -> str:
        result = NOT_AUTH
        for dep in self.param_dependency_calls(func):
            marker, target = dependency_call_target(dep)  # type: ignore[misc]
            verdict = self.classify_expr(target, marker, seen)
            if verdict == AUTH:
                return AUTH
            if verdict == UNKNOWN:
                result = UNKNOWN
        if body_calls_any(func, self.auth_names):
            return AUTH
        return result

    def param_dependency_calls(self, func: cst.FunctionDef) -> list[cst.Call]:
        out = []
        for param in all_params(func):
            dep = self.param_dependency(param)
            if dep is not None:
                out.append(dep)
        return out

    def param_dependency(self, param: cst.Param) -> cst.Call | None:
        if param.default is not None and dependency_call_target(param.default) is not None:
            return param.default  # type: ignore[return-value]
        ann = param.annotation.annotation if param.annotation is not None else None
        dep = annotated_dependency(ann)
        if dep is not None:
            return dep
        if isinstance(ann, cst.Name) and ann.value in self.aliases:
            return self.aliases[ann.value]
        return None

    def annotation_is_unknown_alias(self, param: cst.Param) -> bool:
        """A parameter annotated with a name imported from a project module that we cannot read."""
        ann = param.annotation.annotation if param.annotation is not None else None
        if not isinstance(ann, cst.Name) or self.ref is None:
            return False
        imported = self.ref.summary.imports.get(ann.value)
        if imported is None:
            return False
        target, rest = self.ref.qualify(ann.value)
        if target is None or not rest:
            return False
        if rest in target.summary.classes or rest in target.summary.functions:
            return False
        return self._ast_alias(target, rest) is not None

    # project (ast) ---------------------------------------------------------------------------------
    def _ast_alias(self, ref, name: str) -> ast.AST | None:
        tree = ref.summary.tree
        if tree is None:
            return None
        for stmt in tree.body:
            if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name):
                if stmt.targets[0].id == name and isinstance(stmt.value, ast.Subscript):
                    return stmt.value
        return None

    def classify_project(self, ref, dotted: str, depth: int) -> str:
        key = (ref.path, dotted)
        cached = self.shared.classified.get(key)
        if cached is not None:
            return cached
        self.shared.classified[key] = UNKNOWN  # cycle guard
        verdict = self._classify_project(ref, dotted, depth)
        self.shared.classified[key] = verdict
        return verdict

    def _classify_project(self, ref, dotted: str, depth: int) -> str:
        if last_part(dotted) in self.auth_names:
            return AUTH
        if depth > self.depth or self.project is None:
            return UNKNOWN
        found = self.project.lookup(ref, dotted)
        info_node = getattr(found, "node", None)
        module = getattr(found, "module", None)
        if not isinstance(info_node, (ast.FunctionDef, ast.AsyncFunctionDef)) or module is None:
            return UNKNOWN
        fref = self.project.module_for_path(module.path)
        if fref is None:
            return UNKNOWN
        result = NOT_AUTH
        for marker, target in _ast_param_dependencies(info_node):
            if marker == "Security":
                return AUTH
            inner = _ast_dotted(target) if target is not None else None
            if inner is None:
                result = UNKNOWN
                continue
            verdict = self.classify_project(fref, inner, depth + 1)
            if verdict == AUTH:
                return AUTH
            if verdict == UNKNOWN:
                result = UNKNOWN
        for sub in ast_walk(info_node):
            if isinstance(sub, ast.Call) and last_part(_ast_dotted(sub.func)) in self.auth_names:
                return AUTH
        return result

    def _ast_list_auth(self, ref, value: ast.AST | None) -> str:
        if value is None:
            return NOT_AUTH
        if not isinstance(value, (ast.List, ast.Tuple)):
            return UNKNOWN
        result = NOT_AUTH
        for element in value.elts:
            dep = _ast_dependency(element)
            if dep is None:
                return UNKNOWN
            marker, target = dep
            if marker == "Security":
                return AUTH
            dotted = _ast_dotted(target) if target is not None else None
            verdict = self.classify_project(ref, dotted, 1) if dotted else UNKNOWN
            if verdict == AUTH:
                return AUTH
            if verdict == UNKNOWN:
                result = UNKNOWN
        return result

    def includes(self) -> list[Include]:
        """Every ``X.include_router(router, ...)`` of the project, computed once per project."""
        if self.shared.includes is not None:
            return self.shared.includes
        out: list[Include] = []
        if self.project is not None:
            for ref in self.project.all_modules():
                tree = ref.summary.tree
                if tree is None:
                    continue
                routers = _ast_module_routers(tree)
                for node in ast_walk(tree):
                    if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "include_router"):
                        continue
                    if not node.args:
                        continue
                    receiver = _ast_dotted(node.func.value) or ""
                    deps = next((kw.value for kw in node.keywords if kw.arg == "dependencies"), None)
                    auth = self._ast_list_auth(ref, deps)
                    if auth != AUTH and receiver in routers:
                        own = self._ast_list_auth(ref, routers[receiver])
                        if own != NOT_AUTH:
                            auth = own
                    target = None
                    dotted = _ast_dotted(node.args[0])
                    if dotted:
                        module_ref, rest = ref.qualify(dotted)
                        if module_ref is not None and rest and "." not in rest:
                            target = (module_ref.path, rest)
                    out.append(Include(ref.path, receiver, target, auth))
        self.shared.includes = out
        return out

    def module_has_auth_route(self, path: Path) -> bool:
        cached = self.shared.module_has_auth_route.get(path)
        if cached is not None:
            return cached
        result = False
        ref = self.project.module_for_path(path) if self.project is not None else None
        tree = ref.summary.tree if ref is not None else None
        if tree is not None:
            routers = _ast_module_routers(tree)
            if any(self._ast_list_auth(ref, deps) == AUTH for deps in routers.values()):
                result = True
            for node in ast_walk(tree):
                if result:
                    break
                if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    continue
                if not any(_ast_is_route(dec) for dec in node.decorator_list):
                    continue
                for marker, target in _ast_param_dependencies(node):
                    dotted = _ast_dotted(target) if target is not None else None
                    if marker == "Security" or (dotted and self.classify_project(ref, dotted, 1) == AUTH):
                        result = True
                        break
        self.shared.module_has_auth_route[path] = result
        return result


def _ast_is_route(dec: ast.AST) -> bool:
    return isinstance(dec, ast.Call) and isinstance(dec.func, ast.Attribute) and dec.func.attr in ROUTE_METHODS


def _ast_module_routers(tree: ast.Module) -> dict[str, ast.AST | None]:
    """Module-level routers: name -> their ``dependencies=`` value (None when absent)."""
    out: dict[str, ast.AST | None] = {}
    for stmt in tree.body:
        if isinstance(stmt, (ast.Assign, ast.AnnAssign)) and isinstance(stmt.value, ast.Call):
            if last_part(_ast_dotted(stmt.value.func)) not in ROUTER_CLASSES:
                continue
            targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
            deps = next((kw.value for kw in stmt.value.keywords if kw.arg == "dependencies"), None)
            for target in targets:
                if isinstance(target, ast.Name):
                    out[target.id] = deps
    return out


class _NameUse(cst.CSTVisitor):
    def __init__(self, names: frozenset[str], calls: frozenset[str]) -> None:
        self.names = names
        self.calls = calls
        self.used: set[str] = set()
        self.called = False
        self.strings: list[str] = []

    def visit_Name(self, node: cst.Name) -> None:
        if node.value in self.names:
            self.used.add(node.value)

    def visit_Call(self, node: cst.Call) -> None:
        if last_part(dotted_name(node.func)) in self.calls:
            self.called = True

    def visit_SimpleString(self, node: cst.SimpleString) -> None:
        self.strings.append(node.value.lower())


def scan_body(func: cst.FunctionDef, names: Iterable[str], calls: Iterable[str]) -> _NameUse:
    """Which of ``names`` the body reads, whether it calls one of ``calls``, and its string literals."""
    visitor = _NameUse(frozenset(names), frozenset(calls))
    func.body.visit(visitor)
    return visitor


def body_calls_any(func: cst.FunctionDef, calls: Iterable[str]) -> bool:
    return scan_body(func, (), calls).called
