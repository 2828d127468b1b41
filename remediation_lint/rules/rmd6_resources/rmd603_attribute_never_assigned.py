from __future__ import annotations

import ast

import libcst as cst

from remediation_lint.analysis.class_attributes import ClassResolver
from remediation_lint.analysis.names import ast_dotted, dotted_name
from remediation_lint.astcheck import AstChecker
from remediation_lint.rule import Invalid, Provenance, Rule, Severity, Valid

_AST_FUNCS = (ast.FunctionDef, ast.AsyncFunctionDef)


class _Fast(AstChecker):
    """The ``ast`` twin of the rule below (check mode)."""

    def __init__(self, rule, context, options) -> None:
        super().__init__(rule, context, options)
        self._classes: list[tuple[ast.ClassDef, dict[str, ast.Attribute]]] = []
        self._reads: dict[int, dict[str, ast.Attribute]] = {}
        self._names: dict[str, int] = {}

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        if len(self.context.scopes) == 1:
            self._names[node.name] = self._names.get(node.name, 0) + 1
            reads: dict[str, ast.Attribute] = {}
            self._classes.append((node, reads))
            self._reads[id(node)] = reads

    def visit_Attribute(self, node: ast.Attribute) -> None:
        value = node.value
        if not isinstance(value, ast.Name) or value.id != "self":
            return
        attr = node.attr
        if attr.startswith("__") and attr.endswith("__"):
            return
        ctx = self.context
        method = None
        cls = None
        for scope in reversed(ctx.scopes):
            if isinstance(scope, ast.ClassDef):
                cls = scope
                break
            if method is not None and _ast_binds_self(method):
                return
            method = scope
        if cls is None or not isinstance(method, _AST_FUNCS) or not _ast_self_method(method):
            return
        reads = self._reads.get(id(cls))
        if reads is None or attr in reads:
            return
        parent = ctx.parent()
        if isinstance(parent, ast.Call) and parent.func is node:
            return
        if _ast_guarded_by_attribute_error(ctx):
            return
        reads[attr] = node

    def finish(self) -> None:
        if not self._classes or not any(self._reads.values()) or self.context.project is None:
            return
        resolver: ClassResolver | None = None
        for node, reads in self._classes:
            if not reads or self._names.get(node.name, 0) != 1:
                continue
            if resolver is None:
                resolver = ClassResolver(self.context)
            info = resolver.class_info(node.name)
            if info is None or resolver.is_mixin_like(info):
                continue
            assigned = resolver.assigned(info)
            if assigned is None:
                continue
            missing = [(attr, read) for attr, read in reads.items() if attr not in assigned]
            if not missing:
                continue
            assigned = resolver.assigned(info, stores=True)
            if assigned is None:
                continue
            missing = [(attr, read) for attr, read in missing if attr not in assigned]
            if not missing:
                continue
            has_subclasses, sub_names = resolver.subclass_names(info)
            if has_subclasses and (sub_names is None or "__init__" not in info.methods):
                continue
            for attr, read in missing:
                if sub_names and attr in sub_names:
                    continue
                self.report(read, attr=attr, cls=node.name)


def _ast_self_method(func: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    args = func.args
    first = (args.posonlyargs or args.args or (None,))[0]
    if first is None or first.arg != "self":
        return False
    for dec in func.decorator_list:
        if ast_dotted(dec.func if isinstance(dec, ast.Call) else dec) in ("staticmethod", "classmethod"):
            return False
    return True


def _ast_binds_self(func: ast.AST) -> bool:
    args = func.args  # type: ignore[attr-defined]
    return any(a.arg == "self" for a in (*args.posonlyargs, *args.args, *args.kwonlyargs))


def _ast_guarded_by_attribute_error(ctx) -> bool:
    previous = None
    for node in ctx.ancestors():
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)):
            return False
        if isinstance(node, ast.Try) and previous is not None and any(previous is stmt for stmt in node.body):
            for handler in node.handlers:
                if handler.type is None:
                    return True
                for expr in (handler.type.elts if isinstance(handler.type, ast.Tuple) else [handler.type]):
                    name = ast_dotted(expr) or ""
                    if name.rsplit(".", 1)[-1] in ("AttributeError", "Exception", "BaseException"):
                        return True
        previous = node
    return False


