"""Cells of a results store that may be stale: the code of their experiment changed after they were computed.

    python benchmarks/stale_cells.py STORE [--move]

A store keys a call by its arguments, not by the code: a change inside an experiment function that keeps its
arguments keeps reading the old frame (a claim then judges old numbers, or fails on a missing column). For every
cell, the source of its experiment function and of the module-level functions, classes and constants of the same
module it references (transitively) is compared between the commit that was ``HEAD`` when the cell finished and the
working tree. Cells whose closure differs are listed with their compute time; ``--move`` moves them to
``STORE/stale/`` so that ``rcbench run --results STORE --executor local`` computes them again. Changes in other
modules (networks, metrics) are not seen: this is a screen, not a proof.
"""

from __future__ import annotations

import ast
import functools
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _git(*args: str) -> str:
    return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=False).stdout


@functools.lru_cache(maxsize=None)
def _definitions(source: str) -> dict[str, tuple[str, frozenset]]:
    """top-level name -> (its source, the names it references)."""
    tree = ast.parse(source)
    out = {}
    for node in tree.body:
        names = []
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names = [node.name]
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names = [t.id for t in targets if isinstance(t, ast.Name)]
        refs = frozenset(n.id for n in ast.walk(node) if isinstance(n, ast.Name))
        for name in names:
            out[name] = (ast.get_source_segment(source, node) or "", refs)
    return out


def closure(source: str, name: str) -> dict[str, str]:
    defs = _definitions(source)
    seen, todo = {}, [name]
    while todo:
        n = todo.pop()
        if n in seen or n not in defs:
            continue
        seen[n] = defs[n][0]
        todo.extend(defs[n][1])
    return seen


@functools.lru_cache(maxsize=None)
def _source_at(commit: str, path: str) -> str:
    return _git("show", f"{commit}:{path}") if commit else (ROOT / path).read_text(encoding="utf-8")


@functools.lru_cache(maxsize=None)
def _commit_before(ts: int) -> str:
    return _git("rev-list", "-1", f"--before={ts}", "HEAD").strip()


@functools.lru_cache(maxsize=None)
def _defined_in(experiment: str) -> str | None:
    """The repository path of the file that defines the experiment function now."""
    import inspect

    from rcbench.grid import resolve_experiment

    try:
        _, fn = resolve_experiment(experiment)
        return str(Path(inspect.getsourcefile(inspect.unwrap(fn))).resolve().relative_to(ROOT))
    except (ValueError, TypeError, OSError):
        return None


def stale(store: Path) -> list[dict]:
    rows = []
    for f in sorted((store / "cells").glob("*.json")):
        rec = json.loads(f.read_text(encoding="utf-8"))
        mod, fn = rec["experiment"].split(":")
        now_path = _defined_in(rec["experiment"]) or f"rcbench/experiments/{mod}.py"
        then = _commit_before(int(rec.get("finished") or 0))
        try:
            new = closure(_source_at("", now_path), fn)
            old = {}
            # the function may have moved (a module split re-exporting it): look where it is now, then where it was
            for path in dict.fromkeys([now_path, f"rcbench/experiments/{mod}.py"]):
                old = closure(_source_at(then, path), fn) if _source_at(then, path) else {}
                if fn in old:
                    break
        except SyntaxError:
            old, new = {}, {"?": "?"}
        changed = sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k))
        if changed:
            rows.append({"key": rec["key"], "experiment": rec["experiment"], "elapsed_s": rec.get("elapsed_s"),
                         "computed_at_commit": then[:8], "changed": changed, "file": str(f)})  # fmt: skip
    return rows


def main() -> int:
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    if not args:
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        return 2
    store = Path(args[0])
    rows = stale(store)
    for r in rows:
        print(f"{r['key']}  {r['experiment']:45s} {r['elapsed_s'] or 0:8.1f} s  at {r['computed_at_commit']}: "
              f"changed {', '.join(r['changed'][:6])}")  # fmt: skip
    print(f"{len(rows)} possibly stale cells, {sum(r['elapsed_s'] or 0 for r in rows):.0f} s of compute")
    if "--move" in sys.argv:
        dest = store / "stale"
        dest.mkdir(exist_ok=True)
        for r in rows:
            Path(r["file"]).rename(dest / Path(r["file"]).name)
        print(f"moved them to {dest}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
