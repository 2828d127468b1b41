import bcrypt
from fastapi import APIRouter, HTTPException, status
from flask import jsonify
from werkzeug.security import check_password_hash

router = APIRouter()
_DUMMY_HASH = bcrypt.hashpw(b"dummy", bcrypt.gensalt())


class AuthService:
    async def register(self, email: str, password: str) -> dict:
        if await self._db.fetch_one("SELECT id FROM users WHERE email = ?", (email,)):
            # ok: rmd108-account-enumeration
            raise ValueError("Registration failed")
        return await self._create(email, password)

    async def login(self, email: str, password: str) -> dict:
        user = await self._db.fetch_one("SELECT * FROM users WHERE email = ?", (email,))
        stored = user["password_hash"].encode() if user else _DUMMY_HASH
        ok = bcrypt.checkpw(password.encode(), stored)
        if user is None or not ok:
            # ok: rmd108-account-enumeration
            raise ValueError("Invalid email or password")
        return user


class LeakyAuthService:
    async def register(self, email, password):
        if await self.users.exists(email):
            # ruleid: rmd108-account-enumeration
            raise ValueError(f"User {email} already exists")
        return await self.users.create(email, password)

    async def login(self, email: str, password: str) -> dict:
        user = await self._db.fetch_one("SELECT * FROM users WHERE email = ?", (email,))
        if user is None:
            # ruleid: rmd108-account-enumeration
            raise ValueError("Invalid email or password")
        if not bcrypt.checkpw(password.encode(), user["password_hash"]):
            # ok: rmd108-account-enumeration
            raise ValueError("Invalid email or password")
        return user

    async def login_with_dummy(self, email: str, password: str) -> dict:
        user = await self._db.fetch_one("SELECT * FROM users WHERE email = ?", (email,))
        if user is None:
            bcrypt.checkpw(password.encode(), _DUMMY_HASH)
            # ok: rmd108-account-enumeration
            raise ValueError("Invalid email or password")
        if not bcrypt.checkpw(password.encode(), user["password_hash"]):
            raise ValueError("Invalid email or password")
        return user


async def get_project(project_id: str, db):
    row = await db.fetch_one("SELECT * FROM projects WHERE id = ?", (project_id,))
    if row is None:
        # ok: rmd108-account-enumeration
        raise HTTPException(status_code=404, detail="Project not found")
    return row


def login(users, email, password, verify):
    user = users.get(email)
    if user is not None and verify(password, user.hash):
        return user
    # ok: rmd108-account-enumeration
    logger.info("login failed: user not found or wrong password for %s", email)
    raise PermissionError("Invalid email or password")


@router.post("/register", status_code=201)
async def register(body, auth):
    try:
        return await auth.register(body.email, body.password)
    except ValueError:
        # ruleid: rmd108-account-enumeration
        raise HTTPException(status_code=409, detail="Email already registered")


@router.post("/signup", status_code=201)
async def signup(body, auth):
    try:
        return await auth.register(body.email, body.password)
    except ValueError:
        # ruleid: rmd108-account-enumeration
        raise HTTPException(status_code=status.HTTP_409_CONFLICT, detail="Sign-up failed")


@router.post("/register2", status_code=201)
async def register_v2(body, auth):
    try:
        return await auth.register(body.email, body.password)
    except ValueError:
        # ok: rmd108-account-enumeration
        raise HTTPException(status_code=400, detail="Registration failed")


def login_view(db, form):
    user = db.find_user(form["email"])
    if not user:
        # ruleid: rmd108-account-enumeration
        return jsonify({"error": "No such user"}), 404
    if not user.check_password(form["password"]):
        # ruleid: rmd108-account-enumeration
        return jsonify({"error": "Incorrect password"}), 401
    return jsonify({"ok": True})


def authenticate(users, email, password):
    user = users.get(email)
    if user is None:
        # ruleid: rmd108-account-enumeration
        return None
    return user if check_password_hash(user.password_hash, password) else None


def authenticate_helper(users, email, password):
    def lookup():
        user = users.get(email)
        if user is None:
            # ok: rmd108-account-enumeration
            raise KeyError("User not found")
        return user
    return lookup
