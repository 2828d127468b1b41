from __future__ import annotations

import ast
from remediation_lint.analysis.ast_walk import ast_walk, child_nodes
import re

import libcst as cst

from remediation_lint.analysis.names import ast_dotted, dotted_name
from remediation_lint.analysis.sql_building import AstStrings, CannotTell, source_args
from remediation_lint.astcheck import AstChecker
from remediation_lint.rule import Invalid, Provenance, Rule, Severity, Valid

_EXISTS = r"already (?:registered|exists?|in use|taken|signed up)|\b(?:in use|taken)\b|exists already|account exists"
_MISSING = r"not found|does(?:n't| not) exist|no such (?:user|account|email)|unknown (?:user|account|email)|no (?:user|account) (?:with|for|found)|not registered"
_PASSWORD = r"(?:wrong|incorrect|invalid|bad) password|password (?:is )?(?:wrong|incorrect|invalid|does not match|mismatch)"
#: password-verification calls (the last part of the callee)
PASSWORD_CHECKS = frozenset({
    "checkpw", "verify_password", "check_password", "check_password_hash", "verify", "compare_digest",
    "verify_and_update", "verify_hash", "check_hash", "_verify_password", "password_matches",
})
#: calls that answer the client
_RESPONSES = frozenset({"HTTPException", "JSONResponse", "abort", "HTTPError", "Response", "jsonify", "make_response"})


class _Fast(AstChecker):
    """The ``ast`` twin of the rule below (check mode); defers when an answer holds an implicitly
    concatenated string or an f-string whose LibCST text parts differ from ``ast``'s."""

    def __init__(self, rule, context, options) -> None:
        super().__init__(rule, context, options)
        self._auth_re = re.compile(self.opts["auth_functions"], re.I)
        self._texts = [
            (re.compile(_EXISTS, re.I), "the account already exists"),
            (re.compile(_MISSING, re.I), "the account does not exist"),
            (re.compile(_PASSWORD, re.I), "only the password was wrong"),
        ]
        self._strings = AstStrings(context.source)

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        if not self._auth_re.search(node.name):
            return
        try:
            self._check(node)
        except CannotTell:
            self.defer()

    visit_AsyncFunctionDef = visit_FunctionDef

    def _check(self, node: ast.FunctionDef) -> None:
        name = node.name
        if not self._about_accounts(node):
            return
        scan = _AstScan(self._strings)
        scan.run(node.body)
        timing_reported = False
        reported: set[int] = set()
        for stmt, strings in scan.answers:
            for string in strings:
                text = self._text(string)
                if text is None:
                    continue
                for pattern, what in self._texts:
                    if pattern.search(text):
                        self.report(string, where=name, what=what, text=_short(text))
                        reported.add(id(string))
                        reported.add(id(stmt))
                        break
        if re.search(r"regist|sign_?up", name, re.I):
            for call in scan.conflicts:
                strings = _ast_strings(call, set(), self._strings)
                if any(id(s) in reported for s in strings):
                    continue
                self.report(call, f"{name}() answers 409 Conflict, which tells the caller the account exists: answer 400 with one generic message")
        if re.search(r"log_?in|sign_?in|authenticate", name, re.I) and scan.password_checks:
            first_check = min(scan.password_checks)
            for order, _if_node, smalls in scan.missing_user_exits:
                if any(id(small) in reported for small in smalls):
                    continue
                if order < first_check and not timing_reported:
                    line = ast.AST()
                    line.lineno, line.col_offset = smalls[0].lineno, smalls[0].col_offset  # type: ignore[attr-defined]
                    line.end_lineno, line.end_col_offset = smalls[-1].end_lineno, smalls[-1].end_col_offset  # type: ignore[attr-defined]
                    self.report(
                        line,
                        f"{name}() leaves before checking a password hash when the user is missing, so unknown accounts "
                        "answer faster: check the password against a dummy hash in that case too",
                    )
                    timing_reported = True

    def _text(self, node: ast.AST) -> str | None:
        if isinstance(node, ast.Constant):
            return node.value if isinstance(node.value, str) else None
        if isinstance(node, ast.JoinedStr):
            return "".join(p if isinstance(p, str) else "{}" for p in self._strings.text_parts(node))
        return None

    def _about_accounts(self, func: ast.FunctionDef) -> bool:
        args = func.args
        for param in (*args.posonlyargs, *args.args, *args.kwonlyargs):
            if _ACCOUNT_WORDS.search(param.arg):
                return True
            if param.annotation is not None and _ACCOUNT_WORDS.search(ast_dotted(param.annotation) or ""):
                return True
        source = self._strings.source
        todo: list[ast.AST] = list(func.body)
        while todo:
            sub = todo.pop()
            for ident in _identifiers(sub):
                if _BODY_WORDS.search(ident):
                    return True
            if isinstance(sub, ast.Constant) and isinstance(sub.value, (str, bytes)):
                if re.search(r"email|password|users\b", source.segment(sub), re.I):
                    if _inside_fstring(sub, source):
                        raise CannotTell("string in an f-string")
                    return True
            elif isinstance(sub, ast.JoinedStr):
                if self._strings.is_concat(sub):
                    if re.search(r"email|password|users\b", source.segment(sub), re.I):
                        raise CannotTell("concatenated f-string")
                # the text parts are not SimpleStrings in LibCST: look into the expressions only
                todo.extend(v for v in sub.values if isinstance(v, ast.FormattedValue))
                continue
            elif isinstance(sub, ast.FormattedValue):
                todo.append(sub.value)
                if sub.format_spec is not None:
                    todo.append(sub.format_spec)
                continue
            todo.extend(child_nodes(sub))
        return False


