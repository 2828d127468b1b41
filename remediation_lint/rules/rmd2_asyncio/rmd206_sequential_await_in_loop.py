from __future__ import annotations

import ast
from remediation_lint.analysis.ast_walk import ast_walk, child_nodes

import libcst as cst

from remediation_lint.analysis.names import ast_dotted, dotted_name
from remediation_lint.analysis.sync_callees import asyncio_name
from remediation_lint.astcheck import AstChecker
from remediation_lint.knowledge.async_loops import CONCURRENCY_MODULES, LIFECYCLE_WORDS, ORDERED_METHODS
from remediation_lint.rule import Default, FixSafety, ImportSpec, Invalid, Provenance, Rule, Severity, Valid

#: methods that change the object they are called on (a loop that mutates what the next call reads)
MUTATORS = frozenset(
    {"append", "extend", "insert", "update", "pop", "popitem", "add", "setdefault", "clear", "remove", "discard",
     "appendleft", "extendleft", "popleft", "sort", "reverse"}
)


class _Fast(AstChecker):
    """The ``ast`` twin of the rule below (check mode)."""

    def visit_For(self, node: ast.For) -> None:
        if node.orelse:
            return
        ctx = self.context
        if not ctx.in_async_function() or ctx.is_test_file():
            return
        scan = _AstBodyScan()
        for index, stmt in enumerate(node.body):
            scan.index = index
            scan.visit(stmt, node)
            if scan.stop:
                return
        if len(scan.awaits) != 1:
            return
        awaited, at = scan.awaits[0]
        call = awaited.value
        if not isinstance(call, ast.Call):
            return
        callee = ast_dotted(call.func)
        last = callee.rsplit(".", 1)[-1] if callee else (call.func.attr if isinstance(call.func, ast.Attribute) else "")
        if last in set(self.opts["ordered_methods"]):
            return
        if set(last.lower().split("_")) & set(self.opts["lifecycle_words"]):
            return
        qualified = ctx.qualified(call.func)
        if qualified and qualified.split(".")[0] in CONCURRENCY_MODULES:
            return
        if not _ast_independent(node, call, at, scan):
            return
        block = self._indented_block(node)
        if block is None:
            self.defer()
            return
        if not block:
            return  # a one-line ``for x in y: ...`` (LibCST: not an IndentedBlock)
        fix = self._fixable(node, awaited)
        if fix is None:
            self.defer()
            return
        self.report(awaited, call=callee or "the call", fix=FixSafety.UNSAFE if fix else None)

    def _lines(self) -> list[bytes]:
        lines = getattr(self, "_source_lines", None)
        if lines is None:
            lines = self._source_lines = self.context.source.splitlines()
        return lines

    def _text(self, line: int, col: int, end_line: int, end_col: int) -> bytes:
        lines = self._lines()
        if line == end_line:
            return lines[line - 1][col:end_col]
        return b"\n".join([lines[line - 1][col:], *lines[line:end_line - 1], lines[end_line - 1][:end_col]])

    def _indented_block(self, loop: ast.For) -> bool | None:
        """Whether the body is an indented block (True) or on the header's line (False); None: unclear."""
        first = loop.body[0]
        between = self._text(loop.iter.end_lineno, loop.iter.end_col_offset, first.lineno, first.col_offset)  # type: ignore[arg-type]
        colon = between.find(b":")
        if colon < 0 or b"\\" in between or b"#" in between[:colon]:
            return None
        rest = between[colon + 1:]
        return b"\n" in rest or b"\r" in rest

    def _fixable(self, loop: ast.For, awaited: ast.Await) -> bool | None:
        """Whether the LibCST rule attaches its fix (``_fix``); None when a comment makes it unclear."""
        if not isinstance(loop.target, ast.Name) or len(loop.body) != 1:
            return False
        stmt = loop.body[0]
        if not isinstance(stmt, ast.Expr) or not isinstance(stmt.value, ast.Call):
            return False
        append = stmt.value
        if not (isinstance(append.func, ast.Attribute) and append.func.attr == "append"):
            return False
        if len(append.args) != 1 or append.keywords or isinstance(append.args[0], ast.Starred):
            return False
        if append.args[0] is not awaited:
            return False
        if ast_dotted(append.func.value) is None:
            return False
        # comments in the loop (the statement's own trailing comment aside) stop the fix
        if b"#" in self._text(loop.lineno, loop.col_offset, stmt.end_lineno, stmt.end_col_offset):  # type: ignore[arg-type]
            return False
        lines = self._lines()
        for numbers in (range(loop.lineno - 2, -1, -1), range(stmt.end_lineno or 0, len(lines))):
            for number in numbers:  # the comment-only lines before and after the loop
                text = lines[number].strip()
                if text.startswith(b"#"):
                    return None  # the loop's leading lines or footer, or not: left to LibCST
                if text:
                    break
        func = self.context.enclosing_function()
        target = loop.target.id
        if func is not None and _ast_count_name(func, target) != _ast_count_name(loop, target):
            return False
        return True


