"""Side by side: rcbench vs the authors'-style reference on the same experiment.

Experiment: paper B's BN chain with Gaussian weights, n = 32 samples, width d = 512, L = 200 layers, 16 seeds;
orthogonality gap and isometry gap at every layer. Reference: :func:`bench_reference.reference_bn_chain` (explicit
weights, loop over seeds, per-layer ``eigvalsh``, float32). rcbench: :class:`rcbench.networks.gram_chain.GramChain`
(exact in law, all seeds batched, float64) -> stacked Grams -> one :func:`rcbench.metrics.spectral_metrics` ->
tidy frame. ``speedup_vs_reference`` = best reference time / best rcbench time, the two interleaved in one run
(target >= 20), with the exact float64 chain. Also stored: ``speedup_vs_reference_f32noise`` (float32 Gaussian
draws, float64 chain), ``speedup_vs_reference_float32`` (the whole chain in float32, metrics in float64 from its
Grams), the wall and process-CPU seconds of every variant and the speed-ups in CPU time (robust to other load).
"""

from __future__ import annotations

import math

import torch
from _bench import best_times
from bench_reference import reference_bn_chain

from rcbench.experiments.common import gaussian_input, tidy
from rcbench.metrics import spectral_metrics
from rcbench.networks.gram_chain import GramChain

METRICS = ["orthogonality_gap", "isometry_gap"]


def rcbench_bn_chain(x, depth, seeds, seed=0, noise_dtype=None, dtype=torch.float64, device="cpu"):
    n, d = x.shape
    net = GramChain(d, d, depth, norm="bn", gain=d**-0.5, ensemble=seeds, seed=seed, device=device,
                    noise_dtype=noise_dtype, dtype=dtype)
    values = spectral_metrics(net.grams(x).double(), METRICS, d=d)  # metrics in float64 in every variant
    return tidy(values, width=d)


def test_speedup_vs_reference(bench, full, device):
    n, d, L, S = (32, 512, 200, 16) if full else (8, 32, 5, 2)
    x = gaussian_input(n, d, seed=0)
    bench.group = "reference-comparison"
    bench.extra_info.update(n=n, d=d, layers=L, seeds=S)
    frame = bench.pedantic(rcbench_bn_chain, args=(x, L, S), kwargs={"device": device}, rounds=3 if full else 1)
    assert len(frame) == (L + 1) * S
    cpu = {}
    t = best_times(
        {
            "reference": lambda: reference_bn_chain(x, L, S),
            "rcbench": lambda: rcbench_bn_chain(x, L, S, device=device),
            "rcbench_f32noise": lambda: rcbench_bn_chain(x, L, S, noise_dtype=torch.float32, device=device),
            "rcbench_float32": lambda: rcbench_bn_chain(x, L, S, dtype=torch.float32, device=device),
        },
        rounds=3 if full else 1,
        device=device,
        warmup=0,
        cpu=cpu,
    )
    # the two implementations sample the same law: their final-layer mean gaps agree within Monte Carlo error
    ref_v, _ = reference_bn_chain(x, L, S, seed=1)
    ref_last = sum(v[-1] for v in ref_v) / S
    ours_last = float(frame[frame.layer == L].orthogonality_gap.mean())
    bench.extra_info.update(
        wall_seconds=t,
        cpu_seconds=cpu,
        speedup_vs_reference=t["reference"] / t["rcbench"],
        speedup_vs_reference_f32noise=t["reference"] / t["rcbench_f32noise"],
        speedup_vs_reference_float32=t["reference"] / t["rcbench_float32"],
        speedup_vs_reference_cpu_time={k: cpu["reference"] / cpu[k] for k in cpu if k != "reference"},
        final_layer_mean_orthogonality_gap={"reference": ref_last, "rcbench": ours_last},
    )
    if full:  # sanity of the comparison, not a performance assertion: both are the same chain
        assert math.isclose(ref_last, ours_last, rel_tol=0.25)
