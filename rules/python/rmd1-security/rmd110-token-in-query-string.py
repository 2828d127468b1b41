import fastapi
import jwt
from fastapi import APIRouter, Depends, Header, HTTPException, Query
from fastapi import Query as Q
from flask import request
from starlette.requests import Request

router = APIRouter()
app = fastapi.FastAPI()


@router.get("/events/{project_id}")
# ok: rmd110-token-in-query-string
async def events_scoped(project_id: str, token: str = Query(...)):
    payload = jwt.decode(token, "k" * 32, algorithms=["HS256"])
    if payload.get("type") != "sse" or payload.get("project_id") != project_id:
        raise HTTPException(status_code=401, detail="Invalid token")
    return {"stream": project_id}


def get_user(authorization: str = Header(...)):
    return authorization


@router.get("/me")
async def me(user=Depends(get_user)):
    return user


# ok: rmd110-token-in-query-string
@router.get("/reset/{token}")
async def reset(token: str):
    return {"token": token}


@router.get("/usage")
async def usage(max_tokens: int = Query(100), next_page_token: str | None = None):
    # ok: rmd110-token-in-query-string
    return {"max": max_tokens}


def build_url(base: str, token: str) -> str:
    # ok: rmd110-token-in-query-string
    return f"{base}?page={token}"


@router.get("/events/{project_id}")
# ruleid: rmd110-token-in-query-string
async def events(project_id: str, token: str = Query(...)):
    return {"project": project_id, "token": token}


@app.get("/download")
def download(
    path: str,
    # ruleid: rmd110-token-in-query-string
    api_key: str,
):
    return path


async def get_user_from_token_param(
    # ruleid: rmd110-token-in-query-string
    token: str = Q(...),
    auth=Depends(lambda: None),
) -> dict:
    payload = auth.decode_token(token)
    if payload.get("type") != "access":
        raise HTTPException(status_code=401, detail="Invalid token type")
    return payload


class StreamEndpoint:
    async def __call__(self, request: Request):
        # ruleid: rmd110-token-in-query-string
        token = request.query_params["token"]
        return await self.open_stream(token)


def export():
    # ruleid: rmd110-token-in-query-string
    key = request.args.get("api_key")
    return key


def page():
    # ok: rmd110-token-in-query-string
    cursor = request.args.get("page_token")
    return cursor
