"""Executors: run a sweep's cells in this process, on local worker processes or on a dask.distributed cluster,
and write each finished (or failed) cell into the results store (:mod:`rcbench.store`) as it arrives.

* **Workers** compute a cell with :func:`_compute` (``--threads`` torch threads, default 1, wherever it runs, so CPU
  results are bit-identical across executors) and return its frame as CSV text to the sweep's process, which alone
  writes the store (no shared file system needed). A cell file is written after the worker returned, so a sweep
  killed at any point leaves only complete cells.
* **Failures.** An exception inside the experiment fails the cell at once (it is deterministic; the message is kept
  in ``failed/``). A local worker process that dies mid-cell is retried (``max_retries``): when several cells were
  running in the pool that broke, each is rerun alone first so that only the cell that kills its worker is charged.
  On dask the scheduler reschedules a cell whose worker died up to its ``allowed-failures`` setting and then reports
  ``KilledWorker``; the cell is reported failed. A failed cell is never silently missing.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import platform
import sys
import time
import traceback
import uuid
from collections import Counter, deque
from collections.abc import Mapping
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from rcbench import __version__
from rcbench.grid import resolve_experiment
from rcbench.results import write_json
from rcbench.store import (
    CELLS_DIR,
    FAILED_DIR,
    TABLE_FILE,
    Cell,
    _cell_frame,
    _clean_stale_temporaries,
    _read_cell,
    encode_params,
)

__all__ = ["SweepResult"]

log = logging.getLogger("rcbench.sweep")


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
        # float32 columns (the float32 training experiments) as float64: exact, so the CSV's shortest repr reads back
        # the very values (a float32 written by its own shortest repr would read back as a different float64)
        frame = frame.astype({c: "float64" for c, t in frame.dtypes.items() if t == "float32"})
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

    from rcbench.device import _git_commit

    commit = _git_commit()  # the code that computed the cells (a store keys calls by arguments, not by code)

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
                "git_commit": commit,
                # the machine's load when the cell finished: elapsed_s on a shared machine is not one core's time
                "load_average": [round(v, 2) for v in os.getloadavg()] if hasattr(os, "getloadavg") else None,
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