def _inside_fstring(node: ast.AST, source) -> bool:
    """Whether a constant's text may be an f-string's (its position is not its own)."""
    try:
        return ast.literal_eval(source.segment(node)) != node.value  # type: ignore[attr-defined]
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return True


def _identifiers(node: ast.AST) -> list[str]:
    """The identifiers LibCST keeps as ``Name`` nodes for this ``ast`` node."""
    if isinstance(node, ast.Name):
        return [node.id]
    if isinstance(node, ast.Attribute):
        return [node.attr]
    if isinstance(node, ast.keyword):
        return [node.arg] if node.arg else []
    if isinstance(node, ast.arg):
        return [node.arg]
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return [node.name]
    if isinstance(node, ast.alias):
        out = node.name.split(".")
        return [*out, node.asname] if node.asname else out
    if isinstance(node, ast.ImportFrom):
        return (node.module or "").split(".") if node.module else []
    if isinstance(node, (ast.Global, ast.Nonlocal)):
        return list(node.names)
    if isinstance(node, ast.ExceptHandler):
        return [node.name] if node.name else []
    if isinstance(node, (ast.MatchAs, ast.MatchStar)):
        return [node.name] if node.name else []
    if isinstance(node, ast.MatchMapping):
        return [node.rest] if node.rest else []
    if isinstance(node, ast.MatchClass):
        return list(node.kwd_attrs)
    return []


def _ast_strings(node: ast.AST, seen: set[int], strings: AstStrings) -> list[ast.AST]:
    """``_Strings``: the string literals of a subtree in source order, f-strings not looked into."""
    out: list[ast.AST] = []
    todo = [node]
    while todo:
        sub = todo.pop()
        if isinstance(sub, ast.Constant) and isinstance(sub.value, (str, bytes)):
            if strings.source.single_literal(sub) is not True:
                raise CannotTell("implicitly concatenated string")
            if id(sub) not in seen:
                seen.add(id(sub))
                out.append(sub)
            continue
        if isinstance(sub, ast.JoinedStr):
            if strings.is_concat(sub):
                raise CannotTell("implicitly concatenated f-string")
            if id(sub) not in seen:
                seen.add(id(sub))
                out.append(sub)
            continue
        todo.extend(reversed(_ordered_children(sub)))
    return out


def _ordered_children(node: ast.AST) -> list[ast.AST]:
    if isinstance(node, ast.Dict):
        out: list[ast.AST] = []
        for key, value in zip(node.keys, node.values):
            if key is not None:
                out.append(key)
            out.append(value)
        return out
    if isinstance(node, ast.Call):
        return [node.func, *(v for _, v in source_args(node))]
    return list(child_nodes(node))