class _AstBodyScan:
    """``_BodyScan`` on ``ast``."""

    def __init__(self) -> None:
        self.index = 0
        self.awaits: list[tuple[ast.Await, int]] = []
        self.stop = False
        self.writes: list[tuple[str, int, str]] = []
        self._loops = 0
        self._handlers = 0
        self._comprehensions = 0

    def visit(self, node: ast.AST, parent: ast.AST) -> None:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)):
            return
        leave = None
        if isinstance(node, ast.Await):
            if self._comprehensions:
                self.stop = True
            self.awaits.append((node, self.index))
        elif isinstance(node, (ast.For, ast.AsyncFor)):
            if isinstance(node, ast.AsyncFor):
                self.stop = True
            self._loops += 1
            leave = "_loops"
            for chain in _ast_bound(node.target):
                self.writes.append((chain, self.index, "assign"))
        elif isinstance(node, ast.While):
            self._loops += 1
            leave = "_loops"
        elif isinstance(node, (ast.With, ast.AsyncWith)):
            if isinstance(node, ast.AsyncWith):
                self.stop = True
            for item in node.items:
                if item.optional_vars is not None:
                    for chain in _ast_bound(item.optional_vars):
                        self.writes.append((chain, self.index, "assign"))
        elif isinstance(node, (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)):
            self._comprehensions += 1
            leave = "_comprehensions"
        elif isinstance(node, ast.comprehension):
            if node.is_async:
                self.stop = True
        elif isinstance(node, ast.ExceptHandler):
            if type(parent).__name__ != "TryStar":  # LibCST's ExceptStarHandler is another node type
                self._handlers += 1
                leave = "_handlers"
        elif isinstance(node, ast.Break):
            if not self._loops:
                self.stop = True
        elif isinstance(node, (ast.Return, ast.Yield, ast.YieldFrom, ast.Assert, ast.Global, ast.Nonlocal)):
            self.stop = True
        elif isinstance(node, ast.Raise):
            if not self._handlers:
                self.stop = True
        elif isinstance(node, ast.Assign):
            for target in node.targets:
                for chain in _ast_bound(target):
                    self.writes.append((chain, self.index, "assign"))
        elif isinstance(node, ast.AnnAssign):
            for chain in _ast_bound(node.target):
                self.writes.append((chain, self.index, "assign"))
        elif isinstance(node, (ast.AugAssign, ast.NamedExpr)):
            for chain in _ast_bound(node.target):
                self.writes.append((chain, self.index, "aug"))
        elif isinstance(node, ast.Delete):
            for target in node.targets:
                for chain in _ast_bound(target):
                    self.writes.append((chain, self.index, "aug"))
        elif isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Attribute) and func.attr in MUTATORS:
                chain = ast_dotted(func.value)
                if chain is not None:
                    self.writes.append((chain, self.index, "mutate"))
        for child in child_nodes(node):
            self.visit(child, node)
        if leave is not None:
            setattr(self, leave, getattr(self, leave) - 1)


def _ast_bound(target: ast.AST) -> list[str]:
    if isinstance(target, (ast.Tuple, ast.List)):
        out: list[str] = []
        for el in target.elts:
            out.extend(_ast_bound(el))
        return out
    if isinstance(target, ast.Starred):
        return _ast_bound(target.value)
    if isinstance(target, ast.Subscript):
        chain = ast_dotted(target.value)
        return [chain] if chain else []
    chain = ast_dotted(target)
    return [chain] if chain else []


