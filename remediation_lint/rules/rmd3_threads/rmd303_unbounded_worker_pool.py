from __future__ import annotations

import ast
from remediation_lint.analysis.ast_walk import child_nodes

import libcst as cst

from remediation_lint.analysis.names import ast_dotted
from remediation_lint.analysis.threads import ast_call_args
from remediation_lint.astcheck import AstChecker
from remediation_lint.knowledge.threads import PROCESS_POOLS, THREAD_POOLS
from remediation_lint.rule import FixSafety, ImportSpec, Invalid, Provenance, Rule, Severity, Valid

#: the size argument of each pool constructor: (keyword, positional index)
_SIZE_KEYWORDS = {"max_workers": 0, "processes": 0}
#: calls whose result is bounded by the machine
_CPU_COUNTS = frozenset({"os.cpu_count", "multiprocessing.cpu_count", "psutil.cpu_count", "os.process_cpu_count"})
_PASS_THROUGH = frozenset({"int", "round", "float", "abs"})
_ENV_READS = frozenset({"os.environ.get", "os.getenv"})
_MAX_DEPTH = 4


_LOOP_VALUE = object()  # LibCST's placeholder for a ``for`` target: always bounded
_FUNCS = (ast.FunctionDef, ast.AsyncFunctionDef)


class _Fast(AstChecker):
    """The ``ast`` twin of the rule below (check mode)."""

    def visit_Call(self, node: ast.Call) -> None:
        ctx = self.context
        ctor = ctx.qualified(node.func)
        if ctor not in THREAD_POOLS and ctor not in PROCESS_POOLS:
            return
        keyword = None
        value = None
        for kw in node.keywords:
            if kw.arg in _SIZE_KEYWORDS:
                keyword, value = kw.arg, kw.value
                break
        if value is None:
            if node.keywords and node.args:
                ordered = sorted([*node.args, *node.keywords], key=lambda n: (n.lineno, n.col_offset))
                first = ordered[0]
            else:
                first = node.args[0] if node.args else (node.keywords[0] if node.keywords else None)
            if first is None or not isinstance(first, ast.expr) or isinstance(first, ast.Starred):
                return
            value = first
        func = ctx.enclosing_function()
        cls = ctx.enclosing_class()
        if self._bounded(value, func if isinstance(func, _FUNCS) else None, cls, 0):
            return
        text = self._text(node, keyword, value)
        if text is None:
            self.defer()
            return
        arg_name = keyword if keyword is not None else ("processes" if "Pool" == ctor.rsplit(".", 1)[-1] else "max_workers")
        self.report(node, ctor=ctor.rsplit(".", 1)[-1], arg=arg_name, value=text, fix=FixSafety.SAFE)

    def _text(self, call: ast.Call, keyword: str | None, value: ast.expr) -> str | None:
        """The size's source text as LibCST prints it (None when that takes more than a slice: several
        lines, or parentheses around the value)."""
        if value.lineno != value.end_lineno:
            return None
        line = self.context.source.splitlines()[value.lineno - 1]
        if keyword is not None:
            kw = next(k for k in call.keywords if k.value is value)
            if kw.lineno != value.lineno:
                return None
            before = line[kw.col_offset : value.col_offset]
        else:
            if call.func.end_lineno != value.lineno:
                return None
            before = line[call.func.end_col_offset : value.col_offset]
            before = before.replace(b"(", b"", 1)
        if b"(" in before:
            return None
        try:
            line.decode("utf-8")
        except UnicodeDecodeError:
            return None  # another source encoding: ast offsets count the UTF-8 bytes of the decoded text
        return line[value.col_offset : value.end_col_offset].decode("utf-8")

    def _bounded(self, expr: ast.AST, func, cls, depth: int) -> bool:
        if depth > _MAX_DEPTH:
            return True
        ctx = self.context
        if expr is _LOOP_VALUE:
            return True
        if isinstance(expr, ast.Name):
            return self._bounded_name(expr.id, func, cls, depth)
        if isinstance(expr, ast.Attribute):
            dotted = ast_dotted(expr)
            if dotted is None:
                return True
            if dotted.rsplit(".", 1)[-1].isupper():
                return True
            if dotted.startswith("self.") and dotted.count(".") == 1 and cls is not None:
                values = _ast_self_assignments(cls, expr.attr)
                if not values:
                    return True
                return all(self._bounded(value, method, cls, depth + 1) for value, method in values)
            return True
        if isinstance(expr, ast.Call):
            callee = ctx.call_name(expr) or ""
            if callee in ("min",):
                return True
            if callee in _CPU_COUNTS:
                return True
            args = ast_call_args(expr)
            if callee == "len":
                return bool(args) and isinstance(args[0][1], ast.Call) and ctx.call_name(args[0][1]) == "os.sched_getaffinity"
            if callee in _PASS_THROUGH:
                return not args or self._bounded(args[0][1], func, cls, depth + 1)
            if callee == "max":
                return all(self._bounded(v, func, cls, depth + 1) for _, v in args)
            if callee in _ENV_READS:
                return False
            return True
        if isinstance(expr, ast.Subscript):
            dotted = ast_dotted(expr.value) or ""
            return dotted.rsplit(".", 1)[-1].isupper() and dotted != "os.environ"
        if isinstance(expr, ast.BinOp):
            return self._bounded(expr.left, func, cls, depth + 1) and self._bounded(expr.right, func, cls, depth + 1)
        if isinstance(expr, ast.BoolOp):
            return self._bounded_bool(expr.values, func, cls, depth)
        if isinstance(expr, ast.IfExp):
            return self._bounded(expr.body, func, cls, depth + 1) and self._bounded(expr.orelse, func, cls, depth + 1)
        if isinstance(expr, ast.UnaryOp):
            return self._bounded(expr.operand, func, cls, depth + 1)
        return True

    def _bounded_bool(self, values: list[ast.expr], func, cls, depth: int) -> bool:
        # LibCST nests ``a or b or c`` to the left: ((a or b) or c)
        if len(values) == 1:
            return self._bounded(values[0], func, cls, depth)
        return self._bounded_bool(values[:-1], func, cls, depth + 1) and self._bounded(values[-1], func, cls, depth + 1)

    def _bounded_name(self, name: str, func, cls, depth: int) -> bool:
        if name == "None" or name.isupper():
            return True
        if func is not None:
            values = [v for v, _ in _ast_assignments(func.body, name=name)]
            if values:
                return all(self._bounded(value, func, cls, depth + 1) for value in values)
            if name in _ast_param_names(func):
                return False
        values = _ast_module_assignments(self.context.tree, name)
        if values:
            return all(self._bounded(value, None, None, depth + 1) for value in values)
        return True


