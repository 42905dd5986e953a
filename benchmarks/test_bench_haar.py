"""Haar sampling: batched QR with the sign fix vs a per-matrix loop vs ``scipy.stats.ortho_group``.

64 Haar matrices of O(128) in float64 (smoke run: 4 of O(8)). ``speedup_batched_vs_loop`` and
``speedup_batched_vs_scipy`` in ``extra_info`` are measured interleaved in the batched test.
"""

from __future__ import annotations

import pytest
import torch
from _bench import best_times

from rcbench.networks.init import haar_orthogonal

scipy_stats = pytest.importorskip("scipy.stats")


def _size(full):
    return (64, 128) if full else (4, 8)


def _batched(k, d):
    return haar_orthogonal((k, d, d), torch.Generator().manual_seed(0), torch.float64)


def _loop(k, d):
    g = torch.Generator().manual_seed(0)
    return torch.stack([haar_orthogonal((d, d), g, torch.float64) for _ in range(k)])


def _scipy(k, d):
    return scipy_stats.ortho_group.rvs(d, size=k, random_state=0)


@pytest.mark.parametrize("method", ["batched-qr", "per-matrix-loop", "scipy-ortho_group"])
def test_haar_sampling(bench, full, method):
    k, d = _size(full)
    bench.group = "haar"
    bench.extra_info.update(matrices=k, d=d, method=method)
    fn = {"batched-qr": _batched, "per-matrix-loop": _loop, "scipy-ortho_group": _scipy}[method]
    if method == "batched-qr":
        t = best_times({m: (lambda f=f: f(k, d)) for m, f in
                        {"batched": _batched, "loop": _loop, "scipy": _scipy}.items()}, rounds=5 if full else 1)
        bench.extra_info.update(
            speedup_batched_vs_loop=t["loop"] / t["batched"], speedup_batched_vs_scipy=t["scipy"] / t["batched"]
        )
    q = bench(fn, k, d)
    assert tuple(q.shape) == (k, d, d)
