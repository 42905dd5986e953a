"""Cached, resumable sweeps of an experiment over a grid, on local worker processes or a dask.distributed cluster.

``rcbench sweep orthogonality:bn_chain --grid depth=10,100 --grid n=4,8 --seeds 20`` evaluates the
experiment function ``bn_chain`` of :mod:`rcbench.experiments.orthogonality` on every cell of the grid (the
Cartesian product of the ``--grid`` values, on top of fixed keyword arguments from ``--profile``/``--claim`` and
``--set``) and concatenates the cells' tidy frames, with the grid values as columns, into one table.

The results store (``--results-dir``, default ``results/sweeps/<module>-<function>``)::

    cells/<key>.json    one file per finished cell: its configuration, seed, environment and frame (CSV text)
    failed/<key>.json   one file per cell that failed (error message, attempts); removed once the cell succeeds
    table.csv           the combined table (grid order), rewritten at the end of every sweep
    sweep.json          the sweep's manifest: experiment, grid, fixed arguments, cell keys, what failed

* **Keys.** A cell's key is a SHA-256 of its full configuration (experiment, every keyword argument including the
  cell seed and the device) and the library version (:data:`rcbench.__version__`): a rerun finds finished cells by
  key and computes only the missing ones; changing anything, or upgrading rcbench, computes afresh.
* **Atomicity.** A cell file is written with :func:`rcbench.results.write_atomic` by the sweep's process after the
  worker returned the frame, so a sweep killed at any point leaves only complete cells; rerunning it computes the
  rest, with no lost and no duplicated rows. Files are JSON and CSV, never pickle.
* **Seeds.** A cell's ``seed`` argument is derived from the master seed (``--seed``) and the cell's configuration
  (without the device) by a hash (:func:`cell_seed`): deterministic, different for every cell, and the same on
  every executor, so local and dask sweeps give identical tables. Each cell runs with ``--threads`` torch threads
  (default 1) wherever it runs, so CPU results are bit-identical across executors.
* **Failures.** An exception inside the experiment fails the cell at once (it is deterministic; the message is kept
  in ``failed/``). A worker process that dies mid-cell is retried (``--retries``, default 2): when several cells
  were running in the pool that broke, each is rerun alone first so that only the cell that kills its worker is
  charged. On dask the scheduler reschedules a cell whose worker died up to its ``allowed-failures`` setting and
  then reports ``KilledWorker``; the cell is reported failed. A failed cell is never silently missing: it is
  listed in the manifest, the progress bar and the summary, and the command exits with status 1.
* **Executors.** ``--workers N`` local processes (``concurrent.futures.ProcessPoolExecutor``, spawn context;
  ``--workers 0`` runs the cells in the calling process) or ``--executor dask://HOST:PORT`` (an existing
  ``dask.distributed`` scheduler: a cluster you run, or dask-jobqueue on SLURM; optional extra
  ``pip install 'rcbench[distributed]'``). Workers must have rcbench installed; they return the frame to the
  sweep's process, which alone writes the store (no shared file system needed).
"""

from __future__ import annotations

import argparse
import hashlib
import importlib
import inspect
import io
import itertools
import json
import logging
import math
import multiprocessing
import numbers
import os
import platform
import sys
import time
import traceback
import uuid
from collections import Counter, deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from rcbench import __version__, experiments
from rcbench.experiments import experiment_name
from rcbench.results import jsonable, write_frame, write_json

__all__ = [
    "Cell",
    "SweepResult",
    "sweep",
    "plan",
    "resolve_experiment",
    "parse_value",
    "parse_grid",
    "cell_key",
    "cell_seed",
    "load_sweep",
    "lookup",
    "evaluate",
    "MissingCells",
    "StoreSource",
    "StoredCellFailed",
    "compute_requests",
    "read_requests",
    "encode_params",
    "decode_params",
    "request_key",
    "register",
    "main",
    "CELLS_DIR",
    "FAILED_DIR",
    "TABLE_FILE",
    "MANIFEST_FILE",
    "REQUESTS_FILE",
]

CELLS_DIR = "cells"
FAILED_DIR = "failed"
TABLE_FILE = "table.csv"
MANIFEST_FILE = "sweep.json"
#: the calls a claims run asked of a store and did not find (written by the claims harness in its --results-dir)
REQUESTS_FILE = "requests.json"
log = logging.getLogger("rcbench.sweep")
#: arguments that never enter a cell's seed (they choose where, not what, to compute)
_NOT_SEEDED = ("seed", "device")


