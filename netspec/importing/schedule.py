"""The order a spec lists a traced model's calls in: each module's calls together.

A spec writes a module as one group, so its calls must be contiguous; a ``forward`` may
interleave them (an FPN runs ``inner_blocks[3]``, ``layer_blocks[3]``, ``inner_blocks[2]``,
...). Any order in which every call comes after what it reads computes the same tensors, so
the calls are put in such an order, module by module: the children of a module (its
submodules' calls, and its own calls in its ``forward``) are sorted topologically, in the
order they first ran, and numbered children (``inner_blocks.0``, ``.1``, ...) by number where
they are free to go in either order. Where no such order exists (a module's calls depend on
another's, both ways), the traced order stays, and the tree reports the module that runs in
two places.
"""

from __future__ import annotations

import heapq
from typing import Any

from torch import fx


def module_path(node: fx.Node) -> list[str]:
    """The modules a call runs inside, outermost first: every prefix of its innermost module
    (a ``ModuleList``, never called itself, still encloses its items), not the module the
    node calls."""
    stack = [path for path, _ in node.meta.get("nn_module_stack", {}).values()]
    if node.op == "call_module" and stack and stack[-1] == node.target:
        stack = stack[:-1]
    if not stack or not stack[-1]:
        return []
    parts = stack[-1].split(".")
    return [".".join(parts[: n + 1]) for n in range(len(parts))]


def schedule(graph: fx.Graph) -> list[fx.Node]:
    """The graph's call nodes, each module's together where the data flow allows."""
    calls = [n for n in graph.nodes if n.op not in ("placeholder", "output")]
    paths = {n: module_path(n) for n in calls}
    return _order(calls, 0, paths)


def _order(nodes: list[fx.Node], depth: int, paths: dict[fx.Node, list[str]]) -> list[fx.Node]:
    units: dict[Any, list[fx.Node]] = {}  # a child module's path, or a node of this level
    unit_of: dict[fx.Node, Any] = {}
    for node in nodes:
        path = paths[node]
        key = path[depth] if len(path) > depth else node
        units.setdefault(key, []).append(node)
        unit_of[node] = key
    keys = list(units)
    first = {key: n for n, key in enumerate(keys)}  # the order they first ran in
    waiting = {
        key: {unit_of[a] for n in units[key] for a in n.all_input_nodes if a in unit_of} - {key}
        for key in keys
    }
    users: dict[Any, list[Any]] = {key: [] for key in keys}
    for key, needs in waiting.items():
        for need in needs:
            users[need].append(key)
    numbered = all(isinstance(k, str) and k.rsplit(".", 1)[-1].isdigit() for k in keys)

    def rank(key: Any) -> tuple[int, int]:
        n = first[key]
        return (int(key.rsplit(".", 1)[-1]), n) if numbered else (n, 0)

    ready = [(rank(k), first[k], k) for k in keys if not waiting[k]]
    heapq.heapify(ready)
    done: list[Any] = []
    while ready:
        _, _, key = heapq.heappop(ready)
        done.append(key)
        for user in users[key]:
            waiting[user].discard(key)
            if not waiting[user]:
                heapq.heappush(ready, (rank(user), first[user], user))
    if len(done) < len(keys):  # a cycle between modules: as traced
        done = keys
    out: list[fx.Node] = []
    for key in done:
        if isinstance(key, str):
            out.extend(_order(units[key], depth + 1, paths))
        else:
            out.append(key)
    return out
