# ---- INVALID example 0 ----
import subprocess

def apply_patch(repo: str, patch_path: str) -> None:
    # ruleid: rmd211-subprocess-without-timeout
    subprocess.run(["git", "apply", "--index", patch_path], cwd=repo, check=True)


# ---- INVALID example 1 ----
from subprocess import PIPE, Popen

class Worker:
    def run_checks(self, commands):
        for command in commands:
            proc = Popen(command, shell=True, stdout=PIPE)
            # ruleid: rmd211-subprocess-without-timeout
            proc.communicate()
            if proc.returncode:
                return False
        return True


# ---- INVALID example 2 ----
import asyncio

async def run_check(command: str) -> int:
    proc = await asyncio.create_subprocess_shell(command)
    # ruleid: rmd211-subprocess-without-timeout
    return await proc.wait()


# ---- INVALID example 3 ----
import subprocess as sp

def status(repo):
    # ruleid: rmd211-subprocess-without-timeout
    return sp.check_output(["git", "status", "--porcelain"], cwd=repo)

def fetch(repo):
    # ruleid: rmd211-subprocess-without-timeout
    return sp.check_call(["git", "fetch"], cwd=repo)


# ---- INVALID example 4 ----
import subprocess

class Harness:
    def start(self, argv):
        self._proc = subprocess.Popen(argv)

    def join(self):
        # ruleid: rmd211-subprocess-without-timeout
        return self._proc.wait()


# ---- more cases ----
import asyncio
import subprocess
from subprocess import Popen, check_output


class Applier:
    def apply(self, patch_path, repo):
        # ruleid: rmd211-subprocess-without-timeout
        status = subprocess.call(f"git apply --whitespace=fix {patch_path}", shell=True, cwd=repo)
        return status


def revision(repo):
    # ruleid: rmd211-subprocess-without-timeout
    return check_output(["git", "rev-parse", "HEAD"], cwd=repo).decode()


def run_hook(hook, repo):
    with Popen(hook, shell=True, cwd=repo) as proc:
        # ruleid: rmd211-subprocess-without-timeout
        out, err = proc.communicate(b"yes\n")
    return out


def run_hook_bounded(hook, repo):
    proc = Popen(hook, shell=True, cwd=repo)
    try:
        # ok: rmd211-subprocess-without-timeout
        return proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        # ok: rmd211-subprocess-without-timeout
        proc.wait()
        raise


class Checker:
    async def start(self, command):
        self._proc = await asyncio.create_subprocess_shell(command, stdout=asyncio.subprocess.PIPE)

    async def result(self):
        # ruleid: rmd211-subprocess-without-timeout
        out, _ = await self._proc.communicate()
        return out


async def bounded(command):
    proc = await asyncio.create_subprocess_exec(*command)
    # ok: rmd211-subprocess-without-timeout
    done, _ = await asyncio.wait([asyncio.ensure_future(proc.wait())], timeout=5)
    return done


def gpu_name():
    # ok: rmd211-subprocess-without-timeout
    return subprocess.check_output(
        ["nvidia-smi", "--query-gpu=name", str(0)], timeout=5
    ).decode()


def checkout(repo, ref):
    # ruleid: rmd211-subprocess-without-timeout
    subprocess.run(["git", "-C", str(repo), "checkout", str(ref)], check=True)


# ---- VALID example 0 ----
import subprocess

CHECK_TIMEOUT = 600

def run_check(command: list[str], cwd: str) -> subprocess.CompletedProcess:
    # ok: rmd211-subprocess-without-timeout
    return subprocess.run(command, cwd=cwd, capture_output=True, timeout=CHECK_TIMEOUT, check=False)


# ---- VALID example 1 ----
import asyncio

async def apply_patch(repo: str, patch: str, timeout: float) -> int:
    proc = await asyncio.create_subprocess_exec("git", "-C", repo, "apply", patch)
    try:
        # ok: rmd211-subprocess-without-timeout
        return await asyncio.wait_for(proc.wait(), timeout)
    except asyncio.TimeoutError:
        proc.kill()
        # ok: rmd211-subprocess-without-timeout
        await proc.wait()
        raise


# ---- VALID example 2 ----
import asyncio

async def run(cmd):
    proc = await asyncio.create_subprocess_shell(cmd)
    async with asyncio.timeout(30):
        # ok: rmd211-subprocess-without-timeout
        await proc.communicate()
    return proc.returncode


# ---- VALID example 3 ----
import subprocess

def stop(proc_args):
    proc = subprocess.Popen(proc_args)
    try:
        # ok: rmd211-subprocess-without-timeout
        proc.communicate(None, 10)
    finally:
        # ok: rmd211-subprocess-without-timeout
        proc.wait(5)


# ---- VALID example 4 ----
import subprocess

def run(cmd, **kwargs):
    # ok: rmd211-subprocess-without-timeout
    return subprocess.run(cmd, **kwargs)

class Job:
    def wait(self):
        return None

def finish(job: Job):
    # ok: rmd211-subprocess-without-timeout
    job.wait()

