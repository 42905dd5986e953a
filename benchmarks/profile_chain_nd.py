"""Where the time of the n = d chain goes at one width: the per-layer operations of both sides, timed apart.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE nice -n 10 python benchmarks/profile_chain_nd.py [D]

The configuration of ``bench_chain_nd.py`` (3 gammas, 2 seeds, BN without centring, ``n = d``, default ``D = 256``).
Per layer, rcbench (:mod:`rcbench.networks.fast_chain`) draws the ``(S, d, d)`` normals once for all arms (torch's
float64 sampler: the stream every stored cell was drawn with), forms ``I + gamma W`` per arm, runs one batched
``(A S) x (n x d) @ (d x d)`` product and the norm; the authors'-style reference draws ``(d, d)`` normals per seed
*and gamma* (numpy ``default_rng``), runs two ``d^3`` products of the Gram and its diagonal scaling. Each operation
is timed alone (best of 5 x 30 repetitions, one thread); the shares and the ratio they imply (without the
measurements every 100 layers, the Python loop and cache effects of the whole chain) are printed and written to
``benchmarks/results/chain_nd_breakdown.json``.
"""

from __future__ import annotations

import json
import math
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch
from threadpoolctl import threadpool_limits

from rcbench.networks.fast_chain import _normalize_
from rcbench.networks.norms import get_norm

A, S = 3, 2  # gammas (0.01, 1, inf) and seeds, as bench_chain_nd.py


def _t(fn, reps: int = 30, rounds: int = 5) -> float:
    fn()
    best = math.inf
    for _ in range(rounds):
        t0 = time.perf_counter()
        for _ in range(reps):
            fn()
        best = min(best, (time.perf_counter() - t0) / reps)
    return best * 1e3  # ms


def breakdown(d: int) -> dict:
    n = d
    gen = torch.Generator().manual_seed(0)
    w = torch.randn((S, d, d), generator=gen, dtype=torch.float64)
    wk = torch.empty(A, S, d, d, dtype=torch.float64)
    eye = torch.eye(d, dtype=torch.float64)
    h = torch.randn(A * S, n, d, dtype=torch.float64)
    z, tmp = torch.empty_like(h), torch.empty_like(h)
    mod = get_norm("bn", d, S)
    sq = torch.empty(A * S, 1, d, dtype=torch.float64)
    wt = wk.transpose(-1, -2).reshape(A * S, d, d)

    def form():
        for a, g in enumerate((0.01, 1.0)):
            torch.mul(w, g, out=wk[a]).add_(eye)
        wk[2].copy_(w)

    rng = np.random.default_rng(0)
    M, Wn = np.eye(d), rng.standard_normal((d, d))

    def scale():
        s = np.sqrt(np.diag(M))
        return M / s[:, None] / s[None, :]

    ours = {"normals (torch, S d^2, shared by the arms)": _t(lambda: torch.randn((S, d, d), generator=gen,
                                                                                 dtype=torch.float64)),
            "form I + gamma W (A arms)": _t(form),
            "bmm (A S) x (n x d) @ (d x d)": _t(lambda: torch.bmm(h, wt, out=z)),
            "norm (BN, no centring)": _t(lambda: _normalize_(z, mod, tmp, sq))}  # fmt: skip
    with threadpool_limits(limits=1):
        ref = {"normals (numpy default_rng, d^2 per seed and gamma) x A S": A * S * _t(lambda: rng.standard_normal((d, d))),
               "two d^3 products (Gram) x A S": A * S * _t(lambda: Wn @ M @ Wn.T),
               "diagonal scaling x A S": A * S * _t(scale)}  # fmt: skip
        single = {"numpy d^3 product": _t(lambda: Wn @ M), "torch mm d^3": _t(lambda: torch.mm(h[0], wt[0]))}
    per_normal = {"torch randn ns/normal": ours["normals (torch, S d^2, shared by the arms)"] * 1e6 / (S * d * d),
                  "numpy default_rng ns/normal": ref["normals (numpy default_rng, d^2 per seed and gamma) x A S"] * 1e6
                  / (A * S * d * d)}  # fmt: skip
    t_ours, t_ref = sum(ours.values()), sum(ref.values())
    return {"d": d, "rcbench_ms_per_layer": ours, "reference_ms_per_layer": ref, "single_products_ms": single,
            "per_normal": per_normal, "rcbench_total_ms": t_ours, "reference_total_ms": t_ref,
            "rcbench_shares": {k: v / t_ours for k, v in ours.items()}, "implied_ratio": t_ref / t_ours}  # fmt: skip


def main() -> None:
    torch.set_num_threads(1)
    ds = [int(a) for a in sys.argv[1:]] or [256]
    rows = [breakdown(d) for d in ds]
    for r in rows:
        print(f"d = n = {r['d']}: rcbench {r['rcbench_total_ms']:.2f} ms/layer, reference {r['reference_total_ms']:.2f} "
              f"ms/layer, implied ratio {r['implied_ratio']:.2f}")  # fmt: skip
        for k, v in r["rcbench_ms_per_layer"].items():
            print(f"   rcbench   {k:58s} {v:7.3f} ms  {100 * r['rcbench_shares'][k]:4.0f}%")
        for k, v in r["reference_ms_per_layer"].items():
            print(f"   reference {k:58s} {v:7.3f} ms")
        print("   ", {k: round(v, 3) for k, v in {**r["single_products_ms"], **r["per_normal"]}.items()})
    out = Path(__file__).resolve().parent / "results" / "chain_nd_breakdown.json"
    out.write_text(json.dumps({"date": time.strftime("%Y-%m-%d %H:%M"), "load_average": os.getloadavg(),
                               "torch": torch.__version__, "numpy": np.__version__, "rows": rows}, indent=1))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
