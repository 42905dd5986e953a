"""What a sweep computes: the experiment a ``module:function`` spec names, the command line's grid and fixed
arguments, the profile configuration of a claim, and the cells of a grid (:func:`plan`, no computation).
"""

from __future__ import annotations

import importlib
import inspect
import itertools
import json
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence

from rcbench import experiments
from rcbench.experiments import experiment_name
from rcbench.store import Cell, _canonical, cell_key, cell_seed

__all__ = ["resolve_experiment", "parse_value", "parse_grid", "parse_set", "plan"]


def resolve_experiment(spec: str) -> tuple[str, Callable]:
    """``"module:function"`` -> (canonical spec, function). ``module`` is a module of :mod:`rcbench.experiments`
    (``orthogonality:bn_chain``) or a full dotted path (``mypkg.exps:run``)."""
    if not isinstance(spec, str) or spec.count(":") != 1:
        raise ValueError(f"experiment must be 'module:function' (e.g. 'orthogonality:bn_chain'), got {spec!r}")
    module_name, func_name = (s.strip() for s in spec.split(":"))
    if not module_name or not func_name:
        raise ValueError(f"experiment must be 'module:function' (e.g. 'orthogonality:bn_chain'), got {spec!r}")
    full = module_name if "." in module_name else f"{experiments.__name__}.{module_name}"
    try:
        module = importlib.import_module(full)
    except ModuleNotFoundError as exc:
        if exc.name and full.startswith(exc.name):
            raise ValueError(f"experiment {spec!r}: no module {full!r}") from exc
        raise
    fn = getattr(module, func_name, None)
    if fn is None or not callable(fn) or func_name.startswith("_"):
        public = sorted(n for n, v in vars(module).items() if inspect.isfunction(v) and not n.startswith("_")
                        and v.__module__ == module.__name__)  # fmt: skip
        raise ValueError(f"experiment {spec!r}: module {full!r} has no public function {func_name!r}; has {public}")
    return experiment_name(module_name, func_name), fn


def parse_value(text: str):
    """A command-line value: JSON (numbers, ``true``/``false``/``null``, lists, quoted strings), Python's
    ``True``/``False``/``None``, else the string itself."""
    text = text.strip()
    try:
        return json.loads(text)
    except ValueError:
        pass
    return {"True": True, "False": False, "None": None}.get(text, text)


def _split_assignment(item: str, option: str) -> tuple[str, str]:
    name, sep, values = item.partition("=")
    name = name.strip()
    if not sep or not name.isidentifier():
        raise ValueError(f"{option} expects NAME=VALUE[,VALUE...], got {item!r}")
    return name, values


def parse_grid(items: Iterable[str]) -> dict[str, list]:
    """``["depth=10,100", "width=64"]`` -> ``{"depth": [10, 100], "width": [64]}`` (values via :func:`parse_value`)."""
    grid: dict[str, list] = {}
    for item in items:
        name, values = _split_assignment(item, "--grid")
        parsed = [parse_value(v) for v in values.split(",") if v.strip()]
        if not parsed:
            raise ValueError(f"--grid {name}: no values given ({item!r})")
        if name in grid:
            raise ValueError(f"--grid {name} given twice")
        grid[name] = parsed
    return grid


def parse_set(items: Iterable[str]) -> dict:
    """``["norm=bn", "metrics=soft_rank,isometry_gap"]`` -> fixed keyword arguments (a comma list becomes a list
    unless the value is JSON)."""
    out = {}
    for item in items:
        name, value = _split_assignment(item, "--set")
        parsed = parse_value(value)
        if isinstance(parsed, str) and "," in parsed:
            parsed = [parse_value(v) for v in parsed.split(",") if v.strip()]
        out[name] = parsed
    return out


