from __future__ import annotations

import ast
import re

import libcst as cst

from remediation_lint.analysis.names import ast_dotted, dotted_name
from remediation_lint.astcheck import AstChecker
from remediation_lint.rule import Default, FixSafety, Invalid, Provenance, Rule, Severity, Valid

ESTIMATE_WORDS = ("cost", "estimate", "tokens")
HTTP_LIBRARIES = ("httpx.", "requests.", "aiohttp.")
TIMEOUT_CONSTRUCTORS = {"httpx.Timeout", "aiohttp.ClientTimeout"}
MODEL_KEYWORDS = {"model", "model_name", "ckpt_name", "checkpoint"}
MODEL_DICT_KEYS = {"ckpt_name", "checkpoint"}
TRIVIAL_NUMBERS = {"0", "1", "0.0", "1.0"}

_COMPOUND = (
    ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.If, ast.For, ast.AsyncFor, ast.While, ast.With,
    ast.AsyncWith, ast.Try, *((ast.TryStar,) if hasattr(ast, "TryStar") else ()), *((ast.Match,) if hasattr(ast, "Match") else ()),
)


class _Fast(AstChecker):
    """The ``ast`` twin of the rule below (check mode). The fix is always offered (safe); its constant's
    name does not change the finding, so the project lookup of parameter names is not needed here."""

    def __init__(self, rule, context, options) -> None:
        super().__init__(rule, context, options)
        self._clients: list[set[str]] = [set()]
        self._constant_lines: dict[int, bool] = {}
        self._lines: list[bytes] | None = None

    # -- client tracking -----------------------------------------------------------------------------
    def visit_FunctionDef(self, node: ast.AST) -> None:
        self._clients.append(set())

    def leave_FunctionDef(self, node: ast.AST) -> None:
        self._clients.pop()

    visit_AsyncFunctionDef = visit_FunctionDef
    leave_AsyncFunctionDef = leave_FunctionDef

    def visit_withitem(self, node: ast.withitem) -> None:
        if isinstance(node.optional_vars, ast.Name) and isinstance(node.context_expr, ast.Call):
            if self._is_http(node.context_expr):
                self._clients[-1].add(node.optional_vars.id)

    def visit_Assign(self, node: ast.Assign) -> None:
        if isinstance(node.value, ast.Call) and self._is_http(node.value):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    self._clients[-1].add(target.id)

    def _is_http(self, call: ast.Call) -> bool:
        return (self.context.qualified(call.func) or "").startswith(HTTP_LIBRARIES)

    # -- detection -----------------------------------------------------------------------------------
    def visit_Call(self, node: ast.Call) -> None:
        ctx = self.context
        dotted = ast_dotted(node.func)
        callee = dotted or "the call"
        last = callee.rsplit(".", 1)[-1].lower()
        qualified = (ctx.imports.qualify(dotted) if dotted is not None else None) or ""
        if not node.keywords and qualified not in TIMEOUT_CONSTRUCTORS and not any(word in last for word in ESTIMATE_WORDS):
            return  # nothing this call could report (the order of the checks does not change the findings)
        if self._in_module_constant():
            return
        items = _call_items(node)
        if any(word in last for word in ESTIMATE_WORDS):
            for index, (_, value) in enumerate(items):
                if self._is_number(value):
                    self._flag(node, items, index, f"passed to the estimate {callee}()")
        http_call = qualified.startswith(HTTP_LIBRARIES) or (
            isinstance(node.func, ast.Attribute) and ast_dotted(node.func.value) in self._clients[-1]
        )
        for index, (key, value) in enumerate(items):
            if key is None:
                continue
            if key == "timeout" and http_call and self._is_number(value):
                self._flag(node, items, index, f"as the timeout of {callee}()")
            elif key in MODEL_KEYWORDS and self._is_simple_string(value):
                self._flag(node, items, index, f"as the {key} of {callee}()")
        if qualified in TIMEOUT_CONSTRUCTORS:
            for index, (_, value) in enumerate(items):
                if self._is_number(value):
                    self._flag(node, items, index, f"in {qualified}()")

    def visit_Dict(self, node: ast.Dict) -> None:
        for key, value in zip(node.keys, node.values):
            if not isinstance(key, ast.Constant) or not isinstance(key.value, str) or key.value not in MODEL_DICT_KEYS:
                continue
            if not self._is_simple_string(key) or not self._is_simple_string(value):
                continue
            name = key.value
            if not self._in_module_constant():
                between = self._text(key.end_lineno, key.end_col_offset, value.lineno, value.col_offset)  # type: ignore[arg-type]
                if b"(" in between:
                    self.defer()
                    return
                self._report(value, f"as the {name} of a workflow")

    # -- helpers -------------------------------------------------------------------------------------
    def _source_lines(self) -> list[bytes]:
        if self._lines is None:
            self._lines = self.context.source.splitlines(keepends=True)
        return self._lines

    def _text(self, line: int, col: int, end_line: int, end_col: int) -> bytes:
        lines = self._source_lines()
        if line == end_line:
            return lines[line - 1][col:end_col]
        return lines[line - 1][col:] + b"".join(lines[line: end_line - 1]) + lines[end_line - 1][:end_col]

    def _in_module_constant(self) -> bool:
        stack = self.context.stack
        if len(stack) < 2:
            return False
        top = stack[1]
        if isinstance(top, _COMPOUND) or not isinstance(top, ast.stmt):
            return False
        key = id(top)
        cached = self._constant_lines.get(key)
        if cached is None:
            cached = self._constant_lines[key] = self._line_is_constant(top)
        return cached

    def _line_is_constant(self, top: ast.stmt) -> bool:
        body = self.context.tree.body
        index = next(i for i, s in enumerate(body) if s is top)
        start = index
        while start > 0 and not isinstance(body[start - 1], _COMPOUND) and body[start - 1].end_lineno == body[start].lineno:
            start -= 1
        end = index
        while end + 1 < len(body) and not isinstance(body[end + 1], _COMPOUND) and body[end + 1].lineno == body[end].end_lineno:
            end += 1
        for small in body[start: end + 1]:
            if isinstance(small, ast.Assign):
                return all(isinstance(t, ast.Name) and t.id.isupper() for t in small.targets)
            if isinstance(small, ast.AnnAssign):
                return isinstance(small.target, ast.Name) and small.target.id.isupper()
        return False

    def _is_number(self, expr: ast.expr) -> bool:
        if isinstance(expr, ast.UnaryOp) and isinstance(expr.op, ast.USub):
            expr = expr.operand
        if not isinstance(expr, ast.Constant) or type(expr.value) not in (int, float):
            return False
        text = self._text(expr.lineno, expr.col_offset, expr.end_lineno, expr.end_col_offset)  # type: ignore[arg-type]
        return text.decode("ascii", "replace") not in TRIVIAL_NUMBERS

    def _is_simple_string(self, expr: ast.expr) -> bool:
        if not isinstance(expr, ast.Constant) or not isinstance(expr.value, (str, bytes)):
            return False
        return _is_single_literal(self._text(expr.lineno, expr.col_offset, expr.end_lineno, expr.end_col_offset))  # type: ignore[arg-type]

    def _flag(self, call: ast.Call, items: list[tuple[str | None, ast.expr]], index: int, what: str) -> None:
        literal = items[index][1]
        # the text between the previous argument (or the callee) and this value: a parenthesised value
        # is reported by LibCST with its parentheses in the message
        if index == 0:
            before = self._text(call.func.end_lineno, call.func.end_col_offset, literal.lineno, literal.col_offset)  # type: ignore[arg-type]
            extra = before.count(b"(") - 1
        else:
            prev = items[index - 1][1]
            before = self._text(prev.end_lineno, prev.end_col_offset, literal.lineno, literal.col_offset)  # type: ignore[arg-type]
            extra = before.count(b"(")
        if extra:
            self.defer()
            return
        self._report(literal, what)

    def _report(self, literal: ast.expr, what: str) -> None:
        value = self._text(literal.lineno, literal.col_offset, literal.end_lineno, literal.end_col_offset).decode("utf-8")  # type: ignore[arg-type]
        if not what.isascii():
            self.defer()  # ast normalises non-ASCII identifiers, LibCST keeps them as written
            return
        self.report(literal, value=value, what=what, fix=FixSafety.SAFE)


