"""Questions about the project's module-level import graph: cycles and reachability.

Built on ``ProjectIndex.import_graph()`` (module-level imports only; ``TYPE_CHECKING`` blocks and
function-level imports are not edges). The project-wide results are computed once per index and kept
on it, so every file of a run shares them.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from remediation_lint.project import ProjectIndex

_CACHE_ATTR = "_rmd_import_cycles"


@dataclass(frozen=True)
class CycleEdge:
    """One import statement that is an edge of an import cycle."""

    lineno: int
    target: Path
    #: the cycle through this import, as dotted module names: ``a -> b -> a``
    cycle: str


def module_label(index: "ProjectIndex", path: Path) -> str:
    """``pkg.sub.mod`` for a file of the project (relative to its root, ``__init__`` dropped)."""
    root = index._root_of(path)
    try:
        rel = path.relative_to(root)
    except ValueError:
        rel = Path(path.name)
    parts = list(rel.with_suffix("").parts)
    if parts and parts[-1] == "__init__" and len(parts) > 1:
        parts.pop()
    return ".".join(parts)


def _adjacency(index: "ProjectIndex") -> dict[Path, list[Path]]:
    graph = index.import_graph()
    adj: dict[Path, list[Path]] = {}
    for src, edges in graph.items():
        seen: dict[Path, None] = {}
        for target, _ in edges:
            if target != src:
                seen[target] = None
        adj[src] = list(seen)
    return adj


def _strongly_connected(adj: dict[Path, list[Path]]) -> list[set[Path]]:
    """Tarjan's algorithm, iterative (import graphs can be deep)."""
    index_of: dict[Path, int] = {}
    low: dict[Path, int] = {}
    on_stack: set[Path] = set()
    stack: list[Path] = []
    out: list[set[Path]] = []
    counter = 0
    for start in sorted(adj):
        if start in index_of:
            continue
        work = [(start, iter(adj.get(start, ())))]
        index_of[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            advanced = False
            for child in children:
                if child not in index_of:
                    index_of[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(adj.get(child, ()))))
                    advanced = True
                    break
                if child in on_stack:
                    low[node] = min(low[node], index_of[child])
            if advanced:
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index_of[node]:
                component: set[Path] = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.add(member)
                    if member == node:
                        break
                if len(component) > 1:
                    out.append(component)
    return out


def shortest_path(adj: dict[Path, list[Path]], start: Path, goal: Path, within: set[Path] | None = None) -> list[Path] | None:
    """The shortest import chain from ``start`` to ``goal`` (both included), or None."""
    if start == goal:
        return [start]
    previous: dict[Path, Path] = {}
    queue = deque([start])
    seen = {start}
    while queue:
        node = queue.popleft()
        for child in adj.get(node, ()):
            if child in seen or (within is not None and child not in within):
                continue
            previous[child] = node
            if child == goal:
                path = [goal]
                while path[-1] != start:
                    path.append(previous[path[-1]])
                return list(reversed(path))
            seen.add(child)
            queue.append(child)
    return None


def import_cycles(index: "ProjectIndex") -> dict[Path, list[CycleEdge]]:
    """Every module-level import that is an edge of a cycle, by importing file (computed once per index)."""
    cached = getattr(index, _CACHE_ATTR, None)
    if cached is not None:
        return cached
    adj = _adjacency(index)
    graph = index.import_graph()
    result: dict[Path, list[CycleEdge]] = {}
    for component in _strongly_connected(adj):
        for src in sorted(component):
            seen_lines: set[int] = set()
            for target, edge in graph.get(src, ()):
                if target not in component or target == src or edge.lineno in seen_lines:
                    continue
                back = shortest_path(adj, target, src, component)
                if back is None:
                    continue
                seen_lines.add(edge.lineno)
                names = [module_label(index, p) for p in (src, *back)]
                result.setdefault(src, []).append(CycleEdge(edge.lineno, target, " -> ".join(names)))
    setattr(index, _CACHE_ATTR, result)
    return result


def reaches(index: "ProjectIndex", start: Path, goal: Path) -> list[Path] | None:
    """The module-level import chain by which ``start`` imports ``goal`` (directly or not), or None."""
    cache_attr = "_rmd_import_adjacency"
    adj = getattr(index, cache_attr, None)
    if adj is None:
        adj = _adjacency(index)
        setattr(index, cache_attr, adj)
    return shortest_path(adj, start, goal)
