"""Sweeps (rcbench.sweep): local worker processes, caching, resumption after a kill, a real dask.distributed
LocalCluster on loopback, and workers that die mid-cell. Cells are tiny (rcbench.experiments.toy); the time goes into
starting processes, so the tests share pools of work where they can."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from rcbench import sweep as S

EXP = "toy:mlp_trace"
GRID = {"depth": [2, 3], "width": [8, 16]}
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> pd.DataFrame:
    """The grid computed in this process (``workers=0``): the table every executor must reproduce bit for bit."""
    res = S.sweep(EXP, GRID, seeds=2, seed=7, results_dir=tmp_path_factory.mktemp("ref"), workers=0, progress=False)
    assert res.ok and len(res.computed) == 4
    return res.table


def test_plan_validates_before_any_work(tmp_path):
    with pytest.raises(ValueError, match="module:function"):
        S.plan("toy.mlp_trace")
    with pytest.raises(ValueError, match="no module"):
        S.plan("no_such_module:f")
    with pytest.raises(ValueError, match="no public function 'nope'"):
        S.plan("toy:nope")
    with pytest.raises(ValueError, match="grid 'depthh' is not a parameter"):
        S.plan(EXP, {"depthh": [1]})
    with pytest.raises(ValueError, match="derived from the master seed"):
        S.plan(EXP, {"seed": [1, 2]})
    with pytest.raises(ValueError, match="repeats a value"):
        S.plan(EXP, {"depth": [2, 2]})
    with pytest.raises(ValueError, match="seeds must be a positive integer"):
        S.plan(EXP, seeds=0)
    with pytest.raises(ValueError, match="executor"):
        S.sweep(EXP, {"depth": [2]}, executor="slurm", results_dir=tmp_path)
    assert S.parse_grid(["depth=10,100", "norm=bn,ln", "x=1.5,true,None"]) == {
        "depth": [10, 100], "norm": ["bn", "ln"], "x": [1.5, True, None]}  # fmt: skip
    with pytest.raises(ValueError, match="--grid expects NAME=VALUE"):
        S.parse_grid(["depth"])


def test_keys_and_seeds_are_deterministic_and_distinct():
    _, cells, _ = S.plan(EXP, GRID, seeds=2, seed=7)
    _, again, _ = S.plan(EXP, GRID, seeds=2, seed=7)
    assert [c.key for c in cells] == [c.key for c in again] and [c.seed for c in cells] == [c.seed for c in again]
    assert len({c.key for c in cells}) == len({c.seed for c in cells}) == 4
    _, other_master, _ = S.plan(EXP, GRID, seeds=2, seed=8)
    assert not {c.seed for c in cells} & {c.seed for c in other_master}
    # the seed does not depend on the device (same numbers on every executor/device), the key does
    c0 = cells[0]
    assert S.cell_seed(7, EXP, {**c0.params, "device": "cuda"}) == c0.seed
    assert S.cell_key(EXP, {**c0.params, "device": "cuda"}) != c0.key
    assert S.cell_key(EXP, c0.params, version="9.9") != c0.key  # library version is part of the key


def test_local_workers_cache_and_table(tmp_path, reference):
    res = S.sweep(EXP, GRID, seeds=2, seed=7, results_dir=tmp_path, workers=2, progress=False)
    assert res.ok and len(res.computed) == 4 and not res.cached
    pd.testing.assert_frame_equal(res.table, reference)  # worker processes == in-process, bit for bit
    t = res.table
    assert list(t.columns[:2]) == ["layer", "seed"] and {"depth", "width", "cell"} <= set(t.columns)
    assert len(t) == sum((d + 1) * 2 for d in GRID["depth"] for _ in GRID["width"])
    assert sorted(p.name for p in (tmp_path / S.CELLS_DIR).iterdir()) == sorted(f"{k}.json" for k in res.computed)
    # every cell file is plain JSON (no pickle) carrying its configuration
    rec = json.loads((tmp_path / S.CELLS_DIR / f"{res.computed[0]}.json").read_text())
    assert rec["experiment"] == EXP and "frame_csv" in rec and rec["params"]["seeds"] == 2
    # second run: nothing computed, same table
    again = S.sweep(EXP, GRID, seeds=2, seed=7, results_dir=tmp_path, workers=2, progress=False)
    assert not again.computed and len(again.cached) == 4
    pd.testing.assert_frame_equal(again.table, reference)
    # extending the grid computes only the new cells
    more = S.sweep(EXP, {**GRID, "depth": [2, 3, 4]}, seeds=2, seed=7, results_dir=tmp_path, workers=0, progress=False)
    assert len(more.computed) == 2 and len(more.cached) == 4
    loaded = S.load_sweep(tmp_path)
    assert not loaded["missing"]
    pd.testing.assert_frame_equal(loaded["table"], more.table)
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / S.TABLE_FILE), more.table)


def test_lookup_and_evaluate_match_the_store(tmp_path, reference):
    """What a claim's paper profile would do with ``--results DIR``: read the cells of its configuration from a
    sweep's store (no computation), or compute the very same cells in-process when there is no store."""
    S.sweep(EXP, GRID, seeds=2, seed=7, results_dir=tmp_path, workers=0, progress=False)
    pd.testing.assert_frame_equal(S.lookup(tmp_path, EXP, GRID, seeds=2, seed=7), reference)
    pd.testing.assert_frame_equal(S.evaluate(EXP, GRID, seeds=2, seed=7), reference)
    with pytest.raises(S.MissingCells, match=r"2 of 6 cells .*`rcbench sweep toy:mlp_trace --grid depth=2,3,4") as err:
        S.lookup(tmp_path, EXP, {**GRID, "depth": [2, 3, 4]}, seeds=2, seed=7)
    assert {c.grid["depth"] for c in err.value.cells} == {4}


