"""The on-disk format of the results store is read across the split of rcbench/sweep.py into rcbench.store,
rcbench.grid, rcbench.executors and rcbench.sweep.

``tests/data/store-0.1.0/`` was written by the code before the split (``tests/data/make_store_fixture.py``, commit
f684a36): a sweep of ``toy:mlp_trace`` over depth 2, 3 (master seed 7), one requested call (LN, one metric) and one
requested call that failed. These tests read it with today's code through both import paths.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from rcbench import __version__
from rcbench import store as ST
from rcbench import sweep as S
from rcbench.experiments.common import reading_from

FIXTURE = Path(__file__).parent / "data" / "store-0.1.0"
SWEEP_ARGS = {"params": {"width": 8, "n": 4}, "seeds": 2, "seed": 7}
REQUESTED = {"depth": 2, "width": 8, "n": 4, "seeds": 1, "seed": 11, "norm": "ln", "activation": "tanh",
             "metrics": ["soft_rank"], "device": "cpu"}  # fmt: skip
FAILED = {"depth": 2, "width": 8, "raise_depth": 2, "seed": 3}


def _records(sub: str) -> list[dict]:
    return [json.loads(p.read_text(encoding="utf-8")) for p in sorted((FIXTURE / sub).glob("*.json"))]


def test_the_old_names_are_the_store_module_names():
    for name in ("Cell", "StoreSource", "MissingCells", "StoredCellFailed", "REQUESTS_FILE", "CELLS_DIR", "cell_key",
                 "encode_params", "load_sweep", "read_requests", "request_key"):  # fmt: skip
        assert getattr(S, name) is getattr(ST, name), name
    for name in S.__all__:
        assert hasattr(S, name), name


def test_keys_of_the_old_cells_are_recomputed():
    """Every cell and failure file is named by the key of its experiment and arguments under the version that wrote
    it: the key function (payload, canonical JSON, hash, length) did not change."""
    recs = _records(ST.CELLS_DIR) + _records(ST.FAILED_DIR)
    assert len(recs) == 4
    for rec in recs:
        version = rec.get("rcbench", "0.1.0")
        assert ST.cell_key(rec["experiment"], rec["params"], version) == rec["key"]
    manifest = json.loads((FIXTURE / ST.MANIFEST_FILE).read_text(encoding="utf-8"))
    for c in manifest["cells"]:
        params = {**manifest["fixed"], **c["grid"]}
        assert ST.cell_seed(manifest["master_seed"], manifest["experiment"], params) == c["seed"]


def test_old_sweep_table_is_read_bit_identical():
    got = S.load_sweep(FIXTURE)
    assert got["missing"] == []
    written = ST._read_frame((FIXTURE / ST.TABLE_FILE).read_text(encoding="utf-8"))
    pd.testing.assert_frame_equal(got["table"], written, check_exact=True)
    assert list(got["table"]["depth"].unique()) == [2, 3] and len(got["table"]) == 14


@pytest.mark.skipif(__version__ != "0.1.0", reason="keys include the version: a newer rcbench computes afresh")
def test_old_store_answers_lookup_and_calls(tmp_path):
    """``lookup`` (a sweep's cells) and ``StoreSource`` (exact calls) find the old cells; a rerun of the same sweep
    computes nothing; the stored failure is reported as such."""
    from rcbench.experiments import toy

    table = S.lookup(FIXTURE, "toy:mlp_trace", {"depth": [2, 3]}, **SWEEP_ARGS)
    pd.testing.assert_frame_equal(table, S.load_sweep(FIXTURE)["table"], check_exact=True)

    source = ST.StoreSource(FIXTURE)
    with reading_from(source):
        frame = toy.mlp_trace(**REQUESTED)
    with pytest.raises(ST.StoredCellFailed, match="asked to raise"):  # requested with exactly these arguments
        source.fetch("toy:fragile_trace", FAILED, lambda: pytest.fail("a stored failure is not computed"))
    assert [s for _, _, s in source.log] == ["read", "failed"] and not source.requests
    rec = next(r for r in _records(ST.CELLS_DIR) if r["params"].get("norm") == "ln")
    pd.testing.assert_frame_equal(frame, ST._read_frame(rec["frame_csv"]), check_exact=True)

    copy = tmp_path / "store"
    shutil.copytree(FIXTURE, copy)
    result = S.sweep("toy:mlp_trace", {"depth": [2, 3]}, results_dir=copy, workers=0, progress=False, **SWEEP_ARGS)
    assert result.computed == [] and len(result.cached) == 2
    pd.testing.assert_frame_equal(result.table, table, check_exact=True)
