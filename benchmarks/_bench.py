"""Helpers shared by the benchmark modules (timing side by side, size selection)."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence

import torch


def benchmarking_enabled(config) -> bool:
    """True with ``--benchmark-enable`` (or without ``--benchmark-disable``): time at full size."""
    return not (config.getoption("benchmark_disable") and not config.getoption("benchmark_enable"))


def sync(device) -> None:
    if torch.device(device).type == "cuda":
        torch.cuda.synchronize()


def best_times(
    fns: dict[str, Callable[[], object]], rounds: int, device="cpu", warmup: int = 1, cpu: dict | None = None
) -> dict[str, float]:
    """Minimum wall time (s) of each function over ``rounds``, the functions interleaved round by round so that
    background load affects all of them alike (the minimum is the least load-sensitive estimator of the cost).
    If ``cpu`` is a dict it receives the minimum process CPU time (all threads) of each function as well."""
    for _ in range(warmup):
        for fn in fns.values():
            fn()
    best = {k: float("inf") for k in fns}
    best_cpu = {k: float("inf") for k in fns}
    for _ in range(rounds):
        for k, fn in fns.items():
            sync(device)
            c, t = time.process_time(), time.perf_counter()
            fn()
            sync(device)
            best[k] = min(best[k], time.perf_counter() - t)
            best_cpu[k] = min(best_cpu[k], time.process_time() - c)
    if cpu is not None:
        cpu.update(best_cpu)
    return best


def loglog_slope(x: Sequence[float], y: Sequence[float]) -> float:
    """Least-squares slope of log y against log x."""
    lx, ly = [math.log(v) for v in x], [math.log(v) for v in y]
    mx, my = sum(lx) / len(lx), sum(ly) / len(ly)
    return sum((a - mx) * (b - my) for a, b in zip(lx, ly)) / sum((a - mx) ** 2 for a in lx)
