"""Storable calls whose non-JSON defaults (a dtype, an init function) are left at their default are keyed without
them, so they are stored and read back like any other call (A9-A11, B27-B32, C7-C11 have such defaults)."""

from __future__ import annotations

import pandas as pd
import pytest
import torch

from rcbench import sweep as S
from rcbench.experiments import rank_collapse as rc
from rcbench.experiments.common import reading_from

KW = dict(hidden_layers=(0, 2), width=8, batch=8, seeds=2, seed=3, arms=("vanilla", "bn"))  # dtype=float32 default


def test_default_opaque_arguments_are_stored_and_read_back(tmp_path):
    source = S.StoreSource(tmp_path)
    with reading_from(source), pytest.raises(S.MissingCells):
        rc.fig1_init_rank(**KW)
    (req,) = source.requests.values()
    assert "dtype" not in req["params"] and req["params"]["width"] == 8
    res = S.compute_requests(list(source.requests.values()), tmp_path, workers=0, progress=False)
    assert res.ok and len(res.computed) == 1
    with reading_from(source):
        stored = rc.fig1_init_rank(**KW)
    assert source.log[-1][2] == "read"
    direct = rc.fig1_init_rank(**KW)
    pd.testing.assert_frame_equal(stored, direct.astype({c: "float64" for c, t in direct.dtypes.items()
                                                         if t == "float32"}), check_exact=True)  # fmt: skip


def test_another_opaque_value_is_computed_here(tmp_path):
    source = S.StoreSource(tmp_path)
    with reading_from(source):
        df = rc.fig1_init_rank(**KW, dtype=torch.float64)
    assert len(df) and not source.requests
    assert source.log[-1][2].startswith("computed: argument dtype")
