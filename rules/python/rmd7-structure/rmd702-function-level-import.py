"""Semgrep test for rmd702-function-level-import: cases drawn from RMD702's examples."""

# ---- invalid example 0
from fastapi import APIRouter

router = APIRouter()

@router.post("/{project_id}/plan")
async def plan_project(project_id: str) -> dict:
    # ruleid: rmd702-function-level-import
    from backend.services.planner import generate_plan

    return await generate_plan(project_id)


# ---- invalid example 1
from khala.domain.memory.entities import Memory

class SurrealDBClient:
    def _to_entity(self, row: dict) -> Memory:
        # ruleid: rmd702-function-level-import
        from khala.domain.memory.entities import Memory, MemoryTier
        return Memory(tier=MemoryTier(row["tier"]), **row)


# ---- invalid example 2
import logging

def checksum(data: bytes) -> str:
    # ruleid: rmd702-function-level-import
    import hashlib
    return hashlib.sha256(data).hexdigest()


# ---- invalid example 3
def render(rows):
    # ruleid: rmd702-function-level-import
    import numpy as np
    return np.array(rows)


# ---- invalid example 4
import sys

class Exporter:
    def export(self, rows):
        if sys.platform != "win32":
            # ruleid: rmd702-function-level-import
            from csv import writer
            return writer(sys.stdout).writerows(rows)
        return None


# ---- invalid example 5
def ping():
    # ruleid: rmd702-function-level-import
    import socket


# ---- valid example 0
from backend.services.planner import generate_plan

# ok: rmd702-function-level-import
async def plan_project(project_id: str) -> dict:
    return await generate_plan(project_id)


# ---- valid example 1
from typing import TYPE_CHECKING

# ok: rmd702-function-level-import
def describe(memory):
    if TYPE_CHECKING:
        from khala.domain.memory.entities import Memory
    return str(memory)


# ---- valid example 2
# ok: rmd702-function-level-import
def load_yaml(path):
    try:
        import yaml
    except ImportError:
        return None
    with open(path) as handle:
        return yaml.safe_load(handle)


# ---- valid example 3
import sys

# ok: rmd702-function-level-import
def main(argv=None) -> int:
    import argparse

    parser = argparse.ArgumentParser()
    parser.add_argument("path")
    return 0

if __name__ == "__main__":
    sys.exit(main())


# ---- valid example 4
# ok: rmd702-function-level-import
def __getattr__(name):
    if name == "heavy":
        import importlib
        return importlib.import_module(".heavy", __name__)
    raise AttributeError(name)

# ---- valid example 5 (entry_functions = ["run"]) has no Semgrep counterpart: the twin knows the
# default entry functions only.