class _AstScan:
    """``_Scan`` on ``ast``: answers, 409s, password checks and early exits of one function body."""

    def __init__(self, strings: AstStrings) -> None:
        self.strings = strings
        self.answers: list[tuple[ast.AST, list[ast.AST]]] = []
        self.conflicts: list[ast.Call] = []
        self.password_checks: list[int] = []
        self.missing_user_exits: list[tuple[int, ast.If, list[ast.stmt]]] = []
        self._order = 0
        self._seen_strings: set[int] = set()

    def run(self, body: list[ast.stmt]) -> None:
        todo: list[ast.AST] = list(reversed(body))
        while todo:
            node = todo.pop()
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
                continue
            if isinstance(node, ast.Raise):
                if node.exc is not None:
                    self._answer(node, node.exc)
            elif isinstance(node, ast.Return):
                if node.value is not None:
                    self._answer(node, node.value)
            elif isinstance(node, ast.Call):
                self._call(node)
            elif isinstance(node, ast.If):
                self._if(node)
            if isinstance(node, ast.ClassDef):
                children = [*node.decorator_list, *node.bases, *node.keywords, *node.body]
            else:
                children = _ordered_children(node)
            todo.extend(reversed(children))

    def _call(self, node: ast.Call) -> None:
        self._order += 1
        last = (ast_dotted(node.func) or "").rsplit(".", 1)[-1]
        if last in PASSWORD_CHECKS:
            self.password_checks.append(self._order)
        if last in _RESPONSES:
            self._answer(node, node)
            args = source_args(node)
            status = args[0][1] if args and args[0][0] is None else None
            for kw, value in args:
                if kw == "status_code":
                    status = value
            if (isinstance(status, ast.Constant) and type(status.value) is int and status.value == 409
                    and self.strings.source.segment(status) == "409") or (
                (ast_dotted(status) or "").endswith("HTTP_409_CONFLICT")
            ):
                self.conflicts.append(node)

    def _if(self, node: ast.If) -> None:
        self._order += 1
        if not _ast_missing_check(node.test):
            return
        if not self._indented(node):
            return
        last = node.body[-1]
        if not isinstance(last, (ast.Raise, ast.Return)):
            return
        # the statements of the last line (LibCST's SimpleStatementLine): simple ones ending on that line
        line_stmts = []
        for stmt in reversed(node.body):
            if stmt is last or (stmt.end_lineno == last.lineno and not isinstance(stmt, _COMPOUND)):
                line_stmts.append(stmt)
            else:
                break
        smalls = list(reversed(line_stmts))
        if any(isinstance(sub, ast.Call) and (ast_dotted(sub.func) or "").rsplit(".", 1)[-1] in PASSWORD_CHECKS
               for stmt in node.body for sub in ast_walk(stmt)):
            return
        self.missing_user_exits.append((self._order, node, smalls))

    def _indented(self, node: ast.If) -> bool:
        """LibCST's IndentedBlock (the body on its own lines), not ``if x: return`` on one line."""
        source = self.strings.source
        start, _ = source.bounds(node.body[0])
        _, test_end = source.bounds(node.test)
        between = source.text[test_end:start]
        colon = between.find(":")
        if colon < 0 or "#" in between[:colon]:
            raise CannotTell("if header")
        after = between[colon + 1 :]
        return "\n" in after or "\r" in after

    def _answer(self, stmt: ast.AST, value: ast.AST) -> None:
        strings = _ast_strings(value, self._seen_strings, self.strings)
        if strings:
            self.answers.append((stmt, strings))


_COMPOUND = (
    ast.If, ast.For, ast.AsyncFor, ast.While, ast.With, ast.AsyncWith, ast.Try, ast.FunctionDef,
    ast.AsyncFunctionDef, ast.ClassDef, ast.Match,
)


def _ast_missing_check(test: ast.AST) -> bool:
    if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
        return _ast_user_like(test.operand)
    if isinstance(test, ast.Compare) and len(test.ops) == 1:
        if isinstance(test.ops[0], (ast.Is, ast.Eq)) and isinstance(test.comparators[0], ast.Constant) and test.comparators[0].value is None:
            return _ast_user_like(test.left)
    return False


def _ast_user_like(node: ast.AST) -> bool:
    name = ast_dotted(node)
    if name is None:
        return False
    last = name.rsplit(".", 1)[-1].lower()
    return last in {"user", "account", "row", "record", "db_user", "existing", "member", "principal"} or last.endswith("_user")


