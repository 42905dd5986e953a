"""The results store: what a claims run measured, written atomically as JSON and CSV (never pickle).

A run directory holds ``run.json`` (environment, options and one entry per claim test with its checks),
``checks.csv`` (one row per check: the flat table the report, ``compare`` and sweeps read) and ``frames/`` (the
experiments' tidy DataFrames, one CSV per frame, from which the figures are drawn).
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import shutil
import tempfile
from pathlib import Path

import pandas as pd

__all__ = ["write_atomic", "write_json", "write_frame", "jsonable", "load_run", "replacing_dir", "RunFileError",
           "RUN_FILE", "CHECKS_FILE"]

RUN_FILE = "run.json"
CHECKS_FILE = "checks.csv"
FRAMES_DIR = "frames"


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


class RunFileError(ValueError):
    """A results file that cannot be read (corrupt or truncated JSON, not a run): names the file and the problem."""


def write_atomic(path: str | Path, data: str | bytes) -> Path:
    """Write ``data`` to ``path`` so that readers see the old file or the new one, never a partial one
    (temporary file in the same directory, ``fsync``, then ``os.replace``). The file gets the permissions an
    ordinary ``open`` would give it (``0o666`` minus the user's umask), not ``mkstemp``'s private ``0o600``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    mode = "wb" if isinstance(data, bytes) else "w"
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, mode, **({} if mode == "wb" else {"encoding": "utf-8"})) as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o666 & ~_umask())
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


#: entries of a results directory that are not part of a run (written by ``rcbench audit`` and ``rcbench run
#: --executor`` around the harness): carried over when a run replaces the directory.
FOREIGN = ("pytest.log", "audit_options.json", "rounds")


@contextlib.contextmanager
def replacing_dir(final: str | Path, keep: tuple[str, ...] = FOREIGN):
    """Write a run into a fresh sibling directory, then swap it with ``final`` (two renames), so that a reused
    results directory never mixes the files (frames, figures, report) of an earlier run with the new ones. Entries
    named in ``keep`` are carried over from the old directory. On an error the old directory is left as it was."""
    final = Path(final).resolve()
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=final.parent, prefix=f".{final.name}.", suffix=".new"))
    os.chmod(tmp, 0o777 & ~_umask())
    try:
        yield tmp
        old = None
        if final.exists():
            for name in keep:
                if (final / name).exists() and not (tmp / name).exists():
                    os.replace(final / name, tmp / name)
            old = final.parent / f".{final.name}.{os.getpid()}.old"
            shutil.rmtree(old, ignore_errors=True)
            os.replace(final, old)
        os.replace(tmp, final)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


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
    try:
        run = json.loads(run_file.read_text(encoding="utf-8"))
    except UnicodeDecodeError as exc:
        raise RunFileError(f"{run_file}: not a text file ({exc.reason})") from None
    except json.JSONDecodeError as exc:
        what = "truncated" if exc.pos >= len(exc.doc.rstrip()) else "corrupt"
        raise RunFileError(f"{run_file}: {what} JSON ({exc.msg} at line {exc.lineno}, column {exc.colno})") from None
    if not isinstance(run, dict) or not isinstance(run.get("tests", []), list):
        raise RunFileError(f"{run_file}: not an rcbench run (expected an object with a 'tests' list)")
    for i, t in enumerate(run.get("tests", [])):
        if not isinstance(t, dict) or not {"nodeid", "claim", "outcome"} <= set(t):
            raise RunFileError(f"{run_file}: test entry {i} lacks nodeid/claim/outcome")
    checks_file = run_dir / CHECKS_FILE
    if checks_file.is_file() and checks_file.stat().st_size > 1:
        text = {"dtype": str, "keep_default_na": False} if checks_as_text else {}
        try:
            checks = pd.read_csv(checks_file, **text)
        except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
            raise RunFileError(f"{checks_file}: unreadable CSV ({str(exc).splitlines()[0]})") from None
    else:
        checks = pd.DataFrame([ck for t in run.get("tests", []) for ck in t.get("checks", [])])
        checks = checks.astype(str) if checks_as_text and not checks.empty else checks
    tables = {p.stem: pd.read_csv(p) for p in sorted((run_dir / FRAMES_DIR).glob("*.csv"))} if frames else {}
    return {"run": run, "checks": checks, "frames": tables}
