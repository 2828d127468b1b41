from __future__ import annotations

import ast

import libcst as cst

from remediation_lint.analysis.code_exec import AstSource, ast_single_fstring
from remediation_lint.astcheck import AstChecker
from remediation_lint.knowledge.serialization import (
    PICKLE_LOADERS,
    PICKLE_MODULES_WITH_LOADS,
    UNTRUSTED_SOURCES,
    ZMQ_PICKLE_METHODS,
)
from remediation_lint.rule import (
    FixSafety,
    ImportSpec,
    Invalid,
    Provenance,
    Rule,
    Severity,
    Valid,
)

_LAST_PARTS = frozenset(name.rsplit(".", 1)[-1] for name in PICKLE_LOADERS) | {"load"}


class _Fast(AstChecker):
    """The ``ast`` twin of the rule below (check mode)."""

    def __init__(self, rule, context, options) -> None:
        super().__init__(rule, context, options)
        self._assigned: list[dict[str, ast.Call]] = [{}]

    def visit_FunctionDef(self, node: ast.AST) -> None:
        self._assigned.append({})

    visit_AsyncFunctionDef = visit_FunctionDef

    def leave_FunctionDef(self, node: ast.AST) -> None:
        self._assigned.pop()

    leave_AsyncFunctionDef = leave_FunctionDef

    def visit_Assign(self, node: ast.Assign) -> None:
        value = node.value
        if isinstance(value, ast.Await):
            value = value.value
        if not isinstance(value, ast.Call):
            return
        for target in node.targets:
            if isinstance(target, ast.Name):
                names = [target]
            elif isinstance(target, (ast.Tuple, ast.List)):
                names = [el.value if isinstance(el, ast.Starred) else el for el in target.elts]
                names = [n for n in names if isinstance(n, ast.Name)]
            else:
                names = []
            for name in names:
                self._assigned[-1][name.id] = value

    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        if isinstance(func, ast.Attribute) and func.attr in ZMQ_PICKLE_METHODS:
            receiver = self.context.dotted(func.value) or "socket"
            method = func.attr
            source = f"messages of {receiver}" if method == "recv_pyobj" else f"messages sent on {receiver}"
            self.report(node, func=f"{receiver}.{method}", source=source + " (zmq pickles them)", fix=FixSafety.UNSAFE)
            return
        if isinstance(func, ast.Attribute) and func.attr not in _LAST_PARTS:
            return  # a qualified name ends with the attribute's name
        qualified = self.context.qualified(func)
        if qualified is None:
            if isinstance(func, ast.Attribute) and func.attr == "load" and isinstance(func.value, ast.Call):
                inner = self.context.qualified(func.value.func)
                if inner in PICKLE_LOADERS and inner.endswith("Unpickler"):
                    self.report(node, func=f"{inner}(...).load", source=self._describe(_first_value(func.value)))
            return
        if qualified not in PICKLE_LOADERS or qualified.endswith("Unpickler"):
            return
        first = _first_value(node)
        if first is None:
            return
        literal = self._is_literal(first)
        if literal is None:
            self.defer()
            return
        if literal:
            return
        module, _, attr = qualified.rpartition(".")
        fix = None
        if attr == "loads" and module in PICKLE_MODULES_WITH_LOADS and len(node.args) + len(node.keywords) == 1:
            fix = FixSafety.UNSAFE
        self.report(node, func=qualified, source=self._describe(first), fix=fix)

    def _is_literal(self, node: ast.expr) -> bool | None:
        if isinstance(node, ast.Constant):
            return isinstance(node.value, (str, bytes))
        if isinstance(node, ast.JoinedStr):
            # a single f-string is not a literal for the LibCST rule, an implicit concatenation is
            src = AstSource.of(self.context)
            text = src.text(src.start(node), src.end(node))
            single = None if text is None else ast_single_fstring(text)
            return None if single is None else not single
        return False

    def _describe(self, value: ast.expr | None) -> str:
        if value is None:
            return "data that is not a literal"
        call = value if isinstance(value, ast.Call) else None
        if isinstance(value, ast.Await) and isinstance(value.value, ast.Call):
            call = value.value
        if isinstance(value, ast.Name):
            for scope in reversed(self._assigned):
                if value.id in scope:
                    call = scope[value.id]
                    break
        if call is not None and isinstance(call.func, ast.Attribute) and call.func.attr in UNTRUSTED_SOURCES:
            return f"data from {self.context.dotted(call.func) or call.func.attr}()"
        return "data that is not a literal"


