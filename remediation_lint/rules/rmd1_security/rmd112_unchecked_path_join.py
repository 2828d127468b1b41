from __future__ import annotations

import ast
import re

import libcst as cst

from remediation_lint.analysis.names import ast_dotted, dotted_name
from remediation_lint.analysis.sql_building import AstSource, source_args
from remediation_lint.astcheck import AstChecker
from remediation_lint.rule import Default, Invalid, Provenance, Rule, Severity, Valid

#: keys / attributes whose value is a path chosen by whoever sent the data
PATH_KEYS = frozenset({"path", "file", "filename", "file_name", "filepath", "file_path", "target", "target_path", "dest", "destination", "relpath", "rel_path", "name"})
#: objects whose attributes / items come from outside (requests, messages, parsed CLI arguments)
INPUT_OWNERS = frozenset({"request", "req", "payload", "message", "msg", "change", "item", "args", "params", "data", "body", "form", "query", "event", "patch", "entry", "record", "upload", "file_change"})
#: functions that open, write or delete a path given as their first argument
PATH_SINKS = frozenset({
    "open", "io.open", "os.open", "os.remove", "os.unlink", "os.rmdir", "os.removedirs", "os.makedirs", "os.mkdir",
    "os.rename", "os.replace", "os.truncate", "shutil.rmtree", "shutil.copy", "shutil.copy2", "shutil.copyfile",
    "shutil.move", "aiofiles.open",
})
#: Path methods that open, write or delete
PATH_METHODS = frozenset({
    "open", "write_text", "write_bytes", "read_text", "read_bytes", "unlink", "rmdir", "mkdir", "touch", "rename",
    "replace", "symlink_to", "hardlink_to", "chmod",
})
#: calls and attributes that check containment or reject traversal
CHECK_CALLS = frozenset({"is_relative_to", "relative_to", "commonpath", "commonprefix", "is_absolute", "isabs", "realpath"})
CHECK_WORDS = ("safe", "contain", "within", "inside", "validate_path", "check_path", "sanitize", "secure_filename", "traversal")

_CHECK_WORDS_RE = re.compile("|".join(re.escape(word) for word in CHECK_WORDS))


