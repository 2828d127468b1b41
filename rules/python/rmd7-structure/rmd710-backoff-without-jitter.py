"""Semgrep test for rmd710-backoff-without-jitter: cases drawn from RMD710's examples."""

# ---- invalid example 0
import time

def run_with_retries(apply, attempts=3):
    for attempt in range(attempts):
        if apply():
            return True
        # ruleid: rmd710-backoff-without-jitter
        time.sleep(2 ** attempt)
    return False


# ---- invalid example 1
import asyncio

class Client:
    async def request(self, send, base=0.5):
        for n in range(5):
            try:
                return await send()
            except TimeoutError:
                # ruleid: rmd710-backoff-without-jitter
                await asyncio.sleep(base * 2 ** n)


# ---- invalid example 2
from time import sleep

def reconnect(connect, retries=4):
    for retry in range(retries):
        delay = min(60, 1 << retry)
        if connect():
            return
        # ruleid: rmd710-backoff-without-jitter
        sleep(delay)


# ---- invalid example 3
import time as t

def wait_for_lease(queue, item, attempts):
    while not queue.lease(item):
        attempts += 1
        # ruleid: rmd710-backoff-without-jitter
        t.sleep(0.1 + 2 ** attempts)


# ---- valid example 0
import random
import time

# ok: rmd710-backoff-without-jitter
def apply_with_retries(apply, retries=5, base=0.5):
    for attempt in range(retries):
        if apply():
            return True
        time.sleep(base * 2 ** attempt * random.uniform(0.5, 1.5))
    return False


# ---- valid example 1
import time

# ok: rmd710-backoff-without-jitter
POLL_INTERVAL = 2.0

def poll(queue):
    while not queue.ready():
        time.sleep(POLL_INTERVAL)


# ---- valid example 2
import asyncio
import random

# ok: rmd710-backoff-without-jitter
async def call_with_backoff(fn, attempts=4):
    for attempt in range(attempts):
        try:
            return await fn()
        except ConnectionError:
            delay = min(30, 2 ** attempt)
            delay += random.random()
            await asyncio.sleep(delay)


# ---- valid example 3
import time

# ok: rmd710-backoff-without-jitter
def backoff_with_full_jitter(attempt, rng):
    time.sleep(rng.uniform(0, 2 ** attempt))


# ---- valid example 4
# ok: rmd710-backoff-without-jitter
def area(side):
    return side ** 2

def wait(clock, n):
    clock.sleep(2 ** n)