class AccountEnumeration(Rule):
    """Register/login paths that reveal whether an account exists.

    ## What it does
    In functions that register, log in or reset passwords (names matching the `auth_functions` option:
    `register`, `signup`, `login`, `authenticate`, `reset_password`, ...), finds failure messages raised
    or returned to the caller that say an account exists ("already registered", "already exists", "in
    use", "taken"), does not exist ("not found", "does not exist", "no such user", "unknown user"), or
    that only the password was wrong ("incorrect password"), and `409 Conflict` answers in registration.

    It also finds the timing variant: a login that leaves early when the user is missing
    (`if user is None: raise ...`) before the password hash is checked, so a missing account answers
    measurably faster than a wrong password.

    ## Why is this bad?
    An attacker who can ask "is this email registered?" builds a list of valid accounts for credential
    stuffing and phishing. The Orchestration Engine's register endpoint answered `409 "Email already
    registered"` and its login skipped `bcrypt.checkpw` for unknown emails (plan item 1.4).

    ## Fix
    Answer every failure of a path with one generic message and status (`400 "Registration failed"`,
    `401 "Invalid email or password"`); in login, check the password against a precomputed dummy hash
    when the user does not exist.
    """

    code = "RMD108"
    ast_checker = _Fast
    name = "account-enumeration"
    message = "{where}() tells the caller {what} (\"{text}\"): answer every failure with one generic message"
    severity = Severity.HIGH
    provenance = (Provenance("001_0845f576a88221b4.txt", "Phase 1, item 1.4 (email enumeration on register and login)", "orchestration_engine"),)
    triggers = (b"regist", b"login", b"signup", b"sign_up", b"signin", b"sign_in", b"authenticate", b"password")
    cwe = (204, 208)
    options = {
        "auth_functions": r"(^|_)(register|signup|sign_up|login|log_in|signin|sign_in|authenticate|forgot_password|reset_password|request_password_reset|password_reset)($|_)",
    }
    option_docs = {"auth_functions": "regular expression for the names of functions on register/login/reset paths"}

    VALID = [
        Valid(
            """
            import bcrypt

            _DUMMY_HASH = bcrypt.hashpw(b"dummy", bcrypt.gensalt())

            class AuthService:
                async def register(self, email: str, password: str) -> dict:
                    if await self._db.fetch_one("SELECT id FROM users WHERE email = ?", (email,)):
                        raise ValueError("Registration failed")
                    return await self._create(email, password)

                async def login(self, email: str, password: str) -> dict:
                    user = await self._db.fetch_one("SELECT * FROM users WHERE email = ?", (email,))
                    stored = user["password_hash"].encode() if user else _DUMMY_HASH
                    ok = bcrypt.checkpw(password.encode(), stored)
                    if user is None or not ok:
                        raise ValueError("Invalid email or password")
                    return user
            """
        ),
        Valid(
            """
            from fastapi import HTTPException

            async def get_project(project_id: str, db):
                row = await db.fetch_one("SELECT * FROM projects WHERE id = ?", (project_id,))
                if row is None:
                    raise HTTPException(status_code=404, detail="Project not found")
                return row
            """
        ),
        Valid(
            """
            import logging

            logger = logging.getLogger(__name__)

            def login(users, email, password, verify):
                user = users.get(email)
                if user is not None and verify(password, user.hash):
                    return user
                logger.info("login failed: user not found or wrong password for %s", email)
                raise PermissionError("Invalid email or password")
            """
        ),
        Valid(
            """
            from fastapi import HTTPException

            async def register(body, auth):
                try:
                    return await auth.register(body.email, body.password)
                except ValueError:
                    raise HTTPException(status_code=400, detail="Registration failed")
            """
        ),
    ]

    INVALID = [
        Invalid(
            """
            from fastapi import APIRouter, HTTPException

            router = APIRouter()

            @router.post("/register", status_code=201)
            async def register(body, auth):
                try:
                    return await auth.register(body.email, body.password)
                except ValueError:
                    raise HTTPException(status_code=409, detail="Email already registered")
            """,
            line=10,
        ),
        Invalid(
            """
            class AuthService:
                async def register(self, email, password):
                    if await self.users.exists(email):
                        raise ValueError(f"User {email} already exists")
                    return await self.users.create(email, password)
            """,
            line=4,
        ),
        Invalid(
            """
            import bcrypt

            class AuthService:
                async def login(self, email: str, password: str) -> dict:
                    user = await self._db.fetch_one("SELECT * FROM users WHERE email = ?", (email,))
                    if user is None:
                        raise ValueError("Invalid email or password")
                    if not bcrypt.checkpw(password.encode(), user["password_hash"]):
                        raise ValueError("Invalid email or password")
                    return user
            """,
            line=7,
        ),
        Invalid(
            """
            from flask import jsonify

            def login_view(db, form):
                user = db.find_user(form["email"])
                if not user:
                    return jsonify({"error": "No such user"}), 404
                if not user.check_password(form["password"]):
                    return jsonify({"error": "Incorrect password"}), 401
                return jsonify({"ok": True})
            """,
            line=6,
            count=2,
        ),
        Invalid(
            """
            from werkzeug.security import check_password_hash

            def authenticate(users, email, password):
                user = users.get(email)
                if user is None:
                    return None
                return user if check_password_hash(user.password_hash, password) else None
            """,
            line=6,
        ),
    ]

    def __init__(self, context, options) -> None:
        super().__init__(context, options)
        self._auth_re = re.compile(self.opts["auth_functions"], re.I)
        self._texts = [
            (re.compile(_EXISTS, re.I), "the account already exists"),
            (re.compile(_MISSING, re.I), "the account does not exist"),
            (re.compile(_PASSWORD, re.I), "only the password was wrong"),
        ]

    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool | None:
        name = node.name.value
        if not self._auth_re.search(name) or not _about_accounts(node):
            return None
        scan = _Scan()
        node.body.visit(scan)
        timing_reported = False
        reported: set[int] = set()
        for stmt, text_node in scan.answers:
            for string in text_node:
                text = _text(string)
                if text is None:
                    continue
                for pattern, what in self._texts:
                    if pattern.search(text):
                        self.report(string, where=name, what=what, text=_short(text))
                        reported.add(id(string))
                        reported.add(id(stmt))
                        break
        if re.search(r"regist|sign_?up", name, re.I):
            for call in scan.conflicts:
                strings: list[cst.CSTNode] = []
                call.visit(_Strings(strings, set()))
                if any(id(s) in reported for s in strings):
                    continue
                self.report(call, f"{name}() answers 409 Conflict, which tells the caller the account exists: answer 400 with one generic message")
        if re.search(r"log_?in|sign_?in|authenticate", name, re.I) and scan.password_checks:
            first_check = min(scan.password_checks)
            for order, if_node, exit_stmt in scan.missing_user_exits:
                if any(id(small) in reported for small in exit_stmt.body):
                    continue
                if order < first_check and not timing_reported:
                    self.report(
                        exit_stmt,
                        f"{name}() leaves before checking a password hash when the user is missing, so unknown accounts "
                        "answer faster: check the password against a dummy hash in that case too",
                    )
                    timing_reported = True
        return None


