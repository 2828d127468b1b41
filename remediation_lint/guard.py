"""Guards that keep one hostile file from crashing or stalling a run.

LibCST's native parser recurses on the machine stack, once per nesting level of *its* tree. CPython's
parser (which runs first and refuses deep nesting of its own tree) builds some shapes flat that LibCST
nests one level per element: ``a and b and c ...`` chains and dotted names in imports. Eight thousand
``and`` operands overflow the main thread's 8 MiB stack and kill the process with a segmentation fault,
which no ``try`` can catch. So:

* ``flat_chain_error`` refuses, before LibCST sees it, a source holding such a chain longer than
  ``MAX_FLAT_CHAIN`` (the traversal could not analyse a tree that deep anyway: it would hit Python's
  recursion limit and report RMD000). A byte count gates the check, so ordinary files pay nothing.
* ``parse_module`` runs LibCST's parser on a thread with a ``PARSE_STACK_BYTES`` stack, so a shape nobody
  has thought of yet has a hundred times more room before it can overflow.
* ``MAX_FILE_BYTES``: the native parser cannot be interrupted by the per-file time budget (a signal is
  handled only between Python bytecodes) and needs about a hundred times the source's size in memory for
  dense code; a file above the limit is reported as RMD000 and skipped (``--max-file-size``).
"""

from __future__ import annotations

import ast
from remediation_lint.analysis.ast_walk import ast_walk
import threading
from typing import Any

import libcst as cst

#: longest ``and``/``or`` chain or dotted import name accepted (LibCST nests one level per element)
MAX_FLAT_CHAIN = 3000
#: stack of the thread that runs LibCST's native parser (address space; only touched pages are used)
PARSE_STACK_BYTES = 256 * 1024 * 1024
#: default size limit of one file (``--max-file-size``, in bytes; 0: no limit)
DEFAULT_MAX_FILE_BYTES = 2 * 1024 * 1024
#: the limit in force in this process (set by ``engine.run``; the project pass skips larger files too)
MAX_FILE_BYTES: dict[str, int] = {"bytes": DEFAULT_MAX_FILE_BYTES}


def flat_chain_error(data: bytes | str, tree: ast.AST | None) -> str | None:
    """The reason to refuse ``data`` when it holds a chain LibCST would nest too deeply, else None."""
    raw = data.encode("utf-8", "replace") if isinstance(data, str) else data
    # every extra operand of a chain needs an `and`/`or` keyword, every extra name part a dot
    if raw.count(b"and") + raw.count(b"or") < MAX_FLAT_CHAIN and raw.count(b".") < MAX_FLAT_CHAIN:
        return None
    if tree is None:
        try:
            tree = ast.parse(data)
        except (SyntaxError, ValueError, MemoryError, RecursionError):
            return None
    for node in ast_walk(tree):
        if isinstance(node, ast.BoolOp) and len(node.values) > MAX_FLAT_CHAIN:
            return f"a chain of {len(node.values)} `and`/`or` operands (line {node.lineno}) is too long to analyse"
        if isinstance(node, ast.Import):
            parts = max((alias.name.count(".") + 1 for alias in node.names), default=0)
        elif isinstance(node, ast.ImportFrom):
            parts = (node.module or "").count(".") + 1 + node.level
        else:
            continue
        if parts > MAX_FLAT_CHAIN:
            return f"a dotted import name of {parts} parts (line {node.lineno}) is too long to analyse"
    return None


def parse_module(data: bytes | str) -> cst.Module:
    """``libcst.parse_module`` on a thread with a large stack (same result, same exceptions)."""
    out: dict[str, Any] = {}

    def work() -> None:
        try:
            out["module"] = cst.parse_module(data)
        except BaseException as exc:  # handed to the caller's thread
            out["error"] = exc

    try:
        previous = threading.stack_size(PARSE_STACK_BYTES)
    except (ValueError, RuntimeError):  # the platform does not let us choose: parse here
        return cst.parse_module(data)
    try:
        worker = threading.Thread(target=work, name="remediation-lint-parse", daemon=True)
        worker.start()
    except RuntimeError:  # cannot start a thread (resource limits): parse here
        return cst.parse_module(data)
    finally:
        threading.stack_size(previous)
    worker.join()  # interruptible: the per-file time budget's alarm still reaches the main thread
    if "error" in out:
        raise out["error"]
    return out["module"]


def too_large(size: int, limit: int) -> str | None:
    if limit and size > limit:
        return f"{size / 1048576:.1f} MiB exceeds the size limit of {limit / 1048576:g} MiB (--max-file-size)"
    return None
