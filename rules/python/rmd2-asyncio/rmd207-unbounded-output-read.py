# ---- INVALID example 0 ----
import asyncio

class CLIExecutor:
    async def execute(self, args: list[str]) -> str:
        process = await asyncio.create_subprocess_exec(
            "npx", *args,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        # ruleid: rmd207-unbounded-output-read
        stdout, stderr = await process.communicate()
        return stdout.decode()


# ---- INVALID example 1 ----
import subprocess

def execute(command: str) -> str:
    # ruleid: rmd207-unbounded-output-read
    result = subprocess.run(command, shell=True, capture_output=True, text=True, timeout=60)
    return result.stdout


# ---- INVALID example 2 ----
from subprocess import PIPE, Popen

class BaseExecutor:
    def run(self, command):
        proc = Popen(command, stdout=PIPE, stderr=PIPE)
        # ruleid: rmd207-unbounded-output-read
        out, err = proc.communicate(timeout=600)
        return out


# ---- INVALID example 3 ----
import asyncio.subprocess as asp
from asyncio import create_subprocess_shell

async def tail(cmd):
    proc = await create_subprocess_shell(cmd, stdout=asp.PIPE)
    # ruleid: rmd207-unbounded-output-read
    data = await proc.stdout.read()
    await proc.wait()
    return data


# ---- INVALID example 4 ----
import subprocess as sp

def git_log(repo):
    # ruleid: rmd207-unbounded-output-read
    return sp.check_output(["git", "-C", repo, "log"], timeout=30)


# ---- INVALID example 5 ----
import subprocess

class Worker:
    def start(self, cmd):
        self._proc = subprocess.Popen(cmd, stdout=subprocess.PIPE)

    def collect(self):
        # ruleid: rmd207-unbounded-output-read
        return self._proc.stdout.read()


# ---- more cases ----
import asyncio
import shlex
import subprocess
from subprocess import PIPE, check_output


class TaskExecutor:
    def execute_task(self, task):
        # ruleid: rmd207-unbounded-output-read
        proc = subprocess.run(self.build_command(task), capture_output=True, text=True,
                              timeout=int(task.get("timeout", 300)))
        return proc.stdout

    def execute_with_input(self, command, payload):
        proc = subprocess.Popen(
            command,
            stdin=PIPE,
            stdout=PIPE,
            stderr=PIPE,
            text=True,
        )
        # ruleid: rmd207-unbounded-output-read
        out, err = proc.communicate(payload, timeout=60)
        return out

    def check_condition(self, command):
        # ok: rmd207-unbounded-output-read
        status = subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60)
        return status.returncode == 0

    def version(self):
        # ok: rmd207-unbounded-output-read
        return check_output(["git", "--version"], timeout=5).decode()

    def fixed_query(self):
        # ok: rmd207-unbounded-output-read
        return subprocess.run(shlex.split("uname -a"), capture_output=True, timeout=5).stdout

    def user_query(self, name):
        # ruleid: rmd207-unbounded-output-read
        return check_output(["git", "log", f"--author={name}"], timeout=5).decode()


class CLIExecutor:
    async def execute(self, args):
        process = await asyncio.create_subprocess_exec(
            "npx",
            *args,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        # ruleid: rmd207-unbounded-output-read
        stdout, stderr = await asyncio.wait_for(process.communicate(), timeout=60)
        return stdout

    async def version(self, package):
        process = await asyncio.create_subprocess_exec(
            "npx", package, "--version", stdout=asyncio.subprocess.PIPE,
        )
        # ok: rmd207-unbounded-output-read
        banner = await process.stdout.read(256)
        return banner

    async def help(self):
        process = await asyncio.create_subprocess_exec("npx", "--help", stdout=asyncio.subprocess.PIPE)
        # ok: rmd207-unbounded-output-read
        return await process.communicate()

    async def errors_only(self, args):
        process = await asyncio.create_subprocess_exec(*args, stderr=asyncio.subprocess.PIPE)
        # ok: rmd207-unbounded-output-read
        data = await process.stdout.read()
        # ruleid: rmd207-unbounded-output-read
        errors = await process.stderr.read()
        return data, errors


# ---- VALID example 0 ----
import asyncio

MAX_OUTPUT = 1_000_000

async def run_cli(args: list[str]) -> bytes:
    process = await asyncio.create_subprocess_exec(
        "/usr/bin/node", *args, stdout=asyncio.subprocess.PIPE,
    )
    chunks, size = [], 0
    # ok: rmd207-unbounded-output-read
    while chunk := await process.stdout.read(65536):
        size += len(chunk)
        if size > MAX_OUTPUT:
            process.kill()
            raise RuntimeError("output limit exceeded")
        chunks.append(chunk)
    await asyncio.wait_for(process.wait(), timeout=60)
    return b"".join(chunks)


# ---- VALID example 1 ----
import subprocess
import tempfile

def run_task(command: list[str]) -> str:
    with tempfile.TemporaryFile() as out:
        # ok: rmd207-unbounded-output-read
        subprocess.run(command, stdout=out, stderr=subprocess.STDOUT, timeout=600, check=False)
        out.seek(0)
        return out.read(4096).decode(errors="replace")


# ---- VALID example 2 ----
import asyncio

async def start_server(args):
    process = await asyncio.create_subprocess_exec(*args, stdout=asyncio.subprocess.DEVNULL)
    # ok: rmd207-unbounded-output-read
    await process.communicate()
    return process.returncode


# ---- VALID example 3 ----
import subprocess

def stream(command, sink):
    proc = subprocess.Popen(command, stdout=subprocess.PIPE)
    # ok: rmd207-unbounded-output-read
    for line in proc.stdout:
        sink.write(line)
    return proc.wait(timeout=300)


# ---- VALID example 4 ----
import subprocess

def notify(command):
    # ok: rmd207-unbounded-output-read
    return subprocess.run(command, check=True, timeout=30).returncode


# ---- VALID example 5 ----
import subprocess

def gpu_name() -> str:
    # ok: rmd207-unbounded-output-read
    return subprocess.check_output(["nvidia-smi", "--query-gpu=name", "--format=csv,noheader"], timeout=5).decode()

def gpu_count(nvidia_smi: str) -> int:
    # ok: rmd207-unbounded-output-read
    return len(subprocess.run([nvidia_smi, "-L"], capture_output=True, timeout=5).stdout.splitlines())


# ---- VALID example 6 ----
class Pipe:
    def communicate(self):
        return b""

def talk(pipe: Pipe):
    # ok: rmd207-unbounded-output-read
    return pipe.communicate()

