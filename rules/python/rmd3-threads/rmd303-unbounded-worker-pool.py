"""Semgrep test for rmd303-unbounded-worker-pool: cases drawn from RMD303's examples."""

# ---- invalid example 0
from concurrent.futures import ThreadPoolExecutor

class ParallelExecutor:
    def __init__(self, tasks, max_parallel):
        self.tasks = tasks
        self.max_parallel = max_parallel

    def execute_parallel(self):
        # ruleid: rmd303-unbounded-worker-pool
        with ThreadPoolExecutor(max_workers=self.max_parallel) as executor:
            return list(executor.map(self.run, self.tasks))


# ---- invalid example 1
import concurrent.futures as cf

def fetch_all(urls):
    # ruleid: rmd303-unbounded-worker-pool
    with cf.ThreadPoolExecutor(len(urls)) as pool:
        return list(pool.map(fetch, urls))


# ---- invalid example 2
import os
from multiprocessing import Pool

def convert(files):
    workers = int(os.environ.get("CONVERT_WORKERS", "8"))
    # ruleid: rmd303-unbounded-worker-pool
    with Pool(processes=workers) as pool:
        return pool.map(convert_one, files)


# ---- invalid example 3
from concurrent.futures import ProcessPoolExecutor

def run_batch(jobs, per_job):
    # ruleid: rmd303-unbounded-worker-pool
    executor = ProcessPoolExecutor(max_workers=len(jobs) * per_job)
    try:
        return [f.result() for f in [executor.submit(j) for j in jobs]]
    finally:
        executor.shutdown()


# ---- invalid example 4
from concurrent.futures import ThreadPoolExecutor

class Crawler:
    def __init__(self, config):
        # ruleid: rmd303-unbounded-worker-pool
        self.pool = ThreadPoolExecutor(max_workers=config["workers"])


# ---- valid example 0
import multiprocessing
from concurrent.futures import ThreadPoolExecutor

# ok: rmd303-unbounded-worker-pool
def execute_parallel(tasks, max_parallel):
    max_workers = min(max_parallel, multiprocessing.cpu_count() * 2, 32)
    with ThreadPoolExecutor(max_workers=max_workers) as executor:
        return list(executor.map(run, tasks))


# ---- valid example 1
from concurrent.futures import ThreadPoolExecutor

# ok: rmd303-unbounded-worker-pool
MAX_WORKERS = 8

def fetch_all(urls):
    with ThreadPoolExecutor(MAX_WORKERS) as pool:
        return list(pool.map(fetch, urls))

def fetch_some(urls):
    with ThreadPoolExecutor(max_workers=4) as pool:
        return list(pool.map(fetch, urls))


# ---- valid example 2
import os
from concurrent.futures import ProcessPoolExecutor

# ok: rmd303-unbounded-worker-pool
def crunch(chunks):
    with ProcessPoolExecutor(max_workers=os.cpu_count()) as pool:
        return list(pool.map(work, chunks))

def crunch_default(chunks):
    with ProcessPoolExecutor() as pool:
        return list(pool.map(work, chunks))


# ---- valid example 3
import os
from concurrent.futures import ThreadPoolExecutor

# ok: rmd303-unbounded-worker-pool
class Indexer:
    def __init__(self, workers):
        self.workers = min(workers, 16)
        self.pool = ThreadPoolExecutor(max_workers=self.workers)

    def resize(self, settings):
        return ThreadPoolExecutor(max_workers=settings.workers)


# ---- valid example 4
import multiprocessing as mp

# ok: rmd303-unbounded-worker-pool
def render(frames, jobs=None):
    size = (os.cpu_count() or 1) * 2 if jobs is None else 4
    with mp.Pool(size) as pool:
        return pool.map(draw, frames)