class AttributeNeverAssigned(Rule):
    """`self.x` is read in a class where nothing assigns it: an `AttributeError` at run time.

    ## What it does
    Finds `self.<name>` read in a method of a class where no method, class-body statement (assignment,
    annotation, `def`, nested class) or base class defined in the project assigns `<name>`. Each
    attribute is reported once per class, on its first read (later reads of the same attribute would
    only repeat the finding).

    Nothing is reported when the attribute set cannot be known: a base that does not resolve to a
    project class (library classes, `Exception`, `Enum`, subscripted or computed bases), `setattr`,
    `__dict__`, `vars()` or `__setattr__` use, `__slots__`, `__getattr__`/`__getattribute__`, `__new__`,
    a metaclass other than `ABCMeta`, a class decorator other than `dataclass`/`attrs`/`total_ordering`
    and the like, `Protocol` classes, mixins (classes named `*Mixin`, and classes without `__init__`
    that are bases of other project classes). Attributes a subclass assigns (template-method bases),
    attributes stored through any object in the same module (`agent.endpoint = ...`, factories doing
    `obj = cls(); obj.x = ...`), names guarded by `hasattr(self, "x")`/`getattr(self, "x", ...)` and
    reads inside `try: ... except AttributeError` are left alone, and so are calls `self.hook(...)`
    of a missing name (abstract hooks that subclasses, possibly outside the project, define).

    ## Why is this bad?
    The read raises `AttributeError` the first time that code path runs, usually at start-up, far from
    where the attribute was meant to be set. The AI System plan (Phase 1, task 1) found ZMQ agents
    (`nlu_agent.py`, `chitchat_agent.py`) binding or logging `self.endpoint`, which nothing defined:
    agents crashed on start-up and their services were unavailable.

    ## Fix
    Assign the attribute in `__init__` (from a parameter or the configuration) before any method uses
    it, or remove the reference when it is not needed (e.g. log the port the socket was bound to).

    ## Limitations
    Assignments made from another module to an instance (`agent = NLUAgent(); agent.endpoint = ...`
    in a launcher) are not seen; such code should set the attribute through the constructor anyway.
    """

    code = "RMD603"
    ast_checker = _Fast
    name = "attribute-never-assigned"
    message = "self.{attr} is read in {cls} but no method, class body or project base assigns it: set it in __init__ or remove the read"
    severity = Severity.CRITICAL
    provenance = (
        Provenance("004_96ea4b1ca927ab99.txt", "Phase 1, Task 1 (agents use an undefined self.endpoint)", "ai_system"),
    )
    triggers = (b"self.",)
    needs_project = True
    summary_extras = ("class_facts",)

    VALID = [
        Valid(
            """
            import zmq

            class NLUAgent:
                def __init__(self, port=5709):
                    self.port = port
                    self.endpoint = f"tcp://*:{port}"
                    self.context = zmq.Context()
                    self.socket = self.context.socket(zmq.REP)
                    self.socket.bind(self.endpoint)

                def describe(self):
                    return {"endpoint": self.endpoint, "port": self.port}
            """
        ),
        Valid(
            """
            from dataclasses import dataclass, field

            @dataclass
            class AgentConfig:
                name: str
                port: int = 5700
                tags: list = field(default_factory=list)

                @property
                def endpoint(self):
                    return f"tcp://*:{self.port}"

                def label(self):
                    return f"{self.name}@{self.endpoint} {self.tags}"
            """
        ),
        Valid(
            """
            import threading

            class Worker(threading.Thread):
                def run(self):
                    print(self.name, self.daemon, self.endpoint)
            """
        ),
        Valid(
            """
            class HealthMixin:
                def health(self):
                    return {"status": "ok", "endpoint": self.endpoint}

            class BaseAgent:
                def report(self):
                    return self.endpoint

            class ChitchatAgent(BaseAgent, HealthMixin):
                def __init__(self, port):
                    self.endpoint = f"tcp://*:{port}"
            """
        ),
        Valid(
            """
            class Settings:
                def __init__(self, **values):
                    for key, value in values.items():
                        setattr(self, key, value)

                def url(self):
                    return f"{self.host}:{self.port}"
            """
        ),
        Valid(
            """
            class Point:
                __slots__ = ("x", "y")

                def norm(self):
                    return (self.x ** 2 + self.y ** 2) ** 0.5

            class Lazy:
                def __getattr__(self, name):
                    return name.upper()

                def show(self):
                    return self.anything
            """
        ),
        Valid(
            """
            class Cache:
                def __init__(self):
                    self.hits = 0

                def stats(self):
                    if hasattr(self, "misses"):
                        return self.hits, self.misses
                    try:
                        return self.hits, self.evictions
                    except AttributeError:
                        return self.hits, 0

            class Agent:
                @classmethod
                def create(cls, endpoint):
                    agent = cls()
                    agent.endpoint = endpoint
                    return agent

                def bind(self, socket):
                    socket.bind(self.endpoint)
            """
        ),
    ]

    INVALID = [
        Invalid(
            """
            import zmq

            class NLUAgent:
                def __init__(self, port=5709):
                    self.port = port
                    self.context = zmq.Context()
                    self.socket = self.context.socket(zmq.REP)

                def start(self):
                    self.socket.bind(self.endpoint)
                    print("NLU agent listening on", self.endpoint)
            """,
            line=10,
        ),
        Invalid(
            """
            import logging

            logger = logging.getLogger(__name__)

            class BaseAgent:
                def __init__(self, name):
                    self.name = name
                    self.running = False

            class ChitchatAgent(BaseAgent):
                def __init__(self, port):
                    super().__init__("ChitchatAgent")
                    self.port = port

                async def serve(self):
                    self.running = True
                    logger.info("%s on %s", self.name, self.endpoint)
            """,
            line=17,
        ),
        Invalid(
            """
            import asyncio

            class Reporter:
                def __init__(self):
                    self.lines = []

                def emit(self, text):
                    self.lines.append(text)

                    def flush():
                        self.sink.write("\\n".join(self.lines))

                    return asyncio.get_running_loop().run_in_executor(None, flush)
            """,
            line=11,
        ),
        Invalid(
            """
            from dataclasses import dataclass

            @dataclass
            class Job:
                name: str
                retries: int = 3

                def describe(self):
                    return f"{self.name} x{self.retries} timeout={self.timeout}"

            class Runner:
                def __init__(self, job: Job):
                    self.job = job

                def run(self):
                    if self.job.retries > self.max_retries:
                        raise RuntimeError(self.job.name)
                    return self.result
            """,
            line=9,
            count=3,
        ),
        Invalid(
            """
            class Base:
                def __init__(self):
                    self.ready = False

                def check(self):
                    return self.ready and self.conected

            class Child(Base):
                def __init__(self):
                    super().__init__()
                    self.connected = True
            """,
            line=6,
        ),
    ]

    def __init__(self, context, options) -> None:
        super().__init__(context, options)
        #: top-level classes in order: (node, {attr: first read})
        self._classes: list[tuple[cst.ClassDef, dict[str, cst.Attribute]]] = []
        self._reads: dict[int, dict[str, cst.Attribute]] = {}
        self._names: dict[str, int] = {}

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        if len(self.context.scopes) == 1:
            self._names[node.name.value] = self._names.get(node.name.value, 0) + 1
            reads: dict[str, cst.Attribute] = {}
            self._classes.append((node, reads))
            self._reads[id(node)] = reads

    def visit_Attribute(self, node: cst.Attribute) -> None:
        value = node.value
        if not isinstance(value, cst.Name) or value.value != "self":
            return
        attr = node.attr.value
        if attr.startswith("__") and attr.endswith("__"):
            return
        ctx = self.context
        method = None
        cls = None
        for scope in reversed(ctx.scopes):
            if isinstance(scope, cst.ClassDef):
                cls = scope
                break
            if method is not None and _binds_self(method):
                return  # an inner function with its own ``self`` parameter
            method = scope
        if cls is None or not isinstance(method, cst.FunctionDef) or not _self_method(method):
            return
        reads = self._reads.get(id(cls))
        if reads is None or attr in reads:
            return
        parent = ctx.parent()
        if isinstance(parent, cst.Call) and parent.func is node:
            return  # ``self.hook()``: an abstract hook that subclasses (maybe outside the project) define
        if _guarded_by_attribute_error(ctx):
            return
        reads[attr] = node

    def finish(self) -> None:
        if not self._classes or self.context.project is None:
            return
        resolver: ClassResolver | None = None
        for node, reads in self._classes:
            if not reads or self._names.get(node.name.value, 0) != 1:
                continue
            if resolver is None:
                resolver = ClassResolver(self.context)
            info = resolver.class_info(node.name.value)
            if info is None or resolver.is_mixin_like(info):
                continue
            assigned = resolver.assigned(info)
            if assigned is None:
                continue
            missing = [(attr, read) for attr, read in reads.items() if attr not in assigned]
            if not missing:
                continue
            assigned = resolver.assigned(info, stores=True)
            if assigned is None:
                continue
            missing = [(attr, read) for attr, read in missing if attr not in assigned]
            if not missing:
                continue
            has_subclasses, sub_names = resolver.subclass_names(info)
            if has_subclasses and (sub_names is None or "__init__" not in info.methods):
                continue  # a mixin, or a base whose subclasses cannot be known
            for attr, read in missing:
                if sub_names and attr in sub_names:
                    continue
                self.report(read, attr=attr, cls=node.name.value)