# ---------------------------------------------------------------------------------------------------------------
# configuration
# ---------------------------------------------------------------------------------------------------------------
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


def _canonical(obj) -> str:
    try:
        return json.dumps(jsonable(obj), sort_keys=True, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"sweep configuration must be JSON data (numbers, strings, bools, None, lists): {exc}") \
            from None


def cell_seed(master_seed: int, experiment: str, params: Mapping) -> int:
    """The ``seed`` of a cell: a hash of the master seed, the experiment and the cell's arguments other than
    ``seed`` and ``device`` (so the same cell gets the same seed on every device and executor), in ``[0, 2^31)``."""
    payload = {"master_seed": int(master_seed), "experiment": experiment,
               "params": {k: v for k, v in params.items() if k not in _NOT_SEEDED}}  # fmt: skip
    return int.from_bytes(hashlib.sha256(_canonical(payload).encode()).digest()[:4], "big") & 0x7FFFFFFF


def cell_key(experiment: str, params: Mapping, version: str = __version__) -> str:
    """Content key of a cell: SHA-256 (first 24 hex digits) of the experiment, all its arguments and the version."""
    payload = {"experiment": experiment, "params": dict(params), "rcbench": version}
    return hashlib.sha256(_canonical(payload).encode()).hexdigest()[:24]


@dataclass(frozen=True)
class Cell:
    """One point of the grid: the keyword arguments ``params`` the experiment is called with (the derived ``seed``
    and the ``device`` included), the grid values ``grid`` that label its rows, its ``key`` and ``seed``."""

    experiment: str
    params: dict
    grid: dict
    key: str
    seed: int | None

    def task(self, threads: int = 1) -> dict:
        return {"experiment": self.experiment, "params": self.params, "threads": int(threads), "key": self.key}


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


# ---------------------------------------------------------------------------------------------------------------
# the worker side
# ---------------------------------------------------------------------------------------------------------------
def _compute(task: dict) -> dict:
    """Run one cell (in a worker process, a dask worker, or in-process) and return its frame as CSV text, or the
    error. Exceptions of the experiment are returned, not raised: they are deterministic and fail the cell."""
    import torch

    from rcbench.experiments.common import reading_from

    start = time.perf_counter()
    threads = torch.get_num_threads()
    info = {"key": task["key"], "host": platform.node(), "pid": os.getpid()}
    try:
        torch.set_num_threads(max(1, int(task.get("threads", 1))))
        _, fn = resolve_experiment(task["experiment"])
        with reading_from(None):  # a cell computes; it never consults a results store (even in-process)
            frame = fn(**task["params"])
        if not isinstance(frame, pd.DataFrame):
            raise TypeError(f"{task['experiment']} returned {type(frame).__name__}, not a pandas DataFrame")
        if frame.empty:
            raise ValueError(f"{task['experiment']} returned an empty DataFrame")
        return {**info, "ok": True, "csv": frame.to_csv(index=False), "elapsed_s": time.perf_counter() - start}
    except Exception as exc:  # noqa: BLE001 - reported as the cell's failure
        return {**info, "ok": False, "error": f"{type(exc).__name__}: {exc}", "traceback": traceback.format_exc(),
                "elapsed_s": time.perf_counter() - start}  # fmt: skip
    finally:
        torch.set_num_threads(threads)


# ---------------------------------------------------------------------------------------------------------------
# executors: run cells, call on_done(cell, outcome) for each (outcome["ok"] False for failures)
# ---------------------------------------------------------------------------------------------------------------
def _run_inprocess(cells: list[Cell], on_done, threads: int, max_retries: int) -> None:
    for cell in cells:
        on_done(cell, _compute(cell.task(threads)))


def _died(cell: Cell, attempts: int, detail: str) -> dict:
    return {"key": cell.key, "ok": False, "attempts": attempts,
            "error": f"WorkerDied: the worker process died while computing this cell ({detail}), "
                     f"{attempts} time(s)"}  # fmt: skip


