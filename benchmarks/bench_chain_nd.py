"""The n = d chain of paper A (A3, A5) against a reference in the authors' style, as a speed ratio in one run.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE nice -n 10 python benchmarks/bench_chain_nd.py [--quick]

Configuration: paper A's Fig. 3a chain as the A5 paper profile runs it -- BN without centring, ``W ~ N(0, 1)``,
``W~ = I + gamma W`` for gamma in {0.01, 1, inf}, ``M_0 = I`` (``n = d``), 2 seeds, the soft rank and rank_0.5
measured every 100 layers -- at ``n = d`` in {8, 16, 32, 64, 128, 256}, depths chosen per width so that each side
runs for about a second.

* ``reference``: numpy float64 in the authors' style (``code_fig_3_a.ipynb``): the ``d x d`` Gram
  ``M <- D^{-1/2} W~ M W~^T D^{-1/2}`` (two ``d^3`` products per layer), one seed after another and one gamma after
  another, one ``eigvalsh`` per measured layer. Its normals come from numpy's ziggurat generator (``default_rng``),
  faster than the notebook's ``np.random.randn``: the stricter baseline.
* ``before``: rcbench's module path (``rank_collapse.FAST_CHAIN = False``: an ``MLP`` of 100 layers per chunk, one
  call per gamma), as ``run_claim`` called it.
* ``after``: ``linear_chain_arms`` (seeds and gammas in one tensor, :mod:`rcbench.networks.fast_chain`): the same
  numbers bit for bit as the module path, checked here on every width.

Both sides run on one thread (torch ``set_num_threads(1)``, BLAS limited to 1 by threadpoolctl). The ratio is
``t_reference / t_rcbench`` (> 1: rcbench faster); the goal is >= 1.5 at every width. The environment may set
``OPENBLAS_CORETYPE``/``OPENBLAS_L2_SIZE`` for old OpenBLAS builds, which slows a current numpy: unset them in the
benchmark command only (never in tests or CI); the BLAS kernel numpy and torch then use is recorded.
Writes ``benchmarks/results/chain_nd.json``.

Where the time goes (``benchmarks/profile_chain_nd.py``, each per-layer operation timed alone, 3 gammas x 2 seeds;
``results/chain_nd_breakdown.json``): at d = 256 rcbench spends ~64% of a layer in the batched product (6 products
of 256^3; torch/MKL 0.80-0.89 ms per product vs numpy/OpenBLAS 0.71-0.73 ms), ~31% in the float64 normals
(torch's sampler 17.5 ns per normal vs numpy ``default_rng`` 10 ns, ~1.8x, at load ~1), ~6% forming ``I + gamma W``
and the norm. Its advantage over the reference is structural -- one product per arm and seed instead of the Gram's
two, one draw shared by the three gammas instead of one per gamma -- and bounds the ratio at ~1.6-1.7 at d = 256
(1.55-1.72 implied by the isolated timings in two runs; the whole chain adds the measurements every 100 layers and
cache effects: 1.35 measured). At d = 64 the normals are 60-70% of a layer. Beyond that the only large term left
is torch's normal sampler, i.e. the random stream of every stored cell: not changed.
"""

from __future__ import annotations

import json
import math
import os
import platform
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import torch
from threadpoolctl import threadpool_info, threadpool_limits

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _bench import best_times  # noqa: E402

from rcbench.experiments import rank_collapse as rc  # noqa: E402
from rcbench.experiments.common import reading_from  # noqa: E402

GAMMAS = (0.01, 1.0, math.inf)
SEEDS = 2
EVERY = 100
DEPTHS = {8: 3000, 16: 3000, 32: 2000, 64: 1000, 128: 400, 256: 100}