class _Scan(cst.CSTVisitor):
    """One pass over an auth function's body: answers, 409s, password checks and early exits."""

    def __init__(self) -> None:
        self.answers: list[tuple[cst.CSTNode, list[cst.CSTNode]]] = []
        self.conflicts: list[cst.Call] = []
        self.password_checks: list[int] = []
        self.missing_user_exits: list[tuple[int, cst.If, cst.CSTNode]] = []
        self._order = 0
        self._seen_strings: set[int] = set()

    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        return False  # nested functions are not this path

    def visit_Lambda(self, node: cst.Lambda) -> bool:
        return False

    def visit_Raise(self, node: cst.Raise) -> None:
        if node.exc is not None:
            self._answer(node, node.exc)

    def visit_Return(self, node: cst.Return) -> None:
        if node.value is not None:
            self._answer(node, node.value)

    def visit_Call(self, node: cst.Call) -> None:
        self._order += 1
        last = (dotted_name(node.func) or "").rsplit(".", 1)[-1]
        if last in PASSWORD_CHECKS:
            self.password_checks.append(self._order)
        if last in _RESPONSES:
            self._answer(node, node)
            status = node.args[0].value if node.args and node.args[0].keyword is None else None
            for arg in node.args:
                if arg.keyword is not None and arg.keyword.value == "status_code":
                    status = arg.value
            if (isinstance(status, cst.Integer) and status.value == "409") or (
                (dotted_name(status) or "").endswith("HTTP_409_CONFLICT")
            ):
                self.conflicts.append(node)

    def visit_If(self, node: cst.If) -> None:
        self._order += 1
        if not _is_missing_check(node.test):
            return
        body = node.body.body if isinstance(node.body, cst.IndentedBlock) else ()
        if not body:
            return
        last = body[-1]
        exit_stmt = None
        if isinstance(last, cst.SimpleStatementLine) and last.body and isinstance(last.body[-1], (cst.Raise, cst.Return)):
            exit_stmt = last
        if exit_stmt is None:
            return
        # a dummy hash check inside the branch keeps the timing equal
        if _calls_password_check(node.body):
            return
        self.missing_user_exits.append((self._order, node, exit_stmt))

    def _answer(self, stmt: cst.CSTNode, value: cst.CSTNode) -> None:
        strings: list[cst.CSTNode] = []
        collector = _Strings(strings, self._seen_strings)
        value.visit(collector)
        if strings:
            self.answers.append((stmt, strings))


