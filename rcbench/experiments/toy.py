"""A small, fast experiment for exercising the sweep machinery (:mod:`rcbench.sweep`) and the determinism tests.

Not a paper's claim: :func:`mlp_trace` is the per-layer metric trace of a random MLP on a Gaussian batch, built only
from :class:`rcbench.networks.MLP` and :func:`rcbench.experiments.common.trace`. :func:`fragile_trace` is the same
experiment with test hooks that sleep, raise or kill the worker process on chosen cells.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pandas as pd

from rcbench.experiments.common import gaussian_input, storable, trace
from rcbench.metrics import SPECTRAL_METRICS
from rcbench.networks import MLP

__all__ = ["mlp_trace", "fragile_trace", "PROFILES"]

#: sizes of the toy experiment (same code at both scales).
PROFILES = {
    "quick": {"mlp_trace": {"depth": 4, "width": 16, "n": 8, "seeds": 2}},
    "paper": {"mlp_trace": {"depth": 100, "width": 256, "n": 32, "seeds": 20}},
}


@storable
def mlp_trace(
    *,
    depth: int = 4,
    width: int = 16,
    n: int = 8,
    seeds: int = 2,
    seed: int = 0,
    norm: str = "bn",
    activation: str = "tanh",
    metrics: tuple[str, ...] | list[str] = ("soft_rank", "isometry_gap"),
    device="cpu",
) -> pd.DataFrame:
    """Metrics of ``H_0 .. H_depth`` of an ensemble of ``seeds`` random MLPs (``width`` in, ``width`` wide) on one
    Gaussian batch of ``n`` samples. Tidy frame: ``layer, seed, depth, width, n, <metrics>``.

    The input is drawn with seed ``2 * seed`` and the weights with ``2 * seed + 1`` (independent streams).
    """
    metrics = [metrics] if isinstance(metrics, str) else list(metrics)
    unknown = [m for m in metrics if m not in SPECTRAL_METRICS]
    if unknown:
        raise ValueError(f"metrics: unknown name(s) {unknown}; available: {sorted(SPECTRAL_METRICS)}")
    for name, value in (("depth", depth), ("width", width), ("n", n), ("seeds", seeds)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")
    net = MLP(width, width, depth, norm=norm, activation=activation, ensemble=seeds, seed=2 * seed + 1, device=device)
    x = gaussian_input(n, width, seed=2 * seed, device=device)
    return trace(net, x, metrics, depth=depth, width=width, n=n)


@storable
def fragile_trace(
    *,
    depth: int = 4,
    width: int = 16,
    sleep: float = 0.0,
    crash_depth: int | None = None,
    crash_once: str | None = None,
    raise_depth: int | None = None,
    **kwargs,
) -> pd.DataFrame:
    """:func:`mlp_trace` with test hooks: sleep ``sleep`` seconds first; on ``depth == raise_depth`` raise a
    ``ValueError``; on ``depth == crash_depth`` kill the process with ``os._exit(13)`` (a worker dying mid-cell),
    every time, or only the first time if ``crash_once`` names a marker file (created before dying)."""
    if sleep:
        time.sleep(float(sleep))
    if raise_depth is not None and depth == raise_depth:
        raise ValueError(f"depth={depth}: fragile_trace was asked to raise on this cell")
    if crash_depth is not None and depth == crash_depth:
        marker = Path(crash_once) if crash_once else None
        if marker is None or not marker.exists():
            if marker is not None:
                marker.write_text("crashed once\n")
            os._exit(13)
    return mlp_trace(depth=depth, width=width, **kwargs)