def _ast_reads(node: ast.AST, chains: set[str]) -> None:
    """``_Reads`` on ``ast``: names and dotted chains an expression reads."""
    if isinstance(node, ast.Attribute):
        chain = ast_dotted(node)
        if chain is not None:
            chains.add(chain)
            chains.add(chain.split(".", 1)[0])
        else:
            _ast_reads(node.value, chains)
        return
    if isinstance(node, ast.Name):
        chains.add(node.id)
        return
    if isinstance(node, ast.keyword):
        _ast_reads(node.value, chains)
        return
    if isinstance(node, ast.Lambda):
        return
    for child in child_nodes(node):
        _ast_reads(child, chains)


def _ast_independent(loop: ast.For, call: ast.Call, at: int, scan: _AstBodyScan) -> bool:
    reads: set[str] = set()
    _ast_reads(call, reads)
    in_args: set[str] = set()
    for arg in (*call.args, *call.keywords):
        _ast_reads(arg, in_args)
    per_item = set(_ast_bound(loop.target))
    writes_by_chain: dict[str, list[tuple[int, str]]] = {}
    for chain, index, kind in scan.writes:
        writes_by_chain.setdefault(chain, []).append((index, kind))
    for chain, entries in writes_by_chain.items():
        if all(index < at and kind == "assign" for index, kind in entries) and "." not in chain:
            per_item.add(chain)
    for read in reads:
        for chain in writes_by_chain:
            if chain in per_item:
                continue
            if _related(read, chain):
                return False
    return any(read.split(".", 1)[0] in per_item for read in in_args)


