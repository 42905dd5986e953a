"""The authors' formulation of paper A's chain (``code_fig_3_a/b.ipynb``): the ``d x d`` Gram evolved layer by
layer, with the same weights as :func:`rcbench.experiments.rank_chains.linear_chain`, in float64 or numpy's
longdouble (the round-off finding of claims A5, A6)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import torch

from rcbench.device import MEASUREMENT_DTYPE
from rcbench.experiments.common import positive_int, storable, tidy
from rcbench.experiments.rank_chains import (
    INF,
    _chain_input,
    _norm_label,
    _weights,
    _widths,
    paper_a_name,
    subseed,
)
from rcbench.networks import MLP, NumericalDivergence

# ---------------------------------------------------------------------------------------------------------------
# the authors' formulation: the d x d Gram chain (Figs. 3a, 3b code), same weights as the H chain
# ---------------------------------------------------------------------------------------------------------------
FORMULATIONS = ("h", "gram")
_GRAM_STATS = ("soft_rank", "rank_tau05", "gram_numerical_rank", "eig_ratio10")


def _chain_weights(*, width: int, depth: int, weights, seed: int, chunk: int, seeds: int):
    """The weights ``W_l`` (``(seeds, width, width)``, float64, CPU) of :func:`_stream`'s chain, layer by layer: the
    same chunks, seeds and draws (an MLP's weight draws do not depend on its norm or activation)."""
    start, k = 0, 0
    while start < depth:
        size = min(chunk, depth - start)
        net = MLP(width, width, size, norm=None, activation="identity", init=weights, ensemble=seeds,
                  seed=subseed(seed, width, k), dtype=MEASUREMENT_DTYPE, device="cpu")
        for b in net.blocks:
            yield b.linear.weight.detach()
        start += size
        k += 1


def _gram_stats(F: np.ndarray, stats: Sequence[str]) -> dict[str, np.ndarray]:
    """Statistics of a stack of feature Grams ``F`` (``(seeds, d, d)``), measured in float64 as the authors do
    (``eigh`` / ``matrix_rank`` of the Gram)."""
    G = torch.from_numpy(np.ascontiguousarray(F, dtype=np.float64))
    G = (G + G.transpose(-1, -2)) / 2
    lam = torch.linalg.eigvalsh(G)
    lam_c = lam.clamp_min(0)
    d = G.shape[-1]
    out = {}
    if "soft_rank" in stats:
        out["soft_rank"] = (lam_c.sum(-1) ** 2 / (lam_c ** 2).sum(-1)).numpy()
    if "rank_tau05" in stats:
        out["rank_tau05"] = (lam > 0.5 * lam.sum(-1, keepdim=True) / d).sum(-1).to(torch.float64).numpy()
    if "gram_numerical_rank" in stats:
        out["gram_numerical_rank"] = torch.linalg.matrix_rank(G, hermitian=True).to(torch.float64).numpy()
    if "eig_ratio10" in stats:
        out["eig_ratio10"] = (lam[..., -10] / lam[..., -1]).clamp_min(0).numpy()
    return out


@storable
@paper_a_name
def gram_formulation_chain(
    *,
    widths: Sequence[int] | int,
    depth: int,
    seeds: int = 5,
    seed: int = 0,
    norm="bn",
    init: str = "gaussian",
    gamma: float = INF,
    input: str | torch.Tensor = "gaussian",
    burn_in: int = 0,
    sample_every: int = 1,
    extra_layers: Sequence[int] = (),
    stats: Sequence[str] = ("soft_rank", "rank_tau05", "gram_numerical_rank"),
    precision: str = "float64",
    chunk: int = 100,
    device="cpu",
) -> pd.DataFrame:
    """Paper A's chain in the authors' formulation (``code_fig_3_a/b.ipynb``): the ``d x d`` feature Gram ``F =
    H^T H`` (the paper's ``M = H H^T``) evolves as ``F <- D W F W^T D``, ``D = diag(W F W^T)^{-1/2}`` (theory BN,
    ``norm="bn"``) or ``F <- W F W^T / tr`` (``norm=None``), with **the same weights** as :func:`linear_chain`
    with the same arguments (same chunks and seeds), so any difference between the two is round-off. The arithmetic
    runs in ``precision`` (``"float64"``, or ``"longdouble"``: numpy's extended type, 80-bit on x86); the statistics
    are measured in float64 on the Gram (``eigh``/``matrix_rank`` of ``F``, as the notebooks do): ``soft_rank``,
    ``rank_tau05``, ``gram_numerical_rank``, ``eig_ratio10``. Batch = width (``n = d``, the code's ``N = d``).
    One row per width x seed x measured layer, the columns of :func:`linear_chain` plus ``formulation``,
    ``precision``. CPU only (numpy)."""
    widths = _widths(widths)
    depth = positive_int(depth, "depth")
    seeds = positive_int(seeds, "seeds")
    sample_every = positive_int(sample_every, "sample_every")
    chunk = positive_int(chunk, "chunk")
    if norm not in ("bn", None):
        raise ValueError(f"the Gram formulation implements the theory BN ('bn') or no norm (None), got {norm!r}")
    if precision not in ("float64", "longdouble"):
        raise ValueError(f"precision must be 'float64' or 'longdouble', got {precision!r}")
    unknown = [s for s in stats if s not in _GRAM_STATS]
    if unknown:
        raise ValueError(f"unknown statistic(s) {unknown} for the Gram formulation; available: {list(_GRAM_STATS)}")
    if not 0 <= burn_in <= depth:
        raise ValueError(f"burn_in must lie in [0, depth={depth}], got {burn_in}")
    dt = np.float64 if precision == "float64" else np.longdouble
    weights = _weights(init, gamma)
    layers = sorted({0, *range(burn_in, depth + 1, sample_every), *[int(l) for l in extra_layers if 0 <= l <= depth]})
    wanted = set(layers)
    frames = []
    for d in widths:
        x = _chain_input(input, d, d, seeds, seed, "cpu")
        if tuple(x.shape) != (seeds, d, d):
            raise ValueError(f"input has shape {tuple(x.shape)}, expected {(seeds, d, d)}")
        h = x.numpy().astype(dt)
        F = np.swapaxes(h, -1, -2) @ h
        rec: dict[str, list] = {s: [] for s in stats}
        ids = []

        def keep(l, F=F):
            ids.append(l)
            for k, v in _gram_stats(F, stats).items():
                rec[k].append(v)

        if 0 in wanted:
            keep(0, F)
        for l, W in enumerate(_chain_weights(width=d, depth=depth, weights=weights, seed=seed, chunk=chunk,
                                             seeds=seeds), start=1):
            Wn = W.numpy().astype(dt)
            F = Wn @ F @ np.swapaxes(Wn, -1, -2)
            if norm == "bn":
                g = 1 / np.sqrt(np.diagonal(F, axis1=-2, axis2=-1))
                F = g[..., :, None] * F * g[..., None, :]
            else:
                F = F / np.trace(F, axis1=-2, axis2=-1)[..., None, None]
            if not np.isfinite(F).all():
                raise NumericalDivergence(f"non-finite Gram at layer {l} (width {d})")
            if l in wanted:
                keep(l, F)
        values = {k: torch.from_numpy(np.stack(v)) for k, v in rec.items()}
        df = tidy(values, seeds=list(range(seeds)), width=d, norm=_norm_label(norm), gamma=float(gamma),
                  activation="identity", init=str(init), formulation="gram", precision=precision)
        df["layer"] = np.repeat(np.asarray(ids), seeds)
        frames.append(df)
    return pd.concat(frames, ignore_index=True)