def _first_value(call: ast.Call) -> ast.expr | None:
    """The value of the call's first argument in source order (positional, starred or keyword)."""
    arg = call.args[0] if call.args else None
    kw = call.keywords[0] if call.keywords else None
    starred_after_keyword = isinstance(arg, ast.Starred) and kw is not None and (kw.lineno, kw.col_offset) < (arg.lineno, arg.col_offset)
    if starred_after_keyword:
        arg = None  # f(k=1, *a)
    if arg is not None:
        return arg.value if isinstance(arg, ast.Starred) else arg
    return kw.value if kw is not None else None


class UntrustedPickle(Rule):
    """Unpickling data that is not a literal: anyone who controls the bytes runs code.

    ## What it does
    Finds `pickle.loads`/`load`, `Unpickler(...).load()` and the same functions of `_pickle`, `cPickle`,
    `dill` and `cloudpickle` (under any alias), `joblib.load` and `pandas.read_pickle` applied to anything
    but a literal, and zmq's `recv_pyobj()`/`send_pyobj()`, which pickle under the hood. The message names
    where the bytes came from when they come from `recv`, `recv_multipart` or a request body.

    ## Why is this bad?
    Unpickling calls whatever constructor the byte stream names. A crafted message on a socket turns
    into arbitrary code execution on the receiving host: a full compromise from one packet. The AI
    System plan (task 2) found exactly this in agents that `pickle.loads` what they `recv`.

    ## Fix
    Use a data-only format (JSON, MsgPack) and validate the schema of what arrives; add message
    authentication (HMAC) when the channel is untrusted.
    """

    code = "RMD101"
    ast_checker = _Fast
    name = "untrusted-pickle"
    message = "{func}() on {source}: use json/msgpack with a schema instead of pickle"
    severity = Severity.CRITICAL
    provenance = (Provenance("004_96ea4b1ca927ab99.txt", "Phase 1, Task 2 (pickle.loads on network data)", "ai_system"),)
    fix_safety = FixSafety.UNSAFE
    triggers = (b"pickle", b"dill", b"joblib", b"_pyobj", b"Unpickler")
    cwe = (502,)

    VALID = [
        Valid(
            """
            import json
            import zmq

            def handle(sock: zmq.Socket) -> dict:
                message = json.loads(sock.recv())
                if not isinstance(message, dict) or "audio" not in message:
                    raise ValueError("bad message")
                return message
            """
        ),
        Valid(
            """
            import pickle

            def snapshot(state) -> bytes:
                return pickle.dumps(state)
            """
        ),
        Valid(
            """
            import pickle

            EMPTY = pickle.loads(b"\\x80\\x04N.")
            """
        ),
        Valid(
            """
            class Model:
                def load(self, path):
                    return path

            model = Model()
            weights = model.load("weights.bin")
            """
        ),
        Valid(
            """
            def reply(socket, payload):
                socket.send_json(payload)
                return socket.recv_json()
            """
        ),
    ]

    INVALID = [
        Invalid(
            """
            import pickle

            def on_message(sock):
                data = sock.recv()
                return pickle.loads(data)
            """,
            fixed="""
            import pickle
            import json

            def on_message(sock):
                data = sock.recv()
                return json.loads(data)
            """,
            line=5,
        ),
        Invalid(
            """
            import pickle as pk

            class StreamingInterruptHandler:
                def _on_frames(self, frames):
                    header, payload = frames
                    return pk.loads(payload)
            """,
            fixed="""
            import pickle as pk
            import json

            class StreamingInterruptHandler:
                def _on_frames(self, frames):
                    header, payload = frames
                    return json.loads(payload)
            """,
        ),
        Invalid(
            """
            from pickle import loads

            async def handle(request):
                body = await request.body()
                return loads(body)
            """,
            fixed="""
            from pickle import loads
            import json

            async def handle(request):
                body = await request.body()
                return json.loads(body)
            """,
        ),
        Invalid(
            """
            def serve(socket):
                request = socket.recv_pyobj()
                socket.send_pyobj({"ok": True, "echo": request})
            """,
            fixed="""
            def serve(socket):
                request = socket.recv_json()
                socket.send_json({"ok": True, "echo": request})
            """,
            count=2,
        ),
        Invalid(
            """
            import io
            import pickle

            def restore(blob):
                return pickle.Unpickler(io.BytesIO(blob)).load()
            """,
        ),
        Invalid(
            """
            import joblib
            import dill

            def load_all(path, raw):
                model = joblib.load(path)
                hook = dill.loads(raw)
                return model, hook
            """,
            fixed="""
            import joblib
            import dill
            import json

            def load_all(path, raw):
                model = joblib.load(path)
                hook = json.loads(raw)
                return model, hook
            """,
            count=2,
        ),
    ]

    def __init__(self, context, options) -> None:
        super().__init__(context, options)
        #: name -> the call it was last assigned from, per function (for the message)
        self._assigned: list[dict[str, cst.Call]] = [{}]

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self._assigned.append({})

    def leave_FunctionDef(self, node: cst.FunctionDef) -> None:
        self._assigned.pop()

    def visit_Assign(self, node: cst.Assign) -> None:
        value = node.value
        if isinstance(value, cst.Await):
            value = value.expression
        if not isinstance(value, cst.Call):
            return
        for target in node.targets:
            names = [target.target] if isinstance(target.target, cst.Name) else [
                el.value for el in getattr(target.target, "elements", ()) if isinstance(el.value, cst.Name)
            ]
            for name in names:
                self._assigned[-1][name.value] = value  # type: ignore[union-attr]

    def visit_Call(self, node: cst.Call) -> None:
        func = node.func
        if isinstance(func, cst.Attribute) and func.attr.value in ZMQ_PICKLE_METHODS:
            receiver = self.context.dotted(func.value) or "socket"
            method = func.attr.value
            source = f"messages of {receiver}" if method == "recv_pyobj" else f"messages sent on {receiver}"
            replacement = node.with_changes(func=func.with_changes(attr=cst.Name(ZMQ_PICKLE_METHODS[method])))
            self.report(node, func=f"{receiver}.{method}", source=source + " (zmq pickles them)", fix=self.make_fix((node, replacement)))
            return
        qualified = self.context.qualified(func)
        if qualified is None:
            # ``pickle.Unpickler(f).load()``: the loader is the attribute of a call
            if isinstance(func, cst.Attribute) and func.attr.value == "load" and isinstance(func.value, cst.Call):
                inner = self.context.qualified(func.value.func)
                if inner in PICKLE_LOADERS and inner.endswith("Unpickler"):
                    self.report(node, func=f"{inner}(...).load", source=self._describe(func.value.args))
            return
        if qualified not in PICKLE_LOADERS or qualified.endswith("Unpickler"):
            return
        if not node.args or _is_literal(node.args[0].value):
            return
        module, _, attr = qualified.rpartition(".")
        fix = None
        if attr == "loads" and module in PICKLE_MODULES_WITH_LOADS and len(node.args) == 1:
            replacement = node.with_changes(func=cst.Attribute(cst.Name("json"), cst.Name("loads")))
            fix = self.make_fix((node, replacement), imports=[ImportSpec("json")])
        self.report(node, func=qualified, source=self._describe(node.args), fix=fix)

    def _describe(self, args) -> str:
        if not args:
            return "data that is not a literal"
        value = args[0].value
        call = value if isinstance(value, cst.Call) else None
        if isinstance(value, cst.Await) and isinstance(value.expression, cst.Call):
            call = value.expression
        if isinstance(value, cst.Name):
            for scope in reversed(self._assigned):
                if value.value in scope:
                    call = scope[value.value]
                    break
        if call is not None and isinstance(call.func, cst.Attribute) and call.func.attr.value in UNTRUSTED_SOURCES:
            return f"data from {self.context.dotted(call.func) or call.func.attr.value}()"
        return "data that is not a literal"


def _is_literal(node: cst.BaseExpression) -> bool:
    return isinstance(node, (cst.SimpleString, cst.ConcatenatedString))
