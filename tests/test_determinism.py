"""Determinism on the CPU: the same seed gives bit-identical results across two runs, in this process and in a fresh
process. (Local worker processes vs dask.distributed workers: tests/test_sweep.py compares the sweep tables.)"""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

import pandas as pd
import torch

from rcbench.experiments import toy
from rcbench.experiments.common import gaussian_input, trace
from rcbench.networks import MLP

ROOT = Path(__file__).resolve().parent.parent
CONFIG = dict(depth=6, width=24, n=10, seeds=3, seed=11, norm="bn", activation="tanh",
              metrics=("soft_rank", "isometry_gap", "orthogonality_gap"))  # fmt: skip


def _digest(frame: pd.DataFrame) -> str:
    """SHA-256 of the frame's CSV text (floats written with round-trip precision: equal digests = equal bits)."""
    return hashlib.sha256(frame.to_csv(index=False).encode()).hexdigest()


def test_same_seed_bit_identical_in_process():
    a, b = toy.mlp_trace(**CONFIG), toy.mlp_trace(**CONFIG)
    pd.testing.assert_frame_equal(a, b, check_exact=True)
    assert _digest(a) == _digest(b)
    # the representations themselves, not only the metrics
    x = gaussian_input(10, 24, seed=3)
    h1 = MLP(24, 24, 6, ensemble=3, seed=5, activation="relu")(x, return_hidden=True)[1]
    h2 = MLP(24, 24, 6, ensemble=3, seed=5, activation="relu")(x, return_hidden=True)[1]
    assert all(torch.equal(u, v) for u, v in zip(h1, h2))
    # a different seed changes the numbers (the test above is not vacuous)
    assert _digest(toy.mlp_trace(**{**CONFIG, "seed": 12})) != _digest(a)


def test_same_seed_bit_identical_across_processes():
    code = (
        "import hashlib, torch\n"
        "torch.set_num_threads(1)\n"
        "from rcbench.experiments import toy\n"
        f"f = toy.mlp_trace(**{CONFIG!r})\n"
        "print(hashlib.sha256(f.to_csv(index=False).encode()).hexdigest())\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        here = _digest(toy.mlp_trace(**CONFIG))
    finally:
        torch.set_num_threads(threads)
    assert out.stdout.strip() == here


def test_trace_equals_manual_forward():
    """trace (stacked Grams, one eigvalsh) gives bit-identical values to measuring each layer from the hidden
    representations of an identical network: nothing in the hot path depends on hidden state."""
    x = gaussian_input(8, 16, seed=1)
    net = MLP(16, 16, 4, ensemble=2, seed=2)
    df = trace(net, x, ["soft_rank"])
    with torch.no_grad():
        _, hidden = MLP(16, 16, 4, ensemble=2, seed=2)(x, return_hidden=True)
    grams = torch.stack([h @ h.transpose(-1, -2) for h in hidden])
    from rcbench.metrics import spectral_metrics

    direct = spectral_metrics(grams, ["soft_rank"])["soft_rank"].reshape(-1).numpy()
    assert (df["soft_rank"].to_numpy() == direct).all()
