"""Write small synthetic run directories (the same files the claims harness writes) for tests of the report and
of ``rcbench compare``: ``run.json``, ``checks.csv`` and ``frames/*.csv`` via :mod:`rcbench.results`."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from rcbench.catalog import get_claim
from rcbench.records import verdict_of
from rcbench.results import CHECKS_FILE, FRAMES_DIR, RUN_FILE, write_frame, write_json

__all__ = ["check", "claim_test", "write_run", "chain_frame"]


def check(statistic, measured, expected, passed=True, tolerance="", control=False) -> dict:
    return {"statistic": statistic, "measured": measured, "expected": expected, "tolerance": tolerance,
            "passed": bool(passed), "control": bool(control), "note": ""}  # fmt: skip


def claim_test(claim: str, checks: list[dict], outcome: str = "passed", name: str | None = None, reason: str = "",
         frames: dict[str, pd.DataFrame] | None = None, duration: float = 1.0) -> dict:  # fmt: skip
    nodeid = f"claims/test_synthetic.py::{name or 'test_' + claim.lower()}"
    return {"nodeid": nodeid, "claim": claim, "outcome": outcome, "reason": reason, "duration_s": duration,
            "checks": [dict(c, claim=claim, nodeid=nodeid, params="") for c in checks], "frames_data": frames or {}}  # fmt: skip


def write_run(out: str | Path, tests: list[dict], *, options: dict | None = None, environment: dict | None = None):
    """Write a run directory from :func:`claim_test` entries; returns its path."""
    out = Path(out)
    rows, entries = [], []
    for t in tests:
        frames = t.pop("frames_data", {})
        claim = get_claim(t["claim"])
        t["checks"] = [{**c, "claim": claim.id, "nodeid": t["nodeid"], "params": c.get("params", "")} for c in t["checks"]]
        entries.append({**t, "paper": claim.paper, "params": {}, "verdict": verdict_of(t["outcome"]),
                        "frames": sorted(frames)})  # fmt: skip
        rows.extend(t["checks"])
        for name, df in frames.items():
            write_frame(out / FRAMES_DIR / f"{claim.id}__{name}.csv", df)
    env = {"rcbench": "0.1.0", "torch": "2.x", "python": "3.11", "device": "cpu", "device_name": "cpu",
           "dtype": "float64", "threads": 1, "matmul_precision": "highest", "tf32": False, "git_commit": "synthetic"}  # fmt: skip
    opts = {"profile": "quick", "device": "cpu", "seed": 0, "paper": None, "claim": None, "data-root": None,
            "norm": None, "init": None, "activation": None}  # fmt: skip
    run = {"environment": {**env, **(environment or {})}, "options": {**opts, **(options or {})},
           "started": 1.7e9, "wall_time_s": 1.0, "tests": entries}  # fmt: skip
    write_frame(out / CHECKS_FILE, pd.DataFrame(rows))
    write_json(out / RUN_FILE, run)
    return out


def chain_frame(rates=(0.2, 0.05), seeds: int = 4, layers: int = 30, column: str = "orthogonality_gap",
                setting: str = "width", values=(32, 128)) -> pd.DataFrame:  # fmt: skip
    """A tidy layer x seed frame with one decaying statistic per setting value (for figure tests)."""
    rng = np.random.default_rng(0)
    rows = []
    for v, rate in zip(values, rates):
        for s in range(seeds):
            for l in range(layers):
                rows.append({"layer": l, "seed": s, setting: v,
                             column: np.exp(-rate * l) * (1 + 0.1 * rng.standard_normal()) + 1e-3})  # fmt: skip
    return pd.DataFrame(rows)
