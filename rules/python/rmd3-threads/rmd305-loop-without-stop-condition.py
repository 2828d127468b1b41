"""Semgrep test for rmd305-loop-without-stop-condition: cases drawn from RMD305's examples."""

# ---- invalid example 0
import threading

class FaceRecognitionAgent:
    def __init__(self):
        self._stop_event = threading.Event()
        self._thread = threading.Thread(target=self._process_voice, daemon=True)

    def _process_voice(self):
        # ruleid: rmd305-loop-without-stop-condition
        while True:
            self.step()

    def stop(self):
        self._stop_event.set()


# ---- invalid example 1
import threading
import time

def export_metrics(registry):
    # ruleid: rmd305-loop-without-stop-condition
    while 1:
        registry.push()
        time.sleep(15)

threading.Thread(target=export_metrics, args=(None,), daemon=True).start()


# ---- invalid example 2
from threading import Event, Thread

class Heartbeat(Thread):
    def __init__(self):
        super().__init__(daemon=True)
        self.shutdown_event = Event()

    def run(self):
        # a `break` that only leaves an inner loop still counts as an exit for Semgrep (see RMD305's limitations)
        # todoruleid: rmd305-loop-without-stop-condition
        while True:
            for peer in self.peers:
                if peer.dead:
                    break
                peer.ping()


# ---- invalid example 3
import threading
from concurrent.futures import ThreadPoolExecutor

class Collector:
    def __init__(self):
        self._ready = threading.Event()
        self._pool = ThreadPoolExecutor(max_workers=2)

    def start(self):
        self._pool.submit(self._drain)

    def _drain(self):
        # ruleid: rmd305-loop-without-stop-condition
        while True:
            self.flush()


# ---- valid example 0
import threading

# ok: rmd305-loop-without-stop-condition
class FaceRecognitionAgent:
    def __init__(self):
        self._stop_event = threading.Event()
        self._thread = threading.Thread(target=self._process_voice, daemon=True)

    def _process_voice(self):
        while not self._stop_event.is_set():
            self.step()
            self._stop_event.wait(0.01)

    def stop(self):
        self._stop_event.set()
        self._thread.join(timeout=5)


# ---- valid example 1
import queue
import threading

# ok: rmd305-loop-without-stop-condition
def consume(jobs: queue.Queue):
    while True:
        job = jobs.get()
        if job is None:
            break
        job()

threading.Thread(target=consume, args=(queue.Queue(),)).start()


# ---- valid example 2
import asyncio

# ok: rmd305-loop-without-stop-condition
class Exporter:
    async def push_forever(self):
        while True:
            await self.push()
            await asyncio.sleep(10)

    def start(self):
        asyncio.create_task(self.push_forever())


# ---- valid example 3
import threading

# ok: rmd305-loop-without-stop-condition
class Listener(threading.Thread):
    def run(self):
        while True:
            if self.shutdown_requested:
                return
            self.poll()


# ---- valid example 4
# ok: rmd305-loop-without-stop-condition
def main_loop(server):
    while True:
        server.handle_request()