def _ast_param_names(func) -> set[str]:
    a = func.args
    names = {p.arg for p in (*a.posonlyargs, *a.args, *a.kwonlyargs)}
    for star in (a.vararg, a.kwarg):
        if star is not None:
            names.add(star.arg)
    return names


def _ast_assignments(body: list[ast.stmt], name: str | None = None, attr: str | None = None) -> list[tuple[object, object]]:
    """``_AssignFinder`` on a body: (value, enclosing method or None)."""

    def matches(target: ast.AST) -> bool:
        if name is not None:
            return isinstance(target, ast.Name) and target.id == name
        return (
            isinstance(target, ast.Attribute)
            and isinstance(target.value, ast.Name)
            and target.value.id == "self"
            and target.attr == attr
        )

    values: list[tuple[object, object]] = []

    def walk(node: ast.AST, func) -> None:
        if isinstance(node, _FUNCS):
            if attr is None:
                return
            for child in _def_children(node):
                walk(child, node)
            return
        if isinstance(node, ast.ClassDef):
            if attr is None or func is not None:
                return
        elif isinstance(node, ast.Assign):
            if any(matches(t) for t in node.targets):
                values.append((node.value, func))
        elif isinstance(node, ast.AnnAssign):
            if node.value is not None and matches(node.target):
                values.append((node.value, func))
        elif isinstance(node, ast.AugAssign):
            if matches(node.target):
                values.append((node.value, func))
        elif isinstance(node, (ast.For, ast.AsyncFor)):
            if matches(node.target):
                values.append((_LOOP_VALUE, None))
        for child in child_nodes(node):
            walk(child, func)

    for stmt in body:
        walk(stmt, None)
    return values