def _profile_config(module, func_name: str, profile: str, claim: str | None) -> dict:
    """Fixed arguments from an experiment module's profiles: ``config(claim, profile)`` or
    ``PROFILES[profile][claim]`` (else ``PROFILES[profile][function name]``). ``claim`` may descend into a nested
    configuration with dots: ``A3.chain`` is ``PROFILES[profile]["A3"]["chain"]``."""
    cid, *path = claim.split(".") if claim else [None]
    profiles = getattr(module, "PROFILES", None)
    if cid is not None and callable(getattr(module, "config", None)):
        try:
            cfg = module.config(cid, profile)
        except (KeyError, ValueError) as exc:
            raise ValueError(f"--claim {claim} --profile {profile}: {exc}") from None
    else:
        if not isinstance(profiles, Mapping) or profile not in profiles:
            raise ValueError(f"--profile {profile}: module {module.__name__} has no PROFILES[{profile!r}]")
        table = profiles[profile]
        key = cid if cid is not None else func_name
        if key not in table:
            hint = "" if cid is not None else "; give --claim"
            raise ValueError(f"--profile {profile}: {module.__name__}.PROFILES[{profile!r}] has no entry {key!r} "
                             f"(has {sorted(table)}){hint}")  # fmt: skip
        cfg = table[key]
    for i, part in enumerate(path):
        if not isinstance(cfg, Mapping) or part not in cfg:
            where = ".".join([cid, *path[:i]])
            raise ValueError(f"--claim {claim}: the configuration {where} has no key {part!r}"
                             + (f" (has {sorted(cfg)})" if isinstance(cfg, Mapping) else ""))  # fmt: skip
        cfg = cfg[part]
    if not isinstance(cfg, Mapping):
        raise ValueError(f"--claim {claim}: the configuration is {type(cfg).__name__}, not keyword arguments")
    return dict(cfg)


def plan(
    experiment: str,
    grid: Mapping[str, Sequence] | None = None,
    *,
    params: Mapping | None = None,
    seeds: int | None = None,
    seed: int = 0,
    device: str = "cpu",
    profile: str | None = None,
    claim: str | None = None,
) -> tuple[str, list[Cell], dict]:
    """Validate a sweep and list its cells (no computation). Returns ``(experiment, cells, fixed_params)``.

    Fixed arguments: the profile's configuration (``PROFILES[profile][claim or function]`` or
    ``config(claim, profile)``), then ``params``, then ``seeds`` (when given), ``device`` (when the function takes
    one); the grid overrides them. Every argument must be a parameter of the function. Raises ``ValueError``
    naming the offending argument before any work.
    """
    name, fn = resolve_experiment(experiment)
    sig = inspect.signature(fn)
    accepted = {p.name for p in sig.parameters.values() if p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD)}
    var_kw = any(p.kind is p.VAR_KEYWORD for p in sig.parameters.values())
    grid = {k: list(v) for k, v in (grid or {}).items()}
    fixed: dict = {}
    if profile is not None:
        fixed.update(_profile_config(sys.modules[fn.__module__], fn.__name__, profile, claim))
    elif claim is not None:
        raise ValueError("--claim needs --profile (the claim's configuration is read from the profile)")
    fixed.update(dict(params or {}))
    if seeds is not None:
        if isinstance(seeds, bool) or not isinstance(seeds, int) or seeds < 1:
            raise ValueError(f"seeds must be a positive integer, got {seeds!r}")
        fixed["seeds"] = seeds
    if not isinstance(seed, int) or isinstance(seed, bool):
        raise ValueError(f"seed (the master seed) must be an integer, got {seed!r}")
    for where, names in (("grid", grid), ("fixed argument", fixed)):
        for k in names:
            if k in ("seed",):
                raise ValueError(f"{where} {k!r}: the cell seed is derived from the master seed (--seed), not set")
            if k not in accepted and not var_kw:
                raise ValueError(f"{where} {k!r} is not a parameter of {name} (parameters: {sorted(accepted)})")
    for k, values in grid.items():
        if not values:
            raise ValueError(f"grid {k!r} has no values")
        canon = [_canonical(v) for v in values]
        if len(set(canon)) != len(canon):
            raise ValueError(f"grid {k!r} repeats a value: {values}")
    if "device" in accepted and "device" not in fixed and "device" not in grid:
        fixed["device"] = str(device)
    _canonical(fixed)
    cells = []
    for combo in itertools.product(*grid.values()) if grid else [()]:
        gvals = dict(zip(grid, combo))
        p = {**fixed, **gvals}
        s = None
        if "seed" in accepted or var_kw:
            s = cell_seed(seed, name, p)
            p["seed"] = s
        cells.append(Cell(name, p, gvals, cell_key(name, p), s))
    return name, cells, fixed
