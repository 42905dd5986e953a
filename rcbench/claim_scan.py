"""What the audits read from the claims files without importing them (``ast``; no torch, no pytest).

* :func:`claim_markers`: per test function, the ``@pytest.mark.claim("<id>", components=(...), mutants={...})``
  arguments: the claim id, the component kinds it declares and the survivors it explains (mutant name -> why the
  verdict is kept), for ``rcbench audit --mutants``.
* :func:`claims_dir`: where the claims files are (the installed ``rcbench.claims`` or a checkout's ``claims/``),
  the one lookup of ``rcbench run``, ``list``, ``report``, the audits and the harness.
* :func:`scale_grids`: the module-level ``SCALES = {claim id: [override dict, ...]}`` of every claims module, for
  ``rcbench audit --scales``.

Values must be literals, names of module-level literal constants (``_REASON = "..."``), or arithmetic on them
(``2 ** 11``; ``+`` concatenates). Anything else raises ``ValueError`` naming the file and line.
"""

from __future__ import annotations

import ast
import importlib.util
import operator
from pathlib import Path

__all__ = ["claims_dir", "claim_files", "claim_markers", "scale_grids"]


def claim_files(claims_dir: str | Path) -> list[Path]:
    return sorted(Path(claims_dir).glob("test_*.py"))


def _parse(path: Path) -> ast.Module:
    try:
        return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    except SyntaxError as exc:
        raise ValueError(f"{path.name}:{exc.lineno}: cannot parse: {exc.msg}") from None


def _targets(node: ast.AST) -> list:
    if isinstance(node, ast.Assign):
        return node.targets
    return [node.target] if isinstance(node, ast.AnnAssign) else []


def _constants(tree: ast.Module) -> dict:
    out = {}
    for node in tree.body:
        targets = _targets(node)
        value = getattr(node, "value", None)
        if len(targets) == 1 and isinstance(targets[0], ast.Name) and value is not None:
            try:
                out[targets[0].id] = _literal(value, out)
            except ValueError:
                pass
    return out


_BINOPS = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv,
           ast.FloorDiv: operator.floordiv, ast.Pow: operator.pow, ast.Mod: operator.mod}


def _literal(node: ast.AST, consts: dict):
    """``ast.literal_eval`` that also resolves names of module constants (in containers too) and arithmetic on
    numbers (``2 ** 11``, ``4 * 64``; ``+`` also concatenates strings and tuples)."""
    if isinstance(node, ast.Name):
        if node.id in consts:
            return consts[node.id]
        raise ValueError(f"name {node.id!r} is not a module-level literal")
    if isinstance(node, ast.Dict):
        return {_literal(k, consts): _literal(v, consts) for k, v in zip(node.keys, node.values)}
    if isinstance(node, (ast.List, ast.Tuple)):
        items = [_literal(e, consts) for e in node.elts]
        return items if isinstance(node, ast.List) else tuple(items)
    if isinstance(node, ast.BinOp) and type(node.op) in _BINOPS:
        left, right = _literal(node.left, consts), _literal(node.right, consts)
        if not isinstance(node.op, ast.Add) and not all(isinstance(v, (int, float)) for v in (left, right)):
            raise ValueError(f"not a literal: {ast.unparse(node)[:80]}")
        if isinstance(node.op, ast.Pow) and abs(right) > 64:
            raise ValueError(f"exponent too large: {ast.unparse(node)[:80]}")
        return _BINOPS[type(node.op)](left, right)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        value = _literal(node.operand, consts)
        if not isinstance(value, (int, float)):
            raise ValueError(f"not a literal: {ast.unparse(node)[:80]}")
        return -value if isinstance(node.op, ast.USub) else value
    try:
        return ast.literal_eval(node)
    except ValueError:
        raise ValueError(f"not a literal: {ast.unparse(node)[:80]}") from None


