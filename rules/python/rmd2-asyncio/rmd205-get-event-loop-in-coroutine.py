# ---- INVALID example 0 ----
import asyncio

async def fetch_all(urls):
    # ruleid: rmd205-get-event-loop-in-coroutine
    loop = asyncio.get_event_loop()
    return [loop.run_in_executor(None, get, u) for u in urls]


# ---- INVALID example 1 ----
from asyncio import get_event_loop

class ResourceMonitor:
    async def _check_loop(self):
        # ruleid: rmd205-get-event-loop-in-coroutine
        loop = get_event_loop()
        await loop.run_in_executor(None, self.check_all)


# ---- INVALID example 2 ----
import asyncio as aio

async def handler(request):
    # ruleid: rmd205-get-event-loop-in-coroutine
    future = aio.get_event_loop().create_future()
    return await future


# ---- INVALID example 3 ----
import asyncio

class Monitor:
    def _schedule(self):
        # the twin does not follow call sites: a sync helper that only coroutines call is the LibCST rule's
        # todoruleid: rmd205-get-event-loop-in-coroutine
        loop = asyncio.get_event_loop()
        return loop.time()

    async def run(self):
        while True:
            self._schedule()
            await asyncio.sleep(1)


# ---- VALID example 0 ----
# ok: rmd205-get-event-loop-in-coroutine
import asyncio

class ResourceMonitor:
    async def _check_loop(self):
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, self.check_all)


# ---- VALID example 1 ----
# ok: rmd205-get-event-loop-in-coroutine
import asyncio

def main():
    loop = asyncio.get_event_loop()
    loop.run_until_complete(serve())


# ---- VALID example 2 ----
# ok: rmd205-get-event-loop-in-coroutine
import asyncio

loop = asyncio.get_event_loop()


# ---- VALID example 3 ----
# ok: rmd205-get-event-loop-in-coroutine
import asyncio

async def outer():
    def callback():
        return asyncio.get_event_loop()
    return callback


# ---- VALID example 4 ----
# ok: rmd205-get-event-loop-in-coroutine
class Model:
    def get_event_loop(self):
        return None

async def run(model):
    return model.get_event_loop()

