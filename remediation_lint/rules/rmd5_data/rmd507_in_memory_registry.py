from __future__ import annotations

import re

import ast
from remediation_lint.analysis.ast_walk import child_nodes

import libcst as cst

from remediation_lint.analysis.handlers import AST_SIMPLE_STATEMENTS, ast_is_single_string, line_starts, source_segment, utf8_source
from remediation_lint.analysis.names import dotted_name
from remediation_lint.astcheck import AstChecker
from remediation_lint.project import ClassInfo
from remediation_lint.analysis.names import ast_dotted_as_cst as _cdotted
from remediation_lint.rule import Default, Invalid, Provenance, Rule, Severity, Valid

_STORAGE = re.compile(r"(repository|repo|store|storage|db|database|session|dao|persistence|client|conn|connection|engine)s?$", re.I)
_MODEL_DECORATORS = {"dataclass", "define", "frozen", "attrs", "model"}
_MODEL_BASES = {"BaseModel", "SQLModel", "Model", "Entity", "TypedDict", "NamedTuple"}
_AST_FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef)


class _Fast(AstChecker):
    """The ``ast`` twin of the rule below (check mode)."""

    def __init__(self, rule, context, options) -> None:
        super().__init__(rule, context, options)
        self._local_models: set[str] | None = None
        self._source: tuple[bytes, list[int]] | None = None

    def _src(self) -> tuple[bytes, list[int]]:
        if self._source is None:
            source = utf8_source(self.context.source)
            self._source = (source, line_starts(source))
        return self._source

    def _indented(self, body: list[ast.stmt]) -> bool:
        """An indented block (its first statement starts its line), not a one-line suite."""
        source, starts = self._src()
        first = body[0]
        return not source[starts[first.lineno - 1] : starts[first.lineno - 1] + first.col_offset].strip()

    def _string(self, value: ast.AST | None) -> str | None:
        """The source text of a LibCST ``SimpleString`` (one string literal), else None."""
        if isinstance(value, ast.Constant) and isinstance(value.value, (str, bytes)) and ast_is_single_string(value, *self._src()):
            return source_segment(value, *self._src())
        return None

    def _models_here(self) -> set[str]:
        if self._local_models is None:
            self._local_models = {
                stmt.name for stmt in self.context.tree.body if isinstance(stmt, ast.ClassDef) and _ast_model_like(stmt)
            }
        return self._local_models

    def _is_entity(self, name: str) -> bool:
        if name in self._models_here():
            return True
        project, ref = self.context.project, self.context.module_ref
        if project is None or ref is None or name not in self.context.imports:
            return False
        try:
            found = project.lookup(ref, name)
        except Exception:  # pragma: no cover - never fail a file on the project pass
            return False
        if not isinstance(found, ClassInfo):
            return False
        path = (found.module.path if found.module else "").replace("\\", "/")
        return (
            any(d.rsplit(".", 1)[-1] in _MODEL_DECORATORS for d in found.decorators)
            or any(b.rsplit(".", 1)[-1] in _MODEL_BASES for b in found.bases)
            or any(part in path for part in ("/entities", "/models", "/domain/"))
        )

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        if not node.name.endswith(tuple(self.opts["class_suffixes"])) or not self._indented(node.body):
            return
        dicts: dict[str, ast.AST] = {}
        methods = [s for s in node.body if isinstance(s, _AST_FUNCTIONS)]
        for small in node.body:
            if isinstance(small, AST_SIMPLE_STATEMENTS):
                name, value = _ast_assigned(small, self_attr=False)
                if name and _ast_empty_dict(value):
                    dicts[name] = small
        for method in methods:
            if method.name != "__init__":
                continue
            if self._injects_storage(method):
                return
            if not self._indented(method.body):
                continue
            for small in method.body:
                if not isinstance(small, AST_SIMPLE_STATEMENTS):
                    continue
                name, value = _ast_assigned(small, self_attr=True)
                if name and _ast_empty_dict(value):
                    dicts[name] = small
                elif name and isinstance(value, ast.Call) and _STORAGE.search((_cdotted(value.func) or "").rsplit(".", 1)[-1]):
                    return
        if not dicts:
            return
        for method in methods:
            if method.name == "__init__":
                continue
            params = self._annotated_params(method)
            for attr, entity in _ast_stores(method, set(dicts)):
                cls_name = params.get(entity, entity) if entity else None
                if cls_name and self._is_entity(cls_name):
                    if attr not in dicts:
                        continue  # a second store into a dict already reported
                    self.report(dicts.pop(attr), cls=node.name, attr=attr, entity=cls_name)
                    if not dicts:
                        return

    def _injects_storage(self, init: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
        args = init.args
        for p in (*args.posonlyargs, *args.args, *args.kwonlyargs):
            if p.arg in {"self", "cls"}:
                continue
            if _STORAGE.search(p.arg):
                return True
            ann = p.annotation
            string = self._string(ann)
            text = _cdotted(ann) or (string.strip("\"'") if string is not None else "")
            if text and _STORAGE.search(text.rsplit(".", 1)[-1]):
                return True
        return False

    def _annotated_params(self, method: ast.FunctionDef | ast.AsyncFunctionDef) -> dict[str, str]:
        out: dict[str, str] = {}
        for p in (*method.args.args, *method.args.kwonlyargs):
            ann = p.annotation
            string = self._string(ann)
            if string is not None:
                out[p.arg] = string.strip("\"'")
            elif ann is not None and _cdotted(ann):
                out[p.arg] = _cdotted(ann).rsplit(".", 1)[-1]  # type: ignore[union-attr]
        return out


def _ast_model_like(cls: ast.ClassDef) -> bool:
    for dec in cls.decorator_list:
        expr = dec.func if isinstance(dec, ast.Call) else dec
        if (_cdotted(expr) or "").rsplit(".", 1)[-1] in _MODEL_DECORATORS:
            return True
    return any((_cdotted(b.value if isinstance(b, ast.Starred) else b) or "").rsplit(".", 1)[-1] in _MODEL_BASES for b in cls.bases)


def _ast_assigned(small: ast.AST, self_attr: bool) -> tuple[str | None, ast.expr | None]:
    target: ast.expr | None = None
    value: ast.expr | None = None
    if isinstance(small, ast.Assign) and len(small.targets) == 1:
        target, value = small.targets[0], small.value
    elif isinstance(small, ast.AnnAssign):
        target, value = small.target, small.value
    if target is None:
        return None, None
    if self_attr:
        if isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name) and target.value.id == "self":
            return target.attr, value
        return None, None
    return (target.id, value) if isinstance(target, ast.Name) else (None, None)


