"""Building the report of a stored run: ``render_report`` (templates, Markdown, every claim's figures, PNG encoding).

Two timings of the same stored run: **cold** (no figure cache: every figure drawn and encoded, as right after
``rcbench run``) and **warm** (``rcbench report DIR`` again: the figures come from ``figures/`` by content hash).
``extra_info`` records the process CPU time of the fastest round (the budget of issue 14 is 10 s of CPU for the full
quick run), the number of figures, and the size of ``report.html`` (budget 3 MB).

The stored run:

* ``RCBENCH_REPORT_RUN=<dir>``: a copy of that run directory (e.g. a full quick run, ``rcbench run --results-dir
  DIR``; its ``figures/`` and reports are not copied);
* else, timed (``--benchmark-enable``): a real run of a few claims with figures of every kind, computed once
  (``rcbench run --claim ... --no-report``, about a minute, not timed);
* else (the smoke run of the default ``pytest``): a small synthetic run (:mod:`rcbench.report.testing`).

Numbers on this project's shared 2-core CPU (load average 15-19) for the full quick run (74 claims, 78 figures;
``benchmarks/results/report-cpu-2core.json``): cold 10.0 s CPU (fastest of 3 rounds; 10-12.5 s over the session),
warm 0.2 s, report.html 1.3 MB (the previous report code on the same stored run: 84 figures, 52.8 s CPU, 10.1 MB).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from rcbench.report.render import FIG_DIR, render_report
from rcbench.report.testing import chain_frame, check, claim_test, write_run

#: claims whose figures cover the designs' kinds: identity table, chains, width fits, gradients, sawtooth, rates
TIMED_CLAIMS = "A1,A2,A5,B12,B13,C1,C7,D7,D10"


def _synthetic(path: Path) -> Path:
    tests = [claim_test("A1", [check("min (r - 1)", 0.0, ">= -1e-9", tolerance="round-off")]),
             claim_test("B12", [check("decay", -0.2, "< 0")], frames={"bn_chain": chain_frame()}),
             claim_test("B13", [check("slope", -0.47, "-0.46 +- 0.03")], frames={"floor": chain_frame(seeds=2)})]  # fmt: skip
    return write_run(path, tests)


@pytest.fixture(scope="module")
def stored_run(tmp_path_factory, full) -> Path:
    src = os.environ.get("RCBENCH_REPORT_RUN")
    out = tmp_path_factory.mktemp("report-bench") / "run"
    if src:
        shutil.copytree(src, out, ignore=shutil.ignore_patterns(FIG_DIR, "report.html", "report.md"))
    elif full:
        cmd = [sys.executable, "-m", "rcbench.cli", "run", "--claim", TIMED_CLAIMS, "--no-report", "--results-dir", str(out)]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        assert (out / "run.json").is_file(), proc.stderr[-2000:]
    else:
        _synthetic(out)
    return out


def _render(run_dir: Path, cpu: list):
    c = time.process_time()
    result = render_report(run_dir, progress=False)
    cpu.append(time.process_time() - c)
    return result


def _clear(run_dir: Path, cpu: list):
    shutil.rmtree(run_dir / FIG_DIR, ignore_errors=True)
    return (run_dir, cpu), {}


def test_report_cold(bench, full, stored_run):
    """Every figure drawn and encoded (no cache)."""
    bench.group = "report"
    cpu: list[float] = []
    result = bench.pedantic(_render, setup=lambda: _clear(stored_run, cpu), rounds=3 if full else 1)
    size = (stored_run / "report.html").stat().st_size
    bench.extra_info.update(cache="cold", claims=len(result["rows"]), figures=result["figures"], drawn=result["drawn"],
                            cpu_s=min(cpu), html_bytes=size, source=os.environ.get("RCBENCH_REPORT_RUN") or
                            ("claims " + TIMED_CLAIMS if full else "synthetic"))  # fmt: skip
    assert result["drawn"] == result["figures"] and size < 3_000_000


def test_report_warm(bench, full, stored_run):
    """A re-render of the same run: figures from the cache."""
    bench.group = "report"
    render_report(stored_run, progress=False)
    cpu: list[float] = []
    result = bench.pedantic(_render, args=(stored_run, cpu), rounds=3 if full else 1)
    bench.extra_info.update(cache="warm", figures=result["figures"], drawn=result["drawn"], cpu_s=min(cpu),
                            html_bytes=(stored_run / "report.html").stat().st_size)  # fmt: skip
    assert result["drawn"] == 0