def _def_children(node) -> list[ast.AST]:
    return [*node.decorator_list, node.args, *([node.returns] if node.returns is not None else []), *node.body]


def _ast_self_assignments(cls: ast.ClassDef, attr: str) -> list[tuple[object, object]]:
    return _ast_assignments(cls.body, attr=attr)


def _ast_module_assignments(tree: ast.Module, name: str) -> list[ast.expr]:
    values: list[ast.expr] = []
    for stmt in tree.body:
        if isinstance(stmt, ast.Assign) and any(isinstance(t, ast.Name) and t.id == name for t in stmt.targets):
            values.append(stmt.value)
        elif isinstance(stmt, ast.AnnAssign) and stmt.value is not None and isinstance(stmt.target, ast.Name) and stmt.target.id == name:
            values.append(stmt.value)
    return values


class UnboundedWorkerPool(Rule):
    """A thread or process pool sized by an uncapped value can spawn hundreds of workers.

    ## What it does
    Finds `ThreadPoolExecutor(max_workers=x)`, `ProcessPoolExecutor(max_workers=x)`,
    `multiprocessing.Pool(x)` and `ThreadPool(x)` (under any import alias) whose size is not a constant
    and not capped: a parameter, `len(tasks)`, a value read from the environment or from a subscript, an
    attribute of `self` assigned from a parameter, or arithmetic on such values. A local variable or a
    `self` attribute is followed to its assignments in the function or the class; sizes built with
    `min(...)`, `os.cpu_count()` or constants are left alone, and so are values the rule cannot trace
    (attributes of other objects, calls of functions defined elsewhere).

    ## Why is this bad?
    The size comes from a task file, a request or the size of the input: with 500 tasks the pool starts
    500 threads, each with its own stack, and the machine runs out of memory or file descriptors long
    before the work goes any faster. TASKER's parallel executor (plan item 3,
    `parallel_executor.py:129`) could spawn 100+ threads this way; the plan caps it at
    `min(max_parallel, cpu_count() * 2, 32)`.

    ## Fix
    Cap the size: `max_workers=min(x, (os.cpu_count() or 1) * 2, 32)`.

    ## Fix safety
    Safe: the pool runs the same work with at most the capped number of workers; callers that asked for
    fewer workers get exactly what they asked for.
    """

    code = "RMD303"
    ast_checker = _Fast
    name = "unbounded-worker-pool"
    message = "{ctor}({arg}={value}) is not capped: use {arg}=min({value}, (os.cpu_count() or 1) * 2, 32)"
    severity = Severity.CRITICAL
    provenance = (
        Provenance(
            "003_a4879ce62f499f62.txt",
            "Critical priority, item 3 (unbounded thread pool in parallel_executor.py:129)",
            "tasker",
        ),
    )
    fix_safety = FixSafety.SAFE
    triggers = (b"PoolExecutor", b"Pool")

    limitations = (
        "The Semgrep twin `rmd303-unbounded-worker-pool` follows a size only through a parameter, a local "
        "assigned in the same function, or `self.x` assigned straight from a parameter; sizes traced "
        "through longer chains are reported by this rule alone."
    )

    VALID = [
        Valid(
            """
            import multiprocessing
            from concurrent.futures import ThreadPoolExecutor

            def execute_parallel(tasks, max_parallel):
                max_workers = min(max_parallel, multiprocessing.cpu_count() * 2, 32)
                with ThreadPoolExecutor(max_workers=max_workers) as executor:
                    return list(executor.map(run, tasks))
            """
        ),
        Valid(
            """
            from concurrent.futures import ThreadPoolExecutor

            MAX_WORKERS = 8

            def fetch_all(urls):
                with ThreadPoolExecutor(MAX_WORKERS) as pool:
                    return list(pool.map(fetch, urls))

            def fetch_some(urls):
                with ThreadPoolExecutor(max_workers=4) as pool:
                    return list(pool.map(fetch, urls))
            """
        ),
        Valid(
            """
            import os
            from concurrent.futures import ProcessPoolExecutor

            def crunch(chunks):
                with ProcessPoolExecutor(max_workers=os.cpu_count()) as pool:
                    return list(pool.map(work, chunks))

            def crunch_default(chunks):
                with ProcessPoolExecutor() as pool:
                    return list(pool.map(work, chunks))
            """
        ),
        Valid(
            """
            import os
            from concurrent.futures import ThreadPoolExecutor

            class Indexer:
                def __init__(self, workers):
                    self.workers = min(workers, 16)
                    self.pool = ThreadPoolExecutor(max_workers=self.workers)

                def resize(self, settings):
                    return ThreadPoolExecutor(max_workers=settings.workers)
            """
        ),
        Valid(
            """
            import multiprocessing as mp

            def render(frames, jobs=None):
                size = (os.cpu_count() or 1) * 2 if jobs is None else 4
                with mp.Pool(size) as pool:
                    return pool.map(draw, frames)
            """
        ),
    ]

    INVALID = [
        Invalid(
            """
            from concurrent.futures import ThreadPoolExecutor

            class ParallelExecutor:
                def __init__(self, tasks, max_parallel):
                    self.tasks = tasks
                    self.max_parallel = max_parallel

                def execute_parallel(self):
                    with ThreadPoolExecutor(max_workers=self.max_parallel) as executor:
                        return list(executor.map(self.run, self.tasks))
            """,
            fixed="""
            from concurrent.futures import ThreadPoolExecutor
            import os

            class ParallelExecutor:
                def __init__(self, tasks, max_parallel):
                    self.tasks = tasks
                    self.max_parallel = max_parallel

                def execute_parallel(self):
                    with ThreadPoolExecutor(max_workers=min(self.max_parallel, (os.cpu_count() or 1) * 2, 32)) as executor:
                        return list(executor.map(self.run, self.tasks))
            """,
            line=9,
        ),
        Invalid(
            """
            import concurrent.futures as cf

            def fetch_all(urls):
                with cf.ThreadPoolExecutor(len(urls)) as pool:
                    return list(pool.map(fetch, urls))
            """,
            fixed="""
            import concurrent.futures as cf
            import os

            def fetch_all(urls):
                with cf.ThreadPoolExecutor(min(len(urls), (os.cpu_count() or 1) * 2, 32)) as pool:
                    return list(pool.map(fetch, urls))
            """,
        ),
        Invalid(
            """
            import os
            from multiprocessing import Pool

            def convert(files):
                workers = int(os.environ.get("CONVERT_WORKERS", "8"))
                with Pool(processes=workers) as pool:
                    return pool.map(convert_one, files)
            """,
            fixed="""
            import os
            from multiprocessing import Pool

            def convert(files):
                workers = int(os.environ.get("CONVERT_WORKERS", "8"))
                with Pool(processes=min(workers, (os.cpu_count() or 1) * 2, 32)) as pool:
                    return pool.map(convert_one, files)
            """,
            line=6,
        ),
        Invalid(
            """
            from concurrent.futures import ProcessPoolExecutor

            def run_batch(jobs, per_job):
                executor = ProcessPoolExecutor(max_workers=len(jobs) * per_job)
                try:
                    return [f.result() for f in [executor.submit(j) for j in jobs]]
                finally:
                    executor.shutdown()
            """,
            fixed="""
            from concurrent.futures import ProcessPoolExecutor
            import os

            def run_batch(jobs, per_job):
                executor = ProcessPoolExecutor(max_workers=min(len(jobs) * per_job, (os.cpu_count() or 1) * 2, 32))
                try:
                    return [f.result() for f in [executor.submit(j) for j in jobs]]
                finally:
                    executor.shutdown()
            """,
        ),
        Invalid(
            """
            from concurrent.futures import ThreadPoolExecutor

            class Crawler:
                def __init__(self, config):
                    self.pool = ThreadPoolExecutor(max_workers=config["workers"])
            """,
            fixed="""
            from concurrent.futures import ThreadPoolExecutor
            import os

            class Crawler:
                def __init__(self, config):
                    self.pool = ThreadPoolExecutor(max_workers=min(config["workers"], (os.cpu_count() or 1) * 2, 32))
            """,
        ),
    ]

    def visit_Call(self, node: cst.Call) -> None:
        ctx = self.context
        ctor = ctx.qualified(node.func)
        if ctor not in THREAD_POOLS and ctor not in PROCESS_POOLS:
            return
        size_arg = None
        for arg in node.args:
            if arg.keyword is not None and arg.keyword.value in _SIZE_KEYWORDS:
                size_arg = arg
                break
        if size_arg is None and node.args and node.args[0].keyword is None and node.args[0].star == "":
            size_arg = node.args[0]
        if size_arg is None:
            return
        func = ctx.enclosing_function()
        cls = ctx.enclosing_class()
        if self._bounded(size_arg.value, func if isinstance(func, cst.FunctionDef) else None, cls, 0):
            return
        value = ctx.module.code_for_node(size_arg.value)
        capped = cst.Call(
            func=cst.Name("min"),
            args=[
                cst.Arg(size_arg.value, comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))),
                cst.Arg(
                    cst.parse_expression("(os.cpu_count() or 1) * 2"),
                    comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" ")),
                ),
                cst.Arg(cst.Integer("32")),
            ],
        )
        fix = self.make_fix((size_arg.value, capped), imports=[ImportSpec("os")])
        arg_name = size_arg.keyword.value if size_arg.keyword is not None else ("processes" if "Pool" == ctor.rsplit(".", 1)[-1] else "max_workers")
        self.report(node, ctor=ctor.rsplit(".", 1)[-1], arg=arg_name, value=value, fix=fix)

    # -- is the size bounded? ---------------------------------------------------------------------------
    def _bounded(self, expr: cst.BaseExpression, func: cst.FunctionDef | None, cls: cst.ClassDef | None, depth: int) -> bool:
        if depth > _MAX_DEPTH:
            return True
        ctx = self.context
        if isinstance(expr, (cst.Integer, cst.Float)):
            return True
        if isinstance(expr, cst.Name):
            return self._bounded_name(expr.value, func, cls, depth)
        if isinstance(expr, cst.Attribute):
            dotted = ctx.dotted(expr)
            if dotted is None:
                return True
            if dotted.rsplit(".", 1)[-1].isupper():
                return True
            if dotted.startswith("self.") and dotted.count(".") == 1 and cls is not None:
                values = _self_assignments(cls, expr.attr.value)
                if not values:
                    return True
                return all(self._bounded(value, method, cls, depth + 1) for value, method in values)
            return True  # an attribute of another object: unresolved, not reported
        if isinstance(expr, cst.Call):
            callee = ctx.call_name(expr) or ""
            if callee in ("min",):
                return True
            if callee in _CPU_COUNTS:
                return True
            if callee == "len":
                return bool(expr.args) and isinstance(expr.args[0].value, cst.Call) and (
                    ctx.call_name(expr.args[0].value) == "os.sched_getaffinity"
                )
            if callee in _PASS_THROUGH:
                return not expr.args or self._bounded(expr.args[0].value, func, cls, depth + 1)
            if callee == "max":
                return all(self._bounded(a.value, func, cls, depth + 1) for a in expr.args)
            if callee in _ENV_READS:
                return False
            return True  # a call the rule cannot follow
        if isinstance(expr, cst.Subscript):
            dotted = ctx.dotted(expr.value) or ""
            return dotted.rsplit(".", 1)[-1].isupper() and dotted != "os.environ"
        if isinstance(expr, cst.BinaryOperation):
            return self._bounded(expr.left, func, cls, depth + 1) and self._bounded(expr.right, func, cls, depth + 1)
        if isinstance(expr, cst.BooleanOperation):
            return self._bounded(expr.left, func, cls, depth + 1) and self._bounded(expr.right, func, cls, depth + 1)
        if isinstance(expr, cst.IfExp):
            return self._bounded(expr.body, func, cls, depth + 1) and self._bounded(expr.orelse, func, cls, depth + 1)
        if isinstance(expr, cst.UnaryOperation):
            return self._bounded(expr.expression, func, cls, depth + 1)
        return True

    def _bounded_name(self, name: str, func: cst.FunctionDef | None, cls: cst.ClassDef | None, depth: int) -> bool:
        if name == "None" or name.isupper():
            return True
        if func is not None:
            values = _name_assignments(func.body, name)
            if values:
                return all(self._bounded(value, func, cls, depth + 1) for value in values)
            if name in _param_names(func):
                return False
        values = _module_assignments(self.context.module, name)
        if values:
            return all(self._bounded(value, None, None, depth + 1) for value in values)
        return True  # unresolved


