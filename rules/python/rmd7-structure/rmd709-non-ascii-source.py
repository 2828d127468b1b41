"""Semgrep test for rmd709-non-ascii-source: cases drawn from RMD709's examples."""

# ---- invalid example 0
def route(success: bool) -> str:
    # ruleid: rmd709-non-ascii-source
    # success → next task, failure → on_failure
    return "next" if success else "on_failure"


# ---- invalid example 1
class ParallelExecutor:
    def run(self, tasks):
        results = {}  # Ergebnisse pro Task sammeln
        for task in tasks:
            # ruleid: rmd709-non-ascii-source
            results[task] = task()  # “result” ≥ 0 … hopefully
        return results


# ---- invalid example 2
# ruleid: rmd709-non-ascii-source
# Führt alle Tasks nacheinander aus
def run_all(tasks):
    return [t() for t in tasks]


# ---- invalid example 3
def retry(count: int) -> None:
    # ruleid: rmd709-non-ascii-source
    """Retry the task — at most `count` times."""
    for _ in range(count):
        pass


# ---- invalid example 4
# ruleid: rmd709-non-ascii-source
def größe(items):
    return len(items)


# ---- valid example 0
# ok: rmd709-non-ascii-source
def next_task(task_id: int) -> int:
    # success -> next task, failure -> on_failure task
    return task_id + 1


# ---- valid example 1
# ok: rmd709-non-ascii-source
GREETING = "Grüß Gott, {name}!"

def greet(name: str) -> str:
    return GREETING.format(name=name)


# ---- valid example 2
# ok: rmd709-non-ascii-source
def label(progress: float) -> str:
    return f"{progress:.0%} … done"


# ---- valid example 3
# ok: rmd709-non-ascii-source
ARROW = "\u2192"

def describe(a, b):
    """Render an edge as 'a -> b'."""
    return f"{a} {ARROW} {b}"

# ---- invalid example 5 (check_strings = true: user-facing strings) has no Semgrep counterpart.