def reference(d: int, depth: int, seed: int = 0, legacy: bool = False) -> list[tuple[float, float]]:
    """Authors' style: one seed and one gamma after another, the d x d Gram, eigvalsh at measured layers. Normals
    from ``default_rng`` (ziggurat), or with ``legacy`` from ``np.random.randn`` as the notebook draws them."""
    if legacy:
        np.random.seed(seed)
    rng = SimpleNamespace(standard_normal=lambda shape: np.random.randn(*shape)) if legacy else np.random.default_rng(seed)
    out = []
    for gamma in GAMMAS:
        for _ in range(SEEDS):
            M = np.eye(d)
            for layer in range(1, depth + 1):
                W = rng.standard_normal((d, d))
                Wt = W if math.isinf(gamma) else np.eye(d) + gamma * W
                M = Wt @ M @ Wt.T
                s = np.sqrt(np.diag(M))
                M = M / s[:, None] / s[None, :]
                if layer % EVERY == 0:
                    lam = np.linalg.eigvalsh(M)
                    out.append((lam.sum() ** 2 / (lam**2).sum(), float((lam > 0.5 * lam.mean()).sum())))
    return out


def _kw(d: int, depth: int) -> dict:
    return dict(widths=[d], depth=depth, seeds=SEEDS, seed=0, init="gaussian_unit", input="identity",
                sample_every=EVERY, burn_in=EVERY, stats=("soft_rank", "rank_tau05"))  # fmt: skip


def before(d: int, depth: int) -> pd.DataFrame:
    rc.FAST_CHAIN = False
    try:
        return pd.concat([rc.linear_chain(norm="bn", gamma=g, **_kw(d, depth)) for g in GAMMAS], ignore_index=True)
    finally:
        rc.FAST_CHAIN = True


def after(d: int, depth: int) -> pd.DataFrame:
    return rc.linear_chain_arms(arms=[("bn", g) for g in GAMMAS], **_kw(d, depth))


def main() -> None:
    quick = "--quick" in sys.argv
    skip_before = "--no-before" in sys.argv  # the module path is slow: time it once (e.g. --quick) and skip it
    torch.set_num_threads(1)
    rows = []
    with threadpool_limits(limits=1), reading_from(None):
        for d, depth in DEPTHS.items():
            depth = max(EVERY, depth // 10) if quick else depth
            if not skip_before or d <= 16:
                pd.testing.assert_frame_equal(before(d, min(depth, 300)), after(d, min(depth, 300)), check_exact=True)
            fns = {"reference": lambda: reference(d, depth), "reference_randn": lambda: reference(d, depth, legacy=True),
                   "after": lambda: after(d, depth)}  # fmt: skip
            if not skip_before:
                fns["before"] = lambda: before(d, depth)
            t = best_times(fns, rounds=1 if quick else 2, warmup=1)
            row = {"d": d, "n": d, "depth": depth, "seeds": SEEDS, "gammas": len(GAMMAS),
                   **{f"{k}_s": v for k, v in t.items()}, "ratio_after": t["reference"] / t["after"],
                   "ratio_after_vs_randn": t["reference_randn"] / t["after"]}  # fmt: skip
            if "before" in t:
                row.update(ratio_before=t["reference"] / t["before"], ratio_before_vs_randn=t["reference_randn"] / t["before"])
            rows.append(row)
            bef = f"before {t['before']:7.3f} s (x{row['ratio_before']:.2f}), " if "before" in t else ""
            print(f"d = n = {d:4d}, L = {depth:5d}: reference {t['reference']:7.3f} s (randn {t['reference_randn']:.3f} s), "
                  f"{bef}after {t['after']:7.3f} s (x{row['ratio_after']:.2f}; x{row['ratio_after_vs_randn']:.2f} vs randn)",
                  flush=True)  # fmt: skip
    blas = [{k: i.get(k) for k in ("internal_api", "version", "architecture", "num_threads", "filepath")}
            for i in threadpool_info()]  # fmt: skip
    meta = {"machine": platform.processor() or platform.machine(), "cores": os.cpu_count(), "torch": torch.__version__,
            "numpy": np.__version__, "blas": blas, "torch_blas": torch.__config__.show().splitlines()[:12],
            "OPENBLAS_CORETYPE": os.environ.get("OPENBLAS_CORETYPE"), "date": time.strftime("%Y-%m-%d %H:%M"),
            "load_average": os.getloadavg(), "quick": quick}  # fmt: skip
    if not quick:
        out = Path(__file__).resolve().parent / "results" / "chain_nd.json"
        out.write_text(json.dumps({"meta": meta, "rows": rows}, indent=1, default=str))
        print(f"wrote {out}")
    print("min ratio after:", round(min(r["ratio_after"] for r in rows), 2))


if __name__ == "__main__":
    main()
