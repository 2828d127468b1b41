"""Semgrep test for rmd401-swallowed-exception: cases drawn from RMD401's examples."""

# ---- invalid example 0
import subprocess

def detect_machine():
    try:
        return subprocess.check_output(["hostname"]).decode()
    # ruleid: rmd401-swallowed-exception
    except:
        pass


# ---- invalid example 1
import logging

log = logging.getLogger("agents")

def process(items):
    for item in items:
        try:
            item.run()
        # ruleid: rmd401-swallowed-exception
        except Exception:
            continue


# ---- invalid example 2
class Detector:
    def probe(self):
        try:
            self.scan()
        # ruleid: rmd401-swallowed-exception
        except BaseException as exc:
            ...


# ---- invalid example 3
async def poll(client):
    try:
        await client.ping()
    # ruleid: rmd401-swallowed-exception
    except:
        return False


# ---- invalid example 4
def load(path):
    try:
        return open(path).read()
    # ruleid: rmd401-swallowed-exception
    except (OSError, Exception):
        pass


# ---- valid example 0
import logging
import subprocess

# ok: rmd401-swallowed-exception
logger = logging.getLogger(__name__)

def detect_gpu() -> str | None:
    try:
        out = subprocess.check_output(["nvidia-smi", "-L"], timeout=5)
    except (subprocess.CalledProcessError, FileNotFoundError):
        logger.exception("GPU detection failed")
        return None
    return out.decode()


# ---- valid example 1
# ok: rmd401-swallowed-exception
def read(path):
    try:
        return open(path).read()
    except Exception:
        return ""


# ---- valid example 2
# ok: rmd401-swallowed-exception
def close(conn):
    try:
        conn.close()
    except:
        conn.abort()
        raise


# ---- valid example 3
import contextlib

# ok: rmd401-swallowed-exception
def cleanup(path):
    try:
        path.unlink()
    except FileNotFoundError:
        pass


# ---- valid example 4
# ok: rmd401-swallowed-exception
def parse(raw, log):
    try:
        return int(raw)
    except Exception as exc:
        log.warning("bad value %r: %s", raw, exc)
        return None


# ---- not code: a bare except inside a string
HELP = """
Do not write
# ok: rmd401-swallowed-exception
except:
    pass
"""