def test_resume_after_kill_equals_uninterrupted(tmp_path):
    grid = {"depth": [2, 3], "width": [8, 12, 16, 20]}
    params = {"sleep": 0.4}
    reference = S.sweep("toy:fragile_trace", grid, params=params, seeds=2, seed=3, results_dir=tmp_path / "ref",
                        workers=0, progress=False).table  # fmt: skip
    store = tmp_path / "killed"
    cmd = [sys.executable, "-m", "rcbench.sweep", "toy:fragile_trace", "--grid", "depth=2,3", "--grid",
           "width=8,12,16,20", "--set", "sleep=0.4", "--seeds", "2", "--seed", "3", "--workers", "0",
           "--results-dir", str(store), "--no-progress"]  # fmt: skip
    proc = subprocess.Popen(cmd, cwd=ROOT, start_new_session=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.time() + 60
    try:
        while len(list((store / S.CELLS_DIR).glob("*.json"))) < 2:
            assert proc.poll() is None, proc.communicate()
            assert time.time() < deadline, "the sweep did not start"
            time.sleep(0.05)
        time.sleep(0.2)  # inside the next cell's sleep: killed mid-cell
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    done_before = len(list((store / S.CELLS_DIR).glob("*.json")))
    assert 2 <= done_before < 8, "the sweep was not interrupted mid-run"
    resumed = S.sweep("toy:fragile_trace", grid, params=params, seeds=2, seed=3, results_dir=store, workers=0,
                      progress=False)  # fmt: skip
    assert len(resumed.cached) == done_before and len(resumed.computed) == 8 - done_before
    pd.testing.assert_frame_equal(resumed.table, reference)  # no lost, no duplicated rows
    assert not resumed.table.duplicated(["cell", "layer", "seed"]).any()


def test_worker_dying_once_is_retried(tmp_path, reference):
    """A worker that dies mid-cell: the pool is replaced, the cells that were running rerun one at a time, the
    crashing cell is retried (it succeeds the second time) and the table equals the undisturbed one."""
    marker = tmp_path / "crashed"
    res = S.sweep("toy:fragile_trace", GRID, params={"crash_depth": 3, "crash_once": str(marker)}, seeds=2, seed=7,
                  results_dir=tmp_path / "s", workers=2, max_retries=1, progress=False)  # fmt: skip
    assert marker.exists(), "the worker never crashed: the test tested nothing"
    assert res.ok and len(res.computed) == 4
    cols = [c for c in reference.columns if c != "cell"]
    # same grid, same seeds -> same numbers as mlp_trace (the hooks change the key, not the computation)
    ref = S.sweep("toy:fragile_trace", GRID, params={"crash_depth": 3, "crash_once": str(marker)}, seeds=2, seed=7,
                  results_dir=tmp_path / "t", workers=0, progress=False).table  # fmt: skip
    pd.testing.assert_frame_equal(res.table, ref)
    assert list(res.table[cols].columns) == cols


def test_worker_dying_every_time_is_reported_failed(tmp_path):
    res = S.sweep("toy:fragile_trace", {"depth": [2, 3]}, params={"crash_depth": 3, "width": 8}, seeds=2,
                  results_dir=tmp_path, workers=1, max_retries=0, progress=False)  # fmt: skip
    assert not res.ok and len(res.computed) == 1 and len(res.failed) == 1
    (key, err), = res.failed.items()
    assert "WorkerDied" in err
    assert json.loads((tmp_path / S.FAILED_DIR / f"{key}.json").read_text())["grid"] == {"depth": 3}
    man = json.loads((tmp_path / S.MANIFEST_FILE).read_text())
    assert man["status"] == "failed" and key in man["failed"]
    assert "FAILED {'depth': 3}" in res.summary()


def test_exception_in_experiment_fails_the_cell_not_the_sweep(tmp_path):
    res = S.sweep("toy:fragile_trace", {"depth": [2, 3]}, params={"raise_depth": 2, "width": 8}, seeds=2,
                  results_dir=tmp_path, workers=0, progress=False)  # fmt: skip
    assert len(res.computed) == 1 and len(res.failed) == 1
    assert "ValueError: depth=2" in next(iter(res.failed.values()))
    assert set(res.table["depth"]) == {3}
    # a rerun retries the failed cell (failures are not cached) and still reports it
    again = S.sweep("toy:fragile_trace", {"depth": [2, 3]}, params={"raise_depth": 2, "width": 8}, seeds=2,
                    results_dir=tmp_path, workers=0, progress=False)  # fmt: skip
    assert len(again.cached) == 1 and len(again.failed) == 1


def test_cli_exit_codes(tmp_path, capsys):
    assert S.main([EXP, "--grid", "depth=2", "--set", "width=8", "--workers", "0", "--results-dir", str(tmp_path),
                   "--no-progress"]) == 0  # fmt: skip
    assert "1 computed" in capsys.readouterr().out
    assert S.main([EXP, "--grid", "nope=1", "--workers", "0", "--results-dir", str(tmp_path)]) == 2
    assert "not a parameter" in capsys.readouterr().err
    assert S.main(["toy:fragile_trace", "--grid", "depth=2", "--set", "raise_depth=2", "--workers", "0",
                   "--results-dir", str(tmp_path), "--no-progress"]) == 1  # fmt: skip


def test_dask_local_cluster_matches_local_executor(tmp_path, reference):
    """A real dask.distributed LocalCluster on loopback with two worker processes: the table is identical to the
    local executor's, and a cell whose worker dies is reported failed (KilledWorker), not lost."""
    dask = pytest.importorskip("dask")
    distributed = pytest.importorskip("distributed")
    with dask.config.set({"distributed.scheduler.allowed-failures": 0}):
        with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                                      dashboard_address=None) as cluster:  # fmt: skip
            address = cluster.scheduler_address
            assert address.startswith("tcp://127.0.0.1:")
            executor = "dask://" + address[len("tcp://"):]
            res = S.sweep(EXP, GRID, seeds=2, seed=7, results_dir=tmp_path / "d", executor=executor, progress=False)
            assert res.ok and len(res.computed) == 4
            pd.testing.assert_frame_equal(res.table, reference)
            man = json.loads((tmp_path / "d" / S.MANIFEST_FILE).read_text())
            assert man["executor"] == executor
            # the calls a claims run asked of a store, computed on the cluster, read back as computed here
            requests = [{"experiment": EXP, "params": S.encode_params(dict(c.params))} for c in res.cells]
            filled = S.compute_requests(requests, tmp_path / "store", executor=executor, progress=False)
            assert filled.ok and len(filled.computed) == 4
            local = S.compute_requests(requests, tmp_path / "store-local", workers=0, progress=False)
            pd.testing.assert_frame_equal(filled.table, local.table)
            crash = S.sweep("toy:fragile_trace", {"depth": [2, 3]}, params={"crash_depth": 3, "width": 8}, seeds=2,
                            results_dir=tmp_path / "c", executor=executor, progress=False)  # fmt: skip
            assert len(crash.computed) == 1 and len(crash.failed) == 1
            assert "WorkerDied" in next(iter(crash.failed.values()))