def _is_claim_mark(node: ast.AST) -> bool:
    return isinstance(node, ast.Attribute) and node.attr == "claim" and (
        (isinstance(node.value, ast.Attribute) and node.value.attr == "mark")
        or (isinstance(node.value, ast.Name) and node.value.id == "mark")
    )  # fmt: skip


def claim_markers(claims_dir: str | Path) -> list[dict]:
    """One dict per claim test function: ``file``, ``function``, ``line``, ``claim``, ``components`` (tuple of kinds),
    ``mutants`` (dict mutant name -> explanation)."""
    out = []
    for path in claim_files(claims_dir):
        tree = _parse(path)
        consts = _constants(tree)

        def visit(body, prefix=""):
            for node in body:
                if isinstance(node, ast.ClassDef) and node.name.startswith("Test"):
                    visit(node.body, f"{prefix}{node.name}::")
                elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name.startswith("test"):
                    for dec in node.decorator_list:
                        if isinstance(dec, ast.Call) and _is_claim_mark(dec.func) and dec.args:
                            where = f"{path.name}:{dec.lineno}"
                            try:
                                kw = {k.arg: _literal(k.value, consts) for k in dec.keywords if k.arg}
                                cid = _literal(dec.args[0], consts)
                            except ValueError as exc:
                                raise ValueError(f"{where}: claim marker: {exc}") from None
                            comps = kw.get("components", ())
                            comps = (comps,) if isinstance(comps, str) else tuple(comps or ())
                            mutants = kw.get("mutants", {}) or {}
                            if not isinstance(mutants, dict):
                                raise ValueError(f"{where}: mutants= must be a dict mutant name -> explanation")
                            out.append({"file": path.name, "function": prefix + node.name, "line": node.lineno,
                                        "claim": cid, "components": comps,
                                        "mutants": {str(k): str(v) for k, v in mutants.items()}})  # fmt: skip

        visit(tree.body)
    return out


def scale_grids(claims_dir: str | Path) -> dict[str, list[dict]]:
    """``SCALES`` of every claims module merged: claim id -> list of override dicts (dotted key -> value)."""
    out: dict[str, list[dict]] = {}
    for path in claim_files(claims_dir):
        tree = _parse(path)
        consts = _constants(tree)
        for node in tree.body:
            targets = _targets(node)
            if len(targets) == 1 and isinstance(targets[0], ast.Name) and targets[0].id == "SCALES":
                try:
                    grids = _literal(node.value, consts)
                except ValueError as exc:
                    raise ValueError(f"{path.name}:{node.lineno}: SCALES: {exc}") from None
                if not isinstance(grids, dict) or not all(isinstance(v, (list, tuple)) for v in grids.values()):
                    raise ValueError(f"{path.name}:{node.lineno}: SCALES must be a dict claim id -> list of dicts")
                for cid, configs in grids.items():
                    for cfg in configs:
                        if not isinstance(cfg, dict) or not cfg:
                            raise ValueError(f"{path.name}:{node.lineno}: SCALES[{cid!r}] entries must be non-empty "
                                             f"dicts of dotted config keys -> values, got {cfg!r}")  # fmt: skip
                    out.setdefault(str(cid), []).extend(dict(c) for c in configs)
    return out


def claims_dir() -> Path:
    """The folder of the claim tests: the installed ``rcbench.claims`` package (the repository's top-level
    ``claims/``, shipped in the wheel), else ``claims/`` next to the ``rcbench`` package of a bare checkout."""
    try:
        spec = importlib.util.find_spec("rcbench.claims")
    except (ImportError, ValueError):
        spec = None
    if spec is not None and spec.submodule_search_locations:
        for loc in spec.submodule_search_locations:
            if (Path(loc) / "conftest.py").is_file():
                return Path(loc).resolve()
    here = Path(__file__).resolve().parent.parent / "claims"
    if (here / "conftest.py").is_file():
        return here
    raise FileNotFoundError("cannot find rcbench's claims (the rcbench.claims package); reinstall rcbench")
