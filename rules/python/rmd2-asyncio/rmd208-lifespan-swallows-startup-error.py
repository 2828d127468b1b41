# ---- INVALID example 0 ----
from contextlib import asynccontextmanager

from fastapi import FastAPI

@asynccontextmanager
async def lifespan(app: FastAPI):
    try:
        await app.state.memory.connect()
        yield
    except Exception as exc:
        logger.error("startup failed: %s", exc)
        # ruleid: rmd208-lifespan-swallows-startup-error
        yield
    finally:
        await app.state.memory.close()


# ---- INVALID example 1 ----
import contextlib as cl

class Service:
    @cl.asynccontextmanager
    async def session(self):
        try:
            conn = await self.pool.acquire()
        except ConnectionError:
            # ruleid: rmd208-lifespan-swallows-startup-error
            yield None
            return
        try:
            yield conn
        finally:
            await self.pool.release(conn)


# ---- INVALID example 2 ----
from contextlib import contextmanager

@contextmanager
def workspace(path):
    try:
        prepare(path)
    except (OSError, RuntimeError):
        # ruleid: rmd208-lifespan-swallows-startup-error
        yield path
    else:
        yield path
        cleanup(path)


# ---- INVALID example 3 ----
async def lifespan(app):
    try:
        await app.state.db.connect()
    except Exception:
        app.state.degraded = True
        # ruleid: rmd208-lifespan-swallows-startup-error
        yield
        return
    yield
    await app.state.db.disconnect()


# ---- INVALID example 4 ----
from contextlib import asynccontextmanager

@asynccontextmanager
async def lifespan(app):
    try:
        await app.state.db.connect()
    except:
        # ruleid: rmd208-lifespan-swallows-startup-error
        state = yield


# ---- VALID example 0 ----
# ok: rmd208-lifespan-swallows-startup-error
from contextlib import asynccontextmanager

from fastapi import FastAPI

@asynccontextmanager
async def lifespan(app: FastAPI):
    try:
        await app.state.memory.connect()
    except Exception:
        logger.exception("startup failed")
        raise
    try:
        yield
    finally:
        await app.state.memory.close()


# ---- VALID example 1 ----
# ok: rmd208-lifespan-swallows-startup-error
import contextlib

@contextlib.contextmanager
def transaction(conn):
    try:
        yield conn
    except Exception:
        conn.rollback()
        raise
    else:
        conn.commit()


# ---- VALID example 2 ----
# ok: rmd208-lifespan-swallows-startup-error
def read_lines(paths):
    for path in paths:
        try:
            handle = open(path)
        except OSError:
            yield ""
            continue
        with handle:
            yield from handle


# ---- VALID example 3 ----
# ok: rmd208-lifespan-swallows-startup-error
from contextlib import asynccontextmanager

@asynccontextmanager
async def lifespan(app):
    await app.state.db.init()
    yield
    await app.state.db.close()


# ---- VALID example 4 ----
# ok: rmd208-lifespan-swallows-startup-error
from contextlib import contextmanager

@contextmanager
def suppress_errors(log):
    try:
        yield
    except ValueError as exc:
        log.warning("ignored: %s", exc)

