"""No import circles in the package: the graph of ``rcbench`` modules, read with ``ast`` (no import), has no cycle,
neither through module-level imports nor through imports inside functions (a function-level import that closes a
loop is a circle deferred, not removed). ``from rcbench.x import name`` counts as importing ``rcbench.x`` (or
``rcbench.x.name`` when that is a module); a package's implicit ``__init__`` is not an edge."""

from __future__ import annotations

import ast
from pathlib import Path

import rcbench

ROOT = Path(rcbench.__file__).parent


def _modules() -> dict[str, Path]:
    mods = {}
    for f in ROOT.rglob("*.py"):
        parts = list(f.relative_to(ROOT.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        mods[".".join(parts)] = f
    return mods


def import_graph() -> dict[str, dict[str, str]]:
    """module -> {imported rcbench module: "module" or "function"} (module-level wins when both)."""
    mods = _modules()

    def ours(name: str) -> str | None:
        while name:
            if name in mods:
                return name
            name = name.rpartition(".")[0]
        return None

    graph: dict[str, dict[str, str]] = {m: {} for m in mods}
    for mod, path in mods.items():
        package = mod.split(".") if path.name == "__init__.py" else mod.split(".")[:-1]

        def visit(node, level):
            for child in ast.iter_child_nodes(node):
                lv = "function" if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)) else level
                if isinstance(child, ast.If) and getattr(child.test, "id", None) == "TYPE_CHECKING":
                    continue
                targets = []
                if isinstance(child, ast.Import):
                    targets = [ours(a.name) for a in child.names]
                elif isinstance(child, ast.ImportFrom):
                    base = ".".join(package[: len(package) - child.level + 1] + [child.module or ""]) if child.level \
                        else child.module or ""
                    targets = [ours(f"{base.rstrip('.')}.{a.name}") or ours(base.rstrip(".")) for a in child.names]
                for t in targets:
                    if t and t != mod and graph[mod].get(t) != "module":
                        graph[mod][t] = lv
                visit(child, lv)

        visit(ast.parse(path.read_text(encoding="utf-8")), "module")
    return graph


def cycles(graph: dict[str, dict[str, str]], levels: set[str]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan) over the edges of ``levels``."""
    edges = {m: [t for t, lv in out.items() if lv in levels] for m, out in graph.items()}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def strong(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in edges[v]:
            if w not in index:
                strong(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                found.append(sorted(comp))

    for v in edges:
        if v not in index:
            strong(v)
    return found


def test_the_graph_sees_imports_at_both_levels():
    graph = import_graph()
    assert graph["rcbench.audit"]["rcbench.audit_runner"] == "module"
    assert graph["rcbench.audit"]["rcbench.audit_mutants"] == "function"  # rcbench audit --mutants dispatches
    assert "rcbench.audit" not in graph["rcbench.audit_mutants"] and "rcbench.audit" not in graph["rcbench.audit_scales"]
    loop = {"a": {"b": "module"}, "b": {"c": "function"}, "c": {"a": "module"}, "d": {"a": "module"}}
    assert cycles(loop, {"module"}) == [] and cycles(loop, {"module", "function"}) == [["a", "b", "c"]]


def test_no_import_circles():
    graph = import_graph()
    assert cycles(graph, {"module"}) == [], "module-level import circles"
    assert cycles(graph, {"module", "function"}) == [], "import circles through function-level imports"
