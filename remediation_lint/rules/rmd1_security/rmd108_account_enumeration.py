from __future__ import annotations

import re

import libcst as cst

from remediation_lint.analysis.names import dotted_name
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
