"""Semgrep test for rmd708-duplicate-rate-limiter: cases drawn from RMD708's examples."""

# ---- invalid example 0
from fastapi import APIRouter, Request
from slowapi import Limiter
from slowapi.util import get_remote_address

router = APIRouter(prefix="/api/projects", tags=["projects"])
# ruleid: rmd708-duplicate-rate-limiter
_limiter = Limiter(key_func=get_remote_address)

@router.post("/{project_id}/plan")
@_limiter.limit("5/minute")
async def plan(request: Request, project_id: str):
    return {"id": project_id}


# ---- invalid example 1
import slowapi
from fastapi import APIRouter

router = APIRouter()
# ruleid: rmd708-duplicate-rate-limiter
limiter = slowapi.Limiter(key_func=lambda request: request.client.host)


# ---- invalid example 2
from slowapi import Limiter as RateLimiter
from slowapi.util import get_remote_address

# ruleid: rmd708-duplicate-rate-limiter
limiter = RateLimiter(key_func=get_remote_address)

@router.get("/search")
@limiter.limit("30/minute")
async def search(request):
    return []


# ---- invalid example 3
from flask import Blueprint
from slowapi.extension import Limiter

bp = Blueprint("auth", __name__)

def make_limiter(key_func):
    # ruleid: rmd708-duplicate-rate-limiter
    return Limiter(key_func=key_func)


# ---- valid example 0
from fastapi import APIRouter, Request

from backend.rate_limit import limiter

# ok: rmd708-duplicate-rate-limiter
router = APIRouter(prefix="/api/projects")

@router.post("/{project_id}/plan")
@limiter.limit("5/minute")
async def plan(request: Request, project_id: str):
    return {"id": project_id}


# ---- valid example 3
from fastapi import APIRouter

from myapp.throttle import Limiter

# ok: rmd708-duplicate-rate-limiter
router = APIRouter()
throttle = Limiter(rate=10)

# ---- valid examples 1 (the app module: FastAPI() and its one Limiter) and 2 (a rate_limit module with
# no routes) are left out: one test file is one module, and an app created here would make every
# limiter above legitimate, while the routers above make example 2's module a routes module.
