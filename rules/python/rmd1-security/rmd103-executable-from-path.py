# ---- INVALID example 0 ----
import asyncio

class CLIExecutor:
    async def execute(self, *args: str):
        process = await asyncio.create_subprocess_exec(
            # ruleid: rmd103-executable-from-path
            "npx",
            "@google/gemini-cli",
            *args,
            stdout=asyncio.subprocess.PIPE,
        )
        return await process.wait()


# ---- INVALID example 1 ----
import subprocess as sp

def build_frontend(path: str) -> None:
    # ruleid: rmd103-executable-from-path
    sp.run(["node", "build.js", path], check=True, timeout=300)


# ---- INVALID example 2 ----
from subprocess import Popen

NPX = "npx"

def start_server(port: int):
    # ruleid: rmd103-executable-from-path
    return Popen([NPX, "http-server", "-p", str(port)])


# ---- INVALID example 3 ----
import subprocess

def install(package: str) -> str:
    # ruleid: rmd103-executable-from-path
    return subprocess.check_output(f"npm install {package}", shell=True, text=True)


# ---- INVALID example 4 ----
import os

def handover(args):
    # ruleid: rmd103-executable-from-path
    os.execvp("python3", ["python3", *args])


# ---- VALID example 0 ----
# ok: rmd103-executable-from-path
import asyncio
import shutil

class CLIExecutor:
    def __init__(self) -> None:
        npx = shutil.which("npx")
        if npx is None:
            raise RuntimeError("npx not found on PATH")
        self.npx = npx

    async def run(self, *args: str):
        return await asyncio.create_subprocess_exec(self.npx, *args)


# ---- VALID example 1 ----
# ok: rmd103-executable-from-path
import subprocess
import sys

def run_tool(script: str) -> int:
    return subprocess.run([sys.executable, script], check=False).returncode


# ---- VALID example 2 ----
# ok: rmd103-executable-from-path
import subprocess

NODE = "/usr/local/bin/node"

def render(path):
    subprocess.run([NODE, "render.js", path], check=True, timeout=30)
    subprocess.run(["/usr/bin/git", "status"], check=True, timeout=30)


# ---- VALID example 3 ----
# ok: rmd103-executable-from-path
import subprocess

def run(cmd: list[str]):
    return subprocess.run(cmd, check=True, timeout=60)


# ---- VALID example 4 ----
# ok: rmd103-executable-from-path
import subprocess

def status():
    # ruleid: rmd103-executable-from-path
    return subprocess.run(["git", "status"], check=True, timeout=10)