def _run_local(cells: list[Cell], on_done, threads: int, max_retries: int, workers: int) -> None:
    """Local worker processes (spawn context; idle workers are started on demand). A pool broken by a dying worker
    is replaced; the cells that were running in it are then rerun one at a time before the rest of the queue, so
    that a crash is charged to the cell that caused it (up to ``max_retries`` retries, then the cell is reported
    failed)."""
    ctx = multiprocessing.get_context("spawn")
    queue, suspects = deque(cells), deque()
    crashes: Counter = Counter()
    pool: ProcessPoolExecutor | None = None
    try:
        while queue or suspects:
            if pool is None:
                log.info("starting a pool of up to %d worker process(es)", workers)
                pool = ProcessPoolExecutor(max_workers=workers, mp_context=ctx)
            inflight: dict = {}
            broken: list[Cell] = []
            while (queue or suspects or inflight) and not broken:
                if suspects:  # a suspect runs alone
                    if not inflight:
                        cell = suspects.popleft()
                        inflight[pool.submit(_compute, cell.task(threads))] = cell
                else:
                    while queue and len(inflight) < workers:
                        cell = queue.popleft()
                        inflight[pool.submit(_compute, cell.task(threads))] = cell
                done, _ = wait(inflight, return_when=FIRST_COMPLETED)
                for fut in done:
                    cell = inflight.pop(fut)
                    try:
                        outcome = fut.result()
                    except BrokenProcessPool:
                        broken.append(cell)
                        continue
                    on_done(cell, outcome)
            if broken:
                broken.extend(inflight.values())  # the other futures of a broken pool fail as well
                log.warning("a worker process died; cells running then: %s", [c.grid for c in broken])
                pool.shutdown(wait=False, cancel_futures=True)
                pool = None
                if len(broken) == 1:  # it ran alone: charge it
                    cell = broken[0]
                    crashes[cell.key] += 1
                    if crashes[cell.key] > max_retries:
                        on_done(cell, _died(cell, crashes[cell.key], f"local worker exited; {max_retries} retries"))
                    else:
                        suspects.append(cell)
                else:  # several were running: nobody is charged yet, each reruns alone
                    suspects.extend(broken)
    finally:
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)


def _dask_client(executor):
    try:
        from distributed import Client
    except ImportError as exc:  # pragma: no cover - dask is an optional extra
        raise ImportError(
            f"--executor {executor}: dask.distributed is not installed; install the optional extra with "
            "pip install 'rcbench[distributed]'"
        ) from exc
    if isinstance(executor, str):
        address = executor[len("dask://") :] if executor.startswith("dask://") else executor
        if "://" not in address:
            address = f"tcp://{address}"
        return Client(address, timeout="30s", set_as_default=False), True
    return executor, False  # a distributed.Client given directly


def _run_dask(cells: list[Cell], on_done, threads: int, max_retries: int, executor) -> None:
    """Submit every cell to a dask.distributed scheduler. A cell whose worker dies is rescheduled by the scheduler
    (its ``distributed.scheduler.allowed-failures`` setting); after that the future raises ``KilledWorker`` and
    the cell is reported failed."""
    from distributed import as_completed

    client, owned = _dask_client(executor)
    try:
        futures = {}
        for cell in cells:
            fut = client.submit(_compute, cell.task(threads), key=f"rcbench-cell-{cell.key}-{uuid.uuid4().hex[:8]}",
                                pure=False)  # fmt: skip
            futures[fut] = cell
        for fut in as_completed(list(futures), loop=client.loop):
            cell = futures[fut]
            try:
                outcome = fut.result()
            except Exception as exc:  # noqa: BLE001 - KilledWorker, lost connection, ...
                outcome = {"key": cell.key, "ok": False, "error": f"{type(exc).__name__}: {exc}",
                           "traceback": traceback.format_exc()}  # fmt: skip
                if type(exc).__name__ == "KilledWorker":
                    outcome["error"] = f"WorkerDied: {outcome['error']}"
            on_done(cell, outcome)
            fut.release()
    finally:
        if owned:
            client.close()


# ---------------------------------------------------------------------------------------------------------------
# the store
# ---------------------------------------------------------------------------------------------------------------
def _read_cell(path: Path, key: str) -> dict | None:
    """A finished cell's record, or ``None`` if absent or not a valid record of ``key``."""
    try:
        rec = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if rec.get("key") != key or not isinstance(rec.get("frame_csv"), str):
        return None
    return rec


def _cell_frame(rec: dict, cell: Cell) -> pd.DataFrame:
    frame = _read_frame(rec["frame_csv"])
    front = {}
    for k, v in cell.grid.items():
        v = v if isinstance(v, (int, float, str, bool)) or v is None else _canonical(v)
        if k in frame.columns:
            if bool((frame[k] == v).all()):
                continue
            k = f"grid_{k}"
        front[k] = v
    for i, (k, v) in enumerate(front.items()):
        frame.insert(i, k, v)
    frame["cell"] = cell.key
    return frame


