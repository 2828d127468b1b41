from __future__ import annotations

import ast

import libcst as cst

from remediation_lint.analysis.duplicates import duplicated_helpers, is_test_path
from remediation_lint.astcheck import AstChecker
from remediation_lint.rule import Invalid, Provenance, Rule, Severity, Valid


class _Fast(AstChecker):
    """The ``ast`` twin of the rule below."""

    _copies: dict | None = None

    def visit_Module(self, node: ast.Module) -> None:
        ctx = self.context
        project = ctx.project
        if project is None or ctx.module_ref is None or is_test_path(ctx.module_ref.path):
            return
        self._copies = duplicated_helpers(project, int(self.opts["min_statements"])).get(ctx.module_ref.path) or None

    def visit_FunctionDef(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        if not self._copies:
            return
        scopes = self.context.scopes
        if len(scopes) == 1:
            qualname = node.name
        elif len(scopes) == 2 and isinstance(scopes[0], ast.ClassDef):
            qualname = f"{scopes[0].name}.{node.name}"
        else:
            return
        others = self._copies.get(qualname)
        if not others:
            return
        names = ", ".join(f"{c.label} (line {c.lineno})" for c in others[:3])
        if len(others) > 3:
            names += f" and {len(others) - 3} more"
        self.report(node, name=qualname, others=names)

    visit_AsyncFunctionDef = visit_FunctionDef


class DuplicatedHelper(Rule):
    """The same function body defined in several modules: keep one copy and import it.

    ## What it does
    Compares the bodies of every module-level function and method across the project's modules
    (test files excluded). Bodies are normalised first: the docstring and comments are dropped,
    parameter and local variable names and literal values are abstracted, while attribute names,
    called and global names and the statement structure are kept. Each copy of a body with at least
    `min_statements` statements (default 3) that occurs in two or more modules is reported on its
    `def`, naming the other copies. Copies within one module are left alone, as are mirrored copies
    of the whole tree (a `remediated/` or vendored copy of the project's own packages).

    ## Why is this bad?
    Copies drift: a fix lands in one and not the other, and the two behave differently for the same
    input. khala's Gemini client kept its own `parse_json_safely` next to the one in
    `khala.application.utils` (medium item 1), and the Orchestration Engine carried two copies of its
    token validation (plan item 6.1).

    ## Fix
    Keep one copy in the module that owns the concern, import it everywhere else, and delete the others.
    """

    code = "RMD706"
    ast_checker = _Fast
    name = "duplicated-helper"
    message = "{name}() has the same body as {others}: keep one copy and import it"
    severity = Severity.MEDIUM
    provenance = (
        Provenance("000_18f8732ba4a86cc0.txt", "MEDIUM, item 1 (parse_json_safely duplicated in the Gemini client)", "khala"),
        Provenance("001_0845f576a88221b4.txt", "Phase 6, item 6.1 (token validation duplicated in the auth middleware)", "orchestration_engine"),
    )
    triggers = (b"def ",)
    needs_project = True
    summary_extras = ("body_keys",)
    options = {"min_statements": 3}
    option_docs = {"min_statements": "smallest body (in statements, nested ones included, docstring excluded) compared"}
    limitations = (
        "Needs the whole project: the CLI and the flake8 plugin index the project that contains each file "
        "(the nearest directory with pyproject.toml, setup.py, setup.cfg or .git, or flake8's "
        "`--rmd-project-root`). Code outside that root, and sources passed on stdin, are not compared. "
        "A single example file has no other module to compare with, so the examples below show the "
        "shapes without reports."
    )

    # Examples are single files: a body is never a duplicate of another module's there, so every
    # example is clean. The fixture repositories (khala, orchestration_engine) show the reports.
    VALID = [
        Valid(
            """
            from khala.application.utils import parse_json_safely

            class GeminiClient:
                def parse_response(self, text: str) -> dict | None:
                    return parse_json_safely(text)
            """
        ),
        Valid(
            """
            import json

            def parse_json_safely(text):
                try:
                    return json.loads(text)
                except json.JSONDecodeError:
                    return None

            def parse_json_or_empty(text):
                try:
                    return json.loads(text)
                except json.JSONDecodeError:
                    return None
            """
        ),
        Valid(
            """
            def get_db(request):
                return request.app.state.db
            """
        ),
        Valid(
            """
            import json

            def load(path):
                with open(path) as handle:
                    data = json.load(handle)
                return data
            """,
            filename="tests/test_loader.py",
        ),
    ]

    # Each INVALID example is one of two modules; its other copy lives in another module, which a single
    # example file cannot show, so the example itself reports nothing (count=0). The fixture repositories
    # hold both halves: khala's two parse_json_safely and the Orchestration Engine's token validation.
    INVALID = [
        Invalid(
            """
            import json
            import re

            _FENCE = re.compile(r"```(?:json)?(.*?)```", re.DOTALL)

            def parse_json_safely(text: str) -> dict | None:
                \"\"\"Copy of khala.application.utils.parse_json_safely.\"\"\"
                match = _FENCE.search(text)
                raw = match.group(1) if match else text
                try:
                    return json.loads(raw)
                except json.JSONDecodeError:
                    return None
            """,
            filename="khala/infrastructure/gemini/client.py",
            count=0,
        ),
        Invalid(
            """
            import jwt
            from fastapi import HTTPException

            async def validate_access_token(auth, token: str) -> dict:
                try:
                    payload = auth.decode_token(token)
                except jwt.PyJWTError:
                    raise HTTPException(status_code=401, detail="Invalid token")
                if payload.get("type") != "access":
                    raise HTTPException(status_code=401, detail="Invalid token type")
                return await auth.get_user(payload["sub"])
            """,
            filename="backend/routes/events.py",
            count=0,
        ),
        Invalid(
            """
            class OllamaTool:
                def _headers(self, token):
                    headers = {"Content-Type": "application/json"}
                    if token:
                        headers["Authorization"] = f"Bearer {token}"
                    return headers
            """,
            filename="backend/tools/ollama.py",
            count=0,
        ),
        Invalid(
            """
            import time

            def wait_until(predicate, timeout):
                deadline = time.monotonic() + timeout
                while time.monotonic() < deadline:
                    if predicate():
                        return True
                    time.sleep(0.1)
                return False
            """,
            filename="hyperion/util.py",
            count=0,
        ),
    ]

    def visit_Module(self, node: cst.Module) -> None:
        ctx = self.context
        self._copies = None
        if ctx.project is None or ctx.module_ref is None or is_test_path(ctx.module_ref.path):
            return
        found = duplicated_helpers(ctx.project, int(self.opts["min_statements"])).get(ctx.module_ref.path)
        self._copies = found or None

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        copies = getattr(self, "_copies", None)
        if not copies:
            return
        scopes = self.context.scopes
        if len(scopes) == 1:
            qualname = node.name.value
        elif len(scopes) == 2 and isinstance(scopes[0], cst.ClassDef):
            qualname = f"{scopes[0].name.value}.{node.name.value}"
        else:
            return
        others = copies.get(qualname)
        if not others:
            return
        names = ", ".join(f"{c.label} (line {c.lineno})" for c in others[:3])
        if len(others) > 3:
            names += f" and {len(others) - 3} more"
        self.report(node, name=qualname, others=names)
