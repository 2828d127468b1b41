from __future__ import annotations

import ast

import libcst as cst

from remediation_lint.analysis.names import dotted_name
from remediation_lint.analysis.sync_callees import resolve_function
from remediation_lint.rule import Invalid, Provenance, Rule, Severity, Valid

POOL_HELPERS = ("get_rep_socket", "get_pub_socket", "get_router_socket", "get_bound_socket")


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
        todo.extend((child, guard) for child in ast.iter_child_nodes(node))
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