def _self_method(func: cst.FunctionDef) -> bool:
    params = func.params
    first = (params.posonly_params or params.params or (None,))[0]
    if first is None or first.name.value != "self":
        return False
    for dec in func.decorators:
        name = dotted_name(dec.decorator.func if isinstance(dec.decorator, cst.Call) else dec.decorator)
        if name in ("staticmethod", "classmethod"):
            return False
    return True


def _binds_self(func: cst.CSTNode) -> bool:
    params = func.params  # type: ignore[attr-defined]
    return any(p.name.value == "self" for p in (*params.posonly_params, *params.params, *params.kwonly_params))


def _guarded_by_attribute_error(ctx) -> bool:
    """Inside the body of a ``try`` whose handlers catch ``AttributeError`` (or everything)."""
    previous = None
    for node in ctx.ancestors():
        if isinstance(node, (cst.FunctionDef, cst.Lambda, cst.ClassDef)):
            return False
        if isinstance(node, cst.Try) and previous is node.body:
            for handler in node.handlers:
                if handler.type is None:
                    return True
                for sub in (handler.type.elements if isinstance(handler.type, cst.Tuple) else [handler.type]):
                    expr = sub.value if isinstance(sub, cst.Element) else sub
                    name = dotted_name(expr) or ""
                    if name.rsplit(".", 1)[-1] in ("AttributeError", "Exception", "BaseException"):
                        return True
        previous = node
    return False
