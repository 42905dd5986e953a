"""The paper-scale profiles of paper C start and run a few layers (so they cannot rot), and paper C's experiments
reject bad input before any work."""

import math

import numpy as np
import pandas as pd
import pytest
import torch

from rcbench.experiments import gradients as exp


def _truncate(cid: str, cfg: dict) -> dict:
    cfg = dict(cfg)
    if "depths" in cfg:
        cfg["depths"] = (3,) if cid == "C11" else (2, 3)
    if "depth" in cfg:
        cfg["depth"] = 3
    if "seeds" in cfg:
        cfg["seeds"] = 2 if cid in ("C5", "C6") else 1
    for key, small in (("samples", 50), ("count", 4), ("epochs", 1)):
        if key in cfg:
            cfg[key] = small
    if cid == "C11":
        cfg["train_size"] = 2 * cfg["batch"]
    return cfg


@pytest.mark.parametrize("cid", sorted(exp.PROFILES["paper"]))
def test_paper_profile_starts(cid):
    assert set(exp.PROFILES["paper"]) == set(exp.PROFILES["quick"]) == set(exp.EXPERIMENTS)
    cfg = _truncate(cid, exp.config(cid, "paper"))
    extra = {"input": "gaussian"} if cid == "C6" else {}
    df = exp.EXPERIMENTS[cid](**cfg, **extra)
    assert isinstance(df, pd.DataFrame) and len(df) > 0
    numeric = df.select_dtypes("number").drop(columns=["gain_exponent"], errors="ignore")  # NaN = no gain
    assert not numeric.isna().any().any()


def test_gradient_sweep_rows_and_columns():
    df = exp.gradient_sweep(width=8, batch=8, in_features=12, depths=(2, 4), seeds=3, weights=(0, 1))
    assert len(df) == 2 * 3 * 2
    assert {"depth", "seed", "weight", "grad_norm", "log_grad", "init", "norm", "activation"} <= set(df.columns)
    assert np.allclose(np.log(df.grad_norm), df.log_grad)


def test_degenerate_batches_levels():
    df = exp.degenerate_batches(width=8, batch=8, in_features=12, distinct=4, epsilons=(math.inf, 0.1, 0.0),
                                depths=(2,), seeds=2)
    phi = df.groupby("eps").phi_input.first()
    assert math.isinf(phi[0.0]) and math.isfinite(phi[0.1]) and math.isfinite(phi[math.inf])
    assert sorted(df.seed.unique()) == [0, 1]


def test_authors_input_is_fig1():
    H = exp.authors_input(6, 0.005, seed=1, ensemble=2)
    assert H.shape == (2, 6, 6) and H.dtype == torch.float64
    off = H - 0.995 * torch.eye(6, dtype=torch.float64)
    assert torch.linalg.matrix_rank(off[0], rtol=1e-10).item() == 1 and float(off.min()) >= 0


@pytest.mark.parametrize(
    "call",
    [
        lambda: exp.gradient_sweep(width=8, batch=8, in_features=8, depths=(1,), seeds=1),  # no W_1 at depth 1
        lambda: exp.gradient_sweep(width=8, batch=8, in_features=8, depths=(2,), seeds=0),
        lambda: exp.gradient_sweep(width=8, batch=8, in_features=8, depths=(2,), seeds=1, gain_exponent=math.nan),
        lambda: exp.gradient_sweep(width=8, batch=8, in_features=8, depths=(2,), seeds=2, inputs=torch.zeros(3, 8, 8)),
        lambda: exp.degenerate_batches(width=8, batch=8, in_features=8, distinct=3, epsilons=(0,), depths=(2,), seeds=1),
        lambda: exp.degenerate_batches(width=8, batch=8, in_features=8, distinct=4, epsilons=(-1,), depths=(2,), seeds=1),
        lambda: exp.forward_isometry(widths=(8,), depth=2, seeds=1, input="uniform"),
        lambda: exp.weingarten_gain(widths=(4,), samples=10, weights="uniform"),
        lambda: exp.weingarten_gain(widths=(4,), samples=10, epsilons=(math.inf,)),
        lambda: exp.bn_isometry_lemma(count=3, d_min=5, d_max=5),
        lambda: exp.authors_input(4, f=1.0),
        lambda: exp.train_shaped(depths=(2,), epochs=1),
        lambda: exp.train_shaped(depths=(3,), epochs=1, lr=-1.0),
        lambda: exp.config("C7", "huge"),
    ],
)
def test_bad_input_raises_before_work(call):
    with pytest.raises(ValueError):
        call()


def test_unknown_claim_id():
    with pytest.raises(KeyError):
        exp.config("C99")
