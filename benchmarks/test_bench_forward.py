"""Explicit-weight forward vs Gram-chain forward, n = 32, d in {256, 512, 1024, 2048}; throughput; cost exponent.

Same network in every variant: paper B's BN chain (Gaussian weights, ``bn``, linear), S = 4 seeds, L = 4 layers,
float64. Variants (group ``forward-d<d>``):

* ``explicit``: :class:`rcbench.networks.MLP` forward with the weights already built and no autograd (the cost of
  a forward pass);
* ``explicit+init``: building the MLP (drawing ``S L d^2`` Gaussians) and running it, the cost of a weight-only-at-
  init experiment done with explicit weights;
* ``gram-chain``: :class:`rcbench.networks.gram_chain.GramChain` (exact in law; draws included);
* ``gram-chain-f32noise``: the same with float32 Gaussian draws.

Derived (stored in ``extra_info``):

* ``matmul_throughput_ratio`` (test ``test_matmul_throughput_ratio``): GFLOP/s of the explicit forward, counting
  its ``2 S L n d^2`` matmul flops, over the GFLOP/s of one plain large float64 matmul (2048 x 2048) timed
  interleaved in the same test; headline at d = 2048, all d in ``matmul_throughput_ratio_by_d``. Target >= 0.5.
* ``cost_exponent_d`` (test ``test_gram_chain_cost_exponent``): slope of log(best time) against log d of the Gram-
  chain forward over the four widths (target <= 1.2; the explicit forward's, ``explicit_cost_exponent_d``, is
  near 2).
"""

from __future__ import annotations

import pytest
import torch
from _bench import best_times, loglog_slope

from rcbench.experiments.common import gaussian_input
from rcbench.networks import MLP
from rcbench.networks.gram_chain import GramChain

N, S, L = 32, 4, 4
WIDTHS = (256, 512, 1024, 2048)
SMALL = (16, 32, 64, 128)


def _sizes(full):
    return WIDTHS if full else SMALL


def _mlp(d, device):
    return MLP(d, d, L, norm="bn", ensemble=S, seed=0, device=device).requires_grad_(False)


def _chain(d, device, noise_dtype=None):
    return GramChain(d, d, L, norm="bn", ensemble=S, seed=0, device=device, noise_dtype=noise_dtype)


@pytest.mark.parametrize("index", range(4))
@pytest.mark.parametrize("variant", ["explicit", "explicit+init", "gram-chain", "gram-chain-f32noise"])
def test_forward(bench, full, device, variant, index):
    d = _sizes(full)[index]
    x = gaussian_input(N, d, seed=0, device=device)
    bench.group = f"forward-d{WIDTHS[index]}"
    bench.extra_info.update(n=N, d=d, seeds=S, layers=L, variant=variant)
    if variant == "explicit":
        net = _mlp(d, device)
        fn = lambda: net(x)  # noqa: E731
    elif variant == "explicit+init":
        fn = lambda: _mlp(d, device)(x)  # noqa: E731
    else:
        net = _chain(d, device, torch.float32 if variant.endswith("f32noise") else None)
        fn = lambda: net(x)  # noqa: E731
    out = bench(fn)
    assert out.shape == (S, N, d)


def test_matmul_throughput_ratio(bench, full, device):
    widths = _sizes(full)
    big = 2048 if full else 256
    A = torch.randn(big, big, dtype=torch.float64, device=device)
    B = torch.randn(big, big, dtype=torch.float64, device=device)
    nets = {d: _mlp(d, device) for d in widths}
    xs = {d: gaussian_input(N, d, seed=0, device=device) for d in widths}
    fns = {"matmul": lambda: A @ B}
    fns.update({f"explicit-{d}": (lambda d=d: nets[d](xs[d])) for d in widths})
    t = best_times(fns, rounds=10 if full else 1, device=device)
    matmul_gflops = 2 * big**3 / t["matmul"] / 1e9
    by_d = {}
    for d in widths:
        gflops = 2 * S * L * N * d * d / t[f"explicit-{d}"] / 1e9
        by_d[d] = {"explicit_gflops": gflops, "ratio": gflops / matmul_gflops}
    bench.group = "throughput"
    bench.extra_info.update(
        n=N, seeds=S, layers=L, plain_matmul_size=big, plain_matmul_gflops=matmul_gflops,
        matmul_throughput_ratio=by_d[widths[-1]]["ratio"], matmul_throughput_ratio_by_d=by_d,
    )
    d = widths[-1]
    bench(lambda: nets[d](xs[d]))


def test_gram_chain_cost_exponent(bench, full, device):
    widths = _sizes(full)
    chains = {d: _chain(d, device) for d in widths}
    mlps = {d: _mlp(d, device) for d in widths}
    xs = {d: gaussian_input(N, d, seed=0, device=device) for d in widths}
    fns = {f"chain-{d}": (lambda d=d: chains[d](xs[d])) for d in widths}
    fns.update({f"explicit-{d}": (lambda d=d: mlps[d](xs[d])) for d in widths})
    t = best_times(fns, rounds=10 if full else 1, device=device)
    chain_t = [t[f"chain-{d}"] for d in widths]
    explicit_t = [t[f"explicit-{d}"] for d in widths]
    bench.group = "cost-exponent"
    bench.extra_info.update(
        n=N, seeds=S, layers=L, widths=list(widths),
        gram_chain_seconds=chain_t, explicit_seconds=explicit_t,
        cost_exponent_d=loglog_slope(widths, chain_t),
        explicit_cost_exponent_d=loglog_slope(widths, explicit_t),
        gram_chain_speedup_by_d={d: e / c for d, e, c in zip(widths, explicit_t, chain_t)},
    )
    d = widths[-1]
    bench(lambda: chains[d](xs[d]))
