"""The results store: what a claims run measured, written atomically as JSON and CSV (never pickle).

A run directory holds ``run.json`` (environment, options and one entry per claim test with its checks),
``checks.csv`` (one row per check: the flat table the report, ``compare`` and sweeps read) and ``frames/`` (the
experiments' tidy DataFrames, one CSV per frame, from which the figures are drawn).
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from pathlib import Path

import pandas as pd

__all__ = ["write_atomic", "write_json", "write_frame", "jsonable", "load_run", "RUN_FILE", "CHECKS_FILE"]

RUN_FILE = "run.json"
CHECKS_FILE = "checks.csv"
FRAMES_DIR = "frames"


def write_atomic(path: str | Path, data: str | bytes) -> Path:
    """Write ``data`` to ``path`` so that readers see the old file or the new one, never a partial one
    (temporary file in the same directory, ``fsync``, then ``os.replace``)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    mode = "wb" if isinstance(data, bytes) else "w"
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, mode, **({} if mode == "wb" else {"encoding": "utf-8"})) as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def jsonable(value):
    """Plain JSON types for tensors, numpy scalars and non-finite floats (written as ``"inf"``, ``"-inf"``,
    ``"nan"`` strings so that the file stays strict JSON)."""
    if hasattr(value, "detach"):
        value = value.detach().cpu()
        value = value.item() if value.numel() == 1 else value.tolist()
    if hasattr(value, "item") and getattr(value, "shape", None) == ():
        value = value.item()
    if hasattr(value, "tolist") and not isinstance(value, (str, bytes)):
        value = value.tolist()
    if isinstance(value, float) and not math.isfinite(value):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    return value


def write_json(path: str | Path, obj) -> Path:
    return write_atomic(path, json.dumps(jsonable(obj), indent=2, ensure_ascii=False, allow_nan=False) + "\n")


def write_frame(path: str | Path, frame: pd.DataFrame) -> Path:
    return write_atomic(path, frame.to_csv(index=False))


def load_run(run_dir: str | Path, *, checks_as_text: bool = False, frames: bool = True) -> dict:
    """Read a run directory: ``{"run": <run.json>, "checks": DataFrame, "frames": {name: DataFrame}}``.

    ``checks_as_text`` keeps every cell of ``checks.csv`` as a string (for exact comparisons of stored values);
    when ``checks.csv`` is missing or empty the checks inside ``run.json`` are used. ``frames=False`` skips the
    experiment tables.
    """
    run_dir = Path(run_dir)
    run_file = run_dir / RUN_FILE
    if not run_file.is_file():
        raise FileNotFoundError(f"{run_dir} is not an rcbench results directory (no {RUN_FILE})")
    run = json.loads(run_file.read_text(encoding="utf-8"))
    checks_file = run_dir / CHECKS_FILE
    if checks_file.is_file() and checks_file.stat().st_size > 1:
        text = {"dtype": str, "keep_default_na": False} if checks_as_text else {}
        checks = pd.read_csv(checks_file, **text)
    else:
        checks = pd.DataFrame([ck for t in run.get("tests", []) for ck in t.get("checks", [])])
        checks = checks.astype(str) if checks_as_text and not checks.empty else checks
    tables = {p.stem: pd.read_csv(p) for p in sorted((run_dir / FRAMES_DIR).glob("*.csv"))} if frames else {}
    return {"run": run, "checks": checks, "frames": tables}