def _clean_stale_temporaries(directory: Path, older_than_s: float = 3600.0) -> None:
    """Remove temporary files left by a killed writer (only old ones: a concurrent sweep may be writing)."""
    now = time.time()
    for tmp in directory.glob(".*.tmp"):
        try:
            if now - tmp.stat().st_mtime > older_than_s:
                tmp.unlink()
        except OSError:
            pass


@dataclass
class SweepResult:
    """What a sweep did: the combined ``table`` (finished cells, grid order), the store ``path``, and the keys of
    the cells ``computed`` now, found ``cached``, and ``failed`` (key -> error message)."""

    experiment: str
    path: Path
    table: pd.DataFrame
    cells: list[Cell]
    computed: list[str] = field(default_factory=list)
    cached: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    written: str = TABLE_FILE

    @property
    def ok(self) -> bool:
        return not self.failed

    def summary(self) -> str:
        s = (f"{self.experiment}: {len(self.cells)} cells, {len(self.computed)} computed, {len(self.cached)} cached, "
             f"{len(self.failed)} failed; {len(self.table)} rows -> {self.path / self.written}")  # fmt: skip
        for key, err in self.failed.items():
            grid = next((c.grid for c in self.cells if c.key == key), {})
            s += f"\n  FAILED {grid} [{key}]: {err.splitlines()[0] if err else ''}"
        return s


def default_results_dir(experiment: str) -> Path:
    return Path("results") / "sweeps" / experiment.replace(":", "-").replace(".", "_")


def sweep(
    experiment: str,
    grid: Mapping[str, Sequence] | None = None,
    *,
    params: Mapping | None = None,
    seeds: int | None = None,
    seed: int = 0,
    device: str = "cpu",
    profile: str | None = None,
    claim: str | None = None,
    results_dir: str | Path | None = None,
    executor="local",
    workers: int | None = None,
    max_retries: int = 2,
    threads: int = 1,
    progress: bool = True,
) -> SweepResult:
    """Evaluate ``experiment`` (``"module:function"``) over ``grid`` with caching and resumption (see the module
    docstring). ``executor`` is ``"local"`` (``workers`` processes, default ``min(cpu_count, cells)``; ``0`` runs
    in this process), ``"dask://HOST:PORT"`` or a ``distributed.Client``. Returns a :class:`SweepResult`."""
    name, cells, fixed = plan(experiment, grid, params=params, seeds=seeds, seed=seed, device=device,
                              profile=profile, claim=claim)  # fmt: skip
    _check_executor(executor, workers, max_retries)
    out = Path(results_dir) if results_dir is not None else default_results_dir(name)
    manifest = {
        "experiment": name,
        "grid": {k: list(v) for k, v in (grid or {}).items()},
        "fixed": fixed,
        "master_seed": seed,
        "profile": profile,
        "claim": claim,
        "rcbench": __version__,
        "executor": executor if isinstance(executor, str) else type(executor).__name__,
        "cells": [{"key": c.key, "grid": c.grid, "seed": c.seed} for c in cells],
        "status": "running",
        "started": time.time(),
    }
    out.mkdir(parents=True, exist_ok=True)
    write_json(out / MANIFEST_FILE, manifest)
    result = _execute(name, cells, out, executor=executor, workers=workers, max_retries=max_retries,
                      threads=threads, progress=progress, record={"master_seed": seed})  # fmt: skip
    write_frame(out / TABLE_FILE, result.table)
    manifest.update(status="complete" if result.ok else "failed", finished=time.time(),
                    computed=len(result.computed), cached=len(result.cached), failed=result.failed)  # fmt: skip
    write_json(out / MANIFEST_FILE, manifest)
    return result


def _check_executor(executor, workers, max_retries) -> bool:
    """Validate the executor options; returns whether the executor is dask."""
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int) or workers < 0):
        raise ValueError(f"workers must be a non-negative integer, got {workers!r}")
    if not isinstance(max_retries, int) or max_retries < 0:
        raise ValueError(f"max_retries must be a non-negative integer, got {max_retries!r}")
    is_dask = not isinstance(executor, str) or executor.startswith(("dask://", "tcp://"))
    if isinstance(executor, str) and not is_dask and executor != "local":
        raise ValueError(f"executor must be 'local' or 'dask://HOST:PORT', got {executor!r}")
    return is_dask