def _param_names(func: cst.FunctionDef) -> set[str]:
    params = func.params
    names = {p.name.value for p in (*params.posonly_params, *params.params, *params.kwonly_params)}
    for star in (params.star_arg, params.star_kwarg):
        if isinstance(star, cst.Param):
            names.add(star.name.value)
    return names


class _AssignFinder(cst.CSTVisitor):
    """Values assigned to one name (or ``self.<attr>``) in a body, nested functions excluded."""

    def __init__(self, name: str | None = None, attr: str | None = None) -> None:
        self.name = name
        self.attr = attr
        self.values: list[tuple[cst.BaseExpression, cst.FunctionDef | None]] = []
        self.func: list[cst.FunctionDef] = []
        self.depth = 0

    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        if self.attr is None:
            return False
        self.func.append(node)
        return True

    def leave_FunctionDef(self, node: cst.FunctionDef) -> None:
        if self.attr is not None:
            self.func.pop()

    def visit_ClassDef(self, node: cst.ClassDef) -> bool:
        return self.attr is not None and not self.func

    def _matches(self, target: cst.BaseExpression) -> bool:
        if self.name is not None:
            return isinstance(target, cst.Name) and target.value == self.name
        return (
            isinstance(target, cst.Attribute)
            and isinstance(target.value, cst.Name)
            and target.value.value == "self"
            and target.attr.value == self.attr
        )

    def visit_Assign(self, node: cst.Assign) -> None:
        if any(self._matches(t.target) for t in node.targets):
            self.values.append((node.value, self.func[-1] if self.func else None))

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        if node.value is not None and self._matches(node.target):
            self.values.append((node.value, self.func[-1] if self.func else None))

    def visit_AugAssign(self, node: cst.AugAssign) -> None:
        if self._matches(node.target):
            self.values.append((node.value, self.func[-1] if self.func else None))

    def visit_For(self, node: cst.For) -> None:
        if self._matches(node.target):
            self.values.append((cst.Name("__unknown_loop_value__"), None))


def _name_assignments(body: cst.BaseSuite, name: str) -> list[cst.BaseExpression]:
    finder = _AssignFinder(name=name)
    body.visit(finder)
    return [value for value, _ in finder.values]


def _self_assignments(cls: cst.ClassDef, attr: str) -> list[tuple[cst.BaseExpression, cst.FunctionDef | None]]:
    finder = _AssignFinder(attr=attr)
    cls.body.visit(finder)
    return finder.values


def _module_assignments(module: cst.Module, name: str) -> list[cst.BaseExpression]:
    values: list[cst.BaseExpression] = []
    for stmt in module.body:
        if not isinstance(stmt, cst.SimpleStatementLine):
            continue
        for small in stmt.body:
            if isinstance(small, cst.Assign) and any(
                isinstance(t.target, cst.Name) and t.target.value == name for t in small.targets
            ):
                values.append(small.value)
            elif isinstance(small, cst.AnnAssign) and small.value is not None and isinstance(small.target, cst.Name) and small.target.value == name:
                values.append(small.value)
    return values