def _ast_empty_dict(value: ast.expr | None) -> bool:
    if isinstance(value, ast.Dict):
        return not value.keys
    if isinstance(value, ast.Call) and not value.args and not value.keywords:
        return (_cdotted(value.func) or "").rsplit(".", 1)[-1] in {"dict", "OrderedDict"}
    return False


def _ast_stores(method: ast.FunctionDef | ast.AsyncFunctionDef, attrs: set[str]) -> list[tuple[str, str | None]]:
    """``_StoreFinder`` over the method's body (pre-order, not into nested functions)."""
    found: list[tuple[str, str | None]] = []
    todo: list[ast.AST] = list(reversed(method.body))
    while todo:
        node = todo.pop()
        if isinstance(node, _AST_FUNCTIONS):
            continue
        if isinstance(node, ast.Assign):
            for target in node.targets:
                if not isinstance(target, ast.Subscript):
                    continue
                owner = target.value
                if not (isinstance(owner, ast.Attribute) and isinstance(owner.value, ast.Name) and owner.value.id == "self"):
                    continue
                if owner.attr not in attrs:
                    continue
                value = node.value
                if isinstance(value, ast.Call):
                    found.append((owner.attr, (_cdotted(value.func) or "").rsplit(".", 1)[-1] or None))
                elif isinstance(value, ast.Name) or (
                    isinstance(value, ast.Constant) and (value.value is None or value.value is True or value.value is False)
                ):
                    found.append((owner.attr, _cdotted(value)))
        todo.extend(reversed(list(child_nodes(node))))
    return found