def _execute(name: str, cells: list[Cell], out: Path, *, executor, workers, max_retries: int, threads: int,
             progress: bool, record: Mapping) -> SweepResult:  # fmt: skip
    """Compute the cells of ``cells`` that ``out`` does not hold yet, writing each finished cell (with the extra
    fields ``record``) or failure as it arrives; returns the result with the table of all finished cells."""
    is_dask = _check_executor(executor, workers, max_retries)
    cells_dir, failed_dir = out / CELLS_DIR, out / FAILED_DIR
    cells_dir.mkdir(parents=True, exist_ok=True)
    _clean_stale_temporaries(cells_dir)

    result = SweepResult(name, out, pd.DataFrame(), cells)
    records: dict[str, dict] = {}
    missing = []
    for cell in cells:
        rec = _read_cell(cells_dir / f"{cell.key}.json", cell.key)
        if rec is None:
            missing.append(cell)
        else:
            records[cell.key] = rec
            result.cached.append(cell.key)
    bar = _progress(len(cells), len(result.cached), name, progress)

    def on_done(cell: Cell, outcome: dict) -> None:
        if outcome.get("ok"):
            rec = {
                "key": cell.key,
                "experiment": cell.experiment,
                "params": encode_params(cell.params),
                "grid": cell.grid,
                "seed": cell.seed,
                **record,
                "rcbench": __version__,
                "host": outcome.get("host"),
                "pid": outcome.get("pid"),
                "elapsed_s": round(outcome.get("elapsed_s", 0.0), 4),
                "finished": time.time(),
                "frame_csv": outcome["csv"],
            }
            write_json(cells_dir / f"{cell.key}.json", rec)
            (failed_dir / f"{cell.key}.json").unlink(missing_ok=True)
            records[cell.key] = rec
            result.computed.append(cell.key)
        else:
            err = outcome.get("error", "unknown error")
            write_json(failed_dir / f"{cell.key}.json",
                       {"key": cell.key, "experiment": cell.experiment, "params": encode_params(cell.params),
                        "grid": cell.grid, "error": err, "traceback": outcome.get("traceback", ""),
                        "attempts": outcome.get("attempts", 1), "time": time.time()})  # fmt: skip
            result.failed[cell.key] = err
        bar.set_postfix(done=len(result.computed), cached=len(result.cached), failed=len(result.failed), refresh=False)
        bar.update(1)

    try:
        if missing:
            if is_dask:
                _run_dask(missing, on_done, threads, max_retries, executor)
            else:
                n = min(os.cpu_count() or 1, len(missing)) if workers is None else min(workers, len(missing))
                if n == 0:
                    _run_inprocess(missing, on_done, threads, max_retries)
                else:
                    _run_local(missing, on_done, threads, max_retries, n)
    finally:
        bar.close()
    lost = [c for c in missing if c.key not in records and c.key not in result.failed]
    for cell in lost:  # cannot happen by construction; never let a cell go silently missing
        result.failed[cell.key] = "Lost: the executor returned no result for this cell"
    frames = [_cell_frame(records[c.key], c) for c in cells if c.key in records]
    result.table = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    return result


def _progress(total: int, cached: int, desc: str, enabled: bool):
    from tqdm.auto import tqdm

    bar = tqdm(total=total, initial=cached, desc=desc, unit="cell", disable=not enabled, file=sys.stderr,
               dynamic_ncols=True)  # fmt: skip
    bar.set_postfix(done=0, cached=cached, failed=0)
    return bar


def load_sweep(results_dir: str | Path) -> dict:
    """Read a sweep's store: ``{"manifest": <sweep.json>, "table": DataFrame}`` (the table rebuilt from the cell
    files listed in the manifest, in grid order; cells not finished are absent and listed in ``"missing"``)."""
    out = Path(results_dir)
    man_file = out / MANIFEST_FILE
    if not man_file.is_file():
        raise FileNotFoundError(f"{out} is not an rcbench sweep directory (no {MANIFEST_FILE})")
    manifest = json.loads(man_file.read_text(encoding="utf-8"))
    frames, missing = [], []
    for c in manifest["cells"]:
        rec = _read_cell(out / CELLS_DIR / f"{c['key']}.json", c["key"])
        if rec is None:
            missing.append(c["key"])
            continue
        cell = Cell(manifest["experiment"], rec["params"], c["grid"], c["key"], c["seed"])
        frames.append(_cell_frame(rec, cell))
    table = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    return {"manifest": manifest, "table": table, "missing": missing}


class MissingCells(KeyError):
    """Cells asked of a results store that it does not hold (``.cells`` lists them)."""

    def __init__(self, message: str, cells: list[Cell]):
        super().__init__(message)
        self.cells = cells

    def __str__(self) -> str:
        return self.args[0]


