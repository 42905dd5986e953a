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

This module is the ``rcbench sweep`` command and the functions behind it. The store (keys, cell files, request
files, :class:`StoreSource`) is :mod:`rcbench.store`, the grid and its cells :mod:`rcbench.grid`, the executors
:mod:`rcbench.executors`; their public names are importable from here as well (``from rcbench.sweep import
StoreSource``).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

import pandas as pd

from rcbench import __version__
from rcbench.executors import SweepResult, _check_executor, _compute, _execute
from rcbench.grid import parse_grid, parse_set, parse_value, plan, resolve_experiment
from rcbench.results import write_frame, write_json
from rcbench.store import (
    CELLS_DIR,
    FAILED_DIR,
    MANIFEST_FILE,
    REQUESTS_FILE,
    TABLE_FILE,
    Cell,
    MissingCells,
    StoredCellFailed,
    StoreSource,
    _cell_frame,
    _read_cell,
    cell_key,
    cell_seed,
    decode_params,
    encode_params,
    load_sweep,
    read_requests,
    request_key,
)

__all__ = [
    "Cell",
    "SweepResult",
    "sweep",
    "plan",
    "resolve_experiment",
    "parse_value",
    "parse_grid",
    "parse_set",
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
    """``python -m rcbench.sweep`` is ``rcbench sweep`` (its own parser: this module does not import the CLI)."""
    parser = argparse.ArgumentParser(prog="rcbench")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["sweep", *(sys.argv[1:] if argv is None else argv)])
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
