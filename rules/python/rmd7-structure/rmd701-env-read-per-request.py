"""Semgrep test for rmd701-env-read-per-request: cases drawn from RMD701's examples."""

# ---- invalid example 0
import os

from fastapi import Depends, FastAPI, HTTPException
from fastapi.security import APIKeyHeader

app = FastAPI()
api_key_header = APIKeyHeader(name="X-API-Key")

async def verify_api_key(api_key: str = Depends(api_key_header)) -> str:
    # ruleid: rmd701-env-read-per-request
    expected = os.getenv("KHALA_API_KEY")
    if api_key != expected:
        raise HTTPException(status_code=401, detail="Invalid API key")
    return api_key


# ---- invalid example 1
from os import environ

from fastapi import APIRouter

router = APIRouter(prefix="/search")

@router.post("/")
async def search(query: dict):
    # ruleid: rmd701-env-read-per-request
    limit = int(environ["SEARCH_LIMIT"])
    return {"limit": limit}


# ---- invalid example 2
import os

from fastapi import Depends, FastAPI

app = FastAPI()

@app.get("/memories", dependencies=[Depends(check_token)])
async def list_memories():
    return []

# a dependency known only from Depends(check_token) elsewhere in the module (see RMD701's limitations)
def check_token(token=None):
    # todoruleid: rmd701-env-read-per-request
    if token != os.environ.get("TOKEN"):
        raise PermissionError(token)


# ---- invalid example 3
import os as _os

from starlette.middleware.base import BaseHTTPMiddleware

class TenantMiddleware(BaseHTTPMiddleware):
    async def dispatch(self, request, call_next):
        # ruleid: rmd701-env-read-per-request
        request.state.tenant = _os.getenv("DEFAULT_TENANT", "public")
        return await call_next(request)


# ---- invalid example 4
import os

class AuthMiddleware:
    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        # ruleid: rmd701-env-read-per-request
        if os.environ.get("AUTH_DISABLED") == "1":
            return await self.app(scope, receive, send)
        # ruleid: rmd701-env-read-per-request
        key = os.getenv("API_KEY")
        scope["api_key"] = key
        return await self.app(scope, receive, send)


# ---- invalid example 5
import os

from flask import Flask

app = Flask(__name__)

@app.route("/upload", methods=["POST"])
def upload():
    # ruleid: rmd701-env-read-per-request
    folder = os.environ.get("UPLOAD_DIR", "/tmp")
    return folder


# ---- valid example 0
import os
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI, HTTPException, Request

# ok: rmd701-env-read-per-request
@asynccontextmanager
async def lifespan(app: FastAPI):
    app.state.api_key = os.environ["KHALA_API_KEY"]
    yield

app = FastAPI(lifespan=lifespan)

async def verify_api_key(request: Request) -> None:
    if request.headers.get("X-API-Key") != request.app.state.api_key:
        raise HTTPException(status_code=401)

@app.get("/memories", dependencies=[Depends(verify_api_key)])
async def list_memories():
    return []


# ---- valid example 1
import os

from fastapi import APIRouter

# ok: rmd701-env-read-per-request
API_KEY = os.getenv("API_KEY", "")
router = APIRouter()

@router.get("/health")
async def health():
    return {"auth": bool(API_KEY)}


# ---- valid example 2
import os
from functools import lru_cache

from fastapi import Depends, FastAPI

# ok: rmd701-env-read-per-request
app = FastAPI()

@lru_cache
def get_settings() -> dict:
    return {"api_key": os.getenv("API_KEY")}

@app.get("/config")
def config(settings: dict = Depends(get_settings)):
    return {"configured": bool(settings["api_key"])}


# ---- valid example 3
import os

from fastapi import FastAPI

# ok: rmd701-env-read-per-request
app = FastAPI()

@app.on_event("startup")
async def startup() -> None:
    app.state.db_url = os.environ.get("DATABASE_URL", "sqlite://")


# ---- valid example 4
import os

# ok: rmd701-env-read-per-request
def build_cli_env() -> dict:
    env = dict(os.environ)
    env["PATH"] = os.getenv("PATH", "")
    return env

class Cache:
    def get(self, key):
        return os.environ.get(key)
