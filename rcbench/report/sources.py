"""What the claims files declare, read with :mod:`ast` (no import, no torch, milliseconds).

For every test function in ``claims/test_*.py``: its claim id and the components it is parametric in (from
``@pytest.mark.claim("A3", components=("norm",))``), its ``xfail`` reason and its docstring (where the tolerance is
derived). ``rcbench list`` shows the components; ``rcbench run`` stores the docstrings next to the results
(``claims_doc.json``) so that ``rcbench report`` can show the derivations of the run it renders.
"""

from __future__ import annotations

import ast
from pathlib import Path

__all__ = ["scan_claims", "components_by_claim", "docs_by_nodeid"]


def _is_mark(node: ast.AST, name: str) -> bool:
    """``pytest.mark.<name>`` or ``mark.<name>``."""
    return isinstance(node, ast.Attribute) and node.attr == name and (
        (isinstance(node.value, ast.Attribute) and node.value.attr == "mark") or
        (isinstance(node.value, ast.Name) and node.value.id == "mark")
    )  # fmt: skip


def _literal(node: ast.AST, consts: dict):
    if isinstance(node, ast.Name) and node.id in consts:
        return consts[node.id]
    try:
        return ast.literal_eval(node)
    except (ValueError, SyntaxError, TypeError):
        return None


def _module_constants(tree: ast.Module) -> dict:
    consts = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            value = _literal(node.value, consts)
            if value is not None:
                consts[node.targets[0].id] = value
    return consts


def _component_defaults(func: ast.AST, consts: dict, helpers: dict | None = None) -> dict:
    """``components.norm("bn")`` calls in a test body (or in a module-level helper it calls, one level deep) ->
    ``{"norm": ["bn"]}`` (the paper's default components)."""
    out: dict[str, list] = {}
    nodes = list(ast.walk(func))
    for node in list(nodes):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and helpers and node.func.id in helpers:
            nodes += list(ast.walk(helpers[node.func.id]))
    for node in nodes:
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                and node.func.attr in ("norm", "init", "activation") and isinstance(node.func.value, ast.Name)
                and node.func.value.id == "components" and node.args):  # fmt: skip
            arg = node.args[0]
            value = "none" if isinstance(arg, ast.Constant) and arg.value is None else _literal(arg, consts)
            value = value if isinstance(value, (str, int, float)) or value is None else repr(value)
            if value not in out.setdefault(node.func.attr, []):
                out[node.func.attr].append(value if value is not None else "?")
    return out


def scan_file(path: Path) -> list[dict]:
    tree = ast.parse(Path(path).read_text(encoding="utf-8"), filename=str(path))
    consts = _module_constants(tree)
    helpers = {n.name: n for n in tree.body if isinstance(n, ast.FunctionDef) and not n.name.startswith("test")}
    out = []

    def visit(body, prefix: str):
        for node in body:
            if isinstance(node, ast.ClassDef) and node.name.startswith("Test"):
                visit(node.body, f"{prefix}{node.name}::")
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name.startswith("test"):
                entry = {"function": prefix + node.name, "claim": None, "components": [], "xfail": None,
                         "doc": ast.get_docstring(node) or "", "line": node.lineno,
                         "defaults": _component_defaults(node, consts, helpers)}  # fmt: skip
                for dec in node.decorator_list:
                    call = dec if isinstance(dec, ast.Call) else None
                    target = call.func if call else dec
                    if _is_mark(target, "claim") and call is not None:
                        if call.args:
                            entry["claim"] = _literal(call.args[0], consts)
                        for kw in call.keywords:
                            if kw.arg == "components":
                                comps = _literal(kw.value, consts)
                                if isinstance(comps, str):
                                    comps = (comps,)
                                entry["components"] = list(comps or ())
                    elif _is_mark(target, "xfail"):
                        reason = ""
                        if call is not None:
                            for kw in call.keywords:
                                if kw.arg == "reason":
                                    reason = _literal(kw.value, consts) or "(computed reason)"
                        entry["xfail"] = reason or "xfail"
                out.append(entry)

    visit(tree.body, "")
    return out


def scan_claims(claims_dir: str | Path) -> list[dict]:
    """Every test in ``claims_dir/test_*.py``: ``{file, function, nodeid_prefix, claim, components, xfail, doc}``.

    A file that does not parse (a helper mid-edit) is reported with ``error`` instead of stopping the scan."""
    claims_dir = Path(claims_dir)
    rows = []
    for path in sorted(claims_dir.glob("test_*.py")):
        try:
            entries = scan_file(path)
        except SyntaxError as exc:
            rows.append({"file": path.name, "function": None, "claim": None, "components": [], "xfail": None,
                         "doc": "", "error": f"{path.name}: {exc}"})  # fmt: skip
            continue
        for e in entries:
            e["file"] = path.name
            e["nodeid_prefix"] = f"{claims_dir.name}/{path.name}::{e['function']}"
            rows.append(e)
    return rows


def components_by_claim(claims_dir: str | Path) -> dict[str, list[str]]:
    """claim id -> sorted union of the component kinds its tests declare (claims without tests are absent)."""
    out: dict[str, set] = {}
    for e in scan_claims(claims_dir):
        if e.get("claim"):
            out.setdefault(e["claim"], set()).update(e["components"])
    return {k: sorted(v) for k, v in out.items()}


def docs_by_nodeid(claims_dir: str | Path) -> dict[str, dict]:
    """``claims/<file>::<function>`` -> ``{claim, doc, xfail, components, defaults}`` (parametrisation suffixes
    dropped; ``defaults``: the paper's components the test builds, e.g. ``{"norm": ["bn"]}``)."""
    return {
        e["nodeid_prefix"]: {k: e[k] for k in ("claim", "doc", "xfail", "components", "defaults")}
        for e in scan_claims(claims_dir)
        if e.get("function")
    }


def doc_for(nodeid: str, docs: dict) -> dict | None:
    """The entry of ``docs`` for a pytest nodeid (``...::test_x[param]`` matches ``...::test_x``)."""
    base = nodeid.split("[", 1)[0]
    if base in docs:
        return docs[base]
    for key, value in docs.items():  # run from another rootdir: match on file::function
        if base.endswith(key.split("/", 1)[-1]):
            return value
    return None
