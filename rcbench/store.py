"""The results store: cell keys and seeds, cell files, request files, and reading a store.

A store is a folder (``rcbench sweep --results-dir``, ``rcbench run --results STORE``)::

    cells/<key>.json    one file per finished cell: its configuration, seed, environment and frame (CSV text)
    failed/<key>.json   one file per cell that failed (error message, attempts); removed once the cell succeeds
    table.csv           a sweep's combined table (grid order), rewritten at the end of every sweep
    sweep.json          a sweep's manifest: experiment, grid, fixed arguments, cell keys, what failed

* **Keys.** A cell's key (:func:`cell_key`) is a SHA-256 of its full configuration (experiment, every keyword
  argument including the cell seed and the device) and the library version (:data:`rcbench.__version__`): a rerun
  finds finished cells by key and computes only the missing ones; changing anything, or upgrading rcbench, computes
  afresh. One exact call ``experiment(**params)`` has the key :func:`request_key` (its arguments as JSON data by
  :func:`encode_params`).
* **Seeds.** A sweep cell's ``seed`` is derived from the master seed and the cell's configuration (without the
  device) by a hash (:func:`cell_seed`): deterministic, different for every cell, the same on every executor.
* **Files** are JSON and CSV, never pickle, written atomically (:func:`rcbench.results.write_atomic`); float64
  values are read back bit-identical.
* :class:`StoreSource` answers the calls of :func:`rcbench.experiments.common.storable` experiments from a store
  (the claims harness's ``--results STORE``); :func:`load_sweep` reads a sweep's table back.

Writing cells is the executors' part (:mod:`rcbench.executors`); the ``rcbench sweep`` command is
:mod:`rcbench.sweep`.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import numbers
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from rcbench import __version__
from rcbench.results import jsonable

__all__ = [
    "Cell",
    "cell_key",
    "cell_seed",
    "encode_params",
    "decode_params",
    "request_key",
    "load_sweep",
    "read_requests",
    "MissingCells",
    "StoreSource",
    "StoredCellFailed",
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
#: arguments that never enter a cell's seed (they choose where, not what, to compute)
_NOT_SEEDED = ("seed", "device")


def _canonical(obj) -> str:
    try:
        return json.dumps(jsonable(obj), sort_keys=True, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise ValueError(
            f"sweep configuration must be JSON data (numbers, strings, bools, None, lists): {exc}"
        ) from None


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
