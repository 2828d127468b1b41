# ---- INVALID example 0 ----
import time

async def retry(op):
    for attempt in range(3):
        if await op():
            return True
        # ruleid: rmd204-blocking-call-in-async
        time.sleep(2 ** attempt)
    return False


# ---- INVALID example 1 ----
from pathlib import Path

class WriteFileTool:
    async def execute(self, params):
        path = Path(params["path"])
        # ruleid: rmd204-blocking-call-in-async
        path.write_text(params["content"], encoding="utf-8")
        return f"wrote {path}"

class ReadFileTool:
    async def execute(self, params):
        # ruleid: rmd204-blocking-call-in-async
        content = Path(params["path"]).read_text()
        return content


# ---- INVALID example 2 ----
import asyncio
import sqlite3

class LookupTool:
    def __init__(self, path):
        self.conn = sqlite3.connect(path)

    async def execute(self, name):
        # ruleid: rmd204-blocking-call-in-async
        self.conn.execute("INSERT INTO lookups (name) VALUES (?)", (name,))
        # ruleid: rmd204-blocking-call-in-async
        rows = self.conn.execute("SELECT * FROM types WHERE name = ?", (name,)).fetchall()
        return rows


# ---- INVALID example 3 ----
import requests
import subprocess as sp
from time import sleep

async def health(url):
    # ruleid: rmd204-blocking-call-in-async
    response = requests.get(url, timeout=5)
    # ruleid: rmd204-blocking-call-in-async
    sleep(0.5)
    # ruleid: rmd204-blocking-call-in-async
    return response.ok, sp.check_output(["uptime"])


# ---- INVALID example 4 ----
import asyncio
from alembic import command
from alembic.config import Config

class Database:
    async def init(self, url):
        cfg = Config("alembic.ini")
        cfg.set_main_option("sqlalchemy.url", url)
        # ruleid: rmd204-blocking-call-in-async
        command.upgrade(cfg, "head")


# ---- INVALID example 5 ----
import httpx

async def poll(urls):
    with httpx.Client(timeout=5) as client:
        for url in urls:
            # ruleid: rmd204-blocking-call-in-async
            client.get(url)
    # ruleid: rmd204-blocking-call-in-async
    with open("log.txt") as fh:
        return fh.read()


# ---- INVALID example 7 ----
from alembic import command
from alembic.config import Config

def run_migrations(url):
    cfg = Config("alembic.ini")
    command.upgrade(cfg, "head")

def log_ready(url):
    return url

class Database:
    async def init(self, url):
        # ruleid: rmd204-blocking-call-in-async
        run_migrations(url)
        log_ready(url)


# ---- more cases ----
import asyncio
import socket
import sqlite3
import httpx
import requests
from urllib.request import urlopen

http = httpx.Client(timeout=5)


async def check(url):
    # ruleid: rmd204-blocking-call-in-async
    with urlopen(url, timeout=2) as response:
        return response.status


async def ping(url):
    # ruleid: rmd204-blocking-call-in-async
    return http.get(url).status_code


class Lister:
    async def execute(self, path, limit):
        # ruleid: rmd204-blocking-call-in-async
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            # ruleid: rmd204-blocking-call-in-async
            rows = conn.execute(
                "SELECT source FROM documents LIMIT ?", (limit,)
            ).fetchall()
        finally:
            conn.close()
        return rows


async def serve(port):
    sock = socket.socket()
    sock.setblocking(False)
    loop = asyncio.get_running_loop()
    # ok: rmd204-blocking-call-in-async
    sock.connect(("localhost", port))
    return await loop.sock_recv(sock, 1024)


async def offloaded(path):
    loop = asyncio.get_running_loop()
    # ok: rmd204-blocking-call-in-async
    data = await loop.run_in_executor(None, lambda: open(path).read())
    # ok: rmd204-blocking-call-in-async
    text = await asyncio.to_thread(lambda: path.read_text())
    return data, text


def sync_lookup(path):
    conn = sqlite3.connect(path)
    # ok: rmd204-blocking-call-in-async
    return conn.execute("SELECT 1").fetchall()


async def status(url, seconds):
    # ruleid: rmd204-blocking-call-in-async
    return requests.get(url, timeout=int(seconds)).json()


# ---- VALID example 0 ----
import asyncio
from pathlib import Path

async def read_file(path: Path) -> str:
    # ok: rmd204-blocking-call-in-async
    return await asyncio.to_thread(path.read_text, encoding="utf-8")

async def write_file(path: Path, content: str) -> None:
    await asyncio.to_thread(path.write_text, content)


# ---- VALID example 1 ----
import asyncio
import time

async def backoff(attempt):
    await asyncio.sleep(2 ** attempt)

def sync_backoff(attempt):
    # ok: rmd204-blocking-call-in-async
    time.sleep(2 ** attempt)


# ---- VALID example 2 ----
import asyncio
import urllib.request

class ResourceMonitor:
    def check_service(self, url):
        # ok: rmd204-blocking-call-in-async
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200

    async def check(self, url):
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(None, self.check_service, url)


# ---- VALID example 3 ----
import asyncio
import subprocess

async def run_git(args):
    def _run():
        # ok: rmd204-blocking-call-in-async
        return subprocess.run(["git", *args], capture_output=True, check=True)
    return await asyncio.to_thread(_run)


# ---- VALID example 4 ----
import anyio

async def load(path: anyio.Path):
    # ok: rmd204-blocking-call-in-async
    return await path.read_text()

async def fetch(client, url):
    # ok: rmd204-blocking-call-in-async
    return await client.get(url)


# ---- VALID example 5 ----
import sqlite3

async def count(pool):
    conn = await pool.acquire()
    # ok: rmd204-blocking-call-in-async
    return await conn.execute("SELECT 1")