def _call_items(call: ast.Call) -> list[tuple[str | None, ast.expr]]:
    """(keyword or None, value) of a call's arguments in source order, like LibCST's ``Arg`` list."""
    items: list[tuple[str | None, ast.expr, ast.AST]] = [
        (None, a.value if isinstance(a, ast.Starred) else a, a) for a in call.args
    ]
    items.extend((k.arg, k.value, k) for k in call.keywords)
    if call.args and call.keywords:
        items.sort(key=lambda item: (item[2].lineno, item[2].col_offset))  # type: ignore[attr-defined]
    return [(key, value) for key, value, _ in items]


def _is_single_literal(text: bytes) -> bool:
    i = 0
    while i < len(text) and text[i:i + 1] in b"rRbBuU":
        i += 1
    quote = text[i:i + 3] if text[i:i + 3] in (b'"""', b"'''") else text[i:i + 1]
    if quote not in (b'"', b"'", b'"""', b"'''"):
        return False
    j = i + len(quote)
    while j < len(text):
        if text[j:j + 1] == b"\\":
            j += 2
            continue
        if text[j:j + len(quote)] == quote:
            return j + len(quote) == len(text)
        j += 1
    return False


class MagicEstimate(Rule):
    """Hard-coded token estimates, timeouts and model names in calls: name them or read them from config.

    ## What it does
    Finds literal values where a tunable belongs:
    - numeric literals (other than 0 and 1) passed to cost/token estimates, i.e. callees whose name
      contains `cost`, `estimate` or `tokens`: `calculate_cost(model, 2000, 2000)`;
    - literal `timeout=` values of httpx/requests/aiohttp calls and clients (also `client.get(...)` on
      a client created from those libraries in the same function), and `httpx.Timeout(<literal>)` /
      `aiohttp.ClientTimeout(<literal>)`;
    - literal model or checkpoint names: `model="..."`, `ckpt_name="..."` keyword arguments and
      `"ckpt_name": "..."` entries of workflow dictionaries.

    Named module constants (`TIMEOUT = httpx.Timeout(30.0)` at module level) and config lookups are
    left alone.

    ## Why is this bad?
    A number buried in a call cannot be found, explained or tuned: the Orchestration Engine's planner
    budgeted every plan as `calculate_cost(model, 2000, 2000)` while its prompt alone was larger (plan
    item 4.4), and its ComfyUI tool hard-coded the `sd_xl_base_1.0.safetensors` checkpoint instead of
    reading `comfyui.default_checkpoint` from the config (item 3.6).

    ## Fix
    Give the value a name with a comment that explains it, at the top of the module, or read it from
    the configuration.

    ## Fix safety
    Safe: the literal moves into an UPPER_CASE module constant placed after the imports, named after the
    enclosing function and the parameter (`GENERATE_PLAN_INPUT_TOKENS = 2000`); the value is unchanged.
    """

    code = "RMD705"
    ast_checker = _Fast
    name = "magic-estimate"
    message = "literal {value} {what}: name it (module constant with a comment) or read it from the config"
    severity = Severity.MEDIUM
    default = Default.PREVIEW
    provenance = (
        Provenance("001_0845f576a88221b4.txt", "Phase 4, item 4.4 (hardcoded token estimates in calculate_cost calls)", "orchestration_engine"),
        Provenance("001_0845f576a88221b4.txt", "Phase 3, item 3.6 (hardcoded ComfyUI checkpoint name and timeouts)", "orchestration_engine"),
    )
    fix_safety = FixSafety.SAFE
    triggers = (b"cost", b"estimate", b"tokens", b"timeout", b"Timeout", b"model", b"ckpt_name", b"checkpoint")
    needs_project = True

    VALID = [
        Valid(
            """
            from backend.services.model_router import calculate_cost

            # system prompt (~2k tokens) + requirements; output bounded by max_tokens
            ESTIMATED_PLANNING_INPUT_TOKENS = 3000
            ESTIMATED_PLANNING_OUTPUT_TOKENS = 4096

            def plan_cost(model: str) -> float:
                return calculate_cost(model, ESTIMATED_PLANNING_INPUT_TOKENS, ESTIMATED_PLANNING_OUTPUT_TOKENS)
            """
        ),
        Valid(
            """
            import httpx

            from backend.config import cfg

            HEALTH_TIMEOUT = httpx.Timeout(2.0)

            async def fetch(url: str) -> bytes:
                async with httpx.AsyncClient(timeout=cfg("http.timeout", 30.0)) as client:
                    resp = await client.get(url, timeout=HEALTH_TIMEOUT)
                    return resp.content
            """
        ),
        Valid(
            """
            def count_words(text: str, limit: int = 2000) -> int:
                return min(len(text.split()), limit)

            def cost_of(items):
                return sum(item.cost for item in items) * 1
            """
        ),
        Valid(
            """
            import subprocess

            DEFAULT_CHECKPOINT = "sd_xl_base_1.0.safetensors"

            def run(cmd):
                return subprocess.run(cmd, timeout=60)

            def workflow(checkpoint=DEFAULT_CHECKPOINT):
                return {"inputs": {"ckpt_name": checkpoint}}
            """
        ),
    ]

    INVALID = [
        Invalid(
            """
            import logging

            from backend.services.model_router import calculate_cost

            logger = logging.getLogger(__name__)

            def generate_plan(model: str) -> float:
                return calculate_cost(model, 2000, 2000)
            """,
            fixed="""
            import logging

            from backend.services.model_router import calculate_cost

            GENERATE_PLAN_ARG2 = 2000
            GENERATE_PLAN_ARG3 = 2000

            logger = logging.getLogger(__name__)

            def generate_plan(model: str) -> float:
                return calculate_cost(model, GENERATE_PLAN_ARG2, GENERATE_PLAN_ARG3)
            """,
            line=8,
            count=2,
        ),
        Invalid(
            """
            import httpx

            class OllamaTool:
                async def generate(self, prompt: str) -> str:
                    async with httpx.AsyncClient() as client:
                        resp = await client.post("http://localhost:11434/api/generate", json={"prompt": prompt}, timeout=120)
                        return resp.json()["response"]
            """,
            fixed="""
            import httpx

            GENERATE_TIMEOUT = 120

            class OllamaTool:
                async def generate(self, prompt: str) -> str:
                    async with httpx.AsyncClient() as client:
                        resp = await client.post("http://localhost:11434/api/generate", json={"prompt": prompt}, timeout=GENERATE_TIMEOUT)
                        return resp.json()["response"]
            """,
            line=6,
        ),
        Invalid(
            """
            from typing import Any

            def build_workflow(prompt: str) -> dict[str, Any]:
                return {
                    "4": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "sd_xl_base_1.0.safetensors"}},
                    "6": {"class_type": "CLIPTextEncode", "inputs": {"text": prompt}},
                }
            """,
            fixed="""
            from typing import Any

            BUILD_WORKFLOW_CKPT_NAME = "sd_xl_base_1.0.safetensors"

            def build_workflow(prompt: str) -> dict[str, Any]:
                return {
                    "4": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": BUILD_WORKFLOW_CKPT_NAME}},
                    "6": {"class_type": "CLIPTextEncode", "inputs": {"text": prompt}},
                }
            """,
            line=5,
        ),
        Invalid(
            """
            import requests
            from anthropic import Anthropic

            client = Anthropic()

            def summarise(text: str) -> str:
                requests.get("https://example.com/health", timeout=5)
                reply = client.messages.create(model="claude-3-5-sonnet-20241022", max_tokens=1024,
                                               messages=[{"role": "user", "content": text}])
                return reply.content[0].text
            """,
            count=2,
            line=7,
            fixed="""
            import requests
            from anthropic import Anthropic

            SUMMARISE_TIMEOUT = 5
            SUMMARISE_MODEL = "claude-3-5-sonnet-20241022"

            client = Anthropic()

            def summarise(text: str) -> str:
                requests.get("https://example.com/health", timeout=SUMMARISE_TIMEOUT)
                reply = client.messages.create(model=SUMMARISE_MODEL, max_tokens=1024,
                                               messages=[{"role": "user", "content": text}])
                return reply.content[0].text
            """,
        ),
    ]

    def __init__(self, context, options) -> None:
        super().__init__(context, options)
        self._clients: list[set[str]] = [set()]
        self._used_names: set[str] | None = None

    # -- client tracking -----------------------------------------------------------------------------
    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self._clients.append(set())

    def leave_FunctionDef(self, node: cst.FunctionDef) -> None:
        self._clients.pop()

    def visit_WithItem(self, node: cst.WithItem) -> None:
        if node.asname is not None and isinstance(node.asname.name, cst.Name) and isinstance(node.item, cst.Call):
            if self._is_http(node.item):
                self._clients[-1].add(node.asname.name.value)

    def visit_Assign(self, node: cst.Assign) -> None:
        if isinstance(node.value, cst.Call) and self._is_http(node.value):
            for target in node.targets:
                if isinstance(target.target, cst.Name):
                    self._clients[-1].add(target.target.value)

    def _is_http(self, call: cst.Call) -> bool:
        name = self.context.qualified(call.func) or ""
        return name.startswith(HTTP_LIBRARIES)

    # -- detection -----------------------------------------------------------------------------------
    def visit_Call(self, node: cst.Call) -> None:
        if self._in_module_constant():
            return
        ctx = self.context
        callee = ctx.dotted(node.func) or ctx.call_name(node) or "the call"
        last = callee.rsplit(".", 1)[-1].lower()
        qualified = ctx.qualified(node.func) or ""
        if any(word in last for word in ESTIMATE_WORDS):
            params = self._param_names(node)
            for index, arg in enumerate(node.args):
                if _is_number(arg.value):
                    label = arg.keyword.value if arg.keyword else (params[index] if index < len(params) else f"arg{index + 1}")
                    self._flag(arg.value, f"passed to the estimate {callee}()", label)
        http_call = qualified.startswith(HTTP_LIBRARIES) or (
            isinstance(node.func, cst.Attribute) and dotted_name(node.func.value) in self._clients[-1]
        )
        for arg in node.args:
            if arg.keyword is None:
                continue
            key = arg.keyword.value
            if key == "timeout" and http_call and _is_number(arg.value):
                self._flag(arg.value, f"as the timeout of {callee}()", "timeout")
            elif key in MODEL_KEYWORDS and isinstance(arg.value, cst.SimpleString):
                self._flag(arg.value, f"as the {key} of {callee}()", key)
        if qualified in TIMEOUT_CONSTRUCTORS:
            for arg in node.args:
                if _is_number(arg.value):
                    self._flag(arg.value, f"in {qualified}()", arg.keyword.value if arg.keyword else "timeout")

    def visit_DictElement(self, node: cst.DictElement) -> None:
        key = node.key
        if not isinstance(key, cst.SimpleString) or not isinstance(node.value, cst.SimpleString):
            return
        name = key.evaluated_value
        if name in MODEL_DICT_KEYS and not self._in_module_constant():
            self._flag(node.value, f"as the {name} of a workflow", str(name))

    # -- helpers -------------------------------------------------------------------------------------
    def _in_module_constant(self) -> bool:
        stack = self.context.stack
        if len(stack) < 2 or not isinstance(stack[1], cst.SimpleStatementLine):
            return False
        for small in stack[1].body:
            if isinstance(small, cst.Assign):
                return all(isinstance(t.target, cst.Name) and t.target.value.isupper() for t in small.targets)
            if isinstance(small, cst.AnnAssign):
                return isinstance(small.target, cst.Name) and small.target.value.isupper()
        return False

    def _param_names(self, call: cst.Call) -> list[str]:
        project = self.context.project
        if project is None:
            return []
        info = project.resolve_call(self.context, call.func)
        node = getattr(info, "node", None)
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            return []
        names = [a.arg for a in (*node.args.posonlyargs, *node.args.args)]
        if names and names[0] in ("self", "cls") and "." in (self.context.dotted(call.func) or ""):
            names = names[1:]
        return names

    def _flag(self, literal: cst.BaseExpression, what: str, label: str) -> None:
        value = self.context.module.code_for_node(literal)
        self.report(literal, value=value, what=what, fix=self._fix(literal, value, label))

    def _fix(self, literal: cst.BaseExpression, value: str, label: str):
        func = self.context.enclosing_function()
        scope = func.name.value if isinstance(func, cst.FunctionDef) else "module"
        base = re.sub(r"[^A-Za-z0-9]+", "_", f"{scope}_{label}").strip("_").upper()
        if not base or base[0].isdigit():
            base = f"VALUE_{base}"
        used = self._module_names()
        name, n = base, 2
        while name in used:
            name, n = f"{base}_{n}", n + 1
        used.add(name)
        return self.make_fix(
            (literal, cst.Name(name)), prelude=[(name, f"{name} = {value}")]
        )

    def _module_names(self) -> set[str]:
        if self._used_names is None:
            names: set[str] = set()
            for node in _all_names(self.context.module):
                names.add(node)
            self._used_names = names
        return self._used_names


def _is_number(expr: cst.BaseExpression) -> bool:
    if isinstance(expr, cst.UnaryOperation) and isinstance(expr.operator, cst.Minus):
        expr = expr.expression
    return isinstance(expr, (cst.Integer, cst.Float)) and expr.value not in TRIVIAL_NUMBERS


def _all_names(module: cst.Module) -> set[str]:
    """Every identifier of the module (a new constant must not shadow or be shadowed by any of them)."""
    collector = _NameCollector()
    module.visit(collector)
    return collector.names


class _NameCollector(cst.CSTVisitor):
    def __init__(self) -> None:
        self.names: set[str] = set()

    def visit_Name(self, node: cst.Name) -> None:
        self.names.add(node.value)