class _Fast(AstChecker):
    """The ``ast`` twin of the rule below (check mode)."""

    def __init__(self, rule, context, options) -> None:
        super().__init__(rule, context, options)
        self._frames: list[_Frame] = []
        self._source: AstSource | None = None

    def _code(self, node: ast.AST) -> str | None:
        if self._source is None:
            self._source = AstSource(self.context.source)
        return self._source.code(node)

    def _simple_str(self, node: ast.AST) -> str | None:
        """The value of a one-literal ``str`` constant (LibCST SimpleString); defers when unsure."""
        if not (isinstance(node, ast.Constant) and isinstance(node.value, str)):
            return None
        if self._source is None:
            self._source = AstSource(self.context.source)
        single = self._source.single_literal(node)
        if single is None:
            self.defer()
            return None
        return node.value if single else None

    def visit_FunctionDef(self, node: ast.AST) -> None:
        self._frames.append(_Frame())

    visit_AsyncFunctionDef = visit_FunctionDef

    def leave_FunctionDef(self, node: ast.AST) -> None:
        frame = self._frames.pop()
        if frame.checked:
            return
        for call, path, source, action in frame.sinks:
            self.report(call, path=path, source=source, action=action)

    leave_AsyncFunctionDef = leave_FunctionDef

    def visit_Assign(self, node: ast.Assign) -> None:
        if not self._frames:
            return
        frame = self._frames[-1]
        for target in node.targets:
            if not isinstance(target, ast.Name):
                continue
            name = target.id
            source = self._input(node.value, frame)
            if source is not None:
                frame.tainted[name] = source
            joined = self._join(node.value, frame)
            if joined is not None:
                frame.joined[name] = joined
            elif name in frame.joined:
                del frame.joined[name]

    def visit_Call(self, node: ast.Call) -> None:
        if not self._frames:
            return
        frame = self._frames[-1]
        dotted = ast_dotted(node.func)
        name = (self.context.imports.qualify(dotted) if dotted else None) or dotted or ""
        last = name.rsplit(".", 1)[-1]
        if last in CHECK_CALLS or _CHECK_WORDS_RE.search(last.lower()):
            frame.checked = True
            return
        if name in PATH_SINKS or (last == "open" and isinstance(node.func, ast.Name)):
            if node.args or node.keywords:
                self._sink(node, source_args(node)[0][1], frame, "opened" if last == "open" else "changed")
            return
        if isinstance(node.func, ast.Attribute) and node.func.attr in PATH_METHODS:
            action = "opened" if node.func.attr in ("open", "read_text", "read_bytes") else "written or deleted"
            self._sink(node, node.func.value, frame, action)

    def visit_Compare(self, node: ast.Compare) -> None:
        if not self._frames:
            return
        left = node.left
        # LibCST: a one-literal string whose raw text without quotes is ``..`` (so no prefix, no escapes)
        if isinstance(left, ast.Constant) and left.value == "..":
            if self._source is None:
                self._source = AstSource(self.context.source)
            if self._source.segment(left).strip("\"'") == "..":
                self._frames[-1].checked = True

    def visit_Attribute(self, node: ast.Attribute) -> None:
        if self._frames and node.attr in ("is_relative_to", "is_absolute", "relative_to"):
            self._frames[-1].checked = True

    def _sink(self, call: ast.Call, path_expr: ast.expr, frame: "_Frame", action: str) -> None:
        if isinstance(path_expr, ast.Name):
            joined = frame.joined.get(path_expr.id)
        else:
            joined = self._join(path_expr, frame)
        if joined is None:
            return
        label = self._code(path_expr)
        if label is None:
            self.defer()
            return
        frame.sinks.append((call, " ".join(label.split())[:40], joined, action))  # type: ignore[arg-type]

    def _join(self, node: ast.expr, frame: "_Frame") -> str | None:
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div):
            return self._input(node.right, frame) or self._join(node.left, frame)
        if isinstance(node, ast.Call):
            name = self.context.qualified(node.func) or ast_dotted(node.func) or ""
            last = name.rsplit(".", 1)[-1]
            if name in ("os.path.join", "posixpath.join", "ntpath.join"):
                return self._first_input([v for _, v in source_args(node)[1:]], frame)
            if name in ("pathlib.Path", "pathlib.PurePath", "Path") and len(node.args) + len(node.keywords) >= 2:
                return self._first_input([v for _, v in source_args(node)[1:]], frame)
            if isinstance(node.func, ast.Attribute) and last == "joinpath":
                return self._first_input([v for _, v in source_args(node)], frame)
            if isinstance(node.func, ast.Attribute) and last in ("resolve", "absolute", "expanduser") and not (node.args or node.keywords):
                return self._join(node.func.value, frame)
        if isinstance(node, ast.Name):
            return frame.joined.get(node.id)
        return None

    def _first_input(self, values: list[ast.expr], frame: "_Frame") -> str | None:
        for value in values:
            found = self._input(value, frame)
            if found is not None:
                return found
        return None

    def _quoted(self, node: ast.AST) -> str | None:
        code = self._code(node)
        if code is None:
            self.defer()
            return None
        return f"`{code}`"

    def _input(self, node: ast.expr, frame: "_Frame") -> str | None:
        if isinstance(node, ast.Name):
            return frame.tainted.get(node.id)
        if isinstance(node, ast.Subscript):
            key = node.slice
            if isinstance(key, ast.Tuple) and len(key.elts) == 1 and isinstance(key.elts[0], ast.Constant) and key.elts[0].value in PATH_KEYS:
                self.defer()  # ``x["path",]``: LibCST sees one subscript element
                return None
            if isinstance(key, ast.Constant) and key.value in PATH_KEYS and self._simple_str(key) is not None:
                return self._quoted(node)
            return None
        if isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Attribute) and func.attr == "get" and (node.args or node.keywords):
                key = source_args(node)[0][1]
                if isinstance(key, ast.Constant) and key.value in PATH_KEYS and self._simple_str(key) is not None:
                    return self._quoted(node)
            name = ast_dotted(func) or ""
            if name in ("Path", "pathlib.Path", "PurePath", "str", "os.fspath") and len(node.args) + len(node.keywords) == 1:
                return self._input(source_args(node)[0][1], frame)
            return None
        if isinstance(node, ast.Attribute) and node.attr in PATH_KEYS:
            owner = ast_dotted(node.value) or ""
            head = owner.split(".", 1)[0]
            if head in ("self", "cls"):
                return None
            if owner.rsplit(".", 1)[-1] in INPUT_OWNERS or head in INPUT_OWNERS:
                return f"`{owner}.{node.attr}`"
        return None


