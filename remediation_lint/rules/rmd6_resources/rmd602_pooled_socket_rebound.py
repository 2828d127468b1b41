from __future__ import annotations

import ast
from remediation_lint.analysis.ast_walk import child_nodes

import libcst as cst

from remediation_lint.analysis import sql
from remediation_lint.analysis.names import ast_dotted, dotted_name
from remediation_lint.analysis.sync_callees import resolve_function
from remediation_lint.astcheck import AstChecker
from remediation_lint.rule import Invalid, Provenance, Rule, Severity, Valid

POOL_HELPERS = ("get_rep_socket", "get_pub_socket", "get_router_socket", "get_bound_socket")


class _Fast(AstChecker):
    """The ``ast`` twin of the rule below (check mode). The assignments and bind/connect calls are
    recorded during the traversal and replayed in ``finish``, where the helpers are resolved (with the
    project index, as ``resolve_function`` does) only for the sockets that are bound or connected."""

    def __init__(self, rule, context, options) -> None:
        super().__init__(rule, context, options)
        self._helpers = tuple(self.opts.get("pool_helpers") or ())
        #: ("assign", key, made key, value, class node, function node) / ("use", key, made key, method, call, in loop, receiver)
        self._events: list[tuple] = []
        self._ctx_assign: dict[str | None, dict[str, list[tuple[str, bool]]]] = {}
        self._fn_none: dict[int, dict[str, bool]] = {}
        self._socket_calls: list[tuple[ast.Call, str | None, str, bool]] = []

    def _class(self) -> str | None:
        cls = self.context.enclosing_class()
        return cls.name if cls is not None else None

    def _fid(self) -> int:
        return id(self.context.enclosing_function())

    def _key_for(self, text: str) -> tuple[str | None, str]:
        if text.startswith("self."):
            return self._class(), text
        return str(self._fid()), text

    def visit_Assign(self, node: ast.Assign) -> None:
        value = node.value
        for target in node.targets:
            text = ast_dotted(target)
            if text is None:
                continue
            if text.startswith("self.") and text.count(".") == 1:
                attr = text[5:]
                is_none = isinstance(value, ast.Constant) and value.value is None
                func = self.context.enclosing_function()
                method = func.name if isinstance(func, (ast.FunctionDef, ast.AsyncFunctionDef)) else ""
                self._ctx_assign.setdefault(self._class(), {}).setdefault(attr, []).append((method, is_none))
                self._fn_none.setdefault(self._fid(), {})[attr] = is_none
            self._events.append(
                ("assign", self._key_for(text), (self._fid(), text), value, self.context.enclosing_class(), self.context.enclosing_function())
            )

    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        if not isinstance(func, ast.Attribute):
            return
        method = func.attr
        receiver = ast_dotted(func.value)
        if receiver is None:
            return
        if method in ("bind", "connect"):
            in_loop = self.context.inside(ast.For, ast.AsyncFor, ast.While) is not None
            self._events.append(("use", self._key_for(receiver), (self._fid(), receiver), method, node, in_loop, receiver))
        elif method == "socket" and receiver.startswith("self.") and receiver.count(".") == 1:
            attr = receiver[5:]
            fn_state = self._fn_none.get(self._fid(), {}).get(attr)
            self._socket_calls.append((node, self._class(), attr, fn_state is True))

    def finish(self) -> None:
        events = self._events
        used = {ev[1] for ev in events if ev[0] == "use"}
        bound = {ev[2] for ev in events if ev[0] == "use" and ev[3] == "bind"}
        pooled: dict[tuple[str | None, str], str] = {}
        made: dict[tuple[int, str], int] = {}
        reports: list[tuple[ast.AST, str]] = []
        uses: list[tuple[ast.Call, tuple[str | None, str], str]] = []
        for ev in events:
            if ev[0] == "assign":
                _, key, made_key, value, cls_node, func_node = ev
                if not isinstance(value, ast.Call):
                    pooled.pop(key, None)
                    continue
                is_socket = isinstance(value.func, ast.Attribute) and value.func.attr == "socket"
                if key not in used and not (is_socket and made_key in bound):
                    continue  # neither the pool state nor the bind count of this name is ever read
                try:
                    helper = self._binding_helper(value, cls_node, func_node)
                except sql.Undecidable:
                    self.defer()
                    return
                if helper is not None:
                    pooled[key] = helper
                elif is_socket:
                    pooled.pop(key, None)
                    made[made_key] = 0
            else:
                _, key, made_key, method, node, in_loop, receiver = ev
                uses.append((node, key, method))
                if method == "bind" and made_key in made:
                    made[made_key] += 1
                    if made[made_key] == 2 and not in_loop:
                        reports.append((node, f"{receiver} is bound a second time in this function: bind a socket once"))
        for node, key, method in uses:
            helper = pooled.get(key)
            if helper is None:
                continue
            text = key[1]
            if method == "bind":
                detail = f"{text} comes from {helper}(), which already binds it; binding it again fails with 'Address already in use': create it with context.socket() and bind once"
            else:
                detail = f"{text} comes from {helper}(), which already binds it; do not also connect() it: create a plain socket and only connect, or ask the pool for bind=False"
            reports.append((node, detail))
        for node, cls, attr, none_here in self._socket_calls:
            if none_here or _only_none(self._ctx_assign.get(cls, {}).get(attr, [])):
                reports.append((node, f"self.{attr}.socket() but self.{attr} was set to None: keep the zmq context and never overwrite it with None"))
        for node, detail in reports:
            self.report(node, detail=detail)

    # -- the helper behind a call (``_binding_helper`` / ``resolve_function`` on ``ast``) --------------
    def _binding_helper(self, call: ast.Call, cls_node, func_node) -> str | None:
        name = ast_dotted(call.func)
        if name is None:
            return None
        last = name.rsplit(".", 1)[-1]
        info = self._resolve(name, cls_node, func_node)
        if info is not None and isinstance(info.node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            guard = _bind_guard(info.node)
            if guard is False:
                return None
            if isinstance(guard, str) and _ast_passes_false(call, guard, info.node):
                return None
            return last
        if last in self._helpers:
            for kw in call.keywords:
                if kw.arg == "bind" and _ast_is_false(kw.value):
                    return None
            return last
        return None

    def _resolve(self, dotted: str, cls_node, func_node):
        from remediation_lint.analysis import sync_callees as sc
        from remediation_lint.analysis.class_attributes import ast_module_ref
        from remediation_lint.project import FunctionInfo

        if self.context.project is None:
            return None
        ref = ast_module_ref(self.context)
        if ref is None:
            return None
        parts = dotted.split(".")
        if parts[0] in ("self", "cls"):
            if cls_node is None:
                return None
            cls = ref.summary.classes.get(cls_node.name)
            if cls is None:
                return None
            if len(parts) == 2:
                return sc._find_method(ref, cls, parts[1])
            if len(parts) == 3:
                attr_cls = sc._attribute_class(ref, cls, parts[1])
                if attr_cls is None:
                    return None
                return sc._find_method(ref, attr_cls, parts[2])
            return None
        if len(parts) == 2 and parts[0] not in ref.summary.imports and parts[0] not in ref.summary.classes:
            callee = _ast_local_constructor(func_node, parts[0])
            if callee is None:
                return None
            cls = sc._resolve_class(ref, callee)
            return sc._find_method(ref, cls, parts[1]) if cls is not None else None
        if len(parts) == 1 and isinstance(func_node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            args = func_node.args
            if any(a.arg == parts[0] for a in (*args.posonlyargs, *args.args, *args.kwonlyargs)):
                return None
        found = ref.index.lookup(ref, dotted)
        return found if isinstance(found, FunctionInfo) else None


def _ast_local_constructor(func, name: str) -> str | None:
    """``sync_callees._local_constructor`` on ``ast``: ``name = SomeClass(...)`` assigned once in the function."""
    if not isinstance(func, (ast.FunctionDef, ast.AsyncFunctionDef)):
        return None
    args = func.args
    if any(a.arg == name for a in (*args.posonlyargs, *args.args, *args.kwonlyargs)):
        return None
    found: list[str | None] = []

    def names_in(node: ast.AST) -> list[ast.AST]:
        if isinstance(node, (ast.Tuple, ast.List)):
            out: list[ast.AST] = []
            for el in node.elts:
                out.extend(names_in(el.value if isinstance(el, ast.Starred) else el))
            return out
        if isinstance(node, ast.Starred):
            return names_in(node.value)
        return [node]

    def binds(target: ast.AST) -> bool:
        return any(isinstance(n, ast.Name) and n.id == name for n in names_in(target))

    todo: list[ast.AST] = list(child_nodes(func))
    while todo:
        node = todo.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)):
            continue
        if isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Name) and target.id == name:
                    found.append(ast_dotted(node.value.func) if isinstance(node.value, ast.Call) else None)
                elif binds(target):
                    found.append(None)
        elif isinstance(node, ast.AnnAssign):
            if isinstance(node.target, ast.Name) and node.target.id == name:
                found.append(ast_dotted(node.value.func) if isinstance(node.value, ast.Call) else None)
        elif isinstance(node, ast.AugAssign):
            if isinstance(node.target, ast.Name) and node.target.id == name:
                found.append(None)
        elif isinstance(node, (ast.For, ast.AsyncFor)):
            if binds(node.target):
                found.append(None)
        elif isinstance(node, ast.withitem):
            if node.optional_vars is not None and binds(node.optional_vars):
                found.append(None)
        todo.extend(child_nodes(node))
    if len(found) != 1:
        return None
    return found[0]