def encode_params(params: Mapping) -> dict:
    """The keyword arguments of a call as JSON data that :func:`decode_params` turns back into equal arguments:
    non-finite floats become ``{"__float__": "inf"}``, tuples lists, devices and paths strings. Raises
    :class:`TypeError` naming the argument for anything else that is not JSON (tensors, callables, modules)."""

    def enc(v, where):
        if v is None or isinstance(v, (bool, str)):
            return v
        if isinstance(v, numbers.Integral):
            return int(v)
        if isinstance(v, numbers.Real):
            v = float(v)
            return v if math.isfinite(v) else {"__float__": repr(v)}
        if isinstance(v, (list, tuple)):
            return [enc(x, f"{where}[{i}]") for i, x in enumerate(v)]
        if isinstance(v, Mapping) and all(isinstance(k, str) for k in v):
            if set(v) == {"__float__"}:
                raise TypeError(f"{where}: a dict with the single key '__float__' is reserved")
            return {k: enc(x, f"{where}.{k}") for k, x in v.items()}
        if isinstance(v, os.PathLike) or type(v).__name__ == "device":
            return str(v)
        raise TypeError(f"argument {where} is a {type(v).__name__}, not JSON data")

    return {k: enc(v, k) for k, v in params.items()}


def decode_params(params: Mapping) -> dict:
    """Inverse of :func:`encode_params` (lists stay lists)."""

    def dec(v):
        if isinstance(v, list):
            return [dec(x) for x in v]
        if isinstance(v, dict):
            return float(v["__float__"]) if set(v) == {"__float__"} else {k: dec(x) for k, x in v.items()}
        return v

    return {k: dec(v) for k, v in params.items()}


def request_key(experiment: str, params: Mapping) -> str:
    """The store key of one exact call ``experiment(**params)`` (see :class:`StoreSource`)."""
    return cell_key(experiment, encode_params(params))


#: pandas < 3 parses floats with a fast, inexact parser unless asked; pandas 3 round-trips by default and deprecates
#: the option
_ROUND_TRIP = {} if int(pd.__version__.split(".")[0]) >= 3 else {"float_precision": "round_trip"}


def _read_frame(csv_text: str) -> pd.DataFrame:
    """A cell's frame: the float64 values written by ``to_csv`` (shortest repr) are read back bit-identical."""
    return pd.read_csv(io.StringIO(csv_text), **_ROUND_TRIP)


class StoredCellFailed(RuntimeError):
    """A call whose cell the results store records as failed (the error the experiment raised on the worker)."""


class StoreSource:
    """Answers the calls of :func:`rcbench.experiments.common.storable` experiment functions from a results store.

    Installed with :func:`rcbench.experiments.common.reading_from` (the claims harness does so for
    ``--results DIR``). Each call ``experiment(**params)``, with every argument bound and defaults filled in, is
    looked up under :func:`request_key`:

    * stored: the cell's frame is returned (bit-identical to computing it: same code, same seed, float64 written
      at full precision), and nothing is computed;
    * stored as failed: :class:`StoredCellFailed` with the worker's error;
    * not stored: the call is added to :attr:`requests` and :class:`MissingCells` is raised; ``rcbench sweep
      --requests FILE --results-dir DIR`` (or :func:`compute_requests`) computes them on any executor;
    * arguments that are not JSON data (a user's norm class, a tensor): the call cannot be keyed; it is computed
      here, and the log says so.

    :attr:`log` lists ``(experiment, key, status)`` per call, status ``"read"``, ``"missing"``, ``"failed"`` or
    ``"computed: <reason>"``.
    """

    def __init__(self, results_dir: str | Path):
        self.path = Path(results_dir)
        if not self.path.is_dir():
            raise FileNotFoundError(f"results store {str(self.path)!r} is not a directory")
        self.requests: dict[str, dict] = {}
        self.log: list[tuple[str, str, str]] = []

    def fetch(self, experiment: str, params: Mapping, compute: Callable[[], pd.DataFrame]) -> pd.DataFrame:
        try:
            encoded = encode_params(params)
        except TypeError as exc:
            self.log.append((experiment, "", f"computed: {exc}"))
            return compute()
        key = cell_key(experiment, encoded)
        rec = _read_cell(self.path / CELLS_DIR / f"{key}.json", key)
        if rec is not None:
            self.log.append((experiment, key, "read"))
            return _read_frame(rec["frame_csv"])
        failed = self.path / FAILED_DIR / f"{key}.json"
        if failed.is_file():
            self.log.append((experiment, key, "failed"))
            err = json.loads(failed.read_text(encoding="utf-8")).get("error", "unknown error")
            raise StoredCellFailed(f"{experiment} [{key}] failed when it was computed: {err}")
        self.requests[key] = {"key": key, "experiment": experiment, "params": encoded}
        self.log.append((experiment, key, "missing"))
        raise MissingCells(
            f"{experiment} with these arguments is not in the results store {self.path} (cell {key}); the claims "
            f"harness lists every missing call in requests.json of its --results-dir; compute them with "
            f"`rcbench sweep --requests <results-dir>/requests.json --results-dir {self.path}` and rerun",
            [Cell(experiment, dict(params), {}, key, params.get("seed"))],
        )


