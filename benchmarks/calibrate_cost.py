"""Calibrate the cost model of ``rcbench plan`` (:mod:`rcbench.cost`) by timing small truncations of the same code.

    nice -n 10 python benchmarks/calibrate_cost.py            # ~3 min on one core; writes the two files below

For each kind of work, the experiment function that does it is timed at a few small sizes (one torch thread, best
of ``ROUNDS``), its operation counts come from the same :mod:`rcbench.cost` functions the plan uses, and the
constants ``(call_s, 1/flops_per_s, normal_s)`` are fitted by non-negative least squares on relative error
(each point weighted by 1/time). Writes ``benchmarks/results/cost_calibration.json`` (every timing, its counts and
the fit's error) and ``rcbench/cost_constants.py`` (the fitted constants, shipped with the package, together with
the measured quick-profile durations of ``QUICK_RUN`` that the plan uses for each claim's fixed part).
"""

from __future__ import annotations

import json
import math
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
import torch
from scipy.optimize import nnls

from rcbench import cost as C

ROOT = Path(__file__).resolve().parent.parent
ROUNDS = 2
#: a quick-profile run of the whole suite on this machine (per-test duration_s summed per claim)
QUICK_RUN = next((Path(a) for a in sys.argv[1:] if not a.startswith("--")), None)