def _ast_count_name(node: ast.AST, name: str) -> int:
    """How many LibCST ``Name`` nodes spell ``name`` under ``node`` (identifiers of every kind)."""
    count = 0
    for sub in ast_walk(node):
        if isinstance(sub, ast.Name):
            count += sub.id == name
        elif isinstance(sub, ast.Attribute):
            count += sub.attr == name
        elif isinstance(sub, ast.keyword):
            count += sub.arg == name
        elif isinstance(sub, ast.arg):
            count += sub.arg == name
        elif isinstance(sub, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            count += sub.name == name
        elif isinstance(sub, ast.alias):
            count += sub.name.split(".").count(name) + (sub.asname == name)
        elif isinstance(sub, ast.ImportFrom):
            count += (sub.module or "").split(".").count(name)
        elif isinstance(sub, (ast.Global, ast.Nonlocal)):
            count += sub.names.count(name)
        elif isinstance(sub, ast.ExceptHandler):
            count += sub.name == name
        elif type(sub).__name__ in ("MatchAs", "MatchStar"):
            count += getattr(sub, "name", None) == name
        elif type(sub).__name__ == "MatchMapping":
            count += getattr(sub, "rest", None) == name
        elif type(sub).__name__ == "MatchClass":
            count += list(getattr(sub, "kwd_attrs", ())).count(name)
    return count


class SequentialAwaitInLoop(Rule):
    """A `for` loop in a coroutine awaits one independent call per item: the calls run one after another.

    ## What it does
    Finds a plain `for` loop in an `async def` whose body has exactly one await point, an awaited call
    (`r = await llm.generate(x)`, `results.append(await fetch(url))`, `out[k] = await f(k)`) whose
    arguments use the loop variable (or a value computed from it earlier in the same iteration) and
    nothing the loop changes from one iteration to the next.

    Left alone: `async for`; loops with several await points (`async with` and `async for` inside the
    body count); loops that `break`, `return`, `yield`, `raise` or `assert` (retry loops, searches,
    fail-fast checks); loops whose call reads a name or attribute the body reassigns or mutates after
    the call or in place (`prev = await f(prev)`, `history.append(await llm.chat(history))`); awaits of
    `asyncio`/`anyio`/`trio` functions (sleeps, per-batch `gather`) and of methods that must stay in
    order or share one connection (`send`, `write`, `put`, `execute`, `commit`, `acquire`, `wait`, ...;
    the `ordered_methods` option) or whose name marks a lifecycle or interactive step done one by one
    (`close`, `cleanup`, `start`, `stop`, `shutdown`, `elicit`, ...; the `lifecycle_words` option);
    calls where the item is only the receiver or the callee (`await conn.aclose()`, `await hook()`):
    the item must be passed as an argument; awaits of a task or future rather than a call; test files.

    ## Why is this bad?
    Each iteration waits for the previous call to finish, so N independent network calls take N round
    trips instead of about one. The khala plan (HIGH, "Fix Lifecycle LLM Loop") found
    `MemoryLifecycleService.consolidate_memories` awaiting `self.llm.generate(...)` once per memory,
    sequentially, making consolidation as slow as the sum of every LLM call.

    ## Fix
    Run the calls concurrently with `asyncio.gather`, bounded by an `asyncio.Semaphore` so that a large
    batch does not flood the service (or its rate limit):

    ```python
    sem = asyncio.Semaphore(8)

    async def _one(item):
        async with sem:
            return await llm.generate(item)

    results.extend(await asyncio.gather(*(_one(item) for item in items)))
    ```

    ## Fix safety
    Unsafe, offered only for the exact shape `for x in items: results.append(await call(...x...))`:
    the calls then overlap (at most `max_concurrency` at a time), and the first exception propagates
    while the other calls keep running. Order of the results is kept.
    """

    code = "RMD206"
    ast_checker = _Fast
    name = "sequential-await-in-loop"
    message = "await {call}() runs once per item of the for loop, one after another: run the calls with asyncio.gather bounded by a Semaphore"
    severity = Severity.HIGH
    default = Default.PREVIEW
    provenance = (
        Provenance("000_18f8732ba4a86cc0.txt", "HIGH, Performance: Fix Lifecycle LLM Loop (sequential LLM calls in consolidate_memories)", "khala"),
    )
    fix_safety = FixSafety.UNSAFE
    triggers = (b"await",)
    options = {
        "ordered_methods": tuple(sorted(ORDERED_METHODS)),
        "lifecycle_words": tuple(sorted(LIFECYCLE_WORDS)),
        "max_concurrency": 8,
    }
    option_docs = {
        "ordered_methods": "method names whose awaited calls must stay in order (sends, writes, queue puts, one DB connection)",
        "lifecycle_words": "words of a callee name that mark a step done one by one on purpose (close, cleanup, start, stop, elicit)",
        "max_concurrency": "the Semaphore bound the fix writes",
    }

    VALID = [
        Valid(
            """
            import asyncio

            class MemoryLifecycleService:
                def __init__(self, llm, max_concurrency=8):
                    self.llm = llm
                    self.max_concurrency = max_concurrency

                async def consolidate_memories(self, memories):
                    sem = asyncio.Semaphore(self.max_concurrency)

                    async def _one(memory):
                        async with sem:
                            return await self.llm.generate(memory.content)

                    return await asyncio.gather(*(_one(m) for m in memories))
            """
        ),
        Valid(
            """
            async def refine(llm, draft, rounds):
                for _ in range(rounds):
                    draft = await llm.generate(f"Improve: {draft}")
                return draft

            async def chat(llm, questions):
                history = []
                for question in questions:
                    history.append({"role": "user", "content": question})
                    answer = await llm.chat(history)
                    history.append({"role": "assistant", "content": answer})
                return history
            """
        ),
        Valid(
            """
            import asyncio

            async def fetch_with_retry(client, url, attempts=3):
                for attempt in range(attempts):
                    try:
                        return await client.get(url, params={"attempt": attempt})
                    except ConnectionError:
                        continue
                raise RuntimeError(url)

            async def first_available(client, urls):
                for url in urls:
                    response = await client.get(url)
                    if response.status_code == 200:
                        break
            """
        ),
        Valid(
            """
            import asyncio

            async def pump(queue, websocket, items, lock):
                for item in items:
                    await queue.put(item)
                for item in items:
                    await websocket.send_json(item)
                for delay in (1, 2, 4):
                    await asyncio.sleep(delay)
                for item in items:
                    async with lock:
                        await item.save()

            async def store(conn, rows):
                for row in rows:
                    await conn.execute("INSERT INTO t VALUES (?, ?)", row)
                await conn.commit()
            """
        ),
        Valid(
            """
            import asyncio

            async def stream(source, batches):
                async for event in source:
                    await event.ack()
                for batch in batches:
                    await asyncio.gather(*(job.run() for job in batch))
                for task in [asyncio.create_task(j.run()) for j in batches]:
                    await task

            async def walk_pages(client):
                cursor = None
                pages = []
                for _ in range(100):
                    page = await client.list(cursor=cursor)
                    pages.append(page)
                    cursor = page.next_cursor
                return pages
            """
        ),
        Valid(
            """
            def sync_loop(items, f):
                for item in items:
                    f(item)

            async def generate(llm, prompts):
                for prompt in prompts:
                    yield await llm.generate(prompt)
            """
        ),
        Valid(
            """
            async def shutdown(connections, hooks, streams, records, ctx):
                for conn in connections:
                    await conn.aclose()
                for hook in hooks:
                    await hook()
                for key in list(streams):
                    await streams.clean_up_stream(key)
                for record in records:
                    await streams.save_record(record)
                for question in ("name?", "email?"):
                    await ctx.elicit(message=question)
            """
        ),
    ]

    INVALID = [
        Invalid(
            """
            import asyncio

            async def summarize_all(llm, memories):
                results = []
                for memory in memories:
                    results.append(await llm.generate(memory.content))
                return results
            """,
            fixed="""
            import asyncio

            async def summarize_all(llm, memories):
                results = []
                sem = asyncio.Semaphore(8)

                async def _one(memory):
                    async with sem:
                        return await llm.generate(memory.content)

                results.extend(await asyncio.gather(*(_one(memory) for memory in memories)))
                return results
            """,
            line=6,
        ),
        Invalid(
            """
            class MemoryLifecycleService:
                def __init__(self, llm, repository):
                    self.llm = llm
                    self.repository = repository

                async def consolidate_memories(self, user_id):
                    memories = await self.repository.list_for_user(user_id)
                    summaries = []
                    for memory in memories:
                        prompt = f"Summarize: {memory.content}"
                        summary = await self.llm.generate(prompt)
                        summaries.append(summary)
                    return summaries
            """,
            line=11,
        ),
        Invalid(
            """
            from asyncio import sleep

            async def download(client, urls):
                pages = {}
                for url in urls:
                    pages[url] = await client.get(url, timeout=10)
                await sleep(0)
                return pages
            """,
            line=6,
        ),
        Invalid(
            """
            import logging

            logger = logging.getLogger(__name__)

            class Embedder:
                async def embed_all(self, texts):
                    vectors = []
                    for i, text in enumerate(texts):
                        try:
                            vector = await self.client.embed(text)
                        except TimeoutError:
                            logger.warning("embedding %d timed out", i)
                            continue
                        vectors.append(vector)
                    return vectors
            """,
            line=10,
        ),
        Invalid(
            """
            import asyncio as aio

            async def notify_all(mailer, users):
                sent = []
                for user in users:
                    sent.append(await mailer.deliver(user.email, subject="Weekly digest"))  # one mail each
                return sent
            """,
            fixed="""
            import asyncio as aio

            async def notify_all(mailer, users):
                sent = []
                sem = aio.Semaphore(8)

                async def _one(user):
                    async with sem:
                        return await mailer.deliver(user.email, subject="Weekly digest")

                sent.extend(await aio.gather(*(_one(user) for user in users)))  # one mail each
                return sent
            """,
            line=6,
        ),
        Invalid(
            """
            async def enrich(service, items, sem):
                out = []
                for item in items:
                    out.append(await service.lookup(item))
                return out
            """,
            fixed="""
            import asyncio

            async def enrich(service, items, sem):
                out = []
                _sem = asyncio.Semaphore(8)

                async def _one(item):
                    async with _sem:
                        return await service.lookup(item)

                out.extend(await asyncio.gather(*(_one(item) for item in items)))
                return out
            """,
            line=4,
        ),
        Invalid(
            """
            async def translate(client, texts, primary, fallback, use_primary):
                translated = []
                for text in primary if use_primary else fallback:
                    translated.append(await client.translate(text, target="en"))
                return translated

            async def score(model, batch):
                scores = []
                for item in batch:
                    # the model scores one item per request
                    scores.append(await model.score(item))
                return scores

            async def label(model, batch):
                labels = []
                for item in batch:
                    labels.append(await model.label(item))
                return labels, item
            """,
            fixed="""
            import asyncio

            async def translate(client, texts, primary, fallback, use_primary):
                translated = []
                sem = asyncio.Semaphore(8)

                async def _one(text):
                    async with sem:
                        return await client.translate(text, target="en")

                translated.extend(await asyncio.gather(*(_one(text) for text in (primary if use_primary else fallback))))
                return translated

            async def score(model, batch):
                scores = []
                for item in batch:
                    # the model scores one item per request
                    scores.append(await model.score(item))
                return scores

            async def label(model, batch):
                labels = []
                for item in batch:
                    labels.append(await model.label(item))
                return labels, item
            """,
            line=4,
            count=3,
        ),
    ]

    def visit_For(self, node: cst.For) -> None:
        if node.asynchronous is not None or node.orelse is not None:
            return
        ctx = self.context
        if not ctx.in_async_function() or ctx.is_test_file():
            return
        body = node.body
        if not isinstance(body, cst.IndentedBlock):
            return
        scan = _BodyScan()
        for index, stmt in enumerate(body.body):
            scan.index = index
            stmt.visit(scan)
            if scan.stop:
                return
        if len(scan.awaits) != 1:
            return
        awaited, at = scan.awaits[0]
        call = awaited.expression
        if not isinstance(call, cst.Call):
            return
        callee = dotted_name(call.func)
        last = (callee or "").rsplit(".", 1)[-1] if callee else (call.func.attr.value if isinstance(call.func, cst.Attribute) else "")
        if last in set(self.opts["ordered_methods"]):
            return
        if set(last.lower().split("_")) & set(self.opts["lifecycle_words"]):
            return
        qualified = ctx.qualified(call.func)
        if qualified and qualified.split(".")[0] in CONCURRENCY_MODULES:
            return
        if not _independent(node, call, at, scan):
            return
        fix = self._fix(node, awaited)
        self.report(awaited, call=callee or "the call", fix=fix)

    # -- fix ---------------------------------------------------------------------------------------
    def _fix(self, loop: cst.For, awaited: cst.Await):
        if not isinstance(loop.target, cst.Name):
            return None
        stmts = loop.body.body  # type: ignore[attr-defined]
        if len(stmts) != 1 or not isinstance(stmts[0], cst.SimpleStatementLine) or len(stmts[0].body) != 1:
            return None
        expr = stmts[0].body[0]
        if not isinstance(expr, cst.Expr) or not isinstance(expr.value, cst.Call):
            return None
        append = expr.value
        if not (isinstance(append.func, cst.Attribute) and append.func.attr.value == "append"):
            return None
        if len(append.args) != 1 or append.args[0].keyword is not None or append.args[0].star:
            return None
        if append.args[0].value is not awaited:
            return None
        receiver = dotted_name(append.func.value)
        if receiver is None:
            return None
        module = self.context.module
        line = stmts[0]
        trailing = line.trailing_whitespace
        bare = loop.with_deep_changes(line, trailing_whitespace=cst.TrailingWhitespace())
        if "#" in module.code_for_node(bare):
            return None  # comments in the loop would be lost (the statement's own comment is kept)
        func = self.context.enclosing_function()
        taken = _names_in(func) if func is not None else set()
        target = loop.target.value
        if func is not None and _count_name(func, target) != _count_name(loop, target):
            return None  # the loop variable is used outside the loop (after it, it would be unbound)
        sem = _fresh("sem", taken)
        one = _fresh("_one", taken | {sem})
        aio, needs_import = asyncio_name(self.context)
        iterable = module.code_for_node(loop.iter)
        if _needs_parens(loop.iter):
            iterable = f"({iterable})"
        awaited_code = module.code_for_node(awaited.with_changes(lpar=[], rpar=[]))
        bound = int(self.opts["max_concurrency"])
        config = module.config_for_parsing
        first = cst.parse_statement(f"{sem} = {aio}.Semaphore({bound})\n", config=config)
        helper = cst.parse_statement(
            f"async def {one}({target}):\n"
            f"{module.default_indent}async with {sem}:\n"
            f"{module.default_indent * 2}return {awaited_code}\n",
            config=config,
        )
        last = cst.parse_statement(
            f"{receiver}.extend(await {aio}.gather(*({one}({target}) for {target} in {iterable})))\n", config=config
        )
        blank = cst.EmptyLine(indent=False)
        first = first.with_changes(leading_lines=loop.leading_lines)
        helper = helper.with_changes(leading_lines=[blank])
        last = last.with_changes(leading_lines=[blank], trailing_whitespace=trailing)
        imports = [ImportSpec("asyncio")] if needs_import else []
        return self.make_fix((loop, cst.FlattenSentinel([first, helper, last])), imports=imports)


class _BodyScan(cst.CSTVisitor):
    """One pass over a loop body: await points, exits, and what the body writes."""

    def __init__(self) -> None:
        self.index = 0
        self.awaits: list[tuple[cst.Await, int]] = []
        self.stop = False
        #: (chain, statement index, kind) for every name/attribute the body binds or mutates;
        #: kind: "assign" (plain binding), "aug" (reads itself), "mutate" (in place)
        self.writes: list[tuple[str, int, str]] = []
        self._loops = 0
        self._handlers = 0
        self._comprehensions = 0

    # nested scopes run later (or never): their awaits and exits are not the loop's
    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        return False

    def visit_Lambda(self, node: cst.Lambda) -> bool:
        return False

    def visit_ClassDef(self, node: cst.ClassDef) -> bool:
        return False

    def visit_Await(self, node: cst.Await) -> None:
        if self._comprehensions:
            self.stop = True  # one await per element of an inner comprehension: not one per item
        self.awaits.append((node, self.index))

    def visit_For(self, node: cst.For) -> None:
        if node.asynchronous is not None:
            self.stop = True
        self._loops += 1
        for chain in _bound(node.target):
            self.writes.append((chain, self.index, "assign"))

    def leave_For(self, node: cst.For) -> None:
        self._loops -= 1

    def visit_While(self, node: cst.While) -> None:
        self._loops += 1

    def leave_While(self, node: cst.While) -> None:
        self._loops -= 1

    def visit_With(self, node: cst.With) -> None:
        if node.asynchronous is not None:
            self.stop = True
        for item in node.items:
            if item.asname is not None:
                for chain in _bound(item.asname.name):
                    self.writes.append((chain, self.index, "assign"))

    def _comp_enter(self, node: cst.CSTNode) -> None:
        self._comprehensions += 1

    def _comp_leave(self, node: cst.CSTNode) -> None:
        self._comprehensions -= 1

    visit_ListComp = visit_SetComp = visit_DictComp = visit_GeneratorExp = _comp_enter  # type: ignore[assignment]
    leave_ListComp = leave_SetComp = leave_DictComp = leave_GeneratorExp = _comp_leave  # type: ignore[assignment]

    def visit_CompFor(self, node: cst.CompFor) -> None:
        if node.asynchronous is not None:
            self.stop = True

    def visit_ExceptHandler(self, node: cst.ExceptHandler) -> None:
        self._handlers += 1

    def leave_ExceptHandler(self, node: cst.ExceptHandler) -> None:
        self._handlers -= 1

    def visit_Break(self, node: cst.Break) -> None:
        if not self._loops:
            self.stop = True

    def visit_Return(self, node: cst.Return) -> None:
        self.stop = True

    def visit_Yield(self, node: cst.Yield) -> None:
        self.stop = True

    def visit_Raise(self, node: cst.Raise) -> None:
        if not self._handlers:
            self.stop = True

    def visit_Assert(self, node: cst.Assert) -> None:
        self.stop = True

    def visit_Global(self, node: cst.Global) -> None:
        self.stop = True

    def visit_Nonlocal(self, node: cst.Nonlocal) -> None:
        self.stop = True

    def visit_Assign(self, node: cst.Assign) -> None:
        for target in node.targets:
            for chain in _bound(target.target):
                self.writes.append((chain, self.index, "assign"))

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        for chain in _bound(node.target):
            self.writes.append((chain, self.index, "assign"))

    def visit_AugAssign(self, node: cst.AugAssign) -> None:
        for chain in _bound(node.target):
            self.writes.append((chain, self.index, "aug"))

    def visit_NamedExpr(self, node: cst.NamedExpr) -> None:
        for chain in _bound(node.target):
            self.writes.append((chain, self.index, "aug"))

    def visit_Del(self, node: cst.Del) -> None:
        for chain in _bound(node.target):
            self.writes.append((chain, self.index, "aug"))

    def visit_Call(self, node: cst.Call) -> None:
        func = node.func
        if isinstance(func, cst.Attribute) and func.attr.value in MUTATORS:
            chain = dotted_name(func.value)
            if chain is not None:
                self.writes.append((chain, self.index, "mutate"))


def _bound(target: cst.BaseExpression) -> list[str]:
    """Chains a target binds: names, attributes, and the container of a subscript (mutated)."""
    if isinstance(target, (cst.Tuple, cst.List)):
        out: list[str] = []
        for el in target.elements:
            out.extend(_bound(el.value))
        return out
    if isinstance(target, cst.StarredElement):
        return _bound(target.value)
    if isinstance(target, cst.Subscript):
        chain = dotted_name(target.value)
        return [chain] if chain else []
    chain = dotted_name(target)
    return [chain] if chain else []


class _Reads(cst.CSTVisitor):
    """Names and dotted chains an expression reads (attribute names themselves excluded)."""

    def __init__(self) -> None:
        self.chains: set[str] = set()

    def visit_Attribute(self, node: cst.Attribute) -> bool:
        chain = dotted_name(node)
        if chain is not None:
            self.chains.add(chain)
            self.chains.add(chain.split(".", 1)[0])
        else:
            node.value.visit(self)
        return False

    def visit_Name(self, node: cst.Name) -> None:
        self.chains.add(node.value)

    def visit_Arg(self, node: cst.Arg) -> bool:
        node.value.visit(self)
        return False

    def visit_Lambda(self, node: cst.Lambda) -> bool:
        return False


def _related(a: str, b: str) -> bool:
    return a == b or a.startswith(b + ".") or b.startswith(a + ".")


def _independent(loop: cst.For, call: cst.Call, at: int, scan: _BodyScan) -> bool:
    """The awaited call uses the current item and nothing carried over from the previous iteration."""
    reads = _Reads()
    call.visit(reads)
    in_args = _Reads()
    for arg in call.args:
        arg.value.visit(in_args)
    targets = set(_bound(loop.target))
    per_item = set(targets)
    writes_by_chain: dict[str, list[tuple[int, str]]] = {}
    for chain, index, kind in scan.writes:
        writes_by_chain.setdefault(chain, []).append((index, kind))
    for chain, entries in writes_by_chain.items():
        if all(index < at and kind == "assign" for index, kind in entries) and "." not in chain:
            per_item.add(chain)
    for read in reads.chains:
        for chain, entries in writes_by_chain.items():
            if chain in per_item:
                continue
            if _related(read, chain):
                return False
    # the item goes into the call as an argument (``generate(item)``); a method of the item itself
    # (``conn.aclose()``, ``hook()``) is a per-object lifecycle step, usually kept in order on purpose
    return any(read.split(".", 1)[0] in per_item for read in in_args.chains)


def _names_in(func: cst.CSTNode) -> set[str]:
    names: set[str] = set()

    class _Collect(cst.CSTVisitor):
        def visit_Name(self, node: cst.Name) -> None:
            names.add(node.value)

    func.visit(_Collect())
    return names


def _count_name(node: cst.CSTNode, name: str) -> int:
    count = 0

    class _Count(cst.CSTVisitor):
        def visit_Name(self, n: cst.Name) -> None:
            nonlocal count
            if n.value == name:
                count += 1

    node.visit(_Count())
    return count


def _fresh(base: str, taken: set[str]) -> str:
    if base not in taken:
        return base
    candidate = base if base.startswith("_") else f"_{base}"
    n = 2
    while candidate in taken:
        candidate = f"_{base.lstrip('_')}{n}"
        n += 1
    return candidate


def _needs_parens(expr: cst.BaseExpression) -> bool:
    """Whether ``expr`` must be parenthesised as the iterable of a generator expression."""
    if expr.lpar:
        return False
    return not isinstance(
        expr,
        (cst.Name, cst.Attribute, cst.Call, cst.Subscript, cst.List, cst.ListComp, cst.Dict, cst.DictComp, cst.Set,
         cst.SetComp, cst.SimpleString, cst.ConcatenatedString, cst.FormattedString),
    )