def read_requests(path: str | Path) -> list[dict]:
    """The requested calls of a ``requests.json`` written by the claims harness (``{"requests": [...]}``)."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise FileNotFoundError(f"--requests {str(path)!r}: no such file") from None
    except ValueError as exc:
        raise ValueError(f"--requests {str(path)!r} is not JSON: {exc}") from None
    reqs = data.get("requests") if isinstance(data, dict) else None
    if not isinstance(reqs, list) or not all(isinstance(r, dict) and {"experiment", "params"} <= set(r) for r in reqs):
        raise ValueError(f"--requests {str(path)!r}: expected {{'requests': [{{'experiment': ..., 'params': ...}}]}}")
    return reqs


def compute_requests(
    requests: Sequence[Mapping] | str | Path,
    results_dir: str | Path,
    *,
    executor="local",
    workers: int | None = None,
    max_retries: int = 2,
    threads: int = 1,
    progress: bool = True,
) -> SweepResult:
    """Compute requested calls (a list of ``{"experiment", "params"}`` or the path of a ``requests.json``) into
    the store ``results_dir``, on any executor, exactly as called: the same arguments and seed, so a
    :class:`StoreSource` on that store then answers the calls without computing. Cells already stored are skipped."""
    if isinstance(requests, (str, os.PathLike)):
        requests = read_requests(requests)
    cells, seen = [], set()
    for r in requests:
        name, _ = resolve_experiment(r["experiment"])
        params = decode_params(r["params"])
        key = request_key(name, params)
        if key not in seen:
            seen.add(key)
            cells.append(Cell(name, params, {}, key, params.get("seed")))
    out = Path(results_dir)
    out.mkdir(parents=True, exist_ok=True)
    result = _execute("requests", cells, out, executor=executor, workers=workers, max_retries=max_retries,
                      threads=threads, progress=progress, record={"requested": True})  # fmt: skip
    result.written = CELLS_DIR
    return result


def lookup(results_dir: str | Path, experiment: str, grid: Mapping[str, Sequence] | None = None, **kwargs):
    """The table of ``experiment`` over ``grid`` read from a sweep's store, without computing anything.

    Takes the arguments of :func:`plan` (``params``, ``seeds``, ``seed``, ``device``, ``profile``, ``claim``),
    plans the same cells (same keys, same derived seeds) and reads their files. Raises :class:`MissingCells`
    naming the missing cells and the command that computes them. This is how a claim's paper profile can judge a
    table that a cluster computed: ``lookup(dir, ...)`` returns exactly what :func:`evaluate` or :func:`sweep`
    with the same arguments returns.
    """
    name, cells, _ = plan(experiment, grid, **kwargs)
    out = Path(results_dir)
    recs = {c.key: _read_cell(out / CELLS_DIR / f"{c.key}.json", c.key) for c in cells}
    missing = [c for c in cells if recs[c.key] is None]
    if missing:
        g = " ".join(f"--grid {k}={','.join(map(str, v))}" for k, v in (grid or {}).items())
        raise MissingCells(
            f"{len(missing)} of {len(cells)} cells of {name} are not in {out} "
            f"(first: {missing[0].grid or 'the only cell'}); "
            f"compute them with `rcbench sweep {name} {g} --results-dir {out}` and the same fixed arguments",
            missing,
        )
    return pd.concat([_cell_frame(recs[c.key], c) for c in cells], ignore_index=True)


def evaluate(experiment: str, grid: Mapping[str, Sequence] | None = None, **kwargs) -> pd.DataFrame:
    """Compute the table of ``experiment`` over ``grid`` in this process, without a store: the same cells, seeds
    and columns as :func:`sweep` and :func:`lookup` with the same arguments. Raises the first cell's error."""
    name, cells, _ = plan(experiment, grid, **kwargs)
    frames = []
    for cell in cells:
        outcome = _compute(cell.task(threads=_current_threads()))
        if not outcome["ok"]:
            raise RuntimeError(f"{name} {cell.grid}: {outcome['error']}")
        frames.append(_cell_frame({"frame_csv": outcome["csv"]}, cell))
    return pd.concat(frames, ignore_index=True)