class InMemoryRegistry(Rule):
    """A service keeps its domain objects only in a dict: they vanish on restart. Inject a repository.

    ## What it does
    Finds service/registry classes (names ending in `Service`, `Registry`, `Manager`; configurable)
    that keep instances of the project's entity/model classes in a dict attribute (`self._sops = {}`)
    filled by a method (`self._sops[sop.id] = sop`), while no repository or storage collaborator is
    injected (no `__init__` parameter or attribute named or typed like a repository, store, session,
    db or client). A dict that caches in front of an injected repository is left alone.

    ## Why is this bad?
    Everything registered is lost on restart and is invisible to other worker processes, so a
    multi-worker deployment sees a different registry in every process. khala's SOP registry kept its
    SOPs in `self._sops` (seed 000, high 4: "In-memory storage. Inject `SOPRepository` and implement
    persistence").

    ## Fix
    Inject a repository (`def __init__(self, repository: SOPRepository)`) and read and write through
    it; keep a dict only as a cache in front of it.
    """

    code = "RMD507"
    ast_checker = _Fast
    name = "in-memory-registry"
    message = "{cls}.{attr} keeps {entity} objects only in memory: inject a repository and persist them (keep the dict as a cache at most)"
    severity = Severity.HIGH
    default = Default.PREVIEW
    provenance = (Provenance("000_18f8732ba4a86cc0.txt", "HIGH, item 4 (Fix SOP Registry: in-memory storage in self._sops)", "khala"),)
    triggers = (b"Service", b"Registry", b"Manager")
    needs_project = True
    options = {"class_suffixes": ("Service", "Registry", "Manager")}
    option_docs = {"class_suffixes": "class-name endings of services/registries that should persist their objects"}
    limitations = "Entity classes imported from outside the project (unresolved) are not recognised: no report."

    VALID = [
        Valid(
            """
            from dataclasses import dataclass

            @dataclass
            class SOP:
                id: str
                title: str

            class SOPService:
                def __init__(self, repository: "SOPRepository") -> None:
                    self._repository = repository
                    self._cache = {}

                async def register(self, sop: SOP) -> None:
                    await self._repository.save(sop)
                    self._cache[sop.id] = sop

                async def get(self, sop_id: str) -> SOP | None:
                    if sop_id not in self._cache:
                        self._cache[sop_id] = await self._repository.get(sop_id)
                    return self._cache[sop_id]
            """
        ),
        Valid(
            """
            class HandlerRegistry:
                def __init__(self):
                    self._handlers = {}

                def register(self, name, handler):
                    self._handlers[name] = handler
            """
        ),
        Valid(
            """
            from dataclasses import dataclass

            @dataclass
            class Job:
                id: str

            class JobService:
                def __init__(self, db):
                    self.db = db
                    self._pending = {}

                def submit(self, job: Job):
                    self._pending[job.id] = job
                    self.db.insert(job)
            """
        ),
        Valid(
            """
            from pydantic import BaseModel

            class Tool(BaseModel):
                name: str

            class ToolCatalog:
                def __init__(self):
                    self._tools = {}

                def add(self, tool: Tool):
                    self._tools[tool.name] = tool
            """
        ),
    ]

    INVALID = [
        Invalid(
            """
            from dataclasses import dataclass

            @dataclass
            class SOP:
                id: str
                title: str

            class SOPRegistry:
                def __init__(self) -> None:
                    self._sops: dict[str, SOP] = {}

                def register(self, sop: SOP) -> None:
                    self._sops[sop.id] = sop

                def get(self, sop_id: str) -> SOP | None:
                    return self._sops.get(sop_id)
            """,
            line=10,
        ),
        Invalid(
            """
            from pydantic import BaseModel

            class Agent(BaseModel):
                name: str

            class AgentManager:
                def __init__(self, settings):
                    self.settings = settings
                    self.agents = dict()

                def create(self, name):
                    self.agents[name] = Agent(name=name)
                    return self.agents[name]
            """,
            line=9,
        ),
        Invalid(
            """
            from dataclasses import dataclass

            @dataclass
            class Workflow:
                id: str

            class WorkflowService:
                _workflows = {}

                def save(self, wf: Workflow):
                    self._workflows[wf.id] = wf
            """,
            line=8,
        ),
        Invalid(
            """
            import dataclasses

            @dataclasses.dataclass
            class Skill:
                name: str

            class SkillRegistryService:
                def __init__(self, logger):
                    self.log = logger
                    self._skills = {}

                async def add_skill(self, skill: "Skill"):
                    self._skills[skill.name] = skill
            """,
            line=10,
        ),
    ]

    def __init__(self, context, options) -> None:
        super().__init__(context, options)
        self._local_models: set[str] | None = None

    # -- which classes are entities/models? ----------------------------------------------------------
    def _models_here(self) -> set[str]:
        if self._local_models is None:
            self._local_models = set()
            for stmt in self.context.module.body:
                if isinstance(stmt, cst.ClassDef) and _model_like(stmt):
                    self._local_models.add(stmt.name.value)
        return self._local_models

    def _is_entity(self, name: str) -> bool:
        if name in self._models_here():
            return True
        project, ref = self.context.project, self.context.module_ref
        if project is None or ref is None or name not in self.context.imports:
            return False
        try:
            found = project.lookup(ref, name)
        except Exception:  # pragma: no cover - never fail a file on the project pass
            return False
        if not isinstance(found, ClassInfo):
            return False
        path = (found.module.path if found.module else "").replace("\\", "/")
        return (
            any(d.rsplit(".", 1)[-1] in _MODEL_DECORATORS for d in found.decorators)
            or any(b.rsplit(".", 1)[-1] in _MODEL_BASES for b in found.bases)
            or any(part in path for part in ("/entities", "/models", "/domain/"))
        )

    # -- the class -----------------------------------------------------------------------------------
    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        if not node.name.value.endswith(tuple(self.opts["class_suffixes"])) or not isinstance(node.body, cst.IndentedBlock):
            return
        dicts: dict[str, cst.CSTNode] = {}
        methods = [s for s in node.body.body if isinstance(s, cst.FunctionDef)]
        for stmt in node.body.body:  # class-level `_things = {}`
            if isinstance(stmt, cst.SimpleStatementLine):
                for small in stmt.body:
                    name, value = _assigned(small, self_attr=False)
                    if name and _empty_dict(value):
                        dicts[name] = small
        for method in methods:
            if method.name.value != "__init__":
                continue
            if self._injects_storage(method):
                return
            for stmt in _statements(method.body):
                for small in stmt.body if isinstance(stmt, cst.SimpleStatementLine) else ():
                    name, value = _assigned(small, self_attr=True)
                    if name and _empty_dict(value):
                        dicts[name] = small
                    elif name and isinstance(value, cst.Call) and _STORAGE.search((dotted_name(value.func) or "").rsplit(".", 1)[-1]):
                        return
        if not dicts:
            return
        for method in methods:
            if method.name.value == "__init__":
                continue
            params = _annotated_params(method)
            for attr, entity in _stores(method, set(dicts)):
                cls_name = params.get(entity, entity) if entity else None
                if cls_name and self._is_entity(cls_name):
                    if attr not in dicts:
                        continue  # a second store into a dict already reported
                    self.report(dicts.pop(attr), cls=node.name.value, attr=attr, entity=cls_name)
                    if not dicts:
                        return

    def _injects_storage(self, init: cst.FunctionDef) -> bool:
        params = init.params
        for p in (*params.posonly_params, *params.params, *params.kwonly_params):
            if p.name.value in {"self", "cls"}:
                continue
            if _STORAGE.search(p.name.value):
                return True
            ann = p.annotation.annotation if p.annotation is not None else None
            text = dotted_name(ann) or (ann.value.strip("\"'") if isinstance(ann, cst.SimpleString) else "")
            if text and _STORAGE.search(text.rsplit(".", 1)[-1]):
                return True
        return False


