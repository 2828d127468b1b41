"""Semgrep test for rmd801-loose-count-assertion: cases drawn from RMD801's examples."""

# ---- invalid example 0
from backend.tools.registry import ToolRegistry

def test_registry_loads_tools():
    registry = ToolRegistry()
    # ruleid: rmd801-loose-count-assertion
    assert len(registry.tools) >= 6


# ---- invalid example 1
import unittest

class TestPlanner(unittest.TestCase):
    def test_phases(self):
        plan = make_plan()
        # ruleid: rmd801-loose-count-assertion
        self.assertGreaterEqual(len(plan["phases"]), 3)


# ---- invalid example 2
async def test_decompose(client):
    resp = await client.post("/api/projects/p1/plans/x/approve")
    # ruleid: rmd801-loose-count-assertion
    assert 4 <= len(resp.json()["task_ids"]), resp.text


# ---- invalid example 3
def test_events(progress):

    # ruleid: rmd801-loose-count-assertion
    assert len(progress.events) >= 2  # two phases


# ---- valid example 0
# ok: rmd801-loose-count-assertion
def test_registry_has_all_tools(registry):
    assert len(registry.tools) == 6
    assert set(registry.tools) == {"search_knowledge", "lookup_type", "read_file", "write_file", "generate_image", "run_ollama"}


# ---- valid example 1
# ok: rmd801-loose-count-assertion
def test_search_returns_hits(index):
    # the index is rebuilt from live docs, so the hit count grows with them
    assert len(index.search("auth")) >= 3


# ---- valid example 2
# ok: rmd801-loose-count-assertion
def test_not_empty(results, tool):
    assert len(results) >= 1
    assert len(tool.description) >= 10
    assert len(results[0]["summary"]) >= 20


# ---- valid example 3
# ok: rmd801-loose-count-assertion
def check(registry):
    assert len(registry.tools) >= 6


# ---- valid example 4
import unittest

# ok: rmd801-loose-count-assertion
class TestBatch(unittest.TestCase):
    def test_sizes(self):
        self.assertEqual(len(make_batch(8)), 8)
        self.assertLessEqual(len(make_batch(100)), 64)