def _current_threads() -> int:
    import torch

    return torch.get_num_threads()


# ---------------------------------------------------------------------------------------------------------------
# command line
# ---------------------------------------------------------------------------------------------------------------
def register(subparsers) -> argparse.ArgumentParser:
    """Add the ``sweep`` subcommand to an ``argparse`` subparsers object (``rcbench sweep ...``)."""
    p = subparsers.add_parser(
        "sweep",
        help="evaluate an experiment over a grid (cached, resumable, local processes or dask)",
        description=__doc__.split("\n\n")[0],
    )
    p.add_argument("experiment", nargs="?",
                   help="module:function of rcbench.experiments, e.g. orthogonality:bn_chain")  # fmt: skip
    p.add_argument("--requests", metavar="FILE",
                   help="instead of a grid: compute the calls listed in a requests.json written by the claims "
                        "harness (pytest claims --results DIR) into --results-dir DIR")  # fmt: skip
    p.add_argument("--grid", action="append", default=[], metavar="NAME=V1,V2",
                   help="a grid axis (repeat for more axes); the cells are the Cartesian product")  # fmt: skip
    p.add_argument("--set", action="append", default=[], metavar="NAME=VALUE", help="a fixed keyword argument")
    p.add_argument("--seeds", type=int, help="the experiment's `seeds` argument (networks per cell)")
    p.add_argument("--seed", type=int, default=0, help="master seed; each cell's seed is derived from it (default 0)")
    p.add_argument("--profile", choices=["quick", "paper"], help="start from the module's PROFILES[profile] config")
    p.add_argument("--claim", help="claim id whose profile configuration to start from (with --profile)")
    p.add_argument("--device", default="cpu", help="cpu (default), cuda, cuda:k")
    p.add_argument("--results-dir", help="the results store (default results/sweeps/<module>-<function>)")
    p.add_argument("--executor", default="local", help="local (default) or dask://HOST:PORT")
    p.add_argument("--workers", type=int, help="local worker processes (default: cores; 0 = in this process)")
    p.add_argument("--retries", type=int, default=2, help="retries of a cell whose local worker died (default 2)")
    p.add_argument("--threads", type=int, default=1, help="torch threads per cell (default 1)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_sweep)
    return p


def cmd_sweep(args) -> int:
    if args.requests:
        grid_only = [o for o, v in (("experiment", args.experiment), ("--grid", args.grid), ("--set", args.set),
                                    ("--seeds", args.seeds), ("--profile", args.profile), ("--claim", args.claim))
                     if v]  # fmt: skip
        if grid_only or not args.results_dir:
            print(f"rcbench sweep --requests: give --results-dir (the store the claims read) and no "
                  f"{', '.join(grid_only) or 'grid options'}", file=sys.stderr)  # fmt: skip
            return 2
        try:
            result = compute_requests(args.requests, args.results_dir, executor=args.executor, workers=args.workers,
                                      max_retries=args.retries, threads=args.threads,
                                      progress=not args.no_progress)  # fmt: skip
        except (ValueError, ImportError, OSError) as exc:
            print(f"rcbench sweep: {exc}", file=sys.stderr)
            return 2
        print(result.summary())
        return 0 if result.ok else 1
    if not args.experiment:
        print("rcbench sweep: give an EXPERIMENT (module:function) or --requests FILE", file=sys.stderr)
        return 2
    try:
        result = sweep(
            args.experiment,
            parse_grid(args.grid),
            params=parse_set(args.set),
            seeds=args.seeds,
            seed=args.seed,
            device=args.device,
            profile=args.profile,
            claim=args.claim,
            results_dir=args.results_dir,
            executor=args.executor,
            workers=args.workers,
            max_retries=args.retries,
            threads=args.threads,
            progress=not args.no_progress,
        )
    except (ValueError, ImportError, OSError) as exc:
        print(f"rcbench sweep: {exc}", file=sys.stderr)
        return 2
    print(result.summary())
    return 0 if result.ok else 1


def main(argv: list[str] | None = None) -> int:
    """``python -m rcbench.sweep`` is ``rcbench sweep``."""
    from rcbench.cli import main as cli_main

    return cli_main(["sweep", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    sys.exit(main())