class UncheckedPathJoin(Rule):
    """A path from input joined to a base directory and used without a containment check.

    ## What it does
    Within one function, finds a path taken from input (an item of a request, patch, message or payload
    such as `change["path"]`, `item.payload["file"]`, `args.path`, `request.path_params[...]`) joined to
    a base (`os.path.join(base, p)`, `base / p`, `Path(base, p)`, `base.joinpath(p)`) and then opened,
    written or deleted (`open`, `write_text`, `unlink`, `os.remove`, `shutil.rmtree`, ...), when the
    function never checks containment (`resolve()` + `is_relative_to`/`relative_to`, `os.path.commonpath`,
    `realpath` + prefix) nor rejects `..` and absolute paths, and calls no helper named like a check
    (`_safe_path`, `ensure_within`, `secure_filename`).

    ## Why is this bad?
    `os.path.join("/repo", "/etc/passwd")` is `/etc/passwd`, and `repo / "../../home/u/.ssh/authorized_keys"`
    walks out of the tree: whoever writes the patch or request writes anywhere the process can.
    Hyperion's backlog (change safety) asks to block path traversal in patch paths (`..`, absolute
    paths, symlinks) before applying agent changes.

    ## Fix
    Resolve the joined path and require `target.is_relative_to(base.resolve())` (or compare
    `os.path.commonpath`), and reject absolute paths and `..` parts up front.
    """

    code = "RMD112"
    ast_checker = _Fast
    name = "unchecked-path-join"
    message = "`{path}` joins {source} to a base and is {action} without a containment check: resolve it and require is_relative_to(base), rejecting '..' and absolute paths"
    severity = Severity.HIGH
    default = Default.PREVIEW
    provenance = (Provenance("002_cc3ae69c69bad11e.txt", "Change Safety & Validation (block path traversal in patch paths)", "hyperion"),)
    triggers = (b"join", b" / ", b"Path(")
    cwe = (22,)

    VALID = [
        Valid(
            """
            from pathlib import Path

            def write_change(repo: Path, change: dict) -> None:
                rel = Path(change["path"])
                if rel.is_absolute() or ".." in rel.parts:
                    raise ValueError(f"unsafe path {rel}")
                target = (repo / rel).resolve()
                if not target.is_relative_to(repo.resolve()):
                    raise ValueError(f"{rel} escapes the repository")
                target.write_text(change["content"], encoding="utf-8")
            """
        ),
        Valid(
            """
            import os

            def save_upload(base: str, upload) -> str:
                target = os.path.realpath(os.path.join(base, upload.filename))
                if os.path.commonpath([target, os.path.realpath(base)]) != os.path.realpath(base):
                    raise PermissionError(upload.filename)
                with open(target, "wb") as handle:
                    handle.write(upload.data)
                return target
            """
        ),
        Valid(
            """
            import os

            CACHE_DIR = "/var/cache/app"

            def cache_file(digest: str) -> str:
                path = os.path.join(CACHE_DIR, digest + ".bin")
                with open(path, "rb") as handle:
                    return handle.read()
            """
        ),
        Valid(
            """
            from pathlib import Path

            def _safe_target(root: Path, rel: str) -> Path:
                target = (root / rel).resolve()
                if not target.is_relative_to(root.resolve()):
                    raise ValueError(rel)
                return target

            def apply(root: Path, change: dict) -> None:
                _safe_target(root, change["path"]).write_text(change["content"])
            """
        ),
    ]

    INVALID = [
        Invalid(
            """
            from pathlib import Path

            def write_change(repo: Path, change: dict) -> None:
                target = repo / change["path"]
                target.write_text(change["content"], encoding="utf-8")
            """,
            line=5,
        ),
        Invalid(
            """
            import os

            class Applier:
                def delete(self, item):
                    path = os.path.join(self.root, item.payload["path"])
                    os.remove(path)
            """,
            line=6,
        ),
        Invalid(
            """
            import argparse
            from pathlib import Path

            def main(argv=None):
                parser = argparse.ArgumentParser()
                parser.add_argument("path")
                args = parser.parse_args(argv)
                with open(Path("/srv/exports", args.path), "w") as handle:
                    handle.write("done")
            """,
            line=8,
        ),
        Invalid(
            """
            import shutil
            from os.path import join

            async def cleanup(base, message):
                rel = message.get("file")
                shutil.rmtree(join(base, rel))
            """,
            line=6,
        ),
        Invalid(
            """
            from pathlib import Path

            def store(root: Path, request) -> None:
                dest = root.joinpath(request.path_params["name"])
                dest.parent.mkdir(parents=True, exist_ok=True)
                dest.write_bytes(request.body)
            """,
            line=6,
        ),
    ]

    def __init__(self, context, options) -> None:
        super().__init__(context, options)
        self._frames: list[_Frame] = []

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self._frames.append(_Frame())

    def leave_FunctionDef(self, node: cst.FunctionDef) -> None:
        frame = self._frames.pop()
        if frame.checked:
            return
        for call, path, source, action in frame.sinks:
            self.report(call, path=path, source=source, action=action)

    # -- facts ------------------------------------------------------------------------------------
    def visit_Assign(self, node: cst.Assign) -> None:
        if not self._frames:
            return
        frame = self._frames[-1]
        for target in node.targets:
            if not isinstance(target.target, cst.Name):
                continue
            name = target.target.value
            source = self._input(node.value, frame)
            if source is not None:
                frame.tainted[name] = source
            joined = self._join(node.value, frame)
            if joined is not None:
                frame.joined[name] = joined
            elif name in frame.joined:
                del frame.joined[name]

    def visit_Call(self, node: cst.Call) -> None:
        if not self._frames:
            return
        frame = self._frames[-1]
        name = self.context.qualified(node.func) or dotted_name(node.func) or ""
        last = name.rsplit(".", 1)[-1]
        if last in CHECK_CALLS or any(word in last.lower() for word in CHECK_WORDS):
            frame.checked = True
            return
        if name in PATH_SINKS or (last == "open" and isinstance(node.func, cst.Name)):
            if node.args:
                self._sink(node, node.args[0].value, frame, "opened" if last == "open" else "changed")
            return
        if isinstance(node.func, cst.Attribute) and node.func.attr.value in PATH_METHODS:
            action = "opened" if node.func.attr.value in ("open", "read_text", "read_bytes") else "written or deleted"
            self._sink(node, node.func.value, frame, action)

    def visit_Comparison(self, node: cst.Comparison) -> None:
        # ``".." in rel.parts`` / ``".." in path`` / ``str(t).startswith(...)`` after realpath
        if not self._frames:
            return
        if isinstance(node.left, cst.SimpleString) and node.left.value.strip("\"'") == "..":
            self._frames[-1].checked = True

    def visit_Attribute(self, node: cst.Attribute) -> None:
        if self._frames and node.attr.value in ("is_relative_to", "is_absolute", "relative_to"):
            self._frames[-1].checked = True

    # -- helpers ----------------------------------------------------------------------------------
    def _sink(self, call: cst.Call, path_expr: cst.BaseExpression, frame: "_Frame", action: str) -> None:
        joined = None
        label = self.context.module.code_for_node(path_expr)
        if isinstance(path_expr, cst.Name):
            joined = frame.joined.get(path_expr.value)
        else:
            joined = self._join(path_expr, frame)
        if joined is None:
            return
        frame.sinks.append((call, " ".join(label.split())[:40], joined, action))

    def _join(self, node: cst.BaseExpression, frame: "_Frame") -> str | None:
        """The input a join expression takes (its description), or None."""
        if isinstance(node, cst.BinaryOperation) and isinstance(node.operator, cst.Divide):
            return self._input(node.right, frame) or self._join(node.left, frame)
        if isinstance(node, cst.Call):
            name = self.context.qualified(node.func) or dotted_name(node.func) or ""
            last = name.rsplit(".", 1)[-1]
            if name in ("os.path.join", "posixpath.join", "ntpath.join"):
                return self._first_input([a.value for a in node.args[1:]], frame)
            if name in ("pathlib.Path", "pathlib.PurePath", "Path") and len(node.args) >= 2:
                return self._first_input([a.value for a in node.args[1:]], frame)
            if isinstance(node.func, cst.Attribute) and last == "joinpath":
                return self._first_input([a.value for a in node.args], frame)
            if isinstance(node.func, cst.Attribute) and last in ("resolve", "absolute", "expanduser") and not node.args:
                return self._join(node.func.value, frame)
        if isinstance(node, cst.Name):
            return frame.joined.get(node.value)
        return None

    def _first_input(self, values: list[cst.BaseExpression], frame: "_Frame") -> str | None:
        for value in values:
            found = self._input(value, frame)
            if found is not None:
                return found
        return None

    def _input(self, node: cst.BaseExpression, frame: "_Frame") -> str | None:
        """A description of where a path value comes from, when it comes from input."""
        if isinstance(node, cst.Name):
            return frame.tainted.get(node.value)
        if isinstance(node, cst.Subscript) and len(node.slice) == 1 and isinstance(node.slice[0].slice, cst.Index):
            key = node.slice[0].slice.value
            if isinstance(key, cst.SimpleString) and key.evaluated_value in PATH_KEYS:
                return f"`{self.context.module.code_for_node(node)}`"
            return None
        if isinstance(node, cst.Call):
            func = node.func
            if isinstance(func, cst.Attribute) and func.attr.value == "get" and node.args:
                key = node.args[0].value
                if isinstance(key, cst.SimpleString) and key.evaluated_value in PATH_KEYS:
                    return f"`{self.context.module.code_for_node(node)}`"
            name = dotted_name(func) or ""
            if name in ("Path", "pathlib.Path", "PurePath", "str", "os.fspath") and len(node.args) == 1:
                return self._input(node.args[0].value, frame)
            return None
        if isinstance(node, cst.Attribute) and node.attr.value in PATH_KEYS:
            owner = dotted_name(node.value) or ""
            head = owner.split(".", 1)[0]
            if head in ("self", "cls"):
                return None
            if owner.rsplit(".", 1)[-1] in INPUT_OWNERS or head in INPUT_OWNERS:
                return f"`{owner}.{node.attr.value}`"
        return None


class _Frame:
    __slots__ = ("tainted", "joined", "sinks", "checked")

    def __init__(self) -> None:
        self.tainted: dict[str, str] = {}
        self.joined: dict[str, str] = {}
        self.sinks: list[tuple[cst.Call, str, str, str]] = []
        self.checked = False
