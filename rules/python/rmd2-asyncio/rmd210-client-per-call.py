# ---- INVALID example 0 ----
import httpx

class SearchKnowledgeTool:
    async def execute(self, params: dict) -> str:
        # ruleid: rmd210-client-per-call
        async with httpx.AsyncClient(timeout=EMBED_TIMEOUT) as client:
            resp = await client.post(EMBEDDING_URL, json={"input": params["query"]})
        return resp.text


# ---- INVALID example 1 ----
from httpx import AsyncClient as HTTPClient

async def generate(prompt: str) -> str:
    # ruleid: rmd210-client-per-call
    client = HTTPClient()
    try:
        resp = await client.post(OLLAMA_URL, json={"prompt": prompt})
        return resp.json()["response"]
    finally:
        await client.aclose()


# ---- INVALID example 2 ----
import requests

def fetch_status(url: str) -> int:
    # ruleid: rmd210-client-per-call
    with requests.Session() as session:
        return session.get(url, timeout=5).status_code


# ---- INVALID example 3 ----
import aiohttp

async def handler(request):
    # ruleid: rmd210-client-per-call
    async with aiohttp.ClientSession() as session:
        async with session.get(request.query["url"]) as resp:
            return await resp.text()


# ---- INVALID example 4 ----
import httpx

class Tool:
    @property
    def http(self) -> httpx.Client:
        # ruleid: rmd210-client-per-call
        return httpx.Client()


# ---- VALID example 0 ----
# ok: rmd210-client-per-call
import httpx

OLLAMA_REQUEST_TIMEOUT = 120.0

class OllamaGenerateTool:
    def __init__(self, http: httpx.AsyncClient) -> None:
        self._http = http

    async def execute(self, params: dict) -> str:
        resp = await self._http.post(f"{OLLAMA_URL}/api/generate", json=params, timeout=OLLAMA_REQUEST_TIMEOUT)
        resp.raise_for_status()
        return resp.json()["response"]


# ---- VALID example 1 ----
# ok: rmd210-client-per-call
import requests

class GitHubAPI:
    def __init__(self, token: str) -> None:
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"token {token}"

    def repo(self, name: str) -> dict:
        return self.session.get(f"https://api.github.com/repos/{name}", timeout=10).json()


# ---- VALID example 2 ----
# ok: rmd210-client-per-call
from contextlib import asynccontextmanager

import aiohttp

@asynccontextmanager
async def lifespan(app):
    async with aiohttp.ClientSession() as session:
        app.state.http = session
        yield


# ---- VALID example 3 ----
# ok: rmd210-client-per-call
import functools

import httpx

@functools.lru_cache(maxsize=1)
def get_client() -> httpx.Client:
    return httpx.Client(base_url="http://localhost:8188")

def make_session():
    session = httpx.AsyncClient()
    session.headers["User-Agent"] = "orchestrator"
    return session


# ---- VALID example 4 ----
# ok: rmd210-client-per-call
import httpx

class ComfyUIClient:
    _client: httpx.AsyncClient | None = None

    async def client(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient()
        return self._client

shared = httpx.Client()

