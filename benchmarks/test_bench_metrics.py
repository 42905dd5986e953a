"""Metrics on a ``(seeds, layers, n, d)`` stack: one batched eigvalsh vs one per metric vs one per layer and seed.

Stack: 16 seeds x 50 layers of ``n = 32, d = 512`` float64 representations (smoke run: 2 x 3 of 8 x 16). Variants:

* ``spectral_metrics``: Grams of the whole stack, then :func:`rcbench.metrics.spectral_metrics` for three metrics
  (one ``eigvalsh`` in all) -- rcbench's hot path;
* ``per-metric``: the public functions ``orthogonality_gap(H)``, ``isometry_gap(H)``, ``soft_rank(H)`` on the stack
  (one batched ``eigvalsh`` each);
* ``loop``: a Python loop over seeds and layers with one ``eigvalsh`` per representation (the authors' style).

``test_float32_precision_limit`` records where float32 fails: the isometry gap of a vanilla (no-norm) linear chain
(n = 16, d = 32), whose Gram becomes near-singular with depth, computed in float32 and float64 from the same
representations (float32 gives ``+inf`` or a large relative error once ``lam_min / lam_max`` nears ``1e-7``).
"""

from __future__ import annotations

import math

import pytest
import torch

from rcbench import metrics as M
from rcbench.networks import MLP

NAMES = ["orthogonality_gap", "isometry_gap", "soft_rank"]


def _stack(full):
    S, L, n, d = (16, 50, 32, 512) if full else (2, 3, 8, 16)
    return torch.randn(S, L, n, d, generator=torch.Generator().manual_seed(0), dtype=torch.float64)


def _spectral(H):
    return M.spectral_metrics(H @ H.transpose(-1, -2), NAMES, d=H.shape[-1])


def _per_metric(H):
    return {m: getattr(M, m)(H) for m in NAMES}


def _loop(H):
    S, L, n, _ = H.shape
    out = {m: torch.empty(S, L, dtype=H.dtype) for m in NAMES}
    for s in range(S):
        for l in range(L):
            lam = torch.linalg.eigvalsh(H[s, l] @ H[s, l].T)
            for m in NAMES:
                out[m][s, l] = M.SPECTRAL_METRICS[m](lam)
    return out


@pytest.mark.parametrize("variant", ["spectral_metrics", "per-metric", "loop"])
def test_metrics_stack(bench, full, variant):
    H = _stack(full)
    bench.group = "metrics"
    bench.extra_info.update(shape=list(H.shape), metrics=NAMES, variant=variant)
    out = bench({"spectral_metrics": _spectral, "per-metric": _per_metric, "loop": _loop}[variant], H)
    ref = _spectral(H)
    for m in NAMES:
        torch.testing.assert_close(out[m], ref[m], rtol=1e-8, atol=1e-10)


def test_float32_precision_limit(bench, full):
    """float32 vs float64 isometry gap along a vanilla linear Gaussian chain (n = 16, d = 32, 4 seeds), whose Gram
    becomes near-singular with depth (the gap grows by ~0.33 per layer)."""
    n, d, L = (16, 32, 30) if full else (8, 16, 6)
    bench.group = "precision"
    x = torch.randn(n, d, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    net = MLP(d, d, L, norm=None, ensemble=4, seed=0)
    with torch.no_grad():
        _, hidden = net(x, return_hidden=True)
    H = torch.stack(hidden)  # (L+1, S, n, d) float64
    H = H / torch.linalg.matrix_norm(H).unsqueeze(-1).unsqueeze(-1)  # scale-free metric; avoid float32 overflow

    def both():
        g64 = M.isometry_gap(H)
        g32 = M.isometry_gap(H.float()).double()
        return g64, g32

    g64, g32 = bench(both)
    rel = ((g32 - g64).abs() / g64).amax(-1)  # worst seed per layer
    first_bad = next((l for l in range(L + 1) if not math.isfinite(rel[l]) or rel[l] > 0.01), None)
    bench.extra_info.update(
        n=n, d=d, layers=L,
        isometry_gap_float64_mean=[float(v) for v in g64.mean(-1)],
        float32_rel_error_worst=[float(v) for v in rel],
        float32_first_layer_with_rel_error_above_1pct=first_bad,
        float64_isometry_gap_there=None if first_bad is None else float(g64[first_bad].mean()),
    )
    assert torch.isfinite(g64).all()