# -- helpers -----------------------------------------------------------------------------------------
def _model_like(cls: cst.ClassDef) -> bool:
    for dec in cls.decorators:
        expr = dec.decorator.func if isinstance(dec.decorator, cst.Call) else dec.decorator
        if (dotted_name(expr) or "").rsplit(".", 1)[-1] in _MODEL_DECORATORS:
            return True
    return any((dotted_name(b.value) or "").rsplit(".", 1)[-1] in _MODEL_BASES for b in cls.bases)


def _statements(body: cst.BaseSuite) -> list[cst.BaseStatement]:
    return list(body.body) if isinstance(body, cst.IndentedBlock) else []


def _assigned(small: cst.CSTNode, self_attr: bool) -> tuple[str | None, cst.BaseExpression | None]:
    target: cst.BaseExpression | None = None
    value: cst.BaseExpression | None = None
    if isinstance(small, cst.Assign) and len(small.targets) == 1:
        target, value = small.targets[0].target, small.value
    elif isinstance(small, cst.AnnAssign):
        target, value = small.target, small.value
    if target is None:
        return None, None
    if self_attr:
        if isinstance(target, cst.Attribute) and isinstance(target.value, cst.Name) and target.value.value == "self":
            return target.attr.value, value
        return None, None
    return (target.value, value) if isinstance(target, cst.Name) else (None, None)