def _time(fn) -> float:
    best = math.inf
    for _ in range(ROUNDS):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def points():
    from rcbench.experiments import gradients, isometry, orthogonality, rank_collapse
    from rcbench.networks.iterative_init import orthogonalizing_weight

    for d, S, L in [(8, 2, 400), (8, 12, 400), (32, 6, 300), (64, 6, 200), (128, 6, 100), (256, 3, 40), (512, 2, 12)]:
        yield ("chain", f"linear_chain d={d} seeds={S} L={L}",
               lambda d=d, S=S, L=L: rank_collapse.linear_chain(widths=[d], depth=L, seeds=S, init="gaussian_unit",
                                                                sample_every=10, stats=("soft_rank",)),
               C.chain([d], L, S, measured=len(range(0, L + 1, 10)), fast=True))  # fmt: skip

    def module_path(fn):
        rank_collapse.FAST_CHAIN = False
        try:
            return fn()
        finally:
            rank_collapse.FAST_CHAIN = True

    for d, S, L in [(8, 2, 200), (32, 6, 150), (128, 6, 50), (256, 3, 20), (512, 2, 8)]:
        yield ("chain_module", f"linear_chain module path d={d} seeds={S} L={L}",
               lambda d=d, S=S, L=L: module_path(lambda: rank_collapse.linear_chain(
                   widths=[d], depth=L, seeds=S, init="gaussian_unit", sample_every=10, stats=("soft_rank",))),
               C.chain([d], L, S, measured=len(range(0, L + 1, 10))))  # fmt: skip
    for n, d, L, R in [(4, 64, 100, 5), (4, 1024, 60, 5), (4, 8192, 30, 5), (8, 4096, 30, 5), (2, 65536, 10, 3)]:
        yield ("gram", f"bn_chain n={n} d={d} L={L} runs={R}",
               lambda n=n, d=d, L=L, R=R: (orthogonality._bn_chain_cached.cache_clear(),  # a session cache
                                           orthogonality.bn_chain(n=n, widths=[d], depth=L, runs=R)),
               C.gram(n, [d], L, R))  # fmt: skip
    for d, n, L, S in [(1000, 10, 10, 2), (2000, 10, 10, 2), (100, 10, 30, 4)]:
        yield ("gram", f"ln_trace d={d} n={n} L={L} seeds={S}",
               lambda d=d, n=n, L=L, S=S: isometry.ln_trace(["relu"], d=d, n=n, depth=L, seeds=S),
               C.gram(n, [d], L, S))  # fmt: skip
    for w, b, depths, S in [(32, 32, [50, 100], 2), (100, 100, [20, 50], 2), (100, 100, [200], 1)]:
        yield ("grad", f"gradient_sweep w={w} b={b} depths={depths} seeds={S}",
               lambda w=w, b=b, depths=depths, S=S: gradients.gradient_sweep(width=w, batch=b, in_features=w,
                                                                             depths=depths, seeds=S),
               C.grad(w, b, sum(depths), S, in_features=w, cells=len(depths)))  # fmt: skip
    for hl, steps, S in [((2,), 100, 1), ((8,), 100, 1), ((2, 14), 60, 2), ((0,), 200, 1)]:
        yield ("train", f"fig1_training hl={hl} steps={steps} seeds={S}",
               lambda hl=hl, steps=steps, S=S: rank_collapse.fig1_training(hidden_layers=hl, steps=steps, seeds=S,
                                                                           eval_size=200),
               C.train(128, sum(hl) + len(hl), steps, 128, 3 * S, in_features=64, cells=len(hl)))  # fmt: skip
    # D20's / D8's LN-MLPs on digits (one epoch: a forward-only epoch 0, then floor(1797 / batch) SGD steps), the
    # widths where the GEMMs are efficient (the Fig. 1 points above are all at width 128)
    for w, b, S in [(256, 64, 2), (1000, 512, 1), (512, 256, 2)]:
        yield ("train", f"train_loss_curves w={w} batch={b} seeds={S} epochs=1",
               lambda w=w, b=b, S=S: isometry.train_loss_curves(("relu",), width=w, depth=10, batch_size=b, epochs=1,
                                                                seeds=S),
               C.train(w, 10, (1 + 1 / 3) * (1797 // b), b, S, in_features=64))  # fmt: skip
    # B27/B28's Eq. (6) init: one float64 thin SVD per square layer, variant and seed
    for N, d, S in [(384, 128, 4), (1200, 400, 2), (2400, 800, 1)]:
        yield ("svd", f"orthogonalizing_weight N={N} d={d} seeds={S}",
               lambda N=N, d=d, S=S: orthogonalizing_weight(torch.randn(S, N, d, dtype=torch.float64,
                                                                        generator=torch.Generator().manual_seed(0)),
                                                            variant="paper", pinv=True),
               C.svd(N, d, S))  # fmt: skip
    # D8's ln_steps: explicit d x d weights of every layer drawn up front (MLP modules), four gaps per block
    for d, L, S in [(1000, 3, 10), (500, 6, 4)]:
        yield ("chain_module", f"ln_steps d={d} L={L} seeds={S}",
               lambda d=d, L=L, S=S: isometry.ln_steps(("relu",), d=d, n=10, depth=L, seeds=S),
               C.chain([d], L, S, n=10, measured=4 * L, chunk=L))  # fmt: skip
    for hl, S in [((0, 8, 16), 2), ((4, 32), 3), ((2,), 1), ((16,), 6)]:
        yield ("forward", f"fig1_init_rank hl={hl} seeds={S}",
               lambda hl=hl, S=S: rank_collapse.fig1_init_rank(hidden_layers=hl, seeds=S),
               C.forward(128, 128, sum(hl) + len(hl), 3 * S))  # fmt: skip


def fit(rows):
    A = np.array([[r["calls"], r["flops"], r["normals"]] for r in rows], dtype=float)
    t = np.array([r["seconds"] for r in rows])
    w = 1.0 / t
    scale = A.max(axis=0)
    scale[scale == 0] = 1.0
    x, _ = nnls((A / scale) * w[:, None], t * w)
    x = x / scale
    pred = A @ x
    return {"call_s": float(x[0]), "flops_per_s": float(1.0 / x[1]) if x[1] > 0 else 1e30, "normal_s": float(x[2])}, pred


def quick_seconds(path: Path) -> dict[str, float]:
    run = json.loads(path.read_text(encoding="utf-8"))
    out: dict[str, float] = {}
    for t in run["tests"]:
        out[t["claim"]] = round(out.get(t["claim"], 0.0) + float(t.get("duration_s", 0.0)), 3)
    return out


def main() -> None:
    torch.set_num_threads(1)
    only = {a.split("=", 1)[1] for a in sys.argv[1:] if a.startswith("--kinds=")}
    only = {k for a in only for k in a.split(",")}
    rows = []
    for kind, label, fn, work in points():
        if only and kind not in only:
            continue
        fn()  # warm-up (imports, caches)
        s = _time(fn)
        rows.append({"kind": kind, "label": label, "seconds": s, "calls": work.calls, "flops": work.flops,
                     "normals": work.normals})  # fmt: skip
        print(f"{kind:8s} {label:55s} {s:8.3f} s", flush=True)
    consts, report = {}, []
    if only:  # refit only these kinds; keep the others' constants
        from rcbench import cost_constants as K0

        consts = {k: v for k, v in K0.CPU.items() if k not in only}
    for kind in sorted({r["kind"] for r in rows} | set(consts)):
        if kind in consts:
            continue
        sub = [r for r in rows if r["kind"] == kind]
        consts[kind], pred = fit(sub)
        for r, p in zip(sub, pred):
            r["model_s"] = float(p)
            r["rel_err"] = float(p / r["seconds"] - 1.0)
        report.append((kind, max(abs(r["rel_err"]) for r in sub)))
    report += [(k, float("nan")) for k in consts if k not in {r[0] for r in report}]
    for kind, err in report:
        print(f"fit {kind}: {consts[kind]}  max |rel err| {err:.2f}")
    quick = quick_seconds(QUICK_RUN) if QUICK_RUN else {}
    meta = {"machine": platform.processor() or platform.machine(), "torch": torch.__version__, "threads": 1,
            "date": time.strftime("%Y-%m-%d"), "quick_run": str(QUICK_RUN) if QUICK_RUN else None,
            "load_average_at_end": list(os.getloadavg()) if hasattr(os, "getloadavg") else None}  # fmt: skip
    out = ROOT / "benchmarks" / "results" / "cost_calibration.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    if only and out.is_file():  # keep the other kinds' timings
        rows = [r for r in json.loads(out.read_text())["points"] if r["kind"] not in only] + rows
    out.write_text(json.dumps({"meta": meta, "constants": consts, "points": rows, "quick_seconds": quick}, indent=1))
    prev = {}
    try:
        from rcbench import cost_constants as K

        prev = dict(K.QUICK_SECONDS)
    except ImportError:
        pass
    quick = quick or prev
    lines = [
        '"""Fitted constants of the cost model (:mod:`rcbench.cost`), written by ``benchmarks/calibrate_cost.py``.',
        "",
        f"CPU: one torch thread on {meta['machine']} (torch {meta['torch']}, {meta['date']}); every timing and the fit's",
        "error are in ``benchmarks/results/cost_calibration.json``. ``QUICK_SECONDS``: measured quick-profile durations",
        "per claim (one run of the whole suite on the same machine), the plan's fixed part of each claim. ``GPU``: assumed",
        "constants of one data-centre GPU (float64 ~7 TFLOP/s sustained on large products, ~15 us per layer of kernel",
        "launches, Philox normals ~20 G/s); not measured here.",
        '"""',
        "",
        f"CPU = {json.dumps(consts, indent=4)}",
        "",
        "GPU = {",
        '    kind: {"call_s": 1.5e-5 * k, "flops_per_s": 7e12, "normal_s": 5e-11}',
        '    for kind, k in {"chain": 4, "chain_module": 6, "gram": 6, "forward": 4, "grad": 8, "train": 10,',
        '                    "svd": 20}.items()',
        "}",
        "",
        f"QUICK_SECONDS = {json.dumps(quick, indent=4)}",
        "",
    ]
    (ROOT / "rcbench" / "cost_constants.py").write_text("\n".join(lines).replace(": Infinity", ": 1e30"))
    print(f"wrote {out} and rcbench/cost_constants.py")


if __name__ == "__main__":
    main()