class _Strings(cst.CSTVisitor):
    def __init__(self, out: list[cst.CSTNode], seen: set[int]) -> None:
        self.out = out
        self.seen = seen

    def visit_SimpleString(self, node: cst.SimpleString) -> None:
        self._add(node)

    def visit_FormattedString(self, node: cst.FormattedString) -> bool:
        self._add(node)
        return False

    def _add(self, node: cst.CSTNode) -> None:
        if id(node) not in self.seen:
            self.seen.add(id(node))
            self.out.append(node)


class _Calls(cst.CSTVisitor):
    def __init__(self) -> None:
        self.found = False

    def visit_Call(self, node: cst.Call) -> None:
        if (dotted_name(node.func) or "").rsplit(".", 1)[-1] in PASSWORD_CHECKS:
            self.found = True


_ACCOUNT_WORDS = re.compile(r"email|user|password|passwd|account|login|register|signup|credential|member", re.I)
_BODY_WORDS = re.compile(r"email|user|password|passwd|account|credential", re.I)


def _about_accounts(func: cst.FunctionDef) -> bool:
    """The function handles user accounts: a parameter (or its annotation) or the body names one."""
    for param in (*func.params.posonly_params, *func.params.params, *func.params.kwonly_params):
        if _ACCOUNT_WORDS.search(param.name.value):
            return True
        if param.annotation is not None and _ACCOUNT_WORDS.search(dotted_name(param.annotation.annotation) or ""):
            return True
    scan = _Words()
    func.body.visit(scan)
    return scan.found


class _Words(cst.CSTVisitor):
    def __init__(self) -> None:
        self.found = False

    def visit_Name(self, node: cst.Name) -> None:
        if not self.found and _BODY_WORDS.search(node.value):
            self.found = True

    def visit_SimpleString(self, node: cst.SimpleString) -> None:
        if not self.found and re.search(r"email|password|users\b", node.value, re.I):
            self.found = True


def _calls_password_check(node: cst.CSTNode) -> bool:
    visitor = _Calls()
    node.visit(visitor)
    return visitor.found


def _is_missing_check(test: cst.BaseExpression) -> bool:
    """``user is None`` / ``not user`` / ``user == None`` for a user-like name."""
    if isinstance(test, cst.UnaryOperation) and isinstance(test.operator, cst.Not):
        return _user_like(test.expression)
    if isinstance(test, cst.Comparison) and len(test.comparisons) == 1:
        target = test.comparisons[0]
        if isinstance(target.operator, (cst.Is, cst.Equal)) and isinstance(target.comparator, cst.Name) and target.comparator.value == "None":
            return _user_like(test.left)
    return False


def _user_like(node: cst.BaseExpression) -> bool:
    name = dotted_name(node)
    if name is None:
        return False
    last = name.rsplit(".", 1)[-1].lower()
    return last in {"user", "account", "row", "record", "db_user", "existing", "member", "principal"} or last.endswith("_user")


def _text(node: cst.CSTNode) -> str | None:
    if isinstance(node, cst.SimpleString):
        value = node.evaluated_value
        return value if isinstance(value, str) else None
    if isinstance(node, cst.FormattedString):
        return "".join(p.value if isinstance(p, cst.FormattedStringText) else "{}" for p in node.parts)
    return None


def _short(text: str, limit: int = 50) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."