def _empty_dict(value: cst.BaseExpression | None) -> bool:
    if isinstance(value, cst.Dict):
        return not value.elements
    if isinstance(value, cst.Call) and not value.args:
        return (dotted_name(value.func) or "").rsplit(".", 1)[-1] in {"dict", "OrderedDict"}
    return False


def _annotated_params(method: cst.FunctionDef) -> dict[str, str]:
    out: dict[str, str] = {}
    for p in (*method.params.params, *method.params.kwonly_params):
        ann = p.annotation.annotation if p.annotation is not None else None
        if isinstance(ann, cst.SimpleString):
            out[p.name.value] = ann.value.strip("\"'")
        elif ann is not None and dotted_name(ann):
            out[p.name.value] = dotted_name(ann).rsplit(".", 1)[-1]  # type: ignore[union-attr]
    return out


class _StoreFinder(cst.CSTVisitor):
    """``self.<attr>[key] = value``: which attribute, and the value's class or parameter name."""

    def __init__(self, attrs: set[str]) -> None:
        self.attrs = attrs
        self.found: list[tuple[str, str | None]] = []

    def visit_Assign(self, node: cst.Assign) -> None:
        for t in node.targets:
            target = t.target
            if not isinstance(target, cst.Subscript):
                continue
            owner = target.value
            if not (isinstance(owner, cst.Attribute) and isinstance(owner.value, cst.Name) and owner.value.value == "self"):
                continue
            attr = owner.attr.value
            if attr not in self.attrs:
                continue
            value = node.value
            if isinstance(value, cst.Call):
                self.found.append((attr, (dotted_name(value.func) or "").rsplit(".", 1)[-1] or None))
            elif isinstance(value, cst.Name):
                self.found.append((attr, value.value))

    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        return False


def _stores(method: cst.FunctionDef, attrs: set[str]) -> list[tuple[str, str | None]]:
    finder = _StoreFinder(attrs)
    method.body.visit(finder)
    return finder.found
