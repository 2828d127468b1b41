import asyncio
import asyncio as aio
import contextlib
import threading
import time
import time as t
from asyncio import sleep

_lock = threading.Lock()


class Executor:
    def __init__(self, limit):
        self._slots = asyncio.Semaphore(limit)
        self._retry_after = {}

    async def _execute_task(self, task):
        async with self._slots:
            for attempt in range(5):
                try:
                    return await self._router.complete(task)
                except TimeoutError:
                    # ruleid: rmd203-sleep-while-holding-lock
                    await asyncio.sleep(5 * 2 ** attempt)

    async def _execute_task_remediated(self, task):
        async with self._slots:
            try:
                return await self._router.complete(task)
            except TimeoutError:
                # ok: rmd203-sleep-while-holding-lock
                self._retry_after[task["id"]] = time.time() + 5
                return None


def reconnect(sock, delay):
    with _lock:
        sock.close()
        # ruleid: rmd203-sleep-while-holding-lock
        time.sleep(delay)
        sock.connect()


def reconnect_local(sock, delay):
    guard = threading.RLock()
    with guard:
        # ruleid: rmd203-sleep-while-holding-lock
        time.sleep(delay)


async def refresh(self_cache_lock, key):
    async with self_cache_lock:
        # ruleid: rmd203-sleep-while-holding-lock
        await sleep(1.5)


class Crawler:
    async def crawl(self, url):
        async with aio.BoundedSemaphore(4):
            # ruleid: rmd203-sleep-while-holding-lock
            await aio.sleep(1)
        with self._state_lock:
            # ruleid: rmd203-sleep-while-holding-lock
            t.sleep(0.2)


class Agent:
    async def backoff(self, attempt):
        async with self._locks[attempt % 4]:
            if attempt:
                # ruleid: rmd203-sleep-while-holding-lock
                await asyncio.sleep(attempt)


class Pool:
    def __init__(self):
        self._mutex = threading.Lock()
        self.session = make_session()

    def drain(self):
        with self._mutex as held:
            # ruleid: rmd203-sleep-while-holding-lock
            time.sleep(0.5)
        return held

    async def ping(self):
        async with self.session:
            # ok: rmd203-sleep-while-holding-lock
            await asyncio.sleep(1)


async def fetch_with_retry(sem: asyncio.Semaphore, op):
    for attempt in range(3):
        async with sem:
            ok = await op()
        if ok:
            return ok
        # ok: rmd203-sleep-while-holding-lock
        await asyncio.sleep(2 ** attempt)


async def poll(path):
    with open(path) as fh:
        # ok: rmd203-sleep-while-holding-lock
        await asyncio.sleep(1)
    with contextlib.suppress(OSError):
        # ok: rmd203-sleep-while-holding-lock
        time.sleep(0.1)
    return fh


class Worker:
    def __init__(self):
        self._lock = asyncio.Lock()

    async def step(self):
        async with self._lock:
            # ok: rmd203-sleep-while-holding-lock
            await asyncio.sleep(0)

            def later():
                # ok: rmd203-sleep-while-holding-lock
                return time.sleep(1)
            # ok: rmd203-sleep-while-holding-lock
            cb = lambda: time.sleep(1)
        return later, cb

    async def not_awaited(self):
        async with self._lock:
            # ok: rmd203-sleep-while-holding-lock
            task = asyncio.ensure_future(asyncio.sleep(1))
        return task

    async def wrapped(self):
        async with self._lock:
            # ok: rmd203-sleep-while-holding-lock
            await asyncio.wait_for(asyncio.sleep(1), 2)