def _ast_is_false(value: ast.AST) -> bool:
    return isinstance(value, ast.Constant) and (value.value is False or value.value is None)


def _ast_passes_false(call: ast.Call, param: str, func: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    for kw in call.keywords:
        if kw.arg == param:
            return _ast_is_false(kw.value)
    positional = [a.arg for a in (*func.args.posonlyargs, *func.args.args)]
    if positional and positional[0] in ("self", "cls"):
        positional = positional[1:]
    plain = [a for a in call.args if not isinstance(a, ast.Starred)]
    if param in positional and positional.index(param) < len(plain):
        return _ast_is_false(plain[positional.index(param)])
    args = func.args
    defaults = dict(zip([a.arg for a in args.args][len(args.args) - len(args.defaults):], args.defaults))
    defaults.update({a.arg: d for a, d in zip(args.kwonlyargs, args.kw_defaults) if d is not None})
    default = defaults.get(param)
    return isinstance(default, ast.Constant) and not default.value


class PooledSocketRebound(Rule):
    """A ZMQ socket that a pool helper already bound is bound or connected again: `Address already in use`.

    ## What it does
    Finds sockets obtained from a pool helper that binds them (`get_rep_socket(...)`,
    `get_pub_socket(...)`; the project pass reads the helper's body: it binds when it calls `.bind()`,
    unless the call passes `False` to the parameter guarding that bind) and then `.bind()`-ed or
    `.connect()`-ed again; a socket made with `context.socket(...)` bound twice in one function; and
    `self.context.socket(...)` in a class where `self.context` is only ever set to `None` (or was set to
    `None` earlier in the same function). Helpers that cannot be resolved count as binding only when
    their name is in the `pool_helpers` option.

    ## Why is this bad?
    Binding an endpoint twice fails with `Address already in use`; connecting a socket that the pool
    bound as a PUB publisher mixes the two roles, and a bind to a remote address fails outright; a `None`
    context raises `AttributeError`. The AI System plan (tasks 1 and 4) found agents re-binding pooled
    REP sockets, an `ErrorPublisher` connecting a pooled, bound PUB socket, and agents nulling
    `self.context`: widespread agent start-up failures and a silently dead error bus.

    ## Fix
    For server sockets create them directly, `self.context.socket(zmq.REP)`, and bind once; for
    publishers create a plain PUB socket and only `connect()` (or ask the pool for `bind=False`); never
    overwrite `self.context`.
    """

    code = "RMD602"
    ast_checker = _Fast
    name = "pooled-socket-rebound"
    message = "{detail}"
    severity = Severity.CRITICAL
    provenance = (
        Provenance("004_96ea4b1ca927ab99.txt", "Phase 1, Task 1 (pooled REP sockets bound again, context set to None)", "ai_system"),
        Provenance("004_96ea4b1ca927ab99.txt", "Phase 2, Task 4 (pooled, bound PUB socket then connect()-ed in ErrorPublisher)", "ai_system"),
    )
    triggers = (b".bind(", b".connect(", b".socket(")
    needs_project = True
    options = {"pool_helpers": POOL_HELPERS}
    option_docs = {"pool_helpers": "helpers that return an already bound socket when the project cannot show their body"}

    limitations = (
        "The Semgrep twin `rmd602-pooled-socket-rebound` does not read the pool helpers' bodies (it knows "
        "the default helper names), and misses `self.context.socket()` in a class whose `__init__` "
        "creates a context and then sets it to `None`."
    )

    VALID = [
        Valid(
            """
            import zmq

            class EmotionEngine:
                def __init__(self, port):
                    self.context = zmq.Context()
                    self.socket = self.context.socket(zmq.REP)
                    self.socket.bind(f"tcp://*:{port}")
            """
        ),
        Valid(
            """
            import zmq

            def get_pub_socket(endpoint, bind=True):
                sock = zmq.Context.instance().socket(zmq.PUB)
                if bind:
                    sock.bind(endpoint)
                return sock

            class ErrorPublisher:
                def __init__(self, endpoint):
                    self.endpoint = endpoint
                    self.pub = get_pub_socket(endpoint, bind=False)
                    self.pub.connect(self.endpoint)
            """
        ),
        Valid(
            """
            import zmq

            def get_req_socket(endpoint):
                sock = zmq.Context.instance().socket(zmq.REQ)
                sock.connect(endpoint)
                return sock

            def client(endpoint):
                sock = get_req_socket(endpoint)
                sock.connect(endpoint + "-backup")
                return sock
            """
        ),
        Valid(
            """
            import zmq

            class Agent:
                def __init__(self):
                    self.context = None

                def start(self):
                    self.context = zmq.Context()
                    self.socket = self.context.socket(zmq.REP)
                    self.socket.bind("tcp://*:5555")

                def stop(self):
                    self.socket.close()
                    self.context.term()
                    self.context = None
            """
        ),
        Valid(
            """
            import zmq

            def serve(ports):
                ctx = zmq.Context.instance()
                for port in ports:
                    sock = ctx.socket(zmq.REP)
                    sock.bind(f"tcp://*:{port}")
            """
        ),
    ]

    INVALID = [
        Invalid(
            """
            import zmq

            def get_rep_socket(endpoint, bind=True):
                sock = zmq.Context.instance().socket(zmq.REP)
                if bind:
                    sock.bind(endpoint)
                return sock

            class EmotionEngine:
                def __init__(self, port):
                    self.port = port
                    self.socket = get_rep_socket(f"tcp://*:{port}")
                    self.socket.bind(f"tcp://*:{port}")
            """,
            line=13,
        ),
        Invalid(
            """
            from common.pools.zmq_pool import get_pub_socket

            class ErrorPublisher:
                def __init__(self, endpoint):
                    self.endpoint = endpoint
                    self.pub_socket = get_pub_socket(endpoint)
                    self.pub_socket.connect(self.endpoint)
            """,
        ),
        Invalid(
            """
            import zmq

            class FaceRecognitionAgent:
                def __init__(self):
                    self.context = zmq.Context()
                    self.context = None

                def start(self):
                    self.socket = self.context.socket(zmq.REP)
            """,
            line=9,
        ),
        Invalid(
            """
            import zmq

            def serve(port):
                ctx = zmq.Context.instance()
                sock = ctx.socket(zmq.REP)
                sock.bind(f"tcp://*:{port}")
                sock.setsockopt(zmq.LINGER, 0)
                sock.bind(f"tcp://*:{port}")
            """,
            line=8,
        ),
        Invalid(
            """
            import zmq

            class Executor:
                def __init__(self):
                    self.context = zmq.Context()

                def restart(self):
                    self.context = None
                    sock = self.context.socket(zmq.REP)
                    return sock
            """,
            line=9,
        ),
    ]

    def __init__(self, context, options) -> None:
        super().__init__(context, options)
        self._helpers = tuple(self.opts.get("pool_helpers") or ())
        #: (class or None, receiver text) -> helper name, for sockets that come back bound
        self._pooled: dict[tuple[str | None, str], str] = {}
        #: (function id, receiver text) -> number of binds so far, for sockets made with .socket()
        self._made: dict[tuple[int, str], int] = {}
        #: rebinds/connects to check at the end: (call node, class, receiver text, method)
        self._uses: list[tuple[cst.Call, str | None, str, str]] = []
        #: class name -> attr -> [(method name, assigned None?)] in order
        self._ctx_assign: dict[str | None, dict[str, list[tuple[str, bool]]]] = {}
        #: function id -> attr -> last assignment is None (in visit order)
        self._fn_none: dict[int, dict[str, bool]] = {}
        self._socket_calls: list[tuple[cst.Call, str | None, str, bool]] = []

    def _class(self) -> str | None:
        cls = self.context.enclosing_class()
        return cls.name.value if cls is not None else None

    def _fid(self) -> int:
        return id(self.context.enclosing_function())

    def _key_for(self, text: str) -> tuple[str | None, str]:
        if text.startswith("self."):
            return self._class(), text
        return str(self._fid()), text

    # -- assignments ---------------------------------------------------------------------------------
    def visit_Assign(self, node: cst.Assign) -> None:
        value = node.value
        for target in node.targets:
            text = dotted_name(target.target)
            if text is None:
                continue
            if text.startswith("self.") and text.count(".") == 1:
                attr = text[5:]
                is_none = isinstance(value, cst.Name) and value.value == "None"
                func = self.context.enclosing_function()
                method = func.name.value if isinstance(func, cst.FunctionDef) else ""
                self._ctx_assign.setdefault(self._class(), {}).setdefault(attr, []).append((method, is_none))
                self._fn_none.setdefault(self._fid(), {})[attr] = is_none
            if not isinstance(value, cst.Call):
                self._pooled.pop(self._key_for(text), None)
                continue
            helper = self._binding_helper(value)
            if helper is not None:
                self._pooled[self._key_for(text)] = helper
            elif isinstance(value.func, cst.Attribute) and value.func.attr.value == "socket":
                self._pooled.pop(self._key_for(text), None)
                self._made[(self._fid(), text)] = 0

    def _binding_helper(self, call: cst.Call) -> str | None:
        """The helper's name when ``call`` returns a socket the helper already bound."""
        name = dotted_name(call.func)
        if name is None:
            return None
        last = name.rsplit(".", 1)[-1]
        info = resolve_function(self.context, call.func)
        if info is not None and isinstance(info.node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            guard = _bind_guard(info.node)
            if guard is False:
                return None
            if isinstance(guard, str) and _passes_false(call, guard, info.node):
                return None
            return last
        if last in self._helpers:
            for arg in call.args:
                if arg.keyword is not None and arg.keyword.value == "bind" and _is_false(arg.value):
                    return None
            return last
        return None

    # -- calls ---------------------------------------------------------------------------------------
    def visit_Call(self, node: cst.Call) -> None:
        func = node.func
        if not isinstance(func, cst.Attribute):
            return
        method = func.attr.value
        receiver = dotted_name(func.value)
        if receiver is None:
            return
        if method in ("bind", "connect"):
            self._uses.append((node, *self._key_for(receiver), method))
            made_key = (self._fid(), receiver)
            if method == "bind" and made_key in self._made:
                self._made[made_key] += 1
                if self._made[made_key] == 2 and self.context.inside(cst.For, cst.While) is None:
                    self.report(node, detail=f"{receiver} is bound a second time in this function: bind a socket once")
        elif method == "socket" and receiver.startswith("self.") and receiver.count(".") == 1:
            attr = receiver[5:]
            fn_state = self._fn_none.get(self._fid(), {}).get(attr)
            self._socket_calls.append((node, self._class(), attr, fn_state is True))

    def finish(self) -> None:
        for node, cls, text, method in self._uses:
            helper = self._pooled.get((cls, text))
            if helper is None:
                continue
            if method == "bind":
                detail = f"{text} comes from {helper}(), which already binds it; binding it again fails with 'Address already in use': create it with context.socket() and bind once"
            else:
                detail = f"{text} comes from {helper}(), which already binds it; do not also connect() it: create a plain socket and only connect, or ask the pool for bind=False"
            self.report(node, detail=detail)
        for node, cls, attr, none_here in self._socket_calls:
            if none_here or _only_none(self._ctx_assign.get(cls, {}).get(attr, [])):
                self.report(node, detail=f"self.{attr}.socket() but self.{attr} was set to None: keep the zmq context and never overwrite it with None")


def _only_none(assigned: list[tuple[str, bool]]) -> bool:
    """``__init__`` leaves the attribute None and no other method gives it a value."""
    if not assigned:
        return False
    init = [is_none for method, is_none in assigned if method == "__init__"]
    others = [is_none for method, is_none in assigned if method != "__init__"]
    if init and not init[-1]:
        return False
    return all(others)


def _bind_guard(func: ast.FunctionDef | ast.AsyncFunctionDef) -> bool | str:
    """False when the helper never binds; True when it always does; the parameter name guarding the bind."""
    params = {a.arg for a in (*func.args.posonlyargs, *func.args.args, *func.args.kwonlyargs)}
    found: bool | str = False
    todo: list[tuple[ast.AST, str | None]] = [(stmt, None) for stmt in func.body]
    while todo:
        node, guard = todo.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)):
            continue
        if isinstance(node, ast.If):
            test = node.test
            name = test.id if isinstance(test, ast.Name) and test.id in params else None
            todo.extend((s, name or guard) for s in node.body)
            todo.extend((s, guard) for s in node.orelse)
            todo.append((node.test, guard))
            continue
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "bind":
            if guard is None:
                return True
            found = guard
        todo.extend((child, guard) for child in child_nodes(node))
    return found


def _passes_false(call: cst.Call, param: str, func: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    for arg in call.args:
        if arg.keyword is not None and arg.keyword.value == param:
            return _is_false(arg.value)
    positional = [a.arg for a in (*func.args.posonlyargs, *func.args.args)]
    if positional and positional[0] in ("self", "cls"):
        positional = positional[1:]
    plain = [a for a in call.args if a.keyword is None and not a.star]
    if param in positional and positional.index(param) < len(plain):
        return _is_false(plain[positional.index(param)].value)
    # the default of the parameter decides
    args = func.args
    defaults = dict(zip([a.arg for a in args.args][len(args.args) - len(args.defaults):], args.defaults))
    defaults.update({a.arg: d for a, d in zip(args.kwonlyargs, args.kw_defaults) if d is not None})
    default = defaults.get(param)
    return isinstance(default, ast.Constant) and not default.value


def _is_false(value: cst.BaseExpression) -> bool:
    return isinstance(value, cst.Name) and value.value in ("False", "None")
