"""The pytest runs behind every audit: one pytest subprocess on ``claims/`` into its own results directory.

Shared by the reliability audit (:mod:`rcbench.audit`, one run per alternate master seed), the mutation audit
(:mod:`rcbench.audit_mutants`, one run per mutant) and the scale audit (:mod:`rcbench.audit_scales`, one run per
configuration). It imports none of them, so the audits import it and each other one way only
(``audit -> audit_mutants, audit_scales -> audit_runner``).

What it holds: the selection filters and their checks (:func:`split`, :func:`check_selection`), the pytest command
with the configuration pinned as in ``rcbench run`` (:func:`pytest_command`), the run itself with its reuse stamp
``audit_options.json`` and an optional wall-time budget (:func:`run_pytest`, :func:`finished_run`), the per-test
rows of a finished run (:func:`rows_of_run`, :data:`RUN_COLUMNS`) and a claim's outcome over its tests
(:func:`claim_outcome`).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from rcbench.catalog import CLAIMS, get_claim
from rcbench.results import RUN_FILE, load_run, write_json

__all__ = ["FAILURE_OUTCOMES", "RUN_COLUMNS", "OPTIONS_FILE", "claims_dir", "split", "targets", "check_selection",
           "pytest_command", "finished_run", "run_pytest", "run_all", "rows_of_run", "claim_outcome"]  # fmt: skip

#: outcomes of a claim test that count as a flipped verdict (a failure of the reliability audit, a kill of the
#: mutation audit)
FAILURE_OUTCOMES = ("failed", "error", "xpassed")
#: columns of the per-run table (one row per run x claim test)
RUN_COLUMNS = ["seed", "claim", "paper", "nodeid", "outcome", "failed_checks", "reason"]
#: the stamp of a finished run: the options it was made with (a rerun with the same options reuses it)
OPTIONS_FILE = "audit_options.json"


def claims_dir() -> Path:
    """The claims (installed ``rcbench.claims`` or the checkout's ``claims/``): one lookup for every command."""
    from rcbench.claim_scan import claims_dir as lookup

    return lookup()


def split(value) -> list[str]:
    """``"A, C"`` / ``["A", "C"]`` / ``None`` -> ``["A", "C"]`` / ``[]``."""
    if value is None:
        return []
    if isinstance(value, str):
        value = value.split(",")
    return [v.strip() for v in value if v and v.strip()]


def targets(papers: list[str], claims: list[str]) -> list[str]:
    """The claim files to collect: ``claims/test_<letter>_*.py`` of the selected papers (collecting only those is
    much faster than the whole folder), else the folder."""
    letters = sorted(set(papers) | {c[0] for c in claims})
    if not letters:
        return [str(claims_dir())]
    files = sorted(str(f) for L in letters for f in claims_dir().glob(f"test_{L.lower()}_*.py"))
    return files or [str(claims_dir())]


def check_selection(papers: list[str], claims: list[str], *, profile: str, jobs: int) -> None:
    """Clear errors, before any run, for bad ``--jobs``, ``--profile``, ``--paper`` or ``--claim`` values."""
    if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
        raise ValueError(f"jobs must be a positive integer, got {jobs!r}")
    if profile not in ("quick", "paper"):
        raise ValueError(f"profile must be 'quick' or 'paper', got {profile!r}")
    bad = [p for p in papers if p not in "ABCD" or len(p) != 1] + [c for c in claims if c not in CLAIMS]
    if bad:
        raise ValueError(f"unknown paper(s)/claim(s) {bad}; papers are A, B, C, D; claims as in `rcbench list`")
    for c in claims:
        get_claim(c)


def pytest_command(seed: int, out: Path, *, profile: str, device: str, papers, claims, pytest_args) -> list[str]:
    """The pytest subprocess of one run: the claims of ``papers``/``claims`` at master seed ``seed`` into ``out``."""
    base = str(claims_dir().parent)  # pytest's configuration pinned as in `rcbench run` (rcbench.cli._claims_command)
    cmd = [
        sys.executable, "-m", "pytest", *targets(papers, claims), "-p", "rcbench.pytest_plugin",
        "-c", os.devnull, "--rootdir", base, "--confcutdir", base,
        "-o", "addopts=", "--strict-markers", "-p", "no:cacheprovider", "-q", "--no-header", "-rN",
        "--rcbench-profile", profile, "--rcbench-device", device, "--rcbench-seed", str(seed),
        "--rcbench-results-dir", str(out),
    ]  # fmt: skip
    if papers:
        cmd += ["--rcbench-paper", ",".join(papers)]
    if claims:
        cmd += ["--rcbench-claim", ",".join(claims)]
    return cmd + list(pytest_args)


def finished_run(out: Path, options: dict) -> bool:
    """Whether ``out`` holds a finished run made with ``options`` (so that a rerun of the audit can reuse it)."""
    stamp = out / OPTIONS_FILE
    if not (out / RUN_FILE).is_file() or not stamp.is_file():
        return False
    try:
        return json.loads(stamp.read_text(encoding="utf-8")) == options
    except ValueError:
        return False


def run_pytest(seed: int, out: Path, options: dict, cmd: list[str], fresh: bool, timeout: float | None,
               threads: int | None, *, budget_left: float | None = None) -> dict:
    """Run ``cmd`` (its output to ``out/pytest.log``) unless ``out`` already holds a finished run with ``options``
    (and not ``fresh``). ``threads``: intra-op threads of the subprocess (``None`` inherits the environment).
    ``budget_left`` < 0 (the budget is spent): start no new run (``"skipped": "budget"``; a finished run is still
    reused). Returns ``{"seed", "reused", "returncode" (int, "timeout" or None), "wall_s"}`` (+ ``"skipped"``)."""
    if not fresh and finished_run(out, options):
        return {"seed": seed, "reused": True, "returncode": None, "wall_s": 0.0}
    if budget_left is not None and budget_left < 0:
        return {"seed": seed, "reused": False, "returncode": None, "wall_s": 0.0, "skipped": "budget"}
    out.mkdir(parents=True, exist_ok=True)
    (out / RUN_FILE).unlink(missing_ok=True)
    (out / OPTIONS_FILE).unlink(missing_ok=True)
    start = time.time()
    with open(out / "pytest.log", "w", encoding="utf-8") as log:
        try:
            env = dict(os.environ)
            if threads is not None:
                env.update({v: str(threads) for v in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")})
            proc = subprocess.run(cmd, cwd=claims_dir().parent, stdout=log, stderr=subprocess.STDOUT,
                                  timeout=timeout, env=env)  # fmt: skip
            code = proc.returncode
        except subprocess.TimeoutExpired:
            code = "timeout"
    if (out / RUN_FILE).is_file():
        write_json(out / OPTIONS_FILE, options)
    return {"seed": seed, "reused": False, "returncode": code, "wall_s": round(time.time() - start, 1)}


def describe(info: dict) -> str:
    """``reused`` / ``pytest exit 0, 12.3 s`` / ``not run (budget)``: the progress line's tail of one run."""
    if info.get("skipped"):
        return f"not run ({info['skipped']})"
    return "reused" if info["reused"] else f"pytest exit {info['returncode']}, {info['wall_s']} s"


def run_all(jobs: int, items: Sequence, one: Callable[[object], dict]) -> list[dict]:
    """``[one(item) for item in items]``, ``jobs`` at a time (each ``one`` waits on its own pytest subprocess)."""
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        return list(pool.map(one, items))


def rows_of_run(seed: int, out: Path, info: dict) -> list[dict]:
    """One row per claim test of one run; a run that left no ``run.json`` gives one ``session-error`` row."""
    if not (out / RUN_FILE).is_file():
        reason = f"pytest exit code {info.get('returncode')}; see {out / 'pytest.log'}"
        return [{"seed": seed, "claim": "(session)", "paper": "", "nodeid": "", "outcome": "session-error",
                 "failed_checks": "", "reason": reason}]  # fmt: skip
    run = load_run(out)["run"]
    rows = []
    for test in run.get("tests", []):
        failed = [c["statistic"] for c in test.get("checks", []) if not c.get("passed", True)]
        rows.append({"seed": seed, "claim": test["claim"], "paper": test.get("paper", ""), "nodeid": test["nodeid"],
                     "outcome": test["outcome"], "failed_checks": "; ".join(failed),
                     "reason": (test.get("reason") or "")[:300]})  # fmt: skip
    return rows


def claim_outcome(outcomes: list[str]) -> str:
    """A claim's outcome over its tests' outcomes: ``session-error``, ``failed``, ``error``, ``xpassed`` if any test
    had it (in that order), else ``xfailed`` if any, else ``passed``; ``skipped`` if all were skipped; ``not run``
    if none ran."""
    if not outcomes:
        return "not run"
    for o in ("session-error", *FAILURE_OUTCOMES, "xfailed", "passed"):
        if o in outcomes:
            return o
    return "skipped" if all(o == "skipped" for o in outcomes) else outcomes[0]
